//! The `sogs` command line: `serve`, `init` plus the operator commands, one module per
//! command group. `run` takes the arguments and output streams, so tests drive exactly what
//! the binary runs.
//!
//! The contract of every command: exit 0 on success, 1 on a runtime failure (one line on
//! stderr), 2 on bad usage (clap's whole message); listings take `--json`.

mod moderation;
mod rooms;

use crate::clock::Clock;
use crate::config::Config;
use crate::datadir;
use crate::db::moderation::ModLogEntry;
use crate::db::rooms::RoomRow;
use crate::db::users::UserRow;
use crate::db::Db;
use crate::keys::ServerKeys;
use anyhow::anyhow;
use clap::{Parser, Subcommand};
use serde::Serialize;
use sogs_client::ids::SessionId;
use std::io::{BufRead, Write};
use std::path::PathBuf;

pub use moderation::{BanArgs, ModCmd, PermissionCmd, Scope};
pub use rooms::{FilterArgs, RoomCmd};

const EXAMPLES: &str = "\
Examples:
  sogs                                   run the server (data in ./sogs-data)
  sogs room add lobby --name \"Lobby\"     create a room and print its join URL
  sogs moderator add 05… --room lobby    appoint a moderator
  sogs ban 05… --room lobby --duration 86400
  sogs --config /etc/sogs.toml room list  talk to the server that config describes

Every command except `serve` and `init` works on an existing server: run it where the
server runs, or point it there with --config, SOGS_DATA_DIR and SOGS_DATABASE_URL.";

#[derive(Debug, Parser)]
#[command(name = "sogs", version, about = "Session Community server (SOGS v3)", after_help = EXAMPLES)]
pub struct Cli {
    /// Configuration file (default: ./sogs.toml if present); SOGS_* variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default with no subcommand); creates the data folder, key and
    /// database on first start.
    Serve,
    /// Create the data folder, server key and database without serving; nothing already
    /// there is changed.
    Init,
    /// Print the server's X25519 public key (64 hex).
    Key,
    /// Print the join URL of a room, or of every room.
    #[command(after_help = "Example:\n  sogs url lobby")]
    Url {
        /// Room token (default: every room).
        token: Option<String>,
    },
    /// Manage rooms: add, list, update, delete, word filters.
    #[command(subcommand)]
    Room(RoomCmd),
    /// Manage moderators and admins.
    #[command(subcommand)]
    Moderator(ModCmd),
    /// Ban users from rooms or server-wide; `sogs ban list` lists current bans.
    Ban(BanArgs),
    /// Lift bans.
    #[command(after_help = "Example:\n  sogs unban 05… --room lobby")]
    Unban {
        /// Session IDs (05…) or blinded ids (15…/25…).
        #[arg(required = true, value_name = "ID", value_parser = parse_id)]
        ids: Vec<SessionId>,
        #[command(flatten)]
        scope: Scope,
    },
    /// Per-user room permissions and timed restrictions.
    #[command(subcommand)]
    Permission(PermissionCmd),
    /// Show the moderation log, newest first.
    #[command(after_help = "Example:\n  sogs modlog --room lobby --limit 20")]
    Modlog {
        /// Only this room's entries (global actions are left out).
        #[arg(long, value_name = "TOKEN")]
        room: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
        /// Print JSON instead of tab-separated text.
        #[arg(long)]
        json: bool,
    },
}

/// clap value parser for an id on the command line (see [`crate::admin::parse_operator_id`]).
pub(crate) fn parse_id(s: &str) -> Result<SessionId, String> {
    crate::admin::parse_operator_id(s)
}

/// A command that was well formed for clap but asks for something impossible (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Where a command writes, and the terminal it may ask questions on (`None` when standard
/// input is not a terminal: destructive commands then need `--yes`).
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub input: Option<&'a mut dyn BufRead>,
}

/// Parses arguments and runs the command without a terminal to ask on; returns the exit code.
/// `env` is the environment the `SOGS_*` overrides are read from.
pub async fn run(
    args: Vec<String>,
    env: &[(String, String)],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    run_with(
        args,
        env,
        Io {
            out,
            err,
            input: None,
        },
    )
    .await
}

/// [`run`] with a terminal for confirmations.
pub async fn run_with(args: Vec<String>, env: &[(String, String)], io: Io<'_>) -> i32 {
    let cli: Cli = match sogs_client::cli_args::parse(args, io.out, io.err) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let config = match Config::load_from(cli.config.as_deref(), env) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(io.err, "error: {}", one_line(&e));
            return 2;
        }
    };
    let mut io = io;
    match execute(cli.command.unwrap_or(Command::Serve), config, &mut io).await {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(io.err, "error: {}", one_line(&e));
            if e.downcast_ref::<Usage>().is_some() {
                2
            } else {
                1
            }
        }
    }
}

/// An error chain on one line, each distinct message once (a driver error often repeats
/// the message of its cause).
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// The operator's handle on the server's data: the database, the server key (to resolve ids
/// as the server does) and the time of the command. Every change is logged with actor `cli`.
pub(crate) struct Operator {
    db: Db,
    keys: ServerKeys,
    require_blind: bool,
    now: f64,
}

