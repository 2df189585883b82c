//! Blinded direct-message encryption (PROTOCOL.md §3.7, CLIENT.md §5), compatible with
//! libsession's `encrypt_for_blinded_recipient` / `decrypt_from_blinded_recipient`.
//!
//! With sender `A` (blinded `kA`) and recipient `B` (blinded `kB`):
//! `key = BLAKE2b-32(s · kB || kA || kB)` where `s` is the sender's Ed25519 scalar `a` for 15
//! ids, or the sender's blinded scalar `k'a` for 25 ids; the recipient computes the same value
//! as `BLAKE2b-32(r · kA || kA || kB)`. The sender is always first in the hash.
//! `data = 0x00 || XChaCha20-Poly1305(message || A_ed25519) || nonce(24)`.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::XChaCha20Poly1305;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::blinding::{
    blake2b_32, blind15_id_from_ed25519, blind25_id_from_ed25519, expand_seed,
    is_valid_ed25519_point, BlindedKeyPair, CryptoError,
};
use crate::ids::{IdPrefix, SessionId};

/// Version byte at the front of blinded DM data.
pub const BLINDED_DM_VERSION: u8 = 0x00;
const NONCE: usize = 24;
const TAG: usize = 16;

/// Our key material for one conversation with `other` (whose prefix, 15 or 25, decides ours).
struct OurKeys {
    /// Scalar for the shared point: `a` (15) or the blinded scalar `k'a` (25).
    dh_scalar: Zeroizing<Scalar>,
    /// Our blinded id with the same prefix as `other`.
    blinded: SessionId,
    /// Our real Ed25519 key.
    ed25519: [u8; 32],
}

fn our_keys(
    ed_seed: &[u8; 32],
    other: &SessionId,
    server_pk: &[u8; 32],
) -> Result<OurKeys, CryptoError> {
    let seed = expand_seed(ed_seed);
    let (kp, dh_scalar) = match other.prefix() {
        IdPrefix::Blinded15 => {
            let kp = BlindedKeyPair::blind15(ed_seed, server_pk);
            (kp, seed.scalar.clone())
        }
        IdPrefix::Blinded25 => {
            let kp = BlindedKeyPair::blind25(ed_seed, server_pk);
            let s = Zeroizing::new(*kp.secret_scalar());
            (kp, s)
        }
        p @ (IdPrefix::Unblinded | IdPrefix::Session | IdPrefix::System) => {
            return Err(CryptoError::WrongPrefix {
                expected: "15 or 25",
                got: p.as_hex(),
            })
        }
    };
    Ok(OurKeys {
        dh_scalar,
        blinded: kp.session_id(),
        ed25519: seed.public,
    })
}

/// `BLAKE2b-32(scalar · other || sender || recipient)`.
fn shared_key(
    scalar: &Scalar,
    other: &SessionId,
    sender: &SessionId,
    recipient: &SessionId,
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    if !is_valid_ed25519_point(other.key()) {
        return Err(CryptoError::InvalidEd25519Key);
    }
    let point = CompressedEdwardsY(*other.key())
        .decompress()
        .ok_or(CryptoError::InvalidEd25519Key)?;
    let shared = scalar * point;
    if shared == EdwardsPoint::default() {
        return Err(CryptoError::IdentityPoint);
    }
    let shared = Zeroizing::new(shared.compress().to_bytes());
    Ok(Zeroizing::new(blake2b_32(&[
        &shared[..],
        sender.key(),
        recipient.key(),
    ])))
}

/// Encrypt `plaintext` (an already padded `Content` protobuf) for `recipient_blinded` (a `15…`
/// or `25…` id). The sender's blinded id is derived from `sender_ed_seed` with the recipient's
/// prefix. Returns the raw `data` (base64 it for the API's `message` field).
pub fn encrypt_blinded_dm(
    sender_ed_seed: &[u8; 32],
    recipient_blinded: &SessionId,
    server_pk: &[u8; 32],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE];
    OsRng.fill_bytes(&mut nonce);
    encrypt_blinded_dm_with_nonce(
        sender_ed_seed,
        recipient_blinded,
        server_pk,
        plaintext,
        &nonce,
    )
}

