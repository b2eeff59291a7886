//! What the alerting rules need to know about an account beyond its data: the labels it is
//! routed by (`labels: {team: …, owner: …}`) and the thresholds it is judged by
//! (`thresholds: {storage_warning: 0.8, …}`), both settable in `defaults` and per account.
//!
//! They are exported as series (an info series with the labels; one gauge per threshold) so
//! that the shipped rules join the labels into every alert and compare against the account's
//! own thresholds, falling back to the mixin's defaults for thresholds nobody set
//! (docs/alerting.md). Keeping them in the exporter's config means one line per account
//! instead of a copied rule with an `account!="…"` exclusion.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::exposition::{write_sample, MetricDesc};

pub static ACCOUNT_INFO: MetricDesc = MetricDesc::info(
    "quota_exporter_account",
    "The account's labels from the config (labels: in defaults and the account), for routing alerts; always 1",
);
pub static THRESHOLD_RATIO: MetricDesc = MetricDesc::gauge_with_unit(
    "quota_exporter_alert_threshold_ratio",
    "ratio",
    "A used-share threshold set in the config (thresholds:), by quantity (storage, seats) and severity; absent where the rules' default applies",
);
pub static THRESHOLD_SECONDS: MetricDesc = MetricDesc::gauge_with_unit(
    "quota_exporter_alert_threshold_seconds",
    "seconds",
    "A time-before-expiry threshold set in the config (thresholds:), by quantity (expiry) and severity; absent where the rules' default applies",
);

/// Labels an account cannot carry: they identify series, alerts or rules already.
const RESERVED_LABELS: &[&str] = &[
    "vendor",
    "account",
    "item",
    "job",
    "instance",
    "severity",
    "alertname",
    "alertstate",
    "quantity",
    "le",
    "quantile",
];

/// `thresholds:` as written in the config. Every key is optional: unset ones fall back to
/// `defaults.thresholds`, then to the rules' own defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Share of the storage used above which QuotaStorageNearlyFull warns (rules: 0.85).
    pub storage_warning: Option<f64>,
    /// … and is critical (rules: 0.95).
    pub storage_critical: Option<f64>,
    /// Share of the seats used from which QuotaSeatsNearlyExhausted warns (rules: 0.9).
    pub seats_warning: Option<f64>,
    /// … and QuotaSeatsExhausted is critical (rules: 1).
    pub seats_critical: Option<f64>,
    /// Time before the subscription ends when QuotaSubscriptionExpiring warns (rules: 30d).
    #[serde(default, with = "humantime_serde")]
    pub expiry_warning: Option<Duration>,
    /// … and is critical (rules: 7d).
    #[serde(default, with = "humantime_serde")]
    pub expiry_critical: Option<Duration>,
}

impl Thresholds {
    /// `self` where set, `defaults` elsewhere.
    pub fn or(&self, defaults: &Thresholds) -> Thresholds {
        Thresholds {
            storage_warning: self.storage_warning.or(defaults.storage_warning),
            storage_critical: self.storage_critical.or(defaults.storage_critical),
            seats_warning: self.seats_warning.or(defaults.seats_warning),
            seats_critical: self.seats_critical.or(defaults.seats_critical),
            expiry_warning: self.expiry_warning.or(defaults.expiry_warning),
            expiry_critical: self.expiry_critical.or(defaults.expiry_critical),
        }
    }

    fn ratios(&self) -> [(&'static str, &'static str, &'static str, Option<f64>); 4] {
        [
            (
                "storage_warning",
                "storage",
                "warning",
                self.storage_warning,
            ),
            (
                "storage_critical",
                "storage",
                "critical",
                self.storage_critical,
            ),
            ("seats_warning", "seats", "warning", self.seats_warning),
            ("seats_critical", "seats", "critical", self.seats_critical),
        ]
    }

    fn durations(&self) -> [(&'static str, &'static str, &'static str, Option<Duration>); 2] {
        [
            ("expiry_warning", "expiry", "warning", self.expiry_warning),
            (
                "expiry_critical",
                "expiry",
                "critical",
                self.expiry_critical,
            ),
        ]
    }

    /// Problems with the thresholds, each naming its key under `path`.
    pub fn check(&self, path: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, _, _, v) in self.ratios() {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0 && v <= 10.0) {
                    problems.push(format!(
                        "{path}.thresholds.{key}: must be a share of the total above 0 (0.9 = 90%) and at most 10, found {v}"
                    ));
                }
            }
        }
        for (key, _, _, v) in self.durations() {
            if v.is_some_and(|d| d.is_zero()) {
                problems.push(format!("{path}.thresholds.{key}: must be more than 0"));
            }
        }
        let pairs = [
            ("storage", self.storage_warning, self.storage_critical),
            ("seats", self.seats_warning, self.seats_critical),
        ];
        for (what, warning, critical) in pairs {
            if let (Some(w), Some(c)) = (warning, critical) {
                if w > c {
                    problems.push(format!(
                        "{path}.thresholds: {what}_warning ({w}) is above {what}_critical ({c}); the warning band would be empty"
                    ));
                }
            }
        }
        if let (Some(w), Some(c)) = (self.expiry_warning, self.expiry_critical) {
            if w < c {
                problems.push(format!(
                    "{path}.thresholds: expiry_warning ({}) is shorter than expiry_critical ({}); the warning band would be empty",
                    humantime::format_duration(w),
                    humantime::format_duration(c)
                ));
            }
        }
        problems
    }
}

