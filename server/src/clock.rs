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

/// The longest span the server turns into a `Duration`: 100 years. Longer (and infinite)
/// values mean "practically never" and are clamped to it (governor counts time in u64
/// nanoseconds, 584 years, so "now" plus a span must stay well below that).
pub const MAX_SPAN_SECS: f64 = 100.0 * 365.25 * 86_400.0;
/// The latest time written as an HTTP date (9999-12-31 23:59:59 UTC; the format has four-digit
/// years).
const MAX_HTTP_DATE_SECS: f64 = 253_402_300_799.0;

/// Seconds as a `Duration` that can never panic: NaN and negative values are 0, values over
/// [`MAX_SPAN_SECS`] are clamped to it.
pub fn duration_from_secs(secs: f64) -> std::time::Duration {
    let secs = if secs.is_nan() {
        0.0
    } else {
        secs.clamp(0.0, MAX_SPAN_SECS)
    };
    std::time::Duration::from_secs_f64(secs)
}

/// Unix seconds as an HTTP date, clamped to what the format can hold (NaN and negative: the
/// epoch).
pub fn http_date(unix_secs: f64) -> String {
    let secs = if unix_secs.is_nan() {
        0.0
    } else {
        unix_secs.clamp(0.0, MAX_HTTP_DATE_SECS)
    };
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod span_tests {
    use super::*;

    #[test]
    fn spans_and_dates_never_panic() {
        use std::time::Duration;
        assert_eq!(duration_from_secs(1.5), Duration::from_millis(1500));
        assert_eq!(duration_from_secs(-3.0), Duration::ZERO);
        assert_eq!(duration_from_secs(f64::NAN), Duration::ZERO);
        let max = duration_from_secs(MAX_SPAN_SECS);
        assert_eq!(duration_from_secs(1e300), max);
        assert_eq!(duration_from_secs(f64::INFINITY), max);
        assert_eq!(duration_from_secs(18_446_744_073_709_551_615.0), max);
        assert_eq!(http_date(0.0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(-5.0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(f64::NAN), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1e300), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(http_date(1_750_000_000.0), "Sun, 15 Jun 2025 15:06:40 GMT");
    }
}
