//! Vendors: the one interface every vendor implements, and the list of vendors.
//!
//! A vendor module knows one vendor's protocol: its account settings, its HTTP calls (auth,
//! tokens, signing), its response models and the mapping from responses to [`Samples`]. It never
//! touches timing, retries, the store or the server: it returns a [`PollError`] that says what
//! went wrong and whether trying again can help, and the scheduler decides what to do.
//!
//! Adding a vendor: a new folder here with a `pub static VENDOR: VendorDef`, one line in
//! [`VENDORS`], and its routes in the simulator.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::config::{FieldError, ParseContext};
use crate::exposition::{MetricDesc, Samples};

pub mod koodrive;
pub mod tencent;
pub mod wecom;

/// Every vendor the exporter knows, in the order they appear in docs and output.
pub static VENDORS: &[&VendorDef] = &[&wecom::VENDOR, &koodrive::VENDOR, &tencent::VENDOR];

/// Finds a vendor by its config section name.
pub fn by_name(name: &str) -> Option<&'static VendorDef> {
    VENDORS.iter().copied().find(|v| v.name == name)
}

/// Config section names of earlier releases, still read (with a warning), and their vendor's
/// current name. The `vendor` label always carries the current one.
pub static RENAMED_SECTIONS: &[(&str, &str)] = &[("tencent_cwp", "tencentcloud_cwp")];

/// The vendor an old section name now stands for.
pub fn by_old_name(name: &str) -> Option<&'static VendorDef> {
    RENAMED_SECTIONS
        .iter()
        .find(|(old, _)| *old == name)
        .and_then(|(_, new)| by_name(new))
}

/// Builds an account from its vendor-specific config keys.
pub type ParseFn =
    fn(serde_json::Value, &mut ParseContext) -> Result<Arc<dyn Account>, Vec<FieldError>>;

/// What the rest of the exporter needs to know about a vendor.
pub struct VendorDef {
    /// Config section, value of the `vendor` label, e.g. `wecom_wedrive`.
    pub name: &'static str,
    /// Human name for logs and the landing page.
    pub title: &'static str,
    /// Interval used when neither the account nor `defaults` set one.
    pub default_interval: Duration,
    /// Builds an account from its vendor-specific settings (the common keys — name, interval,
    /// timeout… — are already taken out). Resolves secrets, so a missing one fails here.
    pub parse: ParseFn,
    /// Every metric family the vendor can produce (docs and tests check the catalogue with it).
    pub metrics: &'static [&'static MetricDesc],
    /// A warning about an account's interval, where the vendor meters calls (logged at load).
    pub interval_warning: fn(Duration) -> Option<String>,
}

pub type PollFuture<'a> = Pin<Box<dyn Future<Output = Result<Samples, PollError>> + Send + 'a>>;

/// One configured vendor account: polls the vendor once per call.
pub trait Account: Send + Sync + 'static {
    /// Performs one poll: every call the account's metrics need. Must not retry on its own,
    /// except where the protocol demands it (an expired token is refreshed and the call repeated
    /// once); the scheduler owns retries.
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> PollFuture<'a>;

    /// One line about the account for `--config.check` and the landing page. Never a secret.
    fn describe(&self) -> String;
}

/// What a poll may use: the shared HTTP client and the account's call counters.
#[derive(Clone)]
pub struct PollContext {
    pub http: reqwest::Client,
    pub stats: Arc<CallStats>,
}

/// Counters a vendor client bumps as it calls the vendor. The store reads them when rendering.
#[derive(Debug, Default)]
pub struct CallStats {
    requests: Mutex<BTreeMap<&'static str, u64>>,
    token_refreshes: AtomicU64,
}

impl CallStats {
    pub fn count_request(&self, endpoint: &'static str) {
        *self
            .requests
            .lock()
            .expect("stats lock")
            .entry(endpoint)
            .or_default() += 1;
    }
    pub fn count_token_refresh(&self) {
        self.token_refreshes.fetch_add(1, Ordering::Relaxed);
    }
    pub fn requests(&self) -> BTreeMap<&'static str, u64> {
        self.requests.lock().expect("stats lock").clone()
    }
    pub fn token_refreshes(&self) -> u64 {
        self.token_refreshes.load(Ordering::Relaxed)
    }
}

/// Why a poll failed: a small fixed set, used as the `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    Timeout,
    Transport,
    HttpStatus,
    Decode,
    Auth,
    Permission,
    RateLimited,
    Api,
    Panic,
}

