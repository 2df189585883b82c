//! Transport-neutral requests and responses. Direct HTTP, `/batch` sub-requests and onion
//! requests are all turned into a [`Request`] and answered by the one route table
//! (`routes::dispatch`), so every path gets the same auth, limits and errors.

use bytes::Bytes;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GET" => Some(Self::Get),
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// A request body: small ones in memory, large ones spooled to a temporary file so an upload
/// is never held whole in memory.
#[derive(Debug)]
pub enum Body {
    Memory(Bytes),
    File { path: tempfile::TempPath, len: u64 },
}

impl Body {
    pub fn empty() -> Self {
        Self::Memory(Bytes::new())
    }

    pub fn len(&self) -> u64 {
        match self {
            Self::Memory(b) => b.len() as u64,
            Self::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug)]
pub struct Request {
    pub method: Method,
    /// The percent-decoded path (what is signed and routed).
    pub path: String,
    /// The raw query string, without `?`; `None` when empty.
    pub query: Option<String>,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// BLAKE2b-64 of the body when it was computed while streaming (None = compute on demand).
    pub body_hash: Option<[u8; 64]>,
    pub peer: Option<IpAddr>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`, percent-decoded (`+` is a space).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.as_deref()?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| {
                percent_encoding::percent_decode_str(&v.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
    }

    /// A request carried inside another one: a `/batch` sub-request or the inner request of
    /// an onion request. `target` is the percent-encoded path with an optional `?query`;
    /// headers become [`embedded_headers`]; the body is in memory and hashed on demand.
    /// `None` when the path does not decode to UTF-8.
    pub fn embedded(
        method: Method,
        target: &str,
        headers: impl IntoIterator<Item = (String, String)>,
        body: Vec<u8>,
        peer: Option<IpAddr>,
    ) -> Option<Self> {
        let (path, query) = split_target(target)?;
        Some(Self {
            method,
            path,
            query,
            headers: embedded_headers(headers),
            body: Body::Memory(body.into()),
            body_hash: None,
            peer,
        })
    }

    /// The path as signed: decoded path plus `?` and the raw query when there is one.
    pub fn signing_path(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{}", self.path, q),
            None => self.path.clone(),
        }
    }
}

/// Headers of a request or response carried inside another one (`/batch` elements, onion
/// requests and replies): names lower-cased, `content-length` dropped (only the carrying
/// message's length is real).
pub fn embedded_headers<C: FromIterator<(String, String)>>(
    headers: impl IntoIterator<Item = (String, String)>,
) -> C {
    headers
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .filter(|(k, _)| k != "content-length")
        .collect()
}

/// Splits `path?query` and percent-decodes the path strictly (invalid UTF-8 is refused).
pub fn split_target(target: &str) -> Option<(String, Option<String>)> {
    let (raw_path, query) = match target.split_once('?') {
        Some((p, q)) => (p, (!q.is_empty()).then(|| q.to_owned())),
        None => (target, None),
    };
    let path = percent_encoding::percent_decode_str(raw_path)
        .decode_utf8()
        .ok()?
        .into_owned();
    Some((path, query))
}

#[derive(Debug)]
pub enum ResponseBody {
    Bytes(Bytes),
    /// A stored file streamed from disk.
    File {
        path: PathBuf,
        len: u64,
    },
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case; always includes `content-type`.
    pub headers: Vec<(String, String)>,
    pub body: ResponseBody,
}

pub const JSON: &str = "application/json";
pub const TEXT: &str = "text/plain; charset=utf-8";
pub const OCTET: &str = "application/octet-stream";

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: ResponseBody::Bytes(body.into()),
        }
    }

    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::new(status, JSON, body),
            Err(e) => crate::error::ApiError::Internal(e.into()).into_response(),
        }
    }

    /// `200 {}`: the answer of an action that has nothing to report.
    pub fn empty_object() -> Self {
        Self::new(200, JSON, &b"{}"[..])
    }

    pub fn text(status: u16, text: &str) -> Self {
        Self::new(status, TEXT, text.to_owned())
    }

    pub fn set_header(&mut self, name: &str, value: String) {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(k, _)| *k != name);
        self.headers.push((name, value));
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The whole body in memory (used by `/batch` and onion replies, which must embed it).
    pub async fn into_bytes(self) -> std::io::Result<(u16, Vec<(String, String)>, Bytes)> {
        let body = match self.body {
            ResponseBody::Bytes(b) => b,
            ResponseBody::File { path, .. } => crate::files::read_whole(&path).await?,
        };
        Ok((self.status, self.headers, body))
    }

    /// The response as it is embedded in another one: status, [`embedded_headers`] and the
    /// whole body.
    pub async fn into_embedded(self) -> std::io::Result<(u16, BTreeMap<String, String>, Bytes)> {
        let (status, headers, body) = self.into_bytes().await?;
        Ok((status, embedded_headers(headers), body))
    }
}