impl Operator {
    /// Opens the existing server the configuration points at; never creates one.
    async fn open(config: &Config, now: f64) -> anyhow::Result<Self> {
        let keys = datadir::prepare(config, datadir::Open::Existing)?;
        Ok(Self {
            db: Db::open(&config.database, false).await?,
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

    /// The user an id on the command line means (see [`crate::admin::resolve_user`]).
    async fn user(&self, id: &SessionId) -> anyhow::Result<UserRow> {
        crate::admin::resolve_user(&self.db, &self.keys, self.require_blind, id, self.now).await
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
}

/// The join URL of a room.
fn join_url(config: &Config, keys: &ServerKeys, token: &str) -> String {
    format!(
        "{}/{}?public_key={}",
        config.base_url,
        token,
        keys.public_hex()
    )
}

/// A warning when join links name an address other devices cannot reach (loopback or
/// unspecified), with how to fix it.
pub fn unreachable_url_warning(config: &Config) -> Option<String> {
    let host = config
        .base_url
        .split_once("://")
        .map_or(config.base_url.as_str(), |(_, rest)| rest);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    local.then(|| {
        format!(
            "join links use {}, which other devices cannot reach; set base_url (SOGS_BASE_URL) to the server's public address, e.g. https://sogs.example.org",
            config.base_url
        )
    })
}

/// Prints `value` as pretty JSON (the `--json` form of the listings).
fn print_json(out: &mut dyn Write, value: &impl Serialize) -> anyhow::Result<()> {
    writeln!(out, "{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

/// Prints a listing: pretty JSON of `rows` with `--json`, else a header line (when `header`
/// is not empty) and one tab-separated line per row.
fn print_rows<T: Serialize>(
    out: &mut dyn Write,
    json: bool,
    rows: &[T],
    header: &[&str],
    columns: impl Fn(&T) -> Vec<String>,
) -> anyhow::Result<()> {
    if json {
        return print_json(out, &rows);
    }
    if !header.is_empty() {
        writeln!(out, "{}", header.join("\t"))?;
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

/// Unix seconds as an HTTP date, for human-readable listings.
fn http_time(t: f64) -> String {
    crate::clock::http_date(t)
}

async fn execute(cmd: Command, config: Config, io: &mut Io<'_>) -> anyhow::Result<()> {
    let now = Clock::System.now();
    match cmd {
        Command::Serve => {
            init_tracing(&config.log);
            crate::run(config).await?;
        }
        Command::Init => {
            let keys = datadir::prepare(&config, datadir::Open::CreateIfMissing)?;
            let db = Db::connect(&config.database).await?;
            db.close().await;
            writeln!(
                io.out,
                "server ready in {} ({}); public key {}",
                std::path::absolute(&config.data_dir)
                    .unwrap_or_else(|_| config.data_dir.clone())
                    .display(),
                db.engine(),
                keys.public_hex()
            )?;
        }
        Command::Key => {
            let keys = datadir::prepare(&config, datadir::Open::Existing)?;
            writeln!(io.out, "{}", keys.public_hex())?;
        }
        Command::Url { token } => {
            let op = Operator::open(&config, now).await?;
            let rooms = match token {
                Some(t) => vec![op.room(&t).await?],
                None => op.db.rooms().await?,
            };
            for r in rooms {
                writeln!(io.out, "{}", join_url(&config, &op.keys, &r.token))?;
            }
            if let Some(w) = unreachable_url_warning(&config) {
                writeln!(io.err, "warning: {w}")?;
            }
        }
        Command::Room(cmd) => rooms::run(cmd, &config, io, now).await?,
        Command::Moderator(cmd) => moderation::moderator(cmd, &config, io.out, now).await?,
        Command::Ban(args) => moderation::ban(args, &config, io.out, now).await?,
        Command::Unban { ids, scope } => {
            moderation::unban(ids, scope, &config, io.out, now).await?
        }
        Command::Permission(cmd) => moderation::permission(cmd, &config, io.out, now).await?,
        Command::Modlog { room, limit, json } => {
            moderation::modlog(room, limit, json, &config, io.out, now).await?
        }
    }
    Ok(())
}

/// Logging for `serve`: the filter from `SOGS_LOG`/`log` (or `RUST_LOG`), colour only when
/// standard error is a terminal (not in files, journald or `docker logs`).
pub fn init_tracing(filter: &str) {
    use std::io::IsTerminal;
    // actix-server announces its workers and runtime at info; the server's own
    // "listening" line says what an operator needs, so those stay quiet unless asked for.
    let filter = if filter.contains("actix") {
        filter.to_owned()
    } else {
        format!("{filter},actix_server=warn")
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and every argument of `--help` says what it is for.
    #[test]
    fn every_command_and_argument_is_described() {
        let missing =
            sogs_client::cli_args::undocumented(&<Cli as clap::CommandFactory>::command());
        assert!(missing.is_empty(), "no help text for: {missing:?}");
    }

    #[test]
    fn loopback_and_unspecified_join_urls_are_flagged() {
        let mut config = Config::for_data_dir("/tmp/x");
        for (url, flagged) in [
            ("http://127.0.0.1:8080", true),
            ("http://0.0.0.0:8095", true),
            ("http://localhost", true),
            ("http://[::1]:80", true),
            ("http://[::]:80", true),
            ("https://sogs.example.org", false),
            ("http://203.0.113.7:8080", false),
        ] {
            config.base_url = url.to_owned();
            assert_eq!(unreachable_url_warning(&config).is_some(), flagged, "{url}");
        }
    }

    #[test]
    fn one_line_drops_repeated_causes() {
        let inner = anyhow!("file is not a database");
        let e = inner.context("opening SQLite database x: file is not a database");
        assert_eq!(
            one_line(&e),
            "opening SQLite database x: file is not a database"
        );
        let e = anyhow!("root").context("outer");
        assert_eq!(one_line(&e), "outer: root");
    }
}