impl FailureReason {
    pub const ALL: [FailureReason; 9] = [
        Self::Timeout,
        Self::Transport,
        Self::HttpStatus,
        Self::Decode,
        Self::Auth,
        Self::Permission,
        Self::RateLimited,
        Self::Api,
        Self::Panic,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Transport => "transport",
            Self::HttpStatus => "http_status",
            Self::Decode => "decode",
            Self::Auth => "auth",
            Self::Permission => "permission",
            Self::RateLimited => "rate_limited",
            Self::Api => "api",
            Self::Panic => "panic",
        }
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether trying the poll again can help, as the vendor's protocol tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Configuration or permission problem, or a protocol rule says not to (e.g. WeCom bans an
    /// IP that keeps sending a wrong secret): wait for the next scheduled poll.
    Never,
    /// A passing fault: retry with exponential backoff.
    Backoff,
    /// The vendor said when: retry after this long (if it fits in the retry budget).
    After(Duration),
    /// Do not retry, and do not poll again before this long (e.g. a monthly quota is used up).
    HoldOff(Duration),
}

/// A failed poll: the reason (a label), a message for logs and the landing page (never a secret
/// or a URL query), and whether retrying helps.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PollError {
    pub reason: FailureReason,
    pub message: String,
    pub retry: Retry,
}

impl PollError {
    pub fn new(reason: FailureReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            retry: Retry::Never,
        }
    }

    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Classifies an HTTP status the vendor's own error envelope did not explain.
    pub fn from_status(
        endpoint: &str,
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
    ) -> Self {
        let message = format!("{endpoint}: HTTP {status}");
        match status.as_u16() {
            429 => Self::new(FailureReason::RateLimited, message).with_retry(
                match retry_after(headers) {
                    Some(d) => Retry::After(d),
                    None => Retry::Backoff,
                },
            ),
            500..=599 => Self::new(FailureReason::HttpStatus, message).with_retry(Retry::Backoff),
            _ => Self::new(FailureReason::HttpStatus, message),
        }
    }
}

/// Reads a `Retry-After` header given in seconds (the form rate limiters use).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// A vendor's answer, read in full.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
}

/// Sends one request, counts it under `endpoint`, and reads the whole body.
///
/// Transport errors are classified and stripped of their URL: WeCom puts the access token in the
/// query string, and reqwest's errors print the full URL.
pub async fn send(
    ctx: &PollContext,
    endpoint: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<HttpResponse, PollError> {
    ctx.stats.count_request(endpoint);
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(endpoint, e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| transport_error(endpoint, e))?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn transport_error(endpoint: &str, error: reqwest::Error) -> PollError {
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

/// Decodes a JSON body, naming the field that did not fit.
pub fn decode_json<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T, PollError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." || path.is_empty() {
            format!("{endpoint}: malformed response: {inner}")
        } else {
            format!("{endpoint}: malformed response at `{path}`: {inner}")
        };
        PollError::new(FailureReason::Decode, message)
    })
}

/// Checks a vendor base URL from config: `http` or `https`, a host, no query string.
pub fn parse_base_url(s: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("scheme must be http or https".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    if url.query().is_some() {
        return Err("must not have a query".into());
    }
    // It would be printed by --config.check and the landing page, and sent to the vendor.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password (`user:pass@`); credentials belong in the account's secret keys".into());
    }
    Ok(url)
}

/// A URL from config as error messages may show it: any `user:pass@` replaced by `***@`.
pub fn url_for_message(s: &str) -> String {
    match reqwest::Url::parse(s) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_password(None);
            let _ = url.set_username("***");
            format!("{:?}", url.as_str())
        }
        Ok(_) => format!("{s:?}"),
        // Unparsable: whatever sits before an `@` may still be a password.
        Err(_) => match s.rsplit_once('@') {
            Some((_, host)) => format!("\"***@{host}\""),
            None => format!("{s:?}"),
        },
    }
}

/// `host[:port]` of a URL: what the `Host` header carries, and what vendor signatures cover.
pub fn host_header(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Deserializes a vendor's account settings, naming the offending key on error.
pub fn parse_settings<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Vec<FieldError>> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        vec![FieldError::new(
            if path == "." { String::new() } else { path },
            e.into_inner().to_string(),
        )]
    })
}

/// Lenient number decoding: vendors send numbers, and older API versions the same numbers as
/// strings (`"1000"`). Use with `#[serde(default, deserialize_with = "lenient::number")]`.
pub mod lenient {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrString {
        Num(serde_json::Number),
        Str(String),
        Bool(bool),
    }

