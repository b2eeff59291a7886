//! Huawei KooDrive end to end: the exporter in process against the simulator, which verifies
//! signatures, X-Date and X-Traceid on its own. Every wait is bounded polling, never a sleep.

mod common;

use common::{eventually, value, Harness};
use quota_exporter::simulator::{Fault, FaultRule, Simulator};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const KIB: f64 = 1024.0;

/// Fast polling for tests: first poll at once, then every second, quick retries.
const DEFAULTS: &str = "defaults:
  interval: 1s
  timeout: 800ms
  startup_spread: 0s
  retry_backoff: 10ms
  jitter: 0
";

const ACME_APP: &str = "  - name: acme-cn
    app_id: demo-app-acme
    app_secret: demo-app-secret-acme
    user_id: \"1505084218764547200\"
    base_url: ${SIMULATOR_URL}
";

fn config(extra_defaults: &str, accounts: &str) -> String {
    format!("{DEFAULTS}{extra_defaults}koodrive:\n{accounts}")
}

fn series(name: &str, account: &str, labels: &str) -> String {
    if labels.is_empty() {
        format!("{name}{{account=\"{account}\"}}")
    } else {
        format!("{name}{{account=\"{account}\",{labels}}}")
    }
}

fn own(name: &str, account: &str, labels: &str) -> String {
    let extra = if labels.is_empty() {
        String::new()
    } else {
        format!(",{labels}")
    };
    format!("{name}{{vendor=\"koodrive\",account=\"{account}\"{extra}}}")
}

fn failures(text: &str, account: &str, reason: &str) -> f64 {
    value(
        text,
        &own(
            "quota_exporter_poll_failures_total",
            account,
            &format!("reason=\"{reason}\""),
        ),
    )
    .unwrap_or(0.0)
}

fn up(text: &str, account: &str) -> Option<f64> {
    value(text, &own("quota_exporter_up", account, ""))
}

