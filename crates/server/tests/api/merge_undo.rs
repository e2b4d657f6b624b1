//! Undoing a merge within 24 hours: the duplicate comes back with exactly what moved (orders,
//! addresses and their default, points), the customer that stayed gives back what it took;
//! refused once it is too late or later changes make it unsafe, with nothing written; the same
//! rules for a merge and an undo a till pushes, applied once however often they come.

use crate::support::{TestApp, PIN};
use dukkan_server::staff::{self, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

const PUSH: &str = "/api/v1/sync/push";
const AT: &str = "2026-12-05T08:00:00.000Z";

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

async fn customer(app: &TestApp, token: &str, id: &str) -> Value {
    let a = app.get(&format!("/api/v1/customers/{id}"), token).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    a.body
}

async fn order(app: &TestApp, token: &str, customer: &str, baisa: i64) {
    let a = app
        .post(
            &format!("/api/v1/customers/{customer}/orders"),
            token,
            json!({"ticket": "T", "amountBaisa": baisa, "pieces": 1}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
}

async fn address(app: &TestApp, token: &str, customer: &str, area: &str) {
    let a = app
        .post(
            &format!("/api/v1/customers/{customer}/addresses"),
            token,
            json!({"addressType": "home", "area": area, "city": "Muscat"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
}

/// (area, isDefault) of a customer's addresses, sorted.
async fn addresses_of(app: &TestApp, token: &str, customer: &str) -> Vec<(String, bool)> {
    let a = app
        .get(&format!("/api/v1/customers/{customer}/addresses"), token)
        .await;
    let mut out: Vec<(String, bool)> = a
        .body
        .as_array()
        .expect("addresses")
        .iter()
        .map(|x| {
            (
                x["area"].as_str().expect("area").to_owned(),
                x["isDefault"].as_bool().expect("default"),
            )
        })
        .collect();
    out.sort();
    out
}

async fn merge(app: &TestApp, token: &str, source: &str, target: &str) -> Value {
    let m = app
        .post(
            "/api/v1/customers/merge",
            token,
            json!({"sourceId": source, "targetId": target, "reason": "Same person"}),
        )
        .await;
    assert_eq!(m.status, StatusCode::OK, "{m:?}");
    m.body
}

fn undo_path(merge: &Value) -> String {
    format!(
        "/api/v1/customers/merges/{}/undo",
        merge["mergeId"].as_str().expect("merge id")
    )
}

/// Everything the database holds that an undo could change, behind the API's back.
async fn state(app: &TestApp) -> (i64, i64, i64, i64, i64) {
    (
        app.count("SELECT count(*) FROM customers WHERE active")
            .await,
        app.count("SELECT coalesce(sum(loyalty_points), 0)::bigint FROM customers")
            .await,
        app.count("SELECT count(*) FROM customer_merges WHERE undone_at IS NOT NULL")
            .await,
        app.count("SELECT count(*) FROM audit_log").await,
        app.count("SELECT count(*) FROM change_feed").await,
    )
}

#[tokio::test]
async fn an_undo_brings_the_duplicate_back_with_its_orders_addresses_points_and_what_the_guest_took(
) {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let guest = id_of(
        &app.post("/api/v1/customers", &manager, json!({"type": "guest"}))
            .await
            .body,
    );
    order(&app, &manager, &guest, 2_000).await;
    let stub = id_of(&app.stub(&manager, "Salim", "92123456").await);
    order(&app, &manager, &stub, 5_000).await;
    order(&app, &manager, &stub, 7_500).await;
    address(&app, &manager, &stub, "Ruwi").await;
    address(&app, &manager, &stub, "Qurum").await;

    let merged = merge(&app, &manager, &stub, &guest).await;
    assert_eq!(merged["ordersMoved"], 2);
    assert_eq!(
        merged["target"]["type"], "stub",
        "the guest took a name and a phone"
    );
    assert_eq!(merged["target"]["loyaltyPoints"], 14);
    assert_eq!(merged["target"]["totalOrders"], 3);

    let undone = app.post(&undo_path(&merged), &manager, json!({})).await;
    assert_eq!(undone.status, StatusCode::OK, "{undone:?}");
    let source = &undone.body["source"];
    assert_eq!(source["isActive"], true);
    assert_eq!(source["phone"], "+96892123456");
    assert_eq!(source["loyaltyPoints"], 12);
    assert_eq!(source["totalOrders"], 2);
    assert_eq!(source["totalSpentMinor"], 12_500);
    let target = &undone.body["target"];
    assert_eq!(target["type"], "guest");
    assert_eq!(target["firstName"], Value::Null);
    assert_eq!(target["phone"], Value::Null);
    assert_eq!(target["loyaltyPoints"], 2);
    assert_eq!(target["totalOrders"], 1);
    assert_eq!(
        addresses_of(&app, &manager, &stub).await,
        vec![("Qurum".to_owned(), false), ("Ruwi".to_owned(), true)],
        "its addresses are back, with its default"
    );
    assert_eq!(addresses_of(&app, &manager, &guest).await, vec![]);
    // The stub is found by its phone again, the guest is not.
    let found = app.get("/api/v1/customers?search=92123456", &manager).await;
    let ids: Vec<&str> = found.body["customers"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, vec![stub.as_str()], "{found:?}");

    // The merge log says it was undone, for both customers.
    for c in [&stub, &guest] {
        let h = app
            .get(&format!("/api/v1/customers/{c}/history"), &manager)
            .await;
        assert!(h.body["merges"][0]["undoneAt"].is_string(), "{h:?}");
    }
    // Undone already: the same answer, nothing more is written.
    let before = state(&app).await;
    let again = app.post(&undo_path(&merged), &manager, json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_eq!(again.body["source"]["loyaltyPoints"], 12);
    assert_eq!(state(&app).await, before);
}

#[tokio::test]
async fn an_undo_is_refused_when_too_late_or_unsafe_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let cashier = app.sign_in("shop", Role::Cashier).await;
    let pair = |a: &'static str, b: &'static str| {
        let app = &app;
        let manager = manager.clone();
        async move {
            let keep = id_of(&app.stub(&manager, "Aisha", a).await);
            let dup = id_of(&app.stub(&manager, "Aisha", b).await);
            order(app, &manager, &dup, 9_000).await;
            let m = merge(app, &manager, &dup, &keep).await;
            (keep, dup, m)
        }
    };
    let refused = |m: Value, token: String, code: &'static str| {
        let app = &app;
        async move {
            let before = state(app).await;
            let r = app.post(&undo_path(&m), &token, json!({})).await;
            assert_eq!(r.code(), code, "{r:?}");
            assert_eq!(state(app).await, before, "{code}: nothing written");
        }
    };

    // A cashier may not.
    let (_, _, m) = pair("91000001", "91000002").await;
    refused(m, cashier.clone(), "auth.forbidden").await;

    // More than 24 hours later.
    let (_, _, m) = pair("91000003", "91000004").await;
    let owner = app.owner.get().await.expect("owner");
    owner
        .execute(
            "UPDATE customer_merges SET merged_at = now() - interval '24 hours 1 minute'
             WHERE id = $1",
            &[&Uuid::parse_str(m["mergeId"].as_str().unwrap()).unwrap()],
        )
        .await
        .expect("backdate");
    refused(m, manager.clone(), "merge.undo-expired").await;

    // The points it received were spent.
    let (keep, _, m) = pair("91000005", "91000006").await;
    let spent = app
        .post(
            &format!("/api/v1/customers/{keep}/points"),
            &manager,
            json!({"delta": -5, "reason": "Redeemed"}),
        )
        .await;
    assert_eq!(spent.status, StatusCode::CREATED, "{spent:?}");
    refused(m, manager.clone(), "merge.undo-unsafe").await;

    // The customer that stayed was deactivated.
    let (keep, _, m) = pair("91000007", "91000008").await;
    let off = app
        .delete(&format!("/api/v1/customers/{keep}"), &manager)
        .await;
    assert!(off.status.is_success(), "{off:?}");
    refused(m, manager.clone(), "merge.undo-unsafe").await;

    // Someone else took the duplicate's phone meanwhile: the refusal names them.
    let (_, _, m) = pair("91000009", "91000010").await;
    app.stub(&manager, "Maryam", "91000010").await;
    let r = app.post(&undo_path(&m), &manager, json!({})).await;
    assert_eq!(r.code(), "customer.phone-taken", "{r:?}");
    assert!(
        r.body["message"].as_str().unwrap_or("").contains("Maryam"),
        "{r:?}"
    );

    // Another shop's merge, or none: not found.
    let (_, other) = app.tenant_with("other", Role::Manager).await;
    let (_, _, m) = pair("91000011", "91000012").await;
    refused(m, other, "record.not-found").await;
    let missing = app
        .post(
            &format!("/api/v1/customers/merges/{}/undo", Uuid::now_v7()),
            &manager,
            json!({}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
    let bad = app
        .post(
            "/api/v1/customers/merges/not-a-uuid/undo",
            &manager,
            json!({}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{bad:?}");
}

#[tokio::test]
async fn a_merge_needs_a_clean_reason_and_writes_nothing_without_one() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let a = id_of(&app.stub(&manager, "Aisha", "91000001").await);
    let b = id_of(&app.stub(&manager, "Aisha", "91000002").await);
    for (reason, status) in [
        (json!(""), StatusCode::UNPROCESSABLE_ENTITY),
        (json!("   "), StatusCode::UNPROCESSABLE_ENTITY),
        (json!("x".repeat(10_000)), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!("Same\u{202E}person"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!("two\nlines"), StatusCode::UNPROCESSABLE_ENTITY),
        (json!(42), StatusCode::UNPROCESSABLE_ENTITY),
        (Value::Null, StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let r = app
            .post(
                "/api/v1/customers/merge",
                &manager,
                json!({"sourceId": a, "targetId": b, "reason": reason}),
            )
            .await;
        assert_eq!(r.status, status, "{reason}: {r:?}");
    }
    assert_eq!(app.count("SELECT count(*) FROM customer_merges").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE NOT active")
            .await,
        0
    );
}

#[tokio::test]
async fn a_pushed_merge_and_undo_are_authorised_like_rest_and_apply_once_however_often_sent() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Manager).await;
    let cashier = staff::add(&app.owner, "shop", "Aisha", Role::Cashier, PIN)
        .await
        .expect("staff")
        .id
        .0;
    let manager = staff::add(&app.owner, "shop", "Maryam", Role::Manager, PIN)
        .await
        .expect("staff")
        .id
        .0;
    let device = app.device_token("shop").await;
    let keep = id_of(&app.stub(&token, "Salim", "92123456").await);
    let dup = id_of(&app.stub(&token, "Salim", "92123457").await);
    order(&app, &token, &dup, 3_000).await;
    let merge_id = Uuid::now_v7();
    let op = |seq: i64, kind: &str, staff: Option<Uuid>| {
        let payload = if kind == "customer_merged" {
            json!({"mergeId": merge_id, "customerId": dup, "targetId": keep, "reason": "Typo in phone"})
        } else {
            json!({"mergeId": merge_id, "customerId": dup, "targetId": keep})
        };
        json!({"opId": Uuid::now_v7(), "deviceSeq": seq, "kind": kind, "payload": payload,
               "staffId": staff.map(|s| s.to_string()), "at": AT})
    };
    let push = |ops: Vec<Value>| {
        let app = &app;
        let device = device.clone();
        async move {
            let a = app
                .post(PUSH, &device, json!({"protocol": 2, "ops": ops}))
                .await;
            assert_eq!(a.status, StatusCode::OK, "{a:?}");
            a.body["results"].as_array().expect("results").clone()
        }
    };
    let answers = push(vec![
        op(1, "customer_merged", Some(cashier)),
        op(2, "customer_merged", None),
        op(3, "customer_merged", Some(manager)),
        op(4, "customer_merged", Some(manager)),
    ])
    .await;
    for a in &answers[..2] {
        assert_eq!(
            (&a["result"], &a["code"]),
            (&json!("rejected"), &json!("auth.forbidden")),
            "{a}"
        );
    }
    assert_eq!(answers[2]["result"], "applied", "{answers:?}");
    assert_eq!(answers[3]["result"], "applied", "the same merge again");
    assert_eq!(app.count("SELECT count(*) FROM customer_merges").await, 1);
    let kept = customer(&app, &token, &keep).await;
    assert_eq!(
        (kept["totalOrders"].clone(), kept["loyaltyPoints"].clone()),
        (json!(1), json!(3))
    );
    assert_eq!(customer(&app, &token, &dup).await["isActive"], false);
    // The REST door names it by the same id.
    let history = app
        .get(&format!("/api/v1/customers/{keep}/history"), &token)
        .await;
    assert_eq!(history.body["merges"][0]["id"], merge_id.to_string());
    assert_eq!(history.body["merges"][0]["reason"], "Typo in phone");

    let answers = push(vec![
        op(5, "merge_undone", Some(cashier)),
        op(6, "merge_undone", Some(manager)),
        op(7, "merge_undone", Some(manager)),
    ])
    .await;
    assert_eq!(answers[0]["code"], "auth.forbidden", "{answers:?}");
    assert_eq!(answers[1]["result"], "applied", "{answers:?}");
    assert_eq!(answers[2]["result"], "applied", "undone already: done");
    let back = customer(&app, &token, &dup).await;
    assert_eq!(
        (
            back["isActive"].clone(),
            back["totalOrders"].clone(),
            back["loyaltyPoints"].clone()
        ),
        (json!(true), json!(1), json!(3))
    );
    assert_eq!(customer(&app, &token, &keep).await["loyaltyPoints"], 0);
    assert_eq!(
        app.count("SELECT count(*) FROM customer_merges WHERE undone_at IS NOT NULL")
            .await,
        1
    );
    // A merge pushed under the same id with other customers is refused.
    let other = id_of(&app.stub(&token, "Badr", "93334444").await);
    let clash = push(vec![
        json!({"opId": Uuid::now_v7(), "deviceSeq": 8, "kind": "customer_merged",
        "payload": {"mergeId": merge_id, "customerId": other, "targetId": keep, "reason": "x"},
        "staffId": manager.to_string(), "at": AT}),
    ])
    .await;
    assert_eq!(clash[0]["result"], "rejected", "{clash:?}");
    assert_eq!(customer(&app, &token, &other).await["isActive"], true);
}
