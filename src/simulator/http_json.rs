//! Public APIs an `http_json` account is written for, answering with the shapes their
//! documentation shows (each handler names its page). Each checks credentials the way the API
//! does, from its documentation and without the exporter's code:
//!
//! - GitHub, `GET /orgs/{org}/copilot/billing`: a bearer token (`Authorization: Bearer` or
//!   `token`), 401 `Bad credentials`, 404 for an unknown organisation.
//! - Jira Cloud, `GET /rest/api/3/applicationrole`: basic auth with an e-mail and API token;
//!   the answer is a JSON list, one element per application role.
//! - Feishu, `GET /open-apis/tenant/v2/tenant/assign_info_list/query`: a tenant access token
//!   from `POST /open-apis/auth/v3/tenant_access_token/internal`; counts and times as strings.
//! - Salesforce, `GET /services/data/v60.0/limits`: a bearer token from the OAuth 2.0 client
//!   credentials flow at `POST /services/oauth2/token`; storage in MB.
//! - Box, `GET /2.0/users/me`: a bearer token from Box's client credentials grant at
//!   `POST /oauth2/token` (with `box_subject_type` and `box_subject_id`); storage in bytes.
//!
//! Faults apply per API: the fault rule's vendor is `http_json`, its tenant the API's name
//! (`github`, `jira`, `feishu`, `salesforce`, `box`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};

use super::{common_fault, Fault, Routes, SimState, SimVendor};

const VENDOR: &str = "http_json";

/// A GitHub organisation with Copilot Business.
#[derive(Debug, Clone)]
pub struct CopilotOrg {
    pub org: String,
    pub token: String,
    pub total: u64,
    pub active_this_cycle: u64,
    pub pending_invitation: u64,
    pub pending_cancellation: u64,
    pub plan_type: String,
}

/// A Jira Cloud application role.
#[derive(Debug, Clone)]
pub struct JiraRole {
    pub key: String,
    pub name: String,
    pub seats: u64,
    pub users: u64,
}

/// One Feishu purchase (`assign_info_list` element).
#[derive(Debug, Clone)]
pub struct FeishuPlan {
    pub subscription_id: String,
    pub plan_key: String,
    pub product_name: String,
    pub total: u64,
    pub assigned: u64,
    pub start: u64,
    pub end: u64,
}

pub struct HttpJsonState {
    pub copilot: Mutex<Vec<CopilotOrg>>,
    /// Jira: (e-mail, API token) allowed, and the site's roles.
    pub jira_user: Mutex<(String, String)>,
    pub jira_roles: Mutex<Vec<JiraRole>>,
    /// Feishu: (app_id, app_secret) of the custom app, and the tenant's purchases.
    pub feishu_app: (String, String),
    pub feishu_plans: Mutex<Vec<FeishuPlan>>,
    /// Tenant access tokens issued, plus one pre-issued for configs that bring their own.
    pub feishu_tokens: Mutex<HashSet<String>>,
    /// Salesforce: (client_id, client_secret) of the connected app, and (max, remaining) MB
    /// of data and file storage.
    pub salesforce_app: (String, String),
    pub salesforce_storage: Mutex<[(u64, u64); 2]>,
    pub salesforce_tokens: Mutex<HashSet<String>>,
    /// Box: (client_id, client_secret, enterprise id) of the app, and (space_amount,
    /// space_used) bytes of its service account.
    pub box_app: (String, String, String),
    pub box_space: Mutex<(u64, u64)>,
    pub box_tokens: Mutex<HashSet<String>>,
}

/// The Feishu tenant token the demo and the docs' bearer example use.
pub const FEISHU_DEMO_TOKEN: &str = "t-g1044qeGEDXTB6NDJOGV4JQCYDGHRBARFTGT1234";

