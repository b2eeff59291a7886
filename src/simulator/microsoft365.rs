//! Microsoft's side of Microsoft 365 licences, as the identity platform's and Graph's
//! documentation describe it: the client credentials token request (form-encoded, a known
//! client id and secret in a known tenant, a `/.default` scope), bearer tokens on
//! `GET /v1.0/subscribedSkus` and `GET /v1.0/directory/subscriptions`, pages linked by
//! `@odata.nextLink`, the error envelope with a `request-id`, and 429 with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};

use super::{common_fault, Fault, Routes, SimState, SimVendor};

const VENDOR: &str = "microsoft365";

#[derive(Debug, Clone)]
pub struct Sku {
    pub part_number: String,
    pub sku_id: String,
    pub capability_status: String,
    pub enabled: u64,
    pub warning: u64,
    pub suspended: u64,
    pub locked_out: u64,
    pub consumed: u64,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub sku_part_number: String,
    pub sku_id: String,
    pub status: String,
    pub total_licenses: u64,
    pub is_trial: bool,
    /// Unix seconds.
    pub next_lifecycle: u64,
}

/// One simulated directory (tenant) with one app registration.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// A certificate (DER) uploaded to the app registration: the token endpoint then also takes
    /// a client assertion signed with its key.
    pub certificate: Option<Vec<u8>>,
    /// Whether an administrator granted the app Organization.Read.All.
    pub granted: bool,
    pub skus: Vec<Sku>,
    pub subscriptions: Vec<Subscription>,
    /// Items per page: small, so that clients must follow `@odata.nextLink`.
    pub page_size: usize,
}

struct Issued {
    tenant_id: String,
    expires: Instant,
}

pub struct Microsoft365State {
    pub tenants: Mutex<Vec<Tenant>>,
    tokens: Mutex<HashMap<String, Issued>>,
    /// Lifetime of issued tokens (`expires_in`); Microsoft's are 60–90 minutes.
    pub token_ttl: Mutex<Duration>,
}

fn sku(part: &str, id: &str, status: &str, units: [u64; 4], consumed: u64) -> Sku {
    Sku {
        part_number: part.into(),
        sku_id: id.into(),
        capability_status: status.into(),
        enabled: units[0],
        warning: units[1],
        suspended: units[2],
        locked_out: units[3],
        consumed,
    }
}

fn subscription(
    id: &str,
    s: &Sku,
    status: &str,
    trial: bool,
    total: u64,
    next: u64,
) -> Subscription {
    Subscription {
        id: id.into(),
        sku_part_number: s.part_number.clone(),
        sku_id: s.sku_id.clone(),
        status: status.into(),
        total_licenses: total,
        is_trial: trial,
        next_lifecycle: next,
    }
}

