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
