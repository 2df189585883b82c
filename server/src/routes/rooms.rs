//! Rooms: listing, room info and polling info, settings, per-user permissions and
//! scheduled changes, deleting all of a user's messages.

use super::{users, Ctx, Need};
use crate::db::rooms::RoomRow;
use crate::db::users::UserRow;
use crate::domain::moderation::{
    describe_flags, override_object, FutureChange, FutureEntry, JsonObject, PermissionChange,
};
use crate::domain::perms::Permissions;
use crate::domain::room::{
    parse_room_update, CallerRoles, ModeratorLists, PinnedMessage, PollInfo, RoomInfo,
};
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use serde_json::Value;
use std::collections::BTreeMap;

/// Builds the full room object for a caller.
pub async fn room_info(ctx: &Ctx<'_>, room: RoomRow, perms: &Permissions) -> ApiResult<RoomInfo> {
    let mods = ModeratorLists::from_rows(
        ctx.st.db.room_moderators(room.id).await?,
        ctx.st.config.require_blind_keys,
    );
    let pinned = ctx
        .st
        .db
        .pinned_messages(room.id)
        .await?
        .into_iter()
        .map(|(id, pinned_at, pinned_by)| PinnedMessage {
            id,
            pinned_at,
            pinned_by,
        })
        .collect();
    Ok(RoomInfo::new(room, mods, pinned, perms))
}

/// List the rooms the caller can see, sorted by token.
#[utoipa::path(get, path = "/rooms", tag = "rooms",
    responses((status = 200, description = "Visible rooms", body = [RoomInfo])))]
pub async fn list_rooms(ctx: &Ctx<'_>) -> ApiResult<Response> {
    let mut out = Vec::new();
    for room in ctx.st.db.rooms().await? {
        let perms = ctx.perms(&room).await?;
        if perms.can_see_room() {
            out.push(room_info(ctx, room, &perms).await?);
        }
    }
    Ok(Response::json(200, &out))
}

/// Room details. A room the caller may not see answers 404, like a missing one.
#[utoipa::path(get, path = "/room/{token}", tag = "rooms",
    params(("token" = String, Path, description = "Room token (case-insensitive)")),
    responses((status = 200, body = RoomInfo), (status = 404, description = "No such room")))]
pub async fn get_room(ctx: &Ctx<'_>, token: &str) -> ApiResult<Response> {
    let (room, perms) = ctx.room(token, Need::Accessible).await?;
    Ok(Response::json(200, &room_info(ctx, room, &perms).await?))
}

/// Cheap room status for polling; `details` only when `info_updates` differs.
#[utoipa::path(get, path = "/room/{token}/pollInfo/{info_updated}", tag = "rooms",
    params(("token" = String, Path), ("info_updated" = i64, Path)),
    responses((status = 200, body = PollInfo), (status = 403, description = "No read permission")))]
pub async fn poll_info(ctx: &Ctx<'_>, token: &str, info_updated: i64) -> ApiResult<Response> {
    let (room, perms) = ctx.room(token, Need::Read).await?;
    ctx.touch_room(&room).await?;
    let roles = CallerRoles::new(&room, &perms);
    let (token, active_users, changed) = (
        room.token.clone(),
        room.active_users,
        room.info_updates != info_updated,
    );
    let details = if changed {
        Some(room_info(ctx, room, &perms).await?)
    } else {
        None
    };
    Ok(Response::json(
        200,
        &PollInfo {
            token,
            active_users,
            read: perms.read,
            write: perms.write,
            upload: perms.upload,
            details,
            roles,
        },
    ))
}

/// Change a room's name, description, image or default permissions (admins only).
#[utoipa::path(put, path = "/room/{token}", tag = "rooms",
    params(("token" = String, Path)),
    request_body(content = Object, description = "Any of name, description, image, default_read, default_accessible, default_write, default_upload"),
    responses((status = 200, description = "`{\"info_updates\": n}`"), (status = 400, description = "Bad or empty body"),
        (status = 403, description = "Not an admin"), (status = 406, description = "Image is not an upload of this room")))]
