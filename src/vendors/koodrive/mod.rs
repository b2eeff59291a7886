//! Huawei Cloud KooDrive: a tenant's storage capacity, its split into department, personal and
//! group space, users and the subscription's state.
//!
//! Two calls a poll (`service/quotaUsed`, `service`), authenticated by app signature (see
//! [`sign`]) or by a bearer token obtained elsewhere. Neither call is documented as metered;
//! capacity and subscriptions change slowly, so the default interval is 30 minutes.
//!
//! Units: only `spaceCapacity` is documented (GB). The example answer adds up (the space quotas
//! sum to the capacity, the used spaces to `spaceUsed`), which says the quota fields are GB and
//! the used fields most likely KB. Both scales are settings (`quota_unit`, `used_unit`) because
//! this is an inference, not a documented fact.

mod client;
pub mod model;
pub mod sign;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use self::client::{Client, Credentials};
use self::model::{QuotaUsed, Service};
use crate::exposition::{MetricDesc, Samples};
use crate::vendors::settings::{parse_settings, FieldError, ParseContext, SecretRef};
use crate::vendors::{Account, PollContext, PollFuture, VendorDef};

pub const DEFAULT_BASE_URL: &str = "https://cn.myhuaweicloud-koodrive.com";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);

pub const QUOTA_USED_PATH: &str = "/koodrive/ose/v1/service/quotaUsed";
pub const SERVICE_PATH: &str = "/koodrive/ose/v1/service";

pub static VENDOR: VendorDef = VendorDef {
    name: "koodrive",
    title: "Huawei KooDrive",
    default_interval: DEFAULT_INTERVAL,
    parse,
    metrics: &[
        &CAPACITY,
        &USED,
        &QUOTA,
        &QUOTA_ALLOCATED,
        &USERS,
        &USERS_LIMIT,
        &PACKAGE_DOWNLOAD_RETENTION,
        &SERVICE_STATE,
        &SERVICE_STATUS_CODE,
        &SUBSCRIPTION_CAPACITY,
        &SUBSCRIPTION_USERS_LIMIT,
        &DEFAULT_SPACE,
        &FEATURE_ENABLED,
        &INFO,
    ],
    metric_prefix: "koodrive_",
    dashboard: "koodrive.json",
    docs_page: Some("koodrive.md"),
};

static CAPACITY: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_capacity_bytes",
    "bytes",
    "Storage capacity the tenant bought, from quotaUsed spaceCapacity (GB, scaled by quota_unit); refreshed every poll interval",
);
static USED: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_used_bytes",
    "bytes",
    "Storage used by the space, from quotaUsed deptSpaceUsed/personalSpaceUsed/groupSpaceUsed (scaled by used_unit, KiB by default); refreshed every poll interval",
);
static QUOTA: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_quota_bytes",
    "bytes",
    "Storage quota set aside for the space, from quotaUsed deptSpaceQuota/personalSpaceQuota/groupSpaceQuota/reservedSpaceQuota (scaled by quota_unit); refreshed every poll interval",
);
static QUOTA_ALLOCATED: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_quota_allocated_bytes",
    "bytes",
    "Part of the space's quota already allocated, from quotaUsed deptSpaceQuotaUsed/personalSpaceQuotaUsed/groupSpaceQuotaUsed (scaled by quota_unit); refreshed every poll interval",
);
static USERS: MetricDesc = MetricDesc::gauge(
    "koodrive_users",
    "Users created in the tenant's OrgID, from quotaUsed userCount; refreshed every poll interval",
);
static USERS_LIMIT: MetricDesc = MetricDesc::gauge(
    "koodrive_users_limit",
    "Users the tenant bought, from quotaUsed userMaxCount; refreshed every poll interval",
);
/// The vendor sends days; Prometheus wants base units (`promtool check metrics` rejects `_days`).
static PACKAGE_DOWNLOAD_RETENTION: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_package_download_retention_seconds",
    "seconds",
    "How long a packaged download stays available, from quotaUsed packageDownloadExpires (days); refreshed every poll interval",
);
static SERVICE_STATE: MetricDesc = MetricDesc::gauge(
    "koodrive_service_state",
    "1 for the subscription's current state (normal or frozen: data kept, service unusable), from service status; both 0 for a status code not known (see koodrive_service_status_code); refreshed every poll interval",
);
static SERVICE_STATUS_CODE: MetricDesc = MetricDesc::gauge(
    "koodrive_service_status_code",
    "The subscription's raw status code, from service status (0 normal, 1 frozen, others undocumented); refreshed every poll interval",
);
static SUBSCRIPTION_CAPACITY: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_subscription_capacity_bytes",
    "bytes",
    "Storage capacity of the subscription, from service spaceCapacity (scaled by quota_unit); refreshed every poll interval",
);
static SUBSCRIPTION_USERS_LIMIT: MetricDesc = MetricDesc::gauge(
    "koodrive_subscription_users_limit",
    "OrgID user quota of the subscription, from service userCount; refreshed every poll interval",
);
static DEFAULT_SPACE: MetricDesc = MetricDesc::gauge_with_unit(
    "koodrive_default_space_bytes",
    "bytes",
    "Default size of a new space of this kind (0: the kind is not enabled), from service departmentSpaceSize/personalSpaceSize/groupSpaceSize (scaled by quota_unit); refreshed every poll interval",
);
static FEATURE_ENABLED: MetricDesc = MetricDesc::gauge(
    "koodrive_feature_enabled",
    "Whether the feature is enabled (1) or not (0), from service aiAvailable/wpsAvailable; refreshed every poll interval",
);
static INFO: MetricDesc = MetricDesc::info(
    "koodrive",
    "The tenant's identity, from service tenantId, organizationId, organizationName and productType; refreshed every poll interval",
);

