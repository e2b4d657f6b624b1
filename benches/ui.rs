//! Figures of the real desktop app (issue: desktop app), measured through tauri-driver like the
//! e2e tests, on a store of `DUKKAN_BENCH_ROWS` customers (default 100,000):
//!
//! - cold start: from the WebDriver session request (which starts the process) to the counter's
//!   search box being on screen and focused; `DUKKAN_BENCH_STARTS` runs (default 5);
//! - memory: the app's resident memory (RSS of the app process; PSS of the app with its WebKit
//!   processes, so shared pages are not counted twice) after start and after scrolling the whole
//!   customer list;
//! - Enter on the stub form → confirmation on screen, then F8 → the new row visible in the list,
//!   timed inside the page with `performance.now()`; `DUKKAN_BENCH_CREATES` runs (default 100,
//!   enough for a p95).
//!
//! `cargo bench -p dukkan --bench ui` (needs what `scripts/test-e2e.sh` installs, and a built UI).
//! Results and method: BENCHMARKS.md.
#![allow(clippy::unwrap_used)]

#[path = "../tests/e2e_support/mod.rs"]
mod e2e;

use dukkan_core::StubInput;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A store of `rows` customers through the real import path, kept under target/bench-data.
fn seeded_store(rows: usize) -> PathBuf {
    let dir = e2e::repo().join(format!("target/bench-data/ui-{rows}"));
    let db = dir.join("dukkan.sqlite3");
    if db.exists() {
        return db;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let device = dukkan_device::Device::open(&db).unwrap();
    // A standalone till has an owner; the app asks for their PIN at start.
    device
        .set_owner_pin_cheaply("Owner", e2e::OWNER_PIN)
        .unwrap();
    let names = [
        "Ahmed", "Salim", "Fatma", "Maryam", "Khalid", "Aisha", "Said", "Huda",
    ];
    let arabic = [
        "أحمد",
        "سالم",
        "فاطمة",
        "مريم",
        "خالد",
        "عائشة",
        "سعيد",
        "هدى",
    ];
    let mut batch = Vec::with_capacity(1000);
    for i in 0..rows {
        batch.push(StubInput {
            first_name: names[i % names.len()].into(),
            last_name: Some(format!("Family{}", i / 8)),
            name2: Some(arabic[i % arabic.len()].into()),
            phone: format!("+9689{:07}", i),
        });
        if batch.len() == 1000 || i + 1 == rows {
            device.import_stubs(&batch).unwrap();
            batch.clear();
        }
    }
    drop(device);
    db
}

/// A fresh data directory holding a copy of the seeded store.
fn data_dir(store: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("dukkan.sqlite3");
    std::fs::copy(store, &copy).unwrap();
    dukkan_device::store_key::copy_key(store, &copy).unwrap();
    dir
}

fn proc_field(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields after it follow the last ')'.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The app process: the one running our binary.
fn app_pid() -> u32 {
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_dukkan")).unwrap();
    all_pids()
        .into_iter()
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).ok().as_ref() == Some(&exe))
        .max()
        .expect("the app is running")
}

