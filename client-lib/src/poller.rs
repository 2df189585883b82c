//! Polling as the Session apps do it (CLIENT.md §2): one `POST /batch` per server per cycle
//! with exactly the apps' sub-requests, the seqno cursor rules, room-info refresh, and a
//! [`Poller`] that turns the answers into typed [`Event`]s.
//!
//! ```no_run
//! # async fn demo(community: sogs_client::community::Community) -> Result<(), sogs_client::community::CommunityError> {
//! use sogs_client::poller::{Event, Poller};
//! let mut poller = Poller::new(community);
//! loop {
//!     if let Event::NewMessage(m) = poller.next_event().await? {
//!         println!("{}: {}", m.author_label(), m.text());
//!     }
//! }
//! # }
//! ```

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::community::{dropped, encode_path_segment, Community, CommunityError, Dropped};
use crate::dm_api::Dm;
use crate::ids::SessionId;
use crate::types::{
    decode_room_message, Capabilities, DirectMessage, Message, PollInfo, Reactions, RoomInfo,
    RoomMessage, SubRequest, SubResponse,
};

/// How often the apps poll (desktop: every 10 s).
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);
/// Timeout of one poll (the apps: 10 s).
pub const POLL_TIMEOUT: Duration = Duration::from_secs(10);

/// Something that happened on the server, in the order the poll returned it: per room (in
/// join order) a room-info change, then message events by ascending seqno; then received and
/// sent DMs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A message we had not seen (it may already carry `edited_ms` and reactions, if it was
    /// edited or reacted to before this poll).
    NewMessage(RoomMessage),
    /// New content for a message we had seen.
    Edit(RoomMessage),
    /// A message was deleted.
    Deletion { room: String, id: i64, seqno: i64 },
    /// The reactions of a message changed; `reactions` is the complete new set (empty when
    /// none remain).
    ReactionChange {
        room: String,
        id: i64,
        seqno: i64,
        reactions: Reactions,
    },
    /// The room's `info_updates` changed (name, description, image, moderators, pins…).
    RoomInfoChanged {
        room: String,
        /// The counter we had before.
        previous_info_updates: i64,
        info: Box<RoomInfo>,
    },
    /// A blinded DM, received (`outgoing: false`) or sent by us, possibly from another
    /// device (`outgoing: true`).
    DirectMessage(DirectMessage),
}

impl Event {
    /// The room the event belongs to (`None` for DMs).
    pub fn room(&self) -> Option<&str> {
        match self {
            Self::NewMessage(m) | Self::Edit(m) => Some(&m.room),
            Self::Deletion { room, .. }
            | Self::ReactionChange { room, .. }
            | Self::RoomInfoChanged { room, .. } => Some(room),
            Self::DirectMessage(_) => None,
        }
    }
}

/// What one poll produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PollResult {
    pub events: Vec<Event>,
    /// Rows and DMs that were dropped (signature, decoding, timestamp, decryption).
    pub dropped: Vec<Dropped>,
    /// Sub-requests that failed (`(path, code)`), e.g. a room we lost access to.
    pub failed: Vec<(String, u16)>,
}

/// A reaction-only row for a message never shown: the event at `event` is its reaction
/// change, to become a new message once the message is fetched.
struct Unseen {
    event: usize,
    room: String,
    id: i64,
}

/// Which sub-request a batch position answers.
enum Slot {
    Capabilities,
    PollInfo(String),
    Messages(String),
    Inbox,
    Outbox,
}

impl Community {
    /// The poll batch exactly as CLIENT.md §2.2 describes it: `GET /capabilities`; per room, in
    /// join order, `GET /room/{t}/pollInfo/0` and `GET /room/{t}/messages/since/{seqno}?t=r&reactors=5`
    /// (or `/messages/recent?reactors=5` while the room has no cursor); then, on blinded
    /// servers, `GET /inbox[/since/{id}]` and `GET /outbox[/since/{id}]`.
    pub fn batch_body(&self) -> Vec<SubRequest> {
        self.batch_plan().into_iter().map(|(r, _)| r).collect()
    }

