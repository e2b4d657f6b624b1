//! Fleet simulator (issue 14): N tills of S shops against two real `dukkan-server` instances on
//! one Postgres, speaking the real sync protocol, and what that costs the servers.
//!
//! ```text
//! cargo build --release -p dukkan-server
//! cargo run --release -p dukkan-server --example fleet -- --help
//! cargo run --release -p dukkan-server --example fleet            # 1,000 tills, 100 shops
//! ```
//!
//! What it does:
//! - makes a fresh database `dukkan_fleet_<random>` on the Postgres at `--pg-addr` (trust
//!   auth, user `postgres`), migrates it, and drops it at the end (also on error or Ctrl-C);
//! - starts two `dukkan-server serve` child processes (the binary next to this example, or
//!   `--server-bin`) on free loopback ports, with the production defaults except
//!   `TRUSTED_PROXIES=127.0.0.1`: the simulator plays the load balancer and sends
//!   `X-Forwarded-For` with one fake client address per shop, so the per-IP limits apply per
//!   shop as they do in reality; the per-token limits keep their defaults;
//! - untimed setup: S shops with one cashier each, one enrollment code per till (made as the
//!   operator CLI makes it) redeemed over `POST /api/v1/devices/enroll` for a real device
//!   token. Till `i` belongs to shop `i % S` and talks to instance `(i / S) % 2`, so every
//!   shop has tills on both instances;
//! - each till then runs the till engine's loop (crates/device/src/engine.rs): a round (push
//!   the outbox, pull with `wait=0` until `more` is false, the staff roster with
//!   `If-None-Match`), then long-polls `GET /api/v1/sync/pull?since=<cursor>&wait=25` one
//!   after another until a local write (as the engine's write signal cuts them), a page with
//!   more behind it, a failure, or the next round after 60 s; errors back off
//!   (200 ms doubling to 60 s, or `Retry-After`). Till start-ups are spread over
//!   `--ramp-seconds` (default: one long-poll), as tills switched on over a morning would be;
//! - W writer tills (the first till of shops spread evenly) make one op every `1/--rate`
//!   seconds: alternately a `customer_created` stub (unique Omani mobile number `+9689…`) and
//!   a `customer_updated` edit of one of their customers, pushed as the device pushes them
//!   (UUIDv7 op ids, device sequence numbers 1, 2, 3, …, the shop's cashier as `staffId`).
//!   Every op sets the customer's last name to a unique marker, which is how a pulled
//!   snapshot is matched to the op that made it.
//!
//! What it measures, after the ramp and `--warmup-seconds`, for `--seconds`:
//! - propagation: from just before the writer sends the push carrying an op until each *other*
//!   till of the same shop has received and parsed a pull answer carrying that op's marker
//!   (every other till of the shop counts, so a change gives up to tills-per-shop − 1 samples;
//!   split into tills on the writer's instance and on the other one). A till that pulls after
//!   two ops of the same customer gets only the customer as it is now; the earlier op counts
//!   as seen at that moment too (its effect has arrived), and such samples are counted;
//! - push latency: the round trip of each `POST /api/v1/sync/push`;
//! - errors: any transport error or non-2xx answer (304 on the roster is success), any op not
//!   `applied`, any change a till of its shop never saw (by the end of the run), counted by
//!   kind, over every phase after setup;
//! - per server instance: max VmRSS (from /proc/<pid>/status, every 500 ms) and CPU
//!   (utime + stime from /proc/<pid>/stat over the window, as % of one core); max Postgres
//!   connections of the database (`pg_stat_activity`, every second, from a connection to
//!   another database so it does not count itself);
//! - idle cost: writers off for `--idle-seconds`; both instances' CPU over that window divided
//!   by N, as % of one core per till (the no-till baseline of the servers is reported too).
//!
//! Latency percentiles are nearest-rank over all samples. Goals (issue 14): propagation p95 <
//! 100 ms, zero errors, an idle till < 0.05 % of one core, each instance < 300 MB RSS. The exit
//! status is 0 when every goal is met and 2 when one is missed, so the largest fleet meeting
//! them is found with a loop (10 tills a shop, half the shops with a writer):
//!
//! ```text
//! for n in 1000 2000 3000 4000; do
//!   target/release/examples/fleet --tills $n --shops $((n / 10)) --writers $((n / 20)) || break
//! done
//! ```
//!
//! Only loopback traffic; no phone number, token or code is printed.

use anyhow::{bail, Context, Result};
use clap::Parser;
use dukkan_core::customer::CustomerKind;
use dukkan_core::ops::{CustomerCreated, CustomerUpdated, Op};
use dukkan_core::sync::{
    OpOutcome, PullResponse, PushOp, PushRequest, PushResponse, MAX_PULL_WAIT_SECS, MAX_PUSH_BATCH,
    PROTOCOL_VERSION,
};
use dukkan_core::{CustomerId, OpId};
use dukkan_server::staff::Role;
use rand::Rng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "fleet",
    about = "Simulates a fleet of tills syncing through two dukkan-server instances and reports \
             propagation, push latency, errors, RSS, CPU and the idle cost per till.",
    after_help = "Exit status: 0 when every goal is met, 2 when one is missed, 1 on failure."
)]
struct Args {
    /// Tills (devices), each with its own enrolled token and HTTP connections.
    #[arg(long, default_value_t = 1000)]
    tills: usize,
    /// Shops (tenants); till i belongs to shop i % shops.
    #[arg(long, default_value_t = 100)]
    shops: usize,
    /// Tills that create and edit customers (at most one per shop).
    #[arg(long, default_value_t = 50)]
    writers: usize,
    /// Ops per second of each writer.
    #[arg(long, default_value_t = 0.5)]
    rate: f64,
    /// Seconds over which the tills start (spread evenly, in random order).
    #[arg(long, default_value_t = MAX_PULL_WAIT_SECS)]
    ramp_seconds: u64,
    /// Seconds of load after the ramp before measuring.
    #[arg(long, default_value_t = 10)]
    warmup_seconds: u64,
    /// Seconds measured with writers on.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Seconds measured with writers off (the idle cost).
    #[arg(long, default_value_t = 20)]
    idle_seconds: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Postgres address (trust auth for users postgres and dukkan_app).
    #[arg(long, default_value = "127.0.0.1:5432")]
    pg_addr: String,
    /// The server binary (default: dukkan-server next to this example's directory).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Database pool size of each instance (DB_POOL_SIZE; the server's default is 16).
    #[arg(long, default_value_t = 16)]
    pool_size: usize,
    /// Keep the servers' logs (in the temp directory) after a successful run.
    #[arg(long)]
    keep_logs: bool,
}

