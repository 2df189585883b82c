//! Users: bans, unbans and moderator appointments (PROTOCOL.md §8.6, §11).

use super::{Ctx, Need};
use crate::db::rooms::RoomRow;
use crate::db::users::UserRow;
use crate::domain::moderation::{parse_timeout, JsonObject, RoleChange, Scope};
use crate::domain::perms::Permissions;
use crate::domain::token::RoomToken;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use std::collections::{BTreeMap, HashSet};

/// The user a route targets by id: a `05` id maps to the blinded user the person
/// authenticates as when known, otherwise it is recorded for migration (PROTOCOL.md §3.6).
/// Creates the user row if needed.
pub(crate) async fn resolve_target(ctx: &Ctx<'_>, sid: &str) -> ApiResult<UserRow> {
    let st = ctx.st;
    let parsed = crate::admin::parse_operator_id(&sid.to_ascii_lowercase())
        .map_err(|e| ApiError::bad_request(format!("`{sid}`: {e}")))?;
    crate::admin::resolve_user(
        &st.db,
        &st.keys,
        st.config.require_blind_keys,
        &parsed,
        st.now(),
    )
    .await
    .map_err(|e| match e.downcast::<sqlx::Error>() {
        Ok(db) => ApiError::from(db),
        Err(other) => ApiError::bad_request(other.to_string()),
    })
}

/// The `{sid}` of the room routes that take a user id (`permissions/{sid}`, `all/{sid}`, …):
/// lower-cased; a `05` id does not match them while blinding is required (404).
pub(crate) fn session_param(ctx: &Ctx<'_>, sid: &str) -> ApiResult<String> {
    let sid = sid.to_ascii_lowercase();
    if ctx.st.config.require_blind_keys && sid.starts_with("05") {
        return Err(ApiError::NotFound);
    }
    Ok(sid)
}

/// The rooms a scoped action applies to, each with the caller's permissions there, after
/// checking the caller holds `need` (Moderator or Admin) in every one; `None` = global.
/// Unknown or repeated tokens are 403, as in pysogs.
async fn scope_rooms(
    ctx: &Ctx<'_>,
    scope: &Scope,
    need: Need,
) -> ApiResult<Option<Vec<(RoomRow, Permissions)>>> {
    let caller = ctx.require_user()?;
    let admin = need == Need::Admin;
    let has = |p: &Permissions| if admin { p.admin } else { p.moderator };
    let role = if admin { "admin" } else { "moderator" };
    match scope {
        Scope::Global => {
            let ok = if admin {
                caller.admin
            } else {
                caller.moderator || caller.admin
            };
            if !ok {
                return Err(ApiError::forbidden(format!(
                    "This action requires global {role} permissions"
                )));
            }
            Ok(None)
        }
        Scope::AllMyRooms => {
            let mut out = Vec::new();
            for room in ctx.st.db.rooms().await? {
                let perms = ctx.perms(&room).await?;
                if has(&perms) {
                    out.push((room, perms));
                }
            }
            if out.is_empty() {
                return Err(ApiError::forbidden(format!(
                    "You are not a {role} of any room"
                )));
            }
            Ok(Some(out))
        }
        Scope::Rooms(tokens) => {
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for t in tokens {
                let denied = || {
                    ApiError::forbidden(format!(
                        "This action requires {role} permissions in every listed room"
                    ))
                };
                if !seen.insert(t.to_ascii_lowercase()) || !RoomToken::is_valid(t) {
                    return Err(denied());
                }
                let room = ctx.st.db.room_by_token(t).await?.ok_or_else(denied)?;
                let perms = ctx.perms(&room).await?;
                if !has(&perms) {
                    return Err(denied());
                }
                out.push((room, perms));
            }
            Ok(Some(out))
        }
    }
}

/// Ban a user from rooms or server-wide, optionally for `timeout` seconds.
#[utoipa::path(post, path = "/user/{sid}/ban", tag = "users",
    params(("sid" = String, Path, description = "05 or 15 id")),
    request_body(content = Object, description = "`rooms` (tokens or `[\"*\"]`) or `global: true`; optional `timeout` seconds"),
    responses((status = 200, description = "`{}`"), (status = 400, description = "Bad body"),
        (status = 401, description = "Not authenticated"), (status = 403, description = "Not allowed")))]
