//! `sogs moderator …`, `ban`, `unban`, `permission …` and `modlog`. Each command says what
//! was true and writes a moderation log row only for a real change.

use super::{http_time, parse_id, print_rows, room_or_global, Operator, Usage};
use crate::admin::list_moderators;
use crate::config::Config;
use crate::db::rooms::RoomRow;
use crate::db::users::{OverrideRow, UserRow};
use crate::domain::moderation::PermissionChange;
use anyhow::bail;
use clap::{Args, Subcommand};
use serde::Serialize;
use sogs_client::ids::SessionId;
use std::io::Write;

/// `--room TOKEN` (repeat it for several rooms) or `--global`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Scope {
    /// Room token; repeat `--room` for several rooms.
    #[arg(long = "room", value_name = "TOKEN")]
    pub rooms: Vec<String>,
    /// Server-wide (every room).
    #[arg(long)]
    pub global: bool,
}

impl Scope {
    fn name(&self) -> String {
        if self.global {
            "all rooms (global)".into()
        } else {
            self.rooms.join(", ")
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ModCmd {
    /// Appoint moderators (or admins with --admin).
    #[command(
        after_help = "Examples:\n  sogs moderator add 05… --room lobby\n  sogs moderator add --room lobby --room news 05… --admin\n  sogs moderator add 05… --global --hidden"
    )]
    Add {
        /// Session IDs (05…) or blinded ids (15…/25…).
        #[arg(required = true, value_name = "ID", value_parser = parse_id)]
        ids: Vec<SessionId>,
        #[command(flatten)]
        scope: Scope,
        /// Appoint admins (moderators who can also appoint moderators and change the room).
        #[arg(long)]
        admin: bool,
        /// List publicly (default for room appointments).
        #[arg(long, conflicts_with = "hidden")]
        visible: bool,
        /// Do not list publicly (default for global appointments).
        #[arg(long)]
        hidden: bool,
    },
    /// Remove moderator and admin roles.
    #[command(after_help = "Example:\n  sogs moderator remove 05… --room lobby")]
    Remove {
        /// Session IDs (05…) or blinded ids (15…/25…).
        #[arg(required = true, value_name = "ID", value_parser = parse_id)]
        ids: Vec<SessionId>,
        #[command(flatten)]
        scope: Scope,
    },
    /// List moderators and admins (global ones are always listed).
    List {
        /// Only this room's moderators (plus the global ones).
        #[arg(long, value_name = "TOKEN")]
        room: Option<String>,
        /// Print JSON instead of tab-separated text.
        #[arg(long)]
        json: bool,
    },
}

/// `sogs ban ID... (--room TOKEN... | --global) [--duration SECONDS]` or `sogs ban list`.
/// A 66-hex id can never be the word `list`, so the two forms cannot be confused.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  sogs ban 05… --room lobby\n  sogs ban --room lobby 05… --duration 86400\n  sogs ban 05… --global\n  sogs ban list --room lobby"
)]
pub struct BanArgs {
    #[command(subcommand)]
    pub list: Option<BanSub>,
    /// Session IDs (05…) or blinded ids (15…/25…).
    #[arg(required = true, value_name = "ID", value_parser = parse_id)]
    pub ids: Vec<SessionId>,
    #[command(flatten)]
    pub scope: Scope,
    /// Lift the ban by itself after this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum BanSub {
    /// List current bans (global bans are always listed).
    List {
        /// Only this room's bans (plus the global ones).
        #[arg(long, value_name = "TOKEN")]
        room: Option<String>,
        /// Print JSON instead of tab-separated text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PermissionCmd {
    /// Set (y), deny (n) or clear (default) a user's permissions in a room.
    #[command(
        after_help = "Examples:\n  sogs permission set 05… --room lobby --write n --duration 3600   (a one-hour mute)\n  sogs permission set 05… --room lobby --write default"
    )]
    Set {
        /// Session ID (05…) or blinded id (15…/25…).
        #[arg(value_name = "ID", value_parser = parse_id)]
        id: SessionId,
        /// Room token.
        #[arg(long, value_name = "TOKEN")]
        room: String,
        /// May read messages.
        #[arg(long, value_name = "y|n|default", value_parser = parse_flag)]
        read: Option<Flag>,
        /// May post messages and reactions.
        #[arg(long, value_name = "y|n|default", value_parser = parse_flag)]
        write: Option<Flag>,
        /// May upload files.
        #[arg(long, value_name = "y|n|default", value_parser = parse_flag)]
        upload: Option<Flag>,
        /// May see the room at all.
        #[arg(long, value_name = "y|n|default", value_parser = parse_flag)]
        accessible: Option<Flag>,
        /// Undo the read/write/upload changes by themselves after this many seconds.
        #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
        duration: Option<f64>,
    },
    /// List the users of a room with their own permissions, and timed changes to come.
    #[command(after_help = "Example:\n  sogs permission list --room lobby")]
    List {
        /// Room token.
        #[arg(long, value_name = "TOKEN")]
        room: String,
        /// Print JSON instead of tab-separated text.
        #[arg(long)]
        json: bool,
    },
}

