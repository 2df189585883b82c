//! Messages: polling, retrieval, posting (with content filters and probation), editing,
//! deleting and pinning.

use super::{Ctx, Need};
use crate::db::messages::{MessageRow, NewMessage, Viewer};
use crate::db::rooms::RoomRow;
use crate::db::users::UserRow;
use crate::domain::filter::{self, FilterMode, PostText, RoomFilters};
use crate::domain::message::{group_reactions, Message};
use crate::domain::perms::Permissions;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::limits::{post_limit, Action};
use serde::Deserialize;
use sogs_client::blinding::{verify_ed25519, verify_message_signature};
use sogs_client::encoding::b64_decode;
use sogs_client::ids::SessionId;
use utoipa::ToSchema;

const REACTORS_DEFAULT: i64 = 4;
const REACTORS_MAX: i64 = 20;

fn viewer(ctx: &Ctx<'_>, perms: &Permissions) -> Viewer {
    Viewer {
        user: ctx.viewer_id(),
        moderator: perms.moderator,
    }
}

fn reactors(ctx: &Ctx<'_>) -> ApiResult<usize> {
    let n = ctx
        .int_query("reactors")?
        .unwrap_or(REACTORS_DEFAULT)
        .clamp(0, REACTORS_MAX);
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Turns rows into message objects with their reactions. With `since = Some(S)` (a `t=r`
/// poll), rows whose only change after S is a reaction become reaction-only updates.
async fn render(
    ctx: &Ctx<'_>,
    rows: Vec<MessageRow>,
    reactors: usize,
    reaction_updates_since: Option<i64>,
) -> ApiResult<Vec<Message>> {
    let ids: Vec<i64> = rows
        .iter()
        .filter(|r| !r.is_deleted())
        .map(|r| r.id)
        .collect();
    let mut reactions = group_reactions(
        ctx.st.db.reactors_of(&ids).await?,
        ctx.viewer_id(),
        reactors,
    );
    Ok(rows
        .into_iter()
        .map(|row| {
            let r = reactions.remove(&row.id);
            match reaction_updates_since {
                Some(s) if s > 0 && row.seqno_reactions > s && s >= row.seqno_data => {
                    Message::reactions_only(&row, r)
                }
                _ => Message::full(row, r),
            }
        })
        .collect())
}

/// Message `id` of `room` unless it is missing or deleted (404).
async fn live_message(ctx: &Ctx<'_>, room: &RoomRow, id: i64) -> ApiResult<MessageRow> {
    ctx.st
        .db
        .message_by_id(id)
        .await?
        .filter(|m| m.room == room.id && !m.is_deleted())
        .ok_or(ApiError::NotFound)
}

/// Message `id` of `room` if it is a regular message (see [`MessageRow::is_regular`]); 404
/// otherwise.
pub(crate) async fn regular_message(
    ctx: &Ctx<'_>,
    room: &RoomRow,
    id: i64,
) -> ApiResult<MessageRow> {
    let msg = live_message(ctx, room, id).await?;
    if msg.is_regular() {
        Ok(msg)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Whether a viewer may see a (non-filtered) message under the whisper rules.
fn can_see(row: &MessageRow, ctx: &Ctx<'_>, perms: &Permissions) -> bool {
    if row.filtered {
        return false;
    }
    if !row.is_whisper() {
        return true;
    }
    let me = ctx.user.as_ref();
    let to_me = me.is_some_and(|u| row.whisper_to.as_deref() == Some(u.session_id.as_str()));
    to_me || (perms.moderator && (row.whisper_mods || me.is_some_and(|u| u.id == row.author)))
}

/// Poll for message updates after a sequence number, oldest first.
#[utoipa::path(get, path = "/room/{token}/messages/since/{seqno}", tag = "messages",
    params(("token" = String, Path), ("seqno" = i64, Path),
        ("limit" = Option<i64>, Query, description = "1–256, default 100"),
        ("t" = Option<String>, Query, description = "`r` includes reaction-only updates"),
        ("reactors" = Option<i64>, Query, description = "0–20, default 4")),
    responses((status = 200, body = [Message]), (status = 403, description = "No read permission")))]
pub async fn since(ctx: &Ctx<'_>, token: &str, seqno: i64) -> ApiResult<Response> {
    let (room, perms) = ctx.room(token, Need::Read).await?;
    ctx.touch_room(&room).await?;
    let with_r = ctx.req.query_param("t").is_some_and(|t| t.contains('r'));
    let (limit, reactors) = (ctx.list_limit()?, reactors(ctx)?);
    let rows = ctx
        .st
        .db
        .messages_since(room.id, seqno, with_r, viewer(ctx, &perms), limit)
        .await?;
    let msgs = render(ctx, rows, reactors, with_r.then_some(seqno)).await?;
    Ok(Response::json(200, &msgs))
}

/// The newest messages, newest first.
#[utoipa::path(get, path = "/room/{token}/messages/recent", tag = "messages",
    params(("token" = String, Path), ("limit" = Option<i64>, Query), ("reactors" = Option<i64>, Query)),
    responses((status = 200, body = [Message])))]
