//! Onion requests: per-hop encryption, the `N || ciphertext || json` body, the v4 bencoded
//! payload, building a multi-hop onion and peeling one layer (PROTOCOL.md §5.2–5.4,
//! CLIENT.md §6).
//!
//! The same code serves both sides: a client builds a request with [`build_v4_request`] or
//! [`wrap_path`] and reads the reply with [`ReplyKey::decrypt_v4_response`]; the server (or a
//! test relay) calls [`peel_layer`] on the HTTP body, then [`V4Request::decode`] on the
//! plaintext, and encrypts its reply with [`PeeledLayer::reply_key`].

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::Aes256Gcm;
use chacha20poly1305::XChaCha20Poly1305;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{Map, Value};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::blinding::blake2b_32;
use crate::encoding::b64_decode;

/// Largest onion request body libsession's parser accepts (10 MiB).
pub const MAX_ONION_BODY: usize = 10 * 1024 * 1024;
/// The v4 onion endpoint on a community server.
pub const V4_TARGET: &str = "/oxen/v4/lsrpc";
/// The endpoint a client POSTs to on its first (guard) node.
pub const GUARD_ENDPOINT: &str = "/onion_req/v2";

const GCM_NONCE: usize = 12;
const XCHACHA_NONCE: usize = 24;
const TAG: usize = 16;

/// Why an onion body, layer or payload was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnionError {
    /// Body larger than [`MAX_ONION_BODY`].
    #[error("onion request body too large")]
    TooLarge,
    /// Body shorter than 4 bytes, or the declared ciphertext length exceeds the body.
    #[error("onion request body truncated")]
    Truncated,
    /// The JSON part is missing, not JSON, or not an object.
    #[error("onion request JSON is invalid")]
    InvalidJson,
    /// `ephemeral_key` missing or not a 32-byte key.
    #[error("missing or invalid ephemeral_key")]
    InvalidEphemeralKey,
    /// `enc_type` is not one we know.
    #[error("unknown enc_type")]
    UnknownEncType,
    /// The X25519 exchange gave an all-zero secret (low-order public key).
    #[error("invalid key exchange")]
    KeyExchange,
    /// A nonce of the wrong length was given.
    #[error("nonce has the wrong length for this cipher")]
    NonceLength,
    /// The ciphertext is too short or fails authentication.
    #[error("decryption failed")]
    DecryptionFailed,
    /// Encryption failed (only possible for absurd sizes).
    #[error("encryption failed")]
    EncryptionFailed,
    /// The v4 plaintext is not a bencoded list of one or two byte strings.
    #[error("invalid v4 bencoding")]
    InvalidBencode,
    /// The v4 request or response metadata is malformed.
    #[error("invalid v4 metadata: {0}")]
    InvalidV4(&'static str),
    /// A relay layer has neither `destination` nor a valid server target.
    #[error("invalid relay instruction: {0}")]
    InvalidRelay(&'static str),
}

// ---------------------------------------------------------------------------------------------
// Ciphers and keys.

/// Onion-layer cipher (PROTOCOL.md §5.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EncType {
    /// AES-256-GCM, key `HMAC-SHA256(key="LOKI", X25519 shared)`. Default when absent.
    #[default]
    AesGcm,
    /// XChaCha20-Poly1305, key `BLAKE2b-32(shared || client_pub || server_pub)`.
    XChaCha20,
}

impl EncType {
    /// Parse an `enc_type` value: `aes-gcm`/`gcm` or `xchacha20`/`xchacha20-poly1305`.
    pub fn parse(s: &str) -> Result<Self, OnionError> {
        match s {
            "aes-gcm" | "gcm" => Ok(Self::AesGcm),
            "xchacha20" | "xchacha20-poly1305" => Ok(Self::XChaCha20),
            _ => Err(OnionError::UnknownEncType),
        }
    }

    /// The `enc_type` field of a layer's JSON; absent means AES-GCM, a non-string is invalid.
    pub fn from_json(json: &Map<String, Value>) -> Result<Self, OnionError> {
        match json.get("enc_type") {
            None => Ok(Self::default()),
            Some(Value::String(s)) => Self::parse(s),
            Some(_) => Err(OnionError::UnknownEncType),
        }
    }

    /// Canonical name: `"aes-gcm"` or `"xchacha20"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::AesGcm => "aes-gcm",
            Self::XChaCha20 => "xchacha20",
        }
    }

    /// Nonce length placed in front of the ciphertext.
    pub fn nonce_len(&self) -> usize {
        match self {
            Self::AesGcm => GCM_NONCE,
            Self::XChaCha20 => XCHACHA_NONCE,
        }
    }
}

