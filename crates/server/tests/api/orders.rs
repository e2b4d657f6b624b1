//! The orders ledger and loyalty points: an order earns the shop's points once, whichever door
//! it comes through (REST, a till's push) and however often it is sent; a manager's points
//! adjustment never takes a customer below zero; the tills hear of orders in their pulls and
//! of the shop's rule in the roster.

use crate::support::{TestApp, PIN};
use dukkan_server::staff::{self, Role};
use dukkan_server::tenants;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

const PUSH: &str = "/api/v1/sync/push";
const AT: &str = "2026-12-05T08:00:00.000Z";

fn orders_of(customer: &str) -> String {
    format!("/api/v1/customers/{customer}/orders")
}

fn points_of(customer: &str) -> String {
    format!("/api/v1/customers/{customer}/points")
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// One pushed op, as a till sends it.
fn op(seq: i64, kind: &str, payload: Value, staff: Option<Uuid>) -> Value {
    json!({
        "opId": Uuid::now_v7(), "deviceSeq": seq, "kind": kind, "payload": payload,
        "staffId": staff.map(|s| s.to_string()), "at": AT,
    })
}

fn order_op(seq: i64, order: Uuid, customer: &str, amount: i64, staff: Option<Uuid>) -> Value {
    op(
        seq,
        "order_recorded",
        json!({"orderId": order, "customerId": customer, "ticket": "BEEF-00001",
               "amountBaisa": amount, "pieces": 2}),
        staff,
    )
}

async fn push(app: &TestApp, device: &str, ops: Vec<Value>) -> Vec<Value> {
    let a = app
        .post(PUSH, device, json!({"protocol": 2, "ops": ops}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    a.body["results"].as_array().expect("results").clone()
}

async fn member(app: &TestApp, slug: &str, name: &str, role: Role) -> Uuid {
    staff::add(&app.owner, slug, name, role, PIN)
        .await
        .expect("staff")
        .id
        .0
}

async fn customer(app: &TestApp, token: &str, id: &str) -> Value {
    let a = app.get(&format!("/api/v1/customers/{id}"), token).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    a.body
}

/// What was written for orders and points, counted behind the API's back.
async fn written(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.count("SELECT count(*) FROM orders").await,
        app.count("SELECT count(*) FROM loyalty_adjustments").await,
        app.count("SELECT coalesce(sum(loyalty_points), 0)::bigint FROM customers")
            .await,
        app.count("SELECT count(*) FROM audit_log").await,
    )
}

/// The customer `id` as the latest change of a pull from the start carries it.
async fn pulled(app: &TestApp, device: &str, id: &str) -> Value {
    let a = app
        .get("/api/v1/sync/pull?since=0&limit=1000", device)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    a.body["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .rev()
        .find(|c| c["customer"]["id"] == id)
        .unwrap_or_else(|| panic!("{id} not pulled: {a:?}"))["customer"]
        .clone()
}

#[tokio::test]
async fn an_order_posted_over_rest_is_listed_and_counts_in_the_customers_orders_spend_and_points() {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let c = id_of(&app.stub(&cashier, "Ahmed", "92123456").await);
    assert_eq!(
        customer(&app, &cashier, &c).await["lastOrderAt"],
        Value::Null
    );

    let first = app
        .post(
            &orders_of(&c),
            &cashier,
            json!({"ticket": " T-1 ", "amountBaisa": 12_500, "pieces": 3, "note": "No starch"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert_eq!(first.body["ticket"], "T-1", "cleaned as typed text is");
    assert_eq!(first.body["amountBaisa"], 12_500);
    assert_eq!(first.body["pieces"], 3);
    assert_eq!(first.body["note"], "No starch");
    assert_eq!(
        first.body["points"], 12,
        "1 point per whole rial by default"
    );
    let second = app
        .post(
            &orders_of(&c),
            &cashier,
            json!({"ticket": "T-2", "amountBaisa": 999, "pieces": 1}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{second:?}");
    assert_eq!(second.body["points"], 0, "under a rial earns nothing");
    assert_eq!(second.body["note"], Value::Null);

    let list = app.get(&orders_of(&c), &cashier).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.body["orders"], json!([second.body, first.body]));
    assert_eq!(list.body["nextBefore"], Value::Null);

    let after = customer(&app, &cashier, &c).await;
    assert_eq!(after["totalOrders"], 2);
    assert_eq!(after["totalSpentMinor"], 13_499);
    assert_eq!(after["loyaltyPoints"], 12);
    let last: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(after["lastOrderAt"].clone()).expect("lastOrderAt");
    let newest: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(second.body["createdAt"].clone()).unwrap();
    assert!(
        (last - newest).num_milliseconds().abs() <= 1,
        "{last} {newest}"
    );
    // Every order is a change of the customer in its history.
    let history = app
        .get(
            &format!("/api/v1/customers/{c}/history"),
            &app.sign_in("shop", Role::Manager).await,
        )
        .await;
    let actions: Vec<&str> = history.body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "order").count(), 2);
}

#[tokio::test]
async fn orders_are_listed_newest_first_page_after_page_with_the_before_cursor() {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let c = id_of(&app.stub(&cashier, "Ahmed", "92123456").await);
    let mut made = Vec::new();
    for n in 0..5 {
        let a = app
            .post(
                &orders_of(&c),
                &cashier,
                json!({"ticket": format!("T-{n}"), "amountBaisa": 1_000, "pieces": 1}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        made.push(id_of(&a.body));
    }
    made.reverse();
    let mut seen = Vec::new();
    let mut path = format!("{}?limit=2", orders_of(&c));
    loop {
        let page = app.get(&path, &cashier).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        let orders = page.body["orders"].as_array().unwrap();
        assert!(orders.len() <= 2);
        seen.extend(orders.iter().map(id_of));
        match page.body["nextBefore"].as_str() {
            Some(next) => path = format!("{}?limit=2&before={next}", orders_of(&c)),
            None => break,
        }
    }
    assert_eq!(seen, made, "every order once, newest first");
    for bad in [
        "limit=0".to_owned(),
        "limit=201".to_owned(),
        "limit=x".to_owned(),
        "page=2".to_owned(),
        format!("before={}", Uuid::now_v7()),
        "before=not-an-id".to_owned(),
    ] {
        let a = app.get(&format!("{}?{bad}", orders_of(&c)), &cashier).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "request.invalid-query"),
            "{bad}: {a:?}"
        );
    }
    let full = app
        .get(&format!("{}?limit=200", orders_of(&c)), &cashier)
        .await;
    assert_eq!(full.body["orders"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn posting_the_same_order_id_again_records_it_once_and_answers_the_stored_order() {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let c = id_of(&app.stub(&cashier, "Ahmed", "92123456").await);
    let other = id_of(&app.stub(&cashier, "Salim", "93334444").await);
    let id = Uuid::now_v7();
    let body = json!({"id": id, "ticket": "T-1", "amountBaisa": 5_000, "pieces": 2});
    let first = app.post(&orders_of(&c), &cashier, body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert_eq!(first.body["id"], id.to_string());
    let before = written(&app).await;
    let again = app.post(&orders_of(&c), &cashier, body.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "a retry: {again:?}");
    assert_eq!(again.body, first.body, "the stored order");
    assert_eq!(written(&app).await, before, "nothing recorded twice");
    let after = customer(&app, &cashier, &c).await;
    assert_eq!(
        (&after["totalOrders"], &after["loyaltyPoints"]),
        (&json!(1), &json!(5))
    );
    // The id of an order with other figures, or of another customer's order, is taken.
    let changed = app
        .post(
            &orders_of(&c),
            &cashier,
            json!({"id": id, "ticket": "T-1", "amountBaisa": 6_000, "pieces": 2}),
        )
        .await;
    assert_eq!(
        (changed.status, changed.code()),
        (StatusCode::CONFLICT, "customer.id-taken"),
        "{changed:?}"
    );
    let elsewhere = app.post(&orders_of(&other), &cashier, body).await;
    assert_eq!(
        (elsewhere.status, elsewhere.code()),
        (StatusCode::CONFLICT, "customer.id-taken"),
        "{elsewhere:?}"
    );
    assert_eq!(written(&app).await, before);
}

#[tokio::test]
async fn a_shop_rule_of_five_points_per_rial_earns_five_a_rial_and_reaches_the_tills_in_the_roster()
{
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    app.tenant("other").await;
    let device = app.device_token("shop").await;
    let roster = app.get("/api/v1/sync/staff", &device).await;
    assert_eq!(roster.body["loyalty"], json!({"pointsPerRial": 1}));
    let tag = roster.header("etag").to_owned();

    let rule = tenants::set_points_per_rial(&app.owner, "shop", 5)
        .await
        .expect("a rule of 5");
    assert_eq!(rule.points_per_rial, 5);
    assert!(
        tenants::set_points_per_rial(&app.owner, "shop", 1_001)
            .await
            .is_err(),
        "more than 1,000 a rial is refused"
    );
    assert!(tenants::set_points_per_rial(&app.owner, "nowhere", 5)
        .await
        .is_err());

    let changed = app
        .client
        .get(format!("{}/api/v1/sync/staff", app.base))
        .bearer_auth(&device)
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    let changed = TestApp::answer(changed).await;
    assert_eq!(changed.status, StatusCode::OK, "the rule changed the ETag");
    assert_ne!(changed.header("etag"), tag);
    assert_eq!(changed.body["loyalty"], json!({"pointsPerRial": 5}));
    let other_device = app.device_token("other").await;
    let other = app.get("/api/v1/sync/staff", &other_device).await;
    assert_eq!(
        other.body["loyalty"],
        json!({"pointsPerRial": 1}),
        "per shop"
    );

    let c = id_of(&app.stub(&cashier, "Ahmed", "92123456").await);
    let order = app
        .post(
            &orders_of(&c),
            &cashier,
            json!({"ticket": "T-1", "amountBaisa": 2_500, "pieces": 1}),
        )
        .await;
    assert_eq!(
        order.body["points"], 12,
        "2.5 rials at 5 a rial, rounded down"
    );
    let pushed = push(
        &app,
        &device,
        vec![order_op(1, Uuid::now_v7(), &c, 10_000, None)],
    )
    .await;
    assert_eq!(pushed[0]["result"], "applied", "{pushed:?}");
    assert_eq!(customer(&app, &cashier, &c).await["loyaltyPoints"], 62);
    // A rule of 0 gives no points; orders recorded before keep theirs.
    tenants::set_points_per_rial(&app.owner, "shop", 0)
        .await
        .unwrap();
    let none = app
        .post(
            &orders_of(&c),
            &cashier,
            json!({"ticket": "T-3", "amountBaisa": 50_000, "pieces": 1}),
        )
        .await;
    assert_eq!(none.body["points"], 0);
    assert_eq!(customer(&app, &cashier, &c).await["loyaltyPoints"], 62);
}

#[tokio::test]
async fn a_cashier_records_orders_but_only_a_manager_adjusts_points() {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let manager = app.sign_in("shop", Role::Manager).await;
    let c = id_of(&app.stub(&cashier, "Ahmed", "92123456").await);
    let before = written(&app).await;
    let refused = app
        .post(
            &points_of(&c),
            &cashier,
            json!({"delta": 50, "reason": "Welcome gift"}),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "auth.forbidden"),
        "{refused:?}"
    );
    assert_eq!(written(&app).await, before, "nothing written");

    let id = Uuid::now_v7();
    let body = json!({"id": id, "delta": 50, "reason": "Welcome gift"});
    let given = app.post(&points_of(&c), &manager, body.clone()).await;
    assert_eq!(given.status, StatusCode::CREATED, "{given:?}");
    assert_eq!(
        given.body,
        json!({"customerId": c, "adjustmentId": id, "delta": 50, "loyaltyPoints": 50})
    );
    let again = app.post(&points_of(&c), &manager, body).await;
    assert_eq!(again.status, StatusCode::OK, "a retry: {again:?}");
    assert_eq!(again.body, given.body);
    assert_eq!(customer(&app, &cashier, &c).await["loyaltyPoints"], 50);
    assert_eq!(
        app.count("SELECT count(*) FROM loyalty_adjustments WHERE reason = 'Welcome gift' AND delta = 50 AND adjusted_by IS NOT NULL").await,
        1
    );
    let taken = app
        .post(
            &points_of(&c),
            &manager,
            json!({"delta": -20, "reason": "Gift returned"}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CREATED, "{taken:?}");
    assert_eq!(taken.body["loyaltyPoints"], 30);
}

#[tokio::test]
async fn an_adjustment_that_would_leave_fewer_than_zero_points_is_refused_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let c = id_of(&app.stub(&manager, "Ahmed", "92123456").await);
    app.post(
        &orders_of(&c),
        &manager,
        json!({"ticket": "T-1", "amountBaisa": 12_000, "pieces": 1}),
    )
    .await;
    let before = written(&app).await;
    let refused = app
        .post(
            &points_of(&c),
            &manager,
            json!({"delta": -13, "reason": "Redeemed"}),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::CONFLICT, "loyalty.points-below-zero"),
        "{refused:?}"
    );
    assert!(
        refused.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("12")),
        "the message says how many there are: {refused:?}"
    );
    assert_eq!(written(&app).await, before, "nothing written");
    for (body, code) in [
        (
            json!({"delta": 0, "reason": "Nothing"}),
            "validation.out-of-range",
        ),
        (
            json!({"delta": 1_000_001, "reason": "Typo"}),
            "validation.out-of-range",
        ),
        (json!({"delta": 5, "reason": "  "}), "validation.required"),
        (
            json!({"delta": 5, "reason": "x".repeat(201)}),
            "validation.too-long",
        ),
        (
            json!({"delta": 5, "reason": "Gift\u{202E}"}),
            "validation.bidi-control",
        ),
        (
            json!({"delta": 5, "reason": "Two\nlines"}),
            "validation.control-character",
        ),
        (
            json!({"delta": "5", "reason": "Gift"}),
            "request.invalid-body",
        ),
        (json!({"delta": 5}), "request.invalid-body"),
        (
            json!({"delta": 5, "reason": "Gift", "points": 5}),
            "request.invalid-body",
        ),
    ] {
        let a = app.post(&points_of(&c), &manager, body.clone()).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, code),
            "{body:.80}: {a:?}"
        );
    }
    assert_eq!(written(&app).await, before, "nothing written");
    let all = app
        .post(
            &points_of(&c),
            &manager,
            json!({"delta": -12, "reason": "Redeemed"}),
        )
        .await;
    assert_eq!(
        all.body["loyaltyPoints"], 0,
        "down to zero is fine: {all:?}"
    );
}

#[tokio::test]
async fn an_order_for_a_deactivated_or_merged_customer_is_refused_over_rest() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let c = id_of(&app.stub(&manager, "Ahmed", "92123456").await);
    let d = app
        .delete(&format!("/api/v1/customers/{c}"), &manager)
        .await;
    assert_eq!(d.status, StatusCode::OK, "{d:?}");
    let before = written(&app).await;
    let order = json!({"ticket": "T-1", "amountBaisa": 1_000, "pieces": 1});
    let a = app.post(&orders_of(&c), &manager, order.clone()).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "customer.inactive"),
        "{a:?}"
    );
    let p = app
        .post(
            &points_of(&c),
            &manager,
            json!({"delta": 5, "reason": "Gift"}),
        )
        .await;
    assert_eq!(p.code(), "customer.inactive", "{p:?}");

    let source = id_of(&app.stub(&manager, "Salim", "93334444").await);
    let target = id_of(&app.stub(&manager, "Salim", "93335555").await);
    let merged = app
        .post(
            "/api/v1/customers/merge",
            &manager,
            json!({"sourceId": source, "targetId": target, "reason": "duplicate"}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");
    let before = (before.0, before.1, before.2);
    let a = app.post(&orders_of(&source), &manager, order).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "customer.merged"),
        "{a:?}"
    );
    let now = written(&app).await;
    assert_eq!((now.0, now.1, now.2), before, "nothing written");
}

#[tokio::test]
async fn hostile_order_input_is_refused_with_a_4xx_and_nothing_written() {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let (_, stranger) = app.tenant_with("other", Role::Admin).await;
    let c = id_of(&app.stub(&cashier, "Ahmed", "92123456").await);
    let theirs = id_of(&app.stub(&stranger, "Badr", "92123456").await);
    let before = written(&app).await;
    let order = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut o = json!({"ticket": "T-1", "amountBaisa": 1_000, "pieces": 1});
        f(o.as_object_mut().unwrap());
        o
    };
    let unprocessable = [
        (
            order(&|o| drop(o.insert("ticket".into(), json!("")))),
            "validation.required",
        ),
        (
            order(&|o| drop(o.insert("ticket".into(), json!("   ")))),
            "validation.required",
        ),
        (
            order(&|o| drop(o.insert("ticket".into(), json!("x".repeat(33))))),
            "validation.too-long",
        ),
        (
            order(&|o| drop(o.insert("note".into(), json!("n".repeat(10_000))))),
            "validation.too-long",
        ),
        (
            order(&|o| drop(o.insert("ticket".into(), json!("T-\u{202E}1")))),
            "validation.bidi-control",
        ),
        (
            order(&|o| drop(o.insert("note".into(), json!("A\u{2066}B")))),
            "validation.bidi-control",
        ),
        (
            order(&|o| drop(o.insert("ticket".into(), json!("T\u{0007}1")))),
            "validation.control-character",
        ),
        (
            order(&|o| drop(o.insert("ticket".into(), json!("T-1\nT-2")))),
            "validation.control-character",
        ),
        (
            order(&|o| drop(o.insert("note".into(), json!("A\u{0000}B")))),
            "validation.control-character",
        ),
        (
            order(&|o| drop(o.insert("amountBaisa".into(), json!(-1)))),
            "validation.out-of-range",
        ),
        (
            order(&|o| drop(o.insert("amountBaisa".into(), json!(100_000_001)))),
            "validation.out-of-range",
        ),
        (
            order(&|o| drop(o.insert("amountBaisa".into(), json!(i64::MAX)))),
            "validation.out-of-range",
        ),
        (
            order(&|o| drop(o.insert("pieces".into(), json!(0)))),
            "validation.out-of-range",
        ),
        (
            order(&|o| drop(o.insert("pieces".into(), json!(1_000)))),
            "validation.out-of-range",
        ),
        (
            order(&|o| drop(o.insert("pieces".into(), json!(-1)))),
            "request.invalid-body",
        ),
        (
            order(&|o| drop(o.insert("amountBaisa".into(), json!("1000")))),
            "request.invalid-body",
        ),
        (
            order(&|o| drop(o.insert("amountBaisa".into(), json!(12.5)))),
            "request.invalid-body",
        ),
        (
            order(&|o| drop(o.insert("amountBaisa".into(), json!(1e30)))),
            "request.invalid-body",
        ),
        (
            order(&|o| drop(o.insert("points".into(), json!(1_000_000)))),
            "request.invalid-body",
        ),
        (
            order(&|o| drop(o.insert("customerId".into(), json!(theirs)))),
            "request.invalid-body",
        ),
        (order(&|o| drop(o.remove("ticket"))), "request.invalid-body"),
        (
            order(&|o| drop(o.insert("id".into(), json!("not-a-uuid")))),
            "request.invalid-body",
        ),
    ];
    for (body, code) in &unprocessable {
        let a = app.post(&orders_of(&c), &cashier, body.clone()).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, *code),
            "{body:.100}: {a:?}"
        );
        assert!(a.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let raw: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (
            b"{\"ticket\": \"T-1\", ".to_vec(),
            StatusCode::BAD_REQUEST,
            "request.malformed-json",
        ),
        (
            b"{\"ticket\": \"\xff\xfe\", \"amountBaisa\": 1, \"pieces\": 1}".to_vec(),
            StatusCode::BAD_REQUEST,
            "request.malformed-json",
        ),
        (
            format!(
                "{{\"ticket\": \"T-1\", \"amountBaisa\": 1, \"pieces\": 1, \"note\": \"{}\"}}",
                "n".repeat(70 * 1024)
            )
            .into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.payload-too-large",
        ),
    ];
    for (body, status, code) in raw {
        let a = app
            .raw(
                Method::POST,
                &orders_of(&c),
                Some(&cashier),
                Some("application/json"),
                body,
            )
            .await;
        assert_eq!((a.status, a.code()), (status, code), "{a:?}");
    }
    // Another shop's customer, an unknown one, a path that is no id.
    let fine = order(&|_| {});
    for (path, status, code) in [
        (
            orders_of(&theirs),
            StatusCode::NOT_FOUND,
            "record.not-found",
        ),
        (
            orders_of(&Uuid::now_v7().to_string()),
            StatusCode::NOT_FOUND,
            "record.not-found",
        ),
        (
            orders_of("x"),
            StatusCode::BAD_REQUEST,
            "request.invalid-path",
        ),
    ] {
        let a = app.post(&path, &cashier, fine.clone()).await;
        assert_eq!((a.status, a.code()), (status, code), "POST {path}: {a:?}");
        let a = app.get(&path, &cashier).await;
        assert_eq!((a.status, a.code()), (status, code), "GET {path}: {a:?}");
    }
    let manager = app.sign_in("shop", Role::Manager).await;
    let a = app
        .post(
            &points_of(&theirs),
            &manager,
            json!({"delta": 5, "reason": "Gift"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{a:?}");
    assert_eq!(written(&app).await, before, "nothing written");
    assert_eq!(
        customer(&app, &stranger, &theirs).await["loyaltyPoints"],
        0,
        "the other shop's customer is untouched"
    );
}

#[tokio::test]
async fn a_pushed_order_applies_exactly_once_however_often_and_under_whatever_number_it_comes() {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let aisha = member(&app, "shop", "Aisha", Role::Cashier).await;
    let device = app.device_token("shop").await;
    let c = id_of(&app.stub(&cashier, "Ahmed", "92123456").await);
    let order = Uuid::now_v7();
    let first = order_op(1, order, &c, 7_500, Some(aisha));
    let answers = push(&app, &device, vec![first.clone()]).await;
    assert_eq!(answers[0]["result"], "applied", "{answers:?}");
    // The same op again (its answer was lost): a duplicate.
    let answers = push(&app, &device, vec![first]).await;
    assert_eq!(answers[0]["result"], "duplicate", "{answers:?}");
    // The same order under another op and number (a till that renumbered): no second order.
    let answers = push(
        &app,
        &device,
        vec![order_op(2, order, &c, 7_500, Some(aisha))],
    )
    .await;
    assert_eq!(answers[0]["result"], "applied", "{answers:?}");
    // The same id with another amount is another order: refused, and the till parks it.
    let answers = push(&app, &device, vec![order_op(3, order, &c, 9_000, None)]).await;
    assert_eq!(
        (&answers[0]["result"], &answers[0]["code"]),
        (&json!("rejected"), &json!("customer.id-taken")),
        "{answers:?}"
    );
    let after = customer(&app, &cashier, &c).await;
    assert_eq!(after["totalOrders"], 1);
    assert_eq!(after["totalSpentMinor"], 7_500);
    assert_eq!(after["loyaltyPoints"], 7);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM orders WHERE id = '{order}' AND created_by = '{aisha}'
             AND device_id IS NOT NULL AND ticket = 'BEEF-00001' AND pieces = 2 AND points = 7"
        ))
        .await,
        1,
        "who took it and on which till"
    );
    // A pushed order with bad figures is rejected with the code REST gives.
    let answers = push(
        &app,
        &device,
        vec![
            op(
                4,
                "order_recorded",
                json!({"orderId": Uuid::now_v7(), "customerId": c, "ticket": "",
                       "amountBaisa": 100, "pieces": 1}),
                None,
            ),
            op(
                5,
                "order_recorded",
                json!({"orderId": Uuid::now_v7(), "customerId": c, "ticket": "T",
                       "amountBaisa": 100, "pieces": 1000}),
                None,
            ),
        ],
    )
    .await;
    assert_eq!(answers[0]["code"], "validation.required", "{answers:?}");
    assert_eq!(answers[1]["code"], "validation.out-of-range", "{answers:?}");
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 1);
}

