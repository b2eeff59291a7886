//! The `quota-exporter` command: flags, logging and exit codes. Everything else is in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Parser;
use quota_exporter::config::Config;
use quota_exporter::exposition::Format;
use quota_exporter::render::{build_date, revision, version, Renderer};
use quota_exporter::shard::Shard;
use quota_exporter::simulator::Simulator;
use quota_exporter::store::Store;
use quota_exporter::web_config::WebConfig;
use quota_exporter::{reload_signals, run, scheduler, shutdown_signal, ConfigSource, Options};

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
    /// Load and validate the configuration, print a summary, and exit 0 (valid) or 1.
    #[arg(long = "config.check")]
    config_check: bool,
    /// Poll every account once, print the exposition, and exit non-zero if any poll failed.
    #[arg(long)]
    once: bool,
    /// Run against the built-in vendor simulator with a built-in configuration.
    #[arg(long)]
    demo: bool,
    /// Address to listen on.
    #[arg(
        long = "web.listen-address",
        default_value = ":10042",
        value_name = "ADDR"
    )]
    listen_address: String,
    /// TLS and basic auth, in the Prometheus exporter-toolkit web config format.
    #[arg(long = "web.config.file", value_name = "PATH")]
    web_config_file: Option<PathBuf>,
    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        default_value = "/metrics",
        value_name = "PATH"
    )]
    telemetry_path: String,
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
    init_logging(&args);
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
    match runtime.block_on(real_main(args)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("quota-exporter: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn real_main(args: Args) -> anyhow::Result<ExitCode> {
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
        return Ok(config_check(&source, args.shard));
    }
    if args.once {
        return once(&source, args.shard).await;
    }

    let web = match &args.web_config_file {
        Some(path) => {
            let web = WebConfig::load(path)?;
            for w in &web.warnings {
                tracing::warn!("web config: {w}");
            }
            Some(Arc::new(web))
        }
        None => None,
    };
    let addr = listen_address(&args.listen_address)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let options = Options {
        telemetry_path: args.telemetry_path.clone(),
        log_config_warnings: simulator.is_none(),
        shard: args.shard,
        web,
    };
    run(
        source,
        listener,
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
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .init();
    }
}
