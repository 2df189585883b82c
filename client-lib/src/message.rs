//! Community message bodies: the `Content` protobuf the apps post, its padding, and signing /
//! verification of the padded bytes (CLIENT.md §3).
//!
//! Wire shape of a post (CLIENT.md §3.4): `data` = base64(pad(Content)), `signature` =
//! base64(64-byte signature over the padded bytes, blind15 in blinded rooms).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use prost::Message as _;

use crate::blinding::{verify_message_signature, BlindedKeyPair};
use crate::ids::SessionId;
use crate::url::CommunityUrl;

/// Padding block size (CLIENT.md §3.2).
pub const PADDING_BLOCK: usize = 160;
/// The byte that ends the content and starts the padding.
pub const PADDING_TERMINATOR: u8 = 0x80;
/// Longest message text the apps allow without Session Pro (characters).
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// Largest attachment the apps send (bytes).
pub const MAX_ATTACHMENT_BYTES: u64 = 10_000_000;
/// Receivers drop a post whose `sigTimestamp` is further than this from its `posted` time.
pub const SIG_TIMESTAMP_TOLERANCE_MS: u64 = 6 * 60 * 60 * 1000;

// ---------------------------------------------------------------------------------------------
// Protobuf (proto2, package SessionProtos / signalservice): the subset used in communities,
// field numbers as in CLIENT.md §3.1 and §4.
// ---------------------------------------------------------------------------------------------

/// `Content`: the top-level message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Content {
    #[prost(message, optional, tag = "1")]
    pub data_message: Option<DataMessage>,
    #[prost(enumeration = "ExpirationType", optional, tag = "12")]
    pub expiration_type: Option<i32>,
    #[prost(uint32, optional, tag = "13")]
    pub expiration_timer: Option<u32>,
    /// Creation time in ms; desktop refuses to build a Content without it.
    #[prost(uint64, optional, tag = "15")]
    pub sig_timestamp: Option<u64>,
}

/// `Content.ExpirationType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ExpirationType {
    Unknown = 0,
    DeleteAfterRead = 1,
    DeleteAfterSend = 2,
}

/// `DataMessage`. Field 7 (`timestamp`) is reserved and never sent.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DataMessage {
    #[prost(string, optional, tag = "1")]
    pub body: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub attachments: Vec<AttachmentPointer>,
    #[prost(uint32, optional, tag = "4")]
    pub flags: Option<u32>,
    /// 32-byte avatar key, sent only together with `profile.profilePicture`.
    #[prost(bytes = "vec", optional, tag = "6")]
    pub profile_key: Option<Vec<u8>>,
    #[prost(message, optional, tag = "8")]
    pub quote: Option<QuoteProto>,
    #[prost(message, repeated, tag = "10")]
    pub preview: Vec<Preview>,
    /// Never used in communities (reactions go through the REST API, CLIENT.md §3.7); kept so
    /// that such a message still decodes.
    #[prost(message, optional, tag = "11")]
    pub reaction: Option<Reaction>,
    #[prost(message, optional, tag = "101")]
    pub profile: Option<LokiProfile>,
    #[prost(message, optional, tag = "102")]
    pub open_group_invitation: Option<OpenGroupInvitation>,
    #[prost(bool, optional, tag = "106")]
    pub blocks_community_message_requests: Option<bool>,
}

/// `DataMessage.Quote`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QuoteProto {
    /// The quoted message's `floor(posted * 1000)`.
    #[prost(uint64, required, tag = "1")]
    pub id: u64,
    /// The quoted author's id as the sender knows it (`15…` or `05…`).
    #[prost(string, required, tag = "2")]
    pub author: String,
}

/// `DataMessage.Preview` (link preview).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Preview {
    #[prost(string, required, tag = "1")]
    pub url: String,
    #[prost(string, optional, tag = "2")]
    pub title: Option<String>,
    #[prost(message, optional, tag = "3")]
    pub image: Option<AttachmentPointer>,
}

