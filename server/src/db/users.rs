//! Users, global roles, per-room overrides, room activity and the 05 → 15 migration.

use super::{on_pool, BeginWrite, Db, DbResult};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub session_id: String,
    pub created: f64,
    pub last_active: f64,
    pub banned: bool,
    pub moderator: bool,
    pub admin: bool,
    pub visible_mod: bool,
    /// The `05` id this (blinded) user was appointed or banned by before they connected.
    pub appointed_as: Option<String>,
}

#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct OverrideRow {
    pub banned: bool,
    pub perm_read: Option<bool>,
    pub perm_accessible: Option<bool>,
    pub perm_write: Option<bool>,
    pub perm_upload: Option<bool>,
    pub moderator: bool,
    pub admin: bool,
    pub visible_mod: bool,
}

/// One row of the merged room + global moderator list (DATA-MODEL.md §3.2).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ModeratorRow {
    pub session_id: String,
    pub g_mod: bool,
    pub g_admin: bool,
    pub g_visible: bool,
    pub r_mod: Option<bool>,
    pub r_admin: Option<bool>,
    pub r_visible: Option<bool>,
}

const USER_COLS: &str =
    "id, session_id, created, last_active, banned, moderator, admin, visible_mod, appointed_as";

impl Db {
    pub async fn user_by_session_id(&self, session_id: &str) -> DbResult<Option<UserRow>> {
        let q = format!("SELECT {USER_COLS} FROM users WHERE session_id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, UserRow>(&q).bind(session_id).fetch_optional(p).await?),
        )
    }

    pub async fn user_by_id(&self, id: i64) -> DbResult<Option<UserRow>> {
        let q = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        Ok(on_pool!(self, p => sqlx::query_as::<_, UserRow>(&q).bind(id).fetch_optional(p).await?))
    }

