//! HTTP: the landing page, `/metrics`, health and readiness, and config reload.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::header::{
    ACCEPT, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, oneshot};

use crate::exposition::Format;
use crate::landing::DOCS_URL;
use crate::render::{revision, version, Renderer};
use crate::store::Store;

/// A request to reload the configuration, answered with the outcome.
pub type ReloadRequest = oneshot::Sender<Result<(), String>>;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    /// Renders `store` for `/metrics`.
    pub renderer: Arc<Renderer>,
    pub telemetry_path: String,
    /// Absent when nothing can be reloaded (e.g. `--once`).
    pub reload: Option<mpsc::Sender<ReloadRequest>>,
    /// `--web.enable-lifecycle`: `POST /-/reload` answers 403 without it.
    pub lifecycle: bool,
    /// `--web.route-prefix`: "" (or "/") for the root, else e.g. "/quota".
    pub route_prefix: String,
    /// `--web.max-requests`: scrapes in flight at most (0: unlimited).
    pub max_requests: usize,
}

/// Checks a `--web.telemetry-path`: an absolute path of its own, not `/` nor one of `/-/…`.
pub fn check_telemetry_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("{path:?} must start with '/' (e.g. /metrics)"));
    }
    if path == "/" || path.starts_with("/-/") || path == "/-" {
        return Err(format!(
            "{path:?} is taken by the landing page or /-/healthy, /-/ready, /-/reload"
        ));
    }
    if path.contains(['{', '}', '*', '?', '#', ' ']) || path.contains("//") || path.ends_with('/') {
        return Err(format!(
            "{path:?} is not a plain path (no trailing '/', '//', spaces or {{ }} * ? #)"
        ));
    }
    Ok(path.to_owned())
}

/// Normalises a `--web.route-prefix` (or the path of `--web.external-url`): "" for the root,
/// else "/a/b" without a trailing slash.
pub fn normalize_prefix(prefix: &str) -> Result<String, String> {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if !trimmed.starts_with('/') {
        return normalize_prefix(&format!("/{trimmed}"));
    }
    if trimmed.contains(['{', '}', '*', '?', '#', ' ']) || trimmed.contains("//") {
        return Err(format!("{prefix:?} is not a plain path"));
    }
    Ok(trimmed.to_owned())
}

pub fn router(state: AppState) -> Router {
    let mut metrics_route = get(metrics);
    if state.max_requests > 0 {
        metrics_route = metrics_route.layer(axum::middleware::from_fn_with_state(
            Arc::new(tokio::sync::Semaphore::new(state.max_requests)),
            crate::listener::max_requests,
        ));
    }
    let prefix = normalize_prefix(&state.route_prefix).unwrap_or_default();
    let at = |path: &str| format!("{prefix}{path}");
    let mut routes = Router::new()
        .route(&at("/"), get(landing))
        .route(&at(&state.telemetry_path), metrics_route)
        .route(&at("/-/healthy"), get(|| async { "Healthy\n" }))
        .route(&at("/-/ready"), get(ready))
        .route(&at("/-/reload"), post(reload));
    if !prefix.is_empty() {
        // `/prefix` itself redirects to `/prefix/`, where the landing page's relative links work.
        let last = prefix.rsplit('/').next().unwrap_or_default();
        let location = format!("{last}/");
        routes = routes.route(
            &prefix,
            get(move || async move { axum::response::Redirect::permanent(&location) }),
        );
    }
    routes.with_state(state)
}