// ---------------------------------------------------------------------------------------------
// Phases and shared measurements

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Warmup = 0,
    Measure = 1,
    Drain = 2,
    Idle = 3,
}

const PHASES: [&str; 4] = ["warmup", "measure", "drain", "idle"];

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Warmup,
            1 => Phase::Measure,
            2 => Phase::Drain,
            _ => Phase::Idle,
        }
    }
}

/// One op on its way to the other tills of its shop.
struct Pending {
    sent: Instant,
    customer: CustomerId,
    shop: u32,
    origin: u32,
    origin_instance: u8,
    measured: bool,
    /// Tills (other than the writer) that have pulled it.
    seen: Vec<u32>,
    /// How many of them got it folded into a later op of the same customer: a pull carries
    /// the customer as it is now, so a till that pulls after two edits sees only the second.
    superseded: u32,
}

/// Every marked op, and the ops of each customer in the order they were made.
#[derive(Default)]
struct Book {
    ops: HashMap<u64, Pending>,
    by_customer: HashMap<CustomerId, Vec<u64>>,
}

#[derive(Default)]
struct Samples {
    push: Vec<Duration>,
    same_instance: Vec<Duration>,
    cross_instance: Vec<Duration>,
}

struct Shared {
    phase: AtomicU8,
    pending: Mutex<Book>,
    samples: Mutex<Samples>,
    /// Errors by kind, per phase.
    errors: Mutex<BTreeMap<String, [u64; 4]>>,
    /// Requests sent by tills, per phase.
    requests: [AtomicU64; 4],
    next_marker: AtomicU64,
    next_phone: AtomicU64,
    tills_per_shop: Vec<u32>,
}