impl HttpJsonState {
    pub fn demo(started: std::time::SystemTime) -> Self {
        let now = started
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let day = 86_400;
        Self {
            copilot: Mutex::new(vec![CopilotOrg {
                org: "acme".into(),
                token: "ghp_demoCopilotToken0123456789abcdefABCD".into(),
                total: 50,
                active_this_cycle: 48,
                pending_invitation: 1,
                pending_cancellation: 2,
                plan_type: "business".into(),
            }]),
            jira_user: Mutex::new((
                "admin@acme.example".into(),
                "ATATT3xDemoJiraApiToken".into(),
            )),
            jira_roles: Mutex::new(vec![
                JiraRole {
                    key: "jira-software".into(),
                    name: "Jira Software".into(),
                    seats: 100,
                    users: 64,
                },
                JiraRole {
                    key: "jira-servicedesk".into(),
                    name: "Jira Service Management".into(),
                    seats: 10,
                    users: 4,
                },
            ]),
            feishu_app: ("cli_a1b2c3d4e5f6a7b8".into(), "demoFeishuAppSecret".into()),
            feishu_plans: Mutex::new(vec![
                FeishuPlan {
                    subscription_id: "7079609167680782300".into(),
                    plan_key: "suite_enterprise_e5".into(),
                    product_name: "旗舰版 E5".into(),
                    total: 500,
                    assigned: 320,
                    start: now - 300 * day,
                    end: now + 65 * day,
                },
                FeishuPlan {
                    subscription_id: "7079609167680782301".into(),
                    plan_key: "addon_minutes".into(),
                    product_name: "Meeting rooms".into(),
                    total: 20,
                    assigned: 12,
                    start: now - 345 * day,
                    end: now + 20 * day,
                },
            ]),
            feishu_tokens: Mutex::new(HashSet::from([FEISHU_DEMO_TOKEN.to_owned()])),
            salesforce_app: (
                "3MVG9demoSalesforceConnectedAppKey".into(),
                "demoSalesforceConsumerSecret".into(),
            ),
            salesforce_storage: Mutex::new([(5120, 1536), (10240, 9216)]),
            salesforce_tokens: Mutex::new(HashSet::new()),
            box_app: (
                "ly1nj6n11vionaie65emwzk575hnnmrk".into(),
                "demoBoxClientSecret".into(),
                "899905961".into(),
            ),
            box_space: Mutex::new((1_099_511_627_776, 962_072_674_304)),
            box_tokens: Mutex::new(HashSet::new()),
        }
    }
}

pub static SIMULATED: SimVendor = SimVendor {
    vendor: VENDOR,
    state: |started| Box::new(HttpJsonState::demo(started)),
    routes,
};

fn routes() -> Routes {
    vec![
        ("/orgs/{org}/copilot/billing", get(copilot_billing)),
        ("/rest/api/3/applicationrole", get(jira_roles)),
        (
            "/open-apis/auth/v3/tenant_access_token/internal",
            post(feishu_token),
        ),
        (
            "/open-apis/tenant/v2/tenant/assign_info_list/query",
            get(feishu_assign_info),
        ),
        ("/services/oauth2/token", post(salesforce_token)),
        ("/services/data/v60.0/limits", get(salesforce_limits)),
        ("/oauth2/token", post(box_token)),
        ("/2.0/users/me", get(box_user)),
    ]
}

fn sim(state: &SimState) -> &HttpJsonState {
    state.vendor::<HttpJsonState>()
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        body.to_string(),
    )
        .into_response()
}

/// Faults every API here shares: common ones, 429 with Retry-After, wrong types, a vendor
/// error (HTTP 400 with the code), expired tokens. `Some` is the answer to send.
async fn fault(state: &SimState, api: &str, endpoint: &str) -> Option<Response> {
    let fault = state.take_fault(VENDOR, Some(api), endpoint)?;
    if let Some(r) = common_fault(&fault).await {
        return Some(r);
    }
    match fault {
        Fault::RateLimit { retry_after_secs } => {
            let mut r = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"message": "API rate limit exceeded"}),
            );
            if let Some(s) = retry_after_secs {
                r.headers_mut().insert("retry-after", s.into());
            }
            Some(r)
        }
        Fault::VendorError { code } => Some(json_response(
            StatusCode::BAD_REQUEST,
            json!({"code": code, "message": "simulated error"}),
        )),
        Fault::WrongTypes => Some(json_response(
            StatusCode::OK,
            json!({"seat_breakdown": {"total": "lots"}, "DataStorageMB": {"Max": [1]},
                   "data": {"assign_info_list": [{"product_name": {"x": 1}, "total_seats": true}]}}),
        )),
        Fault::ExpireTokens => {
            sim(state).feishu_tokens.lock().expect("lock").clear();
            sim(state).salesforce_tokens.lock().expect("lock").clear();
            None
        }
        _ => None,
    }
}

/// The token of `Authorization: Bearer <token>` (case-insensitive scheme), or GitHub's older
/// `token <token>` form when `token_scheme` is allowed.
fn bearer(headers: &HeaderMap, token_scheme: bool) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let ok = scheme.eq_ignore_ascii_case("bearer")
        || (token_scheme && scheme.eq_ignore_ascii_case("token"));
    (ok && !token.trim().is_empty()).then(|| token.trim().to_owned())
}

