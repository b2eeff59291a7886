//! Configuration: loading (YAML or TOML, plus environment overrides), defaults, validation and
//! secret references.
//!
//! The file has a `defaults` section and one section per vendor, each a list of accounts. The
//! keys every account shares (name and schedule) are read here; the rest of an account's keys
//! belong to its vendor, which parses them with `deny_unknown_fields`. Every problem found is
//! reported at once, each naming its path, so one `--config.check` run shows them all.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::alerting::{self, AlertSettings, RawLabels, Thresholds};
use crate::shard::Shard;
use crate::vendors::settings::ParseContext;
use crate::vendors::{self, Account, VendorDef};

pub mod limits;

/// Prefix of environment variables that override config keys, e.g.
/// `QUOTA_EXPORTER__DEFAULTS__INTERVAL=1h`.
pub const ENV_PREFIX: &str = "QUOTA_EXPORTER";

/// A validated configuration.
pub struct Config {
    pub defaults: Defaults,
    /// The accounts this process polls (all of them, or this shard's share).
    pub accounts: Vec<AccountConfig>,
    /// Set when accounts are split across replicas.
    pub shard: Option<Shard>,
    /// Accounts configured but owned by other shards, as `vendor/name`.
    pub other_shards: Vec<String>,
    /// Things worth a log line that do not stop the exporter (inline secrets, a WeDrive interval
    /// that may exhaust the free API quota…).
    pub warnings: Vec<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("defaults", &self.defaults)
            .field("accounts", &self.accounts)
            .finish()
    }
}

/// One account, ready to poll.
pub struct AccountConfig {
    pub vendor: &'static VendorDef,
    pub name: String,
    pub schedule: Schedule,
    pub client: Arc<dyn Account>,
    /// TLS, proxy and answer size cap of the account's vendor calls.
    pub http: vendors::http::HttpSettings,
    /// Labels and thresholds for the alerting rules (`labels:`, `thresholds:`).
    pub alerting: AlertSettings,
}

impl fmt::Debug for AccountConfig {
    // The client is deliberately left out: `describe()` is its secret-free form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountConfig")
            .field("vendor", &self.vendor.name)
            .field("name", &self.name)
            .field("schedule", &self.schedule)
            .field("alerting", &self.alerting)
            .field("client", &self.client.describe())
            .finish()
    }
}

/// Settings that apply to every account unless the account overrides them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Poll interval. When unset, each vendor's own default applies (WeDrive: 2h, see vendors).
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    /// Time limit of one poll attempt (all of its calls).
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// How long the last good data is served after polls start failing. Unset: 3 × interval.
    #[serde(default, with = "humantime_serde")]
    pub max_staleness: Option<Duration>,
    /// Extra attempts after a retryable failure, within one poll.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// First retry delay; doubles on each further retry (with jitter), capped at 1 minute.
    #[serde(default = "default_retry_backoff", with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// First polls are spread at random over this long after start, so many accounts do not all
    /// call their vendor in the same second.
    #[serde(default = "default_startup_spread", with = "humantime_serde")]
    pub startup_spread: Duration,
    /// Random variation of each interval, as a fraction of it (0.1 = ±10%).
    #[serde(default = "default_jitter")]
    pub jitter: f64,
    /// Polls of one vendor running at the same time, across all its accounts.
    #[serde(default = "default_max_concurrent_polls")]
    pub max_concurrent_polls: usize,
    /// Largest vendor answer read, in bytes (default 4 MiB); a larger one fails the poll.
    #[serde(default)]
    pub max_response_bytes: Option<u64>,
    /// PEM file of extra CA certificates trusted for vendor calls (e.g. a TLS-inspecting proxy's).
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// Proxy for every vendor call (`http://host:port`); unset: `HTTPS_PROXY` and friends.
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// Labels every account carries on `quota_exporter_account_info` (an account's own win).
    #[serde(default)]
    pub labels: RawLabels,
    /// Alert thresholds of every account (an account's own win, key by key).
    #[serde(default)]
    pub thresholds: Thresholds,
}

