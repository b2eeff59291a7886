//! Render cost in the process, without HTTP: the exposition of N accounts after one account's
//! poll (fresh: that account's block is rendered again and the body assembled) against the
//! same call with nothing changed (cached). Prints medians; never passes or fails on speed.
//!
//!   cargo bench --bench render                 # N = 10,000, 200 samples
//!   cargo bench --bench render -- 100000 50    # N, samples

use std::sync::Arc;
use std::time::{Duration, Instant};

use quota_exporter::exposition::{Format, MetricDesc, Samples};
use quota_exporter::render::Renderer;
use quota_exporter::store::{AccountInfo, AccountKey, Store};

// The shape of a WeDrive account's samples: six families, eight samples, four with a label.
static PRO: MetricDesc = MetricDesc::gauge("bench_pro_enabled", "Pro edition enabled");
static LIMIT: MetricDesc = MetricDesc::gauge("bench_vip_seats_limit", "VIP seats bought");
static USED: MetricDesc = MetricDesc::gauge("bench_vip_seats_used", "VIP seats used");
static EXPIRY: MetricDesc = MetricDesc::gauge_with_unit(
    "bench_pro_expiry_timestamp_seconds",
    "seconds",
    "When the pro edition expires",
);
static CAPACITY: MetricDesc =
    MetricDesc::gauge_with_unit("bench_capacity_bytes", "bytes", "Capacity of the pool");
static FREE: MetricDesc =
    MetricDesc::gauge_with_unit("bench_capacity_free_bytes", "bytes", "Free capacity");

fn samples(i: usize, round: u64) -> Samples {
    let mut s = Samples::new();
    s.set(&PRO, 1.0);
    s.set(&LIMIT, 500.0 + i as f64);
    s.set(&USED, (i as u64 % 500 + round) as f64);
    s.set(&EXPIRY, 1.8e9 + i as f64);
    for (pool, factor) in [("all", 1.0), ("vip", 0.25)] {
        s.push_some(&CAPACITY, ("pool", pool), Some(1.1e13 * factor));
        s.push_some(&FREE, ("pool", pool), Some(4.4e12 * factor + i as f64));
    }
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(10_000);
    let rounds = args.get(1).copied().unwrap_or(200);

    let store = Arc::new(Store::new());
    let infos: Vec<AccountInfo> = (0..n)
        .map(|i| AccountInfo {
            key: AccountKey {
                vendor: "wecom_wedrive",
                account: format!("bench{i}"),
            },
            interval: Duration::from_secs(3600),
            max_staleness: Duration::from_secs(3 * 3600),
            description: String::new(),
            stats: Default::default(),
            alerting: Default::default(),
        })
        .collect();
    let keys: Vec<AccountKey> = infos.iter().map(|i| i.key.clone()).collect();
    store.set_accounts(infos);
    for (i, key) in keys.iter().enumerate() {
        store.record_success(key, samples(i, 0), Duration::from_millis(40));
    }
    // Without process_* series: they are read from /proc and expire each second, which would
    // make a "cached" call render again.
    let renderer = Renderer::new(store.clone()).without_process_metrics();
    let started = Instant::now();
    let first = renderer.exposition(Format::Classic);
    let first_took = started.elapsed();

    let (mut fresh, mut cached) = (Vec::new(), Vec::new());
    for round in 1..=rounds as u64 {
        let i = (round as usize * 7919) % n;
        store.record_success(&keys[i], samples(i, round), Duration::from_millis(40));
        let t = Instant::now();
        let r = renderer.exposition(Format::Classic);
        fresh.push(t.elapsed());
        let t = Instant::now();
        let again = renderer.exposition(Format::Classic);
        cached.push(t.elapsed());
        assert!(Arc::ptr_eq(&r, &again), "nothing changed in between");
    }
    let (fresh, cached) = (median(fresh), median(cached));
    println!(
        "N = {n}: exposition {} bytes ({} gzip); first render {:.2} ms; after one account's poll {:.3} ms; unchanged {:.4} ms (medians of {rounds})",
        first.len(),
        first.gzip().len(),
        first_took.as_secs_f64() * 1e3,
        fresh.as_secs_f64() * 1e3,
        cached.as_secs_f64() * 1e3,
    );
}