impl Shared {
    fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::Release);
    }

    fn error(&self, kind: String) {
        let p = self.phase() as usize;
        let mut e = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        e.entry(kind).or_default()[p] += 1;
    }

    fn request(&self) {
        self.requests[self.phase() as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// The last name that marks op `n` (letters, a space and digits: a valid person name).
fn marker_name(n: u64) -> String {
    format!("Fleet {n}")
}

fn parse_marker(name: &str) -> Option<u64> {
    name.strip_prefix("Fleet ")?.parse().ok()
}

/// A valid, unique Omani mobile number (+968 9[1-9]xx xxxx); never printed.
fn phone(n: u64) -> String {
    format!("+9689{}{:06}", 1 + (n / 1_000_000) % 9, n % 1_000_000)
}

// ---------------------------------------------------------------------------------------------
// A till

struct Till {
    idx: u32,
    shop: u32,
    instance: u8,
    base: String,
    token: String,
    /// The shop's address as the load balancer forwards it.
    forwarded_for: String,
    staff_id: String,
    writer: bool,
    http: reqwest::Client,
    // Sync state, as the device keeps it.
    cursor: i64,
    roster_etag: Option<String>,
    outbox: Vec<PushOp>,
    /// Marker of each outbox op (same order).
    outbox_markers: Vec<u64>,
    next_seq: i64,
    customers: Vec<CustomerId>,
    ops_made: u64,
}

/// How often an online till runs a full round while its long-polls keep answering (the
/// engine's default `ServerConfig::idle_interval`).
const IDLE_INTERVAL: Duration = Duration::from_secs(60);

/// Why a round or a long-poll failed, and how long the server asked us to wait.
struct Failure {
    retry_after: Option<Duration>,
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const FIRST_NAMES: [&str; 8] = [
    "Mohammed", "Ahmed", "Salim", "Khalid", "Fatma", "Maryam", "Aisha", "Zainab",
];

fn error_kind(what: &str, e: &reqwest::Error) -> String {
    let how = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_decode() {
        "decode"
    } else if e.is_body() {
        "body"
    } else if e.is_request() {
        "request"
    } else {
        "transport"
    };
    format!("{what}: {how}")
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

impl Till {
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("x-forwarded-for", &self.forwarded_for)
    }

    /// A JSON answer, or a counted error.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        sh: &Shared,
        what: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<T, Failure> {
        sh.request();
        let resp = req.send().await.map_err(|e| {
            sh.error(error_kind(what, &e));
            Failure { retry_after: None }
        })?;
        let status = resp.status();
        if !status.is_success() {
            sh.error(format!("{what}: HTTP {}", status.as_u16()));
            return Err(Failure {
                retry_after: retry_after(&resp),
            });
        }
        resp.json::<T>().await.map_err(|e| {
            sh.error(error_kind(what, &e));
            Failure { retry_after: None }
        })
    }

    async fn pull(&self, sh: &Shared, wait: u64) -> Result<PullResponse, Failure> {
        let what = if wait == 0 { "pull" } else { "long-poll" };
        let req = self
            .get(&format!(
                "/api/v1/sync/pull?since={}&wait={wait}",
                self.cursor
            ))
            .timeout(REQUEST_TIMEOUT + Duration::from_secs(wait));
        self.send(sh, what, req).await
    }

    /// Records when the other tills of the shop see each marked op.
    fn observe(&mut self, sh: &Shared, page: &PullResponse) {
        let now = Instant::now();
        let mut late = Vec::new();
        {
            let mut pending = sh.pending.lock().unwrap_or_else(|e| e.into_inner());
            for change in &page.changes {
                let Some(marker) = change.customer.last_name.as_deref().and_then(parse_marker)
                else {
                    continue;
                };
                let Some(p) = pending.ops.get(&marker) else {
                    continue;
                };
                if p.shop != self.shop {
                    late.push("pull: another shop's change".to_owned());
                    continue;
                }
                if p.origin == self.idx {
                    continue;
                }
                // This op and every earlier op of the customer this till has not seen yet:
                // the snapshot carries their effect now.
                let earlier: Vec<u64> = pending
                    .by_customer
                    .get(&p.customer)
                    .map(|ms| ms.iter().copied().filter(|m| *m <= marker).collect())
                    .unwrap_or_default();
                for m in earlier {
                    let Some(p) = pending.ops.get_mut(&m) else {
                        continue;
                    };
                    if p.seen.contains(&self.idx) {
                        continue;
                    }
                    p.seen.push(self.idx);
                    if m != marker {
                        p.superseded += 1;
                    }
                    if p.measured {
                        let d = now.duration_since(p.sent);
                        let mut s = sh.samples.lock().unwrap_or_else(|e| e.into_inner());
                        if p.origin_instance == self.instance {
                            s.same_instance.push(d);
                        } else {
                            s.cross_instance.push(d);
                        }
                    }
                }
            }
        }
        for kind in late {
            sh.error(kind);
        }
        self.cursor = page.cursor;
    }

    /// A local write: an op in the outbox, as the device records it.
    fn make_op(&mut self, sh: &Shared) {
        let marker = sh.next_marker.fetch_add(1, Ordering::Relaxed);
        let mut rng = rand::rng();
        let op = if self.ops_made.is_multiple_of(2) || self.customers.is_empty() {
            let id = CustomerId::new();
            self.customers.push(id);
            let n = sh.next_phone.fetch_add(1, Ordering::Relaxed);
            Op::CustomerCreated(CustomerCreated {
                id,
                kind: CustomerKind::Stub,
                first_name: Some(FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())].to_owned()),
                last_name: Some(marker_name(marker)),
                name2: None,
                phone: Some(phone(n)),
                email: None,
                preferences: None,
            })
        } else {
            let id = self.customers[rng.random_range(0..self.customers.len())];
            Op::CustomerUpdated(CustomerUpdated {
                id,
                last_name: Some(Some(marker_name(marker))),
                ..CustomerUpdated::default()
            })
        };
        self.ops_made += 1;
        self.outbox.push(PushOp {
            op_id: OpId::new(),
            device_seq: self.next_seq,
            op,
            staff_id: Some(self.staff_id.clone()),
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        self.outbox_markers.push(marker);
        self.next_seq += 1;
    }

    async fn push(&mut self, sh: &Shared) -> Result<(), Failure> {
        let n = self.outbox.len().min(MAX_PUSH_BATCH);
        let body = PushRequest {
            protocol: PROTOCOL_VERSION,
            ops: self.outbox[..n].to_vec(),
        };
        let sent = Instant::now();
        let phase = sh.phase();
        {
            let mut pending = sh.pending.lock().unwrap_or_else(|e| e.into_inner());
            for (marker, op) in self.outbox_markers[..n].iter().zip(&self.outbox) {
                if pending.ops.contains_key(marker) {
                    continue;
                }
                let customer = op.op.customer_id();
                pending.ops.insert(
                    *marker,
                    Pending {
                        sent,
                        customer,
                        shop: self.shop,
                        origin: self.idx,
                        origin_instance: self.instance,
                        measured: phase == Phase::Measure,
                        seen: Vec::new(),
                        superseded: 0,
                    },
                );
                pending
                    .by_customer
                    .entry(customer)
                    .or_default()
                    .push(*marker);
            }
        }
        let req = self
            .http
            .post(format!("{}/api/v1/sync/push", self.base))
            .bearer_auth(&self.token)
            .header("x-forwarded-for", &self.forwarded_for)
            .timeout(REQUEST_TIMEOUT)
            .json(&body);
        let answer: PushResponse = self.send(sh, "push", req).await?;
        if phase == Phase::Measure {
            let mut s = sh.samples.lock().unwrap_or_else(|e| e.into_inner());
            s.push.push(sent.elapsed());
        }
        let mut answered = 0;
        for r in &answer.results {
            match &r.outcome {
                OpOutcome::Applied | OpOutcome::Duplicate => answered += 1,
                OpOutcome::Rejected { code } => {
                    answered += 1;
                    sh.error(format!("op rejected: {code}"));
                }
                OpOutcome::Redirected { .. } => {
                    answered += 1;
                    sh.error("op redirected".to_owned());
                }
                OpOutcome::OutOfOrder { .. } => sh.error("op out of order".to_owned()),
                OpOutcome::SequenceConflict { .. } => sh.error("op sequence conflict".to_owned()),
            }
        }
        if answered < n {
            // Nothing this simple simulator can repair: drop the batch rather than spin.
            answered = n;
        }
        self.outbox.drain(..answered);
        self.outbox_markers.drain(..answered);
        Ok(())
    }

    /// One round of the engine: push the outbox, pull until no page is left, the roster.
    async fn round(&mut self, sh: &Shared) -> Result<(), Failure> {
        while !self.outbox.is_empty() {
            self.push(sh).await?;
        }
        loop {
            let page = self.pull(sh, 0).await?;
            self.observe(sh, &page);
            if !page.more {
                break;
            }
        }
        let mut req = self.get("/api/v1/sync/staff").timeout(REQUEST_TIMEOUT);
        if let Some(tag) = &self.roster_etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, tag);
        }
        sh.request();
        let resp = req.send().await.map_err(|e| {
            sh.error(error_kind("staff", &e));
            Failure { retry_after: None }
        })?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(());
        }
        if !status.is_success() {
            sh.error(format!("staff: HTTP {}", status.as_u16()));
            return Err(Failure {
                retry_after: retry_after(&resp),
            });
        }
        self.roster_etag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        resp.bytes().await.map_err(|e| {
            sh.error(error_kind("staff", &e));
            Failure { retry_after: None }
        })?;
        Ok(())
    }

    /// The engine's loop until `stop`: a round, then long-polls until a local write, a page
    /// with more behind it, a failure or the next round is due; after a failure, a backoff
    /// (or the server's `Retry-After`).
    async fn run(
        mut self,
        sh: Arc<Shared>,
        start: tokio::time::Instant,
        period: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep_until(start) => {}
        }
        let jitter = period.mul_f64(rand::rng().random_range(0.0..1.0));
        let mut next_write = tokio::time::Instant::now() + jitter;
        let mut backoff = Duration::from_millis(200);
        loop {
            if *stop.borrow() {
                return;
            }
            let writing = self.writer && sh.phase() <= Phase::Measure;
            if writing && tokio::time::Instant::now() >= next_write {
                self.make_op(&sh);
                next_write += period;
            }
            match self.round(&sh).await {
                Ok(()) => {
                    backoff = Duration::from_millis(200);
                    let writing = self.writer && sh.phase() <= Phase::Measure;
                    // Long-polls one after another until a local write, a page with more
                    // behind it, a failure, or the next full round (the engine's
                    // `idle_interval`) is due.
                    let due = tokio::time::Instant::now() + IDLE_INTERVAL;
                    loop {
                        tokio::select! {
                            _ = stop.wait_for(|s| *s) => return,
                            () = tokio::time::sleep_until(next_write), if writing => break,
                            () = tokio::time::sleep_until(due) => break,
                            page = self.pull(&sh, MAX_PULL_WAIT_SECS) => {
                                let Ok(page) = page else { break };
                                self.observe(&sh, &page);
                                if page.more {
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(f) => {
                    let wait = f.retry_after.unwrap_or_else(|| {
                        let b = backoff;
                        backoff = (backoff * 2).min(Duration::from_secs(60));
                        b.mul_f64(rand::rng().random_range(0.5..1.0))
                    });
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => return,
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Processes, Postgres and /proc

/// The fresh database; dropped (WITH FORCE) when this is dropped, on every path.
struct Database {
    admin_url: String,
    name: String,
}

impl Database {
    fn url(&self, pg_addr: &str, user: &str) -> String {
        format!("postgres://{user}@{pg_addr}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let url = self.admin_url.clone();
        let name = self.name.clone();
        // Own thread and runtime: this may run inside (or after) the main runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    if let Err(e) = client
                        .execute(
                            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                            &[],
                        )
                        .await
                    {
                        eprintln!("fleet: could not drop database {name}: {e}");
                    }
                }
            });
        })
        .join();
    }
}

async fn admin_client(url: &str) -> Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("cannot connect to Postgres at {url}"))?;
    tokio::spawn(conn);
    Ok(client)
}

/// A `dukkan-server serve` child; killed when dropped.
struct Server {
    child: Child,
    pid: u32,
    base: String,
    log: PathBuf,
}

impl Server {
    async fn start(
        bin: &Path,
        app_url: &str,
        pool_size: usize,
        log: PathBuf,
        otp_secret: &str,
    ) -> Result<Server> {
        let log_file = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = Command::new(bin)
            .arg("serve")
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("APP_DATABASE_URL", app_url)
            .env("DB_POOL_SIZE", pool_size.to_string())
            .env("OTP_SECRET", otp_secret)
            .env("TRUSTED_PROXIES", "127.0.0.1")
            .env("RUST_LOG", "info")
            .env_remove("DATABASE_URL")
            .env_remove("METRICS_TOKEN")
            .env_remove("TWILIO_ACCOUNT_SID")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().context("server stdout")?;
        let mut server = Server {
            child,
            pid,
            base: String::new(),
            log,
        };
        // The server prints {"listening": "<addr>"} once it listens.
        let line = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                std::io::BufReader::new(stdout)
                    .read_line(&mut line)
                    .map(|_| line)
            }),
        )
        .await
        .context("the server did not start listening within 30 s")???;
        let v: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("the server did not start; see {}", server.log.display()))?;
        let addr = v["listening"].as_str().context("no listening address")?;
        server.base = format!("http://{addr}");
        Ok(server)
    }

    /// Stops the server (SIGTERM, then SIGKILL after 12 s).
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(12);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// utime + stime of `pid` in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// (busy, total) jiffies of the whole machine (every core).
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle, total))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Raises this process's soft open-file limit to the hard one when `needed` is more than the
/// soft limit allows (children inherit it). Returns (soft, hard) after.
fn open_file_limit(needed: u64) -> Result<(u64, u64)> {
    let read = || -> Option<(u64, u64)> {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        let f: Vec<&str> = line.split_whitespace().collect();
        let parse = |s: &str| {
            if s == "unlimited" {
                Some(u64::MAX)
            } else {
                s.parse().ok()
            }
        };
        Some((parse(f.get(3)?)?, parse(f.get(4)?)?))
    };
    let (soft, hard) = read().context("cannot read /proc/self/limits")?;
    if soft >= needed {
        return Ok((soft, hard));
    }
    if hard > soft {
        // No unsafe here (the workspace forbids it): util-linux's prlimit sets our own limit.
        let _ = Command::new("prlimit")
            .arg("--pid")
            .arg(std::process::id().to_string())
            .arg(format!("--nofile={hard}:{hard}"))
            .status();
    }
    let (soft, hard) = read().context("cannot read /proc/self/limits")?;
    if soft < needed {
        bail!(
            "{needed} open files are needed but the limit is {soft} (hard {hard}); \
             raise it (ulimit -n) or run fewer tills"
        );
    }
    Ok((soft, hard))
}

