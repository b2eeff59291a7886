//! Fault injection: every vendor behind a hostile server (tests/common/hostile.rs) that answers
//! the way broken networks, proxies and vendors do. For every vendor and every fault: the poll
//! fails with the right reason and never panics, another account of the same vendor keeps
//! polling, the last good data stays (until `max_staleness`), and the next clean poll recovers.

mod common;
#[path = "common/hostile.rs"]
mod hostile;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hostile::{Hostile, Mode};
use quota_exporter::config::Config;
use quota_exporter::exposition::Format;
use quota_exporter::scheduler::{self, AccountTask};
use quota_exporter::simulator::{Fault, FaultRule, Simulator};
use quota_exporter::store::Store;
use quota_exporter::vendors::http::Clients;
use quota_exporter::vendors::{FailureReason, PollError, Retry};
use tokio_util::sync::CancellationToken;

/// One vendor under test: its section, two accounts (the victim goes through the hostile server,
/// the bystander straight to the simulator) and a series only a good poll produces.
struct Vendor {
    section: &'static str,
    victim: &'static str,
    bystander: &'static str,
    data_metric: &'static str,
}

const WECOM: Vendor = Vendor {
    section: "wecom_wedrive",
    victim: "    corp_id: wwdemo0acme\n    secret: demo-secret-acme\n    base_url: ${URL}\n",
    bystander: "    corp_id: wwdemo0globex\n    secret: demo-secret-globex\n    base_url: ${SIM}\n",
    data_metric: "wecom_wedrive_capacity_bytes",
};
const KOODRIVE: Vendor = Vendor {
    section: "koodrive",
    victim: "    app_id: demo-app-acme\n    app_secret: demo-app-secret-acme\n    user_id: \"1505084218764547200\"\n    base_url: ${URL}\n",
    bystander: "    bearer_token: demo-bearer-initech\n    base_url: ${SIM}\n",
    data_metric: "koodrive_capacity_bytes",
};
const TENCENT: Vendor = Vendor {
    section: "tencentcloud_cwp",
    victim: "    secret_id: AKIDdemo0prod0000000000000000000000\n    secret_key: demo-secret-key-prod\n    endpoint: ${URL}\n",
    bystander: "    secret_id: AKIDdemo0prod0000000000000000000000\n    secret_key: demo-secret-key-prod\n    endpoint: ${SIM}\n",
    data_metric: "tencentcloud_cwp_licenses",
};
const MICROSOFT365: Vendor = Vendor {
    section: "microsoft365",
    victim: "    tenant_id: contoso.onmicrosoft.com\n    client_id: 11111111-demo-4c0e-8a55-c0n7050c11e7\n    client_secret: demo-secret-contoso\n    graph_url: ${URL}\n    login_url: ${URL}\n",
    bystander: "    tenant_id: 9f3c2d1e-0000-4fab-8000-fab41ca70000\n    client_id: 22222222-demo-4c0e-8a55-fab41ca7c11e\n    client_secret: demo-secret-fabrikam\n    graph_url: ${SIM}\n    login_url: ${SIM}\n",
    data_metric: "microsoft365_sku_consumed_units",
};
const HTTP_JSON: Vendor = Vendor {
    section: "http_json",
    victim: "    url: ${URL}/services/data/v60.0/limits\n    auth:\n      oauth2: { token_url: \"${URL}/services/oauth2/token\", client_id: 3MVG9demoSalesforceConnectedAppKey, client_secret: demoSalesforceConsumerSecret }\n    outputs:\n      - { kind: storage_capacity, path: \"$.DataStorageMB.Max\", unit: MiB }\n",
    bystander: "    url: ${SIM}/orgs/acme/copilot/billing\n    auth: { bearer: ghp_demoCopilotToken0123456789abcdefABCD }\n    outputs:\n      - { kind: seats_limit, path: \"$.seat_breakdown.total\" }\n",
    data_metric: "http_json_storage_capacity_bytes",
};

