//! Test harness: starts the real server on a loopback port (SQLite in a temporary folder, or
//! PostgreSQL in a fresh database) and hands out real `sogs-client` clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use sogs_client::client::{ApiResponse, SogsClient};
use sogs_client::identity::Identity;
use sogs_client::message::OutgoingMessage;
use sogs_client::signing::Signer;
use sogs_server::config::{Config, DatabaseUrl, Redacted};
use sogs_server::{AppState, Clock};
use sqlx::Connection;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the PostgreSQL server for tests is (`SOGS_TEST_POSTGRES` overrides).
pub fn postgres_admin_url() -> String {
    std::env::var("SOGS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Creates a fresh, empty PostgreSQL database and returns its URL. Panics (fails the test)
/// when PostgreSQL cannot be reached: a missing database is never a silent skip.
pub async fn fresh_postgres_db() -> (String, String) {
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is required for tests and is not reachable at {admin}: {e}")
        });
    drop_stale_databases(&mut conn).await;
    let name = format!(
        "sogs_t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        rand::random::<u32>()
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    (format!("{base}/{name}"), name)
}

/// Drops databases left behind by test processes that are no longer running (a test that
/// panics before `shutdown` leaves its database).
async fn drop_stale_databases(conn: &mut sqlx::PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'sogs_t_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// Drops a test database (best effort).
pub async fn drop_postgres_db(name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

/// A running server with its own data folder and database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base_url: String,
    pub state: Arc<AppState>,
    pub clock: Clock,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub config: Config,
    pg_name: Option<String>,
    handle: sogs_server::ServerHandle,
}

pub const START_TIME: f64 = 1_750_000_000.0;

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server after letting the test adjust its configuration.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_data_dir(dir.path());
        config.listen = "127.0.0.1:0".parse().unwrap();
        let mut pg_name = None;
        if backend == Backend::Postgres {
            let (url, name) = fresh_postgres_db().await;
            config.database = DatabaseUrl::Postgres(Redacted(url));
            pg_name = Some(name);
        }
        tweak(&mut config);
        let clock = Clock::manual(START_TIME);
        let built = sogs_server::build(config.clone(), clock.clone(), 1)
            .await
            .expect("server builds");
        let server_handle = built.server.handle();
        tokio::spawn(built.server);
        let base_url = format!("http://{}", built.addr);
        config.base_url = base_url.clone();
        Self {
            addr: built.addr,
            base_url,
            state: built.state,
            clock,
            backend,
            dir,
            config,
            pg_name,
            handle: server_handle,
        }
    }

    /// Starts a server whose X25519 key is `secret` (e.g. the key of a spec vector).
    pub async fn spawn_with_key(backend: Backend, secret: [u8; 32]) -> Self {
        Self::spawn_with(backend, |c| {
            std::fs::write(c.key_path(), secret).expect("write server key");
        })
        .await
    }

    pub fn server_pk(&self) -> [u8; 32] {
        *self.state.keys.public()
    }

    /// A deterministic identity from a one-byte seed.
    pub fn identity(seed: u8) -> Identity {
        Identity::from_seed(&[seed; 16])
    }

    /// A client signing as `seed`'s blinded id, with timestamps from the server's test clock.
    pub fn user(&self, seed: u8) -> TestUser {
        let identity = Self::identity(seed);
        let signer = Signer::Blinded(identity.blinded15(&self.server_pk()));
        let client = self.anon().with_signer(signer);
        TestUser { identity, client }
    }

    /// A client with no key.
    pub fn anon(&self) -> SogsClient {
        let clock = self.clock.clone();
        SogsClient::new(&self.base_url, self.server_pk())
            .with_time_source(Arc::new(move || clock.now() as i64))
    }

    /// Creates a room directly through the admin CLI code path.
    pub async fn room(&self, token: &str) -> String {
        let (code, _, err) = self
            .cli(&["room", "add", token, "--name", &format!("Room {token}")])
            .await;
        assert_eq!(code, 0, "room add failed: {err}");
        token.to_owned()
    }

    /// Runs the `sogs` command line against this server's data folder and database.
    pub async fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let mut env = vec![
            (
                "SOGS_DATA_DIR".to_owned(),
                self.config.data_dir.display().to_string(),
            ),
            ("SOGS_BASE_URL".to_owned(), self.base_url.clone()),
        ];
        if let DatabaseUrl::Postgres(url) = &self.config.database {
            env.push(("SOGS_DATABASE_URL".to_owned(), url.0.clone()));
        }
        let mut argv = vec!["sogs".to_owned()];
        argv.extend(args.iter().map(|s| s.to_string()));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = sogs_server::cli::run(argv, &env, &mut out, &mut err).await;
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    /// Makes `seed` a moderator (or admin) of a room through the CLI.
    pub async fn make_mod(&self, seed: u8, room: &str, admin: bool) {
        let id = self.user(seed).id();
        let mut args = vec!["moderator", "add", &id, "--room", room];
        if admin {
            args.push("--admin");
        }
        let (code, _, err) = self.cli(&args).await;
        assert_eq!(code, 0, "{err}");
    }

    /// Stops the server and drops its PostgreSQL database.
    pub async fn shutdown(self) {
        self.handle.stop(false).await;
        self.state.db.close().await;
        if let Some(name) = &self.pg_name {
            drop_postgres_db(name).await;
        }
    }
}

