//! The `sogs` command line: `serve` plus the operator commands. `run` takes the arguments
//! and output streams, so tests drive exactly what the binary runs.

use crate::admin::{self, list_moderators, parse_permissions, permission_letters};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::moderation::ModLogEntry;
use crate::db::rooms::{RoomRow, RoomUpdate};
use crate::db::users::UserRow;
use crate::db::Db;
use crate::domain::filter::{FilterMode, RoomFilters};
use crate::domain::moderation::{override_object, PermissionChange};
use crate::domain::room::{clean_room_description, clean_room_name};
use crate::files::{store_local_file, FileStore};
use crate::keys::ServerKeys;
use anyhow::{anyhow, bail, Context};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "sogs", version, about = "Session Community server (SOGS v3)")]
pub struct Cli {
    /// Configuration file (default: ./sogs.toml if present).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default with no subcommand).
    Serve,
    /// Print the server's X25519 public key (64 hex).
    Key,
    /// Print the join URL of a room, or of every room.
    Url { token: Option<String> },
    /// Manage rooms.
    #[command(subcommand)]
    Room(RoomCmd),
    /// Manage moderators and admins.
    #[command(subcommand)]
    Moderator(ModCmd),
    /// Ban users from rooms or server-wide; `sogs ban list` lists current bans.
    Ban(BanArgs),
    /// Lift bans.
    Unban {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
        #[command(flatten)]
        scope: Scope,
    },
    /// Per-user room permissions.
    #[command(subcommand)]
    Permission(PermissionCmd),
    /// Show the moderation log, newest first.
    Modlog {
        #[arg(long)]
        room: Option<String>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

/// `sogs ban ID... (--room TOKEN... | --global) [--duration SECONDS]` or `sogs ban list`.
/// A 66-hex id can never be the word `list`, so the two forms cannot be confused.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BanArgs {
    #[command(subcommand)]
    pub list: Option<BanSub>,
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
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
        #[arg(long)]
        room: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PermissionCmd {
    /// Set (y), deny (n) or clear (default) a user's permissions in a room.
    Set {
        #[arg(value_name = "ID")]
        id: String,
        #[arg(long, value_name = "TOKEN")]
        room: String,
        #[arg(long, value_name = "y|n|default", value_parser = parse_flag)]
        read: Option<Flag>,
        #[arg(long, value_name = "y|n|default", value_parser = parse_flag)]
        write: Option<Flag>,
        #[arg(long, value_name = "y|n|default", value_parser = parse_flag)]
        upload: Option<Flag>,
        #[arg(long, value_name = "y|n|default", value_parser = parse_flag)]
        accessible: Option<Flag>,
        /// Undo the read/write/upload changes by themselves after this many seconds.
        #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
        duration: Option<f64>,
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

/// `--rate-limit N/SECONDS | off | default`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RateLimitArg {
    /// No limit in this room.
    Off,
    /// Back to the server default (5 posts per 16 s).
    Default,
    Limit(u32, f64),
}

fn parse_rate_limit(s: &str) -> Result<RateLimitArg, String> {
    match s {
        "off" => return Ok(RateLimitArg::Off),
        "default" => return Ok(RateLimitArg::Default),
        _ => {}
    }
    let err = || "expected N/SECONDS (e.g. 5/16), `off` or `default`".to_owned();
    let (n, secs) = s.split_once('/').ok_or_else(err)?;
    let n: u32 = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(err)?;
    let secs: f64 = secs
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
        .ok_or_else(err)?;
    Ok(RateLimitArg::Limit(n, secs))
}

/// `--filter-mods y|n`.
fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s {
        "y" => Ok(true),
        "n" => Ok(false),
        _ => Err("use y or n".into()),
    }
}

/// `--probation SECONDS|off` (`None` = off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probation(pub Option<u64>);

fn parse_probation(s: &str) -> Result<Probation, String> {
    if s == "off" {
        return Ok(Probation(None));
    }
    s.parse::<u64>()
        .map(|n| Probation((n > 0).then_some(n)))
        .map_err(|_| "expected a number of seconds or `off`".into())
}

/// A command that was well formed for clap but asks for something impossible (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

#[derive(Debug, Subcommand)]
pub enum RoomCmd {
    /// Create a room.
    Add {
        token: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// Default permissions: r=read, w=write, u=upload, a=accessible.
        #[arg(long, default_value = "rwua")]
        permissions: String,
    },
    /// List rooms.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a room and everything in it.
    Delete { token: String },
    /// Change a room's name, description, default permissions, post rate limit, image or DM policy.
    Update {
        token: String,
        #[arg(long)]
        name: Option<String>,
        /// New description; an empty string removes it.
        #[arg(long)]
        description: Option<String>,
        /// Default permissions: r=read, w=write, u=upload, a=accessible.
        #[arg(long)]
        permissions: Option<String>,
        /// Posts per user: N/SECONDS, `off`, or `default` (5/16).
        #[arg(long, value_name = "N/SECONDS|off", value_parser = parse_rate_limit)]
        rate_limit: Option<RateLimitArg>,
        /// Upload this file into the room and make it the room image.
        #[arg(long, value_name = "FILE")]
        image: Option<PathBuf>,
        /// Refuse DMs to members of this room from users who are not members (true/false).
        #[arg(long, value_name = "BOOL")]
        dm_members_only: Option<bool>,
    },
    /// Show or change a room's word filter, alphabet filter and new-user probation.
    Filter(FilterArgs),
}

/// `sogs room filter TOKEN [...]`: with no change options, prints the settings.
#[derive(Debug, Args)]
pub struct FilterArgs {
    pub token: String,
    /// Add a filtered word or phrase (`*` at either end matches longer words).
    #[arg(long, value_name = "WORD")]
    pub add_word: Vec<String>,
    /// Remove a filtered word or phrase.
    #[arg(long, value_name = "WORD")]
    pub remove_word: Vec<String>,
    /// Add every line of FILE (blank lines and lines starting with # are skipped).
    #[arg(long, value_name = "FILE")]
    pub words_file: Option<PathBuf>,
    /// Remove all filtered words (applied before additions).
    #[arg(long)]
    pub clear_words: bool,
    /// Scripts to filter (replaces the list): arabic, persian, cyrillic, greek, hebrew,
    /// armenian, georgian, devanagari, thai, cjk, hangul; `none` clears it.
    #[arg(long, value_name = "NAME", num_args = 1..)]
    pub alphabet: Vec<String>,
    /// What happens to a caught post: reject (429) or silent (stored, shown to nobody).
    #[arg(long, value_parser = ["reject", "silent"])]
    pub mode: Option<String>,
    /// Also filter moderators' posts (default n: moderators are exempt).
    #[arg(long, value_name = "y|n", value_parser = parse_yes_no)]
    pub filter_mods: Option<bool>,
    /// New users may not post links or upload for SECONDS after their first post; `off`.
    #[arg(long, value_name = "SECONDS|off", value_parser = parse_probation)]
    pub probation: Option<Probation>,
    /// Turn every filter and probation off (applied first).
    #[arg(long)]
    pub off: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Scope {
    /// Room token(s).
    #[arg(long = "room", num_args = 1.., value_name = "TOKEN")]
    pub rooms: Vec<String>,
    /// Server-wide.
    #[arg(long)]
    pub global: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModCmd {
    /// Appoint moderators (or admins with --admin).
    Add {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
        #[command(flatten)]
        scope: Scope,
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
    Remove {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
        #[command(flatten)]
        scope: Scope,
    },
    /// List moderators and admins.
    List {
        #[arg(long)]
        room: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Parses arguments and runs the command; returns the process exit code
/// (0 ok, 1 runtime failure, 2 bad usage). Usage and errors go to `err`, one line.
/// `env` is the environment the `SOGS_*` overrides are read from.
pub async fn run(
    args: Vec<String>,
    env: &[(String, String)],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let text = e.render().to_string();
            if code == 0 {
                let _ = write!(out, "{text}");
            } else {
                let line = text
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("invalid usage");
                let _ = writeln!(err, "{line}");
            }
            return code;
        }
    };
    let config = match Config::load_from(cli.config.as_deref(), env) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
            return 2;
        }
    };
    match execute(cli.command.unwrap_or(Command::Serve), config, out).await {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(err, "error: {}", format!("{e:#}").replace('\n', " "));
            if e.downcast_ref::<Usage>().is_some() {
                2
            } else {
                1
            }
        }
    }
}

/// The operator's handle on the server's data: the database, the server key (to resolve ids
/// as the server does) and the time of the command. Every change is logged with actor `cli`.
struct Operator {
    db: Db,
    keys: ServerKeys,
    require_blind: bool,
    now: f64,
}

impl Operator {
    async fn open(config: &Config, now: f64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)?;
        let keys = ServerKeys::load_or_create(&config.key_path())?;
        Ok(Self {
            db: Db::connect(&config.database).await?,
            keys,
            require_blind: config.require_blind_keys,
            now,
        })
    }

    /// The room with this token (case-insensitively); a missing room is an error.
    async fn room(&self, token: &str) -> anyhow::Result<RoomRow> {
        self.db
            .room_by_token(token)
            .await?
            .ok_or_else(|| anyhow!("no room `{token}`"))
    }

    /// The `--room` of a listing: `None` lists every room.
    async fn listing_room(&self, token: Option<&str>) -> anyhow::Result<Option<RoomRow>> {
        match token {
            Some(t) => Ok(Some(self.room(t).await?)),
            None => Ok(None),
        }
    }

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

    /// The user an id on the command line means (see [`admin::resolve_user`]).
    async fn user(&self, id: &str) -> anyhow::Result<UserRow> {
        admin::resolve_user(&self.db, &self.keys, self.require_blind, id, self.now).await
    }

    /// Writes a moderation log row for a command-line action (actor `cli`).
    async fn log(
        &self,
        action: &str,
        room: Option<&str>,
        target: Option<&str>,
        detail: Option<String>,
    ) -> anyhow::Result<()> {
        let entry = ModLogEntry {
            actor: "cli",
            action,
            room,
            target,
            detail,
        };
        self.db.log_moderation(self.now, &entry).await?;
        Ok(())
    }

    /// Applies `change` to `user` server-wide (`rooms = None`) or in each of `rooms`, with one
    /// moderation log row each.
    async fn apply(
        &self,
        rooms: Option<&[RoomRow]>,
        user: &UserRow,
        change: ScopedChange,
        detail: Option<String>,
    ) -> anyhow::Result<()> {
        let target = Some(user.session_id.as_str());
        match rooms {
            None => {
                change.apply(&self.db, None, user.id).await?;
                self.log(change.action(), None, target, detail).await
            }
            Some(rooms) => {
                for r in rooms {
                    change.apply(&self.db, Some(r), user.id).await?;
                    self.log(change.action(), Some(&r.token), target, detail.clone())
                        .await?;
                }
                Ok(())
            }
        }
    }
}

/// What `ban`, `unban` and `moderator add|remove` change for one user, server-wide or in a room.
#[derive(Clone, Copy, Debug)]
enum ScopedChange {
    Ban { until: Option<f64> },
    Unban,
    Appoint { admin: bool, visible: bool },
    Dismiss,
}

impl ScopedChange {
    /// The moderation log action.
    fn action(self) -> &'static str {
        match self {
            Self::Ban { .. } => "ban",
            Self::Unban => "unban",
            Self::Appoint { .. } | Self::Dismiss => "role",
        }
    }