/// Wraps the router with the web config in force (rate limit, basic auth, headers), read for
/// every request so that reloads apply at once.
pub fn protect(app: Router, web: Arc<crate::web_config::WebState>) -> Router {
    app.layer(axum::middleware::from_fn_with_state(
        web,
        crate::web_config::guard,
    ))
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
    let rendered = state.renderer.exposition(format);
    let gzip = headers
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let mut response = if gzip {
        let mut r = rendered.gzip().clone().into_response();
        r.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        Response::new(rendered.plain_body())
    };
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// True when `Accept-Encoding` lists gzip with a non-zero quality.
/// Public for the fuzz targets.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|part| {
        let mut params = part.split(';').map(str::trim);
        let coding = params.next().unwrap_or_default();
        let refused = params.any(|p| {
            p.replace(' ', "").starts_with("q=0") && !p.contains(|c: char| ('1'..='9').contains(&c))
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

async fn ready(State(state): State<AppState>) -> Response {
    let (waiting, accounts) = state.store.waiting();
    if waiting == 0 {
        "Ready\n".into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Not ready: {waiting} of {accounts} accounts have not been polled yet\n"),
        )
            .into_response()
    }
}

async fn reload(State(state): State<AppState>) -> Response {
    if !state.lifecycle {
        return (
            StatusCode::FORBIDDEN,
            "Lifecycle API is not enabled: start with --web.enable-lifecycle, or send SIGHUP to reload\n",
        )
            .into_response();
    }
    let Some(tx) = state.reload else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "reload is not available in this mode\n",
        )
            .into_response();
    };
    let (reply, answer) = oneshot::channel();
    if tx.send(reply).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match answer.await {
        Ok(Ok(())) => "Configuration reloaded\n".into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Configuration rejected; the previous one keeps running:\n{e}\n"),
        )
            .into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response(),
    }
}

async fn landing(State(state): State<AppState>) -> Html<String> {
    let mut rows = String::new();
    for s in state.store.statuses() {
        let status = if !s.attempted {
            "<td class=wait>waiting</td>"
        } else if s.up {
            "<td class=ok>up</td>"
        } else {
            "<td class=bad>down</td>"
        };
        let (error_kind, error_message) = match &s.last_error {
            Some((reason, message, at)) => (
                reason.as_str().to_owned(),
                format!("{} ({})", message, ago(*at)),
            ),
            None => (String::new(), String::new()),
        };
        let figures: Vec<String> = s.figures.iter().map(|f| html(f)).collect();
        let runbook = if s.attempted && !s.up {
            format!(" <a href=\"{DOCS_URL}docs/runbooks.md#quotaexporterpollfailing\">runbook</a>")
        } else {
            String::new()
        };
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td>{status}<td class=fig>{}</td><td>{}</td><td>{}</td><td class=msg>{}{runbook}</td><td>{}</td><td>{}</td><td class=set>{}</td></tr>",
            html(s.key.vendor),
            html(&s.key.account),
            figures.join("<br>"),
            s.last_success.map(|t| format!("{} ({})", ts(t), ago(t))).unwrap_or_else(|| "never".into()),
            html(&error_kind),
            html(&error_message),
            match (s.next_poll, &s.held) {
                (Some(at), Some(why)) => format!("held until {} ({})", ts(at), html(why)),
                (Some(at), None) => ts(at),
                (None, _) => String::new(),
            },
            humantime::format_duration(s.interval),
            html(&s.description),
        );
    }
    // Relative links: the page works under a route prefix and behind a reverse proxy.
    let path = html(state.telemetry_path.trim_start_matches('/'));
    Html(format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>quota-exporter</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;margin:1em 1.5em}}table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}}td{{overflow-wrap:anywhere}}time{{white-space:nowrap}}td.msg,td.set{{font-size:90%}}td.set{{width:24%}}td.msg{{min-width:12em}}.ok{{color:#070}}.bad{{color:#b00}}.wait{{color:#777}}</style>
</head><body>
<h1>quota-exporter</h1>
<p>Version {version}, revision {revision}. Storage, seats and licences bought from SaaS vendors, and how much is used.</p>
<ul><li><a href="{path}">Metrics</a></li><li><a href="-/healthy">Health</a></li><li><a href="-/ready">Readiness</a></li></ul>
<p>Documentation: <a href="{docs}README.md">README</a>, <a href="{docs}docs/metrics.md">metrics</a>, <a href="{docs}docs/alerting.md">alerting</a>, <a href="{docs}docs/runbooks.md">runbooks</a>, <a href="{docs}docs/deployment.md">deployment</a>.</p>
<h2>Accounts</h2>
<table><tr><th>Vendor</th><th>Account</th><th>Status</th><th>Quota</th><th>Last success</th><th>Last error</th><th>Message</th><th>Next poll</th><th>Interval</th><th>Settings</th></tr>
{rows}</table>
</body></html>
"#,
        version = html(version()),
        revision = html(revision()),
        docs = DOCS_URL,
    ))
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A timestamp that never breaks across lines.
fn ts(t: SystemTime) -> String {
    let t = rfc3339(t);
    format!("<time datetime=\"{t}\">{t}</time>")
}

