//! Uploaded files: rows, attachment to messages, expiry (PROTOCOL.md §8.5, §12.4).
//!
//! A file is *expired* when its `expiry` has passed, unless it is a room's current image or
//! is attached to a pinned message (those never expire, whoever set the pin). Expired files
//! are invisible to downloads and deleted by the cleanup task.

use super::{on_pool, BeginWrite, Db, DbResult};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FileRow {
    pub id: i64,
    pub room: Option<i64>,
    pub uploader: Option<i64>,
    pub message: Option<i64>,
    pub size: i64,
    pub uploaded: f64,
    pub expiry: Option<f64>,
    pub filename: Option<String>,
    /// Relative to the uploads folder.
    pub path: String,
}

/// A new upload's row.
pub struct NewFile<'a> {
    pub room: i64,
    /// `None` for files stored by the operator (CLI).
    pub uploader: Option<i64>,
    pub size: i64,
    pub uploaded: f64,
    pub expiry: Option<f64>,
    pub filename: Option<&'a str>,
}

const FILE_COLS: &str =
    "f.id, f.room, f.uploader, f.message, f.size, f.uploaded, f.expiry, f.filename, f.path";

/// SQL condition: file `f` has expired at time `$N`.
fn expired(now: &str) -> String {
    format!(
        "(f.expiry IS NOT NULL AND f.expiry <= {now} \
         AND NOT EXISTS (SELECT 1 FROM pinned_messages pm WHERE pm.message = f.message) \
         AND NOT EXISTS (SELECT 1 FROM rooms ri WHERE ri.image = f.id))"
    )
}

impl Db {
    /// Inserts an upload's row; its stored path depends on the new id (`path_for(id)`).
    pub async fn insert_file(
        &self,
        f: &NewFile<'_>,
        path_for: impl Fn(i64) -> String,
    ) -> DbResult<FileRow> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            const INS: &str = "INSERT INTO files (room, uploader, size, uploaded, expiry, filename, path) VALUES ($1, $2, $3, $4, $5, $6, '') RETURNING id";
            let id: i64 = sqlx::query_scalar(INS)
                .bind(f.room).bind(f.uploader).bind(f.size).bind(f.uploaded).bind(f.expiry).bind(f.filename)
                .fetch_one(&mut *tx).await?;
            sqlx::query("UPDATE files SET path = $1 WHERE id = $2").bind(path_for(id)).bind(id).execute(&mut *tx).await?;
            let q = format!("SELECT {FILE_COLS} FROM files f WHERE f.id = $1");
            let row = sqlx::query_as::<_, FileRow>(&q).bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// Forgets a file row (used when its bytes could not be stored).
    pub async fn delete_file_row(&self, id: i64) -> DbResult<()> {
        const Q: &str = "DELETE FROM files WHERE id = $1";
        on_pool!(self, p => sqlx::query(Q).bind(id).execute(p).await?.rows_affected());
        Ok(())
    }

    /// A file of `room` that has not expired at `now`.
    pub async fn live_file(&self, room: i64, id: i64, now: f64) -> DbResult<Option<FileRow>> {
        let q = format!(
            "SELECT {FILE_COLS} FROM files f WHERE f.id = $1 AND f.room = $2 AND NOT {}",
            expired("$3")
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, FileRow>(&q).bind(id).bind(room).bind(now).fetch_optional(p).await?),
        )
    }

    pub async fn file_by_id(&self, id: i64) -> DbResult<Option<FileRow>> {
        let q = format!("SELECT {FILE_COLS} FROM files f WHERE f.id = $1");
        Ok(on_pool!(self, p => sqlx::query_as::<_, FileRow>(&q).bind(id).fetch_optional(p).await?))
    }

    /// Attaches uploads to a message (PROTOCOL.md §8.5): only files of this room, uploaded by
    /// `uploader` within the last hour, not yet attached and still expiring; others are
    /// ignored. They then expire at `expiry` (`None` = never; also never while the message is
    /// pinned). Returns how many were attached.
    pub async fn attach_files(
        &self,
        room: i64,
        uploader: i64,
        message: i64,
        ids: &[i64],
        now: f64,
        expiry: Option<f64>,
    ) -> DbResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let marks: Vec<String> = (7..7 + ids.len()).map(|i| format!("${i}")).collect();
        let q = format!(
            "UPDATE files SET message = $1, expiry = CASE WHEN EXISTS (SELECT 1 FROM pinned_messages pm WHERE pm.message = $1) THEN NULL ELSE $2 END \
             WHERE room = $3 AND uploader = $4 AND message IS NULL AND expiry IS NOT NULL AND expiry > $5 AND uploaded >= $6 AND id IN ({})",
            marks.join(", ")
        );
        let recent = now - crate::files::NEW_UPLOAD_LIFETIME_SECS;
        Ok(on_pool!(self, p => {
            let mut query = sqlx::query(&q).bind(message).bind(expiry).bind(room).bind(uploader).bind(now).bind(recent);
            for id in ids {
                query = query.bind(*id);
            }
            query.execute(p).await?.rows_affected()
        }))
    }

    /// Deletes up to `limit` expired file rows and returns their stored paths (the caller
    /// deletes the bytes). Rows go first, so a file can never be downloaded after its bytes
    /// are gone; a crash in between leaves only unreferenced bytes.
    pub async fn take_expired_files(&self, now: f64, limit: i64) -> DbResult<Vec<String>> {
        let q = format!(
            "DELETE FROM files WHERE id IN (SELECT f.id FROM files f WHERE {} ORDER BY f.id LIMIT $2) RETURNING path",
            expired("$1")
        );
        Ok(on_pool!(self, p => sqlx::query_scalar(&q).bind(now).bind(limit).fetch_all(p).await?))
    }
}
