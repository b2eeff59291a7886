//! OAuth 2.0 client credentials (RFC 6749 §4.4): the token request, its error answers, and a
//! token cache that refreshes shortly before expiry, once for all concurrent callers.
//!
//! Shared by every vendor that authenticates this way (Microsoft Graph, and `http_json` accounts
//! with `auth: { oauth2: … }`). The simulator verifies the request independently, from RFC 6749
//! and the Microsoft identity platform's documentation, without this code.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::vendors::client_assertion::{ClientCertificate, ASSERTION_TYPE};
use crate::vendors::settings::lenient;
use crate::vendors::{
    decode_json, retry_after, send, FailureReason, PollContext, PollError, Retry,
};

/// Refresh this long before the token expires, so a poll never starts with a token that dies
/// mid-way (Microsoft recommends five minutes; short-lived tokens use half their lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Used when an answer has no `expires_in` (RFC 6749 makes it optional); an hour is what most
/// servers hand out.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// What a client-credentials token request sends.
pub struct ClientCredentials {
    pub token_url: reqwest::Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Space-separated scopes; `None` sends no `scope` parameter.
    pub scope: Option<String>,
    /// Extra form parameters some servers want (e.g. `audience`).
    pub extra: Vec<(String, String)>,
    /// Send the client id and secret as HTTP basic auth (RFC 6749 §2.3.1's preferred form)
    /// instead of in the form body (what Microsoft's identity platform expects).
    pub basic_auth: bool,
}

struct Cached {
    value: SecretString,
    refresh_at: Instant,
}

/// A token cache: a token is kept until shortly before it expires, and refreshed once for all
/// concurrent callers. Shared by every way of getting a token (client credentials here, an
/// `http_json` account's own token request).
#[derive(Default)]
pub struct TokenCache {
    /// Held across a refresh, which makes refreshes single-flight: concurrent callers wait for
    /// the one in flight and then share its token.
    cache: Mutex<Option<Cached>>,
}

impl TokenCache {
    /// The cached token, unless there is none or it is being refreshed right now (for
    /// [`crate::vendors::Account::secrets`], which must not wait).
    pub fn current(&self) -> Option<SecretString> {
        let cache = self.cache.try_lock().ok()?;
        cache.as_ref().map(|c| c.value.clone())
    }

    /// A valid token: the cached one, or one from `fetch` (the token and its lifetime in
    /// seconds, when the answer gives one) when none is cached, when it is about to expire, or
    /// when `rejected` is the cached one (the API refused it). Comparing with the rejected
    /// token means that two calls that both saw it refused cause one refresh, not two.
    pub async fn get<F, Fut>(
        &self,
        rejected: Option<&SecretString>,
        fetch: F,
    ) -> Result<SecretString, PollError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(SecretString, Option<f64>), PollError>>,
    {
        let mut cached = self.cache.lock().await;
        if let Some(token) = cached.as_ref() {
            let refused =
                rejected.is_some_and(|r| r.expose_secret() == token.value.expose_secret());
            if !refused && Instant::now() < token.refresh_at {
                return Ok(token.value.clone());
            }
        }
        *cached = None;
        let (value, expires_in) = fetch().await?;
        let lifetime = expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| Duration::from_secs_f64(s.min(366.0 * 86400.0)))
            .unwrap_or(DEFAULT_LIFETIME);
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        *cached = Some(Cached {
            value: value.clone(),
            refresh_at: Instant::now() + lifetime - margin,
        });
        Ok(value)
    }
}

/// A client-credentials token source with a cache. Each account owns one.
pub struct TokenSource {
    credentials: ClientCredentials,
    /// Counted under this endpoint name in `quota_exporter_api_requests_total`.
    endpoint: &'static str,
    cache: TokenCache,
    /// Authenticate with a signed client assertion instead of the client secret.
    certificate: Option<ClientCertificate>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::number")]
    expires_in: Option<f64>,
    token_type: Option<String>,
}

