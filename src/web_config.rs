//! `--web.config.file`: TLS, HTTP basic auth, response headers and a request rate limit, in the
//! file format of the Prometheus exporter-toolkit, so operators reuse the web config they already
//! have for node_exporter & co. `docs/web-config.md` lists every key and where this differs.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: /etc/quota-exporter/tls.crt
//!   key_file: /etc/quota-exporter/tls.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional mutual TLS
//!   client_ca_file: /etc/quota-exporter/ca.crt
//!   min_version: TLS12
//! http_server_config:
//!   headers: { Strict-Transport-Security: max-age=31536000 }
//! basic_auth_users:
//!   prometheus: $2y$10$…   # bcrypt hash (htpasswd -nBC 10 prometheus)
//! rate_limit: { interval: 100ms, burst: 20 }
//! ```
//!
//! The file is read at start-up and again on every reload ([`WebState`]): new connections get the
//! new certificate, new requests the new users. TLS is rustls (TLS 1.2 and 1.3). Passwords are
//! checked with bcrypt behind a small semaphore so that a flood of guesses cannot take every core;
//! a checked password is remembered (keyed by a SHA-256 of the credentials) so that scrapes do not
//! each pay bcrypt's deliberate cost.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// A validated web configuration.
pub struct WebConfig {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub basic_auth: Option<Arc<BasicAuth>>,
    /// Headers added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `rate_limit`: a token bucket shared by all requests.
    pub rate_limit: Option<RateLimiter>,
    /// Things worth a log line (settings that weaken security, keys without effect).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field(
                "basic_auth_users",
                &self.basic_auth.as_ref().map(|a| a.users.len()),
            )
            .field("headers", &self.headers)
            .field("rate_limit", &self.rate_limit.is_some())
            .finish()
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    rate_limit: Option<RawRateLimit>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    /// Inline PEM, instead of `cert_file`.
    cert: Option<String>,
    /// Inline PEM, instead of `key_file`.
    key: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    /// Inline PEM, instead of `client_ca_file`.
    client_ca: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    /// Values are scalars: YAML reads `X-XSS-Protection: 1` as a number, the toolkit as text.
    headers: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    interval: Option<serde_json::Value>,
    burst: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "" | "NoClientCert" => Self::NoClientCert,
            "RequestClientCert" => Self::RequestClientCert,
            // The toolkit keeps the old name for compatibility.
            "RequireAnyClientCert" | "RequireClientCert" => Self::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => Self::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => Self::RequireAndVerifyClientCert,
            _ => return None,
        })
    }
}

/// Problems with a web config file, each naming its key.
#[derive(Debug, thiserror::Error)]
#[error("web config {path}: {}", problems.join("; "))]
pub struct WebConfigError {
    pub path: String,
    pub problems: Vec<String>,
}