pub async fn recent(ctx: &Ctx<'_>, token: &str) -> ApiResult<Response> {
    list_before(ctx, token, None).await
}

/// Messages older than a message id, newest first.
#[utoipa::path(get, path = "/room/{token}/messages/before/{id}", tag = "messages",
    params(("token" = String, Path), ("id" = i64, Path), ("limit" = Option<i64>, Query), ("reactors" = Option<i64>, Query)),
    responses((status = 200, body = [Message])))]
pub async fn before(ctx: &Ctx<'_>, token: &str, id: i64) -> ApiResult<Response> {
    list_before(ctx, token, Some(id)).await
}

async fn list_before(ctx: &Ctx<'_>, token: &str, before: Option<i64>) -> ApiResult<Response> {
    let (room, perms) = ctx.room(token, Need::Read).await?;
    ctx.touch_room(&room).await?;
    let (limit, reactors) = (ctx.list_limit()?, reactors(ctx)?);
    let rows = ctx
        .st
        .db
        .messages_recent(room.id, before, viewer(ctx, &perms), limit)
        .await?;
    Ok(Response::json(
        200,
        &render(ctx, rows, reactors, None).await?,
    ))
}

/// One message.
#[utoipa::path(get, path = "/room/{token}/message/{id}", tag = "messages",
    params(("token" = String, Path), ("id" = i64, Path), ("reactors" = Option<i64>, Query)),
    responses((status = 200, body = Message), (status = 404, description = "Missing, deleted or not visible")))]
pub async fn get_message(ctx: &Ctx<'_>, token: &str, id: i64) -> ApiResult<Response> {
    let (room, perms) = ctx.room(token, Need::Read).await?;
    ctx.touch_room(&room).await?;
    let row = live_message(ctx, &room, id).await?;
    if !can_see(&row, ctx, &perms) {
        return Err(ApiError::NotFound);
    }
    let mut msgs = render(ctx, vec![row], reactors(ctx)?, None).await?;
    let msg = msgs.pop().ok_or(ApiError::NotFound)?;
    Ok(Response::json(200, &msg))
}

/// Body of a post or an edit.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PostBody {
    /// Base64 of the padded Session protobuf.
    pub data: Option<String>,
    /// Base64 of the 64-byte signature of `data`.
    pub signature: Option<String>,
    pub whisper_to: Option<String>,
    pub whisper_mods: Option<bool>,
    /// Upload ids to attach, as numbers or decimal strings.
    #[schema(value_type = Option<Vec<i64>>)]
    pub files: Option<Vec<serde_json::Value>>,
}

