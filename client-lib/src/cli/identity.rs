//! `sogs-client id new|restore|show`.

use std::io::Read;

use super::format::json_pretty;
use super::store::{identity_path, load_identity, load_store, save_new_identity};
use super::{CliError, CliResult, Ctx};
use crate::identity::{DisplayName, Identity, IdentityError};

/// Printed with every recovery password.
const KEEP_IT_SECRET: &str =
    "Write the recovery password down and keep it secret: it restores this account.";

pub(super) fn parse_name(name: Option<&str>) -> CliResult<Option<DisplayName>> {
    name.map(DisplayName::parse)
        .transpose()
        .map_err(CliError::usage)
}

pub(super) fn id_new(ctx: &mut Ctx<'_>, name: Option<&str>) -> CliResult {
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
        writeln!(ctx.out, "{KEEP_IT_SECRET}")?;
        writeln!(ctx.out, "Identity saved to {}", path.display())?;
    }
    Ok(())
}

pub(super) fn id_restore(ctx: &mut Ctx<'_>, name: Option<&str>, stdin: &mut dyn Read) -> CliResult {
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

pub(super) fn id_show(ctx: &mut Ctx<'_>, phrase: bool) -> CliResult {
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
    let recovery = phrase.then(|| identity.recovery_password());
    if ctx.json {
        let mut v = serde_json::json!({
            "session_id": identity.session_id(),
            "display_name": identity.display_name().map(DisplayName::as_str),
            "identity_file": path,
            "blinded_ids": blinded,
        });
        if let (Some(p), Some(o)) = (&recovery, v.as_object_mut()) {
            o.insert("recovery_password".to_owned(), p.as_str().into());
        }
        json_pretty(ctx.out, &v)?;
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
        if blinded.is_empty() {
            writeln!(
                ctx.out,
                "No blinded ids yet: each server you join (`sogs-client join URL`) shows you by one."
            )?;
        }
        if let Some(p) = &recovery {
            writeln!(ctx.out, "Recovery password: {}", p.as_str())?;
            writeln!(ctx.out, "{KEEP_IT_SECRET}")?;
        }
    }
    Ok(())
}
