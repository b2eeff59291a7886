//! Rate-limited log lines: when a limit is hit over and over (a flood), one line per kind per
//! [`LOG_EVERY`], with the number of lines left out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One kind of rate-limited log line.
pub struct LogLimit {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl LogLimit {
    pub const fn new() -> Self {
        Self {
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }
}

impl Default for LogLimit {
    fn default() -> Self {
        Self::new()
    }
}

/// Rate-limited log lines: at most one per kind in this period.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Logs `message` at warn level unless this kind was logged within [`LOG_EVERY`]; the next line
/// says how many were left out.
pub fn log_limited(kind: &LogLimit, message: &str) {
    let mut last = kind.last.lock().expect("log limit");
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < LOG_EVERY) {
        kind.suppressed.fetch_add(1, Ordering::Relaxed);
        return;
    }
    *last = Some(now);
    let suppressed = kind.suppressed.swap(0, Ordering::Relaxed);
    if suppressed > 0 {
        tracing::warn!(suppressed, "{message}");
    } else {
        tracing::warn!("{message}");
    }
}