pub async fn update_room(ctx: &Ctx<'_>, token: &str) -> ApiResult<Response> {
    let (room, _) = ctx.room(token, Need::Admin).await?;
    let body: serde_json::Map<String, serde_json::Value> = ctx.json()?;
    let upd = parse_room_update(&body)?;
    let info_updates = ctx
        .st
        .db
        .update_room(room.id, &upd, ctx.st.now())
        .await?
        .map_err(|_| {
            ApiError::NotAcceptable("Image must be a file uploaded to this room".into())
        })?;
    tracing::info!(room = %room.token, "room updated");
    // Only the settings this route knows: other keys are client text (any length, NUL…).
    const SETTINGS: [&str; 7] = [
        "name",
        "description",
        "image",
        "default_read",
        "default_accessible",
        "default_write",
        "default_upload",
    ];
    let fields: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|k| SETTINGS.contains(k))
        .collect();
    ctx.log_moderation(
        "room_update",
        Some(&room.token),
        None,
        Some(fields.join(" ")),
    )
    .await?;
    Ok(Response::json(
        200,
        &serde_json::json!({ "info_updates": info_updates }),
    ))
}

/// Per-user permission overrides of a room, by session id (moderators only).
#[utoipa::path(get, path = "/room/{token}/permissions", tag = "moderation",
    params(("token" = String, Path)),
    responses((status = 200, description = "`{session_id: override object}`"),
        (status = 401, description = "Not authenticated"), (status = 403, description = "Not a moderator")))]
pub async fn room_permissions(ctx: &Ctx<'_>, token: &str) -> ApiResult<Response> {
    let (room, _) = ctx.room(token, Need::Moderator).await?;
    let all: JsonObject = ctx
        .st
        .db
        .room_overrides(room.id)
        .await?
        .into_iter()
        .map(|r| (r.session_id, Value::Object(override_object(&r.o))))
        .collect();
    Ok(Response::json(200, &all))
}

/// One user's permission override in a room, `{}` if none (moderators only).
#[utoipa::path(get, path = "/room/{token}/permissions/{sid}", tag = "moderation",
    params(("token" = String, Path), ("sid" = String, Path, description = "15 id (05 too when blinding is off)")),
    responses((status = 200, description = "Override object, e.g. `{\"read\": true, \"write\": false}`"),
        (status = 403, description = "Not a moderator")))]
pub async fn user_permissions(ctx: &Ctx<'_>, token: &str, sid: &str) -> ApiResult<Response> {
    let sid = users::session_param(ctx, sid)?;
    let (room, _) = ctx.room(token, Need::Moderator).await?;
    let obj = match ctx.st.db.user_by_session_id(&sid).await? {
        Some(u) => ctx
            .st
            .db
            .override_row(room.id, u.id)
            .await?
            .map(|o| override_object(&o))
            .unwrap_or_default(),
        None => JsonObject::new(),
    };
    Ok(Response::json(200, &obj))
}

/// Set or clear a user's read/accessible/write/upload overrides (moderators only).
#[utoipa::path(post, path = "/room/{token}/permissions/{sid}", tag = "moderation",
    params(("token" = String, Path), ("sid" = String, Path)),
    request_body(content = Object, description = "`read`, `accessible`, `write`, `upload`: bool sets, null leaves; `default_x: true` clears; `unschedule` (default true) cancels scheduled changes of the named flags"),
    responses((status = 200, description = "The override object afterwards"), (status = 400, description = "Bad or empty body"),
        (status = 403, description = "Not a moderator")))]
