//! Community join URLs: `{scheme}://{host}[:{port}]/{room}?public_key={server key}`
//! (CLIENT.md §1.1, PROTOCOL.md §2.2).
//!
//! [`CommunityUrl::parse`] accepts the union of what Session Desktop and libsession accept:
//! - with or without a scheme (no scheme means `http://`, as on desktop); `http`/`https` in any
//!   case;
//! - a dotted host name or an IPv4 address, with or without a port (default ports are dropped);
//! - the room as `/{room}` or `/r/{room}` (libsession), with at most one trailing `/`;
//! - the server key as 64 hex digits (any case), 43/44 characters of base64 (standard or
//!   URL-safe alphabet), or 52 characters of base32z (libsession); the key may be
//!   percent-encoded;
//! - surrounding whitespace.
//!
//! Deliberately refused, as by both desktop and libsession: single-label hosts such as
//! `localhost` (use `127.0.0.1` or a dotted name), IPv6 literals, extra path segments, and a
//! missing `public_key`. Extra query parameters and fragments are refused too (desktop refuses
//! them). The official server's plain-http and legacy-IP forms are rewritten to
//! `https://open.getsession.org`, as desktop does.
//!
//! The canonical form ([`CommunityUrl::join_url`], `Display`) is
//! `{base_url}/{room in lower case}?public_key={64 lowercase hex}`, libsession's `full_url`.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// Longest room token accepted.
pub const ROOM_MAX_LEN: usize = 64;

/// The official community server (CLIENT.md §1.1).
pub const OFFICIAL_SERVER_URL: &str = "https://open.getsession.org";
/// The official server's X25519 public key, hex.
pub const OFFICIAL_SERVER_PUBKEY_HEX: &str =
    "a03c383cf63c3c4efe67acc52112a6dd734b3a946b9545f488aaa93da7991238";
const OFFICIAL_HOST: &str = "open.getsession.org";
const OFFICIAL_LEGACY_IP: &str = "116.203.70.33";

const PUBKEY_PARAM: &str = "public_key";
const BASE32Z_ALPHABET: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

/// Why a string is not a community join URL. Every message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("empty community URL")]
    Empty,
    #[error("unsupported URL scheme {scheme:?}: a community URL starts with http:// or https://")]
    UnsupportedScheme { scheme: String },
    #[error("invalid host {host:?} in community URL: {reason}")]
    BadHost { host: String, reason: &'static str },
    #[error("invalid port {port:?} in community URL: expected a number from 1 to 65535")]
    BadPort { port: String },
    #[error("community URL has no room: expected {{server}}/{{room}}?public_key=<key>")]
    MissingRoom,
    #[error("invalid room token {room:?}: {reason}")]
    BadRoom { room: String, reason: &'static str },
    #[error(
        "unexpected path {path:?} in community URL: expected only /{{room}} (or /r/{{room}}) \
         after the server address"
    )]
    UnexpectedPath { path: String },
    /// No `?public_key=…`. `web_page` is set when the input looks like the address of the
    /// room's web page (for example pysogs' `/r/{room}/` viewer) rather than a join URL.
    #[error("{}", missing_key_message(*.web_page))]
    MissingPublicKey { web_page: bool },
    #[error("invalid public_key in community URL: {reason}")]
    BadPublicKey { reason: String },
    #[error("unexpected query parameter {param:?} in community URL: only public_key is allowed")]
    UnexpectedQuery { param: String },
    #[error("unexpected #fragment in community URL")]
    UnexpectedFragment,
}

fn missing_key_message(web_page: bool) -> &'static str {
    if web_page {
        "this looks like the room's web page address, not a join URL: the join URL ends in \
         ?public_key=<64 hex digits of the server key> (copy it from the Session app or from \
         the server's join link)"
    } else {
        "community URL has no ?public_key=<64 hex digits>: paste the complete join URL, \
         including the server's public key"
    }
}

