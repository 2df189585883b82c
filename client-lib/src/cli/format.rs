//! How the CLI prints messages, DMs and poll events, as text or JSON.

use std::io::Write;

use serde::Serialize;

use super::{CliError, CliResult};
use crate::poller::Event;
use crate::types::{reactions_in_order, DirectMessage, Reactions, RoomMessage};

pub(super) fn json_line<T: Serialize>(out: &mut dyn Write, value: &T) -> CliResult {
    let s = serde_json::to_string(value).map_err(CliError::fail)?;
    writeln!(out, "{s}")?;
    Ok(())
}

pub(super) fn json_pretty<T: Serialize>(out: &mut dyn Write, value: &T) -> CliResult {
    let s = serde_json::to_string_pretty(value).map_err(CliError::fail)?;
    writeln!(out, "{s}")?;
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) for a time in ms.
pub fn format_time(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub(super) fn format_reactions(reactions: &Reactions) -> String {
    reactions_in_order(reactions)
        .into_iter()
        .map(|(emoji, r)| {
            if r.you {
                format!("{emoji} {} (you)", r.count)
            } else {
                format!("{emoji} {}", r.count)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn write_message(out: &mut dyn Write, m: &RoomMessage) -> CliResult {
    let mut line = format!(
        "#{} {} {}: {}",
        m.id,
        format_time(m.posted_ms),
        m.author_label(),
        m.text()
    );
    if m.edited_ms.is_some() {
        line.push_str(" (edited)");
    }
    if m.whisper.is_some() {
        line.push_str(" (whisper)");
    }
    let reactions = format_reactions(&m.reactions);
    if !reactions.is_empty() {
        line.push_str(&format!("  [{reactions}]"));
    }
    writeln!(out, "{line}")?;
    for a in &m.content.attachments {
        writeln!(
            out,
            "    attachment: {} ({} bytes, {}) file {id}  (sogs-client download {} {id})",
            a.file_name.as_deref().unwrap_or("unnamed"),
            a.size.unwrap_or(0),
            a.content_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
            m.room,
            id = a.download_id().unwrap_or(0),
        )?;
    }
    if let Some(q) = &m.content.quote {
        writeln!(out, "    quoting {} at {}", q.author, format_time(q.id))?;
    }
    Ok(())
}

pub(super) fn write_dm(out: &mut dyn Write, m: &DirectMessage) -> CliResult {
    let who = if m.outgoing {
        format!("to {}", m.recipient)
    } else {
        match m.content.display_name.as_deref() {
            Some(n) => format!("from {n} ({})", m.sender_session_id),
            None => format!("from {}", m.sender_session_id),
        }
    };
    writeln!(
        out,
        "#{} {} {who}: {}",
        m.id,
        format_time(m.posted_ms),
        m.text()
    )?;
    Ok(())
}

pub(super) fn write_event(out: &mut dyn Write, e: &Event) -> CliResult {
    match e {
        Event::NewMessage(m) => write_message(out, m),
        Event::Edit(m) => {
            writeln!(out, "#{} edited {}: {}", m.id, m.author_label(), m.text())?;
            Ok(())
        }
        Event::Deletion { id, .. } => {
            writeln!(out, "#{id} deleted")?;
            Ok(())
        }
        Event::ReactionChange { id, reactions, .. } => {
            let r = format_reactions(reactions);
            let r = if r.is_empty() { "none".to_owned() } else { r };
            writeln!(out, "#{id} reactions: {r}")?;
            Ok(())
        }
        Event::RoomInfoChanged { room, info, .. } => {
            writeln!(
                out,
                "room {room} changed: name {:?}, {} moderator(s), {} admin(s), info_updates {}",
                info.name,
                info.moderators.len(),
                info.admins.len(),
                info.info_updates
            )?;
            Ok(())
        }
        Event::DirectMessage(m) => {
            write!(out, "DM ")?;
            write_dm(out, m)
        }
    }
}

pub(super) fn note_dropped(err: &mut dyn Write, n: usize) {
    if n > 0 {
        let _ = writeln!(
            err,
            "note: {n} message(s) failed verification or decoding and were not shown"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_750_000_000_000), "2025-06-15 15:06:40");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00");
    }
}