pub async fn ban_user(ctx: &Ctx<'_>, sid: &str) -> ApiResult<Response> {
    let caller = ctx.require_user()?.clone();
    let body: JsonObject = ctx.json()?;
    let scope = Scope::parse(&body)?;
    let timeout = parse_timeout(&body)?;
    let rooms = scope_rooms(ctx, &scope, Need::Moderator).await?;
    let target = resolve_target(ctx, sid).await?;
    if target.id == caller.id {
        return Err(ApiError::forbidden("You cannot ban yourself"));
    }
    if target.moderator || target.admin {
        return Err(ApiError::forbidden(
            "Global moderators and admins cannot be banned",
        ));
    }
    let until = timeout.map(|t| ctx.st.now() + t);
    let detail = Some(match timeout {
        Some(t) => format!("for {t} s"),
        None => "permanent".to_owned(),
    });
    let Some(rooms) = rooms else {
        if !ctx.st.db.ban_global(target.id, until).await? {
            return Err(ApiError::forbidden(
                "Global moderators and admins cannot be banned",
            ));
        }
        ctx.log_moderation("ban", None, Some(&target.session_id), detail)
            .await?;
        return Ok(Response::empty_object());
    };
    for (room, perms) in &rooms {
        let theirs = ctx.perms_of(room, Some(&target)).await?;
        if theirs.moderator && !perms.admin {
            return Err(ApiError::forbidden(
                "Only an admin can ban a moderator of this room",
            ));
        }
    }
    for (room, _) in &rooms {
        ctx.st.db.ban_in_room(room.id, target.id, until).await?;
        ctx.log_moderation(
            "ban",
            Some(&room.token),
            Some(&target.session_id),
            detail.clone(),
        )
        .await?;
    }
    Ok(Response::empty_object())
}

/// Lift a user's room bans or global ban.
#[utoipa::path(post, path = "/user/{sid}/unban", tag = "users",
    params(("sid" = String, Path, description = "05 or 15 id")),
    request_body(content = Object, description = "`rooms` (tokens or `[\"*\"]`) or `global: true`"),
    responses((status = 200, description = "`{}`"), (status = 400, description = "Bad body"),
        (status = 401, description = "Not authenticated"), (status = 403, description = "Not allowed")))]
pub async fn unban_user(ctx: &Ctx<'_>, sid: &str) -> ApiResult<Response> {
    ctx.require_user()?;
    let body: JsonObject = ctx.json()?;
    let scope = Scope::parse(&body)?;
    let rooms = scope_rooms(ctx, &scope, Need::Moderator).await?;
    let target = resolve_target(ctx, sid).await?;
    match rooms {
        None => {
            ctx.st.db.unban_global(target.id).await?;
            ctx.log_moderation("unban", None, Some(&target.session_id), None)
                .await?;
        }
        Some(rooms) => {
            for (room, _) in &rooms {
                ctx.st.db.unban_in_room(room.id, target.id).await?;
                ctx.log_moderation("unban", Some(&room.token), Some(&target.session_id), None)
                    .await?;
            }
        }
    }
    Ok(Response::empty_object())
}

fn role_name(moderator: bool, admin: bool, visible: bool) -> String {
    match (moderator, admin) {
        (_, true) => format!("admin ({})", if visible { "visible" } else { "hidden" }),
        (true, false) => format!("moderator ({})", if visible { "visible" } else { "hidden" }),
        (false, false) => "removed".to_owned(),
    }
}

/// Appoint or remove moderators and admins, in rooms or server-wide.
#[utoipa::path(post, path = "/user/{sid}/moderator", tag = "users",
    params(("sid" = String, Path, description = "05 or 15 id")),
    request_body(content = Object, description = "`rooms` or `global`, plus `moderator`, `admin`, `visible` (true/false/null)"),
    responses((status = 200, description = "`{\"info_updates\": {token: n}}` of the affected rooms"),
        (status = 400, description = "Bad body"), (status = 401, description = "Not authenticated"),
        (status = 403, description = "Not an admin there")))]
pub async fn set_moderator(ctx: &Ctx<'_>, sid: &str) -> ApiResult<Response> {
    ctx.require_user()?;
    let body: JsonObject = ctx.json()?;
    let scope = Scope::parse(&body)?;
    let change = RoleChange::parse(&body)?;
    let rooms = scope_rooms(ctx, &scope, Need::Admin).await?;
    let target = resolve_target(ctx, sid).await?;
    let db = &ctx.st.db;
    let mut info = BTreeMap::new();
    match rooms {
        None => {
            let (m, a) = change.apply(target.moderator || target.admin, target.admin);
            let visible = if m {
                change.visible_or(false)
            } else {
                target.visible_mod
            };
            db.set_global_role(target.id, m, a, visible).await?;
            ctx.log_moderation(
                "role",
                None,
                Some(&target.session_id),
                Some(role_name(m, a, visible)),
            )
            .await?;
            for room in db.rooms().await? {
                info.insert(room.token, room.info_updates);
            }
        }
        Some(rooms) => {
            for (room, _) in &rooms {
                let ovr = db
                    .override_row(room.id, target.id)
                    .await?
                    .unwrap_or_default();
                let (m, a) = change.apply(ovr.moderator || ovr.admin, ovr.admin);
                let current_visible = ovr.visible_mod || !(ovr.moderator || ovr.admin);
                let visible = if m {
                    change.visible_or(true)
                } else {
                    current_visible
                };
                db.set_room_role(room.id, target.id, m, a, visible).await?;
                ctx.log_moderation(
                    "role",
                    Some(&room.token),
                    Some(&target.session_id),
                    Some(role_name(m, a, visible)),
                )
                .await?;
                let now = db.room_by_id(room.id).await?.ok_or(ApiError::NotFound)?;
                info.insert(now.token, now.info_updates);
            }
        }
    }
    Ok(Response::json(
        200,
        &serde_json::json!({ "info_updates": info }),
    ))
}