/// `DataMessage.Reaction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Reaction {
    #[prost(uint64, required, tag = "1")]
    pub id: u64,
    #[prost(string, required, tag = "2")]
    pub author: String,
    #[prost(string, optional, tag = "3")]
    pub emoji: Option<String>,
    /// 0 = REACT, 1 = REMOVE.
    #[prost(int32, required, tag = "4")]
    pub action: i32,
}

/// `DataMessage.LokiProfile`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LokiProfile {
    #[prost(string, optional, tag = "1")]
    pub display_name: Option<String>,
    /// URL of the avatar on the Session file server.
    #[prost(string, optional, tag = "2")]
    pub profile_picture: Option<String>,
    #[prost(uint64, optional, tag = "3")]
    pub last_profile_update_seconds: Option<u64>,
}

/// `DataMessage.OpenGroupInvitation`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OpenGroupInvitation {
    #[prost(string, required, tag = "1")]
    pub url: String,
    #[prost(string, required, tag = "3")]
    pub name: String,
}

/// `AttachmentPointer` as used in communities: no `key`, no `digest` (CLIENT.md §4).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttachmentPointer {
    /// The numeric file id, or 0.
    #[prost(fixed64, required, tag = "1")]
    pub deprecated_id: u64,
    #[prost(string, optional, tag = "2")]
    pub content_type: Option<String>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub key: Option<Vec<u8>>,
    #[prost(uint32, optional, tag = "4")]
    pub size: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "6")]
    pub digest: Option<Vec<u8>>,
    #[prost(string, optional, tag = "7")]
    pub file_name: Option<String>,
    /// 1 = voice message.
    #[prost(uint32, optional, tag = "8")]
    pub flags: Option<u32>,
    #[prost(uint32, optional, tag = "9")]
    pub width: Option<u32>,
    #[prost(uint32, optional, tag = "10")]
    pub height: Option<u32>,
    #[prost(string, optional, tag = "11")]
    pub caption: Option<String>,
    /// `{serverUrl}/room/{token}/file/{id}`.
    #[prost(string, optional, tag = "101")]
    pub url: Option<String>,
}

const ATTACHMENT_FLAG_VOICE: u32 = 1;

// ---------------------------------------------------------------------------------------------
// Padding (CLIENT.md §3.2)
// ---------------------------------------------------------------------------------------------

/// Pads serialized `Content` as current clients do (libsession `pad_message`): append `0x80`,
/// then zeros up to `160 * (floor((n+1)/160) + 1)` bytes. The result is always a non-empty
/// multiple of 160; when `n + 1` is already a multiple of 160 a whole block of zeros is added.
pub fn pad(data: &[u8]) -> Vec<u8> {
    let total = PADDING_BLOCK * ((data.len() + 1) / PADDING_BLOCK + 1);
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(data);
    out.push(PADDING_TERMINATOR);
    out.resize(total, 0);
    out
}

/// Pads as older desktop and other Signal-derived code did (`addMessagePadding`): total length
/// `160 * ceil((n+2)/160) - 1` (159, 319, 479, …), content || `0x80` || zeros. Only useful for
/// compatibility tests; [`unpad`] reads both forms.
pub fn pad_legacy(data: &[u8]) -> Vec<u8> {
    let total = PADDING_BLOCK * (data.len() + 2).div_ceil(PADDING_BLOCK) - 1;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(data);
    out.push(PADDING_TERMINATOR);
    out.resize(total, 0);
    out
}

/// Removes Session padding: walks back over trailing `0x00` bytes; if the first non-zero byte
/// is `0x80`, returns everything before it. Returns `None` if the data is not padded (the last
/// non-zero byte is something else, or there is none). Block alignment is not enforced, as in
/// every client.
///
/// Clients treat unpadded data as the content itself; [`strip_padding`] does exactly that.
pub fn unpad(data: &[u8]) -> Option<&[u8]> {
    let end = data.iter().rposition(|&b| b != 0)?;
    if data.get(end) == Some(&PADDING_TERMINATOR) {
        data.get(..end)
    } else {
        None
    }
}

