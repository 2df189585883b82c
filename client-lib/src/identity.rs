//! A Session account identity (IDENTITY.md §§2–3, 6, 8–9): the 16-byte account seed and
//! everything derived from it, plus the display name kept next to it.
//!
//! ```text
//! ed25519_seed = seed16 || 00×16      -> Ed25519 key pair (RFC 8032)
//! x25519_pk    = Montgomery form of ed25519_pk
//! session_id   = 05 || x25519_pk
//! ```

use std::fmt;

use ed25519_dalek::SigningKey;
use rand::RngCore;
use sha2::{Digest, Sha512};
use zeroize::{Zeroize, Zeroizing};

use crate::blinding::BlindedKeyPair;
use crate::ids::{IdPrefix, SessionId};
use crate::mnemonic::{self, MnemonicError, RecoveryPassword, SEED_LEN};

/// Longest display name, in UTF-8 bytes (libsession `contact_info::MAX_NAME_LENGTH`).
pub const MAX_DISPLAY_NAME_BYTES: usize = 100;

/// Why an identity could not be created or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Mnemonic(#[from] MnemonicError),
    /// The QR form of a recovery password is 32 hex characters.
    #[error("invalid account seed: {reason}")]
    BadSeedHex { reason: String },
    /// A 32-byte Ed25519 seed that is not a 16-byte Session seed padded with zeros.
    #[error(
        "this is a 32-byte key, not a Session account seed: a Session seed is 16 bytes \
         (32 hex characters, the recovery password's QR code)"
    )]
    NotASessionSeed,
    #[error(
        "this is a Session ID, not a secret: restore from the 13-word recovery password \
         (or the 32 hex characters of its QR code)"
    )]
    SessionIdGiven,
    #[error(transparent)]
    DisplayName(#[from] DisplayNameError),
    #[error("invalid identity file: {0}")]
    File(String),
}

/// Why a display name was refused (IDENTITY.md §9).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    #[error("display name is empty")]
    Empty,
    #[error("display name is {bytes} bytes of UTF-8; the limit is 100")]
    TooLong { bytes: usize },
}

/// Characters trimmed from both ends of a display name: whitespace plus zero-width and
/// direction marks (desktop `trimWhitespace`).
fn is_trimmed_name_char(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}')
}

/// A display name: trimmed, non-empty, at most 100 bytes of UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

