//! What a poll produces besides its samples: why it failed (a fixed set of reasons, the
//! `reason` label), whether trying again can help, and what it cost (calls per endpoint, token
//! refreshes).
//!
//! Vendors make these, the scheduler acts on them and the store keeps them, so they live apart
//! from all three: the store never needs to know a vendor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Counters a vendor client bumps as it calls the vendor. The store reads them when rendering.
#[derive(Debug, Default)]
pub struct CallStats {
    /// Requests by endpoint, sorted: a handful per account, so a vector (a map node per account
    /// would cost several times more).
    requests: Mutex<Vec<(&'static str, u64)>>,
    token_refreshes: AtomicU64,
}

impl CallStats {
    pub fn count_request(&self, endpoint: &'static str) {
        let mut requests = self.requests.lock().expect("stats lock");
        match requests.binary_search_by(|(e, _)| e.cmp(&endpoint)) {
            Ok(i) => requests[i].1 += 1,
            Err(i) => requests.insert(i, (endpoint, 1)),
        }
    }
    pub fn count_token_refresh(&self) {
        self.token_refreshes.fetch_add(1, Ordering::Relaxed);
    }
    /// Requests by endpoint, in endpoint order.
    pub fn requests(&self) -> Vec<(&'static str, u64)> {
        self.requests.lock().expect("stats lock").clone()
    }
    pub fn token_refreshes(&self) -> u64 {
        self.token_refreshes.load(Ordering::Relaxed)
    }
}

/// Why a poll failed: a small fixed set, used as the `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    Timeout,
    Transport,
    HttpStatus,
    Decode,
    Auth,
    Permission,
    RateLimited,
    Api,
    Panic,
}

impl FailureReason {
    pub const ALL: [FailureReason; 9] = [
        Self::Timeout,
        Self::Transport,
        Self::HttpStatus,
        Self::Decode,
        Self::Auth,
        Self::Permission,
        Self::RateLimited,
        Self::Api,
        Self::Panic,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Transport => "transport",
            Self::HttpStatus => "http_status",
            Self::Decode => "decode",
            Self::Auth => "auth",
            Self::Permission => "permission",
            Self::RateLimited => "rate_limited",
            Self::Api => "api",
            Self::Panic => "panic",
        }
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether trying the poll again can help, as the vendor's protocol tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Configuration or permission problem, or a protocol rule says not to (e.g. WeCom bans an
    /// IP that keeps sending a wrong secret): wait for the next scheduled poll.
    Never,
    /// A passing fault: retry with exponential backoff.
    Backoff,
    /// The vendor said when: retry after this long (if it fits in the retry budget).
    After(Duration),
    /// Do not retry, and do not poll again before this long (e.g. a monthly quota is used up).
    HoldOff(Duration),
}

/// A failed poll: the reason (a label), a message for logs and the landing page (never a secret
/// or a URL query), and whether retrying helps.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PollError {
    pub reason: FailureReason,
    pub message: String,
    pub retry: Retry,
}

impl PollError {
    pub fn new(reason: FailureReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            retry: Retry::Never,
        }
    }

    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }
}
