//! Onion-routed access for clients (CLIENT.md §6): service-node lists, random paths, and
//! (with the `http` feature) sending a request through a path, or straight to a server's
//! `/oxen/v4/lsrpc`, and reading the encrypted reply. The per-hop crypto is
//! [`crate::onion`]; this module only chooses nodes and moves bytes.
//!
//! # Node list files
//!
//! [`load_node_list`] reads a JSON file in one of these forms:
//!
//! 1. Our own list (what `sogs-relay` prints for itself at start-up), an array or
//!    `{"nodes": [...]}`:
//!    ```json
//!    [{"address": "http://127.0.0.1:8601",
//!      "x25519": "<64 hex digits>", "ed25519": "<64 hex digits>"}]
//!    ```
//!    `address` is the node's HTTP(S) base URL: the client posts to
//!    `address + "/onion_req/v2"`.
//! 2. The public network's list as a seed node returns it (CLIENT.md §6.1): save the reply of
//!    ```sh
//!    curl -sk https://seed1.getsession.org:4443/json_rpc -d '{"jsonrpc":"2.0",
//!      "method":"get_n_service_nodes","params":{"active_only":true,"fields":{"public_ip":true,
//!      "storage_port":true,"pubkey_x25519":true,"pubkey_ed25519":true}}}' > nodes.json
//!    ```
//!    i.e. `{"result": {"service_node_states": [{"public_ip", "storage_port",
//!    "pubkey_x25519", "pubkey_ed25519"}, ...]}}` (the bare `{"service_node_states": [...]}`
//!    works too). Each node becomes `https://<public_ip>:<storage_port>`; nodes whose IP is
//!    `0.0.0.0` are dropped. Service nodes use self-signed certificates, so node TLS is not
//!    verified (as the Session apps do; every layer is end-to-end encrypted anyway).
//!
//! The public seeds and service nodes cannot be reached from the build machine; the tests use
//! local `sogs-relay`s instead.

use std::collections::HashSet;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::onion::{FinalDestination, OnionHop};

/// Hops in a path when the caller does not say (the Session apps use 3).
pub const DEFAULT_HOPS: usize = 3;
/// Most hops a path may have (service nodes refuse a `hop_no` above 15).
pub const MAX_HOPS: usize = 15;

/// A service node (or local relay) that can carry onion requests.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OnionNode {
    /// Base URL of its HTTP(S) endpoint, e.g. `http://127.0.0.1:8601` (no trailing slash).
    pub address: String,
    /// X25519 public key, 64 hex digits in JSON: layers are encrypted to it.
    #[serde(with = "hex32")]
    pub x25519: [u8; 32],
    /// Ed25519 public key, 64 hex digits in JSON: the previous hop names it as `destination`.
    #[serde(with = "hex32")]
    pub ed25519: [u8; 32],
}

impl OnionNode {
    /// The keys [`crate::onion::wrap_path`] needs.
    pub fn hop(&self) -> OnionHop {
        OnionHop {
            x25519: self.x25519,
            ed25519: self.ed25519,
        }
    }

    /// The URL a client or the previous relay posts this node's layer to.
    pub fn onion_url(&self) -> String {
        format!(
            "{}{}",
            self.address.trim_end_matches('/'),
            crate::onion::GUARD_ENDPOINT
        )
    }
}

mod hex32 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(key))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out)
            .map_err(|_| D::Error::custom("expected a 32-byte key as 64 hex digits"))?;
        Ok(out)
    }
}

/// Why a node list could not be loaded, or a path not built.
#[derive(Debug, thiserror::Error)]
pub enum NodeListError {
    /// The file could not be read.
    #[error("cannot read node list {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not JSON, or not one of the accepted shapes.
    #[error("invalid node list: {0}")]
    Invalid(String),
    /// Too few distinct nodes for the requested path, or a bad hop count.
    #[error("{0}")]
    Path(String),
}

/// Reads a node list file (see the module documentation for the formats).
pub fn load_node_list(path: impl AsRef<Path>) -> Result<Vec<OnionNode>, NodeListError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| NodeListError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_node_list(&text)
}

