//! Huawei Cloud KooDrive: a tenant's storage capacity, its split into department, personal and
//! group space, users and the subscription's state.
//!
//! Two calls a poll (`service/quotaUsed`, `service`), authenticated by app signature (see
//! [`sign`]) or by a bearer token obtained elsewhere. Neither call is documented as metered;
//! capacity and subscriptions change slowly, so the default interval is 30 minutes.
//!
//! Units: only `spaceCapacity` is documented (GB). The example answer adds up (the space quotas
//! sum to the capacity, the used spaces to `spaceUsed`), which says the quota fields are GB and
//! the used fields most likely KB. Both scales are settings (`quota_unit`, `used_unit`) because
//! this is an inference, not a documented fact.

mod client;
mod metrics;
pub mod model;
pub mod sign;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use self::client::{Client, Credentials};
pub use self::metrics::samples;
use self::metrics::*;
use self::model::{QuotaUsed, Service};
use crate::vendors::settings::{parse_settings, FieldError, ParseContext, SecretRef};
use crate::vendors::{Account, PollContext, PollFuture, VendorDef};

pub const DEFAULT_BASE_URL: &str = "https://cn.myhuaweicloud-koodrive.com";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);

pub const QUOTA_USED_PATH: &str = "/koodrive/ose/v1/service/quotaUsed";
pub const SERVICE_PATH: &str = "/koodrive/ose/v1/service";

pub static VENDOR: VendorDef = VendorDef {
    name: "koodrive",
    title: "Huawei KooDrive",
    default_interval: DEFAULT_INTERVAL,
    parse,
    metrics: &[
        &CAPACITY,
        &USED,
        &QUOTA,
        &QUOTA_ALLOCATED,
        &USERS,
        &USERS_LIMIT,
        &PACKAGE_DOWNLOAD_RETENTION,
        &SERVICE_STATE,
        &SERVICE_STATUS_CODE,
        &SUBSCRIPTION_CAPACITY,
        &SUBSCRIPTION_USERS_LIMIT,
        &DEFAULT_SPACE,
        &FEATURE_ENABLED,
        &INFO,
    ],
    metric_prefix: "koodrive_",
    dashboard: "koodrive.json",
    docs_page: Some("koodrive.md"),
};

/// A scale the vendor's numbers are in. Binary (KiB…) and decimal (KB…) prefixes both exist
/// because the vendor's "GB" and "KB" do not say which they mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    B,
    KiB,
    MiB,
    GiB,
    TiB,
    KB,
    MB,
    GB,
    TB,
}

impl Unit {
    const ALL: [(&'static str, Unit); 9] = [
        ("B", Unit::B),
        ("KiB", Unit::KiB),
        ("MiB", Unit::MiB),
        ("GiB", Unit::GiB),
        ("TiB", Unit::TiB),
        ("KB", Unit::KB),
        ("MB", Unit::MB),
        ("GB", Unit::GB),
        ("TB", Unit::TB),
    ];

    /// Bytes in one of this unit.
    pub fn bytes(self) -> f64 {
        match self {
            Unit::B => 1.0,
            Unit::KiB => 1024.0,
            Unit::MiB => 1024.0 * 1024.0,
            Unit::GiB => 1024.0 * 1024.0 * 1024.0,
            Unit::TiB => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            Unit::KB => 1e3,
            Unit::MB => 1e6,
            Unit::GB => 1e9,
            Unit::TB => 1e12,
        }
    }

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, u)| *u == self)
            .map(|(n, _)| *n)
            .expect("every unit is listed")
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s.trim())
            .map(|(_, u)| *u)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|(n, _)| *n).collect();
                serde::de::Error::custom(format!(
                    "unknown unit {s:?}, expected one of: {}",
                    known.join(", ")
                ))
            })
    }
}

/// The scales of the two groups of fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Units {
    /// `*SpaceUsed`: undocumented, most likely KB.
    pub used: Unit,
    /// `spaceCapacity` (documented GB), `*SpaceQuota`, `*SpaceQuotaUsed`, `*SpaceSize`.
    pub quota: Unit,
}

impl Default for Units {
    fn default() -> Self {
        Self {
            used: Unit::KiB,
            quota: Unit::GiB,
        }
    }
}

/// The KooDrive-specific keys of an account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default = "default_base_url")]
    base_url: String,
    app_id: Option<String>,
    app_secret: Option<SecretRef>,
    user_id: Option<String>,
    bearer_token: Option<SecretRef>,
    #[serde(default = "default_used_unit")]
    used_unit: Unit,
    #[serde(default = "default_quota_unit")]
    quota_unit: Unit,
    /// Send a random 58-character `X-Traceid` with each request, for vendor support.
    #[serde(default = "yes")]
    send_trace_id: bool,
}

