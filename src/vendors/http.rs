//! The one HTTP path every vendor call takes: how clients are built (TLS roots, the operator's CA,
//! proxies, no redirects) and how an answer is read (streamed, under a size cap).
//!
//! Why so strict: the exporter holds SaaS credentials and runs on networks nobody here controls
//! (TLS-inspecting proxies, captive portals, misbehaving gateways). None of the vendor APIs
//! documents a redirect, so following one would only hand a secret (WeCom's `corpsecret` in the
//! query, Tencent's `X-TC-Token`, KooDrive's `X-User-Id`) to another host; and a body is read
//! only up to `max_response_bytes`, so an endless or enormous answer costs one failed poll instead
//! of the process's memory. Responses are never decompressed (no `Accept-Encoding` is sent), so
//! the cap counts exactly the bytes that are kept and a gzip bomb stays a few kilobytes of noise.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{FailureReason, PollContext, PollError, Retry};

/// Largest answer read by default: the biggest real vendor answer is a few kilobytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
/// Largest `tls_ca_file` accepted (a full system bundle is about 200 KiB).
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A PEM bundle of extra trusted CAs, read when the config is loaded.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CaFile {
    pub path: PathBuf,
    pem: Arc<Vec<u8>>,
}

impl std::fmt::Debug for CaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())
    }
}

impl CaFile {
    /// Reads and checks a PEM file: it must hold at least one certificate rustls accepts.
    pub fn load(path: PathBuf) -> Result<CaFile, String> {
        use rustls_pki_types::pem::PemObject;
        use std::io::Read;
        let file = std::fs::File::open(&path)
            .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
        let mut pem = Vec::new();
        file.take(MAX_CA_FILE_BYTES + 1)
            .read_to_end(&mut pem)
            .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
        if pem.len() as u64 > MAX_CA_FILE_BYTES {
            return Err(format!(
                "CA file {} is larger than {} MiB",
                path.display(),
                MAX_CA_FILE_BYTES / 1024 / 1024
            ));
        }
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        let mut count = 0;
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert = cert
                .map_err(|e| format!("CA file {}: not a PEM certificate: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA file {}: bad certificate: {e}", path.display()))?;
            count += 1;
        }
        if count == 0 {
            return Err(format!(
                "CA file {} has no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ));
        }
        Ok(CaFile {
            path,
            pem: Arc::new(pem),
        })
    }
}

/// What makes two accounts need different HTTP clients. Accounts with equal settings share one
/// client, and so one connection pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientSettings {
    /// Trusted in addition to the bundled and the system's roots.
    pub tls_ca_file: Option<CaFile>,
    /// Every call of the account goes through this proxy (`NO_PROXY` still applies).
    pub proxy_url: Option<reqwest::Url>,
}

/// An account's HTTP settings: its client and its answer size cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    pub client: ClientSettings,
    pub max_response_bytes: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            client: ClientSettings::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// The HTTP keys as written in `defaults` or an account, before they are checked.
#[derive(Debug, Clone, Default)]
pub struct HttpKeys {
    pub max_response_bytes: Option<u64>,
    pub tls_ca_file: Option<PathBuf>,
    pub proxy_url: Option<String>,
}

/// Bounds of `max_response_bytes`.
const MIN_RESPONSE_BYTES: u64 = 1024;
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024 * 1024;