/// [`encrypt_blinded_dm`] with a given nonce (reproducible, for tests).
pub fn encrypt_blinded_dm_with_nonce(
    sender_ed_seed: &[u8; 32],
    recipient_blinded: &SessionId,
    server_pk: &[u8; 32],
    plaintext: &[u8],
    nonce: &[u8; NONCE],
) -> Result<Vec<u8>, CryptoError> {
    let us = our_keys(sender_ed_seed, recipient_blinded, server_pk)?;
    let key = shared_key(
        &us.dh_scalar,
        recipient_blinded,
        &us.blinded,
        recipient_blinded,
    )?;
    let mut inner = Zeroizing::new(Vec::with_capacity(plaintext.len() + 32));
    inner.extend_from_slice(plaintext);
    inner.extend_from_slice(&us.ed25519);
    let ct = XChaCha20Poly1305::new(&(*key).into())
        .encrypt(&(*nonce).into(), inner.as_slice())
        .map_err(|_| CryptoError::EncryptionFailed)?;
    let mut out = Vec::with_capacity(1 + ct.len() + NONCE);
    out.push(BLINDED_DM_VERSION);
    out.extend_from_slice(&ct);
    out.extend_from_slice(nonce);
    Ok(out)
}

/// Decrypt blinded DM `data` exchanged with `other_blinded`.
///
/// `we_are_sender` is true for outbox items (we sent it to `other_blinded`) and false for
/// inbox items (`other_blinded` sent it to us). Checks that the Ed25519 key embedded in the
/// message blinds exactly to the sender's id, and returns `(message, sender Ed25519 key)`;
/// the sender's Session ID is [`crate::blinding::session_id_from_ed25519`] of that key.
pub fn decrypt_blinded_dm(
    our_ed_seed: &[u8; 32],
    other_blinded: &SessionId,
    server_pk: &[u8; 32],
    data: &[u8],
    we_are_sender: bool,
) -> Result<(Vec<u8>, [u8; 32]), CryptoError> {
    let us = our_keys(our_ed_seed, other_blinded, server_pk)?;
    let (sender, recipient) = if we_are_sender {
        (&us.blinded, other_blinded)
    } else {
        (other_blinded, &us.blinded)
    };
    let key = shared_key(&us.dh_scalar, other_blinded, sender, recipient)?;

    let (version, rest) = data.split_first().ok_or(CryptoError::DecryptionFailed)?;
    if *version != BLINDED_DM_VERSION {
        return Err(CryptoError::DecryptionFailed);
    }
    let ct_len = rest
        .len()
        .checked_sub(NONCE)
        .filter(|&n| n >= TAG + 32)
        .ok_or(CryptoError::DecryptionFailed)?;
    let (ct, nonce) = rest
        .split_at_checked(ct_len)
        .ok_or(CryptoError::DecryptionFailed)?;
    let nonce: [u8; NONCE] = nonce
        .try_into()
        .map_err(|_| CryptoError::DecryptionFailed)?;
    let mut inner = XChaCha20Poly1305::new(&(*key).into())
        .decrypt(&nonce.into(), ct)
        .map_err(|_| CryptoError::DecryptionFailed)?;

    let msg_len = inner
        .len()
        .checked_sub(32)
        .ok_or(CryptoError::DecryptionFailed)?;
    let sender_ed: [u8; 32] = inner
        .get(msg_len..)
        .and_then(|s| s.try_into().ok())
        .ok_or(CryptoError::DecryptionFailed)?;
    inner.truncate(msg_len);

    let derived = match sender.prefix() {
        IdPrefix::Blinded25 => blind25_id_from_ed25519(&sender_ed, server_pk),
        _ => blind15_id_from_ed25519(&sender_ed, server_pk),
    }
    .map_err(|_| CryptoError::SenderMismatch)?;
    if derived != *sender {
        return Err(CryptoError::SenderMismatch);
    }
    Ok((inner, sender_ed))
}
