//! quota-exporter: a Prometheus exporter for what an organisation bought from SaaS vendors —
//! storage capacity, seats, licences and their expiry — and how much of it is used.
//!
//! Crate map, in the order data flows:
//! - [`config`]: the config file, validated once (and again on reload);
//! - [`vendors`]: the interface every vendor implements, the list of vendors, one folder each;
//! - [`scheduler`]: one poll loop per account — timing, timeouts, retries, panics, outcomes;
//! - [`store`]: the latest snapshot per account, staleness, the rendered exposition;
//! - [`exposition`]: the metric model and its OpenMetrics / classic text encodings;
//! - [`server`]: `/`, `/metrics`, `/-/healthy`, `/-/ready`, `/-/reload`;
//! - [`simulator`]: every vendor's API on loopback, for `--demo` and the tests.
//!
//! [`run`] ties them together and takes its shutdown signal as a future, so tests start the real
//! server in process.

pub mod config;
pub mod exposition;
pub mod scheduler;
pub mod server;
pub mod shard;
pub mod simulator;
pub mod store;
pub mod vendors;
pub mod web_config;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, ConfigError};
use crate::server::{AppState, ReloadRequest};
use crate::shard::Shard;
use crate::store::{AccountKey, Store};
use crate::vendors::CallStats;
use crate::web_config::WebConfig;

/// The built-in configuration of `--demo`. `${SIMULATOR_URL}` is replaced by the simulator's URL.
pub const DEMO_CONFIG: &str = include_str!("../config/demo.yml");

/// Where the configuration comes from, so it can be read again on reload.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    File(PathBuf),
    /// YAML text (the demo's), read again as is on reload.
    Yaml(String),
}

impl ConfigSource {
    pub fn load(&self) -> Result<Config, ConfigError> {
        match self {
            ConfigSource::File(path) => Config::load(path),
            ConfigSource::Yaml(text) => Config::from_yaml(text),
        }
    }

    /// Loads and keeps this shard's accounts (`shard` overrides the config's own).
    pub fn load_sharded(&self, shard: Option<Shard>) -> Result<Config, ConfigError> {
        let mut config = self.load()?;
        config.apply_shard(shard);
        Ok(config)
    }

    /// The demo configuration pointing at a simulator.
    pub fn demo(simulator_url: &str) -> Self {
        ConfigSource::Yaml(DEMO_CONFIG.replace("${SIMULATOR_URL}", simulator_url))
    }
}

/// A vendor HTTP client with the default settings (see [`vendors::http::build_client`]).
pub fn http_client() -> reqwest::Client {
    vendors::http::build_client(&Default::default())
        .expect("the default HTTP client's settings are static and valid")
}

/// Options of a running exporter.
#[derive(Debug, Clone)]
pub struct Options {
    pub telemetry_path: String,
    /// Log config warnings (off for the demo, whose secrets are inline on purpose).
    pub log_config_warnings: bool,
    /// `--shard`: poll only this share of the accounts.
    pub shard: Option<Shard>,
    /// `--web.config.file`: TLS, basic auth, extra headers.
    pub web: Option<Arc<WebConfig>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            telemetry_path: "/metrics".into(),
            log_config_warnings: true,
            shard: None,
            web: None,
        }
    }
}

