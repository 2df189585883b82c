//! Operator actions behind the admin CLI, over the database (they work while the server runs).

use crate::db::rooms::{RoomDefaults, RoomRow};
use crate::db::users::UserRow;
use crate::db::Db;
use crate::keys::ServerKeys;
use anyhow::{anyhow, bail};
use serde::Serialize;
use sogs_client::blinding::{blind15_abs, blind15_candidates, session_id_from_ed25519};
use sogs_client::ids::{IdPrefix, SessionId};

/// Parses `rwua`-style permission letters; letters left out are denied.
pub fn parse_permissions(letters: &str) -> anyhow::Result<RoomDefaults> {
    if let Some(bad) = letters.chars().find(|c| !"rwua".contains(*c)) {
        bail!("--permissions: unknown letter `{bad}` (use r, w, u, a)");
    }
    Ok(RoomDefaults {
        read: letters.contains('r'),
        write: letters.contains('w'),
        upload: letters.contains('u'),
        accessible: letters.contains('a'),
    })
}

pub fn permission_letters(room: &RoomRow) -> String {
    [
        (room.default_read, 'r'),
        (room.default_write, 'w'),
        (room.default_upload, 'u'),
        (room.default_accessible, 'a'),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, c)| *c)
    .collect()
}

/// Finds or creates the user an operator means by `id` (05, 15, 25 or 00). A 05 id maps to
/// the blinded user the person authenticates as; if they have not connected yet, the 05 row
/// is recorded for migration on their first blinded request (PROTOCOL.md §3.6).
pub async fn resolve_user(
    db: &Db,
    keys: &ServerKeys,
    require_blind: bool,
    id: &str,
    now: f64,
) -> anyhow::Result<UserRow> {
    let sid = SessionId::parse(id).map_err(|e| anyhow!("`{id}` is not a session id: {e}"))?;
    let sid = match sid.prefix() {
        IdPrefix::Unblinded => session_id_from_ed25519(sid.key())
            .map_err(|_| anyhow!("`{id}` is not a valid Ed25519 key"))?,
        IdPrefix::System => bail!("`{id}`: the system user cannot be changed"),
        _ => sid,
    };
    match sid.prefix() {
        IdPrefix::Session if require_blind => {
            let candidates = blind15_candidates(&sid, keys.public())
                .map_err(|_| anyhow!("`{id}` is not a valid Session ID"))?;
            for c in &candidates {
                if let Some(user) = db.user_by_session_id(&c.to_string()).await? {
                    return Ok(user);
                }
            }
            let user = db.ensure_user(&sid.to_string(), now, false, None).await?;
            let abs = blind15_abs(&candidates[0]).to_string();
            db.add_needs_blinding(&abs, user.id).await?;
            Ok(user)
        }
        IdPrefix::Blinded15 => {
            let abs = blind15_abs(&sid).to_string();
            Ok(db
                .ensure_user(&sid.to_string(), now, false, Some(&abs))
                .await?)
        }
        _ => Ok(db.ensure_user(&sid.to_string(), now, false, None).await?),
    }
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ModeratorEntry {
    pub session_id: String,
    /// `None` for a global moderator.
    pub room: Option<String>,
    pub admin: bool,
    pub visible: bool,
}

/// Room moderators of `room` (or of every room) plus global moderators.
pub async fn list_moderators(
    db: &Db,
    room: Option<&RoomRow>,
) -> anyhow::Result<Vec<ModeratorEntry>> {
    let mut out: Vec<ModeratorEntry> = db
        .global_moderators()
        .await?
        .into_iter()
        .filter(|u| !u.session_id.starts_with("ff"))
        .map(|u| ModeratorEntry {
            session_id: u.session_id,
            room: None,
            admin: u.admin,
            visible: u.visible_mod,
        })
        .collect();
    let rooms = match room {
        Some(r) => vec![r.clone()],
        None => db.rooms().await?,
    };
    for r in rooms {
        for (sid, admin, visible) in db.room_appointments(r.id).await? {
            out.push(ModeratorEntry {
                session_id: sid,
                room: Some(r.token.clone()),
                admin,
                visible,
            });
        }
    }
    Ok(out)
}
