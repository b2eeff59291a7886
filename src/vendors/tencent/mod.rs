//! Tencent Cloud CWP (Cloud Workload Protection, 主机安全): the licence overview of an account,
//! from `DescribeLicenseGeneral`.
//!
//! One signed call a poll ([`tc3`]), no token. Licence counts change when someone buys, binds or
//! lets a licence lapse, so the default interval is 30 minutes; the call is free, and Tencent's
//! limit (20 requests a second per action) is kept per SecretId by the client.

mod client;
mod metrics;
pub mod model;
pub mod tc3;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use secrecy::ExposeSecret;

use self::client::{Client, ReadCredentials};
pub use self::metrics::samples;
use self::metrics::*;
use self::model::LicenseGeneral;
use self::tc3::Credentials;
use crate::vendors::settings::{
    parse_base_url, parse_settings, FieldError, ParseContext, SecretRef,
};
use crate::vendors::{Account, PollContext, PollFuture, VendorDef};

pub use self::client::{classify, MAX_REQUESTS_PER_SECOND};

pub const DEFAULT_ENDPOINT: &str = "https://cwp.tencentcloudapi.com";
/// The international site; the service name in the signature stays `cwp`.
pub const INTERNATIONAL_ENDPOINT: &str = "https://cwp.intl.tencentcloudapi.com";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);
const SERVICE: &str = "cwp";
const VERSION: &str = "2018-02-28";
const ACTION: &str = "DescribeLicenseGeneral";

/// The variables the Tencent Cloud SDKs read, used when an account names no credentials.
pub const ENV_SECRET_ID: &str = "TENCENTCLOUD_SECRET_ID";
pub const ENV_SECRET_KEY: &str = "TENCENTCLOUD_SECRET_KEY";
pub const ENV_SESSION_TOKEN: &str = "TENCENTCLOUD_SESSION_TOKEN";

pub static VENDOR: VendorDef = VendorDef {
    name: "tencentcloud_cwp",
    title: "Tencent Cloud CWP",
    default_interval: DEFAULT_INTERVAL,
    parse,
    metrics: &[
        &LICENSES,
        &LICENSES_AVAILABLE,
        &LICENSES_USED,
        &LICENSES_UNEXPIRED,
        &LICENSES_EXPIRING,
        &LICENSES_EXPIRED,
        &EDITION_LICENSES,
        &EDITION_LICENSES_AVAILABLE,
        &DESTROYED_ORDERS,
        &SETTING_ENABLED,
        &INFO,
    ],
    metric_prefix: "tencentcloud_cwp_",
    dashboard: "tencent-cwp.json",
    docs_page: Some("tencent-cwp.md"),
};

/// The CWP-specific keys of an account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    secret_id: Option<SecretRef>,
    #[serde(default)]
    secret_key: Option<SecretRef>,
    #[serde(default)]
    session_token: Option<SecretRef>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default = "default_endpoint")]
    endpoint: String,
}

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_owned()
}

fn parse(
    value: serde_json::Value,
    ctx: &mut ParseContext,
) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    parse_with_env(value, ctx, &|name| std::env::var(name).ok())
}

/// [`parse`] with the environment passed in, so tests need not change the process's.
fn parse_with_env(
    value: serde_json::Value,
    ctx: &mut ParseContext,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    let settings: Settings = parse_settings(value)?;
    let mut errors = Vec::new();
    let endpoint = match check_endpoint(&settings.endpoint) {
        Ok(url) => Some(url),
        Err(e) => {
            errors.push(FieldError::new(
                "endpoint",
                format!(
                    "{e}: {}",
                    crate::vendors::settings::url_for_message(&settings.endpoint)
                ),
            ));
            None
        }
    };
    let region = match settings.region {
        Some(r) if r.trim().is_empty() => {
            errors.push(FieldError::new(
                "region",
                "must not be empty (leave it out: DescribeLicenseGeneral needs no region)",
            ));
            None
        }
        r => r.map(|r| r.trim().to_owned()),
    };
    let credentials = credentials(
        &settings.secret_id,
        &settings.secret_key,
        &settings.session_token,
        ctx,
        env,
    )
    .map_err(|e| errors.extend(e))
    .ok();
    match (endpoint, credentials) {
        (Some(endpoint), Some((credentials, source))) if errors.is_empty() => {
            // Read now to check them; read again on every poll.
            let read: ReadCredentials = match source {
                CredentialSource::Config => {
                    let id = settings.secret_id.clone().expect("checked");
                    let key = settings.secret_key.clone().expect("checked");
                    let token = settings.session_token.clone();
                    Box::new(move || {
                        Ok(Credentials {
                            secret_id: id.resolve().map_err(|e| format!("secret_id: {e}"))?,
                            secret_key: key.resolve().map_err(|e| format!("secret_key: {e}"))?,
                            session_token: token
                                .as_ref()
                                .map(|t| t.resolve().map_err(|e| format!("session_token: {e}")))
                                .transpose()?,
                        })
                    })
                }
                CredentialSource::Environment => Box::new(|| {
                    from_environment(&|name| std::env::var(name).ok()).ok_or_else(|| {
                        format!("{ENV_SECRET_ID} and {ENV_SECRET_KEY} are no longer set")
                    })
                }),
            };
            let secret_id = credentials.secret_id.expose_secret();
            Ok(Arc::new(Cwp {
                client: Client::new(&endpoint, SERVICE, VERSION, region, secret_id, read),
                source,
            }))
        }
        _ => Err(errors),
    }
}

