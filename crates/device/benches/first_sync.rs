//! The till's share of a first sync (issue 14, part 3): a fresh till writes the pages of a
//! 100,000-customer shop into its encrypted store, as the sync engine does (`apply_pulls`:
//! pages of 1,000 and their cursor, five pages per transaction — what the engine writes
//! together when the store is slower than the server, its fetcher holding four pages ahead;
//! DUKKAN_BENCH_BATCH sets another number). The server's share and the wire
//! are measured end to end by `cargo bench -p dukkan --bench sync`; this one isolates the store,
//! so a profile (`perf record`) shows only the till's work.
//!
//! `cargo bench -p dukkan-device --bench first_sync` (DUKKAN_BENCH_PULL sets the size, 100,000
//! by default; DUKKAN_BENCH_RUNS the number of fresh tills, 3). `cargo test --benches` runs it
//! once with 2,000 customers. Needs the credential store like the app (scripts/with-keyring.sh).

#![allow(clippy::unwrap_used)]

use dukkan_core::sync::{Change, CustomerSnapshot, PullResponse};
use dukkan_core::{CustomerId, CustomerKind, CustomerNumber};
use dukkan_device::Device;
use std::time::{Duration, Instant};

const PAGE: usize = 1_000;
const FIRST: &[&str] = &[
    "Mohammed", "Ahmed", "Salim", "Fatma", "Aisha", "Nasser", "Khalid", "Maryam", "Said", "Zahra",
    "Hamed", "Badriya",
];
const LAST: &[&str] = &[
    "Al Balushi",
    "Al Harthy",
    "Al Hinai",
    "Al Busaidi",
    "Al Rawahi",
    "Al Maskari",
    "Al Lawati",
    "Al Nabhani",
];
const NAME2: &[&str] = &[
    "محمد البلوشي",
    "أحمد الحارثي",
    "سالم الهنائي",
    "فاطمة البوسعيدي",
    "عائشة الرواحي",
    "ناصر المسكري",
];

/// Customer `i` as the server's pull carries it (the shape `benches/sync.rs` seeds).
fn snapshot(i: usize) -> CustomerSnapshot {
    CustomerSnapshot {
        id: CustomerId::new(),
        customer_number: Some(CustomerNumber::new(i as u32 + 1).unwrap()),
        kind: CustomerKind::Stub,
        first_name: Some(FIRST[i % FIRST.len()].into()),
        last_name: Some(LAST[i / 7 % LAST.len()].into()),
        name2: Some(NAME2[i % NAME2.len()].into()),
        phone: Some(format!("+96891{i:06}")),
        email: None,
        phone_verified: false,
        preferences: None,
        loyalty_points: 0,
        order_count: 0,
        total_spent_minor: 0,
        last_order_at: None,
        recent_orders: vec![],
        active: true,
        retired: false,
        merged_into: None,
        default_address_id: None,
        addresses: vec![],
        upgrade_state: None,
        resend_after: None,
        code_expires_at: None,
        upgrade_error: None,
        created_at: "2026-12-01T10:00:00.000Z".into(),
        updated_at: "2026-12-01T10:00:00.000Z".into(),
    }
}

fn pages(n: usize) -> Vec<PullResponse> {
    let snapshots: Vec<CustomerSnapshot> = (0..n).map(snapshot).collect();
    snapshots
        .chunks(PAGE)
        .enumerate()
        .map(|(p, chunk)| {
            let first_seq = (p * PAGE) as i64 + 1;
            let changes: Vec<Change> = chunk
                .iter()
                .enumerate()
                .map(|(k, c)| Change {
                    seq: first_seq + k as i64,
                    customer: c.clone(),
                })
                .collect();
            PullResponse {
                cursor: first_seq + changes.len() as i64 - 1,
                more: (p + 1) * PAGE < n,
                changes,
            }
        })
        .collect()
}

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Pages per transaction: the engine's batch while its fetcher is ahead (one page taken, four
/// waiting).
fn batch_pages() -> usize {
    size("DUKKAN_BENCH_BATCH", 5).max(1)
}

/// Writes every page into a fresh till; the time of the writes alone.
fn one_till(pages: &[PullResponse], n: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.sqlite3");
    let device = Device::open(&path).unwrap();
    let started = Instant::now();
    for batch in pages.chunks(batch_pages()) {
        device.apply_pulls(batch).unwrap();
    }
    let took = started.elapsed();
    assert_eq!(device.sync_cursor().unwrap(), n as i64);
    // Every customer is there and found, by phone and by name.
    let conn = dukkan_device::store::connect_existing(&path).unwrap();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, n as i64);
    let named: i64 = conn
        .query_row(
            "SELECT count(*) FROM customers_fts WHERE customers_fts MATCH '\"balushi\"'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(named > 0, "the pulled names are in the search index");
    took
}

fn main() {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let (n, runs) = if benchmarking {
        (
            size("DUKKAN_BENCH_PULL", 100_000),
            size("DUKKAN_BENCH_RUNS", 3),
        )
    } else {
        (2_000, 1)
    };
    let pages = pages(n);
    let mut times: Vec<Duration> = (0..runs).map(|_| one_till(&pages, n)).collect();
    for (k, t) in times.iter().enumerate() {
        println!(
            "first_sync/{n}: run {}: {:.2} s ({:.0} customers/s)",
            k + 1,
            t.as_secs_f64(),
            n as f64 / t.as_secs_f64()
        );
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "first_sync/{n}: median of {runs}: {:.2} s ({:.0} customers/s), {:.1} µs per customer",
        median.as_secs_f64(),
        n as f64 / median.as_secs_f64(),
        median.as_secs_f64() * 1e6 / n as f64
    );
}