    fn batch_plan(&self) -> Vec<(SubRequest, Slot)> {
        let mut out = vec![(SubRequest::get("/capabilities"), Slot::Capabilities)];
        for room in &self.state.rooms {
            let t = encode_path_segment(&room.token);
            out.push((
                SubRequest::get(format!("/room/{t}/pollInfo/0")),
                Slot::PollInfo(room.token.clone()),
            ));
            let path = match room.seqno {
                Some(n) => format!(
                    "/room/{t}/messages/since/{n}?t=r&reactors={}",
                    crate::community::REACTORS
                ),
                None => format!(
                    "/room/{t}/messages/recent?reactors={}",
                    crate::community::REACTORS
                ),
            };
            out.push((SubRequest::get(path), Slot::Messages(room.token.clone())));
        }
        if self.state.blind() {
            for (name, max, slot) in [
                ("inbox", self.state.inbox_max_id, Slot::Inbox),
                ("outbox", self.state.outbox_max_id, Slot::Outbox),
            ] {
                let path = if max > 0 {
                    format!("/{name}/since/{max}")
                } else {
                    format!("/{name}")
                };
                out.push((SubRequest::get(path), slot));
            }
        }
        out
    }

    /// Polls once: sends the batch, applies the answers to the state (capabilities, room info,
    /// cursors) and returns the events. A 400 "requires the use of blinded ids" answer makes
    /// it refetch the capabilities and return no events, as desktop does.
    pub async fn poll(&mut self) -> Result<PollResult, CommunityError> {
        let plan = self.batch_plan();
        let body: Vec<&SubRequest> = plan.iter().map(|(r, _)| r).collect();
        let client = self.client();
        let resp =
            match tokio::time::timeout(self.limit(POLL_TIMEOUT), client.post_json("/batch", &body))
                .await
            {
                Ok(r) => r?,
                Err(_) => {
                    return Err(CommunityError::Timeout {
                        what: "POST /batch".to_owned(),
                    })
                }
            };
        if resp.status == 400 && resp.text().trim() == crate::community::BLINDING_REQUIRED_TEXT {
            self.refresh_capabilities().await?;
            return Ok(PollResult::default());
        }
        if !(200..300).contains(&resp.status) {
            return Err(CommunityError::Status {
                what: "POST /batch".to_owned(),
                status: resp.status,
                body: resp.text(),
            });
        }
        let answers: Vec<SubResponse> =
            serde_json::from_slice(&resp.body).map_err(|e| CommunityError::BadResponse {
                what: "POST /batch".to_owned(),
                detail: e.to_string(),
            })?;
        if answers.len() != plan.len() {
            return Err(CommunityError::BadResponse {
                what: "POST /batch".to_owned(),
                detail: format!("{} answers for {} sub-requests", answers.len(), plan.len()),
            });
        }
        let mut result = PollResult::default();
        let mut unseen = Vec::new();
        for ((req, slot), answer) in plan.into_iter().zip(answers) {
            if answer.code == 304 {
                continue;
            }
            if !(200..300).contains(&answer.code) {
                result.failed.push((req.path, answer.code));
                continue;
            }
            match slot {
                Slot::Capabilities => self.apply_capabilities(answer.body),
                Slot::PollInfo(token) => self.apply_poll_info(&token, answer.body, &mut result),
                Slot::Messages(token) => {
                    self.apply_messages(&token, answer.body, &mut result, &mut unseen)
                }
                Slot::Inbox => self.apply_dms(answer.body, false, &mut result),
                Slot::Outbox => self.apply_dms(answer.body, true, &mut result),
            }
        }
        self.fetch_unseen(unseen, &mut result).await;
        Ok(result)
    }

