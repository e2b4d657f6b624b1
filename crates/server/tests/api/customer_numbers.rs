//! Customer numbers: sequential and gapless per tenant, under concurrency; a walk-in guest
//! takes one only at its first order (or as it becomes a stub).

use crate::support::TestApp;
use dukkan_server::staff::Role;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;

fn number(v: &serde_json::Value) -> u32 {
    v["customerNumber"]
        .as_str()
        .and_then(|s| s.strip_prefix("CUST-"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no customer number in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_creates_and_first_orders_get_numbers_one_to_two_hundred_without_gaps(
) {
    // Four hundred requests at once: past the per-client rate limit, which is not under test.
    let app = std::sync::Arc::new(
        TestApp::spawn_with_limits(dukkan_server::limits::LimitConfig::unlimited()).await,
    );
    let (_, token) = app.tenant_with("busy-shop", Role::Cashier).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let app = app.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            // Half guests, numbered at their first order (taken at once, concurrently with the
            // stubs' creates), half stubs with distinct phones, numbered at once.
            if i % 2 == 0 {
                let a = app
                    .post("/api/v1/customers", &token, json!({"type": "guest"}))
                    .await;
                assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
                assert_eq!(a.body["customerNumber"], serde_json::Value::Null);
                let id = a.body["id"].as_str().unwrap().to_owned();
                let o = app
                    .post(
                        &format!("/api/v1/customers/{id}/orders"),
                        &token,
                        json!({"ticket": "T", "amountBaisa": 1_000, "pieces": 1}),
                    )
                    .await;
                assert_eq!(o.status, StatusCode::CREATED, "{o:?}");
                let g = app.get(&format!("/api/v1/customers/{id}"), &token).await;
                number(&g.body)
            } else {
                let body = json!({"type": "stub", "firstName": "Ahmed", "phone": format!("9{:07}", 2_100_000 + i)});
                let a = app.post("/api/v1/customers", &token, body).await;
                assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
                number(&a.body)
            }
        }));
    }
    let mut numbers = BTreeSet::new();
    for t in tasks {
        assert!(numbers.insert(t.await.unwrap()), "duplicate number");
    }
    assert_eq!(numbers, (1..=200).collect::<BTreeSet<u32>>());
    assert_eq!(
        app.count("SELECT next_customer_number FROM tenant_counters")
            .await,
        201
    );
}

#[tokio::test]
async fn a_walk_in_guest_uses_up_no_number_until_its_first_order_and_keeps_it_after() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let guest = app
        .post("/api/v1/customers", &token, json!({"type": "guest"}))
        .await
        .body;
    assert_eq!(guest["customerNumber"], serde_json::Value::Null);
    let first = app.stub(&token, "Ahmed", "92123456").await;
    assert_eq!(number(&first), 1, "the guest took no number");
    let id = guest["id"].as_str().unwrap();
    let orders = format!("/api/v1/customers/{id}/orders");
    for ticket in ["T-1", "T-2"] {
        let o = app
            .post(
                &orders,
                &token,
                json!({"ticket": ticket, "amountBaisa": 2_000, "pieces": 1}),
            )
            .await;
        assert_eq!(o.status, StatusCode::CREATED, "{o:?}");
    }
    let g = app.get(&format!("/api/v1/customers/{id}"), &token).await;
    assert_eq!(number(&g.body), 2, "numbered at its first order, once");
    // Found by its number now.
    let found = app.get("/api/v1/customers?search=CUST-00002", &token).await;
    assert_eq!(found.body["customers"][0]["id"], id, "{found:?}");
    // A guest that never ordered is still numberless, and is left out of the export.
    app.post("/api/v1/customers", &token, json!({"type": "guest"}))
        .await;
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE customer_number IS NULL")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT next_customer_number FROM tenant_counters")
            .await,
        3
    );
}

#[tokio::test]
async fn two_tenants_count_their_customer_numbers_independently() {
    let app = TestApp::spawn().await;
    let (_, a) = app.tenant_with("shop-a", Role::Cashier).await;
    let (_, b) = app.tenant_with("shop-b", Role::Cashier).await;
    for expected in 1..=3 {
        let ca = app.stub(&a, "Ahmed", &format!("9212345{expected}")).await;
        assert_eq!(number(&ca), expected);
    }
    let cb = app.stub(&b, "Badr", "92123451").await;
    assert_eq!(cb["customerNumber"], "CUST-00001");
}

#[tokio::test]
async fn a_refused_create_leaves_no_gap_in_the_numbers() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    app.stub(&token, "Ahmed", "92123456").await;
    // Same phone: refused inside the transaction after the counter moved; rolled back.
    let dup = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "Other", "phone": "+968 9212 3456"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{dup:?}");
    assert_eq!(dup.code(), "customer.phone-taken");
    let next = app.stub(&token, "Badr", "92123457").await;
    assert_eq!(next["customerNumber"], "CUST-00002");
}
