//! WeCom WeDrive (企业微信 微盘): pro edition, VIP seats and capacity of a corp's drive.
//!
//! Two calls a poll (`mng_pro_info`, `mng_capacity`) plus a token every ~2 hours. WeDrive may
//! count these calls against a monthly API quota (1,000 calls for a free corp), so the default
//! interval is 3 hours: 2 calls × 8 polls × 30 days = 480 calls a month, and 960 even if every
//! poll used both its default retries (a retry repeats only the call that failed).

mod client;
mod metrics;
pub mod model;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

use self::client::Client;
pub use self::metrics::samples;
use self::metrics::*;
use self::model::{Capacity, ProInfo};
use crate::vendors::settings::{
    parse_base_url, parse_settings, FieldError, ParseContext, SecretRef,
};
use crate::vendors::{Account, PollContext, PollFuture, VendorDef};

pub use self::client::classify;

pub const DEFAULT_BASE_URL: &str = "https://qyapi.weixin.qq.com";
/// Keeps a free corp under its 1,000 calls a month even if the management calls are metered
/// and every poll uses the default 2 retries.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3 * 3600);
/// Calls one poll makes, for the monthly quota warning.
const CALLS_PER_POLL: f64 = 2.0;
const FREE_MONTHLY_QUOTA: f64 = 1000.0;

pub static VENDOR: VendorDef = VendorDef {
    name: "wecom_wedrive",
    title: "WeCom WeDrive",
    default_interval: DEFAULT_INTERVAL,
    parse,
    metrics: &[
        &PRO_ENABLED,
        &VIP_LIMIT,
        &VIP_USED,
        &PRO_EXPIRY,
        &CAPACITY,
        &CAPACITY_FREE,
    ],
    metric_prefix: "wecom_wedrive_",
    dashboard: "wecom-wedrive.json",
    docs_page: None,
};

/// The WeDrive-specific keys of an account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    corp_id: String,
    secret: SecretRef,
    #[serde(default = "default_base_url")]
    base_url: String,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn parse(
    value: serde_json::Value,
    ctx: &mut ParseContext,
) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    let settings: Settings = parse_settings(value)?;
    let mut errors = Vec::new();
    if settings.corp_id.trim().is_empty() {
        errors.push(FieldError::new("corp_id", "must not be empty"));
    }
    if let Err(e) = parse_base_url(&settings.base_url) {
        errors.push(FieldError::new(
            "base_url",
            format!(
                "{e}: {}",
                crate::vendors::settings::url_for_message(&settings.base_url)
            ),
        ));
    }
    let secret = ctx
        .secret("secret", &settings.secret)
        .map_err(|e| errors.push(e))
        .ok();
    match secret {
        // Checked now; the client reads it again at each token fetch.
        Some(_) if errors.is_empty() => {
            if let Some(w) = ctx.interval.and_then(|i| quota_warning(i, ctx.retries)) {
                ctx.warn(w);
            }
            Ok(Arc::new(WeDrive {
                client: Client::new(settings.base_url, settings.corp_id, settings.secret),
                carried: Mutex::new(None),
            }))
        }
        _ => Err(errors),
    }
}

/// The monthly call count an interval and its retries can reach, when it may exceed the free
/// WeDrive quota. Each retry repeats one call, so a poll costs at most `2 + retries` calls.
pub fn quota_warning(interval: Duration, retries: u32) -> Option<String> {
    let polls_a_month = 30.0 * 86400.0 / interval.as_secs_f64().max(1.0);
    let calls = polls_a_month * CALLS_PER_POLL;
    let worst = polls_a_month * (CALLS_PER_POLL + f64::from(retries));
    let with_retries = if retries > 0 {
        format!(" ({worst:.0} if every poll used its {retries} retries)")
    } else {
        String::new()
    };
    (worst > FREE_MONTHLY_QUOTA).then(|| {
        format!(
            "interval {} means about {calls:.0} WeDrive API calls a month{with_retries}; a free corp's quota is {FREE_MONTHLY_QUOTA:.0} if these calls are metered (use a longer interval or fewer retries)",
            humantime::format_duration(interval)
        )
    })
}

struct WeDrive {
    client: Client,
    /// `mng_pro_info` fetched by an attempt whose `mng_capacity` failed: the poll's retry uses
    /// it instead of spending a second metered call on it.
    carried: Mutex<Option<ProInfo>>,
}

impl Account for WeDrive {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(async move {
            // Taken on every attempt, so nothing outlives its poll; used only by a retry.
            let carried = self.carried.lock().expect("not poisoned").take();
            let pro: ProInfo = match carried.filter(|_| ctx.attempt > 0) {
                Some(pro) => pro,
                None => self.client.call(ctx, "mng_pro_info").await?,
            };
            match self.client.call::<Capacity>(ctx, "mng_capacity").await {
                Ok(capacity) => Ok(samples(&pro, &capacity)),
                Err(e) => {
                    *self.carried.lock().expect("not poisoned") = Some(pro);
                    Err(e)
                }
            }
        })
    }

    fn describe(&self) -> String {
        format!("base_url={}", self.client.base_url())
    }

    fn secrets(&self) -> Vec<secrecy::SecretString> {
        self.client.secrets()
    }
}

#[cfg(test)]
mod tests;
