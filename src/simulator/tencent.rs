//! Tencent Cloud's side of CWP `DescribeLicenseGeneral`, as its API 3.0 documentation describes
//! it: `POST /` with a JSON body, the action and version in `X-TC-*` headers, and a
//! TC3-HMAC-SHA256 signature that is verified here from Tencent's documented steps — written
//! anew, not borrowed from the exporter's signer, so a bug in one is caught by the other.
//!
//! Every answer is HTTP 200 with `{"Response": {…, "RequestId": …}}`; failures carry
//! `Response.Error.{Code, Message}`. Tenants are found by SecretId.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{common_fault, json_bytes, unix_now, Fault, Routes, SimState, SimVendor};

const VENDOR: &str = "tencentcloud_cwp";
const ACTION: &str = "DescribeLicenseGeneral";
const VERSION: &str = "2018-02-28";
const SERVICE: &str = "cwp";
/// Tencent refuses a request whose timestamp is further than this from its clock.
const MAX_SKEW_SECS: i64 = 300;

/// One simulated Tencent Cloud account (one CAM key pair).
#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    pub secret_id: String,
    pub secret_key: String,
    /// Set for temporary credentials: requests must carry it as `X-TC-Token`.
    pub session_token: Option<String>,
    /// The `Response` object answered (a fresh `RequestId` is added to each answer).
    pub answer: Value,
    /// Licences bound per hour since the simulator started, up to `AvailableLicenseCnt`.
    pub used_growth_per_hour: f64,
    /// How far this tenant's server clock is ahead of the host's, in seconds (negative: behind).
    pub clock_offset_secs: i64,
}

impl Tenant {
    /// A tenant answering `answer` (a `Response` object, or a whole `{"Response": …}` answer).
    pub fn new(name: &str, secret_id: &str, secret_key: &str, answer: Value) -> Self {
        let answer = match answer {
            Value::Object(mut map) if map.contains_key("Response") => {
                map.remove("Response").unwrap_or_default()
            }
            other => other,
        };
        Self {
            name: name.into(),
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
            session_token: None,
            answer,
            used_growth_per_hour: 0.0,
            clock_offset_secs: 0,
        }
    }
}

pub struct TencentState {
    pub tenants: Mutex<Vec<Tenant>>,
    /// The `X-TC-Region` of the last signed request, by SecretId (`None`: not sent).
    regions: Mutex<BTreeMap<String, Option<String>>>,
}

