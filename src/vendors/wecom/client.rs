//! WeCom HTTP calls: the access token and the two WeDrive management calls.
//!
//! The token goes in the URL query (WeCom's rule), so no URL built here may reach a log or an
//! error: [`crate::vendors::send`] strips it from transport errors and our messages name the
//! endpoint, never the URL.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::model::{Status, Token};
use crate::vendors::settings::SecretRef;
use crate::vendors::{decode_json, send, FailureReason, PollContext, PollError, Retry};

/// Refresh this long before WeCom says the token expires, so a poll never starts with a token
/// that dies mid-way.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// WeCom's documented token lifetime, used when an answer omits `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(7200);
/// How long to stop polling when the monthly WeDrive API quota is used up. The quota resets
/// monthly, so hammering it helps nobody; six hours keeps the log readable.
const QUOTA_HOLD_OFF: Duration = Duration::from_secs(6 * 3600);

struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
}

pub struct Client {
    base_url: String,
    corp_id: String,
    /// Resolved at each token fetch, so a rotated secret needs no reload.
    secret: SecretRef,
    /// Held across a refresh, which makes refreshes single-flight: concurrent callers wait for
    /// the one in flight and then share its token.
    token: Mutex<Option<CachedToken>>,
}

impl Client {
    pub fn new(base_url: String, corp_id: String, secret: SecretRef) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            corp_id,
            secret,
            token: Mutex::new(None),
        }
    }

    /// The secret (read again) and the cached access token.
    pub fn secrets(&self) -> Vec<SecretString> {
        let mut out: Vec<SecretString> = self.secret.resolve().into_iter().collect();
        if let Ok(cached) = self.token.try_lock() {
            out.extend(cached.as_ref().map(|t| t.value.clone()));
        }
        out
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Calls one WeDrive management endpoint (`POST {}`), refreshing the token and repeating the
    /// call once if WeCom says the token is invalid or expired (it can revoke tokens early).
    pub async fn call<T: DeserializeOwned>(
        &self,
        ctx: &PollContext,
        endpoint: &'static str,
    ) -> Result<T, PollError> {
        let token = self.token(ctx, None).await?;
        match self.call_with(ctx, endpoint, &token).await {
            Err(CallError::TokenRejected(_)) => {
                let token = self.token(ctx, Some(&token)).await?;
                match self.call_with(ctx, endpoint, &token).await {
                    Err(CallError::TokenRejected(e)) | Err(CallError::Other(e)) => Err(e),
                    Ok(v) => Ok(v),
                }
            }
            Err(CallError::Other(e)) => Err(e),
            Ok(v) => Ok(v),
        }
    }

    async fn call_with<T: DeserializeOwned>(
        &self,
        ctx: &PollContext,
        endpoint: &'static str,
        token: &SecretString,
    ) -> Result<T, CallError> {
        let url = format!("{}/cgi-bin/wedrive/{endpoint}", self.base_url);
        let request = ctx
            .http
            .post(url)
            .query(&[("access_token", token.expose_secret())])
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body("{}");
        let response = send(ctx, endpoint, request).await?;
        if !response.status.is_success() {
            return Err(
                PollError::from_status(endpoint, response.status, &response.headers).into(),
            );
        }
        let status: Status = decode_json(endpoint, &response.body)?;
        match status.errcode {
            0 => Ok(decode_json(endpoint, &response.body)?),
            40014 | 42001 => Err(CallError::TokenRejected(classify(
                endpoint,
                status.errcode,
                &status.errmsg,
            ))),
            code => Err(classify(endpoint, code, &status.errmsg).into()),
        }
    }

    /// Returns a valid token, fetching one when none is cached, when it is about to expire, or
    /// when `rejected` is the cached one (WeCom refused it). Comparing with the rejected token
    /// means two calls that both saw it refused cause one refresh, not two.
    async fn token(
        &self,
        ctx: &PollContext,
        rejected: Option<&SecretString>,
    ) -> Result<SecretString, PollError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            let refused =
                rejected.is_some_and(|r| r.expose_secret() == token.value.expose_secret());
            if !refused && Instant::now() < token.refresh_at {
                return Ok(token.value.clone());
            }
        }
        *cached = None;
        let fresh = self.fetch_token(ctx).await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    async fn fetch_token(&self, ctx: &PollContext) -> Result<CachedToken, PollError> {
        const ENDPOINT: &str = "gettoken";
        let secret = self.secret.resolve().map_err(|e| {
            PollError::new(
                FailureReason::Auth,
                format!("secret: {e}; the secret is re-read at every token fetch"),
            )
        })?;
        let request = ctx
            .http
            .get(format!("{}/cgi-bin/gettoken", self.base_url))
            .query(&[
                ("corpid", self.corp_id.as_str()),
                ("corpsecret", secret.expose_secret()),
            ]);
        let response = send(ctx, ENDPOINT, request).await?;
        if !response.status.is_success() {
            return Err(PollError::from_status(
                ENDPOINT,
                response.status,
                &response.headers,
            ));
        }
        let status: Status = decode_json(ENDPOINT, &response.body)?;
        if status.errcode != 0 {
            return Err(classify(ENDPOINT, status.errcode, &status.errmsg));
        }
        let token: Token = decode_json(ENDPOINT, &response.body)?;
        let Some(value) = token.access_token.filter(|t| !t.is_empty()) else {
            return Err(PollError::new(
                FailureReason::Decode,
                "gettoken: answer has no access_token",
            ));
        };
        ctx.stats.count_token_refresh();
        let lifetime = token_lifetime(token.expires_in);
        // Short-lived tokens (as the simulator hands out) refresh at half their life instead.
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        let now = Instant::now();
        Ok(CachedToken {
            value: SecretString::from(value),
            refresh_at: now.checked_add(lifetime - margin).unwrap_or(now),
        })
    }
}

