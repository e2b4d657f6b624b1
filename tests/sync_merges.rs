//! Merging duplicates at a till, and undoing it, end to end: real tills (their own SQLite
//! files) against the real tenant server on 127.0.0.1:0 and a fresh Postgres database per test.
//! A merge made offline reaches the server once, every till of the shop then shows it, an undo
//! brings the duplicate back everywhere, and an undo the server finds unsafe (another till spent
//! the points meanwhile) is refused there, parked at the till, and the till shows the truth.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "common/mod.rs"]
mod common;

use common::{
    assert_every_op_applied_exactly_once, bring_roster, enrolled_device, stub, sync, TestDevice,
};
use dukkan_core::staff::Role;
use dukkan_core::CustomerId;
use dukkan_device::{Device, OrderInput};
use support::{TestApp, PIN};

const SHOP: &str = "shop";

async fn member(app: &TestApp, name: &str, role: Role) -> String {
    dukkan_server::staff::add(&app.owner, SHOP, name, role, PIN)
        .await
        .unwrap()
        .id
        .0
        .to_string()
}

async fn till(app: &TestApp, who: &str) -> TestDevice {
    let t = enrolled_device(app, SHOP).await;
    bring_roster(app, &t.device).await;
    t.device.sign_in(who, PIN).unwrap();
    t
}

fn order(d: &Device, id: CustomerId, amount: &str) {
    d.record_order(
        id,
        &OrderInput {
            ticket: None,
            amount: amount.into(),
            pieces: "1".into(),
            note: None,
        },
    )
    .unwrap();
}

/// (active, merged into, orders, points) of a customer on a till.
fn on_till(d: &Device, id: CustomerId) -> (bool, Option<CustomerId>, i64, i64) {
    let c = d.customer(id).unwrap().customer;
    (c.active, c.merged_into, c.order_count, c.loyalty_points)
}

