//! A local double of Twilio's Messages API (CreateMessage), built from the official OpenAPI
//! excerpt in `tests/fixtures/twilio_create_message.json`: it accepts exactly the form fields
//! that document lists, requires what it requires, checks the AccountSid pattern and HTTP basic
//! auth, answers 201 with a message resource whose fields and `status` are the document's, and
//! answers errors the way Twilio does (`{code, message, more_info, status}`).
//!
//! `To` and `From` are E.164 numbers (SMS) or channel addresses (`whatsapp:+15552229999`), as
//! the document describes them. A WhatsApp message needs a WhatsApp `To` and a WhatsApp `From`
//! (Twilio's 21910 otherwise), and its `From` must be the account's WhatsApp sender
//! [`WHATSAPP_FROM`] (63007 otherwise). Each message is recorded with its channel and what the
//! double answered; WhatsApp sends can be made to fail ([`Double::fail_whatsapp`]), by an error
//! answer or by a message created as `failed`/`undelivered`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "test-auth-token";
/// The account's WhatsApp sender (Twilio's WhatsApp sandbox number): the only `From` the double
/// takes on WhatsApp.
pub const WHATSAPP_FROM: &str = "+14155238886";
/// A number the double refuses with Twilio's error 21211 ("invalid To"), on every channel.
pub const REFUSED_TO: &str = "+96899999999";
/// Numbers starting so (`+96899999800` to `+96899999899`) take the double 9 seconds to accept
/// (a slow provider).
pub const SLOW_PREFIX: &str = "+968999998";
/// A number whose message the double takes, then drops the connection without answering (the
/// text went out; the answer never came).
pub const DROPPED_TO: &str = "+96899999997";

/// One form as received: (name, value) pairs in order.
pub type Form = Vec<(String, String)>;

/// The channel of a message, from its addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Whatsapp,
}

/// What the double answered to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 201, `status: queued`: the message goes out.
    Queued,
    /// A 4xx error answer with this Twilio error code: no message was created.
    Refused(i64),
    /// 201 with the message already in this `status` (`failed` or `undelivered`) and this
    /// `error_code`: nothing reaches the phone.
    NotDelivered(&'static str, i64),
}

/// One CreateMessage request that passed authentication and the form checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub channel: Channel,
    /// `To` as sent (`whatsapp:+968…` on WhatsApp).
    pub to: String,
    /// `From` as sent (`whatsapp:+…` on WhatsApp), or the `MessagingServiceSid` without one.
    pub from: String,
    pub body: String,
    pub outcome: Outcome,
}

/// What the double received. `.0`: one form per message that went out (answered 201 `queued`);
/// [`Received::messages`]: every message, with its channel and outcome.
#[derive(Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<Form>>>, Arc<Mutex<Vec<Message>>>);

impl Received {
    /// Every message in the order received, refused and failed ones too.
    pub fn messages(&self) -> Vec<Message> {
        self.1.lock().expect("messages lock").clone()
    }

    /// The messages that went out.
    pub fn delivered(&self) -> Vec<Message> {
        self.messages()
            .into_iter()
            .filter(|m| m.outcome == Outcome::Queued)
            .collect()
    }

    fn record(&self, message: Message, form: &Form) {
        if message.outcome == Outcome::Queued {
            self.0.lock().expect("received lock").push(form.clone());
        }
        self.1.lock().expect("messages lock").push(message);
    }
}

/// How the double makes a WhatsApp send fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhatsAppFailure {
    /// Answers 400 with this Twilio error code (e.g. 63003: the number is not on WhatsApp;
    /// 63016: outside the 24-hour session window, a template is needed).
    Refuse(i64),
    /// Answers 201 with the message created in this status (`failed` or `undelivered`) and this
    /// `error_code`.
    CreateAs(&'static str, i64),
}

#[derive(Default)]
struct WhatsAppRules {
    every: Option<WhatsAppFailure>,
    numbers: HashMap<String, WhatsAppFailure>,
}

/// What the double takes from the official document.
struct Spec {
    fields: BTreeSet<String>,
    required: BTreeSet<String>,
    /// The properties of the message resource a 201 answers.
    message_fields: BTreeSet<String>,
    /// The values of the message resource's `status`.
    statuses: BTreeSet<String>,
}

#[derive(Clone)]
struct Shared {
    spec: Arc<Spec>,
    received: Received,
    whatsapp: Arc<Mutex<WhatsAppRules>>,
}