pub async fn set_user_permissions(ctx: &Ctx<'_>, token: &str, sid: &str) -> ApiResult<Response> {
    let sid = users::session_param(ctx, sid)?;
    let (room, _) = ctx.room(token, Need::Moderator).await?;
    let body: JsonObject = ctx.json()?;
    let change = PermissionChange::parse(&body)?;
    let target = users::resolve_target(ctx, &sid).await?;
    let row = ctx
        .st
        .db
        .set_permissions(room.id, target.id, &change)
        .await?;
    ctx.log_moderation(
        "permission",
        Some(&room.token),
        Some(&target.session_id),
        Some(change.describe()),
    )
    .await?;
    let obj = row.map(|o| override_object(&o)).unwrap_or_default();
    Ok(Response::json(200, &obj))
}

/// Scheduled permission changes and room (un)bans, by time; `with_ids` adds `session_id`.
async fn futures_of(
    ctx: &Ctx<'_>,
    room: &RoomRow,
    user: Option<i64>,
) -> ApiResult<Vec<FutureEntry>> {
    let with_ids = user.is_none();
    let sid = |s: String| with_ids.then_some(s);
    let mut out: Vec<FutureEntry> = ctx
        .st
        .db
        .permission_futures(room.id, user)
        .await?
        .into_iter()
        .map(|f| FutureEntry {
            session_id: sid(f.session_id),
            at: f.at,
            read: f.perm_read,
            write: f.perm_write,
            upload: f.perm_upload,
            banned: None,
        })
        .collect();
    out.extend(
        ctx.st
            .db
            .room_ban_futures(room.id, user)
            .await?
            .into_iter()
            .map(|f| FutureEntry {
                session_id: sid(f.session_id),
                at: f.at,
                read: None,
                write: None,
                upload: None,
                banned: Some(f.banned),
            }),
    );
    out.sort_by(|a, b| a.at.total_cmp(&b.at));
    Ok(out)
}

/// Scheduled permission changes and (un)bans in a room (moderators only).
#[utoipa::path(get, path = "/room/{token}/futurePermissions", tag = "moderation",
    params(("token" = String, Path)),
    responses((status = 200, body = [FutureEntry]), (status = 403, description = "Not a moderator")))]
pub async fn room_future_permissions(ctx: &Ctx<'_>, token: &str) -> ApiResult<Response> {
    let (room, _) = ctx.room(token, Need::Moderator).await?;
    Ok(Response::json(200, &futures_of(ctx, &room, None).await?))
}

/// One user's scheduled changes in a room (moderators only).
#[utoipa::path(get, path = "/room/{token}/futurePermissions/{sid}", tag = "moderation",
    params(("token" = String, Path), ("sid" = String, Path)),
    responses((status = 200, body = [FutureEntry]), (status = 403, description = "Not a moderator")))]
pub async fn user_future_permissions(ctx: &Ctx<'_>, token: &str, sid: &str) -> ApiResult<Response> {
    let sid = users::session_param(ctx, sid)?;
    let (room, _) = ctx.room(token, Need::Moderator).await?;
    let list = match ctx.st.db.user_by_session_id(&sid).await? {
        Some(u) => futures_of(ctx, &room, Some(u.id)).await?,
        None => Vec::new(),
    };
    Ok(Response::json(200, &list))
}

/// Schedule a change of read/write/upload `in` seconds from now (moderators only).
#[utoipa::path(post, path = "/room/{token}/futurePermissions/{sid}", tag = "moderation",
    params(("token" = String, Path), ("sid" = String, Path)),
    request_body(content = Object, description = "`read`/`write`/`upload` (at least one bool) and `in` seconds (0 < in < 1e9)"),
    responses((status = 200, body = [FutureEntry]), (status = 400, description = "Bad body"),
        (status = 403, description = "Not a moderator")))]
