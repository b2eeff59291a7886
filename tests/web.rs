//! `--web.config.file`: TLS (and mutual TLS), basic auth and headers, end to end.

mod common;

use std::sync::Arc;

use common::Harness;
use quota_exporter::simulator::Simulator;
use quota_exporter::web_config::WebConfig;
use quota_exporter::Options;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};

const CONFIG: &str = "defaults:\n  startup_spread: 0s\n";

struct Pki {
    ca_pem: String,
    server_pem: String,
    server_key: String,
    client_identity: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["prometheus".to_owned()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();

    Pki {
        ca_pem: ca.pem(),
        server_pem: server.pem(),
        server_key: server_key.serialize_pem(),
        client_identity: format!("{}{}", client.pem(), client_key.serialize_pem()),
    }
}

async fn start(web_yaml: &str, files: &[(&str, &str)]) -> (Harness, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let path = dir.path().join("web.yml");
    std::fs::write(&path, web_yaml).unwrap();
    let web = WebConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let options = Options {
        web: Some(Arc::new(web)),
        ..Options::default()
    };
    (Harness::start_with_options(sim, CONFIG, options).await, dir)
}

fn client(pki: &Pki, identity: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap());
    if identity {
        b = b.identity(reqwest::Identity::from_pem(pki.client_identity.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_metrics_and_refuses_plain_http() {
    let pki = pki();
    let yaml = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n";
    let (h, _dir) = start(
        yaml,
        &[
            ("server.crt", &pki.server_pem),
            ("server.key", &pki.server_key),
        ],
    )
    .await;
    let url = format!("https://localhost:{}/metrics", h.addr.port());
    let r = client(&pki, false).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("quota_exporter_build_info"));
    assert!(
        reqwest::get(h.url("/metrics")).await.is_err(),
        "plain HTTP on the TLS port must fail"
    );
    // A client that does not trust our CA refuses the certificate.
    assert!(reqwest::get(&url).await.is_err());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    let pki = pki();
    let yaml = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n";
    let (h, _dir) = start(
        yaml,
        &[
            ("server.crt", &pki.server_pem),
            ("server.key", &pki.server_key),
            ("ca.crt", &pki.ca_pem),
        ],
    )
    .await;
    let url = format!("https://localhost:{}/-/healthy", h.addr.port());
    assert!(
        client(&pki, false).get(&url).send().await.is_err(),
        "no client certificate, no answer"
    );
    let r = client(&pki, true).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_guards_every_endpoint_and_headers_are_added() {
    let hash = bcrypt::hash("scrape-pass", 4).unwrap();
    let yaml = format!(
        "basic_auth_users:\n  prometheus: '{hash}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
    );
    let (h, _dir) = start(&yaml, &[]).await;
    let c = reqwest::Client::new();
    for path in ["/metrics", "/", "/-/healthy"] {
        let r = c.get(h.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(
            r.headers()["www-authenticate"],
            "Basic realm=\"quota-exporter\""
        );
        let r = c
            .get(h.url(path))
            .basic_auth("prometheus", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with a wrong password");
    }
    let r = c
        .get(h.url("/metrics"))
        .basic_auth("prometheus", Some("scrape-pass"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-frame-options"], "deny");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("quota_exporter_build_info"));
    h.stop().await;
}
