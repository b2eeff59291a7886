//! `--web.config.file` end to end, with certificates made here: the exporter-toolkit's options case
//! for case (a corpus of files, each refused naming its key or accepted and behaving as the
//! toolkit does), reloads of the web config, and the connection limits.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{eventually, value, Harness};
use quota_exporter::listener::Limits;
use quota_exporter::simulator::Simulator;
use quota_exporter::web_config::WebState;
use quota_exporter::Options;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

const CONFIG: &str = "defaults:\n  startup_spread: 0s\n";

struct Ca {
    cert: Certificate,
    key: KeyPair,
}

impl Ca {
    fn new() -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Ca {
            cert: params.self_signed(&key).unwrap(),
            key,
        }
    }

    /// A leaf for these names (SANs), as "cert PEM + key PEM".
    fn leaf(&self, names: &[&str], client: bool) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        if client {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }
}

struct Pki {
    ca: Ca,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let ca = Ca::new();
    let server = ca.leaf(&["localhost"], false);
    let client = ca.leaf(&["prometheus"], true);
    Pki { ca, server, client }
}

/// A self-signed client certificate (it is its own CA).
fn self_signed_client() -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["lonely".to_owned()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

struct Web {
    h: Harness,
    dir: tempfile::TempDir,
}

impl Web {
    fn https(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.h.addr.port(), path)
    }
    fn write(&self, name: &str, content: &str) {
        std::fs::write(self.dir.path().join(name), content).unwrap();
    }
}

fn write_dir(yaml: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    std::fs::write(dir.path().join("web.yml"), yaml).unwrap();
    dir
}

async fn start_with(yaml: &str, files: &[(&str, &str)], options: Options) -> Web {
    let dir = write_dir(yaml, files);
    let web = WebState::load(&dir.path().join("web.yml")).unwrap_or_else(|e| panic!("{e}"));
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let options = Options {
        web: Some(Arc::new(web)),
        ..options
    };
    Web {
        h: Harness::start_with_options(sim, CONFIG, options).await,
        dir,
    }
}

async fn start(yaml: &str, files: &[(&str, &str)]) -> Web {
    start_with(yaml, files, Options::default()).await
}

fn server_files(pki: &Pki) -> Vec<(&'static str, String)> {
    vec![
        ("server.crt", pki.server.0.clone()),
        ("server.key", pki.server.1.clone()),
        ("ca.crt", pki.ca.pem()),
    ]
}

fn refs<'a>(files: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    files.iter().map(|(n, c)| (*n, c.as_str())).collect()
}

const TLS: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

fn client(ca_pem: &str, identity: Option<&(String, String)>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10));
    if let Some((cert, key)) = identity {
        b = b.identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    b.build().unwrap()
}

async fn status(c: &reqwest::Client, url: &str) -> Option<u16> {
    c.get(url).send().await.ok().map(|r| r.status().as_u16())
}