impl PostBody {
    /// The decoded data and signature, verified against the key the request was signed
    /// with (what an unblinded `00` caller signs with; its `05` id does not carry the key's
    /// sign bit), else against the author's id as the apps verify it.
    fn content(
        &self,
        author: &str,
        signing_key: Option<[u8; 32]>,
    ) -> ApiResult<(Vec<u8>, [u8; 64])> {
        let data = self
            .data
            .as_deref()
            .and_then(b64_decode)
            .ok_or_else(|| ApiError::bad_request("'data' must be base64"))?;
        let signature: [u8; 64] = self
            .signature
            .as_deref()
            .and_then(b64_decode)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| ApiError::bad_request("'signature' must be 64 bytes of base64"))?;
        let author = SessionId::parse(author)
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("stored user id is not an id")))?;
        let by_key = signing_key.is_some_and(|k| verify_ed25519(&k, &data, &signature));
        if !by_key && !verify_message_signature(&author, &data, &signature) {
            return Err(ApiError::bad_request(
                "message signature verification failed",
            ));
        }
        Ok((data, signature))
    }

    /// The attachment ids: numbers or decimal strings.
    pub fn file_ids(&self) -> ApiResult<Vec<i64>> {
        self.files
            .iter()
            .flatten()
            .map(|v| match v {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => s.parse().ok(),
                _ => None,
            })
            .map(|id| id.ok_or_else(|| ApiError::bad_request("'files' must be a list of ids")))
            .collect()
    }
}

/// At most this many ids of a post's `files` are considered (the rest are ignored, like any
/// id that does not qualify); it bounds the size of the attaching statement.
const MAX_ATTACHMENTS: usize = 100;

/// Attaches the caller's recent uploads to a message (PROTOCOL.md §8.5); files that do not
/// qualify are silently ignored. Attached files expire after the configured upload expiry.
async fn attach_files(
    ctx: &Ctx<'_>,
    room: i64,
    user: i64,
    message: i64,
    files: &[i64],
    now: f64,
) -> ApiResult<()> {
    let files = files.get(..MAX_ATTACHMENTS).unwrap_or(files);
    if !files.is_empty() {
        let expiry = ctx.st.config.upload_expiry_secs.map(|secs| now + secs);
        ctx.st
            .db
            .attach_files(room, user, message, files, now, expiry)
            .await?;
    }
    Ok(())
}

/// Post a message. Returns the stored message object.
#[utoipa::path(post, path = "/room/{token}/message", tag = "messages",
    params(("token" = String, Path)), request_body = PostBody,
    responses((status = 201, body = Message), (status = 400, description = "Bad data or signature"),
        (status = 403, description = "No write permission"), (status = 429, description = "Rate limited")))]
pub async fn post_message(ctx: &Ctx<'_>, token: &str) -> ApiResult<Response> {
    let user = ctx.require_user()?;
    let (room, perms) = ctx.room(token, Need::Write).await?;
    let body: PostBody = ctx.json()?;
    let (data, signature) = body.content(&user.session_id, ctx.signing_key)?;
    let whisper_mods = body.whisper_mods.unwrap_or(false);
    let whisper_to = match body.whisper_to.as_deref() {
        None => None,
        Some(target) => {
            let id = SessionId::parse(target)
                .map_err(|_| ApiError::bad_request("'whisper_to' is not a session id"))?;
            Some(id)
        }
    };
    if (whisper_mods || whisper_to.is_some()) && !perms.moderator {
        return Err(ApiError::forbidden("Only moderators may send whispers"));
    }
    let files = body.file_ids()?;
    let filtered = screen_content(ctx, &room, &perms, user, &data).await?;
    if !perms.admin {
        let (count, per) = post_limit(room.rate_limit_posts, room.rate_limit_interval);
        ctx.rate_limit(Action::Post(room.id), user.id, count, per)?;
    }
    let now = ctx.st.now();
    let whisper_to = match whisper_to {
        Some(id) => Some(
            ctx.st
                .db
                .ensure_user(&id.to_string(), now, false, None)
                .await?
                .id,
        ),
        None => None,
    };
    let row = ctx
        .st
        .db
        .insert_message(&NewMessage {
            room: room.id,
            author: user.id,
            data: &data,
            signature: &signature,
            whisper_to,
            whisper_mods,
            filtered,
            now,
        })
        .await?;
    attach_files(ctx, room.id, user.id, row.id, &files, now).await?;
    let mut msg = Message::full(row, None);
    msg.filtered = filtered.then_some(true);
    Ok(Response::json(201, &msg))
}

