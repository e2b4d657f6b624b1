//! Merging duplicates: orders and points move, the merge is logged, the source points at the
//! target; managers and admins only; tenant-isolated.

use crate::support::TestApp;
use dukkan_server::staff::Role;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

async fn give_orders_and_points(app: &TestApp, customer: &str, orders: &[i64], points: i64) {
    let client = app.owner.get().await.expect("test setup");
    let id = Uuid::parse_str(customer).expect("test setup");
    let tenant: Uuid = client
        .query_one("SELECT tenant_id FROM customers WHERE id = $1", &[&id])
        .await
        .expect("test setup")
        .get(0);
    for total in orders {
        client
            .execute(
                "INSERT INTO orders (tenant_id, id, customer_id, total_minor) VALUES ($1, $2, $3, $4)",
                &[&tenant, &Uuid::now_v7(), &id, total],
            )
            .await
            .expect("test setup");
    }
    client
        .execute(
            "UPDATE customers SET loyalty_points = $2 WHERE id = $1",
            &[&id, &points],
        )
        .await
        .expect("test setup");
}

#[tokio::test]
async fn a_merge_moves_orders_and_points_logs_it_and_deactivates_the_source() {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let manager = app.sign_in("shop", Role::Manager).await;
    let target = app.stub(&cashier, "Ahmed", "92123456").await;
    let source = app
        .post(
            "/api/v1/customers",
            &cashier,
            json!({"type": "stub", "firstName": "Ahmed", "name2": "أحمد", "phone": "93334444"}),
        )
        .await
        .body;
    let (t, s) = (
        target["id"].as_str().unwrap(),
        source["id"].as_str().unwrap(),
    );
    give_orders_and_points(&app, s, &[1_500, 2_250], 40).await;
    give_orders_and_points(&app, t, &[500], 10).await;
    let body = json!({"sourceId": s, "targetId": t, "reason": "duplicate-phone"});

    let refused = app
        .post("/api/v1/customers/merge", &cashier, body.clone())
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let merged = app.post("/api/v1/customers/merge", &manager, body).await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");
    assert_eq!(merged.body["ordersMoved"], 2);
    assert_eq!(merged.body["loyaltyPointsMerged"], 40);
    let target_after = &merged.body["target"];
    assert_eq!(target_after["loyaltyPoints"], 50);
    assert_eq!(target_after["totalOrders"], 3);
    assert_eq!(target_after["totalSpentMinor"], 4_250);
    assert_eq!(
        target_after["name2"], "أحمد",
        "blank fields are filled from the source"
    );
    assert_eq!(
        target_after["phone"], "+96892123456",
        "the target keeps its own phone"
    );
    let source_after = app
        .get(&format!("/api/v1/customers/{s}"), &cashier)
        .await
        .body;
    assert_eq!(source_after["isActive"], false);
    assert_eq!(source_after["mergedInto"], t);
    assert_eq!(source_after["loyaltyPoints"], 0);
    assert_eq!(source_after["totalOrders"], 0);
    assert_eq!(
        app.count("SELECT count(*) FROM customer_merges WHERE reason = 'duplicate-phone' AND orders_moved = 2 AND loyalty_points_merged = 40").await,
        1
    );
    // Merging the merged source again is refused: the target is that customer now.
    let again = app
        .post(
            "/api/v1/customers/merge",
            &manager,
            json!({"sourceId": s, "targetId": t, "reason": "duplicate"}),
        )
        .await;
    assert_eq!(again.code(), "customer.merged");
}

