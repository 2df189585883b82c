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

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};

use crate::client::{SogsClient, TimeSource, Transport};
use crate::community::{Community, CommunityError, CommunityState};
use crate::identity::{DisplayName, Identity, IdentityError};
use crate::ids::SessionId;
use crate::onion_client::{load_node_list, NodeListError, DEFAULT_HOPS, MAX_HOPS};
use crate::poller::{Event, Poller};
use crate::types::{reactions_in_order, DirectMessage, Reactions, RoomMessage};
use crate::url::CommunityUrl;

const IDENTITY_FILE: &str = "identity.json";
const STATE_FILE: &str = "communities.json";

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
    Join { url: String },
    /// List joined rooms.
    Rooms,
    /// Post a message (optionally with a file attached).
    Post {
        room: String,
        #[arg(allow_hyphen_values = true)]
        text: String,
        /// Attach this file.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
    },
    /// Print recent messages, decoded and verified.
    Read {
        room: String,
        /// How many messages (1–256).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Poll like the apps and print new events until interrupted.
    Tail {
        room: String,
        /// Seconds between polls.
        #[arg(long, default_value_t = 10.0, value_name = "SECS")]
        interval: f64,
        /// Stop after this many polls.
        #[arg(long, value_name = "N")]
        polls: Option<u32>,
    },
    /// Add a reaction to a message (or remove it with --remove).
    React {
        room: String,
        message_id: i64,
        emoji: String,
        #[arg(long)]
        remove: bool,
    },
    /// Send a direct message to a Session ID (05…) or a blinded id (15…).
    Dm {
        to: String,
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
    New {
        /// Display name sent with posts and DMs.
        #[arg(long)]
        name: Option<String>,
    },
    /// Restore an identity from its recovery password (or 32-hex seed) read from stdin.
    Restore {
        #[arg(long)]
        name: Option<String>,
    },
    /// Show the Session ID, display name and blinded ids.
    Show,
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
}

impl From<CommunityError> for CliError {
    fn from(e: CommunityError) -> Self {
        match e {
            CommunityError::UnknownRoom(_) | CommunityError::Invalid(_) => Self::usage(e),
            other => Self::fail(other),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::fail(e)
    }
}

type CliResult<T = ()> = Result<T, CliError>;

/// Saved communities.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Store {
    #[serde(default)]
    communities: Vec<CommunityState>,
}

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
    let cli: Cli = match crate::cli_args::parse(args, out, err) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let home = match home_dir(cli.home.clone(), env) {
        Ok(h) => h,
        Err(e) => {
            let _ = writeln!(err, "error: {}", e.msg);
            return e.code;
        }
    };
    let transport = match transport(cli.onion.as_deref(), cli.hops) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "error: {}", e.msg);
            return e.code;
        }
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
        Err(e) => {
            let _ = writeln!(ctx.err, "error: {}", e.msg);
            e.code
        }
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
        Command::Id(IdCmd::New { name }) => id_new(ctx, name.as_deref()),
        Command::Id(IdCmd::Restore { name }) => id_restore(ctx, name.as_deref(), stdin),
        Command::Id(IdCmd::Show) => id_show(ctx),
        Command::Join { url } => join(ctx, &url).await,
        Command::Rooms => rooms(ctx),
        Command::Post { room, text, file } => post(ctx, &room, &text, file.as_deref()).await,
        Command::Read { room, limit } => read(ctx, &room, limit).await,
        Command::Tail {
            room,
            interval,
            polls,
        } => tail(ctx, &room, interval, polls).await,
        Command::React {
            room,
            message_id,
            emoji,
            remove,
        } => react(ctx, &room, message_id, &emoji, remove).await,
        Command::Dm { to, text, room } => dm(ctx, &to, &text, room.as_deref()).await,
        Command::Inbox { room, sent, limit } => inbox(ctx, room.as_deref(), sent, limit).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Files

fn ensure_home(home: &Path) -> CliResult {
    if home.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(home)
        .map_err(|e| CliError::fail(format!("cannot create {}: {e}", home.display())))
}

fn identity_path(ctx: &Ctx<'_>) -> PathBuf {
    ctx.home.join(IDENTITY_FILE)
}

fn load_identity(ctx: &Ctx<'_>) -> CliResult<Identity> {
    let path = identity_path(ctx);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CliError::fail(format!(
                "no identity in {}: create one with `sogs-client id new` or restore one with \
                 `sogs-client id restore`",
                ctx.home.display()
            )))
        }
        Err(e) => return Err(CliError::fail(format!("{}: {e}", path.display()))),
    };
    Identity::from_file_json(&text).map_err(|e| CliError::fail(format!("{}: {e}", path.display())))
}

