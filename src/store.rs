//! The latest state of every account, and the exposition rendered from it.
//!
//! Pollers hand in immutable snapshots; scrapes read bytes rendered from them. Rendering happens
//! at most once per change (a new poll outcome, a reload, or an account's data turning stale),
//! and the bytes (and their gzip form) are shared by every scrape until the next change.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::exposition::{write_eof, write_header, write_sample, Format, MetricDesc, Samples};
use crate::vendors::{CallStats, FailureReason, PollError};

static UP: MetricDesc = MetricDesc::gauge(
    "quota_exporter_up",
    "Whether the account's last poll succeeded (1) or failed (0)",
);
static LAST_SUCCESS: MetricDesc = MetricDesc::gauge_with_unit(
    "quota_exporter_last_success_timestamp_seconds",
    "seconds",
    "When the account's last successful poll finished (unix time); absent until one has",
);
static POLL_DURATION: MetricDesc = MetricDesc::gauge_with_unit(
    "quota_exporter_poll_duration_seconds",
    "seconds",
    "How long the account's last poll took, retries included",
);
static POLL_INTERVAL: MetricDesc = MetricDesc::gauge_with_unit(
    "quota_exporter_poll_interval_seconds",
    "seconds",
    "The account's configured poll interval: how often its vendor series are refreshed",
);
static POLLS: MetricDesc = MetricDesc::counter(
    "quota_exporter_polls",
    "Polls of the account that finished, successful or not",
);
static POLL_FAILURES: MetricDesc = MetricDesc::counter(
    "quota_exporter_poll_failures",
    "Failed polls of the account, by reason (timeout, transport, http_status, decode, auth, permission, rate_limited, api, panic)",
);
static API_REQUESTS: MetricDesc = MetricDesc::counter(
    "quota_exporter_api_requests",
    "Requests sent to the vendor for the account, by endpoint (retries and token requests included), for API quota accounting",
);
static TOKEN_REFRESHES: MetricDesc = MetricDesc::counter(
    "quota_exporter_token_refreshes",
    "Access tokens obtained from the vendor for the account",
);
static BUILD_INFO: MetricDesc = MetricDesc::gauge(
    "quota_exporter_build_info",
    "The exporter's version and source revision; always 1",
);
static RELOAD_OK: MetricDesc = MetricDesc::gauge(
    "quota_exporter_config_last_reload_successful",
    "Whether the last configuration load succeeded (1) or not (0)",
);
static RELOAD_TS: MetricDesc = MetricDesc::gauge_with_unit(
    "quota_exporter_config_last_reload_success_timestamp_seconds",
    "seconds",
    "When the configuration was last loaded successfully (unix time)",
);

/// The exporter's own metric families, for docs and tests.
pub static OWN_METRICS: &[&MetricDesc] = &[
    &UP,
    &LAST_SUCCESS,
    &POLL_DURATION,
    &POLL_INTERVAL,
    &POLLS,
    &POLL_FAILURES,
    &API_REQUESTS,
    &TOKEN_REFRESHES,
    &BUILD_INFO,
    &RELOAD_OK,
    &RELOAD_TS,
];

/// Version and revision, set at build time (`QUOTA_EXPORTER_VERSION`, `QUOTA_EXPORTER_REVISION`).
pub fn version() -> &'static str {
    option_env!("QUOTA_EXPORTER_VERSION").unwrap_or(env!("CARGO_PKG_VERSION"))
}

pub fn revision() -> &'static str {
    option_env!("QUOTA_EXPORTER_REVISION").unwrap_or("unknown")
}

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
}

/// The last good data of an account. Never changed once made.
#[derive(Debug)]
pub struct Snapshot {
    pub samples: Samples,
    pub taken: SystemTime,
    taken_instant: Instant,
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
}

struct Entry {
    info: AccountInfo,
    snapshot: Option<Arc<Snapshot>>,
    attempted: bool,
    up: bool,
    last_error: Option<(FailureReason, String, SystemTime)>,
    next_poll: Option<SystemTime>,
    held: Option<String>,
    polls: u64,
    failures: BTreeMap<FailureReason, u64>,
    last_duration: Option<Duration>,
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
            failures: FailureReason::ALL.iter().map(|r| (*r, 0)).collect(),
            last_duration: None,
        }
    }

    /// The snapshot, unless it is older than `max_staleness` at `now`.
    fn fresh_snapshot(&self, now: Instant) -> Option<&Arc<Snapshot>> {
        self.snapshot
            .as_ref()
            .filter(|s| now.duration_since(s.taken_instant) < self.info.max_staleness)
    }
}