/// A test participant: an identity plus a client signing with its blinded key.
pub struct TestUser {
    pub identity: Identity,
    pub client: SogsClient,
}

impl TestUser {
    /// The blinded (15) id the server knows this user by.
    pub fn id(&self) -> String {
        self.identity
            .blinded15_id(self.client.server_pubkey())
            .to_string()
    }

    pub fn session_id(&self) -> String {
        self.identity.session_id().to_string()
    }

    /// The JSON body of a post of `text`, encoded and signed as the Session apps do.
    pub fn post_body(&self, text: &str) -> Value {
        let msg = OutgoingMessage {
            text: text.to_owned(),
            display_name: Some(format!("user{}", &self.id()[2..6])),
            timestamp_ms: 1_750_000_000_000,
            ..Default::default()
        };
        let body = msg.post_body(&self.identity.blinded15(self.client.server_pubkey()));
        serde_json::to_value(body).unwrap()
    }

    /// Posts `text` and returns the response.
    pub async fn post(&self, room: &str, text: &str) -> ApiResponse {
        self.client
            .post_json(&format!("/room/{room}/message"), &self.post_body(text))
            .await
            .unwrap()
    }

    /// Posts `text`, asserts 201 and returns the message object.
    pub async fn post_ok(&self, room: &str, text: &str) -> Value {
        let r = self.post(room, text).await;
        assert_eq!(r.status, 201, "post failed: {}", r.text());
        r.json().unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.client.get(path).await.unwrap();
        let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        (r.status, v)
    }
}

/// The `id`s of a JSON list of objects (messages, DMs), in order.
pub fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

/// Decodes a message object's text with the client library (verifying its signature).
pub fn message_text(msg: &Value) -> String {
    let author = sogs_client::ids::SessionId::parse(msg["session_id"].as_str().unwrap()).unwrap();
    let decoded = sogs_client::message::decode_and_verify(
        &author,
        msg["data"].as_str().unwrap(),
        msg["signature"].as_str().unwrap(),
    )
    .expect("message verifies and decodes");
    decoded.text.unwrap_or_default()
}

/// A `sogs-relay` running in-process on a loopback port.
pub struct TestRelay {
    pub node: sogs_client::onion_client::OnionNode,
    handle: sogs_server::ServerHandle,
}

impl TestRelay {
    /// Stops this relay (its port then refuses connections).
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// Starts `n` relays that know each other (and `extra` nodes), each with fresh keys and the
/// given next-hop timeout.
pub async fn start_relays_with(
    n: usize,
    timeout: std::time::Duration,
    extra: Vec<sogs_client::onion_client::OnionNode>,
) -> Vec<TestRelay> {
    use sogs_server::relay::{self, NodeDirectory, RelayConfig};
    let directory = NodeDirectory::default();
    let mut relays = Vec::with_capacity(n);
    for _ in 0..n {
        let config = RelayConfig {
            nodes: directory.clone(),
            timeout,
            ..RelayConfig::local()
        };
        let built = relay::build(config).await.expect("relay builds");
        let handle = built.server.handle();
        tokio::spawn(built.server);
        relays.push(TestRelay {
            node: built.node,
            handle,
        });
    }
    let mut nodes: Vec<_> = relays.iter().map(|r| r.node.clone()).collect();
    nodes.extend(extra);
    directory.set(nodes);
    relays
}

/// Starts `n` relays that know each other, with the default 25 s timeout.
pub async fn start_relays(n: usize) -> Vec<TestRelay> {
    start_relays_with(n, sogs_server::relay::DEFAULT_TIMEOUT, Vec::new()).await
}