/// Symmetric key of one layer, derived on either side:
/// aes-gcm = `HMAC-SHA256(key="LOKI", X25519(our_secret, their_public))`;
/// xchacha20 = `BLAKE2b-32(shared || client_pub || server_pub)`.
/// An all-zero shared secret is rejected, as libsodium does.
pub fn derive_key(
    enc: EncType,
    our_secret: &StaticSecret,
    their_public: &[u8; 32],
    client_pub: &[u8; 32],
    server_pub: &[u8; 32],
) -> Result<Zeroizing<[u8; 32]>, OnionError> {
    let shared = our_secret.diffie_hellman(&PublicKey::from(*their_public));
    if !shared.was_contributory() {
        return Err(OnionError::KeyExchange);
    }
    let key = match enc {
        EncType::AesGcm => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"LOKI")
                .map_err(|_| OnionError::KeyExchange)?;
            mac.update(shared.as_bytes());
            mac.finalize().into_bytes().into()
        }
        EncType::XChaCha20 => blake2b_32(&[shared.as_bytes(), client_pub, server_pub]),
    };
    Ok(Zeroizing::new(key))
}

/// Key on the client side (we hold the ephemeral secret, they are the server/hop).
pub fn client_key(
    enc: EncType,
    client_secret: &StaticSecret,
    server_pub: &[u8; 32],
) -> Result<Zeroizing<[u8; 32]>, OnionError> {
    let client_pub = PublicKey::from(client_secret).to_bytes();
    derive_key(enc, client_secret, server_pub, &client_pub, server_pub)
}

/// Key on the server/hop side (we hold the long-term secret, they sent `client_pub`).
pub fn server_key(
    enc: EncType,
    server_secret: &StaticSecret,
    client_pub: &[u8; 32],
) -> Result<Zeroizing<[u8; 32]>, OnionError> {
    let server_pub = PublicKey::from(server_secret).to_bytes();
    derive_key(enc, server_secret, client_pub, client_pub, &server_pub)
}

/// Encrypt with a fresh random nonce: `nonce || ciphertext || tag`.
pub fn encrypt(enc: EncType, key: &[u8; 32], plaintext: &[u8]) -> Result<Vec<u8>, OnionError> {
    let mut nonce = [0u8; XCHACHA_NONCE];
    let nonce = nonce
        .get_mut(..enc.nonce_len())
        .ok_or(OnionError::NonceLength)?;
    OsRng.fill_bytes(nonce);
    encrypt_with_nonce(enc, key, nonce, plaintext)
}

