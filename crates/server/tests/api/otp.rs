//! Phone verification by one-time code and the stub → full upgrade.

use crate::support::{twilio, TestApp};
use chrono::Duration;
use dukkan_server::staff::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

/// The 6-digit code in the last text message.
fn code_in(body: &str) -> String {
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {body:?}"))
        .to_owned()
}

pub(crate) async fn stub_and_send(app: &TestApp, token: &str, phone: &str) -> (Value, String) {
    let c = app.stub(token, "Ahmed", phone).await;
    let sent = app
        .post(
            "/api/v1/customers/send-otp",
            token,
            json!({"customerId": c["id"]}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{sent:?}");
    let (_, body) = app.sms.last().expect("a text was sent");
    (c, code_in(&body))
}

#[tokio::test]
async fn a_sent_code_upgrades_a_stub_to_full_and_is_never_stored_in_clear() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app.stub(&token, "Ahmed", "92123456").await;
    let sent = app
        .post(
            "/api/v1/customers/send-otp",
            &token,
            json!({"customerId": c["id"]}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{sent:?}");
    assert_eq!(sent.body["phoneMasked"], "+968****3456");
    assert_eq!(sent.body["resendAfterSeconds"], 60);
    assert!(sent.body.to_string().find("92123456").is_none());
    let (to, body) = app.sms.last().unwrap();
    assert_eq!(to, "+96892123456");
    let code = code_in(&body);
    assert!(body.contains("Dukkan"), "{body}");

    // Only a 32-byte keyed hash is stored; the code appears nowhere in the row.
    let client = app.owner.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT code_hash, row_to_json(o)::text FROM otp_codes o",
            &[],
        )
        .await
        .unwrap();
    let hash: Vec<u8> = row.get(0);
    assert_eq!(hash.len(), 32);
    assert!(!row.get::<_, String>(1).contains(&code));

    let id = c["id"].as_str().unwrap();
    let up = app
        .post(
            &format!("/api/v1/customers/{id}/upgrade"),
            &token,
            json!({"otpCode": code, "email": "ahmed@example.om",
                   "preferences": {"folding": "fold", "channels": ["email"]}}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{up:?}");
    assert_eq!(up.body["type"], "full");
    assert_eq!(up.body["phoneVerified"], true);
    assert_eq!(up.body["email"], "ahmed@example.om");
    assert_eq!(up.body["preferences"]["folding"], "fold");
    assert_eq!(up.body["customerNumber"], c["customerNumber"]);
    assert_eq!(app.count("SELECT count(*) FROM phone_identities").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE identity_id IS NOT NULL")
            .await,
        1
    );
    // The code works once.
    let again = app
        .post(
            &format!("/api/v1/customers/{id}/upgrade"),
            &token,
            json!({"otpCode": code, "email": "ahmed@example.om"}),
        )
        .await;
    assert_eq!(again.code(), "customer.already-full");
    // A verified phone cannot be changed at the counter.
    let p = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &token,
            json!({"phone": "93334444"}),
        )
        .await;
    assert_eq!(p.code(), "customer.verified-phone-locked");
}

#[tokio::test]
async fn a_code_expires_after_five_minutes() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let (c, code) = stub_and_send(&app, &token, "92123456").await;
    app.clock.advance(Duration::minutes(5));
    let v = app
        .post(
            "/api/v1/customers/verify-otp",
            &token,
            json!({"customerId": c["id"], "code": code}),
        )
        .await;
    assert_eq!(v.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v.code(), "otp.expired");
}

#[tokio::test]
async fn three_wrong_codes_lock_the_code_so_even_the_right_one_fails() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let (c, code) = stub_and_send(&app, &token, "92123456").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let verify = |code: String| {
        let body = json!({"customerId": c["id"], "code": code});
        let app = &app;
        let token = &token;
        async move { app.post("/api/v1/customers/verify-otp", token, body).await }
    };
    assert_eq!(verify(wrong.into()).await.code(), "otp.invalid");
    assert_eq!(verify(wrong.into()).await.code(), "otp.invalid");
    assert_eq!(verify(wrong.into()).await.code(), "otp.locked");
    assert_eq!(verify(code.clone()).await.code(), "otp.locked");
    assert_eq!(app.count("SELECT attempts::bigint FROM otp_codes").await, 3);
    // Malformed codes are refused without a database round trip.
    assert_eq!(verify("12".into()).await.code(), "otp.invalid");
    assert_eq!(verify("x".repeat(10_000)).await.code(), "otp.invalid");
    let c = app
        .get(
            &format!("/api/v1/customers/{}", c["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(c.body["phoneVerified"], false);
}

#[tokio::test]
async fn a_resend_within_sixty_seconds_is_refused_with_retry_after() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let (c, first) = stub_and_send(&app, &token, "92123456").await;
    app.clock.advance(Duration::seconds(30));
    let again = app
        .post(
            "/api/v1/customers/send-otp",
            &token,
            json!({"customerId": c["id"]}),
        )
        .await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(again.code(), "otp.cooldown");
    assert_eq!(again.headers["retry-after"], "30");
    app.clock.advance(Duration::seconds(30));
    let ok = app
        .post(
            "/api/v1/customers/send-otp",
            &token,
            json!({"customerId": c["id"]}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    // The new code replaces the first one.
    let (_, body) = app.sms.last().unwrap();
    let second = code_in(&body);
    if second != first {
        let old = app
            .post(
                "/api/v1/customers/verify-otp",
                &token,
                json!({"customerId": c["id"], "code": first}),
            )
            .await;
        assert_eq!(old.code(), "otp.invalid");
    }
    let new = app
        .post(
            "/api/v1/customers/verify-otp",
            &token,
            json!({"customerId": c["id"], "code": second}),
        )
        .await;
    assert_eq!(new.status, StatusCode::OK, "{new:?}");
    assert_eq!(new.body["phoneVerified"], true);
    assert_eq!(new.body["type"], "stub");
}

#[tokio::test]
async fn a_phone_gets_at_most_five_codes_an_hour() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app.stub(&token, "Ahmed", "92123456").await;
    let send = || {
        app.post(
            "/api/v1/customers/send-otp",
            &token,
            json!({"customerId": c["id"]}),
        )
    };
    for _ in 0..5 {
        assert_eq!(send().await.status, StatusCode::OK);
        app.clock.advance(Duration::seconds(61));
    }
    let capped = send().await;
    assert_eq!(capped.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(capped.code(), "otp.rate-limited");
    assert!(capped.headers.contains_key("retry-after"));
    app.clock.advance(Duration::minutes(60));
    assert_eq!(send().await.status, StatusCode::OK);
}

#[tokio::test]
async fn one_person_verified_at_two_shops_shares_one_identity_but_not_their_figures() {
    let app = TestApp::spawn().await;
    let (_, a) = app.tenant_with("shop-a", Role::Cashier).await;
    let (_, b) = app.tenant_with("shop-b", Role::Cashier).await;
    for token in [&a, &b] {
        let (c, code) = stub_and_send(&app, token, "92123456").await;
        let v = app
            .post(
                "/api/v1/customers/verify-otp",
                token,
                json!({"customerId": c["id"], "code": code}),
            )
            .await;
        assert_eq!(v.status, StatusCode::OK, "{v:?}");
    }
    assert_eq!(app.count("SELECT count(*) FROM phone_identities").await, 1);
    assert_eq!(
        app.count("SELECT count(DISTINCT identity_id) FROM customers")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(DISTINCT tenant_id) FROM customers")
            .await,
        2
    );
}

#[tokio::test]
async fn otp_refuses_guests_other_tenants_customers_and_unverified_upgrades() {
    let app = TestApp::spawn().await;
    let (_, a) = app.tenant_with("shop-a", Role::Cashier).await;
    let (_, b) = app.tenant_with("shop-b", Role::Cashier).await;
    let guest = app
        .post("/api/v1/customers", &a, json!({"type": "guest"}))
        .await
        .body;
    let g = app
        .post(
            "/api/v1/customers/send-otp",
            &a,
            json!({"customerId": guest["id"]}),
        )
        .await;
    assert_eq!(g.code(), "customer.guest-cannot-upgrade");
    let theirs = app.stub(&b, "Badr", "93334444").await;
    let t = app
        .post(
            "/api/v1/customers/send-otp",
            &a,
            json!({"customerId": theirs["id"]}),
        )
        .await;
    assert_eq!(t.status, StatusCode::NOT_FOUND);
    let t = app
        .post(
            "/api/v1/customers/verify-otp",
            &a,
            json!({"customerId": theirs["id"], "code": "123456"}),
        )
        .await;
    assert_eq!(t.status, StatusCode::NOT_FOUND);
    let up = app
        .post(
            &format!(
                "/api/v1/customers/{}/upgrade",
                theirs["id"].as_str().unwrap()
            ),
            &a,
            json!({"email": "x@example.om", "otpCode": "123456"}),
        )
        .await;
    assert_eq!(up.status, StatusCode::NOT_FOUND);
    assert!(app.sms.last().is_none(), "no text was sent");
    let mine = app.stub(&a, "Ahmed", "92123456").await;
    let up = app
        .post(
            &format!("/api/v1/customers/{}/upgrade", mine["id"].as_str().unwrap()),
            &a,
            json!({"email": "ahmed@example.om"}),
        )
        .await;
    assert_eq!(up.code(), "customer.phone-not-verified");
    let bad_email = app
        .post(
            &format!("/api/v1/customers/{}/upgrade", mine["id"].as_str().unwrap()),
            &a,
            json!({"email": "ahmed@\u{202E}example.om", "otpCode": "123456"}),
        )
        .await;
    assert_eq!(bad_email.code(), "validation.invalid-email");
}

#[tokio::test]
async fn the_text_is_in_arabic_when_the_customer_reads_arabic() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app.stub(&token, "أحمد", "92123456").await;
    let sent = app
        .post(
            "/api/v1/customers/send-otp",
            &token,
            json!({"customerId": c["id"], "language": "ar"}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    let (_, body) = app.sms.last().unwrap();
    assert!(body.starts_with("رمز التحقق"), "{body}");
}

fn twilio_sender(base: &str, token: &str, from: &str) -> Arc<dyn dukkan_server::sms::SmsSender> {
    Arc::new(
        dukkan_server::sms::Twilio::new(dukkan_server::sms::TwilioConfig {
            account_sid: twilio::ACCOUNT_SID.into(),
            auth_token: token.into(),
            from: from.into(),
            base_url: base.into(),
        })
        .expect("twilio sender"),
    )
}

/// A server whose texts go through Twilio at `base` (the double, or nothing listening).
async fn with_twilio(base: &str) -> TestApp {
    TestApp::spawn_with_sms(Some(twilio_sender(
        base,
        twilio::AUTH_TOKEN,
        "+15005550006",
    )))
    .await
}

#[tokio::test]
async fn texts_go_to_twilio_as_a_create_message_form_with_basic_auth() {
    let (base, received) = twilio::start().await;
    let app = with_twilio(&base).await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app.stub(&token, "Ahmed", "92123456").await;
    let sent = app
        .post(
            "/api/v1/customers/send-otp",
            &token,
            json!({"customerId": c["id"]}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{sent:?}");
    let forms = received.0.lock().unwrap().clone();
    assert_eq!(forms.len(), 1);
    let names: Vec<&str> = forms[0].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, vec!["To", "From", "Body"]);
    assert_eq!(forms[0][0].1, "+96892123456");
    assert_eq!(forms[0][1].1, "+15005550006");
    assert_eq!(code_in(&forms[0][2].1).len(), 6);
}

#[tokio::test]
async fn a_messaging_service_sid_is_sent_as_messaging_service_sid() {
    let (base, received) = twilio::start().await;
    let mg = "MG0123456789abcdef0123456789abcdef";
    let app = TestApp::spawn_with_sms(Some(twilio_sender(&base, twilio::AUTH_TOKEN, mg))).await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    stub_and_send_twilio(&app, &token).await;
    let forms = received.0.lock().unwrap().clone();
    assert_eq!(
        forms[0][1],
        ("MessagingServiceSid".to_owned(), mg.to_owned())
    );
}

/// A new stub with `phone`, and a code sent to it.
async fn send_to(app: &TestApp, token: &str, phone: &str) -> crate::support::Answer {
    let c = app.stub(token, "Ahmed", phone).await;
    app.post(
        "/api/v1/customers/send-otp",
        token,
        json!({"customerId": c["id"]}),
    )
    .await
}

async fn stub_and_send_twilio(app: &TestApp, token: &str) -> crate::support::Answer {
    send_to(app, token, "92123456").await
}

#[tokio::test]
async fn twilio_errors_become_a_502_and_start_no_cooldown() {
    let (base, received) = twilio::start().await;
    // Wrong auth token: Twilio answers 401 {code: 20003}.
    let app =
        TestApp::spawn_with_sms(Some(twilio_sender(&base, "wrong-token", "+15005550006"))).await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let a = stub_and_send_twilio(&app, &token).await;
    assert_eq!(a.status, StatusCode::BAD_GATEWAY);
    assert_eq!(a.code(), "sms.failed");
    assert_eq!(app.count("SELECT count(*) FROM otp_codes").await, 0);
    assert!(received.0.lock().unwrap().is_empty());

    // An invalid To number: Twilio answers 400 {code: 21211}.
    let app = with_twilio(&base).await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app.stub(&token, "Ahmed", "99999999").await;
    let a = app
        .post(
            "/api/v1/customers/send-otp",
            &token,
            json!({"customerId": c["id"]}),
        )
        .await;
    assert_eq!(a.code(), "sms.failed");
    // Nothing recorded, so a retry right away is not blocked by the cooldown.
    let again = app
        .post(
            "/api/v1/customers/send-otp",
            &token,
            json!({"customerId": c["id"]}),
        )
        .await;
    assert_eq!(again.code(), "sms.failed");

    // Twilio unreachable.
    let app = with_twilio("http://127.0.0.1:1").await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    assert_eq!(
        stub_and_send_twilio(&app, &token).await.code(),
        "sms.failed"
    );
}

#[tokio::test]
async fn codes_go_only_to_the_countries_the_shop_serves() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    // The default: Oman and the GCC.
    for gulf in ["+971501234567", "+966501234567"] {
        let a = send_to(&app, &token, gulf).await;
        assert_eq!(a.status, StatusCode::OK, "{gulf}: {a:?}");
    }
    let before = app.sms.last();
    // A US number, a UK one and a satellite (premium-rate) one are never texted.
    for far in ["+12025550123", "+447400123456", "+881612345678"] {
        let a = send_to(&app, &token, far).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "otp.country-not-allowed"),
            "{far}: {a:?}"
        );
    }
    assert_eq!(app.sms.last(), before, "nothing was sent");
    assert_eq!(
        app.count("SELECT count(*) FROM otp_codes").await,
        2,
        "nothing was recorded"
    );
    // A shop that serves the UK says so.
    dukkan_server::tenants::set_sms_policy(
        &app.owner,
        "shop",
        Some(&["om".to_owned(), "GB".to_owned()]),
        None,
    )
    .await
    .unwrap();
    let uk = send_to(&app, &token, "+447400123457").await;
    assert_eq!(uk.status, StatusCode::OK, "{uk:?}");
    let gulf = send_to(&app, &token, "+971501234568").await;
    assert_eq!(gulf.code(), "otp.country-not-allowed");
}

#[tokio::test]
async fn a_shop_sends_at_most_its_daily_cap_of_codes() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let (_, other) = app.tenant_with("other", Role::Cashier).await;
    dukkan_server::tenants::set_sms_policy(&app.owner, "shop", None, Some(2))
        .await
        .unwrap();
    for phone in ["92000001", "92000002"] {
        assert_eq!(send_to(&app, &token, phone).await.status, StatusCode::OK);
    }
    let capped = send_to(&app, &token, "92000003").await;
    assert_eq!(
        (capped.status, capped.code()),
        (StatusCode::TOO_MANY_REQUESTS, "otp.shop-daily-cap"),
        "{capped:?}"
    );
    let retry: u64 = capped.header("retry-after").parse().unwrap();
    assert!((86_000..=86_400).contains(&retry), "{retry}");
    // Another shop has its own cap.
    assert_eq!(
        send_to(&app, &other, "92000003").await.status,
        StatusCode::OK
    );
    // A day later the shop may send again.
    app.clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    assert_eq!(
        send_to(&app, &token, "92000004").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_slow_sms_provider_holds_no_database_connection_and_other_requests_still_answer() {
    let (base, _) = twilio::start().await;
    let app = with_twilio(&base).await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let mut customers = Vec::new();
    for i in 0..16 {
        let phone = format!("{}{i:02}", twilio::SLOW_PREFIX);
        customers.push(app.stub(&token, "Ahmed", &phone).await["id"].clone());
    }
    // Sixteen codes on their way through a provider that takes 9 s each.
    let sends: Vec<_> = customers
        .into_iter()
        .map(|id| {
            let req = app
                .client
                .post(format!("{}/api/v1/customers/send-otp", app.base))
                .bearer_auth(&token)
                .json(&json!({"customerId": id}));
            tokio::spawn(async move { TestApp::answer(req.send().await.unwrap()).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let pool = app.app_pool.status();
    assert!(
        pool.size - pool.available <= 1,
        "connections held while texts are on their way: {pool:?}"
    );
    // Sixteen other requests answer at once.
    let started = std::time::Instant::now();
    let others: Vec<_> = (0..16)
        .map(|_| {
            let req = app
                .client
                .get(format!("{}/api/v1/customers?search=ahmed", app.base))
                .bearer_auth(&token);
            tokio::spawn(async move { req.send().await.unwrap().status() })
        })
        .collect();
    for other in others {
        assert_eq!(other.await.unwrap(), StatusCode::OK);
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    for send in sends {
        let a = send.await.unwrap();
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
    }
}

#[tokio::test]
async fn a_text_whose_answer_never_came_keeps_its_code_and_a_refused_one_is_withdrawn() {
    let (base, received) = twilio::start().await;
    let app = with_twilio(&base).await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let dropped = send_to(&app, &token, twilio::DROPPED_TO).await;
    assert_eq!(
        (dropped.status, dropped.code()),
        (StatusCode::BAD_GATEWAY, "sms.unconfirmed"),
        "{dropped:?}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM otp_codes WHERE consumed_at IS NULL")
            .await,
        1,
        "the text may have arrived: its code stays valid"
    );
    // The customer did get it: the code works.
    let body = received.0.lock().unwrap()[0]
        .iter()
        .find(|(k, _)| k == "Body")
        .map(|(_, v)| v.clone())
        .unwrap();
    let customer: uuid::Uuid = app
        .owner
        .get()
        .await
        .unwrap()
        .query_one("SELECT customer_id FROM otp_codes", &[])
        .await
        .unwrap()
        .get(0);
    let verified = app
        .post(
            "/api/v1/customers/verify-otp",
            &token,
            json!({"customerId": customer, "code": code_in(&body)}),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{verified:?}");

    let refused = send_to(&app, &token, twilio::REFUSED_TO).await;
    assert_eq!(refused.code(), "sms.failed");
    assert_eq!(
        app.count("SELECT count(*) FROM otp_codes").await,
        1,
        "the refused text's code was withdrawn"
    );
}

#[tokio::test]
async fn the_hourly_cap_per_phone_holds_across_two_instances() {
    let app = TestApp::spawn().await;
    let second = app
        .second_instance(dukkan_server::limits::LimitConfig::default())
        .await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app.stub(&token, "Ahmed", "92123456").await;
    let send = |base: String| {
        let req = app
            .client
            .post(format!("{base}/api/v1/customers/send-otp"))
            .bearer_auth(&token)
            .json(&json!({"customerId": c["id"]}));
        async move { TestApp::answer(req.send().await.expect("test setup")).await }
    };
    // Five codes, alternating instances: the counters are the code rows in Postgres.
    for i in 0..5 {
        let base = if i % 2 == 0 {
            app.base.clone()
        } else {
            second.clone()
        };
        let a = send(base).await;
        assert_eq!(a.status, StatusCode::OK, "code {i}: {a:?}");
        app.clock.advance(Duration::seconds(61));
    }
    for base in [app.base.clone(), second.clone()] {
        let capped = send(base.clone()).await;
        assert_eq!(
            (capped.status, capped.code()),
            (StatusCode::TOO_MANY_REQUESTS, "otp.rate-limited"),
            "through {base}: {capped:?}"
        );
    }
}
