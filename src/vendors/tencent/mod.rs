//! Tencent Cloud CWP (Cloud Workload Protection, 主机安全): the licence overview of an account,
//! from `DescribeLicenseGeneral`.
//!
//! One signed call a poll ([`tc3`]), no token. Licence counts change when someone buys, binds or
//! lets a licence lapse, so the default interval is 30 minutes; the call is free, and Tencent's
//! limit (20 requests a second per action) is kept per SecretId by the client.

mod client;
pub mod model;
pub mod tc3;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use secrecy::ExposeSecret;

use self::client::{Client, ReadCredentials};
use self::model::LicenseGeneral;
use self::tc3::Credentials;
use crate::exposition::{MetricDesc, Samples};
use crate::vendors::settings::{
    parse_base_url, parse_settings, FieldError, ParseContext, SecretRef,
};
use crate::vendors::{Account, PollContext, PollFuture, VendorDef};

pub use self::client::{classify, MAX_REQUESTS_PER_SECOND};

pub const DEFAULT_ENDPOINT: &str = "https://cwp.tencentcloudapi.com";
/// The international site; the service name in the signature stays `cwp`.
pub const INTERNATIONAL_ENDPOINT: &str = "https://cwp.intl.tencentcloudapi.com";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);
const SERVICE: &str = "cwp";
const VERSION: &str = "2018-02-28";
const ACTION: &str = "DescribeLicenseGeneral";

/// The variables the Tencent Cloud SDKs read, used when an account names no credentials.
pub const ENV_SECRET_ID: &str = "TENCENTCLOUD_SECRET_ID";
pub const ENV_SECRET_KEY: &str = "TENCENTCLOUD_SECRET_KEY";
pub const ENV_SESSION_TOKEN: &str = "TENCENTCLOUD_SESSION_TOKEN";

pub static VENDOR: VendorDef = VendorDef {
    name: "tencentcloud_cwp",
    title: "Tencent Cloud CWP",
    default_interval: DEFAULT_INTERVAL,
    parse,
    metrics: &[
        &LICENSES,
        &LICENSES_AVAILABLE,
        &LICENSES_USED,
        &LICENSES_UNEXPIRED,
        &LICENSES_EXPIRING,
        &LICENSES_EXPIRED,
        &EDITION_LICENSES,
        &EDITION_LICENSES_AVAILABLE,
        &DESTROYED_ORDERS,
        &SETTING_ENABLED,
        &INFO,
    ],
    metric_prefix: "tencentcloud_cwp_",
    dashboard: "tencent-cwp.json",
    docs_page: Some("tencent-cwp.md"),
};

static LICENSES: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses",
    "CWP licences, including isolated and expired ones, from DescribeLicenseGeneral LicenseCnt; refreshed every poll interval",
);
static LICENSES_AVAILABLE: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses_available",
    "CWP licences available for use, from DescribeLicenseGeneral AvailableLicenseCnt; refreshed every poll interval",
);
static LICENSES_USED: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses_used",
    "CWP licences bound to machines, from DescribeLicenseGeneral UsedLicenseCnt; refreshed every poll interval",
);
static LICENSES_UNEXPIRED: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses_unexpired",
    "CWP licences not yet expired, from DescribeLicenseGeneral NotExpiredLicenseCnt; refreshed every poll interval",
);
static LICENSES_EXPIRING: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses_expiring",
    "CWP licences expiring within 15 days, from DescribeLicenseGeneral NearExpiryLicenseCnt; refreshed every poll interval",
);
static LICENSES_EXPIRED: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_licenses_expired",
    "CWP licences expired (deleted records excluded), from DescribeLicenseGeneral ExpireLicenseCnt; refreshed every poll interval",
);
static EDITION_LICENSES: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_edition_licenses",
    "CWP licences of valid orders by edition, from DescribeLicenseGeneral ProVersionLicenseCnt, FlagshipVersionLicenseCnt, CwpVersionLicenseCnt (inclusive); refreshed every poll interval",
);
static EDITION_LICENSES_AVAILABLE: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_edition_licenses_available",
    "CWP licences available by edition, from DescribeLicenseGeneral AvailableProVersionLicenseCnt (post-paid included), AvailableFlagshipVersionLicenseCnt, AvailableLHLicenseCnt (inclusive); refreshed every poll interval",
);
static DESTROYED_ORDERS: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_destroyed_orders",
    "CWP licence orders destroyed, from DescribeLicenseGeneral DestroyOrderNum; refreshed every poll interval",
);
static SETTING_ENABLED: MetricDesc = MetricDesc::gauge(
    "tencentcloud_cwp_setting_enabled",
    "Whether a CWP licence switch is on (1) or off (0), from DescribeLicenseGeneral AutoOpenStatus (auto_upgrade), IsOpenStatusHistory (auto_upgrade_ever_enabled), AutoRepurchaseSwitch (auto_repurchase), AutoRepurchaseRenewSwitch (auto_repurchase_renew), RepurchaseRenewSwitch (repurchase_renew); refreshed every poll interval",
);
static INFO: MetricDesc = MetricDesc::info(
    "tencentcloud_cwp",
    "The account's CWP protection type, from DescribeLicenseGeneral ProtectType; refreshed every poll interval",
);

