//! A fault-injecting HTTP proxy for sync tests: real TCP on 127.0.0.1 port 0, between device
//! engines and the real server. Each request is either forwarded untouched or hit by one fault,
//! chosen by a seeded RNG with configurable rates:
//!
//! - `drop_request`: the connection is closed without forwarding (the server never hears);
//! - `drop_response`: forwarded, answered by the server, then the connection is closed (the
//!   server committed, the device never hears);
//! - `delay`: held for a random time up to `max_delay`, then forwarded;
//! - `duplicate`: sent upstream twice at once (a replay racing the original), one answer returned;
//! - `error_500`: answered `500` without forwarding;
//! - `too_many`: answered `429` with `Retry-After` without forwarding.
//!
//! Besides random faults, the proxy can hold requests (before forwarding) or answers (after the
//! server committed) until released, so a test can kill a device engine mid-push.
//!
//! One request per connection (`Connection: close`), HTTP/1.1 with `Content-Length` bodies —
//! what reqwest sends and axum answers.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// Probabilities (0..=1, summing to at most 1) of each fault per request.
#[derive(Debug, Clone, Default)]
pub struct FaultRates {
    pub drop_request: f64,
    pub drop_response: f64,
    pub delay: f64,
    pub duplicate: f64,
    pub error_500: f64,
    pub too_many: f64,
    /// Longest injected delay.
    pub max_delay: Duration,
    /// `Retry-After` of injected 429 answers, in seconds.
    pub retry_after_secs: u64,
}

impl FaultRates {
    /// Every fault at once, about one request in three hit.
    pub fn all(rate_each: f64) -> Self {
        FaultRates {
            drop_request: rate_each,
            drop_response: rate_each,
            delay: rate_each,
            duplicate: rate_each,
            error_500: rate_each,
            too_many: rate_each,
            max_delay: Duration::from_millis(300),
            retry_after_secs: 1,
        }
    }
}

/// What happened to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    DropRequest,
    DropResponse,
    Delay(Duration),
    Duplicate,
    Error500,
    TooMany,
}

/// How many requests met each fault.
#[derive(Debug, Default)]
pub struct FaultStats {
    pub requests: AtomicU64,
    pub forwarded: AtomicU64,
    /// Forwarded requests the server has answered.
    pub upstream_answers: AtomicU64,
    pub dropped_requests: AtomicU64,
    pub dropped_responses: AtomicU64,
    pub delayed: AtomicU64,
    pub duplicated: AtomicU64,
    pub errors_500: AtomicU64,
    pub too_many: AtomicU64,
}

impl FaultStats {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::SeqCst)
    }

    /// Forwarded requests the server has answered so far.
    pub fn forwarded_done(&self) -> u64 {
        Self::get(&self.upstream_answers)
    }
}

impl std::fmt::Display for FaultStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = Self::get;
        write!(
            f,
            "requests {} (forwarded upstream {}): dropped requests {}, dropped answers {}, \
             delayed {}, duplicated {}, 500s {}, 429s {}",
            g(&self.requests),
            g(&self.forwarded),
            g(&self.dropped_requests),
            g(&self.dropped_responses),
            g(&self.delayed),
            g(&self.duplicated),
            g(&self.errors_500),
            g(&self.too_many)
        )
    }
}

/// SplitMix64: small, seedable, good enough to pick faults reproducibly.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// Holding requests or answers until the test releases them.
#[derive(Default)]
struct Hold {
    /// Hold push requests before forwarding them.
    requests: AtomicBool,
    /// Forward push requests, then hold the server's answer.
    answers: AtomicBool,
    /// Number of pushes currently held (either kind).
    held: watch::Sender<u64>,
    release: Notify,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    rates: Mutex<FaultRates>,
    rng: Mutex<SplitMix64>,
    stats: FaultStats,
    hold: Hold,
}

