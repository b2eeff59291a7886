//! Huawei KooDrive's side of the two service calls, as its documentation describes them.
//!
//! Requests are authenticated by app signature or by a bearer token. The signature is verified
//! here from the documented steps, written out again on purpose (never the exporter's signer): a
//! shared mistake would otherwise pass unnoticed. `X-Date` must be at most 15 minutes old and not
//! in the future, to the second, as the rule says. `X-Traceid`, when sent, must be exactly 58
//! characters. Refusals come in the documented shapes: the API gateway's
//! `{error_code, error_msg, request_id}` for authentication and throttling (HTTP 401/403/429),
//! KooDrive's own `{code, msg}` for business errors (HTTP 400).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{common_fault, json_bytes, Fault, Routes, SimState, SimVendor};

const VENDOR: &str = "koodrive";
const MAX_AGE: Duration = Duration::from_secs(15 * 60);
const TRACE_ID_LEN: usize = 58;

/// One simulated tenant. Space sizes are GB (capacity, quotas, default sizes) and KB (used), as
/// the vendor's example answer implies.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The name fault rules and stats use (`tenant`).
    pub name: String,
    pub app_id: String,
    pub app_secret: String,
    /// The tenant admin's user id: the only `X-User-Id` allowed.
    pub user_id: String,
    /// Bearer tokens currently valid for this tenant.
    pub bearer_tokens: Vec<String>,
    /// 0 normal, 1 frozen.
    pub status: i64,
    /// Send every number and boolean as a string, as older API versions did.
    pub strings: bool,
    pub space_capacity: u64,
    pub dept_quota: u64,
    pub personal_quota: u64,
    pub group_quota: u64,
    pub reserved_quota: u64,
    pub dept_quota_used: u64,
    pub personal_quota_used: u64,
    pub group_quota_used: u64,
    pub dept_used_kb: u64,
    pub personal_used_kb: u64,
    pub group_used_kb: u64,
    /// How fast personal space fills, in KB a second.
    pub growth_kb_per_sec: f64,
    pub user_count: u64,
    pub user_max_count: u64,
    pub package_download_expires: u64,
    pub product_type: String,
    pub tenant_id: String,
    pub organization_id: String,
    pub organization_name: String,
    pub root_dept_code: String,
    pub subscription_users: u64,
    pub department_space_size: u64,
    pub personal_space_size: u64,
    pub group_space_size: u64,
    pub ai_available: bool,
    pub wps_available: bool,
}

pub struct KooDriveState {
    pub tenants: Mutex<Vec<Tenant>>,
    /// How far the simulated vendor's clock is ahead of ours, in seconds (negative: behind).
    pub clock_skew_secs: Mutex<i64>,
}

impl KooDriveState {
    /// Two tenants: `acme-cn` (the documentation's example answer, personal space filling
    /// slowly) and `initech-intl` (frozen, and answering with string-typed numbers like older
    /// API versions).
    pub fn demo() -> Self {
        let tenants = vec![
            Tenant {
                name: "acme-cn".into(),
                app_id: "demo-app-acme".into(),
                app_secret: "demo-app-secret-acme".into(),
                user_id: "1505084218764547200".into(),
                bearer_tokens: vec!["demo-bearer-acme".into()],
                status: 0,
                strings: false,
                space_capacity: 10240,
                dept_quota: 6144,
                personal_quota: 2048,
                group_quota: 2048,
                reserved_quota: 0,
                dept_quota_used: 42,
                personal_quota_used: 35,
                group_quota_used: 250,
                dept_used_kb: 1_975_057,
                personal_used_kb: 3_933_426,
                group_used_kb: 1_844_815,
                growth_kb_per_sec: 50.0,
                user_count: 20,
                user_max_count: 100,
                package_download_expires: 7,
                product_type: "1".into(),
                tenant_id: "40086000004871666".into(),
                organization_id: "9190086000001210958".into(),
                organization_name: "Acme China".into(),
                root_dept_code: "aed8a3763f9b4177beb2dd8bce1a3885".into(),
                subscription_users: 100,
                department_space_size: 50,
                personal_space_size: 20,
                group_space_size: 10,
                ai_available: true,
                wps_available: true,
            },
            Tenant {
                name: "initech-intl".into(),
                app_id: "demo-app-initech".into(),
                app_secret: "demo-app-secret-initech".into(),
                user_id: "1505084218764547300".into(),
                bearer_tokens: vec!["demo-bearer-initech".into()],
                status: 1,
                strings: true,
                space_capacity: 2048,
                dept_quota: 1024,
                personal_quota: 512,
                group_quota: 512,
                reserved_quota: 0,
                dept_quota_used: 300,
                personal_quota_used: 400,
                group_quota_used: 100,
                dept_used_kb: 250_000_000,
                personal_used_kb: 380_000_000,
                group_used_kb: 90_000_000,
                growth_kb_per_sec: 0.0,
                user_count: 48,
                user_max_count: 50,
                package_download_expires: 3,
                product_type: "2".into(),
                tenant_id: "40086000009990001".into(),
                organization_id: "9190086000002220001".into(),
                organization_name: "Initech International".into(),
                root_dept_code: "0b6f3c2a9d8e4f1a8c7b6a5d4e3f2a1b".into(),
                subscription_users: 50,
                department_space_size: 100,
                personal_space_size: 10,
                group_space_size: 0,
                ai_available: false,
                wps_available: true,
            },
        ];
        Self {
            tenants: Mutex::new(tenants),
            clock_skew_secs: Mutex::new(0),
        }
    }

