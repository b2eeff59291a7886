//! Microsoft 365 licences, from Microsoft Graph: the SKUs an organisation has licences of
//! (`subscribedSkus`) and its commercial subscriptions (`directory/subscriptions`).
//!
//! App-only access: an app registration with a client secret, the client credentials grant
//! against the Microsoft identity platform and the `https://graph.microsoft.com/.default`
//! scope (the national clouds have their own hosts: `cloud`). Two collection calls a poll plus a
//! token about every hour; Graph does not meter these reads, so the default interval is 30
//! minutes. See docs/vendors/microsoft365.md for shapes, permissions, paging and throttling.

mod client;
pub mod model;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use self::client::Client;
use self::model::{CompanySubscription, SubscribedSku};
use crate::exposition::{MetricDesc, Samples};
use crate::vendors::client_assertion::ClientCertificate;
use crate::vendors::dates::rfc3339_unix;
use crate::vendors::oauth2::{ClientCredentials, TokenSource};
use crate::vendors::settings::{
    parse_base_url, parse_settings, FieldError, ParseContext, SecretRef,
};
use crate::vendors::{Account, PollContext, PollFuture, VendorDef};
use secrecy::ExposeSecret;

pub use self::client::classify;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);

pub static VENDOR: VendorDef = VendorDef {
    name: "microsoft365",
    title: "Microsoft 365",
    default_interval: DEFAULT_INTERVAL,
    parse,
    metrics: &[
        &SKU_PREPAID,
        &SKU_CONSUMED,
        &SKU_STATUS,
        &SUB_LICENSES,
        &SUB_LIFECYCLE,
        &SUB_TRIAL,
        &SUB_STATUS,
    ],
    metric_prefix: "microsoft365_",
    dashboard: "microsoft365.json",
    docs_page: Some("microsoft365.md"),
};

static SKU_PREPAID: MetricDesc = MetricDesc::gauge(
    "microsoft365_sku_prepaid_units",
    "Licences bought of the SKU, by state, from subscribedSkus prepaidUnits.enabled/.warning/.suspended/.lockedOut; refreshed every poll interval",
);
static SKU_CONSUMED: MetricDesc = MetricDesc::gauge(
    "microsoft365_sku_consumed_units",
    "Licences of the SKU assigned to users or groups, from subscribedSkus consumedUnits; refreshed every poll interval",
);
static SKU_STATUS: MetricDesc = MetricDesc::gauge(
    "microsoft365_sku_capability_status",
    "State of the SKU (1 for the current one), from subscribedSkus capabilityStatus; refreshed every poll interval",
);
static SUB_LICENSES: MetricDesc = MetricDesc::gauge(
    "microsoft365_subscription_licenses",
    "Seats included in the subscription, from directory/subscriptions totalLicenses; refreshed every poll interval",
);
static SUB_LIFECYCLE: MetricDesc = MetricDesc::gauge_with_unit(
    "microsoft365_subscription_next_lifecycle_timestamp_seconds",
    "seconds",
    "When the subscription moves to its next state unless renewed (unix time), from directory/subscriptions nextLifecycleDateTime; refreshed every poll interval",
);
static SUB_TRIAL: MetricDesc = MetricDesc::gauge(
    "microsoft365_subscription_trial",
    "Whether the subscription is a free trial (1) or purchased (0), from directory/subscriptions isTrial; refreshed every poll interval",
);
static SUB_STATUS: MetricDesc = MetricDesc::gauge(
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

/// The Microsoft clouds: (config name, Graph host, identity platform host).
const CLOUDS: [(&str, &str, &str); 4] = [
    (
        "global",
        "https://graph.microsoft.com",
        "https://login.microsoftonline.com",
    ),
    (
        "us_government",
        "https://graph.microsoft.us",
        "https://login.microsoftonline.us",
    ),
    (
        "us_government_dod",
        "https://dod-graph.microsoft.us",
        "https://login.microsoftonline.us",
    ),
    (
        "china",
        "https://microsoftgraph.chinacloudapi.cn",
        "https://login.chinacloudapi.cn",
    ),
];

/// The Microsoft 365 keys of an account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// Directory (tenant) id: a GUID or a verified domain such as `contoso.onmicrosoft.com`.
    tenant_id: String,
    /// Application (client) id of the app registration.
    client_id: String,
    /// The app's client secret; or else `client_certificate`.
    #[serde(default)]
    client_secret: Option<SecretRef>,
    /// The app's certificate and its private key, instead of a client secret.
    #[serde(default)]
    client_certificate: Option<CertificateSettings>,
    /// `global` (default), `us_government`, `us_government_dod` or `china`.
    #[serde(default)]
    cloud: Option<String>,
    /// Overrides the cloud's Graph URL (a proxy, or the simulator).
    #[serde(default)]
    graph_url: Option<String>,
    /// Overrides the cloud's identity platform URL.
    #[serde(default)]
    login_url: Option<String>,
}

