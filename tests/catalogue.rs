//! The metric catalogue: every metric a vendor declares (and the exporter's own) is served by
//! the demo and documented in docs/metrics.md and the README.

mod common;

use common::Harness;
use quota_exporter::exposition::{MetricDesc, MetricType};
use quota_exporter::process::PROCESS_METRICS;
use quota_exporter::render::OWN_METRICS;
use quota_exporter::vendors::VENDORS;

fn sample_name(desc: &MetricDesc) -> String {
    match desc.kind {
        MetricType::Gauge => desc.name.to_owned(),
        MetricType::Counter => format!("{}_total", desc.name),
        MetricType::Info => format!("{}_info", desc.name),
    }
}

fn every_metric() -> Vec<(&'static str, &'static MetricDesc)> {
    let own = OWN_METRICS.iter().map(|d| ("quota_exporter", *d));
    let own = own.chain(PROCESS_METRICS.iter().map(|d| ("process", *d)));
    own.chain(
        VENDORS
            .iter()
            .flat_map(|v| v.metrics.iter().map(move |d| (v.name, *d))),
    )
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_every_metric_of_every_vendor() {
    let (h, accounts, text) = Harness::demo_all_up().await;
    for vendor in VENDORS {
        assert!(
            accounts.iter().any(|(v, _)| v == vendor.name),
            "the demo has no {} account",
            vendor.name
        );
    }
    for (owner, desc) in every_metric() {
        let name = sample_name(desc);
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))),
            "{owner}: {name} is not in the demo's exposition"
        );
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP line"
        );
    }
    h.stop().await;
}

#[test]
fn every_metric_is_documented() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).unwrap();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (owner, desc) in every_metric() {
        let name = sample_name(desc);
        assert!(
            docs.contains(&format!("`{name}`")),
            "{owner}: {name} missing from docs/metrics.md"
        );
        // The README's table abbreviates families (`…_used`), so check the stem it names.
        let stem = name.rsplit_once('_').map(|(s, _)| s).unwrap_or(&name);
        assert!(
            readme.contains(stem),
            "{owner}: {name} missing from the README"
        );
        assert!(
            !desc.help.ends_with('.'),
            "{name}: HELP ends with a full stop"
        );
        if let Some(unit) = desc.unit {
            assert!(
                desc.name.ends_with(&format!("_{unit}")),
                "{name}: unit {unit} is not its suffix"
            );
        }
    }
}
