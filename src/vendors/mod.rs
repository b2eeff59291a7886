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

pub mod guard;
pub mod http;
pub mod koodrive;
pub mod tencent;
pub mod wecom;

pub use self::http::{send, HttpResponse};

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

/// What a poll may use: the account's HTTP client (shared by accounts with the same TLS and proxy
/// settings), its answer size cap, and its call counters.
#[derive(Clone)]
pub struct PollContext {
    pub http: reqwest::Client,
    /// Answers larger than this fail the poll (see [`http::send`]).
    pub max_response_bytes: u64,
    pub stats: Arc<CallStats>,
}

impl PollContext {
    /// A context with the default client settings and size cap (tests, `--once`).
    pub fn new(http: reqwest::Client, stats: Arc<CallStats>) -> Self {
        Self {
            http,
            max_response_bytes: http::DEFAULT_MAX_RESPONSE_BYTES,
            stats,
        }
    }
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

    /// Classifies an HTTP status the vendor's own error envelope did not explain. A 429 or 503
    /// with `Retry-After` is retried (or the next poll held) after what it says.
    pub fn from_status(
        endpoint: &str,
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
    ) -> Self {
        let message = format!("{endpoint}: HTTP {status}");
        let after = retry_after(headers);
        match (status.as_u16(), after) {
            (429, Some(d)) => {
                Self::new(FailureReason::RateLimited, message).with_retry(Retry::After(d))
            }
            (429, None) => {
                Self::new(FailureReason::RateLimited, message).with_retry(Retry::Backoff)
            }
            (503, Some(d)) => {
                Self::new(FailureReason::HttpStatus, message).with_retry(Retry::After(d))
            }
            (500..=599, _) => {
                Self::new(FailureReason::HttpStatus, message).with_retry(Retry::Backoff)
            }
            _ => Self::new(FailureReason::HttpStatus, message),
        }
    }
}

/// The longest `Retry-After` honoured: a vendor (or a proxy) asking for more is asked again after
/// this long, so a typo on its side cannot stop polling for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);

/// Reads a `Retry-After` header, in either of its forms: seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2026 07:28:00 GMT`, relative to now; a date in the past means now). Capped at
/// [`MAX_RETRY_AFTER`].
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Decodes a JSON body, naming the field that did not fit.
///
/// Every vendor answer is a JSON object: anything else (`[]`, a string, an HTML page) is refused
/// here, so a list cannot pass as an object whose fields are all absent.
pub fn decode_json<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T, PollError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        first => {
            let found = match first {
                None => "an empty body",
                Some(b'[') => "a list",
                Some(b'<') => "HTML or XML",
                Some(b'"') => "a string",
                Some(b'0'..=b'9' | b'-') => "a number",
                Some(b'n' | b't' | b'f') => "null or a boolean",
                Some(_) => "something that is not JSON",
            };
            return Err(PollError::new(
                FailureReason::Decode,
                format!("{endpoint}: malformed response: expected a JSON object, found {found}"),
            ));
        }
    }
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

    /// Accepts only a JSON object (`null` or absent gives `None`): for nested data such as
    /// KooDrive's `data`, where a list (`data: []`) would otherwise pass as an object with every
    /// field absent. Field paths inside stay in decode errors.
    pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        struct Opt<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Opt<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                required(d).map(Some)
            }
        }
        d.deserialize_option(Opt(std::marker::PhantomData))
    }

    /// Like [`object`], for a value that must be there.
    pub fn required<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
        struct Obj<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Obj<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Obj(std::marker::PhantomData))
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
    fn retry_after_in_seconds_or_as_a_date_on_429_and_503() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "3600".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3600)));
        let e = PollError::from_status("x", reqwest::StatusCode::SERVICE_UNAVAILABLE, &h);
        assert_eq!(
            (e.reason, e.retry),
            (
                FailureReason::HttpStatus,
                Retry::After(Duration::from_secs(3600))
            )
        );
        let at = std::time::SystemTime::now() + Duration::from_secs(600);
        h.insert(
            reqwest::header::RETRY_AFTER,
            httpdate::fmt_http_date(at).parse().unwrap(),
        );
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(590) && d <= Duration::from_secs(600),
            "{d:?}"
        );
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&h),
            Some(Duration::ZERO),
            "a past date means now"
        );
        h.insert(
            reqwest::header::RETRY_AFTER,
            "99999999999999".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER), "capped");
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[derive(Debug, serde::Deserialize)]
    struct Wrapped {
        #[serde(default, deserialize_with = "lenient::object")]
        data: Option<Lenient>,
    }

    #[test]
    fn lists_never_pass_as_objects() {
        for body in [
            &b"[]"[..],
            b" [1]",
            b"\"x\"",
            b"null",
            b"",
            b"<html>",
            b"42",
        ] {
            let e = decode_json::<Lenient>("ep", body).unwrap_err();
            assert_eq!(e.reason, FailureReason::Decode);
            assert!(
                e.message.contains("expected a JSON object"),
                "{}",
                e.message
            );
        }
        let e = decode_json::<Wrapped>("ep", br#"{"data":[]}"#).unwrap_err();
        assert!(e.message.contains("`data`"), "{}", e.message);
        let e = decode_json::<Wrapped>("ep", br#"{"data":{"n":{"x":1}}}"#).unwrap_err();
        assert!(e.message.contains("`data.n`"), "{}", e.message);
        let w: Wrapped = decode_json("ep", br#"{"data":{"n":"5"}}"#).unwrap();
        assert_eq!(w.data.unwrap().n, Some(5.0));
        assert!(decode_json::<Wrapped>("ep", br#"{"data":null}"#)
            .unwrap()
            .data
            .is_none());
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