/// CPU of a set of processes over a window, as % of one core.
struct CpuWindow {
    start: Instant,
    ticks: Vec<(u32, u64)>,
    machine: Option<(u64, u64)>,
}

impl CpuWindow {
    fn begin(pids: &[u32]) -> CpuWindow {
        CpuWindow {
            start: Instant::now(),
            ticks: pids
                .iter()
                .filter_map(|p| Some((*p, cpu_ticks(*p)?)))
                .collect(),
            machine: machine_ticks(),
        }
    }

    /// % of one core of each pid (in the order given), the sum of the pids alive at both ends,
    /// and the whole machine's busy % of all its cores.
    fn end(&self, hz: f64) -> (Vec<f64>, f64, Option<f64>) {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let mut each = Vec::new();
        let mut sum = 0.0;
        for (pid, t0) in &self.ticks {
            let pct = cpu_ticks(*pid)
                .map(|t1| t1.saturating_sub(*t0) as f64 / hz / secs * 100.0)
                .unwrap_or(0.0);
            each.push(pct);
            sum += pct;
        }
        let machine = match (self.machine, machine_ticks()) {
            (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
                Some((b1 - b0) as f64 / (t1 - t0) as f64 * 100.0)
            }
            _ => None,
        };
        (each, sum, machine)
    }
}