/// GitHub: "Get Copilot seat information and settings for an organization",
/// https://docs.github.com/en/rest/copilot/copilot-user-management#get-copilot-seat-information-and-settings-for-an-organization
async fn copilot_billing(
    State(state): State<Arc<SimState>>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    state.count(VENDOR, "copilot_billing", Some("github"));
    if let Some(r) = fault(&state, "github", "copilot_billing").await {
        return r;
    }
    let orgs = sim(&state).copilot.lock().expect("lock").clone();
    let token = bearer(&headers, true);
    let Some(o) = orgs
        .iter()
        .find(|o| token.as_deref() == Some(o.token.as_str()))
    else {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
        );
    };
    // The org name is not case-sensitive.
    if !o.org.eq_ignore_ascii_case(&org) {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest/copilot/copilot-user-management#get-copilot-seat-information-and-settings-for-an-organization", "status": "404"}),
        );
    }
    json_response(
        StatusCode::OK,
        json!({
            "seat_breakdown": {
                "total": o.total,
                "added_this_cycle": 2,
                "pending_invitation": o.pending_invitation,
                "pending_cancellation": o.pending_cancellation,
                "active_this_cycle": o.active_this_cycle,
                "inactive_this_cycle": o.total - o.active_this_cycle
            },
            "seat_management_setting": "assign_selected",
            "ide_chat": "enabled",
            "platform_chat": "enabled",
            "cli": "enabled",
            "public_code_suggestions": "block",
            "plan_type": o.plan_type
        }),
    )
}

/// Jira Cloud: "Get all application roles",
/// https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-application-roles/#api-rest-api-3-applicationrole-get
async fn jira_roles(State(state): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    state.count(VENDOR, "applicationrole", Some("jira"));
    if let Some(r) = fault(&state, "jira", "applicationrole").await {
        return r;
    }
    let basic = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let (user, token) = sim(&state).jira_user.lock().expect("lock").clone();
    if basic.as_deref() != Some(format!("{user}:{token}").as_str()) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"errorMessages": ["You are not authenticated. Authentication required to perform this operation."], "errors": {}}),
        );
    }
    let roles = sim(&state).jira_roles.lock().expect("lock").clone();
    let list: Vec<Value> = roles
        .iter()
        .map(|r| {
            json!({
                "key": r.key,
                "groups": [format!("{}-users", r.key)],
                "groupDetails": [{"groupId": "276f955c-63d7-42c8-9520-92d01dca0625", "name": format!("{}-users", r.key)}],
                "name": r.name,
                "defaultGroups": [format!("{}-users", r.key)],
                "selectedByDefault": false,
                "defined": false,
                "numberOfSeats": r.seats,
                "remainingSeats": r.seats - r.users,
                "userCount": r.users,
                "userCountDescription": format!("{} users", r.users),
                "hasUnlimitedSeats": false,
                "platform": false
            })
        })
        .collect();
    json_response(StatusCode::OK, Value::Array(list))
}

/// Feishu: "Get tenant_access_token (custom app)",
/// https://open.feishu.cn/document/server-docs/authentication-management/access-token/tenant_access_token_internal
async fn feishu_token(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    state.count(VENDOR, "tenant_access_token", Some("feishu"));
    if let Some(r) = fault(&state, "feishu", "tenant_access_token").await {
        return r;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let (id, secret) = &sim(&state).feishu_app;
    if body["app_id"].as_str() != Some(id) || body["app_secret"].as_str() != Some(secret) {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"code": 10014, "msg": "app secret invalid"}),
        );
    }
    let token = format!("t-{}", Alphanumeric.sample_string(&mut rand::rng(), 40));
    sim(&state)
        .feishu_tokens
        .lock()
        .expect("lock")
        .insert(token.clone());
    json_response(
        StatusCode::OK,
        json!({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200}),
    )
}

