//! Bans, permission overrides, scheduled changes (futures), pins, room abuse settings and the
//! moderation log (PROTOCOL.md §8.2, §8.6, §11; DATA-MODEL.md §2.3, §2.5, §4).
//!
//! Every multi-statement write is one transaction started with `begin_write` (SQLite takes
//! its write lock up front).

use super::users::{OverrideRow, PRUNE_OVERRIDE};
use super::{on_pool, BeginWrite, Db, DbResult};
use crate::domain::moderation::{describe_flags, PermissionChange};

const BUMP_INFO: &str = "UPDATE rooms SET info_updates = info_updates + 1 WHERE id = $1";

/// A user's override row with their id, for listings.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserOverrideRow {
    pub session_id: String,
    #[sqlx(flatten)]
    pub o: OverrideRow,
}

/// A scheduled permission change.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct PermissionFutureRow {
    pub session_id: String,
    pub at: f64,
    pub perm_read: Option<bool>,
    pub perm_write: Option<bool>,
    pub perm_upload: Option<bool>,
}

/// A scheduled (un)ban of a room.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct BanFutureRow {
    pub session_id: String,
    pub at: f64,
    pub banned: bool,
}

/// A current ban, for `sogs ban list`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct BanRow {
    pub session_id: String,
    /// Room token; `None` for a global ban.
    pub room: Option<String>,
    /// When a scheduled unban lifts it; `None` = permanent.
    pub until: Option<f64>,
}

/// One moderation log entry.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct ModLogRow {
    pub id: i64,
    pub at: f64,
    /// Session id of the moderator, `cli` for the admin command line, `system` for
    /// scheduled changes applied by the cleanup job.
    pub actor: String,
    pub action: String,
    pub room: Option<String>,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// A moderation log entry to write.
#[derive(Clone, Debug, Default)]
pub struct ModLogEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub room: Option<&'a str>,
    pub target: Option<&'a str>,
    pub detail: Option<String>,
}

/// What the cleanup job applied, for the moderation log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppliedFutures {
    /// (room token, user, description) of applied permission changes.
    pub permissions: Vec<(String, String, String)>,
    /// (room token or `None` for global, user, banned) of applied (un)bans.
    pub bans: Vec<(Option<String>, String, bool)>,
}

#[derive(sqlx::FromRow)]
struct DuePermission {
    id: i64,
    room: i64,
    user_id: i64,
    token: String,
    session_id: String,
    perm_read: Option<bool>,
    perm_write: Option<bool>,
    perm_upload: Option<bool>,
    default_read: bool,
    default_write: bool,
    default_upload: bool,
}

#[derive(sqlx::FromRow)]
struct DueBan {
    id: i64,
    room: Option<i64>,
    user_id: i64,
    token: Option<String>,
    session_id: String,
    banned: bool,
}

