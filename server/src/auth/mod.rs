//! X-SOGS-* request authentication (PROTOCOL.md §4), in pysogs' order and with its texts.
//! Parsing of untrusted header bytes uses checked accessors only.
#![deny(clippy::indexing_slicing)]

use crate::db::users::UserRow;
use crate::error::ApiError;
use crate::http::Request;
use crate::state::AppState;
use sogs_client::blinding::{
    blind15_abs, is_valid_ed25519_point, session_id_from_ed25519, verify_ed25519,
};
use sogs_client::encoding::decode_binary_header;
use sogs_client::ids::{IdPrefix, SessionId};
use sogs_client::signing::{body_hash, signed_message};

/// Accepted clock difference between client and server.
pub const TIMESTAMP_WINDOW_SECS: f64 = 86_400.0;
/// How long a nonce is remembered: twice the window, so no replay fits inside it.
pub const NONCE_MEMORY_SECS: f64 = 2.0 * TIMESTAMP_WINDOW_SECS;

const HEADERS: [&str; 4] = [
    "x-sogs-pubkey",
    "x-sogs-timestamp",
    "x-sogs-nonce",
    "x-sogs-signature",
];

fn bad(msg: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid authentication: {msg}"))
}

/// The parsed, not yet verified, authentication headers.
struct Claim {
    /// The key the signature is checked with.
    ed_key: [u8; 32],
    /// The user this request acts as (15/25 id, or 05 for an unblinded key).
    session_id: SessionId,
    timestamp: String,
    timestamp_secs: f64,
    nonce: [u8; 16],
    signature: [u8; 64],
}

fn parse_claim(req: &Request, require_blind: bool) -> Result<Option<Claim>, ApiError> {
    let values: Vec<Option<&str>> = HEADERS
        .iter()
        .map(|h| req.header(h).filter(|v| !v.is_empty()))
        .collect();
    let missing = values.iter().filter(|v| v.is_none()).count();
    if missing == HEADERS.len() {
        return Ok(None);
    }
    let [Some(pubkey), Some(ts), Some(nonce), Some(sig)] = values[..] else {
        return Err(ApiError::bad_request(format!(
            "Invalid authentication headers: missing {missing}/4 required X-SOGS-* headers"
        )));
    };

    let raw: [u8; 33] = decode_binary_header::<33>(pubkey)
        .ok_or_else(|| bad("X-SOGS-Pubkey is not a valid 66-hex digit id"))?;
    let (prefix, key) = raw
        .split_first()
        .ok_or_else(|| bad("X-SOGS-Pubkey is not a valid 66-hex digit id"))?;
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| bad("X-SOGS-Pubkey is not a valid 66-hex digit id"))?;
    let prefix = match prefix {
        0x00 => IdPrefix::Unblinded,
        0x15 => IdPrefix::Blinded15,
        0x25 => IdPrefix::Blinded25,
        _ => return Err(bad("X-SOGS-Pubkey must be 00- or 15- prefixed")),
    };
    if !is_valid_ed25519_point(&key) {
        return Err(bad("given X-SOGS-Pubkey is not a valid Ed25519 pubkey"));
    }
    let session_id = if prefix == IdPrefix::Unblinded {
        if require_blind {
            return Err(bad("this server requires the use of blinded ids"));
        }
        session_id_from_ed25519(&key)
            .map_err(|_| bad("given X-SOGS-Pubkey is not a valid Ed25519 pubkey"))?
    } else {
        SessionId::new(prefix, key)
    };
    let nonce = decode_binary_header::<16>(nonce)
        .ok_or_else(|| bad("X-SOGS-Nonce must be 16 bytes (encoded as base64 or hex)"))?;
    let signature =
        decode_binary_header::<64>(sig).ok_or_else(|| bad("X-SOGS-Signature is not base64[88]"))?;
    let timestamp_secs =
        ts.parse::<i64>()
            .map_err(|_| bad("X-SOGS-Timestamp is not a valid timestamp"))? as f64;
    Ok(Some(Claim {
        ed_key: key,
        session_id,
        timestamp: ts.to_owned(),
        timestamp_secs,
        nonce,
        signature,
    }))
}

/// An authenticated caller: the user row and the Ed25519 key the request was signed with
/// (the `00` key of an unblinded caller, whose row holds the derived `05` id).
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: UserRow,
    pub signing_key: [u8; 32],
}

/// Authenticates a request from its own headers. `Ok(None)` = anonymous.
pub async fn authenticate(st: &AppState, req: &Request) -> Result<Option<Caller>, ApiError> {
    let Some(claim) = parse_claim(req, st.config.require_blind_keys)? else {
        return Ok(None);
    };
    let now = st.now();
    if (now - claim.timestamp_secs).abs() > TIMESTAMP_WINDOW_SECS {
        return Err(ApiError::TooEarly(
            "Invalid authentication: X-SOGS-Timestamp is too far from current time".into(),
        ));
    }
    let session_id = claim.session_id.to_string();
    if st
        .db
        .user_by_session_id(&session_id)
        .await?
        .is_some_and(|u| u.banned)
    {
        return Err(ApiError::forbidden("Banned"));
    }
    let hash = match (&req.body_hash, req.body.is_empty()) {
        (Some(h), _) => Some(*h),
        (None, true) => None,
        (None, false) => match &req.body {
            crate::http::Body::Memory(b) => Some(body_hash(b)),
            crate::http::Body::File { .. } => {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "spooled body without a precomputed hash"
                )))
            }
        },
    };
    let msg = signed_message(
        st.keys.public(),
        &claim.nonce,
        &claim.timestamp,
        req.method.as_str(),
        &req.signing_path(),
        hash.as_ref(),
    );
    if !verify_ed25519(&claim.ed_key, &msg, &claim.signature) {
        return Err(ApiError::unauthorized(
            "Invalid authentication: X-SOGS-Signature verification failed",
        ));
    }
    if !st
        .db
        .use_nonce(&claim.nonce, now + NONCE_MEMORY_SECS)
        .await?
    {
        return Err(ApiError::TooEarly(
            "Invalid authentication: X-SOGS-Nonce cannot be reused".into(),
        ));
    }
    let pending = (claim.session_id.prefix() == IdPrefix::Blinded15)
        .then(|| blind15_abs(&claim.session_id).to_string());
    let user = st
        .db
        .ensure_user(&session_id, now, true, pending.as_deref())
        .await?;
    if user.banned {
        return Err(ApiError::forbidden("Banned"));
    }
    Ok(Some(Caller {
        user,
        signing_key: claim.ed_key,
    }))
}