struct Rig {
    sim: Simulator,
    store: Arc<Store>,
    victim: AccountTask,
    bystander: AccountTask,
    cancel: CancellationToken,
    vendor: &'static Vendor,
}

fn config(vendor: &Vendor, victim_url: &str, sim_url: &str, victim_extra: &str) -> Config {
    let yaml = format!(
        "defaults:\n  interval: 1h\n  max_staleness: 1h\n{}:\n  - name: victim\n{}{victim_extra}  - name: bystander\n{}",
        vendor.section,
        vendor.victim.replace("${URL}", victim_url),
        vendor.bystander.replace("${SIM}", sim_url),
    );
    Config::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

impl Rig {
    async fn start(
        vendor: &'static Vendor,
        victim_url: impl FnOnce(&str) -> String,
        extra: &str,
    ) -> Rig {
        let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
        let config = config(vendor, &victim_url(&sim.url()), &sim.url(), extra);
        Self::with_config(vendor, sim, &config)
    }

    fn with_config(vendor: &'static Vendor, sim: Simulator, config: &Config) -> Rig {
        let mut tasks = scheduler::tasks(config, &Clients::default(), &Default::default());
        for t in &mut tasks {
            // No retries, so each fault is one attempt; a timeout short enough for hangs and drips,
            // long enough for a clean poll on a loaded machine.
            t.schedule.retries = 0;
            t.schedule.timeout = Duration::from_secs(3);
        }
        let store = Arc::new(Store::new());
        store.set_accounts(tasks.iter().map(|t| t.info()).collect());
        let bystander = tasks.pop().unwrap();
        let victim = tasks.pop().unwrap();
        Rig {
            sim,
            store,
            victim,
            bystander,
            cancel: CancellationToken::new(),
            vendor,
        }
    }

    async fn poll(&self, task: &AccountTask) -> Result<(), PollError> {
        scheduler::poll(task, &self.store, &self.cancel)
            .await
            .expect("not cancelled")
    }

    fn exposition(&self) -> String {
        let rendered =
            quota_exporter::render::Renderer::new(self.store.clone()).exposition(Format::Classic);
        String::from_utf8(rendered.body().to_vec()).unwrap()
    }

    fn has_data(&self, account: &str) -> bool {
        let prefix = format!("{}{{account=\"{account}\"", self.vendor.data_metric);
        self.exposition().lines().any(|l| l.starts_with(&prefix))
    }

    fn up(&self, account: &str) -> Option<f64> {
        common::value(
            &self.exposition(),
            &format!(
                "quota_exporter_up{{vendor=\"{}\",account=\"{account}\"}}",
                self.vendor.section
            ),
        )
    }

    /// Polls the victim under `mode` and checks everything a fault must leave as it was.
    async fn fault(&self, hostile: &Hostile, mode: Mode, reason: FailureReason) -> PollError {
        hostile.set(mode.clone());
        let error = self
            .poll(&self.victim)
            .await
            .expect_err(&format!("{}: {mode:?} must fail", self.vendor.section));
        assert_eq!(
            error.reason, reason,
            "{}: {mode:?}: {}",
            self.vendor.section, error.message
        );
        assert!(!error.message.is_empty());
        assert_eq!(self.up("victim"), Some(0.0));
        assert!(
            self.has_data("victim"),
            "{}: {mode:?}: the last good data stays until max_staleness",
            self.vendor.section
        );
        self.poll(&self.bystander)
            .await
            .unwrap_or_else(|e| panic!("{}: {mode:?}: bystander failed: {e}", self.vendor.section));
        hostile.set(Mode::Forward);
        self.poll(&self.victim)
            .await
            .unwrap_or_else(|e| panic!("{}: {mode:?}: no recovery: {e}", self.vendor.section));
        assert_eq!(self.up("victim"), Some(1.0));
        error
    }
}

fn status(status: u16, headers: &[(&str, &str)], body: &str) -> Mode {
    Mode::Status {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
    }
}

const HTML: &str = "<!doctype html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";

/// Every network and data fault, against one vendor.
async fn every_fault(vendor: &'static Vendor) {
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let hostile = Hostile::start(&sim.url(), None).await;
    hostile::warm_up();
    let cfg = config(vendor, &hostile.url(), &sim.url(), "");
    let rig = Rig::with_config(vendor, sim, &cfg);
    rig.poll(&rig.victim).await.expect("a clean first poll");
    assert!(rig.has_data("victim"));

    use FailureReason::*;
    rig.fault(&hostile, status(500, &[], "internal error"), HttpStatus)
        .await;
    let e = rig
        .fault(
            &hostile,
            status(503, &[("retry-after", "120")], ""),
            HttpStatus,
        )
        .await;
    assert_eq!(
        e.retry,
        Retry::After(Duration::from_secs(120)),
        "{}",
        e.message
    );
    let e = rig
        .fault(
            &hostile,
            status(429, &[("retry-after", "120")], ""),
            RateLimited,
        )
        .await;
    assert_eq!(
        e.retry,
        Retry::After(Duration::from_secs(120)),
        "{}",
        e.message
    );
    let date = hostile::http_date_in(300);
    let e = rig
        .fault(
            &hostile,
            status(429, &[("retry-after", &date)], ""),
            RateLimited,
        )
        .await;
    assert!(
        matches!(e.retry, Retry::After(d) if d > Duration::from_secs(200) && d <= Duration::from_secs(300)),
        "{:?}",
        e.retry
    );
    rig.fault(&hostile, Mode::Reset, Transport).await;
    rig.fault(&hostile, Mode::Hang, Timeout).await;
    rig.fault(&hostile, Mode::Drip, Timeout).await;
    rig.fault(&hostile, Mode::StallAfterHeaders, Timeout).await;
    rig.fault(&hostile, Mode::Truncated, Transport).await;
    rig.fault(&hostile, Mode::Malformed, Decode).await;
    rig.fault(&hostile, Mode::WrongTypes, Decode).await;
    for text in ["NaN", "1e400", "-inf"] {
        let e = rig.fault(&hostile, Mode::NumbersAs(text), Decode).await;
        assert!(
            e.message.contains("impossible value")
                || e.message.contains("malformed")
                || e.message.contains("not a finite number"),
            "{text}: {}",
            e.message
        );
    }
    let e = rig.fault(&hostile, Mode::Negative, Decode).await;
    assert!(e.message.contains("negative"), "{}", e.message);
    let e = rig
        .fault(&hostile, Mode::Huge(8 * 1024 * 1024), Decode)
        .await;
    assert!(e.message.contains("max_response_bytes"), "{}", e.message);
    let e = rig.fault(&hostile, Mode::Endless, Decode).await;
    assert!(e.message.contains("max_response_bytes"), "{}", e.message);
    rig.fault(&hostile, Mode::GzipBomb, Decode).await;
    rig.fault(
        &hostile,
        status(200, &[("content-type", "text/html")], HTML),
        Decode,
    )
    .await;
    rig.fault(
        &hostile,
        status(502, &[("content-type", "text/html")], HTML),
        HttpStatus,
    )
    .await;
    rig.fault(&hostile, status(200, &[], "[]"), Decode).await;
    rig.fault(&hostile, status(200, &[], "{}"), Decode).await;

    let (trap, reached) = hostile::trap().await;
    let e = rig
        .fault(
            &hostile,
            Mode::Redirect(format!("{trap}/steal?corpsecret=leak-check&token=x")),
            HttpStatus,
        )
        .await;
    let trap_host = trap.trim_start_matches("http://");
    assert!(
        e.message.contains(trap_host),
        "names the host: {}",
        e.message
    );
    assert!(!e.message.contains("leak-check"), "{}", e.message);
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "a redirect is never followed"
    );

    for head in hostile.heads() {
        assert!(
            !head.contains("\nreferer:"),
            "no Referer is ever sent:\n{head}"
        );
    }
    let text = rig.exposition();
    assert!(!text.contains("reason=\"panic\"} 1"), "{text}");

    // A port where nothing listens.
    let refused = config(vendor, &hostile::refused_url(), &rig.sim.url(), "");
    let refused = Rig::with_config(vendor, rig.sim, &refused);
    let e = refused.poll(&refused.victim).await.unwrap_err();
    assert_eq!(e.reason, Transport, "{}", e.message);
    refused.poll(&refused.bystander).await.unwrap();
}

