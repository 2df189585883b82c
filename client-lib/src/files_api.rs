//! Typed helpers on [`SogsClient`] for files (CLIENT.md §4) and reactions (CLIENT.md §3.7).
//! Small wrappers over signed requests; the high-level API builds on them.

use crate::client::{ApiResponse, ClientError, SogsClient};
use crate::disposition::{content_disposition, filename_from_content_disposition};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A path segment with everything but unreserved characters percent-encoded (e.g. an emoji).
pub fn encode_path_segment(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// A downloaded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadedFile {
    pub bytes: Vec<u8>,
    /// From `Content-Disposition`.
    pub filename: Option<String>,
    /// The `Date` header: when it was uploaded (HTTP date).
    pub uploaded: Option<String>,
    /// The `Expires` header (HTTP date), when the file expires.
    pub expires: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ReactionAdded {
    pub added: bool,
    pub seqno: i64,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ReactionRemoved {
    pub removed: bool,
    pub seqno: i64,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ReactionsCleared {
    pub removed: u64,
    pub seqno: i64,
}

#[derive(Deserialize)]
struct UploadedId {
    id: i64,
}

fn json_of<T: serde::de::DeserializeOwned>(r: ApiResponse) -> Result<T, ClientError> {
    r.ok()?.json()
}

impl SogsClient {
    /// Uploads raw bytes to a room (`POST /room/{room}/file`, `application/octet-stream`,
    /// optional filename in `Content-Disposition`). Returns the file id.
    pub async fn upload_file(
        &self,
        room: &str,
        bytes: &[u8],
        filename: Option<&str>,
    ) -> Result<i64, ClientError> {
        let disposition = content_disposition(filename);
        let r = self
            .request(
                "POST",
                &format!("/room/{room}/file"),
                Some((bytes, "application/octet-stream")),
                &[("Content-Disposition", disposition.as_str())],
            )
            .await?;
        Ok(json_of::<UploadedId>(r)?.id)
    }

    /// Downloads a file of a room (`GET /room/{room}/file/{id}`).
    pub async fn download_file(&self, room: &str, id: i64) -> Result<DownloadedFile, ClientError> {
        let r = self.get(&format!("/room/{room}/file/{id}")).await?.ok()?;
        let h = |k: &str| r.headers.get(k).cloned();
        Ok(DownloadedFile {
            filename: r
                .headers
                .get("content-disposition")
                .and_then(|v| filename_from_content_disposition(v)),
            uploaded: h("date"),
            expires: h("expires"),
            bytes: r.body,
        })
    }

    /// Adds our reaction to a message (sent with no body, as desktop does).
    pub async fn react(
        &self,
        room: &str,
        message: i64,
        reaction: &str,
    ) -> Result<ReactionAdded, ClientError> {
        let path = format!(
            "/room/{room}/reaction/{message}/{}",
            encode_path_segment(reaction)
        );
        json_of(self.request("PUT", &path, None, &[]).await?)
    }

    /// Removes our reaction from a message.
    pub async fn unreact(
        &self,
        room: &str,
        message: i64,
        reaction: &str,
    ) -> Result<ReactionRemoved, ClientError> {
        let path = format!(
            "/room/{room}/reaction/{message}/{}",
            encode_path_segment(reaction)
        );
        json_of(self.delete(&path).await?)
    }

    /// Moderators: removes everybody's `reaction` (or every reaction) from a message.
    pub async fn clear_reactions(
        &self,
        room: &str,
        message: i64,
        reaction: Option<&str>,
    ) -> Result<ReactionsCleared, ClientError> {
        let path = match reaction {
            Some(r) => format!(
                "/room/{room}/reactions/{message}/{}",
                encode_path_segment(r)
            ),
            None => format!("/room/{room}/reactions/{message}"),
        };
        json_of(self.delete(&path).await?)
    }

    /// Who reacted with `reaction`, oldest first: `(session id, time added)`.
    pub async fn reactors(
        &self,
        room: &str,
        message: i64,
        reaction: &str,
        limit: Option<u32>,
    ) -> Result<Vec<(String, f64)>, ClientError> {
        let mut path = format!(
            "/room/{room}/reactors/{message}/{}",
            encode_path_segment(reaction)
        );
        if let Some(n) = limit {
            path.push_str(&format!("?limit={n}"));
        }
        json_of(self.get(&path).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(encode_path_segment("🍍"), "%F0%9F%8D%8D");
        assert_eq!(encode_path_segment("a/b c"), "a%2Fb%20c");
        let d = content_disposition(Some("my 🎂.txt"));
        assert_eq!(d, "attachment; filename*=UTF-8''my%20%F0%9F%8E%82.txt");
        assert_eq!(
            filename_from_content_disposition(&d).as_deref(),
            Some("my 🎂.txt")
        );
        assert_eq!(
            filename_from_content_disposition("attachment; filename=\"x.bin\"").as_deref(),
            Some("x.bin")
        );
        assert_eq!(content_disposition(None), "attachment");
        assert_eq!(filename_from_content_disposition("attachment"), None);
    }
}
