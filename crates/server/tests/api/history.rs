//! A customer's history over REST: who did what (by name), from which till, which fields (never
//! their values), and the merges it took part in; managers only, this shop's customers only.

use crate::support::TestApp;
use dukkan_server::staff::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_manager_reads_who_changed_a_customer_from_where_and_its_merges_never_the_values() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let cashier = app.sign_in("shop", Role::Cashier).await;
    let c = app.stub(&manager, "Ahmed", "92123456").await;
    let id = c["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/customers/{id}");
    let edited = app
        .patch(&path, &manager, json!({"email": "secret@example.om"}))
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{edited:?}");
    let added = app
        .post(
            &format!("{path}/addresses"),
            &manager,
            json!({"addressType": "home", "area": "Ruwi", "country": "OM"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{added:?}");
    // A change made at a till, pushed over sync.
    let device = app.device_token("shop").await;
    let pushed = app
        .post(
            "/api/v1/sync/push",
            &device,
            json!({"protocol": 2, "ops": [{"opId": uuid::Uuid::now_v7(), "deviceSeq": 1,
                "kind": "customer_updated", "staffId": null, "at": "2026-12-05T08:00:00Z",
                "payload": {"id": id, "lastName": "Al Balushi"}}]}),
        )
        .await;
    assert_eq!(pushed.body["results"][0]["result"], "applied", "{pushed:?}");
    // A duplicate merged into this customer.
    let dup = app.stub(&manager, "Ahmad", "93334444").await;
    let merged = app
        .post(
            "/api/v1/customers/merge",
            &manager,
            json!({"sourceId": dup["id"], "targetId": id, "reason": "duplicate-name"}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");

    let history = app.get(&format!("{path}/history"), &manager).await;
    assert_eq!(history.status, StatusCode::OK, "{history:?}");
    let audit = history.body["audit"].as_array().unwrap();
    assert!(audit.len() >= 4, "{audit:?}");
    let ats: Vec<&str> = audit.iter().map(|a| a["at"].as_str().unwrap()).collect();
    assert!(
        ats.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {ats:?}"
    );
    let by_manager = audit
        .iter()
        .find(|a| a["fields"].as_array().unwrap().iter().any(|f| f == "email"))
        .expect("the email edit");
    assert_eq!(by_manager["staffName"], "Salim");
    assert!(
        audit.iter().any(|a| a["action"] == "address"),
        "the address change: {audit:?}"
    );
    let from_till = audit
        .iter()
        .find(|a| {
            a["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "lastName")
        })
        .expect("the till's edit");
    assert_eq!(from_till["deviceName"], "Till");
    let text = history.body.to_string();
    assert!(!text.contains("secret@example.om") && !text.contains("Al Balushi"));
    let merges = history.body["merges"].as_array().unwrap();
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0]["sourceCustomerId"], dup["id"]);
    assert_eq!(merges[0]["reason"], "duplicate-name");
    // The duplicate's history shows the merge too.
    let dup_history = app
        .get(
            &format!("/api/v1/customers/{}/history", dup["id"].as_str().unwrap()),
            &manager,
        )
        .await;
    assert_eq!(dup_history.body["merges"].as_array().unwrap().len(), 1);
    // A limit.
    let one = app.get(&format!("{path}/history?limit=1"), &manager).await;
    assert_eq!(one.body["audit"].as_array().unwrap().len(), 1);

    // Cashiers may not; other shops' customers are not found; bad queries are refused.
    let refused = app.get(&format!("{path}/history"), &cashier).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let (_, other) = app.tenant_with("other", Role::Manager).await;
    let hidden = app.get(&format!("{path}/history"), &other).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    for bad in ["limit=0", "limit=501", "limit=x", "since=1"] {
        let a = app.get(&format!("{path}/history?{bad}"), &manager).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "request.invalid-query"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_till_reads_the_history_of_its_own_shops_customers_as_managers_do() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let c = app.stub(&manager, "Ahmed", "92123456").await;
    let id = c["id"].as_str().unwrap().to_owned();
    let device = app.device_token("shop").await;
    // The manager, signed in at the till, edits the customer there; the op names them.
    let roster = app.get("/api/v1/sync/staff", &device).await;
    let salim = roster.body["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Salim")
        .expect("the manager on the roster")["id"]
        .clone();
    let pushed = app
        .post(
            "/api/v1/sync/push",
            &device,
            json!({"protocol": 2, "ops": [{"opId": uuid::Uuid::now_v7(), "deviceSeq": 1,
                "kind": "customer_updated", "staffId": salim, "at": "2026-12-05T08:00:00Z",
                "payload": {"id": id, "lastName": "Al Balushi"}}]}),
        )
        .await;
    assert_eq!(pushed.body["results"][0]["result"], "applied", "{pushed:?}");

    let path = format!("/api/v1/sync/customers/{id}/history");
    let history = app.get(&path, &device).await;
    assert_eq!(history.status, StatusCode::OK, "{history:?}");
    let audit = history.body["audit"].as_array().unwrap();
    let from_till = audit
        .iter()
        .find(|a| {
            a["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "lastName")
        })
        .expect("the till's edit");
    assert_eq!(from_till["staffName"], "Salim");
    assert_eq!(from_till["deviceName"], "Till");
    assert_eq!(from_till["action"], "update");
    assert!(!history.body.to_string().contains("Al Balushi"));
    // The very answer managers get over REST.
    let rest = app
        .get(&format!("/api/v1/customers/{id}/history"), &manager)
        .await;
    assert_eq!(rest.body, history.body);
    let one = app.get(&format!("{path}?limit=1"), &device).await;
    assert_eq!(one.body["audit"].as_array().unwrap().len(), 1);

    // Another shop's till does not see it; an unknown id is not found either.
    let (_, _) = app.tenant_with("other", Role::Manager).await;
    let other = app.device_token("other").await;
    let hidden = app.get(&path, &other).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{hidden:?}");
    let unknown = app
        .get(
            &format!("/api/v1/sync/customers/{}/history", uuid::Uuid::now_v7()),
            &device,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    // No token, a staff session's token or a made-up one: not a device.
    let anonymous = app.call(reqwest::Method::GET, &path, None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    for token in ["not-a-token", manager.as_str()] {
        let refused = app.get(&path, token).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{refused:?}");
    }
    for bad in ["limit=0", "limit=501", "limit=x", "since=1"] {
        let a = app.get(&format!("{path}?{bad}"), &device).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "request.invalid-query"),
            "{bad}"
        );
    }
}