impl DisplayName {
    /// Cleans up and validates a name as the apps do during onboarding (a too-long name is
    /// refused).
    pub fn parse(name: &str) -> Result<Self, DisplayNameError> {
        let trimmed = name.trim_matches(is_trimmed_name_char);
        if trimmed.is_empty() {
            return Err(DisplayNameError::Empty);
        }
        if trimmed.len() > MAX_DISPLAY_NAME_BYTES {
            return Err(DisplayNameError::TooLong {
                bytes: trimmed.len(),
            });
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Like [`DisplayName::parse`] but cuts a long name at the last whole character within
    /// 100 bytes (libsession's truncating setter).
    pub fn parse_truncating(name: &str) -> Result<Self, DisplayNameError> {
        let trimmed = name.trim_matches(is_trimmed_name_char);
        let mut end = trimmed.len().min(MAX_DISPLAY_NAME_BYTES);
        while !trimmed.is_char_boundary(end) {
            end -= 1;
        }
        Self::parse(trimmed.get(..end).unwrap_or(""))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Session account: the seed, its keys, and an optional display name.
///
/// The seed and private keys are zeroized on drop; `Debug` shows only the Session ID and name.
#[derive(Clone)]
pub struct Identity {
    /// `seed16 || 00×16`.
    ed25519_seed: Zeroizing<[u8; 32]>,
    signing_key: SigningKey,
    display_name: Option<DisplayName>,
}

/// The JSON stored in an identity file: `{"seed": "<32 hex>", "display_name": "…"}`.
#[derive(serde::Serialize, serde::Deserialize)]
struct IdentityFile {
    seed: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
}

impl Drop for IdentityFile {
    fn drop(&mut self) {
        self.seed.zeroize();
    }
}

impl Identity {
    /// A new account from 16 bytes of OS randomness.
    pub fn generate() -> Self {
        Self::generate_with(&mut rand::rngs::OsRng)
    }

    /// A new account from 16 bytes of `rng` (tests inject a seeded RNG).
    pub fn generate_with<R: RngCore + rand::CryptoRng>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(&seed)
    }

    /// The account for a 16-byte seed (what the apps store and encode as the recovery
    /// password).
    pub fn from_seed(seed: &[u8; SEED_LEN]) -> Self {
        let mut ed25519_seed = Zeroizing::new([0u8; 32]);
        if let Some(head) = ed25519_seed.get_mut(..SEED_LEN) {
            head.copy_from_slice(seed);
        }
        let signing_key = SigningKey::from_bytes(&ed25519_seed);
        Self {
            ed25519_seed,
            signing_key,
            display_name: None,
        }
    }

    /// The account for a 32-byte Ed25519 seed, which must be a 16-byte seed followed by 16
    /// zero bytes (the only kind the apps use).
    pub fn from_ed25519_seed(seed: &[u8; 32]) -> Result<Self, IdentityError> {
        let (head, tail) = seed.split_at(SEED_LEN);
        if tail.iter().any(|&b| b != 0) {
            return Err(IdentityError::NotASessionSeed);
        }
        let mut seed16 = Zeroizing::new([0u8; SEED_LEN]);
        seed16.copy_from_slice(head);
        Ok(Self::from_seed(&seed16))
    }

    /// Restores from a 13-word recovery password (IDENTITY.md §6).
    pub fn from_mnemonic(phrase: &str) -> Result<Self, MnemonicError> {
        let seed = mnemonic::decode(phrase)?;
        Ok(Self::from_seed(&seed))
    }

    /// Restores from the QR form of the recovery password: the seed as 32 hex characters.
    /// 64 hex characters (a 32-byte key) and a pasted Session ID are refused with their own
    /// errors.
    pub fn from_seed_hex(input: &str) -> Result<Self, IdentityError> {
        let s = input.trim();
        let all_hex = !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        match s.len() {
            32 if all_hex => {
                let mut seed = Zeroizing::new([0u8; SEED_LEN]);
                hex::decode_to_slice(s, seed.as_mut()).map_err(|e| IdentityError::BadSeedHex {
                    reason: e.to_string(),
                })?;
                Ok(Self::from_seed(&seed))
            }
            64 if all_hex => Err(IdentityError::NotASessionSeed),
            66 if all_hex && s.starts_with("05") => Err(IdentityError::SessionIdGiven),
            _ if !all_hex => Err(IdentityError::BadSeedHex {
                reason: "not hexadecimal".to_owned(),
            }),
            n => Err(IdentityError::BadSeedHex {
                reason: format!("expected 32 hex characters, got {n}"),
            }),
        }
    }

    /// Restores from whatever the user pasted: the 32-hex QR form, or a recovery password.
    pub fn restore(input: &str) -> Result<Self, IdentityError> {
        let s = input.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Self::from_seed_hex(s);
        }
        Ok(Self::from_mnemonic(s)?)
    }

    /// The 13-word recovery password (lowercase, single spaces).
    ///
    /// The returned `String` is not zeroized; use [`Identity::recovery_password`] to hold it
    /// in a zeroizing, redacting wrapper.
    pub fn mnemonic(&self) -> String {
        mnemonic::encode(&self.seed())
    }

    /// The recovery password in a zeroize-on-drop wrapper with a redacted `Debug`.
    pub fn recovery_password(&self) -> RecoveryPassword {
        RecoveryPassword::from_seed(&self.seed())
    }

    /// The 16-byte account seed.
    pub fn seed(&self) -> Zeroizing<[u8; SEED_LEN]> {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        if let Some(head) = self.ed25519_seed.get(..SEED_LEN) {
            seed.copy_from_slice(head);
        }
        seed
    }

    /// The 16-byte seed as 32 lowercase hex characters (what the apps' QR code shows).
    pub fn seed_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.seed().as_ref()))
    }

    /// The 32-byte Ed25519 seed (`seed16 || 00×16`).
    pub fn ed25519_seed(&self) -> &[u8; 32] {
        &self.ed25519_seed
    }

    /// The Ed25519 signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The Ed25519 public key.
    pub fn ed25519_public(&self) -> [u8; 32] {
        self.signing_key.verifying_key().to_bytes()
    }

    /// libsodium's 64-byte secret key layout: `ed25519_seed || ed25519_public`.
    pub fn ed25519_secret_key(&self) -> Zeroizing<[u8; 64]> {
        Zeroizing::new(self.signing_key.to_keypair_bytes())
    }

    /// The X25519 public key (Montgomery form of the Ed25519 public key).
    pub fn x25519_public(&self) -> [u8; 32] {
        self.signing_key.verifying_key().to_montgomery().to_bytes()
    }

    /// The X25519 secret key exactly as libsodium's `crypto_sign_ed25519_sk_to_curve25519`
    /// returns it: first half of SHA-512(ed25519 seed), clamped.
    pub fn x25519_secret(&self) -> Zeroizing<[u8; 32]> {
        x25519_secret_from_ed25519_seed(&self.ed25519_seed)
    }

    /// The X25519 secret as an `x25519_dalek` key (for Diffie–Hellman).
    pub fn x25519_static_secret(&self) -> x25519_dalek::StaticSecret {
        x25519_dalek::StaticSecret::from(*self.x25519_secret())
    }

    /// The Session ID: `05 || x25519_public`.
    pub fn session_id(&self) -> SessionId {
        SessionId::new(IdPrefix::Session, self.x25519_public())
    }

    /// This account's 15-blinded key pair for the community server with X25519 key
    /// `server_pk` (PROTOCOL.md §3.3).
    pub fn blinded15(&self, server_pk: &[u8; 32]) -> BlindedKeyPair {
        BlindedKeyPair::blind15(&self.ed25519_seed, server_pk)
    }

    /// This account's `15…` blinded id on the server with X25519 key `server_pk`.
    pub fn blinded15_id(&self, server_pk: &[u8; 32]) -> SessionId {
        self.blinded15(server_pk).session_id()
    }

    /// The display name kept with the identity, if any.
    pub fn display_name(&self) -> Option<&DisplayName> {
        self.display_name.as_ref()
    }

    /// Sets (or clears) the display name.
    pub fn set_display_name(&mut self, name: Option<DisplayName>) {
        self.display_name = name;
    }

    /// Builder form of [`Identity::set_display_name`], parsing `name`.
    pub fn with_display_name(mut self, name: &str) -> Result<Self, DisplayNameError> {
        self.display_name = Some(DisplayName::parse(name)?);
        Ok(self)
    }

    /// The identity file's JSON: `{"seed":"<32 hex>","display_name":"…"}` (name omitted when
    /// unset). The result holds the secret seed: write it with mode 0600, and do not log it.
    pub fn to_file_json(&self) -> String {
        let file = IdentityFile {
            seed: self.seed_hex().to_string(),
            display_name: self.display_name.as_ref().map(|n| n.0.clone()),
        };
        // Serializing two strings cannot fail; fall back to an empty object rather than panic.
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    /// Reads an identity file written by [`Identity::to_file_json`]. The seed may also be
    /// given as 64 hex characters of a zero-padded Ed25519 seed.
    pub fn from_file_json(json: &str) -> Result<Self, IdentityError> {
        let file: IdentityFile =
            serde_json::from_str(json).map_err(|e| IdentityError::File(e.to_string()))?;
        let seed = file.seed.trim();
        let mut identity = if seed.len() == 64 {
            let mut ed = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(seed, ed.as_mut()).map_err(|e| IdentityError::BadSeedHex {
                reason: e.to_string(),
            })?;
            Self::from_ed25519_seed(&ed)?
        } else {
            Self::from_seed_hex(seed)?
        };
        identity.display_name = file
            .display_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()?;
        Ok(identity)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("session_id", &self.session_id().to_string())
            .field(
                "display_name",
                &self.display_name.as_ref().map(|n| n.as_str()),
            )
            .finish_non_exhaustive()
    }
}

