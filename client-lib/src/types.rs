//! Typed API objects: the JSON a community server returns (PROTOCOL.md §8–§10, read
//! leniently: unknown keys are ignored and optional keys default), and the decoded, verified
//! forms a bot works with ([`RoomMessage`], [`DirectMessage`]).
//!
//! Decoding follows what the Session apps do with a polled row (CLIENT.md §2.3): rows without
//! `data`/`signature`, with a signature that does not verify, without visible content, or
//! whose `sigTimestamp` is more than 6 h from `posted` are dropped; [`decode_room_message`]
//! says why, so callers can count and log them.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::blinding::CryptoError;
use crate::ids::{IdError, SessionId};
use crate::message::{decode_and_verify, DecodedMessage, MessageError, SIG_TIMESTAMP_TOLERANCE_MS};

fn is_false(b: &bool) -> bool {
    !*b
}

/// Accepts `true`/`false`, numbers (non-zero = true) and `null` (false), like the apps'
/// truthiness checks.
fn truthy<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        serde_json::Value::String(s) => !s.is_empty(),
        serde_json::Value::Null => false,
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => true,
    })
}

/// Float seconds → whole milliseconds, `floor(x * 1000)` as the apps compute it.
pub fn seconds_to_ms(seconds: f64) -> u64 {
    let ms = (seconds * 1000.0).floor();
    if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    }
}

// ---------------------------------------------------------------------------------------------
// Wire objects
// ---------------------------------------------------------------------------------------------

/// `GET /capabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Capabilities {
    pub capabilities: Vec<String>,
    /// Only on 412 answers to `?required=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<String>>,
}

/// Capability names clients look at.
pub mod capability {
    /// The server requires blinded (`15`) ids: sign with the blinded key, use DMs.
    pub const BLIND: &str = "blind";
    /// The server supports reactions.
    pub const REACTIONS: &str = "reactions";
    /// A SOGS v3 server.
    pub const SOGS: &str = "sogs";
}

/// One reaction on a message (PROTOCOL.md §9.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReactionInfo {
    /// Display order, in order of first use.
    #[serde(default)]
    pub index: i64,
    /// Number of users with this reaction.
    #[serde(default)]
    pub count: i64,
    /// The first few reactors (the poll asks for 5), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactors: Vec<String>,
    /// Whether we have this reaction.
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "truthy")]
    pub you: bool,
}

/// Reactions of a message, keyed by the reaction string (emoji).
pub type Reactions = BTreeMap<String, ReactionInfo>;

/// Reactions with `count > 0`, in display order (`index`), as the apps show them.
pub fn reactions_in_order(reactions: &Reactions) -> Vec<(&str, &ReactionInfo)> {
    let mut v: Vec<(&str, &ReactionInfo)> = reactions
        .iter()
        .filter(|(_, r)| r.count > 0)
        .map(|(k, r)| (k.as_str(), r))
        .collect();
    v.sort_by_key(|(_, r)| r.index);
    v
}

/// A pinned message in room info.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinnedMessage {
    pub id: i64,
    #[serde(default)]
    pub pinned_at: f64,
    #[serde(default)]
    pub pinned_by: String,
}

/// The room object (`GET /room/{token}`, pollInfo `details`; PROTOCOL.md §10.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub token: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub info_updates: i64,
    #[serde(default)]
    pub message_sequence: i64,
    #[serde(default)]
    pub created: f64,
    #[serde(default)]
    pub active_users: i64,
    #[serde(default)]
    pub active_users_cutoff: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned_messages: Vec<PinnedMessage>,
    #[serde(default)]
    pub moderators: Vec<String>,
    #[serde(default)]
    pub admins: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_moderators: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_admins: Vec<String>,
    /// The caller's effective permissions.
    #[serde(default, deserialize_with = "truthy")]
    pub read: bool,
    #[serde(default, deserialize_with = "truthy")]
    pub write: bool,
    #[serde(default, deserialize_with = "truthy")]
    pub upload: bool,
    #[serde(flatten)]
    pub roles: CallerRoles,
}

/// The caller's roles in a room, part of the room object and of pollInfo: the role flags
/// and, for moderators, the room's default permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerRoles {
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "truthy")]
    pub moderator: bool,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "truthy")]
    pub admin: bool,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "truthy")]
    pub global_moderator: bool,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "truthy")]
    pub global_admin: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_accessible: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_write: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_upload: Option<bool>,
}

/// `GET /room/{token}/pollInfo/{n}` (PROTOCOL.md §8.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollInfo {
    pub token: String,
    #[serde(default)]
    pub active_users: i64,
    #[serde(default, deserialize_with = "truthy")]
    pub read: bool,
    #[serde(default, deserialize_with = "truthy")]
    pub write: bool,
    #[serde(default, deserialize_with = "truthy")]
    pub upload: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<RoomInfo>,
    #[serde(flatten)]
    pub roles: CallerRoles,
}

