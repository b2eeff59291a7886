//! The request of an `http_json` account: built from its settings (query, headers, auth, body),
//! sent through the bounded HTTP path, and its answer or error turned into JSON or a failure.

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{Auth, HttpJson};
use crate::vendors::oauth2::Call;
use crate::vendors::{send, FailureReason, PollContext, PollError};

/// The start of an error answer, on one line: what the API said (GitHub's `message`, Jira's
/// `errorMessages`), for the operator.
pub(super) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect();
    if line.is_empty() {
        String::new()
    } else {
        format!(": {line}")
    }
}

impl HttpJson {
    /// `GET https://host/path`: how messages name the request (never with its query).
    pub(super) fn what(&self) -> String {
        format!("{} {}", self.method, self.url)
    }

    fn secret_error(&self, key: &str, e: String) -> PollError {
        PollError::new(
            FailureReason::Auth,
            format!("{key}: {e}; secrets are re-read on every poll"),
        )
    }

    async fn call(&self, ctx: &PollContext, token: Option<&SecretString>) -> Result<Value, Call> {
        let mut url = self.url.clone();
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &self.query {
                let v = v
                    .resolve()
                    .map_err(|e| self.secret_error(&format!("query.{k}"), e))?;
                pairs.append_pair(k, v.expose_secret());
            }
        }
        let mut request = ctx.http.request(self.method.clone(), url);
        if !self.headers.iter().any(|(name, _)| name == ACCEPT) {
            request = request.header(ACCEPT, "application/json");
        }
        for (name, value) in &self.headers {
            let v = value
                .resolve()
                .map_err(|e| self.secret_error(&format!("headers.{name}"), e))?;
            let v = HeaderValue::from_str(v.expose_secret()).map_err(|_| {
                self.secret_error(
                    &format!("headers.{name}"),
                    "the value is not a valid header value".into(),
                )
            })?;
            request = request.header(name, v);
        }
        let credential = |key: &str, value: String| {
            let mut v = HeaderValue::from_str(&value).map_err(|_| {
                self.secret_error(key, "the value is not a valid header value".into())
            })?;
            v.set_sensitive(true);
            Ok::<_, PollError>(v)
        };
        request = match (&self.auth, token) {
            (Auth::OAuth2(_) | Auth::TokenRequest(_), Some(t)) => request.header(
                AUTHORIZATION,
                credential("auth.oauth2", format!("Bearer {}", t.expose_secret()))?,
            ),
            (Auth::Bearer(r), _) => {
                let t = r
                    .resolve()
                    .map_err(|e| self.secret_error("auth.bearer", e))?;
                request.header(
                    AUTHORIZATION,
                    credential("auth.bearer", format!("Bearer {}", t.expose_secret()))?,
                )
            }
            (Auth::Basic { username, password }, _) => {
                let p = password
                    .resolve()
                    .map_err(|e| self.secret_error("auth.basic.password", e))?;
                request.basic_auth(username, Some(p.expose_secret()))
            }
            (Auth::Header { name, value }, _) => {
                let v = value
                    .resolve()
                    .map_err(|e| self.secret_error("auth.header.value", e))?;
                request.header(
                    name,
                    credential("auth.header.value", v.expose_secret().to_owned())?,
                )
            }
            _ => request,
        };
        if let Some(body) = &self.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = send(ctx, "request", request).await?;
        let status = response.status;
        if status.is_success() {
            return serde_json::from_slice(&response.body).map_err(|e| {
                let found = match response.body.iter().find(|b| !b.is_ascii_whitespace()) {
                    None => " (an empty body)".to_owned(),
                    Some(b'<') => " (HTML or XML)".to_owned(),
                    _ => String::new(),
                };
                Call::Other(PollError::new(
                    FailureReason::Decode,
                    format!("{}: malformed response: not JSON{found}: {e}", self.what()),
                ))
            });
        }
        let said = excerpt(&response.body);
        let e = match status.as_u16() {
            401 => PollError::new(
                FailureReason::Auth,
                format!(
                    "{}: HTTP {status}{said}: the credentials were refused; check `auth`",
                    self.what()
                ),
            ),
            403 => PollError::new(
                FailureReason::Permission,
                format!(
                    "{}: HTTP {status}{said}: the credentials lack a permission or scope this request needs",
                    self.what()
                ),
            ),
            _ => {
                let e = PollError::from_status(&self.what(), status, &response.headers);
                PollError::new(e.reason, format!("{}{said}", e.message)).with_retry(e.retry)
            }
        };
        // A token the API refuses is fetched again once. Feishu answers an expired tenant token
        // with HTTP 400 (code 99991663) rather than 401.
        let refused = match self.auth {
            Auth::OAuth2(_) => status.as_u16() == 401,
            Auth::TokenRequest(_) => matches!(status.as_u16(), 400 | 401),
            _ => false,
        };
        if refused {
            Err(Call::TokenRejected(e))
        } else {
            Err(Call::Other(e))
        }
    }

    /// A token for the request, if its auth uses one; `rejected` is one the API refused.
    async fn token(
        &self,
        ctx: &PollContext,
        rejected: Option<&SecretString>,
    ) -> Result<Option<SecretString>, PollError> {
        Ok(match &self.auth {
            Auth::OAuth2(t) => Some(t.token(ctx, rejected).await?),
            Auth::TokenRequest(t) => Some(t.token(ctx, rejected).await?),
            _ => None,
        })
    }

    /// The answer, fetching a refused token again and repeating the request once.
    pub(super) async fn fetch(&self, ctx: &PollContext) -> Result<Value, PollError> {
        let unwrap = |c: Call| match c {
            Call::TokenRejected(e) | Call::Other(e) => e,
        };
        let Some(token) = self.token(ctx, None).await? else {
            return self.call(ctx, None).await.map_err(unwrap);
        };
        match self.call(ctx, Some(&token)).await {
            Ok(v) => Ok(v),
            Err(Call::Other(e)) => Err(e),
            Err(Call::TokenRejected(_)) => {
                let token = self.token(ctx, Some(&token)).await?;
                self.call(ctx, token.as_ref()).await.map_err(unwrap)
            }
        }
    }
}
