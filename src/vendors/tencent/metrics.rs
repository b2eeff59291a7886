//! The tencent metrics and the pure mapping of its answers to samples.

use super::model::LicenseGeneral;
use crate::exposition::{MetricDesc, Samples};
pub(super) static LICENSES: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses",
    "CWP licences, including isolated and expired ones, from DescribeLicenseGeneral LicenseCnt; refreshed every poll interval",
);
pub(super) static LICENSES_AVAILABLE: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses_available",
    "CWP licences available for use, from DescribeLicenseGeneral AvailableLicenseCnt; refreshed every poll interval",
);
pub(super) static LICENSES_USED: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses_used",
    "CWP licences bound to machines, from DescribeLicenseGeneral UsedLicenseCnt; refreshed every poll interval",
);
pub(super) static LICENSES_UNEXPIRED: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses_unexpired",
    "CWP licences not yet expired, from DescribeLicenseGeneral NotExpiredLicenseCnt; refreshed every poll interval",
);
pub(super) static LICENSES_EXPIRING: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses_expiring",
    "CWP licences expiring within 15 days, from DescribeLicenseGeneral NearExpiryLicenseCnt; refreshed every poll interval",
);
pub(super) static LICENSES_EXPIRED: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses_expired",
    "CWP licences expired (deleted records excluded), from DescribeLicenseGeneral ExpireLicenseCnt; refreshed every poll interval",
);
pub(super) static EDITION_LICENSES: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_edition_licenses",
    "CWP licences of valid orders by edition, from DescribeLicenseGeneral ProVersionLicenseCnt, FlagshipVersionLicenseCnt, CwpVersionLicenseCnt (inclusive); refreshed every poll interval",
);
pub(super) static EDITION_LICENSES_AVAILABLE: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_edition_licenses_available",
    "CWP licences available by edition, from DescribeLicenseGeneral AvailableProVersionLicenseCnt (post-paid included), AvailableFlagshipVersionLicenseCnt, AvailableLHLicenseCnt (inclusive); refreshed every poll interval",
);
pub(super) static DESTROYED_ORDERS: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_destroyed_orders",
    "CWP licence orders destroyed, from DescribeLicenseGeneral DestroyOrderNum; refreshed every poll interval",
);
pub(super) static SETTING_ENABLED: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_setting_enabled",
    "Whether a CWP licence switch is on (1) or off (0), from DescribeLicenseGeneral AutoOpenStatus (auto_upgrade), IsOpenStatusHistory (auto_upgrade_ever_enabled), AutoRepurchaseSwitch (auto_repurchase), AutoRepurchaseRenewSwitch (auto_repurchase_renew), RepurchaseRenewSwitch (repurchase_renew); refreshed every poll interval",
);
pub(super) static INFO: MetricDesc = MetricDesc::info(
    "tencentcloud_cwp",
    "The account's CWP protection type, from DescribeLicenseGeneral ProtectType; refreshed every poll interval",
);

fn flag(b: Option<bool>) -> Option<f64> {
    b.map(|b| if b { 1.0 } else { 0.0 })
}

/// Maps the licence overview to samples. Pure, so it is tested on the documentation's example.
pub fn samples(g: &LicenseGeneral) -> Samples {
    let mut s = Samples::new();
    s.set_some(&LICENSES, g.license_cnt);
    s.set_some(&LICENSES_AVAILABLE, g.available_license_cnt);
    s.set_some(&LICENSES_USED, g.used_license_cnt);
    s.set_some(&LICENSES_UNEXPIRED, g.not_expired_license_cnt);
    s.set_some(&LICENSES_EXPIRING, g.near_expiry_license_cnt);
    s.set_some(&LICENSES_EXPIRED, g.expire_license_cnt);
    s.push_some(
        &EDITION_LICENSES,
        ("edition", "pro"),
        g.pro_version_license_cnt,
    );
    s.push_some(
        &EDITION_LICENSES,
        ("edition", "flagship"),
        g.flagship_version_license_cnt,
    );
    s.push_some(
        &EDITION_LICENSES,
        ("edition", "inclusive"),
        g.cwp_version_license_cnt,
    );
    s.push_some(
        &EDITION_LICENSES_AVAILABLE,
        ("edition", "pro"),
        g.available_pro_version_license_cnt,
    );
    s.push_some(
        &EDITION_LICENSES_AVAILABLE,
        ("edition", "flagship"),
        g.available_flagship_version_license_cnt,
    );
    s.push_some(
        &EDITION_LICENSES_AVAILABLE,
        ("edition", "inclusive"),
        g.available_lh_license_cnt,
    );
    s.set_some(&DESTROYED_ORDERS, g.destroy_order_num);
    s.push_some(
        &SETTING_ENABLED,
        ("setting", "auto_upgrade"),
        flag(g.auto_open_status),
    );
    s.push_some(
        &SETTING_ENABLED,
        ("setting", "auto_upgrade_ever_enabled"),
        flag(g.is_open_status_history),
    );
    s.push_some(
        &SETTING_ENABLED,
        ("setting", "auto_repurchase"),
        flag(g.auto_repurchase_switch),
    );
    s.push_some(
        &SETTING_ENABLED,
        ("setting", "auto_repurchase_renew"),
        flag(g.auto_repurchase_renew_switch),
    );
    s.push_some(
        &SETTING_ENABLED,
        ("setting", "repurchase_renew"),
        flag(g.repurchase_renew_switch),
    );
    if let Some(protect_type) = &g.protect_type {
        s.push(&INFO, vec![("protect_type", protect_type.clone())], 1.0);
    }
    s
}
