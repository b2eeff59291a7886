//! Vendors answering garbage: a proxy between the exporter and the simulator mangles every answer
//! (truncations, flipped bytes, fields of the wrong type, missing fields, huge values), and every
//! demo account of every vendor is polled through it. No poll may panic; each failure must be one
//! of the fixed reasons; and the answers left intact must still succeed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use quota_exporter::scheduler;
use quota_exporter::simulator::Simulator;
use quota_exporter::store::Store;
use quota_exporter::vendors::FailureReason;
use quota_exporter::ConfigSource;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

struct Proxy {
    upstream: String,
    client: reqwest::Client,
    /// Seed of the current round's mutations.
    seed: AtomicU64,
    /// Answers seen, to vary the mutation of each within a round.
    seen: AtomicU64,
}

/// Forwards the request as is (the `Host` header too: KooDrive and Tencent sign it) and mangles
/// the answer.
async fn forward(
    State(p): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!(
        "{}{}",
        p.upstream,
        uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/")
    );
    let mut request = p.client.request(method, url).body(body);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    let Ok(answer) = request.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let body = answer.bytes().await.unwrap_or_default();
    let n = p.seen.fetch_add(1, Ordering::Relaxed);
    let mut rng = StdRng::seed_from_u64(
        p.seed
            .load(Ordering::Relaxed)
            .wrapping_mul(1_000_003)
            .wrapping_add(n),
    );
    (
        status,
        [("content-type", "application/json")],
        mutate(&body, &mut rng),
    )
        .into_response()
}

fn mutate(body: &[u8], rng: &mut StdRng) -> Vec<u8> {
    match rng.random_range(0..8) {
        0 if !body.is_empty() => body[..rng.random_range(0..body.len())].to_vec(),
        1 if !body.is_empty() => {
            let mut b = body.to_vec();
            let i = rng.random_range(0..b.len());
            b[i] = rng.random();
            b
        }
        2..=5 => match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(mut v) => {
                mangle(&mut v, rng);
                serde_json::to_vec(&v).unwrap()
            }
            Err(_) => body.to_vec(),
        },
        _ => body.to_vec(),
    }
}

/// Replaces or removes one value somewhere in the tree.
fn mangle(v: &mut serde_json::Value, rng: &mut StdRng) {
    use serde_json::{json, Value};
    match v {
        Value::Object(map) if !map.is_empty() => {
            let key = map
                .keys()
                .nth(rng.random_range(0..map.len()))
                .unwrap()
                .clone();
            if rng.random_bool(0.3) {
                let inner = map.get_mut(&key).unwrap();
                if inner.is_object() {
                    return mangle(inner, rng);
                }
            }
            if rng.random_bool(0.2) {
                map.remove(&key);
                return;
            }
            let replacement = match rng.random_range(0..10) {
                0 => json!("not a number"),
                1 => json!(-1),
                2 => json!(1e308),
                3 => json!([1, 2]),
                4 => json!({"nested": true}),
                5 => Value::Null,
                6 => json!(true),
                7 => json!("x".repeat(10_000)),
                8 => json!("18446744073709551616"),
                _ => json!(u64::MAX),
            };
            map.insert(key, replacement);
        }
        other => *other = json!("garbage"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_mangled_answer_makes_a_poll_panic() {
    let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let proxy = Arc::new(Proxy {
        upstream: sim.url(),
        client: reqwest::Client::new(),
        seed: AtomicU64::new(0),
        seen: AtomicU64::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let config = ConfigSource::demo(&proxy_url).load().unwrap();
    let mut tasks = scheduler::tasks(&config, &Default::default(), &Default::default());
    for t in &mut tasks {
        t.schedule.retries = 0;
    }
    let store = Arc::new(Store::new());
    store.set_accounts(tasks.iter().map(|t| t.info()).collect());
    let cancel = CancellationToken::new();

    let (mut ok, mut failed) = (0, std::collections::BTreeMap::<FailureReason, u32>::new());
    for round in 0..150u64 {
        proxy.seed.store(round, Ordering::Relaxed);
        for task in &tasks {
            match scheduler::poll(task, &store, &cancel)
                .await
                .expect("not cancelled")
            {
                Ok(()) => ok += 1,
                Err(e) => {
                    assert_ne!(
                        e.reason,
                        FailureReason::Panic,
                        "round {round}, {}: {}",
                        task.key.account,
                        e.message
                    );
                    assert!(!e.message.is_empty());
                    *failed.entry(e.reason).or_default() += 1;
                }
            }
        }
    }
    // The exposition stays valid whatever was stored.
    let text = String::from_utf8(
        quota_exporter::render::Renderer::new(store.clone())
            .exposition(quota_exporter::exposition::Format::Classic)
            .body()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("quota_exporter_polls_total"));
    eprintln!("{ok} polls succeeded, failures by reason: {failed:?}");
    assert!(ok > 0, "intact answers must still succeed");
    assert!(
        failed.get(&FailureReason::Decode).copied().unwrap_or(0) > 0,
        "mangled answers must fail to decode"
    );
}
