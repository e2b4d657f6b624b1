//! Orders and loyalty points end to end: real tills (their own SQLite files, the real sync
//! engine or push/pull rounds driven by hand) against the real tenant server on 127.0.0.1:0
//! and a fresh Postgres database per test. An order taken offline reaches the server exactly
//! once — through a network that comes back, a lost answer, a till restored from a backup or
//! copied to a second PC — keeps the time the till took it, earns the shop's points, and every
//! till of the shop ends with the server's figures.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "common/mod.rs"]
mod common;

use chrono::{DateTime, Utc};
use common::{
    assert_every_op_applied_exactly_once, bring_roster, copy_store, enrolled_device, pull_all,
    push_unanswered, stub, sync, test_engine_config, TestDevice,
};
use dukkan_core::ops::Op;
use dukkan_core::staff::Role;
use dukkan_core::sync::OpOutcome;
use dukkan_core::CustomerId;
use dukkan_device::engine;
use dukkan_device::{Device, OrderInput};
use std::sync::Arc;
use std::time::Duration;
use support::{TestApp, PIN};

const SHOP: &str = "shop";

/// The shop's staff on the server (PIN [`PIN`]): a cashier and a manager, by id.
struct Staff {
    cashier: String,
    manager: String,
}

async fn staff(app: &TestApp) -> Staff {
    let add = |name: &'static str, role| async move {
        dukkan_server::staff::add(&app.owner, SHOP, name, role, PIN)
            .await
            .unwrap()
            .id
            .0
            .to_string()
    };
    Staff {
        cashier: add("Aisha", Role::Cashier).await,
        manager: add("Maryam", Role::Manager).await,
    }
}

/// A new till of the shop with the shop's roster, `who` signed in.
async fn till(app: &TestApp, who: &str) -> TestDevice {
    let t = enrolled_device(app, SHOP).await;
    bring_roster(app, &t.device).await;
    t.device.sign_in(who, PIN).unwrap();
    t
}

fn order(amount: &str, pieces: &str) -> OrderInput {
    OrderInput {
        ticket: None,
        amount: amount.into(),
        pieces: pieces.into(),
        note: None,
    }
}

fn time(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
        .to_utc()
}

/// A time to the millisecond, as tills and pulls carry it (REST shows Postgres' microseconds).
fn to_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
}

/// A customer's order figures, as a till or the REST API shows them.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    orders: i64,
    spent_baisa: i64,
    points: i64,
    last_order_at: Option<DateTime<Utc>>,
}

fn till_figures(d: &Device, id: CustomerId) -> Figures {
    let c = d.customer(id).unwrap().customer;
    Figures {
        orders: c.order_count,
        spent_baisa: c.total_spent_minor,
        points: c.loyalty_points,
        last_order_at: c.last_order_at.as_deref().map(time),
    }
}

/// `GET /api/v1/customers/{id}`, as a manager of the shop signed in over REST.
async fn rest_figures(app: &TestApp, token: &str, id: CustomerId) -> Figures {
    let a = app.get(&format!("/api/v1/customers/{id}"), token).await;
    assert!(a.status.is_success(), "{a:?}");
    Figures {
        orders: a.body["totalOrders"].as_i64().unwrap(),
        spent_baisa: a.body["totalSpentMinor"].as_i64().unwrap(),
        points: a.body["loyaltyPoints"].as_i64().unwrap(),
        last_order_at: a.body["lastOrderAt"].as_str().map(time).map(to_ms),
    }
}