/// A scale the vendor's numbers are in. Binary (KiB…) and decimal (KB…) prefixes both exist
/// because the vendor's "GB" and "KB" do not say which they mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    B,
    KiB,
    MiB,
    GiB,
    TiB,
    KB,
    MB,
    GB,
    TB,
}

impl Unit {
    const ALL: [(&'static str, Unit); 9] = [
        ("B", Unit::B),
        ("KiB", Unit::KiB),
        ("MiB", Unit::MiB),
        ("GiB", Unit::GiB),
        ("TiB", Unit::TiB),
        ("KB", Unit::KB),
        ("MB", Unit::MB),
        ("GB", Unit::GB),
        ("TB", Unit::TB),
    ];

    /// Bytes in one of this unit.
    pub fn bytes(self) -> f64 {
        match self {
            Unit::B => 1.0,
            Unit::KiB => 1024.0,
            Unit::MiB => 1024.0 * 1024.0,
            Unit::GiB => 1024.0 * 1024.0 * 1024.0,
            Unit::TiB => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            Unit::KB => 1e3,
            Unit::MB => 1e6,
            Unit::GB => 1e9,
            Unit::TB => 1e12,
        }
    }

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, u)| *u == self)
            .map(|(n, _)| *n)
            .expect("every unit is listed")
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s.trim())
            .map(|(_, u)| *u)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|(n, _)| *n).collect();
                serde::de::Error::custom(format!(
                    "unknown unit {s:?}, expected one of: {}",
                    known.join(", ")
                ))
            })
    }
}

/// The scales of the two groups of fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Units {
    /// `*SpaceUsed`: undocumented, most likely KB.
    pub used: Unit,
    /// `spaceCapacity` (documented GB), `*SpaceQuota`, `*SpaceQuotaUsed`, `*SpaceSize`.
    pub quota: Unit,
}

impl Default for Units {
    fn default() -> Self {
        Self {
            used: Unit::KiB,
            quota: Unit::GiB,
        }
    }
}

/// The KooDrive-specific keys of an account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default = "default_base_url")]
    base_url: String,
    app_id: Option<String>,
    app_secret: Option<SecretRef>,
    user_id: Option<String>,
    bearer_token: Option<SecretRef>,
    #[serde(default = "default_used_unit")]
    used_unit: Unit,
    #[serde(default = "default_quota_unit")]
    quota_unit: Unit,
    /// Send a random 58-character `X-Traceid` with each request, for vendor support.
    #[serde(default = "yes")]
    send_trace_id: bool,
}

fn yes() -> bool {
    true
}

/// A KooDrive access token expires after this long without use.
pub const BEARER_IDLE_LIFETIME: Duration = Duration::from_secs(20 * 60);

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}
fn default_used_unit() -> Unit {
    Units::default().used
}
fn default_quota_unit() -> Unit {
    Units::default().quota
}

const APP_KEYS: &str = "app_id, app_secret and user_id";

