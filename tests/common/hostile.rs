//! A hostile vendor server on loopback: it forwards every request to the simulator and, when told,
//! answers the way broken networks and vendors do instead — wrong statuses, hangs, drips,
//! truncated, endless or enormous bodies, gzip bombs, redirects, HTML error pages, mangled JSON —
//! over plain HTTP or TLS. It speaks HTTP/1.1 by hand so that it can misbehave at any byte.
//! It also acts as a plain forward proxy (absolute-form request targets), for `proxy_url` tests.

#![allow(dead_code)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the server answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Forward to the simulator and pass its answer back.
    Forward,
    /// A status, extra headers and a body.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Close the connection right after reading the request.
    Reset,
    /// Read the request, never answer.
    Hang,
    /// The real answer, one byte every 200 ms.
    Drip,
    /// Headers promising a body that never comes.
    StallAfterHeaders,
    /// The real answer cut short: `Content-Length` says more than is sent, then the connection closes.
    Truncated,
    /// `200` with a JSON object cut in the middle.
    Malformed,
    /// The real answer with every number replaced by an object.
    WrongTypes,
    /// The real answer with every number replaced by this string (`"NaN"`, `"1e400"`, `"-inf"`).
    NumbersAs(&'static str),
    /// The real answer with every number negated.
    Negative,
    /// The real answer with every number replaced by this one.
    NumbersTo(f64),
    /// The real answer padded with whitespace to this many bytes, with `Content-Length`.
    Huge(usize),
    /// A chunked body that never ends.
    Endless,
    /// The real answer padded to 16 MiB, gzip-compressed, `Content-Encoding: gzip`.
    GzipBomb,
    /// `302` to this URL.
    Redirect(String),
}

/// Numbers under these keys are the vendors' envelope codes: left alone so that the answer still
/// reads as a success and the data itself is what is wrong.
const ENVELOPE_KEYS: [&str; 2] = ["errcode", "code"];

pub struct Hostile {
    pub addr: SocketAddr,
    state: Arc<State>,
}

struct State {
    upstream: String,
    mode: Mutex<Mode>,
    client: reqwest::Client,
    /// Request heads received, lower-cased header names.
    heads: Mutex<Vec<String>>,
    requests: AtomicU64,
}

/// A TLS identity for the server: certificate chain and key, PEM.
pub struct TlsIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Hostile {
    /// Starts the server in front of `upstream` (the simulator's URL), over TLS when `tls` is set.
    pub async fn start(upstream: &str, tls: Option<TlsIdentity>) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            mode: Mutex::new(Mode::Forward),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            heads: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
        });
        let acceptor = tls.map(|id| {
            use rustls_pki_types::pem::PemObject;
            let certs = rustls_pki_types::CertificateDer::pem_slice_iter(id.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key =
                rustls_pki_types::PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).unwrap();
            let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
                tokio_rustls::rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
            tokio_rustls::TlsAcceptor::from(Arc::new(config))
        });
        let s = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (s, acceptor) = (s.clone(), acceptor.clone());
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(tcp).await {
                                serve(tls, s).await;
                            }
                        }
                        None => serve(tcp, s).await,
                    }
                });
            }
        });
        Hostile { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn https_url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    pub fn set(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Every request head received so far (request line and headers, names lower-cased).
    pub fn heads(&self) -> Vec<String> {
        self.state.heads.lock().unwrap().clone()
    }
}

/// A port on loopback where nothing listens (connections are refused).
pub fn refused_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// A listener that counts connections: the target of redirects, which must never be reached.
pub async fn trap() -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((_s, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
        }
    });
    (url, count)
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> Option<Request> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = s.read(&mut byte).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut byte).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&byte[..n]);
    }
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

/// Waits until the client goes away.
async fn until_closed<S: AsyncRead + Unpin>(s: &mut S) {
    let mut b = [0u8; 256];
    while let Ok(n) = s.read(&mut b).await {
        if n == 0 {
            return;
        }
    }
}

