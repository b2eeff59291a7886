//! The koodrive metrics and the pure mapping of its answers to samples.

use super::model::{QuotaUsed, Service};
use super::{Unit, Units};
use crate::exposition::{MetricDesc, Samples};
pub(super) static CAPACITY: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_capacity_bytes",
    "bytes",
    "Storage capacity the tenant bought, from quotaUsed spaceCapacity (GB, scaled by quota_unit); refreshed every poll interval",
);
pub(super) static USED: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_used_bytes",
    "bytes",
    "Storage used by the space, from quotaUsed deptSpaceUsed/personalSpaceUsed/groupSpaceUsed (scaled by used_unit, KiB by default); refreshed every poll interval",
);
pub(super) static QUOTA: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_quota_bytes",
    "bytes",
    "Storage quota set aside for the space, from quotaUsed deptSpaceQuota/personalSpaceQuota/groupSpaceQuota/reservedSpaceQuota (scaled by quota_unit); refreshed every poll interval",
);
pub(super) static QUOTA_ALLOCATED: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_quota_allocated_bytes",
    "bytes",
    "Part of the space's quota already allocated, from quotaUsed deptSpaceQuotaUsed/personalSpaceQuotaUsed/groupSpaceQuotaUsed (scaled by quota_unit); refreshed every poll interval",
);
pub(super) static USERS: MetricDesc = MetricDesc::gauge(
    "koodrive_users",
    "Users created in the tenant's OrgID, from quotaUsed userCount; refreshed every poll interval",
);
pub(super) static USERS_LIMIT: MetricDesc = MetricDesc::gauge(
    "koodrive_users_limit",
    "Users the tenant bought, from quotaUsed userMaxCount; refreshed every poll interval",
);
/// The vendor sends days; Prometheus wants base units (`promtool check metrics` rejects `_days`).
pub(super) static PACKAGE_DOWNLOAD_RETENTION: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_package_download_retention_seconds",
    "seconds",
    "How long a packaged download stays available, from quotaUsed packageDownloadExpires (days); refreshed every poll interval",
);
pub(super) static SERVICE_STATE: MetricDesc = MetricDesc::gauge(
    "koodrive_service_state",
    "1 for the subscription's current state (normal or frozen: data kept, service unusable), from service status; both 0 for a status code not known (see koodrive_service_status_code); refreshed every poll interval",
);
pub(super) static SERVICE_STATUS_CODE: MetricDesc = MetricDesc::gauge(
    "koodrive_service_status_code",
    "The subscription's raw status code, from service status (0 normal, 1 frozen, others undocumented); refreshed every poll interval",
);
pub(super) static SUBSCRIPTION_CAPACITY: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_subscription_capacity_bytes",
    "bytes",
    "Storage capacity of the subscription, from service spaceCapacity (scaled by quota_unit); refreshed every poll interval",
);
pub(super) static SUBSCRIPTION_USERS_LIMIT: MetricDesc = MetricDesc::gauge(
    "koodrive_subscription_users_limit",
    "OrgID user quota of the subscription, from service userCount; refreshed every poll interval",
);
pub(super) static DEFAULT_SPACE: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_default_space_bytes",
    "bytes",
    "Default size of a new space of this kind (0: the kind is not enabled), from service departmentSpaceSize/personalSpaceSize/groupSpaceSize (scaled by quota_unit); refreshed every poll interval",
);
pub(super) static FEATURE_ENABLED: MetricDesc = MetricDesc::gauge(
    "koodrive_feature_enabled",
    "Whether the feature is enabled (1) or not (0), from service aiAvailable/wpsAvailable; refreshed every poll interval",
);
pub(super) static INFO: MetricDesc = MetricDesc::info(
    "koodrive",
    "The tenant's identity, from service tenantId, organizationId, organizationName and productType; refreshed every poll interval",
);

const SECONDS_A_DAY: f64 = 86_400.0;

