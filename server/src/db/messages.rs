//! Messages, their sequence numbers (DATA-MODEL.md §2.1), edits, deletions and reactions.
//! Every seqno change happens in the same transaction as the change that causes it.

use super::{on_pool, BeginWrite, Db, DbResult};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub room: i64,
    pub author: i64,
    pub session_id: String,
    pub posted: f64,
    pub edited: Option<f64>,
    pub seqno: i64,
    pub seqno_data: i64,
    pub seqno_reactions: i64,
    pub seqno_creation: i64,
    pub data: Option<Vec<u8>>,
    pub signature: Option<Vec<u8>>,
    pub filtered: bool,
    pub whisper_mods: bool,
    pub whisper_to: Option<String>,
}

impl MessageRow {
    pub fn is_deleted(&self) -> bool {
        self.data.is_none()
    }
    pub fn is_whisper(&self) -> bool {
        self.whisper_mods || self.whisper_to.is_some()
    }
    /// A message everyone who can read the room sees: not deleted, not filtered, no whisper
    /// (what can be pinned and reacted to).
    pub fn is_regular(&self) -> bool {
        !self.is_deleted() && !self.filtered && !self.is_whisper()
    }
}

/// Who is looking: decides which whispers are visible (PROTOCOL.md §9.5).
#[derive(Clone, Copy, Debug, Default)]
pub struct Viewer {
    pub user: Option<i64>,
    pub moderator: bool,
}

/// A new post.
pub struct NewMessage<'a> {
    pub room: i64,
    pub author: i64,
    pub data: &'a [u8],
    pub signature: &'a [u8],
    pub whisper_to: Option<i64>,
    pub whisper_mods: bool,
    pub filtered: bool,
    pub now: f64,
}

/// One user's reaction, as read for message objects.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReactorRow {
    pub message: i64,
    pub reaction_id: i64,
    pub reaction: String,
    pub reactor: i64,
    pub session_id: String,
    pub at: f64,
}

const MSG_COLS: &str = "m.id, m.room, m.author, u.session_id, m.posted, m.edited, m.seqno, m.seqno_data, m.seqno_reactions, m.seqno_creation, m.data, m.signature, m.filtered, m.whisper_mods, w.session_id AS whisper_to";
const MSG_FROM: &str =
    "FROM messages m JOIN users u ON u.id = m.author LEFT JOIN users w ON w.id = m.whisper_to";
/// Whisper visibility with `$V` = viewer id (or NULL) and `$M` = viewer is a moderator.
fn visible(v: &str, m: &str) -> String {
    format!("((m.whisper_to IS NULL AND NOT m.whisper_mods) OR m.whisper_to = {v} OR ({m} AND (m.whisper_mods OR m.author = {v})))")
}

/// Increments a room's message counter inside a transaction and returns the new value.
const BUMP_SEQ: &str =
    "UPDATE rooms SET message_sequence = message_sequence + 1 WHERE id = $1 RETURNING message_sequence";
/// Adds `$1` to room `$2`'s message counter and returns the new value (one per reaction change).
pub(super) const BUMP_SEQ_BY: &str = "UPDATE rooms SET message_sequence = message_sequence + $1 WHERE id = $2 RETURNING message_sequence";
/// Records that message `$2`'s reactions changed at seqno `$1`.
pub(super) const STAMP_REACTIONS: &str =
    "UPDATE messages SET seqno_reactions = $1, seqno = $1 WHERE id = $2";
/// Keeps a message's current content in its history before an edit or deletion at `$1`.
const KEEP_HISTORY: &str = "INSERT INTO message_history (message, replaced, data, signature) SELECT id, $1, data, signature FROM messages WHERE id = $2";

