//! A community server as one identity sees it: join rooms by URL the way the Session apps do,
//! post, edit, delete, react, upload and download files, send and read blinded DMs.
//! Polling lives in [`crate::poller`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), sogs_client::community::CommunityError> {
//! use sogs_client::{community::Community, identity::Identity};
//! let me = Identity::generate().with_display_name("bot").expect("valid name");
//! let (mut community, room) = Community::join_url(
//!     "https://example.org/lobby?public_key=a03c383cf63c3c4efe67acc52112a6dd734b3a946b9545f488aaa93da7991238",
//!     me,
//! )
//! .await?;
//! community.post(&room, "hello").await?;
//! # Ok(()) }
//! ```
//!
//! Everything that must survive a restart (capabilities, rooms with their `info_updates` and
//! seqno cursors, DM cursors) is in [`CommunityState`], which is serde-serializable:
//! persist [`Community::state`] and rebuild with [`Community::from_state`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::blinding::{blind15_candidates, sign_xed25519_desktop, BlindedKeyPair, CryptoError};
use crate::client::{ApiResponse, ClientError, SogsClient, Transport};
use crate::dm::encrypt_blinded_dm;
use crate::dm_api::Dm;
use crate::encoding::b64_encode;
pub use crate::files_api::{encode_path_segment, DownloadedFile};
use crate::identity::Identity;
use crate::ids::{IdPrefix, SessionId};
use crate::message::{
    Attachment, MessageError, OutgoingMessage, PostBody, Quote, SIG_TIMESTAMP_TOLERANCE_MS,
};
use crate::onion_client::ONION_TIMEOUT;
use crate::signing::Signer;
use crate::types::{
    capability, decode_room_message, seconds_to_ms, Capabilities, DecodeError, DirectMessage,
    Message, ReactionResult, RoomInfo, RoomMessage,
};
use crate::url::CommunityUrl;

/// The `reactors` count the apps ask for.
pub const REACTORS: u32 = 5;
/// Timeout for JSON requests (the apps use 10 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout for file uploads and downloads (the apps use 30 s).
pub const FILE_TIMEOUT: Duration = Duration::from_secs(30);
/// Join attempts (the apps try steps 2–4 up to 3 times, 1 s apart).
pub const JOIN_ATTEMPTS: u32 = 3;
/// The text of the 400 answer that makes desktop switch to blinded ids.
pub const BLINDING_REQUIRED_TEXT: &str =
    "Invalid authentication: this server requires the use of blinded ids";

/// Errors from community operations.
#[derive(Debug, thiserror::Error)]
pub enum CommunityError {
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The server answered with a non-2xx status.
    #[error("{what}: server answered {status}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
    /// The server answered 2xx with something the apps would reject.
    #[error("{what}: unexpected answer: {detail}")]
    BadResponse { what: String, detail: String },
    #[error("{what} timed out")]
    Timeout { what: String },
    #[error("room {0:?} has not been joined")]
    UnknownRoom(String),
    #[error("the URL is for {got}, but this community is {expected}")]
    WrongServer { expected: String, got: String },
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("invalid state: {0}")]
    State(String),
    #[error("{0}")]
    Invalid(String),
    /// A DM to a Session ID whose blinded id the server does not know.
    #[error(
        "this server does not know {0}: neither of its two blinded ids has used this community \
         (they must join it before they can receive DMs here)"
    )]
    RecipientUnknown(String),
    #[error("this server does not support blinded DMs (no \"blind\" capability)")]
    NoDms,
}

impl CommunityError {
    /// The HTTP status the server answered with, if that is what failed.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::Client(ClientError::Status { status, .. }) => Some(*status),
            _ => None,
        }
    }
}

/// A joined room: its info as last seen and the poll cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomState {
    /// The token as the server spells it.
    pub token: String,
    /// Room info from the join or the latest pollInfo `details`.
    pub info: RoomInfo,
    /// Poll cursor: the max seqno received (CLIENT.md §2.3); `None` until the first rows
    /// arrive, which makes the next poll ask for `messages/recent`.
    #[serde(default)]
    pub seqno: Option<i64>,
    /// The highest message id delivered as a new message (tells new posts from edits).
    #[serde(default)]
    pub max_message_id: i64,
    /// The lowest id of the first messages delivered (0 until then). Every message from here
    /// to `max_message_id` has been delivered; one below it only if it is in `shown_below`
    /// (an old message that came back, e.g. because someone reacted to it).
    #[serde(default)]
    pub min_message_id: i64,
    /// Ids below `min_message_id` delivered since.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub shown_below: std::collections::BTreeSet<i64>,
    /// Rows dropped because they did not verify or decode.
    #[serde(default)]
    pub dropped: u64,
}

impl RoomState {
    /// Whether the message with this id has never been delivered as a new message (whatever
    /// its id or seqno order: an old message someone reacted to is new to a client that
    /// never saw it).
    pub fn is_unseen(&self, id: i64) -> bool {
        self.min_message_id == 0
            || id > self.max_message_id
            || (id < self.min_message_id && !self.shown_below.contains(&id))
    }

