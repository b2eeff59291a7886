//! WeCom's side of WeDrive, as its documentation describes it: `gettoken` hands out tokens to a
//! known (corpid, corpsecret) pair; the `mng_*` calls are POST with a JSON object body and the
//! token in the query string, and answer errors as HTTP 200 with an `errcode`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::json;

use super::{common_fault, json_bytes, Fault, Routes, SimState, SimVendor};

const VENDOR: &str = "wecom_wedrive";

/// One simulated corp.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub corp_id: String,
    pub secret: String,
    pub is_pro: bool,
    pub vip_total: u64,
    pub vip_used: u64,
    /// Pro expiry as unix seconds.
    pub pro_expire_time: u64,
    pub capacity_all: u64,
    pub capacity_vip: u64,
    /// Free bytes at start; `None` models a third-party app, which is not told.
    pub rest_all: Option<u64>,
    pub rest_vip: Option<u64>,
    /// How fast the drive fills, in bytes a second (free space shrinks by this).
    pub growth_bytes_per_sec: f64,
}

struct Issued {
    corp_id: String,
    expires: Instant,
}

pub struct WeComState {
    pub tenants: Mutex<Vec<Tenant>>,
    tokens: Mutex<HashMap<String, Issued>>,
    /// Lifetime of issued tokens (`expires_in`); WeCom's is 7200 s.
    pub token_ttl: Mutex<Duration>,
}

impl WeComState {
    /// Two corps: `acme` (pro nearly out: 6 days left, 9 of 10 seats, drive 92% full and
    /// filling) and `globex` (healthy, and — like a third-party app — not told free space).
    pub fn demo(started: SystemTime) -> Self {
        let start = started
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let capacity_all: u64 = 22_666_689_904_640;
        let tenants = vec![
            Tenant {
                corp_id: "wwdemo0acme".into(),
                secret: "demo-secret-acme".into(),
                is_pro: true,
                vip_total: 10,
                vip_used: 9,
                pro_expire_time: start + 6 * 86400,
                capacity_all,
                capacity_vip: 22_300_038_149_020,
                rest_all: Some(capacity_all / 100 * 8),
                // The VIP pool is part of the corporation's storage: less free there than in all.
                rest_vip: Some(capacity_all / 100 * 5),
                growth_bytes_per_sec: 2_000_000.0,
            },
            Tenant {
                corp_id: "wwdemo0globex".into(),
                secret: "demo-secret-globex".into(),
                is_pro: true,
                vip_total: 50,
                vip_used: 12,
                pro_expire_time: start + 200 * 86400,
                capacity_all: 10 * (1 << 40),
                capacity_vip: 8 * (1 << 40),
                rest_all: None,
                rest_vip: None,
                growth_bytes_per_sec: 0.0,
            },
        ];
        Self {
            tenants: Mutex::new(tenants),
            tokens: Mutex::new(HashMap::new()),
            token_ttl: Mutex::new(Duration::from_secs(7200)),
        }
    }

    fn tenant(&self, corp_id: &str) -> Option<Tenant> {
        self.tenants
            .lock()
            .expect("tenants lock")
            .iter()
            .find(|t| t.corp_id == corp_id)
            .cloned()
    }

    /// Makes the corp's issued tokens (every corp's, for `None`) expired, as if time had run
    /// past `expires_in`.
    pub fn expire_tokens(&self, corp_id: Option<&str>) {
        let past = Instant::now() - Duration::from_secs(1);
        for issued in self.tokens.lock().expect("tokens lock").values_mut() {
            if corp_id.is_none_or(|c| c == issued.corp_id) {
                issued.expires = past;
            }
        }
    }
}

/// This vendor's side of the simulator.
pub static SIMULATED: SimVendor = SimVendor {
    vendor: VENDOR,
    state: |started| Box::new(WeComState::demo(started)),
    routes,
};

fn routes() -> Routes {
    vec![
        ("/cgi-bin/gettoken", get(gettoken)),
        ("/cgi-bin/wedrive/mng_pro_info", post(pro_info)),
        ("/cgi-bin/wedrive/mng_capacity", post(capacity)),
    ]
}

fn error(errcode: i64, errmsg: &str) -> Response {
    json_bytes(json!({ "errcode": errcode, "errmsg": errmsg }).to_string())
}

/// Vendor-specific faults: the answer WeCom would give.
fn vendor_fault(state: &SimState, corp_id: Option<&str>, fault: &Fault) -> Option<Response> {
    match fault {
        Fault::VendorError { code } => Some(error(code.parse().unwrap_or(-1), "simulated error")),
        Fault::RateLimit { .. } => Some(error(45009, "reach max api daily quota limit")),
        Fault::ExpireTokens => {
            state.vendor::<WeComState>().expire_tokens(corp_id);
            None
        }
        _ => None,
    }
}