fn load_spec() -> Spec {
    let text = include_str!("../fixtures/twilio_create_message.json");
    let doc: Value = serde_json::from_str(text).expect("fixture parses");
    assert_eq!(doc["post"]["operationId"], "CreateMessage");
    let schema =
        &doc["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
    let names = |v: &Value| -> BTreeSet<String> {
        v.as_object().expect("properties").keys().cloned().collect()
    };
    let strings = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .expect("a list")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        doc["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/api.v2010.account.message"
    );
    let message = &schemas["api.v2010.account.message"];
    assert_eq!(
        message["properties"]["status"]["$ref"],
        "#/components/schemas/message_enum_status"
    );
    Spec {
        fields: names(&schema["properties"]),
        required: strings(&schema["required"]),
        message_fields: names(&message["properties"]),
        statuses: strings(&schemas["message_enum_status"]["enum"]),
    }
}

fn twilio_error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

/// Twilio's text for the WhatsApp error codes the tests use.
fn whatsapp_error_text(code: i64) -> &'static str {
    match code {
        63003 => "Channel could not find To address",
        63016 => {
            "Failed to send freeform message because you are outside the allowed window. \
             If you are using WhatsApp, please use a Message Template."
        }
        _ => "WhatsApp message failed",
    }
}

/// An E.164 number: `+`, then 7 to 15 digits, the first not 0.
fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

/// A `To`/`From` address: its channel and number. `None` for anything but an E.164 number or
/// a `whatsapp:` channel address of one.
fn address(s: &str) -> Option<(Channel, &str)> {
    let (channel, number) = match s.strip_prefix("whatsapp:") {
        Some(n) => (Channel::Whatsapp, n),
        None => (Channel::Sms, s),
    };
    is_e164(number).then_some((channel, number))
}

/// The channel an address names by its prefix (even when it is malformed).
fn channel_of(s: &str) -> Channel {
    if s.starts_with("whatsapp:") {
        Channel::Whatsapp
    } else {
        Channel::Sms
    }
}