/// Cipher suite names as Go's `tls.CipherSuites()` spells them, and what rustls offers for each.
/// The TLS 1.3 names are accepted and, as in Go, have no effect: TLS 1.3 suites are always on.
const CIPHER_SUITES: &[(&str, Option<rustls::CipherSuite>)] = {
    use rustls::CipherSuite as C;
    &[
        (
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            Some(C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            Some(C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            Some(C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            Some(C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            Some(C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
        ),
        (
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            Some(C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
        ),
        ("TLS_AES_128_GCM_SHA256", None),
        ("TLS_AES_256_GCM_SHA384", None),
        ("TLS_CHACHA20_POLY1305_SHA256", None),
    ]
};

/// Suites Go knows and rustls deliberately does not implement (CBC and RSA key exchange).
const UNSUPPORTED_CIPHER_SUITES: &[&str] = &[
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
];

/// The toolkit's curve names.
const CURVES: &[(&str, Option<rustls::NamedGroup>)] = &[
    ("CurveP256", Some(rustls::NamedGroup::secp256r1)),
    ("CurveP384", Some(rustls::NamedGroup::secp384r1)),
    ("X25519", Some(rustls::NamedGroup::X25519)),
    // Go has it; ring (rustls' crypto here) does not.
    ("CurveP521", None),
];

/// The response headers the toolkit lets a web config set, and the values allowed (none listed:
/// any value).
const ALLOWED_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

impl WebConfig {
    /// Reads and validates a web config file (YAML).
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let fail = |problems: Vec<String>| WebConfigError {
            path: path.display().to_string(),
            problems,
        };
        if !path.exists() {
            return Err(fail(vec!["file does not exist".into()]));
        }
        let value: serde_json::Value = config::Config::builder()
            .add_source(config::File::new(
                &path.to_string_lossy(),
                config::FileFormat::Yaml,
            ))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| fail(vec![e.to_string()]))?;
        // The config crate reads an empty file as nothing: the same as "no settings".
        let value = if value.is_null() {
            serde_json::json!({})
        } else {
            value
        };
        let raw: RawWebConfig = serde_path_to_error::deserialize(value)
            .map_err(|e| fail(vec![format!("{}: {}", e.path(), e.inner())]))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_raw(raw, base).map_err(fail)
    }

    fn from_raw(raw: RawWebConfig, base: &Path) -> Result<WebConfig, Vec<String>> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let tls = tls_config(
            raw.tls_server_config.unwrap_or_default(),
            base,
            &mut problems,
            &mut warnings,
        )
        .map(Arc::new);
        let http = raw.http_server_config.unwrap_or_default();
        // `http2` (default true in the toolkit) is accepted: this server speaks HTTP/1.1 only,
        // which is what `http2: false` asks for.
        let _ = http.http2;
        let headers = response_headers(http.headers.unwrap_or_default(), &mut problems);
        let rate_limit = raw.rate_limit.and_then(|r| rate_limiter(r, &mut problems));
        let mut users = BTreeMap::new();
        let mut cost = 0;
        for (user, hash) in raw.basic_auth_users.unwrap_or_default() {
            if user.contains(':') {
                problems.push(format!(
                    "basic_auth_users.{user}: a user name cannot contain ':'"
                ));
            }
            match hash.parse::<bcrypt::HashParts>() {
                Ok(parts) => cost = cost.max(parts.get_cost()),
                Err(_) => problems.push(format!(
                    "basic_auth_users.{user}: not a bcrypt hash (make one with `htpasswd -nBC 10 {user}`)"
                )),
            }
            users.insert(user, hash);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let basic_auth = (!users.is_empty()).then(|| Arc::new(BasicAuth::new(users, cost)));
        Ok(WebConfig {
            tls,
            basic_auth,
            headers,
            rate_limit,
            warnings,
        })
    }
}

fn response_headers(
    raw: BTreeMap<String, serde_json::Value>,
    problems: &mut Vec<String>,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = Vec::new();
    for (name, value) in raw {
        let key = format!("http_server_config.headers.{name}");
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Null => String::new(),
            v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => v.to_string(),
            _ => {
                problems.push(format!("{key}: the value must be text"));
                continue;
            }
        };
        let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = ALLOWED_HEADERS.iter().map(|(n, _)| *n).collect();
            problems.push(format!(
                "{key}: this header cannot be configured (allowed: {})",
                names.join(", ")
            ));
            continue;
        };
        if !allowed.is_empty() && !allowed.contains(&text.as_str()) {
            problems.push(format!(
                "{key}: invalid value {text:?}, expected one of: {}",
                allowed.join(", ")
            ));
            continue;
        }
        if text.is_empty() {
            continue; // blank means unset
        }
        match HeaderValue::try_from(text.as_str()) {
            Ok(v) => headers.push((
                HeaderName::try_from(name.to_ascii_lowercase())
                    .expect("allowlisted header names are valid"),
                v,
            )),
            Err(_) => problems.push(format!("{key}: not a valid header value")),
        }
    }
    headers
}

fn rate_limiter(raw: RawRateLimit, problems: &mut Vec<String>) -> Option<RateLimiter> {
    let interval = match raw.interval {
        None | Some(serde_json::Value::Null) => Duration::ZERO,
        Some(serde_json::Value::String(s)) => match humantime::parse_duration(&s) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!(
                    "rate_limit.interval: {s:?} is not a duration (e.g. 100ms, 1s): {e}"
                ));
                return None;
            }
        },
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(0) => Duration::ZERO,
        Some(v) => {
            problems.push(format!(
                "rate_limit.interval: {v} is not a duration; give a unit, e.g. 100ms or 1s"
            ));
            return None;
        }
    };
    if interval.is_zero() {
        return None; // 0 turns the limiter off, as in the toolkit
    }
    let burst = raw.burst.unwrap_or(0);
    if burst == 0 {
        problems.push(
            "rate_limit.burst: must be at least 1 when an interval is set (0 would refuse every request)"
                .into(),
        );
        return None;
    }
    Some(RateLimiter::new(interval, burst))
}