impl Db {
    /// Bans a user from a room: the room moderator/admin role is removed (bumping
    /// `info_updates` if there was one), room activity is forgotten, and any scheduled room
    /// (un)ban is replaced by an unban at `until` (none = permanent). Returns whether a
    /// moderator role was removed.
    pub async fn ban_in_room(&self, room: i64, user: i64, until: Option<f64>) -> DbResult<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const ROLE: &str = "SELECT moderator, admin FROM user_permission_overrides WHERE room = $1 AND user_id = $2";
            let role: Option<(bool, bool)> = sqlx::query_as(ROLE).bind(room).bind(user).fetch_optional(&mut *tx).await?;
            const BAN: &str = "INSERT INTO user_permission_overrides (room, user_id, banned, moderator, admin) VALUES ($1, $2, TRUE, FALSE, FALSE) ON CONFLICT (room, user_id) DO UPDATE SET banned = TRUE, moderator = FALSE, admin = FALSE";
            sqlx::query(BAN).bind(room).bind(user).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM room_users WHERE room = $1 AND user_id = $2").bind(room).bind(user).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM user_ban_futures WHERE room = $1 AND user_id = $2").bind(room).bind(user).execute(&mut *tx).await?;
            if let Some(at) = until {
                const FUT: &str = "INSERT INTO user_ban_futures (room, user_id, at, banned) VALUES ($1, $2, $3, FALSE)";
                sqlx::query(FUT).bind(room).bind(user).bind(at).execute(&mut *tx).await?;
            }
            let was_mod = role.is_some_and(|(m, a)| m || a);
            if was_mod {
                sqlx::query(BUMP_INFO).bind(room).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(was_mod)
        })
    }

    /// Lifts a room ban and cancels scheduled room (un)bans. Returns whether the user was banned.
    pub async fn unban_in_room(&self, room: i64, user: i64) -> DbResult<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const UNBAN: &str = "UPDATE user_permission_overrides SET banned = FALSE WHERE room = $1 AND user_id = $2 AND banned";
            let n = sqlx::query(UNBAN).bind(room).bind(user).execute(&mut *tx).await?.rows_affected();
            sqlx::query(PRUNE_OVERRIDE).bind(room).bind(user).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM user_ban_futures WHERE room = $1 AND user_id = $2").bind(room).bind(user).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    /// Bans a user server-wide, replacing any scheduled global (un)ban. Global moderators
    /// and admins cannot be banned: returns false and changes nothing for them.
    pub async fn ban_global(&self, user: i64, until: Option<f64>) -> DbResult<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const BAN: &str = "UPDATE users SET banned = TRUE WHERE id = $1 AND NOT moderator AND NOT admin";
            let n = sqlx::query(BAN).bind(user).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM user_ban_futures WHERE room IS NULL AND user_id = $1").bind(user).execute(&mut *tx).await?;
            if let Some(at) = until {
                const FUT: &str = "INSERT INTO user_ban_futures (room, user_id, at, banned) VALUES (NULL, $1, $2, FALSE)";
                sqlx::query(FUT).bind(user).bind(at).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Lifts a global ban and cancels scheduled global (un)bans. Returns whether the user was banned.
    pub async fn unban_global(&self, user: i64) -> DbResult<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const UNBAN: &str = "UPDATE users SET banned = FALSE WHERE id = $1 AND banned";
            let n = sqlx::query(UNBAN).bind(user).execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM user_ban_futures WHERE room IS NULL AND user_id = $1").bind(user).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    /// Current bans (global ones first), with the time a scheduled unban lifts them.
    /// `room` limits the list to that room's bans (global bans are always listed).
    pub async fn bans(&self, room: Option<i64>) -> DbResult<Vec<BanRow>> {
        const GLOBAL: &str = "SELECT u.session_id, CAST(NULL AS TEXT) AS room, (SELECT MIN(f.at) FROM user_ban_futures f WHERE f.user_id = u.id AND f.room IS NULL AND NOT f.banned) AS until FROM users u WHERE u.banned ORDER BY u.session_id";
        const ROOMS: &str = "SELECT u.session_id, r.token AS room, (SELECT MIN(f.at) FROM user_ban_futures f WHERE f.user_id = o.user_id AND f.room = o.room AND NOT f.banned) AS until FROM user_permission_overrides o JOIN users u ON u.id = o.user_id JOIN rooms r ON r.id = o.room WHERE o.banned AND (r.id = $1 OR $2) ORDER BY r.token, u.session_id";
        Ok(on_pool!(self, p => {
            let mut out = sqlx::query_as::<_, BanRow>(GLOBAL).fetch_all(p).await?;
            out.extend(sqlx::query_as::<_, BanRow>(ROOMS).bind(room.unwrap_or(0)).bind(room.is_none()).fetch_all(p).await?);
            out
        }))
    }

    /// Applies a per-user permission change in a room and, as asked, cancels scheduled
    /// changes of the same flags. Returns the override row afterwards (`None` if it became
    /// empty and was removed).
    pub async fn set_permissions(
        &self,
        room: i64,
        user: i64,
        change: &PermissionChange,
    ) -> DbResult<Option<OverrideRow>> {
        let touch = |f: Option<Option<bool>>| (f.is_some(), f.flatten());
        let (r, a, w, u) = (
            touch(change.read),
            touch(change.accessible),
            touch(change.write),
            touch(change.upload),
        );
        let [ur, uw, uu] = change.unschedule_flags();
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const INS: &str = "INSERT INTO user_permission_overrides (room, user_id) VALUES ($1, $2) ON CONFLICT (room, user_id) DO NOTHING";
            sqlx::query(INS).bind(room).bind(user).execute(&mut *tx).await?;
            const UPD: &str = "UPDATE user_permission_overrides SET perm_read = CASE WHEN $3 THEN $4 ELSE perm_read END, perm_accessible = CASE WHEN $5 THEN $6 ELSE perm_accessible END, perm_write = CASE WHEN $7 THEN $8 ELSE perm_write END, perm_upload = CASE WHEN $9 THEN $10 ELSE perm_upload END WHERE room = $1 AND user_id = $2";
            sqlx::query(UPD).bind(room).bind(user)
                .bind(r.0).bind(r.1).bind(a.0).bind(a.1).bind(w.0).bind(w.1).bind(u.0).bind(u.1)
                .execute(&mut *tx).await?;
            sqlx::query(PRUNE_OVERRIDE).bind(room).bind(user).execute(&mut *tx).await?;
            if ur || uw || uu {
                const UNSCHED: &str = "UPDATE user_permission_futures SET perm_read = CASE WHEN $3 THEN NULL ELSE perm_read END, perm_write = CASE WHEN $4 THEN NULL ELSE perm_write END, perm_upload = CASE WHEN $5 THEN NULL ELSE perm_upload END WHERE room = $1 AND user_id = $2";
                sqlx::query(UNSCHED).bind(room).bind(user).bind(ur).bind(uw).bind(uu).execute(&mut *tx).await?;
                const EMPTY: &str = "DELETE FROM user_permission_futures WHERE room = $1 AND user_id = $2 AND perm_read IS NULL AND perm_write IS NULL AND perm_upload IS NULL";
                sqlx::query(EMPTY).bind(room).bind(user).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        self.override_row(room, user).await
    }

    /// Every override row of a room, by session id.
    pub async fn room_overrides(&self, room: i64) -> DbResult<Vec<UserOverrideRow>> {
        const Q: &str = "SELECT u.session_id, o.banned, o.perm_read, o.perm_accessible, o.perm_write, o.perm_upload, o.moderator, o.admin, o.visible_mod FROM user_permission_overrides o JOIN users u ON u.id = o.user_id WHERE o.room = $1 ORDER BY u.session_id";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, UserOverrideRow>(Q).bind(room).fetch_all(p).await?),
        )
    }

    /// Schedules a permission change (existing schedules are kept).
    pub async fn add_permission_future(
        &self,
        room: i64,
        user: i64,
        at: f64,
        flags: [Option<bool>; 3],
    ) -> DbResult<()> {
        const Q: &str = "INSERT INTO user_permission_futures (room, user_id, at, perm_read, perm_write, perm_upload) VALUES ($1, $2, $3, $4, $5, $6)";
        let [r, w, u] = flags;
        on_pool!(self, p => sqlx::query(Q).bind(room).bind(user).bind(at).bind(r).bind(w).bind(u).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Scheduled permission changes of a room (or of one user in it), by time.
    pub async fn permission_futures(
        &self,
        room: i64,
        user: Option<i64>,
    ) -> DbResult<Vec<PermissionFutureRow>> {
        const Q: &str = "SELECT u.session_id, f.at, f.perm_read, f.perm_write, f.perm_upload FROM user_permission_futures f JOIN users u ON u.id = f.user_id WHERE f.room = $1 AND (f.user_id = $2 OR $3) ORDER BY f.at, f.id";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, PermissionFutureRow>(Q)
            .bind(room).bind(user.unwrap_or(0)).bind(user.is_none()).fetch_all(p).await?),
        )
    }

    /// Scheduled (un)bans of a room (or of one user in it), by time.
    pub async fn room_ban_futures(
        &self,
        room: i64,
        user: Option<i64>,
    ) -> DbResult<Vec<BanFutureRow>> {
        const Q: &str = "SELECT u.session_id, f.at, f.banned FROM user_ban_futures f JOIN users u ON u.id = f.user_id WHERE f.room = $1 AND (f.user_id = $2 OR $3) ORDER BY f.at, f.id";
        Ok(on_pool!(self, p => sqlx::query_as::<_, BanFutureRow>(Q)
            .bind(room).bind(user.unwrap_or(0)).bind(user.is_none()).fetch_all(p).await?))
    }

    /// Applies every scheduled change that is due (PROTOCOL.md §11.4), in time order, and
    /// deletes it, in one transaction. A permission flag equal to the room default clears the
    /// override; null flags keep it. A due ban never applies to a moderator.
    pub async fn apply_due_futures(&self, now: f64) -> DbResult<AppliedFutures> {
        let mut applied = AppliedFutures::default();
        // Most runs have nothing due: check without taking the write lock.
        const ANY_DUE: &str = "SELECT (SELECT COUNT(*) FROM user_permission_futures WHERE at <= $1) + (SELECT COUNT(*) FROM user_ban_futures WHERE at <= $1)";
        let due: i64 =
            on_pool!(self, p => sqlx::query_scalar(ANY_DUE).bind(now).fetch_one(p).await?);
        if due == 0 {
            return Ok(applied);
        }
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const DUE_P: &str = "SELECT f.id, f.room, f.user_id, r.token, u.session_id, f.perm_read, f.perm_write, f.perm_upload, r.default_read, r.default_write, r.default_upload FROM user_permission_futures f JOIN rooms r ON r.id = f.room JOIN users u ON u.id = f.user_id WHERE f.at <= $1 ORDER BY f.at, f.id";
            let due: Vec<DuePermission> = sqlx::query_as(DUE_P).bind(now).fetch_all(&mut *tx).await?;
            for f in due {
                // (touch, value): a value equal to the room default clears the override.
                let flag = |v: Option<bool>, default: bool| (v.is_some(), v.filter(|b| *b != default));
                let (r, w, u) = (flag(f.perm_read, f.default_read), flag(f.perm_write, f.default_write), flag(f.perm_upload, f.default_upload));
                const INS: &str = "INSERT INTO user_permission_overrides (room, user_id) VALUES ($1, $2) ON CONFLICT (room, user_id) DO NOTHING";
                sqlx::query(INS).bind(f.room).bind(f.user_id).execute(&mut *tx).await?;
                const UPD: &str = "UPDATE user_permission_overrides SET perm_read = CASE WHEN $3 THEN $4 ELSE perm_read END, perm_write = CASE WHEN $5 THEN $6 ELSE perm_write END, perm_upload = CASE WHEN $7 THEN $8 ELSE perm_upload END WHERE room = $1 AND user_id = $2";
                sqlx::query(UPD).bind(f.room).bind(f.user_id).bind(r.0).bind(r.1).bind(w.0).bind(w.1).bind(u.0).bind(u.1).execute(&mut *tx).await?;
                sqlx::query(PRUNE_OVERRIDE).bind(f.room).bind(f.user_id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM user_permission_futures WHERE id = $1").bind(f.id).execute(&mut *tx).await?;
                let desc = describe_flags(f.perm_read, f.perm_write, f.perm_upload);
                applied.permissions.push((f.token, f.session_id, desc));
            }
            const DUE_B: &str = "SELECT f.id, f.room, f.user_id, r.token, u.session_id, f.banned FROM user_ban_futures f LEFT JOIN rooms r ON r.id = f.room JOIN users u ON u.id = f.user_id WHERE f.at <= $1 ORDER BY f.at, f.id";
            let due: Vec<DueBan> = sqlx::query_as(DUE_B).bind(now).fetch_all(&mut *tx).await?;
            for f in due {
                let changed = match f.room {
                    Some(room) if f.banned => {
                        const BAN: &str = "INSERT INTO user_permission_overrides (room, user_id, banned) VALUES ($1, $2, TRUE) ON CONFLICT (room, user_id) DO UPDATE SET banned = TRUE WHERE NOT user_permission_overrides.moderator AND NOT user_permission_overrides.admin";
                        sqlx::query(BAN).bind(room).bind(f.user_id).execute(&mut *tx).await?.rows_affected()
                    }
                    Some(room) => {
                        const UNBAN: &str = "UPDATE user_permission_overrides SET banned = FALSE WHERE room = $1 AND user_id = $2 AND banned";
                        let n = sqlx::query(UNBAN).bind(room).bind(f.user_id).execute(&mut *tx).await?.rows_affected();
                        sqlx::query(PRUNE_OVERRIDE).bind(room).bind(f.user_id).execute(&mut *tx).await?;
                        n
                    }
                    None => {
                        const SET: &str = "UPDATE users SET banned = $1 WHERE id = $2 AND banned <> $1 AND NOT ($1 AND (moderator OR admin))";
                        sqlx::query(SET).bind(f.banned).bind(f.user_id).execute(&mut *tx).await?.rows_affected()
                    }
                };
                sqlx::query("DELETE FROM user_ban_futures WHERE id = $1").bind(f.id).execute(&mut *tx).await?;
                if changed > 0 {
                    applied.bans.push((f.token, f.session_id, f.banned));
                }
            }
            tx.commit().await?;
        });
        Ok(applied)
    }
}

