//! Long-poll pulls wake on their own tenant's committed changes (LISTEN/NOTIFY,
//! V6__change_notify.sql) instead of querying the feed every 200 ms while they wait.

use crate::support::TestApp;
use dukkan_server::staff::Role;
use reqwest::StatusCode;
use std::time::Duration;

/// Waits (at most 10 s) until this instance listens for changes.
async fn until_listening(app: &TestApp) {
    let a = app.get("/readyz", "").await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    for _ in 0..100 {
        if app.listening() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the change listener never started");
}

#[tokio::test]
async fn a_waiting_pull_wakes_on_its_own_tenants_change_and_not_on_another_tenants() {
    let app = TestApp::spawn().await;
    let (_, shop_staff) = app.tenant_with("shop", Role::Cashier).await;
    let (_, other_staff) = app.tenant_with("other", Role::Cashier).await;
    let device = app.device_token("shop").await;
    until_listening(&app).await;
    let waiting = {
        let (client, base, device) = (app.client.clone(), app.base.clone(), device.clone());
        tokio::spawn(async move {
            client
                .get(format!("{base}/api/v1/sync/pull?since=0&wait=20"))
                .bearer_auth(device)
                .send()
                .await
                .expect("pull")
                .json::<serde_json::Value>()
                .await
                .expect("pull body")
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.stub(&other_staff, "Stranger", "+96899000001").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiting.is_finished(),
        "another tenant's change must not answer this pull"
    );
    let created = app.stub(&shop_staff, "Ahmed", "+96892123456").await;
    // Within 3 s: before the 5 s safety-net look, so it was the notification that woke it.
    let page = tokio::time::timeout(Duration::from_secs(3), waiting)
        .await
        .expect("woken by the change's notification")
        .expect("pull task");
    let changes = page["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{page}");
    assert_eq!(changes[0]["customer"]["id"], created["id"]);
}

#[tokio::test]
async fn a_waiting_pull_does_not_query_the_feed_over_and_over() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    let device = app.device_token("shop").await;
    until_listening(&app).await;
    let before = app.feed_looks();
    let a = app.get("/api/v1/sync/pull?since=0&wait=3", &device).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["changes"], serde_json::json!([]));
    let looks = app.feed_looks() - before;
    // One look when the pull starts and one at its deadline; polling every 200 ms (what the
    // server falls back to without notifications) would look about 16 times.
    assert!(looks <= 2, "{looks} looks at the feed during a 3 s wait");
}

/// A pull's transaction writes only the device's cursor (for /metrics), so its commit does not
/// wait for the WAL flush; neither that nor its tenant may outlive it on the pooled connection,
/// where the next transaction may write customers.
#[tokio::test]
async fn a_pulls_bookkeeping_transaction_skips_the_flush_wait_and_leaves_its_connection_as_it_was()
{
    let app = TestApp::spawn().await;
    let shop = app.tenant("shop").await;
    let pool = dukkan_server::db::pool(&app.app_url, 1).expect("pool");
    let mut client = pool.get().await.expect("connection");
    let setting = |name: &'static str| format!("SELECT current_setting('{name}', true)");
    let before: String = client
        .query_one(&setting("synchronous_commit"), &[])
        .await
        .unwrap()
        .get(0);
    {
        let tx = dukkan_server::db::bookkeeping_tx(&mut client, shop)
            .await
            .expect("transaction");
        let inside: String = tx
            .query_one(&setting("synchronous_commit"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(inside, "off");
        let tenant: String = tx
            .query_one(&setting("app.tenant_id"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(tenant, shop.to_string());
        tx.commit().await.unwrap();
    }
    let after: String = client
        .query_one(&setting("synchronous_commit"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        after, before,
        "the next transaction waits for its flush as before"
    );
    let tenant = crate::support::tenant_left_on(&client).await;
    assert_eq!(tenant, None);
}
