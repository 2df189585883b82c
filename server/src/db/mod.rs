//! All SQL lives here. `Db` wraps one pool of either engine; portable statements are written
//! once through `on_pool!`, dialect differences are explicit `match`es.

use crate::config::DatabaseUrl;
use anyhow::{bail, Context};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgConnection};
use sqlx::{PgPool, SqlitePool};
use std::time::Duration;

pub mod files;
pub mod inbox;
pub mod messages;
pub mod moderation;
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

/// Starts a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so a transaction that reads first never fails to upgrade under
/// concurrent writers; the busy timeout then makes it wait its turn instead.
pub(crate) trait BeginWrite {
    type Database: sqlx::Database;
    async fn begin_write(&self) -> DbResult<sqlx::Transaction<'static, Self::Database>>;
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    async fn begin_write(&self) -> DbResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin().await
    }
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    async fn begin_write(&self) -> DbResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

pub type DbResult<T> = Result<T, sqlx::Error>;

/// How long start-up waits for PostgreSQL to answer before giving up.
pub const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The innermost message of a driver error ("Connection refused (os error 111)"), without
/// the layers that repeat it.
fn root_cause(e: &sqlx::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(inner) = source.source() {
        source = inner;
    }
    source.to_string()
}

impl Db {
    /// Connects and runs pending migrations, creating a missing SQLite file.
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        Self::open(url, true).await
    }

    /// Connects and runs pending migrations; `create` = false refuses a missing SQLite file
    /// (the admin commands never make a new database). PostgreSQL that cannot be reached
    /// fails within [`PG_CONNECT_TIMEOUT`], naming the address and the cause.
    pub async fn open(url: &DatabaseUrl, create: bool) -> anyhow::Result<Self> {
        let db = match url {
            DatabaseUrl::Sqlite(path) => {
                if create {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)
                            .with_context(|| format!("creating {}", dir.display()))?;
                    }
                }
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(create)
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
                let opts: PgConnectOptions = url
                    .0
                    .parse()
                    .context("database_url: not a valid postgres:// URL")?;
                let target = format!(
                    "{}:{}/{}",
                    opts.get_host(),
                    opts.get_port(),
                    opts.get_database().unwrap_or("postgres")
                );
                // One direct attempt first: the pool would retry silently until its timeout
                // and then report only "pool timed out".
                match tokio::time::timeout(PG_CONNECT_TIMEOUT, PgConnection::connect_with(&opts))
                    .await
                {
                    Ok(Ok(conn)) => {
                        let _ = conn.close().await;
                    }
                    Ok(Err(e)) => bail!(
                        "cannot connect to PostgreSQL at {target}: {}",
                        root_cause(&e)
                    ),
                    Err(_) => bail!(
                        "cannot connect to PostgreSQL at {target}: no answer within {} s",
                        PG_CONNECT_TIMEOUT.as_secs()
                    ),
                }
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(15))
                    .connect_with(opts)
                    .await
                    .with_context(|| format!("connecting to PostgreSQL at {target}"))?;
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

    /// One trivial statement: whether the database answers at all (health checks).
    pub async fn ping(&self) -> DbResult<()> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))
    }
}
