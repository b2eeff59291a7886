//! The latest state of every account: its last good snapshot, its outcome counters, its status
//! for the landing page, and whether the configuration last loaded.
//!
//! Pollers hand in immutable snapshots. Every change bumps a generation number, so the renderer
//! ([`crate::render`]) knows when its bytes are out of date; it reads the state through
//! [`Store::read`] and never changes it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::exposition::Samples;
use crate::outcome::{CallStats, FailureReason, PollError};

/// Identifies an account across the exporter: (vendor, account name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountKey {
    pub vendor: &'static str,
    pub account: String,
}

/// What the store needs to know about a configured account.
#[derive(Clone)]
pub struct AccountInfo {
    pub key: AccountKey,
    pub interval: Duration,
    pub max_staleness: Duration,
    pub description: String,
    pub stats: Arc<CallStats>,
    /// Labels and thresholds for the alerting rules, exported whatever the data's age.
    pub alerting: Arc<crate::alerting::AlertSettings>,
}

/// The last good data of an account. Never changed once made.
#[derive(Debug)]
pub struct Snapshot {
    pub samples: Samples,
    pub taken: SystemTime,
    pub taken_instant: Instant,
}

/// An account's status as the landing page shows it.
#[derive(Debug, Clone)]
pub struct AccountStatus {
    pub key: AccountKey,
    pub description: String,
    pub interval: Duration,
    pub attempted: bool,
    pub up: bool,
    pub last_success: Option<SystemTime>,
    /// Reason, message (secrets and URL queries removed) and when.
    pub last_error: Option<(FailureReason, String, SystemTime)>,
    pub next_poll: Option<SystemTime>,
    /// Why the next poll waits longer than the interval (Retry-After, auth hold-off…).
    pub held: Option<String>,
    /// Key figures of the latest data (used of bought, days to expiry), for the landing page.
    pub figures: Vec<String>,
}

/// One account as the store keeps it.
pub struct Entry {
    pub info: AccountInfo,
    pub snapshot: Option<Arc<Snapshot>>,
    pub attempted: bool,
    pub up: bool,
    pub last_error: Option<(FailureReason, String, SystemTime)>,
    pub next_poll: Option<SystemTime>,
    pub held: Option<String>,
    pub polls: u64,
    /// Failed polls by reason, in the order of [`FailureReason::ALL`].
    pub failures: [u64; FailureReason::ALL.len()],
    pub last_duration: Option<Duration>,
}

impl Entry {
    fn new(info: AccountInfo) -> Self {
        Self {
            info,
            snapshot: None,
            attempted: false,
            up: false,
            last_error: None,
            next_poll: None,
            held: None,
            polls: 0,
            failures: [0; FailureReason::ALL.len()],
            last_duration: None,
        }
    }

    /// The snapshot, unless it is older than `max_staleness` at `now`.
    pub fn fresh_snapshot(&self, now: Instant) -> Option<&Arc<Snapshot>> {
        self.snapshot
            .as_ref()
            .filter(|s| now.duration_since(s.taken_instant) < self.info.max_staleness)
    }
}

/// The accounts in key order, in one vector sized to fit: one allocation for all of them, where
/// a tree map spent a third of its nodes' room on empty slots and kept a second copy of each key.
///
/// Beside them, each account's change stamp: the store's generation at its last change. The
/// renderer re-renders an account only when its stamp moved, and reads the stamps of all
/// accounts on every scrape after any change: side by side they are 8 bytes an account to read,
/// where a stamp inside each entry meant touching every entry's memory.
#[derive(Default)]
pub struct Accounts {
    entries: Vec<Entry>,
    stamps: Vec<u64>,
}

impl Accounts {
    /// Every account in key order.
    pub fn values(&self) -> &[Entry] {
        &self.entries
    }