/// Encrypt with a given nonce (12 bytes for aes-gcm, 24 for xchacha20); for test vectors.
pub fn encrypt_with_nonce(
    enc: EncType,
    key: &[u8; 32],
    nonce: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, OnionError> {
    let ct = match enc {
        EncType::AesGcm => {
            let n: [u8; GCM_NONCE] = nonce.try_into().map_err(|_| OnionError::NonceLength)?;
            Aes256Gcm::new(&(*key).into())
                .encrypt(&n.into(), plaintext)
                .map_err(|_| OnionError::EncryptionFailed)?
        }
        EncType::XChaCha20 => {
            let n: [u8; XCHACHA_NONCE] = nonce.try_into().map_err(|_| OnionError::NonceLength)?;
            XChaCha20Poly1305::new(&(*key).into())
                .encrypt(&n.into(), plaintext)
                .map_err(|_| OnionError::EncryptionFailed)?
        }
    };
    let mut out = Vec::with_capacity(nonce.len() + ct.len());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Decrypt `nonce || ciphertext || tag`.
pub fn decrypt(enc: EncType, key: &[u8; 32], data: &[u8]) -> Result<Vec<u8>, OnionError> {
    let (nonce, ct) = data
        .split_at_checked(enc.nonce_len())
        .ok_or(OnionError::DecryptionFailed)?;
    if ct.len() < TAG {
        return Err(OnionError::DecryptionFailed);
    }
    match enc {
        EncType::AesGcm => {
            let n: [u8; GCM_NONCE] = nonce.try_into().map_err(|_| OnionError::NonceLength)?;
            Aes256Gcm::new(&(*key).into())
                .decrypt(&n.into(), ct)
                .map_err(|_| OnionError::DecryptionFailed)
        }
        EncType::XChaCha20 => {
            let n: [u8; XCHACHA_NONCE] = nonce.try_into().map_err(|_| OnionError::NonceLength)?;
            XChaCha20Poly1305::new(&(*key).into())
                .decrypt(&n.into(), ct)
                .map_err(|_| OnionError::DecryptionFailed)
        }
    }
}

/// The key of one layer, kept to encrypt (server side) or decrypt (client side) the reply.
/// Zeroized on drop; `Debug` shows only the cipher.
#[derive(Clone)]
pub struct ReplyKey {
    enc: EncType,
    key: Zeroizing<[u8; 32]>,
}

/// The client's handle on the reply of a request it built.
pub type ClientReplyKey = ReplyKey;

impl fmt::Debug for ReplyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyKey")
            .field("enc", &self.enc)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl ReplyKey {
    /// Wrap a derived key.
    pub fn new(enc: EncType, key: Zeroizing<[u8; 32]>) -> Self {
        Self { enc, key }
    }

    /// The cipher of this layer (a reply uses the same one).
    pub fn enc_type(&self) -> EncType {
        self.enc
    }

    /// The raw key bytes (for test vectors).
    pub fn key_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// Encrypt a reply with a fresh nonce.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, OnionError> {
        encrypt(self.enc, &self.key, plaintext)
    }

    /// Decrypt data encrypted under this key.
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, OnionError> {
        decrypt(self.enc, &self.key, data)
    }

    /// Decrypt a v4 reply body (raw bytes, no base64; CLIENT.md §6.5) and parse it.
    pub fn decrypt_v4_response(&self, resp_body: &[u8]) -> Result<V4Response, OnionError> {
        V4Response::decode(&self.decrypt(resp_body)?)
    }

    /// Encode and encrypt a v4 reply (server side).
    pub fn encrypt_v4_response(&self, response: &V4Response) -> Result<Vec<u8>, OnionError> {
        self.encrypt(&response.encode()?)
    }
}

// ---------------------------------------------------------------------------------------------
// The `N || ciphertext || json` body.

/// Split an onion body `N (u32 LE) || ciphertext (N bytes) || json object`.
pub fn parse_onion_body(body: &[u8]) -> Result<(&[u8], Map<String, Value>), OnionError> {
    if body.len() > MAX_ONION_BODY {
        return Err(OnionError::TooLarge);
    }
    let (len, rest) = body.split_at_checked(4).ok_or(OnionError::Truncated)?;
    let len: [u8; 4] = len.try_into().map_err(|_| OnionError::Truncated)?;
    let n = usize::try_from(u32::from_le_bytes(len)).map_err(|_| OnionError::Truncated)?;
    let (ct, json) = rest.split_at_checked(n).ok_or(OnionError::Truncated)?;
    match serde_json::from_slice::<Value>(json) {
        Ok(Value::Object(map)) => Ok((ct, map)),
        _ => Err(OnionError::InvalidJson),
    }
}

/// Build `N (u32 LE) || ciphertext || json`.
pub fn build_onion_body(ciphertext: &[u8], json: &Value) -> Result<Vec<u8>, OnionError> {
    if ciphertext.len() > MAX_ONION_BODY {
        return Err(OnionError::TooLarge);
    }
    let n = u32::try_from(ciphertext.len()).map_err(|_| OnionError::TooLarge)?;
    let json = serde_json::to_vec(json).map_err(|_| OnionError::InvalidJson)?;
    let mut out = Vec::with_capacity(4 + ciphertext.len() + json.len());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(ciphertext);
    out.extend_from_slice(&json);
    Ok(out)
}

/// Parse an `ephemeral_key`: 64 hex digits, or 43/44-character standard base64.
pub fn parse_ephemeral_key(s: &str) -> Option<[u8; 32]> {
    match s.len() {
        64 => {
            let mut out = [0u8; 32];
            hex::decode_to_slice(s, &mut out).ok().map(|()| out)
        }
        43 | 44 => b64_decode(s)?.as_slice().try_into().ok(),
        _ => None,
    }
}

/// One layer encrypted for a recipient with a fresh ephemeral key.
pub struct SealedLayer {
    /// `nonce || ciphertext || tag`.
    pub ciphertext: Vec<u8>,
    /// The ephemeral X25519 public key to send as `ephemeral_key`.
    pub ephemeral_pub: [u8; 32],
    /// The layer key, for the reply.
    pub reply_key: ReplyKey,
}

impl fmt::Debug for SealedLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedLayer")
            .field("ciphertext_len", &self.ciphertext.len())
            .field("ephemeral_pub", &hex::encode(self.ephemeral_pub))
            .finish()
    }
}

