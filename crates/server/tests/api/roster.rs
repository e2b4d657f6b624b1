//! What a device reads besides the feed: the staff roster for offline PIN sign-in (`GET /api/v1/sync/staff`) and one customer again (`GET /api/v1/sync/customers/{id}`).

use crate::support::TestApp;
use dukkan_server::staff::{self, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn roster_with(app: &TestApp, token: &str, etag: Option<&str>) -> crate::support::Answer {
    let mut req = app
        .client
        .get(format!("{}/api/v1/sync/staff", app.base))
        .bearer_auth(token);
    if let Some(tag) = etag {
        req = req.header("if-none-match", tag);
    }
    TestApp::answer(req.send().await.expect("request")).await
}

#[tokio::test]
async fn a_device_gets_its_tenants_active_staff_with_pin_hashes_and_never_a_pin() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    app.tenant("other").await;
    let aisha = staff::add(&app.owner, "shop", "Aisha", Role::Cashier, "2468")
        .await
        .unwrap();
    let salim = staff::add(&app.owner, "shop", "Salim", Role::Manager, "135790")
        .await
        .unwrap();
    staff::add(&app.owner, "other", "Stranger", Role::Admin, "999999")
        .await
        .unwrap();
    let token = app.device_token("shop").await;
    let a = roster_with(&app, &token, None).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let members = a.body["staff"].as_array().unwrap();
    assert_eq!(members.len(), 2, "only this tenant's staff: {a:?}");
    assert_eq!(members[0]["id"], aisha.id.to_string());
    assert_eq!(members[0]["name"], "Aisha");
    assert_eq!(members[0]["role"], "cashier");
    assert_eq!(members[1]["id"], salim.id.to_string());
    assert_eq!(members[1]["role"], "manager");
    for m in members {
        let hash = m["pinHash"].as_str().unwrap();
        // 64 MiB, three passes: a PIN guessed offline from a copied till costs ~0.1 s each.
        assert!(
            hash.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("2468") && !hash.contains("135790"));
    }
    assert!(!a.body.to_string().contains("Stranger"));
    assert_eq!(
        a.header("cache-control"),
        "private, no-store",
        "hashes are not for shared caches"
    );
}

#[tokio::test]
async fn the_etag_answers_304_until_staff_change_and_deactivated_staff_leave_the_roster() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    let aisha = staff::add(&app.owner, "shop", "Aisha", Role::Cashier, "2468")
        .await
        .unwrap();
    let token = app.device_token("shop").await;
    let first = roster_with(&app, &token, None).await;
    let tag = first.header("etag").to_owned();
    let same = roster_with(&app, &token, Some(&tag)).await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    assert_eq!(same.body, serde_json::Value::Null, "no body with a 304");

    staff::add(&app.owner, "shop", "Salim", Role::Manager, "135790")
        .await
        .unwrap();
    let grown = roster_with(&app, &token, Some(&tag)).await;
    assert_eq!(grown.status, StatusCode::OK);
    assert_eq!(grown.body["staff"].as_array().unwrap().len(), 2);
    let grown_tag = grown.header("etag").to_owned();
    assert_ne!(grown_tag, tag);

    staff::deactivate(&app.owner, "shop", &aisha.id.to_string())
        .await
        .unwrap();
    let shrunk = roster_with(&app, &token, Some(&grown_tag)).await;
    assert_eq!(shrunk.status, StatusCode::OK);
    let names: Vec<_> = shrunk.body["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Salim"]);
}

#[tokio::test]
async fn the_roster_brings_the_shops_time_zone_and_a_new_zone_changes_its_etag() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    staff::add(&app.owner, "shop", "Aisha", Role::Cashier, "2468")
        .await
        .unwrap();
    let token = app.device_token("shop").await;
    let first = roster_with(&app, &token, None).await;
    assert_eq!(first.body["timeZone"], "Asia/Muscat");
    let tag = first.header("etag").to_owned();
    dukkan_server::tenants::set_time_zone(&app.owner, "shop", "Asia/Dubai")
        .await
        .unwrap();
    let moved = roster_with(&app, &token, Some(&tag)).await;
    assert_eq!(
        moved.status,
        StatusCode::OK,
        "a new zone is news to the till"
    );
    assert_eq!(moved.body["timeZone"], "Asia/Dubai");
}

