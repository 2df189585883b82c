//! Curve work: X25519 ↔ Ed25519 conversion, 15/25 blinding, blinded signing and
//! signature verification (PROTOCOL.md §3, CLIENT.md §0 and §3.5).

use std::fmt;

use blake2::digest::consts::{U32, U64};
use blake2::digest::generic_array::{ArrayLength, GenericArray};
use blake2::digest::typenum::{IsLessOrEqual, LeEq, NonZero};
use blake2::{Blake2b, Blake2bMac, Digest};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use sha2::Sha512;
use zeroize::{Zeroize, Zeroizing};

use crate::ids::{IdPrefix, SessionId};

/// Errors from key conversion, blinding and blinded encryption.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The bytes are not a canonical Ed25519 point of prime order.
    #[error("not a valid Ed25519 public key")]
    InvalidEd25519Key,
    /// The bytes are not the u-coordinate of a point on Curve25519.
    #[error("not a valid X25519 public key")]
    InvalidX25519Key,
    /// An id of the wrong kind was given.
    #[error("expected a {expected} id, got a {got} id")]
    WrongPrefix {
        /// The prefix(es) the operation accepts.
        expected: &'static str,
        /// The prefix that was given.
        got: &'static str,
    },
    /// A scalar multiplication gave the identity point.
    #[error("blinding produced the identity point")]
    IdentityPoint,
    /// Encrypted data is too short, has an unknown version, or does not decrypt.
    #[error("decryption failed")]
    DecryptionFailed,
    /// Encryption failed (only possible for absurd message sizes).
    #[error("encryption failed")]
    EncryptionFailed,
    /// The Ed25519 key embedded in a blinded DM does not blind to the sender's id.
    #[error("the embedded sender key does not match the sender's blinded id")]
    SenderMismatch,
}

// ---------------------------------------------------------------------------------------------
// Small hashing helpers (shared with dm.rs / signing.rs / onion.rs).

