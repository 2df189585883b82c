//! The `sogs-client` command line. [`run`] takes the arguments, environment and streams, so
//! tests drive exactly what the binary runs.
//!
//! Files live in the home folder (`--home DIR`, else `$SOGS_CLIENT_HOME`, else
//! `$XDG_CONFIG_HOME/sogs-client`, else `$HOME/.config/sogs-client`):
//! - `identity.json`: the account seed and display name, mode 0600;
//! - `communities.json`: joined servers and rooms with their cursors ([`CommunityState`]).
//!
//! `--onion NODEFILE` (global) sends every request through a fresh random onion path of
//! `--hops` nodes (default 3) taken from a node list file (formats: [`crate::onion_client`]);
//! without it requests go straight to the server.
//!
//! Exit codes: 0 success, 1 failure (network, server, missing identity, files), 2 bad usage
//! (arguments, URLs, ids, recovery passwords, unknown rooms).

mod dms;
mod format;
mod identity;
mod rooms;
mod store;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::client::ClientError;
use crate::client::{TimeSource, Transport};
use crate::community::CommunityError;
use crate::onion_client::{load_node_list, NodeListError, DEFAULT_HOPS, MAX_HOPS};

pub use format::format_time;

#[derive(Debug, Parser)]
#[command(
    name = "sogs-client",
    version,
    about = "Session Community (SOGS) client: identities, joining, posting, reading, DMs"
)]
pub struct Cli {
    /// Folder for the identity and joined rooms [default: $SOGS_CLIENT_HOME, else
    /// $XDG_CONFIG_HOME/sogs-client, else ~/.config/sogs-client].
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Route every request through onion paths over the service nodes (or `sogs-relay`s)
    /// listed in this JSON file, as the Session apps do; without it requests go directly.
    #[arg(long, global = true, value_name = "NODEFILE")]
    pub onion: Option<PathBuf>,
    /// Nodes per onion path (with --onion).
    #[arg(long, global = true, value_name = "N", default_value_t = DEFAULT_HOPS, requires = "onion")]
    pub hops: usize,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, restore or show the Session identity.
    #[command(subcommand)]
    Id(IdCmd),
    /// Join a community room by its URL (`https://host/room?public_key=…`).
    #[command(
        after_help = "Example:\n  sogs-client join \"https://sogs.example.org/lobby?public_key=<64 hex>\""
    )]
    Join {
        /// The room's join URL, as the community's operator publishes it (the web page of a
        /// room also shows it).
        url: String,
    },
    /// List joined rooms.
    Rooms,
    /// Post a message (optionally with a file attached).
    #[command(
        after_help = "Examples:\n  sogs-client post lobby \"hello everyone\"\n  \
                            sogs-client post lobby \"the report\" --file report.pdf"
    )]
    Post {
        /// A joined room: its token (as `rooms` lists it) or its join URL.
        room: String,
        /// The message text (quote it; a leading `-` is fine).
        #[arg(allow_hyphen_values = true)]
        text: String,
        /// Attach this file (uploaded to the room first, as the apps do).
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
    },
    /// Print recent messages, decoded and verified.
    #[command(after_help = "Example:\n  sogs-client read lobby --limit 50")]
    Read {
        /// A joined room: its token or its join URL.
        room: String,
        /// How many messages (1–256).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Poll like the apps and print new events until interrupted.
    #[command(after_help = "Example:\n  sogs-client tail lobby --interval 5")]
    Tail {
        /// A joined room: its token or its join URL.
        room: String,
        /// Seconds between polls.
        #[arg(long, default_value_t = 10.0, value_name = "SECS")]
        interval: f64,
        /// Stop after this many polls.
        #[arg(long, value_name = "N")]
        polls: Option<u32>,
    },
    /// Add a reaction to a message (or remove it with --remove).
    #[command(after_help = "Example:\n  sogs-client react lobby 42 👍")]
    React {
        /// A joined room: its token or its join URL.
        room: String,
        /// The message's id (the `#N` that `read` prints).
        message_id: i64,
        /// One emoji (or a short reaction text of at most 12 characters).
        emoji: String,
        /// Remove our reaction instead of adding it.
        #[arg(long)]
        remove: bool,
    },
    /// Download a file attached to a message (`read` prints the command for each attachment).
    #[command(after_help = "Examples:\n  sogs-client download lobby 7\n  \
                            sogs-client download lobby 7 -o ~/Downloads/ --force")]
    Download {
        /// A joined room: its token or its join URL.
        room: String,
        /// The file's id (`file N` in `read`'s attachment lines).
        file_id: i64,
        /// Where to save it: a file name, or a folder to save it in under its own name
        /// [default: its own name in the current folder].
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Replace a file that already exists at that path.
        #[arg(long)]
        force: bool,
    },
    /// Send a direct message to a Session ID (05…) or a blinded id (15…).
    #[command(
        after_help = "Example:\n  sogs-client dm 05<64 hex> \"hi, saw your post\" --room lobby"
    )]
    Dm {
        /// The recipient: a Session ID (05…) or the blinded id (15…) a community shows.
        to: String,
        /// The message text.
        #[arg(allow_hyphen_values = true)]
        text: String,
        /// A joined room whose server carries the DM (needed when several servers are joined).
        #[arg(long)]
        room: Option<String>,
    },
    /// Print received direct messages.
    Inbox {
        /// Only the server of this joined room.
        #[arg(long)]
        room: Option<String>,
        /// Also print messages we sent.
        #[arg(long)]
        sent: bool,
        /// At most this many per server and direction (1–256).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum IdCmd {
    /// Create a new identity: prints the Session ID and the recovery password.
    #[command(after_help = "Example:\n  sogs-client id new --name Alice")]
    New {
        /// Display name sent with posts and DMs.
        #[arg(long)]
        name: Option<String>,
    },
    /// Restore an identity from its recovery password (or 32-hex seed) read from stdin.
    #[command(after_help = "Example:\n  sogs-client id restore --name Alice < recovery.txt")]
    Restore {
        /// Display name sent with posts and DMs.
        #[arg(long)]
        name: Option<String>,
    },
    /// Show the Session ID and display name, and the blinded id on each joined server (join a
    /// room first to see one).
    Show {
        /// Also print the recovery password (keep it secret: it restores this account).
        #[arg(long)]
        phrase: bool,
    },
}