/// A message object as the server returns it (PROTOCOL.md §9.1): a full message, a deletion
/// tombstone, or (from `since` with `t=r`) a reaction-only update `{id, seqno, reactions}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Float seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posted: Option<f64>,
    /// Float seconds; set by edits and deletions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited: Option<f64>,
    #[serde(default)]
    pub seqno: i64,
    /// base64 of the padded `Content`; `None` when absent or `null` (deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "truthy")]
    pub deleted: bool,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "truthy")]
    pub whisper: bool,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "truthy")]
    pub whisper_mods: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whisper_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reactions: Option<Reactions>,
    /// Only in the answer to a post that a content filter silently dropped.
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "truthy")]
    pub filtered: bool,
}

impl Message {
    /// A reaction-only update: no author, no content, not a deletion (desktop tests for the
    /// exact key set `id, seqno, reactions`).
    pub fn is_reaction_only(&self) -> bool {
        !self.deleted
            && self.session_id.is_none()
            && self.posted.is_none()
            && self.data.is_none()
            && self.signature.is_none()
    }

    /// `floor(posted * 1000)`, the time the apps show and quote.
    pub fn posted_ms(&self) -> Option<u64> {
        self.posted.map(seconds_to_ms)
    }
}

/// Answer to `PUT`/`DELETE /room/{t}/reaction/{id}/{emoji}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionResult {
    /// `added` (PUT) or `removed` (DELETE): false when nothing changed.
    pub changed: bool,
    /// The message's seqno after the call.
    pub seqno: i64,
}

/// One request inside a `/batch` body: only `method`, `path` and (with a body) `json`, as the
/// apps send it (CLIENT.md §2.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubRequest {
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
}

impl SubRequest {
    /// A `GET` sub-request.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: "GET".to_owned(),
            path: path.into(),
            json: None,
        }
    }
}

/// One element of a `/batch` answer (matched to its request by position).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubResponse {
    pub code: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: serde_json::Value,
}

// ---------------------------------------------------------------------------------------------
// Decoded forms
// ---------------------------------------------------------------------------------------------

/// Whisper settings of a message (only moderators can send whispers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whisper {
    /// Visible to all moderators.
    pub mods: bool,
    /// Visible to this one user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A verified, decoded room message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomMessage {
    /// The room token.
    pub room: String,
    /// Server message id (unique on the server, increasing in posting order).
    pub id: i64,
    pub seqno: i64,
    /// The author's id on this server (`15…` when the server blinds).
    pub author: SessionId,
    /// Server time the message was first posted, ms.
    pub posted_ms: u64,
    /// Server time of the last edit, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whisper: Option<Whisper>,
    #[serde(default)]
    pub reactions: Reactions,
    /// Text, display name, `sigTimestamp`, attachments, quote, previews… (flattened).
    #[serde(flatten)]
    pub content: DecodedMessage,
}

impl RoomMessage {
    /// The text, or "" for an attachment-only post.
    pub fn text(&self) -> &str {
        self.content.text.as_deref().unwrap_or("")
    }

    /// The display name the author sent, if any.
    pub fn display_name(&self) -> Option<&str> {
        self.content.display_name.as_deref()
    }

    /// What the apps show as the author: the display name, else the id shortened to
    /// `(15ab…cdef)`.
    pub fn author_label(&self) -> String {
        let id = self.author.to_string();
        let short = format!(
            "{}…{}",
            id.get(..6).unwrap_or(&id),
            id.get(id.len().saturating_sub(4)..).unwrap_or("")
        );
        match self.display_name() {
            Some(name) if !name.is_empty() => format!("{name} ({short})"),
            _ => short,
        }
    }
}