/// The pids of the Postgres backends connected to `db` now.
async fn backend_pids(admin: &tokio_postgres::Client, db: &str) -> Vec<u32> {
    admin
        .query(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1",
            &[&db],
        )
        .await
        .map(|rows| {
            rows.iter()
                .filter_map(|r| u32::try_from(r.get::<_, i32>(0)).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Default)]
struct Peaks {
    rss_kib: Vec<u64>,
    pg_connections: i64,
}

/// Samples RSS every 500 ms and the database's connections every second until `stop`.
async fn sample(
    pids: Vec<u32>,
    admin_url: String,
    db: String,
    peaks: Arc<Mutex<Peaks>>,
    mut stop: watch::Receiver<bool>,
) {
    let admin = admin_client(&admin_url).await.ok();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tick.tick() => {}
        }
        let rss: Vec<u64> = pids.iter().map(|p| rss_kib(*p).unwrap_or(0)).collect();
        let connections = if n.is_multiple_of(2) {
            match &admin {
                Some(a) => a
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                        &[&db],
                    )
                    .await
                    .map(|r| r.get::<_, i64>(0))
                    .ok(),
                None => None,
            }
        } else {
            None
        };
        n += 1;
        let mut p = peaks.lock().unwrap_or_else(|e| e.into_inner());
        if p.rss_kib.len() < rss.len() {
            p.rss_kib.resize(rss.len(), 0);
        }
        for (max, now) in p.rss_kib.iter_mut().zip(rss) {
            *max = (*max).max(now);
        }
        if let Some(c) = connections {
            p.pg_connections = p.pg_connections.max(c);
        }
    }
}