fn tls_config(
    t: RawTls,
    base: &Path,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Option<rustls::ServerConfig> {
    // The toolkit treats empty strings as unset.
    let nonempty_path = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let (cert_file, key_file, ca_file) = (
        nonempty_path(t.cert_file),
        nonempty_path(t.key_file),
        nonempty_path(t.client_ca_file),
    );
    let (cert, key, ca) = (nonempty(t.cert), nonempty(t.key), nonempty(t.client_ca));
    let client_auth_text = nonempty(t.client_auth_type);
    let enabled = cert_file.is_some()
        || key_file.is_some()
        || ca_file.is_some()
        || cert.is_some()
        || key.is_some()
        || ca.is_some()
        || client_auth_text.is_some();
    if !enabled {
        // `tls_server_config: {}` is plain HTTP. Tuning keys without a certificate would
        // silently serve plain HTTP (as the toolkit does); refuse them instead.
        for (key, set) in [
            ("min_version", t.min_version.is_some()),
            ("max_version", t.max_version.is_some()),
            ("cipher_suites", t.cipher_suites.is_some()),
            ("curve_preferences", t.curve_preferences.is_some()),
            ("client_allowed_sans", t.client_allowed_sans.is_some()),
        ] {
            if set {
                problems.push(format!(
                    "tls_server_config.{key}: set, but there is no cert/cert_file and key/key_file, so TLS would be off"
                ));
            }
        }
        return None;
    }
    let at = |p: &PathBuf| {
        if p.is_absolute() {
            p.clone()
        } else {
            base.join(p)
        }
    };
    let certs: Result<Vec<CertificateDer<'static>>, String> = match (&cert_file, &cert) {
        (Some(file), None) => CertificateDer::pem_file_iter(at(file))
            .and_then(|i| i.collect())
            .map_err(|e| {
                format!(
                    "tls_server_config.cert_file: cannot read certificates from {}: {e}",
                    at(file).display()
                )
            }),
        (None, Some(pem)) => CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("tls_server_config.cert: {e}")),
        (Some(_), Some(_)) => {
            Err("tls_server_config.cert: give cert or cert_file, not both".into())
        }
        (None, None) => Err("tls_server_config: missing one of cert or cert_file".into()),
    };
    let certs = certs.and_then(|c| {
        if c.is_empty() {
            Err("tls_server_config.cert: no certificate in the PEM".into())
        } else {
            Ok(c)
        }
    });
    let key: Result<PrivateKeyDer<'static>, String> = match (&key_file, &key) {
        (Some(file), None) => PrivateKeyDer::from_pem_file(at(file)).map_err(|e| {
            format!(
                "tls_server_config.key_file: cannot read a private key from {}: {e}",
                at(file).display()
            )
        }),
        (None, Some(pem)) => PrivateKeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| format!("tls_server_config.key: {e}")),
        (Some(_), Some(_)) => Err("tls_server_config.key: give key or key_file, not both".into()),
        (None, None) => Err("tls_server_config: missing one of key or key_file".into()),
    };

    let versions = tls_versions(t.min_version.as_deref(), t.max_version.as_deref(), problems);
    let provider = Arc::new(crypto_provider(
        t.cipher_suites.as_deref(),
        t.curve_preferences.as_deref(),
        &versions,
        problems,
    ));

    let client_auth = match client_auth_text.as_deref().map(ClientAuth::parse) {
        None => ClientAuth::NoClientCert,
        Some(Some(a)) => a,
        Some(None) => {
            problems.push(format!(
                "tls_server_config.client_auth_type: invalid ClientAuth {:?} (one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)",
                client_auth_text.unwrap_or_default()
            ));
            ClientAuth::NoClientCert
        }
    };
    let roots = client_roots(&ca_file, &ca, &at, problems);
    if roots.is_some() && client_auth == ClientAuth::NoClientCert {
        let key = if ca_file.is_some() {
            "client_ca_file"
        } else {
            "client_ca"
        };
        problems.push(format!(
            "tls_server_config.{key}: client CA's have been configured without a Client Auth Policy (set client_auth_type, e.g. RequireAndVerifyClientCert)"
        ));
    }
    let verifier = client_verifier(client_auth, roots, &provider, problems, warnings);
    let verifier = match (t.client_allowed_sans, verifier) {
        (Some(sans), verifier) => {
            if !matches!(
                client_auth,
                ClientAuth::RequireAnyClientCert | ClientAuth::RequireAndVerifyClientCert
            ) {
                problems.push(
                    "tls_server_config.client_allowed_sans: requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert".into(),
                );
                None
            } else {
                verifier.map(|inner| {
                    Arc::new(SanChecker {
                        inner,
                        allowed: sans,
                    }) as Arc<dyn ClientCertVerifier>
                })
            }
        }
        (None, v) => v,
    };

    let (certs, key) = match (certs, key) {
        (Ok(c), Ok(k)) => (c, k),
        (c, k) => {
            problems.extend(c.err());
            problems.extend(k.err());
            return None;
        }
    };
    if !problems.is_empty() {
        return None;
    }
    let builder = match rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
    {
        Ok(b) => b,
        Err(e) => {
            problems.push(format!("tls_server_config: {e}"));
            return None;
        }
    };
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    match builder.with_single_cert(certs, key) {
        Ok(mut config) => {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
            Some(config)
        }
        Err(e) => {
            problems.push(format!(
                "tls_server_config: the certificate and key do not fit together: {e}"
            ));
            None
        }
    }
}