/// What receiving clients do (libsession `unpad_message`): [`unpad`] if the data is padded,
/// otherwise the data unchanged.
pub fn strip_padding(data: &[u8]) -> &[u8] {
    unpad(data).unwrap_or(data)
}

// ---------------------------------------------------------------------------------------------
// Domain types
// ---------------------------------------------------------------------------------------------

/// A file referenced by a post. For outgoing posts build it with [`Attachment::uploaded`].
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// The server's numeric file id (`deprecated_id`); 0 if unknown.
    pub file_id: u64,
    /// `{serverUrl}/room/{token}/file/{id}`.
    pub url: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<u32>,
    pub file_name: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub caption: Option<String>,
    pub voice_message: bool,
}

impl Attachment {
    /// An attachment for a file just uploaded to `room` with id `file_id`, with the pointer
    /// URL the apps use.
    pub fn uploaded(room: &CommunityUrl, file_id: u64, size: u32) -> Self {
        Self {
            file_id,
            url: Some(room.file_url(file_id)),
            size: Some(size),
            ..Self::default()
        }
    }

    /// The file id to download: desktop takes it from the last path segment of the pointer
    /// URL (CLIENT.md §4); falls back to `file_id` when that does not parse.
    pub fn download_id(&self) -> Option<u64> {
        let from_url = self
            .url
            .as_deref()
            .and_then(|u| u.rsplit('/').next())
            .and_then(|seg| seg.parse::<u64>().ok());
        from_url.or((self.file_id != 0).then_some(self.file_id))
    }

    fn to_proto(&self) -> AttachmentPointer {
        AttachmentPointer {
            deprecated_id: self.file_id,
            content_type: self.content_type.clone(),
            key: None,
            size: self.size,
            digest: None,
            file_name: self.file_name.clone(),
            flags: self.voice_message.then_some(ATTACHMENT_FLAG_VOICE),
            width: self.width,
            height: self.height,
            caption: self.caption.clone(),
            url: self.url.clone(),
        }
    }

    fn from_proto(p: AttachmentPointer) -> Self {
        Self {
            file_id: p.deprecated_id,
            url: p.url,
            content_type: p.content_type,
            size: p.size,
            file_name: p.file_name,
            width: p.width,
            height: p.height,
            caption: p.caption,
            voice_message: p
                .flags
                .is_some_and(|f| f & ATTACHMENT_FLAG_VOICE == ATTACHMENT_FLAG_VOICE),
        }
    }
}

/// A quoted message (CLIENT.md §3.1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quote {
    /// The quoted message's `floor(posted * 1000)`.
    pub id: u64,
    /// The quoted author's id as this client knows it (`15…` for others, own `05…` for self).
    pub author: String,
}

/// A link preview carried by a post.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkPreview {
    pub url: String,
    pub title: Option<String>,
    pub image: Option<Attachment>,
}

/// An invitation to another community carried in a post.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Invitation {
    pub url: String,
    pub name: String,
}

/// A post to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutgoingMessage {
    /// Message text; empty means no `body` field (e.g. an attachment-only post).
    pub text: String,
    /// Sent as `profile.displayName` whenever present.
    pub display_name: Option<String>,
    /// Creation time in ms, sent as `Content.sigTimestamp`.
    pub timestamp_ms: u64,
    pub attachments: Vec<Attachment>,
    pub quote: Option<Quote>,
}

impl OutgoingMessage {
    /// A text post.
    pub fn text(text: impl Into<String>, timestamp_ms: u64) -> Self {
        Self {
            text: text.into(),
            timestamp_ms,
            ..Self::default()
        }
    }

