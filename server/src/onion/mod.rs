//! Onion requests on the server side (PROTOCOL.md §5.2–5.3): decrypt the
//! `N || ciphertext || json` body with the server's X25519 key, decode the inner v4
//! (bencoded) or v3 (JSON) request, run it through the one route table
//! ([`routes::dispatch`] with [`AuthMode::Headers`], so the inner request gets exactly the
//! auth, permissions, limits and errors of a direct one) and encrypt the reply with the same
//! key and cipher under a fresh nonce.
//!
//! Errors before decryption (bad length prefix, bad JSON, unknown `enc_type`, failed
//! authentication tag, oversize) are answered with a plain 400 and touch nothing. Everything
//! after decryption comes back encrypted with the outer HTTP status 200.
//!
//! The X25519 exchange and the AEAD pass run on tokio's blocking pool
//! ([`tokio::task::spawn_blocking`]) so they never stall the worker's event loop (see the
//! benchmark `server/benches/onion.rs` for the measured cost).

use crate::error::ApiError;
use crate::http::{embedded_headers, Body, Method, Request, Response, OCTET, TEXT};
use crate::routes::{self, AuthMode};
use crate::state::AppState;
use bytes::Bytes;
use serde::Deserialize;
use sogs_client::encoding::b64_encode;
use sogs_client::onion::{peel_layer, OnionError, PeeledLayer, ReplyKey, V4Request, V4Response};
use std::collections::BTreeMap;
use std::net::IpAddr;
use x25519_dalek::StaticSecret;

/// The inner 400 body for a decrypted v4 payload that cannot be parsed (pysogs' text).
pub const INVALID_V4: &str = "Invalid v4 onion request";
/// The inner 400 body for an onion request made from inside another onion request.
pub const NESTED: &str = "Nested onion requests are not allowed";

/// Replies at least this large are encrypted on the blocking pool; smaller ones inline (the
/// AEAD pass over a few KiB costs far less than a thread hand-off).
const OFFLOAD_REPLY_BYTES: usize = 64 * 1024;

tokio::task_local! {
    /// Set while an onion request's inner request runs, so a nested onion request (directly
    /// or inside a `/batch` of the inner request) is refused.
    static IN_ONION: ();
}

/// Which inner format an endpoint speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `/oxen/v3/lsrpc`, `/loki/v3/lsrpc`: JSON inside, base64 reply.
    V3,
    /// `/oxen/v4/lsrpc`: bencode inside, raw encrypted reply.
    V4,
}

/// True while running the inner request of an onion request.
pub fn is_nested() -> bool {
    IN_ONION.try_with(|_| ()).is_ok()
}

/// Answers an onion request whose outer HTTP request is `outer`. Never fails: every error
/// becomes its (plain or encrypted) response here.
pub async fn handle(st: &AppState, outer: &Request, version: Version) -> Response {
    if is_nested() {
        return ApiError::bad_request(NESTED).into_response();
    }
    let body = match outer_body(&outer.body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let peeled = match peel(st.keys.secret().clone(), body).await {
        Ok(p) => p,
        Err(e) => return invalid_outer(&e),
    };
    let result = match version {
        Version::V4 => answer_v4(st, &peeled, outer.peer).await,
        Version::V3 => answer_v3(st, &peeled, outer.peer).await,
    };
    result.unwrap_or_else(ApiError::into_response)
}

/// The plain 400 for a request we could not decrypt (the client cannot read anything else).
fn invalid_outer(e: &OnionError) -> Response {
    Response::text(400, &format!("Invalid onion request: {e}"))
}

async fn outer_body(body: &Body) -> Result<Bytes, ApiError> {
    match body {
        Body::Memory(b) => Ok(b.clone()),
        Body::File { path, .. } => crate::files::read_whole(path)
            .await
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("reading onion body"))),
    }
}

/// X25519 + key derivation + AEAD decryption, off the event loop.
pub async fn peel(secret: StaticSecret, body: Bytes) -> Result<PeeledLayer, OnionError> {
    tokio::task::spawn_blocking(move || peel_layer(&secret, &body))
        .await
        .unwrap_or(Err(OnionError::DecryptionFailed))
}

async fn encrypt_reply(key: &ReplyKey, plaintext: Vec<u8>) -> Result<Vec<u8>, ApiError> {
    let internal = |e: OnionError| ApiError::Internal(anyhow::Error::new(e).context("onion reply"));
    if plaintext.len() < OFFLOAD_REPLY_BYTES {
        return key.encrypt(&plaintext).map_err(internal);
    }
    let key = key.clone();
    tokio::task::spawn_blocking(move || key.encrypt(&plaintext))
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("onion reply task")))?
        .map_err(internal)
}

/// Runs a decoded inner request through the route table, as a direct request would be run
/// (the same body limits first).
async fn run_inner(st: &AppState, req: Request) -> Response {
    let limit = routes::body_limit(&st.config, req.method, &req.path);
    if req.body.len() > limit {
        return ApiError::PayloadTooLarge { limit }.into_response();
    }
    IN_ONION
        .scope((), routes::dispatch(st, req, AuthMode::Headers))
        .await
}

/// Builds the inner [`Request`]; `Err` is the (inner) response to send instead.
pub fn inner_request(
    method: &str,
    endpoint: &str,
    headers: impl IntoIterator<Item = (String, String)>,
    body: Vec<u8>,
    peer: Option<IpAddr>,
) -> Result<Request, Response> {
    let method = Method::parse(method).ok_or_else(|| Response::text(400, INVALID_V4))?;
    if !endpoint.starts_with('/') {
        return Err(Response::text(400, INVALID_V4));
    }
    Request::embedded(method, endpoint, headers, body, peer)
        .ok_or_else(|| ApiError::bad_request("Invalid percent-encoding in path").into_response())
}

