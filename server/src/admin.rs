//! Operator actions behind the admin CLI, over the database (they work while the server runs).

use crate::db::rooms::{RoomDefaults, RoomRow};
use crate::db::users::UserRow;
use crate::db::Db;
use crate::keys::ServerKeys;
use anyhow::anyhow;
use serde::Serialize;
use sogs_client::blinding::{blind15_abs, blind15_candidates, session_id_from_ed25519};
use sogs_client::ids::{IdPrefix, SessionId};

/// Parses `rwua`-style permission letters (letters left out are denied), or `none` for a
/// room nobody can even see. An empty string is refused: it is almost always a mistake.
pub fn parse_permissions(letters: &str) -> Result<RoomDefaults, String> {
    if letters == "none" {
        return Ok(RoomDefaults {
            read: false,
            write: false,
            upload: false,
            accessible: false,
        });
    }
    if letters.is_empty() {
        return Err("no letters given; use a combination of r, w, u, a (e.g. rwua), or `none` for a room nobody can see".into());
    }
    if let Some(bad) = letters.chars().find(|c| !"rwua".contains(*c)) {
        return Err(format!(
            "unknown letter `{bad}`: use r (read), w (write), u (upload), a (accessible), or `none`"
        ));
    }
    Ok(RoomDefaults {
        read: letters.contains('r'),
        write: letters.contains('w'),
        upload: letters.contains('u'),
        accessible: letters.contains('a'),
    })
}

/// An id an operator may name: a `05` Session ID, a `15`/`25` blinded id or a `00`
/// unblinded Ed25519 key (turned into its `05` id). Checked when the command line is parsed,
/// so a malformed id is a usage error.
pub fn parse_operator_id(id: &str) -> Result<SessionId, String> {
    let sid = SessionId::parse(id).map_err(|e| {
        format!("not a Session ID ({e}); expected 66 hex digits starting 05, 15, 25 or 00")
    })?;
    match sid.prefix() {
        IdPrefix::Unblinded => {
            session_id_from_ed25519(sid.key()).map_err(|_| "not a valid Ed25519 key".to_owned())
        }
        IdPrefix::System => Err("the system user cannot be changed".to_owned()),
        _ => Ok(sid),
    }
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

/// Finds or creates the user an operator means by `sid` (from [`parse_operator_id`]). A 05
/// id maps to the blinded user the person authenticates as; if they have not connected yet,
/// the 05 row is recorded for migration on their first blinded request (PROTOCOL.md §3.6).
pub async fn resolve_user(
    db: &Db,
    keys: &ServerKeys,
    require_blind: bool,
    sid: &SessionId,
    now: f64,
) -> anyhow::Result<UserRow> {
    let id = sid.to_string();
    let sid = *sid;
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
    /// The id the server lists: blinded once the person has connected.
    pub session_id: String,
    /// The `05` id the operator appointed them by, once it has become a blinded id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointed_as: Option<String>,
    /// Appointed by `05` id and not connected yet: not listed publicly while blinding is
    /// required (that would reveal the Session ID), listed by blinded id after their first request.
    pub pending: bool,
    /// `None` for a global moderator.
    pub room: Option<String>,
    pub admin: bool,
    pub visible: bool,
}

/// Room moderators of `room` (or of every room) plus global moderators.
pub async fn list_moderators(
    db: &Db,
    room: Option<&RoomRow>,
    require_blind: bool,
) -> anyhow::Result<Vec<ModeratorEntry>> {
    let pending = |sid: &str| require_blind && sid.starts_with("05");
    let mut out: Vec<ModeratorEntry> = db
        .global_moderators()
        .await?
        .into_iter()
        .filter(|u| !u.session_id.starts_with("ff"))
        .map(|u| ModeratorEntry {
            pending: pending(&u.session_id),
            session_id: u.session_id,
            appointed_as: u.appointed_as,
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
        for (sid, admin, visible, appointed_as) in db.room_appointments(r.id).await? {
            out.push(ModeratorEntry {
                pending: pending(&sid),
                session_id: sid,
                appointed_as,
                room: Some(r.token.clone()),
                admin,
                visible,
            });
        }
    }
    Ok(out)
}