/// The CWP-specific keys of an account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    secret_id: Option<SecretRef>,
    #[serde(default)]
    secret_key: Option<SecretRef>,
    #[serde(default)]
    session_token: Option<SecretRef>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default = "default_endpoint")]
    endpoint: String,
}

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_owned()
}

fn parse(
    value: serde_json::Value,
    ctx: &mut ParseContext,
) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    parse_with_env(value, ctx, &|name| std::env::var(name).ok())
}

/// [`parse`] with the environment passed in, so tests need not change the process's.
fn parse_with_env(
    value: serde_json::Value,
    ctx: &mut ParseContext,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    let settings: Settings = parse_settings(value)?;
    let mut errors = Vec::new();
    let endpoint = match check_endpoint(&settings.endpoint) {
        Ok(url) => Some(url),
        Err(e) => {
            errors.push(FieldError::new(
                "endpoint",
                format!(
                    "{e}: {}",
                    crate::vendors::settings::url_for_message(&settings.endpoint)
                ),
            ));
            None
        }
    };
    let region = match settings.region {
        Some(r) if r.trim().is_empty() => {
            errors.push(FieldError::new(
                "region",
                "must not be empty (leave it out: DescribeLicenseGeneral needs no region)",
            ));
            None
        }
        r => r.map(|r| r.trim().to_owned()),
    };
    let credentials = credentials(
        &settings.secret_id,
        &settings.secret_key,
        &settings.session_token,
        ctx,
        env,
    )
    .map_err(|e| errors.extend(e))
    .ok();
    match (endpoint, credentials) {
        (Some(endpoint), Some((credentials, source))) if errors.is_empty() => {
            // Read now to check them; read again on every poll.
            let read: ReadCredentials = match source {
                CredentialSource::Config => {
                    let id = settings.secret_id.clone().expect("checked");
                    let key = settings.secret_key.clone().expect("checked");
                    let token = settings.session_token.clone();
                    Box::new(move || {
                        Ok(Credentials {
                            secret_id: id.resolve().map_err(|e| format!("secret_id: {e}"))?,
                            secret_key: key.resolve().map_err(|e| format!("secret_key: {e}"))?,
                            session_token: token
                                .as_ref()
                                .map(|t| t.resolve().map_err(|e| format!("session_token: {e}")))
                                .transpose()?,
                        })
                    })
                }
                CredentialSource::Environment => Box::new(|| {
                    from_environment(&|name| std::env::var(name).ok()).ok_or_else(|| {
                        format!("{ENV_SECRET_ID} and {ENV_SECRET_KEY} are no longer set")
                    })
                }),
            };
            let secret_id = credentials.secret_id.expose_secret();
            Ok(Arc::new(Cwp {
                client: Client::new(&endpoint, SERVICE, VERSION, region, secret_id, read),
                source,
            }))
        }
        _ => Err(errors),
    }
}

/// An `http(s)://host[:port]` URL: API 3.0 is always called at `/`.
fn check_endpoint(endpoint: &str) -> Result<reqwest::Url, String> {
    let url = parse_base_url(endpoint)?;
    if url.path() != "/" || !url.username().is_empty() {
        return Err(
            "must be scheme://host[:port] only (Tencent Cloud API 3.0 is called at `/`)".into(),
        );
    }
    Ok(url)
}