/// An `http(s)://host[:port]` URL: API 3.0 is always called at `/`.
fn check_endpoint(endpoint: &str) -> Result<reqwest::Url, String> {
    let url = parse_base_url(endpoint)?;
    if url.path() != "/" || !url.username().is_empty() {
        return Err(
            "must be scheme://host[:port] only (Tencent Cloud API 3.0 is called at `/`)".into(),
        );
    }
    Ok(url)
}

/// Where an account's credentials came from, for the landing page.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CredentialSource {
    Config,
    Environment,
}

/// The account's credentials: those it names, or — when it names none — the Tencent Cloud SDKs'
/// environment variables.
fn credentials(
    secret_id: &Option<SecretRef>,
    secret_key: &Option<SecretRef>,
    session_token: &Option<SecretRef>,
    ctx: &mut ParseContext,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Credentials, CredentialSource), Vec<FieldError>> {
    match (secret_id, secret_key) {
        (Some(id), Some(key)) => {
            let mut errors = Vec::new();
            let id = ctx.secret("secret_id", id).map_err(|e| errors.push(e)).ok();
            let key = ctx
                .secret("secret_key", key)
                .map_err(|e| errors.push(e))
                .ok();
            let token = match session_token {
                Some(t) => ctx
                    .secret("session_token", t)
                    .map_err(|e| errors.push(e))
                    .ok(),
                None => None,
            };
            match (id, key) {
                (Some(secret_id), Some(secret_key)) if errors.is_empty() => Ok((
                    Credentials {
                        secret_id,
                        secret_key,
                        session_token: token,
                    },
                    CredentialSource::Config,
                )),
                _ => Err(errors),
            }
        }
        (Some(_), None) => Err(vec![FieldError::new(
            "secret_key",
            "missing: secret_id is set, so secret_key must be too",
        )]),
        (None, Some(_)) => Err(vec![FieldError::new(
            "secret_id",
            "missing: secret_key is set, so secret_id must be too",
        )]),
        (None, None) if session_token.is_some() => Err(vec![FieldError::new(
            "session_token",
            "set without secret_id and secret_key: temporary credentials need all three",
        )]),
        (None, None) => {
            match from_environment(env) {
                Some(credentials) => Ok((credentials, CredentialSource::Environment)),
                None => Err(vec![FieldError::new(
                    "",
                    format!(
                        "no credentials: set secret_id and secret_key (and session_token for temporary credentials), \
                         or the environment variables {ENV_SECRET_ID} and {ENV_SECRET_KEY} (and {ENV_SESSION_TOKEN})"
                    ),
                )]),
            }
        }
    }
}

/// The Tencent Cloud SDKs' variables, when both the id and the key are set.
fn from_environment(env: &dyn Fn(&str) -> Option<String>) -> Option<Credentials> {
    let read = |name: &str| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Some(Credentials {
        secret_id: read(ENV_SECRET_ID)?.into(),
        secret_key: read(ENV_SECRET_KEY)?.into(),
        session_token: read(ENV_SESSION_TOKEN).map(Into::into),
    })
}

struct Cwp {
    client: Client,
    source: CredentialSource,
}

impl Account for Cwp {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(async move {
            let general: LicenseGeneral = self.client.call(ctx, ACTION).await?;
            Ok(samples(&general))
        })
    }

    fn describe(&self) -> String {
        let mut s = format!("endpoint={}", self.client.endpoint());
        if let Some(region) = self.client.region() {
            s.push_str(&format!(" region={region}"));
        }
        s.push_str(match self.source {
            CredentialSource::Config => " credentials=config",
            CredentialSource::Environment => " credentials=environment (TENCENTCLOUD_*)",
        });
        s
    }

    fn secrets(&self) -> Vec<secrecy::SecretString> {
        self.client.secrets()
    }

    fn rate_limit_key(&self) -> Option<String> {
        Some(self.client.limiter_key().to_owned())
    }
}

#[cfg(test)]
mod tests;
