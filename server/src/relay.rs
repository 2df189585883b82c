//! `sogs-relay`: a minimal service-node relay for onion requests (PROTOCOL.md §5.4), so that
//! multi-hop onion routing can be exercised end to end without the Session network.
//!
//! It serves `POST /onion_req/v2` over plain HTTP. Each request body is
//! `N (u32 LE) || ciphertext || JSON {"ephemeral_key", "enc_type", ["hop_no"]}`; the relay
//! decrypts its layer with its own X25519 key and gets again `N || blob || json`, where `json`
//! is either
//!
//! * `{"destination": <next node's Ed25519 hex>, "ephemeral_key", "enc_type"}`: the relay
//!   looks the key up in its node list and POSTs
//!   `N || blob || {"ephemeral_key", "enc_type", "hop_no": hop_no + 1}` to that node's
//!   `/onion_req/v2`. This **relay-to-relay format** stands in for the storage server's
//!   OxenMQ `sn.onion_request` command (which carries the same four fields in a bencoded
//!   dict): it is the very format a client uses for the guard, so every hop is handled by the
//!   same endpoint. A relay refuses a `hop_no` above 15, as service nodes do.
//! * `{"host", "target", "port", "protocol", "method", "ephemeral_key", "enc_type"}`: the
//!   exit hop. The relay POSTs the whole decrypted layer to `protocol://host[:port]target`
//!   (`target` must be `/oxen/…` or `/loki/…` ending in `/lsrpc`) with
//!   `Content-Type: application/octet-stream` and no redirects.
//!
//! The reply of the next hop (or of the server) is passed back unchanged, status and body.
//! Failures of the relay itself: 400 for a layer it cannot decrypt or interpret, 502
//! `Next node not found: <ed25519>` for an unknown destination, 502
//! `Next node unreachable: …` / `Destination unreachable: …` when a connection fails, and
//! 504 when the next hop does not answer within the timeout (25 s by default).
//!
//! A relay's identity is an Ed25519 key (32-byte seed in its key file); its X25519 key is
//! derived from it exactly as a service node's is.

use crate::http::{OCTET, TEXT};
use crate::onion::peel;
use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use bytes::Bytes;
use serde_json::Value;
use sogs_client::identity::x25519_secret_from_ed25519_seed;
use sogs_client::onion::{
    build_onion_body, parse_onion_body, relay_instruction, RelayInstruction, MAX_ONION_BODY,
};
use sogs_client::onion_client::{error_chain, load_node_list, OnionNode, MAX_HOPS};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// How long a relay waits for the next hop or the server by default (as service nodes do).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(25);

/// A relay's keys: an Ed25519 identity and the X25519 key derived from it.
#[derive(Clone)]
pub struct RelayKeys {
    ed25519: [u8; 32],
    x25519_secret: StaticSecret,
    x25519: [u8; 32],
}

impl std::fmt::Debug for RelayKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayKeys")
            .field("ed25519", &hex::encode(self.ed25519))
            .field("x25519", &hex::encode(self.x25519))
            .finish_non_exhaustive()
    }
}

impl RelayKeys {
    /// Keys from a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let ed25519 = ed25519_dalek::SigningKey::from_bytes(seed)
            .verifying_key()
            .to_bytes();
        let x25519_secret = StaticSecret::from(*x25519_secret_from_ed25519_seed(seed));
        let x25519 = PublicKey::from(&x25519_secret).to_bytes();
        Self {
            ed25519,
            x25519_secret,
            x25519,
        }
    }

    /// Fresh random keys.
    pub fn generate() -> Self {
        let seed = Zeroizing::new(rand::random::<[u8; 32]>());
        Self::from_seed(&seed)
    }

    /// Reads the 32-byte seed file, or creates it (mode 0600).
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let seed: Zeroizing<[u8; 32]> =
                    Zeroizing::new(bytes.as_slice().try_into().map_err(|_| {
                        anyhow::anyhow!(
                            "relay key file {} must hold exactly 32 raw bytes",
                            path.display()
                        )
                    })?);
                Ok(Self::from_seed(&seed))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let seed = Zeroizing::new(rand::random::<[u8; 32]>());
                crate::keys::write_private(path, seed.as_slice())
                    .with_context(|| format!("creating relay key file {}", path.display()))?;
                Ok(Self::from_seed(&seed))
            }
            Err(e) => Err(e).with_context(|| format!("reading relay key file {}", path.display())),
        }
    }

    pub fn ed25519(&self) -> &[u8; 32] {
        &self.ed25519
    }

    pub fn x25519(&self) -> &[u8; 32] {
        &self.x25519
    }

    /// This relay as a node-list entry reachable at `address`.
    pub fn node(&self, address: &str) -> OnionNode {
        OnionNode {
            address: address.trim_end_matches('/').to_owned(),
            x25519: self.x25519,
            ed25519: self.ed25519,
        }
    }
}

