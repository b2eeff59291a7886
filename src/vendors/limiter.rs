//! Request-rate limiters shared by accounts that share a vendor's rate limit (Tencent Cloud
//! counts requests per SecretId, however many accounts use it).
//!
//! The registry travels in the poll context like the HTTP client; the scheduler's supervisor
//! owns it, keeps it across reloads (a reload does not reset a limit) and prunes the keys no
//! account uses any more.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Spaces the requests of one key so they stay within a per-second limit, however many
/// accounts share it.
///
/// A dozen lines instead of the `governor` crate: what we need is one "next free slot" per
/// key and a wait on the tokio clock (so the wait is cancelled with the poll and tests can
/// pause time). governor waits on its own timer thread (its `std` feature, via futures-timer),
/// and its lean build only checks, leaving the sleeping and the keyed map to us anyway.
pub struct Limiter {
    spacing: Duration,
    next: Mutex<Option<Instant>>,
}

impl Limiter {
    pub fn new(per_second: u32) -> Self {
        Self {
            spacing: Duration::from_secs(1) / per_second.max(1),
            next: Mutex::new(None),
        }
    }

    /// Waits for this caller's slot. Slots are `spacing` apart, so any one-second window holds at
    /// most `per_second` requests. A caller that gives up still uses its slot (errs on the safe side).
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().expect("limiter lock");
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.spacing);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The limiters of one task set, by key ([`crate::vendors::Account::rate_limit_key`]).
#[derive(Default)]
pub struct Limiters {
    by_key: Mutex<HashMap<String, Arc<Limiter>>>,
}

impl Limiters {
    /// The limiter of `key`, created on first use.
    pub fn get(&self, key: &str, per_second: u32) -> Arc<Limiter> {
        self.by_key
            .lock()
            .expect("limiters lock")
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(Limiter::new(per_second)))
            .clone()
    }

    /// Drops the limiters of keys not in `keep` (after a reload, those of accounts gone).
    pub fn retain(&self, keep: impl IntoIterator<Item = String>) {
        let keep: HashSet<String> = keep.into_iter().collect();
        self.by_key
            .lock()
            .expect("limiters lock")
            .retain(|k, _| keep.contains(k));
    }

    /// The keys with a limiter, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .by_key
            .lock()
            .expect("limiters lock")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn limiter_spaces_requests_to_the_rate() {
        let limiter = Arc::new(Limiter::new(20));
        let start = Instant::now();
        let tasks: Vec<_> = (0..41)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move {
                    l.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap() - start);
        }
        times.sort();
        // The first goes at once; the 41st waits 40 slots of 50 ms.
        assert_eq!(times[0], Duration::ZERO);
        assert_eq!(times[40], Duration::from_secs(2));
        // No one-second window holds more than 20.
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(
                in_window <= 20,
                "{in_window} requests within a second from {t:?}"
            );
        }
    }

    #[test]
    fn one_limiter_per_key_and_keys_pruned() {
        let limiters = Limiters::default();
        let a = limiters.get("AKID-test-limiter-a", 20);
        let b = limiters.get("AKID-test-limiter-a", 20);
        let c = limiters.get("AKID-test-limiter-c", 20);
        assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &c));
        limiters.retain(["AKID-test-limiter-c".to_owned()]);
        assert_eq!(limiters.keys(), ["AKID-test-limiter-c"]);
    }
}