/// The corpus: files the toolkit refuses, each refused here naming the key; and files it
/// accepts, accepted here.
#[test]
fn the_toolkit_corpus_is_refused_or_accepted_case_for_case() {
    let pki = pki();
    let files = server_files(&pki);
    let hash = bcrypt::hash("pw", 4).unwrap();
    let ca_inline = pki.ca.pem().replace('\n', "\n    ");
    let refused: Vec<(String, &str)> = vec![
        // 1. mutual TLS must not fail open: a CA without a policy is a mistake.
        (
            format!("{TLS}  client_ca_file: ca.crt\n"),
            "tls_server_config.client_ca_file: client CA's have been configured without a Client Auth Policy",
        ),
        (
            format!("{TLS}  client_ca: |\n    {ca_inline}\n"),
            "tls_server_config.client_ca: client CA's have been configured",
        ),
        (
            format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: missing.crt\n"),
            "tls_server_config.client_ca_file: cannot read",
        ),
        (
            format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca: 'not a pem'\n"),
            "tls_server_config.client_ca: no valid certificates found",
        ),
        (
            format!("{TLS}  client_auth_type: Sometimes\n"),
            "tls_server_config.client_auth_type: invalid ClientAuth \"Sometimes\"",
        ),
        (
            "tls_server_config:\n  key_file: server.key\n".into(),
            "missing one of cert or cert_file",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: ''\n".into(),
            "missing one of key or key_file",
        ),
        (
            "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n".into(),
            "tls_server_config.cert_file: cannot read certificates from",
        ),
        (
            format!("{TLS}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus]\n"),
            "tls_server_config.client_allowed_sans: requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert",
        ),
        (
            format!("{TLS}  client_allowed_sans: [prometheus]\n"),
            "tls_server_config.client_allowed_sans: requires",
        ),
        (format!("{TLS}  min_version: TLS14\n"), "tls_server_config.min_version: unknown TLS version"),
        (format!("{TLS}  min_version: TLS11\n"), "tls_server_config.min_version: TLS11 is not supported"),
        (format!("{TLS}  max_version: TLS10\n"), "tls_server_config.max_version: TLS10 is not supported"),
        (
            format!("{TLS}  min_version: TLS13\n  max_version: TLS12\n"),
            "tls_server_config.max_version: lower than min_version",
        ),
        (
            format!("{TLS}  cipher_suites: [TLS_INVENTED_WITH_NOTHING]\n"),
            "tls_server_config.cipher_suites: unknown cipher \"TLS_INVENTED_WITH_NOTHING\"",
        ),
        (
            format!("{TLS}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n"),
            "tls_server_config.cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not supported",
        ),
        (
            format!("{TLS}  curve_preferences: [CurveP1024]\n"),
            "tls_server_config.curve_preferences: unknown curve \"CurveP1024\"",
        ),
        (
            format!("{TLS}  curve_preferences: [CurveP521]\n"),
            "tls_server_config.curve_preferences: CurveP521 is not supported",
        ),
        (
            "tls_server_config:\n  min_version: TLS13\n".into(),
            "tls_server_config.min_version: set, but there is no cert",
        ),
        (format!("{TLS}  cert_path: x\n"), "cert_path"),
        ("tls_config: {}\n".into(), "tls_config"),
        (
            "http_server_config:\n  headers:\n    Set-Cookie: a=b\n".into(),
            "http_server_config.headers.Set-Cookie: this header cannot be configured",
        ),
        (
            "http_server_config:\n  headers:\n    Transfer-Encoding: chunked\n".into(),
            "http_server_config.headers.Transfer-Encoding",
        ),
        (
            "http_server_config:\n  headers:\n    Cache-Control: public\n".into(),
            "http_server_config.headers.Cache-Control",
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow-from\n".into(),
            "http_server_config.headers.X-Frame-Options: invalid value",
        ),
        (
            "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n".into(),
            "http_server_config.headers.X-Content-Type-Options: invalid value",
        ),
        (
            "basic_auth_users:\n  alice: plain-password\n".into(),
            "basic_auth_users.alice: not a bcrypt hash",
        ),
        ("rate_limit:\n  interval: 1s\n".into(), "rate_limit.burst"),
        (
            "rate_limit:\n  interval: often\n  burst: 2\n".into(),
            "rate_limit.interval",
        ),
    ];
    for (yaml, needle) in &refused {
        let dir = write_dir(yaml, &refs(&files));
        let e = WebState::load(&dir.path().join("web.yml"))
            .map(|_| ())
            .expect_err(&format!("should be refused:\n{yaml}"))
            .to_string();
        assert!(e.contains(needle), "{yaml}\nwanted {needle:?} in:\n{e}");
        assert!(!e.contains("plain-password"), "{e}");
    }

    let accepted: Vec<String> = vec![
        String::new(),
        "tls_server_config: {}\n".into(),
        "basic_auth_users:\n".into(),
        format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
        TLS.into(),
        format!("tls_server_config:\n  cert: |\n    {}\n  key: |\n    {}\n",
            pki.server.0.replace('\n', "\n    "), pki.server.1.replace('\n', "\n    ")),
        format!("{TLS}  client_auth_type: RequestClientCert\n"),
        format!("{TLS}  client_auth_type: RequireAnyClientCert\n"),
        format!("{TLS}  client_auth_type: RequireClientCert\n"),
        format!("{TLS}  client_auth_type: VerifyClientCertIfGiven\n"),
        format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n"),
        format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca: |\n    {ca_inline}\n"),
        format!("{TLS}  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [prometheus]\n"),
        format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus, 10.0.0.1]\n"),
        format!("{TLS}  min_version: TLS13\n  max_version: TLS13\n"),
        format!("{TLS}  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n  prefer_server_cipher_suites: false\n"),
        format!("{TLS}  curve_preferences: [CurveP256, CurveP384, X25519]\n"),
        format!("{TLS}http_server_config:\n  http2: false\n"),
        "http_server_config:\n  http2: true\n  headers:\n    X-XSS-Protection: 1\n    Strict-Transport-Security: max-age=31536000\n    X-Frame-Options: sameorigin\n    X-Content-Type-Options: nosniff\n    Content-Security-Policy: default-src 'self'\n".into(),
        "rate_limit:\n  interval: 100ms\n  burst: 5\n".into(),
        "rate_limit:\n  interval: 0\n  burst: 0\n".into(),
    ];
    for yaml in &accepted {
        let dir = write_dir(yaml, &refs(&files));
        if let Err(e) = WebState::load(&dir.path().join("web.yml")) {
            panic!("should be accepted:\n{yaml}\n{e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_metrics_and_plain_http_gets_a_readable_400() {
    let pki = pki();
    let files = server_files(&pki);
    let w = start(&format!("{TLS}  min_version: TLS13\n"), &refs(&files)).await;
    let r = client(&pki.ca.pem(), None)
        .get(w.https("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("quota_exporter_build_info"));
    let plain = reqwest::get(w.h.url("/metrics")).await.unwrap();
    assert_eq!(plain.status(), 400);
    assert!(plain
        .text()
        .await
        .unwrap()
        .contains("Client sent an HTTP request to an HTTPS server"));
    // A client that does not trust our CA refuses the certificate.
    assert!(reqwest::get(w.https("/metrics")).await.is_err());
    w.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_auth_policies_behave_as_in_the_toolkit() {
    let pki = pki();
    let other_ca = Ca::new();
    let stranger = other_ca.leaf(&["prometheus"], true);
    let lonely = self_signed_client();
    let files = server_files(&pki);
    let ca = pki.ca.pem();
    let none = client(&ca, None);
    let ours = client(&ca, Some(&pki.client));
    let theirs = client(&ca, Some(&stranger));
    let selfsigned = client(&ca, Some(&lonely));

    // (policy, extra keys, [no cert, our CA's cert, other CA's cert, self-signed])
    let cases: &[(&str, &str, [bool; 4])] = &[
        ("NoClientCert", "", [true, true, true, true]),
        ("RequestClientCert", "", [true, true, true, true]),
        ("RequireAnyClientCert", "", [false, true, true, true]),
        (
            "VerifyClientCertIfGiven",
            "  client_ca_file: ca.crt\n",
            [true, true, false, false],
        ),
        (
            "RequireAndVerifyClientCert",
            "  client_ca_file: ca.crt\n",
            [false, true, false, false],
        ),
        (
            "RequireAndVerifyClientCert",
            "  client_ca: |\n    CA\n",
            [false, true, false, false],
        ),
        (
            "RequireAnyClientCert",
            "  client_allowed_sans: [lonely]\n",
            [false, false, false, true],
        ),
        (
            "RequireAndVerifyClientCert",
            "  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus]\n",
            [false, true, false, false],
        ),
        (
            "RequireAndVerifyClientCert",
            "  client_ca_file: ca.crt\n  client_allowed_sans: [grafana]\n",
            [false, false, false, false],
        ),
    ];
    for (policy, extra, expected) in cases {
        let extra = extra.replace("CA\n", &format!("{}\n", ca.replace('\n', "\n    ")));
        let yaml = format!("{TLS}  client_auth_type: {policy}\n{extra}");
        let w = start(&yaml, &refs(&files)).await;
        let url = w.https("/-/healthy");
        let got = [
            status(&none, &url).await == Some(200),
            status(&ours, &url).await == Some(200),
            status(&theirs, &url).await == Some(200),
            status(&selfsigned, &url).await == Some(200),
        ];
        assert_eq!(
            &got, expected,
            "{policy} {extra}: [no cert, our CA, other CA, self-signed]"
        );
        w.h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_without_a_ca_uses_public_roots_so_private_certificates_are_refused() {
    let pki = pki();
    let files = server_files(&pki);
    let w = start(
        &format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n"),
        &refs(&files),
    )
    .await;
    let url = w.https("/-/healthy");
    assert_eq!(
        status(&client(&pki.ca.pem(), Some(&pki.client)), &url).await,
        None
    );
    assert_eq!(status(&client(&pki.ca.pem(), None), &url).await, None);
    w.h.stop().await;
}

/// A TLS client offering exactly these versions, suites and groups; returns the negotiated suite.
async fn handshake(
    port: u16,
    ca_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
    suites: &[rustls::CipherSuite],
    groups: &[rustls::NamedGroup],
) -> Result<rustls::CipherSuite, String> {
    let mut provider = rustls::crypto::ring::default_provider();
    if !suites.is_empty() {
        provider
            .cipher_suites
            .retain(|s| suites.contains(&s.suite()));
    }
    if !groups.is_empty() {
        provider.kx_groups.retain(|g| groups.contains(&g.name()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    Ok(tls.get_ref().1.negotiated_cipher_suite().unwrap().suite())
}

use rustls_pki_types::pem::PemObject;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_cipher_suites_and_curves_are_honoured() {
    use rustls::version::{TLS12, TLS13};
    use rustls::CipherSuite as C;
    use rustls::NamedGroup as G;
    let pki = pki();
    let ca = pki.ca.pem();
    let files = server_files(&pki);
    let yaml = format!(
        "{TLS}  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]\n  curve_preferences: [CurveP384]\n"
    );
    let w = start(&yaml, &refs(&files)).await;
    let port = w.h.addr.port();
    assert_eq!(
        handshake(port, &ca, &[&TLS12], &[], &[]).await,
        Ok(C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
        "the server's order wins (prefer_server_cipher_suites defaults to true)"
    );
    assert!(
        handshake(
            port,
            &ca,
            &[&TLS12],
            &[C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256],
            &[]
        )
        .await
        .is_err(),
        "a suite not listed is not negotiated"
    );
    assert!(
        handshake(port, &ca, &[&TLS12], &[], &[G::X25519])
            .await
            .is_err(),
        "a curve not listed is not negotiated"
    );
    assert!(
        handshake(port, &ca, &[&TLS13], &[], &[]).await.is_err(),
        "max_version TLS12"
    );
    w.h.stop().await;

    let w = start(&format!("{TLS}  min_version: TLS13\n"), &refs(&files)).await;
    let port = w.h.addr.port();
    assert!(
        handshake(port, &ca, &[&TLS12], &[], &[]).await.is_err(),
        "min_version TLS13"
    );
    assert!(handshake(port, &ca, &[&TLS13], &[], &[]).await.is_ok());
    w.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_guards_every_endpoint_and_allowed_headers_are_added() {
    let hash = bcrypt::hash("scrape-pass", 4).unwrap();
    let yaml = format!(
        "basic_auth_users:\n  prometheus: '{hash}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-XSS-Protection: 1\n"
    );
    let w = start(&yaml, &[]).await;
    let c = reqwest::Client::new();
    for path in ["/metrics", "/", "/-/healthy"] {
        let r = c.get(w.h.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(
            r.headers()["www-authenticate"],
            "Basic realm=\"quota-exporter\""
        );
        let r = c
            .get(w.h.url(path))
            .basic_auth("prometheus", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with a wrong password");
    }
    let r = c
        .get(w.h.url("/metrics"))
        .basic_auth("prometheus", Some("scrape-pass"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-frame-options"], "deny");
    assert_eq!(r.headers()["x-xss-protection"], "1");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("quota_exporter_build_info"));
    w.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_once_the_burst_is_spent() {
    let w = start("rate_limit:\n  interval: 1h\n  burst: 3\n", &[]).await;
    let c = reqwest::Client::new();
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(status(&c, &w.h.url("/-/healthy")).await.unwrap());
    }
    assert_eq!(codes, [200, 200, 200, 429, 429]);
    w.h.stop().await;
}

async fn reload_gauge(c: &reqwest::Client, url: &str) -> Option<f64> {
    let text = c
        .get(url)
        .basic_auth("admin", Some("admin-pass"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    value(&text, "quota_exporter_config_last_reload_successful")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_rereads_users_and_a_bad_web_config_keeps_the_old_one() {
    let (admin, alice, bob) = (
        bcrypt::hash("admin-pass", 4).unwrap(),
        bcrypt::hash("alice-pass", 4).unwrap(),
        bcrypt::hash("bob-pass", 4).unwrap(),
    );
    let w = start(
        &format!("basic_auth_users:\n  admin: '{admin}'\n  alice: '{alice}'\n"),
        &[],
    )
    .await;
    let c = reqwest::Client::new();
    let url = w.h.url("/-/healthy");
    let as_user = |u: &'static str, p: &'static str| {
        let (c, url) = (c.clone(), url.clone());
        async move {
            c.get(&url)
                .basic_auth(u, Some(p))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(as_user("alice", "alice-pass").await, 200);
    assert_eq!(as_user("bob", "bob-pass").await, 401);

    // alice removed, bob added.
    w.write(
        "web.yml",
        &format!("basic_auth_users:\n  admin: '{admin}'\n  bob: '{bob}'\n"),
    );
    w.h.reload.send(()).await.unwrap();
    eventually("bob can log in", || {
        let answer = as_user("bob", "bob-pass");
        async move { answer.await == 200 }
    })
    .await;
    assert_eq!(
        as_user("alice", "alice-pass").await,
        401,
        "a removed user is refused"
    );

    // A broken web config: refused like a bad config, the old users stay, the gauge says 0.
    w.write("web.yml", "basic_auth_users:\n  bob: not-a-hash\n");
    w.h.reload.send(()).await.unwrap();
    let metrics = w.h.url("/metrics");
    eventually("the reload is marked failed", || {
        let (c, m) = (c.clone(), metrics.clone());
        async move { reload_gauge(&c, &m).await == Some(0.0) }
    })
    .await;
    assert_eq!(
        as_user("bob", "bob-pass").await,
        200,
        "the old web config keeps running"
    );
    w.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_serves_a_rotated_certificate_to_new_connections() {
    let old = pki();
    let files = server_files(&old);
    let w = start(TLS, &refs(&files)).await;
    let trusts_old = client(&old.ca.pem(), None);
    assert_eq!(status(&trusts_old, &w.https("/-/healthy")).await, Some(200));

    let new = pki();
    w.write("server.crt", &new.server.0);
    w.write("server.key", &new.server.1);
    w.h.reload.send(()).await.unwrap();
    let trusts_new = client(&new.ca.pem(), None);
    let url = w.https("/-/healthy");
    eventually("the new certificate is served", || {
        let (c, url) = (trusts_new.clone(), url.clone());
        async move { status(&c, &url).await == Some(200) }
    })
    .await;
    // A fresh client that trusts only the old CA now refuses the server.
    assert_eq!(status(&client(&old.ca.pem(), None), &url).await, None);
    w.h.stop().await;
}

fn tight_limits() -> Options {
    Options {
        limits: Limits {
            header_timeout: Duration::from_millis(600),
            idle_timeout: Duration::from_millis(600),
            tls_handshake_timeout: Duration::from_millis(600),
            max_connections: 64,
            max_requests: 40,
        },
        ..Options::default()
    }
}

/// Reads until the server closes the connection (Ok) or a generous deadline passes (Err).
async fn closed_by_server(stream: &mut TcpStream) -> Result<(), &'static str> {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(()),
            Ok(Ok(_)) => continue,
            Err(_) => return Err("still open"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_trickling_and_idle_connections_are_closed() {
    let pki = pki();
    let files = server_files(&pki);
    for tls in [false, true] {
        let yaml = if tls { TLS } else { "" };
        let w = start_with(yaml, &refs(&files), tight_limits()).await;
        let addr = w.h.addr;

        // Silent after connecting.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        assert_eq!(
            closed_by_server(&mut silent).await,
            Ok(()),
            "silent, tls={tls}"
        );

        if !tls {
            // A request line and then headers a byte at a time, never finished.
            let mut trickle = TcpStream::connect(addr).await.unwrap();
            trickle
                .write_all(b"GET /metrics HTTP/1.1\r\n")
                .await
                .unwrap();
            let writer = tokio::spawn(async move {
                for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                {
                    if trickle.write_all(&[*b]).await.is_err() {
                        return true; // closed by the server
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                let mut buf = [0u8; 64];
                matches!(
                    tokio::time::timeout(Duration::from_secs(10), trickle.read(&mut buf)).await,
                    Ok(Ok(0)) | Ok(Err(_))
                )
            });
            assert!(writer.await.unwrap(), "trickled headers are cut off");

            // A kept-alive connection that goes quiet after one request.
            let mut idle = TcpStream::connect(addr).await.unwrap();
            idle.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = vec![0u8; 4096];
            let n = idle.read(&mut buf).await.unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
            assert_eq!(closed_by_server(&mut idle).await, Ok(()), "idle keep-alive");
        } else {
            // A TLS handshake, then nothing.
            let config = rustls::ClientConfig::builder()
                .with_root_certificates({
                    let mut r = rustls::RootCertStore::empty();
                    for c in
                        rustls_pki_types::CertificateDer::pem_slice_iter(pki.ca.pem().as_bytes())
                    {
                        r.add(c.unwrap()).unwrap();
                    }
                    r
                })
                .with_no_client_auth();
            let tcp = TcpStream::connect(addr).await.unwrap();
            let mut tls_stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect("localhost".try_into().unwrap(), tcp)
                .await
                .unwrap();
            let mut buf = [0u8; 64];
            let r = tokio::time::timeout(Duration::from_secs(20), tls_stream.read(&mut buf)).await;
            assert!(
                matches!(r, Ok(Ok(0)) | Ok(Err(_))),
                "silent after the handshake: {r:?}"
            );
        }
        w.h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_answers_under_a_flood_of_idle_connections_and_bad_passwords() {
    let hash = bcrypt::hash("scrape-pass", 6).unwrap();
    let w = start_with(
        &format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
        &[],
        tight_limits(),
    )
    .await;
    let addr = w.h.addr;
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let scrape = || {
        let c = c.clone();
        let url = w.h.url("/metrics");
        async move {
            c.get(url)
                .basic_auth("prometheus", Some("scrape-pass"))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    };
    assert_eq!(scrape().await.unwrap(), 200, "credentials remembered");

    // More idle connections than the cap (64), held open by the clients.
    let mut idle = Vec::new();
    for _ in 0..150 {
        if let Ok(s) = TcpStream::connect(addr).await {
            idle.push(s);
        }
    }
    // 32 clients guessing passwords as fast as they can, for a bounded number of guesses each.
    let guessers: Vec<_> = (0..32)
        .map(|i| {
            let (c, url) = (c.clone(), w.h.url("/metrics"));
            tokio::spawn(async move {
                for n in 0..4 {
                    let _ = c
                        .get(&url)
                        .basic_auth(format!("user{i}"), Some(format!("guess{n}")))
                        .send()
                        .await;
                }
            })
        })
        .collect();
    // The scrape gets through within a generous bound: idle connections time out and free
    // their slots, and guesses queue behind the bcrypt semaphore instead of the scrape.
    let started = std::time::Instant::now();
    let answered = tokio::time::timeout(Duration::from_secs(60), scrape()).await;
    assert!(matches!(answered, Ok(Ok(200))), "{answered:?}");
    eprintln!("scrape under load answered in {:?}", started.elapsed());
    for g in guessers {
        let _ = tokio::time::timeout(Duration::from_secs(60), g).await;
    }
    eprintln!("guesses done after {:?}", started.elapsed());
    assert!(
        quota_exporter::web_config::bcrypt_peak_concurrency()
            <= quota_exporter::web_config::bcrypt_slots(),
        "bcrypt checks are bounded by the semaphore"
    );
    drop(idle);
    w.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_over_http_needs_the_lifecycle_flag() {
    let w = start("", &[]).await;
    let r = reqwest::Client::new()
        .post(w.h.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("--web.enable-lifecycle"));
    w.h.stop().await;

    let w = start_with(
        "",
        &[],
        Options {
            lifecycle: true,
            ..Options::default()
        },
    )
    .await;
    let r = reqwest::Client::new()
        .post(w.h.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    w.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_prefix_moves_every_route_and_the_landing_page_links_relatively() {
    let w = start_with(
        "",
        &[],
        Options {
            route_prefix: "/quota/".into(),
            ..Options::default()
        },
    )
    .await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(status(&c, &w.h.url("/quota/metrics")).await, Some(200));
    assert_eq!(status(&c, &w.h.url("/quota/-/healthy")).await, Some(200));
    assert_eq!(status(&c, &w.h.url("/metrics")).await, Some(404));
    let r = c.get(w.h.url("/quota")).send().await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "quota/");
    let page = c
        .get(w.h.url("/quota/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("href=\"metrics\"") && page.contains("href=\"-/healthy\""),
        "{page}"
    );
    assert!(!page.contains("href=\"/"), "no absolute links: {page}");
    w.h.stop().await;
}
