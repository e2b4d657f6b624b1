//! Verification codes by WhatsApp for customers who prefer it: through Twilio's Messages API
//! (the double speaks it as the official document describes), with one SMS fallback when the
//! WhatsApp message fails, and the same code, cooldown and caps either way.

use crate::support::twilio::{self, Channel, Double, Message, Outcome, WhatsAppFailure};
use crate::support::TestApp;
use chrono::Duration;
use dukkan_server::sms::{SmsSender, Twilio, TwilioConfig};
use dukkan_server::staff::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use uuid::Uuid;

/// The shop's SMS sender.
const SMS_FROM: &str = "+15005550006";

/// The 6-digit code in a message.
fn code_in(body: &str) -> String {
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {body:?}"))
        .to_owned()
}

fn twilio_sender(double: &Double) -> Twilio {
    Twilio::new(TwilioConfig {
        account_sid: twilio::ACCOUNT_SID.into(),
        auth_token: twilio::AUTH_TOKEN.into(),
        from: SMS_FROM.into(),
        base_url: double.base_url.clone(),
    })
    .expect("twilio sender")
}

/// A server sending through the double, with the account's WhatsApp sender when `whatsapp`
/// (configured with its channel prefix, as an operator may write it), and a shop with a
/// signed-in cashier.
async fn app(whatsapp: bool) -> (TestApp, Double, String) {
    let double = twilio::spawn().await;
    let sender = twilio_sender(&double);
    let sender: Arc<dyn SmsSender> = if whatsapp {
        Arc::new(
            sender
                .with_whatsapp_sender(&format!("whatsapp:{}", twilio::WHATSAPP_FROM))
                .expect("a WhatsApp sender"),
        )
    } else {
        Arc::new(sender)
    };
    let app = TestApp::spawn_with_sms(Some(sender)).await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    (app, double, token)
}