impl Defaults {
    fn http_keys(&self) -> vendors::http::HttpKeys {
        vendors::http::HttpKeys {
            max_response_bytes: self.max_response_bytes,
            tls_ca_file: self.tls_ca_file.clone(),
            proxy_url: self.proxy_url.clone(),
        }
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(20)
}
fn default_retries() -> u32 {
    2
}
fn default_retry_backoff() -> Duration {
    Duration::from_secs(1)
}
fn default_startup_spread() -> Duration {
    Duration::from_secs(5)
}
fn default_jitter() -> f64 {
    0.1
}
fn default_max_concurrent_polls() -> usize {
    8
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            interval: None,
            timeout: default_timeout(),
            max_staleness: None,
            retries: default_retries(),
            retry_backoff: default_retry_backoff(),
            startup_spread: default_startup_spread(),
            jitter: default_jitter(),
            max_concurrent_polls: default_max_concurrent_polls(),
            max_response_bytes: None,
            tls_ca_file: None,
            proxy_url: None,
            labels: RawLabels::new(),
            thresholds: Thresholds::default(),
        }
    }
}

/// When and how patiently one account is polled.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub interval: Duration,
    pub timeout: Duration,
    pub max_staleness: Duration,
    pub retries: u32,
    pub retry_backoff: Duration,
}

/// The keys every account has, whatever its vendor.
#[derive(Deserialize)]
struct CommonKeys {
    name: Option<String>,
    #[serde(default, with = "humantime_serde")]
    interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    max_staleness: Option<Duration>,
    retries: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    retry_backoff: Option<Duration>,
    max_response_bytes: Option<u64>,
    tls_ca_file: Option<PathBuf>,
    proxy_url: Option<String>,
    #[serde(default)]
    labels: RawLabels,
    #[serde(default)]
    thresholds: Thresholds,
}

const COMMON_KEYS: [&str; 11] = [
    "name",
    "interval",
    "timeout",
    "max_staleness",
    "retries",
    "retry_backoff",
    "max_response_bytes",
    "tls_ca_file",
    "proxy_url",
    "labels",
    "thresholds",
];

/// Every problem found in a config. Displays one per line.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(p)?;
        }
        Ok(())
    }
}

impl ConfigError {
    fn one(problem: impl Into<String>) -> Self {
        Self {
            problems: vec![problem.into()],
        }
    }
}

/// The source a config is read from.
pub enum Source<'a> {
    File(&'a Path),
    Text {
        text: &'a str,
        format: config::FileFormat,
    },
}