/// Edit your own message.
#[utoipa::path(put, path = "/room/{token}/message/{id}", tag = "messages",
    params(("token" = String, Path), ("id" = i64, Path)), request_body = PostBody,
    responses((status = 200, description = "`{}`"), (status = 403, description = "Not the author or no write permission"),
        (status = 404, description = "No such message")))]
pub async fn edit_message(ctx: &Ctx<'_>, token: &str, id: i64) -> ApiResult<Response> {
    let user = ctx.require_user()?;
    let (room, perms) = ctx.room(token, Need::Write).await?;
    let body: PostBody = ctx.json()?;
    let msg = live_message(ctx, &room, id).await?;
    if msg.author != user.id {
        return Err(ApiError::forbidden("Only the author may edit a message"));
    }
    let (data, signature) = body.content(&user.session_id, ctx.signing_key)?;
    let files = body.file_ids()?;
    if screen_content(ctx, &room, &perms, user, &data).await? {
        // Silently filtered: nothing changes, and the author is not told.
        return Ok(Response::empty_object());
    }
    let now = ctx.st.now();
    ctx.st.db.edit_message(&msg, &data, &signature, now).await?;
    attach_files(ctx, room.id, user.id, msg.id, &files, now).await?;
    Ok(Response::empty_object())
}

/// Delete a message: your own, or anyone's as a moderator.
#[utoipa::path(delete, path = "/room/{token}/message/{id}", tag = "messages",
    params(("token" = String, Path), ("id" = i64, Path)),
    responses((status = 200, description = "`{}`"), (status = 403, description = "Not allowed"),
        (status = 404, description = "No such message")))]
pub async fn delete_message(ctx: &Ctx<'_>, token: &str, id: i64) -> ApiResult<Response> {
    let user = ctx.require_user()?;
    let (room, perms) = ctx.room(token, Need::Write).await?;
    let msg = live_message(ctx, &room, id).await?;
    if msg.author != user.id && !perms.moderator {
        return Err(ApiError::forbidden("You may only delete your own messages"));
    }
    ctx.st.db.delete_messages(&[msg.id], ctx.st.now()).await?;
    if msg.author != user.id {
        ctx.log_moderation(
            "delete",
            Some(&room.token),
            Some(&msg.session_id),
            Some(format!("message {}", msg.id)),
        )
        .await?;
    }
    Ok(Response::empty_object())
}

/// Applies the room's probation and content filters to posted `data` (PROTOCOL.md §12.3):
/// 403 for a link during probation, 429 when a filter in reject mode catches it; `Ok(true)`
/// when a silent filter catches it (store it filtered, show it to nobody).
async fn screen_content(
    ctx: &Ctx<'_>,
    room: &RoomRow,
    perms: &Permissions,
    user: &UserRow,
    data: &[u8],
) -> ApiResult<bool> {
    let filters = RoomFilters::from_room(room);
    let probation = filters.probation().is_some() && !perms.moderator;
    let filtering = filter::applies_to(&filters, perms)
        && !(filters.words.is_empty() && filters.alphabets.is_empty());
    if !probation && !filtering {
        return Ok(false);
    }
    let Some(post) = PostText::decode(data) else {
        return Ok(false);
    };
    if probation {
        let first = ctx.st.db.first_post_at(room.id, user.id).await?;
        let now = ctx.st.now();
        if filter::probation_blocks_post(&filters, perms, first, now, &post) {
            tracing::debug!(room = %room.token, "link refused during probation");
            return Err(ApiError::forbidden(filter::PROBATION_LINK));
        }
    }
    if !filtering {
        return Ok(false);
    }
    match (filter::check(&filters, &post), filters.mode) {
        (None, _) => Ok(false),
        (Some(kind), FilterMode::Reject) => {
            tracing::debug!(room = %room.token, filter = kind.as_str(), "post rejected");
            Err(ApiError::ContentRejected(format!(
                "filtration rejected message ({})",
                kind.as_str()
            )))
        }
        (Some(kind), FilterMode::Silent) => {
            tracing::debug!(room = %room.token, filter = kind.as_str(), "post silently filtered");
            Ok(true)
        }
    }
}