/// Sum of a gauge over both instances' /metrics (e.g. `dukkan_sync_waiting_pulls`).
async fn metric_sum(http: &reqwest::Client, bases: &[String], name: &str) -> Option<f64> {
    let mut sum = 0.0;
    for base in bases {
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        sum += text
            .lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    Some(sum)
}

// ---------------------------------------------------------------------------------------------
// The report

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Latency {
    count: usize,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn latency(samples: &mut [Duration]) -> Latency {
    samples.sort_unstable();
    // Nearest rank: the smallest value with at least p % of the samples at or below it.
    let rank = |p: f64| -> f64 {
        if samples.is_empty() {
            return f64::NAN;
        }
        let r = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        samples[r.clamp(1, samples.len()) - 1].as_secs_f64() * 1000.0
    };
    Latency {
        count: samples.len(),
        p50_ms: rank(50.0),
        p95_ms: rank(95.0),
        p99_ms: rank(99.0),
        max_ms: samples
            .last()
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InstanceReport {
    name: &'static str,
    max_rss_mb: f64,
    cpu_measure_pct: f64,
    cpu_idle_pct: f64,
    cpu_no_tills_pct: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Goal {
    goal: &'static str,
    value: String,
    met: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    tills: usize,
    shops: usize,
    writers: usize,
    rate_per_writer: f64,
    measure_seconds: u64,
    idle_seconds: u64,
    loadavg_start: String,
    loadavg_end: String,
    setup_seconds: f64,
    changes_measured: usize,
    /// Propagation samples where the till got the op folded into a later op of the customer.
    superseded_samples: u64,
    propagation_all: Latency,
    propagation_same_instance: Latency,
    propagation_cross_instance: Latency,
    push: Latency,
    errors_total: u64,
    errors: BTreeMap<String, BTreeMap<&'static str, u64>>,
    requests_per_second_measure: f64,
    requests_per_second_idle: f64,
    instances: Vec<InstanceReport>,
    max_pg_connections: i64,
    postgres_cpu_measure_pct: f64,
    postgres_cpu_idle_pct: f64,
    simulator_cpu_measure_pct: f64,
    machine_busy_measure_pct: Option<f64>,
    machine_busy_idle_pct: Option<f64>,
    idle_cpu_per_till_pct: f64,
    idle_cpu_per_till_net_pct: f64,
    waiting_pulls_at_end: Option<f64>,
    open_file_limit: u64,
    goals: Vec<Goal>,
    all_goals_met: bool,
}

fn print_report(r: &Report) {
    let ms = |l: &Latency| {
        format!(
            "n={:>6}  p50 {:>7.1}  p95 {:>7.1}  p99 {:>7.1}  max {:>7.1} ms",
            l.count, l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
        )
    };
    println!(
        "== Dukkan fleet: {} tills, {} shops, {} writers at {}/s each, two instances ==",
        r.tills, r.shops, r.writers, r.rate_per_writer
    );
    println!(
        "load average {} at start, {} at end; setup {:.1} s (not timed); open-file limit {}",
        r.loadavg_start, r.loadavg_end, r.setup_seconds, r.open_file_limit
    );
    println!(
        "measured {} s with writers ({} changes; {} samples got a change folded into a later \
         one of the same customer), {} s idle",
        r.measure_seconds, r.changes_measured, r.superseded_samples, r.idle_seconds
    );
    println!(
        "propagation (other tills of the shop)  {}",
        ms(&r.propagation_all)
    );
    println!(
        "  same instance                        {}",
        ms(&r.propagation_same_instance)
    );
    println!(
        "  other instance                       {}",
        ms(&r.propagation_cross_instance)
    );
    println!("push round trip                        {}", ms(&r.push));
    println!(
        "requests/s from tills: {:.0} with writers, {:.0} idle",
        r.requests_per_second_measure, r.requests_per_second_idle
    );
    println!("errors: {}", r.errors_total);
    for (kind, by_phase) in &r.errors {
        let phases: Vec<String> = by_phase.iter().map(|(p, n)| format!("{p} {n}")).collect();
        println!("  {kind}: {}", phases.join(", "));
    }
    for i in &r.instances {
        println!(
            "instance {}: max RSS {:.1} MB; CPU {:.1} % of a core with writers, {:.1} % idle, \
             {:.1} % with no tills",
            i.name, i.max_rss_mb, i.cpu_measure_pct, i.cpu_idle_pct, i.cpu_no_tills_pct
        );
    }
    println!(
        "Postgres: max {} connections of the database; its backends {:.1} % of a core with \
         writers, {:.1} % idle",
        r.max_pg_connections, r.postgres_cpu_measure_pct, r.postgres_cpu_idle_pct
    );
    println!(
        "simulator {:.1} % of a core with writers; machine busy {} with writers, {} idle \
         (of all cores)",
        r.simulator_cpu_measure_pct,
        r.machine_busy_measure_pct
            .map_or("?".to_owned(), |p| format!("{p:.0} %")),
        r.machine_busy_idle_pct
            .map_or("?".to_owned(), |p| format!("{p:.0} %")),
    );
    println!(
        "idle cost per till: {:.4} % of a core ({:.4} % net of the servers' no-till baseline); \
         pulls waiting at the end: {}",
        r.idle_cpu_per_till_pct,
        r.idle_cpu_per_till_net_pct,
        r.waiting_pulls_at_end
            .map_or("?".to_owned(), |w| format!("{w:.0}"))
    );
    println!("goals:");
    for g in &r.goals {
        println!(
            "  [{}] {}: {}",
            if g.met { "met" } else { "MISSED" },
            g.goal,
            g.value
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The run

fn server_binary(args: &Args) -> Result<PathBuf> {
    if let Some(b) = &args.server_bin {
        return Ok(b.clone());
    }
    let exe = std::env::current_exe()?;
    // target/<profile>/examples/fleet -> target/<profile>/dukkan-server
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("dukkan-server"))
        .context("cannot locate the server binary; pass --server-bin")?;
    if !bin.exists() {
        bail!(
            "{} does not exist: build it first with `cargo build --release -p dukkan-server` \
             (or pass --server-bin)",
            bin.display()
        );
    }
    Ok(bin)
}

/// Makes the shops, their cashiers and the tills' tokens (not timed).
async fn set_up_tills(
    args: &Args,
    owner_url: &str,
    bases: &[String],
    http: &reqwest::Client,
) -> Result<Vec<Till>> {
    let owner = dukkan_server::db::pool(owner_url, 8)?;
    let slug = |s: usize| format!("fleet-shop-{s:05}");
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    let mut shops = tokio::task::JoinSet::new();
    for s in 0..args.shops {
        let (owner, limit, slug) = (owner.clone(), limit.clone(), slug(s));
        shops.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            dukkan_server::tenants::create(&owner, &slug, &format!("Shop {slug}"))
                .await
                .map_err(|e| anyhow::anyhow!("create shop: {e}"))?;
            let cashier = dukkan_server::staff::add(&owner, &slug, "Salim", Role::Cashier, "2468")
                .await
                .map_err(|e| anyhow::anyhow!("add cashier: {e}"))?;
            anyhow::Ok((s, cashier.id.to_string()))
        });
    }
    let mut cashiers = vec![String::new(); args.shops];
    while let Some(r) = shops.join_next().await {
        let (s, id) = r??;
        cashiers[s] = id;
    }
    // Writers: the first till of shops spread evenly over all of them.
    let writer_shops: std::collections::HashSet<usize> = (0..args.writers)
        .map(|w| w * args.shops / args.writers.max(1))
        .collect();
    let mut enrolls = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(32));
    for i in 0..args.tills {
        let shop = i % args.shops;
        let instance = (i / args.shops) % 2;
        let (owner, limit, slug, http) = (owner.clone(), limit.clone(), slug(shop), http.clone());
        let base = bases[instance].clone();
        let forwarded_for = format!(
            "10.{}.{}.{}",
            (shop >> 16) & 255,
            (shop >> 8) & 255,
            shop & 255
        );
        enrolls.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            // A code as the operator CLI makes it, redeemed over REST as a till does.
            let code = dukkan_server::devices::create_code(&owner, &slug, None)
                .await
                .map_err(|e| anyhow::anyhow!("enrollment code: {e}"))?;
            let resp = http
                .post(format!("{base}/api/v1/devices/enroll"))
                .header("x-forwarded-for", &forwarded_for)
                .json(&serde_json::json!({
                    "tenant": slug, "code": code.code, "deviceName": format!("Till {i}")
                }))
                .send()
                .await?;
            if resp.status() != reqwest::StatusCode::CREATED {
                bail!("enrollment answered {}", resp.status());
            }
            let body: serde_json::Value = resp.json().await?;
            let token = body["deviceToken"]
                .as_str()
                .context("no device token")?
                .to_owned();
            anyhow::Ok((i, shop, instance, base, token, forwarded_for))
        });
    }
    let mut tills = Vec::with_capacity(args.tills);
    let mut seen_writer_shop = std::collections::HashSet::new();
    let mut enrolled = Vec::with_capacity(args.tills);
    while let Some(r) = enrolls.join_next().await {
        enrolled.push(r??);
    }
    enrolled.sort_by_key(|e| e.0);
    for (i, shop, instance, base, token, forwarded_for) in enrolled {
        // Each till is its own computer: its own client and connections.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let writer = writer_shops.contains(&shop) && seen_writer_shop.insert(shop);
        tills.push(Till {
            idx: u32::try_from(i)?,
            shop: u32::try_from(shop)?,
            instance: u8::try_from(instance)?,
            base,
            token,
            forwarded_for,
            staff_id: cashiers[shop].clone(),
            writer,
            http,
            cursor: 0,
            roster_etag: None,
            outbox: Vec::new(),
            outbox_markers: Vec::new(),
            next_seq: 1,
            customers: Vec::new(),
            ops_made: 0,
        });
    }
    owner.close();
    Ok(tills)
}

async fn run(args: Args) -> Result<Report> {
    if args.tills == 0 || args.shops == 0 || args.shops > args.tills {
        bail!("need at least one till per shop (--tills >= --shops >= 1)");
    }
    if args.writers > args.shops {
        bail!("at most one writer per shop (--writers <= --shops)");
    }
    if !(args.rate > 0.0 && args.rate <= 50.0) {
        bail!("--rate must be above 0 and at most 50 ops/s");
    }
    let bin = server_binary(&args)?;
    let (open_files, _) = open_file_limit(2 * args.tills as u64 + 1000)?;
    let hz = clock_ticks_per_second();
    let loadavg_start = loadavg();
    let setup_started = Instant::now();

    let admin_url = format!("postgres://postgres@{}/postgres", args.pg_addr);
    let admin = admin_client(&admin_url).await?;
    let name = format!("dukkan_fleet_{}", uuid::Uuid::now_v7().simple());
    admin
        .execute(&format!("CREATE DATABASE \"{name}\""), &[])
        .await
        .context("create the database")?;
    let db = Database {
        admin_url: admin_url.clone(),
        name,
    };
    let owner_url = db.url(&args.pg_addr, "postgres");
    let app_url = db.url(&args.pg_addr, "dukkan_app");
    dukkan_server::db::migrate(&owner_url)
        .await
        .context("migrate")?;

    let logs = std::env::temp_dir().join(&db.name);
    std::fs::create_dir_all(&logs)?;
    let otp_secret: String = {
        let mut rng = rand::rng();
        (0..48)
            .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
            .collect()
    };
    let mut servers = Vec::new();
    for n in ["a", "b"] {
        servers.push(
            Server::start(
                &bin,
                &app_url,
                args.pool_size,
                logs.join(format!("server-{n}.log")),
                &otp_secret,
            )
            .await?,
        );
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let pids: Vec<u32> = servers.iter().map(|s| s.pid).collect();
    let setup_http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let tills = set_up_tills(&args, &owner_url, &bases, &setup_http).await?;
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    // The servers with no till connected: their own baseline (housekeeping, listener).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline = CpuWindow::begin(&pids);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (cpu_no_tills, cpu_no_tills_sum, _) = baseline.end(hz);

    let mut tills_per_shop = vec![0u32; args.shops];
    for t in &tills {
        tills_per_shop[t.shop as usize] += 1;
    }
    let shared = Arc::new(Shared {
        phase: AtomicU8::new(Phase::Warmup as u8),
        pending: Mutex::new(Book::default()),
        samples: Mutex::new(Samples::default()),
        errors: Mutex::new(BTreeMap::new()),
        requests: Default::default(),
        next_marker: AtomicU64::new(1),
        next_phone: AtomicU64::new(0),
        tills_per_shop,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let peaks = Arc::new(Mutex::new(Peaks::default()));
    let sampler = tokio::spawn(sample(
        pids.clone(),
        admin_url.clone(),
        db.name.clone(),
        peaks.clone(),
        stop_rx.clone(),
    ));

    // Start-ups spread evenly over the ramp, in random order.
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let ramp = Duration::from_secs(args.ramp_seconds);
    let t0 = tokio::time::Instant::now();
    let mut order: Vec<usize> = (0..tills.len()).collect();
    {
        let mut rng = rand::rng();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
    }
    let n = tills.len();
    let mut tasks = tokio::task::JoinSet::new();
    for (till, slot) in tills.into_iter().zip(order) {
        let start = t0 + ramp.mul_f64(slot as f64 / n as f64);
        tasks.spawn(till.run(shared.clone(), start, period, stop_rx.clone()));
    }

    tokio::time::sleep_until(t0 + ramp + Duration::from_secs(args.warmup_seconds)).await;
    // Measure: writers on.
    let me = std::process::id();
    let pg_pids = backend_pids(&admin, &db.name).await;
    let mut window_pids = pids.clone();
    window_pids.push(me);
    let measure_cpu = CpuWindow::begin(&window_pids);
    let pg_measure = CpuWindow::begin(&pg_pids);
    shared.set_phase(Phase::Measure);
    let measure_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    shared.set_phase(Phase::Drain);
    let measure_secs = measure_started.elapsed().as_secs_f64();
    let (cpu_measure, _, machine_measure) = measure_cpu.end(hz);
    let (_, pg_cpu_measure, _) = pg_measure.end(hz);

    // Drain: writers stop; changes already pushed get 10 s to reach every till.
    let drain_deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let unseen = {
            let pending = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending
                .ops
                .values()
                .filter(|p| p.seen.len() + 1 < shared.tills_per_shop[p.shop as usize] as usize)
                .count()
        };
        if unseen == 0 || Instant::now() >= drain_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Idle: only long-polls.
    shared.set_phase(Phase::Idle);
    let pg_pids = backend_pids(&admin, &db.name).await;
    let idle_cpu = CpuWindow::begin(&pids);
    let pg_idle = CpuWindow::begin(&pg_pids);
    let idle_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
    let idle_secs = idle_started.elapsed().as_secs_f64();
    let (cpu_idle, cpu_idle_sum, machine_idle) = idle_cpu.end(hz);
    let (_, pg_cpu_idle, _) = pg_idle.end(hz);
    let waiting_pulls_at_end = metric_sum(&setup_http, &bases, "dukkan_sync_waiting_pulls").await;

    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    let _ = sampler.await;
    let loadavg_end = loadavg();
    for s in &mut servers {
        s.stop();
    }

    // Changes a till of the shop never saw.
    let (changes_measured, unseen, superseded) = {
        let pending = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
        let measured = pending.ops.values().filter(|p| p.measured).count();
        let superseded: u64 = pending
            .ops
            .values()
            .filter(|p| p.measured)
            .map(|p| u64::from(p.superseded))
            .sum();
        let unseen: u64 = pending
            .ops
            .values()
            .map(|p| {
                (shared.tills_per_shop[p.shop as usize] as usize).saturating_sub(p.seen.len() + 1)
                    as u64
            })
            .sum();
        (measured, unseen, superseded)
    };
    if unseen > 0 {
        let mut e = shared.errors.lock().unwrap_or_else(|e| e.into_inner());
        e.entry("change never seen by a till of its shop".to_owned())
            .or_default()[Phase::Drain as usize] += unseen;
    }

    let mut samples =
        std::mem::take(&mut *shared.samples.lock().unwrap_or_else(|e| e.into_inner()));
    let mut all: Vec<Duration> = samples
        .same_instance
        .iter()
        .chain(&samples.cross_instance)
        .copied()
        .collect();
    let errors: BTreeMap<String, BTreeMap<&'static str, u64>> = shared
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(k, v)| {
            let by_phase = PHASES
                .iter()
                .zip(v)
                .filter(|(_, n)| **n > 0)
                .map(|(p, n)| (*p, *n))
                .collect();
            (k.clone(), by_phase)
        })
        .collect();
    let errors_total: u64 = errors.values().flat_map(|m| m.values()).sum();
    let peaks = std::mem::take(&mut *peaks.lock().unwrap_or_else(|e| e.into_inner()));
    let instances: Vec<InstanceReport> = ["a", "b"]
        .iter()
        .enumerate()
        .map(|(i, name)| InstanceReport {
            name,
            max_rss_mb: peaks.rss_kib.get(i).copied().unwrap_or(0) as f64 / 1024.0,
            cpu_measure_pct: cpu_measure.get(i).copied().unwrap_or(0.0),
            cpu_idle_pct: cpu_idle.get(i).copied().unwrap_or(0.0),
            cpu_no_tills_pct: cpu_no_tills.get(i).copied().unwrap_or(0.0),
        })
        .collect();
    let idle_cpu_per_till_pct = cpu_idle_sum / n as f64;
    let idle_cpu_per_till_net_pct = (cpu_idle_sum - cpu_no_tills_sum).max(0.0) / n as f64;
    let requests = |p: Phase, secs: f64| {
        shared.requests[p as usize].load(Ordering::Relaxed) as f64 / secs.max(1e-9)
    };
    let propagation_all = latency(&mut all);
    let max_rss = instances.iter().map(|i| i.max_rss_mb).fold(0.0, f64::max);
    let goals = vec![
        Goal {
            goal: "propagation p95 < 100 ms",
            value: format!("{:.1} ms", propagation_all.p95_ms),
            met: propagation_all.count > 0 && propagation_all.p95_ms < 100.0,
        },
        Goal {
            goal: "zero errors",
            value: errors_total.to_string(),
            met: errors_total == 0,
        },
        Goal {
            goal: "idle till < 0.05 % of one core",
            value: format!("{idle_cpu_per_till_pct:.4} %"),
            met: idle_cpu_per_till_pct < 0.05,
        },
        Goal {
            goal: "each instance < 300 MB RSS",
            value: format!("{max_rss:.1} MB"),
            met: max_rss > 0.0 && max_rss < 300.0,
        },
    ];
    let all_goals_met = goals.iter().all(|g| g.met);
    if args.keep_logs || errors_total > 0 {
        eprintln!("fleet: server logs kept in {}", logs.display());
    } else {
        let _ = std::fs::remove_dir_all(&logs);
    }
    drop(admin);
    drop(db);
    Ok(Report {
        tills: args.tills,
        shops: args.shops,
        writers: args.writers,
        rate_per_writer: args.rate,
        measure_seconds: args.seconds,
        idle_seconds: args.idle_seconds,
        loadavg_start,
        loadavg_end,
        setup_seconds,
        changes_measured,
        superseded_samples: superseded,
        propagation_same_instance: latency(&mut samples.same_instance),
        propagation_cross_instance: latency(&mut samples.cross_instance),
        propagation_all,
        push: latency(&mut samples.push),
        errors_total,
        errors,
        requests_per_second_measure: requests(Phase::Measure, measure_secs),
        requests_per_second_idle: requests(Phase::Idle, idle_secs),
        instances,
        max_pg_connections: peaks.pg_connections,
        postgres_cpu_measure_pct: pg_cpu_measure,
        postgres_cpu_idle_pct: pg_cpu_idle,
        simulator_cpu_measure_pct: cpu_measure.get(2).copied().unwrap_or(0.0),
        machine_busy_measure_pct: machine_measure,
        machine_busy_idle_pct: machine_idle,
        idle_cpu_per_till_pct,
        idle_cpu_per_till_net_pct,
        waiting_pulls_at_end,
        open_file_limit: open_files,
        goals,
        all_goals_met,
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let json = args.json;
    let report = runtime.block_on(async move {
        tokio::select! {
            r = run(args) => r,
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        }
    });
    // Drops leftover tasks (and their connections) before the process ends.
    runtime.shutdown_timeout(Duration::from_secs(2));
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    if !report.all_goals_met {
        std::process::exit(2);
    }
    Ok(())
}
