//! Customer numbers: sequential and gapless per tenant, under concurrency.

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
async fn two_hundred_concurrent_creates_get_numbers_one_to_two_hundred_without_gaps() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let (_, token) = app.tenant_with("busy-shop", Role::Cashier).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let app = app.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            // Half guests, half stubs with distinct phones.
            let body = if i % 2 == 0 {
                json!({"type": "guest"})
            } else {
                json!({"type": "stub", "firstName": "Ahmed", "phone": format!("9{:07}", 2_100_000 + i)})
            };
            let a = app.post("/api/v1/customers", &token, body).await;
            assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
            number(&a.body)
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
async fn two_tenants_count_their_customer_numbers_independently() {
    let app = TestApp::spawn().await;
    let (_, a) = app.tenant_with("shop-a", Role::Cashier).await;
    let (_, b) = app.tenant_with("shop-b", Role::Cashier).await;
    for expected in 1..=3 {
        let ca = app
            .post("/api/v1/customers", &a, json!({"type": "guest"}))
            .await;
        assert_eq!(number(&ca.body), expected);
    }
    let cb = app
        .post("/api/v1/customers", &b, json!({"type": "guest"}))
        .await;
    assert_eq!(cb.body["customerNumber"], "CUST-00001");
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