/// One test per vendor for each of these suites.
macro_rules! per_vendor {
    ($($suite:ident),*) => {
        $(
            mod $suite {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn wecom() {
                    super::$suite(&super::WECOM).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn koodrive() {
                    super::$suite(&super::KOODRIVE).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn tencent() {
                    super::$suite(&super::TENCENT).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn microsoft365() {
                    super::$suite(&super::MICROSOFT365).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn http_json() {
                    super::$suite(&super::HTTP_JSON).await;
                }
            }
        )*
    };
}
per_vendor!(every_fault, tls);

/// TLS settings are checked when the config is loaded, each error naming its key; `defaults`
/// apply to every account and an account may override them.
#[test]
fn http_settings_are_checked_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, hostile::pki().ca_pem).unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello").unwrap();
    let account = WECOM.victim.replace("${URL}", "http://127.0.0.1:1");
    let yaml = format!(
        "defaults:\n  tls_ca_file: {}\n  max_response_bytes: 65536\nwecom_wedrive:\n  - name: a\n{account}  - name: b\n{account}    max_response_bytes: 2048\n",
        ca.display()
    );
    let config = Config::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"));
    assert!(config
        .accounts
        .iter()
        .all(|a| a.http.client.tls_ca_file.is_some()));
    assert_eq!(config.accounts[0].http.max_response_bytes, 65536);
    assert_eq!(config.accounts[1].http.max_response_bytes, 2048);
    let clients = Clients::default();
    scheduler::tasks(&config, &clients, &Default::default());
    assert_eq!(clients.len(), 1, "equal settings share one client");

    let yaml = format!(
        "defaults:\n  proxy_url: \"ftp://x\"\nwecom_wedrive:\n  - name: a\n{account}    tls_ca_file: {}\n    max_response_bytes: 1\n",
        junk.display()
    );
    let problems = Config::from_yaml(&yaml).unwrap_err().to_string();
    for key in [
        "defaults.proxy_url",
        "(a).tls_ca_file",
        "(a).max_response_bytes",
    ] {
        assert!(problems.contains(key), "{key} in:\n{problems}");
    }
}

/// TLS: a self-signed certificate and an unknown private CA are refused; the CA trusted through
/// the account's `tls_ca_file` is accepted.
async fn tls(vendor: &'static Vendor) {
    let pki = hostile::pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();

    let own = Hostile::start(&sim.url(), Some(pki.self_signed)).await;
    let rig = Rig::with_config(
        vendor,
        sim,
        &config(vendor, &own.https_url(), "http://x", ""),
    );
    let e = rig.poll(&rig.victim).await.unwrap_err();
    assert_eq!(e.reason, FailureReason::Transport, "{}", e.message);
    assert!(
        e.message.to_lowercase().contains("certificate"),
        "{}",
        e.message
    );

    let private = Hostile::start(&rig.sim.url(), Some(pki.signed)).await;
    let untrusted = Rig::with_config(
        vendor,
        rig.sim,
        &config(vendor, &private.https_url(), "http://x", ""),
    );
    let e = untrusted.poll(&untrusted.victim).await.unwrap_err();
    assert_eq!(e.reason, FailureReason::Transport, "{}", e.message);
    assert!(e.message.contains("UnknownIssuer"), "{}", e.message);

    let extra = format!("    tls_ca_file: {}\n", ca_file.display());
    let trusted = Rig::with_config(
        vendor,
        untrusted.sim,
        &config(vendor, &private.https_url(), "http://x", &extra),
    );
    trusted
        .poll(&trusted.victim)
        .await
        .expect("the private CA from tls_ca_file is trusted");
    assert!(trusted.has_data("victim"));
}

/// `SSL_CERT_FILE` adds the operator's CA through the system store, without `tls_ca_file`.
/// (nextest runs every test in its own process, so the variable touches this test only.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_cert_file_is_honoured() {
    let pki = hostile::pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    std::env::set_var("SSL_CERT_FILE", &ca_file);
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let private = Hostile::start(&sim.url(), Some(pki.signed)).await;
    let rig = Rig::with_config(
        &WECOM,
        sim,
        &config(&WECOM, &private.https_url(), "http://x", ""),
    );
    rig.poll(&rig.victim)
        .await
        .expect("the CA from SSL_CERT_FILE is trusted");
}

/// `proxy_url` sends the account's calls through the proxy (here the hostile server in forwarding
/// mode, which accepts absolute-form requests); other accounts still go direct.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_url_carries_the_calls() {
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let proxy = Hostile::start(&sim.url(), None).await;
    let extra = format!("    proxy_url: {}\n", proxy.url());
    let cfg = config(&WECOM, &sim.url(), &sim.url(), &extra);
    let rig = Rig::with_config(&WECOM, sim, &cfg);
    rig.poll(&rig.victim).await.expect("through the proxy");
    let through_proxy = proxy.requests();
    assert!(
        through_proxy >= 2,
        "token and data calls went through the proxy"
    );
    assert!(
        proxy
            .heads()
            .iter()
            .all(|h| h.contains(" http://127.0.0.1")),
        "absolute-form requests"
    );
    rig.poll(&rig.bystander).await.unwrap();
    assert_eq!(
        proxy.requests(),
        through_proxy,
        "the other account goes direct"
    );
}