    /// Changes a tenant in place (tests: flip `strings`, freeze it, rotate its tokens…).
    pub fn update(&self, tenant: &str, change: impl FnOnce(&mut Tenant)) {
        let mut tenants = self.tenants.lock().expect("tenants lock");
        let t = tenants
            .iter_mut()
            .find(|t| t.name == tenant)
            .expect("no such simulated KooDrive tenant");
        change(t);
    }

    /// Revokes every bearer token of the tenant.
    pub fn expire_tokens(&self, tenant: &str) {
        self.update(tenant, |t| t.bearer_tokens.clear());
    }

    pub fn set_clock_skew(&self, secs: i64) {
        *self.clock_skew_secs.lock().expect("skew lock") = secs;
    }

    fn find(&self, pred: impl Fn(&Tenant) -> bool) -> Option<Tenant> {
        self.tenants
            .lock()
            .expect("tenants lock")
            .iter()
            .find(|t| pred(t))
            .cloned()
    }

    fn now(&self) -> SystemTime {
        let skew = *self.clock_skew_secs.lock().expect("skew lock");
        let now = SystemTime::now();
        if skew >= 0 {
            now + Duration::from_secs(skew.unsigned_abs())
        } else {
            now - Duration::from_secs(skew.unsigned_abs())
        }
    }
}

// The vendor's paths, written here from its documentation (not imported from the client).
const QUOTA_USED_PATH: &str = "/koodrive/ose/v1/service/quotaUsed";
const SERVICE_PATH: &str = "/koodrive/ose/v1/service";

/// This vendor's side of the simulator.
pub static SIMULATED: SimVendor = SimVendor {
    vendor: VENDOR,
    state: |_| Box::new(KooDriveState::demo()),
    routes,
};

fn routes() -> Routes {
    vec![(QUOTA_USED_PATH, get(call)), (SERVICE_PATH, get(call))]
}

fn answer(status: StatusCode, body: Value) -> Response {
    let mut r = json_bytes(body.to_string());
    *r.status_mut() = status;
    r
}

fn refuse(status: StatusCode, code: Value, msg: &str) -> Response {
    answer(status, json!({ "code": code, "msg": msg }))
}

/// A refusal by Huawei's API gateway, in its own envelope, at the status its code documents.
fn gateway_refuse(code: &str, msg: &str) -> Response {
    let status = match code.rsplit('.').next().unwrap_or_default() {
        "0301" | "0303" | "0305" | "0307" => StatusCode::UNAUTHORIZED,
        "0302" | "0304" | "0306" => StatusCode::FORBIDDEN,
        "0308" => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    };
    let request_id = hex::encode(rand::random::<[u8; 16]>());
    answer(
        status,
        json!({ "error_code": code, "error_msg": msg, "request_id": request_id }),
    )
}

/// KooDrive's answer to a request it cannot accept (a business error, HTTP 400).
fn bad_parameters(why: &str) -> Response {
    refuse(
        StatusCode::BAD_REQUEST,
        json!(13000102),
        &format!("Verify parameters failed: {why}"),
    )
}

/// What the `Authorization` header claims, before anything is verified.
enum Claim {
    Bearer(String),
    App {
        app_id: String,
        signed_headers: String,
        signature: String,
    },
    Missing,
    Unreadable,
}

