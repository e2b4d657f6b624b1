//! A local double of Twilio's Messages API (CreateMessage), built from the official OpenAPI
//! excerpt in `tests/fixtures/twilio_create_message.json`: it accepts exactly the form fields
//! that document lists, requires what it requires, checks the AccountSid pattern and HTTP basic
//! auth, answers 201 with a message resource, and answers errors the way Twilio does
//! (`{code, message, more_info, status}`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "test-auth-token";
/// A number the double refuses with Twilio's error 21211 ("invalid To").
pub const REFUSED_TO: &str = "+96899999999";
/// Numbers starting so (`+96899999800` to `+96899999899`) take the double 9 seconds to accept
/// (a slow provider).
pub const SLOW_PREFIX: &str = "+968999998";
/// A number whose message the double takes, then drops the connection without answering (the
/// text went out; the answer never came).
pub const DROPPED_TO: &str = "+96899999997";

/// One form as received: (name, value) pairs in order.
pub type Form = Vec<(String, String)>;

/// What the double received, one form per accepted request.
#[derive(Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<Form>>>);

#[derive(Clone)]
struct Spec {
    fields: BTreeSet<String>,
    required: BTreeSet<String>,
    received: Received,
}

fn load_spec() -> (BTreeSet<String>, BTreeSet<String>) {
    let text = include_str!("../fixtures/twilio_create_message.json");
    let doc: Value = serde_json::from_str(text).expect("fixture parses");
    assert_eq!(doc["post"]["operationId"], "CreateMessage");
    let schema =
        &doc["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
    let fields = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect();
    let required = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    (fields, required)
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

async fn create_message(
    State(spec): State<Spec>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
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
    if to == REFUSED_TO {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("Invalid 'To' Phone Number: {to}"),
        );
    }
    if to.starts_with(SLOW_PREFIX) {
        tokio::time::sleep(std::time::Duration::from_secs(9)).await;
    }
    if to == DROPPED_TO {
        spec.received
            .0
            .lock()
            .expect("received lock")
            .push(form.clone());
        panic!("the Twilio double drops this connection on purpose");
    }
    spec.received
        .0
        .lock()
        .expect("received lock")
        .push(form.clone());
    (
        StatusCode::CREATED,
        Json(json!({
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": get("Body"),
            "direction": "outbound-api",
            "from": get("From"),
            "messaging_service_sid": get("MessagingServiceSid"),
            "num_segments": "1",
            "sid": format!("SM{}", uuid::Uuid::now_v7().simple()),
            "status": "queued",
            "to": to,
            "uri": format!("/2010-04-01/Accounts/{account_sid}/Messages/SM.json"),
        })),
    )
        .into_response()
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

/// Starts the double on 127.0.0.1:0; returns its base URL and what it receives.
pub async fn start() -> (String, Received) {
    let (fields, required) = load_spec();
    let received = Received::default();
    let spec = Spec {
        fields,
        required,
        received: received.clone(),
    };
    let app = Router::new()
        .route(
            "/2010-04-01/Accounts/{account_sid}/Messages.json",
            post(create_message),
        )
        .with_state(spec);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the Twilio double");
    let addr = listener.local_addr().expect("double address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), received)
}
