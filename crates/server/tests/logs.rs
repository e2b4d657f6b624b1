//! The server's logs never hold a phone number in full, an OTP code, a bearer token, an
//! enrollment code, a PIN or an email: everything the server logs while handling them is
//! captured at TRACE level and searched. Codes sent by WhatsApp, and by SMS after a failed
//! WhatsApp message, are logged with their channel and the fallback, and nothing more.
//!
//! Its own test binary with one test: the capturing subscriber is the process-wide default,
//! so no other test's logging (or tracing's per-callsite interest cache, shared by all
//! threads of a process) can interfere.

#[path = "support/mod.rs"]
mod support;

use dukkan_server::limits::LimitConfig;
use dukkan_server::staff::{self, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::{twilio, TestApp};

/// Everything written by the test's subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

const PHONE: &str = "+96892123456";
const PHONE_LOCAL: &str = "92123456";
const EMAIL: &str = "aisha.private@example.om";
const PIN: &str = "Pin-Secret-7731";
/// A customer who gets codes by WhatsApp, and one whose WhatsApp message fails.
const WHATSAPP_PHONE: &str = "+96893334444";
const FALLBACK_PHONE: &str = "+96894445555";
const PASSWORD: &str = "Password-Secret-7731";

#[tokio::test]
async fn logs_hold_masked_phones_only_and_never_codes_tokens_pins_or_emails() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let double = twilio::spawn().await;
    let received = double.received.clone();
    let twilio_secret = twilio::AUTH_TOKEN;
    let sender = Arc::new(
        dukkan_server::sms::Twilio::new(dukkan_server::sms::TwilioConfig {
            account_sid: twilio::ACCOUNT_SID.into(),
            auth_token: twilio_secret.into(),
            from: "+15005550006".into(),
            base_url: double.base_url.clone(),
        })
        .expect("twilio sender")
        .with_whatsapp_sender(twilio::WHATSAPP_FROM)
        .expect("a WhatsApp sender"),
    );
    let app = TestApp::spawn_with(Some(sender), LimitConfig::default()).await;
    app.tenant("shop").await;
    let member = staff::add(&app.owner, "shop", "Salim", Role::Manager, PIN)
        .await
        .unwrap();
    staff::set_password(&app.owner, "shop", &member.id.to_string(), PASSWORD)
        .await
        .unwrap();
    let sign_in = |password: &'static str| {
        app.call(
            Method::POST,
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"tenant": "shop", "staffId": member.id.to_string(), "password": password})),
        )
    };
    // A wrong password, then the right one.
    assert_eq!(
        sign_in("Wrong-Password-5519").await.status,
        StatusCode::UNAUTHORIZED
    );
    let ok = sign_in(PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    let token = ok.body["token"].as_str().unwrap().to_owned();

    // Customer create, search by phone, a refused duplicate.
    let customer = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "Aisha", "phone": PHONE_LOCAL}),
        )
        .await;
    assert_eq!(customer.status, StatusCode::CREATED, "{customer:?}");
    let id = customer.body["id"].as_str().unwrap().to_owned();
    let found = app
        .get(&format!("/api/v1/customers?search={PHONE_LOCAL}"), &token)
        .await;
    assert_eq!(found.status, StatusCode::OK);
    let dup = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "Aisha", "phone": PHONE}),
        )
        .await;
    assert_eq!(dup.code(), "customer.phone-taken");

    // OTP: send (through the Twilio double), a wrong code, the right code, the upgrade.
    let sent = app
        .post(
            "/api/v1/customers/send-otp",
            &token,
            json!({"customerId": id}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{sent:?}");
    let body = received.0.lock().unwrap()[0]
        .iter()
        .find(|(k, _)| k == "Body")
        .unwrap()
        .1
        .clone();
    let code: String = body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = app
        .post(
            "/api/v1/customers/verify-otp",
            &token,
            json!({"customerId": id, "code": wrong}),
        )
        .await;
    assert_eq!(refused.code(), "otp.invalid");
    let upgraded = app
        .post(
            &format!("/api/v1/customers/{id}/upgrade"),
            &token,
            json!({"otpCode": code, "email": EMAIL}),
        )
        .await;
    assert_eq!(upgraded.status, StatusCode::OK, "{upgraded:?}");

    // A text Twilio refuses.
    let refused_phone = app.stub(&token, "Omar", twilio::REFUSED_TO).await;
    let failed = app
        .post(
            "/api/v1/customers/send-otp",
            &token,
            json!({"customerId": refused_phone["id"]}),
        )
        .await;
    assert_eq!(failed.code(), "sms.failed");

    // Codes by WhatsApp: one goes out, one fails (not on WhatsApp) and goes by SMS.
    double.fail_whatsapp_to(FALLBACK_PHONE, twilio::WhatsAppFailure::Refuse(63003));
    let mut whatsapp_codes = Vec::new();
    for (phone, channel) in [(WHATSAPP_PHONE, "whatsapp"), (FALLBACK_PHONE, "sms")] {
        let customer = app
            .post(
                "/api/v1/customers",
                &token,
                json!({"type": "stub", "firstName": "Huda", "phone": phone,
                       "preferences": {"channels": ["whatsapp"]}}),
            )
            .await;
        assert_eq!(customer.status, StatusCode::CREATED, "{customer:?}");
        let sent = app
            .post(
                "/api/v1/customers/send-otp",
                &token,
                json!({"customerId": customer.body["id"]}),
            )
            .await;
        assert_eq!(sent.body["channel"], channel, "{sent:?}");
        let body = received.delivered().last().unwrap().body.clone();
        whatsapp_codes.push(
            body.split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 6)
                .unwrap()
                .to_owned(),
        );
    }

    // Device enrollment over REST and a sync pull with the device token.
    let made = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll-codes",
            Some(&token),
            None,
        )
        .await;
    let enroll_code = made.body["code"].as_str().unwrap().to_owned();
    let enrolled = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"tenant": "shop", "code": enroll_code})),
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{enrolled:?}");
    let device_token = enrolled.body["deviceToken"].as_str().unwrap().to_owned();
    let pull = app.get("/api/v1/sync/pull?since=0", &device_token).await;
    assert_eq!(pull.status, StatusCode::OK);

    let logs = captured.text();
    assert!(
        logs.contains("+968****3456"),
        "the masked phone is logged where a phone is meant:\n{logs}"
    );
    assert!(logs.contains("sign-in refused") && logs.contains("device enrolled"));
    // Which channel a code went on, and whether it fell back, are logged.
    let sent_lines: Vec<&str> = logs.lines().filter(|l| l.contains("OTP sent")).collect();
    let logged = |needles: &[&str]| {
        sent_lines
            .iter()
            .any(|l| needles.iter().all(|n| l.contains(n)))
    };
    assert!(
        logged(&[
            "+968****4444",
            "preferred=\"whatsapp\"",
            "channel=\"whatsapp\"",
            "fallback=false"
        ]),
        "{logs}"
    );
    assert!(
        logged(&[
            "+968****5555",
            "preferred=\"whatsapp\"",
            "channel=\"sms\"",
            "fallback=true"
        ]),
        "{logs}"
    );
    assert!(
        logged(&[
            "+968****3456",
            "preferred=\"sms\"",
            "channel=\"sms\"",
            "fallback=false"
        ]),
        "{logs}"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains("falling back to SMS") && l.contains("+968****5555")),
        "{logs}"
    );
    for (what, secret) in [
        ("WhatsApp phone", WHATSAPP_PHONE.to_owned()),
        ("WhatsApp phone (local)", WHATSAPP_PHONE[4..].to_owned()),
        ("fallback phone", FALLBACK_PHONE.to_owned()),
        ("fallback phone (local)", FALLBACK_PHONE[4..].to_owned()),
        ("OTP code by WhatsApp", whatsapp_codes[0].clone()),
        ("OTP code by SMS fallback", whatsapp_codes[1].clone()),
        ("phone", PHONE.to_owned()),
        ("phone (local)", PHONE_LOCAL.to_owned()),
        ("refused phone", twilio::REFUSED_TO.to_owned()),
        ("OTP code", code.clone()),
        ("wrong OTP code", wrong.to_owned()),
        ("staff token", token.clone()),
        ("device token", device_token.clone()),
        ("enrollment code", enroll_code.clone()),
        ("enrollment code (typed)", enroll_code.replace('-', "")),
        ("PIN", PIN.to_owned()),
        ("wrong password", "Wrong-Password-5519".to_owned()),
        ("password", PASSWORD.to_owned()),
        ("email", EMAIL.to_owned()),
        ("Twilio auth token", twilio_secret.to_owned()),
    ] {
        assert!(!logs.contains(&secret), "the {what} appears in the logs");
    }
}