/// A token revoked mid-way: WeCom's is refreshed and the call repeated; KooDrive's bearer token
/// and Tencent's temporary credentials cannot be refreshed by us, so they fail as `auth` (and
/// recover once valid again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_tokens() {
    let rig = Rig::start(&WECOM, |sim| sim.to_owned(), "").await;
    rig.poll(&rig.victim).await.unwrap();
    let refreshes = rig.victim.ctx.stats.token_refreshes();
    rig.sim.state.add_fault(FaultRule {
        vendor: "wecom_wedrive".into(),
        tenant: Some("wwdemo0acme".into()),
        endpoint: None,
        fault: Fault::ExpireTokens,
        times: Some(1),
    });
    rig.poll(&rig.victim).await.expect("refreshed and repeated");
    assert_eq!(rig.victim.ctx.stats.token_refreshes(), refreshes + 1);

    let rig = Rig::start(&KOODRIVE, |sim| sim.to_owned(), "").await;
    rig.poll(&rig.bystander).await.unwrap();
    rig.sim
        .state
        .vendor::<quota_exporter::simulator::koodrive::KooDriveState>()
        .expire_tokens("initech-intl");
    let e = rig.poll(&rig.bystander).await.unwrap_err();
    assert_eq!(e.reason, FailureReason::Auth, "{}", e.message);
    rig.poll(&rig.victim)
        .await
        .expect("the other account is unaffected");
    rig.sim
        .state
        .vendor::<quota_exporter::simulator::koodrive::KooDriveState>()
        .update("initech-intl", |t| {
            t.bearer_tokens.push("demo-bearer-initech".into())
        });
    rig.poll(&rig.bystander).await.expect("recovers");

    let rig = Rig::start(&TENCENT, |sim| sim.to_owned(), "").await;
    rig.sim.state.add_fault(FaultRule {
        vendor: "tencentcloud_cwp".into(),
        tenant: None,
        endpoint: None,
        fault: Fault::VendorError {
            code: "AuthFailure.TokenFailure".into(),
        },
        times: Some(1),
    });
    let e = rig.poll(&rig.victim).await.unwrap_err();
    assert_eq!(e.reason, FailureReason::Auth, "{}", e.message);
    rig.poll(&rig.victim).await.expect("recovers");
}

