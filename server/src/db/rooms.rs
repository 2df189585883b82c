//! Rooms: creation, lookup (case-insensitive tokens), listing, deletion, activity counts.

use super::{on_pool, Db, DbResult};

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
        let q = format!("INSERT INTO rooms (token, name, description, created, default_read, default_accessible, default_write, default_upload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {ROOM_COLS}");
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

    /// All rooms, sorted by token.
    pub async fn rooms(&self) -> DbResult<Vec<RoomRow>> {
        let q = format!("SELECT {ROOM_COLS} FROM rooms ORDER BY token");
        Ok(on_pool!(self, p => sqlx::query_as::<_, RoomRow>(&q).fetch_all(p).await?))
    }

    /// Deletes a room and everything in it; its files lose their room and expire at once.
    pub async fn delete_room(&self, id: i64) -> DbResult<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
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