async fn create_message(
    State(shared): State<Shared>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let spec = &shared.spec;
    let sid_ok = account_sid.len() == 34
        && account_sid.starts_with("AC")
        && account_sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if !sid_ok {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    let auth_ok = account_sid == ACCOUNT_SID
        && headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    if !auth_ok {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let form_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return twilio_error(StatusCode::BAD_REQUEST, 20001, "Unsupported content type");
    }
    let form: Vec<(String, String)> = match serde_urlencoded_pairs(&body) {
        Some(f) => f,
        None => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Malformed form"),
    };
    for (k, _) in &form {
        if !spec.fields.contains(k) {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                20001,
                &format!("Unknown parameter {k}"),
            );
        }
    }
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    for r in &spec.required {
        if get(r).is_none() {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                21604,
                "A 'To' phone number is required.",
            );
        }
    }
    if get("From").is_none() && get("MessagingServiceSid").is_none() {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    }
    if get("Body").is_none() && get("MediaUrl").is_none() && get("ContentSid").is_none() {
        return twilio_error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    let to = get("To").unwrap_or_default().to_owned();
    let from = get("From")
        .or(get("MessagingServiceSid"))
        .unwrap_or_default()
        .to_owned();
    let channel = channel_of(&to);
    let received = shared.received.clone();
    let refuse = |status: StatusCode, code: i64, text: &str| {
        received.record(
            Message {
                channel,
                to: to.clone(),
                from: from.clone(),
                body: get("Body").unwrap_or_default().to_owned(),
                outcome: Outcome::Refused(code),
            },
            &form,
        );
        twilio_error(status, code, text)
    };
    // `To`: an E.164 number (SMS) or a channel address such as `whatsapp:+15552229999`.
    let Some((_, number)) = address(&to) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("Invalid 'To' Phone Number: {to}"),
        );
    };
    let number = number.to_owned();
    // `From`: on WhatsApp, a channel address of the account's WhatsApp sender; SMS senders may
    // also be alphanumeric IDs or short codes, so only their channel is checked.
    if let Some(from_field) = get("From") {
        let from_channel = channel_of(from_field);
        if from_channel == Channel::Whatsapp && address(from_field).is_none() {
            return refuse(
                StatusCode::BAD_REQUEST,
                21212,
                &format!("The 'From' number {from_field} is not a valid phone number"),
            );
        }
        if from_channel != channel {
            return refuse(
                StatusCode::BAD_REQUEST,
                21910,
                "Invalid From and To pair. From and To should be of the same channel",
            );
        }
        if channel == Channel::Whatsapp && from_field != format!("whatsapp:{WHATSAPP_FROM}") {
            return refuse(
                StatusCode::BAD_REQUEST,
                63007,
                "Twilio could not find a Channel with the specified From address",
            );
        }
    }
    if number == REFUSED_TO {
        return refuse(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("Invalid 'To' Phone Number: {to}"),
        );
    }
    if number.starts_with(SLOW_PREFIX) {
        tokio::time::sleep(std::time::Duration::from_secs(9)).await;
    }
    let failure = if channel == Channel::Whatsapp {
        let rules = shared.whatsapp.lock().expect("rules lock");
        rules.numbers.get(&number).copied().or(rules.every)
    } else {
        None
    };
    let (status, error_code) = match failure {
        Some(WhatsAppFailure::Refuse(code)) => {
            return refuse(StatusCode::BAD_REQUEST, code, whatsapp_error_text(code));
        }
        Some(WhatsAppFailure::CreateAs(status, code)) => (status, Some(code)),
        None => ("queued", None),
    };
    let message = Message {
        channel,
        to: to.clone(),
        from: from.clone(),
        body: get("Body").unwrap_or_default().to_owned(),
        outcome: match error_code {
            Some(code) => Outcome::NotDelivered(status, code),
            None => Outcome::Queued,
        },
    };
    shared.received.record(message, &form);
    if number == DROPPED_TO {
        panic!("the Twilio double drops this connection on purpose");
    }
    let sid = format!("SM{}", uuid::Uuid::now_v7().simple());
    let answer = json!({
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": get("Body"),
        "direction": "outbound-api",
        "error_code": error_code,
        "error_message": error_code.map(whatsapp_error_text),
        "from": get("From"),
        "messaging_service_sid": get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "sid": sid,
        "status": status,
        "to": to,
        "uri": format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"),
    });
    // The double answers only what the document describes.
    for field in answer.as_object().expect("an object").keys() {
        assert!(
            spec.message_fields.contains(field),
            "the double answers {field}, which the message resource does not have"
        );
    }
    assert!(
        spec.statuses.contains(status),
        "the double answers status {status}, which the document does not list"
    );
    (StatusCode::CREATED, Json(answer)).into_response()
}

/// Decodes `application/x-www-form-urlencoded` pairs (percent-decoding and `+` as space).
fn serde_urlencoded_pairs(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    let decode = |s: &str| -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b'%' => return None,
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

/// A running double: its base URL, what it received, and its WhatsApp failure switches.
pub struct Double {
    pub base_url: String,
    pub received: Received,
    whatsapp: Arc<Mutex<WhatsAppRules>>,
}

impl Double {
    /// From now on every WhatsApp send fails so (`None`: WhatsApp sends go out again, except
    /// to the numbers of [`Double::fail_whatsapp_to`]).
    pub fn fail_whatsapp(&self, failure: Option<WhatsAppFailure>) {
        self.whatsapp.lock().expect("rules lock").every = failure;
    }

    /// WhatsApp sends to `e164` fail so (a number that is not on WhatsApp, say).
    pub fn fail_whatsapp_to(&self, e164: &str, failure: WhatsAppFailure) {
        self.whatsapp
            .lock()
            .expect("rules lock")
            .numbers
            .insert(e164.to_owned(), failure);
    }
}

/// Starts a double on 127.0.0.1:0.
pub async fn spawn() -> Double {
    let received = Received::default();
    let whatsapp = Arc::new(Mutex::new(WhatsAppRules::default()));
    let shared = Shared {
        spec: Arc::new(load_spec()),
        received: received.clone(),
        whatsapp: whatsapp.clone(),
    };
    let app = Router::new()
        .route(
            "/2010-04-01/Accounts/{account_sid}/Messages.json",
            post(create_message),
        )
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the Twilio double");
    let addr = listener.local_addr().expect("double address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Double {
        base_url: format!("http://{addr}"),
        received,
        whatsapp,
    }
}

/// Starts the double on 127.0.0.1:0; returns its base URL and what it receives.
pub async fn start() -> (String, Received) {
    let double = spawn().await;
    (double.base_url, double.received)
}
