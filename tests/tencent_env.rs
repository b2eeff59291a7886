//! Tencent Cloud credentials from the SDKs' environment variables. A test binary of its own,
//! with a single test: it changes the process environment, which no other test may see.

mod common;

use common::{value, Harness};
use quota_exporter::simulator::tencent::Tenant;
use quota_exporter::simulator::Simulator;

#[tokio::test]
async fn credentials_fall_back_to_the_environment() {
    // Set before anything else runs: this runtime has one thread and no other test shares it.
    std::env::set_var("TENCENTCLOUD_SECRET_ID", "AKIDtest0fromenv");
    std::env::set_var("TENCENTCLOUD_SECRET_KEY", "key-from-env");
    std::env::set_var("TENCENTCLOUD_SESSION_TOKEN", "token-from-env");

    let sim = Simulator::start(([127, 0, 0, 1], 0).into())
        .await
        .expect("simulator");
    let example: serde_json::Value = serde_json::from_str(include_str!(
        "fixtures/tencentcloud_cwp/describe_license_general.json"
    ))
    .unwrap();
    let mut tenant = Tenant::new("fromenv", "AKIDtest0fromenv", "key-from-env", example);
    tenant.session_token = Some("token-from-env".into());
    sim.state
        .vendor::<quota_exporter::simulator::tencent::TencentState>()
        .add_tenant(tenant);
    let yaml = "defaults:\n  interval: 1h\n  startup_spread: 0s\n  retry_backoff: 10ms\n\
                tencentcloud_cwp:\n  - name: fromenv\n    endpoint: ${SIMULATOR_URL}\n";
    let h = Harness::start_with_sim(sim, yaml).await;
    let up = "quota_exporter_up{vendor=\"tencentcloud_cwp\",account=\"fromenv\"}";
    let text = h
        .metrics_until("polled with env credentials", |m| value(m, up) == Some(1.0))
        .await;
    assert_eq!(
        value(&text, "tencentcloud_cwp_licenses{account=\"fromenv\"}"),
        Some(3.0)
    );
    let page = h.page().await;
    assert!(page.contains("credentials=environment"), "{page}");
    for secret in ["AKIDtest0fromenv", "key-from-env", "token-from-env"] {
        assert!(
            !page.contains(secret) && !text.contains(secret),
            "{secret} shown"
        );
    }
    h.stop().await;
}