fn tls_versions(
    min: Option<&str>,
    max: Option<&str>,
    problems: &mut Vec<String>,
) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let mut parse = |key: &str, value: Option<&str>, default: u8| -> u8 {
        match value {
            None => default,
            Some("TLS13") => 13,
            Some("TLS12") => 12,
            Some(v @ ("TLS11" | "TLS10")) => {
                problems.push(format!(
                    "tls_server_config.{key}: {v} is not supported (rustls implements TLS 1.2 and 1.3 only); use TLS12 or TLS13"
                ));
                default
            }
            Some(v) => {
                problems.push(format!(
                    "tls_server_config.{key}: unknown TLS version {v:?} (TLS12 or TLS13)"
                ));
                default
            }
        }
    };
    let (min, max) = (parse("min_version", min, 12), parse("max_version", max, 13));
    if max < min {
        problems.push("tls_server_config.max_version: lower than min_version".into());
    }
    [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
        .into_iter()
        .filter(|(v, _)| *v >= min && *v <= max)
        .map(|(_, p)| p)
        .collect()
}

/// ring's suites and groups, narrowed to `cipher_suites` and `curve_preferences` (in their order).
fn crypto_provider(
    suites: Option<&[String]>,
    curves: Option<&[String]>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    problems: &mut Vec<String>,
) -> CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(names) = suites.filter(|n| !n.is_empty()) {
        let mut tls12 = Vec::new();
        for name in names {
            match CIPHER_SUITES.iter().find(|(n, _)| n == name) {
                Some((_, Some(id))) => tls12.extend(
                    provider
                        .cipher_suites
                        .iter()
                        .filter(|s| s.suite() == *id)
                        .copied(),
                ),
                Some((_, None)) => {} // a TLS 1.3 name: those suites stay on
                None if UNSUPPORTED_CIPHER_SUITES.contains(&name.as_str()) => problems.push(format!(
                    "tls_server_config.cipher_suites: {name} is not supported (rustls implements only AEAD suites with ECDHE: GCM and ChaCha20-Poly1305)"
                )),
                None => problems.push(format!(
                    "tls_server_config.cipher_suites: unknown cipher {name:?}"
                )),
            }
        }
        if tls12.is_empty() && versions == [&rustls::version::TLS12] {
            problems.push(
                "tls_server_config.cipher_suites: no TLS 1.2 suite listed, and max_version is TLS12".into(),
            );
        }
        let tls13 = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied();
        let mut all: Vec<_> = tls13.collect();
        all.extend(tls12);
        provider.cipher_suites = all;
    }
    if let Some(names) = curves.filter(|n| !n.is_empty()) {
        let mut groups = Vec::new();
        for name in names {
            match CURVES.iter().find(|(n, _)| n == name) {
                Some((_, Some(group))) => groups.extend(
                    rustls::crypto::ring::ALL_KX_GROUPS
                        .iter()
                        .filter(|g| g.name() == *group)
                        .copied(),
                ),
                Some((_, None)) => problems.push(format!(
                    "tls_server_config.curve_preferences: {name} is not supported (rustls with ring offers X25519, CurveP256 and CurveP384)"
                )),
                None => problems.push(format!(
                    "tls_server_config.curve_preferences: unknown curve {name:?}"
                )),
            }
        }
        provider.kx_groups = groups;
    }
    provider
}

