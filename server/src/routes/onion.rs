//! Onion-request endpoints (PROTOCOL.md §5.2–5.3). Thin: the decryption, decoding and
//! re-dispatch live in [`crate::onion`].

use super::Ctx;
use crate::error::ApiResult;
use crate::http::Response;
use crate::onion::{self, Version};

/// A v4 onion request: `N (u32 LE) || ciphertext || JSON {"ephemeral_key", "enc_type"}`.
///
/// The ciphertext (aes-gcm or xchacha20, keyed from the server's X25519 key and
/// `ephemeral_key`) holds a bencoded `[meta JSON, body]` request that is answered by the same
/// route table, auth and limits as a direct request. The reply is always HTTP 200 with the
/// raw encrypted bencoded `[{"code", "headers"}, body]`; a body that cannot be decrypted gets
/// a plain 400.
#[utoipa::path(post, path = "/oxen/v4/lsrpc", tag = "onion",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "4-byte little-endian length N, N bytes of ciphertext, then the JSON object"),
    responses(
        (status = 200, content_type = "application/octet-stream",
            description = "Encrypted bencoded reply; the real status is inside"),
        (status = 400, content_type = "text/plain", description = "Undecryptable or malformed onion request")))]
pub async fn lsrpc_v4(ctx: &Ctx<'_>) -> ApiResult<Response> {
    Ok(onion::handle(ctx.st, &ctx.req, Version::V4).await)
}

/// A legacy v3 onion request: like v4, but the plaintext is a JSON object
/// `{"endpoint", "method", "headers", "body"}` and the reply is base64 text of the encrypted
/// response body (or `{"status_code": N}` for a non-2xx answer).
#[utoipa::path(post, path = "/oxen/v3/lsrpc", tag = "onion",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 200, content_type = "text/plain", description = "Base64 of the encrypted reply"),
        (status = 400, content_type = "text/plain", description = "Undecryptable or malformed onion request")))]
pub async fn lsrpc_v3(ctx: &Ctx<'_>) -> ApiResult<Response> {
    Ok(onion::handle(ctx.st, &ctx.req, Version::V3).await)
}

/// The same legacy v3 onion endpoint under its older name.
#[utoipa::path(post, path = "/loki/v3/lsrpc", tag = "onion",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 200, content_type = "text/plain", description = "Base64 of the encrypted reply"),
        (status = 400, content_type = "text/plain", description = "Undecryptable or malformed onion request")))]
pub async fn lsrpc_v3_loki_doc() {}
