//! Rendering: the exporter's own metric families, its build info, and the exposition rendered
//! from the store with its cache.
//!
//! Rendering is proportional to what changed. Accounts are taken in blocks of [`BLOCK`] in the
//! store's order; each block's lines of each family are rendered (escaped, numbers formatted)
//! once when one of its accounts changes (a poll outcome, a reload, its data turning stale) and
//! kept only compressed ([`crate::chunks`]). Blocks are joined [`PAGE`] at a time into pages,
//! each family's pieces into one. A scrape after a change renders the changed blocks, joins their
//! pages again, and splices every page's compressed pieces under the family headers: the sample
//! lines are the same in both text formats, so both formats share the blocks and pages and
//! differ only in their headers.
//! The store's lock is held only to copy out what changed, never while rendering, so polls never
//! wait for a render. The assembled bytes are shared by every scrape until the next change.
//!
//! The encoders themselves (types, escaping, the two text formats) are in [`crate::exposition`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::alerting;
use crate::chunks::{Deflater, GzipBody, PlainBody, Segment};
use crate::exposition::{write_eof, write_header, write_sample, Format, MetricDesc};
use crate::outcome::{CallStats, FailureReason};
use crate::store::{AccountKey, Entry, Snapshot, State, Store};

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
static MAX_STALENESS: MetricDesc = MetricDesc::gauge_with_unit(
    "quota_exporter_max_staleness_seconds",
    "seconds",
    "The account's configured max_staleness: how long after its last successful poll its vendor series are served",
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
    &MAX_STALENESS,
    &POLLS,
    &POLL_FAILURES,
    &API_REQUESTS,
    &TOKEN_REFRESHES,
    &BUILD_INFO,
    &RELOAD_OK,
    &RELOAD_TS,
    &alerting::ACCOUNT_INFO,
    &alerting::THRESHOLD_RATIO,
    &alerting::THRESHOLD_SECONDS,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct FormatKey(u8);

impl From<Format> for FormatKey {
    fn from(f: Format) -> Self {
        FormatKey(match f {
            Format::OpenMetrics => 0,
            Format::Classic => 1,
        })
    }
}

/// Accounts per block. A block is the unit of re-rendering: when one of its accounts changes,
/// its lines are rendered and compressed again, and every other block is reused as it is.
/// Small enough that a change costs little, large enough that each block's piece of a family
/// compresses well on its own.
const BLOCK: usize = 32;
/// Blocks per page: at 10,000 accounts, 20 pages of 512 accounts.
const PAGE: usize = 16;
/// Expositions up to this size also keep their plain text, and compress as one stream (better
/// ratio); larger ones keep only the compressed form and inflate it for plain scrapes.
const KEEP_PLAIN_MAX: u64 = 1 << 20;

/// The exporter's per-account families, in the order they are written.
static PER_ACCOUNT: [&MetricDesc; 12] = [
    &UP,
    &LAST_SUCCESS,
    &POLL_DURATION,
    &POLL_INTERVAL,
    &MAX_STALENESS,
    &POLLS,
    &POLL_FAILURES,
    &API_REQUESTS,
    &TOKEN_REFRESHES,
    &alerting::ACCOUNT_INFO,
    &alerting::THRESHOLD_RATIO,
    &alerting::THRESHOLD_SECONDS,
];

/// Bytes of one rendering, shared by every scrape until the next change.
pub struct Rendered {
    generation: u64,
    /// The earliest moment an account's data turns stale: the rendering is out of date then.
    expires: Option<Instant>,
    gzip: GzipBody,
    /// The plain text, kept only for small expositions.
    plain: Option<Bytes>,
}

impl Rendered {
    /// The plain text, all at once (inflated when not kept).
    pub fn body(&self) -> Bytes {
        match &self.plain {
            Some(b) => b.clone(),
            None => self.gzip.inflate(),
        }
    }

    /// The plain text as a response body: inflated frame by frame while it is sent when not kept.
    pub fn plain_body(&self) -> axum::body::Body {
        match &self.plain {
            Some(b) => axum::body::Body::from(b.clone()),
            None => axum::body::Body::new(PlainBody::new(&self.gzip)),
        }
    }

    /// The gzip form, assembled with this rendering.
    pub fn gzip(&self) -> &Bytes {
        self.gzip.bytes()
    }

    /// Length of the plain text.
    pub fn len(&self) -> u64 {
        self.gzip.text_len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What rendering needs of one account, copied out of the store so no lock is held meanwhile.
struct View {
    stamp: u64,
    key: AccountKey,
    up: bool,
    last_success: Option<SystemTime>,
    last_duration: Option<Duration>,
    interval: Duration,
    max_staleness: Duration,
    polls: u64,
    failures: [u64; FailureReason::ALL.len()],
    stats: Arc<CallStats>,
    /// Labels and thresholds, exported whatever the age of the data.
    alerting: Arc<alerting::AlertSettings>,
    /// The snapshot while fresh, and when it stops being so.
    fresh: Option<(Arc<Snapshot>, Instant)>,
}

/// Each family's lines of a run of accounts, compressed.
#[derive(Default)]
struct Columns {
    /// The lines of each of [`PER_ACCOUNT`] (None: no lines).
    own: [Option<Segment>; PER_ACCOUNT.len()],
    /// The lines of each vendor family, in name order.
    vendor: Vec<(&'static MetricDesc, Segment)>,
}

impl Columns {
    /// The columns of runs one after the other: each family's pieces joined.
    fn join<'a>(runs: impl Iterator<Item = &'a Columns> + Clone) -> Columns {
        let mut joined = Columns::default();
        for (i, slot) in joined.own.iter_mut().enumerate() {
            let pieces = runs.clone().filter_map(|c| c.own[i].as_ref());
            if pieces.clone().next().is_some() {
                *slot = Some(Segment::join(pieces));
            }
        }
        let mut vendor: BTreeMap<&'static str, &'static MetricDesc> = BTreeMap::new();
        for c in runs.clone() {
            for (desc, _) in &c.vendor {
                vendor.entry(desc.name).or_insert(desc);
            }
        }
        joined.vendor = vendor
            .into_values()
            .map(|desc| {
                (
                    desc,
                    Segment::join(runs.clone().filter_map(|c| c.family(desc))),
                )
            })
            .collect();
        joined
    }

    /// The lines of a vendor family, if the run has any.
    fn family(&self, desc: &MetricDesc) -> Option<&Segment> {
        self.vendor
            .binary_search_by(|(d, _)| d.name.cmp(desc.name))
            .ok()
            .map(|i| &self.vendor[i].1)
    }
}

/// One block of accounts, rendered and compressed.
struct Block {
    /// The store's change stamp of each of its accounts when it was rendered.
    stamps: Vec<u64>,
    /// When the first of its snapshots turns stale.
    expires: Option<Instant>,
    columns: Columns,
}

/// [`PAGE`] blocks in a row, their columns joined: a body is assembled from pages, so that after
/// one account's poll the bytes copied and the CRCs combined are those of one page, then one
/// piece per page and family, instead of one piece per block and family.
struct Page {
    /// The blocks it was joined from.
    from: Vec<Arc<Block>>,
    columns: Columns,
}

impl Page {
    fn of(blocks: &[Arc<Block>]) -> Page {
        Page {
            from: blocks.to_vec(),
            columns: Columns::join(blocks.iter().map(|b| &b.columns)),
        }
    }

    fn current(&self, blocks: &[Arc<Block>]) -> bool {
        self.from.len() == blocks.len()
            && self.from.iter().zip(blocks).all(|(a, b)| Arc::ptr_eq(a, b))
    }
}

impl Block {
    fn current(&self, stamps: &[u64], now: Instant) -> bool {
        self.stamps == stamps && self.expires.is_none_or(|t| now < t)
    }
}

#[derive(Default)]
struct Cache {
    blocks: Vec<Arc<Block>>,
    /// The blocks, [`PAGE`] at a time.
    pages: Vec<Page>,
    /// One compressor for every render (its tables are large to allocate and clear).
    deflater: Deflater,
    /// Compressed family headers, by format and family name: they never change.
    headers: HashMap<(FormatKey, &'static str), Segment>,
    /// The latest rendering of each format; a stale one is dropped as soon as another is made.
    rendered: BTreeMap<FormatKey, Arc<Rendered>>,
}

/// Accounts per block and blocks per page (smaller in tests, to have many of each).
#[derive(Clone, Copy, Debug)]
struct Sizes {
    block: usize,
    page: usize,
}

/// Renders a store's state into the exposition and keeps the pieces until they change.
pub struct Renderer {
    store: Arc<Store>,
    cache: Mutex<Cache>,
    keep_plain_max: u64,
    sizes: Sizes,
    /// Whether the process's own `process_*` series are appended (off only where a test
    /// compares two renderings byte for byte: those readings change between any two).
    process_metrics: bool,
}

impl Renderer {
    pub fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            cache: Mutex::new(Cache::default()),
            keep_plain_max: KEEP_PLAIN_MAX,
            sizes: Sizes {
                block: BLOCK,
                page: PAGE,
            },
            process_metrics: true,
        }
    }

    /// A renderer that leaves out the `process_*` series.
    pub fn without_process_metrics(mut self) -> Self {
        self.process_metrics = false;
        self
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The exposition in `format`. Only the blocks of accounts that changed since the last time
    /// are rendered again; the store's lock is held only to copy what changed out of it.
    pub fn exposition(&self, format: Format) -> Arc<Rendered> {
        let now = Instant::now();
        let generation = self.store.generation();
        let mut cache = self.cache.lock().expect("cache lock");
        if let Some(r) = cache.rendered.get(&format.into()) {
            if r.generation == generation && r.expires.is_none_or(|t| now < t) {
                return r.clone();
            }
        }
        let (generation, globals, dirty, count) = self
            .store
            .read(|state| changed_blocks(state, &cache.blocks, self.sizes.block, now));
        let cache = &mut *cache;
        let copied = now.elapsed();
        let rendered_blocks = dirty.len();
        cache.blocks.truncate(count);
        for (i, views) in dirty {
            let block = Arc::new(render_block(&views, &mut cache.deflater));
            match cache.blocks.get_mut(i) {
                Some(slot) => *slot = block,
                None => cache.blocks.push(block),
            }
        }
        let blocks = &cache.blocks;
        cache.pages.truncate(blocks.len().div_ceil(self.sizes.page));
        for (i, run) in blocks.chunks(self.sizes.page).enumerate() {
            match cache.pages.get_mut(i) {
                Some(page) if page.current(run) => {}
                Some(page) => *page = Page::of(run),
                None => cache.pages.push(Page::of(run)),
            }
        }
        let joined = now.elapsed();
        let rendered = Arc::new(assemble(
            cache,
            &globals,
            generation,
            format,
            self.keep_plain_max,
            self.process_metrics,
        ));
        tracing::debug!(
            blocks = rendered_blocks,
            copy_us = copied.as_micros() as u64,
            render_and_join_us = (joined - copied).as_micros() as u64,
            assemble_us = (now.elapsed() - joined).as_micros() as u64,
            bytes = rendered.gzip().len(),
            "exposition rendered"
        );
        // A rendering of the other format made before this change is out of date: not kept.
        cache.rendered.retain(|_, r| r.generation == generation);
        cache.rendered.insert(format.into(), rendered.clone());
        rendered
    }
}

/// The store-wide lines: build info and the last reload.
struct Globals {
    reload_ok: bool,
    reload_success: Option<SystemTime>,
    accounts: usize,
}

/// Under the store's lock: which blocks are out of date, with copies of their accounts.
#[allow(clippy::type_complexity)]
fn changed_blocks(
    state: &State,
    blocks: &[Arc<Block>],
    block: usize,
    now: Instant,
) -> (u64, Globals, Vec<(usize, Vec<View>)>, usize) {
    let entries: &[Entry] = state.accounts.values();
    let stamps = state.accounts.stamps();
    let mut dirty = Vec::new();
    for (i, (chunk, stamps)) in entries.chunks(block).zip(stamps.chunks(block)).enumerate() {
        let current = blocks.get(i).is_some_and(|b| b.current(stamps, now));
        if !current {
            let views = chunk
                .iter()
                .zip(stamps)
                .map(|(e, &stamp)| view(e, stamp, now));
            dirty.push((i, views.collect()));
        }
    }
    let globals = Globals {
        reload_ok: state.reload_ok,
        reload_success: state.reload_success,
        accounts: entries.len(),
    };
    (
        state.generation,
        globals,
        dirty,
        entries.len().div_ceil(block),
    )
}

fn view(e: &Entry, stamp: u64, now: Instant) -> View {
    View {
        stamp,
        key: e.info.key.clone(),
        up: e.up,
        last_success: e.snapshot.as_ref().map(|s| s.taken),
        last_duration: e.last_duration,
        interval: e.info.interval,
        max_staleness: e.info.max_staleness,
        polls: e.polls,
        failures: e.failures,
        stats: e.info.stats.clone(),
        alerting: e.info.alerting.clone(),
        fresh: e
            .fresh_snapshot(now)
            .map(|s| (s.clone(), s.taken_instant + e.info.max_staleness)),
    }
}

/// Renders one block's lines, family by family, and compresses each family's piece.
fn render_block(views: &[View], deflater: &mut Deflater) -> Block {
    let mut text = String::with_capacity(views.len() * 1024);
    let mut own: [Option<Segment>; PER_ACCOUNT.len()] = Default::default();
    for (slot, desc) in own.iter_mut().zip(PER_ACCOUNT) {
        text.clear();
        for v in views {
            own_lines(&mut text, desc, v);
        }
        if !text.is_empty() {
            *slot = Some(deflater.segment(text.as_bytes()));
        }
    }

    let mut expires: Option<Instant> = None;
    let mut families: BTreeMap<&'static str, (&'static MetricDesc, String)> = BTreeMap::new();
    for v in views {
        let Some((snapshot, stale_at)) = &v.fresh else {
            continue;
        };
        expires = Some(expires.map_or(*stale_at, |t| t.min(*stale_at)));
        for f in snapshot.samples.families() {
            let out = &mut families
                .entry(f.desc.name)
                .or_insert_with(|| (f.desc, String::new()))
                .1;
            for s in f.samples {
                write_sample(
                    out,
                    f.desc,
                    &[("account", &v.key.account)],
                    &s.labels,
                    s.value,
                );
            }
        }
    }
    Block {
        stamps: views.iter().map(|v| v.stamp).collect(),
        expires,
        columns: Columns {
            own,
            vendor: families
                .into_values()
                .map(|(desc, text)| (desc, deflater.segment(text.as_bytes())))
                .collect(),
        },
    }
}

/// One account's lines of one of the exporter's own families.
fn own_lines(out: &mut String, desc: &'static MetricDesc, v: &View) {
    let ident = [
        ("vendor", v.key.vendor),
        ("account", v.key.account.as_str()),
    ];
    let mut one = |value: f64| write_sample(out, desc, &ident, &[], value);
    match desc.name {
        n if n == UP.name => one(if v.up { 1.0 } else { 0.0 }),
        n if n == LAST_SUCCESS.name => {
            if let Some(t) = v.last_success {
                one(unix_seconds(t))
            }
        }
        n if n == POLL_DURATION.name => {
            if let Some(d) = v.last_duration {
                one(d.as_secs_f64())
            }
        }
        n if n == POLL_INTERVAL.name => one(v.interval.as_secs_f64()),
        n if n == MAX_STALENESS.name => one(v.max_staleness.as_secs_f64()),
        n if n == POLLS.name => one(v.polls as f64),
        n if n == TOKEN_REFRESHES.name => one(v.stats.token_refreshes() as f64),
        n if n == POLL_FAILURES.name => {
            for (reason, count) in FailureReason::ALL.iter().zip(v.failures) {
                write_sample(
                    out,
                    desc,
                    &ident,
                    &[("reason", reason.as_str().to_owned())],
                    count as f64,
                );
            }
        }
        n if n == API_REQUESTS.name => {
            for (endpoint, count) in v.stats.requests() {
                write_sample(
                    out,
                    desc,
                    &ident,
                    &[("endpoint", endpoint.to_owned())],
                    count as f64,
                );
            }
        }
        n if n == alerting::ACCOUNT_INFO.name => v.alerting.write_info(out, &ident),
        n if n == alerting::THRESHOLD_RATIO.name => v.alerting.write_ratio_thresholds(out, &ident),
        n if n == alerting::THRESHOLD_SECONDS.name => {
            v.alerting.write_seconds_thresholds(out, &ident)
        }
        _ => unreachable!("every per-account family is listed"),
    }
}

/// Puts the pieces together in exposition order: store-wide lines, the exporter's per-account
/// families, then every vendor family, each under its header.
fn assemble(
    cache: &mut Cache,
    globals: &Globals,
    generation: u64,
    format: Format,
    keep_plain_max: u64,
    process_metrics: bool,
) -> Rendered {
    let Cache {
        blocks,
        pages,
        headers,
        deflater,
        rendered,
    } = cache;
    // The previous body of this format, out of date now, lends its memory when no response is
    // still sending it.
    let buffer = rendered
        .remove(&format.into())
        .and_then(Arc::into_inner)
        .and_then(|old| old.gzip.into_buffer())
        .unwrap_or_default();
    let mut top = String::new();
    write_header(&mut top, &BUILD_INFO, format);
    write_sample(
        &mut top,
        &BUILD_INFO,
        &[],
        &[
            ("version", version().to_owned()),
            ("revision", revision().to_owned()),
            ("build_date", build_date().to_owned()),
        ],
        1.0,
    );
    write_header(&mut top, &RELOAD_OK, format);
    write_sample(
        &mut top,
        &RELOAD_OK,
        &[],
        &[],
        if globals.reload_ok { 1.0 } else { 0.0 },
    );
    if let Some(t) = globals.reload_success {
        write_header(&mut top, &RELOAD_TS, format);
        write_sample(&mut top, &RELOAD_TS, &[], &[], unix_seconds(t));
    }
    let top = deflater.segment(top.as_bytes());
    let mut eof = String::new();
    write_eof(&mut eof, format);
    let eof = deflater.segment(eof.as_bytes());

    let mut header = |desc: &'static MetricDesc| -> Segment {
        headers
            .entry((format.into(), desc.name))
            .or_insert_with(|| {
                let mut h = String::new();
                write_header(&mut h, desc, format);
                deflater.segment(h.as_bytes())
            })
            .clone()
    };
    let mut parts: Vec<Segment> = vec![top];
    if globals.accounts > 0 {
        for (i, desc) in PER_ACCOUNT.iter().enumerate() {
            parts.push(header(desc));
            parts.extend(pages.iter().filter_map(|p| p.columns.own[i].clone()));
        }
    }
    let mut vendor: BTreeMap<&'static str, &'static MetricDesc> = BTreeMap::new();
    for p in pages.iter() {
        for (desc, _) in &p.columns.vendor {
            vendor.entry(desc.name).or_insert(desc);
        }
    }
    for desc in vendor.into_values() {
        parts.push(header(desc));
        parts.extend(pages.iter().filter_map(|p| p.columns.family(desc).cloned()));
    }
    // The process's own series are read fresh (at most MAX_AGE old), never cached per block.
    let mut process = String::new();
    if process_metrics {
        crate::process::write(&mut process, format);
    }
    if !process.is_empty() {
        parts.push(deflater.segment(process.as_bytes()));
    }
    parts.push(eof);

    let mut gzip = GzipBody::assemble_into(buffer, &parts);
    let plain = (gzip.text_len() <= keep_plain_max).then(|| {
        let plain = gzip.inflate();
        gzip = GzipBody::whole(&plain);
        plain
    });
    Rendered {
        generation,
        // The process readings age too: the rendering lasts until they are MAX_AGE old, or
        // until a block's data goes stale, whichever comes first.
        expires: Some(
            blocks
                .iter()
                .filter_map(|b| b.expires)
                .fold(Instant::now() + crate::process::MAX_AGE, Instant::min),
        ),
        gzip,
        plain,
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
            alerting: Default::default(),
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

        // As the scheduler's redaction boundary hands failures to the store.
        let err = PollError::new(
            FailureReason::Timeout,
            crate::redact::scrub("see https://h/x?access_token=SECRET now", &[]),
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

    /// A store with several blocks' worth of accounts in every state rendering knows: up, failed
    /// for various reasons, never polled, stale, with call counters, names and label values that
    /// need escaping, and vendor families that only some accounts have.
    fn scenario(store: &Store) {
        static CAP: MetricDesc = MetricDesc::gauge_with_unit(
            "v_capacity_bytes",
            "bytes",
            "Capacity \"all\"\\pools\nsecond line",
        );
        static SEATS: MetricDesc = MetricDesc::gauge("v_seats", "Seats");
        static FACTS: MetricDesc = MetricDesc::info("v", "Facts");
        static EXTRA: MetricDesc = MetricDesc::counter("v_extra", "Only some accounts");
        let vendors = ["wecom_wedrive", "koodrive"];
        let mut infos = Vec::new();
        for i in 0..75 {
            let account = match i {
                3 => "quote\"back\\slash\nnewline".to_owned(),
                4 => "北京-ü".to_owned(),
                _ => format!("acct{i:03}"),
            };
            let stale = i % 17 == 5;
            let stats: Arc<CallStats> = Default::default();
            for _ in 0..(i % 4) {
                stats.count_request("gettoken");
                stats.count_request("mng_capacity");
            }
            if i % 3 == 0 {
                stats.count_token_refresh();
            }
            infos.push(AccountInfo {
                key: AccountKey {
                    vendor: vendors[i % 2],
                    account,
                },
                interval: Duration::from_secs(60 + i as u64),
                max_staleness: if stale {
                    Duration::from_millis(1)
                } else {
                    Duration::from_secs(3600)
                },
                description: String::new(),
                stats,
                alerting: Arc::new(alerting_settings(i)),
            });
        }
        store.set_accounts(infos.clone());
        for (i, info) in infos.iter().enumerate() {
            if i % 11 == 7 {
                continue; // never polled
            }
            let mut s = Samples::new();
            s.push(&CAP, vec![("pool", "all".into())], (i as f64) * 1e12);
            s.push(&CAP, vec![("pool", format!("p\"{i}\\\n"))], 0.5 + i as f64);
            s.set(&SEATS, i as f64);
            s.push(&FACTS, vec![("tier", "pro ü".into())], 1.0);
            if i % 5 == 0 {
                s.set(&EXTRA, f64::NAN);
            }
            store.record_success(&info.key, s, Duration::from_millis(10 * i as u64));
            if i % 4 == 1 {
                let reason = FailureReason::ALL[i % FailureReason::ALL.len()];
                store.record_failure(
                    &info.key,
                    &PollError::new(reason, "boom"),
                    Duration::from_millis(1500),
                );
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }

    /// Routing labels on some accounts (one needing escaping), thresholds on others.
    fn alerting_settings(i: usize) -> crate::alerting::AlertSettings {
        let mut settings = crate::alerting::AlertSettings::default();
        if i % 3 == 0 {
            settings
                .labels
                .insert("team".into(), format!("t\"{}\"\\", i % 2));
        }
        if i % 7 == 2 {
            settings.thresholds.storage_warning = Some(0.5);
            settings.thresholds.expiry_critical = Some(Duration::from_secs(86400));
        }
        settings
    }

    /// Timestamps depend on when the test ran: replaced by `T`; so do the build's revision and
    /// date: its labels are replaced by `…`.
    fn normalized(text: &str) -> String {
        text.lines()
            .map(|l| {
                if l.starts_with("quota_exporter_build_info{") {
                    "quota_exporter_build_info{…} 1".to_owned()
                } else if !l.starts_with('#') && l.contains("timestamp_seconds") {
                    format!("{} T", l.rsplit_once(' ').unwrap().0)
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn both(renderer: &Renderer, format: Format) -> String {
        let r = renderer.exposition(format);
        let body = r.body();
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&r.gzip()[..]), &mut back)
            .unwrap();
        assert_eq!(back, body, "the gzip form holds the same text");
        assert_eq!(r.len(), body.len() as u64);
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[test]
    fn same_bytes_as_the_whole_render_in_both_formats() {
        // The fixtures were written by the renderer that rendered everything into one buffer.
        let store = Arc::new(Store::new());
        scenario(&store);
        let small = Sizes { block: 4, page: 3 };
        for (keep_plain_max, sizes) in [(KEEP_PLAIN_MAX, None), (0, None), (0, Some(small))] {
            let mut renderer = Renderer::new(store.clone()).without_process_metrics();
            renderer.keep_plain_max = keep_plain_max;
            renderer.sizes = sizes.unwrap_or(renderer.sizes);
            for (format, want) in [
                (
                    Format::Classic,
                    include_str!("../tests/fixtures/exposition/classic.txt"),
                ),
                (
                    Format::OpenMetrics,
                    include_str!("../tests/fixtures/exposition/openmetrics.txt"),
                ),
            ] {
                let got = normalized(&both(&renderer, format));
                assert!(
                    got == want,
                    "{format:?}, plain kept up to {keep_plain_max}:\n{got}"
                );
            }
            assert!(
                renderer.cache.lock().unwrap().blocks.len() >= 3,
                "several blocks"
            );
        }
    }

    #[test]
    fn only_changed_blocks_are_rendered_again() {
        let store = Arc::new(Store::new());
        scenario(&store);
        let renderer = Renderer::new(store.clone()).without_process_metrics();
        both(&renderer, Format::OpenMetrics);
        let before: Vec<Arc<Block>> = renderer.cache.lock().unwrap().blocks.clone();
        let key = AccountKey {
            vendor: "wecom_wedrive",
            account: "acct040".into(),
        };
        store.record_success(&key, samples(99.0), Duration::from_millis(3));
        let text = both(&renderer, Format::OpenMetrics);
        assert!(text.contains("v_seats{account=\"acct040\"} 99\n"), "{text}");
        let after = renderer.cache.lock().unwrap().blocks.clone();
        assert_eq!(before.len(), after.len());
        let changed: Vec<usize> = (0..after.len())
            .filter(|&i| !Arc::ptr_eq(&before[i], &after[i]))
            .collect();
        assert_eq!(
            changed,
            vec![40 / BLOCK],
            "only the block of the changed account"
        );
        // Pieced together, the same as rendering everything afresh.
        let fresh = Renderer::new(store.clone()).without_process_metrics();
        for format in [Format::OpenMetrics, Format::Classic] {
            assert_eq!(both(&renderer, format), both(&fresh, format));
        }
    }

    /// Reloads with only the accounts at the positions `keep` takes.
    fn keep_accounts(store: &Store, keep: impl Fn(usize) -> bool) {
        let infos: Vec<AccountInfo> = store.read(|s| {
            let entries = s.accounts.values().iter().enumerate();
            entries
                .filter(|(i, _)| keep(*i))
                .map(|(_, e)| e.info.clone())
                .collect()
        });
        store.set_accounts(infos);
    }

    #[test]
    fn after_a_change_only_its_page_is_joined_again() {
        let store = Arc::new(Store::new());
        scenario(&store);
        let mut renderer = Renderer::new(store.clone()).without_process_metrics();
        renderer.sizes = Sizes { block: 4, page: 3 };
        both(&renderer, Format::Classic);
        let joined = |r: &Renderer| -> Vec<Vec<*const Block>> {
            let cache = r.cache.lock().unwrap();
            cache
                .pages
                .iter()
                .map(|p| p.from.iter().map(Arc::as_ptr).collect())
                .collect()
        };
        let before = joined(&renderer);
        assert_eq!(before.len(), 75usize.div_ceil(4).div_ceil(3), "{before:?}");
        let key = AccountKey {
            vendor: "wecom_wedrive",
            account: "acct040".into(),
        };
        store.record_success(&key, samples(99.0), Duration::from_millis(3));
        let text = both(&renderer, Format::Classic);
        assert!(text.contains("v_seats{account=\"acct040\"} 99\n"), "{text}");
        let after = joined(&renderer);
        let changed: Vec<usize> = (0..after.len())
            .filter(|&i| before[i] != after[i])
            .collect();
        let position = store.read(|s| {
            s.accounts
                .values()
                .iter()
                .position(|e| e.info.key == key)
                .unwrap()
        });
        assert_eq!(
            changed,
            vec![position / 4 / 3],
            "only the page of its block"
        );
        let mut fresh = Renderer::new(store.clone()).without_process_metrics();
        fresh.sizes = Sizes { block: 7, page: 2 };
        for format in [Format::OpenMetrics, Format::Classic] {
            assert_eq!(both(&renderer, format), both(&fresh, format));
        }
        // Fewer accounts: fewer blocks and pages, the last page joined again, same bytes.
        keep_accounts(&store, |i| i < 30);
        let fresh = Renderer::new(store.clone()).without_process_metrics();
        assert_eq!(
            both(&renderer, Format::Classic),
            both(&fresh, Format::Classic)
        );
        assert_eq!(joined(&renderer).len(), 30usize.div_ceil(4).div_ceil(3));
    }

    #[test]
    fn reloads_that_move_accounts_between_blocks_render_the_same_as_afresh() {
        let store = Arc::new(Store::new());
        scenario(&store);
        let renderer = Renderer::new(store.clone()).without_process_metrics();
        both(&renderer, Format::Classic);
        // Drop one account at the front: every later account moves to another position.
        keep_accounts(&store, |i| i > 0);
        let fresh = Renderer::new(store.clone()).without_process_metrics();
        assert_eq!(
            both(&renderer, Format::Classic),
            both(&fresh, Format::Classic)
        );
        store.set_accounts(Vec::new());
        let empty = both(&renderer, Format::Classic);
        assert!(!empty.contains("quota_exporter_up"), "{empty}");
        assert!(empty.contains("quota_exporter_build_info"));
    }

    #[test]
    fn an_out_of_date_rendering_of_the_other_format_is_not_kept() {
        let store = Arc::new(Store::new());
        let renderer = Renderer::new(store.clone()).without_process_metrics();
        let a = info("a", Duration::from_secs(3600));
        store.set_accounts(vec![a.clone()]);
        renderer.exposition(Format::OpenMetrics);
        renderer.exposition(Format::Classic);
        assert_eq!(renderer.cache.lock().unwrap().rendered.len(), 2);
        store.record_success(&a.key, samples(1.0), Duration::ZERO);
        renderer.exposition(Format::Classic);
        let kept: Vec<FormatKey> = renderer
            .cache
            .lock()
            .unwrap()
            .rendered
            .keys()
            .copied()
            .collect();
        assert_eq!(kept, vec![FormatKey::from(Format::Classic)]);
    }

    #[test]
    fn openmetrics_and_gzip() {
        let renderer = Renderer::new(Arc::new(Store::new()));

        let r = renderer.exposition(Format::OpenMetrics);
        let body = r.body();
        let t = std::str::from_utf8(&body).unwrap();
        assert!(t.ends_with("# EOF\n") && t.contains("# TYPE quota_exporter_build_info gauge"));
        let mut d = flate2::read::GzDecoder::new(&r.gzip()[..]);
        let mut back = String::new();
        std::io::Read::read_to_string(&mut d, &mut back).unwrap();
        assert_eq!(back, t);
    }
}
