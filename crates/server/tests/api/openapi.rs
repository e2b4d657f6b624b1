//! The served OpenAPI document, docs/api.md and the router describe the same endpoints.

use crate::support::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `METHOD /path` of every operation in the served document.
fn operations(doc: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    out
}

/// `METHOD /path` of every endpoint heading (`### METHOD /path`) in docs/api.md.
fn documented() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md");
    let text = std::fs::read_to_string(path).expect("docs/api.md");
    text.lines()
        .filter_map(|l| l.strip_prefix("### "))
        .filter(|h| {
            METHODS
                .iter()
                .any(|m| h.starts_with(&format!("{} /", m.to_uppercase())))
        })
        .map(|h| h.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

async fn served(app: &TestApp) -> Value {
    let a = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    a.body
}

#[tokio::test]
async fn the_served_openapi_document_and_docs_api_md_list_the_same_endpoints() {
    let app = TestApp::spawn().await;
    let doc = served(&app).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let in_doc = operations(&doc);
    let in_md = documented();
    assert!(in_doc.len() >= 25, "{in_doc:#?}");
    let missing_in_md: Vec<_> = in_doc.difference(&in_md).collect();
    let missing_in_doc: Vec<_> = in_md.difference(&in_doc).collect();
    assert!(
        missing_in_md.is_empty() && missing_in_doc.is_empty(),
        "served but not in docs/api.md: {missing_in_md:#?}\n\
         in docs/api.md but not served: {missing_in_doc:#?}"
    );
}

#[tokio::test]
async fn every_operation_in_the_openapi_document_is_routed_and_documents_its_answers() {
    let app = TestApp::spawn().await;
    let doc = served(&app).await;
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "Customer",
        "CustomerPage",
        "Session",
        "ErrorBody",
        "AddressView",
        "OrderRecord",
        "OrderPage",
        "LoyaltyRule",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for op in operations(&doc) {
        let (method, path) = op.split_once(' ').unwrap();
        let item = &doc["paths"][path][method.to_lowercase()];
        assert!(
            item["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{op} documents no response"
        );
        // Any id will do: the route must exist (a 404 for the record is fine, not for the route).
        let concrete = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    uuid::Uuid::now_v7().to_string()
                } else {
                    seg.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let a = app
            .call(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &concrete,
                None,
                None,
            )
            .await;
        assert_ne!(a.code(), "route.not-found", "{op} is not routed");
        assert_ne!(
            a.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{op} is not routed"
        );
    }
}

/// The parameter `name` of operation `method path`.
fn param<'a>(doc: &'a Value, method: &str, path: &str, name: &str) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
}

/// A component schema, following one `$ref`.
fn schema<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => v,
    }
}

#[tokio::test]
async fn documented_request_schemas_are_as_strict_as_the_server() {
    let app = TestApp::spawn().await;
    let doc = served(&app).await;
    let bounds = |v: &Value| (v["minimum"].as_f64(), v["maximum"].as_f64());

    // Push: the protocols the server answers, the batch size, the sequence numbers it takes —
    // generated from the wire types themselves (dukkan_core::sync), like every other schema.
    use dukkan_core::sync::{
        AT_MAX_CHARS, MAX_DEVICE_SEQ, MAX_PUSH_BATCH, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION,
    };
    let push = schema(
        &doc,
        &doc["paths"]["/api/v1/sync/push"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"],
    );
    assert_eq!(
        bounds(&push["properties"]["protocol"]),
        (
            Some(f64::from(OLDEST_PROTOCOL_VERSION)),
            Some(f64::from(PROTOCOL_VERSION))
        )
    );
    assert_eq!(push["properties"]["ops"]["maxItems"], MAX_PUSH_BATCH);
    // PushOp = Op (kind + payload) and the op's envelope.
    let op = schema(&doc, &push["properties"]["ops"]["items"]);
    let parts = op["allOf"].as_array().expect("PushOp is allOf");
    let envelope = parts
        .iter()
        .find(|p| p["properties"]["deviceSeq"].is_object())
        .expect("envelope");
    assert_eq!(
        bounds(&envelope["properties"]["deviceSeq"]),
        (Some(1.0), Some(MAX_DEVICE_SEQ as f64))
    );
    assert_eq!(envelope["properties"]["at"]["maxLength"], AT_MAX_CHARS);
    let kinds: Vec<&str> = parts
        .iter()
        .filter_map(|p| p["$ref"].as_str())
        .flat_map(|r| {
            doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")]["oneOf"]
                .as_array()
                .expect("Op is oneOf")
        })
        .filter_map(|v| v["properties"]["kind"]["enum"][0].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "customer_created",
            "customer_updated",
            "customer_deactivated",
            "customer_reactivated",
            "address_added",
            "address_updated",
            "address_deleted",
            "default_address_set",
            "upgrade_requested",
            "order_recorded",
            "points_adjusted",
            "customer_merged",
            "merge_undone",
        ],
        "every op kind, each with its payload"
    );
    // Pull and its long-poll.
    for (name, expected) in [
        ("limit", (1.0, dukkan_core::sync::MAX_PULL_PAGE as f64)),
        ("wait", (0.0, dukkan_core::sync::MAX_PULL_WAIT_SECS as f64)),
    ] {
        let p = param(&doc, "get", "/api/v1/sync/pull", name);
        assert_eq!(
            bounds(&p["schema"]),
            (Some(expected.0), Some(expected.1)),
            "{name}"
        );
    }
    // Enrollment continues a till's counter from a number no till can exceed.
    let enroll = schema(
        &doc,
        &doc["paths"]["/api/v1/devices/enroll"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"],
    );
    assert_eq!(
        bounds(&enroll["properties"]["lastAckedSeq"]),
        (Some(0.0), Some((1u64 << 50) as f64))
    );
    // The customer list's pages.
    for (name, expected) in [("page", (1.0, 1_000_000.0)), ("limit", (1.0, 100.0))] {
        let p = param(&doc, "get", "/api/v1/customers", name);
        assert_eq!(
            bounds(&p["schema"]),
            (Some(expected.0), Some(expected.1)),
            "{name}"
        );
    }
    // Kinds are an enum, not any string.
    let patch_type = &doc["components"]["schemas"]["CustomerPatch"]["properties"]["type"];
    assert_eq!(
        patch_type["oneOf"][0]["$ref"], "#/components/schemas/CustomerKind",
        "{patch_type}"
    );
    let kinds =
        serde_json::to_string(&doc["components"]["schemas"]["CustomerKind"]["enum"]).unwrap();
    assert!(
        ["guest", "stub", "full"].iter().all(|k| kinds.contains(k)),
        "{kinds}"
    );

    // And the server refuses just past each documented bound.
    let device = {
        app.tenant("shop").await;
        app.device_token("shop").await
    };
    for query in ["limit=0", "limit=1001", "wait=26", "since=-1"] {
        let a = app
            .get(&format!("/api/v1/sync/pull?since=0&{query}"), &device)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}: {a:?}");
    }
}