    /// Finds or creates the user with this exact id. `touch` updates `last_active`.
    /// A newly created blinded user inherits what was recorded for its `05` id
    /// (`pending_abs` is the bit-cleared blinded id to look up in `needs_blinding`).
    pub async fn ensure_user(
        &self,
        session_id: &str,
        now: f64,
        touch: bool,
        pending_abs: Option<&str>,
    ) -> DbResult<UserRow> {
        if let Some(user) = self.user_by_session_id(session_id).await? {
            if touch {
                const Q: &str = "UPDATE users SET last_active = $1 WHERE id = $2";
                on_pool!(self, p => sqlx::query(Q).bind(now).bind(user.id).execute(p).await?.rows_affected());
                return Ok(UserRow {
                    last_active: now,
                    ..user
                });
            }
            return Ok(user);
        }
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const INS: &str = "INSERT INTO users (session_id, created, last_active) VALUES ($1, $2, $2) ON CONFLICT (session_id) DO NOTHING";
            let inserted = sqlx::query(INS).bind(session_id).bind(now).execute(&mut *tx).await?.rows_affected() == 1;
            let q = format!("SELECT {USER_COLS} FROM users WHERE session_id = $1");
            let user = sqlx::query_as::<_, UserRow>(&q).bind(session_id).fetch_one(&mut *tx).await?;
            if inserted {
                if let Some(abs) = pending_abs {
                    const PENDING: &str = "SELECT user_id FROM needs_blinding WHERE blinded_abs = $1";
                    let old: Option<i64> = sqlx::query_scalar(PENDING).bind(abs).fetch_optional(&mut *tx).await?;
                    if let Some(old) = old {
                        for q in [
                            "UPDATE users SET created = o.created, banned = o.banned, moderator = o.moderator, admin = o.admin, visible_mod = o.visible_mod, appointed_as = o.session_id FROM (SELECT created, banned, moderator, admin, visible_mod, session_id FROM users WHERE id = $1) AS o WHERE users.id = $2",
                            "UPDATE users SET banned = FALSE, moderator = FALSE, admin = FALSE WHERE id = $1 AND id <> $2",
                            "UPDATE user_permission_overrides SET user_id = $2 WHERE user_id = $1",
                            "UPDATE user_permission_futures SET user_id = $2 WHERE user_id = $1",
                            "UPDATE user_ban_futures SET user_id = $2 WHERE user_id = $1",
                            "DELETE FROM needs_blinding WHERE user_id = $1 AND user_id <> $2",
                        ] {
                            sqlx::query(q).bind(old).bind(user.id).execute(&mut *tx).await?;
                        }
                        let q = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
                        let user = sqlx::query_as::<_, UserRow>(&q).bind(user.id).fetch_one(&mut *tx).await?;
                        // The moderator lists now show the blinded id instead of the 05 one: a
                        // change pollers must see (PROTOCOL.md §10.3).
                        const MOVED: &str = "UPDATE rooms SET info_updates = info_updates + 1 WHERE id IN (SELECT room FROM user_permission_overrides WHERE user_id = $1 AND moderator)";
                        sqlx::query(MOVED).bind(user.id).execute(&mut *tx).await?;
                        if user.moderator {
                            sqlx::query("UPDATE rooms SET info_updates = info_updates + 1").execute(&mut *tx).await?;
                        }
                        tx.commit().await?;
                        return Ok(user);
                    }
                }
            }
            tx.commit().await?;
            Ok(user)
        })
    }

    /// Records that `user_id` (a 05 user) must be migrated when `blinded_abs` first shows up.
    pub async fn add_needs_blinding(&self, blinded_abs: &str, user_id: i64) -> DbResult<()> {
        const Q: &str = "INSERT INTO needs_blinding (blinded_abs, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        on_pool!(self, p => sqlx::query(Q).bind(blinded_abs).bind(user_id).execute(p).await?.rows_affected());
        Ok(())
    }

    pub async fn override_row(&self, room: i64, user: i64) -> DbResult<Option<OverrideRow>> {
        const Q: &str = "SELECT banned, perm_read, perm_accessible, perm_write, perm_upload, moderator, admin, visible_mod FROM user_permission_overrides WHERE room = $1 AND user_id = $2";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, OverrideRow>(Q).bind(room).bind(user).fetch_optional(p).await?),
        )
    }

    /// Sets global moderator/admin/visibility flags; any change bumps every room's
    /// `info_updates`. A global appointment clears a global ban. Returns whether anything changed.
    pub async fn set_global_role(
        &self,
        user: i64,
        moderator: bool,
        admin: bool,
        visible: bool,
    ) -> DbResult<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const Q: &str = "UPDATE users SET moderator = $1, admin = $2, visible_mod = $3, banned = (banned AND NOT $1) WHERE id = $4 AND (moderator <> $1 OR admin <> $2 OR visible_mod <> $3)";
            let changed = sqlx::query(Q).bind(moderator || admin).bind(admin).bind(visible).bind(user).execute(&mut *tx).await?.rows_affected();
            if changed > 0 {
                sqlx::query("UPDATE rooms SET info_updates = info_updates + 1").execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(changed > 0)
        })
    }

    /// Sets a room moderator/admin appointment; a change of any flag (visibility included)
    /// bumps the room's `info_updates`. Removing the last role deletes an otherwise empty row.
    /// Returns whether anything changed.
    pub async fn set_room_role(
        &self,
        room: i64,
        user: i64,
        moderator: bool,
        admin: bool,
        visible: bool,
    ) -> DbResult<bool> {
        let moderator = moderator || admin;
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const UPD: &str = "UPDATE user_permission_overrides SET moderator = $1, admin = $2, visible_mod = $3, banned = (banned AND NOT $1) WHERE room = $4 AND user_id = $5 AND (moderator <> $1 OR admin <> $2 OR visible_mod <> $3)";
            let mut changed = sqlx::query(UPD).bind(moderator).bind(admin).bind(visible).bind(room).bind(user).execute(&mut *tx).await?.rows_affected();
            if moderator {
                const INS: &str = "INSERT INTO user_permission_overrides (room, user_id, moderator, admin, visible_mod) VALUES ($1, $2, TRUE, $3, $4) ON CONFLICT (room, user_id) DO NOTHING";
                changed += sqlx::query(INS).bind(room).bind(user).bind(admin).bind(visible).execute(&mut *tx).await?.rows_affected();
            }
            sqlx::query(PRUNE_OVERRIDE).bind(room).bind(user).execute(&mut *tx).await?;
            if changed > 0 {
                sqlx::query("UPDATE rooms SET info_updates = info_updates + 1 WHERE id = $1").bind(room).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(changed > 0)
        })
    }

    /// Room and global moderators of a room, merged per user, sorted by session id.
    pub async fn room_moderators(&self, room: i64) -> DbResult<Vec<ModeratorRow>> {
        const Q: &str = "SELECT u.session_id, u.moderator AS g_mod, u.admin AS g_admin, u.visible_mod AS g_visible, o.moderator AS r_mod, o.admin AS r_admin, o.visible_mod AS r_visible FROM users u LEFT JOIN user_permission_overrides o ON o.user_id = u.id AND o.room = $1 WHERE u.moderator OR o.moderator ORDER BY u.session_id";
        Ok(on_pool!(self, p => sqlx::query_as::<_, ModeratorRow>(Q).bind(room).fetch_all(p).await?))
    }

    /// Global moderators and admins (for the CLI).
    pub async fn global_moderators(&self) -> DbResult<Vec<UserRow>> {
        let q = format!("SELECT {USER_COLS} FROM users WHERE moderator ORDER BY session_id");
        Ok(on_pool!(self, p => sqlx::query_as::<_, UserRow>(&q).fetch_all(p).await?))
    }

    /// Records that a user read or polled a room.
    pub async fn touch_room_user(&self, room: i64, user: i64, now: f64) -> DbResult<()> {
        const Q: &str = "INSERT INTO room_users (room, user_id, last_active) VALUES ($1, $2, $3) ON CONFLICT (room, user_id) DO UPDATE SET last_active = excluded.last_active";
        on_pool!(self, p => sqlx::query(Q).bind(room).bind(user).bind(now).execute(p).await?.rows_affected());
        Ok(())
    }
}

/// Deletes an override row that holds nothing any more (no role, no ban, no flags).
pub(crate) const PRUNE_OVERRIDE: &str = "DELETE FROM user_permission_overrides WHERE room = $1 AND user_id = $2 AND NOT banned AND NOT moderator AND NOT admin AND perm_read IS NULL AND perm_accessible IS NULL AND perm_write IS NULL AND perm_upload IS NULL";

impl Db {
    /// Room-level appointments only: (session id, admin, visible, appointed as), sorted by id.
    pub async fn room_appointments(
        &self,
        room: i64,
    ) -> DbResult<Vec<(String, bool, bool, Option<String>)>> {
        const Q: &str = "SELECT u.session_id, o.admin, o.visible_mod, u.appointed_as FROM user_permission_overrides o JOIN users u ON u.id = o.user_id WHERE o.room = $1 AND o.moderator ORDER BY u.session_id";
        Ok(on_pool!(self, p => sqlx::query_as(Q).bind(room).fetch_all(p).await?))
    }
}
