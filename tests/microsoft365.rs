//! Microsoft 365 end to end: the exporter in process against the simulator's identity platform
//! and Graph.

mod common;

use common::{value, Harness};
use quota_exporter::simulator::microsoft365::{Sku, Subscription, Tenant};
use quota_exporter::simulator::{Fault, FaultRule, SimState, Simulator};
use quota_exporter::vendors::oauth2::{ClientCredentials, TokenSource};
use quota_exporter::vendors::{CallStats, PollContext};
use std::sync::Arc;

const FAST: &str = "defaults:\n  interval: 1s\n  timeout: 800ms\n  startup_spread: 0s\n  retry_backoff: 10ms\n  jitter: 0\n  max_staleness: 1m\n";

fn tenant(id: &str, page_size: usize) -> Tenant {
    let sku = |n: usize| Sku {
        part_number: format!("SKU{n}"),
        sku_id: format!("id-{n}"),
        capability_status: "Enabled".into(),
        enabled: 10 * n as u64,
        warning: 1,
        suspended: 0,
        locked_out: 0,
        consumed: n as u64,
    };
    Tenant {
        tenant_id: id.into(),
        client_id: format!("client-{id}"),
        client_secret: format!("secret-{id}"),
        certificate: None,
        granted: true,
        skus: (1..=5).map(sku).collect(),
        subscriptions: (1..=3)
            .map(|n| Subscription {
                id: format!("sub-{n}"),
                sku_part_number: format!("SKU{n}"),
                sku_id: format!("id-{n}"),
                status: "Enabled".into(),
                total_licenses: 10 * n as u64,
                is_trial: n == 3,
                next_lifecycle: 2_000_000_000 + n as u64,
            })
            .collect(),
        page_size,
    }
}

fn account(name: &str, secret: &str) -> String {
    format!(
        "  - name: {name}\n    tenant_id: {name}\n    client_id: client-{name}\n    client_secret: {secret}\n    graph_url: ${{SIMULATOR_URL}}\n    login_url: ${{SIMULATOR_URL}}\n"
    )
}

async fn sim_with(tenants: Vec<Tenant>) -> Simulator {
    let state = Arc::new(SimState::default());
    for t in tenants {
        state
            .vendor::<quota_exporter::simulator::microsoft365::Microsoft365State>()
            .add_tenant(t);
    }
    Simulator::start_with(([127, 0, 0, 1], 0).into(), state)
        .await
        .unwrap()
}

fn up(name: &str) -> String {
    format!("quota_exporter_up{{vendor=\"microsoft365\",account=\"{name}\"}}")
}
fn polls(name: &str) -> String {
    format!("quota_exporter_polls_total{{vendor=\"microsoft365\",account=\"{name}\"}}")
}
fn failures(name: &str, reason: &str) -> String {
    format!("quota_exporter_poll_failures_total{{vendor=\"microsoft365\",account=\"{name}\",reason=\"{reason}\"}}")
}

