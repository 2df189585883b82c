//! The server's data folder: the key, the engine marker and (on SQLite) the database.
//!
//! Only `sogs serve` and `sogs init` may create a server. Every other command opens an
//! existing one and fails, saying where it looked, when there is none: an operator in the
//! wrong folder must not get a second server with a new key that nobody runs.

use crate::config::{Config, DatabaseUrl};
use crate::keys::ServerKeys;
use anyhow::{anyhow, bail, Context};
use std::path::{Path, PathBuf};

/// The file in the data folder that records which engine the server uses, written at first
/// start, so a folder whose server runs on PostgreSQL is never taken for an empty SQLite one.
pub const ENGINE_FILE: &str = "engine";

/// Whether opening may create what is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Open {
    /// `serve` and `init`: create the folder, key, marker and database on first start.
    CreateIfMissing,
    /// Every other command: the server must exist.
    Existing,
}

fn engine_name(url: &DatabaseUrl) -> &'static str {
    match url {
        DatabaseUrl::Sqlite(_) => "sqlite",
        DatabaseUrl::Postgres(_) => "postgres",
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// How to point a command at the right server, for the end of an error message.
fn pointer_hint() -> &'static str {
    "run the command where the server runs, or point it at the server with --config FILE, \
     SOGS_DATA_DIR=PATH (and SOGS_DATABASE_URL=postgres://… if it uses PostgreSQL); \
     `sogs serve` or `sogs init` creates a new server"
}

/// Where the configuration came from, for "where I looked" messages.
fn looked(config: &Config) -> String {
    match &config.config_file {
        Some(f) => format!("config file {}", absolute(f).display()),
        None => "no config file (./sogs.toml absent), no SOGS_DATA_DIR".to_owned(),
    }
}

/// Prepares the data folder and returns the server key. With [`Open::Existing`] nothing is
/// created; with [`Open::CreateIfMissing`] the folder, key and marker are made as needed.
/// Either way a marker that names another engine than the configuration is refused.
pub fn prepare(config: &Config, mode: Open) -> anyhow::Result<ServerKeys> {
    let dir = &config.data_dir;
    let key = config.key_path();
    let configured = engine_name(&config.database);
    if mode == Open::Existing {
        if !dir.is_dir() {
            bail!(
                "no server data folder at {} ({}); {}",
                absolute(dir).display(),
                looked(config),
                pointer_hint()
            );
        }
        if !key.is_file() {
            bail!(
                "{} holds no server key (key_x25519), so no server has run there; {}",
                absolute(dir).display(),
                pointer_hint()
            );
        }
    } else {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data folder {}", dir.display()))?;
    }
    let marker = dir.join(ENGINE_FILE);
    match std::fs::read_to_string(&marker) {
        Ok(text) => {
            let recorded = text.trim();
            if recorded != configured {
                bail!(
                    "the server in {} runs on {}, but this command is configured for {}; {}",
                    absolute(dir).display(),
                    pretty(recorded),
                    pretty(configured),
                    match recorded {
                        "postgres" => "set SOGS_DATABASE_URL (or database_url in the config file) to its PostgreSQL database".to_owned(),
                        _ => format!(
                            "unset SOGS_DATABASE_URL to use its SQLite database (to move the server to another engine on purpose, delete {})",
                            marker.display()
                        ),
                    }
                );
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A folder from before the marker existed is opened if it holds the database the
            // configuration names (checked below); a new one records its engine now.
            if mode == Open::CreateIfMissing {
                std::fs::write(&marker, format!("{configured}\n"))
                    .with_context(|| format!("writing {}", marker.display()))?;
            }
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", marker.display())),
    }
    if mode == Open::Existing {
        check_sqlite_exists(config)?;
    }
    ServerKeys::load_or_create(&key)
}

fn check_sqlite_exists(config: &Config) -> anyhow::Result<()> {
    if let DatabaseUrl::Sqlite(path) = &config.database {
        if !path.is_file() {
            return Err(anyhow!(
                "no SQLite database at {} (if the server uses PostgreSQL, set SOGS_DATABASE_URL); {}",
                absolute(path).display(),
                pointer_hint()
            ));
        }
    }
    Ok(())
}

fn pretty(engine: &str) -> &str {
    match engine {
        "postgres" => "PostgreSQL",
        "sqlite" => "SQLite",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::Redacted;

    #[test]
    fn existing_refuses_an_empty_folder_and_creates_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let config = Config::for_data_dir(tmp.path().join("sogs-data"));
        let err = prepare(&config, Open::Existing).unwrap_err().to_string();
        assert!(err.contains("no server data folder at"), "{err}");
        assert!(err.contains("SOGS_DATA_DIR"), "{err}");
        assert!(!config.data_dir.exists());
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let err = prepare(&config, Open::Existing).unwrap_err().to_string();
        assert!(err.contains("holds no server key"), "{err}");
        assert!(!config.key_path().exists());
    }

    #[test]
    fn marker_records_the_engine_and_refuses_a_mismatch() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::for_data_dir(tmp.path());
        config.database = DatabaseUrl::Postgres(Redacted("postgres://x@127.0.0.1/db".into()));
        let created = prepare(&config, Open::CreateIfMissing).unwrap();
        let marker = std::fs::read_to_string(tmp.path().join(ENGINE_FILE)).unwrap();
        assert_eq!(marker, "postgres\n");
        // the same engine opens, with the same key
        let again = prepare(&config, Open::Existing).unwrap();
        assert_eq!(again.public_hex(), created.public_hex());
        // an admin shell without SOGS_DATABASE_URL: refused, not a new SQLite database
        let sqlite = Config::for_data_dir(tmp.path());
        for mode in [Open::Existing, Open::CreateIfMissing] {
            let err = prepare(&sqlite, mode).unwrap_err().to_string();
            assert!(err.contains("runs on PostgreSQL"), "{err}");
            assert!(err.contains("SOGS_DATABASE_URL"), "{err}");
        }
        assert!(!tmp.path().join("sogs.db").exists());
    }
}