    /// The `Content` desktop builds for this post: `dataMessage`, `expirationType = 0` and
    /// `expirationTimer = 0` written explicitly, `sigTimestamp` = the creation time.
    pub fn content(&self) -> Content {
        let data = DataMessage {
            body: (!self.text.is_empty()).then(|| self.text.clone()),
            attachments: self.attachments.iter().map(Attachment::to_proto).collect(),
            quote: self.quote.as_ref().map(|q| QuoteProto {
                id: q.id,
                author: q.author.clone(),
            }),
            profile: self.display_name.as_ref().map(|name| LokiProfile {
                display_name: Some(name.clone()),
                ..LokiProfile::default()
            }),
            ..DataMessage::default()
        };
        Content {
            data_message: Some(data),
            expiration_type: Some(ExpirationType::Unknown as i32),
            expiration_timer: Some(0),
            sig_timestamp: Some(self.timestamp_ms),
        }
    }

    /// Checks what the apps check before sending: some visible content, and at most
    /// [`MAX_MESSAGE_CHARS`] characters of text.
    pub fn validate(&self) -> Result<(), MessageError> {
        if self.text.is_empty() && self.attachments.is_empty() && self.quote.is_none() {
            return Err(MessageError::NoVisibleContent);
        }
        let chars = self.text.chars().count();
        if chars > MAX_MESSAGE_CHARS {
            return Err(MessageError::TooLong { chars });
        }
        Ok(())
    }

    /// The bytes that are posted (base64-encoded) and signed: the serialized `Content`, padded.
    pub fn encode(&self) -> Vec<u8> {
        pad(&self.content().encode_to_vec())
    }

    /// The complete `POST /room/{token}/message` body, signed with `keypair` (blinded rooms).
    pub fn post_body(&self, keypair: &BlindedKeyPair) -> PostBody {
        let signed = sign_for_post(&self.encode(), keypair);
        PostBody {
            data: signed.data,
            timestamp: self.timestamp_ms,
            signature: signed.signature,
            files: self
                .attachments
                .iter()
                .filter_map(Attachment::download_id)
                .map(|id| id.to_string())
                .collect(),
        }
    }
}

/// Base64 data and signature, the two signed fields of a post body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedData {
    /// base64(padded Content).
    pub data: String,
    /// base64(64-byte signature over the padded Content).
    pub signature: String,
}

/// The JSON body of `POST /room/{token}/message`, fields in desktop's order (CLIENT.md §3.4).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PostBody {
    pub data: String,
    /// Creation time in ms (ignored by servers).
    pub timestamp: u64,
    pub signature: String,
    /// Attached file ids as decimal strings; always present, possibly empty.
    pub files: Vec<String>,
}

/// Signs already-padded message bytes with a blinded key: returns the base64 `data` and
/// `signature` fields of a post body.
pub fn sign_for_post(padded: &[u8], keypair: &BlindedKeyPair) -> SignedData {
    let signature = keypair.sign(padded);
    SignedData {
        data: STANDARD.encode(padded),
        signature: STANDARD.encode(signature),
    }
}

/// A verified, decoded post.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DecodedMessage {
    pub text: Option<String>,
    pub display_name: Option<String>,
    pub profile_picture: Option<String>,
    /// `Content.sigTimestamp` (ms), if present.
    pub timestamp_ms: Option<u64>,
    pub attachments: Vec<Attachment>,
    pub quote: Option<Quote>,
    pub previews: Vec<LinkPreview>,
    pub invitation: Option<Invitation>,
    pub blocks_community_message_requests: bool,
}

impl DecodedMessage {
    /// Whether the apps would show this post (they drop posts with nothing visible).
    pub fn has_visible_content(&self) -> bool {
        self.text.as_deref().is_some_and(|t| !t.is_empty())
            || !self.attachments.is_empty()
            || self.quote.is_some()
            || !self.previews.is_empty()
            || self.invitation.is_some()
    }

    /// Whether `sigTimestamp` lies within 6 h of the server's `posted` time (ms); the apps drop
    /// the post otherwise. A missing timestamp fails.
    pub fn timestamp_plausible(&self, posted_ms: u64) -> bool {
        self.timestamp_ms
            .is_some_and(|t| t.abs_diff(posted_ms) <= SIG_TIMESTAMP_TOLERANCE_MS)
    }