/// Whether `value` is what `schema` (in `doc`) describes: types, required and *only* the
/// declared properties (every object schema here is closed, so an undocumented field is an
/// error), enums, bounds, `$ref`, `allOf` (all parts, properties pooled) and `oneOf` (exactly
/// one). Enough of JSON Schema for the documents utoipa generates.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(parts) = schema["allOf"].as_array() {
        let mut declared = BTreeSet::new();
        for part in parts {
            let part = resolve(doc, part);
            check_open(doc, part, value, at)?;
            declared.extend(properties_of(doc, part));
        }
        return closed(value, &declared, at);
    }
    if let Some(choices) = schema["oneOf"].as_array() {
        let fits = choices
            .iter()
            .filter(|c| conforms(doc, c, value, at).is_ok())
            .count();
        return match fits {
            1 => Ok(()),
            n => Err(format!("{at}: {n} of oneOf fit {value}")),
        };
    }
    check_open(doc, schema, value, at)?;
    if value.is_object() && schema["properties"].is_object() {
        closed(value, &properties_of(doc, schema), at)?;
    }
    Ok(())
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => resolve(
            doc,
            &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        ),
        None => schema,
    }
}

/// The property names a schema declares, through `allOf` and `oneOf` (a variant's).
fn properties_of(doc: &Value, schema: &Value) -> BTreeSet<String> {
    let schema = resolve(doc, schema);
    let mut out: BTreeSet<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for key in ["allOf", "oneOf"] {
        for part in schema[key].as_array().into_iter().flatten() {
            out.extend(properties_of(doc, part));
        }
    }
    out
}

