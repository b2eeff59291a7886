//! Rendering: the exporter's own metric families, its build info, and the exposition rendered
//! from the store with its cache.
//!
//! Rendering happens at most once per change (a new poll outcome, a reload, or an account's data
//! turning stale), and the bytes (and their gzip form) are shared by every scrape until the next
//! change. The encoders themselves (types, escaping, the two text formats) are in
//! [`crate::exposition`].

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::exposition::{write_eof, write_header, write_sample, Format, MetricDesc};
use crate::store::{Entry, State, Store};

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
    "The exporter's version, source revision and build date; always 1",
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

/// Version, revision and build date, set at build time (`QUOTA_EXPORTER_VERSION`; the revision
/// and date by build.rs).
pub fn version() -> &'static str {
    option_env!("QUOTA_EXPORTER_VERSION").unwrap_or(env!("CARGO_PKG_VERSION"))
}

pub fn revision() -> &'static str {
    env!("QUOTA_EXPORTER_REVISION")
}

/// When the binary was built (RFC 3339, UTC; see build.rs).
pub fn build_date() -> &'static str {
    env!("QUOTA_EXPORTER_BUILD_DATE")
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

/// Renders a store's state into the exposition and keeps the bytes until the state changes.
pub struct Renderer {
    store: Arc<Store>,
    cache: Mutex<BTreeMap<FormatKey, Arc<Rendered>>>,
}

impl Renderer {
    pub fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            cache: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The exposition in `format`, rendered now only if something changed since the last time.
    pub fn exposition(&self, format: Format) -> Arc<Rendered> {
        let now = Instant::now();
        let generation = self.store.generation();
        let mut cache = self.cache.lock().expect("cache lock");
        if let Some(r) = cache.get(&format.into()) {
            if r.generation == generation && r.expires.is_none_or(|t| now < t) {
                return r.clone();
            }
        }
        let rendered = Arc::new(self.store.read(|state| render(state, format, now)));
        cache.insert(format.into(), rendered.clone());
        rendered
    }
}

/// Renders the whole exposition from the store's state.
fn render(state: &State, format: Format, now: Instant) -> Rendered {
    let mut out = String::with_capacity(4096 + state.accounts.len() * 2048);

    write_header(&mut out, &BUILD_INFO, format);
    write_sample(
        &mut out,
        &BUILD_INFO,
        &[],
        &[
            ("version", version().to_owned()),
            ("revision", revision().to_owned()),
            ("build_date", build_date().to_owned()),
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
    crate::process::write(&mut out, format);
    let fresh_until = now + crate::process::MAX_AGE;
    let expires = Some(expires.map_or(fresh_until, |t| t.min(fresh_until)));
    write_eof(&mut out, format);

    Rendered {
        generation: state.generation,
        expires,
        body: Bytes::from(out),
        gzip: OnceLock::new(),
    }
}

pub fn unix_seconds(t: SystemTime) -> f64 {
    // Millisecond precision: enough for "when", and keeps the numbers short.
    (t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as f64) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::Samples;
    use crate::outcome::{FailureReason, PollError};
    use crate::store::{AccountInfo, AccountKey};
    use std::time::Duration;

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

    fn text(renderer: &Renderer) -> String {
        String::from_utf8(renderer.exposition(Format::Classic).body().to_vec()).unwrap()
    }

    #[test]
    fn renders_once_per_change_and_keeps_last_good_data() {
        let renderer = Renderer::new(Arc::new(Store::new()));
        let store = renderer.store();
        let a = info("a", Duration::from_secs(3600));
        store.set_accounts(vec![a.clone(), info("b", Duration::from_secs(3600))]);
        assert!(!store.ready());
        store.record_success(&a.key, samples(7.0), Duration::from_millis(20));
        let first = renderer.exposition(Format::Classic);
        assert!(
            Arc::ptr_eq(&first, &renderer.exposition(Format::Classic)),
            "no change, no re-render"
        );

        let err = PollError::new(
            FailureReason::Timeout,
            "see https://h/x?access_token=SECRET now",
        );
        store.record_failure(&a.key, &err, Duration::from_secs(1));
        let t = text(&renderer);
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
        let renderer = Renderer::new(Arc::new(Store::new()));
        let store = renderer.store();
        let a = info("a", Duration::from_millis(300));
        store.set_accounts(vec![a.clone()]);
        store.record_success(&a.key, samples(7.0), Duration::ZERO);
        assert!(text(&renderer).contains("v_seats{account=\"a\"} 7"));
        std::thread::sleep(Duration::from_millis(400));
        let t = text(&renderer);
        assert!(!t.contains("v_seats"), "stale series must vanish:\n{t}");
        assert!(t.contains(
            "quota_exporter_last_success_timestamp_seconds{vendor=\"wecom_wedrive\",account=\"a\"}"
        ));
    }

    #[test]
    fn removed_accounts_vanish_and_kept_ones_keep_counters() {
        let renderer = Renderer::new(Arc::new(Store::new()));
        let store = renderer.store();
        let (a, b) = (
            info("a", Duration::from_secs(60)),
            info("b", Duration::from_secs(60)),
        );
        store.set_accounts(vec![a.clone(), b.clone()]);
        store.record_success(&a.key, samples(1.0), Duration::ZERO);
        store.record_success(&b.key, samples(2.0), Duration::ZERO);
        store.set_accounts(vec![a.clone()]);
        let t = text(&renderer);
        assert!(!t.contains("account=\"b\""), "{t}");
        assert!(t.contains("quota_exporter_polls_total{vendor=\"wecom_wedrive\",account=\"a\"} 1"));
    }

    #[test]
    fn openmetrics_and_gzip() {
        let renderer = Renderer::new(Arc::new(Store::new()));

        let r = renderer.exposition(Format::OpenMetrics);
        let t = std::str::from_utf8(r.body()).unwrap();
        assert!(t.ends_with("# EOF\n") && t.contains("# TYPE quota_exporter_build_info gauge"));
        let mut d = flate2::read::GzDecoder::new(&r.gzip()[..]);
        let mut back = String::new();
        std::io::Read::read_to_string(&mut d, &mut back).unwrap();
        assert_eq!(back, t);
    }
}