    /// Decodes (unpadded) `Content` bytes. Fails if there is no `dataMessage`.
    pub fn from_content_bytes(content: &[u8]) -> Result<Self, MessageError> {
        let content = Content::decode(content)?;
        let data = content.data_message.ok_or(MessageError::NoDataMessage)?;
        let (display_name, profile_picture) = match data.profile {
            Some(p) => (p.display_name, p.profile_picture),
            None => (None, None),
        };
        Ok(Self {
            text: data.body,
            display_name,
            profile_picture,
            timestamp_ms: content.sig_timestamp,
            attachments: data
                .attachments
                .into_iter()
                .map(Attachment::from_proto)
                .collect(),
            quote: data.quote.map(|q| Quote {
                id: q.id,
                author: q.author,
            }),
            previews: data
                .preview
                .into_iter()
                .map(|p| LinkPreview {
                    url: p.url,
                    title: p.title,
                    image: p.image.map(Attachment::from_proto),
                })
                .collect(),
            invitation: data.open_group_invitation.map(|i| Invitation {
                url: i.url,
                name: i.name,
            }),
            blocks_community_message_requests: data
                .blocks_community_message_requests
                .unwrap_or(false),
        })
    }
}

/// Why a post could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the {field} field is not valid base64")]
    BadBase64 { field: &'static str },
    #[error("signature must be 64 bytes, got {len}")]
    BadSignatureLength { len: usize },
    #[error("signature does not verify for this author")]
    BadSignature,
    #[error("message is not a valid Content protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("message has no dataMessage")]
    NoDataMessage,
    #[error("message has no text, attachment or quote")]
    NoVisibleContent,
    #[error("message text has {chars} characters; the limit is 2000")]
    TooLong { chars: usize },
}

fn lenient_b64() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// Verifies and decodes a post as returned by the server: checks `signature_b64` over the
/// decoded `data_b64` bytes (padding included) for `author` (CLIENT.md §3.5), then strips the
/// padding and decodes the `Content`.
pub fn decode_and_verify(
    author: &SessionId,
    data_b64: &str,
    signature_b64: &str,
) -> Result<DecodedMessage, MessageError> {
    let engine = lenient_b64();
    let data = engine
        .decode(data_b64.trim())
        .map_err(|_| MessageError::BadBase64 { field: "data" })?;
    let sig = engine
        .decode(signature_b64.trim())
        .map_err(|_| MessageError::BadBase64 { field: "signature" })?;
    let sig: [u8; 64] = sig
        .as_slice()
        .try_into()
        .map_err(|_| MessageError::BadSignatureLength { len: sig.len() })?;
    if !verify_message_signature(author, &data, &sig) {
        return Err(MessageError::BadSignature);
    }
    DecodedMessage::from_content_bytes(strip_padding(&data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_lengths() {
        assert_eq!(pad(&[]).len(), 160);
        assert_eq!(pad(&[1; 158]).len(), 160);
        assert_eq!(pad(&[1; 159]).len(), 320);
        assert_eq!(pad(&[1; 160]).len(), 320);
        assert_eq!(pad_legacy(&[]).len(), 159);
        assert_eq!(pad_legacy(&[1; 158]).len(), 159);
        assert_eq!(pad_legacy(&[1; 159]).len(), 319);
    }

    #[test]
    fn unpad_cases() {
        assert_eq!(unpad(&[1, 2, 0x80, 0, 0]), Some(&[1u8, 2][..]));
        assert_eq!(unpad(&[1, 2, 0, 0]), None);
        assert_eq!(unpad(&[0, 0]), None);
        assert_eq!(unpad(&[]), None);
        assert_eq!(strip_padding(&[1, 2, 0, 0]), &[1, 2, 0, 0]);
    }
}