/// Feishu: "Get tenant seat information" (获取企业席位信息),
/// https://open.feishu.cn/document/server-docs/tenant-v2/tenant-product_assign_info/query
async fn feishu_assign_info(State(state): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    state.count(VENDOR, "assign_info_list", Some("feishu"));
    if let Some(r) = fault(&state, "feishu", "assign_info_list").await {
        return r;
    }
    let known = bearer(&headers, false)
        .is_some_and(|t| sim(&state).feishu_tokens.lock().expect("lock").contains(&t));
    if !known {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"code": 99991663, "msg": "Invalid access token for authorization. Please make a request with token attached."}),
        );
    }
    let plans = sim(&state).feishu_plans.lock().expect("lock").clone();
    let list: Vec<Value> = plans
        .iter()
        .map(|p| {
            json!({
                "subscription_id": p.subscription_id,
                "license_plan_key": p.plan_key,
                "product_name": p.product_name,
                "i18n_name": {"zh_cn": p.product_name, "ja_jp": p.product_name, "en_us": p.product_name},
                "total_seats": p.total.to_string(),
                "assigned_seats": p.assigned.to_string(),
                "start_time": p.start.to_string(),
                "end_time": p.end.to_string()
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        json!({"code": 0, "msg": "success", "data": {"assign_info_list": list}}),
    )
}

/// Salesforce: "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration",
/// https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
async fn salesforce_token(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.count(VENDOR, "token", Some("salesforce"));
    if let Some(r) = fault(&state, "salesforce", "token").await {
        return r;
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type", "error_description": "grant type not supported"}),
        );
    }
    // The client may authenticate in the body or with HTTP basic auth.
    let basic = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    let (id, secret) = basic.unwrap_or((field("client_id"), field("client_secret")));
    if (id.as_str(), secret.as_str())
        != (
            sim(&state).salesforce_app.0.as_str(),
            sim(&state).salesforce_app.1.as_str(),
        )
    {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_client", "error_description": "invalid client credentials"}),
        );
    }
    let token = format!(
        "00D5g000004demo!{}",
        Alphanumeric.sample_string(&mut rand::rng(), 60)
    );
    sim(&state)
        .salesforce_tokens
        .lock()
        .expect("lock")
        .insert(token.clone());
    json_response(
        StatusCode::OK,
        json!({
            "access_token": token,
            "signature": "demoSignature=",
            "scope": "api",
            "instance_url": "https://acme.my.salesforce.com",
            "id": "https://login.salesforce.com/id/00D5g000004demo/0055g00000demo",
            "token_type": "Bearer",
            "issued_at": "1700000000000"
        }),
    )
}

/// Salesforce: "Limits", https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm
async fn salesforce_limits(State(state): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    state.count(VENDOR, "limits", Some("salesforce"));
    if let Some(r) = fault(&state, "salesforce", "limits").await {
        return r;
    }
    let known = bearer(&headers, false).is_some_and(|t| {
        sim(&state)
            .salesforce_tokens
            .lock()
            .expect("lock")
            .contains(&t)
    });
    if !known {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
        );
    }
    let [(data_max, data_left), (file_max, file_left)] =
        *sim(&state).salesforce_storage.lock().expect("lock");
    json_response(
        StatusCode::OK,
        json!({
            "DailyApiRequests": {"Max": 15000, "Remaining": 14998},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DataStorageMB": {"Max": data_max, "Remaining": data_left},
            "FileStorageMB": {"Max": file_max, "Remaining": file_left},
            "SingleEmail": {"Max": 15, "Remaining": 15}
        }),
    )
}

/// Box: "Client Credentials Grant",
/// https://developer.box.com/guides/authentication/client-credentials/
async fn box_token(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    state.count(VENDOR, "token", Some("box"));
    if let Some(r) = fault(&state, "box", "token").await {
        return r;
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (id, secret, enterprise) = &sim(&state).box_app;
    if field("grant_type") != "client_credentials" {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type", "error_description": "Grant type is not supported"}),
        );
    }
    if field("client_id") != *id || field("client_secret") != *secret {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_client", "error_description": "The client credentials are invalid"}),
        );
    }
    if field("box_subject_type") != "enterprise" || field("box_subject_id") != *enterprise {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": "Grant credentials are invalid"}),
        );
    }
    let token = Alphanumeric.sample_string(&mut rand::rng(), 32);
    sim(&state)
        .box_tokens
        .lock()
        .expect("lock")
        .insert(token.clone());
    json_response(
        StatusCode::OK,
        json!({"access_token": token, "expires_in": 3600, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "restricted_to": [], "token_type": "bearer"}),
    )
}

/// Box: "Get current user", https://developer.box.com/reference/get-users-me/
async fn box_user(State(state): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    state.count(VENDOR, "users_me", Some("box"));
    if let Some(r) = fault(&state, "box", "users_me").await {
        return r;
    }
    let known = bearer(&headers, false)
        .is_some_and(|t| sim(&state).box_tokens.lock().expect("lock").contains(&t));
    if !known {
        return (
            StatusCode::UNAUTHORIZED,
            [(axum::http::header::WWW_AUTHENTICATE, "Bearer realm=\"Service\", error=\"invalid_token\", error_description=\"The access token provided is invalid.\"")],
        )
            .into_response();
    }
    let (amount, used) = *sim(&state).box_space.lock().expect("lock");
    json_response(
        StatusCode::OK,
        json!({
            "id": "11446498",
            "type": "user",
            "name": "Acme Service Account",
            "login": "AutomationUser_899905961@boxdevedition.com",
            "created_at": "2012-12-12T10:53:43-08:00",
            "modified_at": "2012-12-12T10:53:43-08:00",
            "language": "en",
            "timezone": "Africa/Bujumbura",
            "space_amount": amount,
            "space_used": used,
            "max_upload_size": 2147483648u64,
            "status": "active",
            "job_title": "",
            "phone": "",
            "address": "",
            "avatar_url": "https://www.box.com/api/avatar/large/181216415"
        }),
    )
}
