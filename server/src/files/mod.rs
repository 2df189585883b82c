//! All file I/O of the server's data: where uploads live on disk, how they get there (a
//! complete temporary file renamed into place, so a crash never leaves a partial file
//! visible), reading and deleting them, and the temporary files large request bodies are
//! spooled to. Also the filename rules of PROTOCOL.md §8.5, §12.1: the stored name (cleaned from
//! the upload's Content-Disposition, parsed by `sogs_client::disposition`) and the sanitised
//! name on disk.

use crate::db::files::NewFile;
use crate::db::rooms::RoomRow;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::http::Body;
use anyhow::{bail, Context};
use bytes::Bytes;
use sogs_client::disposition;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use tokio_util::io::ReaderStream;

/// New uploads expire after this long unless attached to a post or made a room image.
pub const NEW_UPLOAD_LIFETIME_SECS: f64 = 3600.0;

/// Where uploads are stored: `<data_dir>/uploads/<room token>/<id>_<name>`, staged in
/// `<data_dir>/tmp` (where request bodies are spooled too) before being renamed into place.
#[derive(Clone, Debug)]
pub struct FileStore {
    uploads: PathBuf,
    tmp: PathBuf,
}

/// Where the bytes of a new upload come from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    Bytes(&'a [u8]),
    /// A temporary file we own (a spooled request body): renamed into place.
    Move(&'a Path),
    /// Someone else's file (the CLI's `--image`): copied.
    Copy(&'a Path),
}

impl<'a> Source<'a> {
    /// The bytes of a request body.
    pub fn of_body(body: &'a Body) -> Self {
        match body {
            Body::Memory(b) => Self::Bytes(b),
            Body::File { path, .. } => Self::Move(path),
        }
    }
}

impl FileStore {
    /// A store for a data folder: `<data_dir>/uploads` and `<data_dir>/tmp`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            uploads: data_dir.join("uploads"),
            tmp: data_dir.join("tmp"),
        }
    }

    /// The stored path of upload `id` relative to the uploads folder (what the database keeps).
    pub fn relative_path(room_token: &str, id: i64, filename: Option<&str>) -> String {
        format!("{room_token}/{id}_{}", disk_name(filename))
    }

    /// The absolute path of a stored relative path; `None` for anything that could leave the
    /// uploads folder.
    pub fn absolute(&self, rel: &str) -> Option<PathBuf> {
        let rel = Path::new(rel);
        let normal = rel.components().all(|c| matches!(c, Component::Normal(_)));
        (normal && !rel.as_os_str().is_empty()).then(|| self.uploads.join(rel))
    }

    /// Writes an upload's bytes to `rel`: complete and synced to disk in a temporary file
    /// first, then renamed to its final name, so no partial file is ever visible there.
    pub async fn save(&self, source: Source<'_>, rel: &str) -> io::Result<()> {
        let dest = self.absolute(rel).ok_or_else(|| bad_path(rel))?;
        let dir = dest
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| bad_path(rel))?;
        let source = match source {
            Source::Bytes(b) => OwnedSource::Bytes(b.to_vec()),
            Source::Move(p) => OwnedSource::Move(p.to_path_buf()),
            Source::Copy(p) => OwnedSource::Copy(p.to_path_buf()),
        };
        let tmp = self.tmp.clone();
        blocking(move || save_blocking(&source, &tmp, &dir, &dest)).await
    }

    /// Deletes temporary files older than `max_age` (left behind by a crash mid-upload);
    /// returns how many.
    pub async fn sweep_tmp(&self, max_age: std::time::Duration) -> io::Result<u64> {
        let tmp = self.tmp.clone();
        blocking(move || {
            let entries = match std::fs::read_dir(&tmp) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(e),
            };
            let mut removed = 0;
            for entry in entries {
                let entry = entry?;
                let meta = entry.metadata()?;
                let old = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .is_some_and(|age| age > max_age);
                if meta.is_file() && old && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }

    /// A new temporary file to spool a large request body into, in the temporary folder
    /// (where the cleanup task sweeps up what a crash leaves behind).
    pub fn spool(&self) -> io::Result<Spool> {
        std::fs::create_dir_all(&self.tmp)?;
        Ok(Spool(tempfile::NamedTempFile::new_in(&self.tmp)?))
    }

    /// The absolute path and size of a stored file; `None` when its bytes are missing.
    pub async fn stat(&self, rel: &str) -> io::Result<Option<(PathBuf, u64)>> {
        let Some(path) = self.absolute(rel) else {
            return Ok(None);
        };
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(Some((path, m.len()))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes a stored file; one already gone is not an error.
    pub async fn remove(&self, rel: &str) -> io::Result<()> {
        let Some(path) = self.absolute(rel) else {
            return Ok(());
        };
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A request body being written to a temporary file (see [`FileStore::spool`]).
pub struct Spool(tempfile::NamedTempFile);

impl Spool {
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }

    /// The finished file; it is deleted when the returned path is dropped (unless an upload
    /// moves it into place first).
    pub fn finish(self) -> tempfile::TempPath {
        self.0.into_temp_path()
    }
}

/// The whole content of a spooled body or stored file, for what must hold it in memory (an
/// embedded `/batch` or onion reply, an onion body).
pub async fn read_whole(path: &Path) -> io::Result<Bytes> {
    tokio::fs::read(path).await.map(Bytes::from)
}

/// A stored file as a stream of chunks, for a download.
pub async fn open_stream(path: &Path) -> io::Result<ReaderStream<tokio::fs::File>> {
    Ok(ReaderStream::new(tokio::fs::File::open(path).await?))
}

/// Records a new upload and stores its bytes; returns its id. If the bytes cannot be stored
/// the row is removed again. (A crash between the two leaves a row without bytes: downloads
/// answer 404 and the cleanup task removes it when it expires.)
pub async fn store_upload(
    db: &Db,
    files: &FileStore,
    room_token: &str,
    new: &NewFile<'_>,
    source: Source<'_>,
) -> ApiResult<i64> {
    let row = db
        .insert_file(new, |id| {
            FileStore::relative_path(room_token, id, new.filename)
        })
        .await?;
    if let Err(e) = files.save(source, &row.path).await {
        db.delete_file_row(row.id).await?;
        return Err(ApiError::Internal(
            anyhow::Error::new(e).context("storing an upload"),
        ));
    }
    Ok(row.id)
}

/// Stores a local file (the CLI's `--image`) as an operator upload of `room`, by copying it;
/// returns its id. Only a non-empty regular file of at most `max_bytes` is accepted.
pub async fn store_local_file(
    db: &Db,
    files: &FileStore,
    room: &RoomRow,
    path: &Path,
    max_bytes: u64,
    now: f64,
) -> anyhow::Result<i64> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() || meta.len() == 0 {
        bail!("{}: not a non-empty file", path.display());
    }
    if meta.len() > max_bytes {
        bail!(
            "{}: {} bytes is over the upload limit of {max_bytes} bytes",
            path.display(),
            meta.len(),
        );
    }
    let filename = path
        .file_name()
        .and_then(|n| clean_filename(&n.to_string_lossy()));
    let new = NewFile {
        room: room.id,
        uploader: None,
        size: i64::try_from(meta.len())?,
        uploaded: now,
        expiry: Some(now + NEW_UPLOAD_LIFETIME_SECS),
        filename: filename.as_deref(),
    };
    Ok(store_upload(db, files, &room.token, &new, Source::Copy(path)).await?)
}

enum OwnedSource {
    Bytes(Vec<u8>),
    Move(PathBuf),
    Copy(PathBuf),
}

fn bad_path(rel: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("bad upload path {rel:?}"),
    )
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("file task failed: {e}")))?
}

