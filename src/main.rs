//! The `quota-exporter` command: flags, logging and exit codes. Everything else is in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Parser;
use quota_exporter::config::Config;
use quota_exporter::exposition::Format;
use quota_exporter::listener::Limits;
use quota_exporter::render::{build_date, revision, version, Renderer};
use quota_exporter::shard::Shard;
use quota_exporter::simulator::Simulator;
use quota_exporter::store::Store;
use quota_exporter::web_config::WebState;
use quota_exporter::{
    listener, reload_signals, run, scheduler, server, shutdown_signal, ConfigSource, Options,
};

#[cfg(all(feature = "glibc-2-28", target_os = "linux", target_env = "gnu"))]
mod glibc_compat;

#[derive(Parser, Debug)]
#[command(
    name = "quota-exporter",
    about = "Prometheus exporter for SaaS quotas: storage, seats, licences and their expiry",
    disable_version_flag = true
)]
struct Args {
    /// Configuration file (YAML, or TOML by extension).
    #[arg(
        long = "config.file",
        value_name = "PATH",
        env = "QUOTA_EXPORTER_CONFIG"
    )]
    config_file: Option<PathBuf>,
    /// Load and validate the configuration, print a summary, and exit 0 (valid) or 1. With
    /// --once, also poll every account once and show what each mapping extracted.
    #[arg(long = "config.check")]
    config_check: bool,
    /// Poll every account once, print the exposition, and exit non-zero if any poll failed.
    #[arg(long)]
    once: bool,
    /// Run against the built-in vendor simulator with a built-in configuration.
    #[arg(long)]
    demo: bool,
    /// Address to listen on; repeat the flag to listen on several.
    #[arg(
        long = "web.listen-address",
        default_value = ":10042",
        value_name = "ADDR",
        action = clap::ArgAction::Append
    )]
    listen_address: Vec<String>,
    /// Listen on the sockets systemd passes (socket activation) instead of --web.listen-address.
    #[arg(long = "web.systemd-socket")]
    systemd_socket: bool,
    /// TLS, basic auth, headers and a rate limit, in the Prometheus exporter-toolkit web config
    /// format. Re-read on reload.
    #[arg(long = "web.config.file", value_name = "PATH")]
    web_config_file: Option<PathBuf>,
    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        default_value = "/metrics",
        value_name = "PATH",
        value_parser = server::check_telemetry_path
    )]
    telemetry_path: String,
    /// Serve every route under this path prefix (default: the path of --web.external-url, or /).
    #[arg(long = "web.route-prefix", value_name = "PATH", value_parser = server::normalize_prefix)]
    route_prefix: Option<String>,
    /// The URL users reach the exporter at (e.g. behind a reverse proxy); its path is the default
    /// route prefix.
    #[arg(long = "web.external-url", value_name = "URL", value_parser = external_url_path)]
    external_url: Option<String>,
    /// Allow reloads through POST /-/reload (SIGHUP always reloads).
    #[arg(long = "web.enable-lifecycle")]
    enable_lifecycle: bool,
    /// Scrapes of the telemetry path in flight at most; more get 503. 0: no limit.
    #[arg(long = "web.max-requests", default_value_t = 40, value_name = "N")]
    max_requests: usize,
    /// Open HTTP connections at most; more clients wait until one closes.
    #[arg(long = "web.max-connections", default_value_t = 512, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Time a client has to send a request's line and headers.
    #[arg(long = "web.read-header-timeout", default_value = "10s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    read_header_timeout: std::time::Duration,
    /// Time a kept-alive connection may wait for its next request.
    #[arg(long = "web.idle-timeout", default_value = "60s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    idle_timeout: std::time::Duration,
    /// Time a client has to complete the TLS handshake.
    #[arg(long = "web.tls-handshake-timeout", default_value = "10s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    tls_handshake_timeout: std::time::Duration,
    /// Log level: debug, info, warn or error.
    #[arg(long = "log.level", default_value = "info", value_parser = ["debug", "info", "warn", "error"])]
    log_level: String,
    /// Log format: logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt", value_parser = ["logfmt", "json"])]
    log_format: String,
    /// Poll only this replica's share of the accounts: INDEX/COUNT, e.g. 0/3 (overrides the
    /// config's `shard`).
    #[arg(long, value_name = "INDEX/COUNT")]
    shard: Option<Shard>,
    /// Print the version and exit.
    #[arg(long)]
    version: bool,
    /// Print every vendor and metric family (type, unit, HELP) as JSON, and exit.
    #[arg(long = "print-catalogue")]
    print_catalogue: bool,
}

