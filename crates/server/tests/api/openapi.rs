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
        assert_ne!(a.code(), "route-not-found", "{op} is not routed");
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

    // Push: the protocols the server answers, the batch size, the sequence numbers it takes.
    let push = &doc["paths"]["/api/v1/sync/push"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert_eq!(
        bounds(&push["properties"]["protocol"]),
        (Some(1.0), Some(2.0))
    );
    assert_eq!(push["properties"]["ops"]["maxItems"], 200);
    let op = &push["properties"]["ops"]["items"];
    assert_eq!(
        bounds(&op["properties"]["deviceSeq"]),
        (Some(1.0), Some((1u64 << 50) as f64))
    );
    assert_eq!(op["properties"]["at"]["maxLength"], 40);
    assert!(op["properties"]["kind"]["enum"]
        .as_array()
        .unwrap()
        .contains(&Value::from("customer_reactivated")));
    // Pull and its long-poll.
    for (name, expected) in [("limit", (1.0, 1000.0)), ("wait", (0.0, 25.0))] {
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