fn claim(headers: &HeaderMap) -> Claim {
    let Some(value) = headers.get("authorization") else {
        return Claim::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Claim::Unreadable;
    };
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Claim::Bearer(token.trim().to_owned());
    }
    let Some(params) = value.strip_prefix("HMAC-SHA256 ") else {
        return Claim::Unreadable;
    };
    let (mut app_id, mut signed_headers, mut signature) = (None, None, None);
    for param in params.split(',') {
        match param.split_once('=') {
            Some(("AppId", v)) => app_id = Some(v.to_owned()),
            Some(("SignedHeaders", v)) => signed_headers = Some(v.to_owned()),
            Some(("Signature", v)) => signature = Some(v.to_owned()),
            _ => return Claim::Unreadable,
        }
    }
    match (app_id, signed_headers, signature) {
        (Some(app_id), Some(signed_headers), Some(signature)) => Claim::App {
            app_id,
            signed_headers,
            signature,
        },
        _ => Claim::Unreadable,
    }
}

/// Reads `YYYYMMDDTHHMMSSZ`.
fn parse_x_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    let well_formed = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    if !well_formed {
        return None;
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    );
    humantime::parse_rfc3339(&rfc3339).ok()
}

/// RFC 3986: unreserved characters stay, every other byte becomes `%XX`.
fn rfc3986(raw: &[u8]) -> String {
    raw.iter()
        .map(|&c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (c as char).to_string()
            }
            _ => format!("%{c:02X}"),
        })
        .collect()
}

fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(c) = bytes.next() {
        if c == b'%' {
            let hi = bytes.next();
            let lo = bytes.next();
            if let (Some(hi), Some(lo)) = (hi, lo) {
                if let Ok(v) = u8::from_str_radix(&format!("{}{}", hi as char, lo as char), 16) {
                    out.push(v);
                    continue;
                }
                out.extend([c, hi, lo]);
                continue;
            }
            out.push(c);
            out.extend(hi);
            out.extend(lo);
        } else {
            out.push(c);
        }
    }
    out
}

/// The parts of a request the checks look at.
struct Incoming<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

/// The vendor's check of an app signature. `Err` is the answer to send.
fn verify_app(
    tenant: &Tenant,
    now: SystemTime,
    req: &Incoming<'_>,
    signed_headers: &str,
    signature: &str,
) -> Result<(), Box<Response>> {
    let Incoming {
        method,
        uri,
        headers,
        body,
    } = *req;
    let bad_auth = |why: &str| {
        gateway_refuse(
            "APIGW.0303",
            &format!("Incorrect app authentication information: {why}"),
        )
    };
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"x-date") || !names.contains(&"x-user-id") {
        return Err(Box::new(bad_auth(
            "SignedHeaders must include x-date and x-user-id",
        )));
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let Some(x_date) = header("x-date").and_then(parse_x_date) else {
        return Err(Box::new(bad_auth("X-Date missing or not YYYYMMDDTHHMMSSZ")));
    };
    if x_date > now {
        return Err(Box::new(bad_auth("X-Date is in the future")));
    }
    if now.duration_since(x_date).unwrap_or_default() > MAX_AGE {
        return Err(Box::new(bad_auth(
            "X-Date expired (more than 15 minutes old)",
        )));
    }

    // Canonical request, step by step as the documentation lists it.
    let mut uri_part = uri.path().to_owned();
    if !uri_part.ends_with('/') {
        uri_part += "/";
    }
    let mut query: Vec<String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            format!("{}={}", rfc3986(&unescape(k)), rfc3986(&unescape(v)))
        })
        .collect();
    query.sort();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    let mut header_lines = String::new();
    for name in &sorted {
        let Some(value) = header(name) else {
            return Err(Box::new(bad_auth("a signed header is missing")));
        };
        header_lines += &format!("{}:{}\n", name.to_lowercase(), value);
    }
    let canonical = [
        method.as_str().to_owned(),
        uri_part,
        query.join("&"),
        header_lines,
        sorted.join(";"),
        hex::encode(Sha256::digest(body)),
    ]
    .join("\n");
    let to_sign = format!(
        "HMAC-SHA256\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut mac =
        Hmac::<Sha256>::new_from_slice(tenant.app_secret.as_bytes()).expect("any key length");
    mac.update(to_sign.as_bytes());
    let matches = hex::decode(signature).is_ok_and(|sig| mac.verify_slice(&sig).is_ok());
    if !matches {
        return Err(Box::new(bad_auth("verify signature failed")));
    }
    if header("x-user-id") != Some(tenant.user_id.as_str()) {
        return Err(Box::new(refuse(
            StatusCode::FORBIDDEN,
            json!("403"),
            "X-User-Id is not an administrator of this tenant",
        )));
    }
    Ok(())
}

