//! WeCom WeDrive (企业微信 微盘): pro edition, VIP seats and capacity of a corp's drive.
//!
//! Two calls a poll (`mng_pro_info`, `mng_capacity`) plus a token every ~2 hours. WeDrive may
//! count these calls against a monthly API quota (1,000 calls for a free corp), so the default
//! interval is 3 hours: 2 calls × 8 polls × 30 days = 480 calls a month, and 960 even if every
//! poll used both its default retries (a retry repeats only the call that failed).

mod client;
pub mod model;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

use self::client::Client;
use self::model::{Capacity, ProInfo};
use crate::exposition::{MetricDesc, Samples};
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

static PRO_ENABLED: MetricDesc = MetricDesc::gauge(
    "wecom_wedrive_pro_enabled",
    "Whether WeDrive pro edition is enabled (1) or not (0), from mng_pro_info is_pro; refreshed every poll interval",
);
static VIP_LIMIT: MetricDesc = MetricDesc::gauge(
    "wecom_wedrive_vip_seats_limit",
    "VIP (pro) seats bought, from mng_pro_info total_vip_acct_num; refreshed every poll interval",
);
static VIP_USED: MetricDesc = MetricDesc::gauge(
    "wecom_wedrive_vip_seats_used",
    "VIP (pro) seats assigned, from mng_pro_info use_vip_acct_num; refreshed every poll interval",
);
static PRO_EXPIRY: MetricDesc = MetricDesc::gauge_with_unit(
    "wecom_wedrive_pro_expiry_timestamp_seconds",
    "seconds",
    "When the pro edition expires (unix time), from mng_pro_info pro_expire_time; refreshed every poll interval",
);
static CAPACITY: MetricDesc = MetricDesc::gauge_with_unit(
    "wecom_wedrive_capacity_bytes",
    "bytes",
    "Total drive capacity of the pool (all members or VIP), from mng_capacity total_capacity_for_all/_vip; refreshed every poll interval",
);
static CAPACITY_FREE: MetricDesc = MetricDesc::gauge_with_unit(
    "wecom_wedrive_capacity_free_bytes",
    "bytes",
    "Free drive capacity of the pool, from mng_capacity rest_capacity_for_all/_vip (not returned to third-party apps); refreshed every poll interval",
);

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