/// Writes the identity file with mode 0600; refuses to replace an existing one.
fn save_new_identity(ctx: &Ctx<'_>, identity: &Identity) -> CliResult<PathBuf> {
    ensure_home(&ctx.home)?;
    let path = identity_path(ctx);
    if path.exists() {
        let existing = load_identity(ctx)
            .map(|i| format!(" (Session ID {})", i.session_id()))
            .unwrap_or_default();
        return Err(CliError::fail(format!(
            "an identity already exists at {}{existing}; move it away first",
            path.display()
        )));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&path)
        .map_err(|e| CliError::fail(format!("cannot write {}: {e}", path.display())))?;
    let json = zeroize::Zeroizing::new(identity.to_file_json());
    f.write_all(json.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(path)
}

fn load_store(ctx: &Ctx<'_>) -> CliResult<Store> {
    let path = ctx.home.join(STATE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(t) => {
            serde_json::from_str(&t).map_err(|e| CliError::fail(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Store::default()),
        Err(e) => Err(CliError::fail(format!("{}: {e}", path.display()))),
    }
}

fn save_store(ctx: &Ctx<'_>, store: &Store) -> CliResult {
    ensure_home(&ctx.home)?;
    let path = ctx.home.join(STATE_FILE);
    let tmp = ctx.home.join(format!("{STATE_FILE}.tmp"));
    let json = serde_json::to_string_pretty(store).map_err(CliError::fail)?;
    std::fs::write(&tmp, json + "\n")?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Rooms and communities

/// Finds a joined room: by token (case-insensitive; must be unique across servers) or by its
/// join URL. Returns (community index, token).
fn resolve_room(store: &Store, spec: &str) -> CliResult<(usize, String)> {
    if spec.contains("public_key=") {
        let url = CommunityUrl::parse(spec).map_err(CliError::usage)?;
        for (i, c) in store.communities.iter().enumerate() {
            if c.base_url == url.base_url() && c.server_pubkey == url.server_pubkey_hex() {
                if let Some(r) = c.room(url.room()) {
                    return Ok((i, r.token.clone()));
                }
            }
        }
        return Err(CliError::usage(format!(
            "room {} is not joined; join it with `sogs-client join URL`",
            url.join_url()
        )));
    }
    let matches: Vec<(usize, String, String)> = store
        .communities
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            c.room(spec)
                .map(|r| (i, r.token.clone(), c.join_url(&r.token)))
        })
        .collect();
    match matches.as_slice() {
        [] => Err(CliError::usage(format!(
            "room {spec:?} is not joined (`sogs-client rooms` lists joined rooms)"
        ))),
        [(i, token, _)] => Ok((*i, token.clone())),
        many => Err(CliError::usage(format!(
            "room {spec:?} is joined on several servers; give its join URL instead: {}",
            many.iter()
                .map(|(_, _, u)| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn http_client(ctx: &Ctx<'_>, base_url: &str, server_pk: [u8; 32]) -> SogsClient {
    let mut c = SogsClient::new(base_url, server_pk).with_transport(ctx.transport.clone());
    if let Some(t) = &ctx.time {
        c = c.with_time_source(Arc::clone(t));
    }
    c
}

fn open_community(
    ctx: &Ctx<'_>,
    state: CommunityState,
    identity: Identity,
) -> CliResult<Community> {
    let pk = state.server_pk().map_err(CliError::fail)?;
    let http = http_client(ctx, &state.base_url, pk);
    Ok(Community::from_state(state, identity, Some(http))?)
}

/// Puts a community's state back into the store (replacing the one for the same server).
fn put_state(store: &mut Store, state: CommunityState) {
    match store
        .communities
        .iter_mut()
        .find(|c| c.base_url == state.base_url && c.server_pubkey == state.server_pubkey)
    {
        Some(slot) => *slot = state,
        None => store.communities.push(state),
    }
}

fn json_line<T: Serialize>(out: &mut dyn Write, value: &T) -> CliResult {
    let s = serde_json::to_string(value).map_err(CliError::fail)?;
    writeln!(out, "{s}")?;
    Ok(())
}

fn json_pretty<T: Serialize>(out: &mut dyn Write, value: &T) -> CliResult {
    let s = serde_json::to_string_pretty(value).map_err(CliError::fail)?;
    writeln!(out, "{s}")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Formatting

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

fn format_reactions(reactions: &Reactions) -> String {
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

fn write_message(out: &mut dyn Write, m: &RoomMessage) -> CliResult {
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
            "    attachment: {} ({} bytes, {}) file {}",
            a.file_name.as_deref().unwrap_or("unnamed"),
            a.size.unwrap_or(0),
            a.content_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
            a.download_id().unwrap_or(0)
        )?;
    }
    if let Some(q) = &m.content.quote {
        writeln!(out, "    quoting {} at {}", q.author, format_time(q.id))?;
    }
    Ok(())
}

fn write_dm(out: &mut dyn Write, m: &DirectMessage) -> CliResult {
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

fn write_event(out: &mut dyn Write, e: &Event) -> CliResult {
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

fn note_dropped(err: &mut dyn Write, n: usize) {
    if n > 0 {
        let _ = writeln!(
            err,
            "note: {n} message(s) failed verification or decoding and were not shown"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Commands

fn parse_name(name: Option<&str>) -> CliResult<Option<DisplayName>> {
    name.map(DisplayName::parse)
        .transpose()
        .map_err(CliError::usage)
}

fn id_new(ctx: &mut Ctx<'_>, name: Option<&str>) -> CliResult {
    let name = parse_name(name)?;
    let mut identity = Identity::generate();
    identity.set_display_name(name);
    let path = save_new_identity(ctx, &identity)?;
    let phrase = identity.recovery_password();
    if ctx.json {
        json_pretty(
            ctx.out,
            &serde_json::json!({
                "session_id": identity.session_id(),
                "recovery_password": phrase.as_str(),
                "display_name": identity.display_name().map(DisplayName::as_str),
                "identity_file": path,
            }),
        )?;
    } else {
        writeln!(ctx.out, "Session ID: {}", identity.session_id())?;
        writeln!(ctx.out, "Recovery password: {}", phrase.as_str())?;
        writeln!(
            ctx.out,
            "Write the recovery password down and keep it secret: it restores this account."
        )?;
        writeln!(ctx.out, "Identity saved to {}", path.display())?;
    }
    Ok(())
}

fn id_restore(ctx: &mut Ctx<'_>, name: Option<&str>, stdin: &mut dyn Read) -> CliResult {
    let name = parse_name(name)?;
    let mut input = zeroize::Zeroizing::new(String::new());
    stdin
        .read_to_string(&mut input)
        .map_err(|e| CliError::fail(format!("reading the recovery password: {e}")))?;
    if input.trim().is_empty() {
        return Err(CliError::usage(
            "no recovery password on stdin (13 words, or the 32-hex seed)",
        ));
    }
    let mut identity = Identity::restore(&input).map_err(|e: IdentityError| {
        CliError::usage(format!("recovery password not accepted: {e}"))
    })?;
    identity.set_display_name(name);
    let path = save_new_identity(ctx, &identity)?;
    if ctx.json {
        json_pretty(
            ctx.out,
            &serde_json::json!({
                "session_id": identity.session_id(),
                "display_name": identity.display_name().map(DisplayName::as_str),
                "identity_file": path,
            }),
        )?;
    } else {
        writeln!(ctx.out, "Restored Session ID: {}", identity.session_id())?;
        writeln!(
            ctx.out,
            "Compare it with the Session ID in your app: the checksum does not catch every typo."
        )?;
        writeln!(ctx.out, "Identity saved to {}", path.display())?;
    }
    Ok(())
}

fn id_show(ctx: &mut Ctx<'_>) -> CliResult {
    let identity = load_identity(ctx)?;
    let store = load_store(ctx)?;
    let path = identity_path(ctx);
    let mut blinded = serde_json::Map::new();
    for c in &store.communities {
        if let Ok(pk) = c.server_pk() {
            blinded.insert(
                c.base_url.clone(),
                serde_json::json!(identity.blinded15_id(&pk)),
            );
        }
    }
    if ctx.json {
        json_pretty(
            ctx.out,
            &serde_json::json!({
                "session_id": identity.session_id(),
                "display_name": identity.display_name().map(DisplayName::as_str),
                "identity_file": path,
                "blinded_ids": blinded,
            }),
        )?;
    } else {
        writeln!(ctx.out, "Session ID: {}", identity.session_id())?;
        if let Some(n) = identity.display_name() {
            writeln!(ctx.out, "Display name: {n}")?;
        }
        writeln!(ctx.out, "Identity file: {}", path.display())?;
        for (server, id) in &blinded {
            writeln!(
                ctx.out,
                "Blinded ID on {server}: {}",
                id.as_str().unwrap_or("")
            )?;
        }
    }
    Ok(())
}

async fn join(ctx: &mut Ctx<'_>, url: &str) -> CliResult {
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

fn rooms(ctx: &mut Ctx<'_>) -> CliResult {
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

/// Opens the community holding `room`; returns it with the token and the store.
fn community_for(ctx: &Ctx<'_>, room: &str) -> CliResult<(Community, String, Store)> {
    let identity = load_identity(ctx)?;
    let store = load_store(ctx)?;
    let (i, token) = resolve_room(&store, room)?;
    let state = store
        .communities
        .get(i)
        .cloned()
        .ok_or_else(|| CliError::fail("state changed"))?;
    Ok((open_community(ctx, state, identity)?, token, store))
}

async fn post(ctx: &mut Ctx<'_>, room: &str, text: &str, file: Option<&Path>) -> CliResult {
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

async fn read(ctx: &mut Ctx<'_>, room: &str, limit: u32) -> CliResult {
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

async fn tail(ctx: &mut Ctx<'_>, room: &str, interval: f64, polls: Option<u32>) -> CliResult {
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

async fn react(ctx: &mut Ctx<'_>, room: &str, id: i64, emoji: &str, remove: bool) -> CliResult {
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

/// The community to send a DM through: the server of `room`, or the only joined server.
fn dm_community(ctx: &Ctx<'_>, room: Option<&str>) -> CliResult<Community> {
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

async fn dm(ctx: &mut Ctx<'_>, to: &str, text: &str, room: Option<&str>) -> CliResult {
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

async fn inbox(ctx: &mut Ctx<'_>, room: Option<&str>, sent: bool, limit: u32) -> CliResult {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_750_000_000_000), "2025-06-15 15:06:40");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00");
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
