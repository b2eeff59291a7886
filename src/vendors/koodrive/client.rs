//! KooDrive HTTP calls: two `GET`s, authenticated by app signature or by a bearer token, each
//! with a fresh `X-Traceid` that goes into every failure message (vendor support asks for it).

use std::time::{Duration, SystemTime};

use rand::distr::{Alphanumeric, SampleString};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, HOST};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use super::model::{Envelope, Status};
use super::sign;
use crate::vendors::settings::SecretRef;
use crate::vendors::settings::{host_header, parse_base_url};
use crate::vendors::{
    decode_json, retry_after, send, FailureReason, PollContext, PollError, Retry,
};

/// KooDrive wants `X-Traceid`, when sent, to be exactly this long.
pub const TRACE_ID_LEN: usize = 58;

/// How far in the past `X-Date` is set. KooDrive refuses a date more than 15 minutes old or in
/// the future at all: signing "now" fails whenever this host's clock runs a second ahead of
/// KooDrive's, signing a little earlier costs nothing.
pub const X_DATE_LAG: Duration = Duration::from_secs(30);

/// How the account proves who it is.
pub enum Credentials {
    /// App signature: HMAC-SHA256 over the request with the app secret.
    /// The secret is resolved on every poll, like the token, so a rotated one needs no reload.
    App {
        app_id: String,
        app_secret: SecretRef,
    },
    /// A token obtained elsewhere; the reference is resolved on every poll so that an external
    /// refresher can rotate the file or variable.
    Bearer(SecretRef),
}

/// The credentials of one poll, with the bearer token read.
pub enum Auth<'a> {
    App {
        app_id: &'a str,
        app_secret: SecretString,
    },
    Bearer(SecretString),
}

pub struct Client {
    /// Without a trailing `/`.
    base_url: String,
    /// The base URL's path (a proxy's prefix), signed as part of each request's path.
    path_prefix: String,
    /// The `Host` header, set explicitly so the value signed is the value sent.
    host: String,
    user_id: Option<String>,
    credentials: Credentials,
    /// Send a fresh `X-Traceid` with each request (and name it in failures).
    pub send_trace_id: bool,
}