fn head(status: u16, headers: &[(String, String)], len: Option<usize>) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} Whatever\r\nconnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(len) = len {
        out.push_str(&format!("content-length: {len}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, state: Arc<State>) {
    let Some(req) = read_request(&mut s).await else {
        return;
    };
    state.requests.fetch_add(1, Ordering::SeqCst);
    {
        let mut h = format!("{} {}\n", req.method, req.target);
        for (k, v) in &req.headers {
            h.push_str(&format!("{k}: {v}\n"));
        }
        state.heads.lock().unwrap().push(h);
    }
    let mode = state.mode.lock().unwrap().clone();
    let json = vec![("content-type".to_owned(), "application/json".to_owned())];
    match mode {
        Mode::Status {
            status,
            headers,
            body,
        } => {
            let mut out = head(status, &headers, Some(body.len()));
            out.extend_from_slice(body.as_bytes());
            let _ = s.write_all(&out).await;
        }
        Mode::Reset => {}
        Mode::Hang => until_closed(&mut s).await,
        Mode::StallAfterHeaders => {
            let _ = s.write_all(&head(200, &json, Some(100))).await;
            let _ = s.flush().await;
            until_closed(&mut s).await;
        }
        Mode::Malformed => {
            let body = br#"{"errcode": 0, "code": 0, "data": {"tot"#;
            let mut out = head(200, &json, Some(body.len()));
            out.extend_from_slice(body);
            let _ = s.write_all(&out).await;
        }
        Mode::Redirect(to) => {
            let h = vec![("location".to_owned(), to)];
            let _ = s.write_all(&head(302, &h, Some(0))).await;
        }
        Mode::Endless => {
            let mut h = json.clone();
            h.push(("transfer-encoding".into(), "chunked".into()));
            if s.write_all(&head(200, &h, None)).await.is_err() {
                return;
            }
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
            // Bounded even if the client never stops reading: 4 GiB.
            for _ in 0..65_536 {
                if s.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
        mode => {
            let Some((status, headers, body)) = forward(&state, &req).await else {
                let _ = s.write_all(&head(502, &[], Some(0))).await;
                return;
            };
            let mut headers: Vec<(String, String)> = headers
                .into_iter()
                .filter(|(k, _)| k == "content-type" || k == "retry-after")
                .collect();
            let body = match &mode {
                Mode::WrongTypes => transform(&body, &|_| serde_json::json!({"wrong": "type"})),
                Mode::NumbersAs(text) => transform(&body, &|_| serde_json::json!(text)),
                Mode::Negative => transform(&body, &|n| serde_json::json!(-(n.abs().max(1.0)))),
                Mode::NumbersTo(x) => transform(&body, &|_| serde_json::json!(x)),
                Mode::Huge(size) => {
                    let mut b = body.clone();
                    b.resize((*size).max(b.len()), b' ');
                    b
                }
                Mode::GzipBomb => {
                    headers.push(("content-encoding".into(), "gzip".into()));
                    gzip_bomb(&body)
                }
                _ => body,
            };
            match mode {
                Mode::Drip => {
                    if s.write_all(&head(status, &headers, Some(body.len())))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    for b in body {
                        if s.write_all(&[b]).await.is_err() || s.flush().await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                Mode::Truncated => {
                    let cut = body.len() / 2;
                    let mut out = head(status, &headers, Some(body.len() + 100));
                    out.extend_from_slice(&body[..cut]);
                    let _ = s.write_all(&out).await;
                }
                _ => {
                    let mut out = head(status, &headers, Some(body.len()));
                    out.extend_from_slice(&body);
                    let _ = s.write_all(&out).await;
                }
            }
        }
    }
    let _ = s.flush().await;
    let _ = s.shutdown().await;
}

/// Sends the request on to the simulator as is (the `Host` header too: KooDrive and Tencent sign
/// it). An absolute-form target (a client using this server as its proxy) keeps only its path.
async fn forward(state: &State, req: &Request) -> Option<(u16, Vec<(String, String)>, Vec<u8>)> {
    let path = match req.target.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]).to_owned(),
        None => req.target.clone(),
    };
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).ok()?;
    let mut r = state
        .client
        .request(method, format!("{}{path}", state.upstream))
        .body(req.body.clone());
    for (k, v) in &req.headers {
        if k != "content-length" && k != "connection" && k != "proxy-connection" {
            r = r.header(k, v);
        }
    }
    let answer = r.send().await.ok()?;
    let status = answer.status().as_u16();
    let headers = answer
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = answer.bytes().await.ok()?.to_vec();
    Some((status, headers, body))
}

/// Replaces every number in a JSON answer (and every string that is a number), except the
/// envelope codes.
fn transform(body: &[u8], f: &dyn Fn(f64) -> serde_json::Value) -> Vec<u8> {
    fn walk(v: &mut serde_json::Value, f: &dyn Fn(f64) -> serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if !ENVELOPE_KEYS.contains(&k.as_str()) {
                        walk(v, f);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, f)),
            Value::Number(n) => *v = f(n.as_f64().unwrap_or(0.0)),
            // Some tenants send numbers as strings.
            Value::String(text) => {
                if let Ok(n) = text.trim().parse::<f64>() {
                    *v = f(n);
                }
            }
            _ => {}
        }
    }
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    walk(&mut v, f);
    serde_json::to_vec(&v).unwrap()
}

/// Prepares the gzip bomb ahead (compressing takes a while in a debug build).
pub fn warm_up() {
    gzip_bomb(b"{}");
}

/// The answer followed by 16 MiB of whitespace (still valid JSON once inflated), compressed.
fn gzip_bomb(body: &[u8]) -> Vec<u8> {
    static PAD: OnceLock<Vec<u8>> = OnceLock::new();
    let pad = PAD.get_or_init(|| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let block = vec![b' '; 1024 * 1024];
        for _ in 0..16 {
            e.write_all(&block).unwrap();
        }
        e.finish().unwrap()
    });
    // Two gzip members back to back form one valid gzip stream.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(body).unwrap();
    let mut out = e.finish().unwrap();
    out.extend_from_slice(pad);
    out
}

/// `Retry-After` as an HTTP date `secs` from now.
pub fn http_date_in(secs: u64) -> String {
    httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(secs))
}

/// A private CA and a server certificate for `localhost` signed by it, and a self-signed one.
pub struct Pki {
    pub ca_pem: String,
    pub signed: TlsIdentity,
    pub self_signed: TlsIdentity,
}

pub fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let own = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    Pki {
        ca_pem: ca.pem(),
        signed: TlsIdentity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        },
        self_signed: TlsIdentity {
            cert_pem: own.cert.pem(),
            key_pem: own.key_pair.serialize_pem(),
        },
    }
}
