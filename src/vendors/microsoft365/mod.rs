//! Microsoft 365 licences, from Microsoft Graph: the SKUs an organisation has licences of
//! (`subscribedSkus`) and its commercial subscriptions (`directory/subscriptions`).
//!
//! App-only access: an app registration with a client secret, the client credentials grant
//! against the Microsoft identity platform and the `https://graph.microsoft.com/.default`
//! scope (the national clouds have their own hosts: `cloud`). Two collection calls a poll plus a
//! token about every hour; Graph does not meter these reads, so the default interval is 30
//! minutes. See docs/vendors/microsoft365.md for shapes, permissions, paging and throttling.

mod client;
mod metrics;
pub mod model;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use self::client::Client;
pub use self::metrics::samples;
use self::metrics::*;
use self::model::{CompanySubscription, SubscribedSku};
use crate::vendors::client_assertion::ClientCertificate;
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

#[cfg(test)]
mod tests;
