//! Tencent Cloud CWP end to end: the exporter against the simulator, which verifies every
//! TC3 signature on its own. Each test has its own simulator and its own tenants.

mod common;

use common::{value, Harness};
use quota_exporter::simulator::tencent::Tenant;
use quota_exporter::simulator::{Fault, FaultRule, Simulator};
use quota_exporter::vendors::tencent::tc3;
use secrecy::SecretString;

/// The example answer on Tencent's DescribeLicenseGeneral page, verbatim.
const EXAMPLE: &str = include_str!("fixtures/tencentcloud_cwp/describe_license_general.json");

/// Only the first poll runs (interval 1h), at once; retries wait 10 ms.
const DEFAULTS: &str =
    "defaults:\n  interval: 1h\n  timeout: 10s\n  startup_spread: 0s\n  retry_backoff: 10ms\n";

fn tenant(name: &str) -> Tenant {
    Tenant::new(
        name,
        &format!("AKIDtest0{name}"),
        &format!("key-of-{name}"),
        serde_json::from_str(EXAMPLE).unwrap(),
    )
}

/// An account block with inline credentials for `tenant`, pointed at the simulator.
fn account(name: &str, secret_id: &str, secret_key: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    secret_id: {secret_id}\n    secret_key: {secret_key}\n    endpoint: ${{SIMULATOR_URL}}\n{extra}"
    )
}

async fn start(tenants: Vec<Tenant>, accounts: &[String]) -> Harness {
    start_with_faults(tenants, vec![], accounts).await
}

/// Tenants and faults are in place before the exporter starts, so the first poll meets them.
async fn start_with_faults(
    tenants: Vec<Tenant>,
    faults: Vec<FaultRule>,
    accounts: &[String],
) -> Harness {
    let sim = Simulator::start(([127, 0, 0, 1], 0).into())
        .await
        .expect("simulator");
    for t in tenants {
        sim.state
            .vendor::<quota_exporter::simulator::tencent::TencentState>()
            .add_tenant(t);
    }
    for f in faults {
        sim.state.add_fault(f);
    }
    Harness::start_with_sim(
        sim,
        &format!("{DEFAULTS}tencentcloud_cwp:\n{}", accounts.concat()),
    )
    .await
}

fn up(account: &str) -> String {
    format!("quota_exporter_up{{vendor=\"tencentcloud_cwp\",account=\"{account}\"}}")
}

fn requests(text: &str, account: &str) -> Option<f64> {
    value(text, &format!("quota_exporter_api_requests_total{{vendor=\"tencentcloud_cwp\",account=\"{account}\",endpoint=\"DescribeLicenseGeneral\"}}"))
}

fn failures(text: &str, account: &str, reason: &str) -> Option<f64> {
    value(text, &format!("quota_exporter_poll_failures_total{{vendor=\"tencentcloud_cwp\",account=\"{account}\",reason=\"{reason}\"}}"))
}

async fn landing(h: &Harness) -> String {
    h.page().await
}

