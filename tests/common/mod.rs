//! Shared by the end-to-end tests: the simulator and the exporter running in process, and
//! bounded waits (never a timed assertion: a condition polled until a generous deadline).

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use quota_exporter::simulator::{FaultRule, Simulator};
use quota_exporter::{run, ConfigSource, Options};
use tokio::sync::{mpsc, oneshot};

/// An exporter running in process against a simulator.
pub struct Harness {
    pub sim: Simulator,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub reload: mpsc::Sender<()>,
    handle: tokio::task::JoinHandle<Result<(), quota_exporter::RunError>>,
}

impl Harness {
    /// Starts a simulator and an exporter whose config is `yaml` with `${SIMULATOR_URL}`
    /// replaced by the simulator's URL.
    pub async fn start(yaml: &str) -> Harness {
        let sim = Simulator::start(([127, 0, 0, 1], 0).into())
            .await
            .expect("simulator");
        Self::start_with_sim(sim, yaml).await
    }

    pub async fn start_with_sim(sim: Simulator, yaml: &str) -> Harness {
        Self::start_with_options(sim, yaml, Options::default()).await
    }

    pub async fn start_with_options(sim: Simulator, yaml: &str, options: Options) -> Harness {
        let source = ConfigSource::Yaml(yaml.replace("${SIMULATOR_URL}", &sim.url()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (reload_tx, reload_rx) = mpsc::channel(1);
        let handle = tokio::spawn(run(source, listener, options, reload_rx, async move {
            let _ = stop_rx.await;
        }));
        Harness {
            sim,
            addr,
            stop: Some(stop_tx),
            reload: reload_tx,
            handle,
        }
    }

    /// The demo (`--demo`'s config and simulator) with every account polled once: the harness,
    /// the demo's (vendor, account) pairs and the exposition.
    pub async fn demo_all_up() -> (Harness, Vec<(String, String)>, String) {
        let h = Harness::start(quota_exporter::DEMO_CONFIG).await;
        let accounts: Vec<(String, String)> = ConfigSource::demo("http://unused")
            .load()
            .unwrap()
            .accounts
            .iter()
            .map(|a| (a.vendor.name.to_owned(), a.name.clone()))
            .collect();
        let text = h
            .metrics_until("every demo account up", |t| {
                accounts.iter().all(|(v, a)| {
                    value(
                        t,
                        &format!("quota_exporter_up{{vendor=\"{v}\",account=\"{a}\"}}"),
                    ) == Some(1.0)
                })
            })
            .await;
        (h, accounts, text)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The classic text exposition.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .expect("scrape")
            .text()
            .await
            .unwrap()
    }

    /// The landing page (`/`).
    pub async fn page(&self) -> String {
        reqwest::get(self.url("/"))
            .await
            .expect("landing page")
            .text()
            .await
            .unwrap()
    }

    /// Waits (bounded) until the exposition satisfies `pred`, and returns it.
    pub async fn metrics_until(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..400 {
            if let Ok(r) = reqwest::get(self.url("/metrics")).await {
                last = r.text().await.unwrap_or_default();
                if pred(&last) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for: {what}\nlast exposition:\n{last}");
    }

    pub fn fault(&self, rule: FaultRule) {
        self.sim.state.add_fault(rule);
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.handle).await;
    }
}

/// The value of the first exposition line that starts with `series` (name and labels exactly
/// as rendered, e.g. `quota_exporter_up{vendor="wecom_wedrive",account="acme"}`).
pub fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    })
}

/// Polls `cond` until it holds or a generous deadline passes.
pub async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..400 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}
