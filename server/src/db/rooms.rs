//! Rooms: creation, lookup (case-insensitive tokens), listing, deletion, activity counts.

use super::{on_pool, BeginWrite, Db, DbResult};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RoomRow {
    pub id: i64,
    pub token: String,
    pub name: String,
    pub description: Option<String>,
    pub image: Option<i64>,
    pub created: f64,
    pub message_sequence: i64,
    pub info_updates: i64,
    pub active_users: i64,
    pub default_read: bool,
    pub default_accessible: bool,
    pub default_write: bool,
    pub default_upload: bool,
    pub rate_limit_posts: Option<i64>,
    pub rate_limit_interval: Option<f64>,
    pub filters: Option<String>,
    pub dm_members_only: bool,
}

pub(crate) const ROOM_COLS: &str = "id, token, name, description, image, created, message_sequence, info_updates, active_users, default_read, default_accessible, default_write, default_upload, rate_limit_posts, rate_limit_interval, filters, dm_members_only";

/// Default permissions of a room: read, accessible, write, upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoomDefaults {
    pub read: bool,
    pub accessible: bool,
    pub write: bool,
    pub upload: bool,
}

impl Db {
    /// Creates a room; `Ok(None)` when the token is taken (case-insensitively).
    pub async fn create_room(
        &self,
        token: &str,
        name: &str,
        description: Option<&str>,
        defaults: RoomDefaults,
        now: f64,
    ) -> DbResult<Option<RoomRow>> {
        if self.room_by_token(token).await?.is_some() {
            return Ok(None);
        }
        // `info_updates` starts at 1: Session Desktop always polls `pollInfo/0` and only gets
        // the room details when the counter differs (CLIENT.md §7.8).
        let q = format!("INSERT INTO rooms (token, name, description, created, default_read, default_accessible, default_write, default_upload, info_updates) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) RETURNING {ROOM_COLS}");
        let res = on_pool!(self, p => {
            sqlx::query_as::<_, RoomRow>(&q)
                .bind(token).bind(name).bind(description).bind(now)
                .bind(defaults.read).bind(defaults.accessible).bind(defaults.write).bind(defaults.upload)
                .fetch_one(p).await
        });
        match res {
            Ok(room) => Ok(Some(room)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn room_by_token(&self, token: &str) -> DbResult<Option<RoomRow>> {
        let q = format!("SELECT {ROOM_COLS} FROM rooms WHERE lower(token) = lower($1)");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, RoomRow>(&q).bind(token).fetch_optional(p).await?),
        )
    }

    pub async fn room_by_id(&self, id: i64) -> DbResult<Option<RoomRow>> {
        let q = format!("SELECT {ROOM_COLS} FROM rooms WHERE id = $1");
        Ok(on_pool!(self, p => sqlx::query_as::<_, RoomRow>(&q).bind(id).fetch_optional(p).await?))
    }

    /// All rooms, sorted by token case-insensitively (as pysogs' `COLLATE NOCASE`/citext
    /// token column sorts). Sorted here rather than in SQL so the order does not depend on
    /// the database's collation (a PostgreSQL locale collation ignores `-` and `_`).
    pub async fn rooms(&self) -> DbResult<Vec<RoomRow>> {
        let q = format!("SELECT {ROOM_COLS} FROM rooms");
        let mut rooms = on_pool!(self, p => sqlx::query_as::<_, RoomRow>(&q).fetch_all(p).await?);
        rooms.sort_by_cached_key(|r| (r.token.to_ascii_lowercase(), r.token.clone()));
        Ok(rooms)
    }

    /// Deletes a room and everything in it; its files lose their room and expire at once.
    pub async fn delete_room(&self, id: i64) -> DbResult<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("UPDATE files SET room = NULL, expiry = 0 WHERE room = $1").bind(id).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM rooms WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// Recomputes every room's cached `active_users` and forgets activity older than `prune_before`.
    pub async fn refresh_active_users(&self, active_since: f64, prune_before: f64) -> DbResult<()> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM room_users WHERE last_active < $1").bind(prune_before).execute(p).await?;
            sqlx::query("UPDATE rooms SET active_users = (SELECT COUNT(*) FROM room_users ru WHERE ru.room = rooms.id AND ru.last_active >= $1)")
                .bind(active_since).execute(p).await?;
        });
        Ok(())
    }
}

