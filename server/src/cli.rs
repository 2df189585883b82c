//! The `sogs` command line: `serve` plus the operator commands. `run` takes the arguments
//! and output streams, so tests drive exactly what the binary runs.

use crate::admin::{self, list_moderators, parse_permissions, permission_letters};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::keys::ServerKeys;
use anyhow::{anyhow, bail, Context};
use clap::{Args, Parser, Subcommand};
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
}

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
    /// Change a room's settings.
    Update {
        token: String,
        /// Upload this file into the room and make it the room image.
        #[arg(long, value_name = "FILE")]
        image: Option<PathBuf>,
        /// Refuse DMs to members of this room from users who are not members (true/false).
        #[arg(long, value_name = "BOOL")]
        dm_members_only: Option<bool>,
    },
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
            1
        }
    }
}

async fn open(config: &Config) -> anyhow::Result<(Db, ServerKeys)> {
    std::fs::create_dir_all(&config.data_dir)?;
    let keys = ServerKeys::load_or_create(&config.key_path())?;
    Ok((Db::connect(&config.database).await?, keys))
}

fn join_url(config: &Config, keys: &ServerKeys, token: &str) -> String {
    format!(
        "{}/{}?public_key={}",
        config.base_url,
        token,
        keys.public_hex()
    )
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
            let (db, keys) = open(&config).await?;
            let rooms = match token {
                Some(t) => vec![db
                    .room_by_token(&t)
                    .await?
                    .ok_or_else(|| anyhow!("no room `{t}`"))?],
                None => db.rooms().await?,
            };
            for r in rooms {
                writeln!(out, "{}", join_url(&config, &keys, &r.token))?;
            }
        }
        Command::Room(cmd) => room_cmd(cmd, &config, out, now).await?,
        Command::Moderator(cmd) => mod_cmd(cmd, &config, out, now).await?,
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
            let (db, keys) = open(config).await?;
            let room = db
                .create_room(&token, &name, description.as_deref(), defaults, now)
                .await?
                .ok_or_else(|| anyhow!("room `{token}` already exists"))?;
            writeln!(
                out,
                "created room {}: {}",
                room.token,
                join_url(config, &keys, &room.token)
            )?;
        }
        RoomCmd::List { json } => {
            let (db, _) = open(config).await?;
            let rooms = db.rooms().await?;
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
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                for r in rooms {
                    writeln!(out, "{}\t{}\t{}", r.token, permission_letters(&r), r.name)?;
                }
            }
        }
        RoomCmd::Delete { token } => {
            let (db, _) = open(config).await?;
            let room = db
                .room_by_token(&token)
                .await?
                .ok_or_else(|| anyhow!("no room `{token}`"))?;
            db.delete_room(room.id).await?;
            writeln!(out, "deleted room {}", room.token)?;
        }
        RoomCmd::Update {
            token,
            image,
            dm_members_only,
        } => {
            if image.is_none() && dm_members_only.is_none() {
                bail!("nothing to change: give --image FILE or --dm-members-only BOOL");
            }
            let (db, _) = open(config).await?;
            let room = db
                .room_by_token(&token)
                .await?
                .ok_or_else(|| anyhow!("no room `{token}`"))?;
            if let Some(path) = image {
                let id = store_room_image(&db, config, &room, &path, now).await?;
                writeln!(out, "room {} image is now file {id}", room.token)?;
            }
            if let Some(on) = dm_members_only {
                db.set_dm_members_only(room.id, on).await?;
                writeln!(out, "room {} dm_members_only = {on}", room.token)?;
            }
        }
    }
    Ok(())
}

/// Copies a local file into a room's uploads and makes it the room image.
async fn store_room_image(
    db: &Db,
    config: &Config,
    room: &crate::db::rooms::RoomRow,
    path: &std::path::Path,
    now: f64,
) -> anyhow::Result<i64> {
    use crate::files::{clean_filename, store_upload, FileStore, Source, NEW_UPLOAD_LIFETIME_SECS};
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() || meta.len() == 0 {
        bail!("{}: not a non-empty file", path.display());
    }
    if meta.len() > config.upload_max_bytes {
        bail!(
            "{}: {} bytes is over the upload limit of {} bytes",
            path.display(),
            meta.len(),
            config.upload_max_bytes
        );
    }
    let filename = path
        .file_name()
        .and_then(|n| clean_filename(&n.to_string_lossy()));
    let new = crate::db::files::NewFile {
        room: room.id,
        uploader: None,
        size: i64::try_from(meta.len())?,
        uploaded: now,
        expiry: Some(now + NEW_UPLOAD_LIFETIME_SECS),
        filename: filename.as_deref(),
    };
    let store = FileStore::new(config.uploads_dir());
    let id = store_upload(db, &store, &room.token, &new, Source::Copy(path)).await?;
    let update = crate::db::rooms::RoomUpdate {
        image: Some(id),
        ..Default::default()
    };
    db.update_room(room.id, &update, now)
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
    let (db, keys) = open(config).await?;
    let blind = config.require_blind_keys;
    match cmd {
        ModCmd::Add {
            ids,
            scope,
            admin,
            visible,
            hidden,
        } => {
            let rooms = scope_rooms(&db, &scope).await?;
            let visible = if visible || hidden {
                visible
            } else {
                !scope.global
            };
            for id in &ids {
                let user = admin::resolve_user(&db, &keys, blind, id, now).await?;
                match &rooms {
                    None => db.set_global_role(user.id, true, admin, visible).await?,
                    Some(rooms) => {
                        for r in rooms {
                            db.set_room_role(r.id, user.id, true, admin, visible)
                                .await?;
                        }
                    }
                }
                let role = if admin { "admin" } else { "moderator" };
                writeln!(
                    out,
                    "{} is now {role} of {}",
                    user.session_id,
                    scope_name(&scope)
                )?;
            }
        }
        ModCmd::Remove { ids, scope } => {
            let rooms = scope_rooms(&db, &scope).await?;
            for id in &ids {
                let user = admin::resolve_user(&db, &keys, blind, id, now).await?;
                match &rooms {
                    None => db.set_global_role(user.id, false, false, false).await?,
                    Some(rooms) => {
                        for r in rooms {
                            db.set_room_role(r.id, user.id, false, false, true).await?;
                        }
                    }
                }
                writeln!(
                    out,
                    "{} is no longer a moderator of {}",
                    user.session_id,
                    scope_name(&scope)
                )?;
            }
        }
        ModCmd::List { room, json } => {
            let room = match room {
                Some(t) => Some(
                    db.room_by_token(&t)
                        .await?
                        .ok_or_else(|| anyhow!("no room `{t}`"))?,
                ),
                None => None,
            };
            let list = list_moderators(&db, room.as_ref()).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                for m in list {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}",
                        m.session_id,
                        m.room.as_deref().unwrap_or("(global)"),
                        if m.admin { "admin" } else { "moderator" },
                        if m.visible { "visible" } else { "hidden" }
                    )?;
                }
            }
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

/// `None` = global; otherwise the named rooms, all of which must exist.
async fn scope_rooms(
    db: &Db,
    scope: &Scope,
) -> anyhow::Result<Option<Vec<crate::db::rooms::RoomRow>>> {
    if scope.global {
        return Ok(None);
    }
    let mut rooms = Vec::new();
    for t in &scope.rooms {
        match db.room_by_token(t).await? {
            Some(r) => rooms.push(r),
            None => bail!("no room `{t}`"),
        }
    }
    Ok(Some(rooms))
}

pub fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}
