//! WeCom response bodies. Every field is optional and numbers are read leniently: WeCom documents
//! `uint32`/`uint64` but some gateways and SDKs pass numbers as strings, and a field WeCom stops
//! sending must become an absent series, not a zero.

use serde::Deserialize;

use crate::vendors::settings::lenient;

/// The envelope every WeCom answer has. `errcode` 0 means success; errors still come with HTTP 200.
#[derive(Debug, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
}

/// `GET /cgi-bin/gettoken`
#[derive(Debug, Deserialize)]
pub struct Token {
    pub access_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub expires_in: Option<f64>,
}

/// `POST /cgi-bin/wedrive/mng_pro_info`
#[derive(Debug, Default, Deserialize)]
pub struct ProInfo {
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub is_pro: Option<bool>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub total_vip_acct_num: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub use_vip_acct_num: Option<f64>,
    /// Unix seconds. The doc says uint32; read as a float so dates past 2106 and strings work.
    #[serde(default, deserialize_with = "lenient::number")]
    pub pro_expire_time: Option<f64>,
}

/// `POST /cgi-bin/wedrive/mng_capacity`. All values in bytes.
#[derive(Debug, Default, Deserialize)]
pub struct Capacity {
    #[serde(default, deserialize_with = "lenient::number")]
    pub total_capacity_for_all: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub total_capacity_for_vip: Option<f64>,
    /// Free bytes. Documented only in a commented-out block and not returned to third-party apps.
    #[serde(default, deserialize_with = "lenient::number")]
    pub rest_capacity_for_all: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub rest_capacity_for_vip: Option<f64>,
}