/// The v4 reply metadata headers: lower-case names, no `content-length`, and always a
/// `content-type` (the apps switch on its exact value).
fn reply_headers(headers: Vec<(String, String)>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = embedded_headers(headers);
    out.entry("content-type".into())
        .or_insert_with(|| OCTET.into());
    out
}

async fn answer_v4(
    st: &AppState,
    peeled: &PeeledLayer,
    peer: Option<IpAddr>,
) -> Result<Response, ApiError> {
    let resp = match V4Request::decode(&peeled.plaintext) {
        Ok(v4) => match inner_request(
            &v4.method,
            &v4.endpoint,
            v4.headers,
            v4.body.unwrap_or_default(),
            peer,
        ) {
            Ok(req) => run_inner(st, req).await,
            Err(resp) => resp,
        },
        Err(_) => Response::text(400, INVALID_V4),
    };
    let (status, headers, body) = match resp.into_bytes().await {
        Ok(parts) => parts,
        Err(e) => {
            tracing::error!(error = ?e, "reading onion reply body");
            let headers = vec![("content-type".to_owned(), TEXT.to_owned())];
            (500, headers, Bytes::from_static(b"Internal server error"))
        }
    };
    let reply = V4Response {
        status,
        headers: reply_headers(headers),
        body: body.to_vec(),
    };
    let plaintext = reply
        .encode()
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("encoding v4 reply")))?;
    let ciphertext = encrypt_reply(&peeled.reply_key, plaintext).await?;
    Ok(Response::new(200, OCTET, ciphertext))
}

/// The legacy v3 inner request: a JSON object.
#[derive(Debug, Deserialize)]
struct V3Request {
    endpoint: String,
    method: String,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    body: Option<String>,
}

fn v3_request(plaintext: &[u8], peer: Option<IpAddr>) -> Option<Request> {
    let v3: V3Request = serde_json::from_slice(plaintext).ok()?;
    let method = Method::parse(&v3.method)?;
    let body = match (method, v3.body) {
        (Method::Get | Method::Delete, None) => Vec::new(),
        (Method::Get | Method::Delete, Some(b)) if b.is_empty() || b == "null" => Vec::new(),
        (Method::Get | Method::Delete, Some(_)) => return None,
        (_, b) => b.unwrap_or_default().into_bytes(),
    };
    let mut headers: Vec<(String, String)> = v3.headers.unwrap_or_default().into_iter().collect();
    if matches!(method, Method::Post | Method::Put) {
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        headers.push(("content-type".into(), crate::http::JSON.into()));
    }
    inner_request(&v3.method, &v3.endpoint, headers, body, peer).ok()
}

async fn answer_v3(
    st: &AppState,
    peeled: &PeeledLayer,
    peer: Option<IpAddr>,
) -> Result<Response, ApiError> {
    let plaintext = match v3_request(&peeled.plaintext, peer) {
        None => br#"{"status_code":400}"#.to_vec(),
        Some(req) => match run_inner(st, req).await.into_bytes().await {
            Ok((status, _, body)) if (200..300).contains(&status) => body.to_vec(),
            Ok((status, _, _)) => format!(r#"{{"status_code":{status}}}"#).into_bytes(),
            Err(_) => br#"{"status_code":500}"#.to_vec(),
        },
    };
    let ciphertext = encrypt_reply(&peeled.reply_key, plaintext).await?;
    Ok(Response::new(200, TEXT, b64_encode(&ciphertext)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_request_parsing() {
        let r = inner_request(
            "GET",
            "/room/caf%C3%A9/messages/recent?limit=5",
            vec![
                ("X-SOGS-Pubkey".into(), "x".into()),
                ("Content-Length".into(), "9".into()),
            ],
            Vec::new(),
            None,
        )
        .unwrap();
        assert_eq!(r.path, "/room/café/messages/recent");
        assert_eq!(r.query.as_deref(), Some("limit=5"));
        assert_eq!(
            r.headers,
            vec![("x-sogs-pubkey".to_owned(), "x".to_owned())]
        );
        let raw = inner_request("GET", "/room/café", Vec::new(), Vec::new(), None).unwrap();
        assert_eq!(raw.path, "/room/café");
        for (m, e) in [("GET", "room"), ("PATCH", "/room"), ("GET", "/room/%FF")] {
            let resp = inner_request(m, e, Vec::new(), Vec::new(), None).unwrap_err();
            assert_eq!(resp.status, 400, "{m} {e}");
        }
    }

    #[test]
    fn reply_headers_are_normalised() {
        let h = reply_headers(vec![
            ("Content-Length".into(), "3".into()),
            ("Retry-After".into(), "5".into()),
        ]);
        assert_eq!(h.get("content-type").map(String::as_str), Some(OCTET));
        assert_eq!(h.get("retry-after").map(String::as_str), Some("5"));
        assert!(!h.contains_key("content-length"));
    }

    #[test]
    fn v3_bodies() {
        let get = v3_request(
            br#"{"endpoint":"/rooms","method":"GET","body":"null"}"#,
            None,
        );
        assert!(get.is_some_and(|r| r.body.is_empty()));
        assert!(v3_request(br#"{"endpoint":"/rooms","method":"GET","body":"x"}"#, None).is_none());
        assert!(v3_request(br#"{"endpoint":"rooms","method":"GET"}"#, None).is_none());
        let post = v3_request(
            br#"{"endpoint":"/batch","method":"POST","body":"[]","headers":{"Content-Type":"text/plain"}}"#,
            None,
        )
        .unwrap();
        assert_eq!(post.header("content-type"), Some("application/json"));
        assert!(matches!(&post.body, Body::Memory(b) if b.as_ref() == b"[]"));
    }
}