/// Encrypt `plaintext` for `recipient_pub` with a random ephemeral key and nonce.
pub fn seal(
    enc: EncType,
    recipient_pub: &[u8; 32],
    plaintext: &[u8],
) -> Result<SealedLayer, OnionError> {
    let eph = StaticSecret::random_from_rng(OsRng);
    let mut nonce = [0u8; XCHACHA_NONCE];
    let nonce = nonce
        .get_mut(..enc.nonce_len())
        .ok_or(OnionError::NonceLength)?;
    OsRng.fill_bytes(nonce);
    seal_with(enc, recipient_pub, &eph, nonce, plaintext)
}

/// [`seal`] with a given ephemeral secret and nonce (reproducible, for test vectors).
pub fn seal_with(
    enc: EncType,
    recipient_pub: &[u8; 32],
    ephemeral: &StaticSecret,
    nonce: &[u8],
    plaintext: &[u8],
) -> Result<SealedLayer, OnionError> {
    let key = client_key(enc, ephemeral, recipient_pub)?;
    let ciphertext = encrypt_with_nonce(enc, &key, nonce, plaintext)?;
    Ok(SealedLayer {
        ciphertext,
        ephemeral_pub: PublicKey::from(ephemeral).to_bytes(),
        reply_key: ReplyKey::new(enc, key),
    })
}

fn layer_json(enc: EncType, ephemeral_pub: &[u8; 32], mut fields: Map<String, Value>) -> Value {
    fields.insert(
        "ephemeral_key".into(),
        Value::String(hex::encode(ephemeral_pub)),
    );
    fields.insert("enc_type".into(), Value::String(enc.as_str().into()));
    Value::Object(fields)
}

/// One layer addressed to us, decrypted.
#[derive(Debug)]
pub struct PeeledLayer {
    /// The decrypted layer: for a server the v4/v3 payload; for a relay again
    /// `N || blob || json` (see [`relay_instruction`]).
    pub plaintext: Vec<u8>,
    /// The JSON that came with the ciphertext (relay fields, `ephemeral_key`, `enc_type`).
    pub json: Map<String, Value>,
    /// The sender's ephemeral public key.
    pub ephemeral_key: [u8; 32],
    /// Key and cipher to encrypt the reply with (the server does; relays pass replies on
    /// unchanged).
    pub reply_key: ReplyKey,
}

/// Decrypt one onion layer addressed to the holder of `our_secret` (a server's
/// `/oxen/v4/lsrpc` body or a relay's `/onion_req/v2` body): parse `N || ct || json`, read
/// `ephemeral_key` and `enc_type` (absent → aes-gcm) from the JSON, derive the key and decrypt.
pub fn peel_layer(our_secret: &StaticSecret, body: &[u8]) -> Result<PeeledLayer, OnionError> {
    let (ct, json) = parse_onion_body(body)?;
    let ephemeral_key = match json.get("ephemeral_key") {
        Some(Value::String(s)) => parse_ephemeral_key(s).ok_or(OnionError::InvalidEphemeralKey)?,
        _ => return Err(OnionError::InvalidEphemeralKey),
    };
    let enc = EncType::from_json(&json)?;
    let key = server_key(enc, our_secret, &ephemeral_key)?;
    let plaintext = decrypt(enc, &key, ct)?;
    Ok(PeeledLayer {
        plaintext,
        json,
        ephemeral_key,
        reply_key: ReplyKey::new(enc, key),
    })
}

// ---------------------------------------------------------------------------------------------
// v4 bencoding.

/// `l <len>:<meta> [<len>:<body>] e` (PROTOCOL.md §5.3).
pub fn encode_v4(meta_json: &[u8], body: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(meta_json.len() + body.map_or(0, <[u8]>::len) + 24);
    out.push(b'l');
    for part in std::iter::once(meta_json).chain(body) {
        out.extend_from_slice(part.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(part);
    }
    out.push(b'e');
    out
}

/// Read one `<len>:<bytes>` byte string; lengths are decimal without leading zeros.
fn bencode_string(data: &[u8]) -> Result<(&[u8], &[u8]), OnionError> {
    let colon = data
        .iter()
        .position(|&b| b == b':')
        .ok_or(OnionError::InvalidBencode)?;
    let (digits, rest) = data
        .split_at_checked(colon)
        .ok_or(OnionError::InvalidBencode)?;
    let rest = rest.get(1..).ok_or(OnionError::InvalidBencode)?;
    let well_formed = !digits.is_empty()
        && digits.len() <= 10
        && digits.iter().all(u8::is_ascii_digit)
        && (digits == b"0" || !digits.starts_with(b"0"));
    if !well_formed {
        return Err(OnionError::InvalidBencode);
    }
    let len: usize = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or(OnionError::InvalidBencode)?;
    rest.split_at_checked(len).ok_or(OnionError::InvalidBencode)
}

/// Decode a v4 payload: a list of exactly one or two byte strings and nothing after it.
pub fn decode_v4(plaintext: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), OnionError> {
    let rest = plaintext
        .strip_prefix(b"l")
        .ok_or(OnionError::InvalidBencode)?;
    let (meta, rest) = bencode_string(rest)?;
    if rest == b"e" {
        return Ok((meta.to_vec(), None));
    }
    let (body, rest) = bencode_string(rest)?;
    if rest == b"e" {
        Ok((meta.to_vec(), Some(body.to_vec())))
    } else {
        Err(OnionError::InvalidBencode)
    }
}

fn string_map(value: Option<&Value>) -> Result<BTreeMap<String, String>, OnionError> {
    match value {
        None => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(OnionError::InvalidV4("header values must be strings")),
            })
            .collect(),
        Some(_) => Err(OnionError::InvalidV4("headers must be an object")),
    }
}