impl Microsoft365State {
    /// Two tenants: `contoso` (E3 seats 94 % used, an E5 subscription renewing in 20 days, a
    /// Power BI trial ending in 5 days, Visio licences in their grace period after expiry) and
    /// `fabrikam` (healthy, one item a page); `northwind` (Visio in its grace period, Project
    /// suspended, every SKU on one page) is read by the demo's declarative account.
    pub fn demo(started: SystemTime) -> Self {
        let day = 86400;
        let start = started
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let e3 = sku(
            "ENTERPRISEPACK",
            "6fd2c87f-b296-42f0-b197-1e91e994b900",
            "Enabled",
            [50, 0, 0, 0],
            47,
        );
        let e5 = sku(
            "SPE_E5",
            "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
            "Enabled",
            [10, 0, 0, 0],
            4,
        );
        let pbi = sku(
            "POWER_BI_PRO",
            "f8a1db68-be16-40ed-86d5-cb42ce701560",
            "Enabled",
            [25, 0, 0, 0],
            3,
        );
        let visio = sku(
            "VISIOCLIENT",
            "c5928f49-12ba-48f7-ada3-0d743a3601d5",
            "Warning",
            [0, 5, 0, 0],
            4,
        );
        let contoso = Tenant {
            tenant_id: "contoso.onmicrosoft.com".into(),
            client_id: "11111111-demo-4c0e-8a55-c0n7050c11e7".into(),
            client_secret: "demo-secret-contoso".into(),
            certificate: None,
            granted: true,
            subscriptions: vec![
                subscription(
                    "8a0c1a1e-0001-4e3d-9f00-000000000e03",
                    &e3,
                    "Enabled",
                    false,
                    50,
                    start + 200 * day,
                ),
                subscription(
                    "8a0c1a1e-0002-4e3d-9f00-000000000e05",
                    &e5,
                    "Enabled",
                    false,
                    10,
                    start + 20 * day,
                ),
                subscription(
                    "8a0c1a1e-0003-4e3d-9f00-0000000000b1",
                    &pbi,
                    "Enabled",
                    true,
                    25,
                    start + 5 * day,
                ),
                subscription(
                    "8a0c1a1e-0004-4e3d-9f00-00000000071c",
                    &visio,
                    "Warning",
                    false,
                    5,
                    start + 25 * day,
                ),
            ],
            skus: vec![e3, e5, pbi, visio],
            page_size: 2,
        };
        let f_e3 = sku(
            "ENTERPRISEPACK",
            "6fd2c87f-b296-42f0-b197-1e91e994b900",
            "Enabled",
            [300, 0, 0, 0],
            120,
        );
        let f_ems = sku(
            "EMS",
            "efccb6f7-5641-4e0e-bd10-b4976e1bf68e",
            "Enabled",
            [300, 0, 0, 0],
            100,
        );
        let fabrikam = Tenant {
            tenant_id: "9f3c2d1e-0000-4fab-8000-fab41ca70000".into(),
            client_id: "22222222-demo-4c0e-8a55-fab41ca7c11e".into(),
            client_secret: "demo-secret-fabrikam".into(),
            certificate: None,
            granted: true,
            subscriptions: vec![
                subscription(
                    "9b0c1a1e-0001-4e3d-9f00-000000000e03",
                    &f_e3,
                    "Enabled",
                    false,
                    300,
                    start + 300 * day,
                ),
                subscription(
                    "9b0c1a1e-0002-4e3d-9f00-000000000e35",
                    &f_ems,
                    "Enabled",
                    false,
                    300,
                    start + 300 * day,
                ),
            ],
            skus: vec![f_e3, f_ems],
            page_size: 1,
        };
        // Read by the demo's declarative (http_json) account: every SKU on one page.
        let northwind = Tenant {
            tenant_id: "northwind.onmicrosoft.com".into(),
            client_id: "33333333-demo-4c0e-8a55-n0r7hw1ndc11".into(),
            client_secret: "demo-secret-northwind".into(),
            certificate: None,
            granted: true,
            subscriptions: Vec::new(),
            skus: vec![
                sku(
                    "O365_BUSINESS_PREMIUM",
                    "f245ecc8-75af-4f8e-b61f-27d8114de5f3",
                    "Enabled",
                    [25, 0, 0, 0],
                    20,
                ),
                sku(
                    "VISIOCLIENT",
                    "c5928f49-12ba-48f7-ada3-0d743a3601d5",
                    "Warning",
                    [0, 3, 0, 0],
                    3,
                ),
                sku(
                    "PROJECTPREMIUM",
                    "09015f9f-377f-4538-bbb5-f75ceb09358a",
                    "Suspended",
                    [0, 0, 2, 0],
                    2,
                ),
            ],
            page_size: 10,
        };
        Self {
            tenants: Mutex::new(vec![contoso, fabrikam, northwind]),
            tokens: Mutex::new(HashMap::new()),
            token_ttl: Mutex::new(Duration::from_secs(3599)),
        }
    }

    /// Adds a tenant (tests use their own, so they never share one).
    pub fn add_tenant(&self, tenant: Tenant) {
        self.tenants.lock().expect("tenants lock").push(tenant);
    }

    fn tenant(&self, tenant_id: &str) -> Option<Tenant> {
        self.tenants
            .lock()
            .expect("tenants lock")
            .iter()
            .find(|t| t.tenant_id.eq_ignore_ascii_case(tenant_id))
            .cloned()
    }

    /// Makes the tenant's issued tokens (every tenant's, for `None`) expired.
    pub fn expire_tokens(&self, tenant_id: Option<&str>) {
        let past = Instant::now() - Duration::from_secs(1);
        for issued in self.tokens.lock().expect("tokens lock").values_mut() {
            if tenant_id.is_none_or(|t| t == issued.tenant_id) {
                issued.expires = past;
            }
        }
    }
}