    /// Records the ids of one answer's messages that were delivered as new.
    pub fn mark_delivered(&mut self, ids: &[i64]) {
        let (Some(&low), Some(&high)) = (ids.iter().min(), ids.iter().max()) else {
            return;
        };
        if self.min_message_id == 0 {
            self.min_message_id = low;
        } else {
            self.shown_below
                .extend(ids.iter().copied().filter(|&id| id < self.min_message_id));
        }
        self.max_message_id = self.max_message_id.max(high);
    }
}

/// Everything a client remembers about one server (serialize it to persist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommunityState {
    /// `scheme://host[:port]`.
    pub base_url: String,
    /// The server's X25519 key, 64 hex.
    pub server_pubkey: String,
    /// Sorted capability list from the last `/capabilities`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Joined rooms, in the order they were added (the poll batch keeps this order).
    #[serde(default)]
    pub rooms: Vec<RoomState>,
    /// Highest inbox id seen.
    #[serde(default)]
    pub inbox_max_id: i64,
    /// Highest outbox id seen.
    #[serde(default)]
    pub outbox_max_id: i64,
    /// DMs that did not decrypt or decode.
    #[serde(default)]
    pub dms_dropped: u64,
}

impl CommunityState {
    /// An empty state for a server.
    pub fn new(base_url: &str, server_pk: &[u8; 32]) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            server_pubkey: hex::encode(server_pk),
            capabilities: Vec::new(),
            rooms: Vec::new(),
            inbox_max_id: 0,
            outbox_max_id: 0,
            dms_dropped: 0,
        }
    }

    /// The server key as bytes.
    pub fn server_pk(&self) -> Result<[u8; 32], CommunityError> {
        let mut pk = [0u8; 32];
        hex::decode_to_slice(self.server_pubkey.trim(), &mut pk)
            .map_err(|e| CommunityError::State(format!("server_pubkey: {e}")))?;
        Ok(pk)
    }

    /// Whether the server advertises `blind`.
    pub fn blind(&self) -> bool {
        self.has_capability(capability::BLIND)
    }

    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c == name)
    }

    /// A joined room by token (case-insensitive).
    pub fn room(&self, token: &str) -> Option<&RoomState> {
        self.rooms
            .iter()
            .find(|r| r.token.eq_ignore_ascii_case(token))
    }

    pub fn room_mut(&mut self, token: &str) -> Option<&mut RoomState> {
        self.rooms
            .iter_mut()
            .find(|r| r.token.eq_ignore_ascii_case(token))
    }

    /// The canonical join URL of a joined room (token as the server spells it).
    pub fn join_url(&self, token: &str) -> String {
        format!(
            "{}/{}?public_key={}",
            self.base_url, token, self.server_pubkey
        )
    }
}

/// Answer to a DM send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentDm {
    pub id: i64,
    /// The blinded id the message went to.
    pub recipient: SessionId,
    pub posted_ms: u64,
}

/// A polled or read row that was not shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    /// Room token, or `None` for a DM.
    pub room: Option<String>,
    /// Message or DM id.
    pub id: i64,
    pub reason: String,
}

/// Messages read with [`Community::recent`], oldest first, plus what was dropped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadResult {
    pub messages: Vec<RoomMessage>,
    pub dropped: Vec<Dropped>,
}

/// DMs read with [`Community::inbox`] / [`Community::outbox`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DmReadResult {
    pub messages: Vec<DirectMessage>,
    pub dropped: Vec<Dropped>,
}

/// One identity's connection to one community server.
#[derive(Debug)]
pub struct Community {
    /// Unsigned base client (carries the transport and time source).
    http: SogsClient,
    identity: Identity,
    server_pk: [u8; 32],
    blinded: BlindedKeyPair,
    pub(crate) state: CommunityState,
}

async fn timed<T>(
    what: &str,
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Result<T, CommunityError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(CommunityError::Timeout {
            what: what.to_owned(),
        }),
    }
}