#[tokio::test]
async fn a_pushed_order_for_a_customer_merged_meanwhile_lands_on_the_survivor() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let device = app.device_token("shop").await;
    let source = id_of(&app.stub(&manager, "Ahmed", "92123456").await);
    let target = id_of(&app.stub(&manager, "Ahmed", "93334444").await);
    let merged = app
        .post(
            "/api/v1/customers/merge",
            &manager,
            json!({"sourceId": source, "targetId": target, "reason": "duplicate"}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");
    // Taken offline for the duplicate before the till heard of the merge.
    let order = Uuid::now_v7();
    let answers = push(
        &app,
        &device,
        vec![order_op(1, order, &source, 3_000, None)],
    )
    .await;
    assert_eq!(answers[0]["result"], "applied", "{answers:?}");
    let survivor = customer(&app, &manager, &target).await;
    assert_eq!(survivor["totalOrders"], 1);
    assert_eq!(survivor["loyaltyPoints"], 3);
    let listed = app.get(&orders_of(&target), &manager).await;
    assert_eq!(listed.body["orders"][0]["id"], order.to_string());
    let gone = app.get(&orders_of(&source), &manager).await;
    assert_eq!(
        gone.body["orders"],
        json!([]),
        "the merged customer has none"
    );
    // Pushed again under another number: still one order.
    let answers = push(
        &app,
        &device,
        vec![order_op(2, order, &source, 3_000, None)],
    )
    .await;
    assert_eq!(answers[0]["result"], "applied", "{answers:?}");
    assert_eq!(customer(&app, &manager, &target).await["loyaltyPoints"], 3);
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 1);
}