/// Where an account's credentials came from, for the landing page.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CredentialSource {
    Config,
    Environment,
}

/// The account's credentials: those it names, or — when it names none — the Tencent Cloud SDKs'
/// environment variables.
fn credentials(
    secret_id: &Option<SecretRef>,
    secret_key: &Option<SecretRef>,
    session_token: &Option<SecretRef>,
    ctx: &mut ParseContext,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Credentials, CredentialSource), Vec<FieldError>> {
    match (secret_id, secret_key) {
        (Some(id), Some(key)) => {
            let mut errors = Vec::new();
            let id = ctx.secret("secret_id", id).map_err(|e| errors.push(e)).ok();
            let key = ctx
                .secret("secret_key", key)
                .map_err(|e| errors.push(e))
                .ok();
            let token = match session_token {
                Some(t) => ctx
                    .secret("session_token", t)
                    .map_err(|e| errors.push(e))
                    .ok(),
                None => None,
            };
            match (id, key) {
                (Some(secret_id), Some(secret_key)) if errors.is_empty() => Ok((
                    Credentials {
                        secret_id,
                        secret_key,
                        session_token: token,
                    },
                    CredentialSource::Config,
                )),
                _ => Err(errors),
            }
        }
        (Some(_), None) => Err(vec![FieldError::new(
            "secret_key",
            "missing: secret_id is set, so secret_key must be too",
        )]),
        (None, Some(_)) => Err(vec![FieldError::new(
            "secret_id",
            "missing: secret_key is set, so secret_id must be too",
        )]),
        (None, None) if session_token.is_some() => Err(vec![FieldError::new(
            "session_token",
            "set without secret_id and secret_key: temporary credentials need all three",
        )]),
        (None, None) => {
            match from_environment(env) {
                Some(credentials) => Ok((credentials, CredentialSource::Environment)),
                None => Err(vec![FieldError::new(
                    "",
                    format!(
                        "no credentials: set secret_id and secret_key (and session_token for temporary credentials), \
                         or the environment variables {ENV_SECRET_ID} and {ENV_SECRET_KEY} (and {ENV_SESSION_TOKEN})"
                    ),
                )]),
            }
        }
    }
}

/// The Tencent Cloud SDKs' variables, when both the id and the key are set.
fn from_environment(env: &dyn Fn(&str) -> Option<String>) -> Option<Credentials> {
    let read = |name: &str| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Some(Credentials {
        secret_id: read(ENV_SECRET_ID)?.into(),
        secret_key: read(ENV_SECRET_KEY)?.into(),
        session_token: read(ENV_SESSION_TOKEN).map(Into::into),
    })
}

struct Cwp {
    client: Client,
    source: CredentialSource,
}

