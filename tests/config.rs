//! Configuration loading and validation, through the public API.

use std::time::Duration;

use quota_exporter::config::Config;

fn problems(yaml: &str) -> Vec<String> {
    Config::from_yaml(yaml)
        .expect_err("config should be refused")
        .problems
}

fn assert_problem(problems: &[String], needles: &[&str]) {
    assert!(
        problems
            .iter()
            .any(|p| needles.iter().all(|n| p.contains(n))),
        "no problem mentions all of {needles:?}; problems: {problems:#?}"
    );
}

const WEDRIVE: &str =
    "wecom_wedrive:\n  - name: acme\n    corp_id: ww1\n    secret: { env: QE_CONFIG_TEST_SET }\n";

fn set_secret() {
    std::env::set_var("QE_CONFIG_TEST_SET", "value");
}

#[test]
fn the_example_config_loads_and_documents_every_default() {
    std::env::set_var("ACME_WEDRIVE_SECRET", "from-env");
    std::env::set_var("TENCENTCLOUD_SECRET_ID", "AKIDexample");
    std::env::set_var("TENCENTCLOUD_SECRET_KEY", "from-env");
    std::env::set_var("ACME_KOODRIVE_APP_SECRET", "from-env");
    std::env::set_var("CONTOSO_M365_CLIENT_SECRET", "from-env");
    std::env::set_var("GITHUB_TOKEN", "from-env");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.yml"))
        .unwrap();
    let config = Config::from_yaml(&text).unwrap_or_else(|e| panic!("example.yml must load:\n{e}"));
    assert!(!config.accounts.is_empty());
    // Every account vendor in the example appears, and every default key is written in it.
    for key in [
        "interval",
        "timeout",
        "max_staleness",
        "retries",
        "retry_backoff",
        "startup_spread",
        "jitter",
        "max_concurrent_polls",
        "labels",
        "thresholds",
        "shard",
    ] {
        assert!(
            text.contains(&format!("{key}:")),
            "example.yml does not document `{key}`"
        );
    }
    for vendor in quota_exporter::vendors::VENDORS {
        assert!(
            config.accounts.iter().any(|a| a.vendor.name == vendor.name),
            "example.yml has no {} account",
            vendor.name
        );
    }
    let acme = config.accounts.iter().find(|a| a.name == "acme").unwrap();
    assert_eq!(acme.schedule.interval, Duration::from_secs(10800));
    assert_eq!(acme.schedule.timeout, Duration::from_secs(20));
}

#[test]
fn defaults_and_overrides_combine() {
    set_secret();
    let config = Config::from_yaml(&format!(
        "defaults:\n  interval: 10m\n  timeout: 5s\n{WEDRIVE}    retries: 0\n"
    ))
    .unwrap();
    let s = &config.accounts[0].schedule;
    assert_eq!(
        (s.interval, s.timeout, s.retries),
        (Duration::from_secs(600), Duration::from_secs(5), 0)
    );
    assert_eq!(
        s.max_staleness,
        Duration::from_secs(1800),
        "3 x interval when unset"
    );
    // Without any interval the vendor's default applies (WeDrive: 3h for its API quota, retries included, so no warning).
    let config = Config::from_yaml(WEDRIVE).unwrap();
    assert_eq!(
        config.accounts[0].schedule.interval,
        Duration::from_secs(10800)
    );
    assert!(config.warnings.is_empty());
}

#[test]
fn a_typo_in_a_key_is_named_with_its_path() {
    set_secret();
    assert_problem(
        &problems(&WEDRIVE.replace("corp_id", "corpid")),
        &["wecom_wedrive[0] (acme)", "corpid"],
    );
    assert_problem(
        &problems(&format!("defaults:\n  intervall: 1h\n{WEDRIVE}")),
        &["defaults", "intervall"],
    );
    assert_problem(
        &problems("wecom_wedrv:\n  - name: x\n"),
        &["wecom_wedrv", "unknown section", "wecom_wedrive"],
    );
}

#[test]
fn a_missing_env_secret_is_named() {
    let p = problems(&WEDRIVE.replace("QE_CONFIG_TEST_SET", "QE_CONFIG_TEST_UNSET"));
    assert_problem(
        &p,
        &[
            "wecom_wedrive[0] (acme).secret",
            "QE_CONFIG_TEST_UNSET is not set",
        ],
    );
    let p = problems(&WEDRIVE.replace(
        "{ env: QE_CONFIG_TEST_SET }",
        "{ file: /nonexistent/secret }",
    ));
    assert_problem(&p, &["secret", "/nonexistent/secret"]);
}