pub async fn add_future_permission(ctx: &Ctx<'_>, token: &str, sid: &str) -> ApiResult<Response> {
    let sid = users::session_param(ctx, sid)?;
    let (room, _) = ctx.room(token, Need::Moderator).await?;
    let body: JsonObject = ctx.json()?;
    let change = FutureChange::parse(&body)?;
    let target = users::resolve_target(ctx, &sid).await?;
    let at = ctx.st.now() + change.in_secs;
    ctx.st
        .db
        .add_permission_future(
            room.id,
            target.id,
            at,
            [change.read, change.write, change.upload],
        )
        .await?;
    let what = describe_flags(change.read, change.write, change.upload);
    ctx.log_moderation(
        "permission",
        Some(&room.token),
        Some(&target.session_id),
        Some(format!("scheduled {what} in {} s", change.in_secs)),
    )
    .await?;
    Ok(Response::json(
        200,
        &futures_of(ctx, &room, Some(target.id)).await?,
    ))
}

/// Deletes `target`'s messages in one room if the caller may (`None` = not permitted): the
/// target themself, or a moderator; an admin's messages need an admin.
async fn delete_all_in(
    ctx: &Ctx<'_>,
    caller: &UserRow,
    room: &RoomRow,
    perms: &Permissions,
    target: &UserRow,
) -> ApiResult<Option<u64>> {
    let own = caller.id == target.id;
    if !own {
        if !perms.moderator {
            return Ok(None);
        }
        if ctx.perms_of(room, Some(target)).await?.admin && !perms.admin {
            return Ok(None);
        }
    }
    let n = ctx
        .st
        .db
        .delete_all_by(room.id, target.id, ctx.st.now())
        .await?;
    if n > 0 && !own {
        ctx.log_moderation(
            "delete",
            Some(&room.token),
            Some(&target.session_id),
            Some(format!("all messages ({n})")),
        )
        .await?;
    }
    Ok(Some(n))
}

/// Delete all of a user's messages in a room: your own, or anyone's as a moderator
/// (an admin's only as an admin).
#[utoipa::path(delete, path = "/room/{token}/all/{sid}", tag = "moderation",
    params(("token" = String, Path), ("sid" = String, Path)),
    responses((status = 200, description = "`{}`"), (status = 401, description = "Not authenticated"),
        (status = 403, description = "Not allowed"), (status = 404, description = "No such user, or nothing to delete")))]
pub async fn delete_all_in_room(ctx: &Ctx<'_>, token: &str, sid: &str) -> ApiResult<Response> {
    let caller = ctx.require_user()?;
    let sid = users::session_param(ctx, sid)?;
    let db = &ctx.st.db;
    let room = ctx.find_room(token).await?;
    let target = db
        .user_by_session_id(&sid)
        .await?
        .ok_or(ApiError::NotFound)?;
    let perms = ctx.perms(&room).await?;
    match delete_all_in(ctx, caller, &room, &perms, &target).await? {
        None => Err(ApiError::forbidden(
            "You may not delete this user's messages",
        )),
        Some(0) => Err(ApiError::NotFound),
        Some(_) => Ok(Response::empty_object()),
    }
}

/// Delete all of a user's messages in every room where the caller may.
#[utoipa::path(delete, path = "/rooms/all/{sid}", tag = "moderation",
    params(("sid" = String, Path)),
    responses((status = 200, description = "`{\"total\": n, \"rooms\": {token: n}}`"),
        (status = 401, description = "Not authenticated"), (status = 404, description = "No such user")))]
pub async fn delete_all_everywhere(ctx: &Ctx<'_>, sid: &str) -> ApiResult<Response> {
    let caller = ctx.require_user()?;
    let sid = users::session_param(ctx, sid)?;
    let db = &ctx.st.db;
    let target = db
        .user_by_session_id(&sid)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (mut total, mut rooms) = (0u64, BTreeMap::new());
    for room in db.rooms().await? {
        let perms = ctx.perms(&room).await?;
        if !perms.can_see_room() {
            continue;
        }
        if let Some(n) = delete_all_in(ctx, caller, &room, &perms, &target).await? {
            total += n;
            rooms.insert(room.token.clone(), n);
        }
    }
    Ok(Response::json(
        200,
        &serde_json::json!({ "total": total, "rooms": rooms }),
    ))
}