impl TencentState {
    /// One account, `prod`: 10 flagship and pro licences, 9 not expired of which 6 bound and 3
    /// free (one more bound every 10 minutes until none is free), 2 expiring within 15 days, 1
    /// expired; switches mixed. The counts keep their relations: used + available ≤ unexpired,
    /// available per edition ≤ licences per edition, and the editions' available add up.
    pub fn demo() -> Self {
        let mut prod = Tenant::new(
            "prod",
            "AKIDdemo0prod0000000000000000000000",
            "demo-secret-key-prod",
            json!({
                "LicenseCnt": 10,
                "AvailableLicenseCnt": 3,
                "UsedLicenseCnt": 6,
                "NotExpiredLicenseCnt": 9,
                "NearExpiryLicenseCnt": 2,
                "ExpireLicenseCnt": 1,
                "ProVersionLicenseCnt": 6,
                "FlagshipVersionLicenseCnt": 4,
                "CwpVersionLicenseCnt": 0,
                "AvailableProVersionLicenseCnt": 2,
                "AvailableFlagshipVersionLicenseCnt": 1,
                "AvailableLHLicenseCnt": 0,
                "DestroyOrderNum": 1,
                "ProtectType": "FLAGSHIP_PREPAY",
                "AutoOpenStatus": true,
                "IsOpenStatusHistory": true,
                "AutoRepurchaseSwitch": false,
                "AutoRepurchaseRenewSwitch": false,
                "RepurchaseRenewSwitch": true,
                "AutoDowngradeSwitch": false
            }),
        );
        prod.used_growth_per_hour = 6.0;
        Self {
            tenants: Mutex::new(vec![prod]),
            regions: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds a tenant (tests use their own, so they never share one).
    pub fn add_tenant(&self, tenant: Tenant) {
        self.tenants.lock().expect("tenants lock").push(tenant);
    }

    fn tenant(&self, secret_id: &str) -> Option<Tenant> {
        self.tenants
            .lock()
            .expect("tenants lock")
            .iter()
            .find(|t| t.secret_id == secret_id)
            .cloned()
    }

    /// The `X-TC-Region` the last correctly signed request of `secret_id` carried: `None` if
    /// there was no such request, `Some(None)` if it sent no region.
    pub fn last_region(&self, secret_id: &str) -> Option<Option<String>> {
        self.regions
            .lock()
            .expect("regions lock")
            .get(secret_id)
            .cloned()
    }
}

/// This vendor's side of the simulator.
pub static SIMULATED: SimVendor = SimVendor {
    vendor: VENDOR,
    state: |_| Box::new(TencentState::demo()),
    routes,
};

fn routes() -> Routes {
    vec![("/", post(api))]
}

fn request_id() -> String {
    let mut rng = rand::rng();
    let b: [u8; 16] = rng.random();
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Tencent's error envelope (HTTP 200).
pub fn error(code: &str, message: &str) -> Response {
    json_bytes(json!({ "Response": { "Error": { "Code": code, "Message": message }, "RequestId": request_id() } }).to_string())
}

/// Vendor-specific faults: the answer Tencent would give.
fn vendor_fault(fault: &Fault) -> Option<Response> {
    match fault {
        Fault::VendorError { code } => Some(error(code, "simulated error")),
        Fault::RateLimit { .. } => Some(error("RequestLimitExceeded", "Your current request times equals to `20` in a second, which exceeds the frequency limit `20` for a second. Please reduce the frequency of calls.")),
        Fault::WrongTypes => Some(json_bytes(
            json!({ "Response": { "LicenseCnt": { "n": 3 }, "AutoOpenStatus": "perhaps", "UsedLicenseCnt": [0], "RequestId": request_id() } })
                .to_string(),
        )),
        _ => None,
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn api(State(state): State<Arc<SimState>>, headers: HeaderMap, body: Bytes) -> Response {
    let action = header(&headers, "x-tc-action").unwrap_or("").to_owned();
    let authorization = header(&headers, "authorization").map(Authorization::parse);
    let secret_id = match &authorization {
        Some(Ok(a)) => Some(a.secret_id.clone()),
        _ => None,
    };
    state.count(VENDOR, &action, secret_id.as_deref());
    if let Some(fault) = state.take_fault(VENDOR, secret_id.as_deref(), &action) {
        if let Some(r) = common_fault(&fault).await.or_else(|| vendor_fault(&fault)) {
            return r;
        }
    }
    let tenant = match authenticate(
        state.vendor::<TencentState>(),
        authorization,
        &headers,
        &body,
    ) {
        Ok(t) => t,
        Err((code, message)) => return error(code, &message),
    };
    if action != ACTION {
        return error(
            "InvalidAction",
            &format!("The action `{action}` is not supported by CWP."),
        );
    }
    match header(&headers, "x-tc-version") {
        Some(VERSION) => {}
        other => {
            return error(
                "InvalidParameter",
                &format!(
                    "The version `{}` is not valid for {ACTION}.",
                    other.unwrap_or("")
                ),
            )
        }
    }
    if !matches!(serde_json::from_slice::<Value>(&body), Ok(Value::Object(_))) {
        return error(
            "InvalidParameter",
            "The request body must be a JSON object.",
        );
    }
    let mut answer = tenant.answer.clone();
    if tenant.used_growth_per_hour > 0.0 {
        grow_used(
            &mut answer,
            (tenant.used_growth_per_hour * state.elapsed_secs() / 3600.0).floor(),
        );
    }
    if let Value::Object(map) = &mut answer {
        map.insert("RequestId".into(), json!(request_id()));
    }
    json_bytes(json!({ "Response": answer }).to_string())
}

/// Binds up to `more` free licences: `UsedLicenseCnt` grows by what `AvailableLicenseCnt` (and
/// the editions' available counts, pro first) lose, so the answer stays consistent.
fn grow_used(answer: &mut Value, more: f64) {
    let (Some(used), Some(available)) = (
        answer["UsedLicenseCnt"].as_f64(),
        answer["AvailableLicenseCnt"].as_f64(),
    ) else {
        return;
    };
    let bound = more.min(available).max(0.0);
    answer["UsedLicenseCnt"] = json!((used + bound) as u64);
    answer["AvailableLicenseCnt"] = json!((available - bound) as u64);
    let mut left = bound;
    for field in [
        "AvailableProVersionLicenseCnt",
        "AvailableFlagshipVersionLicenseCnt",
        "AvailableLHLicenseCnt",
    ] {
        if let Some(free) = answer[field].as_f64() {
            let take = left.min(free);
            answer[field] = json!((free - take) as u64);
            left -= take;
        }
    }
}

/// The parts of `Authorization: TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
struct Authorization {
    secret_id: String,
    date: String,
    service: String,
    terminator: String,
    signed_headers: Vec<String>,
    signature: String,
}

impl Authorization {
    fn parse(value: &str) -> Result<Self, String> {
        let rest = value
            .strip_prefix("TC3-HMAC-SHA256 ")
            .ok_or("the algorithm must be TC3-HMAC-SHA256")?;
        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(", ") {
            match part.split_once('=') {
                Some(("Credential", v)) => credential = Some(v),
                Some(("SignedHeaders", v)) => signed_headers = Some(v),
                Some(("Signature", v)) => signature = Some(v),
                _ => {
                    return Err(format!(
                        "unexpected part `{part}` (parts are separated by a comma and a space)"
                    ))
                }
            }
        }
        let (Some(credential), Some(signed_headers), Some(signature)) =
            (credential, signed_headers, signature)
        else {
            return Err("Credential, SignedHeaders and Signature are all required".into());
        };
        let scope: Vec<&str> = credential.split('/').collect();
        let [secret_id, date, service, terminator] = scope[..] else {
            return Err("Credential must be SecretId/Date/Service/tc3_request".into());
        };
        Ok(Self {
            secret_id: secret_id.into(),
            date: date.into(),
            service: service.into(),
            terminator: terminator.into(),
            signed_headers: signed_headers.split(';').map(str::to_owned).collect(),
            signature: signature.into(),
        })
    }
}

/// Checks the request's credentials and signature the way Tencent documents it; answers the
/// tenant, or the error code and message Tencent would send.
fn authenticate(
    state: &TencentState,
    authorization: Option<Result<Authorization, String>>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Tenant, (&'static str, String)> {
    let auth = match authorization {
        None => {
            return Err((
                "AuthFailure.SignatureFailure",
                "The Authorization header is missing.".into(),
            ))
        }
        Some(Err(e)) => {
            return Err((
                "AuthFailure.InvalidAuthorization",
                format!("Authorization is malformed: {e}."),
            ))
        }
        Some(Ok(a)) => a,
    };
    let Some(tenant) = state.tenant(&auth.secret_id) else {
        return Err((
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.".into(),
        ));
    };
    let Some(timestamp) = header(headers, "x-tc-timestamp").and_then(|t| t.parse::<i64>().ok())
    else {
        return Err((
            "MissingParameter",
            "The X-TC-Timestamp header is missing or not a number.".into(),
        ));
    };
    let server_now = unix_now() as i64 + tenant.clock_offset_secs;
    if (server_now - timestamp).abs() > MAX_SKEW_SECS {
        return Err((
            "AuthFailure.SignatureExpire",
            format!("Signature expired. Timestamp date: {timestamp}, server date: {server_now}."),
        ));
    }
    let date = humantime::format_rfc3339_seconds(
        UNIX_EPOCH + Duration::from_secs(timestamp.max(0) as u64),
    )
    .to_string();
    let date = &date[..10];
    if auth.date != date || auth.service != SERVICE || auth.terminator != "tc3_request" {
        return Err((
            "AuthFailure.InvalidAuthorization",
            format!("The credential scope must be {date}/{SERVICE}/tc3_request for this request."),
        ));
    }
    // content-type and host must be signed; names are lower case, sorted, each present.
    let mut sorted = auth.signed_headers.clone();
    sorted.sort();
    sorted.dedup();
    if sorted != auth.signed_headers
        || !sorted.iter().any(|h| h == "content-type")
        || !sorted.iter().any(|h| h == "host")
        || sorted
            .iter()
            .any(|h| h.chars().any(|c| c.is_ascii_uppercase()))
    {
        return Err((
            "AuthFailure.InvalidAuthorization",
            "SignedHeaders must list content-type and host, lower case, sorted and separated by `;`.".into(),
        ));
    }
    let mut canonical_headers = String::new();
    for name in &sorted {
        let Some(value) = header(headers, name) else {
            return Err((
                "AuthFailure.SignatureFailure",
                format!("The signed header `{name}` is missing."),
            ));
        };
        canonical_headers.push_str(&format!("{name}:{}\n", value.trim().to_ascii_lowercase()));
    }
    let hashed_payload = hex::encode(Sha256::digest(body));
    let canonical_request = format!(
        "POST\n/\n\n{canonical_headers}\n{}\n{hashed_payload}",
        sorted.join(";")
    );
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/{SERVICE}/tc3_request\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let expected = signature(&tenant.secret_key, date, SERVICE, &string_to_sign);
    if !constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        return Err((
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.".into(),
        ));
    }
    match (&tenant.session_token, header(headers, "x-tc-token")) {
        (None, None) => {}
        (Some(expected), Some(sent)) if expected == sent => {}
        _ => {
            return Err((
                "AuthFailure.TokenFailure",
                "The token is missing, invalid or not needed for this key.".into(),
            ))
        }
    }
    state.regions.lock().expect("regions lock").insert(
        tenant.secret_id.clone(),
        header(headers, "x-tc-region").map(str::to_owned),
    );
    Ok(tenant)
}

/// HMAC-SHA256 chain of TC3: date, service, "tc3_request", then the string to sign.
fn signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    fn mac(key: &[u8], data: &str) -> Vec<u8> {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
        m.update(data.as_bytes());
        m.finalize().into_bytes().to_vec()
    }
    let k_date = mac(format!("TC3{secret_key}").as_bytes(), date);
    let k_service = mac(&k_date, service);
    let k_signing = mac(&k_service, "tc3_request");
    hex::encode(mac(&k_signing, string_to_sign))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binding licences moves them from available to used, edition by edition, never beyond
    /// what is free.
    #[test]
    fn growth_keeps_the_counts_consistent() {
        let demo = TencentState::demo();
        let mut answer = demo.tenants.lock().unwrap()[0].answer.clone();
        grow_used(&mut answer, 2.0);
        let n = |f: &str| answer[f].as_u64().unwrap();
        assert_eq!((n("UsedLicenseCnt"), n("AvailableLicenseCnt")), (8, 1));
        assert_eq!(
            (
                n("AvailableProVersionLicenseCnt"),
                n("AvailableFlagshipVersionLicenseCnt")
            ),
            (0, 1)
        );
        grow_used(&mut answer, 100.0);
        let n = |f: &str| answer[f].as_u64().unwrap();
        assert_eq!((n("UsedLicenseCnt"), n("AvailableLicenseCnt")), (9, 0));
        assert_eq!(n("AvailableFlagshipVersionLicenseCnt"), 0);
    }

    /// The verifier's signing chain on Tencent's worked example (service cvm).
    #[test]
    fn verifier_reproduces_the_official_vector() {
        let payload = br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        let canonical = format!(
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n{}",
            hex::encode(Sha256::digest(payload))
        );
        let hashed = hex::encode(Sha256::digest(canonical.as_bytes()));
        assert_eq!(
            hashed,
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        let sts = format!("TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n{hashed}");
        assert_eq!(
            signature(
                "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                "2019-02-25",
                "cvm",
                &sts
            ),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn authorization_parsing() {
        let a = Authorization::parse(
            "TC3-HMAC-SHA256 Credential=AKID1/2019-02-25/cwp/tc3_request, SignedHeaders=content-type;host, Signature=abc",
        )
        .unwrap();
        assert_eq!(
            (a.secret_id.as_str(), a.date.as_str(), a.service.as_str()),
            ("AKID1", "2019-02-25", "cwp")
        );
        assert_eq!(a.signed_headers, ["content-type", "host"]);
        assert!(Authorization::parse("TC3-HMAC-SHA256 Credential=AKID1/2019-02-25/cwp/tc3_request,SignedHeaders=content-type;host,Signature=abc").is_err());
        assert!(Authorization::parse("HMAC-SHA256 Credential=a").is_err());
    }
}
