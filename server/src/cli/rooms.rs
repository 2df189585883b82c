//! `sogs room …`: create, list, update (settings, image, rate limit), delete, word filters.

use super::{join_url, print_json, unreachable_url_warning, Io, Operator, Usage};
use crate::admin::{parse_permissions, permission_letters};
use crate::config::Config;
use crate::db::rooms::{RoomDefaults, RoomRow, RoomUpdate};
use crate::domain::filter::{FilterMode, RoomFilters};
use crate::domain::room::{clean_room_description, clean_room_name};
use crate::files::{store_local_file, FileStore};
use crate::limits::DEFAULT_POST_LIMIT;
use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The largest room image accepted (Session apps show room images as small avatars).
pub const ROOM_IMAGE_MAX_BYTES: u64 = 5_000_000;

/// Image formats the Session apps display as a room image.
const IMAGE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

#[derive(Debug, Subcommand)]
pub enum RoomCmd {
    /// Create a room and print its join URL.
    #[command(
        after_help = "Examples:\n  sogs room add lobby --name \"Lobby\" --description \"Say hi\"\n  sogs room add news --name \"News\" --permissions ra   (read-only)"
    )]
    Add {
        /// Room token: 1-64 of A-Z a-z 0-9 _ - (it is part of the join URL).
        #[arg(value_parser = parse_token)]
        token: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Description shown under the name.
        #[arg(long)]
        description: Option<String>,
        /// Default permissions: r=read, w=write, u=upload, a=accessible, or `none`.
        #[arg(long, default_value = "rwua", value_parser = parse_permissions_arg)]
        permissions: RoomDefaults,
    },
    /// List rooms with their settings.
    List {
        /// Print JSON instead of tab-separated text.
        #[arg(long)]
        json: bool,
    },
    /// Delete a room with all its messages and files (asks first; `--yes` without a terminal).
    #[command(after_help = "Example:\n  sogs room delete oldroom --yes")]
    Delete {
        /// Room token.
        token: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Change a room's name, description, default permissions, post rate limit, image or DM policy.
    #[command(
        after_help = "Examples:\n  sogs room update lobby --name \"The Lobby\"\n  sogs room update lobby --rate-limit 10/60\n  sogs room update lobby --image logo.png"
    )]
    Update {
        /// Room token.
        token: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// New description; an empty string removes it.
        #[arg(long)]
        description: Option<String>,
        /// Default permissions: r=read, w=write, u=upload, a=accessible, or `none`.
        #[arg(long, value_parser = parse_permissions_arg)]
        permissions: Option<RoomDefaults>,
        /// Posts per user: N/SECONDS, `off`, or `default` (5/16).
        #[arg(long, value_name = "N/SECONDS|off|default", value_parser = parse_rate_limit)]
        rate_limit: Option<RateLimitArg>,
        /// Make this image file (PNG, JPEG, GIF or WebP, at most 5 MB) the room image.
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
#[command(
    after_help = "Examples:\n  sogs room filter lobby\n  sogs room filter lobby --add-word 'spam*' --mode silent\n  sogs room filter lobby --alphabet cyrillic --probation 3600"
)]
pub struct FilterArgs {
    /// Room token.
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
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_token(s: &str) -> Result<String, String> {
    crate::domain::token::RoomToken::parse(s)
        .map(|_| s.to_owned())
        .map_err(|_| "use 1-64 of A-Z a-z 0-9 _ -".to_owned())
}

fn parse_permissions_arg(s: &str) -> Result<RoomDefaults, String> {
    parse_permissions(s)
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

/// The longest period a room's post limit may have: one year.
const MAX_RATE_LIMIT_SECS: f64 = 365.0 * 86_400.0;

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
    if secs > MAX_RATE_LIMIT_SECS {
        return Err(format!(
            "the rate limit's period must be at most {MAX_RATE_LIMIT_SECS} seconds (one year)"
        ));
    }
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

/// A room's post rate limit as the listings show it.
#[derive(Debug, Serialize, PartialEq)]
pub struct RateLimitView {
    /// Posts per interval; 0 = no limit.
    pub posts: u32,
    pub seconds: f64,
    /// True when the room uses the server default.
    pub default: bool,
}

impl RateLimitView {
    fn of(room: &RoomRow) -> Self {
        let (posts, seconds) =
            crate::limits::post_limit(room.rate_limit_posts, room.rate_limit_interval);
        let default = room.rate_limit_posts.is_none() || room.rate_limit_interval.is_none();
        Self {
            posts,
            seconds,
            default,
        }
    }

    fn text(&self) -> String {
        match (self.posts, self.default) {
            (0, _) => "off".to_owned(),
            (n, true) => format!("{n}/{} (default)", self.seconds),
            (n, false) => format!("{n}/{}", self.seconds),
        }
    }
}

/// One room of `room list --json`.
#[derive(Debug, Serialize)]
struct RoomListing<'a> {
    token: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    created: f64,
    info_updates: i64,
    message_sequence: i64,
    active_users: i64,
    image_id: Option<i64>,
    permissions: String,
    rate_limit: RateLimitView,
    dm_members_only: bool,
    url: String,
}

pub(super) async fn run(
    cmd: RoomCmd,
    config: &Config,
    io: &mut Io<'_>,
    now: f64,
) -> anyhow::Result<()> {
    match cmd {
        RoomCmd::Add {
            token,
            name,
            description,
            permissions,
        } => {
            let op = Operator::open(config, now).await?;
            let room = op
                .db
                .create_room(&token, &name, description.as_deref(), permissions, now)
                .await?
                .ok_or_else(|| anyhow!("room `{token}` already exists"))?;
            op.log(
                "room_create",
                Some(&room.token),
                None,
                Some(format!("{name:?} {}", permission_letters(&room))),
            )
            .await?;
            writeln!(
                io.out,
                "created room {}: {}",
                room.token,
                join_url(config, &op.keys, &room.token)
            )?;
            if let Some(w) = unreachable_url_warning(config) {
                writeln!(io.err, "warning: {w}")?;
            }
        }
        RoomCmd::List { json } => {
            let op = Operator::open(config, now).await?;
            let rooms = op.db.rooms().await?;
            if json {
                let list: Vec<RoomListing> = rooms
                    .iter()
                    .map(|r| RoomListing {
                        token: &r.token,
                        name: &r.name,
                        description: r.description.as_deref(),
                        created: r.created,
                        info_updates: r.info_updates,
                        message_sequence: r.message_sequence,
                        active_users: r.active_users,
                        image_id: r.image,
                        permissions: permission_letters(r),
                        rate_limit: RateLimitView::of(r),
                        dm_members_only: r.dm_members_only,
                        url: join_url(config, &op.keys, &r.token),
                    })
                    .collect();
                print_json(io.out, &list)?;
            } else {
                writeln!(
                    io.out,
                    "TOKEN\tPERMISSIONS\tNAME\tDESCRIPTION\tIMAGE\tRATE LIMIT\tACTIVE USERS"
                )?;
                for r in &rooms {
                    let one_line = |s: &str| s.replace(['\n', '\t'], " ");
                    writeln!(
                        io.out,
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        r.token,
                        match permission_letters(r).as_str() {
                            "" => "none".to_owned(),
                            p => p.to_owned(),
                        },
                        one_line(&r.name),
                        r.description.as_deref().map_or("-".to_owned(), one_line),
                        r.image.map_or("-".to_owned(), |id| format!("file {id}")),
                        RateLimitView::of(r).text(),
                        r.active_users,
                    )?;
                }
            }
        }
        RoomCmd::Delete { token, yes } => {
            let op = Operator::open(config, now).await?;
            let room = op.room(&token).await?;
            if !yes {
                confirm_delete(io, &room)?;
            }
            op.db.delete_room(room.id).await?;
            op.log(
                "room_delete",
                Some(&room.token),
                None,
                Some(format!(
                    "{:?}, {} messages",
                    room.name, room.message_sequence
                )),
            )
            .await?;
            writeln!(io.out, "deleted room {}", room.token)?;
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
            update(
                config,
                io.out,
                now,
                &token,
                RoomUpdate {
                    name: name.as_deref().map(clean_room_name),
                    description: description.as_deref().map(clean_room_description),
                    default_read: permissions.map(|d| d.read),
                    default_write: permissions.map(|d| d.write),
                    default_upload: permissions.map(|d| d.upload),
                    default_accessible: permissions.map(|d| d.accessible),
                    ..RoomUpdate::default()
                },
                rate_limit,
                image,
                dm_members_only,
            )
            .await?
        }
        RoomCmd::Filter(args) => filter(args, config, io.out, now).await?,
    }
    Ok(())
}

/// Asks on the terminal before `room delete`; without one, `--yes` is required.
fn confirm_delete(io: &mut Io<'_>, room: &RoomRow) -> anyhow::Result<()> {
    let Some(input) = io.input.as_mut() else {
        return Err(Usage(format!(
            "`room delete {}` deletes the room and all its messages and files; add --yes to confirm (no terminal to ask on)",
            room.token
        ))
        .into());
    };
    write!(
        io.err,
        "Delete room {} ({:?}) with all its messages and files? This cannot be undone.\nType the token to confirm: ",
        room.token, room.name
    )?;
    io.err.flush()?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    if line.trim() != room.token {
        bail!("not confirmed; room {} was not deleted", room.token);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn update(
    config: &Config,
    out: &mut dyn Write,
    now: f64,
    token: &str,
    upd: RoomUpdate,
    rate_limit: Option<RateLimitArg>,
    image: Option<PathBuf>,
    dm_members_only: Option<bool>,
) -> anyhow::Result<()> {
    if upd.is_empty() && rate_limit.is_none() && image.is_none() && dm_members_only.is_none() {
        return Err(Usage(
            "nothing to change: give --name, --description, --permissions, --rate-limit, --image or --dm-members-only"
                .into(),
        )
        .into());
    }
    if let Some(path) = &image {
        check_room_image(path)?;
    }
    let op = Operator::open(config, now).await?;
    let room = op.room(token).await?;
    let mut changed = Vec::new();
    if !upd.is_empty() {
        op.db
            .update_room(room.id, &upd, now)
            .await?
            .map_err(|e| anyhow!("room update refused: {e:?}"))?;
        let fields = [
            ("name", upd.name.is_some()),
            ("description", upd.description.is_some()),
            ("permissions", upd.default_read.is_some()),
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
            RateLimitArg::Default => (
                None,
                format!(
                    "default ({}/{})",
                    DEFAULT_POST_LIMIT.0, DEFAULT_POST_LIMIT.1
                ),
            ),
            RateLimitArg::Limit(n, secs) => (Some((i64::from(n), secs)), format!("{n}/{secs}")),
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
    Ok(())
}

/// Refuses a room image that is not a PNG, JPEG, GIF or WebP (by its bytes, not its name)
/// or is larger than [`ROOM_IMAGE_MAX_BYTES`].
pub fn check_room_image(path: &Path) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > ROOM_IMAGE_MAX_BYTES {
        bail!(
            "{}: {} bytes is larger than the room image limit of {ROOM_IMAGE_MAX_BYTES} bytes",
            path.display(),
            meta.len()
        );
    }
    let mut head = Vec::with_capacity(64);
    {
        use std::io::Read;
        std::fs::File::open(path)
            .with_context(|| format!("reading {}", path.display()))?
            .take(64)
            .read_to_end(&mut head)?;
    }
    match infer::get(&head) {
        Some(t) if IMAGE_TYPES.contains(&t.mime_type()) => Ok(()),
        found => {
            bail!(
            "{}: not a PNG, JPEG, GIF or WebP image ({}); Session shows only those as room images",
            path.display(),
            found.map_or("unknown content".to_owned(), |t| format!("looks like {}", t.mime_type()))
        )
        }
    }
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

async fn filter(
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
    path: &Path,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn room_images_are_checked_by_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("a.png");
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        bytes.resize(64, 0);
        std::fs::write(&png, &bytes).unwrap();
        check_room_image(&png).unwrap();
        let text = dir.path().join("b.png");
        std::fs::write(&text, "just some text, named like an image").unwrap();
        let err = check_room_image(&text).unwrap_err().to_string();
        assert!(err.contains("not a PNG, JPEG, GIF or WebP"), "{err}");
        let pdf = dir.path().join("c.png");
        std::fs::write(&pdf, b"%PDF-1.7\n1 0 obj\n").unwrap();
        let err = check_room_image(&pdf).unwrap_err().to_string();
        assert!(err.contains("looks like application/pdf"), "{err}");
        let big = dir.path().join("d.png");
        bytes.resize(ROOM_IMAGE_MAX_BYTES as usize + 1, 0);
        std::fs::write(&big, &bytes).unwrap();
        let err = check_room_image(&big).unwrap_err().to_string();
        assert!(err.contains("larger than the room image limit"), "{err}");
    }
}