/// RFC 6749 §5.2, plus the fields Microsoft adds (`error_codes`, `trace_id`, `correlation_id`).
#[derive(Deserialize, Default)]
struct ErrorAnswer {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<i64>,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
}

impl TokenSource {
    pub fn new(credentials: ClientCredentials, endpoint: &'static str) -> Self {
        Self {
            credentials,
            endpoint,
            cache: TokenCache::default(),
            certificate: None,
        }
    }

    /// Authenticates with a certificate (a JWT client assertion, RFC 7523 §2.2) instead of the
    /// client secret, which is then not sent.
    pub fn with_certificate(mut self, certificate: ClientCertificate) -> Self {
        self.certificate = Some(certificate);
        self
    }

    /// The client secret and the cached token, for [`crate::vendors::Account::secrets`].
    pub fn secrets(&self) -> Vec<SecretString> {
        let mut out = vec![self.credentials.client_secret.clone()];
        out.extend(self.certificate.as_ref().map(ClientCertificate::secret));
        out.extend(self.cache.current());
        out
    }

    pub fn token_url(&self) -> &reqwest::Url {
        &self.credentials.token_url
    }

    /// A valid token: the cached one, or a fresh one when none is cached, when it is about to
    /// expire, or when `rejected` is the cached one (the API refused it). Comparing with the
    /// rejected token means that two calls that both saw it refused cause one refresh, not two.
    pub async fn token(
        &self,
        ctx: &PollContext,
        rejected: Option<&SecretString>,
    ) -> Result<SecretString, PollError> {
        self.cache.get(rejected, || self.fetch(ctx)).await
    }

    async fn fetch(&self, ctx: &PollContext) -> Result<(SecretString, Option<f64>), PollError> {
        let c = &self.credentials;
        let endpoint = self.endpoint;
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        let assertion = match &self.certificate {
            Some(cert) => Some(
                cert.assertion(c.token_url.as_str(), &c.client_id)
                    .map_err(|m| PollError::new(FailureReason::Auth, format!("{endpoint}: {m}")))?,
            ),
            None => None,
        };
        if let Some(assertion) = &assertion {
            form.push(("client_id", &c.client_id));
            form.push(("client_assertion_type", ASSERTION_TYPE));
            form.push(("client_assertion", assertion.expose_secret()));
        } else if !c.basic_auth {
            form.push(("client_id", &c.client_id));
            form.push(("client_secret", c.client_secret.expose_secret()));
        }
        if let Some(scope) = &c.scope {
            form.push(("scope", scope));
        }
        for (k, v) in &c.extra {
            form.push((k, v));
        }
        let mut request = ctx
            .http
            .post(c.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form);
        if c.basic_auth && assertion.is_none() {
            request = request.basic_auth(&c.client_id, Some(c.client_secret.expose_secret()));
        }
        let response = send(ctx, endpoint, request).await?;
        if !response.status.is_success() {
            let answer: ErrorAnswer = serde_json::from_slice(&response.body).unwrap_or_default();
            return Err(classify(
                endpoint,
                response.status,
                &response.headers,
                &answer,
            ));
        }
        let answer: TokenAnswer = decode_json(endpoint, &response.body)?;
        let Some(value) = answer.access_token.filter(|t| !t.is_empty()) else {
            return Err(PollError::new(
                FailureReason::Decode,
                format!("{endpoint}: answer has no access_token"),
            ));
        };
        if let Some(kind) = answer.token_type.as_deref() {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(PollError::new(
                    FailureReason::Auth,
                    format!("{endpoint}: token_type {kind:?} is not a bearer token"),
                ));
            }
        }
        ctx.stats.count_token_refresh();
        Ok((SecretString::from(value), answer.expires_in))
    }
}

/// How a call made with a token failed: the API refused the token (HTTP 401: fetch a new one
/// with [`TokenSource::token`]`(ctx, Some(&refused))` and repeat the call once), or anything else.
pub enum Call {
    TokenRejected(PollError),
    Other(PollError),
}

impl From<PollError> for Call {
    fn from(e: PollError) -> Self {
        Call::Other(e)
    }
}

