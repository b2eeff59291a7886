//! Microsoft Graph calls: an app-only token (client credentials), then collection `GET`s that
//! follow `@odata.nextLink`, with Graph's error envelope turned into failure reasons.

use reqwest::header::{ACCEPT, AUTHORIZATION};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use super::model::{ErrorEnvelope, Page};
use crate::vendors::oauth2::{Call, TokenSource};
use crate::vendors::{
    decode_json, retry_after, send, FailureReason, PollContext, PollError, Retry,
};

/// Collections here have a few dozen items; a tenant with more pages than this is answering a
/// loop of links, not data.
const MAX_PAGES: usize = 100;

pub struct Client {
    /// Graph's base URL, without a trailing `/` (e.g. `https://graph.microsoft.com`).
    graph: reqwest::Url,
    tokens: TokenSource,
}

impl Client {
    /// The client secret and the cached token.
    pub fn secrets(&self) -> Vec<secrecy::SecretString> {
        self.tokens.secrets()
    }

    pub fn new(graph: reqwest::Url, tokens: TokenSource) -> Self {
        Self { graph, tokens }
    }

    pub fn graph_url(&self) -> &str {
        self.graph.as_str().trim_end_matches('/')
    }

    pub fn token_url(&self) -> &reqwest::Url {
        self.tokens.token_url()
    }

    /// Every item of a collection, page by page. `path` is relative to the Graph base URL
    /// (`/v1.0/subscribedSkus`). Each `@odata.nextLink` is requested from `graph_url` whatever
    /// host it names ([`Client::next_page`]): the bearer token is never sent anywhere else.
    pub async fn list<T: DeserializeOwned>(
        &self,
        ctx: &PollContext,
        endpoint: &'static str,
        path: &str,
    ) -> Result<Vec<T>, PollError> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.graph_url()))
            .map_err(|e| PollError::new(FailureReason::Api, format!("{endpoint}: bad URL: {e}")))?;
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: Page<T> = self.get(ctx, endpoint, &url).await?;
            items.extend(page.value);
            let Some(next) = page.next_link else {
                return Ok(items);
            };
            url = self.next_page(&next).map_err(|e| {
                PollError::new(
                    FailureReason::Decode,
                    format!("{endpoint}: @odata.nextLink is not a URL ({e})"),
                )
            })?;
        }
        Err(PollError::new(
            FailureReason::Decode,
            format!("{endpoint}: more than {MAX_PAGES} pages of @odata.nextLink; stopped"),
        ))
    }

    /// Where to fetch the page a `@odata.nextLink` names: its path and query on `graph_url`.
    /// A link on Graph's own host keeps its path (it already has any prefix); a link naming
    /// another host (Graph's public name, seen through a proxy configured as `graph_url`) gets
    /// `graph_url`'s path prefix. Either way the scheme and host are `graph_url`'s: a link can
    /// neither send the token elsewhere nor downgrade it to plain HTTP.
    pub fn next_page(&self, link: &str) -> Result<reqwest::Url, String> {
        let link = reqwest::Url::parse(link).map_err(|e| e.to_string())?;
        let same_host = link.host_str() == self.graph.host_str()
            && link.port_or_known_default() == self.graph.port_or_known_default();
        let mut url = self.graph.clone();
        let path = if same_host {
            link.path().to_owned()
        } else {
            format!("{}{}", self.graph.path().trim_end_matches('/'), link.path())
        };
        url.set_path(&path);
        url.set_query(link.query());
        Ok(url)
    }

    /// One `GET`, refreshing the token and repeating once if Graph refuses it (tokens can be
    /// revoked before they expire).
    async fn get<T: DeserializeOwned>(
        &self,
        ctx: &PollContext,
        endpoint: &'static str,
        url: &reqwest::Url,
    ) -> Result<T, PollError> {
        let token = self.tokens.token(ctx, None).await?;
        match self.get_with(ctx, endpoint, url, &token).await {
            Err(Call::TokenRejected(_)) => {
                let token = self.tokens.token(ctx, Some(&token)).await?;
                match self.get_with(ctx, endpoint, url, &token).await {
                    Err(Call::TokenRejected(e)) | Err(Call::Other(e)) => Err(e),
                    Ok(v) => Ok(v),
                }
            }
            Err(Call::Other(e)) => Err(e),
            Ok(v) => Ok(v),
        }
    }

    async fn get_with<T: DeserializeOwned>(
        &self,
        ctx: &PollContext,
        endpoint: &'static str,
        url: &reqwest::Url,
        token: &SecretString,
    ) -> Result<T, Call> {
        let request = ctx
            .http
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, format!("Bearer {}", token.expose_secret()));
        let response = send(ctx, endpoint, request).await?;
        if response.status.is_success() {
            return Ok(decode_json(endpoint, &response.body)?);
        }
        let envelope: ErrorEnvelope = serde_json::from_slice(&response.body).unwrap_or_default();
        let e = classify(endpoint, response.status, &response.headers, &envelope);
        if response.status == reqwest::StatusCode::UNAUTHORIZED {
            Err(Call::TokenRejected(e))
        } else {
            Err(Call::Other(e))
        }
    }
}

/// Maps a Graph error answer to a failure reason and advice. Branches on the HTTP status and
/// `error.code`; `error.message` and `request-id` (what Microsoft support asks for) go into the
/// message.
pub fn classify(
    endpoint: &str,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    envelope: &ErrorEnvelope,
) -> PollError {
    use FailureReason::*;
    let e = &envelope.error;
    if e.code.is_empty() && !matches!(status.as_u16(), 401 | 403 | 429) {
        return PollError::from_status(endpoint, status, headers);
    }
    let mut what = format!("{endpoint}: HTTP {status}");
    if !e.code.is_empty() {
        what.push_str(&format!(" {}", e.code));
    }
    let message = e.message.trim();
    if !message.is_empty() {
        what.push_str(&format!(": {message}"));
    }
    if let Some(id) = &e.inner_error.request_id {
        what.push_str(&format!(" (request-id {id})"));
    }
    let after = || match retry_after(headers) {
        Some(d) => Retry::After(d),
        None => Retry::Backoff,
    };
    let (reason, retry, advice) = match status.as_u16() {
        401 => (
            Auth,
            Retry::Never,
            "Graph refused the access token even after a refresh: check tenant_id and that the app registration exists in that tenant",
        ),
        403 => (
            Permission,
            Retry::Never,
            "the app lacks a permission: grant it the Organization.Read.All application permission (LicenseAssignment.Read.All is enough for subscribedSkus) and an administrator's consent",
        ),
        429 => (RateLimited, after(), "Graph is throttling this app; waiting as Retry-After says"),
        503 | 504 => (Api, after(), "Graph is busy; retrying"),
        500..=599 => (Api, Retry::Backoff, "Graph failed; retrying"),
        _ => (Api, Retry::Never, "unexpected Graph error"),
    };
    PollError::new(reason, format!("{what}: {advice}")).with_retry(retry)
}

#[cfg(test)]
mod tests;