/// This vendor's side of the simulator.
pub static SIMULATED: SimVendor = SimVendor {
    vendor: VENDOR,
    state: |started| Box::new(Microsoft365State::demo(started)),
    routes,
};

fn routes() -> Routes {
    vec![
        ("/{tenant}/oauth2/v2.0/token", post(token)),
        ("/v1.0/subscribedSkus", get(subscribed_skus)),
        ("/v1.0/directory/subscriptions", get(subscriptions)),
    ]
}

fn request_id() -> String {
    let h = Alphanumeric
        .sample_string(&mut rand::rng(), 32)
        .to_ascii_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn json_response(status: StatusCode, body: Value, extra: &[(&'static str, String)]) -> Response {
    let mut r = (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    for (k, v) in extra {
        if let Ok(v) = v.parse() {
            r.headers_mut().insert(*k, v);
        }
    }
    r
}

/// The identity platform's error answer (RFC 6749 §5.2 plus Microsoft's fields).
fn token_error(status: StatusCode, error: &str, code: i64, description: &str) -> Response {
    let trace = request_id();
    json_response(
        status,
        json!({ "error": error, "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {trace}\r\nTimestamp: 2026-01-01 00:00:00Z"),
                "error_codes": [code], "timestamp": "2026-01-01 00:00:00Z", "trace_id": trace, "correlation_id": trace }),
        &[],
    )
}

/// Graph's error envelope, with the `request-id` in the body and the headers.
fn graph_error(
    status: StatusCode,
    code: &str,
    message: &str,
    extra: &[(&'static str, String)],
) -> Response {
    let id = request_id();
    let mut headers = vec![
        ("request-id", id.clone()),
        ("client-request-id", id.clone()),
    ];
    headers.extend_from_slice(extra);
    json_response(
        status,
        json!({ "error": { "code": code, "message": message,
                "innerError": { "date": "2026-01-01T00:00:00", "request-id": id, "client-request-id": id } } }),
        &headers,
    )
}

async fn token(
    State(state): State<Arc<SimState>>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.count(VENDOR, "token", Some(&tenant_id));
    if let Some(fault) = state.take_fault(VENDOR, Some(&tenant_id), "token") {
        if let Some(r) = common_fault(&fault).await {
            return r;
        }
        match fault {
            Fault::RateLimit { retry_after_secs } => {
                let mut r = token_error(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable", 50196, "The server terminated an operation because it encountered a client request loop.");
                if let Some(s) = retry_after_secs {
                    r.headers_mut().insert("retry-after", s.into());
                }
                return r;
            }
            Fault::VendorError { code } => {
                return token_error(StatusCode::BAD_REQUEST, &code, 0, "simulated error");
            }
            _ => {}
        }
    }
    let form_encoded = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form: HashMap<String, String> = match serde_urlencoded::from_bytes(&body) {
        Ok(f) if form_encoded => f,
        _ => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        }
    };
    let Some(tenant) = state.vendor::<Microsoft365State>().tenant(&tenant_id) else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant_id}' not found."),
        );
    };
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials" {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    // The secret only ever in the body: a client that also sends basic auth is refused.
    if headers.contains_key(axum::http::header::AUTHORIZATION) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90014,
            "Client authentication must be in the request body.",
        );
    }
    if field("client_id") != tenant.client_id {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{}' was not found in the directory '{tenant_id}'.",
                field("client_id")
            ),
        );
    }
    if !field("client_assertion").is_empty() || !field("client_assertion_type").is_empty() {
        let audience = format!(
            "http://{}/{tenant_id}/oauth2/v2.0/token",
            headers
                .get(axum::http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("localhost")
        );
        if let Err((code, text)) = check_assertion(&tenant, &form, &audience) {
            return token_error(StatusCode::UNAUTHORIZED, "invalid_client", code, &text);
        }
    } else if field("client_secret").is_empty() {
        return token_error(StatusCode::BAD_REQUEST, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    } else if field("client_secret") != tenant.client_secret {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.");
    }
    let scope = field("scope");
    if scope.is_empty() {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    }
    if !scope.ends_with("/.default") || scope.contains(' ') {
        return token_error(StatusCode::BAD_REQUEST, "invalid_scope", 1002012, &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."));
    }
    let token = Alphanumeric.sample_string(&mut rand::rng(), 96);
    let ttl = *state
        .vendor::<Microsoft365State>()
        .token_ttl
        .lock()
        .expect("ttl lock");
    state
        .vendor::<Microsoft365State>()
        .tokens
        .lock()
        .expect("tokens lock")
        .insert(
            token.clone(),
            Issued {
                tenant_id: tenant.tenant_id.clone(),
                expires: Instant::now() + ttl,
            },
        );
    json_response(
        StatusCode::OK,
        json!({ "token_type": "Bearer", "expires_in": ttl.as_secs(), "ext_expires_in": ttl.as_secs(), "access_token": token }),
        &[],
    )
}

/// Checks a certificate client assertion as the identity platform documents it: the RFC 7523
/// assertion type, an RS256 JWT whose signature the tenant's certificate verifies, `x5t#S256`
/// naming that certificate, `aud` the token endpoint, `iss` = `sub` = the client id, and the
/// current time within `nbf`..`exp`. Errors are the AADSTS code and text.
fn check_assertion(
    tenant: &Tenant,
    form: &HashMap<String, String>,
    audience: &str,
) -> Result<(), (i64, String)> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let malformed = |why: &str| (50027, format!("JWT token is invalid or malformed: {why}."));
    if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return Err((
            700023,
            "Client assertion type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.".into(),
        ));
    }
    let Some(der) = &tenant.certificate else {
        return Err((
            700027,
            "Client assertion contains an invalid signature. [Reason - The key was not found.]"
                .into(),
        ));
    };
    let jwt = field("client_assertion");
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, c, sig] = parts[..] else {
        return Err(malformed("not three parts"));
    };
    let decode = |p: &str| -> Result<Value, (i64, String)> {
        let bytes = URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|_| malformed("not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| malformed("not JSON"))
    };
    let (header, claims) = (decode(h)?, decode(c)?);
    let signature = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| malformed("signature not base64url"))?;
    if header["alg"] != "RS256" {
        return Err(malformed("alg must be RS256"));
    }
    let cert_der = rustls_pki_types::CertificateDer::from(der.as_slice());
    let cert = webpki::EndEntityCert::try_from(&cert_der)
        .map_err(|_| malformed("the registered certificate does not parse"))?;
    if cert
        .verify_signature(
            webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            format!("{h}.{c}").as_bytes(),
            &signature,
        )
        .is_err()
    {
        return Err((700027, "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]".into()));
    }
    let thumbprint = URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(der));
    if header["x5t#S256"] != thumbprint.as_str() {
        return Err((700027, format!("Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{}']", header["x5t#S256"])));
    }
    if !claims["aud"]
        .as_str()
        .is_some_and(|a| a.eq_ignore_ascii_case(audience))
    {
        return Err((
            50012,
            format!(
                "Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials . [aud {}]",
                claims["aud"]
            ),
        ));
    }
    if claims["iss"] != tenant.client_id.as_str() || claims["sub"] != tenant.client_id.as_str() {
        return Err((
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.".into(),
        ));
    }
    if claims["jti"].as_str().is_none_or(str::is_empty) {
        return Err(malformed("no jti claim"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (Some(exp), nbf) = (claims["exp"].as_u64(), claims["nbf"].as_u64()) else {
        return Err(malformed("no exp claim"));
    };
    // The identity platform allows a few minutes of clock skew.
    if exp < now || nbf.is_some_and(|n| n > now + 300) {
        return Err((
            700024,
            "Client assertion is not within its valid time range.".into(),
        ));
    }
    Ok(())
}

/// Checks the bearer token the way Graph does and finds its tenant, or answers the error.
async fn authorise(
    state: &SimState,
    endpoint: &str,
    headers: &HeaderMap,
) -> Result<Tenant, Response> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_owned();
    let issued = state
        .vendor::<Microsoft365State>()
        .tokens
        .lock()
        .expect("tokens lock")
        .get(&bearer)
        .map(|i| (i.tenant_id.clone(), i.expires));
    let tenant_id = issued.as_ref().map(|i| i.0.clone());
    state.count(VENDOR, endpoint, tenant_id.as_deref());
    if let Some(fault) = state.take_fault(VENDOR, tenant_id.as_deref(), endpoint) {
        if let Some(r) = common_fault(&fault).await {
            return Err(r);
        }
        match fault {
            Fault::RateLimit { retry_after_secs } => {
                let extra: Vec<_> = retry_after_secs
                    .map(|s| ("retry-after", s.to_string()))
                    .into_iter()
                    .collect();
                return Err(graph_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "Too many requests",
                    &extra,
                ));
            }
            Fault::VendorError { code } => {
                let status = match code.as_str() {
                    "Authorization_RequestDenied" => StatusCode::FORBIDDEN,
                    "InvalidAuthenticationToken" => StatusCode::UNAUTHORIZED,
                    "serviceNotAvailable" => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::BAD_REQUEST,
                };
                return Err(graph_error(status, &code, "simulated error", &[]));
            }
            Fault::ExpireTokens => state
                .vendor::<Microsoft365State>()
                .expire_tokens(tenant_id.as_deref()),
            Fault::WrongTypes => {
                return Err(json_response(
                    StatusCode::OK,
                    json!({ "value": [{ "skuPartNumber": ["E3"], "consumedUnits": "lots", "prepaidUnits": { "enabled": { "n": 1 } },
                                        "totalLicenses": "many", "isTrial": "perhaps" }] }),
                    &[],
                ))
            }
            _ => {}
        }
    }
    if bearer.is_empty() {
        return Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
            &[],
        ));
    }
    let Some((tenant_id, expires)) = issued else {
        return Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "IDX14100: JWT is not well formed.",
            &[],
        ));
    };
    if Instant::now() >= expires {
        return Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
            &[],
        ));
    }
    let tenant = state
        .vendor::<Microsoft365State>()
        .tenant(&tenant_id)
        .ok_or_else(|| {
            graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Tenant not found.",
                &[],
            )
        })?;
    if !tenant.granted {
        return Err(graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            &[],
        ));
    }
    Ok(tenant)
}