fn client_roots(
    ca_file: &Option<PathBuf>,
    ca: &Option<String>,
    at: &dyn Fn(&PathBuf) -> PathBuf,
    problems: &mut Vec<String>,
) -> Option<rustls::RootCertStore> {
    let (key, pems) = match (ca_file, ca) {
        (None, None) => return None,
        (Some(_), Some(_)) => {
            problems.push(
                "tls_server_config.client_ca: give client_ca or client_ca_file, not both".into(),
            );
            return None;
        }
        (Some(file), None) => (
            "client_ca_file",
            CertificateDer::pem_file_iter(at(file))
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("cannot read {}: {e}", at(file).display())),
        ),
        (None, Some(pem)) => (
            "client_ca",
            CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string()),
        ),
    };
    let mut roots = rustls::RootCertStore::empty();
    match pems {
        Ok(cas) => {
            for ca in cas {
                if let Err(e) = roots.add(ca) {
                    problems.push(format!("tls_server_config.{key}: {e}"));
                }
            }
            if roots.is_empty() {
                problems.push(format!(
                    "tls_server_config.{key}: no valid certificates found"
                ));
            }
        }
        Err(e) => problems.push(format!("tls_server_config.{key}: {e}")),
    }
    Some(roots)
}

fn client_verifier(
    mode: ClientAuth,
    roots: Option<rustls::RootCertStore>,
    provider: &Arc<CryptoProvider>,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Option<Arc<dyn ClientCertVerifier>> {
    let hints: Vec<DistinguishedName> = roots.as_ref().map(|r| r.subjects()).unwrap_or_default();
    match mode {
        ClientAuth::NoClientCert => None,
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => {
            warnings.push(format!(
                "tls_server_config.client_auth_type: {mode:?} accepts any client certificate without verifying it; use RequireAndVerifyClientCert to authenticate clients"
            ));
            Some(Arc::new(AnyClientCert {
                mandatory: mode == ClientAuth::RequireAnyClientCert,
                hints,
                algorithms: provider.signature_verification_algorithms,
            }))
        }
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let roots = match roots {
                Some(r) => r,
                None => {
                    // Go verifies against the system roots when no CA is given; here that is
                    // Mozilla's list of public CAs.
                    warnings.push(format!(
                        "tls_server_config.client_ca_file: not set, so {mode:?} verifies client certificates against the public web PKI roots"
                    ));
                    rustls::RootCertStore {
                        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                    }
                }
            };
            if roots.is_empty() {
                return None; // already reported
            }
            let builder = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            );
            let builder = if mode == ClientAuth::VerifyClientCertIfGiven {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            match builder.build() {
                Ok(v) => Some(v),
                Err(e) => {
                    problems.push(format!("tls_server_config.client_ca_file: {e}"));
                    None
                }
            }
        }
    }
}

/// `RequestClientCert` / `RequireAnyClientCert`: a certificate is asked for (or required) and its
/// handshake signature checked, but it is not verified against any CA.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `client_allowed_sans`: after the inner verifier, the client certificate must carry one of the
/// listed Subject Alternative Names (DNS, e-mail, IP or URI), compared exactly.
#[derive(Debug)]
struct SanChecker {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("the client certificate has none of client_allowed_sans (it has: {0})")]
struct SanMismatch(String);

impl ClientCertVerifier for SanChecker {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }
    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let sans = subject_alt_names(end_entity).unwrap_or_default();
        if sans.iter().any(|s| self.allowed.contains(s)) {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(SanMismatch(
                    sans.join(", "),
                )))),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// One DER element: (tag, contents, rest).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The Subject Alternative Names of a certificate, written as Go's crypto/x509 does (DNS names,