    /// A reaction-only row of a message we never showed carries no content: fetch the
    /// message and deliver it as new in the reaction change's place. One that cannot be
    /// fetched (deleted meanwhile, or the request failed) stays a reaction change, and is
    /// tried again at its next change.
    async fn fetch_unseen(&mut self, unseen: Vec<Unseen>, out: &mut PollResult) {
        for u in unseen {
            let Ok(m) = self.message(&u.room, u.id).await else {
                continue;
            };
            if let (Some(slot), Some(room)) =
                (out.events.get_mut(u.event), self.state.room_mut(&u.room))
            {
                room.mark_delivered(&[u.id]);
                *slot = Event::NewMessage(m);
            }
        }
    }

    fn apply_capabilities(&mut self, body: serde_json::Value) {
        if let Ok(caps) = serde_json::from_value::<Capabilities>(body) {
            if !caps.capabilities.is_empty() {
                let mut list = caps.capabilities;
                list.sort();
                self.state.capabilities = list;
            }
        }
    }

    fn apply_poll_info(&mut self, token: &str, body: serde_json::Value, out: &mut PollResult) {
        let Ok(info) = serde_json::from_value::<PollInfo>(body) else {
            out.failed.push((format!("pollInfo {token}"), 200));
            return;
        };
        if !info.token.eq_ignore_ascii_case(token) {
            return;
        }
        let Some(room) = self.state.room_mut(token) else {
            return;
        };
        room.info.read = info.read;
        room.info.write = info.write;
        room.info.upload = info.upload;
        if info.active_users > 0 {
            room.info.active_users = info.active_users;
        }
        if let Some(details) = info.details {
            let previous = room.info.info_updates;
            let changed = details.info_updates != previous;
            room.info = details;
            if changed {
                out.events.push(Event::RoomInfoChanged {
                    room: room.token.clone(),
                    previous_info_updates: previous,
                    info: Box::new(room.info.clone()),
                });
            }
        }
    }

    /// CLIENT.md §2.3 for one room's `messages` answer.
    fn apply_messages(
        &mut self,
        token: &str,
        body: serde_json::Value,
        out: &mut PollResult,
        unseen: &mut Vec<Unseen>,
    ) {
        let Some(room) = self.state.room_mut(token) else {
            return;
        };
        let Ok(mut rows) = serde_json::from_value::<Vec<Message>>(body) else {
            out.failed.push((format!("messages {token}"), 200));
            return;
        };
        if rows
            .iter()
            .any(|r| !r.deleted && !r.is_reaction_only() && r.session_id.is_none())
        {
            // Desktop abandons the whole room answer (and keeps its cursor).
            out.failed.push((format!("messages {token}"), 200));
            return;
        }
        rows.sort_by_key(|r| r.seqno);
        if let Some(max) = rows.iter().map(|r| r.seqno).max() {
            room.seqno = Some(room.seqno.map_or(max, |s| s.max(max)));
        }
        let mut delivered = Vec::new();
        for row in rows {
            if row.deleted {
                out.events.push(Event::Deletion {
                    room: room.token.clone(),
                    id: row.id,
                    seqno: row.seqno,
                });
                continue;
            }
            if row.is_reaction_only() {
                if room.is_unseen(row.id) {
                    unseen.push(Unseen {
                        event: out.events.len(),
                        room: room.token.clone(),
                        id: row.id,
                    });
                }
                out.events.push(Event::ReactionChange {
                    room: room.token.clone(),
                    id: row.id,
                    seqno: row.seqno,
                    reactions: row.reactions.unwrap_or_default(),
                });
                continue;
            }
            let is_new = room.is_unseen(row.id);
            if is_new {
                delivered.push(row.id);
            }
            match decode_room_message(&room.token, &row) {
                Ok(m) if is_new => out.events.push(Event::NewMessage(m)),
                Ok(m) if m.edited_ms.is_some() => out.events.push(Event::Edit(m)),
                Ok(m) => out.events.push(Event::ReactionChange {
                    room: m.room,
                    id: m.id,
                    seqno: m.seqno,
                    reactions: m.reactions,
                }),
                Err(e) => {
                    room.dropped += 1;
                    out.dropped.push(dropped(Some(&room.token), row.id, &e));
                }
            }
        }
        room.mark_delivered(&delivered);
    }