#[test]
fn a_timeout_not_shorter_than_the_interval_is_refused() {
    set_secret();
    assert_problem(
        &problems(&format!("{WEDRIVE}    interval: 30s\n    timeout: 30s\n")),
        &["(acme).timeout", "shorter than the interval"],
    );
    assert_problem(
        &problems(&format!(
            "{WEDRIVE}    interval: 1h\n    max_staleness: 30m\n"
        )),
        &["(acme).max_staleness"],
    );
    assert_problem(
        &problems(&format!("{WEDRIVE}    interval: soon\n")),
        &["wecom_wedrive[0].interval"],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    set_secret();
    let yaml = format!(
        "{WEDRIVE}  - name: acme\n    corp_id: ''\n    secret: {{ env: QE_CONFIG_TEST_SET }}\n  - corp_id: x\n    secret: s\n"
    );
    let p = problems(&yaml);
    assert_problem(&p, &["used more than once", "acme"]);
    assert_problem(&p, &["wecom_wedrive[1] (acme).corp_id", "empty"]);
    assert_problem(&p, &["wecom_wedrive[2].name", "missing"]);
}

#[test]
fn secrets_never_show_in_debug_output() {
    let yaml = "wecom_wedrive:\n  - name: a\n    corp_id: ww1\n    secret: inline-very-secret\n";
    let config = Config::from_yaml(yaml).unwrap();
    assert!(!format!("{config:?}").contains("inline-very-secret"));
    assert!(
        config.warnings.iter().any(|w| w.contains("inline")),
        "inline secrets warn: {:?}",
        config.warnings
    );
}

#[test]
fn a_short_wedrive_interval_warns_about_the_monthly_quota() {
    set_secret();
    let config = Config::from_yaml(&format!("{WEDRIVE}    interval: 30m\n")).unwrap();
    assert!(
        config
            .warnings
            .iter()
            .any(|w| w.contains("2880") && w.contains("1000")),
        "{:?}",
        config.warnings
    );
}

#[test]
fn toml_files_load_too() {
    set_secret();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[defaults]\ninterval = \"3h\"\n\n[[wecom_wedrive]]\nname = \"acme\"\ncorp_id = \"ww1\"\nsecret = { env = \"QE_CONFIG_TEST_SET\" }\n").unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(
        config.accounts[0].schedule.interval,
        Duration::from_secs(3 * 3600)
    );
    assert!(Config::load(&dir.path().join("missing.yml"))
        .unwrap_err()
        .to_string()
        .contains("does not exist"));
}

#[test]
fn sharding_keeps_this_replicas_share() {
    set_secret();
    let names: Vec<String> = (0..30).map(|i| format!("a{i}")).collect();
    let accounts: String = names
        .iter()
        .map(|n| {
            format!("  - name: {n}\n    corp_id: ww\n    secret: {{ env: QE_CONFIG_TEST_SET }}\n")
        })
        .collect();
    let mut seen = Vec::new();
    for index in 0..3 {
        let config =
            Config::from_yaml(&format!("shard: {index}/3\nwecom_wedrive:\n{accounts}")).unwrap();
        assert_eq!(config.accounts.len() + config.other_shards.len(), 30);
        seen.extend(config.accounts.iter().map(|a| a.name.clone()));
    }
    seen.sort();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(
        seen, expected,
        "the shares are disjoint and cover every account"
    );
    assert_problem(&problems("shard: 3/3\n"), &["shard", "INDEX/COUNT"]);
}

#[test]
fn the_old_tencent_cwp_section_name_is_read_with_a_deprecation_warning() {
    let account = |name: &str| {
        format!("  - name: {name}\n    secret_id: AKIDx\n    secret_key: {{ env: QE_CONFIG_TEST_SET }}\n")
    };
    set_secret();
    // The old name alone: the account belongs to the renamed vendor, and the load warns.
    let config = Config::from_yaml(&format!("tencent_cwp:\n{}", account("prod"))).unwrap();
    assert_eq!(config.accounts.len(), 1);
    assert_eq!(config.accounts[0].vendor.name, "tencentcloud_cwp");
    assert!(
        config
            .warnings
            .iter()
            .any(|w| w.contains("tencent_cwp: deprecated") && w.contains("tencentcloud_cwp")),
        "{:?}",
        config.warnings
    );
    // The new name: no warning about it.
    let config = Config::from_yaml(&format!("tencentcloud_cwp:\n{}", account("prod"))).unwrap();
    assert_eq!(config.accounts[0].vendor.name, "tencentcloud_cwp");
    assert!(
        !config.warnings.iter().any(|w| w.contains("deprecated")),
        "{:?}",
        config.warnings
    );
    // Both names are one vendor: an account name may not appear in each.
    let p = problems(&format!(
        "tencentcloud_cwp:\n{}tencent_cwp:\n{}",
        account("prod"),
        account("prod")
    ));
    assert_problem(&p, &["\"prod\"", "more than once"]);
}
