//! Message objects as clients receive them (PROTOCOL.md §9.1).

use crate::db::messages::{MessageRow, ReactorRow};
use serde::Serialize;
use sogs_client::encoding::b64_encode;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct ReactionInfo {
    pub index: usize,
    pub count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactors: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub you: Option<bool>,
}

pub type Reactions = BTreeMap<String, ReactionInfo>;

/// Groups reactor rows (ordered by message, reaction id, time) into reaction objects.
pub fn group_reactions(
    rows: Vec<ReactorRow>,
    viewer: Option<i64>,
    reactors: usize,
) -> HashMap<i64, Reactions> {
    let mut out: HashMap<i64, Reactions> = HashMap::new();
    let mut last: Option<(i64, i64)> = None;
    for row in rows {
        let map = out.entry(row.message).or_default();
        if last != Some((row.message, row.reaction_id)) {
            last = Some((row.message, row.reaction_id));
            let index = map.len();
            map.insert(
                row.reaction.clone(),
                ReactionInfo {
                    index,
                    count: 0,
                    reactors: (reactors > 0).then(Vec::new),
                    you: None,
                },
            );
        }
        if let Some(info) = map.get_mut(&row.reaction) {
            info.count += 1;
            if let Some(list) = info.reactors.as_mut().filter(|l| l.len() < reactors) {
                list.push(row.session_id);
            }
            if viewer == Some(row.reactor) {
                info.you = Some(true);
            }
        }
    }
    out
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posted: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited: Option<f64>,
    pub seqno: i64,
    /// Base64; `null` for a deleted message. Absent on reaction-only updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub data: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whisper: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whisper_mods: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whisper_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions: Option<Reactions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<bool>,
}

impl Message {
    /// The full object (or a tombstone for a deleted message).
    pub fn full(row: MessageRow, reactions: Option<Reactions>) -> Self {
        let deleted = row.is_deleted();
        let whisper = row.is_whisper();
        Self {
            id: row.id,
            session_id: Some(row.session_id),
            posted: Some(row.posted),
            edited: row.edited,
            seqno: row.seqno,
            data: Some(row.data.as_deref().map(b64_encode)),
            signature: row.signature.as_deref().map(b64_encode),
            deleted: deleted.then_some(true),
            whisper: whisper.then_some(true),
            whisper_mods: whisper.then_some(row.whisper_mods),
            whisper_to: row.whisper_to,
            reactions: if deleted {
                None
            } else {
                Some(reactions.unwrap_or_default())
            },
            filtered: None,
        }
    }

    /// `{id, seqno, reactions}` for a `since` row that only carries reaction changes.
    pub fn reactions_only(row: &MessageRow, reactions: Option<Reactions>) -> Self {
        Self {
            id: row.id,
            session_id: None,
            posted: None,
            edited: None,
            seqno: row.seqno,
            data: None,
            signature: None,
            deleted: None,
            whisper: None,
            whisper_mods: None,
            whisper_to: None,
            reactions: Some(reactions.unwrap_or_default()),
            filtered: None,
        }
    }
}