async fn landing(h: &Harness) -> String {
    reqwest::get(h.url("/"))
        .await
        .expect("landing page")
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn demo_config_exports_both_tenants() {
    let h = Harness::start(quota_exporter::DEMO_CONFIG).await;
    let text = h
        .metrics_until("both KooDrive demo tenants polled", |t| {
            value(t, &series("koodrive_users", "acme-cn", "")).is_some()
                && value(t, &series("koodrive_users", "initech-intl", "")).is_some()
        })
        .await;
    let acme = |name: &str, labels: &str| value(&text, &series(name, "acme-cn", labels));

    // The documentation's example answer: 10240 GB capacity, used space in KiB.
    assert_eq!(acme("koodrive_capacity_bytes", ""), Some(10240.0 * GIB));
    assert_eq!(
        acme("koodrive_used_bytes", "space=\"department\""),
        Some(1975057.0 * KIB)
    );
    assert_eq!(
        acme("koodrive_used_bytes", "space=\"group\""),
        Some(1844815.0 * KIB)
    );
    // Personal space grows slowly in the simulator.
    assert!(acme("koodrive_used_bytes", "space=\"personal\"").unwrap() >= 3933426.0 * KIB);
    assert_eq!(
        acme("koodrive_quota_bytes", "space=\"department\""),
        Some(6144.0 * GIB)
    );
    assert_eq!(
        acme("koodrive_quota_bytes", "space=\"personal\""),
        Some(2048.0 * GIB)
    );
    assert_eq!(
        acme("koodrive_quota_bytes", "space=\"reserved\""),
        Some(0.0)
    );
    assert_eq!(
        acme("koodrive_quota_allocated_bytes", "space=\"group\""),
        Some(250.0 * GIB)
    );
    assert_eq!(acme("koodrive_users", ""), Some(20.0));
    assert_eq!(acme("koodrive_users_limit", ""), Some(100.0));
    assert_eq!(
        acme("koodrive_package_download_retention_seconds", ""),
        Some(7.0 * 86400.0)
    );
    assert_eq!(
        acme("koodrive_service_state", "state=\"normal\""),
        Some(1.0)
    );
    assert_eq!(
        acme("koodrive_service_state", "state=\"frozen\""),
        Some(0.0)
    );
    assert_eq!(acme("koodrive_service_status_code", ""), Some(0.0));
    assert_eq!(
        acme("koodrive_subscription_capacity_bytes", ""),
        Some(10240.0 * GIB)
    );
    assert_eq!(acme("koodrive_subscription_users_limit", ""), Some(100.0));
    assert_eq!(
        acme("koodrive_default_space_bytes", "space=\"department\""),
        Some(50.0 * GIB)
    );
    assert_eq!(
        acme("koodrive_feature_enabled", "feature=\"ai\""),
        Some(1.0)
    );
    assert!(text.contains(
        "koodrive_info{account=\"acme-cn\",tenant_id=\"40086000004871666\",organization_id=\"9190086000001210958\",\
         organization_name=\"Acme China\",product_type=\"1\"} 1\n"
    ));

    // initech-intl: bearer token, frozen, and every number sent as a string.
    let initech = |name: &str, labels: &str| value(&text, &series(name, "initech-intl", labels));
    assert_eq!(
        initech("koodrive_service_state", "state=\"frozen\""),
        Some(1.0)
    );
    assert_eq!(
        initech("koodrive_service_state", "state=\"normal\""),
        Some(0.0)
    );
    assert_eq!(initech("koodrive_service_status_code", ""), Some(1.0));
    assert_eq!(initech("koodrive_capacity_bytes", ""), Some(2048.0 * GIB));
    assert_eq!(initech("koodrive_users", ""), Some(48.0));
    assert_eq!(
        initech("koodrive_feature_enabled", "feature=\"ai\""),
        Some(0.0)
    );

    assert_eq!(up(&text, "acme-cn"), Some(1.0));
    assert!(
        value(
            &text,
            &own(
                "quota_exporter_api_requests_total",
                "acme-cn",
                "endpoint=\"quotaUsed\""
            )
        )
        .unwrap()
            >= 1.0
    );
    assert!(
        value(
            &text,
            &own(
                "quota_exporter_api_requests_total",
                "acme-cn",
                "endpoint=\"service\""
            )
        )
        .unwrap()
            >= 1.0
    );
    h.stop().await;
}

#[tokio::test]
async fn string_typed_answers_decode() {
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    sim.state
        .vendor::<quota_exporter::simulator::koodrive::KooDriveState>()
        .update("acme-cn", |t| t.strings = true);
    let h = Harness::start_with_sim(sim, &config("", ACME_APP)).await;
    let text = h
        .metrics_until("acme-cn polled", |t| up(t, "acme-cn") == Some(1.0))
        .await;
    assert_eq!(
        value(&text, &series("koodrive_capacity_bytes", "acme-cn", "")),
        Some(10240.0 * GIB)
    );
    assert_eq!(
        value(&text, &series("koodrive_users_limit", "acme-cn", "")),
        Some(100.0)
    );
    assert_eq!(
        value(
            &text,
            &series("koodrive_feature_enabled", "acme-cn", "feature=\"wps\"")
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            &series("koodrive_service_state", "acme-cn", "state=\"normal\"")
        ),
        Some(1.0)
    );
    h.stop().await;
}

#[tokio::test]
async fn rejected_credentials_are_auth_failures_and_never_shown() {
    const APP_SECRET: &str = "wrong-app-secret-SENTINEL-4f9d2c";
    const TOKEN: &str = "revoked-bearer-SENTINEL-77a1e0";
    let accounts = format!(
        "  - name: acme-cn
    app_id: demo-app-acme
    app_secret: {APP_SECRET}
    user_id: \"1505084218764547200\"
    base_url: ${{SIMULATOR_URL}}
  - name: initech-intl
    bearer_token: {TOKEN}
    base_url: ${{SIMULATOR_URL}}
  - name: acme-not-admin
    app_id: demo-app-acme
    app_secret: demo-app-secret-acme
    user_id: \"42\"
    base_url: ${{SIMULATOR_URL}}
"
    );
    let h = Harness::start(&config("", &accounts)).await;
    let text = h
        .metrics_until("auth failures counted", |t| {
            failures(t, "acme-cn", "auth") >= 1.0
                && failures(t, "initech-intl", "auth") >= 1.0
                && failures(t, "acme-not-admin", "permission") >= 1.0
        })
        .await;
    assert_eq!(up(&text, "acme-cn"), Some(0.0));
    // Auth failures are not retried within a poll: each poll sends one request.
    assert_eq!(failures(&text, "acme-cn", "http_status"), 0.0);

    let page = landing(&h).await;
    for text in [&page, &text, &h.metrics().await] {
        assert!(!text.contains("SENTINEL"), "a secret leaked:\n{text}");
    }
    assert!(page.contains("app signature rejected"), "{page}");
    assert!(page.contains("bearer token rejected"), "{page}");
    assert!(page.contains("[X-Traceid "), "{page}");
    h.stop().await;
}

#[tokio::test]
async fn bearer_token_is_read_again_on_every_poll() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("koodrive-token");
    std::fs::write(&file, "demo-bearer-acme\n").unwrap();
    let accounts = format!(
        "  - name: acme-cn\n    bearer_token: {{ file: {} }}\n    base_url: ${{SIMULATOR_URL}}\n",
        file.display()
    );
    let h = Harness::start(&config("", &accounts)).await;
    h.metrics_until("first poll with the first token", |t| {
        up(t, "acme-cn") == Some(1.0)
    })
    .await;

    // The vendor revokes the token: polls fail until the refresher writes a new one.
    h.sim
        .state
        .vendor::<quota_exporter::simulator::koodrive::KooDriveState>()
        .expire_tokens("acme-cn");
    h.metrics_until("the revoked token rejected", |t| {
        failures(t, "acme-cn", "auth") >= 1.0 && up(t, "acme-cn") == Some(0.0)
    })
    .await;
    h.sim
        .state
        .vendor::<quota_exporter::simulator::koodrive::KooDriveState>()
        .update("acme-cn", |t| {
            t.bearer_tokens.push("rotated-bearer-2".into())
        });
    std::fs::write(&file, "rotated-bearer-2\n").unwrap();
    let text = h
        .metrics_until("a poll with the rotated token", |t| {
            up(t, "acme-cn") == Some(1.0)
        })
        .await;
    assert_eq!(
        value(&text, &series("koodrive_users", "acme-cn", "")),
        Some(20.0)
    );
    h.stop().await;
}