/// Every order of the shop on the server: (id, ticket, amount, points, created_at in ms).
async fn server_orders(app: &TestApp) -> Vec<(String, String, i64, i64, i64)> {
    let client = app.owner.get().await.unwrap();
    client
        .query(
            "SELECT id::text, ticket, total_minor, points,
                    (extract(epoch FROM created_at) * 1000)::bigint
             FROM orders ORDER BY created_at, id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

/// Runs the real engine of `d` until it is online with nothing pending and `done` holds, then
/// stops it.
async fn engine_until(d: &Arc<Device>, what: &str, done: impl Fn(&Device) -> bool) {
    let (url, token) = d.enrollment().unwrap().expect("enrolled");
    let handle = engine::spawn(d.clone(), test_engine_config(&url, &token)).unwrap();
    let mut status = handle.status();
    common::wait_until_synced(&mut status, Duration::from_secs(30)).await;
    common::poll_until(what, Duration::from_secs(20), || done(d)).await;
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_taken_offline_reaches_the_server_once_with_the_time_the_till_took_it_and_another_till_shows_the_servers_figures(
) {
    let app = TestApp::spawn().await;
    let tenant = app.tenant(SHOP).await.0;
    let staff = staff(&app).await;
    let a = till(&app, &staff.cashier).await;
    let b = till(&app, &staff.cashier).await;
    let manager = app.sign_in(SHOP, Role::Manager).await;
    let salim = stub(&a.device, "Salim", "92000001");
    sync(&app, &a.device).await;
    sync(&app, &b.device).await;

    // Till A's engine runs, but the network is down.
    let upstream = app.base.trim_start_matches("http://").parse().unwrap();
    let mut gate = common::gate::Gate::new(upstream);
    let (_, token) = a.enrollment();
    let mut config = test_engine_config(&gate.url(), &token);
    config.retry_max = Duration::from_secs(1);
    let engine = engine::spawn(a.device.clone(), config).unwrap();
    let mut status = engine.status();
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.last_error.as_deref() == Some("network")),
    )
    .await
    .unwrap()
    .unwrap();

    let taken = a
        .device
        .record_order(
            salim.id,
            &OrderInput {
                note: Some("No starch".into()),
                ..order("4.5", "3")
            },
        )
        .unwrap();
    assert_eq!(
        (taken.amount_baisa, taken.pieces, taken.points),
        (4_500, 3, 4)
    );
    let pushed = a.device.next_push_batch(10).unwrap();
    assert_eq!(pushed.len(), 1);
    let at = time(&pushed[0].at);
    assert_eq!(
        time(&taken.created_at),
        at,
        "the op carries the till's time"
    );
    // Offline for a while: the till keeps trying, the server hears nothing.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(server_orders(&app).await.is_empty());
    assert_eq!(a.device.pending_ops().unwrap(), 1);
    assert_eq!(
        till_figures(&a.device, salim.id).orders,
        1,
        "counted at once"
    );

    // The network returns.
    let back = Utc::now();
    gate.open().await;
    common::wait_until_synced(&mut status, Duration::from_secs(20)).await;
    engine.stop().await;
    gate.close().await;

    let on_server = server_orders(&app).await;
    assert_eq!(on_server.len(), 1, "once: {on_server:?}");
    let (id, ticket, amount, points, created_ms) = &on_server[0];
    assert_eq!(
        (id, ticket, *amount, *points),
        (&taken.id.to_string(), &taken.ticket, 4_500, 4)
    );
    assert_eq!(
        *created_ms,
        at.timestamp_millis(),
        "the time the till took it, not the time it reached the server"
    );
    assert!(*created_ms < back.timestamp_millis());
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM orders WHERE created_by = '{}' AND device_id IS NOT NULL",
            staff.cashier
        ))
        .await,
        1,
        "taken by the cashier signed in at the till"
    );
    let server = rest_figures(&app, &manager, salim.id).await;
    assert_eq!(
        server,
        Figures {
            orders: 1,
            spent_baisa: 4_500,
            points: 4,
            last_order_at: Some(at),
        }
    );

    // Till B hears of it with the next pull; till A ends with the server's figures too.
    pull_all(&app.client, &app.base, &a.device).await;
    sync(&app, &b.device).await;
    let listed = b.device.orders(salim.id).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, taken.id);
    assert_eq!(listed[0].ticket, taken.ticket);
    assert_eq!(listed[0].points, 4, "the server's points");
    assert_eq!(listed[0].note.as_deref(), Some("No starch"));
    assert_eq!(time(&listed[0].created_at), at);
    for (name, d) in [("A", &a.device), ("B", &b.device)] {
        assert_eq!(till_figures(d, salim.id), server, "till {name}");
    }
    assert_eq!(a.device.orders(salim.id).unwrap(), listed);
    assert_every_op_applied_exactly_once(&app, tenant, &[&a.device, &b.device]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_till_whose_push_answer_was_lost_counts_the_order_once_on_the_server_and_after_pulling() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant(SHOP).await.0;
    let staff = staff(&app).await;
    let a = till(&app, &staff.cashier).await;
    let manager = app.sign_in(SHOP, Role::Manager).await;
    let salim = stub(&a.device, "Salim", "92000001");
    sync(&app, &a.device).await;
    let taken = a
        .device
        .record_order(salim.id, &order("6.75", "2"))
        .unwrap();

    // The server commits; the answer never reaches the till.
    let lost = push_unanswered(&app, &a.device).await;
    assert_eq!(lost.results.len(), 1);
    assert_eq!(lost.results[0].outcome, OpOutcome::Applied);
    assert_eq!(a.device.pending_ops().unwrap(), 1, "the till never heard");
    // A pull while the op still waits: the snapshot has counted the order already.
    pull_all(&app.client, &app.base, &a.device).await;
    let server = rest_figures(&app, &manager, salim.id).await;
    assert_eq!(
        (server.orders, server.spent_baisa, server.points),
        (1, 6_750, 6)
    );
    assert_eq!(
        till_figures(&a.device, salim.id),
        server,
        "not counted twice while the op is pending"
    );

    // Pushed again: a duplicate, still one order.
    let again = push_unanswered(&app, &a.device).await;
    assert_eq!(again.results[0].outcome, OpOutcome::Duplicate);
    a.device.apply_push_results(&again.results).unwrap();
    sync(&app, &a.device).await;
    assert_eq!(server_orders(&app).await.len(), 1);
    assert_eq!(rest_figures(&app, &manager, salim.id).await, server);
    assert_eq!(till_figures(&a.device, salim.id), server);
    let listed = a.device.orders(salim.id).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, taken.id);
    assert_every_op_applied_exactly_once(&app, tenant, &[&a.device]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_whose_push_answers_are_dropped_after_the_server_committed_counts_the_order_once()
{
    use common::fault_proxy::{FaultProxy, FaultRates, FaultStats};
    let app = TestApp::spawn().await;
    let tenant = app.tenant(SHOP).await.0;
    let staff = staff(&app).await;
    let a = till(&app, &staff.cashier).await;
    let manager = app.sign_in(SHOP, Role::Manager).await;
    let salim = stub(&a.device, "Salim", "92000001");
    sync(&app, &a.device).await;
    let proxy = FaultProxy::start(&app.base, 7).await;
    a.device.record_order(salim.id, &order("12", "5")).unwrap();

    // Every answer is lost after the server committed, again and again.
    proxy.set_faults(FaultRates {
        drop_response: 1.0,
        ..Default::default()
    });
    let (_, token) = a.enrollment();
    let mut config = test_engine_config(&proxy.url, &token);
    config.retry_max = Duration::from_millis(500);
    let engine = engine::spawn(a.device.clone(), config).unwrap();
    let started = std::time::Instant::now();
    while FaultStats::get(&proxy.stats().dropped_responses) < 3 {
        assert!(started.elapsed() < Duration::from_secs(30), "no retries");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server_orders(&app).await.len(), 1);
    assert_eq!(a.device.pending_ops().unwrap(), 1, "the till never heard");
    proxy.heal();
    let mut status = engine.status();
    common::wait_until_synced(&mut status, Duration::from_secs(30)).await;
    engine.stop().await;
    pull_all(&app.client, &app.base, &a.device).await;

    assert_eq!(server_orders(&app).await.len(), 1);
    let server = rest_figures(&app, &manager, salim.id).await;
    assert_eq!(
        (server.orders, server.spent_baisa, server.points),
        (1, 12_000, 12)
    );
    assert_eq!(till_figures(&a.device, salim.id), server);
    assert_eq!(a.device.orders(salim.id).unwrap().len(), 1);
    assert_every_op_applied_exactly_once(&app, tenant, &[&a.device]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_for_an_order_older_than_the_servers_twenty_newest_is_still_counted_once() {
    let app = TestApp::spawn().await;
    app.tenant(SHOP).await;
    let staff = staff(&app).await;
    let a = till(&app, &staff.cashier).await;
    let manager = app.sign_in(SHOP, Role::Manager).await;
    let salim = stub(&a.device, "Salim", "92000001");
    sync(&app, &a.device).await;
    // Taken offline this morning; the answer to its push is lost.
    a.device.record_order(salim.id, &order("5", "1")).unwrap();
    let lost = push_unanswered(&app, &a.device).await;
    assert_eq!(lost.results[0].outcome, OpOutcome::Applied);
    // Meanwhile the shop's order system posts twenty newer orders for the same customer.
    for n in 0..20 {
        let r = app
            .post(
                &format!("/api/v1/customers/{}/orders", salim.id),
                &manager,
                serde_json::json!({"ticket": format!("WEB-{n}"), "amountBaisa": 1_000, "pieces": 1}),
            )
            .await;
        assert!(r.status.is_success(), "{r:?}");
    }
    let server = rest_figures(&app, &manager, salim.id).await;
    assert_eq!((server.orders, server.spent_baisa), (21, 25_000));
    pull_all(&app.client, &app.base, &a.device).await;
    let while_pending = till_figures(&a.device, salim.id);
    sync(&app, &a.device).await;
    assert_eq!(a.device.pending_ops().unwrap(), 0);
    let once_answered = till_figures(&a.device, salim.id);
    assert_eq!(
        (while_pending, once_answered),
        (server.clone(), server),
        "the till's figures while the op still waits, and once it is answered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_till_copied_with_an_order_pending_and_used_on_two_pcs_records_every_order_once() {
    let app = TestApp::spawn().await;
    app.tenant(SHOP).await;
    let staff = staff(&app).await;
    let a = till(&app, &staff.cashier).await;
    let manager = app.sign_in(SHOP, Role::Manager).await;
    let salim = stub(&a.device, "Salim", "92000001");
    sync(&app, &a.device).await;
    // Pending when the copy is taken: both copies hold this order.
    let both = a.device.record_order(salim.id, &order("2", "1")).unwrap();
    a.device.checkpoint().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let b = Device::open(copy_store(&a.path(), b_dir.path())).unwrap();
    b.sign_in(&staff.cashier, PIN).unwrap();
    // Each copy takes an order of its own, offline, under the same number.
    let only_a = a.device.record_order(salim.id, &order("3", "1")).unwrap();
    let only_b = b.record_order(salim.id, &order("4", "1")).unwrap();

    sync(&app, &a.device).await;
    sync(&app, &b).await;
    sync(&app, &a.device).await;
    for d in [&*a.device, &b] {
        assert_eq!(d.pending_ops().unwrap(), 0);
        assert!(d.parked_ops().unwrap().is_empty(), "nothing was refused");
    }
    let mut ids: Vec<String> = server_orders(&app).await.into_iter().map(|o| o.0).collect();
    ids.sort();
    let mut expected: Vec<String> = [&both, &only_a, &only_b]
        .iter()
        .map(|o| o.id.to_string())
        .collect();
    expected.sort();
    assert_eq!(ids, expected, "each order once");
    let server = rest_figures(&app, &manager, salim.id).await;
    assert_eq!(
        (server.orders, server.spent_baisa, server.points),
        (3, 9_000, 9)
    );
    for d in [&*a.device, &b] {
        assert_eq!(till_figures(d, salim.id), server);
        assert_eq!(d.orders(salim.id).unwrap().len(), 3);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_till_restored_from_a_backup_pushes_again_an_order_the_server_holds_under_another_number_and_it_is_recorded_once(
) {
    let app = TestApp::spawn().await;
    app.tenant(SHOP).await;
    let staff = staff(&app).await;
    let a = till(&app, &staff.cashier).await;
    let manager = app.sign_in(SHOP, Role::Manager).await;
    let salim = stub(&a.device, "Salim", "92000001");
    sync(&app, &a.device).await;
    // An early copy of the till (a second PC), nothing pending.
    a.device.checkpoint().unwrap();
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = Device::open(copy_store(&a.path(), copy_dir.path())).unwrap();
    copy.sign_in(&staff.cashier, PIN).unwrap();
    // The till takes an order; the nightly backup holds it, still pending.
    let first = a.device.record_order(salim.id, &order("5", "2")).unwrap();
    a.device.checkpoint().unwrap();
    let backup = tempfile::tempdir().unwrap();
    copy_store(&a.path(), backup.path());
    // The copy's order takes the number first; the till's is renumbered and lands after it.
    let on_copy = copy.record_order(salim.id, &order("1", "1")).unwrap();
    sync(&app, &copy).await;
    sync(&app, &a.device).await;
    assert_eq!(a.device.pending_ops().unwrap(), 0);
    assert_eq!(server_orders(&app).await.len(), 2);

    // The PC dies; the backup is restored and used at once: it still holds the first order
    // under its old number, which the server gave to the copy's order.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = Arc::new(
        Device::open(copy_store(
            &backup.path().join("d.sqlite3"),
            restored_dir.path(),
        ))
        .unwrap(),
    );
    restored.sign_in(&staff.cashier, PIN).unwrap();
    let after = restored.record_order(salim.id, &order("2.5", "1")).unwrap();
    let stale = restored.next_push_batch(10).unwrap();
    assert_eq!(stale.len(), 2);
    assert!(
        matches!(&stale[0].op, Op::OrderRecorded(o) if o.order_id == first.id),
        "{stale:?}"
    );
    let first_op = stale[0].op_id;
    engine_until(&restored, "every op answered", |d| {
        d.pending_ops().unwrap() == 0
    })
    .await;
    assert!(restored.parked_ops().unwrap().is_empty());
    pull_all(&app.client, &app.base, &restored).await;
    pull_all(&app.client, &app.base, &copy).await;

    let mut ids: Vec<String> = server_orders(&app).await.into_iter().map(|o| o.0).collect();
    ids.sort();
    let mut expected: Vec<String> = [&first, &on_copy, &after]
        .iter()
        .map(|o| o.id.to_string())
        .collect();
    expected.sort();
    assert_eq!(ids, expected, "the first order once, though pushed twice");
    let under: Vec<i64> = app
        .owner
        .get()
        .await
        .unwrap()
        .query(
            "SELECT device_seq FROM sync_ops WHERE op_id = $1 ORDER BY device_seq",
            &[&first_op.as_uuid()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        under.len(),
        2,
        "pushed by the till and again by its restored backup, under two numbers: {under:?}"
    );
    let server = rest_figures(&app, &manager, salim.id).await;
    assert_eq!(
        (server.orders, server.spent_baisa, server.points),
        (3, 8_500, 8)
    );
    for d in [&*restored, &copy] {
        assert_eq!(till_figures(d, salim.id), server);
        assert_eq!(d.orders(salim.id).unwrap().len(), 3);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shops_loyalty_rule_reaches_a_till_in_the_roster_and_an_offline_order_earns_by_it_on_the_till_and_the_server(
) {
    let app = TestApp::spawn().await;
    app.tenant(SHOP).await;
    let staff = staff(&app).await;
    dukkan_server::tenants::set_points_per_rial(&app.owner, SHOP, 5)
        .await
        .unwrap();
    let manager = app.sign_in(SHOP, Role::Manager).await;
    let a = enrolled_device(&app, SHOP).await;
    assert_eq!(a.device.loyalty_rule().unwrap().points_per_rial, 1);
    // The engine brings the roster, and the rule with it.
    engine_until(&a.device, "the shop's rule arrived", |d| {
        d.loyalty_rule().unwrap().points_per_rial == 5
    })
    .await;
    a.device.sign_in(&staff.cashier, PIN).unwrap();

    // Offline: 5 points per whole rial at once, on the till.
    let salim = stub(&a.device, "Salim", "92000001");
    let taken = a.device.record_order(salim.id, &order("2.5", "1")).unwrap();
    assert_eq!(taken.points, 12, "5 per rial, rounded down");
    assert_eq!(till_figures(&a.device, salim.id).points, 12);

    sync(&app, &a.device).await;
    let on_server = server_orders(&app).await;
    assert_eq!(on_server.len(), 1);
    assert_eq!(on_server[0].3, 12, "the same on the server");
    let server = rest_figures(&app, &manager, salim.id).await;
    assert_eq!((server.orders, server.points), (1, 12));
    assert_eq!(till_figures(&a.device, salim.id), server);
    assert_eq!(a.device.orders(salim.id).unwrap()[0].points, 12);

    // The rule changes while the till is offline: the till gives what it last heard, and the
    // server's points (its rule is the truth) replace them when the till syncs.
    dukkan_server::tenants::set_points_per_rial(&app.owner, SHOP, 2)
        .await
        .unwrap();
    let later = a.device.record_order(salim.id, &order("10", "1")).unwrap();
    assert_eq!(later.points, 50);
    assert_eq!(till_figures(&a.device, salim.id).points, 62);
    engine_until(&a.device, "the new rule arrived", |d| {
        d.loyalty_rule().unwrap().points_per_rial == 2
    })
    .await;
    pull_all(&app.client, &app.base, &a.device).await;
    let server = rest_figures(&app, &manager, salim.id).await;
    assert_eq!((server.orders, server.points), (2, 32));
    assert_eq!(till_figures(&a.device, salim.id), server);
    let points: Vec<i64> = a
        .device
        .orders(salim.id)
        .unwrap()
        .iter()
        .map(|o| o.points)
        .collect();
    assert_eq!(points, vec![20, 12], "the server's points, newest first");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_managers_points_adjustment_on_a_till_syncs_and_a_cashiers_is_refused_on_the_till_and_never_pushed(
) {
    let app = TestApp::spawn().await;
    let tenant = app.tenant(SHOP).await.0;
    let staff = staff(&app).await;
    let rest = app.sign_in(SHOP, Role::Manager).await;
    let a = till(&app, &staff.manager).await;
    let b = till(&app, &staff.cashier).await;
    let salim = stub(&a.device, "Salim", "92000001");
    a.device.record_order(salim.id, &order("10", "2")).unwrap();
    assert_eq!(
        a.device.adjust_points(salim.id, "+5", "Birthday").unwrap(),
        15
    );
    sync(&app, &a.device).await;
    let client = app.owner.get().await.unwrap();
    let rows = client
        .query(
            "SELECT delta, reason, adjusted_by::text FROM loyalty_adjustments",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].get::<_, i64>(0),
            rows[0].get::<_, String>(1),
            rows[0].get::<_, Option<String>>(2)
        ),
        (5, "Birthday".to_owned(), Some(staff.manager.clone())),
        "made by the manager signed in at the till"
    );
    let server = rest_figures(&app, &rest, salim.id).await;
    assert_eq!(server.points, 15);
    sync(&app, &b.device).await;
    assert_eq!(till_figures(&b.device, salim.id), server);
    assert_eq!(till_figures(&a.device, salim.id), server);

    // A cashier may not: refused on the till, nothing recorded, nothing pushed.
    a.device.sign_in(&staff.cashier, PIN).unwrap();
    let ops = a.device.outbox().unwrap().len();
    let refused = a
        .device
        .adjust_points(salim.id, "+5", "Goodwill")
        .unwrap_err();
    assert_eq!(refused.code(), "auth.forbidden");
    assert_eq!(a.device.pending_ops().unwrap(), 0);
    assert_eq!(a.device.outbox().unwrap().len(), ops);
    assert!(a.device.next_push_batch(10).unwrap().is_empty());
    let pushes = app.count("SELECT count(*) FROM sync_ops").await;
    sync(&app, &a.device).await;
    assert_eq!(app.count("SELECT count(*) FROM sync_ops").await, pushes);
    assert_eq!(
        app.count("SELECT count(*) FROM loyalty_adjustments").await,
        1
    );
    assert_eq!(rest_figures(&app, &rest, salim.id).await.points, 15);
    assert_eq!(till_figures(&a.device, salim.id).points, 15);
    assert_every_op_applied_exactly_once(&app, tenant, &[&a.device, &b.device]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_tills_each_taking_an_order_for_the_same_customer_offline_both_show_both_orders_and_the_servers_totals(
) {
    let app = TestApp::spawn().await;
    let tenant = app.tenant(SHOP).await.0;
    let staff = staff(&app).await;
    let rest = app.sign_in(SHOP, Role::Manager).await;
    let a = till(&app, &staff.cashier).await;
    let b = till(&app, &staff.cashier).await;
    let salim = stub(&a.device, "Salim", "92000001");
    sync(&app, &a.device).await;
    sync(&app, &b.device).await;

    // Both offline, the same customer at two counters.
    let on_a = a.device.record_order(salim.id, &order("3", "2")).unwrap();
    let on_b = b.device.record_order(salim.id, &order("4.5", "1")).unwrap();
    assert_ne!(on_a.ticket, on_b.ticket, "each till its own tickets");
    assert_eq!(till_figures(&a.device, salim.id).orders, 1);
    assert_eq!(till_figures(&b.device, salim.id).orders, 1);

    sync(&app, &a.device).await;
    sync(&app, &b.device).await;
    sync(&app, &a.device).await;
    let server = rest_figures(&app, &rest, salim.id).await;
    let last = [&on_a, &on_b]
        .iter()
        .map(|o| time(&o.created_at))
        .max()
        .unwrap();
    assert_eq!(
        server,
        Figures {
            orders: 2,
            spent_baisa: 7_500,
            points: 7,
            last_order_at: Some(last),
        }
    );
    for (name, d) in [("A", &a.device), ("B", &b.device)] {
        assert_eq!(till_figures(d, salim.id), server, "till {name}");
        let mut tickets: Vec<String> = d
            .orders(salim.id)
            .unwrap()
            .into_iter()
            .map(|o| o.ticket)
            .collect();
        tickets.sort();
        let mut expected = vec![on_a.ticket.clone(), on_b.ticket.clone()];
        expected.sort();
        assert_eq!(tickets, expected, "till {name}");
    }
    assert_eq!(server_orders(&app).await.len(), 2);
    assert_every_op_applied_exactly_once(&app, tenant, &[&a.device, &b.device]).await;
}
