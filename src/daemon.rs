//! The daemon around the library: where the configuration comes from, the options of a running
//! exporter, the process-wide HTTP client, signals (SIGTERM, Ctrl-C, SIGHUP), the listeners and
//! the web config's re-reading on reload.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::{Config, ConfigError};
use crate::listener;
use crate::scheduler::{panic_message, Supervisor};
use crate::shard::Shard;
use crate::store::Store;
use crate::vendors;
use crate::web_config::{WebConfig, WebState};

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
    /// `--web.config.file`: TLS, basic auth, headers, rate limit; re-read on every reload.
    pub web: Option<Arc<WebState>>,
    /// Connection limits and timeouts.
    pub limits: listener::Limits,
    /// `--web.enable-lifecycle`: whether `POST /-/reload` works (SIGHUP always does).
    pub lifecycle: bool,
    /// `--web.route-prefix`: where the routes live ("" or "/" for the root).
    pub route_prefix: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            telemetry_path: "/metrics".into(),
            log_config_warnings: true,
            shard: None,
            web: None,
            limits: listener::Limits::default(),
            lifecycle: false,
            route_prefix: String::new(),
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

pub(crate) fn log_warnings(config: &Config, options: &Options) {
    if options.log_config_warnings {
        for w in &config.warnings {
            tracing::warn!("config: {w}");
        }
    }
}

/// The sockets to serve on: one, or several (`--web.listen-address` repeated, systemd sockets).
pub struct Listeners(pub Vec<tokio::net::TcpListener>);

impl From<tokio::net::TcpListener> for Listeners {
    fn from(l: tokio::net::TcpListener) -> Self {
        Listeners(vec![l])
    }
}

impl From<Vec<tokio::net::TcpListener>> for Listeners {
    fn from(l: Vec<tokio::net::TcpListener>) -> Self {
        Listeners(l)
    }
}

/// Reads the web config file again (off the async workers: file reads and a bcrypt hash).
pub(crate) async fn reread_web(options: &Options) -> Result<Option<WebConfig>, String> {
    let Some(web) = options.web.clone() else {
        return Ok(None);
    };
    match tokio::task::spawn_blocking(move || web.reread()).await {
        Ok(Ok(next)) => Ok(Some(next)),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("web config: {e}")),
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

/// One reload, as a transaction: the file is read and validated and the new task set built
/// before anything running is touched. Any failure — an invalid file or a panic at any step —
/// leaves the previous accounts polling and sets `config_last_reload_successful` to 0; the
/// caller (the reload task) carries on either way, so later reloads and SIGHUP keep working.
pub(crate) fn reload(
    source: &ConfigSource,
    options: &Options,
    supervisor: &mut Supervisor,
    store: &Store,
    web: Option<WebConfig>,
) -> Result<(), String> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let config = source
            .load_sharded(options.shard)
            .map_err(|e| e.to_string())?;
        log_warnings(&config, options);
        supervisor.apply(&config)?;
        if let (Some(state), Some(next)) = (&options.web, web) {
            for w in &next.warnings {
                tracing::warn!("web config: {w}");
            }
            state.install(next);
        }
        Ok(config.accounts.len())
    }))
    .unwrap_or_else(|p| {
        Err(format!(
            "reading the configuration panicked: {}",
            panic_message(&*p)
        ))
    });
    store.record_reload(outcome.is_ok());
    match outcome {
        Ok(accounts) => {
            tracing::info!(accounts, "configuration reloaded");
            Ok(())
        }
        Err(e) => {
            tracing::error!("configuration rejected, the previous one keeps running:\n{e}");
            Err(e)
        }
    }
}
