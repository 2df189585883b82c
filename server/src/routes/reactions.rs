//! Reactions on messages (PROTOCOL.md §8.4). Each add or removal bumps the message's
//! seqno, so pollers see it as a reaction-only update (`since?t=r`).

use super::{Ctx, Need};
use crate::db::reactions::{ReactionChange, ReactionError, ReactionResult};
use crate::db::rooms::RoomRow;
use crate::db::users::UserRow;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use serde::Serialize;
use utoipa::ToSchema;

/// A reaction is 1–12 Unicode code points.
pub const MAX_REACTION_CHARS: usize = 12;
/// At most this many different reactions on one message; adding a new kind beyond it is
/// refused with 400 (existing kinds can still be added to). Not in pysogs: it bounds the size
/// of every message object that pollers download.
pub const MAX_DISTINCT_REACTIONS: i64 = 64;

#[derive(Debug, Serialize, ToSchema)]
pub struct Added {
    /// False if the caller already had this reaction.
    pub added: bool,
    /// The message's seqno after the call.
    pub seqno: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Removed {
    /// Whether the caller had this reaction.
    pub removed: bool,
    pub seqno: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cleared {
    /// How many individual user reactions were removed.
    pub removed: u64,
    pub seqno: i64,
}

/// Checks a reaction from the path (already percent-decoded).
fn reaction(r: &str) -> ApiResult<&str> {
    let n = r.chars().count();
    // NUL cannot be stored in a PostgreSQL text column; no emoji contains it.
    if (1..=MAX_REACTION_CHARS).contains(&n) && !r.contains('\0') {
        Ok(r)
    } else {
        Err(ApiError::bad_request(format!(
            "A reaction must be 1 to {MAX_REACTION_CHARS} characters"
        )))
    }
}

fn outcome(r: ReactionResult) -> ApiResult<ReactionChange> {
    r.map_err(|e| match e {
        ReactionError::NotFound => ApiError::NotFound,
        ReactionError::TooManyReactions => ApiError::bad_request(format!(
            "A message can carry at most {MAX_DISTINCT_REACTIONS} different reactions"
        )),
    })
}

/// The caller and room of a change to the caller's own reaction, and the checked reaction.
async fn own_reaction<'c, 'r>(
    ctx: &'c Ctx<'_>,
    token: &str,
    r: &'r str,
) -> ApiResult<(&'c UserRow, RoomRow, &'r str)> {
    let user = ctx.require_user()?;
    let (room, _) = ctx.room(token, Need::Read).await?;
    Ok((user, room, reaction(r)?))
}

/// Add your reaction to a message. The body is ignored (none or `{}`).
#[utoipa::path(put, path = "/room/{token}/reaction/{id}/{reaction}", tag = "reactions",
    params(("token" = String, Path), ("id" = i64, Path),
        ("reaction" = String, Path, description = "1–12 code points, raw UTF-8 or percent-encoded; the rest of the path")),
    responses((status = 200, body = Added), (status = 400, description = "Bad reaction, or too many different reactions on the message"),
        (status = 403, description = "No read permission"), (status = 404, description = "No such regular message in this room")))]
pub async fn add(ctx: &Ctx<'_>, token: &str, id: i64, r: &str) -> ApiResult<Response> {
    let (user, room, r) = own_reaction(ctx, token, r).await?;
    let now = ctx.st.now();
    let res = ctx
        .st
        .db
        .add_reaction(room.id, id, user.id, r, now, MAX_DISTINCT_REACTIONS)
        .await?;
    let c = outcome(res)?;
    Ok(Response::json(
        200,
        &Added {
            added: c.changed > 0,
            seqno: c.seqno,
        },
    ))
}

/// Remove your reaction from a message.
#[utoipa::path(delete, path = "/room/{token}/reaction/{id}/{reaction}", tag = "reactions",
    params(("token" = String, Path), ("id" = i64, Path), ("reaction" = String, Path)),
    responses((status = 200, body = Removed), (status = 400, description = "Bad reaction"),
        (status = 403, description = "No read permission"), (status = 404, description = "No such regular message in this room")))]
pub async fn remove(ctx: &Ctx<'_>, token: &str, id: i64, r: &str) -> ApiResult<Response> {
    let (user, room, r) = own_reaction(ctx, token, r).await?;
    let res = ctx
        .st
        .db
        .remove_reactions(room.id, id, Some(user.id), Some(r))
        .await?;
    let c = outcome(res)?;
    Ok(Response::json(
        200,
        &Removed {
            removed: c.changed > 0,
            seqno: c.seqno,
        },
    ))
}

/// Remove everybody's reactions of one kind, or all reactions (moderators).
#[utoipa::path(delete, path = "/room/{token}/reactions/{id}/{reaction}", tag = "reactions",
    params(("token" = String, Path), ("id" = i64, Path),
        ("reaction" = String, Path, description = "Leave out (`/reactions/{id}`) to remove every reaction")),
    responses((status = 200, body = Cleared), (status = 403, description = "Not a moderator"),
        (status = 404, description = "No such regular message in this room")))]
pub async fn clear(ctx: &Ctx<'_>, token: &str, id: i64, r: Option<&str>) -> ApiResult<Response> {
    let (room, _) = ctx.room(token, Need::Moderator).await?;
    let r = r.map(reaction).transpose()?;
    let c = outcome(ctx.st.db.remove_reactions(room.id, id, None, r).await?)?;
    if c.changed > 0 {
        tracing::info!(room = %room.token, message = id, removed = c.changed, "reactions cleared");
    }
    Ok(Response::json(
        200,
        &Cleared {
            removed: c.changed,
            seqno: c.seqno,
        },
    ))
}

/// Who reacted with a reaction: `[[session_id, at], …]`, oldest first.
#[utoipa::path(get, path = "/room/{token}/reactors/{id}/{reaction}", tag = "reactions",
    params(("token" = String, Path), ("id" = i64, Path), ("reaction" = String, Path),
        ("limit" = Option<i64>, Query, description = "≤ 0 or absent: no limit")),
    responses((status = 200, description = "`[[session_id, at], …]`", body = [(String, f64)]),
        (status = 403, description = "No read permission"), (status = 404, description = "No such regular message in this room")))]
pub async fn reactors(ctx: &Ctx<'_>, token: &str, id: i64, r: &str) -> ApiResult<Response> {
    let (room, _) = ctx.room(token, Need::Read).await?;
    let r = reaction(r)?;
    let limit = ctx.int_query("limit")?.filter(|n| *n > 0);
    super::messages::regular_message(ctx, &room, id).await?;
    let list = ctx.st.db.reaction_reactors(id, r, limit).await?;
    Ok(Response::json(200, &list))
}

/// Remove every reaction from a message (moderators).
#[utoipa::path(delete, path = "/room/{token}/reactions/{id}", tag = "reactions",
    params(("token" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Cleared), (status = 403, description = "Not a moderator"),
        (status = 404, description = "No such regular message in this room")))]
pub async fn clear_all_doc() {}