/// Errors that stop the exporter.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("invalid configuration:\n{0}")]
    Config(#[from] ConfigError),
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

/// The running accounts: replaced as a whole on reload.
struct Supervisor {
    store: Arc<Store>,
    clients: Arc<vendors::http::Clients>,
    tracker: TaskTracker,
    root: CancellationToken,
    current: CancellationToken,
    stats: HashMap<AccountKey, Arc<CallStats>>,
}

impl Supervisor {
    fn apply(&mut self, config: &Config) {
        let next_polls: HashMap<_, _> = self
            .store
            .statuses()
            .into_iter()
            .filter_map(|s| s.next_poll.map(|t| (s.key, t)))
            .collect();
        self.current.cancel();
        self.current = self.root.child_token();
        let tasks = scheduler::tasks(config, &self.clients, &self.stats);
        self.clients
            .retain(config.accounts.iter().map(|a| &a.http.client));
        self.stats = tasks
            .iter()
            .map(|t| (t.key.clone(), t.ctx.stats.clone()))
            .collect();
        self.store
            .set_accounts(tasks.iter().map(|t| t.info()).collect());
        scheduler::spawn_all(
            tasks,
            &config.defaults,
            &self.store,
            &self.tracker,
            &self.current,
            &next_polls,
        );
    }
}

fn log_warnings(config: &Config, options: &Options) {
    if options.log_config_warnings {
        for w in &config.warnings {
            tracing::warn!("config: {w}");
        }
    }
}

/// Runs the exporter until `shutdown` completes: polls every account and serves HTTP on
/// `listener`. Reload requests come from `POST /-/reload` and from `reload_signal` (SIGHUP).
pub async fn run(
    source: ConfigSource,
    listener: TcpListener,
    options: Options,
    mut reload_signal: mpsc::Receiver<()>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let config = source.load_sharded(options.shard)?;
    log_warnings(&config, &options);
    let store = Arc::new(Store::new());
    store.record_reload(true);
    let root = CancellationToken::new();
    let mut supervisor = Supervisor {
        store: store.clone(),
        clients: Default::default(),
        tracker: TaskTracker::new(),
        current: root.child_token(),
        root: root.clone(),
        stats: HashMap::new(),
    };
    supervisor.apply(&config);
    match config.shard {
        Some(shard) => {
            tracing::info!(accounts = config.accounts.len(), %shard, other_shards = config.other_shards.len(), "polling started")
        }
        None => tracing::info!(accounts = config.accounts.len(), "polling started"),
    }

    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let reloader = {
        let (root, store, options) = (root.clone(), store.clone(), options.clone());
        tokio::spawn(async move {
            loop {
                let reply = tokio::select! {
                    Some(reply) = reload_rx.recv() => Some(reply),
                    Some(()) = reload_signal.recv() => None,
                    _ = root.cancelled() => break,
                };
                let outcome = match source.load_sharded(options.shard) {
                    Ok(config) => {
                        log_warnings(&config, &options);
                        supervisor.apply(&config);
                        store.record_reload(true);
                        tracing::info!(accounts = config.accounts.len(), "configuration reloaded");
                        Ok(())
                    }
                    Err(e) => {
                        store.record_reload(false);
                        tracing::error!(
                            "configuration rejected, the previous one keeps running:\n{e}"
                        );
                        Err(e.to_string())
                    }
                };
                if let Some(reply) = reply {
                    let _ = reply.send(outcome);
                }
            }
            supervisor.tracker.close();
            supervisor.tracker.wait().await;
        })
    };

    let app = server::router(AppState {
        store,
        telemetry_path: options.telemetry_path.clone(),
        reload: Some(reload_tx),
    });
    let app = match &options.web {
        Some(web) => protect(app, web),
        None => app,
    };
    tracing::info!(address = %listener.local_addr()?, tls = options.web.as_ref().is_some_and(|w| w.tls.is_some()), "listening");
    let stop = root.clone();
    let graceful = async move {
        shutdown.await;
        stop.cancel();
    };
    let served = match options.web.as_ref().and_then(|w| w.tls.clone()) {
        Some(tls) => {
            let listener = web_config::TlsListener::new(listener, tls)?;
            axum::serve(listener, app)
                .with_graceful_shutdown(graceful)
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(graceful)
                .await
        }
    };
    root.cancel();
    // Poll loops stop at their next await; give in-flight work a moment, never block exit on it.
    let _ = tokio::time::timeout(Duration::from_secs(2), reloader).await;
    served?;
    Ok(())
}

/// Wraps the router with the web config's basic auth and response headers.
fn protect(app: axum::Router, web: &WebConfig) -> axum::Router {
    let app = match &web.basic_auth {
        Some(auth) => app.layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            web_config::require_basic_auth,
        )),
        None => app,
    };
    if web.headers.is_empty() {
        app
    } else {
        app.layer(axum::middleware::map_response_with_state(
            Arc::new(web.headers.clone()),
            web_config::add_headers,
        ))
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// Forwards SIGHUP as reload requests.
pub fn reload_signals() -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel(1);
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading configuration");
            let _ = tx.try_send(());
        }
    });
    #[cfg(not(unix))]
    drop(tx);
    rx
}