/// Checks a call the way KooDrive does and finds its tenant, or answers the error.
async fn authorise(
    state: &SimState,
    endpoint: &str,
    req: Incoming<'_>,
) -> Result<Tenant, Response> {
    let kd = state.vendor::<KooDriveState>();
    let headers = req.headers;
    let claim = claim(headers);
    let tenant = match &claim {
        Claim::Bearer(token) => kd.find(|t| t.bearer_tokens.contains(token)),
        Claim::App { app_id, .. } => kd.find(|t| &t.app_id == app_id),
        Claim::Missing | Claim::Unreadable => None,
    };
    let name = tenant.as_ref().map(|t| t.name.clone());
    state.count(VENDOR, endpoint, name.as_deref());
    if let Some(fault) = state.take_fault(VENDOR, name.as_deref(), endpoint) {
        if let Some(r) = common_fault(&fault).await {
            return Err(r);
        }
        match fault {
            Fault::VendorError { code } if code.starts_with("APIG") => {
                return Err(gateway_refuse(&code, "simulated gateway error"));
            }
            Fault::VendorError { code } => {
                let code = code
                    .parse::<i64>()
                    .map_or_else(|_| json!(code), |n| json!(n));
                return Err(refuse(StatusCode::BAD_REQUEST, code, "simulated error"));
            }
            Fault::RateLimit { retry_after_secs } => {
                let mut r =
                    gateway_refuse("APIGW.0308", "The throttling threshold has been reached");
                if let Some(secs) = retry_after_secs {
                    r.headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, secs.into());
                }
                return Err(r);
            }
            Fault::WrongTypes => {
                return Err(answer(
                    StatusCode::OK,
                    json!({ "code": 0, "msg": "success",
                            "data": { "spaceCapacity": {"value": 1}, "userCount": [20], "status": "frozen", "aiAvailable": "maybe" } }),
                ));
            }
            Fault::ExpireTokens => {
                if let Some(n) = &name {
                    kd.expire_tokens(n);
                }
            }
            _ => {}
        }
    }

    // Optional; when sent, exactly 58 characters.
    if headers
        .get("x-traceid")
        .is_some_and(|v| v.len() != TRACE_ID_LEN)
    {
        return Err(bad_parameters("X-Traceid must be exactly 58 characters"));
    }
    match claim {
        Claim::Missing | Claim::Unreadable => Err(gateway_refuse(
            "APIGW.0305",
            "Incorrect authentication information: Authorization missing or unreadable",
        )),
        // Looked up again: an expire_tokens fault may just have revoked the token.
        Claim::Bearer(token) => kd
            .find(|t| t.bearer_tokens.contains(&token))
            .ok_or_else(|| gateway_refuse("APIGW.0307", "The token must be updated.")),
        Claim::App {
            signed_headers,
            signature,
            ..
        } => {
            let Some(tenant) = tenant else {
                return Err(gateway_refuse(
                    "APIGW.0303",
                    "Incorrect app authentication information: app not found",
                ));
            };
            verify_app(&tenant, kd.now(), &req, &signed_headers, &signature).map_err(|r| *r)?;
            Ok(tenant)
        }
    }
}

/// A number as the tenant sends it: as is, or as a string.
fn n(t: &Tenant, v: impl Into<f64>) -> Value {
    let v: f64 = v.into();
    let v = v.round() as u64;
    if t.strings {
        json!(v.to_string())
    } else {
        json!(v)
    }
}

fn b(t: &Tenant, v: bool) -> Value {
    if t.strings {
        json!(v.to_string())
    } else {
        json!(v)
    }
}

fn success(t: &Tenant, data: Value) -> Response {
    let code = if t.strings { json!("0") } else { json!(0) };
    answer(
        StatusCode::OK,
        json!({ "code": code, "msg": "success", "data": data }),
    )
}

/// Both calls: checked the way the vendor checks them, then answered from the tenant's data.
async fn call(
    State(state): State<Arc<SimState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = if uri.path() == QUOTA_USED_PATH {
        "quotaUsed"
    } else {
        "service"
    };
    let incoming = Incoming {
        method: &method,
        uri: &uri,
        headers: &headers,
        body: &body,
    };
    let t = match authorise(&state, endpoint, incoming).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let data = if endpoint == "quotaUsed" {
        quota_used_data(&state, &t)
    } else {
        service_data(&t)
    };
    success(&t, data)
}

