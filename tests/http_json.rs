//! `http_json` end to end: the worked examples of docs/vendors/http_json.md, loaded from the document
//! itself, against the simulator serving the documented answer shapes; OAuth2 token caching
//! and refresh; failures named by output and path; `--config.check --once`.

mod common;

use std::sync::Arc;

use common::{value, Harness};
use quota_exporter::simulator::http_json::{HttpJsonState, FEISHU_DEMO_TOKEN};
use quota_exporter::simulator::{Fault, FaultRule, SimState, Simulator};

const FAST: &str = "defaults:\n  interval: 1s\n  timeout: 900ms\n  startup_spread: 0s\n  retry_backoff: 10ms\n  jitter: 0\n  max_staleness: 1m\n";

/// The YAML blocks of docs/vendors/http_json.md, each a `http_json:` section with one account.
fn doc_examples() -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/vendors/http_json.md"
    ))
    .unwrap();
    let mut blocks = Vec::new();
    let mut rest = doc.as_str();
    while let Some(start) = rest.find("```yaml\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").unwrap();
        blocks.push(body[..end].to_owned());
        rest = &body[end..];
    }
    blocks
}

/// A doc example pointed at the simulator: real hosts replaced, secrets in env vars and files.
fn localise(example: &str, sim: &str, token_file: &str) -> String {
    example
        .replace("https://api.github.com", sim)
        .replace("https://your-domain.atlassian.net", sim)
        .replace("https://open.feishu.cn", sim)
        .replace("https://acme.my.salesforce.com", sim)
        .replace("https://graph.microsoft.com", sim)
        .replace("https://api.box.com", sim)
        .replace("https://login.microsoftonline.com", sim)
        .replace("/run/secrets/feishu-tenant-token", token_file)
}

fn up(name: &str) -> String {
    format!("quota_exporter_up{{vendor=\"http_json\",account=\"{name}\"}}")
}
fn failures(name: &str, reason: &str) -> String {
    format!(
        "quota_exporter_poll_failures_total{{vendor=\"http_json\",account=\"{name}\",reason=\"{reason}\"}}"
    )
}

fn sim_state() -> SimState {
    let state = SimState::default();
    *state.vendor::<HttpJsonState>().jira_user.lock().unwrap() =
        ("admin@example.com".into(), "jira-token-example".into());
    state
}