impl Account for Cwp {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(async move {
            let general: LicenseGeneral = self.client.call(ctx, ACTION).await?;
            Ok(samples(&general))
        })
    }

    fn describe(&self) -> String {
        let mut s = format!("endpoint={}", self.client.endpoint());
        if let Some(region) = self.client.region() {
            s.push_str(&format!(" region={region}"));
        }
        s.push_str(match self.source {
            CredentialSource::Config => " credentials=config",
            CredentialSource::Environment => " credentials=environment (TENCENTCLOUD_*)",
        });
        s
    }

    fn secrets(&self) -> Vec<secrecy::SecretString> {
        self.client.secrets()
    }

    fn rate_limit_key(&self) -> Option<String> {
        Some(self.client.limiter_key().to_owned())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::decode_json;
    use secrecy::ExposeSecret;

    /// The example answer on Tencent's DescribeLicenseGeneral page, verbatim.
    const EXAMPLE: &str =
        include_str!("../../../tests/fixtures/tencentcloud_cwp/describe_license_general.json");

    fn example() -> LicenseGeneral {
        decode_json::<model::Envelope<LicenseGeneral>>(ACTION, EXAMPLE.as_bytes())
            .unwrap()
            .response
    }

    #[test]
    fn documentation_example_maps_to_samples() {
        let s = samples(&example());
        let v = |name: &str, labels: &[(&str, &str)]| s.value(name, labels);
        assert_eq!(v("tencentcloud_cwp_licenses", &[]), Some(3.0));
        assert_eq!(v("tencentcloud_cwp_licenses_available", &[]), Some(3.0));
        assert_eq!(v("tencentcloud_cwp_licenses_used", &[]), Some(0.0));
        assert_eq!(v("tencentcloud_cwp_licenses_unexpired", &[]), Some(3.0));
        assert_eq!(v("tencentcloud_cwp_licenses_expiring", &[]), Some(0.0));
        assert_eq!(v("tencentcloud_cwp_licenses_expired", &[]), Some(0.0));
        assert_eq!(
            v("tencentcloud_cwp_edition_licenses", &[("edition", "pro")]),
            Some(2.0)
        );
        assert_eq!(
            v(
                "tencentcloud_cwp_edition_licenses",
                &[("edition", "flagship")]
            ),
            Some(1.0)
        );
        assert_eq!(
            v(
                "tencentcloud_cwp_edition_licenses",
                &[("edition", "inclusive")]
            ),
            Some(0.0)
        );
        assert_eq!(
            v(
                "tencentcloud_cwp_edition_licenses_available",
                &[("edition", "pro")]
            ),
            Some(2.0)
        );
        assert_eq!(
            v(
                "tencentcloud_cwp_edition_licenses_available",
                &[("edition", "flagship")]
            ),
            Some(1.0)
        );
        assert_eq!(
            v(
                "tencentcloud_cwp_edition_licenses_available",
                &[("edition", "inclusive")]
            ),
            Some(0.0)
        );
        assert_eq!(v("tencentcloud_cwp_destroyed_orders", &[]), Some(0.0));
        assert_eq!(
            v(
                "tencentcloud_cwp_setting_enabled",
                &[("setting", "auto_upgrade")]
            ),
            Some(1.0)
        );
        assert_eq!(
            v(
                "tencentcloud_cwp_setting_enabled",
                &[("setting", "auto_upgrade_ever_enabled")]
            ),
            Some(1.0)
        );
        assert_eq!(
            v(
                "tencentcloud_cwp_setting_enabled",
                &[("setting", "auto_repurchase")]
            ),
            Some(0.0)
        );
        assert_eq!(
            v(
                "tencentcloud_cwp_setting_enabled",
                &[("setting", "auto_repurchase_renew")]
            ),
            Some(0.0)
        );
        assert_eq!(
            v(
                "tencentcloud_cwp_setting_enabled",
                &[("setting", "repurchase_renew")]
            ),
            Some(0.0)
        );
        assert_eq!(
            v("tencentcloud_cwp", &[("protect_type", "FLAGSHIP_PREPAY")]),
            Some(1.0)
        );
        // Every family of the catalogue appears, and no other.
        let produced: Vec<_> = s.families().iter().map(|f| f.desc.name).collect();
        let catalogue: Vec<_> = VENDOR.metrics.iter().map(|m| m.name).collect();
        assert_eq!(produced, catalogue);
        assert_eq!(
            s.families().iter().map(|f| f.samples.len()).sum::<usize>(),
            19
        );
    }

    #[test]
    fn unknown_fields_strings_and_missing_fields() {
        let g: model::Envelope<LicenseGeneral> = decode_json(
            ACTION,
            br#"{"Response":{"LicenseCnt":"12","AutoOpenStatus":"true","AutoDowngradeSwitch":true,
                "NewThing":{"a":[1]},"RequestId":"r"}}"#,
        )
        .unwrap();
        let s = samples(&g.response);
        assert_eq!(s.value("tencentcloud_cwp_licenses", &[]), Some(12.0));
        assert_eq!(
            s.value(
                "tencentcloud_cwp_setting_enabled",
                &[("setting", "auto_upgrade")]
            ),
            Some(1.0)
        );
        // Not returned: absent, not zero.
        assert_eq!(s.value("tencentcloud_cwp_licenses_used", &[]), None);
        assert_eq!(
            s.value(
                "tencentcloud_cwp_setting_enabled",
                &[("setting", "repurchase_renew")]
            ),
            None
        );
        assert_eq!(s.value("tencentcloud_cwp", &[]), None);
        assert_eq!(s.families().len(), 2);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let e = decode_json::<model::Envelope<LicenseGeneral>>(
            ACTION,
            br#"{"Response":{"UsedLicenseCnt":[1]}}"#,
        )
        .unwrap_err();
        assert!(
            e.message.contains("Response.UsedLicenseCnt"),
            "{}",
            e.message
        );
    }

    fn parse_yaml(
        yaml: serde_json::Value,
        env: &[(&str, &str)],
    ) -> Result<Arc<dyn Account>, Vec<FieldError>> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_with_env(yaml, &mut ParseContext::new("t"), &move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn settings_and_credentials() {
        use serde_json::json;
        // Named credentials, default endpoint.
        let a = parse_yaml(json!({"secret_id": "AKIDx", "secret_key": "k"}), &[]).unwrap();
        assert_eq!(
            a.describe(),
            "endpoint=https://cwp.tencentcloudapi.com/ credentials=config"
        );
        // International endpoint with a region; host and port kept.
        let a = parse_yaml(
            json!({"secret_id": "AKIDx", "secret_key": "k", "region": "ap-singapore", "endpoint": INTERNATIONAL_ENDPOINT}),
            &[],
        )
        .unwrap();
        assert_eq!(
            a.describe(),
            "endpoint=https://cwp.intl.tencentcloudapi.com/ region=ap-singapore credentials=config"
        );
        // Nothing named: the SDK variables.
        let a = parse_yaml(
            json!({"endpoint": "http://127.0.0.1:8080"}),
            &[(ENV_SECRET_ID, "AKIDenv"), (ENV_SECRET_KEY, "kenv")],
        )
        .unwrap();
        assert_eq!(
            a.describe(),
            "endpoint=http://127.0.0.1:8080/ credentials=environment (TENCENTCLOUD_*)"
        );
        // Neither: one error naming the keys and the variables.
        let e = parse_yaml(json!({}), &[(ENV_SECRET_ID, "AKIDenv")])
            .err()
            .unwrap();
        assert_eq!(e.len(), 1);
        for word in [
            "secret_id",
            "secret_key",
            "session_token",
            ENV_SECRET_ID,
            ENV_SECRET_KEY,
            ENV_SESSION_TOKEN,
        ] {
            assert!(e[0].message.contains(word), "{word}: {}", e[0].message);
        }
        // Half named.
        let e = parse_yaml(
            json!({"secret_id": "AKIDx"}),
            &[(ENV_SECRET_ID, "a"), (ENV_SECRET_KEY, "b")],
        )
        .err()
        .unwrap();
        assert_eq!(e[0].field, "secret_key");
        // Unknown keys, bad endpoints.
        let e = parse_yaml(
            json!({"secret_id": "a", "secret_key": "b", "secretkey": "c"}),
            &[],
        )
        .err()
        .unwrap();
        assert!(e[0].message.contains("secretkey"), "{e:?}");
        for bad in [
            "ftp://cwp.tencentcloudapi.com",
            "https://cwp.tencentcloudapi.com/v3",
            "not a url",
            "https://h/?a=b",
        ] {
            let e = parse_yaml(
                json!({"secret_id": "a", "secret_key": "b", "endpoint": bad}),
                &[],
            )
            .err()
            .unwrap();
            assert_eq!(e[0].field, "endpoint", "{bad}");
        }
        let e = parse_yaml(
            json!({"secret_id": "a", "secret_key": "b", "region": " "}),
            &[],
        )
        .err()
        .unwrap();
        assert_eq!(e[0].field, "region");
    }

    #[test]
    fn environment_credentials_include_the_session_token() {
        let env = |name: &str| match name {
            ENV_SECRET_ID => Some("AKIDenv".to_owned()),
            ENV_SECRET_KEY => Some("key\n".to_owned()),
            ENV_SESSION_TOKEN => Some("tok".to_owned()),
            _ => None,
        };
        let (c, source) =
            credentials(&None, &None, &None, &mut ParseContext::new("t"), &env).unwrap();
        assert_eq!(source, CredentialSource::Environment);
        assert_eq!(
            (
                c.secret_id.expose_secret(),
                c.secret_key.expose_secret(),
                c.session_token.as_ref().map(|t| t.expose_secret())
            ),
            ("AKIDenv", "key", Some("tok"))
        );
    }
}
