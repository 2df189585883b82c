//! `X-SOGS-*` request authentication: body hash, signed message and headers
//! (PROTOCOL.md §4, CLIENT.md §0).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use blake2::digest::consts::U64;
use blake2::{Blake2b, Digest};
use ed25519_dalek::{Signer as _, SigningKey};
use percent_encoding::percent_decode_str;
use rand::rngs::OsRng;
use rand::RngCore;

use crate::blinding::{blake2b_64, BlindedKeyPair};
use crate::encoding::b64_encode;
use crate::ids::{IdPrefix, SessionId};

/// Header names, in the order [`AuthHeaders::pairs`] returns them.
pub const HEADER_PUBKEY: &str = "X-SOGS-Pubkey";
/// `X-SOGS-Timestamp`.
pub const HEADER_TIMESTAMP: &str = "X-SOGS-Timestamp";
/// `X-SOGS-Nonce`.
pub const HEADER_NONCE: &str = "X-SOGS-Nonce";
/// `X-SOGS-Signature`.
pub const HEADER_SIGNATURE: &str = "X-SOGS-Signature";

/// Unkeyed BLAKE2b-64 of a request body (the `HBODY` of PROTOCOL.md §4.1).
pub fn body_hash(body: &[u8]) -> [u8; 64] {
    blake2b_64(&[body])
}

/// Streaming [`body_hash`]. `finalize` gives `None` when no byte was fed, because an empty body
/// adds nothing to the signed message.
#[derive(Clone, Default)]
pub struct BodyHasher {
    inner: Blake2b<U64>,
    len: u64,
}

impl fmt::Debug for BodyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyHasher")
            .field("len", &self.len)
            .finish()
    }
}

impl BodyHasher {
    /// A hasher that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed more body bytes.
    pub fn update(&mut self, chunk: &[u8]) {
        Digest::update(&mut self.inner, chunk);
        self.len = self.len.saturating_add(chunk.len() as u64);
    }

    /// Number of bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no byte was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hash, or `None` for an empty body.
    pub fn finalize(self) -> Option<[u8; 64]> {
        (self.len > 0).then(|| self.inner.finalize().into())
    }
}

/// The bytes that are signed (PROTOCOL.md §4.1):
/// `server_pk || nonce || timestamp || method || path_and_query || [body_hash]`.
pub fn signed_message(
    server_pk: &[u8; 32],
    nonce: &[u8; 16],
    timestamp: &str,
    method: &str,
    path_and_query: &str,
    body_hash: Option<&[u8; 64]>,
) -> Vec<u8> {
    let mut msg =
        Vec::with_capacity(32 + 16 + timestamp.len() + method.len() + path_and_query.len() + 64);
    msg.extend_from_slice(server_pk);
    msg.extend_from_slice(nonce);
    msg.extend_from_slice(timestamp.as_bytes());
    msg.extend_from_slice(method.as_bytes());
    msg.extend_from_slice(path_and_query.as_bytes());
    if let Some(h) = body_hash {
        msg.extend_from_slice(h);
    }
    msg
}

/// A request path that cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The percent-decoded path is not UTF-8.
    #[error("percent-decoded path is not valid UTF-8")]
    InvalidUtf8,
    /// The path does not start with `/`.
    #[error("path must start with '/'")]
    NotAbsolute,
}

/// The path as signed (PROTOCOL.md §4.1): `raw_path` percent-decoded (strict UTF-8), then
/// `?` + `raw_query` exactly as sent when the query is non-empty.
pub fn signing_path(raw_path: &str, raw_query: Option<&str>) -> Result<String, PathError> {
    let mut out = percent_decode_str(raw_path)
        .decode_utf8()
        .map_err(|_| PathError::InvalidUtf8)?
        .into_owned();
    if let Some(q) = raw_query.filter(|q| !q.is_empty()) {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// Split an onion-request `endpoint` at the first `?` and return the path as signed and
/// dispatched (PROTOCOL.md §4.1): the path part percent-decoded, the query kept raw.
pub fn signing_path_from_endpoint(endpoint: &str) -> Result<String, PathError> {
    if !endpoint.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    match endpoint.split_once('?') {
        Some((path, query)) => signing_path(path, Some(query)),
        None => signing_path(endpoint, None),
    }
}

/// The four `X-SOGS-*` header values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthHeaders {
    /// `15…`/`25…` or `00…`, 66 hex digits.
    pub pubkey: String,
    /// Unix seconds, decimal.
    pub timestamp: String,
    /// 16 bytes, base64.
    pub nonce: String,
    /// 64 bytes, base64.
    pub signature: String,
}

impl AuthHeaders {
    /// `(name, value)` pairs: Pubkey, Timestamp, Nonce, Signature.
    pub fn pairs(&self) -> [(&'static str, String); 4] {
        [
            (HEADER_PUBKEY, self.pubkey.clone()),
            (HEADER_TIMESTAMP, self.timestamp.clone()),
            (HEADER_NONCE, self.nonce.clone()),
            (HEADER_SIGNATURE, self.signature.clone()),
        ]
    }
}

/// The key a client signs requests with.
#[derive(Clone)]
pub enum Signer {
    /// A blinded key for one server (`15…` or `25…` in `X-SOGS-Pubkey`). Signs with
    /// libsession's nonce derivation.
    Blinded(BlindedKeyPair),
    /// The real Ed25519 key (`00…`), for servers that do not require blinding.
    Unblinded(SigningKey),
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Blinded(kp) => f.debug_tuple("Blinded").field(kp).finish(),
            Self::Unblinded(_) => f.debug_tuple("Unblinded").field(&self.pubkey_id()).finish(),
        }
    }
}

