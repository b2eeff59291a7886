//! `labels:` and `thresholds:` in the config: merged from `defaults`, checked with errors that
//! name the key, and exported on the exporter's own series whatever the age of the data.

mod common;

use std::time::Duration;

use common::{value, Harness};
use quota_exporter::config::Config;

const ACCOUNTS: &str = "\
defaults:
  labels: { team: platform, owner: ops }
  thresholds: { storage_warning: 0.8, expiry_warning: 60d }
wecom_wedrive:
  - name: a
    corp_id: ww1
    secret: inline
    labels: { team: drive, cost_centre: 4711 }
    thresholds: { storage_critical: 0.9 }
  - name: b
    corp_id: ww2
    secret: inline
";

#[test]
fn an_accounts_labels_and_thresholds_win_over_the_defaults_key_by_key() {
    let config = Config::from_yaml(ACCOUNTS).unwrap();
    let a = &config
        .accounts
        .iter()
        .find(|x| x.name == "a")
        .unwrap()
        .alerting;
    let b = &config
        .accounts
        .iter()
        .find(|x| x.name == "b")
        .unwrap()
        .alerting;
    assert_eq!(a.labels["team"], "drive");
    assert_eq!(a.labels["owner"], "ops");
    assert_eq!(a.labels["cost_centre"], "4711");
    assert_eq!(b.labels["team"], "platform");
    assert_eq!(a.thresholds.storage_warning, Some(0.8));
    assert_eq!(a.thresholds.storage_critical, Some(0.9));
    assert_eq!(b.thresholds.storage_critical, None);
    assert_eq!(
        b.thresholds.expiry_warning,
        Some(Duration::from_secs(60 * 86400))
    );
}

#[test]
fn bad_labels_and_thresholds_are_named_with_their_path() {
    let problems = Config::from_yaml(
        "defaults:\n  labels: { job: x }\n  thresholds: { seats_warning: 1.5, seats_critical: 1 }\n\
         wecom_wedrive:\n  - name: a\n    corp_id: ww1\n    secret: inline\n\
         \x20   labels: { \"team name\": x }\n    thresholds: { storage_critical: 0.5, storage_warnin: 1 }\n\
         \x20 - name: b\n    corp_id: ww2\n    secret: inline\n    thresholds: { storage_critical: 0.5 }\n",
    )
    .expect_err("refused")
    .problems;
    let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(has("defaults.labels.job: reserved"), "{problems:#?}");
    assert!(
        has("defaults.thresholds: seats_warning (1.5) is above seats_critical (1)"),
        "{problems:#?}"
    );
    assert!(has("unknown field `storage_warnin`"), "{problems:#?}");
    // b's critical alone is fine: only values set in the config are compared with each other
    // (the rules' own defaults may differ from site to site).
    assert!(
        !problems.iter().any(|p| p.starts_with("wecom_wedrive[1]")),
        "{problems:#?}"
    );
    let problems = Config::from_yaml(
        "defaults:\n  thresholds: { storage_warning: 0.8 }\nwecom_wedrive:\n  - name: a\n    corp_id: ww1\n    secret: inline\n\
         \x20   labels: { \"team name\": x }\n    thresholds: { storage_critical: 0.5 }\n",
    )
    .expect_err("refused")
    .problems;
    let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(
        has("wecom_wedrive[0] (a).labels.team name: not a Prometheus label name"),
        "{problems:#?}"
    );
    assert!(
        has("wecom_wedrive[0] (a).thresholds: storage_warning (0.8) is above storage_critical (0.5)"),
        "{problems:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_exports_account_labels_and_thresholds() {
    let h = Harness::start(quota_exporter::DEMO_CONFIG).await;
    let text = h
        .metrics_until("acme up", |t| {
            value(
                t,
                "quota_exporter_up{vendor=\"wecom_wedrive\",account=\"acme\"}",
            ) == Some(1.0)
        })
        .await;
    assert!(
        text.contains("quota_exporter_account_info{vendor=\"wecom_wedrive\",account=\"acme\",owner=\"anna\",team=\"collaboration\"} 1"),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "quota_exporter_alert_threshold_ratio{vendor=\"koodrive\",account=\"acme-cn\",quantity=\"seats\",severity=\"warning\"}"
        ),
        Some(0.2)
    );
    assert_eq!(
        value(
            &text,
            "quota_exporter_alert_threshold_seconds{vendor=\"wecom_wedrive\",account=\"globex\",quantity=\"expiry\",severity=\"warning\"}"
        ),
        Some(45.0 * 86400.0)
    );
    h.stop().await;
}