/// A failure with its exit code.
#[derive(Debug)]
struct CliError {
    code: i32,
    msg: String,
}

impl CliError {
    fn usage(msg: impl std::fmt::Display) -> Self {
        Self {
            code: 2,
            msg: msg.to_string(),
        }
    }
    fn fail(msg: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            msg: msg.to_string(),
        }
    }

    /// Writes the error (one line of text, or one JSON object with `--json`) and gives the
    /// exit code.
    fn report(&self, err: &mut dyn Write, json: bool) -> i32 {
        let _ = if json {
            writeln!(err, "{}", crate::cli_args::json_error(&self.msg, self.code))
        } else {
            writeln!(err, "error: {}", self.msg)
        };
        self.code
    }
}

impl From<CommunityError> for CliError {
    fn from(e: CommunityError) -> Self {
        match e {
            CommunityError::UnknownRoom(_) | CommunityError::Invalid(_) => Self::usage(e),
            other => match hint(&other) {
                Some(h) => Self::fail(format!("{other}; {h}")),
                None => Self::fail(other),
            },
        }
    }
}

/// What the user can do about a server's answer, when it is clear.
fn hint(e: &CommunityError) -> Option<&'static str> {
    let body = match e {
        CommunityError::Status { body, .. }
        | CommunityError::Client(ClientError::Status { body, .. }) => body.to_ascii_lowercase(),
        _ => return None,
    };
    match e.status()? {
        // The signature covers the server key from the join URL: a wrong key fails here.
        401 if body.contains("signature") => Some(
            "the server key in the join URL (public_key=…) is probably wrong: get the room's \
             join URL again from the community and join with it",
        ),
        _ => None,
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::fail(e)
    }
}

type CliResult<T = ()> = Result<T, CliError>;

/// Everything a command needs.
struct Ctx<'a> {
    home: PathBuf,
    json: bool,
    time: Option<TimeSource>,
    transport: Transport,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

/// Parses arguments and runs the command; returns the exit code (0 ok, 1 failure, 2 bad
/// usage). Errors go to `err`, one line. `env` supplies `SOGS_CLIENT_HOME`,
/// `XDG_CONFIG_HOME` and `HOME`; `stdin` is read by `id restore`.
pub async fn run(
    args: Vec<String>,
    env: &[(String, String)],
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    run_with(args, env, stdin, out, err, None).await
}

