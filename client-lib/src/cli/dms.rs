//! Direct messages between blinded ids: `dm` and `inbox`.

use super::format::{json_pretty, note_dropped, write_dm};
use super::store::{load_identity, load_store, open_community, resolve_room};
use super::{CliError, CliResult, Ctx};
use crate::community::{Community, CommunityState};
use crate::ids::SessionId;
use crate::types::DirectMessage;

/// The community to send a DM through: the server of `room`, or the only joined server.
pub(super) fn dm_community(ctx: &Ctx<'_>, room: Option<&str>) -> CliResult<Community> {
    let identity = load_identity(ctx)?;
    let store = load_store(ctx)?;
    let state = match room {
        Some(room) => {
            let (i, _) = resolve_room(&store, room)?;
            store.communities.get(i).cloned()
        }
        None => match store.communities.as_slice() {
            [] => return Err(CliError::fail(
                "no community joined: DMs go through a community server (`sogs-client join URL`)",
            )),
            [one] => Some(one.clone()),
            _ => {
                return Err(CliError::usage(
                    "several servers joined: choose the one to use with --room ROOM",
                ))
            }
        },
    }
    .ok_or_else(|| CliError::fail("state changed"))?;
    open_community(ctx, state, identity)
}

pub(super) async fn dm(ctx: &mut Ctx<'_>, to: &str, text: &str, room: Option<&str>) -> CliResult {
    let to = SessionId::parse(to.trim()).map_err(|e| {
        CliError::usage(format!(
            "{to:?} is not a Session ID (05…) or blinded id (15…): {e}"
        ))
    })?;
    let community = dm_community(ctx, room)?;
    let sent = community.send_dm(&to, text).await?;
    if ctx.json {
        json_pretty(ctx.out, &sent)?;
    } else {
        writeln!(
            ctx.out,
            "Sent DM {} to {} via {}",
            sent.id,
            sent.recipient,
            community.base_url()
        )?;
    }
    Ok(())
}

pub(super) async fn inbox(
    ctx: &mut Ctx<'_>,
    room: Option<&str>,
    sent: bool,
    limit: u32,
) -> CliResult {
    let identity = load_identity(ctx)?;
    let store = load_store(ctx)?;
    let states: Vec<CommunityState> = match room {
        Some(r) => {
            let (i, _) = resolve_room(&store, r)?;
            store.communities.get(i).cloned().into_iter().collect()
        }
        None => store.communities.clone(),
    };
    let mut all: Vec<(String, DirectMessage)> = Vec::new();
    let mut dropped = 0;
    for state in states.into_iter().filter(CommunityState::blind) {
        let base = state.base_url.clone();
        let c = open_community(ctx, state, identity.clone())?;
        let mut got = c.inbox(limit).await?;
        if sent {
            let out = c.outbox(limit).await?;
            got.messages.extend(out.messages);
            got.dropped.extend(out.dropped);
        }
        dropped += got.dropped.len();
        all.extend(got.messages.into_iter().map(|m| (base.clone(), m)));
    }
    all.sort_by_key(|(_, m)| (m.posted_ms, m.id));
    if ctx.json {
        let rows: Vec<serde_json::Value> = all
            .iter()
            .map(|(server, m)| {
                let mut v = serde_json::to_value(m).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("server".to_owned(), serde_json::json!(server));
                }
                v
            })
            .collect();
        json_pretty(ctx.out, &rows)?;
    } else {
        if all.is_empty() {
            writeln!(ctx.out, "No direct messages.")?;
        }
        for (_, m) in &all {
            write_dm(ctx.out, m)?;
        }
    }
    note_dropped(ctx.err, dropped);
    Ok(())
}
