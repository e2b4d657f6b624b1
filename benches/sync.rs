//! Sync figures (issue 4), through the real engine, real HTTP and real Postgres:
//! (a) N customers created offline on a device, then pushed and acknowledged;
//! (b) initial pull of M customers to a fresh enrolled device;
//! (c) online propagation, device A create -> visible in device B's store, over K creates.
//!
//! `cargo bench -p dukkan --bench sync`. Sizes: DUKKAN_BENCH_PUSH (10000), DUKKAN_BENCH_PULL
//! (100000), DUKKAN_BENCH_PROPAGATION (100). Needs Postgres like the tests (see the server's
//! test harness). Run without `--bench` (e.g. `cargo test --benches`) it is a small smoke run.
//! Method and results: BENCHMARKS.md, section "Sync".

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "../tests/common/mod.rs"]
mod common;

use common::{enrolled_device, last_change_seq};
use dukkan_core::StubInput;
use dukkan_device::engine::{self, ServerConfig};
use dukkan_device::{Device, StubOutcome};
use std::time::{Duration, Instant};
use support::TestApp;

const FIRST: [&str; 8] = [
    "Mohammed", "Ahmed", "Salim", "Khalid", "Fatma", "Maryam", "Aisha", "Zainab",
];
const LAST: [&str; 6] = [
    "Al Balushi",
    "Al Harthy",
    "Al Said",
    "Al Rawahi",
    "Al Hinai",
    "Al Busaidi",
];
const NAME2: [&str; 4] = [
    "محمد البلوشي",
    "أحمد الحارثي",
    "فاطمة السعيدي",
    "مريم الرواحي",
];

fn size(var: &str, full: usize, smoke: usize, is_bench: bool) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if is_bench { full } else { smoke })
}

fn stub_input(i: usize) -> StubInput {
    StubInput {
        first_name: FIRST[i % FIRST.len()].into(),
        last_name: Some(LAST[i / 7 % LAST.len()].into()),
        name2: Some(NAME2[i % NAME2.len()].into()),
        phone: format!("91{i:06}"),
    }
}

/// Waits (polling, with a generous deadline) until `done` holds.
async fn until(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < deadline,
            "{what}: not done in {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn token(d: &Device) -> String {
    d.enrollment().unwrap().unwrap().1
}

fn local_count(d: &Device) -> i64 {
    let conn = dukkan_device::store::connect_existing(d.path()).unwrap();
    conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap()
}

/// Where the time goes when the same work is done by hand, step by step: (device reading the
/// outbox, server answering pushes, device recording answers) or (server answering pull pages,
/// device applying them). Only with DUKKAN_BENCH_BREAKDOWN=1.
fn breakdown_wanted() -> bool {
    std::env::var_os("DUKKAN_BENCH_BREAKDOWN").is_some()
}

async fn push_breakdown(app: &TestApp, d: &Device) -> String {
    let (_, token) = d.enrollment().unwrap().unwrap();
    let (mut read, mut server, mut record) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    loop {
        let t = Instant::now();
        let ops = d
            .next_push_batch(dukkan_core::sync::MAX_PUSH_BATCH)
            .unwrap();
        read += t.elapsed();
        if ops.is_empty() {
            break;
        }
        let t = Instant::now();
        let answer: dukkan_core::sync::PushResponse = app
            .client
            .post(format!("{}/api/v1/sync/push", app.base))
            .bearer_auth(&token)
            .json(&dukkan_core::sync::PushRequest {
                protocol: dukkan_core::sync::PROTOCOL_VERSION,
                ops,
            })
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        server += t.elapsed();
        let t = Instant::now();
        d.apply_push_results(&answer.results).unwrap();
        record += t.elapsed();
    }
    format!(
        "device reads outbox {}, server answers pushes {}, device records answers {}",
        secs(read),
        secs(server),
        secs(record)
    )
}

