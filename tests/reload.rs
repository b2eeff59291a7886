//! Reload as one transaction: a failed reload (a rejected file, or one that used to panic while
//! the new accounts were built) keeps the previous accounts polling, and later reloads — by HTTP
//! or by signal — keep working. A reload storm while a vendor hangs leaves no attempt behind: no
//! open connection to the vendor and no extra metered call.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{eventually, value};
use quota_exporter::simulator::Simulator;
use quota_exporter::{run, ConfigSource, Options};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, oneshot};

struct Exporter {
    addr: std::net::SocketAddr,
    signal: mpsc::Sender<()>,
    _stop: oneshot::Sender<()>,
}

async fn start(config: &Path) -> Exporter {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let (signal, signals) = mpsc::channel(1);
    let source = ConfigSource::File(config.to_owned());
    tokio::spawn(run(
        source,
        listener,
        Options {
            lifecycle: true,
            ..Options::default()
        },
        signals,
        async move {
            let _ = stopped.await;
        },
    ));
    Exporter {
        addr,
        signal,
        _stop: stop,
    }
}

impl Exporter {
    async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn reload(&self) -> (u16, String) {
        let r = reqwest::Client::new()
            .post(format!("http://{}/-/reload", self.addr))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn polls(&self, account: &str) -> f64 {
        let series =
            format!("quota_exporter_polls_total{{vendor=\"wecom_wedrive\",account=\"{account}\"}}");
        value(&self.metrics().await, &series).unwrap_or(0.0)
    }
}

fn wecom(name: &str, corp: &str, base_url: &str) -> String {
    format!(
        "  - name: {name}\n    corp_id: wwdemo0{corp}\n    secret: demo-secret-{corp}\n    base_url: {base_url}\n"
    )
}

const DEFAULTS: &str =
    "defaults:\n  interval: 1s\n  timeout: 900ms\n  startup_spread: 0s\n  jitter: 0\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reload_keeps_the_old_accounts_polling_and_later_reloads_work() {
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    let good = format!(
        "{DEFAULTS}wecom_wedrive:\n{}",
        wecom("acme", "acme", &sim.url())
    );
    std::fs::write(&path, &good).unwrap();
    let exporter = start(&path).await;
    eventually("the first poll", || async {
        exporter.polls("acme").await >= 1.0
    })
    .await;

    // A value that once passed validation and then panicked while the new accounts were built
    // (after the old loops had been cancelled), killing the reload task.
    let bad = good.replace(
        "jitter: 0\n",
        "jitter: 0\n  max_concurrent_polls: 18446744073709551615\n",
    );
    std::fs::write(&path, &bad).unwrap();
    let (status, body) = exporter.reload().await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("max_concurrent_polls"), "{body}");
    let m = exporter.metrics().await;
    assert_eq!(
        value(&m, "quota_exporter_config_last_reload_successful"),
        Some(0.0),
        "{m}"
    );
    // The old accounts keep polling.
    let before = exporter.polls("acme").await;
    eventually("acme polls after the failed reload", || async {
        exporter.polls("acme").await >= before + 2.0
    })
    .await;

    // A later reload by signal applies a good file.
    let two = format!("{good}{}", wecom("globex", "globex", &sim.url()));
    std::fs::write(&path, &two).unwrap();
    exporter.signal.send(()).await.unwrap();
    eventually("globex polled after the signal", || async {
        exporter.polls("globex").await >= 1.0
    })
    .await;
    let m = exporter.metrics().await;
    assert_eq!(
        value(&m, "quota_exporter_config_last_reload_successful"),
        Some(1.0)
    );
    // And one by HTTP as well.
    std::fs::write(&path, &good).unwrap();
    let (status, body) = exporter.reload().await;
    assert_eq!(status, 200, "{body}");
    assert!(!exporter.metrics().await.contains("account=\"globex\""));
}

/// A vendor that accepts connections and never answers; counts connections accepted and open.
async fn hanging_vendor() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (accepted, open) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (a, o) = (accepted.clone(), open.clone());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            o.fetch_add(1, Ordering::SeqCst);
            let o = o.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while matches!(conn.read(&mut buf).await, Ok(n) if n > 0) {}
                o.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (url, accepted, open)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_storm_while_the_vendor_hangs_leaves_no_connection_and_no_extra_call() {
    let (url, accepted, open) = hanging_vendor().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    let config = format!(
        "defaults:\n  interval: 10m\n  timeout: 5m\n  retries: 0\n  startup_spread: 0s\n\
         wecom_wedrive:\n{}",
        wecom("hung", "acme", &url)
    );
    std::fs::write(&path, &config).unwrap();
    let exporter = start(&path).await;
    eventually("the first call reaches the vendor", || async {
        accepted.load(Ordering::SeqCst) == 1
    })
    .await;

    for i in 0..30 {
        let (status, body) = exporter.reload().await;
        assert_eq!(status, 200, "reload {i}: {body}");
    }
    eventually("the cancelled attempt's connection is closed", || async {
        open.load(Ordering::SeqCst) == 0
    })
    .await;
    // Give a stray attempt every chance to call again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "reloads made the account call its vendor again"
    );
    assert_eq!(open.load(Ordering::SeqCst), 0);
    let m = exporter.metrics().await;
    let calls: f64 = m
        .lines()
        .filter(|l| l.starts_with("quota_exporter_api_requests_total{") && l.contains("\"hung\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(calls, 1.0, "{m}");
}
