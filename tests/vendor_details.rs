//! Vendor details that change without a reload: secrets rotated in their files, a bearer token
//! file holding the whole header value. The exporter in process against the simulator.

mod common;

use common::{value, Harness};
use quota_exporter::config::Config;
use quota_exporter::simulator::tencent::Tenant;
use quota_exporter::simulator::{Fault, FaultRule, Simulator};

const FAST: &str =
    "defaults:\n  interval: 1s\n  timeout: 800ms\n  startup_spread: 0s\n  retries: 0\n  jitter: 0\n  max_staleness: 1m\n";

fn metric(text: &str, name: &str, vendor: &str, account: &str, extra: &str) -> f64 {
    value(
        text,
        &format!("{name}{{vendor=\"{vendor}\",account=\"{account}\"{extra}}}"),
    )
    .unwrap_or(0.0)
}

fn auth_failures(text: &str, vendor: &str, account: &str) -> f64 {
    metric(
        text,
        "quota_exporter_poll_failures_total",
        vendor,
        account,
        ",reason=\"auth\"",
    )
}

fn polls(text: &str, vendor: &str, account: &str) -> f64 {
    metric(text, "quota_exporter_polls_total", vendor, account, "")
}

/// Waits until `account` has polled twice more, and returns the exposition.
async fn two_more_polls(h: &Harness, vendor: &str, account: &str) -> String {
    let before = polls(&h.metrics().await, vendor, account);
    h.metrics_until("two more polls", |t| {
        polls(t, vendor, account) >= before + 2.0
    })
    .await
}

/// Rotated temporary credentials (an STS session token refreshed into a file) are used from the
/// next poll on; they used to be read once, at load, and fail until a reload.
#[tokio::test]
async fn a_rotated_tencent_session_token_is_used_without_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "sts-token-1\n").unwrap();
    let mut tenant = Tenant::new(
        "sts",
        "AKIDsts",
        "key-of-sts",
        serde_json::from_str(include_str!(
            "fixtures/tencentcloud_cwp/describe_license_general.json"
        ))
        .unwrap(),
    );
    tenant.session_token = Some("sts-token-1".into());
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    sim.state
        .vendor::<quota_exporter::simulator::tencent::TencentState>()
        .add_tenant(tenant);
    let yaml = format!(
        "{FAST}tencentcloud_cwp:\n  - name: sts\n    secret_id: AKIDsts\n    secret_key: key-of-sts\n    session_token: {{ file: {} }}\n    endpoint: ${{SIMULATOR_URL}}\n",
        token_file.display()
    );
    let h = Harness::start_with_sim(sim, &yaml).await;
    let vendor = "tencentcloud_cwp";
    h.metrics_until("up", |t| {
        metric(t, "quota_exporter_up", vendor, "sts", "") == 1.0
    })
    .await;

    // The vendor rotates the token; until the file has the new one, polls fail.
    for t in h
        .sim
        .state
        .vendor::<quota_exporter::simulator::tencent::TencentState>()
        .tenants
        .lock()
        .unwrap()
        .iter_mut()
    {
        if t.name == "sts" {
            t.session_token = Some("sts-token-2".into());
        }
    }
    h.metrics_until("auth failure with the old token", |t| {
        auth_failures(t, vendor, "sts") >= 1.0
    })
    .await;
    std::fs::write(&token_file, "sts-token-2\n").unwrap();
    let t = h
        .metrics_until("up with the new token", |t| {
            metric(t, "quota_exporter_up", vendor, "sts", "") == 1.0
        })
        .await;
    let failed = auth_failures(&t, vendor, "sts");
    let t = two_more_polls(&h, vendor, "sts").await;
    assert_eq!(auth_failures(&t, vendor, "sts"), failed, "{t}");
    h.stop().await;
}