    fn apply_dms(&mut self, body: serde_json::Value, outgoing: bool, out: &mut PollResult) {
        let Ok(items) = serde_json::from_value::<Vec<Dm>>(body) else {
            return;
        };
        if let Some(max) = items.iter().map(|i| i.id).max() {
            let cursor = if outgoing {
                &mut self.state.outbox_max_id
            } else {
                &mut self.state.inbox_max_id
            };
            *cursor = (*cursor).max(max);
        }
        let mut read = self.decrypt_dms(&items);
        read.messages.sort_by_key(|m| m.id);
        self.state.dms_dropped += read.dropped.len() as u64;
        out.dropped.extend(read.dropped);
        out.events
            .extend(read.messages.into_iter().map(Event::DirectMessage));
    }
}

/// Polls a [`Community`] every [`POLL_INTERVAL`] and hands out its events one at a time.
#[derive(Debug)]
pub struct Poller {
    community: Community,
    interval: Duration,
    queue: VecDeque<Event>,
    last_poll: Option<tokio::time::Instant>,
    dropped: Vec<Dropped>,
}

impl Poller {
    /// A poller that polls at once, then every 10 s.
    pub fn new(community: Community) -> Self {
        Self {
            community,
            interval: POLL_INTERVAL,
            queue: VecDeque::new(),
            last_poll: None,
            dropped: Vec::new(),
        }
    }

