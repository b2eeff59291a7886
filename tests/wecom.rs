//! WeCom WeDrive end to end: the exporter in process against the simulator.

mod common;

use common::{value, Harness};
use quota_exporter::simulator::wecom::Tenant;
use quota_exporter::simulator::{Fault, FaultRule, SimState, Simulator};
use std::sync::Arc;

const FAST: &str = "defaults:\n  interval: 1s\n  timeout: 800ms\n  startup_spread: 0s\n  retry_backoff: 10ms\n  jitter: 0\n  max_staleness: 1m\n";

fn tenant(corp_id: &str) -> Tenant {
    Tenant {
        corp_id: corp_id.into(),
        secret: format!("secret-{corp_id}"),
        is_pro: true,
        vip_total: 20,
        vip_used: 7,
        pro_expire_time: 2_000_000_000,
        capacity_all: 1 << 40,
        capacity_vip: 1 << 39,
        rest_all: Some(1 << 38),
        rest_vip: None,
        growth_bytes_per_sec: 0.0,
    }
}

fn account(name: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    corp_id: {name}\n    secret: secret-{name}\n    base_url: ${{SIMULATOR_URL}}\n{extra}"
    )
}

/// A simulator with one tenant per name (corp id = name, secret = `secret-<name>`).
async fn sim_with(names: &[&str]) -> Simulator {
    let state = Arc::new(SimState::default());
    state
        .vendor::<quota_exporter::simulator::wecom::WeComState>()
        .tenants
        .lock()
        .unwrap()
        .extend(names.iter().map(|n| tenant(n)));
    Simulator::start_with(([127, 0, 0, 1], 0).into(), state)
        .await
        .unwrap()
}

fn up(name: &str) -> String {
    format!("quota_exporter_up{{vendor=\"wecom_wedrive\",account=\"{name}\"}}")
}
fn polls(name: &str) -> String {
    format!("quota_exporter_polls_total{{vendor=\"wecom_wedrive\",account=\"{name}\"}}")
}
fn failures(name: &str, reason: &str) -> String {
    format!("quota_exporter_poll_failures_total{{vendor=\"wecom_wedrive\",account=\"{name}\",reason=\"{reason}\"}}")
}
fn requests(name: &str, endpoint: &str) -> String {
    format!("quota_exporter_api_requests_total{{vendor=\"wecom_wedrive\",account=\"{name}\",endpoint=\"{endpoint}\"}}")
}
fn capacity(name: &str) -> String {
    format!("wecom_wedrive_capacity_bytes{{account=\"{name}\",pool=\"all\"}}")
}