/// A permission flag on the command line: `y`, `n` or `default` (clear the override).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag(pub Option<bool>);

fn parse_flag(s: &str) -> Result<Flag, String> {
    match s {
        "y" => Ok(Flag(Some(true))),
        "n" => Ok(Flag(Some(false))),
        "default" => Ok(Flag(None)),
        _ => Err("use y, n or default".into()),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v < 1e9)
        .ok_or_else(|| "expected a number of seconds, 0 < SECONDS < 1000000000".into())
}

impl Operator {
    /// `None` = global; otherwise the named rooms, all of which must exist.
    async fn scope_rooms(&self, scope: &Scope) -> anyhow::Result<Option<Vec<RoomRow>>> {
        if scope.global {
            return Ok(None);
        }
        let mut rooms = Vec::with_capacity(scope.rooms.len());
        for t in &scope.rooms {
            rooms.push(self.room(t).await?);
        }
        Ok(Some(rooms))
    }
}

/// Each room of a scope (`None` = server-wide) with its display name.
fn targets(rooms: &Option<Vec<RoomRow>>) -> Vec<(Option<&RoomRow>, String)> {
    match rooms {
        None => vec![(None, "all rooms (global)".to_owned())],
        Some(list) => list.iter().map(|r| (Some(r), r.token.clone())).collect(),
    }
}

pub(super) async fn moderator(
    cmd: ModCmd,
    config: &Config,
    out: &mut dyn Write,
    now: f64,
) -> anyhow::Result<()> {
    let op = Operator::open(config, now).await?;
    match cmd {
        ModCmd::Add {
            ids,
            scope,
            admin,
            visible,
            hidden,
        } => {
            let rooms = op.scope_rooms(&scope).await?;
            let visible = if visible || hidden {
                visible
            } else {
                !scope.global
            };
            let role = if admin { "admin" } else { "moderator" };
            let detail = format!("{role} ({})", if visible { "visible" } else { "hidden" });
            for id in &ids {
                let user = op.user(id).await?;
                let mut done = Vec::new();
                for (room, name) in targets(&rooms) {
                    let changed = match room {
                        None => op.db.set_global_role(user.id, true, admin, visible).await?,
                        Some(r) => {
                            op.db
                                .set_room_role(r.id, user.id, true, admin, visible)
                                .await?
                        }
                    };
                    if changed {
                        op.log(
                            "role",
                            room.map(|r| r.token.as_str()),
                            Some(&user.session_id),
                            Some(detail.clone()),
                        )
                        .await?;
                        done.push(name);
                    } else {
                        writeln!(out, "{} was already {role} of {name}", user.session_id)?;
                    }
                }
                if !done.is_empty() {
                    writeln!(
                        out,
                        "{} is now {role} of {}",
                        user.session_id,
                        done.join(", ")
                    )?;
                }
                pending_note(&op, out, &user)?;
            }
        }
        ModCmd::Remove { ids, scope } => {
            let rooms = op.scope_rooms(&scope).await?;
            for id in &ids {
                let user = op.user(id).await?;
                for (room, name) in targets(&rooms) {
                    let changed = match room {
                        None => op.db.set_global_role(user.id, false, false, false).await?,
                        Some(r) => {
                            op.db
                                .set_room_role(r.id, user.id, false, false, true)
                                .await?
                        }
                    };
                    if changed {
                        op.log(
                            "role",
                            room.map(|r| r.token.as_str()),
                            Some(&user.session_id),
                            Some("removed".to_owned()),
                        )
                        .await?;
                        writeln!(
                            out,
                            "{} is no longer a moderator of {name}",
                            user.session_id
                        )?;
                    } else if room.is_some() && user.moderator {
                        writeln!(
                            out,
                            "{} is not a moderator of {name} itself but a global one; use --global to remove that",
                            user.session_id
                        )?;
                    } else {
                        writeln!(out, "{} was not a moderator of {name}", user.session_id)?;
                    }
                }
            }
        }
        ModCmd::List { room, json } => {
            let room = op.listing_room(room.as_deref()).await?;
            let list = list_moderators(&op.db, room.as_ref(), op.require_blind).await?;
            print_rows(
                out,
                json,
                &list,
                &["SESSION ID", "ROOM", "ROLE", "LISTED", "NOTE"],
                |m| {
                    vec![
                        m.session_id.clone(),
                        room_or_global(&m.room),
                        if m.admin { "admin" } else { "moderator" }.to_owned(),
                        if m.visible { "visible" } else { "hidden" }.to_owned(),
                        match (&m.appointed_as, m.pending) {
                            (Some(sid), _) => format!("appointed as {sid}"),
                            (None, true) => {
                                "not connected yet (listed once they connect)".to_owned()
                            }
                            (None, false) => String::new(),
                        },
                    ]
                },
            )?;
        }
    }
    Ok(())
}

