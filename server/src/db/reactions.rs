//! Reactions (PROTOCOL.md §8.4, §9.2). Every individual add or removal increments the
//! room's `message_sequence` once and stamps the message's `seqno_reactions`, in the same
//! transaction. A `reactions` row exists while at least one user has that reaction, so its
//! id gives the display order (a reaction that comes back goes to the end).

use super::messages::{BUMP_SEQ_BY, STAMP_REACTIONS};
use super::{on_pool, BeginWrite, Db, DbResult};

/// Why a reaction change was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ReactionError {
    /// The message is not a regular message of the room (missing, deleted, filtered, whisper).
    NotFound,
    /// Adding it would exceed the cap on distinct reactions per message.
    TooManyReactions,
}

/// The outcome of a change: whether anything changed (or how many reactions were removed)
/// and the message's `seqno` afterwards.
#[derive(Debug, PartialEq, Eq)]
pub struct ReactionChange {
    pub changed: u64,
    pub seqno: i64,
}

pub type ReactionResult = Result<ReactionChange, ReactionError>;

/// Locks the room's row first, so reaction changes in one room (and the distinct-reaction
/// count) are serialised; then checks the message is reactable.
const LOCK_ROOM: &str = "UPDATE rooms SET message_sequence = message_sequence WHERE id = $1";
const REGULAR: &str = "SELECT seqno FROM messages WHERE id = $1 AND room = $2 AND data IS NOT NULL AND NOT filtered AND whisper_to IS NULL AND NOT whisper_mods";
const DROP_EMPTY: &str = "DELETE FROM reactions WHERE message = $1 AND NOT EXISTS (SELECT 1 FROM user_reactions ur WHERE ur.reaction = reactions.id)";

/// What a reaction change does, inside [`Db::change_reactions`]' transaction.
enum Change<'a> {
    /// `user` adds `reaction`, unless that would make more than `max_distinct` kinds.
    Add {
        user: i64,
        reaction: &'a str,
        now: f64,
        max_distinct: i64,
    },
    /// `user`'s (or everybody's) `reaction` (or every reaction) is removed.
    Remove {
        user: Option<i64>,
        reaction: Option<&'a str>,
    },
}

impl Db {
    /// Adds `user`'s `reaction` to a message. `max_distinct` caps the number of different
    /// reactions a message can carry.
    pub async fn add_reaction(
        &self,
        room: i64,
        message: i64,
        user: i64,
        reaction: &str,
        now: f64,
        max_distinct: i64,
    ) -> DbResult<ReactionResult> {
        let change = Change::Add {
            user,
            reaction,
            now,
            max_distinct,
        };
        self.change_reactions(room, message, change).await
    }

    /// Removes reactions from a message: `user`'s own (`Some(user)`, with a reaction) or
    /// everybody's (`None`; one reaction or, with `reaction = None`, all of them).
    /// One seqno increment per removed user reaction.
    pub async fn remove_reactions(
        &self,
        room: i64,
        message: i64,
        user: Option<i64>,
        reaction: Option<&str>,
    ) -> DbResult<ReactionResult> {
        self.change_reactions(room, message, Change::Remove { user, reaction })
            .await
    }

    /// Every reaction change, in one write transaction: lock the room, check the message is
    /// regular, apply the change, then bump the room's `message_sequence` once per user
    /// reaction added or removed and stamp the message with the result.
    async fn change_reactions(
        &self,
        room: i64,
        message: i64,
        change: Change<'_>,
    ) -> DbResult<ReactionResult> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(LOCK_ROOM).bind(room).execute(&mut *tx).await?;
            let Some(seqno): Option<i64> = sqlx::query_scalar(REGULAR).bind(message).bind(room).fetch_optional(&mut *tx).await? else {
                return Ok(Err(ReactionError::NotFound));
            };
            let changed = match change {
                Change::Add { user, reaction, now, max_distinct } => {
                    const FIND: &str = "SELECT id FROM reactions WHERE message = $1 AND reaction = $2";
                    let existing: Option<i64> = sqlx::query_scalar(FIND).bind(message).bind(reaction).fetch_optional(&mut *tx).await?;
                    let reaction_id = match existing {
                        Some(id) => id,
                        None => {
                            const COUNT: &str = "SELECT COUNT(*) FROM reactions WHERE message = $1";
                            let n: i64 = sqlx::query_scalar(COUNT).bind(message).fetch_one(&mut *tx).await?;
                            if n >= max_distinct {
                                return Ok(Err(ReactionError::TooManyReactions));
                            }
                            const INS: &str = "INSERT INTO reactions (message, reaction) VALUES ($1, $2) RETURNING id";
                            sqlx::query_scalar(INS).bind(message).bind(reaction).fetch_one(&mut *tx).await?
                        }
                    };
                    const ADD: &str = "INSERT INTO user_reactions (reaction, reactor, at) VALUES ($1, $2, $3) ON CONFLICT (reaction, reactor) DO NOTHING";
                    sqlx::query(ADD).bind(reaction_id).bind(user).bind(now).execute(&mut *tx).await?.rows_affected()
                }
                Change::Remove { user, reaction } => {
                    const DEL: &str = "DELETE FROM user_reactions WHERE reaction IN (SELECT id FROM reactions WHERE message = $1 AND ($2 IS NULL OR reaction = $2)) AND ($3 IS NULL OR reactor = $3)";
                    let removed = sqlx::query(DEL).bind(message).bind(reaction).bind(user).execute(&mut *tx).await?.rows_affected();
                    if removed > 0 {
                        sqlx::query(DROP_EMPTY).bind(message).execute(&mut *tx).await?;
                    }
                    removed
                }
            };
            let seqno = if changed > 0 {
                let n = i64::try_from(changed).unwrap_or(i64::MAX);
                let seq: i64 = sqlx::query_scalar(BUMP_SEQ_BY).bind(n).bind(room).fetch_one(&mut *tx).await?;
                sqlx::query(STAMP_REACTIONS).bind(seq).bind(message).execute(&mut *tx).await?;
                seq
            } else {
                seqno
            };
            tx.commit().await?;
            Ok(Ok(ReactionChange { changed, seqno }))
        })
    }

    /// Who has `reaction` on a message, oldest first: `(session id, time added)`.
    /// `limit = None` means all.
    pub async fn reaction_reactors(
        &self,
        message: i64,
        reaction: &str,
        limit: Option<i64>,
    ) -> DbResult<Vec<(String, f64)>> {
        const Q: &str = "SELECT u.session_id, ur.at FROM reactions r JOIN user_reactions ur ON ur.reaction = r.id JOIN users u ON u.id = ur.reactor WHERE r.message = $1 AND r.reaction = $2 ORDER BY ur.at, ur.reactor LIMIT $3";
        let limit = limit.unwrap_or(i64::MAX);
        Ok(
            on_pool!(self, p => sqlx::query_as(Q).bind(message).bind(reaction).bind(limit).fetch_all(p).await?),
        )
    }
}