/// `client_certificate`: PEM texts, each from a file, an environment variable or inline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateSettings {
    /// The certificate uploaded to the app registration (PEM).
    certificate: SecretRef,
    /// Its private key: PEM PKCS#8 RSA (`-----BEGIN PRIVATE KEY-----`).
    private_key: SecretRef,
}

/// The account's credential: a client secret or a certificate, exactly one.
enum Credential {
    Secret(secrecy::SecretString),
    Certificate(Box<ClientCertificate>),
}

fn credential(
    s: &Settings,
    ctx: &mut ParseContext,
    errors: &mut Vec<FieldError>,
) -> Option<Credential> {
    match (&s.client_secret, &s.client_certificate) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                "client_certificate",
                "give either client_secret or client_certificate, not both",
            ));
            None
        }
        (None, None) => {
            errors.push(FieldError::new(
                "client_secret",
                "missing: give client_secret or client_certificate",
            ));
            None
        }
        (Some(secret), None) => ctx
            .secret("client_secret", secret)
            .map_err(|e| errors.push(e))
            .ok()
            .map(Credential::Secret),
        (None, Some(c)) => {
            // The certificate is public: read it without the inline-secret warning.
            let cert = c
                .certificate
                .resolve()
                .map_err(|m| errors.push(FieldError::new("client_certificate.certificate", m)))
                .ok();
            let key = ctx
                .secret("client_certificate.private_key", &c.private_key)
                .map_err(|e| errors.push(e))
                .ok();
            let (cert, key) = (cert?, key?);
            match ClientCertificate::load(cert.expose_secret(), key) {
                Ok(c) => Some(Credential::Certificate(Box::new(c))),
                Err(e) => {
                    errors.push(FieldError::new(
                        format!("client_certificate.{}", e.field),
                        e.message,
                    ));
                    None
                }
            }
        }
    }
}

fn parse(
    value: serde_json::Value,
    ctx: &mut ParseContext,
) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    let s: Settings = parse_settings(value)?;
    let mut errors = Vec::new();
    // The tenant goes into the token URL's path: a GUID or a domain, nothing else.
    let tenant = s.tenant_id.trim();
    if tenant.is_empty()
        || !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        errors.push(FieldError::new(
            "tenant_id",
            format!(
                "must be a tenant GUID or domain (letters, digits, '-' and '.'), found {:?}",
                s.tenant_id
            ),
        ));
    }
    if s.client_id.trim().is_empty() {
        errors.push(FieldError::new("client_id", "must not be empty"));
    }
    let cloud_name = s.cloud.as_deref().unwrap_or("global");
    let cloud = CLOUDS.iter().find(|c| c.0 == cloud_name);
    if cloud.is_none() {
        let names: Vec<_> = CLOUDS.iter().map(|c| c.0).collect();
        errors.push(FieldError::new(
            "cloud",
            format!(
                "unknown cloud {cloud_name:?} (expected one of: {})",
                names.join(", ")
            ),
        ));
    }
    let mut url = |key: &str, given: &Option<String>, default: Option<&str>| {
        let text = given.as_deref().or(default)?;
        match parse_base_url(text) {
            Ok(u) => Some(u),
            Err(e) => {
                errors.push(FieldError::new(key, format!("{e}: {text:?}")));
                None
            }
        }
    };
    let graph = url("graph_url", &s.graph_url, cloud.map(|c| c.1));
    let login = url("login_url", &s.login_url, cloud.map(|c| c.2));
    let credential = credential(&s, ctx, &mut errors);
    let (Some(graph), Some(login), Some(credential)) = (graph, login, credential) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let graph_text = graph.as_str().trim_end_matches('/').to_owned();
    let token_url = match reqwest::Url::parse(&format!(
        "{}/{tenant}/oauth2/v2.0/token",
        login.as_str().trim_end_matches('/')
    )) {
        Ok(u) => u,
        Err(e) => return Err(vec![FieldError::new("login_url", e.to_string())]),
    };
    let credential_text = match &credential {
        Credential::Secret(_) => "client_secret".to_owned(),
        Credential::Certificate(c) => format!("certificate x5t#S256={}", c.thumbprint()),
    };
    let (secret, certificate) = match credential {
        Credential::Secret(s) => (s, None),
        Credential::Certificate(c) => (secrecy::SecretString::from(String::new()), Some(*c)),
    };
    let mut tokens = TokenSource::new(
        ClientCredentials {
            token_url,
            client_id: s.client_id.trim().to_owned(),
            client_secret: secret,
            // Client credentials take the resource's `.default` scope: the application
            // permissions an administrator granted.
            scope: Some(format!("{graph_text}/.default")),
            extra: Vec::new(),
            basic_auth: false,
        },
        "token",
    );
    if let Some(c) = certificate {
        tokens = tokens.with_certificate(c);
    }
    Ok(Arc::new(Microsoft365 {
        client: Client::new(graph, tokens),
        tenant: tenant.to_owned(),
        credential: credential_text,
    }))
}