/// The nodes a relay can forward to, shared and replaceable (tests fill it in after every
/// relay has bound its port). With a `file`, a lookup that misses re-reads the file once.
#[derive(Clone, Debug, Default)]
pub struct NodeDirectory {
    nodes: Arc<RwLock<Vec<OnionNode>>>,
    file: Option<PathBuf>,
}

impl NodeDirectory {
    pub fn new(nodes: Vec<OnionNode>) -> Self {
        Self {
            nodes: Arc::new(RwLock::new(nodes)),
            file: None,
        }
    }

    /// A directory loaded from a node list file (see `sogs_client::onion_client`).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let nodes = load_node_list(path)?;
        Ok(Self {
            nodes: Arc::new(RwLock::new(nodes)),
            file: Some(path.to_owned()),
        })
    }

    pub fn set(&self, nodes: Vec<OnionNode>) {
        if let Ok(mut w) = self.nodes.write() {
            *w = nodes;
        }
    }

    pub fn nodes(&self) -> Vec<OnionNode> {
        self.nodes.read().map(|n| n.clone()).unwrap_or_default()
    }

    fn lookup(&self, ed25519: &[u8; 32]) -> Option<OnionNode> {
        self.nodes
            .read()
            .ok()?
            .iter()
            .find(|n| n.ed25519 == *ed25519)
            .cloned()
    }

    /// The node with this Ed25519 key.
    pub fn find(&self, ed25519: &[u8; 32]) -> Option<OnionNode> {
        if let Some(n) = self.lookup(ed25519) {
            return Some(n);
        }
        let file = self.file.as_ref()?;
        match load_node_list(file) {
            Ok(nodes) => self.set(nodes),
            Err(e) => tracing::warn!(error = %e, "re-reading the node list"),
        }
        self.lookup(ed25519)
    }
}

/// Everything a relay needs.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    pub listen: SocketAddr,
    pub keys: RelayKeys,
    pub nodes: NodeDirectory,
    /// Time allowed to the next hop or the server.
    pub timeout: Duration,
    pub workers: usize,
}

impl RelayConfig {
    /// Random keys, an empty node list, loopback on a free port, the default timeout.
    pub fn local() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            keys: RelayKeys::generate(),
            nodes: NodeDirectory::default(),
            timeout: DEFAULT_TIMEOUT,
            workers: 1,
        }
    }
}

struct RelayState {
    keys: RelayKeys,
    nodes: NodeDirectory,
    http: reqwest::Client,
    timeout: Duration,
}

/// A relay bound to its port, not yet serving (spawn `server`).
pub struct BuiltRelay {
    pub addr: SocketAddr,
    /// This relay's node-list entry (`http://<addr>`).
    pub node: OnionNode,
    pub server: actix_web::dev::Server,
}

/// Binds the relay's port and builds its server.
pub async fn build(config: RelayConfig) -> anyhow::Result<BuiltRelay> {
    let listener =
        TcpListener::bind(config.listen).with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the HTTP client")?;
    let node = config.keys.node(&format!("http://{addr}"));
    let state = web::Data::new(RelayState {
        keys: config.keys,
        nodes: config.nodes,
        http,
        timeout: config.timeout,
    });
    let limit = MAX_ONION_BODY + 64 * 1024;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(limit))
            .route(
                sogs_client::onion::GUARD_ENDPOINT,
                web::post().to(onion_req),
            )
    })
    .workers(config.workers.max(1))
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(BuiltRelay { addr, node, server })
}

/// A relay failure: status and plain-text reason.
fn fail(status: u16, msg: String) -> (u16, &'static str, Bytes) {
    tracing::debug!(status, %msg, "relay failure");
    (status, TEXT, Bytes::from(msg))
}

async fn onion_req(st: web::Data<RelayState>, body: Bytes) -> HttpResponse {
    let (status, content_type, body) = relay(&st, body).await;
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    HttpResponse::build(status)
        .insert_header(("content-type", content_type))
        .body(body)
}