fn closed(value: &Value, declared: &BTreeSet<String>, at: &str) -> Result<(), String> {
    match value.as_object() {
        Some(o) => match o.keys().find(|k| !declared.contains(*k)) {
            Some(k) => Err(format!("{at}.{k} is not documented")),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

/// The schema's own constraints, its properties checked recursively, extra ones allowed (the
/// caller decides whether the object is closed).
fn check_open(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if schema["oneOf"].is_array() || schema["allOf"].is_array() || schema["$ref"].is_string() {
        // A nested composition (e.g. an enum variant's payload): checked whole, but its
        // properties count for the enclosing object.
        return conforms(doc, schema, value, at).or_else(|e| match schema["oneOf"].as_array() {
            // The enclosing allOf pools the properties: check the variant's own only.
            Some(choices) if value.is_object() => choices
                .iter()
                .any(|c| check_open(doc, resolve(doc, c), value, at).is_ok())
                .then_some(())
                .ok_or(e),
            _ => Err(e),
        });
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let documented = types.is_empty()
        || types.contains(&kind)
        || (kind == "integer" && types.contains(&"number"));
    if !documented {
        return Err(format!("{at}: {kind} where {types:?} is documented"));
    }
    if let Some(e) = schema["enum"].as_array() {
        if !e.contains(value) {
            return Err(format!("{at}: {value} is not one of {e:?}"));
        }
    }
    if let (Some(n), Some(min)) = (value.as_f64(), schema["minimum"].as_f64()) {
        if n < min {
            return Err(format!("{at}: {n} < {min}"));
        }
    }
    if let (Some(n), Some(max)) = (value.as_f64(), schema["maximum"].as_f64()) {
        if n > max {
            return Err(format!("{at}: {n} > {max}"));
        }
    }
    if let Some(o) = value.as_object() {
        for r in schema["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap_or_default();
            if !o.contains_key(r) {
                return Err(format!("{at}.{r} is required but missing"));
            }
        }
        for (k, v) in o {
            if let Some(p) = schema["properties"].get(k) {
                conforms(doc, p, v, &format!("{at}.{k}"))?;
            }
        }
    }
    if let (Some(items), Some(a)) = (schema.get("items"), value.as_array()) {
        for (i, v) in a.iter().enumerate() {
            conforms(doc, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// The body schema of `method path`'s `status` answer.
fn answer_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    &doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]
        ["schema"]
}

#[tokio::test]
async fn what_the_sync_endpoints_answer_is_what_the_document_says() {
    let app = TestApp::spawn().await;
    let doc = served(&app).await;
    let (_, manager) = app
        .tenant_with("shop", dukkan_server::staff::Role::Manager)
        .await;
    let device = app.device_token("shop").await;
    let customer = uuid::Uuid::now_v7();
    let address = uuid::Uuid::now_v7();
    let at = "2026-12-05T08:00:00.000Z";
    let ops = serde_json::json!([
        {"opId": uuid::Uuid::now_v7(), "deviceSeq": 1, "kind": "customer_created", "at": at,
         "staffId": null, "payload": {"id": customer, "kind": "stub", "firstName": "Salim",
         "lastName": null, "name2": "سالم", "phone": "92123456"}},
        {"opId": uuid::Uuid::now_v7(), "deviceSeq": 2, "kind": "address_added", "at": at,
         "staffId": null, "payload": {"customerId": customer, "addressId": address,
         "address": {"addressType": "home", "street": "Way 3021", "country": "OM",
          "gps": {"latitude": 23.58, "longitude": 58.4}}}},
        {"opId": uuid::Uuid::now_v7(), "deviceSeq": 3, "kind": "upgrade_requested", "at": at,
         "staffId": null, "payload": {"customerId": customer, "email": "salim@example.om",
         "preferences": {"folding": "hang", "ecoFriendly": true, "channels": ["sms"]}}},
        {"opId": uuid::Uuid::now_v7(), "deviceSeq": 3, "kind": "customer_deactivated", "at": at,
         "staffId": null, "payload": {"customerId": customer}},
    ]);
    let body = serde_json::json!({"protocol": 2, "ops": ops});
    let request = &doc["paths"]["/api/v1/sync/push"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    conforms(&doc, request, &body, "push request").unwrap();
    let pushed = app.post("/api/v1/sync/push", &device, body).await;
    assert_eq!(pushed.status, StatusCode::OK, "{pushed:?}");
    let results: Vec<&str> = pushed.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        ["applied", "applied", "applied", "sequenceConflict"]
    );
    let push_schema = answer_schema(&doc, "post", "/api/v1/sync/push", 200);
    conforms(&doc, push_schema, &pushed.body, "push").unwrap();

    // Merged customers and REST changes show in the feed too.
    app.stub(&manager, "Aisha", "93334444").await;
    let pulled = app
        .get("/api/v1/sync/pull?since=0&limit=100", &device)
        .await;
    assert_eq!(pulled.status, StatusCode::OK, "{pulled:?}");
    assert!(pulled.body["changes"].as_array().unwrap().len() >= 2);
    conforms(
        &doc,
        answer_schema(&doc, "get", "/api/v1/sync/pull", 200),
        &pulled.body,
        "pull",
    )
    .unwrap();

    let one = app
        .get(&format!("/api/v1/sync/customers/{customer}"), &device)
        .await;
    assert_eq!(one.body["addresses"][0]["street"], "Way 3021");
    conforms(
        &doc,
        answer_schema(&doc, "get", "/api/v1/sync/customers/{id}", 200),
        &one.body,
        "snapshot",
    )
    .unwrap();

    let roster = app.get("/api/v1/sync/staff", &device).await;
    conforms(
        &doc,
        answer_schema(&doc, "get", "/api/v1/sync/staff", 200),
        &roster.body,
        "roster",
    )
    .unwrap();

    // And the checker is not blind: an undocumented field or a wrong type is caught.
    let mut extra = one.body.clone();
    extra["secret"] = Value::from(1);
    assert!(conforms(
        &doc,
        answer_schema(&doc, "get", "/api/v1/sync/customers/{id}", 200),
        &extra,
        "x"
    )
    .is_err());
    let mut wrong = pushed.body.clone();
    wrong["results"][0]["deviceSeq"] = Value::from("one");
    assert!(conforms(&doc, push_schema, &wrong, "x").is_err());
}