impl Config {
    /// Loads a config file (format from its extension: .yml/.yaml or .toml), applies environment
    /// overrides (`QUOTA_EXPORTER__SECTION__KEY`), and validates it.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::from_source(Source::File(path))
    }

    /// Parses config text (used by `--demo` and tests).
    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        Self::from_source(Source::Text {
            text,
            format: config::FileFormat::Yaml,
        })
    }

    pub fn from_source(source: Source<'_>) -> Result<Config, ConfigError> {
        let (text, format, origin) = match source {
            Source::File(path) => {
                if !path.exists() {
                    return Err(ConfigError::one(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                let format = match path.extension().and_then(|e| e.to_str()) {
                    Some("yml" | "yaml") => config::FileFormat::Yaml,
                    Some("toml") => config::FileFormat::Toml,
                    _ => {
                        return Err(ConfigError::one(format!(
                            "config file {}: unknown format (the name must end in .yml, .yaml or .toml)",
                            path.display()
                        )))
                    }
                };
                let text = limits::read_bounded(path, limits::MAX_CONFIG_BYTES, "config file")
                    .and_then(|bytes| limits::text(bytes, "config file", path))
                    .map_err(ConfigError::one)?;
                (
                    std::borrow::Cow::Owned(text),
                    format,
                    format!("config file {}", path.display()),
                )
            }
            Source::Text { text, format } => (
                std::borrow::Cow::Borrowed(text),
                format,
                "config".to_owned(),
            ),
        };
        let checked = match format {
            config::FileFormat::Yaml => limits::check_yaml(&text),
            _ => limits::check_no_nul(&text),
        };
        checked.map_err(|e| ConfigError::one(format!("{origin}: {e}")))?;
        let builder = config::Config::builder().add_source(config::File::from_str(&text, format));
        let loaded = builder
            .add_source(
                config::Environment::with_prefix(ENV_PREFIX)
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()
            .map_err(|e| ConfigError::one(format!("cannot read {origin}: {e}")))?;
        // The merged tree (file and environment) is checked before it becomes JSON, where a
        // non-finite float would silently turn into null: TOML's `inf`/`nan` and environment
        // values such as `inf` are caught here with their key path.
        let tree: config::Value = loaded
            .try_deserialize()
            .map_err(|e| ConfigError::one(format!("cannot read {origin}: {e}")))?;
        limits::check_finite(&tree, ENV_PREFIX).map_err(|problems| ConfigError { problems })?;
        let value: serde_json::Value = tree
            .try_deserialize()
            .map_err(|e| ConfigError::one(format!("cannot read {origin}: {e}")))?;
        Self::from_value(value)
    }

    /// Validates an already-parsed config tree.
    pub fn from_value(value: serde_json::Value) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let top = match value {
            serde_json::Value::Object(map) => map,
            serde_json::Value::Null => Default::default(),
            other => {
                return Err(ConfigError::one(format!(
                    "config must be a mapping of sections, found {}",
                    kind_of(&other)
                )))
            }
        };

        let defaults = match top.get("defaults") {
            None | Some(serde_json::Value::Null) => Defaults::default(),
            Some(v) => match serde_path_to_error::deserialize::<_, Defaults>(v.clone()) {
                Ok(d) => d,
                Err(e) => {
                    problems.push(
                        format!("defaults.{}: {}", e.path(), e.inner())
                            .replace("defaults..:", "defaults:"),
                    );
                    Defaults::default()
                }
            },
        };
        check_defaults(&defaults, &mut problems);
        let default_http =
            vendors::http::HttpSettings::resolve(&Default::default(), &defaults.http_keys())
                .unwrap_or_else(|errors| {
                    problems.extend(
                        errors
                            .into_iter()
                            .map(|(k, m)| format!("defaults.{k}: {m}")),
                    );
                    Default::default()
                });
        let shard = match top.get("shard") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match serde_json::from_value::<Shard>(v.clone()) {
                Ok(s) => Some(s),
                Err(e) => {
                    problems.push(format!("shard: {e}"));
                    None
                }
            },
        };

        let mut accounts = Vec::new();
        // Names identify accounts in labels: unique within a vendor.
        let mut names = std::collections::HashSet::new();
        for (key, section) in &top {
            if key == "defaults" || key == "shard" {
                continue;
            }
            let vendor = vendors::by_name(key).or_else(|| {
                let v = vendors::by_old_name(key)?;
                warnings.push(format!(
                    "{key}: deprecated section name, read as {} (rename the section; the old name will stop working in a later release)",
                    v.name
                ));
                Some(v)
            });
            let Some(vendor) = vendor else {
                let known: Vec<_> = ["defaults", "shard"]
                    .into_iter()
                    .chain(vendors::VENDORS.iter().map(|v| v.name))
                    .collect();
                problems.push(format!(
                    "{key}: unknown section (expected one of: {})",
                    known.join(", ")
                ));
                continue;
            };
            let items = match section {
                serde_json::Value::Array(items) => items.clone(),
                serde_json::Value::Null => Vec::new(),
                other => {
                    problems.push(format!(
                        "{key}: expected a list of accounts, found {}",
                        kind_of(other)
                    ));
                    continue;
                }
            };
            for (i, item) in items.into_iter().enumerate() {
                let path = format!("{key}[{i}]");
                if let Some(name) = item.get("name").and_then(|n| n.as_str()) {
                    if !names.insert((vendor.name, name.to_owned())) {
                        problems.push(format!(
                            "{path}: account name {name:?} is used more than once in {key}"
                        ));
                    }
                }
                match parse_account(vendor, item, &defaults, &default_http, &path) {
                    Ok((account, w)) => {
                        warnings.extend(
                            w.into_iter()
                                .map(|w| format!("{path} ({}): {w}", account.name)),
                        );
                        accounts.push(account);
                    }
                    Err(errors) => problems.extend(errors),
                }
            }
        }

        if problems.is_empty() {
            let mut config = Config {
                defaults,
                accounts,
                shard: None,
                other_shards: Vec::new(),
                warnings,
            };
            config.apply_shard(shard);
            Ok(config)
        } else {
            problems.dedup();
            Err(ConfigError { problems })
        }
    }
}

impl Config {
    /// Keeps only the accounts `shard` owns (the `--shard` flag overrides the file's `shard`).
    pub fn apply_shard(&mut self, shard: Option<Shard>) {
        let Some(shard) = shard.or(self.shard) else {
            return;
        };
        self.shard = Some(shard);
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.accounts)
            .into_iter()
            .partition(|a| shard.owns(a.vendor.name, &a.name));
        self.accounts = mine;
        self.other_shards.extend(
            others
                .into_iter()
                .map(|a| format!("{}/{}", a.vendor.name, a.name)),
        );
    }
}