    /// Changes the interval between polls.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    pub fn community(&self) -> &Community {
        &self.community
    }

    /// The community, e.g. to post from an event handler or to join another room (the next
    /// poll includes it).
    pub fn community_mut(&mut self) -> &mut Community {
        &mut self.community
    }

    pub fn into_community(self) -> Community {
        self.community
    }

    /// Everything dropped so far (rows that failed verification or decoding, DMs that failed
    /// to decrypt).
    pub fn dropped(&self) -> &[Dropped] {
        &self.dropped
    }

    /// Polls now and returns this poll's events (also queued events from before are kept for
    /// [`Self::next_event`], this poll's are not).
    pub async fn poll_now(&mut self) -> Result<Vec<Event>, CommunityError> {
        self.last_poll = Some(tokio::time::Instant::now());
        let result = self.community.poll().await?;
        self.dropped.extend(result.dropped);
        Ok(result.events)
    }

    /// The next event: from the queue, else polls (at once the first time, then waiting for
    /// the interval between polls) until something arrives. A failed poll returns the error;
    /// call again to keep going.
    pub async fn next_event(&mut self) -> Result<Event, CommunityError> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Ok(e);
            }
            if let Some(last) = self.last_poll {
                tokio::time::sleep_until(last + self.interval).await;
            }
            let events = self.poll_now().await?;
            self.queue.extend(events);
        }
    }

    /// Our id on the polled server.
    pub fn my_id(&self) -> SessionId {
        self.community.my_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::community::{CommunityState, RoomState};
    use crate::identity::Identity;

    fn room(token: &str, seqno: Option<i64>) -> RoomState {
        RoomState {
            token: token.to_owned(),
            info: serde_json::from_value(serde_json::json!({"token": token, "name": token}))
                .unwrap(),
            seqno,
            max_message_id: 0,
            min_message_id: 0,
            shown_below: Default::default(),
            dropped: 0,
        }
    }

    #[test]
    fn batch_body_matches_client_md() {
        let pk = [7u8; 32];
        let mut state = CommunityState::new("http://example.org", &pk);
        state.capabilities = vec!["blind".into(), "reactions".into(), "sogs".into()];
        state.rooms = vec![
            room("Lobby", None),
            room("dev", Some(0)),
            room("x", Some(42)),
        ];
        state.outbox_max_id = 9;
        let c = Community::from_state(state, Identity::from_seed(&[1; 16]), None).unwrap();
        let body = serde_json::to_value(c.batch_body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!([
                {"method":"GET","path":"/capabilities"},
                {"method":"GET","path":"/room/Lobby/pollInfo/0"},
                {"method":"GET","path":"/room/Lobby/messages/recent?reactors=5"},
                {"method":"GET","path":"/room/dev/pollInfo/0"},
                {"method":"GET","path":"/room/dev/messages/since/0?t=r&reactors=5"},
                {"method":"GET","path":"/room/x/pollInfo/0"},
                {"method":"GET","path":"/room/x/messages/since/42?t=r&reactors=5"},
                {"method":"GET","path":"/inbox"},
                {"method":"GET","path":"/outbox/since/9"},
            ])
        );
        // Exact bytes: only method and path, in that order.
        assert_eq!(
            serde_json::to_string(&c.batch_body()[0]).unwrap(),
            r#"{"method":"GET","path":"/capabilities"}"#
        );
    }

    #[test]
    fn no_dm_requests_without_blind() {
        let mut state = CommunityState::new("http://example.org", &[7u8; 32]);
        state.capabilities = vec!["reactions".into(), "sogs".into()];
        state.rooms = vec![room("a", Some(3))];
        let c = Community::from_state(state, Identity::from_seed(&[1; 16]), None).unwrap();
        let paths: Vec<String> = c.batch_body().into_iter().map(|r| r.path).collect();
        assert_eq!(
            paths,
            vec![
                "/capabilities",
                "/room/a/pollInfo/0",
                "/room/a/messages/since/3?t=r&reactors=5"
            ]
        );
    }

    #[test]
    fn cursor_is_max_seqno_over_all_rows() {
        let mut state = CommunityState::new("http://example.org", &[7u8; 32]);
        state.rooms = vec![room("a", Some(3))];
        let mut c = Community::from_state(state, Identity::from_seed(&[1; 16]), None).unwrap();
        let mut out = PollResult::default();
        // A reaction-only row and a tombstone, out of order; both count for the cursor.
        c.apply_messages(
            "a",
            serde_json::json!([
                {"id": 1, "seqno": 9, "reactions": {}},
                {"id": 2, "session_id": "15aa", "posted": 1.0, "edited": 2.0, "seqno": 7,
                 "data": null, "deleted": true},
            ]),
            &mut out,
            &mut Vec::new(),
        );
        assert_eq!(c.state().rooms[0].seqno, Some(9));
        assert_eq!(
            out.events,
            vec![
                Event::Deletion {
                    room: "a".into(),
                    id: 2,
                    seqno: 7
                },
                Event::ReactionChange {
                    room: "a".into(),
                    id: 1,
                    seqno: 9,
                    reactions: Reactions::new()
                },
            ]
        );
        // No rows: cursor unchanged.
        c.apply_messages("a", serde_json::json!([]), &mut out, &mut Vec::new());
        assert_eq!(c.state().rooms[0].seqno, Some(9));
        // A bad row is dropped and counted, but still moves the cursor.
        let mut out = PollResult::default();
        c.apply_messages(
            "a",
            serde_json::json!([{"id": 5, "session_id": "15aa", "posted": 1.0, "seqno": 12,
                                "data": "AAAA", "signature": "AAAA"}]),
            &mut out,
            &mut Vec::new(),
        );
        assert_eq!(c.state().rooms[0].seqno, Some(12));
        assert_eq!(c.state().rooms[0].dropped, 1);
        assert_eq!(out.dropped.len(), 1);
        assert!(out.events.is_empty());
        // A non-deleted row without session_id abandons the room's answer.
        let mut out = PollResult::default();
        c.apply_messages(
            "a",
            serde_json::json!([{"id": 6, "posted": 1.0, "seqno": 13, "data": "AAAA",
                                "signature": "AAAA"}]),
            &mut out,
            &mut Vec::new(),
        );
        assert_eq!(c.state().rooms[0].seqno, Some(12));
        assert_eq!(out.failed.len(), 1);
    }
}
