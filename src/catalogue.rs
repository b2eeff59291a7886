//! The catalogue: every vendor and every metric family the exporter knows, as one JSON document
//! (`quota-exporter --print-catalogue`).
//!
//! Nothing here is a list of its own: vendors come from [`crate::vendors::VENDORS`], their
//! simulated routes from [`crate::simulator::SIMULATED`], their demo accounts from the demo
//! configuration, the exporter's own families from [`crate::render::OWN_METRICS`] and
//! [`crate::process::PROCESS_METRICS`]. The checks in `scripts/checks/` and the tests read it
//! instead of keeping copies.

use serde_json::{json, Value};

use crate::daemon::ConfigSource;
use crate::exposition::MetricDesc;
use crate::process::PROCESS_METRICS;
use crate::render::OWN_METRICS;
use crate::simulator::SIMULATED;
use crate::vendors::{VendorDef, RENAMED_SECTIONS, VENDORS};

/// Prefix of the exporter's own series.
pub const EXPORTER_PREFIX: &str = "quota_exporter_";
/// Prefix of the process series.
pub const PROCESS_PREFIX: &str = "process_";
/// The dashboard showing the exporter's own series.
pub const HEALTH_DASHBOARD: &str = "quota-exporter-health.json";

/// Who produces a metric family: a vendor (its name), the exporter or the process.
pub fn families() -> Vec<(&'static str, &'static MetricDesc)> {
    let own = OWN_METRICS.iter().map(|d| ("exporter", *d));
    let process = PROCESS_METRICS.iter().map(|d| ("process", *d));
    let vendors = VENDORS
        .iter()
        .flat_map(|v| v.metrics.iter().map(move |d| (v.name, *d)));
    own.chain(process).chain(vendors).collect()
}

/// Names of the demo's accounts of a vendor, from the demo configuration.
pub fn demo_accounts(vendor: &VendorDef) -> Vec<String> {
    // The simulator's address does not matter: nothing is polled.
    let config = ConfigSource::demo("http://127.0.0.1:9").load();
    config
        .map(|c| {
            c.accounts
                .iter()
                .filter(|a| a.vendor.name == vendor.name)
                .map(|a| a.name.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn family(owner: &str, d: &MetricDesc) -> Value {
    json!({
        "name": d.name,
        "sample_name": d.sample_name_string(),
        "type": d.kind.as_str(),
        "unit": d.unit,
        "help": d.help,
        "owner": owner,
    })
}

fn vendor(v: &VendorDef) -> Value {
    let routes = SIMULATED
        .iter()
        .find(|s| s.vendor == v.name)
        .map(|s| s.paths())
        .unwrap_or_default();
    json!({
        "name": v.name,
        "title": v.title,
        "config_section": v.name,
        "old_config_sections": RENAMED_SECTIONS
            .iter()
            .filter(|(_, new)| *new == v.name)
            .map(|(old, _)| *old)
            .collect::<Vec<_>>(),
        "metric_prefix": v.metric_prefix,
        "dashboard": v.dashboard,
        "docs_page": v.docs_page.map(|p| format!("docs/vendors/{p}")),
        "default_interval_seconds": v.default_interval.as_secs_f64(),
        "families": v.metrics.iter().map(|d| d.name).collect::<Vec<_>>(),
        "simulator_routes": routes,
        "demo_accounts": demo_accounts(v),
    })
}

/// The whole catalogue as JSON.
pub fn json() -> Value {
    json!({
        "vendors": VENDORS.iter().map(|v| vendor(v)).collect::<Vec<_>>(),
        "exporter": {
            "metric_prefix": EXPORTER_PREFIX,
            "dashboard": HEALTH_DASHBOARD,
        },
        "process": { "metric_prefix": PROCESS_PREFIX },
        "families": families()
            .into_iter()
            .map(|(owner, d)| family(owner, d))
            .collect::<Vec<_>>(),
    })
}
