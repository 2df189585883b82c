//! Time as a value: the server reads it from `AppState::clock`, so tests can move it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A source of "now" in float Unix seconds.
#[derive(Clone, Debug)]
pub enum Clock {
    System,
    /// A clock that only moves when told to (microseconds since the epoch).
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn manual(start_secs: f64) -> Self {
        Self::Manual(Arc::new(AtomicI64::new((start_secs * 1e6) as i64)))
    }

    pub fn now(&self) -> f64 {
        match self {
            Self::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default(),
            Self::Manual(us) => us.load(Ordering::SeqCst) as f64 / 1e6,
        }
    }

    /// Moves a manual clock forward; does nothing to the system clock.
    pub fn advance(&self, secs: f64) {
        if let Self::Manual(us) = self {
            us.fetch_add((secs * 1e6) as i64, Ordering::SeqCst);
        }
    }
}
