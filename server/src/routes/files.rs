//! File uploads and downloads (PROTOCOL.md §8.5). Bytes go through `files::FileStore`;
//! bodies are never held whole in memory (large ones arrive spooled to disk, downloads are
//! streamed from disk).

use super::{Ctx, Need};
use crate::db::files::NewFile;
use crate::domain::perms::Permissions;
use crate::error::{ApiError, ApiResult};
use crate::files::{
    filename_from_content_disposition, store_upload, Source, NEW_UPLOAD_LIFETIME_SECS,
};
use crate::http::{Response, ResponseBody, OCTET};
use serde::Serialize;
use sogs_client::disposition::content_disposition;
use utoipa::ToSchema;

/// Longest `max-age` given to a download that never expires.
const MAX_CACHE_SECS: f64 = 365.0 * 86400.0;

#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    /// The new file's id.
    pub id: i64,
}

/// Upload a file to a room. The body is the raw bytes; an optional filename comes from
/// `Content-Disposition` (`filename=` or `filename*=UTF-8''…`). The upload expires after an
/// hour unless a post attaches it or it becomes the room image.
#[utoipa::path(post, path = "/room/{token}/file", tag = "files",
    params(("token" = String, Path),
        ("Content-Disposition" = Option<String>, Header, description = "e.g. `attachment; filename*=UTF-8''name.txt`")),
    request_body(content = String, content_type = "application/octet-stream", description = "The raw file bytes (not base64)"),
    responses((status = 201, body = Uploaded), (status = 400, description = "Empty body"),
        (status = 403, description = "No write or upload permission"), (status = 413, description = "Larger than the upload limit")))]
pub async fn upload(ctx: &Ctx<'_>, token: &str) -> ApiResult<Response> {
    let user = ctx.require_user()?;
    let (room, perms) = ctx.room(token, Need::Upload).await?;
    if !perms.write {
        return Err(ApiError::forbidden(
            "This endpoint requires room message 'write' permission",
        ));
    }
    super::messages::check_upload_probation(ctx, &room, &perms, user).await?;
    let body = &ctx.req.body;
    if body.is_empty() {
        return Err(ApiError::bad_request("No file data"));
    }
    // Direct uploads are limited while streaming; batch and onion sub-requests land here.
    let limit = ctx.st.config.upload_max_bytes;
    if body.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let filename = ctx
        .req
        .header("content-disposition")
        .and_then(filename_from_content_disposition);
    let now = ctx.st.now();
    let new = NewFile {
        room: room.id,
        uploader: Some(user.id),
        size: i64::try_from(body.len()).map_err(|_| ApiError::PayloadTooLarge { limit })?,
        uploaded: now,
        expiry: Some(now + NEW_UPLOAD_LIFETIME_SECS),
        filename: filename.as_deref(),
    };
    let id = store_upload(
        &ctx.st.db,
        &ctx.st.files,
        &room.token,
        &new,
        Source::of_body(body),
    )
    .await?;
    tracing::debug!(room = %room.token, file = id, "file uploaded");
    Ok(Response::json(201, &Uploaded { id }))
}

fn http_date(secs: f64) -> String {
    crate::clock::http_date(secs)
}

/// Download a file of a room (also the room image, via `image_id`). Anything after the id is
/// ignored (`/file/{id}/{name}`).
#[utoipa::path(get, path = "/room/{token}/file/{id}", tag = "files",
    params(("token" = String, Path), ("id" = i64, Path)),
    responses((status = 200, description = "The raw bytes, with Content-Disposition, Date (upload time), Expires when expiring and an immutable Cache-Control", content_type = "application/octet-stream"),
        (status = 403, description = "No read permission"), (status = 404, description = "Unknown, expired, or not in this room")))]
pub async fn download(ctx: &Ctx<'_>, token: &str, id: i64) -> ApiResult<Response> {
    let (room, _) = ctx.room(token, Need::Read).await?;
    let now = ctx.st.now();
    let file = ctx
        .st
        .db
        .live_file(room.id, id, now)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (path, len) = ctx
        .st
        .files
        .stat(&file.path)
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("reading a stored file")))?
        .ok_or(ApiError::NotFound)?;
    let mut resp = Response {
        status: 200,
        headers: vec![("content-type".into(), OCTET.into())],
        body: ResponseBody::File { path, len },
    };
    resp.set_header(
        "content-disposition",
        content_disposition(file.filename.as_deref()),
    );
    resp.set_header("date", http_date(file.uploaded));
    let expires = file.expiry.filter(|e| *e > now);
    if let Some(e) = expires {
        resp.set_header("expires", http_date(e));
    }
    let max_age = expires.map_or(MAX_CACHE_SECS, |e| (e - now).min(MAX_CACHE_SECS));
    // Files of rooms anonymous users can read may sit in shared caches; others may not.
    let public = Permissions::compute(&room, None, None).read;
    resp.set_header(
        "cache-control",
        format!(
            "{}, max-age={}, immutable",
            if public { "public" } else { "private" },
            max_age.floor() as u64
        ),
    );
    Ok(resp)
}

/// Download a file; the trailing name is ignored (same as `/room/{token}/file/{id}`).
#[utoipa::path(get, path = "/room/{token}/file/{id}/{name}", tag = "files",
    params(("token" = String, Path), ("id" = i64, Path), ("name" = String, Path, description = "Ignored; may contain `/`")),
    responses((status = 200, description = "As `/room/{token}/file/{id}`", content_type = "application/octet-stream"),
        (status = 404, description = "Unknown, expired, or not in this room")))]
pub async fn download_named_doc() {}