/// A parsed community join URL. Only constructed by [`CommunityUrl::parse`] /
/// [`CommunityUrl::new`], so it is always valid and canonical.
///
/// Equality and hashing use the canonical parts (base URL, lower-case room, key).
#[derive(Clone)]
pub struct CommunityUrl {
    /// `scheme://host[:port]`, lower case, default port dropped, no trailing slash.
    base_url: String,
    /// The room token in lower case (libsession's canonical form).
    room: String,
    /// The room token as given, for display.
    room_as_given: String,
    /// The server's X25519 public key.
    server_pubkey: [u8; 32],
}

impl CommunityUrl {
    /// Parses a join URL in any of the forms listed in the module documentation.
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(UrlError::Empty);
        }
        if input.contains('#') {
            return Err(UrlError::UnexpectedFragment);
        }
        let (location, query) = match input.split_once('?') {
            Some((l, q)) => (l, Some(q)),
            None => (input, None),
        };
        let (base_url, path) = parse_base(location)?;
        let Some(query) = query else {
            return Err(UrlError::MissingPublicKey {
                web_page: looks_like_web_page(path),
            });
        };
        let room_as_given = parse_room_path(path)?;
        let server_pubkey = parse_query(query)?;
        Ok(Self {
            base_url,
            room: room_as_given.to_ascii_lowercase(),
            room_as_given: room_as_given.to_owned(),
            server_pubkey,
        })
    }

    /// Builds a URL from its parts: `base_url` is `scheme://host[:port]` (validated and
    /// canonicalised like the base of a full URL), `room` a room token.
    pub fn new(base_url: &str, room: &str, server_pubkey: [u8; 32]) -> Result<Self, UrlError> {
        let (base_url, path) = parse_base(base_url.trim())?;
        if !path.is_empty() && path != "/" {
            return Err(UrlError::UnexpectedPath {
                path: path.to_owned(),
            });
        }
        validate_room(room)?;
        Ok(Self {
            base_url,
            room: room.to_ascii_lowercase(),
            room_as_given: room.to_owned(),
            server_pubkey,
        })
    }

    /// `scheme://host[:port]`: lower case, default port dropped, no trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The room token in lower case. Servers look tokens up case-insensitively.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// The room token with the capitalisation it was given in.
    pub fn room_as_given(&self) -> &str {
        &self.room_as_given
    }

    /// The server's X25519 public key.
    pub fn server_pubkey(&self) -> &[u8; 32] {
        &self.server_pubkey
    }

    /// The server's X25519 public key as 64 lowercase hex digits.
    pub fn server_pubkey_hex(&self) -> String {
        hex::encode(self.server_pubkey)
    }

    /// True for `https://` servers.
    pub fn is_https(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// The canonical join URL: `{base_url}/{room}?public_key={hex key}`.
    pub fn join_url(&self) -> String {
        format!(
            "{}/{}?{PUBKEY_PARAM}={}",
            self.base_url,
            self.room,
            self.server_pubkey_hex()
        )
    }

    /// `{base_url}/room/{room}/file/{id}`: the URL the apps put in an attachment pointer for
    /// a file uploaded to this room (CLIENT.md §4).
    pub fn file_url(&self, file_id: u64) -> String {
        format!("{}/room/{}/file/{file_id}", self.base_url, self.room)
    }
}

impl fmt::Display for CommunityUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.join_url())
    }
}

impl fmt::Debug for CommunityUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CommunityUrl")
            .field(&self.join_url())
            .finish()
    }
}

impl PartialEq for CommunityUrl {
    fn eq(&self, other: &Self) -> bool {
        self.base_url == other.base_url
            && self.room == other.room
            && self.server_pubkey == other.server_pubkey
    }
}

impl Eq for CommunityUrl {}

impl std::hash::Hash for CommunityUrl {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.base_url.hash(state);
        self.room.hash(state);
        self.server_pubkey.hash(state);
    }
}

impl FromStr for CommunityUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for CommunityUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.join_url())
    }
}

