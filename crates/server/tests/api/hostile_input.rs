//! Hostile input on every endpoint that takes input: always a 4xx `{code, message}`, never a
//! 500, and nothing written.

use crate::support::TestApp;
use dukkan_server::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

const BIDI: [char; 9] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}',
];

/// Sends malformed bodies to one endpoint and checks each answer.
async fn malformed_bodies_are_refused(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
) {
    let big = format!("{{\"firstName\": \"{}\"}}", "a".repeat(70 * 1024));
    let cases: Vec<(Option<&str>, Vec<u8>, StatusCode, &str)> = vec![
        (
            None,
            b"{}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.unsupported-media-type",
        ),
        (
            Some("text/plain"),
            b"{}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.unsupported-media-type",
        ),
        (
            Some("application/json"),
            b"".to_vec(),
            StatusCode::BAD_REQUEST,
            "request.malformed-json",
        ),
        (
            Some("application/json"),
            b"{\"type\":".to_vec(),
            StatusCode::BAD_REQUEST,
            "request.malformed-json",
        ),
        (
            Some("application/json"),
            b"{\"firstName\": \"\xff\xfe\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "request.malformed-json",
        ),
        (
            Some("application/json"),
            b"[1, 2]".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "request.invalid-body",
        ),
        (
            Some("application/json"),
            br#"{"type": 5, "firstName": [], "city": 5, "tenant": 5, "code": {}}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "request.invalid-body",
        ),
        (
            Some("application/json"),
            big.into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.payload-too-large",
        ),
    ];
    for (ct, body, status, code) in cases {
        let body_copy: Vec<u8> = body.iter().take(60).copied().collect();
        let a = app.raw(method.clone(), path, token, ct, body).await;
        assert_eq!(
            a.status,
            status,
            "{method} {path} {ct:?} {}: {a:?}",
            String::from_utf8_lossy(&body_copy)
        );
        assert_eq!(a.code(), code, "{method} {path}");
        assert!(a.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn malformed_bodies_get_a_4xx_code_on_every_endpoint_that_takes_a_body() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Admin).await;
    let c = app.stub(&token, "Ahmed", "92123456").await;
    let cid = c["id"].as_str().unwrap();
    let addr = app
        .post(
            &format!("/api/v1/customers/{cid}/addresses"),
            &token,
            json!({"city": "Muscat"}),
        )
        .await
        .body;
    let aid = addr["id"].as_str().unwrap();
    let before = app.count("SELECT count(*) FROM audit_log").await;
    for (method, path, auth) in [
        (Method::POST, "/api/v1/customers".to_owned(), true),
        (Method::PATCH, format!("/api/v1/customers/{cid}"), true),
        (
            Method::POST,
            format!("/api/v1/customers/{cid}/addresses"),
            true,
        ),
        (
            Method::PATCH,
            format!("/api/v1/customers/{cid}/addresses/{aid}"),
            true,
        ),
        (Method::POST, "/api/v1/auth/sign-in".to_owned(), false),
        (Method::POST, "/api/v1/devices/enroll".to_owned(), false),
        (Method::POST, "/api/v1/customers/merge".to_owned(), true),
        (Method::POST, "/api/v1/customers/send-otp".to_owned(), true),
        (
            Method::POST,
            "/api/v1/customers/verify-otp".to_owned(),
            true,
        ),
        (
            Method::POST,
            format!("/api/v1/customers/{cid}/upgrade"),
            true,
        ),
        (
            Method::POST,
            format!("/api/v1/customers/{cid}/orders"),
            true,
        ),
        (
            Method::POST,
            format!("/api/v1/customers/{cid}/points"),
            true,
        ),
    ] {
        malformed_bodies_are_refused(&app, method, &path, auth.then_some(token.as_str())).await;
    }
    assert_eq!(app.count("SELECT count(*) FROM audit_log").await, before);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM loyalty_adjustments").await,
        0
    );
}

