//! Sync under network faults: real device engines (their own SQLite files, the real background
//! task) talk to the real server (127.0.0.1:0, a fresh Postgres database) through a proxy that
//! drops requests, drops answers after the server committed, delays, duplicates, answers 500
//! and 429 with Retry-After. Afterwards every device must hold the server's customers and every
//! op must have taken effect exactly once.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "common/mod.rs"]
mod common;

use common::fault_proxy::{FaultProxy, FaultRates, FaultStats, SplitMix64};
use common::{
    assert_every_op_applied_exactly_once, device_view, difference, enrolled_device,
    last_change_seq, perform, random_action, server_view, stub, test_engine_config, Action, Phones,
    TestDevice,
};
use dukkan_device::engine::{self, SyncHandle};
use dukkan_device::{CustomerChanges, Device};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::TestApp;

/// Seed of the proxy's and the workload's RNGs; `DUKKAN_FAULT_SEED` picks another.
fn seed() -> u64 {
    std::env::var("DUKKAN_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_D0CC)
}

/// Waits until every device holds exactly the server's customers, has nothing pending and has
/// pulled the whole feed; panics with the first difference after `deadline`.
async fn wait_until_converged(
    app: &TestApp,
    tenant: uuid::Uuid,
    devices: &[&Device],
    deadline: Duration,
) {
    let started = Instant::now();
    loop {
        let server = server_view(app, tenant).await;
        let last = last_change_seq(app, tenant).await;
        let mut problem = None;
        for (i, d) in devices.iter().enumerate() {
            let status = d.sync_status().unwrap();
            if status.pending > 0 {
                problem = Some(format!("device {i}: {} ops pending", status.pending));
            } else if status.cursor != last {
                problem = Some(format!("device {i}: cursor {} of {last}", status.cursor));
            } else if let Some(diff) = difference(&server, &device_view(d)) {
                problem = Some(format!("device {i}: {diff}"));
            }
            if problem.is_some() {
                break;
            }
        }
        let Some(problem) = problem else { return };
        assert!(
            started.elapsed() < deadline,
            "devices did not converge within {deadline:?}: {problem}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_engines_behind_a_faulty_network_converge_and_apply_every_op_exactly_once() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("muscat").await.0;
    let proxy = FaultProxy::start(&app.base, seed()).await;
    let devices: Vec<TestDevice> = vec![
        enrolled_device(&app, "muscat").await,
        enrolled_device(&app, "muscat").await,
        enrolled_device(&app, "muscat").await,
    ];
    for t in &devices {
        common::sign_in_manager(&app, "muscat", &t.device).await;
    }

    // Offline first: some work on every till, then the same person registered at all three.
    let mut rng = SplitMix64::new(seed());
    let mut phones: Vec<Phones> = (0..3).map(Phones::new).collect();
    for (i, t) in devices.iter().enumerate() {
        for _ in 0..4 {
            perform(&t.device, &mut phones[i], &random_action(&mut rng));
        }
    }
    let same_phone: Vec<String> = devices
        .iter()
        .map(|t| stub(&t.device, "Ahmed", "+968 9111 2222").id.to_string())
        .collect();

    // Online behind the faulty proxy: every fault on at once, ~40 % of requests hit.
    proxy.set_faults(FaultRates::all(0.065));
    let engines: Vec<SyncHandle> = devices
        .iter()
        .map(|t| {
            let (_, token) = t.enrollment();
            engine::spawn(t.device.clone(), test_engine_config(&proxy.url, &token)).unwrap()
        })
        .collect();
    // The three offline copies of one person: one survivor, the other two merged into it.
    let started = Instant::now();
    let server = loop {
        let server = server_view(&app, tenant).await;
        if same_phone.iter().all(|id| server.contains_key(id)) {
            break server;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the offline creates never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let survivors: Vec<&String> = same_phone
        .iter()
        .filter(|id| server[*id].merged_into.is_none())
        .collect();
    assert_eq!(survivors.len(), 1, "one survivor of the duplicate phone");
    assert!(server[survivors[0]].active);
    for id in &same_phone {
        if id != survivors[0] {
            assert_eq!(server[id].merged_into.as_ref(), Some(survivors[0]));
            assert!(!server[id].active);
        }
    }

    // Then everyone works at once while the network misbehaves.
    let mut workers = Vec::new();
    for (i, (t, mut phones)) in devices.iter().zip(phones).enumerate() {
        let device = t.device.clone();
        let mut rng = SplitMix64::new(seed() ^ ((i as u64 + 1) * 0x9E37));
        workers.push(tokio::spawn(async move {
            for _ in 0..40 {
                perform(&device, &mut phones, &random_action(&mut rng));
                tokio::time::sleep(Duration::from_millis(rng.below(60))).await;
            }
            // Some creates of shared phones while online too: merges then race live pushes.
            perform(
                &device,
                &mut phones,
                &Action::CreateStub {
                    shared: Some(0),
                    name: 1,
                },
            );
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    // Keep the faults on until every kind has been hit at least a few times.
    let started = Instant::now();
    let g = FaultStats::get;
    loop {
        let s = proxy.stats();
        let least = [
            g(&s.dropped_requests),
            g(&s.dropped_responses),
            g(&s.delayed),
            g(&s.duplicated),
            g(&s.errors_500),
            g(&s.too_many),
        ]
        .into_iter()
        .min()
        .unwrap();
        if least >= 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not every fault was injected: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stats_at_heal = proxy.stats().to_string();
    proxy.heal();

    let refs: Vec<&Device> = devices.iter().map(|t| &*t.device).collect();
    wait_until_converged(&app, tenant, &refs, Duration::from_secs(90)).await;
    for e in engines {
        e.stop().await;
    }
    eprintln!("faults injected: {stats_at_heal}");

    assert_every_op_applied_exactly_once(&app, tenant, &refs).await;
    assert!(
        app.count("SELECT count(*) FROM customer_merges WHERE reason = 'duplicate-phone'")
            .await
            >= 2
    );
    // The server never holds two active customers with one phone.
    assert_eq!(
        app.count(
            "SELECT count(*) FROM (SELECT phone FROM customers WHERE active AND phone IS NOT NULL
             GROUP BY tenant_id, phone HAVING count(*) > 1) d"
        )
        .await,
        0
    );
}

/// Starts an engine for the device file at `path` on its own runtime, so the test can kill it
/// the way a crash would: every task stops at whatever await it was in.
fn engine_on_own_runtime(
    path: &std::path::Path,
    url: &str,
) -> (tokio::runtime::Runtime, Arc<Device>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let device = Arc::new(Device::open(path).unwrap());
    let (_, token) = device.enrollment().unwrap().unwrap();
    let _guard = rt.enter();
    let handle = engine::spawn(device.clone(), test_engine_config(url, &token)).unwrap();
    // The handle is not stopped: the runtime's shutdown kills the task instead.
    std::mem::forget(handle);
    (rt, device)
}

/// Some offline work: 5 stubs and an edit of the first. Returns the ids.
fn offline_work(d: &Device, from: u32) -> Vec<dukkan_core::CustomerId> {
    let ids: Vec<_> = (from..from + 5)
        .map(|i| stub(d, &format!("C{i}"), &format!("930{i:05}")).id)
        .collect();
    d.update_customer(
        ids[0],
        &CustomerChanges {
            last_name: Some("Edited".into()),
            ..Default::default()
        },
    )
    .unwrap();
    ids
}

/// Restarts the device (reopens its file), does more work, runs a normal engine until
/// everything is synced, and checks the server applied every op exactly once.
async fn restart_and_check(app: &TestApp, tenant: uuid::Uuid, t: &TestDevice, url: &str) {
    let device = Arc::new(Device::open(t.path()).unwrap());
    let more = offline_work(&device, 100);
    let (_, token) = device.enrollment().unwrap().unwrap();
    let handle = engine::spawn(device.clone(), test_engine_config(url, &token)).unwrap();
    wait_until_converged(app, tenant, &[&device], Duration::from_secs(30)).await;
    handle.stop().await;
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 10);
    assert_eq!(app.count("SELECT count(*) FROM sync_ops").await, 12);
    assert!(device
        .customer(more[4])
        .unwrap()
        .customer
        .customer_number
        .is_some());
    assert_every_op_applied_exactly_once(app, tenant, &[&device]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_killed_while_the_server_answer_is_in_flight_loses_and_duplicates_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("muscat").await.0;
    let proxy = FaultProxy::start(&app.base, seed()).await;
    let t = enrolled_device(&app, "muscat").await;
    offline_work(&t.device, 0);
    let path = t.path();

    // The push reaches the server, which commits; its answer is held in the proxy...
    proxy.hold_push_answers();
    let (rt, device) = engine_on_own_runtime(&path, &proxy.url);
    proxy.wait_held(1, Duration::from_secs(20)).await;
    assert_eq!(app.count("SELECT count(*) FROM sync_ops").await, 6);
    assert_eq!(device.pending_ops().unwrap(), 6, "the device never heard");
    // ...and the till dies.
    rt.shutdown_background();
    drop(device);
    proxy.release();

    restart_and_check(&app, tenant, &t, &proxy.url).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_killed_before_its_push_arrives_resends_it_and_the_late_copy_changes_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("muscat").await.0;
    let proxy = FaultProxy::start(&app.base, seed()).await;
    let t = enrolled_device(&app, "muscat").await;
    offline_work(&t.device, 0);
    let path = t.path();

    // The push is stuck in the network when the till dies: the server has not seen it.
    proxy.hold_push_requests();
    let (rt, device) = engine_on_own_runtime(&path, &proxy.url);
    proxy.wait_held(1, Duration::from_secs(20)).await;
    assert_eq!(app.count("SELECT count(*) FROM sync_ops").await, 0);
    rt.shutdown_background();
    drop(device);

    // After the restart everything goes through a healthy network...
    let held = proxy.stats().forwarded_done();
    proxy.stop_holding();
    restart_and_check(&app, tenant, &t, &proxy.url).await;
    // ...and then the stale copy of the first push finally reaches the server.
    let answered = proxy.stats().forwarded_done();
    proxy.release();
    let started = Instant::now();
    while proxy.stats().forwarded_done() < answered + 1 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the stale push never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(held <= answered);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 10);
    assert_eq!(app.count("SELECT count(*) FROM sync_ops").await, 12);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'update'")
            .await,
        2,
        "the late copy's edit did not apply again"
    );
}
