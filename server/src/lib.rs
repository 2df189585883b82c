//! Session Community server (SOGS v3) on SQLite or PostgreSQL.
//!
//! `build` turns a [`Config`] into a bound, ready server; `run` is what the binary calls.
//! Everything a test needs is reachable from here.

pub mod admin;
pub mod auth;
pub mod cleanup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod datadir;
pub mod db;
pub mod domain;
pub mod error;
pub mod files;
pub mod http;
pub mod keys;
pub mod limits;
pub mod onion;
pub mod openapi;
pub mod relay;
pub mod routes;
pub mod server;
pub mod state;

use actix_web::{web, App, HttpServer};
use anyhow::Context;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

pub use actix_web::dev::ServerHandle;
pub use clock::Clock;
pub use config::Config;
pub use state::AppState;

/// A server bound to its port, not yet serving.
pub struct Built {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub server: actix_web::dev::Server,
}

/// Opens the database (running migrations), loads or creates the key, and binds the port.
pub async fn build(config: Config, clock: Clock, workers: usize) -> anyhow::Result<Built> {
    let keys = datadir::prepare(&config, datadir::Open::CreateIfMissing)?;
    let db = db::Db::connect(&config.database).await?;
    let listener =
        TcpListener::bind(config.listen).with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let state = Arc::new(AppState {
        db,
        limiters: limits::Limiters::new(clock.clone()),
        files: files::FileStore::new(&config.data_dir),
        config: Arc::new(config),
        keys,
        clock,
    });
    let data = web::Data::new(state.clone());
    let http_limit = state.config.http_rate_limit;
    let server = HttpServer::new(move || {
        let governor = (http_limit > 0)
            .then(|| {
                actix_governor::GovernorConfigBuilder::default()
                    .requests_per_second(u64::from(http_limit))
                    .burst_size(http_limit.saturating_mul(2))
                    .finish()
            })
            .flatten();
        App::new()
            .app_data(data.clone())
            .wrap(actix_web::middleware::Condition::new(
                governor.is_some(),
                actix_governor::Governor::new(&governor.clone().unwrap_or_default()),
            ))
            .default_service(web::to(server::entry))
    })
    .workers(workers.max(1))
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(Built {
        addr,
        state,
        server,
    })
}

/// Runs the server until Ctrl-C / SIGTERM, with the periodic cleanup task beside it.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let built = build(config, Clock::System, workers).await?;
    tracing::info!(
        addr = %built.addr,
        engine = built.state.db.engine(),
        pubkey = %built.state.keys.public_hex(),
        base_url = %built.state.config.base_url,
        "listening"
    );
    if let Some(warning) = cli::unreachable_url_warning(&built.state.config) {
        tracing::warn!("{warning}");
    }
    let cleanup = tokio::spawn(cleanup::run_forever(built.state.clone()));
    let handle = built.server.handle();
    let server = tokio::spawn(built.server);
    shutdown_signal().await;
    tracing::info!("shutting down");
    handle.stop(true).await;
    cleanup.abort();
    let _ = server.await;
    built.state.db.close().await;
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
