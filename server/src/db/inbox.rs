//! Direct messages between users (the blinded inbox, PROTOCOL.md §8.7). Bodies are opaque.

use super::{on_pool, BeginWrite, Db, DbResult};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DmRow {
    pub id: i64,
    pub posted_at: f64,
    pub expiry: f64,
    pub sender: String,
    pub recipient: String,
    pub body: Vec<u8>,
}

/// Which side of the conversation a listing is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mailbox {
    /// Messages the user received.
    Inbox,
    /// Messages the user sent.
    Outbox,
}

const DM_COLS: &str =
    "i.id, i.posted_at, i.expiry, s.session_id AS sender, r.session_id AS recipient, i.body";
const DM_FROM: &str =
    "FROM inbox i JOIN users s ON s.id = i.sender JOIN users r ON r.id = i.recipient";

impl Db {
    /// Stores a DM and returns it.
    pub async fn insert_dm(
        &self,
        sender: i64,
        recipient: i64,
        body: &[u8],
        now: f64,
        expiry: f64,
    ) -> DbResult<DmRow> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const INS: &str = "INSERT INTO inbox (recipient, sender, body, posted_at, expiry) VALUES ($1, $2, $3, $4, $5) RETURNING id";
            let id: i64 = sqlx::query_scalar(INS).bind(recipient).bind(sender).bind(body).bind(now).bind(expiry)
                .fetch_one(&mut *tx).await?;
            let q = format!("SELECT {DM_COLS} {DM_FROM} WHERE i.id = $1");
            let row = sqlx::query_as::<_, DmRow>(&q).bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// A user's unexpired received or sent DMs with id > `since`, oldest first.
    pub async fn dms(
        &self,
        user: i64,
        mailbox: Mailbox,
        since: i64,
        limit: i64,
        now: f64,
    ) -> DbResult<Vec<DmRow>> {
        let side = match mailbox {
            Mailbox::Inbox => "i.recipient",
            Mailbox::Outbox => "i.sender",
        };
        let q = format!(
            "SELECT {DM_COLS} {DM_FROM} WHERE {side} = $1 AND i.id > $2 AND i.expiry > $3 ORDER BY i.id LIMIT $4"
        );
        Ok(on_pool!(self, p => sqlx::query_as::<_, DmRow>(&q)
            .bind(user).bind(since).bind(now).bind(limit).fetch_all(p).await?))
    }

    /// Deletes every DM a user received; returns how many.
    pub async fn delete_inbox(&self, user: i64) -> DbResult<u64> {
        const Q: &str = "DELETE FROM inbox WHERE recipient = $1";
        Ok(on_pool!(self, p => sqlx::query(Q).bind(user).execute(p).await?.rows_affected()))
    }

    /// Deletes DMs whose expiry has passed.
    pub async fn prune_dms(&self, now: f64) -> DbResult<u64> {
        const Q: &str = "DELETE FROM inbox WHERE expiry <= $1";
        Ok(on_pool!(self, p => sqlx::query(Q).bind(now).execute(p).await?.rows_affected()))
    }

    /// Whether a user is banned in at least one room.
    pub async fn banned_in_any_room(&self, user: i64) -> DbResult<bool> {
        const Q: &str =
            "SELECT COUNT(*) FROM user_permission_overrides WHERE user_id = $1 AND banned";
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(Q).bind(user).fetch_one(p).await?);
        Ok(n > 0)
    }

    /// Whether a room with `dm_members_only` set refuses this DM: the recipient is a member
    /// (has been active in it) and the sender is neither a member nor one of its moderators.
    /// Global moderators are never refused.
    pub async fn dm_refused_by_room(&self, sender: i64, recipient: i64) -> DbResult<bool> {
        const Q: &str = "SELECT COUNT(*) FROM rooms r JOIN room_users ru ON ru.room = r.id AND ru.user_id = $1 \
            WHERE r.dm_members_only \
            AND NOT EXISTS (SELECT 1 FROM room_users su WHERE su.room = r.id AND su.user_id = $2) \
            AND NOT EXISTS (SELECT 1 FROM user_permission_overrides o WHERE o.room = r.id AND o.user_id = $2 AND o.moderator) \
            AND NOT EXISTS (SELECT 1 FROM users g WHERE g.id = $2 AND g.moderator)";
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(Q).bind(recipient).bind(sender).fetch_one(p).await?);
        Ok(n > 0)
    }

    /// Sets a room's "DMs to members only from members" switch.
    pub async fn set_dm_members_only(&self, room: i64, on: bool) -> DbResult<()> {
        const Q: &str = "UPDATE rooms SET dm_members_only = $1 WHERE id = $2";
        on_pool!(self, p => sqlx::query(Q).bind(on).bind(room).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Sets or clears a user's ban flag in one room, nothing else (the moderation code owns
    /// the full ban rules; this is for operators' tooling and tests).
    pub async fn set_room_ban_flag(&self, room: i64, user: i64, banned: bool) -> DbResult<()> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const UPSERT: &str = "INSERT INTO user_permission_overrides (room, user_id, banned) VALUES ($1, $2, $3) ON CONFLICT (room, user_id) DO UPDATE SET banned = excluded.banned, moderator = (user_permission_overrides.moderator AND NOT excluded.banned), admin = (user_permission_overrides.admin AND NOT excluded.banned)";
            sqlx::query(UPSERT).bind(room).bind(user).bind(banned).execute(&mut *tx).await?;
            sqlx::query(super::users::PRUNE_OVERRIDE).bind(room).bind(user).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }
}
