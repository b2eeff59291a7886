//! `--web.config.file`: TLS and HTTP basic auth, in the file format of the Prometheus
//! exporter-toolkit, so operators reuse the web config they already have for node_exporter & co.
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
//! ```
//!
//! The file is read once at start-up. TLS is rustls (TLS 1.2 and 1.3, its default cipher suites);
//! passwords are checked with bcrypt, and a successful check is remembered (keyed by a SHA-256 of
//! the credentials) so that scrapes do not each pay bcrypt's deliberate cost.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls;
use tokio_rustls::server::TlsStream;

/// A validated web configuration.
pub struct WebConfig {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub basic_auth: Option<Arc<BasicAuth>>,
    /// Headers added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Things worth a log line (keys accepted for compatibility but without effect).
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
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    http_server_config: RawHttp,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    /// Inline PEM, instead of `cert_file`.
    cert: Option<String>,
    /// Inline PEM, instead of `key_file`.
    key: Option<String>,
    #[serde(default)]
    client_auth_type: ClientAuth,
    client_ca_file: Option<PathBuf>,
    min_version: Option<TlsVersion>,
    max_version: Option<TlsVersion>,
    // exporter-toolkit keys that tune Go's TLS stack; rustls picks modern suites and curves itself.
    cipher_suites: Option<serde_json::Value>,
    curve_preferences: Option<serde_json::Value>,
    prefer_server_cipher_suites: Option<serde_json::Value>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Default, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
enum ClientAuth {
    #[default]
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum TlsVersion {
    TLS10,
    TLS11,
    TLS12,
    TLS13,
}

/// Problems with a web config file, one per line, each naming its key.
#[derive(Debug, thiserror::Error)]
#[error("web config {path}: {}", problems.join("; "))]
pub struct WebConfigError {
    pub path: String,
    pub problems: Vec<String>,
}

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
        let tls = match raw.tls_server_config {
            Some(t) => tls_config(t, base, &mut problems, &mut warnings).map(Arc::new),
            None => None,
        };
        if raw.http_server_config.http2 == Some(true) {
            warnings.push(
                "http_server_config.http2: the exporter serves HTTP/1.1; the key has no effect"
                    .into(),
            );
        }
        let mut headers = Vec::new();
        for (name, value) in raw.http_server_config.headers {
            let key = format!("http_server_config.headers.{name}");
            match (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                (Ok(n), Ok(v)) => {
                    let reserved = [
                        axum::http::header::CONTENT_TYPE,
                        axum::http::header::CONTENT_ENCODING,
                        axum::http::header::CONTENT_LENGTH,
                    ];
                    if reserved.contains(&n) {
                        problems.push(format!("{key}: the exporter sets this header itself"));
                    } else {
                        headers.push((n, v));
                    }
                }
                (Err(_), _) => problems.push(format!("{key}: not a valid header name")),
                (_, Err(_)) => problems.push(format!("{key}: not a valid header value")),
            }
        }
        let mut users = BTreeMap::new();
        for (user, hash) in raw.basic_auth_users {
            if user.contains(':') {
                problems.push(format!(
                    "basic_auth_users.{user}: a user name cannot contain ':'"
                ));
            }
            if hash.parse::<bcrypt::HashParts>().is_err() {
                problems.push(format!(
                    "basic_auth_users.{user}: not a bcrypt hash (make one with `htpasswd -nBC 10 {user}`)"
                ));
            }
            users.insert(user, hash);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let basic_auth = (!users.is_empty()).then(|| {
            Arc::new(BasicAuth {
                users,
                verified: Mutex::new(HashMap::new()),
            })
        });
        Ok(WebConfig {
            tls,
            basic_auth,
            headers,
            warnings,
        })
    }
}

fn tls_config(
    t: RawTls,
    base: &Path,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Option<rustls::ServerConfig> {
    let at = |p: &PathBuf| {
        if p.is_absolute() {
            p.clone()
        } else {
            base.join(p)
        }
    };
    for (key, set) in [
        ("cipher_suites", t.cipher_suites.is_some()),
        ("curve_preferences", t.curve_preferences.is_some()),
        (
            "prefer_server_cipher_suites",
            t.prefer_server_cipher_suites.is_some(),
        ),
    ] {
        if set {
            warnings.push(format!(
                "tls_server_config.{key}: ignored; TLS uses rustls' modern defaults (AEAD suites, X25519 and NIST curves)"
            ));
        }
    }
    let certs: Result<Vec<CertificateDer<'static>>, String> = match (&t.cert_file, &t.cert) {
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
        _ => Err("tls_server_config: exactly one of cert_file and cert is needed".into()),
    };
    let certs = certs.and_then(|c| {
        if c.is_empty() {
            Err("tls_server_config: no certificate in the PEM".into())
        } else {
            Ok(c)
        }
    });
    let key: Result<PrivateKeyDer<'static>, String> = match (&t.key_file, &t.key) {
        (Some(file), None) => PrivateKeyDer::from_pem_file(at(file)).map_err(|e| {
            format!(
                "tls_server_config.key_file: cannot read a private key from {}: {e}",
                at(file).display()
            )
        }),
        (None, Some(pem)) => PrivateKeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| format!("tls_server_config.key: {e}")),
        _ => Err("tls_server_config: exactly one of key_file and key is needed".into()),
    };
    let min = t.min_version.unwrap_or(TlsVersion::TLS12);
    let max = t.max_version.unwrap_or(TlsVersion::TLS13);
    if min < TlsVersion::TLS12 {
        problems.push(
            "tls_server_config.min_version: TLS 1.0 and 1.1 are not supported; use TLS12 or TLS13"
                .into(),
        );
    }
    if max < min {
        problems.push("tls_server_config.max_version: lower than min_version".into());
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::TLS12, &rustls::version::TLS12),
        (TlsVersion::TLS13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| *v >= min && *v <= max)
    .map(|(_, p)| p)
    .collect();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_verifier = match t.client_auth_type {
        ClientAuth::NoClientCert => None,
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => {
            problems.push(format!(
                "tls_server_config.client_auth_type: {:?} accepts certificates without checking them and is not supported; use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file",
                t.client_auth_type
            ));
            None
        }
        mode @ (ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert) => {
            let Some(ca_file) = &t.client_ca_file else {
                problems.push(format!(
                    "tls_server_config.client_ca_file: needed with client_auth_type {mode:?}"
                ));
                return None;
            };
            let mut roots = rustls::RootCertStore::empty();
            match CertificateDer::pem_file_iter(at(ca_file))
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            {
                Ok(cas) => {
                    for ca in cas {
                        if let Err(e) = roots.add(ca) {
                            problems.push(format!("tls_server_config.client_ca_file: {e}"));
                        }
                    }
                }
                Err(e) => problems.push(format!(
                    "tls_server_config.client_ca_file: cannot read {}: {e}",
                    at(ca_file).display()
                )),
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
    };
    if t.client_ca_file.is_some() && t.client_auth_type == ClientAuth::NoClientCert {
        warnings.push(
            "tls_server_config.client_ca_file: has no effect with client_auth_type NoClientCert"
                .into(),
        );
    }
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
    let builder = match client_verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    match builder.with_single_cert(certs, key) {
        Ok(mut config) => {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
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

/// Users and their bcrypt hashes, and the credentials already checked.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// SHA-256 of (user, password, hash) → whether it matched. Bounded: cleared when large.
    verified: Mutex<HashMap<[u8; 32], bool>>,
}

/// Checked against when the user is unknown, so that a wrong user name costs as much time as a
/// wrong password and does not reveal which users exist.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    bcrypt::hash("no such user", bcrypt::DEFAULT_COST).unwrap_or_default()
});
const MAX_REMEMBERED: usize = 1024;

impl BasicAuth {
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
        if let Some(ok) = self.verified.lock().expect("auth cache").get(&key) {
            return *ok;
        }
        // bcrypt is slow on purpose: keep it off the async workers.
        let (known, hash) = (hash.is_some(), hash.unwrap_or_else(|| DUMMY_HASH.clone()));
        let matched =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false);
        let ok = known && matched;
        let mut cache = self.verified.lock().expect("auth cache");
        if cache.len() >= MAX_REMEMBERED {
            cache.clear();
        }
        cache.insert(key, ok);
        ok
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

/// Middleware: adds the configured headers to every response.
pub async fn add_headers(
    State(headers): State<Arc<Vec<(HeaderName, HeaderValue)>>>,
    mut response: Response,
) -> Response {
    for (name, value) in headers.iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// Middleware: answers 401 unless the request carries a configured user's password.
pub async fn require_basic_auth(
    State(auth): State<Arc<BasicAuth>>,
    request: Request,
    next: Next,
) -> Response {
    if auth.allows(request.headers().get(AUTHORIZATION)).await {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(WWW_AUTHENTICATE, "Basic realm=\"quota-exporter\"")],
            "Unauthorized\n",
        )
            .into_response()
    }
}