fn expect_ok(what: &str, resp: ApiResponse) -> Result<ApiResponse, CommunityError> {
    if (200..300).contains(&resp.status) {
        Ok(resp)
    } else {
        Err(CommunityError::Status {
            what: what.to_owned(),
            status: resp.status,
            body: resp.text(),
        })
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    what: &str,
    resp: &ApiResponse,
) -> Result<T, CommunityError> {
    serde_json::from_slice(&resp.body).map_err(|e| CommunityError::BadResponse {
        what: what.to_owned(),
        detail: format!("{e}: {}", resp.text()),
    })
}

/// A MIME type from a file name's extension (what the apps put in `contentType`).
pub fn guess_content_type(filename: &str) -> &'static str {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" => "audio/ogg",
        "zip" => "application/zip",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

impl Community {
    /// A community on the server of `url`, with no room joined yet. Call [`Self::join`].
    pub fn new(url: &CommunityUrl, identity: Identity) -> Self {
        let http = SogsClient::new(url.base_url(), *url.server_pubkey());
        Self::with_client(http, identity)
    }

    /// A community from an (unsigned) client: use this to set a time source or transport.
    pub fn with_client(http: SogsClient, identity: Identity) -> Self {
        let server_pk = *http.server_pubkey();
        let state = CommunityState::new(http.base_url(), &server_pk);
        let blinded = identity.blinded15(&server_pk);
        Self {
            http,
            identity,
            server_pk,
            blinded,
            state,
        }
    }

    /// Restores a community from saved state. `http`, when given, replaces the default direct
    /// client (it must be for the same server).
    pub fn from_state(
        state: CommunityState,
        identity: Identity,
        http: Option<SogsClient>,
    ) -> Result<Self, CommunityError> {
        let server_pk = state.server_pk()?;
        let http = match http {
            Some(h) => {
                if h.server_pubkey() != &server_pk || h.base_url() != state.base_url {
                    return Err(CommunityError::WrongServer {
                        expected: state.base_url.clone(),
                        got: h.base_url().to_owned(),
                    });
                }
                h
            }
            None => SogsClient::new(&state.base_url, server_pk),
        };
        let blinded = identity.blinded15(&server_pk);
        Ok(Self {
            http,
            identity,
            server_pk,
            blinded,
            state,
        })
    }

    /// Parses `url`, joins its room and returns the community and the room token as the
    /// server spells it.
    pub async fn join_url(url: &str, identity: Identity) -> Result<(Self, String), CommunityError> {
        let url = CommunityUrl::parse(url).map_err(|e| CommunityError::Invalid(e.to_string()))?;
        let mut c = Self::new(&url, identity);
        let token = c.join(&url).await?.token.clone();
        Ok((c, token))
    }

    /// Replaces the underlying (unsigned) client, e.g. to add a time source or transport.
    pub fn map_client(mut self, f: impl FnOnce(SogsClient) -> SogsClient) -> Self {
        self.http = f(self.http);
        self
    }

    pub fn state(&self) -> &CommunityState {
        &self.state
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    pub fn server_pubkey(&self) -> &[u8; 32] {
        &self.server_pk
    }

    /// The time allowed for a request: `base` (the apps' timeouts) directly, at least the
    /// onion timeout plus a margin over onion transports.
    pub(crate) fn limit(&self, base: Duration) -> Duration {
        match self.http.transport() {
            Transport::Direct => base,
            _ => base.max(ONION_TIMEOUT + Duration::from_secs(5)),
        }
    }

    /// The unsigned client.
    pub fn http(&self) -> &SogsClient {
        &self.http
    }

    /// Whether the server blinds ids (its capabilities include `blind`).
    pub fn blind(&self) -> bool {
        self.state.blind()
    }

    /// Our id on this server: the `15…` blinded id when the server blinds, else our `05…`
    /// Session ID.
    pub fn my_id(&self) -> SessionId {
        if self.blind() {
            self.blinded.session_id()
        } else {
            self.identity.session_id()
        }
    }

    /// Our `15…` blinded id on this server (whether or not the server blinds).
    pub fn my_blinded_id(&self) -> SessionId {
        self.blinded.session_id()
    }

    /// A client signing as the apps do for this server: blinded when the capabilities contain
    /// `blind`, unblinded (`00`) otherwise.
    pub fn client(&self) -> SogsClient {
        if self.blind() {
            self.blinded_client()
        } else {
            self.http
                .clone()
                .with_signer(Signer::Unblinded(self.identity.signing_key().clone()))
        }
    }

    /// A client that always signs with the blinded key (used for `/capabilities`).
    pub fn blinded_client(&self) -> SogsClient {
        self.http
            .clone()
            .with_signer(Signer::Blinded(self.blinded.clone()))
    }

    /// A joined room's token as the server spells it.
    fn token(&self, room: &str) -> Result<String, CommunityError> {
        self.state
            .room(room)
            .map(|r| r.token.clone())
            .ok_or_else(|| CommunityError::UnknownRoom(room.to_owned()))
    }

    // -----------------------------------------------------------------------------------------
    // Joining

    /// `GET /capabilities`, signed blinded as desktop does. The list must be non-empty; it is
    /// sorted and stored.
    pub async fn refresh_capabilities(&mut self) -> Result<Vec<String>, CommunityError> {
        let what = "GET /capabilities";
        let client = self.blinded_client();
        let resp = timed(
            what,
            self.limit(REQUEST_TIMEOUT),
            client.get("/capabilities"),
        )
        .await?;
        let resp = expect_ok(what, resp)?;
        let caps: Capabilities = parse_json(what, &resp)?;
        if caps.capabilities.is_empty() {
            return Err(CommunityError::BadResponse {
                what: what.to_owned(),
                detail: "empty capability list".to_owned(),
            });
        }
        let mut list = caps.capabilities;
        list.sort();
        self.state.capabilities = list.clone();
        Ok(list)
    }

    /// `GET /room/{token}` → the room object (must have `token` and `name`).
    pub async fn fetch_room_info(&self, token: &str) -> Result<RoomInfo, CommunityError> {
        let path = format!("/room/{}", encode_path_segment(token));
        let what = format!("GET {path}");
        let client = self.client();
        let resp = timed(&what, self.limit(REQUEST_TIMEOUT), client.get(&path)).await?;
        let resp = expect_ok(&what, resp)?;
        let info: RoomInfo = parse_json(&what, &resp)?;
        if info.token.is_empty() || info.name.is_empty() {
            return Err(CommunityError::BadResponse {
                what,
                detail: "room info without token or name".to_owned(),
            });
        }
        Ok(info)
    }

    async fn join_once(&mut self, url: &CommunityUrl) -> Result<RoomInfo, CommunityError> {
        self.refresh_capabilities().await?;
        self.fetch_room_info(url.room_as_given()).await
    }

    /// Joins the room of `url` as desktop does (CLIENT.md §1.2): `GET /capabilities` (blinded),
    /// then `GET /room/{token}` (blinded if the server has `blind`); the token the server
    /// returns replaces the URL's spelling. Network failures are retried up to 3 times, 1 s
    /// apart. Joining a room again refreshes its info and keeps its cursor.
    pub async fn join(&mut self, url: &CommunityUrl) -> Result<&RoomState, CommunityError> {
        if url.base_url() != self.state.base_url || url.server_pubkey() != &self.server_pk {
            return Err(CommunityError::WrongServer {
                expected: format!("{} ({})", self.state.base_url, self.state.server_pubkey),
                got: format!("{} ({})", url.base_url(), url.server_pubkey_hex()),
            });
        }
        let mut attempt = 0;
        let info = loop {
            attempt += 1;
            match self.join_once(url).await {
                Ok(info) => break info,
                Err(
                    CommunityError::Client(ClientError::Http(_)) | CommunityError::Timeout { .. },
                ) if attempt < JOIN_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let token = info.token.clone();
        // The URL's token and the server's may differ in case only.
        let idx = match self.state.rooms.iter().position(|r| {
            r.token.eq_ignore_ascii_case(&token) || r.token.eq_ignore_ascii_case(url.room())
        }) {
            Some(i) => {
                if let Some(r) = self.state.rooms.get_mut(i) {
                    r.token = token;
                    r.info = info;
                }
                i
            }
            None => {
                self.state.rooms.push(RoomState {
                    token,
                    info,
                    seqno: None,
                    max_message_id: 0,
                    min_message_id: 0,
                    shown_below: Default::default(),
                    dropped: 0,
                });
                self.state.rooms.len() - 1
            }
        };
        self.state
            .rooms
            .get(idx)
            .ok_or_else(|| CommunityError::State("room vanished".to_owned()))
    }

    /// Starts a room's cursor at "now", so that polling delivers only what happens from here
    /// on instead of the recent history (what a bot usually wants at its first start). Reads
    /// the newest message id, then the room's `message_sequence`.
    pub async fn skip_history(&mut self, room: &str) -> Result<(), CommunityError> {
        let token = self.token(room)?;
        let newest = self.recent(&token, 1).await?;
        let max_id = newest
            .messages
            .iter()
            .map(|m| m.id)
            .chain(newest.dropped.iter().map(|d| d.id))
            .max()
            .unwrap_or(0);
        let info = self.fetch_room_info(&token).await?;
        if let Some(r) = self.state.room_mut(&token) {
            r.seqno = Some(info.message_sequence);
            r.max_message_id = r.max_message_id.max(max_id);
            // Everything before now counts as delivered: old messages come back as edits.
            if r.min_message_id == 0 {
                r.min_message_id = 1;
            }
            r.info = info;
        }
        Ok(())
    }

    /// Forgets a room. Returns whether it was joined.
    pub fn leave(&mut self, room: &str) -> bool {
        let before = self.state.rooms.len();
        self.state
            .rooms
            .retain(|r| !r.token.eq_ignore_ascii_case(room));
        before != self.state.rooms.len()
    }

    /// Fetches a joined room's info again and stores it.
    pub async fn refresh_room(&mut self, room: &str) -> Result<RoomInfo, CommunityError> {
        let token = self.token(room)?;
        let info = self.fetch_room_info(&token).await?;
        if let Some(r) = self.state.room_mut(&token) {
            r.info = info.clone();
        }
        Ok(info)
    }

    // -----------------------------------------------------------------------------------------
    // Posting

    /// A post of `text` with our display name and the current time, ready to send or extend
    /// (attachments, quote).
    pub fn compose(&self, text: &str) -> OutgoingMessage {
        OutgoingMessage {
            text: text.to_owned(),
            display_name: self.identity.display_name().map(|n| n.as_str().to_owned()),
            timestamp_ms: self.http.now_ms(),
            ..OutgoingMessage::default()
        }
    }

    /// The signed `data`/`signature`/`files` body for `msg`: blind15 signature in blinded
    /// rooms, desktop's XEd25519 signature for a `05` author otherwise (CLIENT.md §3.4–3.5).
    pub fn post_body(&self, msg: &OutgoingMessage) -> PostBody {
        if self.blind() {
            msg.post_body(&self.blinded)
        } else {
            let padded = msg.encode();
            let sig = sign_xed25519_desktop(self.identity.ed25519_seed(), &padded);
            PostBody {
                data: b64_encode(&padded),
                timestamp: msg.timestamp_ms,
                signature: b64_encode(&sig),
                files: msg
                    .attachments
                    .iter()
                    .filter_map(Attachment::download_id)
                    .map(|id| id.to_string())
                    .collect(),
            }
        }
    }

    /// Refuses a message whose `sigTimestamp` receivers would reject (more than 6 h from now).
    fn check_send_time(&self, msg: &OutgoingMessage) -> Result<(), CommunityError> {
        let now = self.http.now_ms();
        if msg.timestamp_ms.abs_diff(now) > SIG_TIMESTAMP_TOLERANCE_MS {
            return Err(CommunityError::Invalid(format!(
                "message timestamp {} is more than 6 h from now ({now}); the apps would drop it",
                msg.timestamp_ms
            )));
        }
        Ok(())
    }

    /// Posts a text message; returns it as stored (decoded and verified).
    pub async fn post(&self, room: &str, text: &str) -> Result<RoomMessage, CommunityError> {
        self.post_message(room, &self.compose(text)).await
    }

    /// Posts `msg` (`POST /room/{token}/message`). The answer must carry `id`, `posted` and
    /// `data`, as desktop requires.
    pub async fn post_message(
        &self,
        room: &str,
        msg: &OutgoingMessage,
    ) -> Result<RoomMessage, CommunityError> {
        msg.validate()?;
        self.check_send_time(msg)?;
        let token = self.token(room)?;
        let path = format!("/room/{}/message", encode_path_segment(&token));
        let what = format!("POST {path}");
        let body = self.post_body(msg);
        let client = self.client();
        let resp = timed(
            &what,
            self.limit(REQUEST_TIMEOUT),
            client.post_json(&path, &body),
        )
        .await?;
        let resp = expect_ok(&what, resp)?;
        let stored: Message = parse_json(&what, &resp)?;
        if stored.id == 0 || stored.posted.is_none() || stored.data.is_none() {
            return Err(CommunityError::BadResponse {
                what,
                detail: "post answer lacks id, posted or data".to_owned(),
            });
        }
        let mut stored = stored;
        // Some servers leave these out of the answer; they are ours.
        stored
            .session_id
            .get_or_insert_with(|| self.my_id().to_string());
        stored.signature.get_or_insert(body.signature);
        decode_room_message(&token, &stored).map_err(|e| CommunityError::BadResponse {
            what,
            detail: e.to_string(),
        })
    }

    /// The quote the apps attach when replying to `m`: its `floor(posted * 1000)` and its
    /// author as we know them (our own `05` id for our own posts, CLIENT.md §3.1).
    pub fn quote_of(&self, m: &RoomMessage) -> Quote {
        let author = if m.author == self.my_id() {
            self.identity.session_id()
        } else {
            m.author
        };
        Quote {
            id: m.posted_ms,
            author: author.to_string(),
        }
    }

    /// Posts `text` as a reply quoting `to`.
    pub async fn reply(
        &self,
        room: &str,
        to: &RoomMessage,
        text: &str,
    ) -> Result<RoomMessage, CommunityError> {
        let mut msg = self.compose(text);
        msg.quote = Some(self.quote_of(to));
        self.post_message(room, &msg).await
    }

    /// Uploads `bytes` and posts `text` with the file attached (a `files` entry plus an
    /// `AttachmentPointer` with the room's file URL, as desktop does).
    pub async fn post_with_file(
        &self,
        room: &str,
        text: &str,
        bytes: Vec<u8>,
        filename: &str,
    ) -> Result<RoomMessage, CommunityError> {
        let token = self.token(room)?;
        let size = u32::try_from(bytes.len())
            .map_err(|_| CommunityError::Invalid("file too large".to_owned()))?;
        let id = self.upload(&token, bytes, Some(filename)).await?;
        let file_id = u64::try_from(id).map_err(|_| CommunityError::BadResponse {
            what: "upload".to_owned(),
            detail: format!("negative file id {id}"),
        })?;
        let url = CommunityUrl::new(&self.state.base_url, &token, self.server_pk)
            .map_err(|e| CommunityError::State(e.to_string()))?;
        let mut attachment = Attachment::uploaded(&url, file_id, size);
        // The pointer URL uses the server's spelling of the token.
        attachment.url = Some(format!(
            "{}/room/{}/file/{file_id}",
            self.state.base_url, token
        ));
        attachment.file_name = (!filename.is_empty()).then(|| filename.to_owned());
        attachment.content_type = Some(guess_content_type(filename).to_owned());
        let mut msg = self.compose(text);
        msg.attachments.push(attachment);
        self.post_message(&token, &msg).await
    }

    /// Replaces the content of our message `id` (`PUT /room/{token}/message/{id}`).
    pub async fn edit(&self, room: &str, id: i64, text: &str) -> Result<(), CommunityError> {
        self.edit_message(room, id, &self.compose(text)).await
    }

    /// [`Self::edit`] with a full message.
    pub async fn edit_message(
        &self,
        room: &str,
        id: i64,
        msg: &OutgoingMessage,
    ) -> Result<(), CommunityError> {
        msg.validate()?;
        self.check_send_time(msg)?;
        let token = self.token(room)?;
        let path = format!("/room/{}/message/{id}", encode_path_segment(&token));
        let what = format!("PUT {path}");
        let body = self.post_body(msg);
        let mut json = serde_json::json!({"data": body.data, "signature": body.signature});
        if !body.files.is_empty() {
            json["files"] = serde_json::json!(body.files);
        }
        let client = self.client();
        let resp = timed(
            &what,
            self.limit(REQUEST_TIMEOUT),
            client.put_json(&path, &json),
        )
        .await?;
        expect_ok(&what, resp)?;
        Ok(())
    }

    /// Deletes message `id` (ours, or anyone's as a moderator).
    pub async fn delete(&self, room: &str, id: i64) -> Result<(), CommunityError> {
        let token = self.token(room)?;
        let path = format!("/room/{}/message/{id}", encode_path_segment(&token));
        let what = format!("DELETE {path}");
        let client = self.client();
        let resp = timed(&what, self.limit(REQUEST_TIMEOUT), client.delete(&path)).await?;
        expect_ok(&what, resp)?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Reactions

    fn reaction_path(&self, token: &str, id: i64, emoji: &str) -> Result<String, CommunityError> {
        let n = emoji.chars().count();
        if n == 0 || n > 12 {
            return Err(CommunityError::Invalid(format!(
                "a reaction is 1 to 12 characters, got {n}"
            )));
        }
        Ok(format!(
            "/room/{}/reaction/{id}/{}",
            encode_path_segment(token),
            encode_path_segment(emoji)
        ))
    }

    /// Adds our reaction `emoji` to message `id` (`PUT /room/{t}/reaction/{id}/{emoji}`, no
    /// body, as desktop). The emoji is percent-encoded in the URL; the signature covers the
    /// decoded path, as the apps sign it.
    pub async fn react(
        &self,
        room: &str,
        id: i64,
        emoji: &str,
    ) -> Result<ReactionResult, CommunityError> {
        self.reaction_call("PUT", room, id, emoji).await
    }

    /// Removes our reaction `emoji` from message `id`.
    pub async fn unreact(
        &self,
        room: &str,
        id: i64,
        emoji: &str,
    ) -> Result<ReactionResult, CommunityError> {
        self.reaction_call("DELETE", room, id, emoji).await
    }

    async fn reaction_call(
        &self,
        method: &str,
        room: &str,
        id: i64,
        emoji: &str,
    ) -> Result<ReactionResult, CommunityError> {
        let token = self.token(room)?;
        let path = self.reaction_path(&token, id, emoji)?;
        let what = format!("{method} {path}");
        let client = self.client();
        let limit = self.limit(REQUEST_TIMEOUT);
        let t = encode_path_segment(&token);
        let (changed, seqno) = if method == "PUT" {
            let r = timed(&what, limit, client.react(&t, id, emoji)).await?;
            (r.added, r.seqno)
        } else {
            let r = timed(&what, limit, client.unreact(&t, id, emoji)).await?;
            (r.removed, r.seqno)
        };
        Ok(ReactionResult { changed, seqno })
    }

    // -----------------------------------------------------------------------------------------
    // Files

    /// Uploads a file to a room (`POST /room/{t}/file`, raw body,
    /// `Content-Type: application/octet-stream`, and the name, if any, as
    /// `Content-Disposition: attachment; filename*=UTF-8''…`). Returns the numeric file id.
    /// An upload expires after an hour unless a post references it.
    pub async fn upload(
        &self,
        room: &str,
        bytes: Vec<u8>,
        filename: Option<&str>,
    ) -> Result<i64, CommunityError> {
        let token = self.token(room)?;
        let what = format!("POST /room/{token}/file");
        let client = self.client();
        let t = encode_path_segment(&token);
        let id = timed(
            &what,
            self.limit(FILE_TIMEOUT),
            client.upload_file(&t, &bytes, filename),
        )
        .await?;
        Ok(id)
    }

    /// Downloads file `id` of a room (`GET /room/{t}/file/{id}`).
    pub async fn download(&self, room: &str, id: i64) -> Result<DownloadedFile, CommunityError> {
        let token = self.token(room)?;
        let what = format!("GET /room/{token}/file/{id}");
        let client = self.client();
        let t = encode_path_segment(&token);
        timed(
            &what,
            self.limit(FILE_TIMEOUT),
            client.download_file(&t, id),
        )
        .await
    }

    /// Downloads an attachment of a message from `room`, the way desktop does: the id is the
    /// last segment of the pointer URL, fetched from the room the message came from, and the
    /// data is cut to the pointer's `size`.
    pub async fn download_attachment(
        &self,
        room: &str,
        attachment: &Attachment,
    ) -> Result<DownloadedFile, CommunityError> {
        let id = attachment
            .download_id()
            .and_then(|i| i64::try_from(i).ok())
            .ok_or_else(|| CommunityError::Invalid("attachment has no file id".to_owned()))?;
        let mut d = self.download(room, id).await?;
        if let Some(size) = attachment.size.and_then(|s| usize::try_from(s).ok()) {
            if size > 0 && size < d.bytes.len() {
                d.bytes.truncate(size);
            }
        }
        Ok(d)
    }

    // -----------------------------------------------------------------------------------------
    // Reading

    /// The newest `limit` messages (1–256), verified and decoded, oldest first. Rows that do not
    /// verify are dropped, as the apps drop them, and listed in `dropped`.
    pub async fn recent(&self, room: &str, limit: u32) -> Result<ReadResult, CommunityError> {
        let token = self.token(room)?;
        let path = format!(
            "/room/{}/messages/recent?limit={}&reactors={REACTORS}",
            encode_path_segment(&token),
            limit.clamp(1, 256)
        );
        let what = format!("GET {path}");
        let client = self.client();
        let resp = timed(&what, self.limit(REQUEST_TIMEOUT), client.get(&path)).await?;
        let resp = expect_ok(&what, resp)?;
        let rows: Vec<Message> = parse_json(&what, &resp)?;
        let mut out = ReadResult::default();
        for row in rows {
            match decode_room_message(&token, &row) {
                Ok(m) => out.messages.push(m),
                Err(e) => out.dropped.push(dropped(Some(&token), row.id, &e)),
            }
        }
        out.messages.sort_by_key(|m| m.id);
        Ok(out)
    }

    /// One message by id (404 if it is deleted or not visible).
    pub async fn message(&self, room: &str, id: i64) -> Result<RoomMessage, CommunityError> {
        let token = self.token(room)?;
        let path = format!(
            "/room/{}/message/{id}?reactors={REACTORS}",
            encode_path_segment(&token)
        );
        let what = format!("GET {path}");
        let client = self.client();
        let resp = timed(&what, self.limit(REQUEST_TIMEOUT), client.get(&path)).await?;
        let resp = expect_ok(&what, resp)?;
        let row: Message = parse_json(&what, &resp)?;
        decode_room_message(&token, &row).map_err(|e| CommunityError::BadResponse {
            what,
            detail: e.to_string(),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Direct messages

    /// The blinded ids a DM to `to` may go to: a `15…`/`25…` id as given; for a `05…` Session
    /// ID its two 15-blinded candidates (PROTOCOL.md §3.3, §3.6), one known from room info first.
    pub fn dm_candidates(&self, to: &SessionId) -> Result<Vec<SessionId>, CommunityError> {
        match to.prefix() {
            IdPrefix::Blinded15 | IdPrefix::Blinded25 => Ok(vec![*to]),
            IdPrefix::Session => {
                let mut c = blind15_candidates(to, &self.server_pk)?.to_vec();
                let known = |id: &SessionId| {
                    let s = id.to_string();
                    self.state.rooms.iter().any(|r| {
                        r.info
                            .moderators
                            .iter()
                            .chain(&r.info.admins)
                            .chain(&r.info.hidden_moderators)
                            .chain(&r.info.hidden_admins)
                            .any(|m| m.eq_ignore_ascii_case(&s))
                    })
                };
                // Stable: a candidate seen in room info goes first; otherwise the
                // bit-cleared ("abs") one, then the other.
                c.sort_by_key(|id| !known(id));
                if *to == self.identity.session_id() {
                    c.retain(|id| *id == self.blinded.session_id());
                }
                Ok(c)
            }
            IdPrefix::Unblinded | IdPrefix::System => Err(CommunityError::Invalid(format!(
                "cannot send a DM to a {} id",
                to.prefix().as_hex()
            ))),
        }
    }

    /// Sends a DM of `text` to `to` (a blinded id, or a `05…` Session ID).
    pub async fn send_dm(&self, to: &SessionId, text: &str) -> Result<SentDm, CommunityError> {
        self.send_dm_message(to, &self.compose(text)).await
    }

    /// Sends `msg` as a blinded DM (`POST /inbox/{blinded id}`, body
    /// `{"message": base64(encrypt(pad(Content)))}`; CLIENT.md §5).
    ///
    /// For a `05…` Session ID the real blinded id has one of two signs; the server only
    /// accepts the one that has authenticated before. The candidate known from room info goes
    /// first, otherwise both are tried in turn and a 404 moves on to the next: the message
    /// ends up stored at most once, under the id its owner reads with.
    pub async fn send_dm_message(
        &self,
        to: &SessionId,
        msg: &OutgoingMessage,
    ) -> Result<SentDm, CommunityError> {
        if !self.blind() {
            return Err(CommunityError::NoDms);
        }
        msg.validate()?;
        let candidates = self.dm_candidates(to)?;
        let padded = msg.encode();
        let client = self.client();
        let mut last_404 = None;
        for recipient in candidates {
            let data = encrypt_blinded_dm(
                self.identity.ed25519_seed(),
                &recipient,
                &self.server_pk,
                &padded,
            )?;
            let what = format!("POST /inbox/{recipient}");
            let sent = timed(
                &what,
                self.limit(REQUEST_TIMEOUT),
                client.send_dm_data(&recipient, &data),
            )
            .await;
            match sent {
                Err(e) if to.prefix() == IdPrefix::Session && e.status() == Some(404) => {
                    last_404 = Some(e);
                }
                Err(e) => return Err(e),
                Ok(item) => {
                    return Ok(SentDm {
                        id: item.id,
                        recipient,
                        posted_ms: seconds_to_ms(item.posted_at),
                    })
                }
            }
        }
        match last_404 {
            Some(_) => Err(CommunityError::RecipientUnknown(to.to_string())),
            None => Err(CommunityError::Invalid("no recipient".to_owned())),
        }
    }

    /// Decrypts and decodes one inbox or outbox item (CLIENT.md §5): the embedded sender key
    /// must blind to the sender's id, the plaintext is an unpadded `Content`, and the 6 h
    /// timestamp rule applies.
    pub fn decrypt_dm(&self, item: &Dm) -> Result<DirectMessage, DecodeError> {
        let sender = SessionId::parse(&item.sender)?;
        let recipient = SessionId::parse(&item.recipient)?;
        let decrypted = item
            .decrypt(&self.identity, &self.server_pk)
            .map_err(|e| DecodeError::Dm(e.to_string()))?;
        let content = decrypted
            .decode()
            .map_err(|e| DecodeError::Dm(e.to_string()))?;
        DirectMessage::new(
            item.id,
            sender == self.blinded.session_id(),
            sender,
            recipient,
            decrypted.sender_session_id,
            item.posted_at,
            Some(item.expires_at),
            content,
        )
    }

    /// Decrypts inbox or outbox items; failures are listed in `dropped`.
    pub fn decrypt_dms(&self, items: &[Dm]) -> DmReadResult {
        let mut out = DmReadResult::default();
        for item in items {
            match self.decrypt_dm(item) {
                Ok(m) => out.messages.push(m),
                Err(e) => out.dropped.push(dropped(None, item.id, &e)),
            }
        }
        out
    }

    async fn dm_list(&self, outbox: bool, limit: u32) -> Result<DmReadResult, CommunityError> {
        if !self.blind() {
            return Err(CommunityError::NoDms);
        }
        let what = if outbox { "GET /outbox" } else { "GET /inbox" };
        let client = self.client();
        let limit = Some(limit.clamp(1, 256));
        let items = if outbox {
            timed(
                what,
                self.limit(REQUEST_TIMEOUT),
                client.outbox(None, limit),
            )
            .await?
        } else {
            timed(what, self.limit(REQUEST_TIMEOUT), client.inbox(None, limit)).await?
        };
        Ok(self.decrypt_dms(&items))
    }

    /// Received DMs (oldest first, at most `limit`), decrypted.
    pub async fn inbox(&self, limit: u32) -> Result<DmReadResult, CommunityError> {
        self.dm_list(false, limit).await
    }

    /// Sent DMs (oldest first, at most `limit`), decrypted.
    pub async fn outbox(&self, limit: u32) -> Result<DmReadResult, CommunityError> {
        self.dm_list(true, limit).await
    }
}

/// Maps a message or DM decode failure to a drop record.
pub(crate) fn dropped(room: Option<&str>, id: i64, e: &DecodeError) -> Dropped {
    Dropped {
        room: room.map(str::to_owned),
        id,
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(guess_content_type("X.PNG"), "image/png");
        assert_eq!(guess_content_type("noext"), "application/octet-stream");
    }

    #[test]
    fn dm_candidates_for_session_ids() {
        let url = CommunityUrl::parse(
            "http://example.org/r?public_key=a03c383cf63c3c4efe67acc52112a6dd734b3a946b9545f488aaa93da7991238",
        )
        .unwrap();
        let me = Identity::from_seed(&[1; 16]);
        let other = Identity::from_seed(&[2; 16]);
        let c = Community::new(&url, me.clone());
        let cands = c.dm_candidates(&other.session_id()).unwrap();
        assert_eq!(cands.len(), 2);
        assert!(cands.contains(&other.blinded15_id(url.server_pubkey())));
        // To ourselves: exactly our own blinded id.
        assert_eq!(
            c.dm_candidates(&me.session_id()).unwrap(),
            vec![me.blinded15_id(url.server_pubkey())]
        );
        let b = other.blinded15_id(url.server_pubkey());
        assert_eq!(c.dm_candidates(&b).unwrap(), vec![b]);
    }
}