fn save_blocking(source: &OwnedSource, tmp_dir: &Path, dir: &Path, dest: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if let OwnedSource::Move(src) = source {
        // A spooled body is already complete: make sure it is on disk, then rename it.
        std::fs::File::open(src)?.sync_all()?;
        if std::fs::rename(src, dest).is_ok() {
            return sync_dir(dir);
        }
    }
    // Stage in the temporary folder; if that is on another file system than the uploads
    // (rename fails), stage in the destination folder instead.
    std::fs::create_dir_all(tmp_dir)?;
    let staged = stage(source, tmp_dir)?;
    match staged.persist(dest) {
        Ok(_) => sync_dir(dir),
        Err(_) => {
            stage(source, dir)?.persist(dest).map_err(|e| e.error)?;
            sync_dir(dir)
        }
    }
}

/// A complete, synced temporary copy of `source` in `dir`.
fn stage(source: &OwnedSource, dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".upload-")
        .tempfile_in(dir)?;
    match source {
        OwnedSource::Bytes(b) => tmp.write_all(b)?,
        OwnedSource::Move(p) | OwnedSource::Copy(p) => {
            let mut f = std::fs::File::open(p)?;
            io::copy(&mut f, tmp.as_file_mut())?;
        }
    }
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// Makes a rename durable (best effort: not every platform can sync a directory).
fn sync_dir(dir: &Path) -> io::Result<()> {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The filename as stored and returned: NUL and `/` become U+FFFD; empty means none.
pub fn clean_filename(name: &str) -> Option<String> {
    let clean: String = name
        .chars()
        .map(|c| if c == '\0' || c == '/' { '\u{FFFD}' } else { c })
        .collect();
    (!clean.is_empty()).then_some(clean)
}

/// The name part on disk (pysogs' rule): runs of characters other than word characters and
/// `+-.'()@[]` become `_`; at most 60 characters (first 40 + `...` + last 17);
/// `(unnamed)` when there is no name.
pub fn disk_name(name: Option<&str>) -> String {
    let allowed = |c: char| c.is_alphanumeric() || "_+-.'()@[]".contains(c);
    let mut out = String::new();
    let mut in_run = false;
    for c in name.unwrap_or_default().chars() {
        if allowed(c) {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    let chars: Vec<char> = out.chars().collect();
    if chars.is_empty() {
        return "(unnamed)".into();
    }
    if chars.len() > 60 {
        let head: String = chars.iter().take(40).collect();
        let tail: String = chars.iter().skip(chars.len() - 17).collect();
        return format!("{head}...{tail}");
    }
    out
}

/// The filename of an upload's `Content-Disposition` header (parsed by
/// [`sogs_client::disposition`]), cleaned for storage (see [`clean_filename`]).
pub fn filename_from_content_disposition(value: &str) -> Option<String> {
    disposition::filename_from_content_disposition(value).and_then(|n| clean_filename(&n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sogs_client::disposition::content_disposition;

    #[test]
    fn content_disposition_forms() {
        let f = filename_from_content_disposition;
        assert_eq!(
            f("attachment; filename*=UTF-8''my%20%F0%9F%8E%82.txt").as_deref(),
            Some("my 🎂.txt")
        );
        assert_eq!(
            f("attachment; filename=\"a \\\"b\\\"; c.txt\"").as_deref(),
            Some("a \"b\"; c.txt")
        );
        assert_eq!(
            f("attachment; filename=plain.bin").as_deref(),
            Some("plain.bin")
        );
        assert_eq!(
            f("attachment; filename=\"fallback.txt\"; filename*=utf-8''real%2Fname").as_deref(),
            Some("real\u{FFFD}name")
        );
        assert_eq!(
            f("attachment; filename*=UTF-8''a%00b").as_deref(),
            Some("a\u{FFFD}b")
        );
        assert_eq!(f("attachment"), None);
        assert_eq!(f("attachment; filename=\"\""), None);
        assert_eq!(f("inline; FILENAME=x").as_deref(), Some("x"));
    }

    #[test]
    fn download_disposition_round_trips() {
        let h = content_disposition(Some("my 🎂 (1).txt"));
        assert_eq!(
            h,
            "attachment; filename*=UTF-8''my%20%F0%9F%8E%82%20%281%29.txt"
        );
        assert_eq!(
            filename_from_content_disposition(&h).as_deref(),
            Some("my 🎂 (1).txt")
        );
        assert_eq!(content_disposition(None), "attachment");
    }

    #[test]
    fn disk_names_are_safe() {
        assert_eq!(disk_name(None), "(unnamed)");
        assert_eq!(disk_name(Some("a b/c..d")), "a_b_c..d");
        assert_eq!(disk_name(Some("../../etc/passwd")), ".._.._etc_passwd");
        assert_eq!(disk_name(Some("🎂 cake.txt")), "_cake.txt");
        let long = "x".repeat(50) + &"y".repeat(30);
        let d = disk_name(Some(&long));
        assert_eq!(d.chars().count(), 60);
        assert!(d.starts_with(&"x".repeat(40)) && d.ends_with(&"y".repeat(17)));
        assert_eq!(
            FileStore::relative_path("lobby", 7, Some("a b")),
            "lobby/7_a_b"
        );
        let store = FileStore::new(Path::new("/data"));
        assert_eq!(
            store.absolute("lobby/7_a_b"),
            Some(PathBuf::from("/data/uploads/lobby/7_a_b"))
        );
        assert_eq!(store.absolute("../x"), None);
        assert_eq!(store.absolute("/etc/passwd"), None);
        assert_eq!(store.absolute(""), None);
    }
}
