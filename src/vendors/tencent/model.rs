//! Tencent Cloud API 3.0 response bodies. Every answer is `{"Response": {…, "RequestId": …}}`,
//! with `Response.Error` on failure (still HTTP 200). Unknown fields are ignored (Tencent adds
//! fields, e.g. `AutoDowngradeSwitch`), numbers and booleans are read leniently, and a field that
//! is not returned becomes an absent series, never a zero.

use serde::Deserialize;

use crate::vendors::settings::lenient;

/// The outer object of every answer.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(rename = "Response", deserialize_with = "lenient::required")]
    #[serde(bound(deserialize = "T: Deserialize<'de>"))]
    pub response: T,
}

/// What every `Response` carries: the request id and, on failure, the error.
#[derive(Debug, Default, Deserialize)]
pub struct Status {
    #[serde(rename = "RequestId", default)]
    pub request_id: Option<String>,
    #[serde(rename = "Error", default)]
    pub error: Option<ApiError>,
}

/// `Response.Error`. Branch on `code`; `message` is for people and its wording changes.
#[derive(Debug, Default, Deserialize)]
pub struct ApiError {
    #[serde(rename = "Code", default)]
    pub code: String,
    #[serde(rename = "Message", default)]
    pub message: String,
}

/// CWP `DescribeLicenseGeneral` (version 2018-02-28): the licence overview.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LicenseGeneral {
    /// All licences, including isolated and expired ones.
    #[serde(default, deserialize_with = "lenient::number")]
    pub license_cnt: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub available_license_cnt: Option<f64>,
    /// Pro edition licences available, post-paid included.
    #[serde(default, deserialize_with = "lenient::number")]
    pub available_pro_version_license_cnt: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub available_flagship_version_license_cnt: Option<f64>,
    /// Expiring within 15 days.
    #[serde(default, deserialize_with = "lenient::number")]
    pub near_expiry_license_cnt: Option<f64>,
    /// Expired, not counting deleted records.
    #[serde(default, deserialize_with = "lenient::number")]
    pub expire_license_cnt: Option<f64>,
    /// Automatic upgrade switch.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub auto_open_status: Option<bool>,
    /// `PROVERSION_POSTPAY`, `PROVERSION_PREPAY`, `FLAGSHIP_PREPAY`…
    #[serde(default)]
    pub protect_type: Option<String>,
    /// Whether automatic upgrade was ever switched on.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub is_open_status_history: Option<bool>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub used_license_cnt: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub not_expired_license_cnt: Option<f64>,
    /// Flagship edition licences of valid orders.
    #[serde(default, deserialize_with = "lenient::number")]
    pub flagship_version_license_cnt: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub pro_version_license_cnt: Option<f64>,
    /// Inclusive edition (普惠版) licences of valid orders.
    #[serde(default, deserialize_with = "lenient::number")]
    pub cwp_version_license_cnt: Option<f64>,
    /// Inclusive edition (普惠版) licences available: "LH" is the edition first sold for Lighthouse
    /// servers, the same edition `CwpVersionLicenseCnt` counts.
    #[serde(
        default,
        rename = "AvailableLHLicenseCnt",
        deserialize_with = "lenient::number"
    )]
    pub available_lh_license_cnt: Option<f64>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub auto_repurchase_switch: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub auto_repurchase_renew_switch: Option<bool>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub destroy_order_num: Option<f64>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub repurchase_renew_switch: Option<bool>,
}
