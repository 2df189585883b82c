//! Room tokens: 1–64 characters of `A–Z a–z 0–9 _ -`.

use crate::error::ApiError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomToken(String);

impl RoomToken {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        Self::is_valid(s)
            .then(|| Self(s.to_owned()))
            .ok_or_else(|| ApiError::bad_request("invalid room token"))
    }

    pub fn is_valid(s: &str) -> bool {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        (1..=64).contains(&s.len()) && s.bytes().all(allowed)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_rules() {
        assert!(RoomToken::parse("lobby-1_A").is_ok());
        assert!(RoomToken::parse(&"a".repeat(64)).is_ok());
        assert!(RoomToken::parse(&"a".repeat(65)).is_err());
        assert!(RoomToken::parse("").is_err());
        assert!(RoomToken::parse("no spaces").is_err());
        assert!(RoomToken::parse("é").is_err());
    }
}
