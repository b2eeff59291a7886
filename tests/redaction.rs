//! One redaction boundary: a secret a vendor echoes in an error — whatever its length — never
//! reaches the log, the landing page or the metrics. The vendors here are stand-ins on loopback
//! that echo what they were sent (as a misbehaving vendor or proxy may).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_quota-exporter");

/// WeCom's gettoken refusing the secret, with the secret in its message; KooDrive refusing a
/// bearer token, with the token in its message.
async fn echoing_vendor() -> String {
    let app = Router::new()
        .route(
            "/cgi-bin/gettoken",
            get(|Query(q): Query<Vec<(String, String)>>| async move {
                let secret = q
                    .iter()
                    .find(|(k, _)| k == "corpsecret")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                Json(json!({"errcode": 40001, "errmsg": format!("invalid credential, corpsecret=[{secret}]")}))
            }),
        )
        .route(
            "/koodrive/ose/v1/service/quotaUsed",
            get(|headers: HeaderMap| async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .trim_start_matches("Bearer ")
                    .to_owned();
                let body: Value = json!({"code": 401, "msg": format!("token [{auth}] is not valid")});
                (StatusCode::UNAUTHORIZED, Json(body))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[path = "common/ports.rs"]
mod ports;
use ports::free_port;

async fn get_text(url: &str) -> Option<String> {
    let r = reqwest::get(url).await.ok()?;
    r.status().is_success().then_some(())?;
    r.text().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_and_three_character_secrets_echoed_by_a_vendor_never_reach_log_page_or_metrics() {
    let vendor = echoing_vendor().await;
    let dir = std::env::temp_dir().join(format!("qe-redaction-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "defaults:\n  interval: 1h\n  startup_spread: 0s\n  retries: 0\n\
             wecom_wedrive:\n  - name: short\n    corp_id: wwcorp\n    secret: Q\n    base_url: {vendor}\n\
             koodrive:\n  - name: three\n    bearer_token: k3y\n    base_url: {vendor}\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["--config.file", config.to_str().unwrap()])
        .args(["--web.listen-address", &format!("127.0.0.1:{port}")])
        .env_remove("QUOTA_EXPORTER_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let (page, metrics) = loop {
        let page = get_text(&format!("{base}/")).await.unwrap_or_default();
        if page.matches("redacted").count() >= 2 {
            break (page, get_text(&format!("{base}/metrics")).await.unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "both failures did not reach the landing page:\n{page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    assert!(log.contains("poll failed"), "no failure logged:\n{log}");
    assert!(
        metrics.contains("quota_exporter_poll_failures_total{vendor=\"koodrive\",account=\"three\",reason=\"auth\"} 1"),
        "{metrics}"
    );
    for (what, text) in [
        ("log", &log),
        ("landing page", &page),
        ("metrics", &metrics),
    ] {
        for echoed in ["[Q]", "[k3y]", "corpsecret=Q"] {
            assert!(
                !text.contains(echoed),
                "{what} shows the secret as {echoed}:\n{text}"
            );
        }
    }
    assert!(log.contains("corpsecret=[<redacted>]"), "{log}");
    assert!(log.contains("token [<redacted>]"), "{log}");
}
