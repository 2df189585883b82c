//! The home folder: the identity file, the saved communities, and finding a joined room.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{CliError, CliResult, Ctx};
use crate::client::SogsClient;
use crate::community::{Community, CommunityState};
use crate::identity::Identity;
use crate::url::CommunityUrl;

pub(super) const IDENTITY_FILE: &str = "identity.json";

pub(super) const STATE_FILE: &str = "communities.json";

/// Saved communities.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Store {
    #[serde(default)]
    pub(super) communities: Vec<CommunityState>,
}

pub(super) fn ensure_home(home: &Path) -> CliResult {
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

pub(super) fn identity_path(ctx: &Ctx<'_>) -> PathBuf {
    ctx.home.join(IDENTITY_FILE)
}

pub(super) fn load_identity(ctx: &Ctx<'_>) -> CliResult<Identity> {
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
pub(super) fn save_new_identity(ctx: &Ctx<'_>, identity: &Identity) -> CliResult<PathBuf> {
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

pub(super) fn load_store(ctx: &Ctx<'_>) -> CliResult<Store> {
    let path = ctx.home.join(STATE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(t) => {
            serde_json::from_str(&t).map_err(|e| CliError::fail(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Store::default()),
        Err(e) => Err(CliError::fail(format!("{}: {e}", path.display()))),
    }
}

pub(super) fn save_store(ctx: &Ctx<'_>, store: &Store) -> CliResult {
    ensure_home(&ctx.home)?;
    let path = ctx.home.join(STATE_FILE);
    let tmp = ctx.home.join(format!("{STATE_FILE}.tmp"));
    let json = serde_json::to_string_pretty(store).map_err(CliError::fail)?;
    std::fs::write(&tmp, json + "\n")?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// Finds a joined room: by token (case-insensitive; must be unique across servers) or by its
/// join URL. Returns (community index, token).
pub(super) fn resolve_room(store: &Store, spec: &str) -> CliResult<(usize, String)> {
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

pub(super) fn http_client(ctx: &Ctx<'_>, base_url: &str, server_pk: [u8; 32]) -> SogsClient {
    let mut c = SogsClient::new(base_url, server_pk).with_transport(ctx.transport.clone());
    if let Some(t) = &ctx.time {
        c = c.with_time_source(Arc::clone(t));
    }
    c
}

pub(super) fn open_community(
    ctx: &Ctx<'_>,
    state: CommunityState,
    identity: Identity,
) -> CliResult<Community> {
    let pk = state.server_pk().map_err(CliError::fail)?;
    let http = http_client(ctx, &state.base_url, pk);
    Ok(Community::from_state(state, identity, Some(http))?)
}

/// Puts a community's state back into the store (replacing the one for the same server).
pub(super) fn put_state(store: &mut Store, state: CommunityState) {
    match store
        .communities
        .iter_mut()
        .find(|c| c.base_url == state.base_url && c.server_pubkey == state.server_pubkey)
    {
        Some(slot) => *slot = state,
        None => store.communities.push(state),
    }
}

/// Opens the community holding `room`; returns it with the token and the store.
pub(super) fn community_for(ctx: &Ctx<'_>, room: &str) -> CliResult<(Community, String, Store)> {
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
