//! Sync push treats a till as an untrusted client: every pushed op is authorised and checked
//! exactly as the same change over REST, and sequence numbers can never lose work.

use crate::support::{TestApp, PIN};
use dukkan_server::staff::{self, Role};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

const PUSH: &str = "/api/v1/sync/push";
const AT: &str = "2026-12-05T08:00:00.000Z";

/// One pushed op, as a till sends it.
fn op(seq: i64, kind: &str, payload: Value, staff: Option<Uuid>) -> Value {
    json!({
        "opId": Uuid::now_v7(), "deviceSeq": seq, "kind": kind, "payload": payload,
        "staffId": staff.map(|s| s.to_string()), "at": AT,
    })
}

fn created(id: Uuid, first: &str, phone: &str) -> Value {
    json!({"id": id, "kind": "stub", "firstName": first, "lastName": null, "name2": null, "phone": phone})
}

async fn push(
    app: &TestApp,
    token: &str,
    protocol: u32,
    ops: Vec<Value>,
) -> crate::support::Answer {
    app.post(PUSH, token, json!({"protocol": protocol, "ops": ops}))
        .await
}

fn results(a: &crate::support::Answer) -> Vec<Value> {
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

#[tokio::test]
async fn a_pushed_deactivation_needs_an_active_manager_of_the_shop_as_over_rest() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    app.tenant("other").await;
    let token = app.device_token("shop").await;
    let cashier = member(&app, "shop", "Aisha", Role::Cashier).await;
    let manager = member(&app, "shop", "Salim", Role::Manager).await;
    let foreign_manager = member(&app, "other", "Omar", Role::Manager).await;
    let id = Uuid::now_v7();
    let deactivate = |seq, staff| {
        op(
            seq,
            "customer_deactivated",
            json!({"customerId": id}),
            staff,
        )
    };
    let answers = results(
        &push(
            &app,
            &token,
            2,
            vec![
                op(
                    1,
                    "customer_created",
                    created(id, "Ahmed", "+96892123456"),
                    Some(cashier),
                ),
                deactivate(2, Some(cashier)),
                deactivate(3, None),
                deactivate(4, Some(foreign_manager)),
                deactivate(5, Some(Uuid::now_v7())),
            ],
        )
        .await,
    );
    assert_eq!(answers[0]["result"], "applied");
    for a in &answers[1..] {
        assert_eq!(a["result"], "rejected", "{a}");
        assert_eq!(a["code"], "auth.forbidden", "{a}");
    }
    let active = "SELECT count(*) FROM customers WHERE active";
    assert_eq!(app.count(active).await, 1, "nothing refused was applied");
    let answers = results(&push(&app, &token, 2, vec![deactivate(6, Some(manager))]).await);
    assert_eq!(answers[0]["result"], "applied");
    assert_eq!(app.count(active).await, 0);
}

#[tokio::test]
async fn the_twenty_first_pushed_address_is_rejected_as_over_rest() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    let token = app.device_token("shop").await;
    let id = Uuid::now_v7();
    let mut ops = vec![op(
        1,
        "customer_created",
        created(id, "Ahmed", "+96892123456"),
        None,
    )];
    for seq in 2..=26 {
        ops.push(op(
            seq,
            "address_added",
            json!({"customerId": id, "addressId": Uuid::now_v7(), "address": {
                "addressType": "home", "label": null, "building": null, "floor": null,
                "apartment": null, "street": format!("Way {seq}"), "area": null, "city": null,
                "country": "OM", "postalCode": null, "gps": null, "deliveryNotes": null}}),
            None,
        ));
    }
    let answers = results(&push(&app, &token, 2, ops).await);
    let applied = answers.iter().filter(|a| a["result"] == "applied").count();
    assert_eq!(applied, 1 + 20);
    for a in &answers[21..] {
        assert_eq!(a["code"], "address.limit-reached", "{a}");
    }
    let count = "SELECT count(*) FROM addresses";
    assert_eq!(app.count(count).await, 20);
}