/// e-mail addresses, IP addresses, URIs). A few lines of DER reading rather than a full X.509
/// parser: only the SAN extension is needed, and rustls has already checked the certificate.
fn subject_alt_names(cert: &[u8]) -> Option<Vec<String>> {
    let (_, certificate, _) = der(cert)?;
    let (_, mut tbs, _) = der(certificate)?;
    let mut names = Vec::new();
    while !tbs.is_empty() {
        let (tag, body, rest) = der(tbs)?;
        tbs = rest;
        if tag != 0xa3 {
            continue; // [3] extensions
        }
        let (_, mut extensions, _) = der(body)?;
        while !extensions.is_empty() {
            let (_, extension, rest) = der(extensions)?;
            extensions = rest;
            let (_, oid, mut fields) = der(extension)?;
            if oid != [0x55, 0x1d, 0x11] {
                continue; // not 2.5.29.17 subjectAltName
            }
            let (mut tag, mut value, more) = der(fields)?;
            if tag == 0x01 {
                fields = more; // the `critical` flag
                (tag, value, _) = der(fields)?;
            }
            if tag != 0x04 {
                return None;
            }
            let (_, mut general_names, _) = der(value)?;
            while !general_names.is_empty() {
                let (tag, name, rest) = der(general_names)?;
                general_names = rest;
                match tag {
                    0x81 | 0x82 | 0x86 => names.push(String::from_utf8_lossy(name).into_owned()),
                    0x87 => match name.len() {
                        4 => names.push(IpAddr::from(<[u8; 4]>::try_from(name).ok()?).to_string()),
                        16 => {
                            names.push(IpAddr::from(<[u8; 16]>::try_from(name).ok()?).to_string())
                        }
                        _ => {}
                    },
                    _ => {}
                }
            }
        }
    }
    Some(names)
}

/// `rate_limit`: a token bucket (`burst` tokens, one more every `interval`).
pub struct RateLimiter {
    interval: Duration,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    fn new(interval: Duration, burst: u64) -> Self {
        Self {
            interval,
            burst: burst as f64,
            state: Mutex::new((burst as f64, Instant::now())),
        }
    }

    /// Takes a token if there is one.
    pub fn allow(&self) -> bool {
        let mut state = self.state.lock().expect("rate limiter");
        let now = Instant::now();
        let (tokens, last) = *state;
        let refill = now.duration_since(last).as_secs_f64() / self.interval.as_secs_f64();
        let tokens = (tokens + refill).min(self.burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            true
        } else {
            *state = (tokens, now);
            false
        }
    }
}

/// Users and their bcrypt hashes, and the credentials already checked.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// The configured users' bcrypt cost (the highest, if they differ).
    cost: u32,
    /// A hash at `cost`, checked when the user is unknown: a wrong user name then costs exactly
    /// what a wrong password costs, and does not tell which users exist.
    dummy: OnceLock<String>,
    /// SHA-256 of (user, password, hash) that matched. Only real passwords get in, so floods of
    /// guesses cannot push a scraper's credentials out.
    accepted: Mutex<HashSet<[u8; 32]>>,
    /// The same, for credentials that did not match (bounded: cleared when large).
    refused: Mutex<HashSet<[u8; 32]>>,
}

const MAX_REMEMBERED: usize = 1024;

/// At most this many bcrypt checks run at once, process-wide (half the cores, at least one):
/// a flood of guessed passwords queues here instead of taking every core from the scrapes.
static BCRYPT_SLOTS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Semaphore::new((cores / 2).max(1))
});
static BCRYPT_RUNNING: AtomicUsize = AtomicUsize::new(0);
static BCRYPT_PEAK: AtomicUsize = AtomicUsize::new(0);

/// The most bcrypt checks that ever ran at the same time in this process (never more than the
/// semaphore allows).
pub fn bcrypt_peak_concurrency() -> usize {
    BCRYPT_PEAK.load(Ordering::Relaxed)
}

/// How many bcrypt checks may run at once.
pub fn bcrypt_slots() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / 2).max(1)
}

impl BasicAuth {
    fn new(users: BTreeMap<String, String>, cost: u32) -> Self {
        Self {
            users,
            cost,
            dummy: OnceLock::new(),
            accepted: Mutex::new(HashSet::new()),
            refused: Mutex::new(HashSet::new()),
        }
    }

    /// The bcrypt cost an unknown user is checked at.
    pub fn dummy_cost(&self) -> u32 {
        self.cost
    }