/// [`run`] with a clock for request and message timestamps (tests use the server's test
/// clock; `None` = the system clock).
pub async fn run_with(
    args: Vec<String>,
    env: &[(String, String)],
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
    time: Option<TimeSource>,
) -> i32 {
    let json = crate::cli_args::wants_json(&args);
    let cli: Cli = match crate::cli_args::parse_reporting(args, out, err, json) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let home = match home_dir(cli.home.clone(), env) {
        Ok(h) => h,
        Err(e) => return e.report(err, json),
    };
    let transport = match transport(cli.onion.as_deref(), cli.hops) {
        Ok(t) => t,
        Err(e) => return e.report(err, json),
    };
    let mut ctx = Ctx {
        home,
        json: cli.json,
        time,
        transport,
        out,
        err,
    };
    match execute(cli.command, &mut ctx, stdin).await {
        Ok(()) => 0,
        Err(e) => e.report(ctx.err, json),
    }
}

/// Direct, or onion paths of `hops` nodes from the node list file.
fn transport(node_file: Option<&Path>, hops: usize) -> CliResult<Transport> {
    let Some(path) = node_file else {
        return Ok(Transport::Direct);
    };
    if !(1..=MAX_HOPS).contains(&hops) {
        return Err(CliError::usage(format!(
            "--hops must be between 1 and {MAX_HOPS}"
        )));
    }
    let nodes = load_node_list(path).map_err(|e| match e {
        NodeListError::Io { .. } => CliError::fail(e),
        other => CliError::usage(other),
    })?;
    if nodes.len() < hops {
        return Err(CliError::usage(format!(
            "{} lists {} distinct node(s); an onion path of {hops} hops needs at least {hops}",
            path.display(),
            nodes.len()
        )));
    }
    let mut t = Transport::onion_path(nodes);
    if let Transport::OnionPath { hops: h, .. } = &mut t {
        *h = hops;
    }
    Ok(t)
}

fn env_get<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn home_dir(flag: Option<PathBuf>, env: &[(String, String)]) -> CliResult<PathBuf> {
    if let Some(h) = flag {
        return Ok(h);
    }
    if let Some(h) = env_get(env, "SOGS_CLIENT_HOME") {
        return Ok(PathBuf::from(h));
    }
    if let Some(x) = env_get(env, "XDG_CONFIG_HOME") {
        return Ok(Path::new(x).join("sogs-client"));
    }
    if let Some(h) = env_get(env, "HOME") {
        return Ok(Path::new(h).join(".config").join("sogs-client"));
    }
    Err(CliError::usage(
        "no home folder: pass --home DIR or set SOGS_CLIENT_HOME",
    ))
}

async fn execute(cmd: Command, ctx: &mut Ctx<'_>, stdin: &mut dyn Read) -> CliResult {
    match cmd {
        Command::Id(IdCmd::New { name }) => identity::id_new(ctx, name.as_deref()),
        Command::Id(IdCmd::Restore { name }) => identity::id_restore(ctx, name.as_deref(), stdin),
        Command::Id(IdCmd::Show { phrase }) => identity::id_show(ctx, phrase),
        Command::Join { url } => rooms::join(ctx, &url).await,
        Command::Rooms => rooms::rooms(ctx),
        Command::Post { room, text, file } => rooms::post(ctx, &room, &text, file.as_deref()).await,
        Command::Read { room, limit } => rooms::read(ctx, &room, limit).await,
        Command::Tail {
            room,
            interval,
            polls,
        } => rooms::tail(ctx, &room, interval, polls).await,
        Command::React {
            room,
            message_id,
            emoji,
            remove,
        } => rooms::react(ctx, &room, message_id, &emoji, remove).await,
        Command::Download {
            room,
            file_id,
            output,
            force,
        } => rooms::download(ctx, &room, file_id, output.as_deref(), force).await,
        Command::Dm { to, text, room } => dms::dm(ctx, &to, &text, room.as_deref()).await,
        Command::Inbox { room, sent, limit } => dms::inbox(ctx, room.as_deref(), sent, limit).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and every argument of `--help` says what it is for.
    #[test]
    fn every_command_and_argument_is_described() {
        let missing = crate::cli_args::undocumented(&<Cli as clap::CommandFactory>::command());
        assert!(missing.is_empty(), "no help text for: {missing:?}");
    }

    #[test]
    fn home_precedence() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            home_dir(Some("/x".into()), &env(&[("SOGS_CLIENT_HOME", "/y")])).unwrap(),
            PathBuf::from("/x")
        );
        assert_eq!(
            home_dir(None, &env(&[("SOGS_CLIENT_HOME", "/y"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/y")
        );
        assert_eq!(
            home_dir(None, &env(&[("XDG_CONFIG_HOME", "/c"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/c/sogs-client")
        );
        assert_eq!(
            home_dir(None, &env(&[("HOME", "/h")])).unwrap(),
            PathBuf::from("/h/.config/sogs-client")
        );
        assert_eq!(home_dir(None, &[]).unwrap_err().code, 2);
    }
}