/// libsodium `crypto_sign_ed25519_sk_to_curve25519` for any 32-byte Ed25519 seed:
/// SHA-512(seed)[0..32], clamped.
pub fn x25519_secret_from_ed25519_seed(seed: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut h = Zeroizing::new([0u8; 64]);
    h.copy_from_slice(&Sha512::digest(seed));
    let mut out = Zeroizing::new([0u8; 32]);
    if let Some(first) = h.get(..32) {
        out.copy_from_slice(first);
    }
    if let Some(b) = out.first_mut() {
        *b &= 0xf8;
    }
    if let Some(b) = out.last_mut() {
        *b &= 0x7f;
        *b |= 0x40;
    }
    out
}

/// libsodium `crypto_sign_ed25519_pk_to_curve25519`: the Montgomery u-coordinate of an Ed25519
/// public key. `None` if the bytes are not a valid point.
pub fn x25519_public_from_ed25519(ed25519_pk: &[u8; 32]) -> Option<[u8; 32]> {
    ed25519_dalek::VerifyingKey::from_bytes(ed25519_pk)
        .ok()
        .map(|vk| vk.to_montgomery().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_rules() {
        assert_eq!(
            DisplayName::parse("\u{200B} Alice \u{FEFF}\n")
                .unwrap()
                .as_str(),
            "Alice"
        );
        assert_eq!(
            DisplayName::parse("A\u{200B}B").unwrap().as_str(),
            "A\u{200B}B"
        );
        assert_eq!(
            DisplayName::parse(" \u{2060} "),
            Err(DisplayNameError::Empty)
        );
        let long = "é".repeat(51); // 102 bytes
        assert_eq!(
            DisplayName::parse(&long),
            Err(DisplayNameError::TooLong { bytes: 102 })
        );
        assert_eq!(
            DisplayName::parse_truncating(&long).unwrap().as_str(),
            "é".repeat(50)
        );
        assert!(DisplayName::parse(&"a".repeat(100)).is_ok());
    }

    #[test]
    fn debug_hides_secrets() {
        let id = Identity::from_seed(&[0u8; 16]);
        let dbg = format!("{id:?}");
        assert!(dbg.contains("055bf55c73b82ebe22be80f3430667af570fae2556a6415e6b30d4065300aa947d"));
        assert!(!dbg.contains("abbey"));
        assert!(!dbg.contains("0000000000000000"));
    }
}