/// The inner request of a v4 onion request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V4Request {
    /// `GET`, `POST`, `PUT`, `DELETE`.
    pub method: String,
    /// Path with optional `?query`; starts with `/`.
    pub endpoint: String,
    /// Request headers (`X-SOGS-*`, `Content-Type`).
    pub headers: BTreeMap<String, String>,
    /// The body part; `None` leaves it out (GET/DELETE).
    pub body: Option<Vec<u8>>,
}

impl V4Request {
    /// Bencode: meta JSON `{"endpoint", "headers", "method"}` then the body if any.
    pub fn encode(&self) -> Result<Vec<u8>, OnionError> {
        let meta = serde_json::json!({
            "endpoint": self.endpoint,
            "headers": self.headers,
            "method": self.method,
        });
        let meta = serde_json::to_vec(&meta).map_err(|_| OnionError::InvalidJson)?;
        Ok(encode_v4(&meta, self.body.as_deref()))
    }

    /// Parse a decrypted v4 payload strictly (pysogs answers 400 `Invalid v4 onion request`
    /// to anything this rejects): `method` a non-empty string, `endpoint` starting with `/`,
    /// `headers` absent or an object of strings.
    pub fn decode(plaintext: &[u8]) -> Result<Self, OnionError> {
        let (meta, body) = decode_v4(plaintext)?;
        let Ok(Value::Object(meta)) = serde_json::from_slice::<Value>(&meta) else {
            return Err(OnionError::InvalidV4("metadata is not a JSON object"));
        };
        let method = match meta.get("method") {
            Some(Value::String(m)) if !m.is_empty() => m.clone(),
            _ => return Err(OnionError::InvalidV4("missing method")),
        };
        let endpoint = match meta.get("endpoint") {
            Some(Value::String(e)) if e.starts_with('/') => e.clone(),
            _ => return Err(OnionError::InvalidV4("endpoint must start with '/'")),
        };
        let headers = string_map(meta.get("headers"))?;
        Ok(Self {
            method,
            endpoint,
            headers,
            body,
        })
    }
}

/// The inner reply of a v4 onion request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V4Response {
    /// The real HTTP status.
    pub status: u16,
    /// Lower-case header names; `content-type` must be present.
    pub headers: BTreeMap<String, String>,
    /// The response body.
    pub body: Vec<u8>,
}

impl V4Response {
    /// Bencode `[{"code", "headers"}, body]`.
    pub fn encode(&self) -> Result<Vec<u8>, OnionError> {
        let meta = serde_json::json!({ "code": self.status, "headers": self.headers });
        let meta = serde_json::to_vec(&meta).map_err(|_| OnionError::InvalidJson)?;
        Ok(encode_v4(&meta, Some(&self.body)))
    }

    /// Parse a decrypted reply as Session Desktop does (CLIENT.md §6.5): two parts, meta with
    /// an integer `code` and a `headers` object of strings.
    pub fn decode(plaintext: &[u8]) -> Result<Self, OnionError> {
        let (meta, body) = decode_v4(plaintext)?;
        let body = body.ok_or(OnionError::InvalidV4("reply has no body part"))?;
        let Ok(Value::Object(meta)) = serde_json::from_slice::<Value>(&meta) else {
            return Err(OnionError::InvalidV4("metadata is not a JSON object"));
        };
        let status = meta
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .ok_or(OnionError::InvalidV4("missing or invalid code"))?;
        if !matches!(meta.get("headers"), Some(Value::Object(_))) {
            return Err(OnionError::InvalidV4("reply has no headers object"));
        }
        let headers = string_map(meta.get("headers"))?;
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    /// The `content-type` header, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get("content-type").map(String::as_str)
    }
}