struct Microsoft365 {
    client: Client,
    tenant: String,
    /// `client_secret`, or the certificate's thumbprint (public), for `describe`.
    credential: String,
}

impl Account for Microsoft365 {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(async move {
            let skus: Vec<SubscribedSku> = self
                .client
                .list(ctx, "subscribedSkus", "/v1.0/subscribedSkus")
                .await?;
            let subscriptions: Vec<CompanySubscription> = self
                .client
                .list(ctx, "subscriptions", "/v1.0/directory/subscriptions")
                .await?;
            samples(&skus, &subscriptions).map_err(|m| {
                crate::vendors::PollError::new(crate::vendors::FailureReason::Decode, m)
            })
        })
    }

    fn describe(&self) -> String {
        format!(
            "tenant={} graph_url={} token_url={} credential={}",
            self.tenant,
            self.client.graph_url(),
            self.client.token_url(),
            self.credential
        )
    }

    fn secrets(&self) -> Vec<secrecy::SecretString> {
        self.client.secrets()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::decode_json;
    use model::Page;

    // The examples of Graph's "List subscribedSkus" and "List subscriptions" pages, shortened
    // the way the documentation shortens them.
    pub const SKUS_EXAMPLE: &str = r#"{
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus",
    "value": [
        {
            "accountName": "Sample account One",
            "accountId": "f97aeefc-af85-414d-8ae4-b457f90efc40",
            "appliesTo": "User",
            "capabilityStatus": "Enabled",
            "consumedUnits": 14,
            "id": "48a80680-7326-48cd-9935-b556b81d3a4e_c7df2760-2c81-4ef7-b578-5b5392b571df",
            "prepaidUnits": { "enabled": 25, "lockedOut": 0, "suspended": 0, "warning": 0 },
            "servicePlans": [],
            "skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df",
            "skuPartNumber": "ENTERPRISEPREMIUM",
            "subscriptionIds": ["43d26afe-cb98-48b9-acc4-ae3ef2ac6c51"]
        },
        {
            "appliesTo": "User",
            "capabilityStatus": "Suspended",
            "consumedUnits": 14,
            "prepaidUnits": { "enabled": 0, "lockedOut": 0, "suspended": 25, "warning": 0 },
            "skuId": "d17b27af-3f49-4822-99f9-56a661538792",
            "skuPartNumber": "CRMSTANDARD"
        }
    ]
}"#;
    pub const SUBSCRIPTIONS_EXAMPLE: &str = r#"{
  "value": [
    {
      "createdDateTime": "2023-01-01T00:00:00Z",
      "commerceSubscriptionId": "f9c1ea2d-2c6e-4717-8c3b-7130812d70ba",
      "id": "860697e3-b0aa-4196-a6c6-7ec361ed58f7",
      "isTrial": false,
      "nextLifecycleDateTime": "2023-02-01T00:00:00Z",
      "serviceStatus": [],
      "skuId": "0816ccb9-3785-4d19-bf78-6c53e2106509",
      "skuPartNumber": "MyPartNumber",
      "status": "Enabled",
      "totalLicenses": 25,
      "ownerId": "fe04f19f-d924-42b7-9dee-edf4e3fab7f6",
      "ownerType": "User"
    }
  ]
}"#;

    fn example() -> Samples {
        let skus: Page<SubscribedSku> =
            decode_json("subscribedSkus", SKUS_EXAMPLE.as_bytes()).unwrap();
        let subs: Page<CompanySubscription> =
            decode_json("subscriptions", SUBSCRIPTIONS_EXAMPLE.as_bytes()).unwrap();
        assert!(skus.next_link.is_none());
        samples(&skus.value, &subs.value).unwrap()
    }

    #[test]
    fn documentation_examples_map_to_samples() {
        let s = example();
        let v = |n: &str, l: &[(&str, &str)]| s.value(n, l);
        let e5 = ("sku", "ENTERPRISEPREMIUM");
        assert_eq!(
            v(
                "microsoft365_sku_prepaid_units",
                &[e5, ("state", "enabled")]
            ),
            Some(25.0)
        );
        assert_eq!(
            v(
                "microsoft365_sku_prepaid_units",
                &[e5, ("state", "locked_out")]
            ),
            Some(0.0)
        );
        assert_eq!(v("microsoft365_sku_consumed_units", &[e5]), Some(14.0));
        assert_eq!(
            v(
                "microsoft365_sku_capability_status",
                &[e5, ("status", "enabled")]
            ),
            Some(1.0)
        );
        assert_eq!(
            v(
                "microsoft365_sku_capability_status",
                &[e5, ("status", "suspended")]
            ),
            Some(0.0)
        );
        let crm = ("sku", "CRMSTANDARD");
        assert_eq!(
            v(
                "microsoft365_sku_prepaid_units",
                &[crm, ("state", "suspended")]
            ),
            Some(25.0)
        );
        assert_eq!(
            v(
                "microsoft365_sku_capability_status",
                &[crm, ("status", "suspended")]
            ),
            Some(1.0)
        );
        let sub = ("subscription", "860697e3-b0aa-4196-a6c6-7ec361ed58f7");
        assert_eq!(
            v(
                "microsoft365_subscription_licenses",
                &[sub, ("sku", "MyPartNumber")]
            ),
            Some(25.0)
        );
        assert_eq!(
            v(
                "microsoft365_subscription_next_lifecycle_timestamp_seconds",
                &[sub]
            ),
            Some(1675209600.0)
        );
        assert_eq!(v("microsoft365_subscription_trial", &[sub]), Some(0.0));
        assert_eq!(
            v(
                "microsoft365_subscription_status",
                &[sub, ("status", "enabled")]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn unknown_states_missing_fields_and_duplicates() {
        let skus: Vec<SubscribedSku> = serde_json::from_str(
            r#"[{"skuPartNumber":"A","capabilityStatus":"Frozen","consumedUnits":"3","prepaidUnits":{"enabled":5}},
                {"skuPartNumber":"A","consumedUnits":2,"prepaidUnits":{"enabled":5,"warning":1}},
                {"skuId":"only-id"}]"#,
        )
        .unwrap();
        let s = samples(&skus, &[]).unwrap();
        assert_eq!(
            s.value("microsoft365_sku_consumed_units", &[("sku", "A")]),
            Some(5.0)
        );
        assert_eq!(
            s.value(
                "microsoft365_sku_prepaid_units",
                &[("sku", "A"), ("state", "enabled")]
            ),
            Some(10.0)
        );
        assert_eq!(
            s.value(
                "microsoft365_sku_prepaid_units",
                &[("sku", "A"), ("state", "warning")]
            ),
            Some(1.0)
        );
        // Not sent: absent, not zero.
        assert_eq!(
            s.value(
                "microsoft365_sku_prepaid_units",
                &[("sku", "A"), ("state", "suspended")]
            ),
            None
        );
        assert_eq!(
            s.value(
                "microsoft365_sku_capability_status",
                &[("sku", "A"), ("status", "frozen")]
            ),
            Some(1.0)
        );
        assert_eq!(
            s.value(
                "microsoft365_sku_capability_status",
                &[("sku", "A"), ("status", "enabled")]
            ),
            Some(0.0)
        );
        assert_eq!(
            s.value("microsoft365_sku_consumed_units", &[("sku", "only-id")]),
            None
        );

        let subs: Vec<CompanySubscription> =
            serde_json::from_str(r#"[{"id":"s","nextLifecycleDateTime":"next week"}]"#).unwrap();
        let e = samples(&[], &subs).unwrap_err();
        assert!(
            e.contains("nextLifecycleDateTime") && e.contains("next week"),
            "{e}"
        );
    }

    fn parse_yaml(yaml: &str) -> Result<Arc<dyn Account>, Vec<FieldError>> {
        let v: serde_json::Value = serde_json::from_str(yaml).unwrap();
        parse(v, &mut ParseContext::new("t"))
    }

    #[test]
    fn settings_are_checked() {
        let a = parse_yaml(
            r#"{"tenant_id":"contoso.onmicrosoft.com","client_id":"c","client_secret":"s"}"#,
        )
        .unwrap();
        assert!(
            a.describe().contains(
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
            ),
            "{}",
            a.describe()
        );
        assert!(!a.describe().contains("s\""));
        let a =
            parse_yaml(r#"{"tenant_id":"t","client_id":"c","client_secret":"s","cloud":"china"}"#)
                .unwrap();
        assert!(
            a.describe().contains("microsoftgraph.chinacloudapi.cn"),
            "{}",
            a.describe()
        );
        let e = parse_yaml(r#"{"tenant_id":"a/b","client_id":" ","client_secret":"s","cloud":"mars","graph_url":"ftp://x"}"#)
            .err()
            .unwrap();
        let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["tenant_id", "client_id", "cloud", "graph_url"],
            "{e:?}"
        );
        let e = parse_yaml(
            r#"{"tenant_id":"t","client_id":"c","client_secret":"s","certificate":"x"}"#,
        )
        .err()
        .unwrap();
        assert!(e[0].message.contains("certificate"), "{e:?}");
    }
}