    async fn apply(self, db: &Db, room: Option<&RoomRow>, user: i64) -> anyhow::Result<()> {
        match (self, room) {
            (Self::Ban { until }, None) => {
                db.ban_global(user, until).await?;
            }
            (Self::Ban { until }, Some(r)) => {
                db.ban_in_room(r.id, user, until).await?;
            }
            (Self::Unban, None) => {
                db.unban_global(user).await?;
            }
            (Self::Unban, Some(r)) => {
                db.unban_in_room(r.id, user).await?;
            }
            (Self::Appoint { admin, visible }, None) => {
                db.set_global_role(user, true, admin, visible).await?
            }
            (Self::Appoint { admin, visible }, Some(r)) => {
                db.set_room_role(r.id, user, true, admin, visible).await?
            }
            (Self::Dismiss, None) => db.set_global_role(user, false, false, false).await?,
            (Self::Dismiss, Some(r)) => db.set_room_role(r.id, user, false, false, true).await?,
        }
        Ok(())
    }
}

fn join_url(config: &Config, keys: &ServerKeys, token: &str) -> String {
    format!(
        "{}/{}?public_key={}",
        config.base_url,
        token,
        keys.public_hex()
    )
}

/// Prints `value` as pretty JSON (the `--json` form of the listings).
fn print_json(out: &mut dyn Write, value: &impl Serialize) -> anyhow::Result<()> {
    writeln!(out, "{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

/// Prints a listing: pretty JSON of `rows` with `--json`, else one tab-separated line per row.
fn print_rows<T: Serialize>(
    out: &mut dyn Write,
    json: bool,
    rows: &[T],
    columns: impl Fn(&T) -> Vec<String>,
) -> anyhow::Result<()> {
    if json {
        return print_json(out, &rows);
    }
    for row in rows {
        writeln!(out, "{}", columns(row).join("\t"))?;
    }
    Ok(())
}

/// `(global)` for a row without a room.
fn room_or_global(room: &Option<String>) -> String {
    room.clone().unwrap_or_else(|| "(global)".to_owned())
}

async fn execute(cmd: Command, config: Config, out: &mut dyn Write) -> anyhow::Result<()> {
    let now = Clock::System.now();
    match cmd {
        Command::Serve => {
            init_tracing(&config.log);
            crate::run(config).await?;
        }
        Command::Key => {
            std::fs::create_dir_all(&config.data_dir)?;
            let keys = ServerKeys::load_or_create(&config.key_path())?;
            writeln!(out, "{}", keys.public_hex())?;
        }
        Command::Url { token } => {
            let op = Operator::open(&config, now).await?;
            let rooms = match token {
                Some(t) => vec![op.room(&t).await?],
                None => op.db.rooms().await?,
            };
            for r in rooms {
                writeln!(out, "{}", join_url(&config, &op.keys, &r.token))?;
            }
        }
        Command::Room(cmd) => room_cmd(cmd, &config, out, now).await?,
        Command::Moderator(cmd) => mod_cmd(cmd, &config, out, now).await?,
        Command::Ban(args) => ban_cmd(args, &config, out, now).await?,
        Command::Unban { ids, scope } => unban_cmd(ids, scope, &config, out, now).await?,
        Command::Permission(cmd) => permission_cmd(cmd, &config, out, now).await?,
        Command::Modlog { room, limit, json } => {
            let op = Operator::open(&config, now).await?;
            let rows = op.db.moderation_log(room.as_deref(), limit).await?;
            print_rows(out, json, &rows, |r| {
                vec![
                    http_time(r.at),
                    r.actor.clone(),
                    r.action.clone(),
                    room_or_global(&r.room),
                    r.target.clone().unwrap_or_else(|| "-".to_owned()),
                    r.detail.clone().unwrap_or_default(),
                ]
            })?;
        }
    }
    Ok(())
}

async fn room_cmd(
    cmd: RoomCmd,
    config: &Config,
    out: &mut dyn Write,
    now: f64,
) -> anyhow::Result<()> {
    match cmd {
        RoomCmd::Add {
            token,
            name,
            description,
            permissions,
        } => {
            crate::domain::token::RoomToken::parse(&token).map_err(|_| {
                anyhow!("invalid room token `{token}`: use 1-64 of A-Z a-z 0-9 _ -")
            })?;
            let defaults = parse_permissions(&permissions)?;
            let op = Operator::open(config, now).await?;
            let room = op
                .db
                .create_room(&token, &name, description.as_deref(), defaults, now)
                .await?
                .ok_or_else(|| anyhow!("room `{token}` already exists"))?;
            writeln!(
                out,
                "created room {}: {}",
                room.token,
                join_url(config, &op.keys, &room.token)
            )?;
        }
        RoomCmd::List { json } => {
            let op = Operator::open(config, now).await?;
            let rooms = op.db.rooms().await?;
            if json {
                let list: Vec<serde_json::Value> = rooms
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "token": r.token, "name": r.name, "description": r.description,
                            "created": r.created, "info_updates": r.info_updates,
                            "message_sequence": r.message_sequence, "active_users": r.active_users,
                            "image_id": r.image, "permissions": permission_letters(r),
                        })
                    })
                    .collect();
                print_json(out, &list)?;
            } else {
                for r in rooms {
                    writeln!(out, "{}\t{}\t{}", r.token, permission_letters(&r), r.name)?;
                }
            }
        }
        RoomCmd::Delete { token } => {
            let op = Operator::open(config, now).await?;
            let room = op.room(&token).await?;
            op.db.delete_room(room.id).await?;
            writeln!(out, "deleted room {}", room.token)?;
        }
        RoomCmd::Update {
            token,
            name,
            description,
            permissions,
            rate_limit,
            image,
            dm_members_only,
        } => {
            let mut upd = RoomUpdate {
                name: name.as_deref().map(clean_room_name),
                description: description.as_deref().map(clean_room_description),
                ..RoomUpdate::default()
            };
            if let Some(letters) = &permissions {
                let d = parse_permissions(letters).map_err(|e| Usage(e.to_string()))?;
                upd.default_read = Some(d.read);
                upd.default_write = Some(d.write);
                upd.default_upload = Some(d.upload);
                upd.default_accessible = Some(d.accessible);
            }
            if upd.is_empty()
                && rate_limit.is_none()
                && image.is_none()
                && dm_members_only.is_none()
            {
                return Err(Usage(
                    "nothing to change: give --name, --description, --permissions, --rate-limit, --image or --dm-members-only"
                        .into(),
                )
                .into());
            }
            let op = Operator::open(config, now).await?;
            let room = op.room(&token).await?;
            let mut changed = Vec::new();
            if !upd.is_empty() {
                op.db
                    .update_room(room.id, &upd, now)
                    .await?
                    .map_err(|e| anyhow!("room update refused: {e:?}"))?;
                let fields = [
                    ("name", upd.name.is_some()),
                    ("description", upd.description.is_some()),
                    ("permissions", permissions.is_some()),
                ];
                changed.extend(
                    fields
                        .iter()
                        .filter(|(_, on)| *on)
                        .map(|(n, _)| n.to_string()),
                );
            }
            if let Some(limit) = rate_limit {
                let (setting, text) = match limit {
                    RateLimitArg::Off => (Some((0, 0.0)), "off".to_owned()),
                    RateLimitArg::Default => (None, "default".to_owned()),
                    RateLimitArg::Limit(n, secs) => {
                        (Some((i64::from(n), secs)), format!("{n}/{secs}"))
                    }
                };
                op.db.set_room_rate_limit(room.id, setting).await?;
                changed.push(format!("rate-limit={text}"));
            }
            if let Some(path) = image {
                let id = store_room_image(&op, config, &room, &path).await?;
                changed.push(format!("image=file {id}"));
            }
            if let Some(on) = dm_members_only {
                op.db.set_dm_members_only(room.id, on).await?;
                changed.push(format!("dm-members-only={on}"));
            }
            op.log(
                "room_update",
                Some(&room.token),
                None,
                Some(changed.join(" ")),
            )
            .await?;
            writeln!(out, "updated room {}: {}", room.token, changed.join(", "))?;
        }
        RoomCmd::Filter(args) => filter_cmd(args, config, out, now).await?,
    }
    Ok(())
}