impl Db {
    /// Pinned messages of a room, oldest pin first: (message id, pinned_at, pinned_by id).
    pub async fn pinned_messages(&self, room: i64) -> DbResult<Vec<(i64, f64, String)>> {
        const Q: &str = "SELECT p.message, p.pinned_at, u.session_id FROM pinned_messages p JOIN users u ON u.id = p.pinned_by WHERE p.room = $1 ORDER BY p.pinned_at, p.message";
        Ok(on_pool!(self, p => sqlx::query_as(Q).bind(room).fetch_all(p).await?))
    }
}

/// A change to a room's settings; `None` fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoomUpdate {
    pub name: Option<String>,
    /// `Some(None)` removes the description.
    pub description: Option<Option<String>>,
    /// File id of an upload in this room to use as the room image.
    pub image: Option<i64>,
    pub default_read: Option<bool>,
    pub default_accessible: Option<bool>,
    pub default_write: Option<bool>,
    pub default_upload: Option<bool>,
}

impl RoomUpdate {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Why a room update was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RoomUpdateError {
    /// The image is not an upload of this room.
    ImageNotInRoom,
}

impl Db {
    /// Applies a room update in one transaction. Name, description and image changes bump
    /// `info_updates` once each (a value equal to the current one is no change); default
    /// permission changes do not. A new image never expires; the previous one expires now.
    /// Returns the room's `info_updates` afterwards.
    pub async fn update_room(
        &self,
        room: i64,
        upd: &RoomUpdate,
        now: f64,
    ) -> DbResult<Result<i64, RoomUpdateError>> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let q = format!("SELECT {ROOM_COLS} FROM rooms WHERE id = $1");
            let cur = sqlx::query_as::<_, RoomRow>(&q).bind(room).fetch_one(&mut *tx).await?;
            let mut bumps: i64 = 0;
            if let Some(name) = upd.name.as_ref().filter(|n| **n != cur.name) {
                sqlx::query("UPDATE rooms SET name = $1 WHERE id = $2").bind(name).bind(room).execute(&mut *tx).await?;
                bumps += 1;
            }
            if let Some(desc) = upd.description.as_ref().filter(|d| **d != cur.description) {
                sqlx::query("UPDATE rooms SET description = $1 WHERE id = $2").bind(desc).bind(room).execute(&mut *tx).await?;
                bumps += 1;
            }
            if let Some(image) = upd.image {
                const FILE: &str = "SELECT id FROM files WHERE id = $1 AND room = $2 AND (expiry IS NULL OR expiry > $3)";
                let found: Option<i64> = sqlx::query_scalar(FILE).bind(image).bind(room).bind(now).fetch_optional(&mut *tx).await?;
                if found.is_none() {
                    return Ok(Err(RoomUpdateError::ImageNotInRoom));
                }
                sqlx::query("UPDATE files SET expiry = NULL WHERE id = $1").bind(image).execute(&mut *tx).await?;
                if cur.image != Some(image) {
                    if let Some(old) = cur.image {
                        sqlx::query("UPDATE files SET expiry = 0 WHERE id = $1").bind(old).execute(&mut *tx).await?;
                    }
                    sqlx::query("UPDATE rooms SET image = $1 WHERE id = $2").bind(image).bind(room).execute(&mut *tx).await?;
                    bumps += 1;
                }
            }
            const DEFAULTS: &str = "UPDATE rooms SET default_read = COALESCE($1, default_read), default_accessible = COALESCE($2, default_accessible), default_write = COALESCE($3, default_write), default_upload = COALESCE($4, default_upload) WHERE id = $5";
            sqlx::query(DEFAULTS)
                .bind(upd.default_read).bind(upd.default_accessible).bind(upd.default_write).bind(upd.default_upload).bind(room)
                .execute(&mut *tx).await?;
            const BUMP: &str = "UPDATE rooms SET info_updates = info_updates + $1 WHERE id = $2 RETURNING info_updates";
            let info: i64 = sqlx::query_scalar(BUMP).bind(bumps).bind(room).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(Ok(info))
        })
    }
}