#[tokio::test]
async fn faults_map_to_reasons() {
    let accounts = format!("{ACME_APP}  - name: initech-intl\n    bearer_token: demo-bearer-initech\n    base_url: ${{SIMULATOR_URL}}\n");
    let h = Harness::start(&config("  retries: 0\n", &accounts)).await;
    h.metrics_until("both accounts up", |t| {
        up(t, "acme-cn") == Some(1.0) && up(t, "initech-intl") == Some(1.0)
    })
    .await;

    let cases = [
        ("acme-cn", Fault::HttpStatus { status: 500 }, "http_status"),
        ("acme-cn", Fault::HttpStatus { status: 403 }, "permission"),
        ("acme-cn", Fault::HttpStatus { status: 401 }, "auth"),
        ("acme-cn", Fault::MalformedJson, "decode"),
        ("acme-cn", Fault::WrongTypes, "decode"),
        (
            "acme-cn",
            Fault::VendorError {
                code: "31001".into(),
            },
            "api",
        ),
        (
            "acme-cn",
            Fault::VendorError {
                code: "APIGW.0308".into(),
            },
            "rate_limited",
        ),
        (
            "acme-cn",
            Fault::RateLimit {
                retry_after_secs: Some(1),
            },
            "rate_limited",
        ),
        ("acme-cn", Fault::Hang, "timeout"),
        ("initech-intl", Fault::ExpireTokens, "auth"),
    ];
    for (account, fault, reason) in cases {
        let before = failures(&h.metrics().await, account, reason);
        h.fault(FaultRule {
            vendor: "koodrive".into(),
            tenant: Some(account.into()),
            endpoint: None,
            fault: fault.clone(),
            times: None,
        });
        h.metrics_until(&format!("{fault:?} counted as {reason}"), |t| {
            failures(t, account, reason) > before
        })
        .await;
        h.sim.state.clear_faults();
    }
    let page = landing(&h).await;
    assert!(page.contains("bearer token rejected"), "{page}");
    h.stop().await;
}

