//! Room commands: `join`, `rooms`, `post`, `read`, `tail`, `react`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::format::{json_line, json_pretty, note_dropped, write_event, write_message};
use super::store::{
    community_for, http_client, load_identity, load_store, open_community, put_state, save_store,
};
use super::{CliError, CliResult, Ctx};
use crate::community::Community;
use crate::poller::Poller;
use crate::url::CommunityUrl;

pub(super) async fn join(ctx: &mut Ctx<'_>, url: &str) -> CliResult {
    let url = CommunityUrl::parse(url).map_err(CliError::usage)?;
    let identity = load_identity(ctx)?;
    let mut store = load_store(ctx)?;
    let existing = store
        .communities
        .iter()
        .find(|c| c.base_url == url.base_url() && c.server_pubkey == url.server_pubkey_hex())
        .cloned();
    let mut community = match existing {
        Some(state) => open_community(ctx, state, identity)?,
        None => Community::with_client(
            http_client(ctx, url.base_url(), *url.server_pubkey()),
            identity,
        ),
    };
    let room = community.join(&url).await?.clone();
    let my_id = community.my_id();
    let state = community.state().clone();
    put_state(&mut store, state.clone());
    save_store(ctx, &store)?;
    if ctx.json {
        json_pretty(
            ctx.out,
            &serde_json::json!({
                "server": state.base_url,
                "token": room.token,
                "name": room.info.name,
                "description": room.info.description,
                "join_url": state.join_url(&room.token),
                "capabilities": state.capabilities,
                "my_id": my_id,
                "read": room.info.read,
                "write": room.info.write,
                "upload": room.info.upload,
            }),
        )?;
    } else {
        writeln!(
            ctx.out,
            "Joined {:?} ({}) on {}",
            room.info.name, room.token, state.base_url
        )?;
        if let Some(d) = room.info.description.as_deref() {
            writeln!(ctx.out, "{d}")?;
        }
        writeln!(
            ctx.out,
            "You appear there as {my_id}{}",
            if state.blind() { " (blinded)" } else { "" }
        )?;
        if !room.info.write {
            writeln!(ctx.out, "This room is read-only for you.")?;
        }
    }
    Ok(())
}

pub(super) fn rooms(ctx: &mut Ctx<'_>) -> CliResult {
    let store = load_store(ctx)?;
    let rows: Vec<serde_json::Value> = store
        .communities
        .iter()
        .flat_map(|c| {
            c.rooms.iter().map(move |r| {
                serde_json::json!({
                    "server": c.base_url,
                    "token": r.token,
                    "name": r.info.name,
                    "description": r.info.description,
                    "join_url": c.join_url(&r.token),
                    "active_users": r.info.active_users,
                    "info_updates": r.info.info_updates,
                    "seqno": r.seqno,
                })
            })
        })
        .collect();
    if ctx.json {
        return json_pretty(ctx.out, &rows);
    }
    if rows.is_empty() {
        writeln!(ctx.out, "No rooms joined yet: use `sogs-client join URL`.")?;
    }
    for c in &store.communities {
        for r in &c.rooms {
            writeln!(
                ctx.out,
                "{}  {:?}  {}  ({} active users)",
                r.token,
                r.info.name,
                c.join_url(&r.token),
                r.info.active_users
            )?;
        }
    }
    Ok(())
}

pub(super) async fn post(
    ctx: &mut Ctx<'_>,
    room: &str,
    text: &str,
    file: Option<&Path>,
) -> CliResult {
    let (community, token, _) = community_for(ctx, room)?;
    let msg = match file {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| CliError::fail(format!("{}: {e}", path.display())))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            community.post_with_file(&token, text, bytes, &name).await?
        }
        None => community.post(&token, text).await?,
    };
    if ctx.json {
        json_pretty(ctx.out, &msg)?;
    } else {
        writeln!(ctx.out, "Posted message {} to {token}", msg.id)?;
    }
    Ok(())
}

pub(super) async fn read(ctx: &mut Ctx<'_>, room: &str, limit: u32) -> CliResult {
    let (community, token, _) = community_for(ctx, room)?;
    let r = community.recent(&token, limit).await?;
    if ctx.json {
        json_pretty(ctx.out, &r.messages)?;
    } else {
        if r.messages.is_empty() {
            writeln!(ctx.out, "No messages in {token}.")?;
        }
        for m in &r.messages {
            write_message(ctx.out, m)?;
        }
    }
    note_dropped(ctx.err, r.dropped.len());
    Ok(())
}