/// Non-finite and huge `expires_in` in WeCom's token answer used to panic in duration arithmetic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_token_lifetimes_do_not_panic() {
    for expires_in in ["1e30", "\"inf\"", "1e19", "-5", "\"NaN\""] {
        let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
        let hostile = Hostile::start(&sim.url(), None).await;
        let rig = Rig::with_config(&WECOM, sim, &config(&WECOM, &hostile.url(), "http://x", ""));
        hostile.set(status(
            200,
            &[("content-type", "application/json")],
            &format!(
                r#"{{"errcode":0,"errmsg":"ok","access_token":"tok","expires_in":{expires_in}}}"#
            ),
        ));
        // The token call succeeds; the data calls then get the same body, which has none of the
        // data fields: a decode failure, never a panic.
        let e = rig.poll(&rig.victim).await.unwrap_err();
        assert_eq!(
            e.reason,
            FailureReason::Decode,
            "{expires_in}: {}",
            e.message
        );
    }
}

/// A capacity that is finite as sent but overflows once multiplied by its unit (KooDrive's
/// `spaceCapacity` is in GB) fails the poll instead of exporting `+Inf`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflowing_products_are_refused() {
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let hostile = Hostile::start(&sim.url(), None).await;
    let rig = Rig::with_config(
        &KOODRIVE,
        sim,
        &config(&KOODRIVE, &hostile.url(), "http://x", ""),
    );
    hostile.set(Mode::NumbersTo(1e306));
    let e = rig.poll(&rig.victim).await.unwrap_err();
    assert_eq!(e.reason, FailureReason::Decode, "{}", e.message);
    assert!(e.message.contains("not a finite number"), "{}", e.message);
    assert!(!rig.exposition().contains("+Inf"));
}