#[tokio::test]
async fn documentation_example_is_exported() {
    let t = tenant("seed");
    let h = start(
        vec![t.clone()],
        &[account("seed", &t.secret_id, &t.secret_key, "")],
    )
    .await;
    let text = h
        .metrics_until("seed polled", |m| value(m, &up("seed")) == Some(1.0))
        .await;
    let expected: &[(&str, f64)] = &[
        ("tencentcloud_cwp_licenses{account=\"seed\"}", 3.0),
        ("tencentcloud_cwp_licenses_available{account=\"seed\"}", 3.0),
        ("tencentcloud_cwp_licenses_used{account=\"seed\"}", 0.0),
        ("tencentcloud_cwp_licenses_unexpired{account=\"seed\"}", 3.0),
        ("tencentcloud_cwp_licenses_expiring{account=\"seed\"}", 0.0),
        ("tencentcloud_cwp_licenses_expired{account=\"seed\"}", 0.0),
        ("tencentcloud_cwp_edition_licenses{account=\"seed\",edition=\"pro\"}", 2.0),
        ("tencentcloud_cwp_edition_licenses{account=\"seed\",edition=\"flagship\"}", 1.0),
        ("tencentcloud_cwp_edition_licenses{account=\"seed\",edition=\"inclusive\"}", 0.0),
        ("tencentcloud_cwp_edition_licenses_available{account=\"seed\",edition=\"pro\"}", 2.0),
        ("tencentcloud_cwp_edition_licenses_available{account=\"seed\",edition=\"flagship\"}", 1.0),
        ("tencentcloud_cwp_edition_licenses_available{account=\"seed\",edition=\"inclusive\"}", 0.0),
        ("tencentcloud_cwp_destroyed_orders{account=\"seed\"}", 0.0),
        ("tencentcloud_cwp_setting_enabled{account=\"seed\",setting=\"auto_upgrade\"}", 1.0),
        ("tencentcloud_cwp_setting_enabled{account=\"seed\",setting=\"auto_upgrade_ever_enabled\"}", 1.0),
        ("tencentcloud_cwp_setting_enabled{account=\"seed\",setting=\"auto_repurchase\"}", 0.0),
        ("tencentcloud_cwp_setting_enabled{account=\"seed\",setting=\"auto_repurchase_renew\"}", 0.0),
        ("tencentcloud_cwp_setting_enabled{account=\"seed\",setting=\"repurchase_renew\"}", 0.0),
        ("tencentcloud_cwp_info{account=\"seed\",protect_type=\"FLAGSHIP_PREPAY\"}", 1.0),
    ];
    for (series, v) in expected {
        assert_eq!(value(&text, series), Some(*v), "{series}\n{text}");
    }
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("tencentcloud_cwp_"))
            .count(),
        expected.len(),
        "{text}"
    );
    assert_eq!(requests(&text, "seed"), Some(1.0));
    // No region configured: none sent.
    assert_eq!(
        h.sim
            .state
            .vendor::<quota_exporter::simulator::tencent::TencentState>()
            .last_region(&t.secret_id),
        Some(None)
    );
    h.stop().await;
}

fn fault(t: &Tenant, fault: Fault, times: Option<u32>) -> FaultRule {
    FaultRule {
        vendor: "tencentcloud_cwp".into(),
        tenant: Some(t.secret_id.clone()),
        endpoint: Some("DescribeLicenseGeneral".into()),
        fault,
        times,
    }
}

#[tokio::test]
async fn rate_limit_is_retried_then_succeeds() {
    let t = tenant("busy");
    let h = start_with_faults(
        vec![t.clone()],
        vec![fault(
            &t,
            Fault::RateLimit {
                retry_after_secs: None,
            },
            Some(1),
        )],
        &[account("busy", &t.secret_id, &t.secret_key, "")],
    )
    .await;
    let text = h
        .metrics_until("busy polled", |m| value(m, &up("busy")) == Some(1.0))
        .await;
    assert_eq!(requests(&text, "busy"), Some(2.0), "{text}");
    assert_eq!(
        value(
            &text,
            "quota_exporter_polls_total{vendor=\"tencentcloud_cwp\",account=\"busy\"}"
        ),
        Some(1.0)
    );
    assert_eq!(failures(&text, "busy", "rate_limited"), Some(0.0));
    assert_eq!(
        value(&text, "tencentcloud_cwp_licenses{account=\"busy\"}"),
        Some(3.0)
    );
    h.stop().await;
}

#[tokio::test]
async fn bad_secret_key_fails_as_auth_without_retry() {
    let t = tenant("wrongkey");
    let h = start(
        vec![t.clone()],
        &[account("wrongkey", &t.secret_id, "not-the-key", "")],
    )
    .await;
    let text = h
        .metrics_until("auth failure", |m| {
            failures(m, "wrongkey", "auth") == Some(1.0)
        })
        .await;
    assert_eq!(requests(&text, "wrongkey"), Some(1.0), "{text}");
    assert_eq!(value(&text, &up("wrongkey")), Some(0.0));
    assert!(!text.contains("tencentcloud_cwp_licenses{"), "{text}");
    let page = landing(&h).await;
    assert!(
        page.contains("AuthFailure.SignatureFailure") && page.contains("RequestId "),
        "{page}"
    );
    assert!(!page.contains("clock"), "{page}");
    h.stop().await;
}