impl Db {
    /// Pins (or re-pins) a message: `pinned_at`/`pinned_by` refreshed, `info_updates` + 1,
    /// its attachments never expire. Returns the room's `info_updates`.
    pub async fn pin_message(&self, room: i64, message: i64, by: i64, now: f64) -> DbResult<i64> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const PIN: &str = "INSERT INTO pinned_messages (room, message, pinned_by, pinned_at) VALUES ($1, $2, $3, $4) ON CONFLICT (room, message) DO UPDATE SET pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at";
            sqlx::query(PIN).bind(room).bind(message).bind(by).bind(now).execute(&mut *tx).await?;
            sqlx::query("UPDATE files SET expiry = NULL WHERE message = $1 AND room = $2").bind(message).bind(room).execute(&mut *tx).await?;
            const BUMP: &str = "UPDATE rooms SET info_updates = info_updates + 1 WHERE id = $1 RETURNING info_updates";
            let info: i64 = sqlx::query_scalar(BUMP).bind(room).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(info)
        })
    }

    /// Unpins messages of a room (`None` = all of them). Each unpinned message bumps
    /// `info_updates` and its attachments get `expiry = uploaded + upload_expiry` (never, if
    /// uploads do not expire); the room image is left alone. Returns (how many were
    /// unpinned, the room's `info_updates`).
    pub async fn unpin(
        &self,
        room: i64,
        message: Option<i64>,
        upload_expiry: Option<f64>,
    ) -> DbResult<(u64, i64)> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const PINNED: &str = "SELECT message FROM pinned_messages WHERE room = $1 AND (message = $2 OR $3)";
            let ids: Vec<i64> = sqlx::query_scalar(PINNED).bind(room).bind(message.unwrap_or(0)).bind(message.is_none()).fetch_all(&mut *tx).await?;
            for id in &ids {
                sqlx::query("DELETE FROM pinned_messages WHERE room = $1 AND message = $2").bind(room).bind(*id).execute(&mut *tx).await?;
                const KEEP_IMAGE: &str = "AND id NOT IN (SELECT image FROM rooms WHERE image IS NOT NULL)";
                match upload_expiry {
                    Some(secs) => {
                        let q = format!("UPDATE files SET expiry = uploaded + $1 WHERE message = $2 AND room = $3 {KEEP_IMAGE}");
                        sqlx::query(&q).bind(secs).bind(*id).bind(room).execute(&mut *tx).await?;
                    }
                    None => {
                        let q = format!("UPDATE files SET expiry = NULL WHERE message = $1 AND room = $2 {KEEP_IMAGE}");
                        sqlx::query(&q).bind(*id).bind(room).execute(&mut *tx).await?;
                    }
                }
            }
            let n = i64::try_from(ids.len()).unwrap_or(i64::MAX);
            const BUMP: &str = "UPDATE rooms SET info_updates = info_updates + $1 WHERE id = $2 RETURNING info_updates";
            let info: i64 = sqlx::query_scalar(BUMP).bind(n).bind(room).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok((ids.len() as u64, info))
        })
    }

    /// Deletes every undeleted message of `author` in a room (tombstones, as
    /// `delete_messages`) and expires all their uploads in the room now, except the room
    /// image. Returns how many messages were deleted.
    pub async fn delete_all_by(&self, room: i64, author: i64, now: f64) -> DbResult<u64> {
        let ids = self.live_message_ids_by(room, author).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let n = self.delete_messages(&ids, now).await?;
        const EXPIRE: &str = "UPDATE files SET expiry = 0 WHERE room = $1 AND uploader = $2 AND (expiry IS NULL OR expiry > 0) AND id NOT IN (SELECT image FROM rooms WHERE image IS NOT NULL)";
        on_pool!(self, p => sqlx::query(EXPIRE).bind(room).bind(author).execute(p).await?.rows_affected());
        Ok(n)
    }

    /// When a user first posted in a room (silently filtered posts do not count).
    pub async fn first_post_at(&self, room: i64, user: i64) -> DbResult<Option<f64>> {
        const Q: &str =
            "SELECT MIN(posted) FROM messages WHERE room = $1 AND author = $2 AND NOT filtered";
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, Option<f64>>(Q).bind(room).bind(user).fetch_one(p).await?),
        )
    }

    /// Sets a room's post rate limit: `None` = server default (5 per 16 s), `Some((0, _))` = off.
    pub async fn set_room_rate_limit(&self, room: i64, limit: Option<(i64, f64)>) -> DbResult<()> {
        const Q: &str =
            "UPDATE rooms SET rate_limit_posts = $1, rate_limit_interval = $2 WHERE id = $3";
        let (n, secs) = (limit.map(|l| l.0), limit.map(|l| l.1));
        on_pool!(self, p => sqlx::query(Q).bind(n).bind(secs).bind(room).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Stores a room's anti-abuse settings (JSON; `None` = all off).
    pub async fn set_room_filters(&self, room: i64, json: Option<&str>) -> DbResult<()> {
        const Q: &str = "UPDATE rooms SET filters = $1 WHERE id = $2";
        on_pool!(self, p => sqlx::query(Q).bind(json).bind(room).execute(p).await?.rows_affected());
        Ok(())
    }
}

impl Db {
    pub async fn log_moderation(&self, at: f64, e: &ModLogEntry<'_>) -> DbResult<()> {
        const Q: &str = "INSERT INTO moderation_log (at, actor, action, room, target, detail) VALUES ($1, $2, $3, $4, $5, $6)";
        on_pool!(self, p => sqlx::query(Q)
            .bind(at).bind(e.actor).bind(e.action).bind(e.room).bind(e.target).bind(e.detail.as_deref())
            .execute(p).await?.rows_affected());
        Ok(())
    }

    /// The newest `limit` log entries, newest first; `room` keeps only that room's entries.
    pub async fn moderation_log(&self, room: Option<&str>, limit: i64) -> DbResult<Vec<ModLogRow>> {
        const Q: &str = "SELECT id, at, actor, action, room, target, detail FROM moderation_log WHERE (lower(room) = lower($1) OR $2) ORDER BY id DESC LIMIT $3";
        Ok(on_pool!(self, p => sqlx::query_as::<_, ModLogRow>(Q)
            .bind(room.unwrap_or("")).bind(room.is_none()).bind(limit).fetch_all(p).await?))
    }
}
