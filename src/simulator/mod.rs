//! A stand-in for every vendor's API, on loopback: behind `--demo` and every test.
//!
//! Each vendor module here implements the vendor's side from the vendor's documentation: it
//! checks what it receives the way the vendor does (tokens, signatures, body shape) and never
//! uses the exporter's client code to do so — a test in which both sides share a bug proves
//! nothing. The data moves slowly (usage grows, a licence nears expiry) and faults can be
//! switched on at run time, in process ([`SimState::add_fault`]) or over HTTP:
//!
//! - `POST /_sim/faults` with a [`FaultRule`] as JSON, `DELETE /_sim/faults` to clear them;
//! - `GET /_sim/stats`: calls received, by `vendor/endpoint` and `vendor/endpoint/tenant`.

pub mod http_json;
pub mod koodrive;
pub mod microsoft365;
pub mod tencent;
pub mod wecom;

/// Every simulated vendor, in the order of [`crate::vendors::VENDORS`]. Adding a vendor to the
/// simulator: a module with a `pub static SIMULATED: SimVendor`, and one line here.
pub static SIMULATED: &[&SimVendor] = &[
    &wecom::SIMULATED,
    &koodrive::SIMULATED,
    &tencent::SIMULATED,
    &microsoft365::SIMULATED,
    &http_json::SIMULATED,
];

/// A simulated vendor's routes: path and handlers.
pub type Routes = Vec<(&'static str, MethodRouter<Arc<SimState>>)>;

/// One vendor's side of the simulator.
pub struct SimVendor {
    /// The vendor's name (its config section), as faults and call counts name it.
    pub vendor: &'static str,
    /// Its demo data, given the simulator's start time; reached with [`SimState::vendor`].
    pub state: fn(SystemTime) -> Box<dyn Any + Send + Sync>,
    /// Its routes: path and handlers.
    pub routes: fn() -> Routes,
}

impl SimVendor {
    /// The paths the vendor's side serves.
    pub fn paths(&self) -> Vec<&'static str> {
        (self.routes)().into_iter().map(|(path, _)| path).collect()
    }
}

use std::any::Any;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// A fault the simulator can inject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this HTTP status and a plain error body.
    HttpStatus { status: u16 },
    /// Never answer (until the client gives up).
    Hang,
    /// Answer normally, after a delay.
    Slow { millis: u64 },
    /// A truncated, unparseable JSON body.
    MalformedJson,
    /// Valid JSON whose fields have the wrong types.
    WrongTypes,
    /// The vendor's own error envelope with this code (WeCom errcode, Tencent Error.Code…).
    VendorError { code: String },
    /// Expire every issued token now; the request then fails the way an expired token does.
    ExpireTokens,
    /// The vendor's rate-limit answer.
    RateLimit {
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
}

/// When a fault applies: to a vendor, optionally one tenant (WeCom corp id…) and one endpoint,
/// for the next `times` matching requests (forever when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    pub vendor: String,
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    pub fault: Fault,
    #[serde(default)]
    pub times: Option<u32>,
}

/// Shared state of the whole simulator.
pub struct SimState {
    faults: Mutex<Vec<FaultRule>>,
    stats: Mutex<BTreeMap<String, u64>>,
    /// When the simulator started: data moves relative to it.
    pub started: SystemTime,
    /// Each simulated vendor's data, in the order of [`SIMULATED`].
    vendors: Vec<Box<dyn Any + Send + Sync>>,
}

impl Default for SimState {
    fn default() -> Self {
        let started = SystemTime::now();
        Self {
            faults: Mutex::new(Vec::new()),
            stats: Mutex::new(BTreeMap::new()),
            started,
            vendors: SIMULATED.iter().map(|v| (v.state)(started)).collect(),
        }
    }
}

impl SimState {
    /// One simulated vendor's data, e.g. `state.vendor::<tencent::TencentState>()`.
    pub fn vendor<T: Any>(&self) -> &T {
        self.vendors
            .iter()
            .find_map(|v| v.downcast_ref())
            .unwrap_or_else(|| panic!("{} is not in SIMULATED", std::any::type_name::<T>()))
    }

    pub fn add_fault(&self, rule: FaultRule) {
        self.faults.lock().expect("faults lock").push(rule);
    }

    pub fn clear_faults(&self) {
        self.faults.lock().expect("faults lock").clear();
    }

