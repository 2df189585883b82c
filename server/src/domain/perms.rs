//! Effective permissions of a caller in a room (PROTOCOL.md §11.2, DATA-MODEL.md §3.1).

use crate::db::rooms::RoomRow;
use crate::db::users::{OverrideRow, UserRow};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Permissions {
    pub read: bool,
    pub accessible: bool,
    pub write: bool,
    pub upload: bool,
    pub banned: bool,
    pub moderator: bool,
    pub admin: bool,
    pub global_moderator: bool,
    pub global_admin: bool,
}

impl Permissions {
    pub fn compute(room: &RoomRow, user: Option<&UserRow>, ovr: Option<&OverrideRow>) -> Self {
        let global_moderator = user.is_some_and(|u| u.moderator || u.admin);
        let global_admin = user.is_some_and(|u| u.admin);
        let room_admin = ovr.is_some_and(|o| o.admin);
        let room_mod = ovr.is_some_and(|o| o.moderator || o.admin);
        let admin = global_admin || room_admin;
        let moderator = admin || global_moderator || room_mod;
        if moderator {
            return Self {
                read: true,
                accessible: true,
                write: true,
                upload: true,
                banned: false,
                moderator,
                admin,
                global_moderator,
                global_admin,
            };
        }
        let banned = user.is_some_and(|u| u.banned) || ovr.is_some_and(|o| o.banned);
        if banned {
            return Self {
                banned,
                ..Self::default()
            };
        }
        let pick = |o: Option<bool>, d: bool| o.unwrap_or(d);
        let o = ovr.cloned().unwrap_or_default();
        let read = pick(o.perm_read, room.default_read);
        let write = pick(o.perm_write, room.default_write);
        Self {
            read,
            accessible: read || pick(o.perm_accessible, room.default_accessible),
            write,
            upload: write && pick(o.perm_upload, room.default_upload),
            ..Self::default()
        }
    }

    /// Whether the room is visible at all (`GET /room`, `GET /rooms`).
    pub fn can_see_room(&self) -> bool {
        self.read || self.accessible
    }
}
