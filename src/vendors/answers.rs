//! Each vendor's answers decoded the way its client decodes them, mapped to samples and checked
//! by the sample guard: the whole path from response bytes to what the store would keep, without
//! the network. Used by the property tests and the fuzz targets (`fuzz/`).

use crate::exposition::Samples;

use super::{
    decode_json, guard, http_json, koodrive, microsoft365, tencent, wecom, FailureReason, PollError,
};

/// WeCom WeDrive: the `mng_pro_info` and `mng_capacity` answers.
pub fn wecom(pro_info: &[u8], capacity: &[u8]) -> Result<Samples, PollError> {
    let pro: wecom::model::ProInfo = decode_json("mng_pro_info", pro_info)?;
    let capacity: wecom::model::Capacity = decode_json("mng_capacity", capacity)?;
    checked(wecom::samples(&pro, &capacity))
}

/// Huawei KooDrive: the `quotaUsed` and `service` answers, with the default units.
pub fn koodrive(quota_used: &[u8], service: &[u8]) -> Result<Samples, PollError> {
    use koodrive::model::{Envelope, QuotaUsed, Service};
    let quota: Envelope<QuotaUsed> = decode_json("quotaUsed", quota_used)?;
    let service: Envelope<Service> = decode_json("service", service)?;
    checked(koodrive::samples(
        &quota.data.unwrap_or_default(),
        &service.data.unwrap_or_default(),
        koodrive::Units::default(),
    ))
}

/// Tencent Cloud CWP: the `DescribeLicenseGeneral` answer.
pub fn tencent(license_general: &[u8]) -> Result<Samples, PollError> {
    let answer: tencent::model::Envelope<tencent::model::LicenseGeneral> =
        decode_json("DescribeLicenseGeneral", license_general)?;
    checked(tencent::samples(&answer.response))
}

/// Microsoft 365: one page each of `subscribedSkus` and `directory/subscriptions`.
pub fn microsoft365(skus: &[u8], subscriptions: &[u8]) -> Result<Samples, PollError> {
    use microsoft365::model::{CompanySubscription, Page, SubscribedSku};
    let skus: Page<SubscribedSku> = decode_json("subscribedSkus", skus)?;
    let subscriptions: Page<CompanySubscription> = decode_json("subscriptions", subscriptions)?;
    let samples = microsoft365::samples(&skus.value, &subscriptions.value)
        .map_err(|m| PollError::new(FailureReason::Decode, m))?;
    checked(samples)
}

/// `http_json`: an answer read through a mapping (its `outputs`, as JSON in the config's shape).
pub fn http_json(outputs: &serde_json::Value, answer: &[u8]) -> Result<Samples, PollError> {
    let bad = |m: String| PollError::new(FailureReason::Decode, m);
    let settings = serde_json::from_value(outputs.clone()).map_err(|e| bad(e.to_string()))?;
    let outputs = http_json::metrics::parse_outputs(settings).map_err(|e| {
        bad(e
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "))
    })?;
    let answer: serde_json::Value =
        serde_json::from_slice(answer).map_err(|e| bad(format!("not JSON: {e}")))?;
    checked(http_json::metrics::extract(&outputs, &answer, None)?)
}

fn checked(samples: Samples) -> Result<Samples, PollError> {
    guard::check(&samples)?;
    Ok(samples)
}