#[tokio::test]
async fn passing_faults_are_retried_within_the_poll() {
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let once = |endpoint: &str, fault: Fault| FaultRule {
        vendor: "koodrive".into(),
        tenant: Some("acme-cn".into()),
        endpoint: Some(endpoint.into()),
        fault,
        times: Some(1),
    };
    sim.state
        .add_fault(once("quotaUsed", Fault::HttpStatus { status: 503 }));
    sim.state.add_fault(once(
        "service",
        Fault::RateLimit {
            retry_after_secs: Some(0),
        },
    ));
    // A long interval: exactly one poll, whose retries absorb both faults.
    let yaml = config("", ACME_APP)
        .replace("interval: 1s", "interval: 1h")
        .replace("timeout: 800ms", "timeout: 10s");
    let h = Harness::start_with_sim(sim, &yaml).await;
    let text = h
        .metrics_until("the first poll", |t| {
            value(t, &own("quota_exporter_polls_total", "acme-cn", "")) == Some(1.0)
        })
        .await;
    assert_eq!(up(&text, "acme-cn"), Some(1.0));
    for reason in ["http_status", "rate_limited"] {
        assert_eq!(failures(&text, "acme-cn", reason), 0.0);
    }
    // Attempt 1: quotaUsed 503. Attempt 2: quotaUsed, service 429. Attempt 3: both fine.
    assert_eq!(
        value(
            &text,
            &own(
                "quota_exporter_api_requests_total",
                "acme-cn",
                "endpoint=\"quotaUsed\""
            )
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &text,
            &own(
                "quota_exporter_api_requests_total",
                "acme-cn",
                "endpoint=\"service\""
            )
        ),
        Some(2.0)
    );
    h.stop().await;
}

#[tokio::test]
async fn x_date_outside_the_window_is_rejected_with_a_clock_hint() {
    let h = Harness::start(&config("", ACME_APP)).await;
    h.metrics_until("acme-cn up", |t| up(t, "acme-cn") == Some(1.0))
        .await;

    // The vendor's clock 20 minutes ahead: our X-Date is too old.
    h.sim
        .state
        .vendor::<quota_exporter::simulator::koodrive::KooDriveState>()
        .set_clock_skew(20 * 60);
    h.metrics_until("an X-Date too old", |t| {
        failures(t, "acme-cn", "auth") >= 1.0
    })
    .await;
    let page = landing(&h).await;
    assert!(
        page.contains("X-Date rejected") && page.contains("clock"),
        "{page}"
    );

    // The vendor's clock a minute behind: our X-Date is in its future.
    h.sim
        .state
        .vendor::<quota_exporter::simulator::koodrive::KooDriveState>()
        .set_clock_skew(-60);
    let before = failures(&h.metrics().await, "acme-cn", "auth");
    h.metrics_until("an X-Date from the future", |t| {
        failures(t, "acme-cn", "auth") > before
    })
    .await;
    eventually("the landing page says why", || async {
        landing(&h).await.contains("X-Date is in the future")
    })
    .await;

    // Ten minutes of skew is within the window.
    h.sim
        .state
        .vendor::<quota_exporter::simulator::koodrive::KooDriveState>()
        .set_clock_skew(10 * 60);
    h.metrics_until("acme-cn up again", |t| up(t, "acme-cn") == Some(1.0))
        .await;

    // The vendor's clock 10 seconds behind ours (this host runs fast): X-Date is signed 30 s in
    // the past, so a vendor that refuses any future X-Date still accepts it.
    h.sim
        .state
        .vendor::<quota_exporter::simulator::koodrive::KooDriveState>()
        .set_clock_skew(-10);
    let t = h.metrics().await;
    let (auth_before, polls_before) = (failures(&t, "acme-cn", "auth"), polls(&t, "acme-cn"));
    h.metrics_until("three more polls", |t| {
        polls(t, "acme-cn") >= polls_before + 3.0
    })
    .await;
    let t = h.metrics().await;
    assert_eq!(failures(&t, "acme-cn", "auth"), auth_before, "{t}");
    assert_eq!(up(&t, "acme-cn"), Some(1.0));
    h.stop().await;
}

fn polls(text: &str, account: &str) -> f64 {
    value(text, &own("quota_exporter_polls_total", account, "")).unwrap_or(0.0)
}