/// The same, as the server holds it (over REST, as a manager).
async fn on_server(
    app: &TestApp,
    token: &str,
    id: CustomerId,
) -> (bool, Option<CustomerId>, i64, i64) {
    let a = app.get(&format!("/api/v1/customers/{id}"), token).await;
    assert!(a.status.is_success(), "{a:?}");
    (
        a.body["isActive"].as_bool().unwrap(),
        a.body["mergedInto"].as_str().map(|s| s.parse().unwrap()),
        a.body["totalOrders"].as_i64().unwrap(),
        a.body["loyaltyPoints"].as_i64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_made_offline_reaches_the_server_once_and_every_till_shows_it_and_its_undo() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant(SHOP).await.0;
    let manager = member(&app, "Maryam", Role::Manager).await;
    let cashier = member(&app, "Aisha", Role::Cashier).await;
    let rest = app.sign_in(SHOP, Role::Manager).await;
    let a = till(&app, &manager).await;
    let b = till(&app, &cashier).await;
    let dup = stub(&a.device, "Salim", "92000001");
    let keep = stub(&a.device, "Salim", "92000010");
    order(&a.device, dup.id, "5");
    order(&a.device, keep.id, "2");
    sync(&app, &a.device).await;
    sync(&app, &b.device).await;

    // Offline at till A: found, merged, shown at once.
    let pairs = a.device.likely_duplicates().unwrap();
    assert_eq!(pairs.len(), 1);
    let entry = a
        .device
        .merge_customers(dup.id, keep.id, "Phone typo")
        .unwrap();
    assert_eq!(on_till(&a.device, keep.id), (true, None, 2, 7));
    assert_eq!(on_server(&app, &rest, dup.id).await, (true, None, 1, 5));

    // Connected: once on the server, and till B shows the server's truth.
    sync(&app, &a.device).await;
    sync(&app, &a.device).await;
    assert_eq!(
        app.count("SELECT count(*) FROM customer_merges").await,
        1,
        "one merge however often the till syncs"
    );
    assert_eq!(
        on_server(&app, &rest, dup.id).await,
        (false, Some(keep.id), 0, 0)
    );
    assert_eq!(on_server(&app, &rest, keep.id).await, (true, None, 2, 7));
    sync(&app, &b.device).await;
    assert_eq!(on_till(&b.device, dup.id), (false, Some(keep.id), 0, 0));
    assert_eq!(on_till(&b.device, keep.id), (true, None, 2, 7));
    assert_eq!(b.device.orders(keep.id).unwrap().len(), 2);
    assert_eq!(on_till(&a.device, keep.id), (true, None, 2, 7));

    // Undone at till A: back on the server and on till B.
    a.device.undo_merge(entry.id).unwrap();
    assert_eq!(on_till(&a.device, dup.id), (true, None, 1, 5));
    sync(&app, &a.device).await;
    assert_eq!(on_server(&app, &rest, dup.id).await, (true, None, 1, 5));
    assert_eq!(on_server(&app, &rest, keep.id).await, (true, None, 1, 2));
    sync(&app, &b.device).await;
    assert_eq!(on_till(&b.device, dup.id), (true, None, 1, 5));
    assert_eq!(on_till(&b.device, keep.id), (true, None, 1, 2));
    assert_eq!(on_till(&a.device, dup.id), (true, None, 1, 5));
    assert_eq!(b.device.orders(dup.id).unwrap().len(), 1);
    assert_eq!(
        app.count("SELECT count(*) FROM customer_merges WHERE undone_at IS NOT NULL")
            .await,
        1
    );
    assert_every_op_applied_exactly_once(&app, tenant, &[&a.device, &b.device]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undo_the_server_finds_unsafe_is_parked_and_the_till_shows_the_servers_truth() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant(SHOP).await.0;
    let manager = member(&app, "Maryam", Role::Manager).await;
    let a = till(&app, &manager).await;
    let b = till(&app, &manager).await;
    let dup = stub(&a.device, "Salim", "92000001");
    let keep = stub(&a.device, "Salim", "92000010");
    order(&a.device, dup.id, "5");
    let entry = a
        .device
        .merge_customers(dup.id, keep.id, "Phone typo")
        .unwrap();
    sync(&app, &a.device).await;
    sync(&app, &b.device).await;

    // Till B redeems the points the merge brought; till A has not heard of it and undoes.
    b.device
        .adjust_points(keep.id, "-3", "Redeemed at the counter")
        .unwrap();
    sync(&app, &b.device).await;
    a.device.undo_merge(entry.id).unwrap();
    sync(&app, &a.device).await;

    let parked = a.device.parked_ops().unwrap();
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(
        (parked[0].kind.as_str(), parked[0].error_code.as_str()),
        ("merge_undone", "merge.undo-unsafe")
    );
    let rest = app.sign_in(SHOP, Role::Manager).await;
    assert_eq!(
        on_server(&app, &rest, dup.id).await,
        (false, Some(keep.id), 0, 0)
    );
    assert_eq!(
        on_till(&a.device, dup.id),
        (false, Some(keep.id), 0, 0),
        "the till shows what the server holds"
    );
    assert_eq!(on_till(&a.device, keep.id), (true, None, 1, 2));
    let log = a.device.merges_of(keep.id).unwrap();
    assert_eq!(log[0].undone_at, None, "the refused undo did not happen");
    assert_every_op_applied_exactly_once(&app, tenant, &[&a.device, &b.device]).await;
    // The manager lets it go: still merged, and the merge can be undone no more here either
    // (the points are spent).
    a.device.discard_parked(parked[0].device_seq).unwrap();
    sync(&app, &a.device).await;
    assert_eq!(on_till(&a.device, keep.id), (true, None, 1, 2));
    assert_eq!(
        a.device.undo_merge(entry.id).unwrap_err().code(),
        "merge.undo-unsafe"
    );
}
