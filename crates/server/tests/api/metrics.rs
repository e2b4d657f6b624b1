//! `GET /metrics`: Prometheus text with request counts and latency by route template and
//! status, and the database pool's figures; no id or phone ever becomes a label.

use crate::support::TestApp;
use dukkan_server::staff::Role;
use reqwest::StatusCode;

async fn scrape(app: &TestApp) -> String {
    let resp = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("test setup");
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()["content-type"]
        .to_str()
        .expect("test setup")
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    resp.text().await.expect("test setup")
}

/// The value of the sample `name{labels}` (labels exactly as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status_without_ids_or_phones() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let customer = app.stub(&token, "Aisha", "92123456").await;
    let id = customer["id"].as_str().unwrap();
    for _ in 0..3 {
        let got = app.get(&format!("/api/v1/customers/{id}"), &token).await;
        assert_eq!(got.status, StatusCode::OK);
    }
    let missing = uuid::Uuid::now_v7();
    let not_found = app
        .get(&format!("/api/v1/customers/{missing}"), &token)
        .await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    let searched = app.get("/api/v1/customers?search=92123456", &token).await;
    assert_eq!(searched.status, StatusCode::OK);
    let nowhere = app.get("/no/such/route/92123456", &token).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);

    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            r#"dukkan_http_requests_total{method="GET",route="/api/v1/customers/{id}",status="200"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"dukkan_http_requests_total{method="GET",route="/api/v1/customers/{id}",status="404"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"dukkan_http_requests_total{method="POST",route="/api/v1/customers",status="201"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"dukkan_http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"dukkan_http_request_duration_seconds_count{method="GET",route="/api/v1/customers/{id}",status="200"}"#
        ),
        Some(3.0)
    );
    assert!(text.contains(
        r#"dukkan_http_request_duration_seconds_bucket{le="0.05",method="GET",route="/api/v1/customers/{id}",status="200"}"#
    ) || text.contains(
        r#"dukkan_http_request_duration_seconds_bucket{method="GET",route="/api/v1/customers/{id}",status="200",le="0.05"}"#
    ), "{text}");
    assert!(text.contains("# TYPE dukkan_http_request_duration_seconds histogram"));
    assert_eq!(sample(&text, "dukkan_db_pool_max_connections"), Some(32.0));
    assert!(sample(&text, "dukkan_db_pool_connections").is_some_and(|n| n >= 1.0));
    assert!(sample(&text, "dukkan_db_pool_idle_connections").is_some());
    assert!(sample(&text, "dukkan_db_pool_waiting_requests").is_some());
    // No customer id, phone digits or search term leaks into a label.
    for secret in [id, &missing.to_string(), "92123456", "2123456", "no/such"] {
        assert!(!text.contains(secret), "{secret} leaked into /metrics");
    }
}