// ---------------------------------------------------------------------------------------------
// Client side: direct request and multi-hop path.

/// Build a v4 onion request body for posting straight to the server's `/oxen/v4/lsrpc`:
/// `N || encrypt(v4 payload) || {"ephemeral_key", "enc_type"}`.
pub fn build_v4_request(
    enc: EncType,
    server_pub: &[u8; 32],
    method: &str,
    endpoint: &str,
    headers: &BTreeMap<String, String>,
    body: Option<&[u8]>,
) -> Result<(Vec<u8>, ReplyKey), OnionError> {
    let req = V4Request {
        method: method.to_owned(),
        endpoint: endpoint.to_owned(),
        headers: headers.clone(),
        body: body.map(<[u8]>::to_vec),
    };
    let layer = seal(enc, server_pub, &req.encode()?)?;
    let json = layer_json(enc, &layer.ephemeral_pub, Map::new());
    Ok((build_onion_body(&layer.ciphertext, &json)?, layer.reply_key))
}

/// A service node on the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnionHop {
    /// The node's X25519 key (layers are encrypted to it).
    pub x25519: [u8; 32],
    /// The node's Ed25519 key (named as `destination` by the previous hop).
    pub ed25519: [u8; 32],
}

/// Where the exit node delivers the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalDestination {
    /// Host name or IP only (no scheme, no port).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `"http"` or `"https"`.
    pub protocol: String,
    /// The onion endpoint, normally [`V4_TARGET`].
    pub target: String,
    /// The server's X25519 key (from the join URL).
    pub server_pub: [u8; 32],
}

impl FinalDestination {
    /// A v4 destination (`target` = `/oxen/v4/lsrpc`).
    pub fn v4(host: &str, port: u16, protocol: &str, server_pub: [u8; 32]) -> Self {
        Self {
            host: host.to_owned(),
            port,
            protocol: protocol.to_owned(),
            target: V4_TARGET.to_owned(),
            server_pub,
        }
    }
}

/// Build the whole onion (CLIENT.md §6.3). Returns the body to POST to `hops[0]`'s
/// `/onion_req/v2` and the key for the server's reply, which comes back through the path
/// unchanged (CLIENT.md §6.5).
///
/// The exit layer's JSON is `{"host", "target", "port", "protocol", "method": "POST",
/// "ephemeral_key", "enc_type"}`; each earlier layer's JSON is `{"destination": next hop's
/// Ed25519 hex, "ephemeral_key", "enc_type"}`; the outermost JSON (not encrypted) is
/// `{"ephemeral_key", "enc_type"}`. With no hops the result is the exit-layer plaintext itself,
/// which can be posted straight to the server.
pub fn wrap_path(
    enc: EncType,
    hops: &[OnionHop],
    destination: &FinalDestination,
    request: &V4Request,
) -> Result<(Vec<u8>, ReplyKey), OnionError> {
    let server_layer = seal(enc, &destination.server_pub, &request.encode()?)?;
    let mut exit_fields = Map::new();
    exit_fields.insert("host".into(), destination.host.clone().into());
    exit_fields.insert("target".into(), destination.target.clone().into());
    exit_fields.insert("method".into(), "POST".into());
    exit_fields.insert("protocol".into(), destination.protocol.clone().into());
    exit_fields.insert("port".into(), destination.port.into());
    let json = layer_json(enc, &server_layer.ephemeral_pub, exit_fields);
    let mut payload = build_onion_body(&server_layer.ciphertext, &json)?;

    for (i, hop) in hops.iter().enumerate().rev() {
        let layer = seal(enc, &hop.x25519, &payload)?;
        let fields = match i {
            0 => Map::new(),
            _ => {
                // This layer is decrypted by hops[i - 1], which forwards it to `hop`.
                let mut m = Map::new();
                m.insert("destination".into(), hex::encode(hop.ed25519).into());
                m
            }
        };
        let json = layer_json(enc, &layer.ephemeral_pub, fields);
        payload = build_onion_body(&layer.ciphertext, &json)?;
    }
    Ok((payload, server_layer.reply_key))
}