/// One account's labels and thresholds, defaults merged in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertSettings {
    pub labels: BTreeMap<String, String>,
    pub thresholds: Thresholds,
}

/// `labels:` as written in the config: a mapping of label names to scalar values.
pub type RawLabels = BTreeMap<String, serde_json::Value>;

/// Checks and converts `labels:` under `path`. Numbers and booleans become their text, so
/// `cost_centre: 4711` works as written.
pub fn parse_labels(raw: &RawLabels, path: &str) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut labels = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, value) in raw {
        let valid_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            problems.push(format!(
                "{path}.labels.{name}: not a Prometheus label name (letters, digits and _, not starting with a digit)"
            ));
            continue;
        }
        if name.starts_with("__") || RESERVED_LABELS.contains(&name.as_str()) {
            problems.push(format!(
                "{path}.labels.{name}: reserved (the exporter, Prometheus or the rules set it); pick another name"
            ));
            continue;
        }
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => {
                problems.push(format!(
                    "{path}.labels.{name}: must be a string, number or boolean"
                ));
                continue;
            }
        };
        if text.trim().is_empty() {
            problems.push(format!(
                "{path}.labels.{name}: must not be empty (an empty label is no label in Prometheus)"
            ));
            continue;
        }
        labels.insert(name.clone(), text);
    }
    if problems.is_empty() {
        Ok(labels)
    } else {
        Err(problems)
    }
}

impl AlertSettings {
    /// The account's settings: its own labels and thresholds over the defaults' ones.
    pub fn merged(
        default_labels: &BTreeMap<String, String>,
        default_thresholds: &Thresholds,
        labels: BTreeMap<String, String>,
        thresholds: &Thresholds,
    ) -> Self {
        let mut all = default_labels.clone();
        all.extend(labels);
        Self {
            labels: all,
            thresholds: thresholds.or(default_thresholds),
        }
    }

