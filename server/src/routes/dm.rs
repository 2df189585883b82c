//! Direct messages between blinded ids (PROTOCOL.md §8.7). The server stores opaque,
//! client-encrypted blobs; it only checks who may send and how often.

use super::Ctx;
use crate::db::inbox::{DmRow, Mailbox};
use crate::error::{ApiError, ApiResult};
use crate::http::{Response, TEXT};
use crate::limits::Action;
use serde::{Deserialize, Serialize};
use sogs_client::encoding::{b64_decode, b64_encode};
use utoipa::ToSchema;

/// A direct message.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectMessage {
    pub id: i64,
    pub posted_at: f64,
    pub expires_at: f64,
    /// The sender's id (`15…` when blinding is in use).
    pub sender: String,
    pub recipient: String,
    /// Base64 of the encrypted body; left out of the send response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl DirectMessage {
    fn from_row(row: DmRow, with_body: bool) -> Self {
        Self {
            id: row.id,
            posted_at: row.posted_at,
            expires_at: row.expiry,
            sender: row.sender,
            recipient: row.recipient,
            message: with_body.then(|| b64_encode(&row.body)),
        }
    }
}

/// Body of a DM send. Extra fields the apps send (`timestamp`, `signature`) are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SendDm {
    /// Base64 of the encrypted message.
    pub message: Option<String>,
}

/// Send a DM to a blinded id. The recipient must have used this server before and not be
/// banned; senders banned globally or in any room are refused, and senders are rate limited.
#[utoipa::path(post, path = "/inbox/{blinded_id}", tag = "dm",
    params(("blinded_id" = String, Path, description = "Recipient's 15… id")), request_body = SendDm,
    responses((status = 201, description = "The stored DM without `message`", body = DirectMessage),
        (status = 400, description = "`message` missing or not base64"),
        (status = 403, description = "Sender banned (globally or in a room), or the recipient's room accepts DMs from members only"),
        (status = 404, description = "Unknown or banned recipient"), (status = 429, description = "Rate limited")))]
pub async fn send(ctx: &Ctx<'_>, recipient: &str) -> ApiResult<Response> {
    let user = ctx.require_user()?;
    let body: SendDm = ctx.json()?;
    let data = body
        .message
        .as_deref()
        .and_then(b64_decode)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ApiError::bad_request("'message' must be non-empty base64"))?;
    let db = &ctx.st.db;
    if db.banned_in_any_room(user.id).await? {
        tracing::debug!(sender = %user.session_id, "DM refused: sender is banned in a room");
        return Err(ApiError::forbidden(
            "Banned users cannot send direct messages",
        ));
    }
    let to = db
        .user_by_session_id(&recipient.to_ascii_lowercase())
        .await?
        .filter(|u| !u.banned)
        .ok_or(ApiError::NotFound)?;
    if db.dm_refused_by_room(user.id, to.id).await? {
        return Err(ApiError::forbidden(
            "The recipient accepts direct messages only from members of their community",
        ));
    }
    if let Some((count, per)) = ctx.st.config.dm_rate_limit {
        ctx.rate_limit(Action::DirectMessage, user.id, count, per as f64)?;
    }
    let now = ctx.st.now();
    let row = db
        .insert_dm(
            user.id,
            to.id,
            &data,
            now,
            now + ctx.st.config.dm_expiry_secs,
        )
        .await?;
    Ok(Response::json(201, &DirectMessage::from_row(row, false)))
}

async fn list(ctx: &Ctx<'_>, mailbox: Mailbox, since: Option<i64>) -> ApiResult<Response> {
    let user = ctx.require_blinded()?;
    let limit = ctx.list_limit()?;
    let rows = ctx
        .st
        .db
        .dms(user.id, mailbox, since.unwrap_or(0), limit, ctx.st.now())
        .await?;
    if since.is_some() && rows.is_empty() {
        return Ok(Response::new(304, TEXT, ""));
    }
    let msgs: Vec<DirectMessage> = rows
        .into_iter()
        .map(|r| DirectMessage::from_row(r, true))
        .collect();
    Ok(Response::json(200, &msgs))
}

/// Your received DMs, oldest first.
#[utoipa::path(get, path = "/inbox", tag = "dm",
    params(("limit" = Option<i64>, Query, description = "1–256, default 100")),
    responses((status = 200, body = [DirectMessage]), (status = 401, description = "Not authenticated with a blinded id")))]
pub async fn inbox(ctx: &Ctx<'_>) -> ApiResult<Response> {
    list(ctx, Mailbox::Inbox, None).await
}

/// Received DMs with ids above `{id}`; 304 (empty body) when there are none.
#[utoipa::path(get, path = "/inbox/since/{id}", tag = "dm",
    params(("id" = i64, Path), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = [DirectMessage]), (status = 304, description = "Nothing new"),
        (status = 401, description = "Not authenticated with a blinded id")))]
pub async fn inbox_since(ctx: &Ctx<'_>, id: i64) -> ApiResult<Response> {
    list(ctx, Mailbox::Inbox, Some(id)).await
}

/// Your sent DMs, oldest first.
#[utoipa::path(get, path = "/outbox", tag = "dm",
    params(("limit" = Option<i64>, Query, description = "1–256, default 100")),
    responses((status = 200, body = [DirectMessage]), (status = 401, description = "Not authenticated with a blinded id")))]
pub async fn outbox(ctx: &Ctx<'_>) -> ApiResult<Response> {
    list(ctx, Mailbox::Outbox, None).await
}

/// Sent DMs with ids above `{id}`; 304 (empty body) when there are none.
#[utoipa::path(get, path = "/outbox/since/{id}", tag = "dm",
    params(("id" = i64, Path), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = [DirectMessage]), (status = 304, description = "Nothing new"),
        (status = 401, description = "Not authenticated with a blinded id")))]
pub async fn outbox_since(ctx: &Ctx<'_>, id: i64) -> ApiResult<Response> {
    list(ctx, Mailbox::Outbox, Some(id)).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub deleted: u64,
}

/// Delete every DM you received.
#[utoipa::path(delete, path = "/inbox", tag = "dm",
    responses((status = 200, body = Deleted), (status = 401, description = "Not authenticated with a blinded id")))]
pub async fn clear_inbox(ctx: &Ctx<'_>) -> ApiResult<Response> {
    let user = ctx.require_blinded()?;
    let deleted = ctx.st.db.delete_inbox(user.id).await?;
    Ok(Response::json(200, &Deleted { deleted }))
}