impl Db {
    pub async fn insert_message(&self, m: &NewMessage<'_>) -> DbResult<MessageRow> {
        let id: i64 = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let seq: i64 = sqlx::query_scalar(BUMP_SEQ).bind(m.room).fetch_one(&mut *tx).await?;
            const INS: &str = "INSERT INTO messages (room, author, posted, seqno, seqno_data, seqno_creation, data, signature, whisper_to, whisper_mods, filtered) VALUES ($1, $2, $3, $4, $4, $4, $5, $6, $7, $8, $9) RETURNING id";
            let id: i64 = sqlx::query_scalar(INS)
                .bind(m.room).bind(m.author).bind(m.now).bind(seq)
                .bind(m.data).bind(m.signature).bind(m.whisper_to).bind(m.whisper_mods).bind(m.filtered)
                .fetch_one(&mut *tx).await?;
            tx.commit().await?;
            id
        });
        self.message_by_id(id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn message_by_id(&self, id: i64) -> DbResult<Option<MessageRow>> {
        let q = format!("SELECT {MSG_COLS} {MSG_FROM} WHERE m.id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, MessageRow>(&q).bind(id).fetch_optional(p).await?),
        )
    }

    /// Updates a message's content. Returns false (and changes only the signature) when the
    /// bytes are unchanged; otherwise keeps the old version in history and bumps seqno.
    pub async fn edit_message(
        &self,
        msg: &MessageRow,
        data: &[u8],
        signature: &[u8],
        now: f64,
    ) -> DbResult<bool> {
        if msg.data.as_deref() == Some(data) {
            const Q: &str = "UPDATE messages SET signature = $1 WHERE id = $2";
            on_pool!(self, p => sqlx::query(Q).bind(signature).bind(msg.id).execute(p).await?.rows_affected());
            return Ok(false);
        }
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let seq: i64 = sqlx::query_scalar(BUMP_SEQ).bind(msg.room).fetch_one(&mut *tx).await?;
            sqlx::query(KEEP_HISTORY).bind(now).bind(msg.id).execute(&mut *tx).await?;
            const UPD: &str = "UPDATE messages SET data = $1, signature = $2, edited = $3, seqno_data = $4, seqno = CASE WHEN seqno_reactions > $4 THEN seqno_reactions ELSE $4 END WHERE id = $5 AND data IS NOT NULL";
            sqlx::query(UPD).bind(data).bind(signature).bind(now).bind(seq).bind(msg.id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Deletes messages (tombstones): history row, seqno bump, reactions removed (one bump
    /// each), unpinned (bumping `info_updates`), attachments expired. Returns how many were
    /// deleted (already-deleted ones are skipped).
    pub async fn delete_messages(&self, ids: &[i64], now: f64) -> DbResult<u64> {
        let mut deleted = 0;
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            for &id in ids {
                const CUR: &str = "SELECT room FROM messages WHERE id = $1 AND data IS NOT NULL";
                let Some(room): Option<i64> = sqlx::query_scalar(CUR).bind(id).fetch_optional(&mut *tx).await? else { continue };
                let seq: i64 = sqlx::query_scalar(BUMP_SEQ).bind(room).fetch_one(&mut *tx).await?;
                sqlx::query(KEEP_HISTORY).bind(now).bind(id).execute(&mut *tx).await?;
                const UPD: &str = "UPDATE messages SET data = NULL, signature = NULL, edited = $1, seqno_data = $2, seqno = $2 WHERE id = $3";
                sqlx::query(UPD).bind(now).bind(seq).bind(id).execute(&mut *tx).await?;
                const COUNT_R: &str = "SELECT COUNT(*) FROM user_reactions ur JOIN reactions r ON r.id = ur.reaction WHERE r.message = $1";
                let n: i64 = sqlx::query_scalar(COUNT_R).bind(id).fetch_one(&mut *tx).await?;
                if n > 0 {
                    let seq: i64 = sqlx::query_scalar(BUMP_SEQ_BY).bind(n).bind(room).fetch_one(&mut *tx).await?;
                    sqlx::query("DELETE FROM reactions WHERE message = $1").bind(id).execute(&mut *tx).await?;
                    sqlx::query(STAMP_REACTIONS).bind(seq).bind(id).execute(&mut *tx).await?;
                }
                let unpinned = sqlx::query("DELETE FROM pinned_messages WHERE message = $1").bind(id).execute(&mut *tx).await?.rows_affected();
                if unpinned > 0 {
                    sqlx::query("UPDATE rooms SET info_updates = info_updates + 1 WHERE id = $1").bind(room).execute(&mut *tx).await?;
                }
                sqlx::query("UPDATE files SET expiry = 0 WHERE message = $1 AND id NOT IN (SELECT image FROM rooms WHERE image IS NOT NULL)").bind(id).execute(&mut *tx).await?;
                deleted += 1;
            }
            tx.commit().await?;
        });
        Ok(deleted)
    }

    /// Ids of a user's undeleted messages in a room.
    pub async fn live_message_ids_by(&self, room: i64, author: i64) -> DbResult<Vec<i64>> {
        const Q: &str = "SELECT id FROM messages WHERE room = $1 AND author = $2 AND data IS NOT NULL ORDER BY id";
        Ok(on_pool!(self, p => sqlx::query_scalar(Q).bind(room).bind(author).fetch_all(p).await?))
    }

    /// Polling: updates after `since` in seqno order (PROTOCOL.md §9.2).
    pub async fn messages_since(
        &self,
        room: i64,
        since: i64,
        with_reactions: bool,
        viewer: Viewer,
        limit: i64,
    ) -> DbResult<Vec<MessageRow>> {
        let q = format!(
            "SELECT {MSG_COLS} {MSG_FROM} WHERE m.room = $1 AND m.seqno > $2 AND NOT m.filtered AND (m.data IS NOT NULL OR m.seqno_creation <= $2) AND ($3 OR m.seqno_data > $2) AND {} ORDER BY m.seqno LIMIT $6",
            visible("$4", "$5")
        );
        Ok(on_pool!(self, p => sqlx::query_as::<_, MessageRow>(&q)
            .bind(room).bind(since).bind(with_reactions).bind(viewer.user).bind(viewer.moderator).bind(limit)
            .fetch_all(p).await?))
    }

    /// Newest visible undeleted messages, newest first, optionally only ids below `before`.
    pub async fn messages_recent(
        &self,
        room: i64,
        before: Option<i64>,
        viewer: Viewer,
        limit: i64,
    ) -> DbResult<Vec<MessageRow>> {
        let q = format!(
            "SELECT {MSG_COLS} {MSG_FROM} WHERE m.room = $1 AND m.id < $2 AND m.data IS NOT NULL AND NOT m.filtered AND {} ORDER BY m.id DESC LIMIT $5",
            visible("$3", "$4")
        );
        Ok(on_pool!(self, p => sqlx::query_as::<_, MessageRow>(&q)
            .bind(room).bind(before.unwrap_or(i64::MAX)).bind(viewer.user).bind(viewer.moderator).bind(limit)
            .fetch_all(p).await?))
    }

    /// Every user reaction on these messages, grouped by reaction in first-use order and
    /// by time within a reaction.
    pub async fn reactors_of(&self, messages: &[i64]) -> DbResult<Vec<ReactorRow>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=messages.len()).map(|i| format!("${i}")).collect();
        let q = format!(
            "SELECT r.message, r.id AS reaction_id, r.reaction, ur.reactor, u.session_id, ur.at FROM reactions r JOIN user_reactions ur ON ur.reaction = r.id JOIN users u ON u.id = ur.reactor WHERE r.message IN ({}) ORDER BY r.message, r.id, ur.at, ur.reactor",
            marks.join(", ")
        );
        Ok(on_pool!(self, p => {
            let mut query = sqlx::query_as::<_, ReactorRow>(&q);
            for id in messages {
                query = query.bind(*id);
            }
            query.fetch_all(p).await?
        }))
    }
}

impl Db {
    /// Forgets edit/deletion history replaced before `before`.
    pub async fn prune_history(&self, before: f64) -> DbResult<u64> {
        const Q: &str = "DELETE FROM message_history WHERE replaced < $1";
        let done =
            on_pool!(self, p => sqlx::query(Q).bind(before).execute(p).await?.rows_affected());
        Ok(done)
    }
}