/// For the upload route (files branch): 403 while the caller is on probation in the room.
pub async fn check_upload_probation(
    ctx: &Ctx<'_>,
    room: &RoomRow,
    perms: &Permissions,
    user: &UserRow,
) -> ApiResult<()> {
    if RoomFilters::from_room(room).probation().is_none() || perms.moderator {
        return Ok(());
    }
    let first = ctx.st.db.first_post_at(room.id, user.id).await?;
    if filter::probation_blocks_upload(room, perms, first, ctx.st.now()) {
        return Err(ApiError::forbidden(filter::PROBATION_UPLOAD));
    }
    Ok(())
}

/// The room for pin/unpin: admins only, 403 also for anonymous callers.
async fn admin_room(ctx: &Ctx<'_>, token: &str) -> ApiResult<(RoomRow, UserRow)> {
    let room = ctx.find_room(token).await?;
    let perms = ctx.perms(&room).await?;
    match &ctx.user {
        Some(u) if perms.admin => Ok((room, u.clone())),
        _ => Err(ApiError::forbidden(
            "This endpoint requires admin room permissions",
        )),
    }
}

/// Pin a message (or re-pin it, moving it to the end of the list). Admins only.
#[utoipa::path(post, path = "/room/{token}/pin/{id}", tag = "messages",
    params(("token" = String, Path), ("id" = i64, Path)),
    responses((status = 200, description = "`{\"info_updates\": n}`"), (status = 403, description = "Not an admin"),
        (status = 404, description = "Not a regular message of this room")))]
pub async fn pin(ctx: &Ctx<'_>, token: &str, id: i64) -> ApiResult<Response> {
    let (room, admin) = admin_room(ctx, token).await?;
    let msg = regular_message(ctx, &room, id).await?;
    let info = ctx
        .st
        .db
        .pin_message(room.id, msg.id, admin.id, ctx.st.now())
        .await?;
    ctx.log_moderation(
        "pin",
        Some(&room.token),
        Some(&msg.session_id),
        Some(format!("message {}", msg.id)),
    )
    .await?;
    Ok(Response::json(
        200,
        &serde_json::json!({ "info_updates": info }),
    ))
}

/// Unpins one message (`Some(id)`) or all of them as the room's admin and logs it when
/// anything was pinned. Returns how many were unpinned and the room's `info_updates`.
async fn unpin_messages(ctx: &Ctx<'_>, token: &str, message: Option<i64>) -> ApiResult<(u64, i64)> {
    let (room, _) = admin_room(ctx, token).await?;
    let expiry = ctx.st.config.upload_expiry_secs;
    let (n, info) = ctx.st.db.unpin(room.id, message, expiry).await?;
    if n > 0 {
        let detail = match message {
            Some(id) => format!("message {id}"),
            None => format!("all ({n} messages)"),
        };
        ctx.log_moderation("unpin", Some(&room.token), None, Some(detail))
            .await?;
    }
    Ok((n, info))
}

/// Unpin one message; an id that is not pinned gives `unpinned: false`. Admins only.
#[utoipa::path(post, path = "/room/{token}/unpin/{id}", tag = "messages",
    params(("token" = String, Path), ("id" = i64, Path)),
    responses((status = 200, description = "`{\"unpinned\": bool, \"info_updates\": n}`"), (status = 403, description = "Not an admin")))]
pub async fn unpin(ctx: &Ctx<'_>, token: &str, id: i64) -> ApiResult<Response> {
    let (n, info) = unpin_messages(ctx, token, Some(id)).await?;
    Ok(Response::json(
        200,
        &serde_json::json!({ "unpinned": n > 0, "info_updates": info }),
    ))
}

/// Unpin every pinned message of the room. Admins only.
#[utoipa::path(post, path = "/room/{token}/unpin/all", tag = "messages",
    params(("token" = String, Path)),
    responses((status = 200, description = "`{\"unpinned\": count, \"info_updates\": n}`"), (status = 403, description = "Not an admin")))]
pub async fn unpin_all(ctx: &Ctx<'_>, token: &str) -> ApiResult<Response> {
    let (n, info) = unpin_messages(ctx, token, None).await?;
    Ok(Response::json(
        200,
        &serde_json::json!({ "unpinned": n, "info_updates": info }),
    ))
}