/// Upper bounds of the schedule settings. Beyond them a setting is surely a typo, and the time
/// arithmetic of the scheduler and the store stays far from overflowing.
/// (Lengths humantime prints as they are written: `30days`, `1year`.)
pub const MAX_INTERVAL: Duration = Duration::from_secs(30 * 86400);
pub const MAX_STALENESS: Duration = Duration::from_secs(31_557_600);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
pub const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(3600);
pub const MAX_STARTUP_SPREAD: Duration = MAX_INTERVAL;
pub const MAX_CONCURRENT_POLLS: usize = 10_000;

/// `path: at most LIMIT, found VALUE` when `value` is above `limit`.
fn at_most(problems: &mut Vec<String>, path: &str, value: Duration, limit: Duration) {
    if value > limit {
        problems.push(format!(
            "{path}: at most {}, found {}",
            humantime::format_duration(limit),
            humantime::format_duration(value)
        ));
    }
}

fn check_defaults(d: &Defaults, problems: &mut Vec<String>) {
    at_most(
        problems,
        "defaults.startup_spread",
        d.startup_spread,
        MAX_STARTUP_SPREAD,
    );
    if d.max_concurrent_polls > MAX_CONCURRENT_POLLS {
        problems.push(format!(
            "defaults.max_concurrent_polls: at most {MAX_CONCURRENT_POLLS}, found {}",
            d.max_concurrent_polls
        ));
    }
    if !(0.0..=0.5).contains(&d.jitter) {
        problems.push(format!(
            "defaults.jitter: must be between 0 and 0.5, found {}",
            d.jitter
        ));
    }
    if d.max_concurrent_polls == 0 {
        problems.push("defaults.max_concurrent_polls: must be at least 1".to_owned());
    }
    if let Err(p) = alerting::parse_labels(&d.labels, "defaults") {
        problems.extend(p);
    }
    problems.extend(d.thresholds.check("defaults"));
}