    /// Accepts a number or a numeric string; `null` or absent gives `None`.
    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        match Option::<NumOrString>::deserialize(d)? {
            None => Ok(None),
            Some(NumOrString::Num(n)) => n
                .as_f64()
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("number out of range")),
            Some(NumOrString::Str(s)) if s.trim().is_empty() => Ok(None),
            Some(NumOrString::Str(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| {
                serde::de::Error::custom(format!("expected a number, got string {s:?}"))
            }),
            Some(NumOrString::Bool(b)) => Err(serde::de::Error::custom(format!(
                "expected a number, got boolean {b}"
            ))),
        }
    }

    /// Accepts a boolean, `"true"`/`"false"`, or 0/1; `null` or absent gives `None`.
    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<NumOrString>::deserialize(d)? {
            None => Ok(None),
            Some(NumOrString::Bool(b)) => Ok(Some(b)),
            Some(NumOrString::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(serde::de::Error::custom(format!(
                    "expected a boolean, got string {s:?}"
                ))),
            },
            Some(NumOrString::Num(n)) => match n.as_u64() {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(serde::de::Error::custom(format!(
                    "expected a boolean, got number {n}"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Lenient {
        #[serde(default, deserialize_with = "lenient::number")]
        n: Option<f64>,
        #[serde(default, deserialize_with = "lenient::boolean")]
        b: Option<bool>,
    }

    #[test]
    fn lenient_numbers_and_booleans() {
        let v: Lenient = decode_json("t", br#"{"n":"1000","b":"true"}"#).unwrap();
        assert_eq!((v.n, v.b), (Some(1000.0), Some(true)));
        let v: Lenient = decode_json("t", br#"{"n":12.5,"b":false}"#).unwrap();
        assert_eq!((v.n, v.b), (Some(12.5), Some(false)));
        let v: Lenient = decode_json("t", br#"{}"#).unwrap();
        assert_eq!((v.n, v.b), (None, None));
        let e = decode_json::<Lenient>("t", br#"{"n":"lots"}"#).unwrap_err();
        assert_eq!(e.reason, FailureReason::Decode);
        assert!(
            e.message.contains("`n`") && e.message.contains("lots"),
            "{}",
            e.message
        );
    }

    #[test]
    fn status_classification() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        let e = PollError::from_status("x", reqwest::StatusCode::TOO_MANY_REQUESTS, &h);
        assert_eq!(
            (e.reason, e.retry),
            (
                FailureReason::RateLimited,
                Retry::After(Duration::from_secs(7))
            )
        );
        let e = PollError::from_status("x", reqwest::StatusCode::BAD_GATEWAY, &Default::default());
        assert_eq!(
            (e.reason, e.retry),
            (FailureReason::HttpStatus, Retry::Backoff)
        );
        let e = PollError::from_status("x", reqwest::StatusCode::NOT_FOUND, &Default::default());
        assert_eq!(
            (e.reason, e.retry),
            (FailureReason::HttpStatus, Retry::Never)
        );
    }

    #[test]
    fn base_urls() {
        let url = parse_base_url("http://127.0.0.1:8080/prefix").unwrap();
        assert_eq!(host_header(&url), "127.0.0.1:8080");
        assert_eq!(
            host_header(&parse_base_url("https://cwp.tencentcloudapi.com").unwrap()),
            "cwp.tencentcloudapi.com"
        );
        assert!(parse_base_url("ftp://x").unwrap_err().contains("scheme"));
        assert!(parse_base_url("https://x/?a=1")
            .unwrap_err()
            .contains("query"));
        let e = parse_base_url("https://admin:hunter2@cwp.tencentcloudapi.com").unwrap_err();
        assert!(
            e.contains("user name or password") && !e.contains("hunter2"),
            "{e}"
        );
        assert!(parse_base_url("https://token@x").is_err());
        assert_eq!(
            url_for_message("https://admin:hunter2@x.example/p"),
            "\"https://***@x.example/p\""
        );
        assert_eq!(url_for_message("ht tp://a:b@c"), "\"***@c\"");
        assert_eq!(url_for_message("https://x"), "\"https://x\"");
        assert!(parse_base_url("not a url")
            .unwrap_err()
            .contains("not a URL"));
    }

    #[test]
    fn vendor_names_are_unique() {
        let mut names: Vec<_> = VENDORS.iter().map(|v| v.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), VENDORS.len());
    }
}