/// One page of `items`, with an `@odata.nextLink` built from the request's own host.
fn page(
    headers: &HeaderMap,
    path: &str,
    q: &HashMap<String, String>,
    items: Vec<Value>,
    size: usize,
    context: &str,
) -> Response {
    let skip: usize = q
        .get("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let size = size.max(1);
    let chunk: Vec<_> = items.iter().skip(skip).take(size).cloned().collect();
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let mut body = json!({ "@odata.context": format!("http://{host}/v1.0/$metadata#{context}"), "value": chunk });
    if skip + size < items.len() {
        body["@odata.nextLink"] = json!(format!("http://{host}{path}?$skiptoken={}", skip + size));
    }
    json_response(StatusCode::OK, body, &[("request-id", request_id())])
}

fn rfc3339(unix: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

async fn subscribed_skus(
    State(state): State<Arc<SimState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let t = match authorise(&state, "subscribedSkus", &headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let items = t
        .skus
        .iter()
        .map(|s| {
            json!({ "accountName": "Demo account", "appliesTo": "User", "capabilityStatus": s.capability_status,
                    "consumedUnits": s.consumed, "id": format!("{}_{}", t.tenant_id, s.sku_id),
                    "prepaidUnits": { "enabled": s.enabled, "lockedOut": s.locked_out, "suspended": s.suspended, "warning": s.warning },
                    "servicePlans": [], "skuId": s.sku_id, "skuPartNumber": s.part_number })
        })
        .collect();
    page(
        &headers,
        "/v1.0/subscribedSkus",
        &q,
        items,
        t.page_size,
        "subscribedSkus",
    )
}

async fn subscriptions(
    State(state): State<Arc<SimState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let t = match authorise(&state, "subscriptions", &headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let items = t
        .subscriptions
        .iter()
        .map(|s| {
            json!({ "createdDateTime": "2025-01-01T00:00:00Z", "commerceSubscriptionId": s.id, "id": s.id,
                    "isTrial": s.is_trial, "nextLifecycleDateTime": rfc3339(s.next_lifecycle), "serviceStatus": [],
                    "skuId": s.sku_id, "skuPartNumber": s.sku_part_number, "status": s.status,
                    "totalLicenses": s.total_licenses, "ownerType": "User" })
        })
        .collect();
    page(
        &headers,
        "/v1.0/directory/subscriptions",
        &q,
        items,
        t.page_size,
        "directory/subscriptions",
    )
}
