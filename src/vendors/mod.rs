//! Vendors: the one interface every vendor implements, and the list of vendors.
//!
//! A vendor module knows one vendor's protocol: its account settings, its HTTP calls (auth,
//! tokens, signing), its response models and the mapping from responses to [`Samples`]. It never
//! touches timing, retries, the store or the server: it returns a [`PollError`] that says what
//! went wrong and whether trying again can help, and the scheduler decides what to do.
//!
//! Adding a vendor: a new folder here with a `pub static VENDOR: VendorDef`, one line in
//! [`VENDORS`], and its side in the simulator (`docs/adding-a-vendor.md` lists the rest).
//! `quota-exporter --print-catalogue` prints this list as JSON (see [`crate::catalogue`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::de::DeserializeOwned;

use self::settings::{FieldError, ParseContext};
use crate::exposition::{MetricDesc, Samples};
pub use crate::outcome::{CallStats, FailureReason, PollError, Retry};

pub mod answers;
pub mod client_assertion;
pub mod dates;
pub mod guard;
pub mod http;
pub mod http_json;
pub mod koodrive;
pub mod limiter;
pub mod microsoft365;
pub mod oauth2;
pub mod settings;
pub mod tencent;
pub mod wecom;

pub use self::http::{send, HttpResponse};

/// Every vendor the exporter knows, in the order they appear in docs and output.
pub static VENDORS: &[&VendorDef] = &[
    &wecom::VENDOR,
    &koodrive::VENDOR,
    &tencent::VENDOR,
    &microsoft365::VENDOR,
    &http_json::VENDOR,
];

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
    /// Every sample name of the vendor starts with this, e.g. `wecom_wedrive_` (the checks of
    /// rules and dashboards tell the vendor of a series by it).
    pub metric_prefix: &'static str,
    /// Its Grafana dashboard, a file under `dashboards/`.
    pub dashboard: &'static str,
    /// Its page under `docs/vendors/`, if it has one (else the README documents it).
    pub docs_page: Option<&'static str>,
}

pub type PollFuture<'a> = Pin<Box<dyn Future<Output = Result<Samples, PollError>> + Send + 'a>>;
pub type ExplainFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<String>, PollError>> + Send + 'a>>;

/// One configured vendor account: polls the vendor once per call.
pub trait Account: Send + Sync + 'static {
    /// Performs one poll: every call the account's metrics need. Must not retry on its own,
    /// except where the protocol demands it (an expired token is refreshed and the call repeated
    /// once); the scheduler owns retries.
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> PollFuture<'a>;

    /// One line about the account for `--config.check` and the landing page. Never a secret.
    fn describe(&self) -> String;

    /// What one poll extracts, a line per value, for `--config.check --once`. By default the
    /// samples a poll produced; `http_json` shows each output's path, the answer's value and
    /// its conversion.
    fn explain<'a>(&'a self, ctx: &'a PollContext) -> ExplainFuture<'a> {
        Box::pin(async move {
            let samples = self.poll(ctx).await?;
            guard::check(&samples)?;
            Ok(sample_lines(&samples))
        })
    }

    /// Every secret value the account uses now — configured secrets (read again, so a rotated
    /// one is included) and tokens it holds — whatever their length. The scheduler removes each
    /// from every failure message before it is logged or stored ([`crate::redact::scrub`]);
    /// vendors do not redact messages themselves.
    fn secrets(&self) -> Vec<SecretString>;

    /// Accounts with the same key share one request-rate limiter ([`PollContext::limiters`]),
    /// e.g. Tencent Cloud's per-SecretId limit. `None`: the vendor limits no rate.
    fn rate_limit_key(&self) -> Option<String> {
        None
    }
}

/// `name{label="value"} 1.5`, a line per sample.
pub fn sample_lines(samples: &Samples) -> Vec<String> {
    let mut lines = Vec::new();
    for family in samples.families() {
        for s in family.samples {
            let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            if labels.is_empty() {
                lines.push(format!("{} {}", family.desc.name, s.value));
            } else {
                lines.push(format!(
                    "{}{{{}}} {}",
                    family.desc.name,
                    labels.join(","),
                    s.value
                ));
            }
        }
    }
    lines
}

/// What a poll may use: the account's HTTP client (shared by accounts with the same TLS and proxy
/// settings), its answer size cap, and its call counters.
#[derive(Clone)]
pub struct PollContext {
    pub http: reqwest::Client,
    /// Answers larger than this fail the poll (see [`http::send`]).
    pub max_response_bytes: u64,
    pub stats: Arc<CallStats>,
    /// Rate limiters shared by accounts with the same [`Account::rate_limit_key`]; owned by the
    /// scheduler's supervisor, kept across reloads.
    pub limiters: Arc<limiter::Limiters>,
    /// 0 for a poll's first attempt, then 1, 2… for its retries: a vendor that makes several
    /// metered calls a poll can keep what an earlier attempt of the same poll already fetched.
    pub attempt: u32,
}

impl PollContext {
    /// A context with the default client settings and size cap (tests, `--once`).
    pub fn new(http: reqwest::Client, stats: Arc<CallStats>) -> Self {
        Self {
            http,
            max_response_bytes: http::DEFAULT_MAX_RESPONSE_BYTES,
            stats,
            attempt: 0,
            limiters: Default::default(),
        }
    }
}

/// Classification of HTTP answers is the vendors' business, so it lives with them.
impl PollError {
    /// Classifies an HTTP status the vendor's own error envelope did not explain.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::settings::{host_header, lenient, parse_base_url, url_for_message};

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