/// `data` of `quotaUsed`: personal space grows with time (up to its quota).
fn quota_used_data(state: &SimState, t: &Tenant) -> Value {
    let personal = t.personal_used_kb as f64 + t.growth_kb_per_sec * state.elapsed_secs();
    let personal = personal.min((t.personal_quota * 1024 * 1024) as f64);
    let used = t.dept_used_kb as f64 + personal + t.group_used_kb as f64;
    json!({
        "spaceUsed": n(t, used),
        "spaceCapacity": n(t, t.space_capacity as f64),
        "deptSpaceQuota": n(t, t.dept_quota as f64),
        "personalSpaceQuota": n(t, t.personal_quota as f64),
        "groupSpaceQuota": n(t, t.group_quota as f64),
        "reservedSpaceQuota": n(t, t.reserved_quota as f64),
        "spaceQuotaUsed": n(t, (t.dept_quota_used + t.personal_quota_used + t.group_quota_used) as f64),
        "deptSpaceUsed": n(t, t.dept_used_kb as f64),
        "deptSpaceQuotaUsed": n(t, t.dept_quota_used as f64),
        "personalSpaceUsed": n(t, personal),
        "personalSpaceQuotaUsed": n(t, t.personal_quota_used as f64),
        "groupSpaceUsed": n(t, t.group_used_kb as f64),
        "groupSpaceQuotaUsed": n(t, t.group_quota_used as f64),
        "userCount": n(t, t.user_count as f64),
        "userMaxCount": n(t, t.user_max_count as f64),
        "packageDownloadExpires": n(t, t.package_download_expires as f64),
        "productType": t.product_type,
    })
}

