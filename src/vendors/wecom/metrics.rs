//! The wecom metrics and the pure mapping of its answers to samples.

use super::model::{Capacity, ProInfo};
use crate::exposition::{MetricDesc, Samples};
pub(super) static PRO_ENABLED: MetricDesc = MetricDesc::gauge(
    "wecom_wedrive_pro_enabled",
    "Whether WeDrive pro edition is enabled (1) or not (0), from mng_pro_info is_pro; refreshed every poll interval",
);
pub(super) static VIP_LIMIT: MetricDesc = MetricDesc::gauge(
    "wecom_wedrive_vip_seats_limit",
    "VIP (pro) seats bought, from mng_pro_info total_vip_acct_num; refreshed every poll interval",
);
pub(super) static VIP_USED: MetricDesc = MetricDesc::gauge(
    "wecom_wedrive_vip_seats_used",
    "VIP (pro) seats assigned, from mng_pro_info use_vip_acct_num; refreshed every poll interval",
);
pub(super) static PRO_EXPIRY: MetricDesc = MetricDesc::gauge_with_unit(
    "wecom_wedrive_pro_expiry_timestamp_seconds",
    "seconds",
    "When the pro edition expires (unix time), from mng_pro_info pro_expire_time; refreshed every poll interval",
);
pub(super) static CAPACITY: MetricDesc = MetricDesc::gauge_with_unit(
    "wecom_wedrive_capacity_bytes",
    "bytes",
    "Total drive capacity of the pool (all members or VIP), from mng_capacity total_capacity_for_all/_vip; refreshed every poll interval",
);
pub(super) static CAPACITY_FREE: MetricDesc = MetricDesc::gauge_with_unit(
    "wecom_wedrive_capacity_free_bytes",
    "bytes",
    "Free drive capacity of the pool, from mng_capacity rest_capacity_for_all/_vip (not returned to third-party apps); refreshed every poll interval",
);

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
