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
mod tests;