/// `data` of `service`.
fn service_data(t: &Tenant) -> Value {
    json!({
        "tenantId": t.tenant_id,
        "status": n(t, t.status as f64),
        "spaceCapacity": n(t, t.space_capacity as f64),
        "userCount": n(t, t.subscription_users as f64),
        "personalSpaceSize": n(t, t.personal_space_size as f64),
        "groupSpaceSize": n(t, t.group_space_size as f64),
        "departmentSpaceSize": n(t, t.department_space_size as f64),
        "organizationName": t.organization_name,
        "organizationId": t.organization_id,
        "rootDeptCode": t.root_dept_code,
        "productType": t.product_type,
        "aiAvailable": b(t, t.ai_available),
        "wpsAvailable": b(t, t.wps_available),
    })
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn unix_secs(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
    }

    fn tenant_with_secret(secret: &str) -> Tenant {
        let mut t = KooDriveState::demo()
            .tenants
            .into_inner()
            .unwrap()
            .remove(0);
        t.app_secret = secret.into();
        t.user_id = "1505084218764547200".into();
        t
    }

    fn req<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Incoming<'a> {
        Incoming {
            method: &Method::GET,
            uri,
            headers,
            body: b"",
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    // The hand-derived vector the client's signer is also tested against (computed by a one-off
    // Python script with hashlib/hmac from the documented steps): the verifier must accept it.
    #[test]
    fn verifier_accepts_the_hand_derived_vector() {
        let t = tenant_with_secret("made-up-app-secret-0123456789");
        let h = headers(&[
            ("host", "cn.myhuaweicloud-koodrive.com"),
            ("x-date", "20250102T030405Z"),
            ("x-user-id", "1505084218764547200"),
        ]);
        let uri: Uri = "/koodrive/ose/v1/service/quotaUsed".parse().unwrap();
        let at = parse_x_date("20250102T030405Z").unwrap() + Duration::from_secs(60);
        let sig = "2ee7c6839778cda757bf73506b951dd70b23955841212f4e037942397c7120c3";
        assert!(verify_app(&t, at, &req(&uri, &h), "host;x-date;x-user-id", sig).is_ok());
        let wrong = "3ee7c6839778cda757bf73506b951dd70b23955841212f4e037942397c7120c3";
        assert_eq!(
            verify_app(&t, at, &req(&uri, &h), "host;x-date;x-user-id", wrong)
                .unwrap_err()
                .status(),
            401
        );
        // Same request, 16 minutes later: too old. A minute earlier: from the future.
        let late = at + Duration::from_secs(15 * 60);
        assert!(verify_app(&t, late, &req(&uri, &h), "host;x-date;x-user-id", sig).is_err());
        let early = at - Duration::from_secs(120);
        assert!(verify_app(&t, early, &req(&uri, &h), "host;x-date;x-user-id", sig).is_err());
        // "Not in the future" means it: one second ahead is refused, the same second is not.
        let x_date = parse_x_date("20250102T030405Z").unwrap();
        let ahead = verify_app(
            &t,
            x_date - Duration::from_secs(1),
            &req(&uri, &h),
            "host;x-date;x-user-id",
            sig,
        );
        assert_eq!(ahead.unwrap_err().status(), 401);
        assert!(verify_app(&t, x_date, &req(&uri, &h), "host;x-date;x-user-id", sig).is_ok());
    }

    #[test]
    fn verifier_canonicalises_the_query() {
        let t = tenant_with_secret("made-up-app-secret-0123456789");
        let h = headers(&[
            ("x-user-id", " 1505084218764547200 "),
            ("host", "intl.myhuaweicloud-koodrive.com"),
            ("x-date", "20991231T235959Z"),
        ]);
        let uri: Uri = "/koodrive/ose/v1/service?language=en-US&b=x%20y%2F%C3%BC&a=1"
            .parse()
            .unwrap();
        let at = parse_x_date("20991231T235959Z").unwrap();
        let sig = "c14b3a612fae5021a580b1302a21adb9be1cfa5615586f184d187cfbc2666379";
        assert!(verify_app(&t, at, &req(&uri, &h), "host;x-date;x-user-id", sig).is_ok());
    }

    #[test]
    fn x_date_format() {
        assert_eq!(
            parse_x_date("20250102T030405Z").map(unix_secs),
            Some(1735787045)
        );
        assert_eq!(parse_x_date("2025-01-02T03:04:05Z"), None);
        assert_eq!(parse_x_date("20250102T030405"), None);
    }

    /// Sends one request through the whole simulator and returns the status and the envelope.
    async fn call(headers: &[(&'static str, &str)]) -> (u16, Value) {
        use tower::ServiceExt;
        let mut request = axum::http::Request::get("/koodrive/ose/v1/service");
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let app = crate::simulator::router(Arc::new(SimState::default()));
        let response = app
            .oneshot(request.body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn bearer_tokens_and_trace_ids_are_checked() {
        let trace = "t".repeat(TRACE_ID_LEN);
        let (status, body) = call(&[
            ("authorization", "Bearer demo-bearer-acme"),
            ("x-traceid", &trace),
        ])
        .await;
        assert_eq!(
            (status, &body["code"], &body["data"]["tenantId"]),
            (200, &json!(0), &json!("40086000004871666"))
        );
        let (status, body) = call(&[
            ("authorization", "Bearer demo-bearer-acme"),
            ("x-traceid", "short"),
        ])
        .await;
        // A business error: KooDrive's envelope, HTTP 400.
        assert_eq!((status, &body["code"]), (400, &json!(13000102)));
        // X-Traceid is optional.
        let (status, _) = call(&[("authorization", "Bearer demo-bearer-acme")]).await;
        assert_eq!(status, 200);
        // Authentication is the gateway's: its envelope, with a request id.
        let (status, body) = call(&[
            ("authorization", "Bearer not-a-token"),
            ("x-traceid", &trace),
        ])
        .await;
        assert_eq!((status, &body["error_code"]), (401, &json!("APIGW.0307")));
        assert_eq!(body["request_id"].as_str().map(str::len), Some(32));
        assert!(body.get("code").is_none());
        let (status, body) = call(&[("x-traceid", &trace)]).await;
        assert_eq!((status, &body["error_code"]), (401, &json!("APIGW.0305")));
        // initech-intl answers like older API versions: numbers and booleans as strings.
        let (_, body) = call(&[
            ("authorization", "Bearer demo-bearer-initech"),
            ("x-traceid", &trace),
        ])
        .await;
        assert_eq!(
            (&body["data"]["status"], &body["data"]["aiAvailable"]),
            (&json!("1"), &json!("false"))
        );
    }

    #[tokio::test]
    async fn unknown_apps_are_refused() {
        let trace = "t".repeat(TRACE_ID_LEN);
        let auth = "HMAC-SHA256 AppId=nobody,SignedHeaders=host;x-date;x-user-id,Signature=00";
        let (status, body) = call(&[("authorization", auth), ("x-traceid", &trace)]).await;
        assert_eq!((status, &body["error_code"]), (401, &json!("APIGW.0303")));
    }
}
