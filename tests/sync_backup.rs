//! A till backed up by its manager (`Device::backup_to`, a passphrase-sealed file) and restored
//! onto a new PC (`Device::restore_from` and the swap at the next start) is the same till again:
//! its unsent ops from the backup that the server already has are answered duplicate, the new
//! ones whose numbers the till used after the backup are renumbered after a sequence conflict,
//! it pulls what happened since, and the server ends with every customer and order once. Real
//! SQLite files, the real tenant server on 127.0.0.1:0, a fresh Postgres database per test.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "common/mod.rs"]
mod common;

use common::{device_view, difference, enrolled_device, server_view, sign_in_manager, stub, sync};
use dukkan_device::engine;
use dukkan_device::store_key::KeyStorage;
use dukkan_device::{CustomerChanges, Device, OrderInput};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::{TestApp, PIN};

const SHOP: &str = "shop";
const PASSPHRASE: &str = "frankincense and myrrh";

fn order(amount: &str) -> OrderInput {
    OrderInput {
        ticket: None,
        amount: amount.into(),
        pieces: "2".into(),
        note: None,
    }
}

/// How many customers the shop has per phone on the server.
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

/// The order ids of the shop on the server.
async fn server_order_ids(app: &TestApp, tenant: uuid::Uuid) -> Vec<String> {
    let client = app.owner.get().await.unwrap();
    client
        .query(
            "SELECT id::text FROM orders WHERE tenant_id = $1 ORDER BY id",
            &[&tenant],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The numbers the server applied ops of the shop's tills under, with each op's id.
async fn applied_ops(app: &TestApp, tenant: uuid::Uuid) -> Vec<(i64, String)> {
    let client = app.owner.get().await.unwrap();
    client
        .query(
            "SELECT device_seq, op_id::text FROM sync_ops WHERE tenant_id = $1 ORDER BY device_seq",
            &[&tenant],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// A new PC: a fresh till in its own data folder, its store's key in a file there (not the
/// credential store the first PC kept its key in), its owner signed in; the manager restores
/// `backup` onto it and the app restarts. Returns the restored till.
fn restore_on_a_new_pc(data: &Path, backup: &Path) -> Device {
    let store = data.join("dukkan.sqlite3");
    let fresh = Device::open_with(&store, KeyStorage::File).unwrap();
    fresh.set_owner_pin_cheaply("Owner", "135790").unwrap();
    fresh.restore_from(backup, PASSPHRASE).unwrap();
    drop(fresh);
    Device::open_with(&store, KeyStorage::File).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_restored_on_a_new_pc_duplicates_nothing_loses_nothing_and_pulls_what_came_after()
{
    let app = TestApp::spawn().await;
    let tenant = app.tenant(SHOP).await;
    let a = enrolled_device(&app, SHOP).await;
    let manager = sign_in_manager(&app, SHOP, &a.device).await;
    let salim = stub(&a.device, "Salim", "92000021");
    sync(&app, &a.device).await;

    // Offline: a customer, an order and an edit wait in the outbox when the backup is taken.
    let badr = stub(&a.device, "Badr", "92000022");
    let first_order = a.device.record_order(badr.id, &order("4.500")).unwrap();
    a.device
        .update_customer(
            salim.id,
            &CustomerChanges {
                last_name: Some("Al-Busaidi".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("till.dukkan-backup");
    let info = a.device.backup_to(&backup, PASSPHRASE).unwrap();
    assert_eq!((info.customers, info.pending_ops), (2, 3));

    // Back online, everything reaches the server; then more work, synced as well.
    sync(&app, &a.device).await;
    let chadi = stub(&a.device, "Chadi", "92000023");
    let later_order = a.device.record_order(salim.id, &order("1.000")).unwrap();
    sync(&app, &a.device).await;
    assert_eq!(a.device.pending_ops().unwrap(), 0);
    let device_id = a.device.device_id();
    assert_eq!(customers_per_phone(&app, tenant.0).await.len(), 3);
    assert_eq!(server_order_ids(&app, tenant.0).await.len(), 2);

    // The PC dies. The backup is restored on a new one: the same till, enrolled as before.
    drop(a);
    let new_pc = tempfile::tempdir().unwrap();
    let restored = Arc::new(restore_on_a_new_pc(new_pc.path(), &backup));
    assert_eq!(restored.device_id(), device_id, "the same till");
    restored.sign_in(&manager, PIN).unwrap();
    assert_eq!(
        restored.pending_ops().unwrap(),
        3,
        "the backup's unsent ops, which the server already has"
    );
    // Work done on the restored till before it syncs takes numbers the server already holds
    // from the work done after the backup.
    let dalal = stub(&restored, "Dalal", "92000024");
    let new_order = restored.record_order(dalal.id, &order("2.250")).unwrap();
    let applied_before = applied_ops(&app, tenant.0).await;
    assert_eq!(applied_before.len(), 6);
    let numbers: Vec<i64> = restored.outbox().unwrap().iter().map(|op| op.0).collect();
    assert_eq!(
        numbers,
        [2, 3, 4, 5, 6],
        "the backup's ops, then two under numbers the server already holds"
    );

    // The app's engine syncs it.
    let (url, token) = restored.enrollment().unwrap().expect("enrolled");
    let handle = engine::spawn(restored.clone(), common::test_engine_config(&url, &token)).unwrap();
    common::poll_until(
        "the restored till's ops are answered and what came after is pulled",
        Duration::from_secs(30),
        || restored.pending_ops().unwrap() == 0 && !restored.search("Chadi", 5).unwrap().is_empty(),
    )
    .await;
    handle.stop().await;
    assert!(restored.parked_ops().unwrap().is_empty(), "nothing refused");
    // One more round so the pull after the last push is in.
    sync(&app, &restored).await;

    // The backup's ops were answered as duplicates (stored once, under their numbers); the new
    // ones were renumbered after the server's last and applied as 7 and 8.
    let applied = applied_ops(&app, tenant.0).await;
    assert_eq!(applied[..6], applied_before[..]);
    assert_eq!(
        applied.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
    // Nothing duplicated, nothing lost.
    let per_phone = customers_per_phone(&app, tenant.0).await;
    assert_eq!(per_phone.len(), 4, "{per_phone:?}");
    assert!(per_phone.iter().all(|(_, n)| *n == 1), "{per_phone:?}");
    let mut expected_orders: Vec<String> = [&first_order, &later_order, &new_order]
        .iter()
        .map(|o| o.id.to_string())
        .collect();
    expected_orders.sort();
    assert_eq!(server_order_ids(&app, tenant.0).await, expected_orders);
    let server = server_view(&app, tenant.0).await;
    assert_eq!(
        server[&salim.id.to_string()].last_name.as_deref(),
        Some("Al-Busaidi")
    );
    // The restored till holds the server's customers, the later ones included.
    assert_eq!(difference(&server, &device_view(&restored)), None);
    assert_eq!(
        restored.search("Chadi", 5).unwrap()[0].customer.id,
        chadi.id
    );
    let salims_orders = restored.orders(salim.id).unwrap();
    assert!(
        salims_orders.iter().any(|o| o.id == later_order.id),
        "the order taken after the backup was pulled: {salims_orders:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_till_whose_pc_died_offline_gets_the_unsent_work_of_its_backup_to_the_server_once() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant(SHOP).await;
    let a = enrolled_device(&app, SHOP).await;
    let manager = sign_in_manager(&app, SHOP, &a.device).await;
    stub(&a.device, "Salim", "92000031");
    sync(&app, &a.device).await;
    // Offline from here on: what the backup holds never reached the server from this PC.
    let badr = stub(&a.device, "Badr", "92000032");
    let taken = a.device.record_order(badr.id, &order("3.000")).unwrap();
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("till.dukkan-backup");
    a.device.backup_to(&backup, PASSPHRASE).unwrap();
    drop(a);

    let new_pc = tempfile::tempdir().unwrap();
    let restored = restore_on_a_new_pc(new_pc.path(), &backup);
    restored.sign_in(&manager, PIN).unwrap();
    assert_eq!(restored.pending_ops().unwrap(), 2);
    sync(&app, &restored).await;
    sync(&app, &restored).await;
    assert_eq!(restored.pending_ops().unwrap(), 0);
    assert!(restored.parked_ops().unwrap().is_empty());
    let per_phone = customers_per_phone(&app, tenant.0).await;
    assert_eq!(per_phone.len(), 2, "{per_phone:?}");
    assert!(per_phone.iter().all(|(_, n)| *n == 1), "{per_phone:?}");
    assert_eq!(
        server_order_ids(&app, tenant.0).await,
        vec![taken.id.to_string()]
    );
    let server = server_view(&app, tenant.0).await;
    assert_eq!(difference(&server, &device_view(&restored)), None);
}