/// A stub with `phone` and these contact `channels` (none at all when `None`).
async fn stub(app: &TestApp, token: &str, phone: &str, channels: Option<Value>) -> Value {
    let mut body = json!({"type": "stub", "firstName": "Ahmed", "phone": phone});
    if let Some(channels) = channels {
        body["preferences"] = json!({"channels": channels});
    }
    let a = app.post("/api/v1/customers", token, body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    a.body
}

async fn send_otp(
    app: &TestApp,
    token: &str,
    customer: &Value,
    language: &str,
) -> crate::support::Answer {
    app.post(
        "/api/v1/customers/send-otp",
        token,
        json!({"customerId": customer["id"], "language": language}),
    )
    .await
}

/// Upgrades `customer` with `code` over REST; the answer must be the full profile.
async fn upgrade(app: &TestApp, token: &str, customer: &Value, code: &str) {
    let id = customer["id"].as_str().expect("an id");
    let up = app
        .post(
            &format!("/api/v1/customers/{id}/upgrade"),
            token,
            json!({"otpCode": code, "email": "ahmed@example.om",
                   "preferences": {"channels": ["whatsapp"]}}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{up:?}");
    assert_eq!(up.body["type"], "full");
    assert_eq!(up.body["phoneVerified"], true);
}

fn whatsapp(to: &str, outcome: Outcome, body: &str) -> Message {
    Message {
        channel: Channel::Whatsapp,
        to: format!("whatsapp:{to}"),
        from: format!("whatsapp:{}", twilio::WHATSAPP_FROM),
        body: body.to_owned(),
        outcome,
    }
}

fn sms(to: &str, outcome: Outcome, body: &str) -> Message {
    Message {
        channel: Channel::Sms,
        to: to.to_owned(),
        from: SMS_FROM.to_owned(),
        body: body.to_owned(),
        outcome,
    }
}

#[tokio::test]
async fn a_customer_who_prefers_whatsapp_gets_the_code_by_whatsapp_in_their_language() {
    let (app, double, token) = app(true).await;
    let aisha = stub(&app, &token, "92123456", Some(json!(["whatsapp"]))).await;
    let sent = send_otp(&app, &token, &aisha, "ar").await;
    assert_eq!(sent.status, StatusCode::OK, "{sent:?}");
    assert_eq!(sent.body["channel"], "whatsapp");
    assert_eq!(sent.body["phoneMasked"], "+968****3456");

    let messages = double.received.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let body = messages[0].body.clone();
    assert!(body.starts_with("رمز التحقق من دكان"), "{body}");
    let code = code_in(&body);
    assert_eq!(
        messages[0],
        whatsapp("+96892123456", Outcome::Queued, &body)
    );
    // The form is the document's: To, From, Body, with channel addresses.
    let form = double.received.0.lock().unwrap()[0].clone();
    assert_eq!(
        form,
        vec![
            ("To".to_owned(), "whatsapp:+96892123456".to_owned()),
            ("From".to_owned(), "whatsapp:+14155238886".to_owned()),
            ("Body".to_owned(), body.clone()),
        ]
    );

    // In English for a customer who reads English.
    let salim = stub(&app, &token, "92123457", Some(json!(["whatsapp", "sms"]))).await;
    assert_eq!(
        send_otp(&app, &token, &salim, "en").await.body["channel"],
        "whatsapp"
    );
    let english = double.received.messages()[1].clone();
    assert_eq!(english.to, "whatsapp:+96892123457");
    assert!(
        english
            .body
            .starts_with("Your Dukkan verification code is "),
        "{}",
        english.body
    );

    // The code by WhatsApp is the code: it upgrades the customer.
    upgrade(&app, &token, &aisha, &code).await;
}

#[tokio::test]
async fn a_new_code_asked_for_within_the_hour_of_a_whatsapp_one_goes_by_sms() {
    // Twilio often learns only later that a WhatsApp message could not be delivered: a
    // customer who asks for a new code did not get the first one.
    let (app, double, token) = app(true).await;
    let aisha = stub(&app, &token, "92123456", Some(json!(["whatsapp"]))).await;
    assert_eq!(
        send_otp(&app, &token, &aisha, "en").await.body["channel"],
        "whatsapp"
    );
    app.clock.advance(Duration::seconds(61));
    let again = send_otp(&app, &token, &aisha, "en").await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_eq!(again.body["channel"], "sms");
    let messages = double.received.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[1].to, "+96892123456");
    // The SMS code is the live one.
    let code = code_in(&messages[1].body);
    upgrade(&app, &token, &aisha, &code).await;
    // An hour after the last WhatsApp code, a new one goes by WhatsApp again.
    let salim = stub(&app, &token, "92123457", Some(json!(["whatsapp"]))).await;
    send_otp(&app, &token, &salim, "en").await;
    app.clock.advance(Duration::minutes(61));
    assert_eq!(
        send_otp(&app, &token, &salim, "en").await.body["channel"],
        "whatsapp"
    );
}

#[tokio::test]
async fn when_whatsapp_fails_the_same_code_arrives_by_sms_once_and_upgrades_the_customer() {
    let (app, double, token) = app(true).await;
    let failures = [
        // Twilio answers an error: not on WhatsApp, outside the session window.
        WhatsAppFailure::Refuse(63003),
        WhatsAppFailure::Refuse(63016),
        // Twilio creates the message, already failed or undelivered.
        WhatsAppFailure::CreateAs("failed", 63016),
        WhatsAppFailure::CreateAs("undelivered", 63003),
    ];
    for (i, failure) in failures.into_iter().enumerate() {
        let local = format!("9300000{i}");
        let e164 = format!("+968{local}");
        double.fail_whatsapp(Some(failure));
        let before = double.received.messages().len();
        let customer = stub(&app, &token, &local, Some(json!(["whatsapp"]))).await;
        let sent = send_otp(&app, &token, &customer, "en").await;
        assert_eq!(sent.status, StatusCode::OK, "{failure:?}: {sent:?}");
        assert_eq!(sent.body["channel"], "sms", "{failure:?}");

        let messages = double.received.messages()[before..].to_vec();
        assert_eq!(messages.len(), 2, "{failure:?}: {messages:?}");
        let body = messages[1].body.clone();
        let first = match failure {
            WhatsAppFailure::Refuse(code) => Outcome::Refused(code),
            WhatsAppFailure::CreateAs(status, code) => Outcome::NotDelivered(status, code),
        };
        assert_eq!(
            messages,
            vec![
                whatsapp(&e164, first, &body),
                sms(&e164, Outcome::Queued, &body),
            ],
            "{failure:?}: one WhatsApp try, then one SMS of the very same text"
        );
        upgrade(&app, &token, &customer, &code_in(&body)).await;
    }
    // One code per customer: the fallbacks added no codes.
    assert_eq!(app.count("SELECT count(*) FROM otp_codes").await, 4);
    assert_eq!(
        double.received.delivered().len(),
        4,
        "every customer got exactly one message"
    );
}

#[tokio::test]
async fn a_queued_upgrade_of_a_customer_who_prefers_whatsapp_is_sent_by_whatsapp_or_falls_back_to_sms(
) {
    let (app, double, _) = app(true).await;
    let device = app.device_token("shop").await;
    // Huda is not on WhatsApp: Twilio creates her message as failed.
    double.fail_whatsapp_to("+96892000002", WhatsAppFailure::CreateAs("failed", 63003));
    let (amal, huda) = (Uuid::now_v7(), Uuid::now_v7());
    let at = "2026-12-05T08:00:00.000Z";
    let op = |seq: i64, kind: &str, payload: Value| {
        json!({"opId": Uuid::now_v7(), "deviceSeq": seq, "kind": kind, "at": at,
               "staffId": null, "payload": payload})
    };
    let upgrade_requested = |id: Uuid, language: &str| {
        json!({"customerId": id, "email": "x@example.om", "language": language,
               "preferences": {"channels": ["whatsapp"]}})
    };
    let ops = json!([
        op(
            1,
            "customer_created",
            json!({"id": amal, "kind": "stub", "firstName": "Amal",
            "lastName": null, "name2": null, "phone": "92000001"})
        ),
        op(
            2,
            "customer_created",
            json!({"id": huda, "kind": "stub", "firstName": "Huda",
            "lastName": null, "name2": null, "phone": "92000002"})
        ),
        op(3, "upgrade_requested", upgrade_requested(amal, "ar")),
        op(4, "upgrade_requested", upgrade_requested(huda, "en")),
    ]);
    let pushed = app
        .post(
            "/api/v1/sync/push",
            &device,
            json!({"protocol": 2, "ops": ops}),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::OK, "{pushed:?}");
    // The codes go out once the push committed, off its request path.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while double.received.delivered().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            double.received.messages()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let messages = double.received.messages();
    let to = |m: &Message| m.to.trim_start_matches("whatsapp:").to_owned();
    let amals: Vec<&Message> = messages
        .iter()
        .filter(|m| to(m) == "+96892000001")
        .collect();
    let hudas: Vec<&Message> = messages
        .iter()
        .filter(|m| to(m) == "+96892000002")
        .collect();
    assert_eq!(
        amals
            .iter()
            .map(|m| (m.channel, m.outcome))
            .collect::<Vec<_>>(),
        [(Channel::Whatsapp, Outcome::Queued)]
    );
    assert!(amals[0].body.starts_with("رمز التحقق"), "{}", amals[0].body);
    assert_eq!(
        hudas
            .iter()
            .map(|m| (m.channel, m.outcome))
            .collect::<Vec<_>>(),
        [
            (Channel::Whatsapp, Outcome::NotDelivered("failed", 63003)),
            (Channel::Sms, Outcome::Queued)
        ]
    );
    assert_eq!(
        hudas[0].body, hudas[1].body,
        "the SMS carries the same code"
    );
    assert!(hudas[1].body.starts_with("Your Dukkan verification code"));

    for (customer, body) in [(amal, &amals[0].body), (huda, &hudas[1].body)] {
        let verified = app
            .post(
                &format!("/api/v1/sync/upgrades/{customer}/verify"),
                &device,
                json!({"code": code_in(body)}),
            )
            .await;
        assert_eq!(verified.status, StatusCode::OK, "{verified:?}");
        assert_eq!(verified.body["state"], "verified", "{verified:?}");
        assert_eq!(verified.body["customer"]["kind"], "full", "{verified:?}");
    }
}

#[tokio::test]
async fn without_a_whatsapp_sender_a_customer_who_prefers_whatsapp_gets_the_code_by_sms() {
    let (app, double, token) = app(false).await;
    let customer = stub(&app, &token, "92123456", Some(json!(["whatsapp"]))).await;
    let sent = send_otp(&app, &token, &customer, "en").await;
    assert_eq!(sent.status, StatusCode::OK, "{sent:?}");
    assert_eq!(sent.body["channel"], "sms");
    let messages = double.received.messages();
    assert_eq!(
        messages,
        vec![sms("+96892123456", Outcome::Queued, &messages[0].body)]
    );
    upgrade(&app, &token, &customer, &code_in(&messages[0].body)).await;
    // A sender that is not an E.164 number is refused when the server is configured.
    for bad in ["14155238886", "whatsapp:", "whatsapp:+1 415 523 8886"] {
        assert!(
            twilio_sender(&double).with_whatsapp_sender(bad).is_err(),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn a_customer_who_prefers_sms_or_names_no_channel_gets_the_code_by_sms_even_with_a_whatsapp_sender(
) {
    let (app, double, token) = app(true).await;
    let cases = [
        ("92000001", Some(json!(["sms"]))),
        ("92000002", Some(json!(["email"]))),
        ("92000003", Some(json!([]))),
        ("92000004", None),
    ];
    for (phone, channels) in &cases {
        let customer = stub(&app, &token, phone, channels.clone()).await;
        let sent = send_otp(&app, &token, &customer, "en").await;
        assert_eq!(sent.status, StatusCode::OK, "{channels:?}: {sent:?}");
        assert_eq!(sent.body["channel"], "sms", "{channels:?}");
    }
    let messages = double.received.messages();
    assert_eq!(messages.len(), 4, "{messages:?}");
    for (m, (phone, _)) in messages.iter().zip(&cases) {
        assert_eq!(m, &sms(&format!("+968{phone}"), Outcome::Queued, &m.body));
    }
}

#[tokio::test]
async fn a_code_and_its_sms_fallback_are_one_send_so_the_cooldown_and_hourly_cap_still_hold() {
    let (app, double, token) = app(true).await;
    double.fail_whatsapp(Some(WhatsAppFailure::Refuse(63016)));
    let customer = stub(&app, &token, "92123456", Some(json!(["whatsapp"]))).await;
    let sent = send_otp(&app, &token, &customer, "en").await;
    assert_eq!(sent.body["channel"], "sms", "{sent:?}");
    // The fallback did not start a second send: the cooldown holds from the one code.
    let again = send_otp(&app, &token, &customer, "en").await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::TOO_MANY_REQUESTS, "otp.cooldown"),
        "{again:?}"
    );
    for _ in 1..5 {
        app.clock.advance(Duration::seconds(61));
        let sent = send_otp(&app, &token, &customer, "en").await;
        assert_eq!(
            (sent.status, sent.body["channel"].as_str()),
            (StatusCode::OK, Some("sms")),
            "{sent:?}"
        );
    }
    // Five codes — the first tried by WhatsApp then sent by SMS, the next four straight by SMS
    // (asked for within the hour of a WhatsApp one) — and the sixth is refused.
    app.clock.advance(Duration::seconds(61));
    let capped = send_otp(&app, &token, &customer, "en").await;
    assert_eq!(
        (capped.status, capped.code()),
        (StatusCode::TOO_MANY_REQUESTS, "otp.rate-limited"),
        "{capped:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM otp_codes").await, 5);
    let messages = double.received.messages();
    let tries = |channel| messages.iter().filter(|m| m.channel == channel).count();
    assert_eq!((tries(Channel::Whatsapp), tries(Channel::Sms)), (1, 5));
    assert_eq!(
        double.received.delivered().len(),
        5,
        "five messages reached the phone"
    );
}

#[tokio::test]
async fn the_shop_daily_cap_counts_a_code_and_its_sms_fallback_as_one_send() {
    let (app, double, token) = app(true).await;
    double.fail_whatsapp(Some(WhatsAppFailure::CreateAs("undelivered", 63016)));
    dukkan_server::tenants::set_sms_policy(&app.owner, "shop", None, Some(2))
        .await
        .unwrap();
    for phone in ["92000001", "92000002"] {
        let customer = stub(&app, &token, phone, Some(json!(["whatsapp"]))).await;
        let sent = send_otp(&app, &token, &customer, "en").await;
        assert_eq!(
            (sent.status, sent.body["channel"].as_str()),
            (StatusCode::OK, Some("sms")),
            "{sent:?}"
        );
    }
    let third = stub(&app, &token, "92000003", Some(json!(["whatsapp"]))).await;
    let capped = send_otp(&app, &token, &third, "en").await;
    assert_eq!(
        (capped.status, capped.code()),
        (StatusCode::TOO_MANY_REQUESTS, "otp.shop-daily-cap"),
        "{capped:?}"
    );
    assert_eq!(
        double.received.messages().len(),
        4,
        "2 codes × (WhatsApp + SMS)"
    );
}

#[tokio::test]
async fn when_whatsapp_and_the_sms_fallback_both_fail_the_code_is_withdrawn_after_one_sms_try() {
    let (app, double, token) = app(true).await;
    // Twilio refuses this number on every channel (21211).
    let customer = stub(&app, &token, twilio::REFUSED_TO, Some(json!(["whatsapp"]))).await;
    let failed = send_otp(&app, &token, &customer, "en").await;
    assert_eq!(
        (failed.status, failed.code()),
        (StatusCode::BAD_GATEWAY, "sms.failed"),
        "{failed:?}"
    );
    let channels = |d: &Double| -> Vec<(Channel, Outcome)> {
        d.received
            .messages()
            .iter()
            .map(|m| (m.channel, m.outcome))
            .collect()
    };
    let one_try = [
        (Channel::Whatsapp, Outcome::Refused(21211)),
        (Channel::Sms, Outcome::Refused(21211)),
    ];
    assert_eq!(channels(&double), one_try);
    assert_eq!(
        app.count("SELECT count(*) FROM otp_codes").await,
        0,
        "nothing went out: the code is withdrawn"
    );
    // Withdrawn, so no cooldown: the next send is again one WhatsApp try and one SMS try.
    let again = send_otp(&app, &token, &customer, "en").await;
    assert_eq!(again.code(), "sms.failed");
    assert_eq!(channels(&double), [one_try, one_try].concat());
}

#[tokio::test]
async fn a_whatsapp_message_whose_answer_never_came_is_not_sent_again_by_sms() {
    let (app, double, token) = app(true).await;
    let customer = stub(&app, &token, twilio::DROPPED_TO, Some(json!(["whatsapp"]))).await;
    let lost = send_otp(&app, &token, &customer, "en").await;
    assert_eq!(
        (lost.status, lost.code()),
        (StatusCode::BAD_GATEWAY, "sms.unconfirmed"),
        "{lost:?}"
    );
    let messages = double.received.messages();
    assert_eq!(
        messages,
        vec![whatsapp(
            twilio::DROPPED_TO,
            Outcome::Queued,
            &messages[0].body
        )],
        "it may have arrived by WhatsApp: no SMS follows"
    );
    // It did arrive: its code works.
    let verified = app
        .post(
            "/api/v1/customers/verify-otp",
            &token,
            json!({"customerId": customer["id"], "code": code_in(&messages[0].body)}),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{verified:?}");
}

#[tokio::test]
async fn the_twilio_double_checks_whatsapp_addresses_as_the_documented_api_does() {
    let double = twilio::spawn().await;
    let client = reqwest::Client::new();
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        double.base_url,
        twilio::ACCOUNT_SID
    );
    let create = |form: Vec<(&'static str, String)>| {
        let request = client
            .post(&url)
            .basic_auth(twilio::ACCOUNT_SID, Some(twilio::AUTH_TOKEN))
            .form(&form);
        async move {
            let answer = request.send().await.unwrap();
            (answer.status(), answer.json::<Value>().await.unwrap())
        }
    };
    let wa_from = format!("whatsapp:{}", twilio::WHATSAPP_FROM);
    let to = "whatsapp:+96892123456".to_owned();
    let body = ("Body", "code 123456".to_owned());

    let (status, answer) = create(vec![
        ("To", to.clone()),
        ("From", wa_from.clone()),
        body.clone(),
    ])
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(
        (&answer["to"], &answer["from"], &answer["status"]),
        (&json!(to), &json!(wa_from), &json!("queued"))
    );
    // A Messaging Service with a WhatsApp sender in its pool may stand for From.
    let (status, _) = create(vec![
        ("To", to.clone()),
        (
            "MessagingServiceSid",
            "MG0123456789abcdef0123456789abcdef".into(),
        ),
        body.clone(),
    ])
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let refused = [
        // Not an E.164 number behind the channel prefix.
        (
            vec![
                ("To", "whatsapp:92123456".to_owned()),
                ("From", wa_from.clone()),
            ],
            21211,
        ),
        // To and From on different channels, either way.
        (
            vec![("To", to.clone()), ("From", SMS_FROM.to_owned())],
            21910,
        ),
        (
            vec![("To", "+96892123456".to_owned()), ("From", wa_from.clone())],
            21910,
        ),
        // A WhatsApp From that is not the account's WhatsApp sender, or not a number.
        (
            vec![("To", to.clone()), ("From", format!("whatsapp:{SMS_FROM}"))],
            63007,
        ),
        (
            vec![("To", to.clone()), ("From", "whatsapp:dukkan".to_owned())],
            21212,
        ),
    ];
    for (mut form, code) in refused {
        form.push(body.clone());
        let (status, answer) = create(form.clone()).await;
        assert_eq!(
            (status, answer["code"].as_i64()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{form:?}: {answer}"
        );
    }

    double.fail_whatsapp(Some(WhatsAppFailure::CreateAs("undelivered", 63016)));
    let (status, answer) = create(vec![
        ("To", to.clone()),
        ("From", wa_from.clone()),
        body.clone(),
    ])
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (&answer["status"], &answer["error_code"]),
        (&json!("undelivered"), &json!(63016))
    );
    // SMS is not affected by WhatsApp failures.
    let (status, answer) = create(vec![
        ("To", "+96892123456".to_owned()),
        ("From", SMS_FROM.to_owned()),
        body.clone(),
    ])
    .await;
    assert_eq!(
        (status, &answer["status"]),
        (StatusCode::CREATED, &json!("queued"))
    );

    let recorded: Vec<(Channel, Outcome)> = double
        .received
        .messages()
        .iter()
        .map(|m| (m.channel, m.outcome))
        .collect();
    assert_eq!(
        recorded,
        [
            (Channel::Whatsapp, Outcome::Queued),
            (Channel::Whatsapp, Outcome::Queued),
            (Channel::Whatsapp, Outcome::Refused(21211)),
            (Channel::Whatsapp, Outcome::Refused(21910)),
            (Channel::Sms, Outcome::Refused(21910)),
            (Channel::Whatsapp, Outcome::Refused(63007)),
            (Channel::Whatsapp, Outcome::Refused(21212)),
            (
                Channel::Whatsapp,
                Outcome::NotDelivered("undelivered", 63016)
            ),
            (Channel::Sms, Outcome::Queued),
        ]
    );
    assert_eq!(double.received.0.lock().unwrap().len(), 3, "three went out");
}