async fn pull_breakdown(app: &TestApp, d: &Device) -> String {
    let (_, token) = d.enrollment().unwrap().unwrap();
    let (mut server, mut apply) = (Duration::ZERO, Duration::ZERO);
    loop {
        let t = Instant::now();
        let page: dukkan_core::sync::PullResponse = app
            .client
            .get(format!(
                "{}/api/v1/sync/pull?since={}",
                app.base,
                d.sync_cursor().unwrap()
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        server += t.elapsed();
        let t = Instant::now();
        d.apply_pull(&page).unwrap();
        apply += t.elapsed();
        if !page.more {
            break;
        }
    }
    format!(
        "server answers pages {}, device applies them {}",
        secs(server),
        secs(apply)
    )
}

/// (a) Returns (pushed and acknowledged, fully synced incl. pulling them back).
async fn push_offline_creates(n: usize) -> (Duration, Duration) {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("bench").await.0;
    let t = enrolled_device(&app, "bench").await;
    let inputs: Vec<StubInput> = (0..n).map(stub_input).collect();
    // Created offline (setup, not timed): the same rows and outbox ops as n create_stub calls.
    assert_eq!(t.device.import_stubs(&inputs).unwrap(), n);
    assert_eq!(t.device.pending_ops().unwrap(), n as u64);
    let started = Instant::now();
    let engine = engine::spawn(
        t.device.clone(),
        ServerConfig::new(&app.base, token(&t.device)),
    )
    .unwrap();
    until("push", Duration::from_secs(600), || {
        t.device.pending_ops().unwrap() == 0
    })
    .await;
    let pushed = started.elapsed();
    let last = n as i64;
    until("pull back", Duration::from_secs(600), || {
        t.device.sync_cursor().unwrap() >= last
    })
    .await;
    let synced = started.elapsed();
    engine.stop().await;
    assert_eq!(app.count("SELECT count(*) FROM customers").await, n as i64);
    assert_eq!(app.count("SELECT count(*) FROM sync_ops").await, n as i64);
    assert_eq!(last_change_seq(&app, tenant).await, last);
    if breakdown_wanted() {
        let probe = enrolled_device(&app, "bench").await;
        let inputs: Vec<StubInput> = (n..2 * n).map(stub_input).collect();
        probe.device.import_stubs(&inputs).unwrap();
        eprintln!(
            "(a) breakdown: {}",
            push_breakdown(&app, &probe.device).await
        );
    }
    (pushed, synced)
}

/// Bytes of the whole feed fetched page by page as a till's first sync asks for it, with
/// `encoding` accepted and each body counted as it came over the wire.
async fn feed_over_the_wire(app: &TestApp, token: &str, encoding: &str) -> usize {
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_zstd()
        .build()
        .unwrap();
    let plain = reqwest::Client::new();
    let (mut since, mut bytes) = (0i64, 0usize);
    loop {
        let url = format!("{}/api/v1/sync/pull?since={since}&wait=0", app.base);
        let body = raw
            .get(&url)
            .bearer_auth(token)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        bytes += body.len();
        // The cursor, read from an uncompressed copy of the same page.
        let page: serde_json::Value = plain
            .get(&url)
            .bearer_auth(token)
            .header("accept-encoding", "identity")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        since = page["cursor"].as_i64().unwrap();
        if !page["more"].as_bool().unwrap() {
            break;
        }
    }
    bytes
}

/// (b) Seeds `n` customers on the server with SQL, then times a fresh device's initial pull.
async fn initial_pull(n: usize) -> (Duration, Duration) {
    // Rate limits off: the wire probes below pull the whole feed three times more from one
    // address within seconds, which the default limits answer 429.
    let app = TestApp::spawn_with_limits(dukkan_server::limits::LimitConfig::unlimited()).await;
    let tenant = app.tenant("bench").await.0;
    let ids: Vec<uuid::Uuid> = (0..n).map(|_| uuid::Uuid::now_v7()).collect();
    let seeding = Instant::now();
    let client = app.owner.get().await.unwrap();
    let first: Vec<String> = (0..n).map(|i| FIRST[i % FIRST.len()].to_owned()).collect();
    let last: Vec<String> = (0..n)
        .map(|i| LAST[i / 7 % LAST.len()].to_owned())
        .collect();
    let name2: Vec<String> = (0..n).map(|i| NAME2[i % NAME2.len()].to_owned()).collect();
    client
        .execute(
            "INSERT INTO customers (tenant_id, id, customer_number, kind, first_name, last_name, name2,
                phone, search_text)
             SELECT $1, t.id, t.n, 'stub', t.f, t.l, t.a, '+96891' || lpad((t.n - 1)::text, 6, '0'),
                lower(t.f || ' ' || t.l)
             FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS t(id, f, l, a, n)",
            &[&tenant, &ids, &first, &last, &name2],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO change_feed (tenant_id, seq, entity, entity_id)
             SELECT $1, t.n, 'customer', t.id FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, n)",
            &[&tenant, &ids],
        )
        .await
        .unwrap();
    client
        .execute(
            "UPDATE tenant_counters SET next_customer_number = $2::bigint + 1, next_change_seq = $2::bigint + 1
             WHERE tenant_id = $1",
            &[&tenant, &(n as i64)],
        )
        .await
        .unwrap();
    client.execute("ANALYZE", &[]).await.unwrap();
    let seeded = seeding.elapsed();
    let t = enrolled_device(&app, "bench").await;
    let started = Instant::now();
    let engine = engine::spawn(
        t.device.clone(),
        ServerConfig::new(&app.base, token(&t.device)),
    )
    .unwrap();
    until("initial pull", Duration::from_secs(600), || {
        t.device.sync_cursor().unwrap() >= n as i64
    })
    .await;
    let pulled = started.elapsed();
    engine.stop().await;
    assert_eq!(local_count(&t.device), n as i64);
    let hit = t.device.search(&format!("91{:06}", n / 2), 5).unwrap();
    assert_eq!(hit.len(), 1, "a pulled customer is searchable by phone");
    // What the first sync puts on the wire, uncompressed and compressed, in the same run.
    let probe = enrolled_device(&app, "bench").await;
    let probe_token = token(&probe.device);
    let identity = feed_over_the_wire(&app, &probe_token, "identity").await;
    for encoding in ["zstd", "gzip"] {
        let bytes = feed_over_the_wire(&app, &probe_token, encoding).await;
        eprintln!(
            "(b'') bytes on the wire for the first sync of {n} customers: identity {:.1} MB, {encoding} {:.1} MB (×{:.1} smaller)",
            identity as f64 / 1e6,
            bytes as f64 / 1e6,
            identity as f64 / bytes as f64
        );
    }
    eprintln!(
        "(b) initial pull of {n} customers to a fresh device: {:.2} s ({:.0} customers/s)",
        pulled.as_secs_f64(),
        n as f64 / pulled.as_secs_f64()
    );
    if breakdown_wanted() {
        let probe = enrolled_device(&app, "bench").await;
        eprintln!(
            "(b) breakdown: {}",
            pull_breakdown(&app, &probe.device).await
        );
    }
    (seeded, pulled)
}

