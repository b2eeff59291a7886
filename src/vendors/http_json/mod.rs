//! `http_json`: a vendor written in the config instead of in Rust. An account is one HTTP
//! request (URL, method, headers, query, optional JSON body, and an auth scheme) and a mapping
//! from its JSON answer to the quota vocabulary every vendor feeds (storage, seats, licences,
//! expiry, states; see [`metrics`]).
//!
//! Everything else is the same as for the native vendors: the scheduler's timing, retries and
//! staleness, the failure reasons, the bounded HTTP path ([`crate::vendors::http::send`]: no
//! redirects, a size cap), and secrets read from `{ env }` / `{ file }` references on every
//! poll, never shown. See docs/vendors/http_json.md for worked examples.

mod client;
pub mod metrics;
mod token;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use self::metrics::{
    Extracted, Output, OutputSettings, EXPIRY, LICENSES_EXPIRED, LICENSES_EXPIRING, LICENSES_TOTAL,
    LICENSES_USED, SEATS_LIMIT, SEATS_USED, STATE, STORAGE_CAPACITY, STORAGE_FREE, STORAGE_USED,
};
use self::token::TokenRequest;
use crate::exposition::Samples;
use crate::vendors::oauth2::{ClientCredentials, TokenSource};
use crate::vendors::settings::{
    parse_base_url, parse_settings, FieldError, ParseContext, SecretRef,
};
use crate::vendors::{Account, ExplainFuture, PollContext, PollFuture, VendorDef};

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);

pub static VENDOR: VendorDef = VendorDef {
    name: "http_json",
    title: "HTTP/JSON API",
    default_interval: DEFAULT_INTERVAL,
    parse,
    metrics: &[
        &STORAGE_CAPACITY,
        &STORAGE_USED,
        &STORAGE_FREE,
        &SEATS_LIMIT,
        &SEATS_USED,
        &LICENSES_TOTAL,
        &LICENSES_USED,
        &LICENSES_EXPIRING,
        &LICENSES_EXPIRED,
        &EXPIRY,
        &STATE,
    ],
    metric_prefix: "http_json_",
    dashboard: "http-json.json",
    docs_page: Some("http_json.md"),
};

/// A header or query value: plain text, or a secret reference (`{ env: NAME }`,
/// `{ file: PATH }`) read on every poll. Plain text is not a secret and draws no warning.
#[derive(Clone, PartialEq)]
pub enum Text {
    Plain(String),
    Secret(SecretRef),
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Text::Plain(s) => write!(f, "{s:?}"),
            Text::Secret(r) => write!(f, "{r:?}"),
        }
    }
}

impl Text {
    fn resolve(&self) -> Result<SecretString, String> {
        match self {
            Text::Plain(s) => Ok(SecretString::from(s.clone())),
            Text::Secret(r) => r.resolve(),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a secret reference ({ env: NAME } or { file: PATH })")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text::Plain(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text::Plain(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text::Plain(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text::Plain(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text::Plain(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Text, A::Error> {
                SecretRef::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Text::Secret)
            }
        }
        d.deserialize_any(V)
    }
}

/// How the request authenticates, as written in the config (`auth: { bearer: … }`).
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum AuthSettings {
    /// `Authorization: Bearer <token>`.
    Bearer(SecretRef),
    /// `Authorization: Basic base64(username:password)` (Jira: e-mail and API token).
    Basic {
        username: String,
        password: SecretRef,
    },
    /// A header of the API's own (`X-Api-Key: <key>`).
    Header { name: String, value: SecretRef },
    /// OAuth 2.0 client credentials: a token from `token_url`, cached until shortly before it
    /// expires, sent as a bearer token.
    Oauth2 {
        token_url: String,
        client_id: String,
        client_secret: SecretRef,
        #[serde(default)]
        scope: Option<String>,
        /// `body` (client id and secret as form fields, the default) or `basic` (HTTP basic
        /// auth, RFC 6749 §2.3.1).
        #[serde(default)]
        client_auth: Option<String>,
        /// Extra form fields of the token request (e.g. `audience`).
        #[serde(default)]
        params: BTreeMap<String, String>,
    },
    /// A token from the API's own token endpoint (not OAuth 2.0): a JSON `body` posted to
    /// `url`, the token read at `token_path` in the answer, its lifetime in seconds at
    /// `expires_in_path`; sent as a bearer token.
    TokenRequest {
        url: String,
        #[serde(default)]
        body: BTreeMap<String, Text>,
        token_path: String,
        #[serde(default)]
        expires_in_path: Option<String>,
    },
}

/// The `http_json` keys of an account.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// The full URL, without a query (query parameters go under `query`).
    url: String,
    /// `GET` (default) or `POST`.
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, Text>,
    #[serde(default)]
    query: BTreeMap<String, Text>,
    /// Sent as `application/json` (with `POST`).
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    auth: Option<AuthSettings>,
    outputs: Vec<OutputSettings>,
}

enum Auth {
    None,
    Bearer(SecretRef),
    Basic {
        username: String,
        password: SecretRef,
    },
    Header {
        name: HeaderName,
        value: SecretRef,
    },
    OAuth2(Box<TokenSource>),
    TokenRequest(Box<TokenRequest>),
}

