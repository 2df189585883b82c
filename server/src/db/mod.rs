//! All SQL lives here. `Db` wraps one pool of either engine; portable statements are written
//! once through `on_pool!`, dialect differences are explicit `match`es.

use crate::config::DatabaseUrl;
use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::time::Duration;

pub mod files;
pub mod inbox;
pub mod messages;
pub mod nonces;
pub mod reactions;
pub mod rooms;
pub mod users;

/// The one macro in `db/`: one body, type-checked against each driver.
macro_rules! on_pool {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Postgres($p) => $body,
            $crate::db::Db::Sqlite($p) => $body,
        }
    };
}
pub(crate) use on_pool;

#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

pub type DbResult<T> = Result<T, sqlx::Error>;

impl Db {
    /// Connects and runs pending migrations.
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        let db = match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(15))
                    .connect_with(opts)
                    .await
                    .with_context(|| format!("opening SQLite database {}", path.display()))?;
                Self::Sqlite(pool)
            }
            DatabaseUrl::Postgres(url) => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(15))
                    .connect(&url.0)
                    .await
                    .context("connecting to PostgreSQL")?;
                Self::Postgres(pool)
            }
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Self::Postgres(p) => sqlx::migrate!("../migrations/postgres").run(p).await,
            Self::Sqlite(p) => sqlx::migrate!("../migrations/sqlite").run(p).await,
        }
        .context("running database migrations")
    }

    pub fn engine(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }
}
