//! `auth: { token_request: … }`: a token from an API's own token endpoint, for APIs whose token
//! request is not OAuth 2.0 (Feishu's `tenant_access_token/internal` takes a JSON body with
//! `app_id` and `app_secret`). The token is read from the answer with a JSONPath, cached like an
//! OAuth2 token ([`TokenCache`]) and sent as a bearer token.

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use serde_json_path::JsonPath;

use super::client::excerpt;
use super::Text;
use crate::vendors::oauth2::TokenCache;
use crate::vendors::{send, FailureReason, PollContext, PollError};

pub struct TokenRequest {
    pub url: reqwest::Url,
    /// The JSON body's fields: strings or secret references, read on every request.
    pub body: Vec<(String, Text)>,
    pub token_path: (String, JsonPath),
    /// Where the answer says how many seconds the token lives (an hour when absent).
    pub expires_in_path: Option<(String, JsonPath)>,
    pub cache: TokenCache,
}

impl TokenRequest {
    /// A valid token; `rejected` is one the API refused (see [`TokenCache::get`]).
    pub async fn token(
        &self,
        ctx: &PollContext,
        rejected: Option<&SecretString>,
    ) -> Result<SecretString, PollError> {
        self.cache.get(rejected, || self.fetch(ctx)).await
    }

    async fn fetch(&self, ctx: &PollContext) -> Result<(SecretString, Option<f64>), PollError> {
        let what = format!("token request {}", self.url);
        let mut body = serde_json::Map::new();
        for (key, value) in &self.body {
            let v = value.resolve().map_err(|e| {
                PollError::new(
                    FailureReason::Auth,
                    format!(
                        "auth.token_request.body.{key}: {e}; secrets are re-read on every poll"
                    ),
                )
            })?;
            body.insert(key.clone(), Value::String(v.expose_secret().to_owned()));
        }
        let request = ctx
            .http
            .post(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(Value::Object(body).to_string());
        let response = send(ctx, "token", request).await?;
        let said = excerpt(&response.body);
        if !response.status.is_success() {
            let status = response.status;
            return Err(if status.is_client_error() && status.as_u16() != 429 {
                PollError::new(
                    FailureReason::Auth,
                    format!("{what}: HTTP {status}{said}: the token request was refused; check its body"),
                )
            } else {
                let e = PollError::from_status(&what, status, &response.headers);
                PollError::new(e.reason, format!("{}{said}", e.message)).with_retry(e.retry)
            });
        }
        let answer: Value = serde_json::from_slice(&response.body).map_err(|e| {
            PollError::new(
                FailureReason::Decode,
                format!("{what}: malformed response: not JSON: {e}"),
            )
        })?;
        let (path_text, path) = &self.token_path;
        let token = match path.query(&answer).exactly_one() {
            Ok(Value::String(t)) if !t.trim().is_empty() => t.trim().to_owned(),
            // An answer without the token is how these APIs refuse (Feishu: HTTP 200 with a
            // non-zero `code`): show what it said.
            _ => {
                return Err(PollError::new(
                    FailureReason::Auth,
                    format!("{what}: no token at {path_text} in the answer{said}"),
                ))
            }
        };
        let expires_in =
            self.expires_in_path
                .as_ref()
                .and_then(|(_, p)| match p.query(&answer).exactly_one() {
                    Ok(Value::Number(n)) => n.as_f64(),
                    Ok(Value::String(s)) => s.trim().parse().ok(),
                    _ => None,
                });
        ctx.stats.count_token_refresh();
        Ok((SecretString::from(token), expires_in))
    }
}
