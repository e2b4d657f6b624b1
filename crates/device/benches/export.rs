//! The customer list's Excel export (issue 13, BENCHMARKS.md "Excel export"): 100,000 customers
//! on a real (encrypted) till store, exported as `.xlsx` and, as the baseline in the same run,
//! as CSV. Three runs of each; the median time, and the peak memory of the process before and
//! after the exports (the workbook is written in constant memory, so it must not grow with
//! the number of rows).
//!
//! Run: `cargo bench -p dukkan-device --bench export` (`DUKKAN_BENCH_EXPORT_ROWS` sets the
//! number of customers). Under `cargo test --benches` it runs once on 2,000 customers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dukkan_core::i18n::Locale;
use dukkan_device::{Device, KeyStorage, ListQuery};
use std::time::{Duration, Instant};

/// Peak resident memory of this process so far (Linux), in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// `n` stubs written straight into the store in one transaction (names in both scripts,
/// figures, creation instants spread over a year).
fn fill(device: &Device, n: u64) {
    let mut conn = dukkan_device::store::connect_existing(device.path()).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO customers (id, customer_number, kind, first_name, last_name, name2, phone,
                    phone_national, phone_last4, loyalty_points, order_count, total_spent_minor,
                    created_at, created_device, updated_at, sync_state)
                 VALUES (?1, ?2, 'stub', ?3, 'Al Balushi', 'محمد البلوشي', ?4, ?5, ?6, ?7, ?8, ?9,
                    ?10, 'bench', ?10, 'synced')",
            )
            .unwrap();
        for i in 0..n as i64 {
            let national = format!("9{:07}", i % 10_000_000);
            let at = chrono::DateTime::from_timestamp(1_767_225_600 + (i * 317) % 31_536_000, 0)
                .unwrap()
                .to_rfc3339();
            insert
                .execute(rusqlite::params![
                    uuid::Uuid::now_v7().to_string(),
                    i + 1,
                    format!("Mohammed {i}"),
                    format!("+968{national}"),
                    national,
                    &national[4..],
                    i % 500,
                    i % 40,
                    (i % 40) * 3_250,
                    at,
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let n: u64 = if benchmarking {
        std::env::var("DUKKAN_BENCH_EXPORT_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000)
    } else {
        2_000
    };
    let runs = if benchmarking { 3 } else { 1 };
    let dir = tempfile::tempdir().unwrap();
    let device = Device::open_with(dir.path().join("till.sqlite3"), KeyStorage::File).unwrap();
    device.set_owner_pin_cheaply("Bench", "246810").unwrap();
    fill(&device, n);
    let before = peak_mib();

    let mut xlsx = Vec::new();
    let mut csv = Vec::new();
    for run in 0..runs {
        let path = dir.path().join(format!("export-{run}.xlsx"));
        let started = Instant::now();
        let rows = device
            .export_xlsx(&ListQuery::default(), Locale::Ar, &path)
            .unwrap();
        xlsx.push(started.elapsed());
        assert_eq!(rows, n);
        let after_xlsx = peak_mib();

        let file = std::fs::File::create(dir.path().join(format!("export-{run}.csv"))).unwrap();
        let started = Instant::now();
        let rows = device
            .export_csv(
                &ListQuery::default(),
                Locale::Ar,
                std::io::BufWriter::new(file),
            )
            .unwrap();
        csv.push(started.elapsed());
        assert_eq!(rows, n);
        println!(
            "run {}: xlsx {:.2} s ({:.1} MB file), csv {:.2} s; peak memory {:.0} MiB after the xlsx",
            run + 1,
            xlsx[run].as_secs_f64(),
            std::fs::metadata(&path).unwrap().len() as f64 / 1e6,
            csv[run].as_secs_f64(),
            after_xlsx,
        );
    }
    let after = peak_mib();
    let (x, c) = (median(xlsx), median(csv));
    println!(
        "export of {n} customers, median of {runs}: xlsx {:.2} s, csv {:.2} s (xlsx/csv ×{:.2}); \
         peak memory {before:.0} MiB before the exports, {after:.0} MiB after (+{:.0} MiB)",
        x.as_secs_f64(),
        c.as_secs_f64(),
        x.as_secs_f64() / c.as_secs_f64(),
        after - before,
    );
}