impl HttpSettings {
    /// Applies `keys` over `base`, checking each. Errors are `(key, message)`.
    pub fn resolve(
        base: &HttpSettings,
        keys: &HttpKeys,
    ) -> Result<HttpSettings, Vec<(&'static str, String)>> {
        let mut out = base.clone();
        let mut errors = Vec::new();
        if let Some(n) = keys.max_response_bytes {
            if (MIN_RESPONSE_BYTES..=MAX_RESPONSE_BYTES).contains(&n) {
                out.max_response_bytes = n;
            } else {
                errors.push((
                    "max_response_bytes",
                    format!(
                        "must be between {MIN_RESPONSE_BYTES} and {MAX_RESPONSE_BYTES}, found {n}"
                    ),
                ));
            }
        }
        if let Some(path) = &keys.tls_ca_file {
            match CaFile::load(path.clone()) {
                Ok(ca) => out.client.tls_ca_file = Some(ca),
                Err(e) => errors.push(("tls_ca_file", e)),
            }
        }
        if let Some(url) = &keys.proxy_url {
            match parse_proxy_url(url) {
                Ok(url) => out.client.proxy_url = Some(url),
                // The URL is not repeated: it may carry a proxy password.
                Err(e) => errors.push(("proxy_url", e)),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// Checks a `proxy_url` from config.
pub fn parse_proxy_url(s: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("scheme must be http or https".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    reqwest::Proxy::all(url.clone()).map_err(|e| e.to_string())?;
    Ok(url)
}

/// Builds a client for `settings`.
///
/// Trusted roots: the bundled Mozilla roots, the system's store (read by `rustls-native-certs`,
/// which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`), and `tls_ca_file`. Proxies: `proxy_url`
/// when set, else `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and `NO_PROXY` from the environment.
pub fn build_client(settings: &ClientSettings) -> Result<reqwest::Client, String> {
    match builder(settings, true)?.build() {
        Ok(client) => Ok(client),
        // A system store with no usable certificate (e.g. `SSL_CERT_FILE` naming a broken file)
        // fails the build; the bundled roots and `tls_ca_file` still work without it.
        Err(e) => {
            tracing::warn!("the system's CA certificates cannot be used ({e}); trusting the bundled roots and tls_ca_file only");
            builder(settings, false)?
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        }
    }
}

fn builder(
    settings: &ClientSettings,
    system_roots: bool,
) -> Result<reqwest::ClientBuilder, String> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("quota-exporter/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .tls_built_in_webpki_certs(true)
        .tls_built_in_native_certs(system_roots);
    if let Some(ca) = &settings.tls_ca_file {
        let certs = reqwest::Certificate::from_pem_bundle(&ca.pem)
            .map_err(|e| format!("CA file {}: {e}", ca.path.display()))?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(url) = &settings.proxy_url {
        let proxy = reqwest::Proxy::all(url.clone())
            .map_err(|e| format!("proxy_url: {e}"))?
            .no_proxy(reqwest::NoProxy::from_env());
        builder = builder.proxy(proxy);
    }
    Ok(builder)
}

/// The clients in use, one per distinct [`ClientSettings`], kept across reloads so that
/// connection pools survive them.
#[derive(Default)]
pub struct Clients {
    built: Mutex<HashMap<ClientSettings, reqwest::Client>>,
}

impl Clients {
    pub fn get(&self, settings: &ClientSettings) -> Result<reqwest::Client, String> {
        let mut built = self.built.lock().expect("clients lock");
        if let Some(client) = built.get(settings) {
            return Ok(client.clone());
        }
        let client = build_client(settings)?;
        built.insert(settings.clone(), client.clone());
        Ok(client)
    }

    /// Drops the clients no account uses any more (e.g. after a CA file changed).
    pub fn retain<'a>(&self, in_use: impl IntoIterator<Item = &'a ClientSettings>) {
        let keep: std::collections::HashSet<_> = in_use.into_iter().collect();
        self.built
            .lock()
            .expect("clients lock")
            .retain(|k, _| keep.contains(k));
    }

    pub fn len(&self) -> usize {
        self.built.lock().expect("clients lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A vendor's answer, read in full (within the cap).
#[derive(Debug)]
pub struct HttpResponse {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
}

/// Sends one request, counts it under `endpoint`, refuses redirects, and reads the body up to the
/// account's `max_response_bytes`.
///
/// Transport errors are classified and stripped of their URL: WeCom puts the access token in the
/// query string, and reqwest's errors print the full URL.
pub async fn send(
    ctx: &PollContext,
    endpoint: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<HttpResponse, PollError> {
    ctx.stats.count_request(endpoint);
    let mut response = request
        .send()
        .await
        .map_err(|e| transport_error(endpoint, e))?;
    let status = response.status();
    if status.is_redirection() {
        return Err(redirect_error(endpoint, status, response.headers()));
    }
    let limit = ctx.max_response_bytes;
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large(endpoint, limit));
    }
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(endpoint, e))?
    {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large(endpoint, limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpResponse {
        status,
        headers,
        body: body.into(),
    })
}

fn too_large(endpoint: &str, limit: u64) -> PollError {
    PollError::new(
        FailureReason::Decode,
        format!(
            "{endpoint}: answer larger than max_response_bytes ({limit} bytes); not a vendor answer, or raise the limit"
        ),
    )
}

/// A 3xx: never followed. Names where it pointed (host only: a query may carry a secret).
fn redirect_error(
    endpoint: &str,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
) -> PollError {
    let target = headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| match reqwest::Url::parse(l) {
            Ok(url) => format!(
                " to host {}",
                super::settings::host_header(&url)
                    .split('@')
                    .next_back()
                    .unwrap_or_default()
            ),
            Err(_) => " to a relative location".to_owned(),
        })
        .unwrap_or_default();
    PollError::new(
        FailureReason::HttpStatus,
        format!(
            "{endpoint}: HTTP {status}: redirect{target} not followed (the vendor API does not redirect; a proxy or captive portal may be in the way)"
        ),
    )
}

pub(super) fn transport_error(endpoint: &str, error: reqwest::Error) -> PollError {
    let error = error.without_url();
    let reason = if error.is_timeout() {
        FailureReason::Timeout
    } else {
        FailureReason::Transport
    };
    let mut message = format!("{endpoint}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    PollError::new(reason, message).with_retry(Retry::Backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_name_the_host_only() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::LOCATION,
            "https://user:pw@evil.example:8443/steal?corpsecret=s3cret"
                .parse()
                .unwrap(),
        );
        let e = redirect_error("gettoken", reqwest::StatusCode::FOUND, &h);
        assert_eq!(e.reason, FailureReason::HttpStatus);
        assert!(
            e.message.contains("host evil.example:8443"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("s3cret") && !e.message.contains("pw"));
    }

    #[test]
    fn ca_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        assert!(CaFile::load(path.clone())
            .unwrap_err()
            .contains("no PEM certificate"));
        assert!(CaFile::load(dir.path().join("missing"))
            .unwrap_err()
            .contains("cannot read"));
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".into()]).unwrap();
        std::fs::write(&path, ca.cert.pem()).unwrap();
        let ca = CaFile::load(path).unwrap();
        let clients = Clients::default();
        let with_ca = ClientSettings {
            tls_ca_file: Some(ca),
            proxy_url: None,
        };
        clients.get(&with_ca).unwrap();
        clients.get(&with_ca).unwrap();
        clients.get(&ClientSettings::default()).unwrap();
        assert_eq!(clients.len(), 2, "one client per distinct setting");
        clients.retain([&ClientSettings::default()]);
        assert_eq!(clients.len(), 1);
    }

    #[test]
    fn proxy_urls_are_checked() {
        assert!(parse_proxy_url("http://proxy.internal:3128").is_ok());
        assert!(parse_proxy_url("ftp://x").unwrap_err().contains("scheme"));
        assert!(parse_proxy_url("nope").unwrap_err().contains("not a URL"));
    }
}