/// After appointing someone by `05` id who has not connected: say that the public lists
/// show them only from their first request (showing the `05` id would reveal it).
fn pending_note(op: &Operator, out: &mut dyn Write, user: &UserRow) -> anyhow::Result<()> {
    if op.require_blind && user.session_id.starts_with("05") {
        writeln!(
            out,
            "note: {} has not connected yet; rooms list them by their blinded id after their first request",
            user.session_id
        )?;
    }
    Ok(())
}

pub(super) async fn ban(
    args: BanArgs,
    config: &Config,
    out: &mut dyn Write,
    now: f64,
) -> anyhow::Result<()> {
    let op = Operator::open(config, now).await?;
    if let Some(BanSub::List { room, json }) = args.list {
        let room = op.listing_room(room.as_deref()).await?;
        let bans = op.db.bans(room.map(|r| r.id)).await?;
        return print_rows(out, json, &bans, &["SESSION ID", "ROOM", "UNTIL"], |b| {
            vec![
                b.session_id.clone(),
                room_or_global(&b.room),
                b.until.map_or("permanent".to_owned(), |t| {
                    format!("until {}", http_time(t))
                }),
            ]
        });
    }
    let rooms = op.scope_rooms(&args.scope).await?;
    let until = args.duration.map(|d| now + d);
    let detail = match args.duration {
        Some(d) => format!("for {d} s"),
        None => "permanent".to_owned(),
    };
    for id in &args.ids {
        let user = op.user(id).await?;
        if user.moderator || user.admin {
            bail!(
                "{} is a global moderator or admin and cannot be banned; remove the role first",
                user.session_id
            );
        }
        for (room, _) in targets(&rooms) {
            match room {
                None => {
                    op.db.ban_global(user.id, until).await?;
                }
                Some(r) => {
                    op.db.ban_in_room(r.id, user.id, until).await?;
                }
            }
            op.log(
                "ban",
                room.map(|r| r.token.as_str()),
                Some(&user.session_id),
                Some(detail.clone()),
            )
            .await?;
        }
        writeln!(
            out,
            "banned {} from {} ({detail})",
            user.session_id,
            args.scope.name()
        )?;
    }
    Ok(())
}