    /// The first fault that applies to this request, used up by one if it is counted.
    pub fn take_fault(&self, vendor: &str, tenant: Option<&str>, endpoint: &str) -> Option<Fault> {
        let mut faults = self.faults.lock().expect("faults lock");
        let i = faults.iter().position(|r| {
            r.vendor == vendor
                && r.tenant.as_deref().is_none_or(|t| Some(t) == tenant)
                && r.endpoint.as_deref().is_none_or(|e| e == endpoint)
                && r.times != Some(0)
        })?;
        let fault = faults[i].fault.clone();
        if let Some(n) = faults[i].times.as_mut() {
            *n -= 1;
            if *n == 0 {
                faults.remove(i);
            }
        }
        Some(fault)
    }

    /// Counts a request under `vendor/endpoint` and, when known, `vendor/endpoint/tenant`.
    pub fn count(&self, vendor: &str, endpoint: &str, tenant: Option<&str>) {
        let mut stats = self.stats.lock().expect("stats lock");
        *stats.entry(format!("{vendor}/{endpoint}")).or_default() += 1;
        if let Some(t) = tenant {
            *stats.entry(format!("{vendor}/{endpoint}/{t}")).or_default() += 1;
        }
    }

    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.stats.lock().expect("stats lock").clone()
    }

    pub fn calls(&self, key: &str) -> u64 {
        self.stats().get(key).copied().unwrap_or(0)
    }

    /// Seconds since the simulator started: how far the data has moved.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().unwrap_or_default().as_secs_f64()
    }
}

/// Answers for the faults every vendor shares. `None`: go on and answer (perhaps after a delay,
/// perhaps with a vendor-specific fault the vendor handler applies).
pub async fn common_fault(fault: &Fault) -> Option<Response> {
    match fault {
        Fault::HttpStatus { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some((status, "simulated failure").into_response())
        }
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Some(StatusCode::GATEWAY_TIMEOUT.into_response())
        }
        Fault::Slow { millis } => {
            tokio::time::sleep(Duration::from_millis(*millis)).await;
            None
        }
        Fault::MalformedJson => Some(json_bytes(
            r#"{"errcode": 0, "errmsg": "ok", "total_capacity"#.to_owned(),
        )),
        _ => None,
    }
}

/// A JSON body with the exact content type vendors send.
pub fn json_bytes(body: String) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Every vendor's routes plus the control routes.
pub fn router(state: Arc<SimState>) -> Router {
    SIMULATED
        .iter()
        .flat_map(|v| (v.routes)())
        .fold(Router::new(), |r, (path, handlers)| r.route(path, handlers))
        .route("/_sim/faults", post(add_fault).delete(clear_faults))
        .route("/_sim/stats", get(stats))
        .with_state(state)
}

async fn add_fault(State(state): State<Arc<SimState>>, Json(rule): Json<FaultRule>) -> StatusCode {
    state.add_fault(rule);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(state): State<Arc<SimState>>) -> StatusCode {
    state.clear_faults();
    StatusCode::NO_CONTENT
}

async fn stats(State(state): State<Arc<SimState>>) -> Json<BTreeMap<String, u64>> {
    Json(state.stats())
}

/// A running simulator. Stops when dropped or on [`Simulator::stop`].
pub struct Simulator {
    pub addr: SocketAddr,
    pub state: Arc<SimState>,
    stop: CancellationToken,
}

impl Simulator {
    /// Starts the simulator on `addr` (use port 0 for any free port) with the demo data.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Simulator> {
        Self::start_with(addr, Arc::new(SimState::default())).await
    }

    pub async fn start_with(addr: SocketAddr, state: Arc<SimState>) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let app = router(state.clone());
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await;
        });
        Ok(Simulator { addr, state, stop })
    }

    /// The base URL every vendor client should use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_match_and_are_used_up() {
        let s = SimState::default();
        s.add_fault(FaultRule {
            vendor: "wecom_wedrive".into(),
            tenant: Some("t1".into()),
            endpoint: None,
            fault: Fault::Hang,
            times: Some(2),
        });
        assert_eq!(s.take_fault("wecom_wedrive", Some("t2"), "x"), None);
        assert_eq!(s.take_fault("koodrive", Some("t1"), "x"), None);
        assert_eq!(
            s.take_fault("wecom_wedrive", Some("t1"), "x"),
            Some(Fault::Hang)
        );
        assert_eq!(
            s.take_fault("wecom_wedrive", Some("t1"), "y"),
            Some(Fault::Hang)
        );
        assert_eq!(s.take_fault("wecom_wedrive", Some("t1"), "x"), None);
        let rule: FaultRule = serde_json::from_str(
            r#"{"vendor":"wecom_wedrive","fault":{"kind":"vendor_error","code":"-1"}}"#,
        )
        .unwrap();
        assert_eq!(rule.fault, Fault::VendorError { code: "-1".into() });
    }
}