/// The token's lifetime from `expires_in`: WeCom's documented 2 hours when it is absent, not a
/// positive finite number (`"inf"`, `1e30`), or longer than documented — a token is never kept
/// longer than WeCom says tokens live.
fn token_lifetime(expires_in: Option<f64>) -> Duration {
    expires_in
        .filter(|s| s.is_finite() && *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .map_or(DEFAULT_TOKEN_LIFETIME, |d| d.min(DEFAULT_TOKEN_LIFETIME))
}

enum CallError {
    /// errcode 40014 / 42001: the token was refused; refresh and repeat once.
    TokenRejected(PollError),
    Other(PollError),
}

impl From<PollError> for CallError {
    fn from(e: PollError) -> Self {
        CallError::Other(e)
    }
}

/// Maps a WeCom errcode to a failure reason, a retry decision and a message that tells the
/// operator what to do. Branches on the code only: `errmsg` wording changes.
pub fn classify(endpoint: &str, errcode: i64, errmsg: &str) -> PollError {
    use FailureReason::*;
    let what = format!("{endpoint}: WeCom errcode {errcode} ({})", errmsg.trim());
    let (reason, retry, advice) = match errcode {
        -1 => (Api, Retry::Backoff, "WeCom is busy; retrying with backoff"),
        40001 | 40013 | 40091 => (
            Auth,
            Retry::Never,
            "corp_id or secret rejected: check both in the config (the secret must be the WeDrive secret or that of an app allowed to call WeDrive). Not retried before the next poll: WeCom bans an IP for an hour after repeated failures",
        ),
        40014 | 42001 => (Auth, Retry::Never, "access token refused even after a refresh"),
        41001 => (Api, Retry::Never, "access token missing from the request; this is a bug in quota-exporter, please report it"),
        45009 | 45033 => (RateLimited, Retry::Never, "WeCom rate or concurrency limit reached; backing off until the next poll"),
        48001 | 48002 | 48004 | 48006 | 60011 | 301002 => (
            Permission,
            Retry::Never,
            "this secret may not call WeDrive management APIs: use the WeDrive secret, or add the app to WeDrive's callable-apps list in the WeCom admin console",
        ),
        60020 => (
            Permission,
            Retry::Never,
            "the exporter's IP is not on the app's trusted-IP list: add this host's public IP under the app's 'Trusted IP' (企业可信IP) setting in the WeCom admin console",
        ),
        640017 => (Permission, Retry::Never, "the WeDrive API permission is not enabled: an admin must enable API access for WeDrive"),
        640019 | 640035 => (
            RateLimited,
            Retry::HoldOff(QUOTA_HOLD_OFF),
            "the monthly WeDrive API quota is used up (free corps: 1,000 calls a month): polling paused for 6 hours; raise this account's interval",
        ),
        _ => (Api, Retry::Never, "unexpected WeCom error"),
    };
    PollError::new(reason, format!("{what}: {advice}")).with_retry(retry)
}

#[cfg(test)]
mod tests;