    /// `quota_exporter_account_info`: one sample, always, so that alerts keep their routing
    /// labels (and accounts without labels still join).
    pub fn write_info(&self, out: &mut String, ident: &[(&str, &str)]) {
        let mut pairs: Vec<(&str, &str)> = ident.to_vec();
        pairs.extend(self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        write_sample(out, &ACCOUNT_INFO, &pairs, &[], 1.0);
    }

    /// The ratio thresholds set for the account, one sample each.
    pub fn write_ratio_thresholds(&self, out: &mut String, ident: &[(&str, &str)]) {
        for (_, quantity, severity, v) in self.thresholds.ratios() {
            if let Some(v) = v {
                write_sample(out, &THRESHOLD_RATIO, ident, &labels(quantity, severity), v);
            }
        }
    }

    /// The duration thresholds set for the account, in seconds.
    pub fn write_seconds_thresholds(&self, out: &mut String, ident: &[(&str, &str)]) {
        for (_, quantity, severity, v) in self.thresholds.durations() {
            if let Some(v) = v {
                let labels = labels(quantity, severity);
                write_sample(out, &THRESHOLD_SECONDS, ident, &labels, v.as_secs_f64());
            }
        }
    }
}

fn labels(quantity: &str, severity: &str) -> Vec<(&'static str, String)> {
    vec![
        ("quantity", quantity.to_owned()),
        ("severity", severity.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: serde_json::Value) -> RawLabels {
        serde_json::from_value(pairs).unwrap()
    }

    #[test]
    fn labels_are_checked_and_scalars_become_text() {
        let ok = parse_labels(
            &raw(serde_json::json!({"team": "drive", "cost_centre": 4711, "paged": true})),
            "x",
        )
        .unwrap();
        assert_eq!(ok["cost_centre"], "4711");
        assert_eq!(ok["paged"], "true");
        let errs = parse_labels(
            &raw(serde_json::json!({"9team": "a", "team-x": "a", "severity": "a", "__x": "a", "owner": "", "l": [1], "item": "a"})),
            "koodrive[0] (a)",
        )
        .unwrap_err();
        assert_eq!(errs.len(), 7, "{errs:?}");
        // `item` names a Microsoft 365 SKU on the rules' series: an account label would clash.
        assert!(errs
            .iter()
            .any(|e| e.starts_with("koodrive[0] (a).labels.item: reserved")));
        assert!(errs
            .iter()
            .any(|e| e.starts_with("koodrive[0] (a).labels.severity: reserved")));
        assert!(errs
            .iter()
            .any(|e| e.contains("labels.team-x: not a Prometheus label name")));
        assert!(errs
            .iter()
            .any(|e| e.contains("labels.owner: must not be empty")));
    }

    #[test]
    fn account_values_win_over_defaults_key_by_key() {
        let defaults = Thresholds {
            storage_warning: Some(0.8),
            storage_critical: Some(0.9),
            ..Default::default()
        };
        let own = Thresholds {
            storage_critical: Some(0.97),
            ..Default::default()
        };
        let d_labels = BTreeMap::from([
            ("team".to_owned(), "it".to_owned()),
            ("owner".to_owned(), "ann".to_owned()),
        ]);
        let s = AlertSettings::merged(
            &d_labels,
            &defaults,
            BTreeMap::from([("team".to_owned(), "drive".to_owned())]),
            &own,
        );
        assert_eq!(s.thresholds.storage_warning, Some(0.8));
        assert_eq!(s.thresholds.storage_critical, Some(0.97));
        assert_eq!(s.thresholds.seats_warning, None);
        assert_eq!(s.labels["team"], "drive");
        assert_eq!(s.labels["owner"], "ann");

        let mut out = String::new();
        s.write_info(&mut out, &[("vendor", "koodrive"), ("account", "a")]);
        s.write_ratio_thresholds(&mut out, &[("vendor", "koodrive"), ("account", "a")]);
        s.write_seconds_thresholds(&mut out, &[("vendor", "koodrive"), ("account", "a")]);
        assert_eq!(
            out,
            "quota_exporter_account_info{vendor=\"koodrive\",account=\"a\",owner=\"ann\",team=\"drive\"} 1\n\
             quota_exporter_alert_threshold_ratio{vendor=\"koodrive\",account=\"a\",quantity=\"storage\",severity=\"warning\"} 0.8\n\
             quota_exporter_alert_threshold_ratio{vendor=\"koodrive\",account=\"a\",quantity=\"storage\",severity=\"critical\"} 0.97\n"
        );
    }

    #[test]
    fn labels_and_thresholds_stay_exported_when_the_data_is_stale() {
        use crate::exposition::{Format, MetricDesc, Samples};
        use crate::render::Renderer;
        use crate::store::{AccountInfo, AccountKey, Store};
        use std::sync::Arc;
        static V: MetricDesc = MetricDesc::gauge("v_seats", "Seats");
        let info = AccountInfo {
            key: AccountKey {
                vendor: "koodrive",
                account: "a".into(),
            },
            interval: Duration::from_millis(10),
            max_staleness: Duration::from_millis(10),
            description: String::new(),
            stats: Default::default(),
            alerting: Arc::new(AlertSettings {
                labels: BTreeMap::from([("team".to_owned(), "drive".to_owned())]),
                thresholds: Thresholds {
                    expiry_critical: Some(Duration::from_secs(86400)),
                    ..Default::default()
                },
            }),
        };
        let renderer = Renderer::new(Arc::new(Store::new()));
        let store = renderer.store();
        store.set_accounts(vec![info.clone()]);
        let mut samples = Samples::new();
        samples.set(&V, 3.0);
        store.record_success(&info.key, samples, Duration::from_millis(1));
        let text = |r: &Renderer| {
            String::from_utf8(r.exposition(Format::Classic).body().to_vec()).unwrap()
        };
        assert!(text(&renderer).contains("v_seats{account=\"a\"} 3"));
        std::thread::sleep(Duration::from_millis(30));
        let t = text(&renderer);
        assert!(!t.contains("v_seats{"), "stale data is dropped:\n{t}");
        assert!(
            t.contains(
                "quota_exporter_max_staleness_seconds{vendor=\"koodrive\",account=\"a\"} 0.01"
            ),
            "{t}"
        );
        assert!(
            t.contains(
                "quota_exporter_account_info{vendor=\"koodrive\",account=\"a\",team=\"drive\"} 1"
            ),
            "{t}"
        );
        assert!(t.contains("quota_exporter_alert_threshold_seconds{vendor=\"koodrive\",account=\"a\",quantity=\"expiry\",severity=\"critical\"} 86400"), "{t}");
    }

    #[test]
    fn thresholds_out_of_range_or_in_the_wrong_order_are_refused() {
        let t: Thresholds = serde_json::from_value(serde_json::json!({
            "storage_warning": 0.96, "storage_critical": 0.95, "seats_warning": 0.0,
            "expiry_warning": "3d", "expiry_critical": "7d"
        }))
        .unwrap();
        let p = t.check("defaults");
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p
            .iter()
            .any(|e| e.contains("storage_warning (0.96) is above storage_critical (0.95)")));
        assert!(p
            .iter()
            .any(|e| e.starts_with("defaults.thresholds.seats_warning: must be a share")));
        assert!(p
            .iter()
            .any(|e| e.contains("expiry_warning (3days) is shorter than expiry_critical (7days)")));
        let unknown =
            serde_json::from_value::<Thresholds>(serde_json::json!({"storage_warn": 0.8}));
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `storage_warn`"));
        let good: Thresholds = serde_json::from_value(
            serde_json::json!({"expiry_warning": "60d", "seats_critical": 1}),
        )
        .unwrap();
        assert!(good.check("x").is_empty());
    }
}