#[tokio::test]
async fn skewed_clock_is_reported_as_such() {
    let mut t = tenant("skewed");
    // Tencent's clock is 10 minutes ahead of ours: beyond the 5 minutes it accepts.
    t.clock_offset_secs = 600;
    let h = start(
        vec![t.clone()],
        &[account("skewed", &t.secret_id, &t.secret_key, "")],
    )
    .await;
    let text = h
        .metrics_until("auth failure", |m| {
            failures(m, "skewed", "auth") == Some(1.0)
        })
        .await;
    assert_eq!(requests(&text, "skewed"), Some(1.0), "{text}");
    let page = landing(&h).await;
    assert!(
        page.contains("AuthFailure.SignatureExpire") && page.contains("check the host clock (NTP)"),
        "{page}"
    );
    h.stop().await;
}

#[tokio::test]
async fn temporary_credentials_region_and_permission_errors() {
    let mut temp = tenant("temp");
    temp.session_token = Some("session-token-of-temp".into());
    let denied = tenant("denied");
    let h = start_with_faults(
        vec![temp.clone(), denied.clone()],
        vec![fault(
            &denied,
            Fault::VendorError {
                code: "UnauthorizedOperation".into(),
            },
            None,
        )],
        &[
            account(
                "temp",
                &temp.secret_id,
                &temp.secret_key,
                "    session_token: session-token-of-temp\n    region: ap-guangzhou\n",
            ),
            account("notoken", &temp.secret_id, &temp.secret_key, ""),
            account("denied", &denied.secret_id, &denied.secret_key, ""),
        ],
    )
    .await;
    let text = h
        .metrics_until("all polled", |m| {
            value(m, &up("temp")) == Some(1.0)
                && failures(m, "notoken", "auth") == Some(1.0)
                && failures(m, "denied", "permission") == Some(1.0)
        })
        .await;
    assert_eq!(
        value(&text, "tencentcloud_cwp_licenses{account=\"temp\"}"),
        Some(3.0)
    );
    assert_eq!(
        requests(&text, "denied"),
        Some(1.0),
        "permission errors are not retried\n{text}"
    );
    assert_eq!(
        h.sim
            .state
            .vendor::<quota_exporter::simulator::tencent::TencentState>()
            .last_region(&temp.secret_id),
        Some(Some("ap-guangzhou".into()))
    );
    let page = landing(&h).await;
    assert!(page.contains("AuthFailure.TokenFailure"), "{page}");
    assert!(page.contains("QcloudCWPReadOnlyAccess"), "{page}");
    h.stop().await;
}

#[tokio::test]
async fn secrets_never_appear_on_the_page_metrics_or_errors() {
    let mut t = tenant("secretive");
    t.session_token = Some("session-token-secretive".into());
    let key = t.secret_key.clone();
    let h = start(
        vec![t.clone()],
        &[
            account(
                "good",
                &t.secret_id,
                &key,
                "    session_token: session-token-secretive\n",
            ),
            account(
                "badkey",
                &t.secret_id,
                "wrong-key-secretive",
                "    session_token: session-token-secretive\n",
            ),
            account(
                "unknown",
                "AKIDunknown0secretive",
                "other-key-secretive",
                "",
            ),
        ],
    )
    .await;
    let text = h
        .metrics_until("all polled", |m| {
            value(m, &up("good")) == Some(1.0)
                && failures(m, "badkey", "auth") == Some(1.0)
                && failures(m, "unknown", "auth") == Some(1.0)
        })
        .await;
    let page = landing(&h).await;
    assert!(page.contains("AuthFailure.SecretIdNotFound"), "{page}");
    for secret in [
        t.secret_id.as_str(),
        &key,
        "session-token-secretive",
        "wrong-key-secretive",
        "AKIDunknown0secretive",
        "other-key-secretive",
    ] {
        assert!(
            !page.contains(secret),
            "{secret} on the landing page:\n{page}"
        );
        assert!(!text.contains(secret), "{secret} in the metrics");
    }
    h.stop().await;
}

#[tokio::test]
async fn wrong_types_and_server_errors() {
    let odd = tenant("odd");
    let flaky = tenant("flaky");
    let h = start_with_faults(
        vec![odd.clone(), flaky.clone()],
        vec![
            fault(&odd, Fault::WrongTypes, None),
            fault(
                &flaky,
                Fault::VendorError {
                    code: "InternalError".into(),
                },
                Some(2),
            ),
        ],
        &[
            account("odd", &odd.secret_id, &odd.secret_key, ""),
            account("flaky", &flaky.secret_id, &flaky.secret_key, ""),
        ],
    )
    .await;
    let text = h
        .metrics_until("both polled", |m| {
            failures(m, "odd", "decode") == Some(1.0) && value(m, &up("flaky")) == Some(1.0)
        })
        .await;
    // Two InternalErrors, then success: within the default two retries.
    assert_eq!(requests(&text, "flaky"), Some(3.0), "{text}");
    let page = landing(&h).await;
    assert!(
        page.contains("malformed response at `Response.AutoOpenStatus`")
            && page.contains("RequestId "),
        "{page}"
    );
    h.stop().await;
}