fn scaled(value: Option<f64>, unit: Unit) -> Option<f64> {
    value.map(|v| v * unit.bytes())
}

fn flag(b: Option<bool>) -> Option<f64> {
    b.map(|b| if b { 1.0 } else { 0.0 })
}

/// Maps both answers to samples. Pure, so it is tested on the documentation's examples.
pub fn samples(quota: &QuotaUsed, service: &Service, units: Units) -> Samples {
    let mut s = Samples::new();
    s.set_some(&CAPACITY, scaled(quota.space_capacity, units.quota));
    for (space, used, total, allocated) in [
        (
            "department",
            quota.dept_space_used,
            quota.dept_space_quota,
            quota.dept_space_quota_used,
        ),
        (
            "personal",
            quota.personal_space_used,
            quota.personal_space_quota,
            quota.personal_space_quota_used,
        ),
        (
            "group",
            quota.group_space_used,
            quota.group_space_quota,
            quota.group_space_quota_used,
        ),
    ] {
        s.push_some(&USED, ("space", space), scaled(used, units.used));
        s.push_some(&QUOTA, ("space", space), scaled(total, units.quota));
        s.push_some(
            &QUOTA_ALLOCATED,
            ("space", space),
            scaled(allocated, units.quota),
        );
    }
    s.push_some(
        &QUOTA,
        ("space", "reserved"),
        scaled(quota.reserved_space_quota, units.quota),
    );
    s.set_some(&USERS, quota.user_count);
    s.set_some(&USERS_LIMIT, quota.user_max_count);
    s.set_some(
        &PACKAGE_DOWNLOAD_RETENTION,
        quota
            .package_download_expires
            .map(|days| days * SECONDS_A_DAY),
    );

    if let Some(status) = service.status {
        // A state set: both states always present, so `== 1` and `== 0` both work in alerts.
        let (normal, frozen) = if status == 0.0 {
            (1.0, 0.0)
        } else if status == 1.0 {
            (0.0, 1.0)
        } else {
            (0.0, 0.0)
        };
        s.push(&SERVICE_STATE, vec![("state", "normal".to_owned())], normal);
        s.push(&SERVICE_STATE, vec![("state", "frozen".to_owned())], frozen);
        s.set(&SERVICE_STATUS_CODE, status);
    }
    s.set_some(
        &SUBSCRIPTION_CAPACITY,
        scaled(service.space_capacity, units.quota),
    );
    s.set_some(&SUBSCRIPTION_USERS_LIMIT, service.user_count);
    s.push_some(
        &DEFAULT_SPACE,
        ("space", "department"),
        scaled(service.department_space_size, units.quota),
    );
    s.push_some(
        &DEFAULT_SPACE,
        ("space", "personal"),
        scaled(service.personal_space_size, units.quota),
    );
    s.push_some(
        &DEFAULT_SPACE,
        ("space", "group"),
        scaled(service.group_space_size, units.quota),
    );
    s.push_some(
        &FEATURE_ENABLED,
        ("feature", "ai"),
        flag(service.ai_available),
    );
    s.push_some(
        &FEATURE_ENABLED,
        ("feature", "wps"),
        flag(service.wps_available),
    );

    let product_type = service
        .product_type
        .as_ref()
        .or(quota.product_type.as_ref());
    let identity = [
        &service.tenant_id,
        &service.organization_id,
        &service.organization_name,
    ];
    if identity.iter().any(|v| v.is_some()) || product_type.is_some() {
        // An empty label value is how Prometheus spells "no such label".
        let label = |v: Option<&String>| v.cloned().unwrap_or_default();
        s.push(
            &INFO,
            vec![
                ("tenant_id", label(service.tenant_id.as_ref())),
                ("organization_id", label(service.organization_id.as_ref())),
                (
                    "organization_name",
                    label(service.organization_name.as_ref()),
                ),
                ("product_type", label(product_type)),
            ],
            1.0,
        );
    }
    s
}