/// The KooDrive app secret and WeCom secret are read again too: a wrong one written to the file
/// fails the next poll (it used to go unnoticed until a reload), the right one recovers.
#[tokio::test]
async fn rotated_koodrive_and_wecom_secrets_are_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let kd_secret = dir.path().join("kd");
    let wc_secret = dir.path().join("wc");
    std::fs::write(&kd_secret, "demo-app-secret-acme\n").unwrap();
    std::fs::write(&wc_secret, "demo-secret-acme\n").unwrap();
    let yaml = format!(
        "{FAST}koodrive:\n  - name: kd\n    app_id: demo-app-acme\n    app_secret: {{ file: {} }}\n    user_id: \"1505084218764547200\"\n    base_url: ${{SIMULATOR_URL}}\n\
         wecom_wedrive:\n  - name: wc\n    corp_id: wwdemo0acme\n    secret: {{ file: {} }}\n    base_url: ${{SIMULATOR_URL}}\n",
        kd_secret.display(),
        wc_secret.display()
    );
    let h = Harness::start(&yaml).await;
    h.metrics_until("both up", |t| {
        metric(t, "quota_exporter_up", "koodrive", "kd", "") == 1.0
            && metric(t, "quota_exporter_up", "wecom_wedrive", "wc", "") == 1.0
    })
    .await;

    std::fs::write(&kd_secret, "a-wrong-secret\n").unwrap();
    h.metrics_until("KooDrive refuses the wrong secret", |t| {
        auth_failures(t, "koodrive", "kd") >= 1.0
    })
    .await;
    std::fs::write(&kd_secret, "demo-app-secret-acme\n").unwrap();
    h.metrics_until("KooDrive up again", |t| {
        metric(t, "quota_exporter_up", "koodrive", "kd", "") == 1.0
    })
    .await;

    // WeCom's secret is used when a token is fetched: an expired token makes the next fetch.
    std::fs::write(&wc_secret, "a-wrong-secret\n").unwrap();
    h.sim
        .state
        .vendor::<quota_exporter::simulator::wecom::WeComState>()
        .expire_tokens(None);
    h.metrics_until("WeCom refuses the wrong secret", |t| {
        auth_failures(t, "wecom_wedrive", "wc") >= 1.0
    })
    .await;
    std::fs::write(&wc_secret, "demo-secret-acme\n").unwrap();
    h.metrics_until("WeCom up again", |t| {
        metric(t, "quota_exporter_up", "wecom_wedrive", "wc", "") == 1.0
    })
    .await;
    h.stop().await;
}

/// A token file holding the whole header value (`Bearer …`, as some tools write it) works; the
/// token used to be sent as `Bearer Bearer …` and refused.
#[tokio::test]
async fn a_bearer_prefix_in_the_token_file_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "Bearer demo-bearer-initech\n").unwrap();
    let yaml = format!(
        "{FAST}koodrive:\n  - name: kd\n    bearer_token: {{ file: {} }}\n    base_url: ${{SIMULATOR_URL}}\n",
        token.display()
    );
    let h = Harness::start(&yaml).await;
    let t = h
        .metrics_until("up", |t| {
            metric(t, "quota_exporter_up", "koodrive", "kd", "") == 1.0
                || auth_failures(t, "koodrive", "kd") >= 1.0
        })
        .await;
    assert_eq!(auth_failures(&t, "koodrive", "kd"), 0.0, "{t}");
    h.stop().await;
}

/// `send_trace_id: false` sends no `X-Traceid` (and names none in failures).
#[tokio::test]
async fn the_trace_id_is_a_setting() {
    let account = |name: &str, extra: &str| {
        format!("  - name: {name}\n    bearer_token: demo-bearer-initech\n    base_url: ${{SIMULATOR_URL}}\n{extra}")
    };
    let yaml = format!(
        "{FAST}koodrive:\n{}{}",
        account("traced", ""),
        account("untraced", "    send_trace_id: false\n")
    );
    let h = Harness::start(&yaml).await;
    h.fault(FaultRule {
        vendor: "koodrive".into(),
        tenant: None,
        endpoint: None,
        fault: Fault::HttpStatus { status: 500 },
        times: None,
    });
    let failed = |t: &str, a: &str| {
        metric(
            t,
            "quota_exporter_poll_failures_total",
            "koodrive",
            a,
            ",reason=\"http_status\"",
        )
    };
    h.metrics_until("both fail", |t| {
        failed(t, "traced") >= 1.0 && failed(t, "untraced") >= 1.0
    })
    .await;
    let page = h.page().await;
    assert_eq!(page.matches("[X-Traceid ").count(), 1, "{page}");
    h.stop().await;
}

#[test]
fn a_bearer_interval_beyond_the_token_idle_lifetime_warns() {
    let yaml = |interval: &str| {
        format!("koodrive:\n  - name: kd\n    bearer_token: t0ken\n    interval: {interval}\n")
    };
    let config = Config::from_yaml(&yaml("30m")).unwrap();
    assert!(
        config
            .warnings
            .iter()
            .any(|w| w.contains("(kd)") && w.contains("20m idle lifetime")),
        "{:?}",
        config.warnings
    );
    let config = Config::from_yaml(&yaml("15m")).unwrap();
    assert!(
        !config.warnings.iter().any(|w| w.contains("idle lifetime")),
        "{:?}",
        config.warnings
    );
    // App signatures have no token to expire.
    let app = "koodrive:\n  - name: kd\n    app_id: a\n    app_secret: s3cret\n    user_id: u\n    interval: 1h\n";
    let config = Config::from_yaml(app).unwrap();
    assert!(!config.warnings.iter().any(|w| w.contains("idle lifetime")));
}