fn fault(tenant: &str, endpoint: Option<&str>, fault: Fault, times: Option<u32>) -> FaultRule {
    FaultRule {
        vendor: "microsoft365".into(),
        tenant: Some(tenant.into()),
        endpoint: endpoint.map(Into::into),
        fault,
        times,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_read_and_the_token_is_cached_across_polls() {
    // Two items a page: five SKUs take three pages, three subscriptions two.
    let sim = sim_with(vec![tenant("paged", 2)]).await;
    let h = Harness::start_with_sim(
        sim,
        &format!("{FAST}microsoft365:\n{}", account("paged", "secret-paged")),
    )
    .await;
    let text = h
        .metrics_until("three polls", |t| {
            value(t, &polls("paged")).unwrap_or(0.0) >= 3.0
        })
        .await;
    assert_eq!(value(&text, &up("paged")), Some(1.0), "{text}");
    for n in 1..=5 {
        assert_eq!(
            value(&text, &format!("microsoft365_sku_prepaid_units{{account=\"paged\",sku=\"SKU{n}\",state=\"enabled\"}}")),
            Some(10.0 * n as f64),
            "SKU{n} (page {}) missing:\n{text}",
            (n + 1) / 2
        );
    }
    assert_eq!(
        value(&text, "microsoft365_subscription_next_lifecycle_timestamp_seconds{account=\"paged\",sku=\"SKU3\",subscription=\"sub-3\"}"),
        Some(2_000_000_003.0)
    );
    assert_eq!(
        value(&text, "microsoft365_subscription_trial{account=\"paged\",sku=\"SKU3\",subscription=\"sub-3\"}"),
        Some(1.0)
    );
    let polled = value(&text, &polls("paged")).unwrap();
    // Three pages of SKUs a poll; one token for every poll.
    assert!(h.sim.state.calls("microsoft365/subscribedSkus/paged") as f64 >= 3.0 * polled);
    assert_eq!(h.sim.state.calls("microsoft365/token/paged"), 1);
    assert_eq!(
        value(
            &text,
            "quota_exporter_token_refreshes_total{vendor=\"microsoft365\",account=\"paged\"}"
        ),
        Some(1.0)
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_refreshed_once_and_throttling_honours_retry_after() {
    let sim = sim_with(vec![tenant("exp", 10), tenant("slow", 10)]).await;
    let yaml = format!(
        "{FAST}microsoft365:\n{}{}",
        account("exp", "secret-exp"),
        account("slow", "secret-slow")
    );
    let h = Harness::start_with_sim(sim, &yaml).await;
    h.metrics_until("first polls", |t| {
        value(t, &polls("exp")) >= Some(1.0) && value(t, &polls("slow")) >= Some(1.0)
    })
    .await;
    // Graph revokes the token: the next call gets 401, the client fetches a new token and
    // repeats the call, and the poll succeeds.
    h.fault(fault(
        "exp",
        Some("subscribedSkus"),
        Fault::ExpireTokens,
        Some(1),
    ));
    // Graph throttles once, saying when to come back: a retry within the same poll succeeds.
    h.fault(fault(
        "slow",
        Some("subscriptions"),
        Fault::RateLimit {
            retry_after_secs: Some(0),
        },
        Some(1),
    ));
    let text = h
        .metrics_until("a second token and a rate-limited poll retried", |t| {
            value(
                t,
                "quota_exporter_token_refreshes_total{vendor=\"microsoft365\",account=\"exp\"}",
            ) == Some(2.0)
                && value(t, &failures("slow", "rate_limited")) == Some(0.0)
                && h.sim.state.calls("microsoft365/subscriptions/slow") >= 3
        })
        .await;
    assert_eq!(value(&text, &up("exp")), Some(1.0));
    assert_eq!(value(&text, &up("slow")), Some(1.0));
    assert_eq!(value(&text, &failures("exp", "auth")), Some(0.0));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_and_missing_permission_are_clear_failures() {
    let mut denied = tenant("denied", 10);
    denied.granted = false;
    let sim = sim_with(vec![tenant("badsecret", 10), denied]).await;
    let yaml = format!(
        "{FAST}microsoft365:\n{}{}  - name: ok\n    tenant_id: contoso.onmicrosoft.com\n    client_id: 11111111-demo-4c0e-8a55-c0n7050c11e7\n    client_secret: demo-secret-contoso\n    graph_url: ${{SIMULATOR_URL}}\n    login_url: ${{SIMULATOR_URL}}\n",
        account("badsecret", "not-the-secret"),
        account("denied", "secret-denied")
    );
    let h = Harness::start_with_sim(sim, &yaml).await;
    let text = h
        .metrics_until("both failures counted", |t| {
            value(t, &failures("badsecret", "auth")) >= Some(1.0)
                && value(t, &failures("denied", "permission")) >= Some(1.0)
                && value(t, &up("ok")) == Some(1.0)
        })
        .await;
    assert_eq!(value(&text, &up("badsecret")), Some(0.0));
    let page = h.page().await;
    assert!(
        page.contains("AADSTS7000215"),
        "the identity platform's code is shown:\n{page}"
    );
    assert!(
        page.contains("Organization.Read.All"),
        "the permission to grant is named:\n{page}"
    );
    assert!(
        page.contains("request-id"),
        "Graph's request id is shown:\n{page}"
    );
    assert!(
        !page.contains("not-the-secret"),
        "no secret on the landing page"
    );
    // An auth failure is not retried within the poll (it cannot help).
    let polled = value(&text, &polls("badsecret")).unwrap();
    assert!((h.sim.state.calls("microsoft365/token/badsecret") as f64) <= polled + 1.0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_token_request() {
    let sim = sim_with(vec![tenant("flight", 10)]).await;
    let mut url = reqwest::Url::parse(&sim.url()).unwrap();
    url.set_path("/flight/oauth2/v2.0/token");
    let source = Arc::new(TokenSource::new(
        ClientCredentials {
            token_url: url,
            client_id: "client-flight".into(),
            client_secret: "secret-flight".to_owned().into(),
            scope: Some("https://graph.microsoft.com/.default".into()),
            extra: Vec::new(),
            basic_auth: false,
        },
        "token",
    ));
    let ctx = PollContext::new(reqwest::Client::new(), Arc::new(CallStats::default()));
    // Slow token answers, so that every caller arrives while the first request is in flight.
    sim.state.add_fault(fault(
        "flight",
        Some("token"),
        Fault::Slow { millis: 300 },
        None,
    ));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (source, ctx) = (source.clone(), ctx.clone());
            tokio::spawn(async move {
                source
                    .token(&ctx, None)
                    .await
                    .map(|t| secrecy::ExposeSecret::expose_secret(&t).to_owned())
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for c in calls {
        tokens.push(c.await.unwrap().unwrap());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every caller got the same token");
    assert_eq!(sim.state.calls("microsoft365/token/flight"), 1);
    assert_eq!(ctx.stats.token_refreshes(), 1);
    // A token the API refused is replaced once, however many callers report it.
    let refused: secrecy::SecretString = tokens[0].clone().into();
    let again: Vec<_> = (0..4)
        .map(|_| {
            let (source, ctx, refused) = (source.clone(), ctx.clone(), refused.clone());
            tokio::spawn(async move { source.token(&ctx, Some(&refused)).await.is_ok() })
        })
        .collect();
    for c in again {
        assert!(c.await.unwrap());
    }
    assert_eq!(sim.state.calls("microsoft365/token/flight"), 2);
}

// Certificate credentials: fixtures made with `openssl genpkey -algorithm RSA` (PKCS#8) and
// `openssl req -x509`, for these tests only.
fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/m365cert/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

fn cert_der(name: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_file(fixture(name))
        .unwrap()
        .to_vec()
}

/// A tenant whose app has `cert` registered (and a secret nobody sends).
fn cert_tenant(id: &str, cert: &str) -> Tenant {
    let mut t = tenant(id, 10);
    t.certificate = Some(cert_der(cert));
    t
}

fn cert_account(name: &str, cert: &str, key: &str) -> String {
    format!(
        "  - name: {name}\n    tenant_id: {name}\n    client_id: client-{name}\n    client_certificate:\n      certificate: {{ file: {} }}\n      private_key: {{ file: {} }}\n    graph_url: ${{SIMULATOR_URL}}\n    login_url: ${{SIMULATOR_URL}}\n",
        fixture(cert),
        fixture(key)
    )
}

/// The base64 body of a PEM key's first line: it must never show anywhere.
fn key_line(key: &str) -> String {
    read(key).lines().nth(1).unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_account_polls_and_a_wrong_key_is_an_auth_failure() {
    let sim = sim_with(vec![
        cert_tenant("certapp", "cert_a.pem"),
        cert_tenant("otherkey", "cert_a.pem"),
    ])
    .await;
    let yaml = format!(
        "{FAST}microsoft365:\n{}{}",
        cert_account("certapp", "cert_a.pem", "key_a.pem"),
        // A key and certificate that belong together, but not the ones the app registered:
        // the signature does not verify with the registered certificate.
        cert_account("otherkey", "cert_b.pem", "key_b.pem")
    );
    let h = Harness::start_with_sim(sim, &yaml).await;
    let text = h
        .metrics_until("the certificate account up, the other refused", |t| {
            value(t, &up("certapp")) == Some(1.0)
                && value(t, &failures("otherkey", "auth")) >= Some(1.0)
        })
        .await;
    assert_eq!(
        value(
            &text,
            "microsoft365_sku_prepaid_units{account=\"certapp\",sku=\"SKU2\",state=\"enabled\"}"
        ),
        Some(20.0),
        "{text}"
    );
    assert_eq!(value(&text, &up("otherkey")), Some(0.0));
    let page = h.page().await;
    assert!(
        page.contains("AADSTS700027"),
        "the identity platform's code is shown:\n{page}"
    );
    for key in ["key_a.pem", "key_b.pem"] {
        assert!(!page.contains(&key_line(key)), "no key on the landing page");
        assert!(!text.contains(&key_line(key)), "no key in the metrics");
    }
    h.stop().await;
}

async fn post_assertion(sim: &Simulator, tenant: &str, assertion: &str) -> (u16, String) {
    let url = format!(
        "{}/{tenant}/oauth2/v2.0/token",
        sim.url().trim_end_matches('/')
    );
    let r = reqwest::Client::new()
        .post(url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &format!("client-{tenant}")),
            (
                "client_assertion_type",
                quota_exporter::vendors::client_assertion::ASSERTION_TYPE,
            ),
            ("client_assertion", assertion),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A JWT with the given claims, signed RS256 with `key` (to make assertions the exporter never
/// makes: expired ones).
fn signed(key: &str, cert: &str, claims: serde_json::Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_file(fixture(key)).unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    let header = serde_json::json!({ "alg": "RS256", "typ": "JWT",
        "x5t#S256": quota_exporter::vendors::client_assertion::thumbprint(&cert_der(cert)) });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assertions_for_another_audience_or_expired_are_refused() {
    use quota_exporter::vendors::client_assertion::ClientCertificate;
    use secrecy::ExposeSecret;
    let sim = sim_with(vec![cert_tenant("aud", "cert_a.pem")]).await;
    let cert = ClientCertificate::load(&read("cert_a.pem"), read("key_a.pem").into()).unwrap();
    let audience = format!("{}/aud/oauth2/v2.0/token", sim.url().trim_end_matches('/'));
    // The exporter's own assertion for the right audience is taken.
    let good = cert.assertion(&audience, "client-aud").unwrap();
    let (status, body) = post_assertion(&sim, "aud", good.expose_secret()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("access_token"), "{body}");
    // The same, made for another token endpoint.
    let other = cert
        .assertion(
            "https://login.microsoftonline.com/aud/oauth2/v2.0/token",
            "client-aud",
        )
        .unwrap();
    let (status, body) = post_assertion(&sim, "aud", other.expose_secret()).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("AADSTS50012") && body.contains("invalid_client"),
        "{body}"
    );
    // Signed by another client id.
    let stranger = cert.assertion(&audience, "client-other").unwrap();
    let (status, body) = post_assertion(&sim, "aud", stranger.expose_secret()).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("AADSTS700021"), "{body}");
    // Expired an hour ago.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |exp: u64| {
        serde_json::json!({ "aud": audience, "iss": "client-aud", "sub": "client-aud",
            "jti": format!("j{exp}"), "nbf": exp - 600, "iat": exp - 600, "exp": exp })
    };
    let (status, body) = post_assertion(
        &sim,
        "aud",
        &signed("key_a.pem", "cert_a.pem", claims(now - 3600)),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("AADSTS700024"), "{body}");
    // The same claims, valid, signed by the right key: taken (so the refusal was the time).
    let (status, body) = post_assertion(
        &sim,
        "aud",
        &signed("key_a.pem", "cert_a.pem", claims(now + 300)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Signed by another key while naming the registered certificate: a bad signature.
    let (status, body) = post_assertion(
        &sim,
        "aud",
        &signed("key_b.pem", "cert_a.pem", claims(now + 300)),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("AADSTS700027") && body.contains("signature"),
        "{body}"
    );
}

#[test]
fn certificate_config_errors_name_the_key() {
    use quota_exporter::config::Config;
    let base = "microsoft365:\n  - name: c\n    tenant_id: t\n    client_id: app\n";
    let certificate = |cert: &str, key: &str| {
        format!(
            "    client_certificate:\n      certificate: {{ file: {} }}\n      private_key: {{ file: {} }}\n",
            fixture(cert),
            fixture(key)
        )
    };
    let problems = |extra: &str| -> Vec<String> {
        Config::from_yaml(&format!("{base}{extra}"))
            .expect_err("should be refused")
            .problems
    };
    let has = |p: &[String], needles: &[&str]| {
        assert!(
            p.iter().any(|p| needles.iter().all(|n| p.contains(n))),
            "no problem mentions all of {needles:?}: {p:#?}"
        );
        for p in p {
            assert!(
                !p.contains(&key_line("key_a.pem")),
                "the key is not shown: {p}"
            );
        }
    };
    // Both, and neither.
    has(
        &problems(&format!(
            "    client_secret: s\n{}",
            certificate("cert_a.pem", "key_a.pem")
        )),
        &["client_certificate", "not both"],
    );
    has(&problems(""), &["client_secret", "client_certificate"]);
    // A certificate that is not PEM, a key that is not PEM (the certificate file given twice).
    has(
        &problems(&certificate("key_a.pem", "key_a.pem")),
        &["client_certificate.certificate", "PEM"],
    );
    has(
        &problems(&certificate("cert_a.pem", "cert_a.pem")),
        &["client_certificate.private_key", "PKCS#8"],
    );
    // A key that is not the certificate's.
    has(
        &problems(&certificate("cert_a.pem", "key_b.pem")),
        &["client_certificate.private_key", "does not belong"],
    );
    // A typo inside client_certificate is named.
    has(
        &problems("    client_certificate:\n      cert: x\n      private_key: y\n"),
        &["cert"],
    );
    // The right pair loads, and the key is one of the account's secrets (redacted everywhere).
    let config =
        Config::from_yaml(&format!("{base}{}", certificate("cert_a.pem", "key_a.pem"))).unwrap();
    assert!(!format!("{config:?}").contains(&key_line("key_a.pem")));
}