    /// Whether an `Authorization` header carries a known user's password.
    pub async fn allows(self: &Arc<Self>, header: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = header.and_then(|h| h.to_str().ok()).and_then(parse_basic)
        else {
            return false;
        };
        let hash = self.users.get(&user).cloned();
        let key: [u8; 32] = {
            let mut h = Sha256::new();
            for part in [
                user.as_bytes(),
                password.as_bytes(),
                hash.as_deref().unwrap_or("").as_bytes(),
            ] {
                h.update((part.len() as u64).to_be_bytes());
                h.update(part);
            }
            h.finalize().into()
        };
        if self.accepted.lock().expect("auth cache").contains(&key) {
            return true;
        }
        if self.refused.lock().expect("auth cache").contains(&key) {
            return false;
        }
        let Ok(_slot) = BCRYPT_SLOTS.acquire().await else {
            return false;
        };
        let this = self.clone();
        let known = hash.is_some();
        // bcrypt is slow on purpose: keep it off the async workers.
        let matched = tokio::task::spawn_blocking(move || {
            let running = BCRYPT_RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
            BCRYPT_PEAK.fetch_max(running, Ordering::SeqCst);
            let hash = hash.unwrap_or_else(|| this.dummy_hash().to_owned());
            let ok = bcrypt::verify(password, &hash).unwrap_or(false);
            BCRYPT_RUNNING.fetch_sub(1, Ordering::SeqCst);
            ok
        })
        .await
        .unwrap_or(false);
        let ok = known && matched;
        let cache = if ok { &self.accepted } else { &self.refused };
        let mut cache = cache.lock().expect("auth cache");
        if cache.len() >= MAX_REMEMBERED {
            cache.clear();
        }
        cache.insert(key);
        ok
    }

    fn dummy_hash(&self) -> &str {
        self.dummy.get_or_init(|| {
            bcrypt::hash("no such user", self.cost.clamp(4, 31)).unwrap_or_default()
        })
    }

