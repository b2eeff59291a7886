//! Tencent Cloud API 3.0 calls: sign, rate-limit, send, and read the answer or its error.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use super::model::{Envelope, Status};
use super::tc3::{self, Credentials};
use crate::vendors::settings::host_header;
use crate::vendors::{decode_json, send, FailureReason, PollContext, PollError, Retry};

/// The content type we send and sign. Set by hand, body given as bytes: a JSON helper of the
/// HTTP client could send another one than the one signed.
const CONTENT_TYPE: &str = "application/json";
/// Tencent's default limit is 20 requests a second per action; we keep every SecretId at that.
pub const MAX_REQUESTS_PER_SECOND: u32 = 20;

/// One Tencent product endpoint: where to send, what to sign.
pub struct Client {
    endpoint: String,
    /// `host[:port]` of `endpoint`, as the `Host` header carries it and the signature covers it.
    host: String,
    service: &'static str,
    version: &'static str,
    region: Option<String>,
    credentials: ReadCredentials,
    /// The key of the account's limiter in the poll context: its SecretId, read at load (a
    /// rotated one keeps its account's limiter).
    limiter_key: String,
}

/// Reads the account's credentials from where the config points. Called on every poll, so that
/// rotated temporary credentials (an STS token refreshed into a file or variable) need no reload.
pub type ReadCredentials = Box<dyn Fn() -> Result<Credentials, String> + Send + Sync>;

impl Client {
    /// `endpoint` must be an `http(s)://host[:port]` URL (checked by the caller).
    /// The credentials, read again: SecretId, SecretKey and the session token if any.
    pub fn secrets(&self) -> Vec<secrecy::SecretString> {
        (self.credentials)()
            .map(|c| {
                [Some(c.secret_id), Some(c.secret_key), c.session_token]
                    .into_iter()
                    .flatten()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Accounts with the same SecretId share one limiter.
    pub fn limiter_key(&self) -> &str {
        &self.limiter_key
    }

    pub fn new(
        endpoint: &reqwest::Url,
        service: &'static str,
        version: &'static str,
        region: Option<String>,
        secret_id: &str,
        credentials: ReadCredentials,
    ) -> Self {
        let host = host_header(endpoint);
        let endpoint = format!("{}://{host}/", endpoint.scheme());
        Self {
            endpoint,
            host,
            service,
            version,
            region,
            credentials,
            limiter_key: format!("tencentcloud_cwp:{secret_id}"),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Calls `action` with an empty parameter object and decodes its `Response`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        ctx: &PollContext,
        action: &'static str,
    ) -> Result<T, PollError> {
        let credentials = (self.credentials)().map_err(|e| {
            PollError::new(
                FailureReason::Auth,
                format!("{action}: credentials: {e}; they are re-read on every poll"),
            )
        })?;
        ctx.limiters
            .get(&self.limiter_key, MAX_REQUESTS_PER_SECOND)
            .acquire()
            .await;
        let payload: &'static [u8] = b"{}";
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let signed = tc3::sign(
            &credentials,
            &tc3::Request {
                service: self.service,
                host: &self.host,
                action,
                version: self.version,
                region: self.region.as_deref(),
                content_type: CONTENT_TYPE,
                timestamp,
                payload,
            },
        );
        let mut request = ctx.http.post(&self.endpoint).body(payload);
        for (name, value) in signed.headers() {
            request = request.header(*name, value);
        }
        let response = send(ctx, action, request).await?;
        if !response.status.is_success() {
            return Err(PollError::from_status(
                action,
                response.status,
                &response.headers,
            ));
        }
        let status: Envelope<Status> = decode_json(action, &response.body)?;
        let request_id = status
            .response
            .request_id
            .unwrap_or_else(|| "none".to_owned());
        if let Some(error) = status.response.error {
            return Err(classify(action, &error.code, &error.message, &request_id));
        }
        let answer: Envelope<T> = decode_json(action, &response.body).map_err(|mut e| {
            e.message = format!("{} (RequestId {request_id})", e.message);
            e
        })?;
        Ok(answer.response)
    }
}

/// Maps a Tencent Cloud error code to a failure reason, a retry decision and a message that
/// tells the operator what to do. The RequestId is what Tencent support asks for.
pub fn classify(action: &str, code: &str, message: &str, request_id: &str) -> PollError {
    use FailureReason::*;
    let what = format!(
        "{action}: Tencent Cloud error {code} ({}), RequestId {request_id}",
        message.trim()
    );
    let (reason, retry, advice) = if code.starts_with("RequestLimitExceeded") {
        (
            RateLimited,
            Retry::Backoff,
            "request rate limit reached; retrying with backoff",
        )
    } else if code.starts_with("InternalError") || code == "ServiceUnavailable" {
        (
            Api,
            Retry::Backoff,
            "Tencent Cloud failed on its side; retrying with backoff",
        )
    } else if code.starts_with("UnauthorizedOperation")
        // The credentials are valid; CAM refuses them this action.
        || code == "AuthFailure.UnauthorizedOperation"
    {
        (
            Permission,
            Retry::Never,
            "these credentials may not call this action: grant the CAM user or role the policy QcloudCWPReadOnlyAccess, or allow the action cwp:DescribeLicenseGeneral",
        )
    } else if code == "AuthFailure.SignatureExpire" {
        (
            Auth,
            Retry::Never,
            "the request timestamp is more than 5 minutes off Tencent Cloud's clock: check the host clock (NTP)",
        )
    } else if code.starts_with("AuthFailure") {
        (
            Auth,
            Retry::Never,
            "credentials rejected: check secret_id, secret_key and, for temporary credentials, session_token (not retried before the next poll)",
        )
    } else {
        (Api, Retry::Never, "unexpected Tencent Cloud error")
    };
    PollError::new(reason, format!("{what}: {advice}")).with_retry(retry)
}

#[cfg(test)]
mod tests;