#[tokio::test]
async fn deactivating_a_staff_member_ends_their_rest_session_and_unknown_ids_are_not_found() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    app.tenant("other").await;
    let member = staff::add(&app.owner, "shop", "Aisha", Role::Manager, "246810")
        .await
        .unwrap();
    staff::set_password(
        &app.owner,
        "shop",
        &member.id.to_string(),
        "a long password",
    )
    .await
    .unwrap();
    let signed = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"tenant": "shop", "staffId": member.id.to_string(), "password": "a long password"})),
        )
        .await;
    let session = signed.body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/v1/devices", &session).await.status,
        StatusCode::OK
    );
    // Another tenant's slug cannot reach this tenant's staff member.
    assert!(
        staff::deactivate(&app.owner, "other", &member.id.to_string())
            .await
            .is_err()
    );
    assert!(staff::deactivate(&app.owner, "shop", "not-a-uuid")
        .await
        .is_err());
    let gone = staff::deactivate(&app.owner, "shop", &member.id.to_string())
        .await
        .unwrap();
    assert_eq!(gone.name, "Aisha");
    assert_eq!(
        app.get("/api/v1/devices", &session).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_roster_needs_a_live_device_token_not_a_staff_session_or_nothing() {
    let app = TestApp::spawn().await;
    let (_, staff_session) = app.tenant_with("shop", Role::Admin).await;
    for token in [None, Some(staff_session.as_str()), Some("dkd_garbage")] {
        let a = app
            .call(Method::GET, "/api/v1/sync/staff", token, None)
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{token:?}: {a:?}");
        assert!(a.body["staff"].is_null());
    }
}

#[tokio::test]
async fn a_device_reads_one_customer_of_its_tenant_and_never_another_tenants() {
    let app = TestApp::spawn().await;
    let (_, shop_staff) = app.tenant_with("shop", Role::Manager).await;
    app.tenant("other").await;
    let mine = app.stub(&shop_staff, "Ahmed", "+96892123456").await;
    let token = app.device_token("shop").await;
    let other_token = app.device_token("other").await;
    let id = mine["id"].as_str().unwrap();
    let a = app
        .get(&format!("/api/v1/sync/customers/{id}"), &token)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["id"], id);
    assert_eq!(a.body["phone"], "+96892123456");
    assert!(a.body["addresses"].is_array());
    let theirs = app
        .get(&format!("/api/v1/sync/customers/{id}"), &other_token)
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{theirs:?}");
    assert!(theirs.body["phone"].is_null());
    for bad in [
        "not-a-uuid",
        "0190a0b0-0000-7000-8000-000000000000",
        "%E2%80%AE",
    ] {
        let a = app
            .get(&format!("/api/v1/sync/customers/{bad}"), &token)
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{bad}: {a:?}");
    }
    let anonymous = app
        .call(
            Method::GET,
            &format!("/api/v1/sync/customers/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let staff_session = app
        .call(
            Method::GET,
            &format!("/api/v1/sync/customers/{id}"),
            Some(&shop_staff),
            None,
        )
        .await;
    assert_eq!(
        staff_session.status,
        StatusCode::UNAUTHORIZED,
        "device token only"
    );
}

#[tokio::test]
async fn the_roster_announces_the_servers_update_feed_only_when_one_is_configured() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    let token = app.device_token("shop").await;
    let a = roster_with(&app, &token, None).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert!(a.body.get("updateFeed").is_none(), "none configured: {a:?}");

    let feed = "https://updates.dukkan.om/desk/{{target}}/{{arch}}/{{current_version}}";
    let app = TestApp::spawn_with_state(|s| s.with_update_feed(feed).unwrap()).await;
    app.tenant("shop").await;
    let token = app.device_token("shop").await;
    let a = roster_with(&app, &token, None).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["updateFeed"], feed);
}