fn parse(
    value: serde_json::Value,
    ctx: &mut ParseContext,
) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    let s: Settings = parse_settings(value)?;
    let mut errors = Vec::new();
    let non_empty = |field: &'static str, v: &Option<String>, errors: &mut Vec<FieldError>| {
        if v.as_ref().is_some_and(|v| v.trim().is_empty()) {
            errors.push(FieldError::new(field, "must not be empty"));
        }
    };
    non_empty("app_id", &s.app_id, &mut errors);
    non_empty("user_id", &s.user_id, &mut errors);

    let app_keys_given = s.app_id.is_some() || s.app_secret.is_some();
    let credentials = match (&s.bearer_token, app_keys_given) {
        (Some(_), true) => {
            errors.push(FieldError::new(
                "",
                format!("both app signature keys (app_id, app_secret) and bearer_token are set: use exactly one way to authenticate, either {APP_KEYS} or bearer_token"),
            ));
            None
        }
        (None, false) => {
            errors.push(FieldError::new(
                "",
                format!("no credentials: set {APP_KEYS} (app signature), or bearer_token"),
            ));
            None
        }
        (Some(token), false) => {
            if ctx.interval.is_some_and(|i| i > BEARER_IDLE_LIFETIME) {
                ctx.warn(format!(
                    "interval {} is longer than a KooDrive access token's {} idle lifetime: unless something else uses the token in between, it expires between polls",
                    humantime::format_duration(ctx.interval.unwrap_or_default()),
                    humantime::format_duration(BEARER_IDLE_LIFETIME)
                ));
            }
            // Read now so a missing variable or file is a config error; read again on every poll.
            ctx.secret("bearer_token", token)
                .map_err(|e| errors.push(e))
                .ok()
                .map(|_| Credentials::Bearer(token.clone()))
        }
        (None, true) => {
            let mut missing = |field: &'static str, present: bool| {
                if !present {
                    errors.push(FieldError::new(
                        field,
                        format!("missing: app signature needs {APP_KEYS}"),
                    ));
                }
            };
            missing("app_id", s.app_id.is_some());
            missing("app_secret", s.app_secret.is_some());
            missing("user_id", s.user_id.is_some());
            // Read now so a missing variable or file is a config error; read again on every poll.
            let secret = s.app_secret.as_ref().and_then(|r| {
                ctx.secret("app_secret", r)
                    .map_err(|e| errors.push(e))
                    .ok()
                    .map(|_| r.clone())
            });
            match (&s.app_id, secret) {
                (Some(app_id), Some(app_secret)) => Some(Credentials::App {
                    app_id: app_id.trim().to_owned(),
                    app_secret,
                }),
                _ => None,
            }
        }
    };
    let user_id = s.user_id.map(|u| u.trim().to_owned());
    let client = credentials.and_then(|c| {
        Client::new(&s.base_url, user_id, c)
            .map(|mut c| {
                c.send_trace_id = s.send_trace_id;
                c
            })
            .map_err(|e| {
                errors.push(FieldError::new(
                    "base_url",
                    format!(
                        "not a usable URL ({e}): {}",
                        crate::vendors::settings::url_for_message(&s.base_url)
                    ),
                ))
            })
            .ok()
    });
    match client {
        Some(client) if errors.is_empty() => Ok(Arc::new(KooDrive {
            client,
            units: Units {
                used: s.used_unit,
                quota: s.quota_unit,
            },
        })),
        _ => Err(errors),
    }
}

struct KooDrive {
    client: Client,
    units: Units,
}

