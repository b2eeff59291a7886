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

#[test]
fn every_family_carries_its_owners_prefix_and_prefixes_do_not_overlap() {
    use quota_exporter::catalogue::{families, EXPORTER_PREFIX, PROCESS_PREFIX};
    let prefix_of = |owner: &str| match owner {
        "exporter" => EXPORTER_PREFIX,
        "process" => PROCESS_PREFIX,
        v => quota_exporter::vendors::by_name(v).unwrap().metric_prefix,
    };
    for (owner, desc) in families() {
        let name = desc.sample_name_string();
        assert!(
            name.starts_with(prefix_of(owner)),
            "{owner}: {name} does not start with {}",
            prefix_of(owner)
        );
    }
    let mut prefixes: Vec<&str> = VENDORS.iter().map(|v| v.metric_prefix).collect();
    prefixes.extend([EXPORTER_PREFIX, PROCESS_PREFIX]);
    for a in &prefixes {
        assert!(a.ends_with('_'), "prefix {a} should end with _");
        for b in &prefixes {
            assert!(
                a == b || !a.starts_with(b),
                "prefix {a} starts with prefix {b}"
            );
        }
    }
}

#[test]
fn every_vendor_is_simulated_and_every_simulated_vendor_exists() {
    use quota_exporter::simulator::SIMULATED;
    let vendors: Vec<&str> = VENDORS.iter().map(|v| v.name).collect();
    let simulated: Vec<&str> = SIMULATED.iter().map(|s| s.vendor).collect();
    assert_eq!(
        vendors, simulated,
        "simulator::SIMULATED must follow VENDORS"
    );
    for s in SIMULATED {
        assert!(!s.paths().is_empty(), "{} serves no route", s.vendor);
    }
}

#[test]
fn print_catalogue_lists_every_vendor_and_family() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quota-exporter"))
        .arg("--print-catalogue")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vendors = doc["vendors"].as_array().unwrap();
    assert_eq!(vendors.len(), VENDORS.len());
    for (v, def) in vendors.iter().zip(VENDORS) {
        assert_eq!(v["name"], def.name);
        assert_eq!(v["metric_prefix"], def.metric_prefix);
        assert_eq!(v["dashboard"], def.dashboard);
        assert!(
            !v["demo_accounts"].as_array().unwrap().is_empty(),
            "{}: no demo account",
            def.name
        );
        assert!(
            !v["simulator_routes"].as_array().unwrap().is_empty(),
            "{}: no simulator route",
            def.name
        );
    }
    let families = doc["families"].as_array().unwrap();
    assert_eq!(families.len(), every_metric().len());
    for ((owner, desc), f) in every_metric().into_iter().zip(families) {
        assert_eq!(f["name"], desc.name);
        assert_eq!(f["help"], desc.help);
        assert_eq!(f["type"], desc.kind.as_str());
        assert_eq!(f["unit"].as_str(), desc.unit);
        let owner = if owner == "quota_exporter" {
            "exporter"
        } else {
            owner
        };
        assert_eq!(f["owner"], owner);
    }
}

fn repo_file(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A YAML config has a top-level section for the vendor.
fn has_section(yaml: &str, name: &str) -> bool {
    yaml.lines().any(|l| l.trim_end() == format!("{name}:"))
}

#[test]
fn every_vendor_is_in_every_place_that_must_know_it() {
    let readme = repo_file("README.md");
    let metrics_doc = repo_file("docs/metrics.md");
    let recording = repo_file("deploy/prometheus/rules/recording.yml");
    let demo = repo_file("config/demo.yml");
    let example = repo_file("config/example.yml");
    let guide = repo_file("docs/adding-a-vendor.md");
    for v in VENDORS {
        let name = v.name;
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md does not name the vendor `{name}`"
        );
        assert!(
            metrics_doc.contains(&format!("`{}", v.metric_prefix)),
            "docs/metrics.md has no {} family",
            v.metric_prefix
        );
        if let Some(page) = v.docs_page {
            let text = repo_file(&format!("docs/vendors/{page}"));
            assert!(
                text.contains(name),
                "docs/vendors/{page} does not name its config section `{name}`"
            );
        }
        let dashboard = repo_file(&format!("dashboards/{}", v.dashboard));
        assert!(
            dashboard.contains(v.metric_prefix),
            "dashboards/{} shows no {} series",
            v.dashboard,
            v.metric_prefix
        );
        assert!(
            recording.contains(&format!("vendor: {name}"))
                || recording.contains(&format!("vendor=\"{name}\"")),
            "deploy/prometheus/rules/recording.yml has no rule for {name}"
        );
        assert!(
            has_section(&demo, name),
            "config/demo.yml has no {name} section"
        );
        assert!(
            has_section(&example, name),
            "config/example.yml has no {name} section"
        );
    }
    // The guide names the places it promises tests for.
    for place in [
        "src/vendors/mod.rs",
        "src/simulator/mod.rs",
        "config/demo.yml",
        "config/example.yml",
        "docs/metrics.md",
        "README.md",
        "--print-catalogue",
    ] {
        assert!(
            guide.contains(place),
            "docs/adding-a-vendor.md does not name {place}"
        );
    }
}