pub(super) async fn tail(
    ctx: &mut Ctx<'_>,
    room: &str,
    interval: f64,
    polls: Option<u32>,
) -> CliResult {
    if !(interval.is_finite() && interval >= 0.0) {
        return Err(CliError::usage("--interval must be a number of seconds"));
    }
    let (community, token, mut store) = community_for(ctx, room)?;
    // Poll only this room (other rooms keep their cursors for their own `tail`).
    let mut state = community.state().clone();
    state.rooms.retain(|r| r.token == token);
    let community = open_community(ctx, state, community.identity().clone())?;
    let mut poller = Poller::new(community).with_interval(Duration::from_secs_f64(interval));
    let mut done = 0u32;
    let mut failed = false;
    let mut dropped_seen = 0usize;
    if !ctx.json {
        writeln!(ctx.out, "Following {token} (Ctrl-C to stop)")?;
        ctx.out.flush()?;
    }
    loop {
        if polls.is_some_and(|n| done >= n) {
            break;
        }
        if done > 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs_f64(interval)) => {}
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        done += 1;
        let events = tokio::select! {
            r = poller.poll_now() => r,
            _ = tokio::signal::ctrl_c() => break,
        };
        match events {
            Ok(events) => {
                failed = false;
                for e in &events {
                    if ctx.json {
                        json_line(ctx.out, e)?;
                    } else {
                        write_event(ctx.out, e)?;
                    }
                }
                ctx.out.flush()?;
            }
            Err(e) => {
                failed = true;
                let _ = writeln!(ctx.err, "poll failed: {e}");
            }
        }
        let dropped = poller.dropped().len();
        note_dropped(ctx.err, dropped - dropped_seen);
        dropped_seen = dropped;
        // Save this room's cursor and the DM cursors after every poll.
        let polled = poller.community().state().clone();
        if let Some(saved) = store
            .communities
            .iter_mut()
            .find(|c| c.base_url == polled.base_url && c.server_pubkey == polled.server_pubkey)
        {
            saved.capabilities = polled.capabilities.clone();
            saved.inbox_max_id = polled.inbox_max_id;
            saved.outbox_max_id = polled.outbox_max_id;
            saved.dms_dropped = polled.dms_dropped;
            for r in polled.rooms {
                if let Some(slot) = saved.room_mut(&r.token) {
                    *slot = r;
                }
            }
        }
        save_store(ctx, &store)?;
    }
    if failed {
        return Err(CliError::fail("the last poll failed"));
    }
    Ok(())
}

pub(super) async fn react(
    ctx: &mut Ctx<'_>,
    room: &str,
    id: i64,
    emoji: &str,
    remove: bool,
) -> CliResult {
    let (community, token, _) = community_for(ctx, room)?;
    let r = if remove {
        community.unreact(&token, id, emoji).await?
    } else {
        community.react(&token, id, emoji).await?
    };
    if ctx.json {
        json_pretty(
            ctx.out,
            &serde_json::json!({
                "room": token, "id": id, "emoji": emoji, "removed": remove,
                "changed": r.changed, "seqno": r.seqno,
            }),
        )?;
    } else {
        let line = match (remove, r.changed) {
            (false, true) => format!("Reacted {emoji} to message {id}"),
            (false, false) => format!("You had already reacted {emoji} to message {id}"),
            (true, true) => format!("Removed {emoji} from message {id}"),
            (true, false) => format!("You had not reacted {emoji} to message {id}"),
        };
        writeln!(ctx.out, "{line}")?;
    }
    Ok(())
}

/// The name to save a download under: the last component of the name the server gave (never
/// a path out of the target folder), else `file-ID`.
fn safe_file_name(name: Option<&str>, id: i64) -> String {
    let base = name
        .and_then(|n| n.rsplit(['/', '\\']).next())
        .map(|n| n.trim().trim_start_matches('.'))
        .filter(|n| !n.is_empty() && !n.chars().any(char::is_control))
        .map(str::to_owned);
    base.unwrap_or_else(|| format!("file-{id}"))
}

pub(super) async fn download(
    ctx: &mut Ctx<'_>,
    room: &str,
    id: i64,
    output: Option<&Path>,
    force: bool,
) -> CliResult {
    let (community, token, _) = community_for(ctx, room)?;
    let file = community.download(&token, id).await?;
    let name = safe_file_name(file.filename.as_deref(), id);
    let path: PathBuf = match output {
        Some(p) if p.is_dir() => p.join(&name),
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(&name),
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts.open(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::fail(format!(
                "{} already exists: choose another path with -o PATH, or replace it with --force",
                path.display()
            ))
        } else {
            CliError::fail(format!("cannot write {}: {e}", path.display()))
        }
    })?;
    std::io::Write::write_all(&mut f, &file.bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| CliError::fail(format!("cannot write {}: {e}", path.display())))?;
    if ctx.json {
        json_pretty(
            ctx.out,
            &serde_json::json!({
                "room": token,
                "id": id,
                "path": path,
                "bytes": file.bytes.len(),
                "filename": file.filename,
                "uploaded": file.uploaded,
                "expires": file.expires,
            }),
        )?;
    } else {
        writeln!(
            ctx.out,
            "Saved file {id} ({} bytes) to {}",
            file.bytes.len(),
            path.display()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_stay_in_the_folder() {
        assert_eq!(safe_file_name(Some("report 1.txt"), 3), "report 1.txt");
        assert_eq!(safe_file_name(Some("../../etc/passwd"), 3), "passwd");
        assert_eq!(safe_file_name(Some("..\\win.ini"), 3), "win.ini");
        assert_eq!(safe_file_name(Some(".bashrc"), 3), "bashrc");
        assert_eq!(safe_file_name(Some("a/"), 4), "file-4");
        assert_eq!(safe_file_name(Some(".."), 4), "file-4");
        assert_eq!(safe_file_name(Some("x\ny"), 4), "file-4");
        assert_eq!(safe_file_name(None, 5), "file-5");
    }
}
