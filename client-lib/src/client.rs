//! The HTTP client: signs each request with the caller's key (blinded for servers that
//! advertise `blind`) and sends it to a community server.

use crate::onion::{EncType, V4Request};
use crate::onion_client::{self, OnionNode, DEFAULT_HOPS};
use crate::signing::{signing_path_from_endpoint, Signer};
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The server could not be reached at all (nothing was sent), after `tries` attempts.
    #[error("cannot connect to {url}: {cause} (tried {tries} times)")]
    Connect {
        url: String,
        cause: String,
        tries: u32,
    },
    #[error("invalid request path: {0}")]
    Path(String),
    #[error("server answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("unexpected response body: {0}")]
    Decode(String),
    /// An onion request could not be built, carried or read: a relay or the server was
    /// unreachable or timed out, a relay refused it, or the reply did not decrypt.
    #[error("onion request failed: {0}")]
    Onion(String),
    #[error("{0}")]
    Other(String),
}

/// A response: status, lower-case headers, raw body.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Parses the body as JSON (whatever the status).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ClientError::Decode(format!("{e}: {}", self.text())))
    }

    /// Fails unless the status is 2xx.
    pub fn ok(self) -> Result<Self, ClientError> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(ClientError::Status {
                status: self.status,
                body: self.text(),
            })
        }
    }
}

/// How requests reach the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// Plain HTTP(S) to the server (the default).
    #[default]
    Direct,
    /// One onion layer posted straight to the server's `/oxen/v4/lsrpc` (tests and bots on
    /// the same machine; exercises exactly what the server does for Session apps).
    OnionDirect { enc: EncType },
    /// A fresh random path of `hops` (1–15) distinct `nodes` per request; the request is
    /// posted to the first node's `/onion_req/v2` (CLIENT.md §6.3).
    OnionPath {
        nodes: Vec<OnionNode>,
        hops: usize,
        enc: EncType,
    },
}

impl Transport {
    /// A 3-hop path over `nodes` with the Session apps' default cipher (aes-gcm).
    pub fn onion_path(nodes: Vec<OnionNode>) -> Self {
        Self::OnionPath {
            nodes,
            hops: DEFAULT_HOPS,
            enc: EncType::default(),
        }
    }
}

/// Attempts to open a connection before a direct request fails (a refused or unreachable
/// server is tried again: nothing reached it, so nothing can be applied twice).
pub const CONNECT_TRIES: u32 = 3;
/// Pause before the second attempt; doubled before each later one.
const CONNECT_RETRY_PAUSE: Duration = Duration::from_millis(250);

/// What went wrong under a connect error, in plain words ("connection refused").
fn connect_cause(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut last = e.to_string();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::TimedOut => "timed out".to_owned(),
                _ => io.to_string(),
            };
        }
        last = s.to_string();
        source = s.source();
    }
    last
}