/// Unix seconds as an HTTP date, for human-readable listings.
fn http_time(t: f64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(t.max(0.0));
    httpdate::fmt_http_date(t)
}

async fn ban_cmd(
    args: BanArgs,
    config: &Config,
    out: &mut dyn Write,
    now: f64,
) -> anyhow::Result<()> {
    let op = Operator::open(config, now).await?;
    if let Some(BanSub::List { room, json }) = args.list {
        let room = op.listing_room(room.as_deref()).await?;
        let bans = op.db.bans(room.map(|r| r.id)).await?;
        return print_rows(out, json, &bans, |b| {
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
    let change = ScopedChange::Ban {
        until: args.duration.map(|d| now + d),
    };
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
        op.apply(rooms.as_deref(), &user, change, Some(detail.clone()))
            .await?;
        writeln!(
            out,
            "banned {} from {} ({detail})",
            user.session_id,
            scope_name(&args.scope)
        )?;
    }
    Ok(())
}

async fn unban_cmd(
    ids: Vec<String>,
    scope: Scope,
    config: &Config,
    out: &mut dyn Write,
    now: f64,
) -> anyhow::Result<()> {
    let op = Operator::open(config, now).await?;
    let rooms = op.scope_rooms(&scope).await?;
    for id in &ids {
        let user = op.user(id).await?;
        op.apply(rooms.as_deref(), &user, ScopedChange::Unban, None)
            .await?;
        writeln!(
            out,
            "unbanned {} from {}",
            user.session_id,
            scope_name(&scope)
        )?;
    }
    Ok(())
}

async fn permission_cmd(
    cmd: PermissionCmd,
    config: &Config,
    out: &mut dyn Write,
    now: f64,
) -> anyhow::Result<()> {
    let PermissionCmd::Set {
        id,
        room,
        read,
        write,
        upload,
        accessible,
        duration,
    } = cmd;
    let change = PermissionChange {
        read: read.map(|f| f.0),
        accessible: accessible.map(|f| f.0),
        write: write.map(|f| f.0),
        upload: upload.map(|f| f.0),
        unschedule: true,
    };
    if change.is_empty() {
        return Err(
            Usage("give at least one of --read, --write, --upload, --accessible".into()).into(),
        );
    }
    if duration.is_some() && accessible.is_some() {
        return Err(Usage("--duration applies to --read, --write and --upload only".into()).into());
    }
    let op = Operator::open(config, now).await?;
    let room = op.room(&room).await?;
    let user = op.user(&id).await?;
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
    let obj = row.map(|o| override_object(&o)).unwrap_or_default();
    writeln!(
        out,
        "{} in {}: {detail}; now {}",
        user.session_id,
        room.token,
        serde_json::Value::Object(obj)
    )?;
    Ok(())
}

fn print_filters(
    out: &mut dyn Write,
    token: &str,
    f: &RoomFilters,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        return print_json(out, f);
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_owned()
        } else {
            v.join(", ")
        }
    };
    writeln!(out, "room: {token}")?;
    writeln!(out, "words: {}", list(&f.words))?;
    writeln!(out, "alphabets: {}", list(&f.alphabets))?;
    writeln!(out, "mode: {}", f.mode.as_str())?;
    writeln!(
        out,
        "filter moderators: {}",
        if f.filter_mods { "y" } else { "n" }
    )?;
    match f.probation() {
        Some(s) => writeln!(out, "probation: {s} s")?,
        None => writeln!(out, "probation: off")?,
    }
    Ok(())
}