/// Maps a token endpoint's error answer to a failure. Branches on the RFC 6749 `error` code;
/// the description (Microsoft's `AADSTS…` text) goes into the message as the operator's clue.
fn classify(
    endpoint: &str,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    answer: &ErrorAnswer,
) -> PollError {
    use FailureReason::*;
    if answer.error.is_empty() {
        return PollError::from_status(endpoint, status, headers);
    }
    let mut what = format!("{endpoint}: HTTP {status} {}", answer.error);
    let description = answer.error_description.lines().next().unwrap_or("").trim();
    if !description.is_empty() {
        what.push_str(&format!(" ({description})"));
    }
    if let Some(id) = answer
        .trace_id
        .as_deref()
        .or(answer.correlation_id.as_deref())
    {
        what.push_str(&format!(" [trace id {id}]"));
    }
    let (reason, retry, advice) = match answer.error.as_str() {
        "invalid_client" | "unauthorized_client" => (
            Auth,
            Retry::Never,
            "the client id or credential was refused: check both, and that the secret or certificate has not expired",
        ),
        "invalid_grant" => (
            Auth,
            Retry::Never,
            "the grant was refused: check the client credentials",
        ),
        "invalid_scope" => (
            Permission,
            Retry::Never,
            "the scope was refused: client credentials need a `<resource>/.default` scope",
        ),
        "invalid_request"
            if answer.error_codes.contains(&90002) || answer.error_codes.contains(&900023) =>
        {
            (
                Auth,
                Retry::Never,
                "the tenant was not found: check tenant_id",
            )
        }
        "temporarily_unavailable" | "server_error" => (
            Api,
            match retry_after(headers) {
                Some(d) => Retry::After(d),
                None => Retry::Backoff,
            },
            "the token service is busy; retrying",
        ),
        _ if status.as_u16() == 429 => (
            RateLimited,
            match retry_after(headers) {
                Some(d) => Retry::After(d),
                None => Retry::Backoff,
            },
            "the token service is throttling this client",
        ),
        _ if status.is_server_error() => {
            (Api, Retry::Backoff, "the token service failed; retrying")
        }
        _ => (Auth, Retry::Never, "the token request was refused"),
    };
    PollError::new(reason, format!("{what}: {advice}")).with_retry(retry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> ErrorAnswer {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn token_errors_are_classified_by_code() {
        let h = reqwest::header::HeaderMap::new();
        let e = classify(
            "token",
            reqwest::StatusCode::UNAUTHORIZED,
            &h,
            &answer(
                r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x","error_codes":[7000215],"trace_id":"t-1"}"#,
            ),
        );
        assert_eq!((e.reason, e.retry), (FailureReason::Auth, Retry::Never));
        assert!(
            e.message.contains("AADSTS7000215") && e.message.contains("t-1"),
            "{}",
            e.message
        );
        assert!(
            !e.message.contains("Trace ID: x"),
            "only the first line: {}",
            e.message
        );
        let e = classify(
            "token",
            reqwest::StatusCode::BAD_REQUEST,
            &h,
            &answer(r#"{"error":"invalid_scope"}"#),
        );
        assert_eq!(e.reason, FailureReason::Permission);
        let e = classify(
            "token",
            reqwest::StatusCode::BAD_REQUEST,
            &h,
            &answer(r#"{"error":"invalid_request","error_codes":[900023]}"#),
        );
        assert!(e.message.contains("tenant_id"), "{}", e.message);
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "9".parse().unwrap());
        let e = classify(
            "token",
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            &h,
            &answer(r#"{"error":"slow_down"}"#),
        );
        assert_eq!(
            (e.reason, e.retry),
            (
                FailureReason::RateLimited,
                Retry::After(Duration::from_secs(9))
            )
        );
        let e = classify(
            "token",
            reqwest::StatusCode::BAD_GATEWAY,
            &h,
            &ErrorAnswer::default(),
        );
        assert_eq!(
            (e.reason, e.retry),
            (FailureReason::HttpStatus, Retry::Backoff)
        );
    }
}