/// Headers the HTTP client sets itself: a config must not override them.
const RESERVED_HEADERS: [&str; 5] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "accept-encoding",
];

fn parse(
    value: serde_json::Value,
    ctx: &mut ParseContext,
) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    let s: Settings = parse_settings(value)?;
    let mut errors = Vec::new();
    let url = parse_base_url(&s.url)
        .map_err(|e| {
            let hint = if e.contains("query") {
                "; put query parameters under `query`"
            } else {
                ""
            };
            errors.push(FieldError::new("url", format!("{e}{hint}")))
        })
        .ok();
    let method = match s.method.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("GET") => reqwest::Method::GET,
        Some("POST") => reqwest::Method::POST,
        Some(other) => {
            errors.push(FieldError::new(
                "method",
                format!("{other:?} is not supported: a quota is read with GET or POST"),
            ));
            reqwest::Method::GET
        }
    };
    if s.body.is_some() && method == reqwest::Method::GET {
        errors.push(FieldError::new(
            "body",
            "a request body needs `method: POST`",
        ));
    }
    let mut headers = Vec::new();
    for (name, value) in &s.headers {
        let key = format!("headers.{name}");
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            errors.push(FieldError::new(key, "not a valid HTTP header name"));
            continue;
        };
        if RESERVED_HEADERS.contains(&header.as_str()) {
            errors.push(FieldError::new(
                key,
                "set by the HTTP client itself; remove it",
            ));
            continue;
        }
        if header == AUTHORIZATION && s.auth.is_some() {
            errors.push(FieldError::new(
                key,
                "both `auth` and an Authorization header are set: use one",
            ));
            continue;
        }
        match value {
            Text::Plain(v) if HeaderValue::from_str(v).is_err() => errors.push(FieldError::new(
                key,
                "not a valid header value (control characters or non-ASCII text)",
            )),
            Text::Secret(r) => {
                if let Err(e) = ctx.secret(&key, r) {
                    errors.push(e);
                }
            }
            _ => {}
        }
        headers.push((header, value.clone()));
    }
    for (name, value) in &s.query {
        if let Text::Secret(r) = value {
            if let Err(e) = ctx.secret(&format!("query.{name}"), r) {
                errors.push(e);
            }
        }
    }
    let mut token_request = None;
    let auth = match s.auth {
        None => Auth::None,
        Some(t @ AuthSettings::TokenRequest { .. }) => {
            token_request = Some(t);
            Auth::None
        }
        Some(AuthSettings::Bearer(r)) => {
            if let Err(e) = ctx.secret("auth.bearer", &r) {
                errors.push(e);
            }
            Auth::Bearer(r)
        }
        Some(AuthSettings::Basic { username, password }) => {
            if username.is_empty() || username.contains(':') {
                errors.push(FieldError::new(
                    "auth.basic.username",
                    "must be non-empty and must not contain ':'",
                ));
            }
            if let Err(e) = ctx.secret("auth.basic.password", &password) {
                errors.push(e);
            }
            Auth::Basic { username, password }
        }
        Some(AuthSettings::Header { name, value }) => {
            if let Err(e) = ctx.secret("auth.header.value", &value) {
                errors.push(e);
            }
            match HeaderName::from_bytes(name.as_bytes()) {
                Ok(name) if !RESERVED_HEADERS.contains(&name.as_str()) => {
                    Auth::Header { name, value }
                }
                _ => {
                    errors.push(FieldError::new(
                        "auth.header.name",
                        format!("{name:?} is not a header name that can carry a credential"),
                    ));
                    Auth::None
                }
            }
        }
        Some(AuthSettings::Oauth2 {
            token_url,
            client_id,
            client_secret,
            scope,
            client_auth,
            params,
        }) => {
            let token_url = parse_base_url(&token_url)
                .map_err(|e| errors.push(FieldError::new("auth.oauth2.token_url", e)))
                .ok();
            if client_id.trim().is_empty() {
                errors.push(FieldError::new(
                    "auth.oauth2.client_id",
                    "must not be empty",
                ));
            }
            let basic_auth = match client_auth.as_deref() {
                None | Some("body") => false,
                Some("basic") => true,
                Some(other) => {
                    errors.push(FieldError::new(
                        "auth.oauth2.client_auth",
                        format!("{other:?}: expected body or basic"),
                    ));
                    false
                }
            };
            let secret = ctx
                .secret("auth.oauth2.client_secret", &client_secret)
                .map_err(|e| errors.push(e))
                .ok();
            match (token_url, secret) {
                (Some(token_url), Some(client_secret)) => Auth::OAuth2(Box::new(TokenSource::new(
                    ClientCredentials {
                        token_url,
                        client_id: client_id.trim().to_owned(),
                        client_secret,
                        scope: scope.filter(|s| !s.trim().is_empty()),
                        extra: params.into_iter().collect(),
                        basic_auth,
                    },
                    "token",
                ))),
                _ => Auth::None,
            }
        }
    };
    let auth = match auth {
        Auth::None => match token_request {
            Some(t) => parse_token_request(t, ctx, &mut errors),
            None => Auth::None,
        },
        other => other,
    };
    let outputs = match metrics::parse_outputs(s.outputs) {
        Ok(o) => o,
        Err(e) => {
            errors.extend(e);
            Vec::new()
        }
    };
    let Some(url) = url else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Arc::new(HttpJson {
        method,
        url,
        headers,
        query: s.query.into_iter().collect(),
        body: s.body,
        auth,
        outputs,
    }))
}