/// Maps both answers to samples. Pure, so it is tested on the documentation's examples.
pub fn samples(pro: &ProInfo, capacity: &Capacity) -> Samples {
    let mut s = Samples::new();
    s.set_some(&PRO_ENABLED, pro.is_pro.map(|b| if b { 1.0 } else { 0.0 }));
    s.set_some(&VIP_LIMIT, pro.total_vip_acct_num);
    s.set_some(&VIP_USED, pro.use_vip_acct_num);
    // WeCom sends 0 for a corp that never had pro: no expiry, so no series.
    s.set_some(&PRO_EXPIRY, pro.pro_expire_time.filter(|t| *t > 0.0));
    s.push_some(&CAPACITY, ("pool", "all"), capacity.total_capacity_for_all);
    s.push_some(&CAPACITY, ("pool", "vip"), capacity.total_capacity_for_vip);
    s.push_some(
        &CAPACITY_FREE,
        ("pool", "all"),
        capacity.rest_capacity_for_all,
    );
    s.push_some(
        &CAPACITY_FREE,
        ("pool", "vip"),
        capacity.rest_capacity_for_vip,
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::decode_json;

    // The examples on WeCom's "版本和容量管理" page, verbatim.
    const PRO_INFO_EXAMPLE: &str = r#"{
 "errcode": 0,
 "errmsg": "ok",
 "is_pro": true,
 "total_vip_acct_num": 10,
 "use_vip_acct_num": 5,
 "pro_expire_time": 1754827419
}"#;
    const CAPACITY_EXAMPLE: &str = r#"{
 "errcode": 0,
 "errmsg": "ok",
 "total_capacity_for_all": 22666689904640,
 "total_capacity_for_vip": 22300038149020
}"#;

    #[test]
    fn documentation_examples_map_to_samples() {
        let pro: ProInfo = decode_json("mng_pro_info", PRO_INFO_EXAMPLE.as_bytes()).unwrap();
        let cap: Capacity = decode_json("mng_capacity", CAPACITY_EXAMPLE.as_bytes()).unwrap();
        let s = samples(&pro, &cap);
        assert_eq!(s.value("wecom_wedrive_pro_enabled", &[]), Some(1.0));
        assert_eq!(s.value("wecom_wedrive_vip_seats_limit", &[]), Some(10.0));
        assert_eq!(s.value("wecom_wedrive_vip_seats_used", &[]), Some(5.0));
        assert_eq!(
            s.value("wecom_wedrive_pro_expiry_timestamp_seconds", &[]),
            Some(1754827419.0)
        );
        assert_eq!(
            s.value("wecom_wedrive_capacity_bytes", &[("pool", "all")]),
            Some(22666689904640.0)
        );
        assert_eq!(
            s.value("wecom_wedrive_capacity_bytes", &[("pool", "vip")]),
            Some(22300038149020.0)
        );
        // Not in the example: absent, not zero.
        assert_eq!(s.value("wecom_wedrive_capacity_free_bytes", &[]), None);
    }

    #[test]
    fn free_capacity_and_string_numbers() {
        let cap: Capacity = decode_json(
            "mng_capacity",
            br#"{"errcode":0,"total_capacity_for_all":"1000","total_capacity_for_vip":500,"rest_capacity_for_all":"80","rest_capacity_for_vip":0}"#,
        )
        .unwrap();
        let pro: ProInfo =
            decode_json("mng_pro_info", br#"{"is_pro":"false","pro_expire_time":0}"#).unwrap();
        let s = samples(&pro, &cap);
        assert_eq!(
            s.value("wecom_wedrive_capacity_free_bytes", &[("pool", "all")]),
            Some(80.0)
        );
        assert_eq!(
            s.value("wecom_wedrive_capacity_free_bytes", &[("pool", "vip")]),
            Some(0.0)
        );
        assert_eq!(
            s.value("wecom_wedrive_capacity_bytes", &[("pool", "all")]),
            Some(1000.0)
        );
        assert_eq!(s.value("wecom_wedrive_pro_enabled", &[]), Some(0.0));
        assert_eq!(
            s.value("wecom_wedrive_pro_expiry_timestamp_seconds", &[]),
            None
        );
    }

    #[test]
    fn wrong_types_are_decode_errors_naming_the_field() {
        let e = decode_json::<Capacity>("mng_capacity", br#"{"total_capacity_for_all":{"v":1}}"#)
            .unwrap_err();
        assert!(
            e.message.contains("total_capacity_for_all"),
            "{}",
            e.message
        );
    }

    #[test]
    fn quota_warning_follows_the_arithmetic() {
        assert!(quota_warning(Duration::from_secs(3600), 0)
            .unwrap()
            .contains("1440"));
        assert!(quota_warning(DEFAULT_INTERVAL, 0).is_none());
    }

    #[test]
    fn quota_warning_counts_retries() {
        // 2h: 360 polls a month, 720 calls; with 2 retries each poll can cost 4 calls = 1440.
        let two_hours = Duration::from_secs(2 * 3600);
        assert!(quota_warning(two_hours, 0).is_none());
        let w = quota_warning(two_hours, 2).expect("warns");
        assert!(w.contains("720") && w.contains("1440"), "{w}");
        // 1 retry: 1080 calls at worst, above the quota as well.
        assert!(quota_warning(two_hours, 1).unwrap().contains("1080"));
        // The default (3h) with the default 2 retries: 240 × 4 = 960, under the quota.
        assert!(quota_warning(DEFAULT_INTERVAL, 2).is_none());
        assert!(quota_warning(DEFAULT_INTERVAL, 3).is_some());
    }
}