impl<'de> serde::Deserialize<'de> for CommunityUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Splits `[scheme://]host[:port][/path]` into the canonical base URL and the path (which
/// starts with `/` or is empty).
fn parse_base(location: &str) -> Result<(String, &str), UrlError> {
    let (scheme, rest) = match location.split_once("://") {
        Some((scheme, rest)) => {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(UrlError::UnsupportedScheme { scheme });
            }
            (scheme, rest)
        }
        // Desktop treats a URL without a scheme as http (CLIENT.md §1.1).
        None => ("http".to_owned(), location),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(UrlError::BadHost {
            host: authority.to_owned(),
            reason: "user names or passwords are not allowed in a community URL",
        });
    }
    if authority.starts_with('[') {
        return Err(UrlError::BadHost {
            host: authority.to_owned(),
            reason: "IPv6 addresses are not supported by Session community URLs",
        });
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(parse_port(p)?)),
        None => (authority, None),
    };
    let host = host.to_ascii_lowercase();
    validate_host(&host)?;

    let official_port = matches!(port, None | Some(80 | 443));
    if host == OFFICIAL_LEGACY_IP || (host == OFFICIAL_HOST && official_port) {
        return Ok((OFFICIAL_SERVER_URL.to_owned(), path));
    }
    let default_port = if scheme == "https" { 443 } else { 80 };
    let base = match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    };
    Ok((base, path))
}

fn parse_port(p: &str) -> Result<u16, UrlError> {
    let bad = || UrlError::BadPort { port: p.to_owned() };
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad()),
        Ok(n) => Ok(n),
    }
}

fn validate_host(host: &str) -> Result<(), UrlError> {
    let bad = |reason| {
        Err(UrlError::BadHost {
            host: host.to_owned(),
            reason,
        })
    };
    if host.is_empty() {
        return bad("the server address is missing");
    }
    if let Some(c) = host
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    {
        return if c == ':' {
            bad("IPv6 addresses and multiple ports are not supported")
        } else {
            bad("only letters, digits, '-' and '.' are allowed in a host name")
        };
    }
    if !host.contains('.') {
        return bad(
            "single-label hosts such as 'localhost' are refused by the Session apps; \
             use an IP address such as 127.0.0.1 or a dotted host name",
        );
    }
    if host.len() < 4 {
        return bad("host name too short");
    }
    if host.len() > 253 {
        return bad("host name too long");
    }
    for label in host.split('.') {
        if label.is_empty() {
            return bad("empty label (two dots in a row, or a leading or trailing dot)");
        }
        if label.len() > 63 {
            return bad("a host name label is longer than 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a host name label starts or ends with '-'");
        }
    }
    Ok(())
}

/// True if a URL without `public_key` looks like a room's web page (pysogs' `/r/{room}/`
/// viewer, or just `/{room}` copied from a browser).
fn looks_like_web_page(path: &str) -> bool {
    let trimmed = path.trim_matches('/');
    !trimmed.is_empty()
}

/// Extracts the room from `/{room}`, `/r/{room}`, optionally followed by one `/`.
fn parse_room_path(path: &str) -> Result<&str, UrlError> {
    let unexpected = || UrlError::UnexpectedPath {
        path: path.to_owned(),
    };
    let Some(rest) = path.strip_prefix('/') else {
        return Err(UrlError::MissingRoom);
    };
    // `/r/` alone is the `/r/{room}` form with the room left out, not a room named `r`.
    if rest.eq_ignore_ascii_case("r/") {
        return Err(UrlError::MissingRoom);
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(UrlError::MissingRoom);
    }
    let mut segments = rest.split('/');
    let room = match (segments.next(), segments.next(), segments.next()) {
        (Some(room), None, None) => room,
        (Some("r" | "R"), Some(room), None) => room,
        _ => return Err(unexpected()),
    };
    validate_room(room)?;
    Ok(room)
}