async fn gettoken(
    State(state): State<Arc<SimState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let corp_id = q.get("corpid").cloned().unwrap_or_default();
    state.count(VENDOR, "gettoken", Some(&corp_id));
    if let Some(fault) = state.take_fault(VENDOR, Some(&corp_id), "gettoken") {
        if let Some(r) = common_fault(&fault)
            .await
            .or_else(|| vendor_fault(&state, Some(&corp_id), &fault))
        {
            return r;
        }
    }
    let Some(tenant) = state.vendor::<WeComState>().tenant(&corp_id) else {
        return error(40013, "invalid corpid");
    };
    if q.get("corpsecret").map(String::as_str) != Some(tenant.secret.as_str()) {
        return error(40001, "invalid credential");
    }
    let token = Alphanumeric.sample_string(&mut rand::rng(), 64);
    let ttl = *state
        .vendor::<WeComState>()
        .token_ttl
        .lock()
        .expect("ttl lock");
    state
        .vendor::<WeComState>()
        .tokens
        .lock()
        .expect("tokens lock")
        .insert(
            token.clone(),
            Issued {
                corp_id,
                expires: Instant::now() + ttl,
            },
        );
    json_bytes(
        json!({ "errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": ttl.as_secs() })
            .to_string(),
    )
}

/// Checks a management call the way WeCom does and finds its corp, or answers the error.
async fn authorise(
    state: &SimState,
    endpoint: &str,
    q: &HashMap<String, String>,
    body: &Bytes,
) -> Result<Tenant, Response> {
    let token = q.get("access_token").cloned().unwrap_or_default();
    let corp = state
        .vendor::<WeComState>()
        .tokens
        .lock()
        .expect("tokens lock")
        .get(&token)
        .map(|i| i.corp_id.clone());
    state.count(VENDOR, endpoint, corp.as_deref());
    if let Some(fault) = state.take_fault(VENDOR, corp.as_deref(), endpoint) {
        if let Some(r) = common_fault(&fault)
            .await
            .or_else(|| vendor_fault(state, corp.as_deref(), &fault))
        {
            return Err(r);
        }
        if fault == Fault::WrongTypes {
            return Err(json_bytes(
                json!({ "errcode": 0, "errmsg": "ok", "is_pro": "maybe", "total_vip_acct_num": [10],
                        "total_capacity_for_all": {"value": 1}, "total_capacity_for_vip": "lots" })
                .to_string(),
            ));
        }
    }
    if token.is_empty() {
        return Err(error(41001, "access_token missing"));
    }
    let issued = {
        let tokens = state
            .vendor::<WeComState>()
            .tokens
            .lock()
            .expect("tokens lock");
        tokens.get(&token).map(|i| (i.corp_id.clone(), i.expires))
    };
    let Some((corp_id, expires)) = issued else {
        return Err(error(40014, "invalid access_token"));
    };
    if Instant::now() >= expires {
        return Err(error(42001, "access_token expired"));
    }
    // WeCom wants a JSON object body (`{}` for these calls), and the token only in the URL.
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) if !map.contains_key("access_token") => {}
        _ => return Err(error(47001, "data format error")),
    }
    state
        .vendor::<WeComState>()
        .tenant(&corp_id)
        .ok_or_else(|| error(40013, "invalid corpid"))
}

async fn pro_info(
    State(state): State<Arc<SimState>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let t = match authorise(&state, "mng_pro_info", &q, &body).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    json_bytes(
        json!({ "errcode": 0, "errmsg": "ok", "is_pro": t.is_pro, "total_vip_acct_num": t.vip_total,
                "use_vip_acct_num": t.vip_used, "pro_expire_time": t.pro_expire_time })
        .to_string(),
    )
}

async fn capacity(
    State(state): State<Arc<SimState>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let t = match authorise(&state, "mng_capacity", &q, &body).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let used_since_start = (t.growth_bytes_per_sec * state.elapsed_secs()) as u64;
    let mut answer = json!({ "errcode": 0, "errmsg": "ok",
        "total_capacity_for_all": t.capacity_all, "total_capacity_for_vip": t.capacity_vip });
    if let Some(rest) = t.rest_all {
        answer["rest_capacity_for_all"] = json!(rest.saturating_sub(used_since_start));
    }
    if let Some(rest) = t.rest_vip {
        answer["rest_capacity_for_vip"] = json!(rest.saturating_sub(used_since_start));
    }
    json_bytes(answer.to_string())
}