impl Account for KooDrive {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(async move {
            let auth = self.client.auth()?;
            let quota: QuotaUsed = self
                .client
                .get(ctx, &auth, "quotaUsed", QUOTA_USED_PATH)
                .await?;
            let service: Service = self.client.get(ctx, &auth, "service", SERVICE_PATH).await?;
            Ok(samples(&quota, &service, self.units))
        })
    }

    fn describe(&self) -> String {
        format!(
            "base_url={}, {}, used_unit={}, quota_unit={}",
            self.client.base_url(),
            self.client.auth_description(),
            self.units.used.name(),
            self.units.quota.name()
        )
    }

    fn secrets(&self) -> Vec<secrecy::SecretString> {
        self.client.secrets()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::decode_json;
    use crate::vendors::koodrive::model::Envelope;

    // The example on the "查询服务使用量 - GetQuotaUsed" page, verbatim.
    const QUOTA_USED_EXAMPLE: &str = r#"{
"data" : {
"spaceUsed" : 7753298,
"spaceCapacity" : 10240,
"deptSpaceQuota" : 6144,
"personalSpaceQuota" : 2048,
"groupSpaceQuota" : 2048,
"reservedSpaceQuota" : 0,
"spaceQuotaUsed" : 327,
"deptSpaceUsed" : 1975057,
"deptSpaceQuotaUsed" : 42,
"personalSpaceUsed" : 3933426,
"personalSpaceQuotaUsed" : 35,
"groupSpaceUsed" : 1844815,
"groupSpaceQuotaUsed" : 250,
"userCount" : 20,
"userMaxCount" : 100,
"packageDownloadExpires" : 7,
"productType" : "1"
},
"code" : 0,
"msg" : "success"
}"#;

    // The example on the "Obtaining the Subscription Status" page, with the four commas the page
    // leaves out (after departmentSpaceSize, productType and wpsAvailable) put back.
    const SERVICE_EXAMPLE: &str = r#"{ "data": { "tenantId": "40086000004871666", "status": 0, "spaceCapacity": 10000, "userCount": 7000, "personalSpaceSize": 0, "groupSpaceSize": 10, "organizationName": "KooDrive", "organizationId": "9190086000001210958", "rootDeptCode": "aed8a3763f9b4177beb2dd8bce1a3885", "departmentSpaceSize":0, "productType":"2", "wpsAvailable":true, "aiAvailable": true }, "code": 0, "msg": "Successful" }"#;

    // The same answers as older API versions send them: every number and boolean a string.
    const QUOTA_USED_STRINGS: &str = r#"{"code":"0","msg":"success","data":{"spaceUsed":"7753298","spaceCapacity":"10240",
        "deptSpaceQuota":"6144","personalSpaceQuota":"2048","groupSpaceQuota":"2048","reservedSpaceQuota":"0",
        "spaceQuotaUsed":"327","deptSpaceUsed":"1975057","deptSpaceQuotaUsed":"42","personalSpaceUsed":"3933426",
        "personalSpaceQuotaUsed":"35","groupSpaceUsed":"1844815","groupSpaceQuotaUsed":"250","userCount":"20",
        "userMaxCount":"100","packageDownloadExpires":"7","productType":"1","someNewField":{"x":1}}}"#;
    const SERVICE_STRINGS: &str = r#"{"code":"0","msg":"Successful","data":{"tenantId":"40086000004871666","status":"1",
        "spaceCapacity":"10000","userCount":"7000","personalSpaceSize":"0","groupSpaceSize":"10","organizationName":"KooDrive",
        "organizationId":"9190086000001210958","rootDeptCode":"aed8a3763f9b4177beb2dd8bce1a3885","departmentSpaceSize":"0",
        "productType":"2","wpsAvailable":"false","aiAvailable":"true"}}"#;

    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

    fn decode(quota: &str, service: &str) -> (QuotaUsed, Service) {
        let q: Envelope<QuotaUsed> = decode_json("quotaUsed", quota.as_bytes()).unwrap();
        let s: Envelope<Service> = decode_json("service", service.as_bytes()).unwrap();
        (q.data.unwrap(), s.data.unwrap())
    }

    #[test]
    fn documentation_examples_map_to_samples() {
        let (q, svc) = decode(QUOTA_USED_EXAMPLE, SERVICE_EXAMPLE);
        let s = samples(&q, &svc, Units::default());
        let space = |name: &str, space: &str| s.value(name, &[("space", space)]);
        // 10240 GB at GiB, and 7753298 used at KiB: 7753298 × 1024 = 7939377152 bytes.
        assert_eq!(
            s.value("koodrive_capacity_bytes", &[]),
            Some(10_995_116_277_760.0)
        );
        assert_eq!(
            space("koodrive_used_bytes", "department"),
            Some(1975057.0 * 1024.0)
        );
        assert_eq!(
            space("koodrive_used_bytes", "personal"),
            Some(3933426.0 * 1024.0)
        );
        assert_eq!(
            space("koodrive_used_bytes", "group"),
            Some(1844815.0 * 1024.0)
        );
        let used: f64 = ["department", "personal", "group"]
            .iter()
            .map(|sp| space("koodrive_used_bytes", sp).unwrap())
            .sum();
        assert_eq!(used, 7_939_377_152.0);
        assert_eq!(
            space("koodrive_quota_bytes", "department"),
            Some(6144.0 * GIB)
        );
        assert_eq!(
            space("koodrive_quota_bytes", "personal"),
            Some(2048.0 * GIB)
        );
        assert_eq!(space("koodrive_quota_bytes", "group"), Some(2048.0 * GIB));
        assert_eq!(space("koodrive_quota_bytes", "reserved"), Some(0.0));
        assert_eq!(
            space("koodrive_quota_allocated_bytes", "department"),
            Some(42.0 * GIB)
        );
        assert_eq!(
            space("koodrive_quota_allocated_bytes", "personal"),
            Some(35.0 * GIB)
        );
        assert_eq!(
            space("koodrive_quota_allocated_bytes", "group"),
            Some(250.0 * GIB)
        );
        assert_eq!(space("koodrive_quota_allocated_bytes", "reserved"), None);
        assert_eq!(s.value("koodrive_users", &[]), Some(20.0));
        assert_eq!(s.value("koodrive_users_limit", &[]), Some(100.0));
        assert_eq!(
            s.value("koodrive_package_download_retention_seconds", &[]),
            Some(7.0 * 86_400.0)
        );

        assert_eq!(
            s.value("koodrive_service_state", &[("state", "normal")]),
            Some(1.0)
        );
        assert_eq!(
            s.value("koodrive_service_state", &[("state", "frozen")]),
            Some(0.0)
        );
        assert_eq!(s.value("koodrive_service_status_code", &[]), Some(0.0));
        assert_eq!(
            s.value("koodrive_subscription_capacity_bytes", &[]),
            Some(10000.0 * GIB)
        );
        assert_eq!(
            s.value("koodrive_subscription_users_limit", &[]),
            Some(7000.0)
        );
        assert_eq!(
            space("koodrive_default_space_bytes", "department"),
            Some(0.0)
        );
        assert_eq!(space("koodrive_default_space_bytes", "personal"), Some(0.0));
        assert_eq!(
            space("koodrive_default_space_bytes", "group"),
            Some(10.0 * GIB)
        );
        assert_eq!(
            s.value("koodrive_feature_enabled", &[("feature", "ai")]),
            Some(1.0)
        );
        assert_eq!(
            s.value("koodrive_feature_enabled", &[("feature", "wps")]),
            Some(1.0)
        );
        let info = [
            ("tenant_id", "40086000004871666"),
            ("organization_id", "9190086000001210958"),
            ("organization_name", "KooDrive"),
            ("product_type", "2"),
        ];
        assert_eq!(s.value("koodrive", &info), Some(1.0));
    }

    #[test]
    fn string_typed_answers_decode_to_the_same_values() {
        let (q, svc) = decode(QUOTA_USED_STRINGS, SERVICE_STRINGS);
        let s = samples(&q, &svc, Units::default());
        assert_eq!(s.value("koodrive_capacity_bytes", &[]), Some(10240.0 * GIB));
        assert_eq!(
            s.value("koodrive_used_bytes", &[("space", "personal")]),
            Some(3933426.0 * 1024.0)
        );
        assert_eq!(s.value("koodrive_users", &[]), Some(20.0));
        assert_eq!(
            s.value("koodrive_service_state", &[("state", "frozen")]),
            Some(1.0)
        );
        assert_eq!(
            s.value("koodrive_service_state", &[("state", "normal")]),
            Some(0.0)
        );
        assert_eq!(s.value("koodrive_service_status_code", &[]), Some(1.0));
        assert_eq!(
            s.value("koodrive_feature_enabled", &[("feature", "wps")]),
            Some(0.0)
        );
        assert_eq!(
            s.value("koodrive_feature_enabled", &[("feature", "ai")]),
            Some(1.0)
        );
    }

    #[test]
    fn unknown_status_and_missing_fields() {
        let (q, svc) = decode(
            r#"{"code":0,"data":{"spaceCapacity":1}}"#,
            r#"{"code":0,"data":{"status":7}}"#,
        );
        let s = samples(
            &q,
            &svc,
            Units {
                used: Unit::B,
                quota: Unit::GB,
            },
        );
        assert_eq!(s.value("koodrive_capacity_bytes", &[]), Some(1e9));
        assert_eq!(
            s.value("koodrive_service_state", &[("state", "normal")]),
            Some(0.0)
        );
        assert_eq!(
            s.value("koodrive_service_state", &[("state", "frozen")]),
            Some(0.0)
        );
        assert_eq!(s.value("koodrive_service_status_code", &[]), Some(7.0));
        // Not returned: absent, never zero.
        for name in [
            "koodrive_used_bytes",
            "koodrive_users",
            "koodrive_feature_enabled",
            "koodrive",
            "koodrive_default_space_bytes",
        ] {
            assert_eq!(s.value(name, &[]), None, "{name}");
        }
        let (q, svc) = decode(r#"{"code":0,"data":{}}"#, r#"{"code":0,"data":{}}"#);
        assert!(samples(&q, &svc, Units::default()).families().is_empty());
    }

    #[test]
    fn decimal_units_scale_too() {
        let (q, svc) = decode(QUOTA_USED_EXAMPLE, SERVICE_EXAMPLE);
        let s = samples(
            &q,
            &svc,
            Units {
                used: Unit::KB,
                quota: Unit::GB,
            },
        );
        // 10240 GB (decimal) = 10240 × 10^9 bytes.
        assert_eq!(
            s.value("koodrive_capacity_bytes", &[]),
            Some(10_240_000_000_000.0)
        );
        assert_eq!(
            s.value("koodrive_used_bytes", &[("space", "group")]),
            Some(1_844_815_000.0)
        );
    }

    /// Settings written as JSON: the config loader turns YAML into the same tree.
    /// Gives the account's description, or the errors.
    fn parse_json(json: &str) -> Result<String, Vec<FieldError>> {
        parse(
            serde_json::from_str(json).unwrap(),
            &mut ParseContext::new("t"),
        )
        .map(|a| a.describe())
    }

    #[test]
    fn settings_need_exactly_one_way_to_authenticate() {
        let d = parse_json(r#"{"app_id":"a","app_secret":"s","user_id":"1"}"#).unwrap();
        assert!(
            d.contains("app signature") && d.contains("app_id=a") && !d.contains("=s,"),
            "{d}"
        );
        assert!(
            d.contains("used_unit=KiB")
                && d.contains("quota_unit=GiB")
                && d.contains(DEFAULT_BASE_URL),
            "{d}"
        );
        let d = parse_json(
            r#"{"bearer_token":"tok-value","base_url":"https://intl.myhuaweicloud-koodrive.com"}"#,
        )
        .unwrap();
        assert!(
            d.contains("bearer token") && !d.contains("tok-value"),
            "{d}"
        );

        let e = parse_json(r#"{"user_id":"1"}"#).unwrap_err();
        assert!(
            e[0].message.contains("no credentials") && e[0].message.contains("bearer_token"),
            "{e:?}"
        );
        let e = parse_json(r#"{"app_id":"a","app_secret":"s","user_id":"1","bearer_token":"t"}"#)
            .unwrap_err();
        assert!(
            e[0].message.contains("exactly one") && e[0].message.contains("app_id"),
            "{e:?}"
        );
        let e = parse_json(r#"{"app_id":"a","app_secret":"s"}"#).unwrap_err();
        assert_eq!(e[0].field, "user_id", "{e:?}");
        let e = parse_json(r#"{"app_secret":"s","user_id":"1"}"#).unwrap_err();
        assert_eq!(e[0].field, "app_id", "{e:?}");
        let e =
            parse_json(r#"{"bearer_token":{"env":"QE_TEST_KOODRIVE_UNSET_TOKEN"}}"#).unwrap_err();
        assert_eq!(e[0].field, "bearer_token", "{e:?}");
        assert!(
            e[0].message.contains("QE_TEST_KOODRIVE_UNSET_TOKEN"),
            "{e:?}"
        );
    }

    #[test]
    fn settings_reject_unknown_keys_units_and_urls() {
        let e = parse_json(r#"{"bearer_token":"t","secret":"x"}"#).unwrap_err();
        assert!(e[0].message.contains("unknown field `secret`"), "{e:?}");
        let e = parse_json(r#"{"bearer_token":"t","used_unit":"kb"}"#).unwrap_err();
        assert_eq!(e[0].field, "used_unit", "{e:?}");
        assert!(e[0].message.contains("KiB"), "{e:?}");
        let e = parse_json(r#"{"bearer_token":"t","quota_unit":"GB2"}"#).unwrap_err();
        assert_eq!(e[0].field, "quota_unit", "{e:?}");
        let d = parse_json(r#"{"bearer_token":"t","used_unit":"B","quota_unit":"TB"}"#).unwrap();
        assert!(
            d.contains("used_unit=B,") && d.contains("quota_unit=TB"),
            "{d}"
        );
        let e = parse_json(r#"{"bearer_token":"t","base_url":"not a url"}"#).unwrap_err();
        assert_eq!(e[0].field, "base_url", "{e:?}");
    }
}