#[tokio::test]
async fn demo_config_polls_the_demo_tenant() {
    let h = Harness::start(quota_exporter::DEMO_CONFIG).await;
    let text = h
        .metrics_until("prod polled", |m| value(m, &up("prod")) == Some(1.0))
        .await;
    assert_eq!(
        value(&text, "tencentcloud_cwp_licenses{account=\"prod\"}"),
        Some(10.0)
    );
    assert_eq!(
        value(
            &text,
            "tencentcloud_cwp_licenses_expiring{account=\"prod\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&text, "tencentcloud_cwp_licenses_expired{account=\"prod\"}"),
        Some(1.0)
    );
    // 6 bound at the start, one more every 10 minutes, never more than the 9 unexpired.
    let used = value(&text, "tencentcloud_cwp_licenses_used{account=\"prod\"}");
    let available = value(
        &text,
        "tencentcloud_cwp_licenses_available{account=\"prod\"}",
    );
    assert!(used.is_some_and(|u| (6.0..=9.0).contains(&u)), "{used:?}");
    assert_eq!(used.zip(available).map(|(u, a)| u + a), Some(9.0));
    h.stop().await;
}

/// The exporter's signer against the simulator's verifier, over HTTP, with nothing else between.
#[tokio::test]
async fn signer_agrees_with_the_simulator_verifier() {
    let sim = Simulator::start(([127, 0, 0, 1], 0).into())
        .await
        .expect("simulator");
    let t = tenant("direct");
    sim.state
        .vendor::<quota_exporter::simulator::tencent::TencentState>()
        .add_tenant(t.clone());
    let host = sim.addr.to_string();
    let credentials = tc3::Credentials {
        secret_id: SecretString::from(t.secret_id.clone()),
        secret_key: SecretString::from(t.secret_key.clone()),
        session_token: None,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let http = reqwest::Client::new();
    let call = |content_type: &'static str,
                signed_payload: &'static [u8],
                sent_payload: &'static [u8],
                sent_type: &'static str| {
        let signed = tc3::sign(
            &credentials,
            &tc3::Request {
                service: "cwp",
                host: &host,
                action: "DescribeLicenseGeneral",
                version: "2018-02-28",
                region: None,
                content_type,
                timestamp: now,
                payload: signed_payload,
            },
        );
        let mut request = http.post(sim.url()).body(sent_payload);
        for (name, value) in signed.headers() {
            request = request.header(
                *name,
                if *name == "Content-Type" {
                    sent_type
                } else {
                    value.as_str()
                },
            );
        }
        async move {
            let body: serde_json::Value =
                serde_json::from_slice(&request.send().await.unwrap().bytes().await.unwrap())
                    .unwrap();
            body["Response"].clone()
        }
    };
    let ok = call("application/json", b"{}", b"{}", "application/json").await;
    assert_eq!(ok["LicenseCnt"], 3, "{ok}");
    assert!(ok["RequestId"].is_string());
    let tampered = call(
        "application/json",
        b"{}",
        br#"{"Limit":1}"#,
        "application/json",
    )
    .await;
    assert_eq!(
        tampered["Error"]["Code"], "AuthFailure.SignatureFailure",
        "{tampered}"
    );
    // A charset added after signing breaks the signature: the content type is signed as sent.
    let charset = call(
        "application/json",
        b"{}",
        b"{}",
        "application/json; charset=utf-8",
    )
    .await;
    assert_eq!(
        charset["Error"]["Code"], "AuthFailure.SignatureFailure",
        "{charset}"
    );
    let both = call(
        "application/json; charset=utf-8",
        b"{}",
        b"{}",
        "application/json; charset=utf-8",
    )
    .await;
    assert_eq!(both["LicenseCnt"], 3, "{both}");
}