/// A running proxy; it stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: give this to device engines as the server URL.
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:1234`), without faults yet.
    pub async fn start(upstream: &str, seed: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy addr"));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("proxy client"),
            rates: Mutex::new(FaultRates::default()),
            rng: Mutex::new(SplitMix64::new(seed)),
            stats: FaultStats::default(),
            hold: Hold::default(),
        });
        let accept = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    continue;
                };
                let shared = accept.clone();
                tokio::spawn(async move {
                    let _ = handle(conn, shared).await;
                });
            }
        });
        FaultProxy { url, shared, task }
    }

    /// Sets the fault rates from now on.
    pub fn set_faults(&self, rates: FaultRates) {
        *self.shared.rates.lock().unwrap_or_else(|e| e.into_inner()) = rates;
    }

    /// No more random faults: everything is forwarded.
    pub fn heal(&self) {
        self.set_faults(FaultRates::default());
    }

    pub fn stats(&self) -> &FaultStats {
        &self.shared.stats
    }

    /// From now on, push requests wait in the proxy before reaching the server.
    pub fn hold_push_requests(&self) {
        self.shared.hold.requests.store(true, Ordering::SeqCst);
    }

    /// From now on, pushes reach the server (which commits) but their answers wait in the proxy.
    pub fn hold_push_answers(&self) {
        self.shared.hold.answers.store(true, Ordering::SeqCst);
    }

    /// Waits until at least `n` pushes are held, or panics after `deadline`.
    pub async fn wait_held(&self, n: u64, deadline: Duration) {
        let mut held = self.shared.hold.held.subscribe();
        tokio::time::timeout(deadline, held.wait_for(|h| *h >= n))
            .await
            .expect("a push was held by the proxy in time")
            .expect("proxy alive");
    }

    /// Holds no new pushes; the ones already held stay held until [`FaultProxy::release`].
    pub fn stop_holding(&self) {
        self.shared.hold.requests.store(false, Ordering::SeqCst);
        self.shared.hold.answers.store(false, Ordering::SeqCst);
    }

    /// Stops holding and lets every held push go on (its client may be gone by then).
    pub fn release(&self) {
        self.stop_holding();
        self.shared.hold.release.notify_waiters();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One parsed HTTP/1.1 request.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn read_request(conn: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Ok(None);
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let target = first.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[header_end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}

/// An answer to send back: status, headers worth keeping, body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn write_answer(conn: &mut TcpStream, a: &Answer) -> std::io::Result<()> {
    let reason = reqwest::StatusCode::from_u16(a.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", a.status);
    for (k, v) in &a.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        a.body.len()
    ));
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(&a.body).await?;
    conn.flush().await?;
    conn.shutdown().await
}

async fn forward(shared: &Shared, req: &Request) -> Answer {
    shared.stats.forwarded.fetch_add(1, Ordering::SeqCst);
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut out = shared
        .http
        .request(method, format!("{}{}", shared.upstream, req.target))
        .body(req.body.clone());
    for (k, v) in &req.headers {
        if matches!(k.as_str(), "authorization" | "content-type" | "accept") {
            out = out.header(k.as_str(), v.as_str());
        }
    }
    let sent = out.send().await;
    shared.stats.upstream_answers.fetch_add(1, Ordering::SeqCst);
    match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .filter(|(k, _)| matches!(k.as_str(), "content-type" | "retry-after"))
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect();
            let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            Answer {
                status,
                headers,
                body,
            }
        }
        Err(_) => Answer {
            status: 502,
            headers: Vec::new(),
            body: Vec::new(),
        },
    }
}

fn choose(shared: &Shared) -> Fault {
    let rates = shared
        .rates
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut rng = shared.rng.lock().unwrap_or_else(|e| e.into_inner());
    let mut x = rng.unit();
    let table = [
        (rates.drop_request, Fault::DropRequest),
        (rates.drop_response, Fault::DropResponse),
        (rates.delay, Fault::Delay(Duration::ZERO)),
        (rates.duplicate, Fault::Duplicate),
        (rates.error_500, Fault::Error500),
        (rates.too_many, Fault::TooMany),
    ];
    for (p, fault) in table {
        if x < p {
            return match fault {
                Fault::Delay(_) => {
                    let max = rates.max_delay.as_millis().max(1) as u64;
                    Fault::Delay(Duration::from_millis(rng.below(max) + 1))
                }
                f => f,
            };
        }
        x -= p;
    }
    Fault::None
}

async fn handle(mut conn: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let Some(req) = read_request(&mut conn).await? else {
        return Ok(());
    };
    shared.stats.requests.fetch_add(1, Ordering::SeqCst);
    let is_push = req.target.starts_with("/api/v1/sync/push");
    if is_push && shared.hold.requests.load(Ordering::SeqCst) {
        let released = shared.hold.release.notified();
        shared.hold.held.send_modify(|h| *h += 1);
        released.await;
    }
    if is_push && shared.hold.answers.load(Ordering::SeqCst) {
        let answer = forward(&shared, &req).await;
        let released = shared.hold.release.notified();
        shared.hold.held.send_modify(|h| *h += 1);
        released.await;
        return write_answer(&mut conn, &answer).await;
    }
    let s = &shared.stats;
    let answer = match choose(&shared) {
        Fault::None => forward(&shared, &req).await,
        Fault::DropRequest => {
            s.dropped_requests.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        Fault::DropResponse => {
            s.dropped_responses.fetch_add(1, Ordering::SeqCst);
            let _ = forward(&shared, &req).await;
            return Ok(());
        }
        Fault::Delay(d) => {
            s.delayed.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(d).await;
            forward(&shared, &req).await
        }
        Fault::Duplicate => {
            s.duplicated.fetch_add(1, Ordering::SeqCst);
            // Both copies race into the server; the device gets whichever answer the RNG picks.
            let (a, b) = tokio::join!(forward(&shared, &req), forward(&shared, &req));
            let first = shared
                .rng
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .below(2)
                == 0;
            if first {
                a
            } else {
                b
            }
        }
        Fault::Error500 => {
            s.errors_500.fetch_add(1, Ordering::SeqCst);
            Answer {
                status: 500,
                headers: vec![("content-type".into(), "application/json".into())],
                body: br#"{"code":"internal","message":"injected by the test proxy"}"#.to_vec(),
            }
        }
        Fault::TooMany => {
            s.too_many.fetch_add(1, Ordering::SeqCst);
            let secs = shared
                .rates
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retry_after_secs;
            Answer {
                status: 429,
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("retry-after".into(), secs.to_string()),
                ],
                body: br#"{"code":"rate-limited","message":"injected by the test proxy"}"#.to_vec(),
            }
        }
    };
    write_answer(&mut conn, &answer).await
}
