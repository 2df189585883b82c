//! The room object (PROTOCOL.md §10.2) and the moderator list merging of DATA-MODEL.md §3.2.

use super::perms::Permissions;
use crate::db::rooms::{RoomRow, RoomUpdate};
use crate::db::users::ModeratorRow;
use crate::error::{ApiError, ApiResult};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct PinnedMessage {
    pub id: i64,
    pub pinned_at: f64,
    pub pinned_by: String,
}

/// Moderators of a room split by role and visibility, each list sorted by session id.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ModeratorLists {
    pub moderators: Vec<String>,
    pub admins: Vec<String>,
    pub hidden_moderators: Vec<String>,
    pub hidden_admins: Vec<String>,
}

impl ModeratorLists {
    /// Room-level appointments decide visibility when present; admin if either role is admin.
    ///
    /// With `hide_unblinded` (blinding required), a moderator appointed by `05` Session ID who
    /// has not connected yet is left out: listing that id would publish exactly the identity
    /// blinding hides. Apps match the list against their own blinded id, which the server
    /// learns (and lists) from the person's first request.
    pub fn from_rows(rows: Vec<ModeratorRow>, hide_unblinded: bool) -> Self {
        let mut out = Self::default();
        for r in rows {
            if r.session_id.starts_with("ff") || (hide_unblinded && r.session_id.starts_with("05"))
            {
                continue;
            }
            let room_mod = r.r_mod.unwrap_or(false);
            let admin = (r.g_mod && r.g_admin) || (room_mod && r.r_admin.unwrap_or(false));
            let visible = if room_mod {
                r.r_visible.unwrap_or(true)
            } else {
                r.g_visible
            };
            let list = match (admin, visible) {
                (true, true) => &mut out.admins,
                (true, false) => &mut out.hidden_admins,
                (false, true) => &mut out.moderators,
                (false, false) => &mut out.hidden_moderators,
            };
            list.push(r.session_id);
        }
        // By id string, whatever order (and collation) the database returned.
        for list in [
            &mut out.moderators,
            &mut out.admins,
            &mut out.hidden_moderators,
            &mut out.hidden_admins,
        ] {
            list.sort();
        }
        out
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoomInfo {
    pub token: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub info_updates: i64,
    pub message_sequence: i64,
    pub created: f64,
    pub active_users: i64,
    pub active_users_cutoff: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pinned_messages: Vec<PinnedMessage>,
    pub moderators: Vec<String>,
    pub admins: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_moderators: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_admins: Option<Vec<String>>,
    pub read: bool,
    pub write: bool,
    pub upload: bool,
    #[serde(flatten)]
    pub roles: CallerRoles,
}

/// The caller's role flags and, for moderators, the room defaults.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct CallerRoles {
    #[serde(skip_serializing_if = "is_false")]
    pub moderator: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub admin: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub global_moderator: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub global_admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_read: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_accessible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_write: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_upload: Option<bool>,
}

impl CallerRoles {
    pub fn new(room: &RoomRow, perms: &Permissions) -> Self {
        let m = perms.moderator;
        Self {
            moderator: perms.moderator,
            admin: perms.admin,
            global_moderator: perms.global_moderator,
            global_admin: perms.global_admin,
            default_read: m.then_some(room.default_read),
            default_accessible: m.then_some(room.default_accessible),
            default_write: m.then_some(room.default_write),
            default_upload: m.then_some(room.default_upload),
        }
    }
}

pub const ACTIVE_USERS_CUTOFF: i64 = 7 * 86400;

/// A room name as stored: control characters removed.
pub fn clean_room_name(name: &str) -> String {
    name.chars().filter(|c| *c >= ' ').collect()
}

/// A room description as stored: control characters other than tab and newline removed;
/// `None` (no description) when nothing is left.
pub fn clean_room_description(description: &str) -> Option<String> {
    let clean: String = description
        .chars()
        .filter(|c| *c >= ' ' || *c == '\t' || *c == '\n')
        .collect();
    (!clean.is_empty()).then_some(clean)
}

impl RoomInfo {
    pub fn new(
        room: RoomRow,
        mods: ModeratorLists,
        pinned: Vec<PinnedMessage>,
        perms: &Permissions,
    ) -> Self {
        let non_empty = |v: Vec<String>| (perms.moderator && !v.is_empty()).then_some(v);
        let roles = CallerRoles::new(&room, perms);
        Self {
            token: room.token,
            name: room.name,
            description: room.description,
            info_updates: room.info_updates,
            message_sequence: room.message_sequence,
            created: room.created,
            active_users: room.active_users,
            active_users_cutoff: ACTIVE_USERS_CUTOFF,
            image_id: room.image,
            pinned_messages: pinned,
            moderators: mods.moderators,
            admins: mods.admins,
            hidden_moderators: non_empty(mods.hidden_moderators),
            hidden_admins: non_empty(mods.hidden_admins),
            read: perms.read,
            write: perms.write,
            upload: perms.upload,
            roles,
        }
    }
}

/// `GET /room/{token}/pollInfo/{info_updated}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PollInfo {
    pub token: String,
    pub active_users: i64,
    pub read: bool,
    pub write: bool,
    pub upload: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<RoomInfo>,
    #[serde(flatten)]
    pub roles: CallerRoles,
}

/// Parses a `PUT /room` body (PROTOCOL.md §8.2): field types are checked strictly, control
/// characters are stripped, an empty description removes it.
pub fn parse_room_update(body: &serde_json::Map<String, Value>) -> ApiResult<RoomUpdate> {
    let mut upd = RoomUpdate::default();
    for (key, value) in body {
        match (key.as_str(), value) {
            ("name", Value::String(s)) => upd.name = Some(clean_room_name(s)),
            ("name", _) => return Err(ApiError::bad_request("'name' must be a string")),
            ("description", Value::Null) => upd.description = Some(None),
            ("description", Value::String(s)) => {
                upd.description = Some(clean_room_description(s));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, g: (bool, bool, bool), r: Option<(bool, bool, bool)>) -> ModeratorRow {
        ModeratorRow {
            session_id: id.to_owned(),
            g_mod: g.0,
            g_admin: g.1,
            g_visible: g.2,
            r_mod: r.map(|r| r.0),
            r_admin: r.map(|r| r.1),
            r_visible: r.map(|r| r.2),
        }
    }

    #[test]
    fn lists_are_sorted_and_merged() {
        let rows = vec![
            row("15cc", (false, false, false), Some((true, false, true))),
            row("15aa", (true, false, true), None),
            row("15bb", (false, false, false), Some((true, true, true))),
            row("059a", (false, false, false), Some((true, true, true))),
            row("ff00", (true, true, false), None),
            row("15dd", (true, true, false), Some((true, false, true))),
            row("1500", (true, false, false), None),
        ];
        assert_eq!(
            ModeratorLists::from_rows(rows.clone(), true).admins,
            vec!["15bb".to_owned(), "15dd".to_owned()],
            "a 05 id is never listed while blinding is required"
        );
        let lists = ModeratorLists::from_rows(rows, false);
        assert_eq!(
            lists,
            ModeratorLists {
                moderators: vec!["15aa".into(), "15cc".into()],
                admins: vec!["059a".into(), "15bb".into(), "15dd".into()],
                hidden_moderators: vec!["1500".into()],
                hidden_admins: vec![],
            }
        );
    }
}