/// What a relay does with a peeled layer (PROTOCOL.md §5.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelayInstruction {
    /// Forward to the service node with this Ed25519 key. `body` is
    /// `N || blob || {"ephemeral_key", "enc_type"}`, ready to POST to its `/onion_req/v2`
    /// (a real node sends the same fields over OxenMQ).
    Forward {
        /// The next node's Ed25519 key.
        destination: [u8; 32],
        /// The body for the next node.
        body: Vec<u8>,
    },
    /// POST `body` (the whole decrypted layer) to `url` with
    /// `Content-Type: application/octet-stream` and return the reply unchanged.
    Deliver {
        /// `protocol://host[:port]target`, the port left out when it is the scheme default.
        url: String,
        /// The exact plaintext of the layer.
        body: Vec<u8>,
    },
}

/// Interpret a relay's decrypted layer (`N || blob || json`) as the storage server does.
pub fn relay_instruction(plaintext: &[u8]) -> Result<RelayInstruction, OnionError> {
    let (blob, json) = parse_onion_body(plaintext)?;
    if let Some(dest) = json.get("destination") {
        let destination = dest
            .as_str()
            .and_then(|s| {
                let mut out = [0u8; 32];
                (s.len() == 64)
                    .then(|| hex::decode_to_slice(s, &mut out).ok().map(|()| out))
                    .flatten()
            })
            .ok_or(OnionError::InvalidRelay("destination is not a 64-hex key"))?;
        let ephemeral = match json.get("ephemeral_key") {
            Some(Value::String(s)) => {
                parse_ephemeral_key(s).ok_or(OnionError::InvalidEphemeralKey)?
            }
            _ => return Err(OnionError::InvalidEphemeralKey),
        };
        let enc = EncType::from_json(&json)?;
        let body = build_onion_body(blob, &layer_json(enc, &ephemeral, Map::new()))?;
        return Ok(RelayInstruction::Forward { destination, body });
    }
    let host = json
        .get("host")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        .ok_or(OnionError::InvalidRelay("missing host"))?;
    let target = json
        .get("target")
        .and_then(Value::as_str)
        .ok_or(OnionError::InvalidRelay("missing target"))?;
    let target_ok = (target.starts_with("/loki/") || target.starts_with("/oxen/"))
        && target.ends_with("/lsrpc")
        && !target.contains('?');
    if !target_ok {
        return Err(OnionError::InvalidRelay("target not allowed"));
    }
    let protocol = match json.get("protocol") {
        None => "https",
        Some(Value::String(p)) if p == "http" || p == "https" => p.as_str(),
        Some(_) => return Err(OnionError::InvalidRelay("protocol must be http or https")),
    };
    let port = match json.get("port") {
        None => 443,
        Some(p) => p
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or(OnionError::InvalidRelay("invalid port"))?,
    };
    let default_port = if protocol == "http" { 80 } else { 443 };
    let url = if port == default_port {
        format!("{protocol}://{host}{target}")
    } else {
        format!("{protocol}://{host}:{port}{target}")
    };
    Ok(RelayInstruction::Deliver {
        url,
        body: plaintext.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enc_type_names() {
        assert_eq!(EncType::parse("gcm"), Ok(EncType::AesGcm));
        assert_eq!(EncType::parse("aes-gcm"), Ok(EncType::AesGcm));
        assert_eq!(EncType::parse("xchacha20"), Ok(EncType::XChaCha20));
        assert_eq!(EncType::parse("xchacha20-poly1305"), Ok(EncType::XChaCha20));
        assert_eq!(EncType::parse("AES-GCM"), Err(OnionError::UnknownEncType));
        assert_eq!(EncType::parse(""), Err(OnionError::UnknownEncType));
        assert_eq!(EncType::default(), EncType::AesGcm);
        assert_eq!(EncType::AesGcm.as_str(), "aes-gcm");
        assert_eq!(EncType::XChaCha20.as_str(), "xchacha20");
        let mut m = Map::new();
        assert_eq!(EncType::from_json(&m), Ok(EncType::AesGcm));
        m.insert("enc_type".into(), Value::from(1));
        assert_eq!(EncType::from_json(&m), Err(OnionError::UnknownEncType));
    }

    #[test]
    fn onion_body_limits() {
        assert_eq!(parse_onion_body(b""), Err(OnionError::Truncated));
        assert_eq!(parse_onion_body(b"\x01\0\0"), Err(OnionError::Truncated));
        assert_eq!(
            parse_onion_body(b"\x05\0\0\0abcd"),
            Err(OnionError::Truncated)
        );
        assert_eq!(
            parse_onion_body(b"\x01\0\0\0a"),
            Err(OnionError::InvalidJson)
        );
        assert_eq!(
            parse_onion_body(b"\x01\0\0\0a[]"),
            Err(OnionError::InvalidJson)
        );
        let (ct, json) = parse_onion_body(b"\x02\0\0\0ab{\"x\":1}").unwrap();
        assert_eq!(ct, b"ab");
        assert_eq!(json.get("x"), Some(&Value::from(1)));
        let big = vec![0u8; MAX_ONION_BODY + 1];
        assert_eq!(parse_onion_body(&big), Err(OnionError::TooLarge));
        let body = build_onion_body(b"xyz", &serde_json::json!({"a": "b"})).unwrap();
        assert_eq!(body, b"\x03\0\0\0xyz{\"a\":\"b\"}");
    }

    #[test]
    fn bencode_strictness() {
        assert_eq!(decode_v4(b"l2:{}e").unwrap(), (b"{}".to_vec(), None));
        assert_eq!(
            decode_v4(b"l2:{}0:e").unwrap(),
            (b"{}".to_vec(), Some(Vec::new()))
        );
        for bad in [
            &b""[..],
            b"l",
            b"le",
            b"l2:{}",
            b"l2:{}ee",
            b"l2:{}1:a1:be",
            b"l02:{}e",
            b"l-2:{}e",
            b"li2e2:{}e",
            b"d2:{}e",
            b"l3:{}e",
            b"l99999999999:{}e",
            b"l2:{}e ",
        ] {
            assert_eq!(decode_v4(bad), Err(OnionError::InvalidBencode), "{bad:?}");
        }
        assert_eq!(encode_v4(b"{}", None), b"l2:{}e");
        assert_eq!(encode_v4(b"{}", Some(b"hello")), b"l2:{}5:helloe");
    }

    #[test]
    fn ephemeral_key_forms() {
        let k = [0x42u8; 32];
        assert_eq!(parse_ephemeral_key(&hex::encode(k)), Some(k));
        let b = crate::encoding::b64_encode(&k);
        assert_eq!(b.len(), 44);
        assert_eq!(parse_ephemeral_key(&b), Some(k));
        assert_eq!(parse_ephemeral_key(b.trim_end_matches('=')), Some(k));
        assert_eq!(parse_ephemeral_key("abcd"), None);
        assert_eq!(parse_ephemeral_key(&"zz".repeat(32)), None);
    }

    #[test]
    fn low_order_ephemeral_key_rejected() {
        let secret = StaticSecret::from([9u8; 32]);
        assert_eq!(
            server_key(EncType::XChaCha20, &secret, &[0u8; 32]).err(),
            Some(OnionError::KeyExchange)
        );
    }

    #[test]
    fn reply_key_debug_redacted() {
        let k = ReplyKey::new(EncType::AesGcm, Zeroizing::new([0xab; 32]));
        let dbg = format!("{k:?}");
        assert!(dbg.contains("<redacted>"));
        assert!(!dbg.contains("abab"));
    }

    #[test]
    fn relay_instruction_targets() {
        let mk = |json: Value| build_onion_body(b"ct", &json).unwrap();
        let deliver = relay_instruction(&mk(serde_json::json!({
            "host": "203.0.113.5", "target": "/oxen/v4/lsrpc", "port": 80, "protocol": "http",
            "method": "POST", "ephemeral_key": "00"
        })))
        .unwrap();
        match deliver {
            RelayInstruction::Deliver { url, .. } => {
                assert_eq!(url, "http://203.0.113.5/oxen/v4/lsrpc");
            }
            other => panic!("unexpected {other:?}"),
        }
        let deliver = relay_instruction(&mk(serde_json::json!({
            "host": "h.example", "target": "/oxen/v4/lsrpc", "port": 8080, "protocol": "http"
        })))
        .unwrap();
        assert!(matches!(deliver,
            RelayInstruction::Deliver { url, .. } if url == "http://h.example:8080/oxen/v4/lsrpc"));
        let deliver = relay_instruction(&mk(serde_json::json!({
            "host": "h.example", "target": "/loki/v3/lsrpc"
        })))
        .unwrap();
        assert!(matches!(deliver,
            RelayInstruction::Deliver { url, .. } if url == "https://h.example/loki/v3/lsrpc"));
        for bad in [
            serde_json::json!({"host": "h", "target": "/other/v4/lsrpc"}),
            serde_json::json!({"host": "h", "target": "/oxen/v4/lsrpc?x"}),
            serde_json::json!({"host": "h", "target": "/oxen/v4/lsrpc", "protocol": "ftp"}),
            serde_json::json!({"target": "/oxen/v4/lsrpc"}),
            serde_json::json!({"destination": "abcd", "ephemeral_key": "00"}),
        ] {
            assert!(relay_instruction(&mk(bad)).is_err());
        }
    }
}
