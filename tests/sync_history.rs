//! The Activity tab's "On the server" section end to end: what till A's manager did reaches the
//! server by sync, and a manager at till B reads it back — who (by name) and from which till —
//! through the entry point the till's `server_history` command calls. A cashier may not; with
//! the server out of reach the till says so with its offline code.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "common/mod.rs"]
mod common;

use common::{bring_roster, sign_in_manager, stub, sync};
use dukkan_device::engine;
use dukkan_device::{CustomerChanges, Device, OrderInput};
use std::sync::Arc;
use support::TestApp;

/// A till of shop `slug` enrolled as `name` at `url` (the server, or a gate in front of it).
async fn till(
    app: &TestApp,
    slug: &str,
    url: &str,
    name: &str,
) -> (tempfile::TempDir, Arc<Device>) {
    let dir = tempfile::tempdir().unwrap();
    let device = Arc::new(Device::open(dir.path().join("d.sqlite3")).unwrap());
    let code = dukkan_server::devices::create_code(&app.owner, slug, None)
        .await
        .unwrap();
    engine::enroll(&device, url, slug, &code.code, Some(name))
        .await
        .unwrap();
    (dir, device)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manager_at_one_till_reads_who_changed_a_customer_at_another() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let upstream = app.base.trim_start_matches("http://").parse().unwrap();
    let mut gate = common::gate::Gate::new(upstream);
    gate.open().await;
    let (_a_dir, a) = till(&app, "muscat", &app.base, "Front counter").await;
    let (_b_dir, b) = till(&app, "muscat", &gate.url(), "Back office").await;

    // Till A: the manager registers a customer, edits them and takes an order; then syncs.
    let manager = sign_in_manager(&app, "muscat", &a).await;
    let ahmed = stub(&a, "Ahmed", "92123456");
    a.update_customer(
        ahmed.id,
        &CustomerChanges {
            last_name: Some("Al Said".into()),
            ..Default::default()
        },
    )
    .unwrap();
    a.record_order(
        ahmed.id,
        &OrderInput {
            ticket: None,
            amount: "4.5".into(),
            pieces: "3".into(),
            note: None,
        },
    )
    .unwrap();
    sync(&app, &a).await;
    assert_eq!(a.pending_ops().unwrap(), 0);

    // Till B: the same manager signs in there and reads the server's history.
    sync(&app, &b).await;
    bring_roster(&app, &b).await;
    b.sign_in(&manager, support::PIN).unwrap();
    let history = engine::server_history(&b, ahmed.id)
        .await
        .unwrap()
        .expect("the server knows the customer");
    let actions: Vec<&str> = history.audit.iter().map(|e| e.action.as_str()).collect();
    for action in ["create", "update", "order"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    for entry in &history.audit {
        assert_eq!(entry.staff_name.as_deref(), Some("Maryam"), "{entry:?}");
        assert_eq!(
            entry.device_name.as_deref(),
            Some("Front counter"),
            "{entry:?}"
        );
    }
    let update = history.audit.iter().find(|e| e.action == "update").unwrap();
    assert!(update.fields.iter().any(|f| f == "lastName"), "{update:?}");
    // Names of fields, never their values.
    let text = serde_json::to_string(&history).unwrap();
    assert!(
        !text.contains("Al Said") && !text.contains("92123456"),
        "{text}"
    );
    assert!(history.merges.is_empty());
    // A customer the server does not know yet (only on this till).
    let local = stub(&b, "Salim", "92000001");
    assert_eq!(engine::server_history(&b, local.id).await.unwrap(), None);

    // A cashier at till B may not read who did what at the shop.
    let cashier = dukkan_server::staff::add(
        &app.owner,
        "muscat",
        "Khalid",
        dukkan_server::staff::Role::Cashier,
        support::PIN,
    )
    .await
    .unwrap();
    bring_roster(&app, &b).await;
    b.sign_out();
    b.sign_in(&cashier.id.0.to_string(), support::PIN).unwrap();
    let refused = engine::server_history(&b, ahmed.id).await.unwrap_err();
    assert_eq!(refused.code(), "auth.forbidden");

    // The server out of reach: the clear offline code, as for the upgrade code calls.
    b.sign_out();
    b.sign_in(&manager, support::PIN).unwrap();
    gate.close().await;
    let offline = engine::server_history(&b, ahmed.id).await.unwrap_err();
    assert_eq!(offline.code(), "sync.server-unreachable");
}