fn parse_token_request(
    settings: AuthSettings,
    ctx: &mut ParseContext,
    errors: &mut Vec<FieldError>,
) -> Auth {
    let AuthSettings::TokenRequest {
        url,
        body,
        token_path,
        expires_in_path,
    } = settings
    else {
        return Auth::None;
    };
    let at = |k: &str| format!("auth.token_request.{k}");
    let url = parse_base_url(&url)
        .map_err(|e| errors.push(FieldError::new(at("url"), e)))
        .ok();
    for (key, value) in &body {
        if let Text::Secret(r) = value {
            if let Err(e) = ctx.secret(&at(&format!("body.{key}")), r) {
                errors.push(e);
            }
        }
    }
    let path = |key: &str, text: &str, errors: &mut Vec<FieldError>| {
        serde_json_path::JsonPath::parse(text)
            .map(|p| (text.to_owned(), p))
            .map_err(|e| {
                errors.push(FieldError::new(
                    at(key),
                    format!("{text:?} is not a JSONPath (RFC 9535) query: {e}"),
                ))
            })
            .ok()
    };
    let token_path = path("token_path", &token_path, errors);
    let expires_in_path = match expires_in_path {
        Some(t) => match path("expires_in_path", &t, errors) {
            Some(p) => Some(p),
            None => return Auth::None,
        },
        None => None,
    };
    match (url, token_path) {
        (Some(url), Some(token_path)) => Auth::TokenRequest(Box::new(TokenRequest {
            url,
            body: body.into_iter().collect(),
            token_path,
            expires_in_path,
            cache: Default::default(),
        })),
        _ => Auth::None,
    }
}

struct HttpJson {
    method: reqwest::Method,
    url: reqwest::Url,
    headers: Vec<(HeaderName, Text)>,
    query: Vec<(String, Text)>,
    body: Option<Value>,
    auth: Auth,
    outputs: Vec<Output>,
}

impl Account for HttpJson {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(async move {
            let answer = self.fetch(ctx).await?;
            metrics::extract(&self.outputs, &answer, None)
        })
    }

    fn explain<'a>(&'a self, ctx: &'a PollContext) -> ExplainFuture<'a> {
        Box::pin(async move {
            let answer = self.fetch(ctx).await?;
            let mut trace: Vec<Extracted> = Vec::new();
            let samples: Samples = metrics::extract(&self.outputs, &answer, Some(&mut trace))?;
            crate::vendors::guard::check(&samples)?;
            Ok(trace.iter().map(ToString::to_string).collect())
        })
    }

    fn describe(&self) -> String {
        let auth = match &self.auth {
            Auth::None => "none".to_owned(),
            Auth::Bearer(r) => format!("bearer ({r:?})"),
            Auth::Basic { username, password } => format!("basic ({username}, {password:?})"),
            Auth::Header { name, value } => format!("header {name} ({value:?})"),
            Auth::OAuth2(t) => format!("oauth2 client credentials ({})", t.token_url()),
            Auth::TokenRequest(t) => format!("token request ({})", t.url),
        };
        let mut out = format!("{} auth={auth}", self.what());
        if !self.query.is_empty() {
            let keys: Vec<_> = self.query.iter().map(|(k, _)| k.as_str()).collect();
            out.push_str(&format!(" query=[{}]", keys.join(",")));
        }
        let kinds: Vec<String> = self.outputs.iter().map(Output::summary).collect();
        out.push_str(&format!(
            " outputs: {}",
            if kinds.is_empty() {
                "none".to_owned()
            } else {
                kinds.join(", ")
            }
        ));
        out
    }

    fn secrets(&self) -> Vec<secrecy::SecretString> {
        let mut refs: Vec<&SecretRef> = self
            .headers
            .iter()
            .map(|(_, t)| t)
            .chain(self.query.iter().map(|(_, t)| t))
            .filter_map(|t| match t {
                Text::Secret(r) => Some(r),
                Text::Plain(_) => None,
            })
            .collect();
        let mut out = Vec::new();
        match &self.auth {
            Auth::None => {}
            Auth::Bearer(r) | Auth::Basic { password: r, .. } | Auth::Header { value: r, .. } => {
                refs.push(r)
            }
            Auth::OAuth2(tokens) => out.extend(tokens.secrets()),
            Auth::TokenRequest(t) => {
                out.extend(t.cache.current());
                refs.extend(t.body.iter().filter_map(|(_, v)| match v {
                    Text::Secret(r) => Some(r),
                    Text::Plain(_) => None,
                }));
            }
        }
        out.extend(refs.into_iter().filter_map(|r| r.resolve().ok()));
        out
    }
}

#[cfg(test)]
mod tests;
