//! The periodic job (PROTOCOL.md §12.4): every 10 seconds, prune what expired and apply
//! what is due. All state lives in the database, so it is restart-safe and any number of
//! server instances may run it.

use crate::state::AppState;
use std::sync::Arc;
use std::time::Duration;

pub const INTERVAL: Duration = Duration::from_secs(10);
const ACTIVE_WINDOW_SECS: f64 = 7.0 * 86400.0;
const ACTIVITY_PRUNE_SECS: f64 = 60.0 * 86400.0;
const HISTORY_PRUNE_SECS: f64 = 30.0 * 86400.0;

/// One pass of every cleanup step; returns what it did, for logs and tests.
pub async fn run_once(st: &AppState) -> anyhow::Result<CleanupReport> {
    let now = st.now();
    let report = CleanupReport {
        nonces: st.db.prune_nonces(now).await?,
        history: st.db.prune_history(now - HISTORY_PRUNE_SECS).await?,
        files: prune_files(st, now).await?,
        dms: st.db.prune_dms(now).await?,
    };
    st.db
        .refresh_active_users(now - ACTIVE_WINDOW_SECS, now - ACTIVITY_PRUNE_SECS)
        .await?;
    st.limiters.prune();
    Ok(report)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct CleanupReport {
    pub nonces: u64,
    pub history: u64,
    /// Expired uploads deleted (rows and bytes).
    pub files: u64,
    /// Expired direct messages deleted.
    pub dms: u64,
}

/// Deletes expired files: their rows first (in batches), then their bytes.
async fn prune_files(st: &AppState, now: f64) -> anyhow::Result<u64> {
    const BATCH: i64 = 500;
    let mut done = 0;
    loop {
        let paths = st.db.take_expired_files(now, BATCH).await?;
        for path in &paths {
            if let Err(e) = st.files.remove(path).await {
                tracing::warn!(error = %e, path = %path, "could not delete an expired upload");
            }
        }
        done += paths.len() as u64;
        if (paths.len() as i64) < BATCH {
            return Ok(done);
        }
    }
}

pub async fn run_forever(st: Arc<AppState>) {
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tick.tick().await;
        match run_once(&st).await {
            Ok(r) => tracing::debug!(?r, "cleanup"),
            Err(e) => tracing::warn!(error = ?e, "cleanup failed"),
        }
    }
}
