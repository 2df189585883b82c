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
    let applied = st.db.apply_due_futures(now).await?;
    log_applied_futures(st, now, &applied).await?;
    let report = CleanupReport {
        nonces: st.db.prune_nonces(now).await?,
        history: st.db.prune_history(now - HISTORY_PRUNE_SECS).await?,
        permission_changes: applied.permissions.len() as u64,
        ban_changes: applied.bans.len() as u64,
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
    /// Scheduled permission changes applied.
    pub permission_changes: u64,
    /// Scheduled bans/unbans that changed something.
    pub ban_changes: u64,
}

/// Records what the schedule applied in the moderation log, with actor `system`.
async fn log_applied_futures(
    st: &AppState,
    now: f64,
    applied: &crate::db::moderation::AppliedFutures,
) -> anyhow::Result<()> {
    use crate::db::moderation::ModLogEntry;
    for (room, user, what) in &applied.permissions {
        let entry = ModLogEntry {
            actor: "system",
            action: "permission",
            room: Some(room),
            target: Some(user),
            detail: Some(format!("scheduled change applied: {what}")),
        };
        st.db.log_moderation(now, &entry).await?;
    }
    for (room, user, banned) in &applied.bans {
        let entry = ModLogEntry {
            actor: "system",
            action: if *banned { "ban" } else { "unban" },
            room: room.as_deref(),
            target: Some(user),
            detail: Some("scheduled".into()),
        };
        st.db.log_moderation(now, &entry).await?;
    }
    Ok(())
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