fn fault(tenant: &str, endpoint: Option<&str>, fault: Fault, times: Option<u32>) -> FaultRule {
    FaultRule {
        vendor: "wecom_wedrive".into(),
        tenant: Some(tenant.into()),
        endpoint: endpoint.map(Into::into),
        fault,
        times,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_catalogue_metric_is_served_and_the_token_is_cached_across_polls() {
    let sim = sim_with(&["t1"]).await;
    let h =
        Harness::start_with_sim(sim, &format!("{FAST}wecom_wedrive:\n{}", account("t1", ""))).await;
    let text = h
        .metrics_until("three polls", |t| {
            value(t, &polls("t1")).unwrap_or(0.0) >= 3.0
        })
        .await;
    for name in [
        "wecom_wedrive_pro_enabled{account=\"t1\"} 1",
        "wecom_wedrive_vip_seats_limit{account=\"t1\"} 20",
        "wecom_wedrive_vip_seats_used{account=\"t1\"} 7",
        "wecom_wedrive_pro_expiry_timestamp_seconds{account=\"t1\"} 2000000000",
        "wecom_wedrive_capacity_bytes{account=\"t1\",pool=\"all\"} 1099511627776",
        "wecom_wedrive_capacity_bytes{account=\"t1\",pool=\"vip\"} 549755813888",
        "wecom_wedrive_capacity_free_bytes{account=\"t1\",pool=\"all\"} 274877906944",
    ] {
        assert!(text.contains(name), "missing {name}:\n{text}");
    }
    assert!(
        !text.contains("wecom_wedrive_capacity_free_bytes{account=\"t1\",pool=\"vip\"}"),
        "absent field, absent series"
    );
    assert_eq!(value(&text, &up("t1")), Some(1.0));
    // One token for all polls: gettoken called once, by the exporter's count and the vendor's.
    assert_eq!(h.sim.state.calls("wecom_wedrive/gettoken/t1"), 1);
    assert_eq!(value(&text, &requests("t1", "gettoken")), Some(1.0));
    assert_eq!(
        value(
            &text,
            "quota_exporter_token_refreshes_total{vendor=\"wecom_wedrive\",account=\"t1\"}"
        ),
        Some(1.0)
    );
    let polled = value(&text, &polls("t1")).unwrap();
    assert!(value(&text, &requests("t1", "mng_pro_info")).unwrap() >= polled);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_invalid_token_is_refreshed_and_the_call_repeated_once() {
    let sim = sim_with(&["exp", "inv"]).await;
    let yaml = format!(
        "{FAST}wecom_wedrive:\n{}{}",
        account("exp", ""),
        account("inv", "")
    );
    let h = Harness::start_with_sim(sim, &yaml).await;
    h.metrics_until("first polls", |t| {
        value(t, &polls("exp")) >= Some(1.0) && value(t, &polls("inv")) >= Some(1.0)
    })
    .await;

    // 42001: WeCom says the token expired (all tokens expire mid-run).
    h.fault(fault(
        "exp",
        Some("mng_pro_info"),
        Fault::ExpireTokens,
        Some(1),
    ));
    // 40014: WeCom says the token is invalid (revoked early).
    h.fault(fault(
        "inv",
        Some("mng_pro_info"),
        Fault::VendorError {
            code: "40014".into(),
        },
        Some(1),
    ));
    let text = h
        .metrics_until("a token refresh on each account", |t| {
            value(t, &requests("exp", "gettoken")) == Some(2.0)
                && value(t, &requests("inv", "gettoken")) == Some(2.0)
        })
        .await;
    let text = h
        .metrics_until("the polls after the refresh", |t| {
            value(t, &polls("exp")) > value(&text, &polls("exp"))
                && value(t, &polls("inv")) > value(&text, &polls("inv"))
        })
        .await;
    for name in ["exp", "inv"] {
        assert_eq!(
            value(&text, &up(name)),
            Some(1.0),
            "{name} recovered within the same poll"
        );
        assert_eq!(
            value(&text, &failures(name, "auth")),
            Some(0.0),
            "{name}: no failed poll"
        );
        assert_eq!(
            h.sim.state.calls(&format!("wecom_wedrive/gettoken/{name}")),
            2
        );
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refused_twice_fails_after_exactly_one_retry() {
    let sim = sim_with(&["t1"]).await;
    sim.state.add_fault(fault(
        "t1",
        Some("mng_pro_info"),
        Fault::VendorError {
            code: "40014".into(),
        },
        Some(2),
    ));
    let yaml = format!(
        "defaults:\n  interval: 1h\n  startup_spread: 0s\nwecom_wedrive:\n{}",
        account("t1", "")
    );
    let h = Harness::start_with_sim(sim, &yaml).await;
    let text = h
        .metrics_until("the failed poll", |t| value(t, &polls("t1")) == Some(1.0))
        .await;
    assert_eq!(value(&text, &failures("t1", "auth")), Some(1.0));
    assert_eq!(value(&text, &up("t1")), Some(0.0));
    assert_eq!(
        h.sim.state.calls("wecom_wedrive/mng_pro_info/t1"),
        2,
        "the call and one retry"
    );
    assert_eq!(
        h.sim.state.calls("wecom_wedrive/gettoken/t1"),
        2,
        "the first token and one refresh"
    );
    h.stop().await;
}

/// Both WeDrive calls may be metered: a retry after `mng_capacity` failed must not spend a second
/// `mng_pro_info` call, and a later poll starts from scratch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_repeats_only_the_call_that_failed() {
    let sim = sim_with(&["t1"]).await;
    // "System busy" twice: the poll's first attempt and its first retry fail on mng_capacity.
    sim.state.add_fault(fault(
        "t1",
        Some("mng_capacity"),
        Fault::VendorError { code: "-1".into() },
        Some(2),
    ));
    let yaml = format!(
        "defaults:\n  interval: 1h\n  startup_spread: 0s\n  retry_backoff: 10ms\n  retries: 2\nwecom_wedrive:\n{}",
        account("t1", "")
    );
    let h = Harness::start_with_sim(sim, &yaml).await;
    let text = h
        .metrics_until("the first poll", |t| value(t, &polls("t1")) == Some(1.0))
        .await;
    assert_eq!(
        value(&text, &up("t1")),
        Some(1.0),
        "the second retry succeeds"
    );
    assert_eq!(value(&text, &capacity("t1")), Some((1u64 << 40) as f64));
    assert_eq!(
        h.sim.state.calls("wecom_wedrive/mng_pro_info/t1"),
        1,
        "fetched once, kept for the retries"
    );
    assert_eq!(h.sim.state.calls("wecom_wedrive/mng_capacity/t1"), 3);
    assert_eq!(value(&text, &requests("t1", "mng_pro_info")), Some(1.0));
    assert_eq!(value(&text, &requests("t1", "mng_capacity")), Some(3.0));
    h.stop().await;
}

/// What a retry keeps belongs to its poll: a poll that failed for good leaves nothing for the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_poll_fetches_every_call_again() {
    let sim = sim_with(&["t1"]).await;
    sim.state.add_fault(fault(
        "t1",
        Some("mng_capacity"),
        Fault::VendorError { code: "-1".into() },
        Some(1),
    ));
    let yaml = format!(
        "defaults:\n  interval: 1s\n  timeout: 800ms\n  startup_spread: 0s\n  jitter: 0\n  retries: 0\nwecom_wedrive:\n{}",
        account("t1", "")
    );
    let h = Harness::start_with_sim(sim, &yaml).await;
    let text = h
        .metrics_until("a failed poll, then a good one", |t| {
            value(t, &polls("t1")) >= Some(2.0) && value(t, &up("t1")) == Some(1.0)
        })
        .await;
    assert_eq!(
        value(&text, &failures("t1", "api")),
        Some(1.0),
        "the first poll failed"
    );
    let sim = h.sim.state.clone();
    h.stop().await;
    let pro = sim.calls("wecom_wedrive/mng_pro_info/t1");
    let cap = sim.calls("wecom_wedrive/mng_capacity/t1");
    // Every poll calls mng_pro_info itself, so there is one per mng_capacity call (one more if
    // the stop cut a poll between the two). Reusing the failed poll's answer would leave one fewer.
    assert!(
        pro == cap || pro == cap + 1,
        "{pro} mng_pro_info calls, {cap} mng_capacity calls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_gives_its_reason_keeps_last_good_data_and_spares_other_accounts() {
    let cases: Vec<(&str, Fault, &str)> = vec![
        ("f500", Fault::HttpStatus { status: 500 }, "http_status"),
        ("fhang", Fault::Hang, "timeout"),
        ("fjson", Fault::MalformedJson, "decode"),
        ("ftypes", Fault::WrongTypes, "decode"),
        ("fbusy", Fault::VendorError { code: "-1".into() }, "api"),
        (
            "fperm",
            Fault::VendorError {
                code: "48002".into(),
            },
            "permission",
        ),
        (
            "fip",
            Fault::VendorError {
                code: "60020".into(),
            },
            "permission",
        ),
        (
            "frate",
            Fault::RateLimit {
                retry_after_secs: None,
            },
            "rate_limited",
        ),
        (
            "fquota",
            Fault::VendorError {
                code: "640019".into(),
            },
            "rate_limited",
        ),
    ];
    let mut names: Vec<&str> = cases.iter().map(|c| c.0).collect();
    names.extend(["healthy", "slow"]);
    let sim = sim_with(&names).await;
    let yaml = format!(
        "{FAST}wecom_wedrive:\n{}",
        names.iter().map(|n| account(n, "")).collect::<String>()
    );
    let h = Harness::start_with_sim(sim, &yaml).await;
    h.metrics_until("first polls", |t| {
        names.iter().all(|n| value(t, &up(n)) == Some(1.0))
    })
    .await;

    for (name, f, _) in &cases {
        h.fault(fault(name, Some("mng_capacity"), f.clone(), None));
    }
    // Slower than usual, yet within the timeout: still a success.
    h.fault(fault(
        "slow",
        Some("mng_capacity"),
        Fault::Slow { millis: 150 },
        None,
    ));
    let text = h
        .metrics_until("every faulty account failing with its reason", |t| {
            cases
                .iter()
                .all(|(n, _, reason)| value(t, &failures(n, reason)) >= Some(1.0))
        })
        .await;
    for (name, _, reason) in &cases {
        assert_eq!(value(&text, &up(name)), Some(0.0), "{name}");
        assert_eq!(
            value(&text, &capacity(name)),
            Some((1u64 << 40) as f64),
            "{name}: last good data still served"
        );
        for other in quota_exporter::vendors::FailureReason::ALL {
            if other.as_str() != *reason {
                assert_eq!(
                    value(&text, &failures(name, other.as_str())),
                    Some(0.0),
                    "{name}: only {reason}, not {other}"
                );
            }
        }
    }
    let slow_polls = value(&text, &polls("slow")).unwrap();
    let text = h
        .metrics_until("more slow polls", |t| {
            value(t, &polls("slow")) > Some(slow_polls)
        })
        .await;
    for name in ["healthy", "slow"] {
        assert_eq!(value(&text, &up(name)), Some(1.0), "{name} unaffected");
        for r in quota_exporter::vendors::FailureReason::ALL {
            assert_eq!(
                value(&text, &failures(name, r.as_str())),
                Some(0.0),
                "{name} {r}"
            );
        }
    }
    // Retryable faults were retried (3 attempts by default), the others were not.
    // One call per poll; the poll after the scrape above may already be in flight.
    let (fperm_calls, fperm_polls) = (
        h.sim.state.calls("wecom_wedrive/mng_capacity/fperm") as f64,
        value(&text, &polls("fperm")).unwrap(),
    );
    assert!(
        fperm_calls >= fperm_polls && fperm_calls <= fperm_polls + 1.0,
        "{fperm_calls} calls for {fperm_polls} polls"
    );
    assert!(
        h.sim.state.calls("wecom_wedrive/mng_capacity/f500") as f64
            >= 1.0 + 3.0 * (value(&text, &failures("f500", "http_status")).unwrap())
    );
    // The landing page says what went wrong, and never shows a token.
    let page = h.page().await;
    assert!(page.contains("trusted-IP"), "the 60020 advice is shown");
    assert!(!page.contains("access_token="), "{page}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_vanish_after_max_staleness_while_health_metrics_stay() {
    let sim = sim_with(&["stale", "fresh"]).await;
    let yaml = format!(
        "{FAST}wecom_wedrive:\n{}{}",
        account("stale", "    max_staleness: 1500ms\n"),
        account("fresh", "    max_staleness: 30s\n")
    );
    let h = Harness::start_with_sim(sim, &yaml).await;
    h.metrics_until("first polls", |t| {
        value(t, &capacity("stale")).is_some() && value(t, &capacity("fresh")).is_some()
    })
    .await;
    h.fault(fault(
        "stale",
        None,
        Fault::HttpStatus { status: 503 },
        None,
    ));
    let text = h
        .metrics_until("stale series dropped", |t| {
            value(t, &capacity("stale")).is_none()
        })
        .await;
    assert_eq!(value(&text, &up("stale")), Some(0.0));
    assert!(value(
        &text,
        "quota_exporter_last_success_timestamp_seconds{vendor=\"wecom_wedrive\",account=\"stale\"}"
    )
    .is_some());
    assert!(
        !text.contains("wecom_wedrive_pro_enabled{account=\"stale\"}"),
        "every vendor series of the account goes"
    );
    assert!(
        value(&text, &capacity("fresh")).is_some(),
        "the other account keeps its data"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_an_auth_failure_without_retries() {
    let sim = sim_with(&["t1"]).await;
    let yaml = format!(
        "{FAST}wecom_wedrive:\n  - name: t1\n    corp_id: t1\n    secret: not-the-secret\n    base_url: ${{SIMULATOR_URL}}\n"
    );
    let h = Harness::start_with_sim(sim, &yaml).await;
    let text = h
        .metrics_until("an auth failure", |t| {
            value(t, &failures("t1", "auth")) >= Some(1.0)
        })
        .await;
    let polled = value(&text, &polls("t1")).unwrap();
    // Never loop on a wrong secret (WeCom bans the IP): one gettoken per poll, no retries.
    assert_eq!(value(&text, &requests("t1", "gettoken")), Some(polled));
    let page = h.page().await;
    assert!(
        page.contains("40001") && !page.contains("not-the-secret"),
        "{page}"
    );
    h.stop().await;
}