#[tokio::test]
async fn a_guest_merged_with_a_stub_becomes_that_stub_and_is_found_by_its_names() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let guest = app
        .post("/api/v1/customers", &manager, json!({"type": "guest"}))
        .await
        .body;
    let stub = app
        .post(
            "/api/v1/customers",
            &manager,
            json!({"type": "stub", "firstName": "Maryam", "lastName": "Al-Hinai", "phone": "93334444"}),
        )
        .await
        .body;
    let (g, s) = (guest["id"].as_str().unwrap(), stub["id"].as_str().unwrap());
    let merged = app
        .post(
            "/api/v1/customers/merge",
            &manager,
            json!({"sourceId": s, "targetId": g, "reason": "duplicate"}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");
    let target = &merged.body["target"];
    assert_eq!(
        target["type"], "stub",
        "a guest with a name and a phone is a stub"
    );
    assert_eq!(target["firstName"], "Maryam");
    assert_eq!(target["phone"], "+96893334444");
    let found = app
        .get("/api/v1/customers?search=hinai", &manager)
        .await
        .body;
    let ids: Vec<&str> = found["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![g],
        "the search text follows the names the merge filled"
    );
}

#[tokio::test]
async fn merging_into_itself_or_across_tenants_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (_, a) = app.tenant_with("shop-a", Role::Admin).await;
    let (_, b) = app.tenant_with("shop-b", Role::Admin).await;
    let mine = app.stub(&a, "Ahmed", "92123456").await;
    let theirs = app.stub(&b, "Badr", "93334444").await;
    let m = mine["id"].as_str().expect("test setup");
    let t = theirs["id"].as_str().expect("test setup");
    let own = app
        .post(
            "/api/v1/customers/merge",
            &a,
            json!({"sourceId": m, "targetId": m, "reason": "duplicate"}),
        )
        .await;
    assert_eq!(own.code(), "customer.merge-self");
    for (s, tg) in [(m, t), (t, m)] {
        let r = app
            .post(
                "/api/v1/customers/merge",
                &a,
                json!({"sourceId": s, "targetId": tg, "reason": "duplicate"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    }
    assert_eq!(app.count("SELECT count(*) FROM customer_merges").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE NOT active")
            .await,
        0
    );
    // The customers are found first (as on every door), then the reason is checked.
    let second = app.stub(&a, "Ahmad", "92123457").await;
    let bidi = app
        .post(
            "/api/v1/customers/merge",
            &a,
            json!({"sourceId": m, "targetId": second["id"], "reason": "dup\u{202E}"}),
        )
        .await;
    assert_eq!(bidi.code(), "validation.bidi-control");
    assert_eq!(app.count("SELECT count(*) FROM customer_merges").await, 0);
}

async fn add_address(app: &TestApp, token: &str, customer: &str, area: &str, default: bool) {
    let a = app
        .post(
            &format!("/api/v1/customers/{customer}/addresses"),
            token,
            json!({"addressType": "home", "area": area, "city": "Muscat", "isDefault": default}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
}

/// (area, isDefault) of a customer's addresses, sorted by area.
async fn addresses_of(app: &TestApp, token: &str, customer: &str) -> Vec<(String, bool)> {
    let a = app
        .get(&format!("/api/v1/customers/{customer}/addresses"), token)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let mut out: Vec<(String, bool)> = a
        .body
        .as_array()
        .expect("test setup")
        .iter()
        .map(|x| {
            (
                x["area"].as_str().expect("test setup").to_owned(),
                x["isDefault"].as_bool().expect("test setup"),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_merge_moves_the_sources_addresses_and_the_target_keeps_its_own_default() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let target = app.stub(&manager, "Ahmed", "92123456").await;
    let source = app.stub(&manager, "Ahmed", "93334444").await;
    let (t, s) = (
        target["id"].as_str().unwrap(),
        source["id"].as_str().unwrap(),
    );
    add_address(&app, &manager, t, "T-home", true).await;
    add_address(&app, &manager, t, "T-work", false).await;
    add_address(&app, &manager, s, "S-home", true).await;
    add_address(&app, &manager, s, "S-other", false).await;

    let merged = app
        .post(
            "/api/v1/customers/merge",
            &manager,
            json!({"sourceId": s, "targetId": t, "reason": "duplicate"}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");
    assert_eq!(merged.body["addressesMoved"], 2);
    assert_eq!(
        addresses_of(&app, &manager, t).await,
        vec![
            ("S-home".to_owned(), false),
            ("S-other".to_owned(), false),
            ("T-home".to_owned(), true),
            ("T-work".to_owned(), false),
        ]
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM addresses WHERE customer_id = '{s}'"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn a_target_without_addresses_takes_the_sources_default_with_them() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let target = app.stub(&manager, "Ahmed", "92123456").await;
    let source = app.stub(&manager, "Ahmed", "93334444").await;
    let (t, s) = (
        target["id"].as_str().unwrap(),
        source["id"].as_str().unwrap(),
    );
    add_address(&app, &manager, s, "S-home", false).await;
    add_address(&app, &manager, s, "S-work", true).await;
    let merged = app
        .post(
            "/api/v1/customers/merge",
            &manager,
            json!({"sourceId": s, "targetId": t, "reason": "duplicate"}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");
    assert_eq!(merged.body["addressesMoved"], 2);
    assert_eq!(
        addresses_of(&app, &manager, t).await,
        vec![("S-home".to_owned(), false), ("S-work".to_owned(), true)]
    );
}