/// (c) Latencies of A create -> visible in B's store, both engines online (long-poll).
///
/// Rate limits off: the creates follow each other as fast as they propagate (~45/s from one
/// till, a push, a pull and a roster check each), which no cashier does, and with the default
/// 50 requests/s per device token the engine's one-second backoff after a 429 would be
/// measured instead of propagation.
async fn propagation(n: usize) -> Vec<Duration> {
    let app = TestApp::spawn_with_limits(dukkan_server::limits::LimitConfig::unlimited()).await;
    app.tenant("bench").await;
    let a = enrolled_device(&app, "bench").await;
    let b = enrolled_device(&app, "bench").await;
    let ea = engine::spawn(
        a.device.clone(),
        ServerConfig::new(&app.base, token(&a.device)),
    )
    .unwrap();
    let eb = engine::spawn(
        b.device.clone(),
        ServerConfig::new(&app.base, token(&b.device)),
    )
    .unwrap();
    for e in [&ea, &eb] {
        let mut s = e.status();
        tokio::time::timeout(Duration::from_secs(30), s.wait_for(|s| s.online))
            .await
            .unwrap()
            .unwrap();
    }
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let StubOutcome::Created(c) = a.device.create_stub(&stub_input(i)).unwrap() else {
            panic!("fresh phone");
        };
        let started = Instant::now();
        until("propagation", Duration::from_secs(60), || {
            b.device.customer(c.id).is_ok()
        })
        .await;
        latencies.push(started.elapsed());
    }
    ea.stop().await;
    eb.stop().await;
    latencies.sort();
    latencies
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let is_bench = std::env::args().any(|a| a == "--bench");
    let push_n = size("DUKKAN_BENCH_PUSH", 10_000, 200, is_bench);
    let pull_n = size("DUKKAN_BENCH_PULL", 100_000, 2_000, is_bench);
    let prop_n = size("DUKKAN_BENCH_PROPAGATION", 100, 5, is_bench);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut rows = Vec::new();
        if push_n > 0 {
            let (pushed, synced) = push_offline_creates(push_n).await;
            rows.push(format!(
                "| (a) {push_n} offline creates pushed and acknowledged | {} ({:.0} ops/s) | < 10 s |",
                secs(pushed),
                push_n as f64 / pushed.as_secs_f64()
            ));
            rows.push(format!(
                "| (a') … and pulled back (numbers assigned on the device) | {} | — |",
                secs(synced)
            ));
        }
        for r in &rows {
            eprintln!("{r}");
        }
        if pull_n > 0 {
            let (seeded, pulled) = initial_pull(pull_n).await;
            rows.push(format!(
                "| (b) initial pull of {pull_n} customers to a fresh device | {} ({:.0} customers/s) | < 10 s |",
                secs(pulled),
                pull_n as f64 / pulled.as_secs_f64()
            ));
            rows.push(format!("| (b') seeding them on the server with SQL (not a figure) | {} | — |", secs(seeded)));
        }
        if prop_n > 0 {
            let l = propagation(prop_n).await;
            rows.push(format!(
                "| (c) propagation A → B over {prop_n} creates: p50 / p95 / max | {} / {} / {} | p95 < 2 s |",
                ms(pct(&l, 50.0)),
                ms(pct(&l, 95.0)),
                ms(pct(&l, 100.0))
            ));
        }
        println!("\n| figure | result | goal |\n| --- | --- | --- |");
        for r in rows {
            println!("{r}");
        }
    });
}