fn main() -> ExitCode {
    quota_exporter::memory::limit_allocator_arenas();
    let args = Args::parse();
    if args.version {
        println!(
            "quota-exporter {} (revision {}, built {}, {}/{})",
            version(),
            revision(),
            build_date(),
            std::env::consts::OS,
            std::env::consts::ARCH
        );
        return ExitCode::SUCCESS;
    }
    if args.print_catalogue {
        println!("{:#}", quota_exporter::catalogue::json());
        return ExitCode::SUCCESS;
    }
    init_logging(&args);
    // Before the runtime opens descriptors of its own next to the ones systemd passed.
    #[cfg(unix)]
    let systemd = match args
        .systemd_socket
        .then(listener::systemd_listeners)
        .transpose()
    {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("quota-exporter: {e}");
            return ExitCode::FAILURE;
        }
    };
    #[cfg(not(unix))]
    let systemd: Option<Vec<std::net::TcpListener>> = None;
    // As the Go runtime does: the soft limit on open files up to the hard one, so that the
    // connection cap, not the descriptor limit, is what bounds clients.
    #[cfg(unix)]
    match listener::raise_fd_limit() {
        Ok((soft, _)) => tracing::debug!(open_files = soft, "file descriptor limit"),
        Err(e) => tracing::warn!("cannot raise the open-files limit: {e}"),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(real_main(args, systemd)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("quota-exporter: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn real_main(
    args: Args,
    systemd: Option<Vec<std::net::TcpListener>>,
) -> anyhow::Result<ExitCode> {
    // The demo's simulator lives as long as this function.
    let (source, simulator) = match (&args.config_file, args.demo) {
        (Some(_), true) => bail!("--demo brings its own configuration: drop --config.file"),
        (Some(path), false) => (ConfigSource::File(path.clone()), None),
        (None, true) => {
            let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.context("starting the demo simulator")?;
            tracing::info!(url = %sim.url(), "demo: vendor simulator started");
            (ConfigSource::demo(&sim.url()), Some(sim))
        }
        (None, false) => bail!("no configuration: pass --config.file PATH, or --demo to try the exporter against its simulator"),
    };

    if args.config_check {
        let checked = config_check(&source, args.shard);
        if args.once && checked == ExitCode::SUCCESS {
            return explain_once(&source, args.shard).await;
        }
        return Ok(checked);
    }
    if args.once {
        return once(&source, args.shard).await;
    }

    let web = match &args.web_config_file {
        Some(path) => {
            let web = WebState::load(path)?;
            for w in &web.current().warnings {
                tracing::warn!("web config: {w}");
            }
            Some(Arc::new(web))
        }
        None => None,
    };
    let listeners = if let Some(systemd) = systemd {
        systemd
            .into_iter()
            .map(tokio::net::TcpListener::from_std)
            .collect::<Result<Vec<_>, _>>()?
    } else {
        let mut listeners = Vec::new();
        for a in &args.listen_address {
            let addr = listen_address(a)?;
            listeners.push(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?,
            );
        }
        listeners
    };
    let options = Options {
        telemetry_path: args.telemetry_path.clone(),
        log_config_warnings: simulator.is_none(),
        shard: args.shard,
        web,
        limits: Limits {
            header_timeout: args.read_header_timeout,
            idle_timeout: args.idle_timeout,
            tls_handshake_timeout: args.tls_handshake_timeout,
            max_connections: args.max_connections as usize,
            max_requests: args.max_requests,
        },
        lifecycle: args.enable_lifecycle,
        route_prefix: args
            .route_prefix
            .clone()
            .or_else(|| args.external_url.clone())
            .unwrap_or_default(),
    };
    run(
        source,
        listeners,
        options,
        reload_signals(),
        shutdown_signal(),
    )
    .await?;
    drop(simulator);
    Ok(ExitCode::SUCCESS)
}

fn config_check(source: &ConfigSource, shard: Option<Shard>) -> ExitCode {
    match source.load_sharded(shard) {
        Ok(config) => {
            match config.shard {
                Some(shard) => println!(
                    "configuration is valid: shard {shard} owns {} of {} account(s)",
                    config.accounts.len(),
                    config.accounts.len() + config.other_shards.len()
                ),
                None => println!(
                    "configuration is valid: {} account(s)",
                    config.accounts.len()
                ),
            }
            for a in &config.accounts {
                println!(
                    "  {}/{}: every {}, timeout {}, stale after {}, {} retries; {}",
                    a.vendor.name,
                    a.name,
                    humantime::format_duration(a.schedule.interval),
                    humantime::format_duration(a.schedule.timeout),
                    humantime::format_duration(a.schedule.max_staleness),
                    a.schedule.retries,
                    a.client.describe()
                );
            }
            if !config.other_shards.is_empty() {
                println!(
                    "  owned by other shards: {}",
                    config.other_shards.join(", ")
                );
            }
            for w in &config.warnings {
                println!("warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("configuration is invalid:");
            for p in &e.problems {
                eprintln!("  {p}");
            }
            ExitCode::FAILURE
        }
    }
}

/// `--config.check --once`: polls every account once and shows what it extracted, per value
/// (for `http_json`: each output's path, the answer's value and its conversion). Nothing is
/// served or stored.
async fn explain_once(source: &ConfigSource, shard: Option<Shard>) -> anyhow::Result<ExitCode> {
    let config: Config = source.load_sharded(shard)?;
    let tasks = scheduler::tasks(&config, &Default::default(), &Default::default());
    let mut failed = false;
    for task in &tasks {
        println!("{}/{}: one poll", task.key.vendor, task.key.account);
        let explained =
            tokio::time::timeout(task.schedule.timeout, task.client.explain(&task.ctx)).await;
        match explained {
            Ok(Ok(lines)) => {
                for line in lines {
                    println!("  {line}");
                }
            }
            Ok(Err(e)) => {
                failed = true;
                println!("  failed ({}): {}", e.reason, e.message);
            }
            Err(_) => {
                failed = true;
                println!(
                    "  failed (timeout): no complete answer within {}",
                    humantime::format_duration(task.schedule.timeout)
                );
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn once(source: &ConfigSource, shard: Option<Shard>) -> anyhow::Result<ExitCode> {
    let config: Config = source.load_sharded(shard)?;
    let store = Arc::new(Store::new());
    store.record_reload(true);
    let tasks = scheduler::tasks(&config, &Default::default(), &Default::default());
    store.set_accounts(tasks.iter().map(|t| t.info()).collect());
    let failures = scheduler::poll_all_once(tasks, store.clone()).await;
    print!(
        "{}",
        String::from_utf8_lossy(&Renderer::new(store).exposition(Format::Classic).body())
    );
    for (key, e) in &failures {
        eprintln!(
            "{}/{}: {} ({})",
            key.vendor, key.account, e.message, e.reason
        );
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The path of a `--web.external-url` (the default route prefix).
fn external_url_path(s: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{s:?}: the scheme must be http or https"));
    }
    server::normalize_prefix(url.path())
}

/// Accepts `:PORT` (all interfaces), `HOST:PORT` and `[V6]:PORT`.
fn listen_address(s: &str) -> anyhow::Result<SocketAddr> {
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.to_owned()
    };
    full.parse()
        .with_context(|| format!("--web.listen-address: {s:?} is not HOST:PORT or :PORT"))
}

fn init_logging(args: &Args) {
    use tracing_subscriber::prelude::*;
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("QUOTA_EXPORTER_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!(
                "{},hyper=warn,reqwest=warn",
                args.log_level
            ))
        });
    let registry = tracing_subscriber::registry().with(filter);
    if args.log_format == "json" {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .init();
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(quota_exporter::logfmt::Logfmt)
                    .with_writer(std::io::stderr),
            )
            .init();
    }
}