pub(super) async fn unban(
    ids: Vec<SessionId>,
    scope: Scope,
    config: &Config,
    out: &mut dyn Write,
    now: f64,
) -> anyhow::Result<()> {
    let op = Operator::open(config, now).await?;
    let rooms = op.scope_rooms(&scope).await?;
    for id in &ids {
        let user = op.user(id).await?;
        let mut lifted = Vec::new();
        for (room, name) in targets(&rooms) {
            let was_banned = match room {
                None => op.db.unban_global(user.id).await?,
                Some(r) => op.db.unban_in_room(r.id, user.id).await?,
            };
            if was_banned {
                op.log(
                    "unban",
                    room.map(|r| r.token.as_str()),
                    Some(&user.session_id),
                    None,
                )
                .await?;
                lifted.push(name);
            } else {
                writeln!(out, "{} was not banned from {name}", user.session_id)?;
            }
        }
        if !lifted.is_empty() {
            writeln!(
                out,
                "unbanned {} from {}",
                user.session_id,
                lifted.join(", ")
            )?;
        }
    }
    Ok(())
}

/// A user's own permission in words (`-` = the room default).
fn flag_word(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "y",
        Some(false) => "n",
        None => "-",
    }
}

/// What a user's override row means, in words, e.g. `write denied, upload allowed`.
fn describe_override(o: &OverrideRow) -> String {
    let mut parts: Vec<String> = [
        ("read", o.perm_read),
        ("write", o.perm_write),
        ("upload", o.perm_upload),
        ("accessible", o.perm_accessible),
    ]
    .iter()
    .filter_map(|(name, v)| v.map(|b| format!("{name} {}", if b { "allowed" } else { "denied" })))
    .collect();
    if o.banned {
        parts.insert(0, "banned".to_owned());
    }
    if parts.is_empty() {
        "the room defaults".to_owned()
    } else {
        parts.join(", ")
    }
}

/// One user of `permission list`.
#[derive(Debug, Serialize)]
struct PermissionEntry {
    session_id: String,
    /// `null` = the room default.
    read: Option<bool>,
    write: Option<bool>,
    upload: Option<bool>,
    accessible: Option<bool>,
    banned: bool,
    /// Timed changes to come, soonest first.
    scheduled: Vec<ScheduledEntry>,
}

#[derive(Debug, Serialize)]
struct ScheduledEntry {
    at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    read: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    write: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload: Option<bool>,
}

pub(super) async fn permission(
    cmd: PermissionCmd,
    config: &Config,
    out: &mut dyn Write,
    now: f64,
) -> anyhow::Result<()> {
    match cmd {
        PermissionCmd::Set {
            id,
            room,
            read,
            write,
            upload,
            accessible,
            duration,
        } => {
            let change = PermissionChange {
                read: read.map(|f| f.0),
                accessible: accessible.map(|f| f.0),
                write: write.map(|f| f.0),
                upload: upload.map(|f| f.0),
                unschedule: true,
            };
            set_permission(config, out, now, &id, &room, change, duration).await
        }
        PermissionCmd::List { room, json } => list_permissions(config, out, now, &room, json).await,
    }
}

async fn set_permission(
    config: &Config,
    out: &mut dyn Write,
    now: f64,
    id: &SessionId,
    room: &str,
    change: PermissionChange,
    duration: Option<f64>,
) -> anyhow::Result<()> {
    if change.is_empty() {
        return Err(
            Usage("give at least one of --read, --write, --upload, --accessible".into()).into(),
        );
    }
    if duration.is_some() && change.accessible.is_some() {
        return Err(Usage("--duration applies to --read, --write and --upload only".into()).into());
    }
    let op = Operator::open(config, now).await?;
    let room = op.room(room).await?;
    let user = op.user(id).await?;
    let before = op
        .db
        .override_row(room.id, user.id)
        .await?
        .unwrap_or_default();
    let row = op.db.set_permissions(room.id, user.id, &change).await?;
    let mut detail = change.describe();
    if let Some(d) = duration {
        // Restore each changed flag to what applied before (a value equal to the room default
        // clears the override when the change is applied).
        let prev = |f: Option<Option<bool>>, cur: Option<bool>, default: bool| {
            f.map(|_| cur.unwrap_or(default))
        };
        let restore = [
            prev(change.read, before.perm_read, room.default_read),
            prev(change.write, before.perm_write, room.default_write),
            prev(change.upload, before.perm_upload, room.default_upload),
        ];
        op.db
            .add_permission_future(room.id, user.id, now + d, restore)
            .await?;
        detail.push_str(&format!(" for {d} s"));
    }
    op.log(
        "permission",
        Some(&room.token),
        Some(&user.session_id),
        Some(detail.clone()),
    )
    .await?;
    writeln!(
        out,
        "{} in {}: {detail}; now {}",
        user.session_id,
        room.token,
        describe_override(&row.unwrap_or_default())
    )?;
    Ok(())
}