fn ago(t: SystemTime) -> String {
    match SystemTime::now().duration_since(t) {
        Ok(d) => format!(
            "{} ago",
            humantime::format_duration(std::time::Duration::from_secs(d.as_secs()))
        ),
        Err(_) => "just now".into(),
    }
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AccountInfo, AccountKey};
    use crate::vendors::{FailureReason, PollError};
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use std::time::Duration;
    use tower::ServiceExt;

    fn app() -> (Router, Arc<Store>) {
        let store = Arc::new(Store::new());
        let state = AppState {
            store: store.clone(),
            renderer: Arc::new(Renderer::new(store.clone())),
            telemetry_path: "/metrics".into(),
            reload: None,
            lifecycle: true,
            route_prefix: String::new(),
            max_requests: 0,
        };
        (router(state), store)
    }

    async fn get(
        app: &Router,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = res.into_parts();
        (
            parts.status,
            parts.headers,
            body.collect().await.unwrap().to_bytes().to_vec(),
        )
    }

    #[tokio::test]
    async fn metrics_negotiates_format_and_gzip() {
        let (app, _) = app();
        let (status, h, body) = get(&app, "/metrics", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(h[CONTENT_TYPE], "text/plain; version=0.0.4; charset=utf-8");
        assert!(String::from_utf8(body)
            .unwrap()
            .contains("quota_exporter_build_info{"));

        let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
        let (_, h, body) = get(
            &app,
            "/metrics",
            &[("accept", accept), ("accept-encoding", "gzip")],
        )
        .await;
        assert_eq!(
            h[CONTENT_TYPE],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        assert_eq!(h[CONTENT_ENCODING], "gzip");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut text)
            .unwrap();
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn gzip_acceptance() {
        assert!(accepts_gzip("gzip, deflate"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("identity"));
    }

    #[tokio::test]
    async fn readiness_waits_for_first_polls_and_landing_page_shows_errors() {
        let (app, store) = app();
        let key = AccountKey {
            vendor: "wecom_wedrive",
            account: "acme<1>".into(),
        };
        store.set_accounts(vec![AccountInfo {
            key: key.clone(),
            interval: Duration::from_secs(7200),
            max_staleness: Duration::from_secs(3 * 7200),
            description: "base_url=https://qyapi.weixin.qq.com".into(),
            stats: Default::default(),
            alerting: Default::default(),
        }]);
        let (status, _, body) = get(&app, "/-/ready", &[]).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            String::from_utf8(body.to_vec()).unwrap(),
            "Not ready: 1 of 1 accounts have not been polled yet\n"
        );
        assert_eq!(get(&app, "/-/healthy", &[]).await.0, StatusCode::OK);
        // As the scheduler's redaction boundary hands failures to the store.
        let err = PollError::new(
            FailureReason::Permission,
            crate::redact::scrub(
                "mng_capacity: https://x/y?access_token=TOPSECRET refused",
                &[],
            ),
        );
        store.record_failure(&key, &err, Duration::from_millis(5));
        assert_eq!(get(&app, "/-/ready", &[]).await.0, StatusCode::OK);
        let page = String::from_utf8(get(&app, "/", &[]).await.2).unwrap();
        assert!(
            page.contains("acme&lt;1&gt;")
                && page.contains("permission")
                && page.contains("refused"),
            "{page}"
        );
        assert!(!page.contains("TOPSECRET"));
    }

    #[tokio::test]
    async fn reload_without_a_source_is_refused() {
        let (app, _) = app();
        let res = app
            .oneshot(Request::post("/-/reload").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