async fn relay(st: &RelayState, body: Bytes) -> (u16, &'static str, Bytes) {
    let peeled = match peel(st.keys.x25519_secret.clone(), body).await {
        Ok(p) => p,
        Err(e) => return fail(400, format!("Invalid onion request: {e}")),
    };
    let hop_no = peeled
        .json
        .get("hop_no")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if hop_no > MAX_HOPS as u64 {
        return fail(
            400,
            format!("Invalid onion request: too many hops ({hop_no})"),
        );
    }
    match relay_instruction(&peeled.plaintext) {
        Err(e) => fail(400, format!("Invalid onion request: {e}")),
        Ok(RelayInstruction::Forward { destination, body }) => {
            let dest_hex = hex::encode(destination);
            let Some(next) = st.nodes.find(&destination) else {
                return fail(502, format!("Next node not found: {dest_hex}"));
            };
            let body = match with_hop_no(&body, hop_no + 1) {
                Ok(b) => b,
                Err(e) => return fail(400, format!("Invalid onion request: {e}")),
            };
            let who = format!("{dest_hex} ({})", next.address);
            post(st, &next.onion_url(), body, "Next node", &who).await
        }
        Ok(RelayInstruction::Deliver { url, body }) => {
            post(st, &url, body, "Destination", &url).await
        }
    }
}

/// The next hop's body with our hop number in its JSON.
fn with_hop_no(body: &[u8], hop_no: u64) -> Result<Vec<u8>, sogs_client::onion::OnionError> {
    let (blob, mut json) = parse_onion_body(body)?;
    json.insert("hop_no".into(), Value::from(hop_no));
    build_onion_body(blob, &Value::Object(json))
}

/// POSTs to the next hop and passes its reply back unchanged.
async fn post(
    st: &RelayState,
    url: &str,
    body: Vec<u8>,
    what: &str,
    who: &str,
) -> (u16, &'static str, Bytes) {
    let sent = st
        .http
        .post(url)
        .header("content-type", OCTET)
        .timeout(st.timeout)
        .body(body)
        .send()
        .await;
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            fail(
                504,
                format!(
                    "{what} timed out after {} s: {who}",
                    st.timeout.as_secs_f32()
                ),
            )
        } else {
            fail(
                502,
                format!("{what} unreachable: {who}: {}", error_chain(&e)),
            )
        }
    };
    let resp = match sent {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let status = resp.status().as_u16();
    match resp.bytes().await {
        Ok(b) => (status, OCTET, b),
        Err(e) => failed(e),
    }
}

/// Runs a relay until Ctrl-C / SIGTERM (the binary's main loop).
pub async fn run(config: RelayConfig, advertise: Option<String>) -> anyhow::Result<()> {
    let built = build(config.clone()).await?;
    let node = match advertise {
        Some(a) => config.keys.node(&a),
        None => built.node.clone(),
    };
    // The node-list entry, on stdout, for assembling a nodes file.
    println!("{}", serde_json::to_string(&node)?);
    tracing::info!(addr = %built.addr, ed25519 = %hex::encode(node.ed25519), "relay listening");
    let handle = built.server.handle();
    let server = tokio::spawn(built.server);
    crate::shutdown_signal().await;
    handle.stop(true).await;
    let _ = server.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_match_service_node_derivation() {
        let keys = RelayKeys::from_seed(&[7u8; 32]);
        assert_eq!(
            sogs_client::identity::x25519_public_from_ed25519(keys.ed25519()),
            Some(*keys.x25519())
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.key");
        let a = RelayKeys::load_or_create(&path).unwrap();
        let b = RelayKeys::load_or_create(&path).unwrap();
        assert_eq!(a.ed25519(), b.ed25519());
        std::fs::write(&path, b"short").unwrap();
        assert!(RelayKeys::load_or_create(&path).is_err());
    }

    #[test]
    fn hop_number_is_added() {
        let body = build_onion_body(b"ct", &serde_json::json!({"ephemeral_key": "k"})).unwrap();
        let out = with_hop_no(&body, 2).unwrap();
        let (blob, json) = parse_onion_body(&out).unwrap();
        assert_eq!(blob, b"ct");
        assert_eq!(json.get("hop_no"), Some(&Value::from(2)));
        assert_eq!(json.get("ephemeral_key"), Some(&Value::from("k")));
    }

    #[test]
    fn directory_rereads_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.json");
        std::fs::write(&path, "[]").unwrap();
        let d = NodeDirectory::from_file(&path).unwrap();
        let node = RelayKeys::from_seed(&[1; 32]).node("http://127.0.0.1:1");
        assert_eq!(d.find(&node.ed25519), None);
        std::fs::write(&path, serde_json::to_string(&vec![node.clone()]).unwrap()).unwrap();
        assert_eq!(d.find(&node.ed25519), Some(node));
    }
}