struct State {
    generation: u64,
    accounts: BTreeMap<AccountKey, Entry>,
    reload_ok: bool,
    reload_success: Option<SystemTime>,
}

/// One vendor family gathered across accounts: its description and (account, sample) pairs.
type MergedFamily<'a> = (
    &'static MetricDesc,
    Vec<(&'a str, &'a crate::exposition::Sample)>,
);

/// Bytes of one rendering, shared by every scrape until the next change.
pub struct Rendered {
    generation: u64,
    /// The earliest moment an account's data turns stale: the rendering is out of date then.
    expires: Option<Instant>,
    body: Bytes,
    gzip: OnceLock<Bytes>,
}

impl Rendered {
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body gzip-compressed, made on the first scrape that asks for it.
    pub fn gzip(&self) -> &Bytes {
        self.gzip.get_or_init(|| {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(self.body.len() / 4),
                flate2::Compression::fast(),
            );
            encoder.write_all(&self.body).expect("writing to memory");
            Bytes::from(encoder.finish().expect("writing to memory"))
        })
    }
}

pub struct Store {
    state: Mutex<State>,
    cache: Mutex<BTreeMap<FormatKey, Arc<Rendered>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct FormatKey(u8);

impl From<Format> for FormatKey {
    fn from(f: Format) -> Self {
        FormatKey(match f {
            Format::OpenMetrics => 0,
            Format::Classic => 1,
        })
    }
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
                accounts: BTreeMap::new(),
                reload_ok: true,
                reload_success: None,
            }),
            cache: Mutex::new(BTreeMap::new()),
        }
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
            let mut old = std::mem::take(&mut state.accounts);
            for info in accounts {
                let entry = match old.remove(&info.key) {
                    Some(mut e) => {
                        e.info = info;
                        e
                    }
                    None => Entry::new(info),
                };
                state.accounts.insert(entry.info.key.clone(), entry);
            }
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

    pub fn record_success(&self, key: &AccountKey, samples: Samples, took: Duration) {
        self.change(|state| {
            if let Some(e) = state.accounts.get_mut(key) {
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
            if let Some(e) = state.accounts.get_mut(key) {
                e.attempted = true;
                e.up = false;
                e.polls += 1;
                e.last_duration = Some(took);
                *e.failures.entry(error.reason).or_default() += 1;
                e.last_error = Some((
                    error.reason,
                    redact_url_queries(&error.message),
                    SystemTime::now(),
                ));
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
        self.state
            .lock()
            .expect("store lock")
            .accounts
            .values()
            .all(|e| e.attempted)
    }

    pub fn statuses(&self) -> Vec<AccountStatus> {
        let state = self.state.lock().expect("store lock");
        state
            .accounts
            .values()
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
            })
            .collect()
    }

    /// The exposition in `format`, rendered now only if something changed since the last time.
    pub fn exposition(&self, format: Format) -> Arc<Rendered> {
        let now = Instant::now();
        let generation = self.state.lock().expect("store lock").generation;
        let mut cache = self.cache.lock().expect("cache lock");
        if let Some(r) = cache.get(&format.into()) {
            if r.generation == generation && r.expires.is_none_or(|t| now < t) {
                return r.clone();
            }
        }
        let rendered = Arc::new(self.render(format, now));
        cache.insert(format.into(), rendered.clone());
        rendered
    }

    fn render(&self, format: Format, now: Instant) -> Rendered {
        let state = self.state.lock().expect("store lock");
        let mut out = String::with_capacity(4096 + state.accounts.len() * 2048);

        write_header(&mut out, &BUILD_INFO, format);
        write_sample(
            &mut out,
            &BUILD_INFO,
            &[],
            &[
                ("version", version().to_owned()),
                ("revision", revision().to_owned()),
            ],
            1.0,
        );
        write_header(&mut out, &RELOAD_OK, format);
        write_sample(
            &mut out,
            &RELOAD_OK,
            &[],
            &[],
            if state.reload_ok { 1.0 } else { 0.0 },
        );
        if let Some(t) = state.reload_success {
            write_header(&mut out, &RELOAD_TS, format);
            write_sample(&mut out, &RELOAD_TS, &[], &[], unix_seconds(t));
        }

        let accounts: Vec<&Entry> = state.accounts.values().collect();
        fn ident(e: &Entry) -> [(&'static str, &str); 2] {
            [
                ("vendor", e.info.key.vendor),
                ("account", e.info.key.account.as_str()),
            ]
        }
        let mut family = |desc: &'static MetricDesc, per_account: &dyn Fn(&Entry, &mut String)| {
            if accounts.is_empty() {
                return;
            }
            write_header(&mut out, desc, format);
            for e in &accounts {
                per_account(e, &mut out);
            }
        };
        family(&UP, &|e, out| {
            write_sample(out, &UP, &ident(e), &[], if e.up { 1.0 } else { 0.0 })
        });
        family(&LAST_SUCCESS, &|e, out| {
            if let Some(s) = &e.snapshot {
                write_sample(out, &LAST_SUCCESS, &ident(e), &[], unix_seconds(s.taken));
            }
        });
        family(&POLL_DURATION, &|e, out| {
            if let Some(d) = e.last_duration {
                write_sample(out, &POLL_DURATION, &ident(e), &[], d.as_secs_f64());
            }
        });
        family(&POLL_INTERVAL, &|e, out| {
            write_sample(
                out,
                &POLL_INTERVAL,
                &ident(e),
                &[],
                e.info.interval.as_secs_f64(),
            )
        });
        family(&POLLS, &|e, out| {
            write_sample(out, &POLLS, &ident(e), &[], e.polls as f64)
        });
        family(&POLL_FAILURES, &|e, out| {
            for (reason, n) in &e.failures {
                write_sample(
                    out,
                    &POLL_FAILURES,
                    &ident(e),
                    &[("reason", reason.as_str().to_owned())],
                    *n as f64,
                );
            }
        });
        family(&API_REQUESTS, &|e, out| {
            for (endpoint, n) in e.info.stats.requests() {
                write_sample(
                    out,
                    &API_REQUESTS,
                    &ident(e),
                    &[("endpoint", endpoint.to_owned())],
                    n as f64,
                );
            }
        });
        family(&TOKEN_REFRESHES, &|e, out| {
            write_sample(
                out,
                &TOKEN_REFRESHES,
                &ident(e),
                &[],
                e.info.stats.token_refreshes() as f64,
            )
        });

        // Vendor series: every family once, with the samples of every account whose data is fresh.
        let mut expires: Option<Instant> = None;
        let mut families: BTreeMap<&'static str, MergedFamily<'_>> = BTreeMap::new();
        for e in &accounts {
            let Some(snapshot) = e.fresh_snapshot(now) else {
                continue;
            };
            let stale_at = snapshot.taken_instant + e.info.max_staleness;
            expires = Some(expires.map_or(stale_at, |t| t.min(stale_at)));
            for f in snapshot.samples.families() {
                let slot = families
                    .entry(f.desc.name)
                    .or_insert_with(|| (f.desc, Vec::new()));
                slot.1
                    .extend(f.samples.iter().map(|s| (e.info.key.account.as_str(), s)));
            }
        }
        for (desc, samples) in families.values() {
            write_header(&mut out, desc, format);
            for (account, sample) in samples {
                write_sample(
                    &mut out,
                    desc,
                    &[("account", account)],
                    &sample.labels,
                    sample.value,
                );
            }
        }
        write_eof(&mut out, format);

        Rendered {
            generation: state.generation,
            expires,
            body: Bytes::from(out),
            gzip: OnceLock::new(),
        }
    }
}

pub fn unix_seconds(t: SystemTime) -> f64 {
    // Millisecond precision: enough for "when", and keeps the numbers short.
    (t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as f64) / 1000.0
}

/// Removes the query string of every URL in a message: WeCom carries its access token there,
/// and a vendor error may echo the URL it was called with.
pub fn redact_url_queries(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    let next_url = |s: &str| {
        [s.find("http://"), s.find("https://")]
            .into_iter()
            .flatten()
            .min()
    };
    while let Some(start) = next_url(rest) {
        out.push_str(&rest[..start]);
        let url_and_after = &rest[start..];
        let end = url_and_after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | ','))
            .unwrap_or(url_and_after.len());
        let url = &url_and_after[..end];
        out.push_str(url.split('?').next().unwrap_or(url));
        rest = &url_and_after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    static V: MetricDesc = MetricDesc::gauge("v_seats", "Seats");

    fn info(account: &str, max_staleness: Duration) -> AccountInfo {
        AccountInfo {
            key: AccountKey {
                vendor: "wecom_wedrive",
                account: account.into(),
            },
            interval: Duration::from_secs(60),
            max_staleness,
            description: String::new(),
            stats: Default::default(),
        }
    }

    fn samples(v: f64) -> Samples {
        let mut s = Samples::new();
        s.set(&V, v);
        s
    }

    fn text(store: &Store) -> String {
        String::from_utf8(store.exposition(Format::Classic).body().to_vec()).unwrap()
    }

    #[test]
    fn renders_once_per_change_and_keeps_last_good_data() {
        let store = Store::new();
        let a = info("a", Duration::from_secs(3600));
        store.set_accounts(vec![a.clone(), info("b", Duration::from_secs(3600))]);
        assert!(!store.ready());
        store.record_success(&a.key, samples(7.0), Duration::from_millis(20));
        let first = store.exposition(Format::Classic);
        assert!(
            Arc::ptr_eq(&first, &store.exposition(Format::Classic)),
            "no change, no re-render"
        );

        let err = PollError::new(
            FailureReason::Timeout,
            "see https://h/x?access_token=SECRET now",
        );
        store.record_failure(&a.key, &err, Duration::from_secs(1));
        let t = text(&store);
        assert!(
            t.contains("v_seats{account=\"a\"} 7"),
            "last good data kept:\n{t}"
        );
        assert!(t.contains("quota_exporter_up{vendor=\"wecom_wedrive\",account=\"a\"} 0"));
        assert!(t.contains("quota_exporter_poll_failures_total{vendor=\"wecom_wedrive\",account=\"a\",reason=\"timeout\"} 1"));
        assert!(t.contains("quota_exporter_poll_failures_total{vendor=\"wecom_wedrive\",account=\"b\",reason=\"panic\"} 0"));
        assert!(t.contains("quota_exporter_polls_total{vendor=\"wecom_wedrive\",account=\"a\"} 2"));
        let status = store
            .statuses()
            .into_iter()
            .find(|s| s.key.account == "a")
            .unwrap();
        assert_eq!(status.last_error.unwrap().1, "see https://h/x now");
        assert!(!store.ready(), "b has not been polled");
    }

    #[test]
    fn stale_data_disappears_but_health_stays() {
        let store = Store::new();
        let a = info("a", Duration::from_millis(300));
        store.set_accounts(vec![a.clone()]);
        store.record_success(&a.key, samples(7.0), Duration::ZERO);
        assert!(text(&store).contains("v_seats{account=\"a\"} 7"));
        std::thread::sleep(Duration::from_millis(400));
        let t = text(&store);
        assert!(!t.contains("v_seats"), "stale series must vanish:\n{t}");
        assert!(t.contains(
            "quota_exporter_last_success_timestamp_seconds{vendor=\"wecom_wedrive\",account=\"a\"}"
        ));
    }

    #[test]
    fn removed_accounts_vanish_and_kept_ones_keep_counters() {
        let store = Store::new();
        let (a, b) = (
            info("a", Duration::from_secs(60)),
            info("b", Duration::from_secs(60)),
        );
        store.set_accounts(vec![a.clone(), b.clone()]);
        store.record_success(&a.key, samples(1.0), Duration::ZERO);
        store.record_success(&b.key, samples(2.0), Duration::ZERO);
        store.set_accounts(vec![a.clone()]);
        let t = text(&store);
        assert!(!t.contains("account=\"b\""), "{t}");
        assert!(t.contains("quota_exporter_polls_total{vendor=\"wecom_wedrive\",account=\"a\"} 1"));
    }

    #[test]
    fn openmetrics_and_gzip() {
        let store = Store::new();
        let r = store.exposition(Format::OpenMetrics);
        let t = std::str::from_utf8(r.body()).unwrap();
        assert!(t.ends_with("# EOF\n") && t.contains("# TYPE quota_exporter_build_info gauge"));
        let mut d = flate2::read::GzDecoder::new(&r.gzip()[..]);
        let mut back = String::new();
        std::io::Read::read_to_string(&mut d, &mut back).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn url_queries_are_removed() {
        assert_eq!(
            redact_url_queries("a http://x/y?t=1 b (https://z?q) c"),
            "a http://x/y b (https://z) c"
        );
        assert_eq!(redact_url_queries("no url"), "no url");
    }
}
