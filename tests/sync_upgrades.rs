//! The OTP upgrade queue end to end: a real device (its own SQLite file) requests the upgrade,
//! possibly offline; the real server on 127.0.0.1:0 sends the code through the Twilio double once
//! the request arrives; the cashier submits the code online; only the server makes the customer
//! full. Every state — queued, sent, verified, failed, expired — is reached and checked.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "common/mod.rs"]
mod common;

use common::{enrolled_device, sync};

/// A stub named Ahmed with `phone`.
fn stub(d: &Device, phone: &str) -> dukkan_device::Customer {
    common::stub(d, "Ahmed", phone)
}

/// A till of the `muscat` shop.
async fn till(app: &TestApp) -> common::TestDevice {
    enrolled_device(app, "muscat").await
}

use dukkan_core::i18n::Locale;
use dukkan_core::sync::UpgradeState;
use dukkan_core::CustomerKind;
use dukkan_device::engine;
use dukkan_device::{Device, UpgradeRequest};
use std::sync::Arc;
use std::time::Duration;
use support::{twilio, TestApp};

/// A server whose texts go to the Twilio double, and what the double received.
async fn app_with_twilio() -> (TestApp, twilio::Received) {
    let (base, received) = twilio::start().await;
    let sender = dukkan_server::sms::Twilio::new(dukkan_server::sms::TwilioConfig {
        account_sid: twilio::ACCOUNT_SID.into(),
        auth_token: twilio::AUTH_TOKEN.into(),
        from: "+15005550006".into(),
        base_url: base,
    })
    .unwrap();
    let app = TestApp::spawn_with_sms(Some(Arc::new(sender))).await;
    app.tenant("muscat").await;
    (app, received)
}

