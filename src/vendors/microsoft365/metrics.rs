//! The microsoft365 metrics and the pure mapping of its answers to samples.

use std::collections::BTreeMap;

use super::model::{CompanySubscription, SubscribedSku};
use crate::exposition::{MetricDesc, Samples};
use crate::vendors::dates::rfc3339_unix;
pub(super) static SKU_PREPAID: MetricDesc = MetricDesc::gauge(
    "microsoft365_sku_prepaid_units",
    "Licences bought of the SKU, by state, from subscribedSkus prepaidUnits.enabled/.warning/.suspended/.lockedOut; refreshed every poll interval",
);
pub(super) static SKU_CONSUMED: MetricDesc = MetricDesc::gauge(
    "microsoft365_sku_consumed_units",
    "Licences of the SKU assigned to users or groups, from subscribedSkus consumedUnits; refreshed every poll interval",
);
pub(super) static SKU_STATUS: MetricDesc = MetricDesc::gauge(
    "microsoft365_sku_capability_status",
    "State of the SKU (1 for the current one), from subscribedSkus capabilityStatus; refreshed every poll interval",
);
pub(super) static SUB_LICENSES: MetricDesc = MetricDesc::gauge(
    "microsoft365_subscription_licenses",
    "Seats included in the subscription, from directory/subscriptions totalLicenses; refreshed every poll interval",
);
pub(super) static SUB_LIFECYCLE: MetricDesc = MetricDesc::gauge_with_unit(
    "microsoft365_subscription_next_lifecycle_timestamp_seconds",
    "seconds",
    "When the subscription moves to its next state unless renewed (unix time), from directory/subscriptions nextLifecycleDateTime; refreshed every poll interval",
);
pub(super) static SUB_TRIAL: MetricDesc = MetricDesc::gauge(
    "microsoft365_subscription_trial",
    "Whether the subscription is a free trial (1) or purchased (0), from directory/subscriptions isTrial; refreshed every poll interval",
);
pub(super) static SUB_STATUS: MetricDesc = MetricDesc::gauge(
    "microsoft365_subscription_status",
    "State of the subscription (1 for the current one), from directory/subscriptions status; refreshed every poll interval",
);

/// Graph's states (`capabilityStatus`, `status`) and the label values we give them.
const STATES: [(&str, &str); 5] = [
    ("Enabled", "enabled"),
    ("Warning", "warning"),
    ("Suspended", "suspended"),
    ("Deleted", "deleted"),
    ("LockedOut", "locked_out"),
];

/// The `sku` label: the part number (`ENTERPRISEPACK`), or the SKU id when Graph omits it.
fn sku_label(part_number: &Option<String>, id: &Option<String>) -> String {
    part_number
        .as_deref()
        .or(id.as_deref())
        .unwrap_or("unknown")
        .to_owned()
}

fn push_state(
    s: &mut Samples,
    desc: &'static MetricDesc,
    base: &[(&'static str, String)],
    status: &str,
) {
    let known = STATES.iter().any(|(graph, _)| *graph == status);
    for (graph, label) in STATES {
        let mut labels = base.to_vec();
        labels.push(("status", label.to_owned()));
        s.push(desc, labels, if graph == status { 1.0 } else { 0.0 });
    }
    if !known {
        // A state Graph added after this was written: shown as it is, so it is not lost.
        let mut labels = base.to_vec();
        labels.push(("status", status.to_ascii_lowercase()));
        s.push(desc, labels, 1.0);
    }
}

/// Maps both collections to samples. Pure, so it is tested on the documentation's examples.
/// SKUs that share a part number (rare: two SKU ids with one name) are added up, so a series
/// is never written twice.
pub fn samples(
    skus: &[SubscribedSku],
    subscriptions: &[CompanySubscription],
) -> Result<Samples, String> {
    let mut s = Samples::new();
    #[derive(Default)]
    struct Sum {
        units: [Option<f64>; 4],
        consumed: Option<f64>,
        status: Option<String>,
    }
    let add = |a: &mut Option<f64>, b: Option<f64>| {
        if let Some(b) = b {
            *a = Some(a.unwrap_or(0.0) + b);
        }
    };
    let mut by_sku: BTreeMap<String, Sum> = BTreeMap::new();
    for sku in skus {
        let sum = by_sku
            .entry(sku_label(&sku.sku_part_number, &sku.sku_id))
            .or_default();
        let p = sku.prepaid_units.clone().unwrap_or_default();
        for (slot, v) in sum
            .units
            .iter_mut()
            .zip([p.enabled, p.warning, p.suspended, p.locked_out])
        {
            add(slot, v);
        }
        add(&mut sum.consumed, sku.consumed_units);
        if sum.status.is_none() {
            sum.status = sku.capability_status.clone();
        }
    }
    for (sku, sum) in &by_sku {
        for (state, v) in ["enabled", "warning", "suspended", "locked_out"]
            .into_iter()
            .zip(sum.units)
        {
            if let Some(v) = v {
                s.push(
                    &SKU_PREPAID,
                    vec![("sku", sku.clone()), ("state", state.to_owned())],
                    v,
                );
            }
        }
        s.push_some(&SKU_CONSUMED, ("sku", sku), sum.consumed);
        if let Some(status) = &sum.status {
            push_state(&mut s, &SKU_STATUS, &[("sku", sku.clone())], status);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for sub in subscriptions {
        let Some(id) = sub.id.clone().filter(|i| !i.is_empty()) else {
            continue;
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        let base = vec![
            ("sku", sku_label(&sub.sku_part_number, &sub.sku_id)),
            ("subscription", id),
        ];
        if let Some(v) = sub.total_licenses {
            s.push(&SUB_LICENSES, base.clone(), v);
        }
        if let Some(t) = sub
            .next_lifecycle_date_time
            .as_deref()
            .filter(|t| !t.is_empty())
        {
            let t =
                rfc3339_unix(t).map_err(|e| format!("subscriptions: nextLifecycleDateTime {e}"))?;
            s.push(&SUB_LIFECYCLE, base.clone(), t);
        }
        if let Some(trial) = sub.is_trial {
            s.push(&SUB_TRIAL, base.clone(), if trial { 1.0 } else { 0.0 });
        }
        if let Some(status) = &sub.status {
            push_state(&mut s, &SUB_STATUS, &base, status);
        }
    }
    Ok(s)
}