    /// Computes the dummy hash now (at load, off the request path), so that the first unknown
    /// user costs no more than later ones.
    pub fn prepare(&self) {
        let _ = self.dummy_hash();
    }
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The web config in force, replaced as a whole on reload.
#[derive(Debug)]
pub struct WebState {
    path: PathBuf,
    current: RwLock<Arc<WebConfig>>,
}

impl WebState {
    /// Reads the file (and computes what reloads would otherwise compute on first use).
    pub fn load(path: &Path) -> Result<Self, WebConfigError> {
        let config = load_prepared(path)?;
        Ok(Self {
            path: path.to_owned(),
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// A fixed configuration, for tests.
    pub fn fixed(config: WebConfig) -> Self {
        Self {
            path: PathBuf::new(),
            current: RwLock::new(Arc::new(config)),
        }
    }

    pub fn current(&self) -> Arc<WebConfig> {
        self.current.read().expect("web config").clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file again and checks it can replace the current one; [`WebState::install`]
    /// then makes it current. Blocking (file reads, one bcrypt hash).
    pub fn reread(&self) -> Result<WebConfig, WebConfigError> {
        let next = load_prepared(&self.path)?;
        if next.tls.is_some() != self.current().tls.is_some() {
            return Err(WebConfigError {
                path: self.path.display().to_string(),
                problems: vec!["tls_server_config: switching TLS on or off needs a restart".into()],
            });
        }
        Ok(next)
    }

    pub fn install(&self, next: WebConfig) {
        *self.current.write().expect("web config") = Arc::new(next);
    }
}

fn load_prepared(path: &Path) -> Result<WebConfig, WebConfigError> {
    let config = WebConfig::load(path)?;
    if let Some(auth) = &config.basic_auth {
        auth.prepare();
    }
    Ok(config)
}

static RATE_LIMITED: crate::loglimit::LogLimit = crate::loglimit::LogLimit::new();

/// Middleware: the current web config's rate limit, basic auth and response headers.
pub async fn guard(State(web): State<Arc<WebState>>, request: Request, next: Next) -> Response {
    let config = web.current();
    if let Some(limiter) = &config.rate_limit {
        if !limiter.allow() {
            crate::loglimit::log_limited(
                &RATE_LIMITED,
                "rate_limit reached: answering 429 Too Many Requests",
            );
            return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n").into_response();
        }
    }
    let mut response = match &config.basic_auth {
        Some(auth) if !auth.allows(request.headers().get(AUTHORIZATION)).await => (
            StatusCode::UNAUTHORIZED,
            [(WWW_AUTHENTICATE, "Basic realm=\"quota-exporter\"")],
            "Unauthorized\n",
        )
            .into_response(),
        _ => next.run(request).await,
    };
    for (name, value) in &config.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<WebConfig, WebConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.yml");
        std::fs::write(&path, yaml).unwrap();
        WebConfig::load(&path)
    }

    #[test]
    fn an_empty_file_means_no_tls_and_no_auth() {
        for yaml in ["", "tls_server_config: {}\n", "basic_auth_users:\n", "{}"] {
            let c = load(yaml).unwrap_or_else(|e| panic!("{yaml:?}: {e}"));
            assert!(c.tls.is_none() && c.basic_auth.is_none() && c.headers.is_empty());
        }
    }

    #[test]
    fn header_values_may_be_numbers_and_only_allowlisted_headers_load() {
        let c = load("http_server_config:\n  headers:\n    X-XSS-Protection: 1\n    X-Frame-Options: deny\n    Content-Security-Policy: ''\n").unwrap();
        let names: Vec<_> = c
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            names,
            [("x-frame-options", "deny"), ("x-xss-protection", "1")]
        );
        for (header, needle) in [
            (
                "Set-Cookie: a=b",
                "headers.Set-Cookie: this header cannot be configured",
            ),
            ("Transfer-Encoding: chunked", "headers.Transfer-Encoding"),
            ("Cache-Control: public", "headers.Cache-Control"),
            ("WWW-Authenticate: Basic", "headers.WWW-Authenticate"),
            (
                "X-Frame-Options: allow",
                "headers.X-Frame-Options: invalid value \"allow\"",
            ),
            ("X-Content-Type-Options: sniff", "expected one of: nosniff"),
        ] {
            let e = load(&format!("http_server_config:\n  headers:\n    {header}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{header}: {e}");
        }
    }

    #[test]
    fn rate_limit_and_its_refusals() {
        assert!(load("rate_limit: {interval: 0s, burst: 3}\n")
            .unwrap()
            .rate_limit
            .is_none());
        let c = load("rate_limit:\n  interval: 1h\n  burst: 2\n").unwrap();
        let l = c.rate_limit.unwrap();
        assert!(l.allow() && l.allow() && !l.allow());
        for (yaml, needle) in [
            ("rate_limit: {interval: 1s}\n", "rate_limit.burst"),
            (
                "rate_limit: {interval: soon, burst: 1}\n",
                "rate_limit.interval",
            ),
            ("rate_limit: {interval: 5, burst: 1}\n", "give a unit"),
            ("rate_limit: {every: 1s}\n", "every"),
        ] {
            let e = load(yaml).unwrap_err().to_string();
            assert!(e.contains(needle), "{yaml}: {e}");
        }
    }

    #[test]
    fn subject_alt_names_are_read_from_the_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["scraper.example".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("10.0.0.7".parse().unwrap()));
        params.subject_alt_names.push(rcgen::SanType::Rfc822Name(
            "ops@example.org".try_into().unwrap(),
        ));
        params.subject_alt_names.push(rcgen::SanType::URI(
            "spiffe://example/prom".try_into().unwrap(),
        ));
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("::1".parse().unwrap()));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(
            subject_alt_names(cert.der()).unwrap(),
            [
                "scraper.example",
                "10.0.0.7",
                "ops@example.org",
                "spiffe://example/prom",
                "::1"
            ]
        );
        assert!(
            subject_alt_names(&[0x30, 0x05, 0x01]).is_none(),
            "truncated DER"
        );
    }

    #[tokio::test]
    async fn basic_auth_checks_bcrypt_and_remembers_results() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let c = load(&format!("basic_auth_users:\n  Alice: '{hash}'\n")).unwrap();
        let auth = c.basic_auth.unwrap();
        assert_eq!(
            auth.dummy_cost(),
            4,
            "unknown users are checked at the users' cost"
        );
        let header = |u: &str, p: &str| {
            HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            ))
            .unwrap()
        };
        assert!(auth.allows(Some(&header("Alice", "s3cret"))).await);
        assert!(
            auth.allows(Some(&header("Alice", "s3cret"))).await,
            "remembered"
        );
        assert!(!auth.allows(Some(&header("Alice", "wrong"))).await);
        assert!(
            !auth.allows(Some(&header("alice", "s3cret"))).await,
            "user names are case-sensitive"
        );
        assert!(!auth.allows(Some(&header("bob", "s3cret"))).await);
        assert!(!auth.allows(None).await);
        assert!(
            !auth
                .allows(Some(&HeaderValue::from_static("Bearer abc")))
                .await
        );
        assert_eq!(auth.accepted.lock().unwrap().len(), 1);
        assert_eq!(auth.refused.lock().unwrap().len(), 3);
        let dummy: bcrypt::HashParts = auth.dummy_hash().parse().unwrap();
        assert_eq!(dummy.get_cost(), 4);
    }
}
