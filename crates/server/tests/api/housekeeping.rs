//! Housekeeping runs itself: expired OTP codes and staff sessions go on a schedule, one
//! instance at a time, and `/metrics` shows each shop's waiting pulls and sync lag.

use crate::support::TestApp;
use chrono::Duration;
use dukkan_server::housekeeping::{self, HOUSEKEEPING_LOCK};
use dukkan_server::metrics::Metrics;
use dukkan_server::staff::Role;
use dukkan_server::{db, wakeups::ChangeSignals};
use reqwest::StatusCode;
use std::sync::Arc;

/// Makes every session of the shop expired, as if twelve hours had passed.
async fn expire_sessions(app: &TestApp, tenant: dukkan_server::ids::TenantId) {
    let mut client = app.owner.get().await.expect("owner connection");
    let tx = db::tenant_tx(&mut client, tenant).await.expect("tenant tx");
    tx.execute(
        "UPDATE staff_sessions SET expires_at = now() - interval '1 minute' WHERE tenant_id = $1",
        &[&tenant.0],
    )
    .await
    .expect("expire sessions");
    tx.commit().await.expect("commit");
}

async fn send_code(app: &TestApp, token: &str, phone: &str) {
    crate::otp::stub_and_send(app, token, phone).await;
}

#[tokio::test]
async fn the_schedule_removes_expired_codes_and_sessions_of_every_shop_and_keeps_live_ones() {
    let app = TestApp::spawn().await;
    let (a, token_a) = app.tenant_with("shop-a", Role::Cashier).await;
    let (b, token_b) = app.tenant_with("shop-b", Role::Cashier).await;
    // Codes sent three hours ago (expired two hours and 55 minutes ago), in both shops...
    app.clock.advance(Duration::hours(-3));
    send_code(&app, &token_a, "92000001").await;
    send_code(&app, &token_b, "92000002").await;
    app.clock.advance(Duration::hours(3));
    // ...and one sent now, still live.
    send_code(&app, &token_a, "92000003").await;
    // Shop b's sessions expired; shop a's are live.
    expire_sessions(&app, b).await;
    let live_a = app
        .count("SELECT count(*) FROM staff_sessions WHERE expires_at > now()")
        .await;
    assert!(live_a >= 1);
    let _ = a;

    let pool = db::pool(&app.app_url, 2).unwrap();
    let metrics = Arc::new(Metrics::new());
    let task = housekeeping::spawn(
        pool.clone(),
        metrics.clone(),
        std::time::Duration::from_millis(100),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.count("SELECT count(*) FROM otp_codes").await > 1 {
        assert!(std::time::Instant::now() < deadline, "no sweep within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    task.abort();
    assert_eq!(
        app.count("SELECT count(*) FROM otp_codes").await,
        1,
        "the live code stays"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM staff_sessions WHERE expires_at <= now()")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM staff_sessions").await,
        live_a,
        "live sessions stay"
    );
    // The live session still works.
    assert_eq!(
        app.get("/api/v1/customers?search=ahm", &token_a)
            .await
            .status,
        StatusCode::OK
    );
    let text = metrics.render(&pool, &ChangeSignals::default()).unwrap();
    assert!(
        text.contains("dukkan_housekeeping_sweeps_total{outcome=\"done\"}"),
        "{text}"
    );
    assert!(
        text.contains("dukkan_housekeeping_removed_total{kind=\"otp_codes\"} 2"),
        "{text}"
    );
}

#[tokio::test]
async fn only_one_instance_sweeps_at_a_time() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    let pool = db::pool(&app.app_url, 2).unwrap();
    // Another instance is sweeping: it holds the lock in its transaction.
    let mut other = app.owner.get().await.unwrap();
    let holding = other.transaction().await.unwrap();
    holding
        .execute("SELECT pg_advisory_xact_lock($1)", &[&HOUSEKEEPING_LOCK])
        .await
        .unwrap();
    assert_eq!(housekeeping::sweep(&pool).await.unwrap(), None);
    holding.commit().await.unwrap();
    assert!(housekeeping::sweep(&pool).await.unwrap().is_some());
}

#[tokio::test]
async fn metrics_show_each_shops_waiting_pulls_and_how_far_its_slowest_till_is_behind() {
    let app = TestApp::spawn().await;
    let (tenant, token) = app.tenant_with("shop", Role::Cashier).await;
    let device = app.device_token("shop").await;
    // Three changes the till has not pulled.
    for phone in ["92000011", "92000012", "92000013"] {
        app.stub(&token, "Salim", phone).await;
    }
    let pool = db::pool(&app.app_url, 2).unwrap();
    let sweep = housekeeping::sweep(&pool).await.unwrap().unwrap();
    assert_eq!(sweep.behind, vec![(tenant.0, 3)]);

    // The till pulls everything, then waits on a long-poll.
    let page = app.get("/api/v1/sync/pull?since=0", &device).await;
    let cursor = page.body["cursor"].as_i64().unwrap();
    let waiting = {
        let req = app
            .client
            .get(format!(
                "{}/api/v1/sync/pull?since={cursor}&wait=5",
                app.base
            ))
            .bearer_auth(&device);
        tokio::spawn(async move { req.send().await })
    };
    let shop = format!("shop_id=\"{}\"", tenant.0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let scraped = app
            .client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap();
        let text = scraped.text().await.unwrap();
        if text.contains(&format!("dukkan_sync_waiting_pulls{{{shop}}} 1")) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sweep = housekeeping::sweep(&pool).await.unwrap().unwrap();
    assert_eq!(sweep.behind, vec![(tenant.0, 0)], "caught up");
    let metrics = Metrics::new();
    metrics.swept(&sweep);
    let text = metrics.render(&pool, &ChangeSignals::default()).unwrap();
    assert!(
        text.contains(&format!("dukkan_sync_behind_changes{{{shop}}} 0")),
        "{text}"
    );
    waiting.abort();
}

/// Backdates a customer's creation by `days` (behind the API's back, as the owner).
async fn age(app: &TestApp, tenant: dukkan_server::ids::TenantId, id: &str, days: i32) {
    let mut client = app.owner.get().await.expect("owner connection");
    let tx = db::tenant_tx(&mut client, tenant).await.expect("tenant tx");
    let id: uuid::Uuid = id.parse().expect("uuid");
    tx.execute(
        "UPDATE customers SET created_at = now() - make_interval(days => $2) WHERE id = $1",
        &[&id, &days],
    )
    .await
    .expect("age");
    tx.commit().await.expect("commit");
}

async fn guest(app: &TestApp, token: &str) -> String {
    let a = app
        .post(
            "/api/v1/customers",
            token,
            serde_json::json!({"type": "guest"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    a.body["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn guests_without_orders_leave_every_list_and_every_till_after_the_shops_retention_and_the_rest_stay(
) {
    let app = TestApp::spawn().await;
    let (shop, manager) = app.tenant_with("shop", Role::Manager).await;
    let device = app.device_token("shop").await;
    let old = guest(&app, &manager).await;
    let old_with_order = guest(&app, &manager).await;
    let young = guest(&app, &manager).await;
    let stub = app.stub(&manager, "Ahmed", "92123456").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let order = app
        .post(
            &format!("/api/v1/customers/{old_with_order}/orders"),
            &manager,
            serde_json::json!({"ticket": "T-1", "amountBaisa": 1500, "pieces": 1}),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{order:?}");
    for id in [&old, &old_with_order, &stub] {
        age(&app, shop, id, 91).await;
    }
    age(&app, shop, &young, 89).await;

    // The guest with an order has a number (its first order gave it one); the others none.
    let number = app
        .get(&format!("/api/v1/customers/{old_with_order}"), &manager)
        .await
        .body["customerNumber"]
        .as_str()
        .expect("numbered at its first order")
        .to_owned();
    let pool = db::pool(&app.app_url, 2).unwrap();
    let sweep = housekeeping::sweep(&pool).await.unwrap().expect("the lock");
    assert_eq!(
        sweep.retired_guests, 1,
        "only the old guest without an order"
    );
    let retired = |id: &str| {
        format!("SELECT count(*) FROM customers WHERE id = '{id}' AND retired_at IS NOT NULL AND NOT active")
    };
    assert_eq!(app.count(&retired(&old)).await, 1);
    for kept in [&old_with_order, &young, &stub] {
        assert_eq!(app.count(&retired(kept)).await, 0, "{kept}");
    }
    // Recorded: the audit log says so, by nobody.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit_log WHERE entity_id = '{old}' AND action = 'retire'
             AND staff_id IS NULL AND device_id IS NULL"
        ))
        .await,
        1
    );
    // Gone from the lists, inactive ones included, and from the export.
    for status in ["all", "inactive"] {
        let list = app
            .get(
                &format!("/api/v1/customers?status={status}&type=guest"),
                &manager,
            )
            .await;
        assert_eq!(list.status, StatusCode::OK, "{list:?}");
        let ids: Vec<&str> = list.body["customers"]
            .as_array()
            .expect("customers")
            .iter()
            .filter_map(|c| c["id"].as_str())
            .collect();
        assert!(!ids.contains(&old.as_str()), "{status}: {ids:?}");
        if status == "all" {
            assert!(
                ids.contains(&young.as_str()),
                "a numberless guest is listed: {ids:?}"
            );
        }
    }
    let admin = app.sign_in("shop", Role::Admin).await;
    let csv = app
        .client
        .get(format!("{}/api/v1/customers/export?format=csv", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("csv");
    // The export lists customers by number: the guest with an order is in it, guests that
    // never ordered (numberless) are not.
    assert!(csv.contains(&number), "{csv}");
    assert_eq!(
        csv.lines().count(),
        3,
        "header, the stub, the guest with an order: {csv}"
    );
    // The tills hear of it: the pull carries the guest as retired.
    let pulled = app
        .get("/api/v1/sync/pull?since=0&limit=1000", &device)
        .await;
    let last = pulled.body["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .rev()
        .find(|c| c["customer"]["id"] == old.as_str())
        .expect("pulled")["customer"]
        .clone();
    assert_eq!(last["retired"], true);
    assert_eq!(last["active"], false);

    // A second sweep retires nothing more; a shorter retention retires the young guest.
    assert_eq!(
        housekeeping::sweep(&pool)
            .await
            .unwrap()
            .expect("lock")
            .retired_guests,
        0
    );
    dukkan_server::tenants::set_guest_retention_days(&app.owner, "shop", 30)
        .await
        .unwrap();
    assert!(
        dukkan_server::tenants::set_guest_retention_days(&app.owner, "shop", 0)
            .await
            .is_err()
    );
    assert_eq!(
        housekeeping::sweep(&pool)
            .await
            .unwrap()
            .expect("lock")
            .retired_guests,
        1
    );
    assert_eq!(app.count(&retired(&young)).await, 1);
}
