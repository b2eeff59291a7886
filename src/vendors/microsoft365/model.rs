//! Microsoft Graph answers: a collection page (`value` + `@odata.nextLink`), the two resources
//! we read, and the error envelope. Every field is optional: a property Graph stops sending
//! becomes an absent series, not a zero.

use serde::Deserialize;

use crate::vendors::settings::lenient;

/// One page of a Graph collection. `@odata.nextLink` is the absolute URL of the next page.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

/// `GET /v1.0/subscribedSkus`: one SKU the organisation has licences of.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribedSku {
    pub sku_id: Option<String>,
    pub sku_part_number: Option<String>,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted` or `LockedOut`.
    pub capability_status: Option<String>,
    /// Licences assigned.
    #[serde(default, deserialize_with = "lenient::number")]
    pub consumed_units: Option<f64>,
    pub prepaid_units: Option<LicenseUnitsDetail>,
    /// `User` or `Company`: only `User` SKUs are assigned to people.
    pub applies_to: Option<String>,
}

/// `licenseUnitsDetail`: licences bought, by state.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseUnitsDetail {
    #[serde(default, deserialize_with = "lenient::number")]
    pub enabled: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub suspended: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub warning: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub locked_out: Option<f64>,
}

/// `GET /v1.0/directory/subscriptions`: one commercial subscription (`companySubscription`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanySubscription {
    pub id: Option<String>,
    pub sku_id: Option<String>,
    pub sku_part_number: Option<String>,
    /// `Enabled`, `Deleted`, `Suspended`, `Warning` or `LockedOut`.
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub total_licenses: Option<f64>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub is_trial: Option<bool>,
    /// When the subscription moves to its next state if not renewed (RFC 3339, UTC).
    pub next_lifecycle_date_time: Option<String>,
}

/// Graph's error envelope: `{"error": {"code", "message", "innerError": {"request-id", …}}}`.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorEnvelope {
    #[serde(default)]
    pub error: ErrorBody,
}

#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(rename = "innerError", default)]
    pub inner_error: InnerError,
}

#[derive(Debug, Default, Deserialize)]
pub struct InnerError {
    #[serde(rename = "request-id", default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
}
