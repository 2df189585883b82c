//! Rooms: listing, room info and polling info.

use super::{Ctx, Need};
use crate::db::rooms::{RoomRow, RoomUpdate};
use crate::domain::perms::Permissions;
use crate::domain::room::{CallerRoles, ModeratorLists, PinnedMessage, PollInfo, RoomInfo};
use crate::error::{ApiError, ApiResult};
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

/// Parses a `PUT /room` body (PROTOCOL.md §8.2): field types are checked strictly, control
/// characters are stripped, an empty description removes it.
pub fn parse_room_update(
    body: &serde_json::Map<String, serde_json::Value>,
) -> ApiResult<RoomUpdate> {
    use serde_json::Value;
    let mut upd = RoomUpdate::default();
    for (key, value) in body {
        match (key.as_str(), value) {
            ("name", Value::String(s)) => {
                upd.name = Some(s.chars().filter(|c| *c >= ' ').collect());
            }
            ("name", _) => return Err(ApiError::bad_request("'name' must be a string")),
            ("description", Value::Null) => upd.description = Some(None),
            ("description", Value::String(s)) => {
                let clean: String = s
                    .chars()
                    .filter(|c| *c >= ' ' || *c == '\t' || *c == '\n')
                    .collect();
                upd.description = Some((!clean.is_empty()).then_some(clean));
            }
            ("description", _) => {
                return Err(ApiError::bad_request(
                    "'description' must be a string or null",
                ))
            }
            ("image", v) => {
                upd.image = Some(
                    v.as_i64()
                        .ok_or_else(|| ApiError::bad_request("'image' must be a file id"))?,
                )
            }
            (
                k @ ("default_read" | "default_accessible" | "default_write" | "default_upload"),
                v,
            ) => {
                let flag = match v {
                    Value::Null => None,
                    Value::Bool(b) => Some(*b),
                    Value::Number(n) => match n.as_i64() {
                        Some(i) => Some(i != 0),
                        None => {
                            return Err(ApiError::bad_request(format!("'{k}' must be a boolean")))
                        }
                    },
                    _ => return Err(ApiError::bad_request(format!("'{k}' must be a boolean"))),
                };
                match k {
                    "default_read" => upd.default_read = flag,
                    "default_accessible" => upd.default_accessible = flag,
                    "default_write" => upd.default_write = flag,
                    _ => upd.default_upload = flag,
                }
            }
            _ => {}
        }
    }
    if upd.is_empty() {
        return Err(ApiError::bad_request("No room settings to change"));
    }
    Ok(upd)
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
    Ok(Response::json(
        200,
        &serde_json::json!({ "info_updates": info_updates }),
    ))
}