impl Signer {
    /// The id sent in `X-SOGS-Pubkey`.
    pub fn pubkey_id(&self) -> SessionId {
        match self {
            Self::Blinded(kp) => kp.session_id(),
            Self::Unblinded(sk) => {
                SessionId::new(IdPrefix::Unblinded, sk.verifying_key().to_bytes())
            }
        }
    }

    /// Sign arbitrary bytes with this key.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        match self {
            Self::Blinded(kp) => kp.sign(msg),
            Self::Unblinded(sk) => sk.sign(msg).to_bytes(),
        }
    }

    /// Headers for one request. `path_and_query` is the path as signed (see [`signing_path`]);
    /// `body` is the exact body sent (empty for none). For a blinded key, `server_pk` must be
    /// the server the key was blinded for.
    pub fn auth_headers(
        &self,
        server_pk: &[u8; 32],
        method: &str,
        path_and_query: &str,
        body: &[u8],
        timestamp: i64,
        nonce: [u8; 16],
    ) -> AuthHeaders {
        let timestamp = timestamp.to_string();
        let hash = (!body.is_empty()).then(|| body_hash(body));
        let msg = signed_message(
            server_pk,
            &nonce,
            &timestamp,
            method,
            path_and_query,
            hash.as_ref(),
        );
        AuthHeaders {
            pubkey: self.pubkey_id().to_string(),
            timestamp,
            nonce: b64_encode(&nonce),
            signature: b64_encode(&self.sign(&msg)),
        }
    }

    /// [`Self::auth_headers`] with a random nonce and the current time.
    pub fn auth_headers_now(
        &self,
        server_pk: &[u8; 32],
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> AuthHeaders {
        let mut nonce = [0u8; 16];
        OsRng.fill_bytes(&mut nonce);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        self.auth_headers(server_pk, method, path_and_query, body, now, nonce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_hasher_streams() {
        let mut h = BodyHasher::new();
        assert!(h.is_empty());
        h.update(b"hello ");
        h.update(b"");
        h.update(b"world");
        assert_eq!(h.len(), 11);
        assert_eq!(h.finalize(), Some(body_hash(b"hello world")));
        let mut empty = BodyHasher::new();
        empty.update(b"");
        assert_eq!(empty.finalize(), None);
    }

    #[test]
    fn signing_paths() {
        assert_eq!(
            signing_path("/room/r/reaction/1/%F0%9F%8D%8D", None).unwrap(),
            "/room/r/reaction/1/🍍"
        );
        assert_eq!(
            signing_path("/room/r/messages/since/5", Some("t=r&reactors=5")).unwrap(),
            "/room/r/messages/since/5?t=r&reactors=5"
        );
        // An empty query (trailing '?') is not part of the message.
        assert_eq!(
            signing_path("/capabilities", Some("")).unwrap(),
            "/capabilities"
        );
        // The query is not decoded.
        assert_eq!(signing_path("/a%20b", Some("x=%20")).unwrap(), "/a b?x=%20");
        assert_eq!(signing_path("/bad/%FF", None), Err(PathError::InvalidUtf8));
        assert_eq!(
            signing_path_from_endpoint("/room/r/reaction/1/🍍?a=%F0").unwrap(),
            "/room/r/reaction/1/🍍?a=%F0"
        );
        assert_eq!(
            signing_path_from_endpoint("/x/%F0%9F%8D%8D?").unwrap(),
            "/x/🍍"
        );
        assert_eq!(
            signing_path_from_endpoint("room"),
            Err(PathError::NotAbsolute)
        );
    }

    #[test]
    fn header_pairs_names() {
        let h = AuthHeaders {
            pubkey: "p".into(),
            timestamp: "t".into(),
            nonce: "n".into(),
            signature: "s".into(),
        };
        assert_eq!(
            h.pairs(),
            [
                ("X-SOGS-Pubkey", "p".to_owned()),
                ("X-SOGS-Timestamp", "t".to_owned()),
                ("X-SOGS-Nonce", "n".to_owned()),
                ("X-SOGS-Signature", "s".to_owned()),
            ]
        );
    }
}