fn validate_room(room: &str) -> Result<(), UrlError> {
    let bad = |reason| {
        Err(UrlError::BadRoom {
            room: room.to_owned(),
            reason,
        })
    };
    if room.is_empty() {
        return Err(UrlError::MissingRoom);
    }
    if room.len() > ROOM_MAX_LEN {
        return bad("room tokens are at most 64 characters");
    }
    if !room
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return bad("room tokens contain only letters, digits, '-' and '_'");
    }
    Ok(())
}

fn parse_query(query: &str) -> Result<[u8; 32], UrlError> {
    let mut key = None;
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        if name != PUBKEY_PARAM {
            return Err(UrlError::UnexpectedQuery {
                param: name.to_owned(),
            });
        }
        if key.is_some() {
            return Err(UrlError::BadPublicKey {
                reason: "public_key is given more than once".to_owned(),
            });
        }
        key = Some(value);
    }
    let Some(encoded) = key else {
        return Err(UrlError::MissingPublicKey { web_page: false });
    };
    let decoded = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .map_err(|_| UrlError::BadPublicKey {
            reason: "not valid UTF-8 after percent-decoding".to_owned(),
        })?;
    decode_pubkey(&decoded)
}

/// Decodes a 32-byte key given as 64 hex digits, 43/44 base64 characters or 52 base32z
/// characters (libsession `decode_pubkey`).
pub fn decode_pubkey(encoded: &str) -> Result<[u8; 32], UrlError> {
    let bad = |reason: String| Err(UrlError::BadPublicKey { reason });
    let mut out = [0u8; 32];
    match encoded.len() {
        0 => bad("public_key is empty".to_owned()),
        64 => match hex::decode_to_slice(encoded, &mut out) {
            Ok(()) => Ok(out),
            Err(_) => bad("64 characters but not hex".to_owned()),
        },
        43 | 44 => {
            if encoded.len() == 44 && !encoded.ends_with('=') {
                return bad("44 characters but not padded base64".to_owned());
            }
            let url_safe = encoded.contains(['-', '_']);
            let config = GeneralPurposeConfig::new()
                .with_decode_padding_mode(DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true);
            let alphabet = if url_safe {
                &base64::alphabet::URL_SAFE
            } else {
                &base64::alphabet::STANDARD
            };
            match GeneralPurpose::new(alphabet, config).decode(encoded) {
                Ok(bytes) => match <[u8; 32]>::try_from(bytes.as_slice()) {
                    Ok(k) => Ok(k),
                    Err(_) => bad("base64 does not decode to 32 bytes".to_owned()),
                },
                Err(_) => bad("43/44 characters but not base64".to_owned()),
            }
        }
        52 => match decode_base32z(encoded) {
            Some(k) => Ok(k),
            None => bad("52 characters but not base32z".to_owned()),
        },
        n => bad(format!(
            "expected 64 hex digits (or 43/44 base64 or 52 base32z characters), got {n} characters"
        )),
    }
}

fn decode_base32z(encoded: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut written = 0usize;
    for c in encoded.bytes() {
        let c = c.to_ascii_lowercase();
        let v = BASE32Z_ALPHABET.iter().position(|&a| a == c)?;
        acc = (acc << 5) | u32::try_from(v).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            if let Some(slot) = out.get_mut(written) {
                *slot = ((acc >> bits) & 0xff) as u8;
            }
            written += 1;
            acc &= (1 << bits) - 1;
        }
    }
    (written == 32).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32z_round_numbers() {
        // 52 'y' (value 0) decode to 32 zero bytes.
        assert_eq!(decode_base32z(&"y".repeat(52)), Some([0u8; 32]));
        assert_eq!(decode_base32z(&"y".repeat(51)), None);
        assert_eq!(decode_base32z(&"!".repeat(52)), None);
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("8080"), Ok(8080));
        assert!(parse_port("0").is_err());
        assert!(parse_port("65536").is_err());
        assert!(parse_port("").is_err());
        assert!(parse_port("+80").is_err());
    }
}