/// (RSS of the app process, PSS of the app and every process below it), in MiB; each
/// process's PSS goes to stdout by name, so a change shows where it moved memory.
fn memory() -> (f64, f64) {
    let app = app_pid();
    let pids = all_pids();
    let mut family = vec![app];
    let mut i = 0;
    while i < family.len() {
        let parent = family[i];
        family.extend(
            pids.iter()
                .copied()
                .filter(|p| parent_of(*p) == Some(parent)),
        );
        i += 1;
    }
    let rss = proc_field(app, "status", "VmRSS:").unwrap_or(0) as f64 / 1024.0;
    let mut pss = 0;
    let mut each = Vec::new();
    for p in &family {
        if let Some(kib) = proc_field(*p, "smaps_rollup", "Pss:") {
            pss += kib;
            let name = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            each.push(format!("{} {:.0}", name.trim(), kib as f64 / 1024.0));
        }
    }
    println!("  PSS by process (MiB): {}", each.join(", "));
    (rss, pss as f64 / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Waits until the field `testid` is on screen and has the focus (ready for typing).
async fn wait_for_focus(app: &e2e::App, testid: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let script = format!(
        "const s = document.querySelector(\"[data-testid='{testid}']\"); \
         return !!s && document.activeElement === s;"
    );
    loop {
        let ready = app
            .client
            .execute(&script, vec![])
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if ready {
            return;
        }
        assert!(Instant::now() < deadline, "{testid} never became ready");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Scrolls the customer list to its end, page after page, until every row is loaded.
async fn scroll_everything(app: &e2e::App, rows: usize) -> Duration {
    let started = Instant::now();
    let script = "const s = document.querySelector(\"[data-testid='scroller']\"); \
                  s.scrollTop = s.scrollHeight; s.dispatchEvent(new Event('scroll')); \
                  return Number(document.querySelector(\"[data-testid='customer-table']\").getAttribute('aria-rowcount')) - 1;";
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let loaded = app.client.execute(script, vec![]).await.unwrap();
        if loaded.as_u64().unwrap_or(0) as usize >= rows {
            return started.elapsed();
        }
        assert!(Instant::now() < deadline, "the list stopped at {loaded}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Enter on a filled stub form → confirmation, then F8 → the row in the list, in milliseconds.
async fn create_and_find(app: &e2e::App, n: usize) -> (f64, f64) {
    app.client
        .execute(
            "window.dispatchEvent(new KeyboardEvent('keydown', {key: 'F2', bubbles: true}));",
            vec![],
        )
        .await
        .unwrap();
    let name = format!("Bench{n}");
    app.find("first-name").await.send_keys(&name).await.unwrap();
    app.find("phone")
        .await
        .send_keys(&format!("93{:06}", n))
        .await
        .unwrap();
    let timed = app
        .client
        .execute_async(
            r#"
            const [name, done] = arguments;
            const until = (test) => new Promise((resolve) => {
              if (test()) return resolve();
              const o = new MutationObserver(() => { if (test()) { o.disconnect(); resolve(); } });
              o.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
            });
            const t0 = performance.now();
            document.querySelector("[data-testid='stub-form']").requestSubmit();
            await until(() => document.querySelector("[data-testid='confirmation'][data-outcome='created']"));
            const t1 = performance.now();
            window.dispatchEvent(new KeyboardEvent('keydown', { key: 'F8', bubbles: true }));
            await until(() => [...document.querySelectorAll("[data-testid='row']")].some((r) => r.textContent.includes(name)));
            const t2 = performance.now();
            done([t1 - t0, t2 - t1]);
            "#,
            vec![serde_json::json!(name)],
        )
        .await
        .unwrap();
    let v = timed.as_array().unwrap();
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

#[tokio::main]
async fn main() {
    let rows = env_usize("DUKKAN_BENCH_ROWS", 100_000);
    let starts = env_usize("DUKKAN_BENCH_STARTS", 5);
    let creates = env_usize("DUKKAN_BENCH_CREATES", 100);
    let seeding = Instant::now();
    let store = seeded_store(rows);
    println!(
        "store of {rows} customers ready in {:.1?}",
        seeding.elapsed()
    );

    let mut cold = Vec::new();
    let mut after_start = (0.0, 0.0);
    for run in 0..starts {
        let app = e2e::start_as_shipped_in(data_dir(&store)).await;
        // Interactive: the owner's PIN field of the sign-in screen (the till's first screen).
        wait_for_focus(&app, "signin-pin").await;
        cold.push(app.launched.elapsed().as_secs_f64() * 1000.0);
        if run == 0 {
            // Let start-up work settle before reading memory.
            tokio::time::sleep(Duration::from_secs(2)).await;
            after_start = memory();
        }
        app.close().await;
    }
    cold.sort_by(f64::total_cmp);

    let app = e2e::start_as_shipped_in(data_dir(&store)).await;
    app.sign_in_owner().await;
    wait_for_focus(&app, "search").await;
    app.client
        .execute(
            "window.dispatchEvent(new KeyboardEvent('keydown', {key: 'F8', bubbles: true}));",
            vec![],
        )
        .await
        .unwrap();
    app.find("row").await;
    let scrolled_in = scroll_everything(&app, rows).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_scroll = memory();
    // And once WebKit has had time to give back what it keeps (its memory pressure checks).
    tokio::time::sleep(Duration::from_secs(8)).await;
    let settled = memory();

    let (mut save, mut list, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..creates {
        let (s, l) = create_and_find(&app, n).await;
        save.push(s);
        list.push(l);
        total.push(s + l);
    }
    app.close().await;
    for v in [&mut save, &mut list, &mut total] {
        v.sort_by(f64::total_cmp);
    }

    println!(
        "cold start to focused search box, {starts} runs: median {:.0} ms, max {:.0} ms",
        percentile(&cold, 0.5),
        cold[cold.len() - 1]
    );
    println!(
        "memory after start: app RSS {:.0} MiB, app + WebKit PSS {:.0} MiB",
        after_start.0, after_start.1
    );
    println!("scrolled all {rows} rows in {:.1?}", scrolled_in);
    println!(
        "memory after scrolling {rows} rows: app RSS {:.0} MiB, app + WebKit PSS {:.0} MiB",
        after_scroll.0, after_scroll.1
    );
    println!(
        "memory 10 s after scrolling: app RSS {:.0} MiB, app + WebKit PSS {:.0} MiB",
        settled.0, settled.1
    );
    println!(
        "Enter -> confirmation, {creates} runs: p50 {:.1} ms, p95 {:.1} ms",
        percentile(&save, 0.5),
        percentile(&save, 0.95)
    );
    println!(
        "F8 -> new row visible: p50 {:.1} ms, p95 {:.1} ms",
        percentile(&list, 0.5),
        percentile(&list, 0.95)
    );
    println!(
        "Enter -> row visible in the list (sum): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&total, 0.5),
        percentile(&total, 0.95),
        percentile(&total, 0.99),
        total[total.len() - 1]
    );
}