/// Why a polled row is not shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("row has no session_id")]
    MissingAuthor,
    #[error("bad author id: {0}")]
    BadAuthor(#[from] IdError),
    #[error("row has no data or signature")]
    MissingData,
    #[error("row is a deletion")]
    Deleted,
    #[error("{0}")]
    Message(#[from] MessageError),
    #[error("message has no visible content")]
    NoVisibleContent,
    #[error("sigTimestamp {sent_ms} is more than 6 h away from posted time {posted_ms}")]
    TimestampOutOfRange { sent_ms: u64, posted_ms: u64 },
    #[error("DM does not decrypt: {0}")]
    Crypto(#[from] CryptoError),
    #[error("DM: {0}")]
    Dm(String),
}

/// The apps' 6 h rule: keep the message if `sigTimestamp` is absent or close to `posted`.
fn check_timestamp(content: &DecodedMessage, posted_ms: u64) -> Result<(), DecodeError> {
    match content.timestamp_ms {
        Some(sent_ms) if sent_ms.abs_diff(posted_ms) > SIG_TIMESTAMP_TOLERANCE_MS => {
            Err(DecodeError::TimestampOutOfRange { sent_ms, posted_ms })
        }
        _ => Ok(()),
    }
}

/// Verifies and decodes one full (non-deleted) message row of `room` (CLIENT.md §2.3 steps
/// 4–6, §3.5).
pub fn decode_room_message(room: &str, m: &Message) -> Result<RoomMessage, DecodeError> {
    if m.deleted {
        return Err(DecodeError::Deleted);
    }
    let author = SessionId::parse(m.session_id.as_deref().ok_or(DecodeError::MissingAuthor)?)?;
    let (Some(data), Some(sig)) = (m.data.as_deref(), m.signature.as_deref()) else {
        return Err(DecodeError::MissingData);
    };
    let content = decode_and_verify(&author, data, sig)?;
    if !content.has_visible_content() {
        return Err(DecodeError::NoVisibleContent);
    }
    let posted_ms = m.posted_ms().unwrap_or(0);
    check_timestamp(&content, posted_ms)?;
    Ok(RoomMessage {
        room: room.to_owned(),
        id: m.id,
        seqno: m.seqno,
        author,
        posted_ms,
        edited_ms: m.edited.map(seconds_to_ms),
        whisper: m.whisper.then(|| Whisper {
            mods: m.whisper_mods,
            to: m.whisper_to.clone(),
        }),
        reactions: m.reactions.clone().unwrap_or_default(),
        content,
    })
}

/// A decrypted, decoded blinded direct message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectMessage {
    /// Inbox/outbox id on the server.
    pub id: i64,
    /// True for outbox items (we sent it).
    pub outgoing: bool,
    /// Sender's blinded id.
    pub sender: SessionId,
    /// Recipient's blinded id.
    pub recipient: SessionId,
    /// The sender's real Session ID (`05…`), recovered from the key inside the message.
    pub sender_session_id: SessionId,
    pub posted_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
    #[serde(flatten)]
    pub content: DecodedMessage,
}

impl DirectMessage {
    /// Assembles a decrypted DM and applies the apps' 6 h timestamp rule (`posted_at` and
    /// `expires_at` in float seconds).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: i64,
        outgoing: bool,
        sender: SessionId,
        recipient: SessionId,
        sender_session_id: SessionId,
        posted_at: f64,
        expires_at: Option<f64>,
        content: DecodedMessage,
    ) -> Result<Self, DecodeError> {
        let posted_ms = seconds_to_ms(posted_at);
        check_timestamp(&content, posted_ms)?;
        Ok(Self {
            id,
            outgoing,
            sender,
            recipient,
            sender_session_id,
            posted_ms,
            expires_ms: expires_at.map(seconds_to_ms),
            content,
        })
    }

    /// The text, or "".
    pub fn text(&self) -> &str {
        self.content.text.as_deref().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaction_only_rows_and_tombstones() {
        let r: Message =
            serde_json::from_str(r#"{"id":3,"seqno":9,"reactions":{"👍":{"index":0,"count":2,"reactors":["15aa"],"you":true}}}"#)
                .unwrap();
        assert!(r.is_reaction_only());
        assert!(r.reactions.as_ref().unwrap()["👍"].you);
        let t: Message = serde_json::from_str(
            r#"{"id":3,"session_id":"15aa","posted":1.5,"edited":2.0,"seqno":10,"data":null,"deleted":true}"#,
        )
        .unwrap();
        assert!(t.deleted && !t.is_reaction_only());
        assert_eq!(t.posted_ms(), Some(1500));
        assert_eq!(
            decode_room_message("r", &t).unwrap_err(),
            DecodeError::Deleted
        );
    }

    #[test]
    fn room_info_reads_minimal_and_full_objects() {
        let min: RoomInfo = serde_json::from_str(r#"{"token":"Lobby","name":"Lobby"}"#).unwrap();
        assert_eq!(min.token, "Lobby");
        assert!(!min.read);
        let full: RoomInfo = serde_json::from_str(
            r#"{"token":"a","name":"A","info_updates":3,"message_sequence":7,"created":1.0,
                "active_users":1,"active_users_cutoff":604800,"moderators":["15b"],"admins":[],
                "read":true,"write":true,"upload":false,"moderator":true,"default_read":true,
                "extra_field":1}"#,
        )
        .unwrap();
        assert_eq!(full.info_updates, 3);
        assert!(full.roles.moderator && full.read && !full.upload);
        assert_eq!(full.roles.default_read, Some(true));
    }

    #[test]
    fn caller_roles_are_read_leniently_and_written_in_place() {
        let poll: PollInfo = serde_json::from_str(
            r#"{"token":"a","read":1,"moderator":1,"global_admin":true,"default_write":false}"#,
        )
        .unwrap();
        assert!(poll.read && poll.roles.moderator && poll.roles.global_admin);
        assert!(!poll.roles.admin);
        assert_eq!(poll.roles.default_write, Some(false));
        let info: RoomInfo = serde_json::from_str(
            r#"{"token":"a","name":"A","read":true,"moderator":true,"default_read":true}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"token":"a","name":"A","info_updates":0,"message_sequence":0,"created":0.0,"active_users":0,"active_users_cutoff":0,"moderators":[],"admins":[],"read":true,"write":false,"upload":false,"moderator":true,"default_read":true}"#
        );
    }

    #[test]
    fn ms_conversion_floors() {
        assert_eq!(seconds_to_ms(1.2345), 1234);
        assert_eq!(seconds_to_ms(-1.0), 0);
        assert_eq!(seconds_to_ms(f64::NAN), 0);
    }
}