impl Client {
    pub fn new(
        base_url: &str,
        user_id: Option<String>,
        credentials: Credentials,
    ) -> Result<Self, String> {
        let url = parse_base_url(base_url)?;
        let host = host_header(&url);
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            path_prefix: url.path().trim_end_matches('/').to_owned(),
            host,
            user_id,
            credentials,
            send_trace_id: true,
        })
    }

    /// The app secret or bearer token, read again.
    pub fn secrets(&self) -> Vec<SecretString> {
        match &self.credentials {
            Credentials::App { app_secret, .. } => app_secret.resolve().into_iter().collect(),
            Credentials::Bearer(token) => token.resolve().into_iter().collect(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// How the account authenticates, for `describe()`: never a secret.
    pub fn auth_description(&self) -> String {
        match &self.credentials {
            Credentials::App { app_id, .. } => {
                format!(
                    "auth=app signature, app_id={app_id}, user_id={}",
                    self.user_id.as_deref().unwrap_or("")
                )
            }
            Credentials::Bearer(token) => format!("auth=bearer token ({token:?})"),
        }
    }

    /// The credentials for one poll. A bearer token is read from its file or variable here, on
    /// every poll, so a rotated token is picked up without a reload.
    pub fn auth(&self) -> Result<Auth<'_>, PollError> {
        match &self.credentials {
            Credentials::App { app_id, app_secret } => app_secret
                .resolve()
                .map(|app_secret| Auth::App { app_id, app_secret })
                .map_err(|e| {
                    PollError::new(
                        FailureReason::Auth,
                        format!("app_secret: {e}; the secret is re-read on every poll"),
                    )
                }),
            Credentials::Bearer(token) => read_bearer(token).map(Auth::Bearer).map_err(|e| {
                PollError::new(
                    FailureReason::Auth,
                    format!("bearer_token: {e}; the token is re-read on every poll"),
                )
            }),
        }
    }

    /// `GET {base_url}{path}` and the `data` of its answer.
    pub async fn get<T: DeserializeOwned>(
        &self,
        ctx: &PollContext,
        auth: &Auth<'_>,
        endpoint: &'static str,
        path: &str,
    ) -> Result<T, PollError> {
        let trace_id = self
            .send_trace_id
            .then(|| Alphanumeric.sample_string(&mut rand::rng(), TRACE_ID_LEN));
        self.get_traced(ctx, auth, endpoint, path, trace_id.as_deref())
            .await
            .map_err(|mut e| {
                if let Some(trace_id) = &trace_id {
                    e.message.push_str(&format!(" [X-Traceid {trace_id}]"));
                }
                e
            })
    }

    async fn get_traced<T: DeserializeOwned>(
        &self,
        ctx: &PollContext,
        auth: &Auth<'_>,
        endpoint: &'static str,
        path: &str,
        trace_id: Option<&str>,
    ) -> Result<T, PollError> {
        let now = SystemTime::now();
        let x_date = sign::x_date(now.checked_sub(X_DATE_LAG).unwrap_or(now));
        let mut request = ctx
            .http
            .get(format!("{}{path}", self.base_url))
            .header(HOST, &self.host)
            .header(ACCEPT, "application/json")
            .header("X-Date", &x_date);
        if let Some(trace_id) = trace_id {
            request = request.header("X-Traceid", trace_id);
        }
        if let Some(user_id) = &self.user_id {
            request = request.header("X-User-Id", user_id);
        }
        let authorization = match auth {
            Auth::App { app_id, app_secret } => {
                let full_path = format!("{}{path}", self.path_prefix);
                let user_id = self.user_id.as_deref().unwrap_or_default();
                let headers = [
                    ("host", self.host.as_str()),
                    ("x-date", x_date.as_str()),
                    ("x-user-id", user_id),
                ];
                let signed = sign::sign(
                    &sign::Request {
                        method: "GET",
                        path: &full_path,
                        query: &[],
                        headers: &headers,
                        body: b"",
                    },
                    app_secret.expose_secret().as_bytes(),
                );
                signed.authorization(app_id)
            }
            Auth::Bearer(token) => format!("Bearer {}", token.expose_secret()),
        };
        let mut authorization = HeaderValue::from_str(&authorization).map_err(|_| {
            PollError::new(
                FailureReason::Auth,
                format!("{endpoint}: the credentials contain characters not allowed in a header"),
            )
        })?;
        authorization.set_sensitive(true);
        let response = send(ctx, endpoint, request.header(AUTHORIZATION, authorization)).await?;

        let status: Option<Status> = serde_json::from_slice(&response.body).ok();
        if !response.status.is_success() {
            return Err(classify_status(
                endpoint,
                response.status,
                &response.headers,
                status.as_ref(),
                auth,
            ));
        }
        let status: Status = decode_json(endpoint, &response.body)?;
        if !status.is_success() {
            return Err(classify_code(endpoint, &status, &response.headers));
        }
        let envelope: Envelope<T> = decode_json(endpoint, &response.body)?;
        envelope.data.ok_or_else(|| {
            PollError::new(
                FailureReason::Decode,
                format!("{endpoint}: answer has no data"),
            )
        })
    }
}

/// Reads a bearer token. A file written by a tool that prints the whole header value
/// (`Bearer eyJ…`) works as well as one holding the bare token.
fn read_bearer(token: &SecretRef) -> Result<SecretString, String> {
    let value = token.resolve()?;
    let raw = value.expose_secret();
    let bare = match (raw.get(..6), raw.get(6..)) {
        (Some(word), Some(rest))
            if word.eq_ignore_ascii_case("bearer")
                && (rest.is_empty() || rest.starts_with(char::is_whitespace)) =>
        {
            rest.trim()
        }
        _ => return Ok(value),
    };
    if bare.is_empty() {
        return Err("holds only the word Bearer, no token".to_owned());
    }
    Ok(SecretString::from(bare.to_owned()))
}

/// What the vendor said, for messages: KooDrive's `code (msg)` or the gateway's
/// `error_code (error_msg)`, and the gateway's `request_id` (support asks for it).
fn vendor_says(status: Option<&Status>) -> String {
    let Some(s) = status else {
        return String::new();
    };
    let mut out = match (&s.error_code, &s.code, &s.msg) {
        (Some(code), _, _) => format!(
            ", API gateway error {code} ({})",
            s.error_msg.as_deref().unwrap_or_default().trim()
        ),
        (None, Some(code), msg) => format!(
            ", KooDrive code {code} ({})",
            msg.as_deref().unwrap_or_default().trim()
        ),
        (None, None, Some(msg)) => format!(", KooDrive says {:?}", msg.trim()),
        (None, None, None) => String::new(),
    };
    if let Some(id) = &s.request_id {
        out.push_str(&format!(", request_id {id}"));
    }
    out
}

/// What a Huawei API gateway code (`APIGW.0303`, `APIG.0303`) means for us.
#[derive(Debug, PartialEq)]
enum Gateway {
    /// 0301 IAM authentication, 0303 app authentication, 0305 authentication information
    /// incorrect; 0307 the token must be updated.
    Auth,
    /// 0302 IAM user, 0304 app, 0306 access to the API: not authorised.
    Permission,
    /// 0308 the throttling threshold has been reached.
    Throttled,
    Other,
}

fn gateway(status: Option<&Status>) -> Option<Gateway> {
    let status = status?;
    let code = status.gateway_code()?;
    let number = code.rsplit('.').next().unwrap_or_default();
    let said = status
        .error_msg
        .as_deref()
        .or(status.msg.as_deref())
        .unwrap_or_default()
        .to_ascii_lowercase();
    Some(match number {
        "0301" | "0303" | "0305" | "0307" => Gateway::Auth,
        "0302" | "0304" | "0306" => Gateway::Permission,
        "0308" => Gateway::Throttled,
        _ if said.contains("throttl") => Gateway::Throttled,
        _ => Gateway::Other,
    })
}

fn rate_limited(message: String, headers: &reqwest::header::HeaderMap) -> PollError {
    PollError::new(FailureReason::RateLimited, message)
        .with_retry(retry_after(headers).map_or(Retry::Backoff, Retry::After))
}

/// Classifies an answer with an HTTP error status. Only the gateway's authentication codes (and a
/// bare 401) are `auth`: KooDrive answers its own business errors with HTTP 400 too
/// (`13000102 Verify parameters failed`), and those are `api`.
pub fn classify_status(
    endpoint: &str,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    envelope: Option<&Status>,
    auth: &Auth<'_>,
) -> PollError {
    let what = format!("{endpoint}: HTTP {status}{}", vendor_says(envelope));
    let gateway = gateway(envelope);
    if gateway == Some(Gateway::Throttled) || status.as_u16() == 429 {
        return rate_limited(
            format!("{what}: KooDrive's API gateway is throttling this app; backing off"),
            headers,
        );
    }
    let permission = || {
        PollError::new(
            FailureReason::Permission,
            format!("{what}: this app or user may not call the management API; check the app's API authorisation and that user_id is a tenant admin"),
        )
    };
    match (gateway, status.as_u16()) {
        (Some(Gateway::Auth), _) | (None, 401) => {
            let said = envelope.map(|s| {
                [&s.code, &s.msg, &s.error_code, &s.error_msg]
                    .iter()
                    .filter_map(|v| v.as_deref())
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_ascii_lowercase()
            });
            let about_time = said.is_some_and(|s| {
                ["date", "time", "expire", "clock", "skew"]
                    .iter()
                    .any(|w| s.contains(w))
            });
            let advice = match auth {
                Auth::App { .. } if about_time => {
                    "X-Date rejected: KooDrive wants the request time within 15 minutes of its clock and not in the future; check this host's clock (NTP)"
                }
                Auth::App { .. } => {
                    "app signature rejected: check app_id, app_secret and user_id (the tenant admin's user id); if they are right, check this host's clock (X-Date must be within 15 minutes of KooDrive's and not in the future)"
                }
                Auth::Bearer(_) => {
                    "bearer token rejected (expired or revoked?): check that whatever refreshes bearer_token is running; the token is re-read on every poll"
                }
            };
            PollError::new(FailureReason::Auth, format!("{what}: {advice}"))
        }
        (Some(Gateway::Permission), _) | (None, 403) => permission(),
        (_, 503) if retry_after(headers).is_some() => {
            PollError::new(FailureReason::HttpStatus, what)
                .with_retry(Retry::After(retry_after(headers).unwrap_or_default()))
        }
        (_, 500..=599) => {
            PollError::new(FailureReason::HttpStatus, what).with_retry(Retry::Backoff)
        }
        (None, 400) if envelope.is_some_and(|s| s.code.is_some()) => PollError::new(
            FailureReason::Api,
            format!("{what}: KooDrive refused the request"),
        ),
        _ => PollError::new(FailureReason::HttpStatus, what),
    }
}

/// Classifies an HTTP 200 answer whose `code` is not 0.
pub fn classify_code(
    endpoint: &str,
    status: &Status,
    headers: &reqwest::header::HeaderMap,
) -> PollError {
    let what = format!("{endpoint}: KooDrive error{}", vendor_says(Some(status)));
    if gateway(Some(status)) == Some(Gateway::Throttled) {
        return rate_limited(
            format!("{what}: KooDrive's API gateway is throttling this app; backing off"),
            headers,
        );
    }
    PollError::new(FailureReason::Api, what)
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;

    use super::*;

    fn status(code: &str, msg: &str) -> Status {
        Status {
            code: Some(code.to_owned()),
            msg: Some(msg.to_owned()),
            ..Default::default()
        }
    }

    /// The API gateway's envelope.
    fn apigw(code: &str, msg: &str) -> Status {
        Status {
            error_code: Some(code.to_owned()),
            error_msg: Some(msg.to_owned()),
            request_id: Some("3a0e7c2bd4a54d6c9c3b1f3e6f8e2a10".to_owned()),
            ..Default::default()
        }
    }

    #[test]
    fn http_statuses_and_codes_map_to_reasons() {
        let secret = SecretString::from("app-secret-value");
        let app = Auth::App {
            app_id: "a",
            app_secret: secret,
        };
        let none = Default::default();
        let s = |code: u16, env: Option<&Status>| {
            classify_status(
                "service",
                StatusCode::from_u16(code).unwrap(),
                &none,
                env,
                &app,
            )
        };
        use FailureReason::{Api, HttpStatus, Permission, RateLimited};
        // A business error answered with HTTP 400 is not an authentication failure.
        let e = s(400, Some(&status("13000102", "Verify parameters failed")));
        assert_eq!((e.reason, e.retry), (Api, Retry::Never), "{}", e.message);
        assert!(e.message.contains("13000102"), "{}", e.message);
        assert_eq!(s(400, None).reason, HttpStatus);
        // The gateway's authentication codes are, in either envelope and at 400 or 401.
        for code in ["APIGW.0301", "APIGW.0303", "APIG.0305", "APIGW.0307"] {
            for http in [400, 401] {
                let e = s(
                    http,
                    Some(&apigw(code, "Incorrect app authentication information")),
                );
                assert_eq!(e.reason, FailureReason::Auth, "{code} {http}");
                assert!(
                    e.message.contains(code)
                        && e.message
                            .contains("request_id 3a0e7c2bd4a54d6c9c3b1f3e6f8e2a10"),
                    "{}",
                    e.message
                );
            }
            assert_eq!(s(401, Some(&status(code, "x"))).reason, FailureReason::Auth);
        }
        for code in ["APIGW.0302", "APIGW.0304", "APIGW.0306"] {
            assert_eq!(
                s(403, Some(&apigw(code, "not authorized"))).reason,
                Permission
            );
        }
        let e = s(
            429,
            Some(&apigw(
                "APIGW.0308",
                "The throttling threshold has been reached",
            )),
        );
        assert_eq!(e.reason, RateLimited);
        assert!(e.message.contains("request_id 3a0e"), "{}", e.message);
        assert_eq!(s(401, None).reason, FailureReason::Auth);
        assert_eq!(s(403, None).reason, Permission);
        assert_eq!(
            (s(429, None).reason, s(429, None).retry),
            (RateLimited, Retry::Backoff)
        );
        let throttled = s(
            403,
            Some(&status(
                "APIGW.0308",
                "The throttling threshold has been reached",
            )),
        );
        assert_eq!(throttled.reason, RateLimited);
        assert_eq!(
            (s(503, None).reason, s(503, None).retry),
            (HttpStatus, Retry::Backoff)
        );
        assert_eq!(
            (s(404, None).reason, s(404, None).retry),
            (HttpStatus, Retry::Never)
        );

        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        let e = classify_status("service", StatusCode::TOO_MANY_REQUESTS, &h, None, &app);
        assert_eq!(e.retry, Retry::After(std::time::Duration::from_secs(3)));

        let e = classify_code("quotaUsed", &status("31001", "tenant not found"), &none);
        assert_eq!((e.reason, e.retry), (Api, Retry::Never));
        assert!(
            e.message.contains("31001") && e.message.contains("tenant not found"),
            "{}",
            e.message
        );
        assert_eq!(
            classify_code("quotaUsed", &status("APIGW.0308", "throttled"), &h).retry,
            Retry::After(std::time::Duration::from_secs(3))
        );
    }

    #[test]
    fn auth_failures_say_what_to_check() {
        let secret = SecretString::from("app-secret-value");
        let app = Auth::App {
            app_id: "a",
            app_secret: secret,
        };
        let none = Default::default();
        let e = classify_status(
            "quotaUsed",
            StatusCode::UNAUTHORIZED,
            &none,
            Some(&status("APIGW.0303", "X-Date expired")),
            &app,
        );
        assert!(
            e.message.contains("X-Date rejected") && e.message.contains("clock"),
            "{}",
            e.message
        );
        let e = classify_status(
            "quotaUsed",
            StatusCode::UNAUTHORIZED,
            &none,
            Some(&status("APIGW.0303", "verify signature failed")),
            &app,
        );
        assert!(
            e.message.contains("app_secret") && e.message.contains("clock"),
            "{}",
            e.message
        );
        let bearer = Auth::Bearer(SecretString::from("tok"));
        let e = classify_status("quotaUsed", StatusCode::UNAUTHORIZED, &none, None, &bearer);
        assert!(e.message.contains("bearer token rejected"), "{}", e.message);
    }

    #[test]
    fn a_bearer_prefix_in_the_token_file_is_dropped() {
        for (raw, token) in [
            ("tok-1", "tok-1"),
            ("Bearer tok-1", "tok-1"),
            ("bearer   tok-1\n", "tok-1"),
            ("Bearerish", "Bearerish"),
        ] {
            let t = read_bearer(&SecretRef::Inline(raw.into())).unwrap();
            assert_eq!(t.expose_secret(), token, "{raw:?}");
        }
        assert!(read_bearer(&SecretRef::Inline("Bearer  ".into())).is_err());
    }

    #[test]
    fn secrets_are_declared_whatever_their_length() {
        let c = Client::new(
            "http://127.0.0.1:8080",
            None,
            Credentials::Bearer(SecretRef::Inline("tok-123456".into())),
        )
        .unwrap();
        assert_eq!(
            crate::redact::scrub("auth failed for Bearer tok-123456", &c.secrets()),
            "auth failed for Bearer <redacted>"
        );
        let c = Client::new(
            "http://127.0.0.1:8080",
            None,
            Credentials::App {
                app_id: "id".into(),
                app_secret: SecretRef::Inline("a".into()),
            },
        )
        .unwrap();
        assert_eq!(crate::redact::scrub("a b", &c.secrets()), "<redacted> b");
    }

    #[test]
    fn base_url_gives_host_and_prefix() {
        let c = Client::new(
            "http://127.0.0.1:8080/proxy/",
            None,
            Credentials::Bearer(SecretRef::Inline("t".into())),
        )
        .unwrap();
        assert_eq!(
            (c.host.as_str(), c.path_prefix.as_str(), c.base_url()),
            ("127.0.0.1:8080", "/proxy", "http://127.0.0.1:8080/proxy")
        );
        let c = Client::new(
            "https://cn.myhuaweicloud-koodrive.com",
            None,
            Credentials::Bearer(SecretRef::Inline("t".into())),
        )
        .unwrap();
        assert_eq!(
            (c.host.as_str(), c.path_prefix.as_str()),
            ("cn.myhuaweicloud-koodrive.com", "")
        );
        assert!(Client::new(
            "ftp://x",
            None,
            Credentials::Bearer(SecretRef::Inline("t".into()))
        )
        .is_err());
    }
}