#[derive(Deserialize)]
struct SeedNode {
    public_ip: String,
    storage_port: u16,
    pubkey_x25519: String,
    pubkey_ed25519: String,
}

fn key(hex_text: &str, what: &str) -> Result<[u8; 32], NodeListError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out)
        .map_err(|_| NodeListError::Invalid(format!("{what} is not 64 hex digits: {hex_text}")))?;
    Ok(out)
}

/// Parses a node list (either format), drops duplicate Ed25519 keys and checks addresses.
pub fn parse_node_list(json: &str) -> Result<Vec<OnionNode>, NodeListError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| NodeListError::Invalid(e.to_string()))?;
    let states = value
        .get("result")
        .unwrap_or(&value)
        .get("service_node_states");
    let nodes: Vec<OnionNode> =
        match (states, &value) {
            (Some(states), _) => {
                let seeds: Vec<SeedNode> = serde_json::from_value(states.clone())
                    .map_err(|e| NodeListError::Invalid(format!("service_node_states: {e}")))?;
                seeds
                    .into_iter()
                    .filter(|n| n.public_ip != "0.0.0.0" && !n.public_ip.is_empty())
                    .map(|n| {
                        Ok(OnionNode {
                            address: format!("https://{}:{}", n.public_ip, n.storage_port),
                            x25519: key(&n.pubkey_x25519, "pubkey_x25519")?,
                            ed25519: key(&n.pubkey_ed25519, "pubkey_ed25519")?,
                        })
                    })
                    .collect::<Result<_, NodeListError>>()?
            }
            (None, Value::Array(_)) => serde_json::from_value(value.clone())
                .map_err(|e| NodeListError::Invalid(e.to_string()))?,
            (None, Value::Object(o)) if o.contains_key("nodes") => {
                serde_json::from_value(o.get("nodes").cloned().unwrap_or(Value::Null))
                    .map_err(|e| NodeListError::Invalid(format!("nodes: {e}")))?
            }
            _ => return Err(NodeListError::Invalid(
                "expected an array of nodes, {\"nodes\": [...]}, or a get_n_service_nodes reply"
                    .into(),
            )),
        };
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(nodes.len());
    for mut node in nodes {
        node.address = node.address.trim_end_matches('/').to_owned();
        if !(node.address.starts_with("http://") || node.address.starts_with("https://")) {
            return Err(NodeListError::Invalid(format!(
                "node address must start with http:// or https://: {}",
                node.address
            )));
        }
        if seen.insert(node.ed25519) {
            out.push(node);
        }
    }
    Ok(out)
}

/// A random path of `hops` distinct nodes (distinct Ed25519 keys), guard first.
pub fn choose_path<R: Rng + ?Sized>(
    nodes: &[OnionNode],
    hops: usize,
    rng: &mut R,
) -> Result<Vec<OnionNode>, NodeListError> {
    if !(1..=MAX_HOPS).contains(&hops) {
        return Err(NodeListError::Path(format!(
            "an onion path needs 1–{MAX_HOPS} hops, not {hops}"
        )));
    }
    let mut seen = HashSet::new();
    let distinct: Vec<&OnionNode> = nodes.iter().filter(|n| seen.insert(n.ed25519)).collect();
    if distinct.len() < hops {
        return Err(NodeListError::Path(format!(
            "an onion path of {hops} hops needs {hops} distinct nodes; the node list has {}",
            distinct.len()
        )));
    }
    Ok(distinct
        .choose_multiple(rng, hops)
        .map(|n| (*n).clone())
        .collect())
}