/// Syncs until the device's upgrade request satisfies `done` (the server sends codes off the
/// push's request path), or fails after 10 s.
async fn sync_until(
    app: &TestApp,
    d: &Device,
    customer: dukkan_core::CustomerId,
    done: impl Fn(&UpgradeRequest) -> bool,
) -> UpgradeRequest {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        sync(app, d).await;
        let request = d.upgrade_request(customer).unwrap().unwrap();
        if done(&request) {
            return request;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "upgrade stuck at {request:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The texts the double received: (To, Body).
fn texts(received: &twilio::Received) -> Vec<(String, String)> {
    received
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|form| {
            let field = |name: &str| {
                form.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (field("To"), field("Body"))
        })
        .collect()
}

/// The six-digit code in a text.
fn code_in(body: &str) -> String {
    let digits: Vec<char> = body.chars().collect();
    digits
        .windows(6)
        .find(|w| w.iter().all(|c| c.is_ascii_digit()))
        .map(|w| w.iter().collect())
        .unwrap_or_else(|| panic!("no code in {body:?}"))
}

fn wrong(code: &str) -> String {
    let first = code.as_bytes()[0];
    let other = if first == b'9' {
        '0'
    } else {
        (first + 1) as char
    };
    format!("{other}{}", &code[1..])
}

async fn server_customer(app: &TestApp, id: dukkan_core::CustomerId) -> (String, bool, String) {
    let client = app.owner.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT kind, phone_verified, coalesce(email, '') FROM customers WHERE id = $1",
            &[&id.as_uuid()],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upgrade_requested_offline_is_sent_on_reconnect_and_verified_online() {
    let (app, received) = app_with_twilio().await;
    let a = till(&app).await;
    let c = stub(&a.device, "92123456");

    // Offline at the counter: the request is recorded and waits in the outbox.
    let queued = a
        .device
        .request_upgrade(
            c.id,
            "ahmed@example.om",
            &Default::default(),
            Some(Locale::Ar),
        )
        .unwrap();
    assert_eq!(queued.state, UpgradeState::Queued);
    assert!(queued.waiting_for_sync);
    let early = engine::verify_upgrade_code(&a.device, c.id, "123456").await;
    assert_eq!(
        early.unwrap_err().code(),
        "upgrade.waiting-for-sync",
        "no code exists before the request reaches the server"
    );
    assert!(texts(&received).is_empty());

    // Back online: the push delivers the request and the server texts the code, in Arabic.
    let sent = sync_until(&app, &a.device, c.id, |u| u.state == UpgradeState::Sent).await;
    assert!(!sent.waiting_for_sync);
    assert!(sent.code_expires_at.is_some() && sent.resend_after.is_some());
    let sms = texts(&received);
    assert_eq!(sms.len(), 1, "exactly one text per request");
    assert_eq!(sms[0].0, "+96892123456");
    assert!(
        sms[0].1.contains("رمز"),
        "the text is in the language asked for: {:?}",
        sms[0].1
    );
    let code = code_in(&sms[0].1);

    // A wrong code is an answer: attempts left, nothing upgraded.
    let after_wrong = engine::verify_upgrade_code(&a.device, c.id, &wrong(&code))
        .await
        .unwrap();
    assert_eq!(after_wrong.state, UpgradeState::Sent);
    assert_eq!(after_wrong.error_code.as_deref(), Some("otp.invalid"));
    assert_eq!(after_wrong.attempts_left, Some(2));
    assert_eq!(
        a.device.customer(c.id).unwrap().customer.kind,
        CustomerKind::Stub
    );

    // The right code, typed in Arabic-Indic digits: the server makes the customer full.
    let arabic: String = code
        .chars()
        .map(|d| char::from_u32(0x0660 + d.to_digit(10).unwrap()).unwrap())
        .collect();
    let verified = engine::verify_upgrade_code(&a.device, c.id, &arabic)
        .await
        .unwrap();
    assert_eq!(verified.state, UpgradeState::Verified);
    let local = a.device.customer(c.id).unwrap().customer;
    assert_eq!(local.kind, CustomerKind::Full);
    assert!(local.phone_verified);
    assert_eq!(local.email.as_deref(), Some("ahmed@example.om"));
    assert_eq!(
        server_customer(&app, c.id).await,
        ("full".to_owned(), true, "ahmed@example.om".to_owned())
    );

    // Another till learns it by pulling.
    let b = till(&app).await;
    sync(&app, &b.device).await;
    let seen = b.device.customer(c.id).unwrap().customer;
    assert_eq!(seen.kind, CustomerKind::Full);
    assert!(seen.phone_verified);
    assert_eq!(texts(&received).len(), 1, "no second text was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn three_wrong_codes_fail_the_upgrade_and_a_new_code_after_the_cooldown_starts_over() {
    let (app, received) = app_with_twilio().await;
    let a = till(&app).await;
    let c = stub(&a.device, "92123457");
    a.device
        .request_upgrade(c.id, "sara@example.om", &Default::default(), None)
        .unwrap();
    sync_until(&app, &a.device, c.id, |u| u.state == UpgradeState::Sent).await;
    let code = code_in(&texts(&received)[0].1);

    for left in [2, 1] {
        let r = engine::verify_upgrade_code(&a.device, c.id, &wrong(&code))
            .await
            .unwrap();
        assert_eq!((r.state, r.attempts_left), (UpgradeState::Sent, Some(left)));
    }
    let locked = engine::verify_upgrade_code(&a.device, c.id, &wrong(&code))
        .await
        .unwrap();
    assert_eq!(locked.state, UpgradeState::Failed);
    assert_eq!(locked.error_code.as_deref(), Some("otp.locked"));
    // The right code no longer helps.
    let late = engine::verify_upgrade_code(&a.device, c.id, &code)
        .await
        .unwrap();
    assert_ne!(late.state, UpgradeState::Verified);
    assert_eq!(server_customer(&app, c.id).await.0, "stub");

    // A new code within the cooldown is refused with the time to wait; nothing is sent.
    let refused = engine::resend_upgrade_code(&a.device, c.id).await.unwrap();
    assert_eq!(refused.error_code.as_deref(), Some("otp.cooldown"));
    assert!(refused.resend_after.is_some());
    assert_eq!(texts(&received).len(), 1);

    // After the cooldown a new code goes out and works.
    app.clock.advance(chrono::Duration::seconds(61));
    let resent = engine::resend_upgrade_code(&a.device, c.id).await.unwrap();
    assert_eq!(resent.state, UpgradeState::Sent);
    assert_eq!(resent.error_code, None);
    let sms = texts(&received);
    assert_eq!(sms.len(), 2);
    let new_code = code_in(&sms[1].1);
    let verified = engine::verify_upgrade_code(&a.device, c.id, &new_code)
        .await
        .unwrap();
    assert_eq!(verified.state, UpgradeState::Verified);
    assert_eq!(server_customer(&app, c.id).await.0, "full");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_typed_after_five_minutes_expires_the_upgrade() {
    let (app, received) = app_with_twilio().await;
    let a = till(&app).await;
    let c = stub(&a.device, "92123458");
    a.device
        .request_upgrade(c.id, "ali@example.om", &Default::default(), None)
        .unwrap();
    sync_until(&app, &a.device, c.id, |u| u.state == UpgradeState::Sent).await;
    let code = code_in(&texts(&received)[0].1);
    app.clock.advance(chrono::Duration::minutes(5));
    let expired = engine::verify_upgrade_code(&a.device, c.id, &code)
        .await
        .unwrap();
    assert_eq!(expired.state, UpgradeState::Expired);
    assert_eq!(server_customer(&app, c.id).await.0, "stub");
    // The state is the server's, not just this answer's: a pull keeps it expired.
    sync(&app, &a.device).await;
    assert_eq!(
        a.device.upgrade_request(c.id).unwrap().unwrap().state,
        UpgradeState::Expired
    );
    let client = app.owner.get().await.unwrap();
    let state: String = client
        .query_one(
            "SELECT state FROM upgrade_requests WHERE customer_id = $1",
            &[&c.id.as_uuid()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_text_the_provider_refuses_fails_the_upgrade_with_the_reason() {
    let (app, received) = app_with_twilio().await;
    let a = till(&app).await;
    // The double refuses this number the way Twilio does (error 21211).
    let c = stub(&a.device, twilio::REFUSED_TO);
    a.device
        .request_upgrade(c.id, "no@example.om", &Default::default(), None)
        .unwrap();
    let failed = sync_until(&app, &a.device, c.id, |u| u.state == UpgradeState::Failed).await;
    assert_eq!(failed.error_code.as_deref(), Some("sms.failed"));
    assert!(texts(&received).is_empty());
    let client = app.owner.get().await.unwrap();
    let codes: i64 = client
        .query_one("SELECT count(*) FROM otp_codes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        codes, 0,
        "a refused text leaves no code and starts no cooldown"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrade_endpoints_refuse_hostile_input_and_other_tenants_without_writing() {
    let (app, received) = app_with_twilio().await;
    app.tenant("sohar").await;
    let a = till(&app).await;
    let c = stub(&a.device, "92123459");
    a.device
        .request_upgrade(c.id, "x@example.om", &Default::default(), None)
        .unwrap();
    sync_until(&app, &a.device, c.id, |u| u.state == UpgradeState::Sent).await;
    let (_, token) = a.device.enrollment().unwrap().unwrap();
    let url = |id: &str, action: &str| format!("{}/api/v1/sync/upgrades/{id}/{action}", app.base);
    let id = c.id.to_string();

    // A device of another tenant cannot see or touch the request.
    let code = dukkan_server::devices::create_code(&app.owner, "sohar", None)
        .await
        .unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = Device::open(other_dir.path().join("o.sqlite3")).unwrap();
    engine::enroll(&other, &app.base, "sohar", &code.code, None)
        .await
        .unwrap();
    let (_, other_token) = other.enrollment().unwrap().unwrap();
    for action in ["resend", "verify"] {
        let r = app
            .client
            .post(url(&id, action))
            .bearer_auth(&other_token)
            .json(&serde_json::json!({ "code": "123456" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{action} across tenants");
    }

    let send = |body: reqwest::Body, content_type: &'static str| {
        app.client
            .post(url(&id, "verify"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let long = format!("{{\"code\":\"{}\"}}", "1".repeat(10_000));
    let cases: Vec<(&str, reqwest::Body)> = vec![
        ("malformed JSON", "{\"code\":".into()),
        ("wrong type", "{\"code\":123456}".into()),
        ("unknown field", "{\"code\":\"123456\",\"x\":1}".into()),
        ("invalid UTF-8", vec![b'{', 0xff, 0xfe, b'}'].into()),
        ("oversized", long.into()),
    ];
    for (what, body) in cases {
        let r = send(body, "application/json").await.unwrap();
        assert!(r.status().is_client_error(), "{what}: {}", r.status());
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        assert!(body["code"].is_string(), "{what}: {body}");
    }
    for code in ["", "12345", "1234567", "12\u{202e}3456", "abcdef"] {
        let r = app
            .client
            .post(url(&id, "verify"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{code:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["errorCode"], "otp.invalid", "{code:?}");
        assert_eq!(body["state"], "sent", "a malformed code uses no attempt");
    }
    let r = app
        .client
        .post(url("not-a-uuid", "verify"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "code": "123456" }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let r = app.client.post(url(&id, "resend")).send().await.unwrap();
    assert_eq!(r.status(), 401, "no token");

    // On the device, bad codes never leave it.
    for code in ["", "12345", &"9".repeat(10_000), "12\u{202e}3456"] {
        let e = engine::verify_upgrade_code(&a.device, c.id, code)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "otp.malformed");
    }
    let client = app.owner.get().await.unwrap();
    let attempts: i32 = client
        .query_one("SELECT attempts FROM otp_codes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 0, "no attempt was used by any of it");
    assert_eq!(server_customer(&app, c.id).await.0, "stub");
    assert_eq!(texts(&received).len(), 1);
}