async fn filter_cmd(
    args: FilterArgs,
    config: &Config,
    out: &mut dyn Write,
    now: f64,
) -> anyhow::Result<()> {
    let known = crate::domain::filter::alphabet_names();
    let alphabets: Vec<String> = args
        .alphabet
        .iter()
        .map(|a| a.to_ascii_lowercase())
        .collect();
    let clear_alphabets = alphabets.iter().any(|a| a == "none");
    if let Some(bad) = alphabets
        .iter()
        .find(|a| *a != "none" && !known.contains(&a.as_str()))
    {
        return Err(Usage(format!(
            "unknown alphabet `{bad}`; known: {}",
            known.join(", ")
        ))
        .into());
    }
    let mut added: Vec<String> = args.add_word.clone();
    if let Some(path) = &args.words_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        added.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    let op = Operator::open(config, now).await?;
    let room = op.room(&args.token).await?;
    let changing = args.off
        || args.clear_words
        || !added.is_empty()
        || !args.remove_word.is_empty()
        || !alphabets.is_empty()
        || args.mode.is_some()
        || args.filter_mods.is_some()
        || args.probation.is_some();
    let mut f = if args.off {
        RoomFilters::default()
    } else {
        RoomFilters::from_room(&room)
    };
    if !changing {
        return print_filters(out, &room.token, &f, args.json);
    }
    if args.clear_words {
        f.words.clear();
    }
    f.words.retain(|w| !args.remove_word.contains(w));
    for w in added {
        if !f.words.contains(&w) {
            f.words.push(w);
        }
    }
    if clear_alphabets {
        f.alphabets.clear();
    } else if !alphabets.is_empty() {
        f.alphabets = alphabets;
    }
    match args.mode.as_deref() {
        Some("reject") => f.mode = FilterMode::Reject,
        Some(_) => f.mode = FilterMode::Silent,
        None => {}
    }
    if let Some(m) = args.filter_mods {
        f.filter_mods = m;
    }
    if let Some(Probation(p)) = args.probation {
        f.probation_secs = p;
    }
    op.db
        .set_room_filters(room.id, f.to_json().as_deref())
        .await?;
    let detail = format!(
        "{} words, alphabets [{}], mode {}, probation {}",
        f.words.len(),
        f.alphabets.join(","),
        f.mode.as_str(),
        f.probation().map_or("off".to_owned(), |s| format!("{s} s"))
    );
    op.log("room_filter", Some(&room.token), None, Some(detail))
        .await?;
    print_filters(out, &room.token, &f, args.json)
}

