//! quota-exporter: a Prometheus exporter for what an organisation bought from SaaS vendors —
//! storage capacity, seats, licences and their expiry — and how much of it is used.
//!
//! Crate map, in the order data flows:
//! - [`config`]: the config file, validated once (and again on reload);
//! - [`vendors`]: the interface every vendor implements, the list of vendors, one folder each;
//!   [`vendors::settings`] is the contract a vendor parses its config section against;
//! - [`outcome`]: why a poll failed, whether to retry, what it cost (call counters);
//! - [`scheduler`]: the supervisor (the running task set, replaced on reload) and one poll loop
//!   per account — timing, timeouts, retries, panics, outcomes;
//! - [`store`]: the latest snapshot per account, staleness, outcome counters;
//! - [`render`]: the exporter's own metric families, build info, the exposition and its cache;
//! - [`exposition`]: the metric model and its OpenMetrics / classic text encodings;
//! - [`process`]: the `process_*` metrics, read from `/proc`;
//! - [`redact`]: secrets and URL queries scrubbed from messages;
//! - [`server`]: `/`, `/metrics`, `/-/healthy`, `/-/ready`, `/-/reload`; [`landing`]: the
//!   figures the landing page shows per account;
//! - [`web_config`]: `--web.config.file` (TLS, basic auth, headers);
//! - [`shard`]: splitting accounts across replicas;
//! - [`daemon`]: config source, options, the HTTP client, signals;
//! - [`simulator`]: every vendor's API on loopback, for `--demo` and the tests;
//! - [`catalogue`]: vendors and metric families as JSON (`--print-catalogue`), for the checks.
//!
//! [`run`] ties them together and takes its shutdown signal as a future, so tests start the real
//! server in process.

pub mod alerting;
pub mod catalogue;
pub mod chunks;
pub mod config;
pub mod daemon;
pub mod exposition;
pub mod landing;
pub mod listener;
pub mod logfmt;
pub mod loglimit;
pub mod memory;
pub mod outcome;
pub mod process;
pub mod redact;
pub mod render;
pub mod scheduler;
pub mod server;
pub mod shard;
pub mod simulator;
pub mod store;
pub mod vendors;
pub mod web_config;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::daemon::{log_warnings, reread_web};
use crate::scheduler::Supervisor;
use crate::server::{AppState, ReloadRequest};
use crate::store::Store;

pub use crate::daemon::{
    http_client, reload_signals, shutdown_signal, ConfigSource, Listeners, Options, RunError,
    DEMO_CONFIG,
};

/// Runs the exporter until `shutdown` completes: polls every account and serves HTTP on
/// `listeners`. Reload requests come from `POST /-/reload` and from `reload_signal` (SIGHUP);
/// a reload re-reads the config file and the web config file, and applies both or neither.
pub async fn run(
    source: ConfigSource,
    listeners: impl Into<Listeners>,
    options: Options,
    mut reload_signal: mpsc::Receiver<()>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let config = source.load_sharded(options.shard)?;
    log_warnings(&config, &options);
    let store = Arc::new(Store::new());
    store.record_reload(true);
    let root = CancellationToken::new();
    let mut supervisor = Supervisor::new(store.clone(), &root);
    supervisor
        .apply(&config)
        .map_err(|e| config::ConfigError { problems: vec![e] })?;
    match config.shard {
        Some(shard) => {
            tracing::info!(accounts = config.accounts.len(), %shard, other_shards = config.other_shards.len(), "polling started")
        }
        None => tracing::info!(accounts = config.accounts.len(), "polling started"),
    }
    // The parsed file and its per-account warnings are not needed any more: the loops hold what
    // they use. Parsing went through far more memory than it keeps; hand that back.
    drop(config);
    memory::release_free_memory();
    tokio::spawn(memory::release_periodically(root.clone()));

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
                // The web config is read first (off the async workers); both apply or neither.
                let outcome = match reread_web(&options).await {
                    Ok(web) => daemon::reload(&source, &options, &mut supervisor, &store, web),
                    Err(e) => {
                        store.record_reload(false);
                        tracing::error!(
                            "configuration rejected, the previous one keeps running:\n{e}"
                        );
                        Err(e)
                    }
                };
                // The parse went through far more memory than the config keeps: hand it back.
                memory::release_free_memory();
                if let Some(reply) = reply {
                    let _ = reply.send(outcome);
                }
            }
            supervisor.wait().await;
        })
    };

    let app = server::router(AppState {
        renderer: Arc::new(render::Renderer::new(store.clone())),
        store,
        telemetry_path: options.telemetry_path.clone(),
        reload: Some(reload_tx),
        lifecycle: options.lifecycle,
        route_prefix: options.route_prefix.clone(),
        max_requests: options.limits.max_requests,
    });
    let app = match &options.web {
        Some(web) => server::protect(app, web.clone()),
        None => app,
    };
    let listeners = listeners.into().0;
    let tls = options
        .web
        .as_ref()
        .is_some_and(|w| w.current().tls.is_some());
    for l in &listeners {
        tracing::info!(address = %l.local_addr()?, tls, "listening");
    }
    let stop = root.clone();
    tokio::spawn(async move {
        shutdown.await;
        stop.cancel();
    });
    let served = listener::serve(
        listeners,
        app,
        options.web.clone(),
        options.limits.clone(),
        root.clone(),
    )
    .await;
    root.cancel();
    // Poll loops stop at their next await; give in-flight work a moment, never block exit on it.
    let _ = tokio::time::timeout(Duration::from_secs(2), reloader).await;
    served?;
    Ok(())
}
