//! Session / blinded ids: a one-byte prefix and a 32-byte key, written as 66 hex digits
//! (PROTOCOL.md §3.1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The prefix byte of an id (PROTOCOL.md §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdPrefix {
    /// `00`: an unblinded Ed25519 key, only used in `X-SOGS-Pubkey`.
    Unblinded,
    /// `05`: a Session ID (X25519 public key).
    Session,
    /// `15`: a 15-blinded id (Ed25519 point `kA`).
    Blinded15,
    /// `25`: a 25-blinded id (Ed25519 point `k'|A|`).
    Blinded25,
    /// `ff`: the pysogs internal system user (server X25519 key).
    System,
}

impl IdPrefix {
    /// The prefix byte.
    pub fn byte(&self) -> u8 {
        match self {
            Self::Unblinded => 0x00,
            Self::Session => 0x05,
            Self::Blinded15 => 0x15,
            Self::Blinded25 => 0x25,
            Self::System => 0xff,
        }
    }

    /// The prefix for a byte, if it is one we know.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x00 => Some(Self::Unblinded),
            0x05 => Some(Self::Session),
            0x15 => Some(Self::Blinded15),
            0x25 => Some(Self::Blinded25),
            0xff => Some(Self::System),
            _ => None,
        }
    }

    /// Two lowercase hex digits, e.g. `"15"`.
    pub fn as_hex(&self) -> &'static str {
        match self {
            Self::Unblinded => "00",
            Self::Session => "05",
            Self::Blinded15 => "15",
            Self::Blinded25 => "25",
            Self::System => "ff",
        }
    }

    /// `15` or `25`.
    pub fn is_blinded(&self) -> bool {
        matches!(self, Self::Blinded15 | Self::Blinded25)
    }
}

/// Why a string or byte sequence is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not exactly 66 characters.
    #[error("id must be 66 hex digits, got {0} characters")]
    Length(usize),
    /// Contains a non-hex character.
    #[error("id is not hex")]
    NotHex,
    /// The prefix byte is not one of 00, 05, 15, 25, ff.
    #[error("unknown id prefix {0:02x}")]
    UnknownPrefix(u8),
}

/// A 33-byte id: prefix + 32-byte key. Once you hold one, it is well formed (it is not
/// necessarily a valid curve point; see [`crate::blinding::is_valid_ed25519_point`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    prefix: IdPrefix,
    key: [u8; 32],
}

impl SessionId {
    /// Build an id from its parts.
    pub fn new(prefix: IdPrefix, key: [u8; 32]) -> Self {
        Self { prefix, key }
    }

    /// Parse 66 hex digits (upper or lower case) with a known prefix.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.len() != 66 {
            return Err(IdError::Length(s.len()));
        }
        let mut raw = [0u8; 33];
        hex::decode_to_slice(s, &mut raw).map_err(|_| IdError::NotHex)?;
        Self::from_bytes(&raw)
    }

    /// From the raw 33 bytes (prefix byte first).
    pub fn from_bytes(raw: &[u8; 33]) -> Result<Self, IdError> {
        let (prefix, key) = raw.split_first().ok_or(IdError::Length(0))?;
        let prefix = IdPrefix::from_byte(*prefix).ok_or(IdError::UnknownPrefix(*prefix))?;
        let key: [u8; 32] = key.try_into().map_err(|_| IdError::Length(66))?;
        Ok(Self { prefix, key })
    }

    /// The raw 33 bytes (prefix byte first).
    pub fn to_bytes(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        let (p, k) = out.split_at_mut(1);
        p.copy_from_slice(&[self.prefix.byte()]);
        k.copy_from_slice(&self.key);
        out
    }

    /// The prefix.
    pub fn prefix(&self) -> IdPrefix {
        self.prefix
    }

    /// The 32 key bytes after the prefix.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// `15` or `25`.
    pub fn is_blinded(&self) -> bool {
        self.prefix.is_blinded()
    }

    /// Lowercase 66-hex form (same as `Display`).
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix.as_hex())?;
        f.write_str(&hex::encode(self.key))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

impl FromStr for SessionId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "05fe94b7ad4b7f1cc1bb92671f1f0d243f226e115b33770465e82b503fc3e96e1f";

    #[test]
    fn parse_display_roundtrip() {
        let id = SessionId::parse(SID).unwrap();
        assert_eq!(id.prefix(), IdPrefix::Session);
        assert_eq!(id.key()[0], 0xfe);
        assert_eq!(id.to_string(), SID);
        let upper = SessionId::parse(&SID.to_uppercase()).unwrap();
        assert_eq!(upper, id);
        assert_eq!(upper.to_string(), SID);
        assert_eq!(SessionId::from_bytes(&id.to_bytes()).unwrap(), id);
        assert!(!id.is_blinded());
    }

    #[test]
    fn parse_errors() {
        assert_eq!(SessionId::parse("05"), Err(IdError::Length(2)));
        let bad_hex = format!("0{}", &SID[1..65]) + "g";
        assert_eq!(SessionId::parse(&bad_hex), Err(IdError::NotHex));
        let bad_prefix = format!("16{}", &SID[2..]);
        assert_eq!(
            SessionId::parse(&bad_prefix),
            Err(IdError::UnknownPrefix(0x16))
        );
        // Multi-byte characters must not confuse the length check.
        let weird = "é".repeat(33);
        assert_eq!(SessionId::parse(&weird), Err(IdError::NotHex));
    }

    #[test]
    fn prefixes() {
        for (p, b, h) in [
            (IdPrefix::Unblinded, 0x00, "00"),
            (IdPrefix::Session, 0x05, "05"),
            (IdPrefix::Blinded15, 0x15, "15"),
            (IdPrefix::Blinded25, 0x25, "25"),
            (IdPrefix::System, 0xff, "ff"),
        ] {
            assert_eq!(p.byte(), b);
            assert_eq!(p.as_hex(), h);
            assert_eq!(IdPrefix::from_byte(b), Some(p));
        }
        assert!(IdPrefix::Blinded15.is_blinded());
        assert!(IdPrefix::Blinded25.is_blinded());
        assert!(!IdPrefix::Unblinded.is_blinded());
    }

    #[test]
    fn serde_as_string() {
        let id = SessionId::parse(SID).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{SID}\""));
        let back: SessionId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<SessionId>("\"05ab\"").is_err());
    }

    #[test]
    fn ordering_by_prefix_then_key() {
        let a = SessionId::new(IdPrefix::Session, [0xff; 32]);
        let b = SessionId::new(IdPrefix::Blinded15, [0x00; 32]);
        assert!(a < b);
        let c = SessionId::new(IdPrefix::Blinded15, [0x01; 32]);
        assert!(b < c);
    }
}