async fn list_permissions(
    config: &Config,
    out: &mut dyn Write,
    now: f64,
    room: &str,
    json: bool,
) -> anyhow::Result<()> {
    let op = Operator::open(config, now).await?;
    let room = op.room(room).await?;
    let mut entries: Vec<PermissionEntry> = op
        .db
        .room_overrides(room.id)
        .await?
        .into_iter()
        .filter(|u| {
            let o = &u.o;
            o.banned
                || o.perm_read.is_some()
                || o.perm_write.is_some()
                || o.perm_upload.is_some()
                || o.perm_accessible.is_some()
        })
        .map(|u| PermissionEntry {
            session_id: u.session_id,
            read: u.o.perm_read,
            write: u.o.perm_write,
            upload: u.o.perm_upload,
            accessible: u.o.perm_accessible,
            banned: u.o.banned,
            scheduled: Vec::new(),
        })
        .collect();
    for f in op.db.permission_futures(room.id, None).await? {
        let scheduled = ScheduledEntry {
            at: f.at,
            read: f.perm_read,
            write: f.perm_write,
            upload: f.perm_upload,
        };
        match entries.iter_mut().find(|e| e.session_id == f.session_id) {
            Some(e) => e.scheduled.push(scheduled),
            None => entries.push(PermissionEntry {
                session_id: f.session_id,
                read: None,
                write: None,
                upload: None,
                accessible: None,
                banned: false,
                scheduled: vec![scheduled],
            }),
        }
    }
    entries.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    print_rows(
        out,
        json,
        &entries,
        &[
            "SESSION ID",
            "READ",
            "WRITE",
            "UPLOAD",
            "ACCESSIBLE",
            "BANNED",
            "SCHEDULED",
        ],
        |e| {
            let scheduled: Vec<String> = e
                .scheduled
                .iter()
                .map(|s| {
                    let flags =
                        crate::domain::moderation::describe_flags(s.read, s.write, s.upload);
                    format!("{flags} at {}", http_time(s.at))
                })
                .collect();
            vec![
                e.session_id.clone(),
                flag_word(e.read).to_owned(),
                flag_word(e.write).to_owned(),
                flag_word(e.upload).to_owned(),
                flag_word(e.accessible).to_owned(),
                if e.banned { "yes" } else { "no" }.to_owned(),
                if scheduled.is_empty() {
                    "-".to_owned()
                } else {
                    scheduled.join("; ")
                },
            ]
        },
    )
}

pub(super) async fn modlog(
    room: Option<String>,
    limit: i64,
    json: bool,
    config: &Config,
    out: &mut dyn Write,
    now: f64,
) -> anyhow::Result<()> {
    let op = Operator::open(config, now).await?;
    let rows = op.db.moderation_log(room.as_deref(), limit).await?;
    // A room that no longer exists still has its history; a token that never had any is a typo.
    if let Some(token) = &room {
        if rows.is_empty() && op.db.room_by_token(token).await?.is_none() {
            bail!("no room `{token}`");
        }
    }
    print_rows(
        out,
        json,
        &rows,
        &["TIME", "ACTOR", "ACTION", "ROOM", "TARGET", "DETAIL"],
        |r| {
            vec![
                http_time(r.at),
                r.actor.clone(),
                r.action.clone(),
                room_or_global(&r.room),
                r.target.clone().unwrap_or_else(|| "-".to_owned()),
                r.detail.clone().unwrap_or_default(),
            ]
        },
    )
}