#[tokio::test]
async fn a_pushed_points_adjustment_needs_an_active_manager_of_the_shop() {
    let app = TestApp::spawn().await;
    let (_, cashier_token) = app.tenant_with("shop", Role::Cashier).await;
    let cashier = member(&app, "shop", "Aisha", Role::Cashier).await;
    let manager = member(&app, "shop", "Maryam", Role::Manager).await;
    let device = app.device_token("shop").await;
    let c = id_of(&app.stub(&cashier_token, "Ahmed", "92123456").await);
    let adjust = |seq, id: Uuid, delta: i64, staff| {
        op(
            seq,
            "points_adjusted",
            json!({"customerId": c, "adjustmentId": id, "delta": delta, "reason": "Birthday"}),
            staff,
        )
    };
    let id = Uuid::now_v7();
    let answers = push(
        &app,
        &device,
        vec![
            adjust(1, Uuid::now_v7(), 10, Some(cashier)),
            adjust(2, Uuid::now_v7(), 10, None),
            adjust(3, id, 10, Some(manager)),
            adjust(4, id, 10, Some(manager)),
            adjust(5, Uuid::now_v7(), -11, Some(manager)),
        ],
    )
    .await;
    for a in &answers[..2] {
        assert_eq!(
            (&a["result"], &a["code"]),
            (&json!("rejected"), &json!("auth.forbidden")),
            "{a}"
        );
    }
    assert_eq!(answers[2]["result"], "applied", "{answers:?}");
    assert_eq!(answers[3]["result"], "applied", "the same adjustment again");
    assert_eq!(
        (&answers[4]["result"], &answers[4]["code"]),
        (&json!("rejected"), &json!("loyalty.points-below-zero")),
        "{answers:?}"
    );
    assert_eq!(
        customer(&app, &cashier_token, &c).await["loyaltyPoints"],
        10
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM loyalty_adjustments WHERE adjusted_by = '{manager}'"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_pull_after_an_order_carries_the_newest_orders_and_the_new_figures() {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let device = app.device_token("shop").await;
    let c = id_of(&app.stub(&cashier, "Ahmed", "92123456").await);
    let quiet = id_of(&app.stub(&cashier, "Salim", "93334444").await);
    let first = app
        .post(
            &orders_of(&c),
            &cashier,
            json!({"ticket": "T-1", "amountBaisa": 4_200, "pieces": 2, "note": "Hang"}),
        )
        .await;
    let snapshot = pulled(&app, &device, &c).await;
    assert_eq!(snapshot["recentOrders"], json!([first.body]));
    assert_eq!(snapshot["orderCount"], 1);
    assert_eq!(snapshot["totalSpentMinor"], 4_200);
    assert_eq!(snapshot["loyaltyPoints"], 4);
    assert_eq!(snapshot["lastOrderAt"], first.body["createdAt"]);
    let without = pulled(&app, &device, &quiet).await;
    assert!(
        without.get("recentOrders").is_none(),
        "absent without orders: {without}"
    );
    // At most the 20 newest, newest first, in the pull and in a single customer's read.
    for n in 2..=25 {
        let a = app
            .post(
                &orders_of(&c),
                &cashier,
                json!({"ticket": format!("T-{n}"), "amountBaisa": 1_000, "pieces": 1}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    }
    let snapshot = pulled(&app, &device, &c).await;
    let tickets: Vec<&str> = snapshot["recentOrders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["ticket"].as_str().unwrap())
        .collect();
    let newest: Vec<String> = (6..=25).rev().map(|n| format!("T-{n}")).collect();
    assert_eq!(tickets, newest);
    assert_eq!(snapshot["orderCount"], 25);
    assert_eq!(snapshot["totalSpentMinor"], 4_200 + 24 * 1_000);
    let one = app
        .get(&format!("/api/v1/sync/customers/{c}"), &device)
        .await;
    assert_eq!(one.body["recentOrders"], snapshot["recentOrders"]);
    assert_eq!(one.body["loyaltyPoints"], 28);
}

#[tokio::test]
async fn a_merge_moves_orders_with_their_tickets_and_points_to_the_survivor() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let source = id_of(&app.stub(&manager, "Ahmed", "92123456").await);
    let target = id_of(&app.stub(&manager, "Ahmed", "93334444").await);
    let a = app
        .post(
            &orders_of(&source),
            &manager,
            json!({"ticket": "SRC-1", "amountBaisa": 8_000, "pieces": 4, "note": "Fold"}),
        )
        .await
        .body;
    let b = app
        .post(
            &orders_of(&target),
            &manager,
            json!({"ticket": "TGT-1", "amountBaisa": 2_000, "pieces": 1}),
        )
        .await
        .body;
    let merged = app
        .post(
            "/api/v1/customers/merge",
            &manager,
            json!({"sourceId": source, "targetId": target, "reason": "duplicate"}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");
    assert_eq!(merged.body["ordersMoved"], 1);
    assert_eq!(merged.body["loyaltyPointsMerged"], 8);
    assert_eq!(merged.body["target"]["loyaltyPoints"], 10);
    let listed = app.get(&orders_of(&target), &manager).await;
    let mut orders = listed.body["orders"].as_array().unwrap().clone();
    orders.sort_by_key(|o| o["ticket"].as_str().unwrap().to_owned());
    assert_eq!(orders, vec![a, b], "each order whole: ticket, note, points");
}

#[tokio::test]
async fn a_pushed_order_keeps_the_time_the_till_took_it_offline_but_no_earlier_than_thirty_days_and_never_later_than_now(
) {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let device = app.device_token("shop").await;
    let c = id_of(&app.stub(&cashier, "Ahmed", "92123456").await);
    let now = chrono::Utc::now();
    let cases = [
        (now - chrono::Duration::hours(5), "five hours offline"),
        (
            now - chrono::Duration::days(400),
            "a till clock a year behind",
        ),
        (now + chrono::Duration::days(2), "a till clock ahead"),
    ];
    let mut ids = Vec::new();
    for (i, (at, _)) in cases.iter().enumerate() {
        let order = Uuid::now_v7();
        let mut o = order_op(i as i64 + 1, order, &c, 1_000, None);
        o["at"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        let answers = push(&app, &device, vec![o]).await;
        assert_eq!(answers[0]["result"], "applied", "{answers:?}");
        ids.push(order);
    }
    let after = chrono::Utc::now();
    let taken = |id: Uuid| {
        let app = &app;
        async move {
            app.count(&format!(
                "SELECT (extract(epoch FROM created_at) * 1000)::bigint FROM orders WHERE id = '{id}'"
            ))
            .await
        }
    };
    let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis();
    assert_eq!(taken(ids[0]).await, ms(cases[0].0), "{}", cases[0].1);
    let floor = taken(ids[1]).await;
    assert!(
        (ms(now - chrono::Duration::days(30))..=ms(after - chrono::Duration::days(30)))
            .contains(&floor),
        "{}",
        cases[1].1
    );
    let ceiling = taken(ids[2]).await;
    assert!((ms(now)..=ms(after)).contains(&ceiling), "{}", cases[2].1);
}