async fn docs_harness(extra: &str) -> (Harness, tempfile::TempDir) {
    std::env::set_var("GITHUB_TOKEN", "ghp_demoCopilotToken0123456789abcdefABCD");
    std::env::set_var("JIRA_API_TOKEN", "jira-token-example");
    std::env::set_var("SALESFORCE_CLIENT_SECRET", "demoSalesforceConsumerSecret");
    std::env::set_var("GRAPH_CLIENT_SECRET", "demo-secret-northwind");
    std::env::set_var("BOX_CLIENT_SECRET", "demoBoxClientSecret");
    std::env::set_var("FEISHU_APP_SECRET", "demoFeishuAppSecret");
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("feishu-token");
    std::fs::write(&token_file, format!("{FEISHU_DEMO_TOKEN}\n")).unwrap();
    let sim = Simulator::start_with(([127, 0, 0, 1], 0).into(), Arc::new(sim_state()))
        .await
        .unwrap();
    let examples = doc_examples();
    assert_eq!(
        examples.len(),
        6,
        "six worked examples in docs/vendors/http_json.md"
    );
    let mut yaml = format!("{FAST}http_json:\n");
    for e in &examples {
        let e = localise(e, &sim.url(), token_file.to_str().unwrap());
        yaml.push_str(
            e.strip_prefix("http_json:\n")
                .expect("one http_json section"),
        );
    }
    yaml.push_str(extra);
    (Harness::start_with_sim(sim, &yaml).await, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_examples_read_the_documented_answers() {
    let (h, _dir) = docs_harness("").await;
    let names = ["github", "jira", "feishu", "salesforce", "box", "graph"];
    let text = h
        .metrics_until("every example up", |t| {
            names.iter().all(|n| value(t, &up(n)) == Some(1.0))
        })
        .await;
    let v = |s: &str| value(&text, s);
    // GitHub Copilot: 50 seats billed, 48 active.
    assert_eq!(
        v("http_json_seats_limit{account=\"github\"}"),
        Some(50.0),
        "{text}"
    );
    assert_eq!(v("http_json_seats_used{account=\"github\"}"), Some(48.0));
    assert_eq!(
        v("http_json_licenses_expiring{account=\"github\"}"),
        Some(2.0)
    );
    assert_eq!(
        v("http_json_state{account=\"github\",field=\"plan_type\",state=\"business\"}"),
        Some(1.0)
    );
    // Jira: one item per application role, from a top-level list.
    assert_eq!(
        v("http_json_seats_limit{account=\"jira\",item=\"jira-software\"}"),
        Some(100.0)
    );
    assert_eq!(
        v("http_json_seats_used{account=\"jira\",item=\"jira-servicedesk\"}"),
        Some(4.0)
    );
    // Feishu: counts and unix times sent as strings.
    let plans = h
        .sim
        .state
        .vendor::<HttpJsonState>()
        .feishu_plans
        .lock()
        .unwrap()
        .clone();
    assert_eq!(
        v("http_json_seats_limit{account=\"feishu\",item=\"suite_enterprise_e5\"}"),
        Some(500.0)
    );
    assert_eq!(
        v("http_json_seats_used{account=\"feishu\",item=\"addon_minutes\"}"),
        Some(12.0)
    );
    assert_eq!(
        v("http_json_expiry_timestamp_seconds{account=\"feishu\",item=\"addon_minutes\"}"),
        Some(plans[1].end as f64)
    );
    // Salesforce: MB read as MiB, through an OAuth2 token.
    assert_eq!(
        v("http_json_storage_capacity_bytes{account=\"salesforce\",item=\"data\"}"),
        Some(5120.0 * 1048576.0)
    );
    assert_eq!(
        v("http_json_storage_free_bytes{account=\"salesforce\",item=\"files\"}"),
        Some(9216.0 * 1048576.0)
    );
    // Box: bytes, through a token whose request carries Box's subject parameters.
    assert_eq!(
        v("http_json_storage_used_bytes{account=\"box\"}"),
        Some(962_072_674_304.0)
    );
    assert_eq!(
        v("http_json_storage_capacity_bytes{account=\"box\"}"),
        Some(1_099_511_627_776.0)
    );
    // Microsoft Graph: licence kinds per SKU, through an OAuth2 token with a scope.
    assert_eq!(
        v("http_json_licenses_limit{account=\"graph\",item=\"O365_BUSINESS_PREMIUM\"}"),
        Some(25.0)
    );
    assert_eq!(
        v("http_json_licenses_used{account=\"graph\",item=\"O365_BUSINESS_PREMIUM\"}"),
        Some(20.0)
    );
    assert_eq!(
        v("http_json_licenses_expiring{account=\"graph\",item=\"VISIOCLIENT\"}"),
        Some(3.0)
    );
    assert_eq!(
        v("http_json_licenses_expired{account=\"graph\",item=\"PROJECTPREMIUM\"}"),
        Some(2.0)
    );
    h.stop().await;
}

/// One token serves every poll; when the API forgets it (a 401 from Salesforce, a 400 with
/// code 99991663 from Feishu), a new one is fetched and the call repeated in the same poll.
async fn a_refused_token_is_fetched_again(account: &str, endpoint: &str, token_endpoint: &str) {
    let (h, _dir) = docs_harness("").await;
    let polls = format!("quota_exporter_polls_total{{vendor=\"http_json\",account=\"{account}\"}}");
    let tokens_made = format!("http_json/{token_endpoint}/{account}");
    h.metrics_until("three polls", |t| value(t, &polls).unwrap_or(0.0) >= 3.0)
        .await;
    assert_eq!(
        h.sim.state.calls(&tokens_made),
        1,
        "one token for every poll"
    );
    h.fault(FaultRule {
        vendor: "http_json".into(),
        tenant: Some(account.into()),
        endpoint: Some(endpoint.into()),
        fault: Fault::ExpireTokens,
        times: Some(1),
    });
    let refreshes = format!(
        "quota_exporter_token_refreshes_total{{vendor=\"http_json\",account=\"{account}\"}}"
    );
    let text = h
        .metrics_until("a second token", |t| value(t, &refreshes) == Some(2.0))
        .await;
    assert_eq!(value(&text, &up(account)), Some(1.0), "{text}");
    assert_eq!(value(&text, &failures(account, "auth")), Some(0.0));
    assert_eq!(h.sim.state.calls(&tokens_made), 2);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_tokens_are_cached_and_a_refused_one_is_refreshed_once() {
    a_refused_token_is_fetched_again("salesforce", "limits", "token").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_request_token_is_cached_and_fetched_again_when_refused() {
    a_refused_token_is_fetched_again("feishu", "assign_info_list", "tenant_access_token").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_and_bad_answers_are_named_and_other_accounts_keep_polling() {
    std::env::set_var("QE_HJ_WRONG_TOKEN", "ghp_wrong-s3cret-value");
    std::env::set_var("QE_HJ_WRONG_SF", "wrong-sf-s3cret");
    let extra = "  - name: wrong-token\n    url: ${SIMULATOR_URL}/orgs/acme/copilot/billing\n    auth: { bearer: { env: QE_HJ_WRONG_TOKEN } }\n    outputs:\n      - { kind: seats_limit, path: \"$.seat_breakdown.total\" }\n  - name: wrong-client\n    url: ${SIMULATOR_URL}/services/data/v60.0/limits\n    auth:\n      oauth2: { token_url: ${SIMULATOR_URL}/services/oauth2/token, client_id: 3MVG9demoSalesforceConnectedAppKey, client_secret: { env: QE_HJ_WRONG_SF } }\n    outputs:\n      - { kind: storage_capacity, path: \"$.DataStorageMB.Max\", unit: MiB }\n  - name: wrong-app\n    url: ${SIMULATOR_URL}/open-apis/tenant/v2/tenant/assign_info_list/query\n    auth:\n      token_request: { url: \"${SIMULATOR_URL}/open-apis/auth/v3/tenant_access_token/internal\", body: { app_id: cli_a1b2c3d4e5f6a7b8, app_secret: not-it }, token_path: \"$.tenant_access_token\" }\n    outputs:\n      - { kind: seats_limit, each: \"$.data.assign_info_list[*]\", item_path: \"$.license_plan_key\", path: \"$.total_seats\" }\n  - name: wrong-path\n    url: ${SIMULATOR_URL}/orgs/acme/copilot/billing\n    auth: { bearer: ghp_demoCopilotToken0123456789abcdefABCD }\n    outputs:\n      - { kind: seats_limit, name: billed, path: \"$.seat_breakdown.billed\" }\n";
    let (h, _dir) = docs_harness(extra).await;
    let text = h
        .metrics_until("three failures, four successes", |t| {
            value(t, &failures("wrong-token", "auth")) >= Some(1.0)
                && value(t, &failures("wrong-client", "auth")) >= Some(1.0)
                && value(t, &failures("wrong-app", "auth")) >= Some(1.0)
                && value(t, &failures("wrong-path", "decode")) >= Some(1.0)
                && ["github", "jira", "feishu", "salesforce"]
                    .iter()
                    .all(|n| value(t, &up(n)) == Some(1.0))
        })
        .await;
    assert_eq!(value(&text, &up("wrong-path")), Some(0.0));
    let page = h.page().await;
    assert!(
        page.contains("Bad credentials"),
        "GitHub's message is shown:\n{page}"
    );
    assert!(
        page.contains("invalid_client"),
        "the token error is shown:\n{page}"
    );
    assert!(
        page.contains("$.seat_breakdown.billed") && page.contains("billed"),
        "the output and its path are named:\n{page}"
    );
    assert!(
        !page.contains("s3cret") && !text.contains("s3cret"),
        "no secret on the page or in the metrics"
    );
    // Credentials refused are not retried within a poll: one call per poll.
    let polls = value(
        &text,
        "quota_exporter_polls_total{vendor=\"http_json\",account=\"wrong-token\"}",
    )
    .unwrap();
    assert!(polls >= 1.0);

    // The API sends the wrong types: decode, naming the output; the last data is kept.
    h.fault(FaultRule {
        vendor: "http_json".into(),
        tenant: Some("github".into()),
        endpoint: None,
        fault: Fault::WrongTypes,
        times: None,
    });
    let text = h
        .metrics_until("github decode failure", |t| {
            value(t, &failures("github", "decode")) >= Some(1.0)
        })
        .await;
    assert_eq!(
        value(&text, "http_json_seats_limit{account=\"github\"}"),
        Some(50.0),
        "the last good data stays until max_staleness"
    );
    let page = h.page().await;
    assert!(
        page.contains("lots") && page.contains("seats_limit at $.seat_breakdown.total"),
        "the bad value, the output and its path are shown:\n{page}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_retried_after_retry_after() {
    let (h, _dir) = docs_harness("").await;
    h.metrics_until("jira up", |t| value(t, &up("jira")) == Some(1.0))
        .await;
    let before = h.sim.state.calls("http_json/applicationrole/jira");
    h.fault(FaultRule {
        vendor: "http_json".into(),
        tenant: Some("jira".into()),
        endpoint: None,
        fault: Fault::RateLimit {
            retry_after_secs: Some(0),
        },
        times: Some(1),
    });
    let text = h
        .metrics_until("a throttled call retried", |t| {
            h.sim.state.calls("http_json/applicationrole/jira") >= before + 3
                && value(t, &up("jira")) == Some(1.0)
        })
        .await;
    assert_eq!(value(&text, &failures("jira", "rate_limited")), Some(0.0));
    h.stop().await;
}

#[test]
fn config_check_once_shows_what_each_output_extracted() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quota-exporter"))
        .args(["--demo", "--config.check", "--once"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "http_json/github-acme: one poll",
        "outputs[0] $.seat_breakdown.total: 50 -> http_json_seats_limit 50",
        "outputs[0] $.DataStorageMB.Max [item \"data\"]: 5120 (5120 MiB × 1048576 = bytes) -> http_json_storage_capacity_bytes 5368709120",
        "outputs[1] $.userCount [item \"jira-software\"]: 64 -> http_json_seats_used 64",
        "outputs[3] \"plan_type\" $.plan_type: \"business\" (state label) -> http_json_state 1",
        "(unix seconds) -> http_json_expiry_timestamp_seconds",
        // The native vendors list their samples.
        "microsoft365/contoso: one poll",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
}

#[test]
fn config_check_names_the_key_of_a_bad_path_or_unit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yml");
    std::fs::write(
        &path,
        "http_json:\n  - name: x\n    url: https://api.example/q\n    outputs:\n      - { kind: seats_used, path: \"$.a[\" }\n      - { kind: storage_used, path: \"$.b\", unit: megabytes }\n      - { kind: expiry, path: \"$.c\" }\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quota-exporter"))
        .args(["--config.file", path.to_str().unwrap(), "--config.check"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for key in [
        "http_json[0] (x).outputs[0].path",
        "http_json[0] (x).outputs[1].unit",
        "http_json[0] (x).outputs[2].unit",
    ] {
        assert!(stderr.contains(key), "missing {key} in:\n{stderr}");
    }
    assert!(
        stderr.contains("megabytes") && stderr.contains("JSONPath"),
        "{stderr}"
    );
}