#[tokio::test]
async fn long_empty_control_and_bidi_text_is_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app.stub(&token, "Ahmed", "92123456").await;
    let cid = c["id"].as_str().unwrap();
    let long = "ا".repeat(10_000);
    let mut cases = vec![
        (
            json!({"type": "stub", "firstName": long, "phone": "93334444"}),
            "validation.too-long",
        ),
        (
            json!({"type": "stub", "firstName": "", "phone": "93334444"}),
            "validation.required",
        ),
        (
            json!({"type": "stub", "firstName": "   ", "phone": "93334444"}),
            "validation.required",
        ),
        (
            json!({"type": "stub", "firstName": "A\u{0000}b", "phone": "93334444"}),
            "validation.control-character",
        ),
        (
            json!({"type": "stub", "firstName": "A\u{0007}", "phone": "93334444"}),
            "validation.control-character",
        ),
        (
            json!({"type": "stub", "firstName": "A", "phone": "9".repeat(10_000)}),
            "validation.invalid-phone",
        ),
        (
            json!({"type": "stub", "firstName": "A", "phone": "93334444", "email": "x@y"}),
            "validation.invalid-email",
        ),
        (
            json!({"type": "stub", "firstName": "A", "phone": "93334444",
                "preferences": {"fragrance": "x".repeat(51)}}),
            "validation.too-long",
        ),
    ];
    for c in BIDI {
        cases.push((
            json!({"type": "stub", "firstName": format!("Ah{c}med"), "phone": "93334444"}),
            "validation.bidi-control",
        ));
        cases.push((
            json!({"type": "stub", "firstName": "Ahmed", "name2": format!("أحمد{c}"), "phone": "93334444"}),
            "validation.bidi-control",
        ));
    }
    for (body, code) in &cases {
        let a = app.post("/api/v1/customers", &token, body.clone()).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body:.80}: {a:?}"
        );
        assert_eq!(a.code(), *code, "{body:.80}");
        // The same text through PATCH.
        let mut patch = body.clone();
        patch.as_object_mut().unwrap().remove("type");
        let p = app
            .patch(&format!("/api/v1/customers/{cid}"), &token, patch)
            .await;
        assert_eq!(
            p.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "PATCH {body:.80}: {p:?}"
        );
    }
    for c in BIDI {
        let a = app
            .post(
                &format!("/api/v1/customers/{cid}/addresses"),
                &token,
                json!({"city": format!("Mus{c}cat")}),
            )
            .await;
        assert_eq!(a.code(), "validation.bidi-control");
    }
    let a = app
        .post(
            &format!("/api/v1/customers/{cid}/addresses"),
            &token,
            json!({"street": "x".repeat(10_000)}),
        )
        .await;
    assert_eq!(a.code(), "validation.too-long");
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM addresses").await, 0);
    let unchanged = app.get(&format!("/api/v1/customers/{cid}"), &token).await;
    assert_eq!(unchanged.body, c);
}

#[tokio::test]
async fn bad_paths_unknown_routes_and_wrong_methods_answer_in_json() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let a = app.get("/api/v1/customers/not-a-uuid", &token).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "request.invalid-path")
    );
    let a = app
        .get(
            "/api/v1/customers/12345678-1234-1234-1234-1234567890ab/addresses/x",
            &token,
        )
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{a:?}");
    let a = app
        .delete(
            &format!("/api/v1/customers/{}/addresses/x", uuid::Uuid::now_v7()),
            &token,
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "request.invalid-path")
    );
    let a = app.get("/api/v1/nothing-here", &token).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "route.not-found")
    );
    let a = app
        .call(Method::PUT, "/api/v1/customers", Some(&token), None)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "request.method-not-allowed")
    );
    let a = app
        .get(
            &format!("/api/v1/customers/{}", uuid::Uuid::now_v7()),
            &token,
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "record.not-found")
    );
}

#[tokio::test]
async fn unauthenticated_requests_are_refused_before_the_body_is_read() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    let id = uuid::Uuid::now_v7();
    for (method, path) in [
        (Method::POST, "/api/v1/customers".to_owned()),
        (Method::GET, "/api/v1/customers".to_owned()),
        (Method::GET, format!("/api/v1/customers/{id}")),
        (Method::PATCH, format!("/api/v1/customers/{id}")),
        (Method::DELETE, format!("/api/v1/customers/{id}")),
        (Method::GET, format!("/api/v1/customers/{id}/addresses")),
        (Method::POST, format!("/api/v1/customers/{id}/addresses")),
        (
            Method::PATCH,
            format!("/api/v1/customers/{id}/addresses/{id}"),
        ),
        (
            Method::DELETE,
            format!("/api/v1/customers/{id}/addresses/{id}"),
        ),
        (
            Method::POST,
            format!("/api/v1/customers/{id}/addresses/{id}/default"),
        ),
        (Method::POST, "/api/v1/customers/send-otp".to_owned()),
        (Method::POST, "/api/v1/customers/verify-otp".to_owned()),
        (Method::POST, format!("/api/v1/customers/{id}/upgrade")),
        (Method::GET, format!("/api/v1/customers/{id}/orders")),
        (Method::POST, format!("/api/v1/customers/{id}/orders")),
        (Method::POST, format!("/api/v1/customers/{id}/points")),
        (Method::POST, "/api/v1/customers/merge".to_owned()),
        (Method::GET, "/api/v1/customers/export".to_owned()),
    ] {
        let a = app
            .raw(
                method.clone(),
                &path,
                None,
                Some("application/json"),
                b"{bad".to_vec(),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(a.code(), "auth.unauthenticated");
    }
}

