//! Addresses: CRUD, exactly one default, validation, isolation.

use crate::support::TestApp;
use dukkan_server::staff::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_first_address_becomes_default_and_the_default_moves_when_asked() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app.stub(&token, "Ahmed", "92123456").await;
    let base = format!("/api/v1/customers/{}/addresses", c["id"].as_str().unwrap());
    let home = app
        .post(
            &base,
            &token,
            json!({"addressType": "home", "area": "Al Khuwair", "city": "Muscat",
                   "latitude": 23.588, "longitude": 58.3829, "deliveryNotes": "Blue gate\nRing twice"}),
        )
        .await;
    assert_eq!(home.status, StatusCode::CREATED, "{home:?}");
    assert_eq!(home.body["isDefault"], true);
    assert_eq!(home.body["country"], "OM");
    assert_eq!(home.body["deliveryNotes"], "Blue gate\nRing twice");
    let work = app
        .post(
            &base,
            &token,
            json!({"addressType": "work", "street": "Way 3011", "isDefault": true}),
        )
        .await;
    assert_eq!(work.body["isDefault"], true);
    let list = app.get(&base, &token).await;
    let list = list.body.as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], work.body["id"], "default first");
    assert_eq!(list[1]["isDefault"], false);

    let home_path = format!("{base}/{}", home.body["id"].as_str().unwrap());
    let d = app
        .post(&format!("{home_path}/default"), &token, json!({}))
        .await;
    assert_eq!(d.status, StatusCode::OK, "{d:?}");
    assert_eq!(d.body["isDefault"], true);
    assert_eq!(
        app.count("SELECT count(*) FROM addresses WHERE is_default")
            .await,
        1
    );
    // The default cannot be switched off directly: another must be chosen.
    let off = app
        .patch(&home_path, &token, json!({"isDefault": false}))
        .await;
    assert_eq!(off.code(), "address.default-required");
}

#[tokio::test]
async fn patch_keeps_absent_fields_and_checks_the_whole_result() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app.stub(&token, "Ahmed", "92123456").await;
    let base = format!("/api/v1/customers/{}/addresses", c["id"].as_str().unwrap());
    let a = app
        .post(
            &base,
            &token,
            json!({"city": "Muscat", "latitude": 23.5, "longitude": 58.4}),
        )
        .await;
    let path = format!("{base}/{}", a.body["id"].as_str().unwrap());
    let p = app
        .patch(&path, &token, json!({"street": "Way 1", "label": "Mum's"}))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{p:?}");
    assert_eq!(p.body["city"], "Muscat");
    assert_eq!(p.body["street"], "Way 1");
    assert_eq!(p.body["latitude"], 23.5);
    let half_gps = app.patch(&path, &token, json!({"longitude": null})).await;
    assert_eq!(half_gps.code(), "validation.incomplete-gps");
    let out = app.patch(&path, &token, json!({"latitude": 91.0})).await;
    assert_eq!(out.code(), "validation.out-of-range");
    let country = app.patch(&path, &token, json!({"country": "XX"})).await;
    assert_eq!(country.code(), "validation.invalid-country");
    let empty = app
        .patch(
            &path,
            &token,
            json!({"city": null, "street": null, "latitude": null, "longitude": null}),
        )
        .await;
    assert_eq!(
        empty.code(),
        "validation.required",
        "an address needs a place or GPS"
    );
}

#[tokio::test]
async fn deleting_the_default_promotes_the_newest_remaining_address_as_on_the_till() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app.stub(&token, "Ahmed", "92123456").await;
    let base = format!("/api/v1/customers/{}/addresses", c["id"].as_str().unwrap());
    let first = app
        .post(&base, &token, json!({"city": "Muscat"}))
        .await
        .body;
    app.post(&base, &token, json!({"city": "Sohar"})).await;
    let third = app.post(&base, &token, json!({"city": "Nizwa"})).await.body;
    let del = app
        .delete(&format!("{base}/{}", first["id"].as_str().unwrap()), &token)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let list = app.get(&base, &token).await.body;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["id"], third["id"]);
    assert_eq!(list[0]["isDefault"], true);
    let gone = app
        .delete(&format!("{base}/{}", first["id"].as_str().unwrap()), &token)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_address_of_another_customer_or_tenant_is_not_found_and_untouched() {
    let app = TestApp::spawn().await;
    let (_, a) = app.tenant_with("shop-a", Role::Admin).await;
    let (_, b) = app.tenant_with("shop-b", Role::Admin).await;
    let mine = app.stub(&a, "Ahmed", "92123456").await;
    let theirs = app.stub(&b, "Badr", "93334444").await;
    let their_base = format!(
        "/api/v1/customers/{}/addresses",
        theirs["id"].as_str().unwrap()
    );
    let their_addr = app
        .post(&their_base, &b, json!({"city": "Sohar"}))
        .await
        .body;
    let aid = their_addr["id"].as_str().unwrap();
    // Through their customer id, and through my customer id with their address id.
    for base in [
        their_base.clone(),
        format!(
            "/api/v1/customers/{}/addresses",
            mine["id"].as_str().unwrap()
        ),
    ] {
        let path = format!("{base}/{aid}");
        assert_eq!(
            app.patch(&path, &a, json!({"city": "X"})).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.delete(&path, &a).await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            app.post(&format!("{path}/default"), &a, json!({}))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    let still = app.get(&their_base, &b).await.body;
    assert_eq!(still[0], their_addr);
}

#[tokio::test]
async fn a_customer_has_at_most_twenty_addresses() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app.stub(&token, "Ahmed", "92123456").await;
    let base = format!("/api/v1/customers/{}/addresses", c["id"].as_str().unwrap());
    for i in 0..20 {
        let a = app
            .post(&base, &token, json!({"city": format!("City {i}")}))
            .await;
        assert_eq!(a.status, StatusCode::CREATED);
    }
    let over = app.post(&base, &token, json!({"city": "One more"})).await;
    assert_eq!(over.status, StatusCode::CONFLICT);
    assert_eq!(over.code(), "address.limit-reached");
}