/// Unkeyed BLAKE2b with a 64-byte output over the concatenation of `parts`.
pub(crate) fn blake2b_64(parts: &[&[u8]]) -> [u8; 64] {
    let mut h = Blake2b::<U64>::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Unkeyed BLAKE2b with a 32-byte output over the concatenation of `parts`.
pub(crate) fn blake2b_32(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Blake2b::<U32>::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `scalar_reduce(SHA-512(parts...))`.
fn sha512_reduce(parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    let mut wide = Zeroizing::new([0u8; 64]);
    h.finalize_into(GenericArray::from_mut_slice(&mut wide[..]));
    Scalar::from_bytes_mod_order_wide(&wide)
}

const BLIND25_SEED_KEY: &[u8] = b"SessCommBlind25_seed";
const BLIND25_SIG_KEY: &[u8] = b"SessCommBlind25_sig";
// BLAKE2b keys may be at most 64 bytes; see `blake2b_keyed_*`.
const _: () = assert!(BLIND25_SEED_KEY.len() <= 64 && BLIND25_SIG_KEY.len() <= 64);

/// Keyed BLAKE2b with an `N`-byte output (libsodium `crypto_generichash` with a key) over the
/// concatenation of `parts`, written to `out`.
///
/// The MAC constructor only rejects keys longer than 64 bytes and every key we pass is a short
/// constant (asserted at compile time above), so the `Err` arm never runs. It exists only to
/// stay panic-free, and even then still hashes the same secret input.
fn blake2b_keyed_into<N>(key: &[u8], parts: &[&[u8]], out: &mut GenericArray<u8, N>)
where
    N: ArrayLength<u8> + IsLessOrEqual<U64>,
    LeEq<N, U64>: NonZero,
{
    match Blake2bMac::<N>::new_with_salt_and_personal(key, &[], &[]) {
        Ok(mut mac) => {
            parts
                .iter()
                .for_each(|p| blake2::digest::Update::update(&mut mac, p));
            blake2::digest::FixedOutput::finalize_into(mac, out);
        }
        Err(_) => {
            let mut h = Blake2b::<N>::new();
            Digest::update(&mut h, key);
            parts.iter().for_each(|p| Digest::update(&mut h, p));
            Digest::finalize_into(h, out);
        }
    }
}

/// Keyed BLAKE2b-32; see [`blake2b_keyed_into`].
fn blake2b_keyed_32(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    blake2b_keyed_into::<U32>(key, parts, GenericArray::from_mut_slice(&mut out[..]));
    out
}

/// Keyed BLAKE2b-64; see [`blake2b_keyed_into`].
fn blake2b_keyed_64(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 64]> {
    let mut out = Zeroizing::new([0u8; 64]);
    blake2b_keyed_into::<U64>(key, parts, GenericArray::from_mut_slice(&mut out[..]));
    out
}

// ---------------------------------------------------------------------------------------------
// Points and conversions.

/// Decompress `bytes` as libsodium's `crypto_core_ed25519_is_valid_point` would accept it:
/// on the curve, canonically encoded, not of small order, in the prime-order subgroup.
fn decompress_valid(bytes: &[u8; 32]) -> Result<EdwardsPoint, CryptoError> {
    let point = CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or(CryptoError::InvalidEd25519Key)?;
    let ok =
        point.compress().as_bytes() == bytes && !point.is_small_order() && point.is_torsion_free();
    ok.then_some(point).ok_or(CryptoError::InvalidEd25519Key)
}

/// libsodium `crypto_core_ed25519_is_valid_point`: the `X-SOGS-Pubkey` validity check of
/// PROTOCOL.md §4.2 step 4.
pub fn is_valid_ed25519_point(bytes: &[u8; 32]) -> bool {
    decompress_valid(bytes).is_ok()
}

/// `crypto_scalarmult_ed25519_noclamp`: `scalar · point`, with the point validated as libsodium
/// does and the identity result rejected.
fn scalarmult_noclamp(scalar: &Scalar, point: &[u8; 32]) -> Result<[u8; 32], CryptoError> {
    let p = decompress_valid(point)?;
    let q = scalar * p;
    if q == EdwardsPoint::default() {
        return Err(CryptoError::IdentityPoint);
    }
    Ok(q.compress().to_bytes())
}

/// The positive Ed25519 key `|A|` of an X25519 key (PROTOCOL.md §3.2): `y = (u−1)/(u+1)` with
/// the sign bit cleared. The true key is this or the same bytes with bit 255 set.
pub fn xed25519_pubkey(x25519_pk: &[u8; 32]) -> Result<[u8; 32], CryptoError> {
    MontgomeryPoint(*x25519_pk)
        .to_edwards(0)
        .map(|p| p.compress().to_bytes())
        .ok_or(CryptoError::InvalidX25519Key)
}

/// `crypto_sign_ed25519_pk_to_curve25519`: Edwards → Montgomery u-coordinate.
pub fn ed25519_pk_to_x25519(ed_pk: &[u8; 32]) -> Result<[u8; 32], CryptoError> {
    Ok(decompress_valid(ed_pk)?.to_montgomery().to_bytes())
}

/// The `05` Session ID of an Ed25519 public key.
pub fn session_id_from_ed25519(ed_pk: &[u8; 32]) -> Result<SessionId, CryptoError> {
    Ok(SessionId::new(
        IdPrefix::Session,
        ed25519_pk_to_x25519(ed_pk)?,
    ))
}

fn prefix_name(p: IdPrefix) -> &'static str {
    match p {
        IdPrefix::Unblinded => "00",
        IdPrefix::Session => "05",
        IdPrefix::Blinded15 => "15",
        IdPrefix::Blinded25 => "25",
        IdPrefix::System => "ff",
    }
}

fn require_session(id: &SessionId) -> Result<(), CryptoError> {
    if id.prefix() == IdPrefix::Session {
        Ok(())
    } else {
        Err(CryptoError::WrongPrefix {
            expected: "05",
            got: prefix_name(id.prefix()),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Blinding factors and blinded ids.

/// 15-blinding factor `k = scalar_reduce(BLAKE2b-64(server_pk))` (PROTOCOL.md §3.3).
pub fn blind15_factor(server_pk: &[u8; 32]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&blake2b_64(&[server_pk]))
}

/// 25-blinding factor `k' = scalar_reduce(BLAKE2b-64(0x05 || X || server_pk))` (§3.4), before
/// any negation for a negative Ed25519 key.
pub fn blind25_factor(x25519_pk: &[u8; 32], server_pk: &[u8; 32]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&blake2b_64(&[&[0x05], x25519_pk, server_pk]))
}

/// The two possible 15-blinded ids of a Session ID: `[bit-cleared ("abs"), bit-set]`. Exactly
/// one of them is the id the owner uses.
pub fn blind15_candidates(
    session_id: &SessionId,
    server_pk: &[u8; 32],
) -> Result<[SessionId; 2], CryptoError> {
    require_session(session_id)?;
    let abs_a = xed25519_pubkey(session_id.key())?;
    let p = scalarmult_noclamp(&blind15_factor(server_pk), &abs_a)?;
    let mut pos = p;
    let mut neg = p;
    if let Some(b) = pos.last_mut() {
        *b &= 0x7f;
    }
    if let Some(b) = neg.last_mut() {
        *b |= 0x80;
    }
    Ok([
        SessionId::new(IdPrefix::Blinded15, pos),
        SessionId::new(IdPrefix::Blinded15, neg),
    ])
}

/// The id with the top bit of the key's last byte cleared (pysogs' `blinded_abs`).
pub fn blind15_abs(id: &SessionId) -> SessionId {
    let mut key = *id.key();
    if let Some(b) = key.last_mut() {
        *b &= 0x7f;
    }
    SessionId::new(id.prefix(), key)
}

/// The exact 15-blinded id (`k · A`, real sign) of someone whose Ed25519 key is known.
pub fn blind15_id_from_ed25519(
    ed_pk: &[u8; 32],
    server_pk: &[u8; 32],
) -> Result<SessionId, CryptoError> {
    let key = scalarmult_noclamp(&blind15_factor(server_pk), ed_pk)?;
    Ok(SessionId::new(IdPrefix::Blinded15, key))
}

/// The 25-blinded id of a Session ID: `25 || k' · |A|` (PROTOCOL.md §3.4).
pub fn blind25_id(session_id: &SessionId, server_pk: &[u8; 32]) -> Result<SessionId, CryptoError> {
    require_session(session_id)?;
    let abs_a = xed25519_pubkey(session_id.key())?;
    let key = scalarmult_noclamp(&blind25_factor(session_id.key(), server_pk), &abs_a)?;
    Ok(SessionId::new(IdPrefix::Blinded25, key))
}

/// The 25-blinded id of someone whose Ed25519 key is known.
pub fn blind25_id_from_ed25519(
    ed_pk: &[u8; 32],
    server_pk: &[u8; 32],
) -> Result<SessionId, CryptoError> {
    blind25_id(&session_id_from_ed25519(ed_pk)?, server_pk)
}

/// Whether `blinded` (15 or 25) belongs to `session_id` (05) on this server. For 15 ids both
/// sign variants match (PROTOCOL.md §3.3).
pub fn session_id_matches_blinded(
    session_id: &SessionId,
    blinded: &SessionId,
    server_pk: &[u8; 32],
) -> bool {
    match blinded.prefix() {
        IdPrefix::Blinded15 => blind15_candidates(session_id, server_pk)
            .map(|c| c.contains(blinded))
            .unwrap_or(false),
        IdPrefix::Blinded25 => blind25_id(session_id, server_pk)
            .map(|b| b == *blinded)
            .unwrap_or(false),
        IdPrefix::Unblinded | IdPrefix::Session | IdPrefix::System => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Blinded key pairs and signing.

/// An Ed25519 seed expanded the libsodium way.
pub(crate) struct ExpandedSeed {
    /// The Ed25519 private scalar `a` (clamped `SHA-512(seed)[0..32]`, reduced mod L).
    pub(crate) scalar: Zeroizing<Scalar>,
    /// The Ed25519 public key `A`.
    pub(crate) public: [u8; 32],
    /// `SHA-512(seed)[32..64]`.
    pub(crate) hash_prefix: Zeroizing<[u8; 32]>,
}

pub(crate) fn expand_seed(seed: &[u8; 32]) -> ExpandedSeed {
    let sk = SigningKey::from_bytes(seed);
    let public = sk.verifying_key().to_bytes();
    let scalar = Zeroizing::new(sk.to_scalar());
    let mut full = Zeroizing::new([0u8; 64]);
    let mut h = Sha512::new();
    h.update(seed);
    h.finalize_into(GenericArray::from_mut_slice(&mut full[..]));
    let mut hash_prefix = Zeroizing::new([0u8; 32]);
    if let Some(upper) = full.get(32..) {
        hash_prefix.copy_from_slice(upper);
    }
    ExpandedSeed {
        scalar,
        public,
        hash_prefix,
    }
}

/// A blinded (15 or 25) signing key for one server. The secret scalar and nonce keys are
/// zeroized on drop and never printed.
#[derive(Clone)]
pub struct BlindedKeyPair {
    prefix: IdPrefix,
    public: [u8; 32],
    secret: Scalar,
    /// libsession nonce key: `SHA-512(seed || A)[32..64]` (15) or
    /// `BLAKE2b-32(seed, key = "SessCommBlind25_seed")` (25).
    nonce_key: Zeroizing<[u8; 32]>,
    /// Desktop nonce key: `SHA-512(seed)[32..64]`.
    seed_hash_prefix: Zeroizing<[u8; 32]>,
}

impl Drop for BlindedKeyPair {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl fmt::Debug for BlindedKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindedKeyPair")
            .field("id", &self.session_id())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl BlindedKeyPair {
    /// 15-blinded key pair: `ka = k·a`, `kA = ka·G` (PROTOCOL.md §3.3).
    pub fn blind15(ed_seed: &[u8; 32], server_pk: &[u8; 32]) -> Self {
        let seed = expand_seed(ed_seed);
        let secret = blind15_factor(server_pk) * *seed.scalar;
        let public = EdwardsPoint::mul_base(&secret).compress().to_bytes();

        let mut full = Zeroizing::new([0u8; 64]);
        let mut h = Sha512::new();
        h.update(ed_seed);
        h.update(seed.public);
        h.finalize_into(GenericArray::from_mut_slice(&mut full[..]));
        let mut nonce_key = Zeroizing::new([0u8; 32]);
        if let Some(upper) = full.get(32..) {
            nonce_key.copy_from_slice(upper);
        }
        Self {
            prefix: IdPrefix::Blinded15,
            public,
            secret,
            nonce_key,
            seed_hash_prefix: seed.hash_prefix,
        }
    }

    /// 25-blinded key pair: `k'` negated when the Ed25519 key is negative, so that the public
    /// key is always `k'·|A|` (PROTOCOL.md §3.4).
    pub fn blind25(ed_seed: &[u8; 32], server_pk: &[u8; 32]) -> Self {
        let seed = expand_seed(ed_seed);
        // The Ed25519 public key of a seed is always a valid point, so this conversion cannot
        // fail; fall back to the Edwards point's own conversion to stay panic-free.
        let x25519 = ed25519_pk_to_x25519(&seed.public).unwrap_or_else(|_| {
            EdwardsPoint::mul_base(&seed.scalar)
                .to_montgomery()
                .to_bytes()
        });
        let mut k = blind25_factor(&x25519, server_pk);
        if seed.public.last().is_some_and(|b| b & 0x80 != 0) {
            k = -k;
        }
        let secret = k * *seed.scalar;
        let public = EdwardsPoint::mul_base(&secret).compress().to_bytes();

        let nonce_key = blake2b_keyed_32(BLIND25_SEED_KEY, &[ed_seed]);
        Self {
            prefix: IdPrefix::Blinded25,
            public,
            secret,
            nonce_key,
            seed_hash_prefix: seed.hash_prefix,
        }
    }

    /// `15…` or `25…` id.
    pub fn session_id(&self) -> SessionId {
        SessionId::new(self.prefix, self.public)
    }

    /// The blinded Ed25519 public key (`kA`).
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// The blinded private scalar (`ka`), e.g. for blinded DM key agreement.
    pub(crate) fn secret_scalar(&self) -> &Scalar {
        &self.secret
    }

    /// Sign with libsession's nonce derivation (bit-exact with libsession's `blind15_sign` /
    /// `blind25_sign`). The result verifies as plain Ed25519 under [`Self::public_key`].
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let mut r = match self.prefix {
            IdPrefix::Blinded25 => {
                let wide =
                    blake2b_keyed_64(BLIND25_SIG_KEY, &[&self.nonce_key[..], &self.public, msg]);
                Scalar::from_bytes_mod_order_wide(&wide)
            }
            _ => sha512_reduce(&[&self.nonce_key[..], &self.public, msg]),
        };
        let sig = self.sign_with_nonce(&r, msg);
        r.zeroize();
        sig
    }

    /// Sign with Session Desktop's nonce derivation
    /// `r = reduce(SHA-512(SHA-512(seed)[32..64] || kA || M))` (CLIENT.md §0).
    pub fn sign_desktop_style(&self, msg: &[u8]) -> [u8; 64] {
        let mut r = sha512_reduce(&[&self.seed_hash_prefix[..], &self.public, msg]);
        let sig = self.sign_with_nonce(&r, msg);
        r.zeroize();
        sig
    }

    fn sign_with_nonce(&self, r: &Scalar, msg: &[u8]) -> [u8; 64] {
        let big_r = EdwardsPoint::mul_base(r).compress().to_bytes();
        let h = sha512_reduce(&[&big_r, &self.public, msg]);
        let s = r + h * self.secret;
        let mut out = [0u8; 64];
        let (rr, ss) = out.split_at_mut(32);
        rr.copy_from_slice(&big_r);
        ss.copy_from_slice(s.as_bytes());
        out
    }
}

/// Signs `msg` for an unblinded (`05`) author the way Session Desktop does it (curve25519-js
/// `sign` with the X25519 private key, CLIENT.md §3.5): `a` = the clamped private scalar,
/// `r = reduce(SHA-512(a || M))`, `A = a·B` with its real sign,
/// `S = r + reduce(SHA-512(R || A || M))·a`, and bit 7 of the last byte of `S` set to A's sign
/// bit. [`verify_message_signature`] accepts the result for the account's `05` id. Used for
/// posts to servers that do not advertise `blind`.
pub fn sign_xed25519_desktop(ed_seed: &[u8; 32], msg: &[u8]) -> [u8; 64] {
    let seed = expand_seed(ed_seed);
    let clamped = crate::identity::x25519_secret_from_ed25519_seed(ed_seed);
    let mut r = sha512_reduce(&[&clamped[..], msg]);
    let big_r = EdwardsPoint::mul_base(&r).compress().to_bytes();
    let h = sha512_reduce(&[&big_r, &seed.public, msg]);
    let s = r + h * *seed.scalar;
    r.zeroize();
    let mut out = [0u8; 64];
    let (rr, ss) = out.split_at_mut(32);
    rr.copy_from_slice(&big_r);
    ss.copy_from_slice(s.as_bytes());
    let sign_bit = seed.public.last().map_or(0, |b| b & 0x80);
    if let Some(b) = out.last_mut() {
        *b |= sign_bit;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Verification.

/// Ed25519 verification as libsodium's `crypto_sign_verify_detached` does it: canonical key
/// encoding, no small-order key or `R`, canonical `S` (ed25519-dalek `verify_strict`).
pub fn verify_ed25519(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    let Some(point) = CompressedEdwardsY(*pk).decompress() else {
        return false;
    };
    if point.compress().as_bytes() != pk {
        return false;
    }
    let Ok(vk) = VerifyingKey::from_bytes(pk) else {
        return false;
    };
    vk.verify_strict(msg, &Signature::from_bytes(sig)).is_ok()
}

/// Verify a message (`data`) signature by its author id (PROTOCOL.md §9.4, CLIENT.md §3.5):
///
/// - `15`/`25`/`00`: plain Ed25519 with the 32 key bytes.
/// - `05`: the X25519 key converted to `|A|`, with the sign bit taken from bit 7 of `sig[63]`
///   (which is then cleared), as curve25519-js (Session Desktop) does. For every signature
///   produced by libsession's XEd25519 that bit is 0, so this also accepts those.
/// - `ff`: never valid.
pub fn verify_message_signature(author: &SessionId, msg: &[u8], sig: &[u8; 64]) -> bool {
    match author.prefix() {
        IdPrefix::Blinded15 | IdPrefix::Blinded25 | IdPrefix::Unblinded => {
            verify_ed25519(author.key(), msg, sig)
        }
        IdPrefix::Session => {
            let Ok(mut pk) = xed25519_pubkey(author.key()) else {
                return false;
            };
            let mut sig = *sig;
            let sign_bit = sig.last().map_or(0, |b| b & 0x80);
            if let Some(b) = sig.last_mut() {
                *b &= 0x7f;
            }
            if let Some(b) = pk.last_mut() {
                *b |= sign_bit;
            }
            verify_ed25519(&pk, msg, &sig)
        }
        IdPrefix::System => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn blind15_factor_matches_computed_identity() {
        let server = h32("8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726");
        assert_eq!(
            hex::encode(blind15_factor(&server).as_bytes()),
            "879d7a1b559ed9a41f260d8d759445b989af31dc61e6a28804ec7ebcca774c09"
        );
    }

    #[test]
    fn point_validity() {
        // The base point is valid.
        let g = EdwardsPoint::mul_base(&Scalar::ONE).compress().to_bytes();
        assert!(is_valid_ed25519_point(&g));
        // Identity and small-order points are not.
        let mut ident = [0u8; 32];
        ident[0] = 1;
        assert!(!is_valid_ed25519_point(&ident));
        assert!(!is_valid_ed25519_point(&[0u8; 32]));
        // Non-canonical encoding of y = 1 (y + p).
        let mut noncanon = [0xffu8; 32];
        noncanon[0] = 0xee;
        noncanon[31] = 0x7f;
        assert!(!is_valid_ed25519_point(&noncanon));
        // A point with a torsion component.
        let eight_torsion = curve25519_dalek::constants::EIGHT_TORSION[1];
        let mixed = (EdwardsPoint::mul_base(&Scalar::ONE) + eight_torsion)
            .compress()
            .to_bytes();
        assert!(!is_valid_ed25519_point(&mixed));
    }

    #[test]
    fn debug_is_redacted() {
        let kp = BlindedKeyPair::blind15(&[7u8; 32], &[9u8; 32]);
        let dbg = format!("{kp:?}");
        assert!(dbg.contains("<redacted>"));
        assert!(!dbg.contains(&hex::encode(kp.secret.as_bytes())));
        assert!(dbg.contains(&kp.session_id().to_string()));
    }

    #[test]
    fn unblinded_desktop_signature_verifies_for_session_id() {
        for seed_byte in 0u8..8 {
            let mut seed = [0u8; 32];
            seed[..16].copy_from_slice(&[seed_byte.wrapping_mul(37).wrapping_add(1); 16]);
            let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
            let sid = session_id_from_ed25519(&public).unwrap();
            let sig = sign_xed25519_desktop(&seed, b"padded content");
            assert!(verify_message_signature(&sid, b"padded content", &sig));
            assert!(!verify_message_signature(&sid, b"padded contenu", &sig));
        }
    }

    #[test]
    fn desktop_and_libsession_signatures_both_verify() {
        let kp = BlindedKeyPair::blind15(&[3u8; 32], &[4u8; 32]);
        let a = kp.sign(b"msg");
        let b = kp.sign_desktop_style(b"msg");
        assert_ne!(a, b);
        assert!(verify_ed25519(&kp.public_key(), b"msg", &a));
        assert!(verify_ed25519(&kp.public_key(), b"msg", &b));
        assert!(!verify_ed25519(&kp.public_key(), b"msh", &a));
    }
}