/// Where "now" comes from for request timestamps (tests point it at a test clock).
pub type TimeSource = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A connection to one community server as one identity (or anonymously).
#[derive(Clone)]
pub struct SogsClient {
    http: reqwest::Client,
    base_url: String,
    server_pk: [u8; 32],
    signer: Option<Signer>,
    now: TimeSource,
    transport: Transport,
    /// For service nodes: their certificates are self-signed and not verified (CLIENT.md §6.1).
    node_http: reqwest::Client,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for SogsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SogsClient")
            .field("base_url", &self.base_url)
            .field("signer", &self.signer)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl SogsClient {
    /// An anonymous client for `base_url` (`http://host[:port]`, no trailing slash).
    pub fn new(base_url: &str, server_pk: [u8; 32]) -> Self {
        Self {
            http: reqwest::Client::new(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            server_pk,
            signer: None,
            now: Arc::new(system_now),
            transport: Transport::Direct,
            node_http: reqwest::Client::new(),
            timeout: None,
        }
    }

    /// Sends every request over `transport` from now on.
    pub fn with_transport(mut self, transport: Transport) -> Self {
        if matches!(transport, Transport::OnionPath { .. }) {
            self.node_http = reqwest::Client::builder()
                .danger_accept_invalid_certs(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default();
        }
        self.transport = transport;
        self
    }

    /// Time allowed for each request (default: none for direct requests, 40 s for onion ones).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    pub fn with_signer(mut self, signer: Signer) -> Self {
        self.signer = Some(signer);
        self
    }

    pub fn with_time_source(mut self, now: TimeSource) -> Self {
        self.now = now;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn server_pubkey(&self) -> &[u8; 32] {
        &self.server_pk
    }

    pub fn signer(&self) -> Option<&Signer> {
        self.signer.as_ref()
    }

    /// Now, in whole seconds, from this client's time source (what `X-SOGS-Timestamp` carries).
    pub fn now_secs(&self) -> i64 {
        (self.now)()
    }

    /// Now in milliseconds, for message timestamps (`sigTimestamp`): the time source's seconds
    /// plus the system clock's sub-second part.
    pub fn now_ms(&self) -> u64 {
        let sub = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::from(d.subsec_millis()))
            .unwrap_or(0);
        u64::try_from(self.now_secs()).unwrap_or(0) * 1000 + sub
    }

    /// The X-SOGS-* headers for a request, if this client has a key.
    pub fn auth_headers(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, ClientError> {
        let Some(signer) = &self.signer else {
            return Ok(Vec::new());
        };
        let path =
            signing_path_from_endpoint(target).map_err(|e| ClientError::Path(e.to_string()))?;
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let h = signer.auth_headers(&self.server_pk, method, &path, body, (self.now)(), nonce);
        Ok(h.pairs().to_vec())
    }

    /// Sends one signed request. `target` is the path with optional `?query`, as sent.
    pub async fn request(
        &self,
        method: &str,
        target: &str,
        body: Option<(&[u8], &str)>,
        extra_headers: &[(&str, &str)],
    ) -> Result<ApiResponse, ClientError> {
        match &self.transport {
            Transport::Direct => self.send_direct(method, target, body, extra_headers).await,
            Transport::OnionDirect { .. } | Transport::OnionPath { .. } => {
                self.send_onion(method, target, body, extra_headers).await
            }
        }
    }

    /// The headers of a request, in order: the X-SOGS-* signature, `Content-Type` when there
    /// is a body, then `extra_headers`.
    fn request_headers(
        &self,
        method: &str,
        target: &str,
        body: Option<(&[u8], &str)>,
        extra_headers: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, ClientError> {
        let bytes = body.map(|(b, _)| b).unwrap_or_default();
        let mut headers: Vec<(String, String)> = self
            .auth_headers(method, target, bytes)?
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        if let Some((_, content_type)) = body {
            headers.push(("Content-Type".into(), content_type.to_owned()));
        }
        headers.extend(
            extra_headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Ok(headers)
    }

    /// [`Self::request`] over plain HTTP(S).
    async fn send_direct(
        &self,
        method: &str,
        target: &str,
        body: Option<(&[u8], &str)>,
        extra_headers: &[(&str, &str)],
    ) -> Result<ApiResponse, ClientError> {
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| ClientError::Other(format!("bad method {method}")))?;
        let mut tries = 0;
        let mut pause = CONNECT_RETRY_PAUSE;
        let resp = loop {
            tries += 1;
            // Signed afresh each time: a nonce is never sent twice.
            let mut req = self
                .http
                .request(m.clone(), format!("{}{}", self.base_url, target));
            if let Some(t) = self.timeout {
                req = req.timeout(t);
            }
            for (k, v) in self.request_headers(method, target, body, extra_headers)? {
                req = req.header(k, v);
            }
            if let Some((b, _)) = body {
                req = req.body(b.to_vec());
            }
            match req.send().await {
                Ok(resp) => break resp,
                Err(e) if e.is_connect() && tries < CONNECT_TRIES => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(e) if e.is_connect() => {
                    return Err(ClientError::Connect {
                        url: self.base_url.clone(),
                        cause: connect_cause(&e),
                        tries,
                    })
                }
                Err(e) => return Err(e.into()),
            }
        };
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = resp.bytes().await?.to_vec();
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }

    /// [`Self::request`] over an onion transport: the same signed headers inside a v4 request.
    async fn send_onion(
        &self,
        method: &str,
        target: &str,
        body: Option<(&[u8], &str)>,
        extra_headers: &[(&str, &str)],
    ) -> Result<ApiResponse, ClientError> {
        let request = V4Request {
            method: method.to_owned(),
            endpoint: target.to_owned(),
            headers: self
                .request_headers(method, target, body, extra_headers)?
                .into_iter()
                .collect(),
            body: body.map(|(b, _)| b.to_vec()),
        };
        let timeout = self.timeout.unwrap_or(onion_client::ONION_TIMEOUT);
        match &self.transport {
            Transport::Direct => Err(ClientError::Other("not an onion transport".into())),
            Transport::OnionDirect { enc } => {
                onion_client::send_direct(
                    &self.http,
                    &self.base_url,
                    &self.server_pk,
                    *enc,
                    &request,
                    timeout,
                )
                .await
            }
            Transport::OnionPath { nodes, hops, enc } => {
                let path = onion_client::choose_path(nodes, *hops, &mut rand::thread_rng())
                    .map_err(|e| ClientError::Onion(e.to_string()))?;
                onion_client::send_via_path(
                    &self.node_http,
                    &path,
                    &self.base_url,
                    &self.server_pk,
                    *enc,
                    &request,
                    timeout,
                )
                .await
            }
        }
    }

    pub async fn get(&self, target: &str) -> Result<ApiResponse, ClientError> {
        self.request("GET", target, None, &[]).await
    }

    pub async fn delete(&self, target: &str) -> Result<ApiResponse, ClientError> {
        self.request("DELETE", target, None, &[]).await
    }

    pub async fn post_json<T: Serialize + ?Sized>(
        &self,
        target: &str,
        body: &T,
    ) -> Result<ApiResponse, ClientError> {
        self.send_json("POST", target, body).await
    }

    pub async fn put_json<T: Serialize + ?Sized>(
        &self,
        target: &str,
        body: &T,
    ) -> Result<ApiResponse, ClientError> {
        self.send_json("PUT", target, body).await
    }

    async fn send_json<T: Serialize + ?Sized>(
        &self,
        method: &str,
        target: &str,
        body: &T,
    ) -> Result<ApiResponse, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Other(e.to_string()))?;
        self.request(method, target, Some((&bytes, "application/json")), &[])
            .await
    }
}