fn parse_account(
    vendor: &'static VendorDef,
    item: serde_json::Value,
    defaults: &Defaults,
    default_http: &vendors::http::HttpSettings,
    path: &str,
) -> Result<(AccountConfig, Vec<String>), Vec<String>> {
    let serde_json::Value::Object(mut map) = item else {
        return Err(vec![format!(
            "{path}: expected an account (a mapping), found {}",
            kind_of(&item)
        )]);
    };
    let mut common = serde_json::Map::new();
    for key in COMMON_KEYS {
        if let Some(v) = map.remove(key) {
            common.insert(key.to_owned(), v);
        }
    }
    let common: CommonKeys = serde_path_to_error::deserialize(serde_json::Value::Object(common))
        .map_err(|e| vec![format!("{path}.{}: {}", e.path(), e.inner())])?;

    let mut problems = Vec::new();
    let name = match common.name {
        Some(n) if !n.trim().is_empty() => n,
        Some(_) => {
            problems.push(format!("{path}.name: must not be empty"));
            String::new()
        }
        None => {
            problems.push(format!(
                "{path}.name: missing (every account needs a name; it becomes the `account` label)"
            ));
            String::new()
        }
    };
    let label = if name.is_empty() {
        path.to_owned()
    } else {
        format!("{path} ({name})")
    };

    let interval = common
        .interval
        .or(defaults.interval)
        .unwrap_or(vendor.default_interval);
    let schedule = Schedule {
        interval,
        timeout: common.timeout.unwrap_or(defaults.timeout),
        max_staleness: common
            .max_staleness
            .or(defaults.max_staleness)
            .unwrap_or_else(|| interval.saturating_mul(3)),
        retries: common.retries.unwrap_or(defaults.retries),
        retry_backoff: common.retry_backoff.unwrap_or(defaults.retry_backoff),
    };
    if schedule.interval < Duration::from_secs(1) {
        problems.push(format!(
            "{label}.interval: must be at least 1s, found {}",
            humantime::format_duration(schedule.interval)
        ));
    }
    at_most(
        &mut problems,
        &format!("{label}.interval"),
        schedule.interval,
        MAX_INTERVAL,
    );
    if schedule.timeout.is_zero() {
        problems.push(format!("{label}.timeout: must be more than 0"));
    }
    at_most(
        &mut problems,
        &format!("{label}.timeout"),
        schedule.timeout,
        MAX_TIMEOUT,
    );
    at_most(
        &mut problems,
        &format!("{label}.max_staleness"),
        schedule.max_staleness,
        MAX_STALENESS,
    );
    at_most(
        &mut problems,
        &format!("{label}.retry_backoff"),
        schedule.retry_backoff,
        MAX_RETRY_BACKOFF,
    );
    if schedule.timeout >= schedule.interval {
        problems.push(format!(
            "{label}.timeout: must be shorter than the interval ({} >= {})",
            humantime::format_duration(schedule.timeout),
            humantime::format_duration(schedule.interval)
        ));
    }
    if schedule.max_staleness < schedule.interval {
        problems.push(format!(
            "{label}.max_staleness: must be at least the interval ({} < {}), or data would vanish between polls",
            humantime::format_duration(schedule.max_staleness),
            humantime::format_duration(schedule.interval)
        ));
    }
    if schedule.retries > 10 {
        problems.push(format!(
            "{label}.retries: at most 10, found {}",
            schedule.retries
        ));
    }

    let http = vendors::http::HttpSettings::resolve(
        default_http,
        &vendors::http::HttpKeys {
            max_response_bytes: common.max_response_bytes,
            tls_ca_file: common.tls_ca_file,
            proxy_url: common.proxy_url,
        },
    )
    .unwrap_or_else(|errors| {
        problems.extend(errors.into_iter().map(|(k, m)| format!("{label}.{k}: {m}")));
        Default::default()
    });
    // Defaults' problems are reported once, by check_defaults.
    let default_labels = alerting::parse_labels(&defaults.labels, "defaults").unwrap_or_default();
    let labels = alerting::parse_labels(&common.labels, &label).unwrap_or_else(|p| {
        problems.extend(p);
        Default::default()
    });
    let alerting = AlertSettings::merged(
        &default_labels,
        &defaults.thresholds,
        labels,
        &common.thresholds,
    );
    if common.thresholds != Thresholds::default() {
        // The account's own values against the defaults' ones; what is wrong with the defaults
        // alone is reported once, by check_defaults.
        let inherited = defaults.thresholds.check(&label);
        problems.extend(
            alerting
                .thresholds
                .check(&label)
                .into_iter()
                .filter(|p| !inherited.contains(p)),
        );
    }

    let mut ctx = ParseContext::new(name.clone());
    ctx.interval = Some(schedule.interval);
    ctx.retries = schedule.retries;
    let client = match (vendor.parse)(serde_json::Value::Object(map), &mut ctx) {
        Ok(client) => Some(client),
        Err(errors) => {
            for e in errors {
                if e.field.is_empty() {
                    problems.push(format!("{label}: {}", e.message));
                } else {
                    problems.push(format!("{label}.{}: {}", e.field, e.message));
                }
            }
            None
        }
    };
    match client {
        Some(client) if problems.is_empty() => Ok((
            AccountConfig {
                vendor,
                name,
                schedule,
                client,
                http,
                alerting,
            },
            ctx.warnings().to_vec(),
        )),
        _ => Err(problems),
    }
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "nothing",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}