/// A listener that hands out TLS connections. Handshakes run in their own tasks, so a slow or
/// silent client never holds up the others.
pub struct TlsListener {
    connections: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!("accepting a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    break;
                }
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self {
            connections: rx,
            local,
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(c) => c,
            // The accept loop only ends when this listener is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
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
    fn problems_name_their_keys() {
        let e = load("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cert_file") && e.contains("missing.crt") && e.contains("key_file"),
            "{e}"
        );
        let e = load("basic_auth_users:\n  alice: plain-password\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("basic_auth_users.alice")
                && e.contains("bcrypt")
                && !e.contains("plain-password"),
            "{e}"
        );
        let e = load("tls_config: {}\n").unwrap_err().to_string();
        assert!(e.contains("tls_config"), "{e}");
        let e = load("http_server_config:\n  headers:\n    Content-Type: x\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("headers.Content-Type"), "{e}");
        let e = load(
            "tls_server_config:\n  cert: x\n  key: y\n  client_auth_type: RequireAnyClientCert\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("RequireAnyClientCert"), "{e}");
        assert!(WebConfig::load(Path::new("/nonexistent/web.yml"))
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
    }

    #[test]
    fn an_empty_file_means_no_tls_and_no_auth() {
        let c = load("").unwrap();
        assert!(c.tls.is_none() && c.basic_auth.is_none() && c.headers.is_empty());
    }

    #[tokio::test]
    async fn basic_auth_checks_bcrypt_and_remembers_results() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let c = load(&format!("basic_auth_users:\n  Alice: '{hash}'\n")).unwrap();
        let auth = c.basic_auth.unwrap();
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
        assert_eq!(auth.verified.lock().unwrap().len(), 4);
    }
}