fn yes() -> bool {
    true
}

/// A KooDrive access token expires after this long without use.
pub const BEARER_IDLE_LIFETIME: Duration = Duration::from_secs(20 * 60);

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}
fn default_used_unit() -> Unit {
    Units::default().used
}
fn default_quota_unit() -> Unit {
    Units::default().quota
}

const APP_KEYS: &str = "app_id, app_secret and user_id";

fn parse(
    value: serde_json::Value,
    ctx: &mut ParseContext,
) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    let s: Settings = parse_settings(value)?;
    let mut errors = Vec::new();
    let non_empty = |field: &'static str, v: &Option<String>, errors: &mut Vec<FieldError>| {
        if v.as_ref().is_some_and(|v| v.trim().is_empty()) {
            errors.push(FieldError::new(field, "must not be empty"));
        }
    };
    non_empty("app_id", &s.app_id, &mut errors);
    non_empty("user_id", &s.user_id, &mut errors);

    let app_keys_given = s.app_id.is_some() || s.app_secret.is_some();
    let credentials = match (&s.bearer_token, app_keys_given) {
        (Some(_), true) => {
            errors.push(FieldError::new(
                "",
                format!("both app signature keys (app_id, app_secret) and bearer_token are set: use exactly one way to authenticate, either {APP_KEYS} or bearer_token"),
            ));
            None
        }
        (None, false) => {
            errors.push(FieldError::new(
                "",
                format!("no credentials: set {APP_KEYS} (app signature), or bearer_token"),
            ));
            None
        }
        (Some(token), false) => {
            if ctx.interval.is_some_and(|i| i > BEARER_IDLE_LIFETIME) {
                ctx.warn(format!(
                    "interval {} is longer than a KooDrive access token's {} idle lifetime: unless something else uses the token in between, it expires between polls",
                    humantime::format_duration(ctx.interval.unwrap_or_default()),
                    humantime::format_duration(BEARER_IDLE_LIFETIME)
                ));
            }
            // Read now so a missing variable or file is a config error; read again on every poll.
            ctx.secret("bearer_token", token)
                .map_err(|e| errors.push(e))
                .ok()
                .map(|_| Credentials::Bearer(token.clone()))
        }
        (None, true) => {
            let mut missing = |field: &'static str, present: bool| {
                if !present {
                    errors.push(FieldError::new(
                        field,
                        format!("missing: app signature needs {APP_KEYS}"),
                    ));
                }
            };
            missing("app_id", s.app_id.is_some());
            missing("app_secret", s.app_secret.is_some());
            missing("user_id", s.user_id.is_some());
            // Read now so a missing variable or file is a config error; read again on every poll.
            let secret = s.app_secret.as_ref().and_then(|r| {
                ctx.secret("app_secret", r)
                    .map_err(|e| errors.push(e))
                    .ok()
                    .map(|_| r.clone())
            });
            match (&s.app_id, secret) {
                (Some(app_id), Some(app_secret)) => Some(Credentials::App {
                    app_id: app_id.trim().to_owned(),
                    app_secret,
                }),
                _ => None,
            }
        }
    };
    let user_id = s.user_id.map(|u| u.trim().to_owned());
    let client = credentials.and_then(|c| {
        Client::new(&s.base_url, user_id, c)
            .map(|mut c| {
                c.send_trace_id = s.send_trace_id;
                c
            })
            .map_err(|e| {
                errors.push(FieldError::new(
                    "base_url",
                    format!(
                        "not a usable URL ({e}): {}",
                        crate::vendors::settings::url_for_message(&s.base_url)
                    ),
                ))
            })
            .ok()
    });
    match client {
        Some(client) if errors.is_empty() => Ok(Arc::new(KooDrive {
            client,
            units: Units {
                used: s.used_unit,
                quota: s.quota_unit,
            },
        })),
        _ => Err(errors),
    }
}

struct KooDrive {
    client: Client,
    units: Units,
}

impl Account for KooDrive {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(async move {
            let auth = self.client.auth()?;
            let quota: QuotaUsed = self
                .client
                .get(ctx, &auth, "quotaUsed", QUOTA_USED_PATH)
                .await?;
            let service: Service = self.client.get(ctx, &auth, "service", SERVICE_PATH).await?;
            Ok(samples(&quota, &service, self.units))
        })
    }

    fn describe(&self) -> String {
        format!(
            "base_url={}, {}, used_unit={}, quota_unit={}",
            self.client.base_url(),
            self.client.auth_description(),
            self.units.used.name(),
            self.units.quota.name()
        )
    }

    fn secrets(&self) -> Vec<secrecy::SecretString> {
        self.client.secrets()
    }
}

#[cfg(test)]
mod tests;