#[tokio::test]
async fn pushed_ops_with_an_unreadable_time_or_staff_id_are_rejected_and_not_applied() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    let token = app.device_token("shop").await;
    let mut huge_at = op(
        1,
        "customer_created",
        created(Uuid::now_v7(), "A", "+96892123456"),
        None,
    );
    huge_at["at"] = json!("2".repeat(1_500_000));
    let mut bad_staff = op(
        2,
        "customer_created",
        created(Uuid::now_v7(), "B", "+96892123457"),
        None,
    );
    bad_staff["staffId"] = json!("x".repeat(10_000));
    let mut bidi_staff = op(
        3,
        "customer_created",
        created(Uuid::now_v7(), "C", "+96892123458"),
        None,
    );
    bidi_staff["staffId"] = json!(format!("\u{202E}{}", Uuid::now_v7()));
    let mut not_a_time = op(
        4,
        "customer_created",
        created(Uuid::now_v7(), "D", "+96892123459"),
        None,
    );
    not_a_time["at"] = json!("yesterday");
    let answers = results(
        &push(
            &app,
            &token,
            2,
            vec![huge_at, bad_staff, bidi_staff, not_a_time],
        )
        .await,
    );
    for a in &answers {
        assert_eq!(a["result"], "rejected", "{a}");
        assert_eq!(a["code"], "sync.invalid-op", "{a}");
    }
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 0);
}

#[tokio::test]
async fn zero_negative_or_absurd_sequence_numbers_and_unknown_protocols_refuse_the_whole_push() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    let token = app.device_token("shop").await;
    for seq in [0, -1, i64::MIN, i64::MAX, (1 << 50) + 1] {
        let a = push(
            &app,
            &token,
            2,
            vec![op(
                seq,
                "customer_created",
                created(Uuid::now_v7(), "A", "+96892123456"),
                None,
            )],
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "seq {seq}: {a:?}"
        );
        assert_eq!(a.body["code"], "request.invalid-body");
    }
    for protocol in [0, 3, 99] {
        let a = push(&app, &token, protocol, vec![]).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "protocol {protocol}"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 0);
}

#[tokio::test]
async fn enrolling_with_a_negative_or_absurd_last_acked_seq_is_refused() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    for last in [i64::MAX, -1, (1 << 50) + 1] {
        let code = dukkan_server::devices::create_code(&app.owner, "shop", None)
            .await
            .unwrap();
        let a = app
            .call(
                Method::POST,
                "/api/v1/devices/enroll",
                None,
                Some(json!({"tenant": "shop", "code": code.code, "deviceName": "Till", "lastAckedSeq": last})),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{last}: {a:?}");
    }
    // The largest accepted value still leaves room for every later push.
    let code = dukkan_server::devices::create_code(&app.owner, "shop", None)
        .await
        .unwrap();
    let a = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"tenant": "shop", "code": code.code, "deviceName": "Till", "lastAckedSeq": 1i64 << 50})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    let token = a.body["deviceToken"].as_str().unwrap();
    let over = push(
        &app,
        token,
        2,
        vec![op(
            1 << 50,
            "customer_created",
            created(Uuid::now_v7(), "A", "+96892123456"),
            None,
        )],
    )
    .await;
    assert_eq!(results(&over)[0]["result"], "sequenceConflict");
}

#[tokio::test]
async fn a_different_op_under_a_used_number_is_a_sequence_conflict_never_a_duplicate() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    let token = app.device_token("shop").await;
    let first = op(
        1,
        "customer_created",
        created(Uuid::now_v7(), "Ahmed", "+96892123456"),
        None,
    );
    assert_eq!(
        results(&push(&app, &token, 2, vec![first.clone()]).await)[0]["result"],
        "applied"
    );
    // The same op again is a replay.
    assert_eq!(
        results(&push(&app, &token, 2, vec![first]).await)[0]["result"],
        "duplicate"
    );
    // A restored copy of the till numbers its next customer 1 again, and 2 after it.
    let copy = vec![
        op(
            1,
            "customer_created",
            created(Uuid::now_v7(), "Badr", "+96892123457"),
            None,
        ),
        op(
            2,
            "customer_created",
            created(Uuid::now_v7(), "Chadi", "+96892123458"),
            None,
        ),
    ];
    let answers = results(&push(&app, &token, 2, copy.clone()).await);
    for a in &answers {
        assert_eq!(a["result"], "sequenceConflict", "{a}");
        assert_eq!(a["lastApplied"], 1, "{a}");
    }
    // A till still on protocol 1 gets a refusal it parks for a person, not a silent drop.
    let answers = results(&push(&app, &token, 1, copy.clone()).await);
    for a in &answers {
        assert_eq!(a["result"], "rejected", "{a}");
        assert_eq!(a["code"], "sync.sequence-conflict");
    }
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
    // Renumbered after the server's last, both are applied once.
    let renumbered: Vec<Value> = copy
        .into_iter()
        .zip(2..)
        .map(|(mut o, seq)| {
            o["deviceSeq"] = json!(seq);
            o
        })
        .collect();
    for a in results(&push(&app, &token, 2, renumbered).await) {
        assert_eq!(a["result"], "applied", "{a}");
    }
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 3);
}