/// Copies a local file into a room's uploads and makes it the room image.
async fn store_room_image(
    op: &Operator,
    config: &Config,
    room: &RoomRow,
    path: &std::path::Path,
) -> anyhow::Result<i64> {
    let store = FileStore::new(&config.data_dir);
    let id = store_local_file(&op.db, &store, room, path, config.upload_max_bytes, op.now).await?;
    let update = RoomUpdate {
        image: Some(id),
        ..Default::default()
    };
    op.db
        .update_room(room.id, &update, op.now)
        .await?
        .map_err(|e| anyhow!("could not set the room image: {e:?}"))?;
    Ok(id)
}

async fn mod_cmd(
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
                let change = ScopedChange::Appoint { admin, visible };
                op.apply(rooms.as_deref(), &user, change, Some(detail.clone()))
                    .await?;
                writeln!(
                    out,
                    "{} is now {role} of {}",
                    user.session_id,
                    scope_name(&scope)
                )?;
            }
        }
        ModCmd::Remove { ids, scope } => {
            let rooms = op.scope_rooms(&scope).await?;
            for id in &ids {
                let user = op.user(id).await?;
                let detail = Some("removed".to_owned());
                op.apply(rooms.as_deref(), &user, ScopedChange::Dismiss, detail)
                    .await?;
                writeln!(
                    out,
                    "{} is no longer a moderator of {}",
                    user.session_id,
                    scope_name(&scope)
                )?;
            }
        }
        ModCmd::List { room, json } => {
            let room = op.listing_room(room.as_deref()).await?;
            let list = list_moderators(&op.db, room.as_ref()).await?;
            print_rows(out, json, &list, |m| {
                vec![
                    m.session_id.clone(),
                    room_or_global(&m.room),
                    if m.admin { "admin" } else { "moderator" }.to_owned(),
                    if m.visible { "visible" } else { "hidden" }.to_owned(),
                ]
            })?;
        }
    }
    Ok(())
}

fn scope_name(scope: &Scope) -> String {
    if scope.global {
        "all rooms (global)".into()
    } else {
        scope.rooms.join(", ")
    }
}

pub fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}
