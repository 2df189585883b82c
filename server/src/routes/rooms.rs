//! Rooms: listing, room info and polling info.

use super::{Ctx, Need};
use crate::db::rooms::RoomRow;
use crate::domain::perms::Permissions;
use crate::domain::room::{CallerRoles, ModeratorLists, PinnedMessage, PollInfo, RoomInfo};
use crate::error::ApiResult;
use crate::http::Response;

/// Builds the full room object for a caller.
pub async fn room_info(ctx: &Ctx<'_>, room: RoomRow, perms: &Permissions) -> ApiResult<RoomInfo> {
    let mods = ModeratorLists::from_rows(ctx.st.db.room_moderators(room.id).await?);
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