#[tokio::test]
async fn invisible_marks_are_dropped_alike_over_rest_and_sync_so_names_cannot_look_alike() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Manager).await;
    let rest = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "\u{200F}Sa\u{200B}lim\u{FEFF}",
                   "name2": "سالم\u{061C}", "phone": "\u{2066}9212\u{200E}3456\u{2069}"}),
        )
        .await;
    assert_eq!(rest.status, StatusCode::CREATED, "{rest:?}");
    assert_eq!(rest.body["firstName"], "Salim");
    assert_eq!(rest.body["name2"], "سالم");
    assert_eq!(rest.body["phone"], "+96892123456");

    let device = app.device_token("shop").await;
    let id = uuid::Uuid::now_v7();
    let pushed = app
        .post(
            "/api/v1/sync/push",
            &device,
            json!({"protocol": 2, "ops": [{"opId": uuid::Uuid::now_v7(), "deviceSeq": 1,
                "kind": "customer_created", "staffId": null, "at": "2026-12-05T08:00:00Z",
                "payload": {"id": id, "kind": "stub", "firstName": "Sa\u{200E}lma\u{200F}",
                            "lastName": null, "name2": null, "phone": "93334444"}}]}),
        )
        .await;
    assert_eq!(pushed.body["results"][0]["result"], "applied", "{pushed:?}");
    let synced = app.get(&format!("/api/v1/customers/{id}"), &token).await;
    assert_eq!(synced.body["firstName"], "Salma");
    // A name of marks only is no name, through either door.
    let blank = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "\u{200F}\u{200B}", "phone": "92000000"}),
        )
        .await;
    assert_eq!(blank.code(), "validation.required", "{blank:?}");
}

#[tokio::test]
async fn phones_pasted_as_tel_links_with_slashes_marks_or_full_width_digits_are_one_number_over_rest_search_and_sync(
) {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Manager).await;
    let created = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "Salim", "phone": "tel:+968/9212/3456;ext=2"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["phone"], "+96892123456");
    // Searched as pasted, it is found.
    for q in [
        "\u{200F}9212\u{200E}3456",
        "tel:+96892123456",
        "968.9212.3456",
        "９２１２３４５６",
    ] {
        let found = app
            .get(
                &format!(
                    "/api/v1/customers?search={}",
                    q.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
                ),
                &token,
            )
            .await;
        assert_eq!(found.status, StatusCode::OK, "{q:?}: {found:?}");
        assert_eq!(
            found.body["customers"][0]["id"], created.body["id"],
            "{q:?}: {found:?}"
        );
    }
    // The same number in full-width digits is the same phone: a second stub is refused.
    let again = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "Salma", "phone": "＋９６８ ９２１２ ３４５６"}),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "customer.phone-taken"),
        "{again:?}"
    );
    // Over sync, a pasted phone is read by the same rule.
    let device = app.device_token("shop").await;
    let id = uuid::Uuid::now_v7();
    let pushed = app
        .post(
            "/api/v1/sync/push",
            &device,
            json!({"protocol": 2, "ops": [{"opId": uuid::Uuid::now_v7(), "deviceSeq": 1,
                "kind": "customer_created", "staffId": null, "at": "2026-12-05T08:00:00Z",
                "payload": {"id": id, "kind": "stub", "firstName": "Aisha",
                            "lastName": null, "name2": null, "phone": "TEL:9333\u{200F}4444"}}]}),
        )
        .await;
    assert_eq!(pushed.body["results"][0]["result"], "applied", "{pushed:?}");
    let synced = app.get(&format!("/api/v1/customers/{id}"), &token).await;
    assert_eq!(synced.body["phone"], "+96893334444");
    // Letters and junk still get the clear error, through either door.
    let junk = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "X", "phone": "tel:call-me"}),
        )
        .await;
    assert_eq!(junk.code(), "validation.invalid-phone", "{junk:?}");
}