/// Data leaves after `max_staleness` of failures, while the health series stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_good_data_lasts_until_max_staleness() {
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let hostile = Hostile::start(&sim.url(), None).await;
    let mut rig = Rig::with_config(
        &KOODRIVE,
        sim,
        &config(&KOODRIVE, &hostile.url(), "http://x", ""),
    );
    rig.poll(&rig.victim).await.unwrap();
    rig.victim.schedule.max_staleness = Duration::from_millis(500);
    rig.store
        .set_accounts(vec![rig.victim.info(), rig.bystander.info()]);
    hostile.set(Mode::Negative);
    rig.poll(&rig.victim).await.unwrap_err();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!rig.has_data("victim"), "stale data is dropped");
    assert_eq!(rig.up("victim"), Some(0.0));
    hostile.set(Mode::Forward);
    rig.poll(&rig.victim).await.unwrap();
    assert!(rig.has_data("victim"));
}

/// Across polls, through the whole exporter: a 429 with a long Retry-After holds the next poll
/// (the landing page says until when), where the interval alone would poll every second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_holds_polls_and_the_page_says_so() {
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let hostile = Hostile::start(&sim.url(), None).await;
    hostile.set(status(429, &[("retry-after", "3600")], ""));
    let yaml = format!(
        "defaults:\n  interval: 1s\n  timeout: 800ms\n  startup_spread: 0s\n  jitter: 0\n  retries: 0\nwecom_wedrive:\n  - name: victim\n{}",
        WECOM.victim.replace("${URL}", &hostile.url())
    );
    let h = common::Harness::start_with_sim(sim, &yaml).await;
    common::eventually("the first poll", || async { hostile.requests() >= 1 }).await;
    common::eventually("the page shows the hold", || async {
        h.page().await.contains("held until")
    })
    .await;
    let page = h.page().await;
    assert!(page.contains("Retry-After 1h"), "{page}");
    let seen = hostile.requests();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(hostile.requests(), seen, "no poll while held");
    h.stop().await;
}