    /// Every account's change stamp, in the same order.
    pub fn stamps(&self) -> &[u64] {
        &self.stamps
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn get_mut(&mut self, key: &AccountKey) -> Option<&mut Entry> {
        let i = self.position(key)?;
        Some(&mut self.entries[i])
    }

    /// The account, its stamp set to `generation` (it is about to change).
    fn touch(&mut self, key: &AccountKey, generation: u64) -> Option<&mut Entry> {
        let i = self.position(key)?;
        self.stamps[i] = generation;
        Some(&mut self.entries[i])
    }

    fn position(&self, key: &AccountKey) -> Option<usize> {
        self.entries.binary_search_by(|e| e.info.key.cmp(key)).ok()
    }
}

/// Everything the store holds. `generation` changes with every change.
pub struct State {
    pub generation: u64,
    pub accounts: Accounts,
    pub reload_ok: bool,
    pub reload_success: Option<SystemTime>,
}

pub struct Store {
    state: Mutex<State>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                generation: 0,
                accounts: Accounts::default(),
                reload_ok: true,
                reload_success: None,
            }),
        }
    }

    /// Reads the whole state under the lock (the renderer's view).
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().expect("store lock"))
    }

    /// The number of changes so far.
    pub fn generation(&self) -> u64 {
        self.state.lock().expect("store lock").generation
    }

    fn change<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.state.lock().expect("store lock");
        state.generation += 1;
        f(&mut state)
    }

    /// Sets the configured accounts. Accounts that stay keep their data and counters; removed
    /// ones disappear from the exposition at once.
    pub fn set_accounts(&self, accounts: Vec<AccountInfo>) {
        self.change(|state| {
            // The config keeps names unique within a vendor; a key given twice counts once.
            let mut accounts = accounts;
            accounts.sort_by(|a, b| a.key.cmp(&b.key));
            accounts.dedup_by(|a, b| a.key == b.key);
            // Both in key order: one walk pairs each account with its old entry.
            let mut old = std::mem::take(&mut state.accounts)
                .entries
                .into_iter()
                .peekable();
            let mut entries: Vec<Entry> = accounts
                .into_iter()
                .map(|info| {
                    while old.next_if(|e| e.info.key < info.key).is_some() {}
                    match old.next_if(|e| e.info.key == info.key) {
                        Some(mut e) => {
                            e.info = info;
                            e
                        }
                        None => Entry::new(info),
                    }
                })
                .collect();
            entries.shrink_to_fit();
            // Every account changed: its position, and with it its block, may have moved.
            let stamps = vec![state.generation; entries.len()];
            state.accounts = Accounts { entries, stamps };
        });
    }

    /// Records a configuration load.
    pub fn record_reload(&self, ok: bool) {
        self.change(|state| {
            state.reload_ok = ok;
            if ok {
                state.reload_success = Some(SystemTime::now());
            }
        });
    }

    pub fn record_success(&self, key: &AccountKey, mut samples: Samples, took: Duration) {
        samples.shrink_to_fit();
        self.change(|state| {
            let generation = state.generation;
            if let Some(e) = state.accounts.touch(key, generation) {
                e.attempted = true;
                e.up = true;
                e.polls += 1;
                e.last_duration = Some(took);
                e.snapshot = Some(Arc::new(Snapshot {
                    samples,
                    taken: SystemTime::now(),
                    taken_instant: Instant::now(),
                }));
            }
        });
    }

    /// Records a failed poll. The previous snapshot stays until it is older than `max_staleness`.
    pub fn record_failure(&self, key: &AccountKey, error: &PollError, took: Duration) {
        self.change(|state| {
            let generation = state.generation;
            if let Some(e) = state.accounts.touch(key, generation) {
                e.attempted = true;
                e.up = false;
                e.polls += 1;
                e.last_duration = Some(took);
                e.failures[error.reason as usize] += 1;
                // Scrubbed by the scheduler (`redact::scrub`) before it reaches the store.
                e.last_error = Some((error.reason, error.message.clone(), SystemTime::now()));
            }
        });
    }

    /// Notes when the account is polled next (landing page only: no re-render).
    /// Records why the next poll is held off beyond the interval (`None`: it is not).
    pub fn set_held(&self, key: &AccountKey, why: Option<String>) {
        if let Some(e) = self.state.lock().expect("store lock").accounts.get_mut(key) {
            e.held = why;
        }
    }

    pub fn set_next_poll(&self, key: &AccountKey, at: SystemTime) {
        if let Some(e) = self.state.lock().expect("store lock").accounts.get_mut(key) {
            e.next_poll = Some(at);
        }
    }

    /// True once every account has finished its first poll attempt.
    pub fn ready(&self) -> bool {
        self.waiting().0 == 0
    }

    /// (accounts not yet polled, accounts): counted under the lock without copying anything,
    /// since readiness probes ask often and the lock is the one every poll completion takes.
    pub fn waiting(&self) -> (usize, usize) {
        let state = self.state.lock().expect("store lock");
        let waiting = state
            .accounts
            .values()
            .iter()
            .filter(|e| !e.attempted)
            .count();
        (waiting, state.accounts.len())
    }

    pub fn statuses(&self) -> Vec<AccountStatus> {
        let state = self.state.lock().expect("store lock");
        state
            .accounts
            .values()
            .iter()
            .map(|e| AccountStatus {
                key: e.info.key.clone(),
                description: e.info.description.clone(),
                interval: e.info.interval,
                attempted: e.attempted,
                up: e.up,
                last_success: e.snapshot.as_ref().map(|s| s.taken),
                last_error: e.last_error.clone(),
                next_poll: e.next_poll,
                held: e.held.clone(),
                figures: e.snapshot.as_ref().map_or_else(Vec::new, |s| {
                    crate::landing::figures(e.info.key.vendor, &s.samples, SystemTime::now())
                }),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(vendor: &'static str, account: &str) -> AccountInfo {
        AccountInfo {
            key: AccountKey {
                vendor,
                account: account.into(),
            },
            interval: Duration::from_secs(60),
            max_staleness: Duration::from_secs(180),
            description: String::new(),
            stats: Default::default(),
            alerting: Default::default(),
        }
    }

    #[test]
    fn accounts_are_kept_in_key_order_and_a_new_set_keeps_the_data_of_those_that_stay() {
        let store = Store::new();
        let names = ["m", "b", "z", "a", "q"];
        store.set_accounts(names.iter().map(|n| info("koodrive", n)).collect());
        for n in ["b", "q", "z"] {
            let key = info("koodrive", n).key;
            store.record_success(&key, Samples::new(), Duration::ZERO);
        }
        // Reordered, one removed ("m"), one added ("c", and one of another vendor).
        let next = ["z", "c", "q", "a", "b"];
        let mut infos: Vec<AccountInfo> = next.iter().map(|n| info("koodrive", n)).collect();
        infos.push(info("tencent_cwp", "a"));
        store.set_accounts(infos);
        let statuses = store.statuses();
        let order: Vec<(&str, &str)> = statuses
            .iter()
            .map(|s| (s.key.vendor, s.key.account.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("koodrive", "a"),
                ("koodrive", "b"),
                ("koodrive", "c"),
                ("koodrive", "q"),
                ("koodrive", "z"),
                ("tencent_cwp", "a")
            ]
        );
        let polled: Vec<bool> = statuses.iter().map(|s| s.attempted).collect();
        assert_eq!(polled, [false, true, false, true, true, false]);
        assert_eq!(store.waiting(), (3, 6));
        let key = info("koodrive", "c").key;
        store.record_failure(
            &key,
            &PollError::new(FailureReason::Auth, "no"),
            Duration::ZERO,
        );
        assert_eq!(store.waiting(), (2, 6), "found by its key");
    }

    #[test]
    fn failure_counts_are_indexed_in_the_order_of_all_reasons() {
        for (i, reason) in FailureReason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, i, "{reason:?}");
        }
    }
}