/// Where the exit node delivers a request for the server at `base_url`
/// (`http[s]://host[:port]`): host, port (scheme default when absent) and protocol.
pub fn destination_for(
    base_url: &str,
    server_pk: [u8; 32],
) -> Result<FinalDestination, NodeListError> {
    let bad = || NodeListError::Invalid(format!("cannot route to server URL {base_url}"));
    let (protocol, rest) = base_url.split_once("://").ok_or_else(bad)?;
    let default_port = match protocol {
        "http" => 80,
        "https" => 443,
        _ => return Err(bad()),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        // `[v6]` without a port, or `host:port` / `[v6]:port`.
        Some((h, p)) if !p.contains(']') => (h, p.parse::<u16>().map_err(|_| bad())?),
        _ => (authority, default_port),
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok(FinalDestination::v4(host, port, protocol, server_pk))
}

/// An error and its causes, `: `-separated (an HTTP client's own text often omits the cause,
/// e.g. "connection refused").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(feature = "http")]
pub use send::*;

#[cfg(feature = "http")]
mod send {
    use std::time::Duration;

    use crate::client::{ApiResponse, ClientError};
    use crate::onion::{
        build_v4_request, wrap_path, EncType, OnionError, ReplyKey, V4Request, V4Response,
        V4_TARGET,
    };

    use super::{destination_for, error_chain, OnionNode};

    /// Default time allowed for one onion request end to end (relays allow 25 s per hop).
    pub const ONION_TIMEOUT: Duration = Duration::from_secs(40);

    fn onion_err(what: &str) -> impl Fn(OnionError) -> ClientError + '_ {
        move |e| ClientError::Onion(format!("{what}: {e}"))
    }

    fn reply(key: &ReplyKey, body: &[u8]) -> Result<ApiResponse, ClientError> {
        let V4Response {
            status,
            headers,
            body,
        } = key
            .decrypt_v4_response(body)
            .map_err(onion_err("cannot read the onion reply"))?;
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }

    async fn post(
        http: &reqwest::Client,
        url: &str,
        body: Vec<u8>,
        timeout: Duration,
        who: &str,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let send = http
            .post(url)
            .header("content-type", "application/octet-stream")
            .timeout(timeout)
            .body(body)
            .send()
            .await;
        let describe = |e: reqwest::Error| {
            if e.is_timeout() {
                ClientError::Onion(format!(
                    "{who} did not answer within {} s",
                    timeout.as_secs()
                ))
            } else {
                ClientError::Onion(format!("{who} unreachable: {}", error_chain(&e)))
            }
        };
        let resp = send.map_err(describe)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(describe)?.to_vec();
        Ok((status, body))
    }

    /// One layer straight to the server: POST `base_url/oxen/v4/lsrpc` and decrypt the reply.
    pub async fn send_direct(
        http: &reqwest::Client,
        base_url: &str,
        server_pk: &[u8; 32],
        enc: EncType,
        request: &V4Request,
        timeout: Duration,
    ) -> Result<ApiResponse, ClientError> {
        let (body, key) = build_v4_request(
            enc,
            server_pk,
            &request.method,
            &request.endpoint,
            &request.headers,
            request.body.as_deref(),
        )
        .map_err(onion_err("cannot build the onion request"))?;
        let url = format!("{}{V4_TARGET}", base_url.trim_end_matches('/'));
        let who = format!("server {base_url}");
        let (status, body) = post(http, &url, body, timeout, &who).await?;
        if status != 200 {
            return Err(ClientError::Onion(format!(
                "{who} refused the onion request ({status}): {}",
                String::from_utf8_lossy(&body)
            )));
        }
        reply(&key, &body)
    }

    /// Wraps `request` for `path` (guard first) and the server at `base_url`, posts it to the
    /// guard's `/onion_req/v2` and decrypts the server's reply. A relay that is down or slow
    /// anywhere on the path gives [`ClientError::Onion`] naming what failed.
    pub async fn send_via_path(
        http: &reqwest::Client,
        path: &[OnionNode],
        base_url: &str,
        server_pk: &[u8; 32],
        enc: EncType,
        request: &V4Request,
        timeout: Duration,
    ) -> Result<ApiResponse, ClientError> {
        let guard = path
            .first()
            .ok_or_else(|| ClientError::Onion("empty onion path".into()))?;
        let dest =
            destination_for(base_url, *server_pk).map_err(|e| ClientError::Onion(e.to_string()))?;
        let hops: Vec<_> = path.iter().map(OnionNode::hop).collect();
        let (body, key) = wrap_path(enc, &hops, &dest, request)
            .map_err(onion_err("cannot build the onion request"))?;
        let who = format!("relay {} (guard)", guard.address);
        let (status, body) = post(http, &guard.onion_url(), body, timeout, &who).await?;
        if status != 200 {
            return Err(ClientError::Onion(format!(
                "{who} answered {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        reply(&key, &body)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn node(i: u8) -> OnionNode {
        OnionNode {
            address: format!("http://127.0.0.1:{}", 9000 + u16::from(i)),
            x25519: [i; 32],
            ed25519: [i.wrapping_add(100); 32],
        }
    }

    #[test]
    fn node_list_formats() {
        let ours = serde_json::to_string(&vec![node(1), node(2), node(1)]).unwrap();
        assert!(ours.contains(&hex::encode([1u8; 32])));
        let list = parse_node_list(&ours).unwrap();
        assert_eq!(list, vec![node(1), node(2)]);
        let wrapped = format!("{{\"nodes\": {ours}}}");
        assert_eq!(parse_node_list(&wrapped).unwrap().len(), 2);

        let seed = serde_json::json!({"jsonrpc": "2.0", "result": {"service_node_states": [
            {"public_ip": "203.0.113.7", "storage_port": 22021,
             "pubkey_x25519": hex::encode([7u8; 32]), "pubkey_ed25519": hex::encode([8u8; 32]),
             "height": 5},
            {"public_ip": "0.0.0.0", "storage_port": 1,
             "pubkey_x25519": hex::encode([9u8; 32]), "pubkey_ed25519": hex::encode([9u8; 32])}
        ]}});
        let list = parse_node_list(&seed.to_string()).unwrap();
        assert_eq!(
            list,
            vec![OnionNode {
                address: "https://203.0.113.7:22021".into(),
                x25519: [7; 32],
                ed25519: [8; 32]
            }]
        );
        for bad in [
            "{",
            "{}",
            "[{\"address\": \"ftp://x\", \"x25519\": \"00\", \"ed25519\": \"00\"}]",
            &format!(
                "[{{\"address\": \"ftp://x\", \"x25519\": \"{0}\", \"ed25519\": \"{0}\"}}]",
                hex::encode([1u8; 32])
            ),
        ] {
            assert!(parse_node_list(bad).is_err(), "{bad}");
        }
        let e = load_node_list("/nonexistent/nodes.json").unwrap_err();
        assert!(e.to_string().contains("/nonexistent/nodes.json"));
    }

    #[test]
    fn paths_are_distinct_and_sized() {
        let nodes: Vec<_> = (0..5).map(node).collect();
        let mut rng = rand::thread_rng();
        for hops in 1..=5 {
            let p = choose_path(&nodes, hops, &mut rng).unwrap();
            assert_eq!(p.len(), hops);
            let keys: HashSet<_> = p.iter().map(|n| n.ed25519).collect();
            assert_eq!(keys.len(), hops);
        }
        assert!(choose_path(&nodes, 6, &mut rng).is_err());
        assert!(choose_path(&nodes, 0, &mut rng).is_err());
        assert!(choose_path(&nodes, 16, &mut rng).is_err());
        let dup = vec![node(1), node(1), node(1)];
        assert!(choose_path(&dup, 2, &mut rng).is_err());
    }

    #[test]
    fn destinations() {
        let d = destination_for("http://127.0.0.1:8080", [1; 32]).unwrap();
        assert_eq!(
            (d.host.as_str(), d.port, d.protocol.as_str()),
            ("127.0.0.1", 8080, "http")
        );
        let d = destination_for("https://sogs.example.org/", [1; 32]).unwrap();
        assert_eq!(
            (d.host.as_str(), d.port, d.protocol.as_str()),
            ("sogs.example.org", 443, "https")
        );
        let d = destination_for("http://[::1]:81", [1; 32]).unwrap();
        assert_eq!((d.host.as_str(), d.port), ("[::1]", 81));
        let d = destination_for("http://[::1]", [1; 32]).unwrap();
        assert_eq!((d.host.as_str(), d.port), ("[::1]", 80));
        assert_eq!(d.target, "/oxen/v4/lsrpc");
        for bad in ["127.0.0.1:80", "ftp://x", "http://", "http://h:port"] {
            assert!(destination_for(bad, [1; 32]).is_err(), "{bad}");
        }
    }
}
