//! "Exactly once" survives a till restored from a backup or copied to a new PC: both copies
//! number their next ops from where the copy stood, the server answers the clash with
//! `sequenceConflict`, and the tills renumber and push again. Real SQLite files, the real
//! tenant server on 127.0.0.1:0, a fresh Postgres database per test.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "common/mod.rs"]
mod common;

use common::{copy_store, device_view, difference, enrolled_device, server_view, stub, sync};
use dukkan_core::AddressInput;
use dukkan_device::engine;
use dukkan_device::{CustomerChanges, Device};
use std::sync::Arc;
use std::time::Duration;
use support::TestApp;

async fn customers_per_phone(app: &TestApp, tenant: uuid::Uuid) -> Vec<(String, i64)> {
    let client = app.owner.get().await.unwrap();
    client
        .query(
            "SELECT phone, count(*) FROM customers WHERE tenant_id = $1 GROUP BY phone ORDER BY phone",
            &[&tenant],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_till_copied_mid_life_and_used_on_two_pcs_gets_every_customer_to_the_server_once() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("shop").await;
    let a = enrolled_device(&app, "shop").await;
    let salim = stub(&a.device, "Salim", "92000001");
    sync(&app, &a.device).await;
    // Still pending when the copy is taken: both copies hold this op.
    stub(&a.device, "Badr", "92000002");
    a.device.checkpoint().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let b = Device::open(copy_store(&a.path(), b_dir.path())).unwrap();
    assert_eq!(
        b.device_id(),
        a.device.device_id(),
        "the copy is the same till"
    );

    // Both copies keep working, offline, each on its own.
    stub(&a.device, "Chadi", "92000003");
    a.device
        .update_customer(
            salim.id,
            &CustomerChanges {
                last_name: Some("Al-Busaidi".into()),
                ..Default::default()
            },
        )
        .unwrap();
    stub(&b, "Dalal", "92000004");
    stub(&b, "Ebtisam", "92000005");
    b.add_address(
        salim.id,
        &AddressInput {
            city: Some("Sohar".into()),
            ..Default::default()
        },
    )
    .unwrap();

    // A pushes first; B's numbers now clash with A's, so B renumbers and pushes again.
    sync(&app, &a.device).await;
    sync(&app, &b).await;
    assert_eq!(
        b.pending_ops().unwrap(),
        0,
        "B's ops all reached the server"
    );
    // More work on both, synced in the other order.
    stub(&b, "Fatma", "92000006");
    stub(&a.device, "Ghalib", "92000007");
    sync(&app, &b).await;
    sync(&app, &a.device).await;
    sync(&app, &b).await;

    for d in [&*a.device, &b] {
        assert_eq!(d.pending_ops().unwrap(), 0);
        assert!(d.parked_ops().unwrap().is_empty(), "nothing was refused");
    }
    let per_phone = customers_per_phone(&app, tenant.0).await;
    assert_eq!(
        per_phone.len(),
        7,
        "every customer of either copy: {per_phone:?}"
    );
    assert!(
        per_phone.iter().all(|(_, n)| *n == 1),
        "none twice: {per_phone:?}"
    );
    let client = app.owner.get().await.unwrap();
    let numbers: Vec<i32> = client
        .query(
            "SELECT customer_number FROM customers WHERE tenant_id = $1 ORDER BY customer_number",
            &[&tenant.0],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(numbers, (1..=7).collect::<Vec<_>>(), "numbers without gaps");
    let server = server_view(&app, tenant.0).await;
    let salim_on_server = &server[&salim.id.to_string()];
    assert_eq!(salim_on_server.last_name.as_deref(), Some("Al-Busaidi"));
    assert_eq!(salim_on_server.addresses.len(), 1, "B's address arrived");
    for d in [&*a.device, &b] {
        assert_eq!(
            difference(&server, &device_view(d)),
            None,
            "the copies converge"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_till_restored_from_an_old_backup_pushes_its_new_work_through_the_running_engine() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("shop").await;
    let a = enrolled_device(&app, "shop").await;
    stub(&a.device, "Salim", "92000011");
    a.device.checkpoint().unwrap();
    let backup = tempfile::tempdir().unwrap();
    copy_store(&a.path(), backup.path());
    // After the backup the till works on, and everything reaches the server...
    stub(&a.device, "Badr", "92000012");
    stub(&a.device, "Chadi", "92000013");
    sync(&app, &a.device).await;
    // ...then the PC dies; the backup is restored on a new one and used at once.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = Arc::new(
        Device::open(copy_store(
            &backup.path().join("d.sqlite3"),
            restored_dir.path(),
        ))
        .unwrap(),
    );
    stub(&restored, "Dalal", "92000014");
    stub(&restored, "Ebtisam", "92000015");
    let (url, token) = restored.enrollment().unwrap().unwrap();
    let handle = engine::spawn(restored.clone(), common::test_engine_config(&url, &token)).unwrap();
    common::poll_until(
        "the restored till's ops are answered",
        Duration::from_secs(20),
        || restored.pending_ops().unwrap() == 0,
    )
    .await;
    handle.stop().await;
    assert!(restored.parked_ops().unwrap().is_empty());
    let per_phone = customers_per_phone(&app, tenant.0).await;
    assert_eq!(per_phone.len(), 5, "{per_phone:?}");
    assert!(per_phone.iter().all(|(_, n)| *n == 1), "{per_phone:?}");
    sync(&app, &restored).await;
    let server = server_view(&app, tenant.0).await;
    assert_eq!(difference(&server, &device_view(&restored)), None);
}
