//! KooDrive response bodies. Every field is optional and read leniently: older versions of the
//! vendor's pages show numbers and booleans as strings (`"1000"`, `"true"`), `code` is documented
//! as an Integer on one page and a String on the other, and a field the vendor stops sending must
//! become an absent series, not a zero. Unknown fields are ignored.

use serde::{Deserialize, Deserializer};

use crate::vendors::settings::lenient;

/// The envelope of every answer: KooDrive's `{code, msg, data}` (`code` 0 means success), or
/// Huawei's API gateway's `{error_code, error_msg, request_id}` when the gateway refuses the call
/// before KooDrive sees it (authentication, throttling).
#[derive(Debug, Default, Deserialize)]
pub struct Status {
    #[serde(default, deserialize_with = "code")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub msg: Option<String>,
    #[serde(default, deserialize_with = "code")]
    pub error_code: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub error_msg: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub request_id: Option<String>,
}

impl Status {
    /// Success is code 0 (number or string). An answer without a code is taken as success; the
    /// data then decides.
    pub fn is_success(&self) -> bool {
        self.error_code.is_none() && !matches!(self.code.as_deref(), Some(c) if c != "0")
    }

    /// The API gateway's code (`APIGW.0303`, or the older `APIG.0303`), from either envelope.
    pub fn gateway_code(&self) -> Option<&str> {
        self.error_code
            .as_deref()
            .or(self.code.as_deref())
            .filter(|c| c.starts_with("APIG"))
    }
}

/// The envelope with its data, decoded once the code said success.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(default = "no_data", deserialize_with = "lenient::object")]
    #[serde(bound(deserialize = "T: Deserialize<'de>"))]
    pub data: Option<T>,
}

fn no_data<T>() -> Option<T> {
    None
}

/// `GET /koodrive/ose/v1/service/quotaUsed`. Units: `spaceCapacity` is documented as GB; the
/// `*SpaceQuota` and `*SpaceQuotaUsed` fields add up to it, so they are GB too; the `*SpaceUsed`
/// fields are undocumented, most likely KB (see docs/vendors/koodrive.md).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaUsed {
    #[serde(default, deserialize_with = "lenient::number")]
    pub space_capacity: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub space_used: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub space_quota_used: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub dept_space_quota: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub personal_space_quota: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub group_space_quota: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub reserved_space_quota: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub dept_space_used: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub personal_space_used: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub group_space_used: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub dept_space_quota_used: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub personal_space_quota_used: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub group_space_quota_used: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub user_count: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub user_max_count: Option<f64>,
    /// Days (the seed's example: 7).
    #[serde(default, deserialize_with = "lenient::number")]
    pub package_download_expires: Option<f64>,
    #[serde(default, deserialize_with = "text")]
    pub product_type: Option<String>,
}

/// `GET /koodrive/ose/v1/service`: the subscription.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// 0 normal, 1 frozen (data kept, service unusable); other codes are not documented.
    #[serde(default, deserialize_with = "lenient::number")]
    pub status: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub space_capacity: Option<f64>,
    /// The OrgID user quota (a limit, despite the name).
    #[serde(default, deserialize_with = "lenient::number")]
    pub user_count: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub group_space_size: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub personal_space_size: Option<f64>,
    /// Documented as a String, sent as a number in the example.
    #[serde(default, deserialize_with = "lenient::number")]
    pub department_space_size: Option<f64>,
    #[serde(default, deserialize_with = "text")]
    pub organization_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub organization_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub root_dept_code: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub tenant_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub ai_available: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub wps_available: Option<bool>,
    #[serde(default, deserialize_with = "text")]
    pub product_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
}

/// A string, or a number written as one (ids and product types come either way); `null`,
/// absent or empty gives `None`.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Scalar>::deserialize(d)? {
        None => None,
        Some(Scalar::Str(s)) => Some(s).filter(|s| !s.trim().is_empty()),
        Some(Scalar::Num(n)) => Some(n.to_string()),
        Some(Scalar::Bool(b)) => {
            return Err(serde::de::Error::custom(format!(
                "expected a string, got boolean {b}"
            )))
        }
    })
}

/// The envelope's `code`: Integer on one page, String on the other, `APIGW.xxxx` from the gateway.
fn code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Scalar>::deserialize(d)? {
        None => None,
        Some(Scalar::Str(s)) => Some(s.trim().to_owned()),
        Some(Scalar::Num(n)) => Some(n.to_string()),
        Some(Scalar::Bool(b)) => {
            return Err(serde::de::Error::custom(format!(
                "expected a code, got boolean {b}"
            )))
        }
    })
}

#[cfg(test)]
mod tests;
