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
