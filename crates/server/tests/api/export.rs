//! CSV export: admins only, UTF-8 with BOM, Arabic round-trips, filters, tenant isolation.

use crate::support::TestApp;
use dukkan_server::staff::Role;
use reqwest::StatusCode;
use serde_json::json;

async fn export(app: &TestApp, token: &str, query: &str, lang: &str) -> (StatusCode, Vec<u8>) {
    let resp = app
        .client
        .get(format!("{}/api/v1/customers/export{query}", app.base))
        .bearer_auth(token)
        .header("accept-language", lang)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    (status, resp.bytes().await.expect("body").to_vec())
}

fn records(bytes: &[u8]) -> Vec<Vec<String>> {
    let body = bytes
        .strip_prefix(&[0xEF, 0xBB, 0xBF])
        .expect("UTF-8 BOM first");
    csv::Reader::from_reader(body)
        .records()
        .map(|r| r.expect("csv record").iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn an_admin_exports_csv_that_round_trips_arabic_names() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.tenant_with("shop", Role::Admin).await;
    let cashier = app.sign_in("shop", Role::Cashier).await;
    let (_, other) = app.tenant_with("other", Role::Admin).await;
    app.post(
        "/api/v1/customers",
        &admin,
        json!({"type": "stub", "firstName": "أحمد", "lastName": "البلوشي", "phone": "92123456",
               "email": "=cmd@example.om"}),
    )
    .await;
    app.post("/api/v1/customers", &admin, json!({"type": "guest"}))
        .await;
    app.stub(&other, "Elsewhere", "93334444").await;

    let (status, _) = export(&app, &cashier, "", "en").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, bytes) = export(&app, &admin, "", "en").await;
    assert_eq!(status, StatusCode::OK);
    let rows = records(&bytes);
    assert_eq!(rows.len(), 2, "only this tenant's customers: {rows:?}");
    assert_eq!(rows[0][0], "CUST-00001");
    assert_eq!(rows[0][1], "أحمد البلوشي");
    assert_eq!(rows[0][2], "+96892123456");
    assert_eq!(
        rows[0][3], "'=cmd@example.om",
        "formula-like cells are neutralised"
    );
    assert_eq!(rows[0][4], "Stub");
    assert_eq!(rows[1][4], "Guest");
    let header = csv::Reader::from_reader(&bytes[3..])
        .headers()
        .unwrap()
        .clone();
    assert_eq!(&header[0], "Customer Number");

    let (_, ar) = export(&app, &admin, "?type=stub", "ar").await;
    let header = csv::Reader::from_reader(&ar[3..])
        .headers()
        .unwrap()
        .clone();
    assert_eq!(&header[0], "رقم العميل");
    let rows = records(&ar);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][4], "مبدئي");
}

#[tokio::test]
async fn export_filters_by_creation_date_and_refuses_bad_filters() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.tenant_with("shop", Role::Admin).await;
    app.stub(&admin, "Old", "92123456").await;
    app.stub(&admin, "New", "93334444").await;
    app.owner
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE customers SET created_at = '2024-01-15T10:00:00Z' WHERE first_name = 'Old'",
            &[],
        )
        .await
        .unwrap();
    let (_, bytes) = export(
        &app,
        &admin,
        "?startDate=2024-01-01&endDate=2024-01-15",
        "en",
    )
    .await;
    let rows = records(&bytes);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][1], "Old");
    let (_, bytes) = export(&app, &admin, "?startDate=2024-01-16", "en").await;
    assert_eq!(records(&bytes).len(), 1);
    for bad in [
        "?startDate=yesterday",
        "?type=vip",
        "?endDate=2024-13-01",
        "?x=1",
    ] {
        let a = app
            .get(&format!("/api/v1/customers/export{bad}"), &admin)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(a.code(), "request.invalid-query");
    }
}

/// `n` walk-ins numbered 1 to `n`, written directly (many rows, quickly).
async fn walk_ins(app: &TestApp, tenant: dukkan_server::ids::TenantId, n: i32) {
    app.owner
        .get()
        .await
        .expect("owner connection")
        .execute(
            "INSERT INTO customers (tenant_id, id, customer_number, kind)
             SELECT $1, gen_random_uuid(), n, 'guest' FROM generate_series(1, $2) n",
            &[&tenant.0, &n],
        )
        .await
        .expect("walk-ins");
}

#[tokio::test]
async fn a_large_export_streams_every_row_once() {
    let app = TestApp::spawn().await;
    let (tenant, admin) = app.tenant_with("shop", Role::Admin).await;
    // 1,234 customers written directly, to span several chunks.
    walk_ins(&app, tenant, 1234).await;
    let (status, bytes) = export(&app, &admin, "", "en").await;
    assert_eq!(status, StatusCode::OK);
    let rows = records(&bytes);
    assert_eq!(rows.len(), 1234);
    assert_eq!(rows[1233][0], "CUST-01234");
}

#[tokio::test]
async fn sixteen_stalled_export_readers_hold_no_connection_and_every_row_comes_once() {
    let app = TestApp::spawn().await;
    let (tenant, admin) = app.tenant_with("shop", Role::Admin).await;
    // 5,000 walk-ins: ten chunks, more than an export's buffer of four.
    walk_ins(&app, tenant, 5000).await;
    let actor = dukkan_server::staff::authenticate(&app.app_pool, &admin)
        .await
        .unwrap();
    let mut stalled = Vec::new();
    for _ in 0..16 {
        let mut chunks = dukkan_server::export::start(
            &app.app_pool,
            &actor,
            Default::default(),
            dukkan_core::i18n::Locale::En,
        )
        .await
        .unwrap();
        // The reader takes the header, then stops reading.
        assert!(chunks.recv().await.unwrap().is_ok());
        stalled.push(chunks);
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let pool = app.app_pool.status();
    assert!(
        pool.size - pool.available <= 1,
        "connections held for readers that do not read: {pool:?}"
    );
    // Other requests answer meanwhile.
    let listed = app
        .get("/api/v1/customers?limit=100&status=all", &admin)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    // And a reader that goes on gets every customer exactly once, in order.
    let mut reader = stalled.pop().unwrap();
    let mut body = vec![0xEF, 0xBB, 0xBF];
    body.extend(b"1,2,3,4,5,6,7,8\n");
    while let Some(chunk) = reader.recv().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    let numbers: Vec<String> = records(&body).into_iter().map(|r| r[0].clone()).collect();
    let expected: Vec<String> = (1..=5000).map(|n| format!("CUST-{n:05}")).collect();
    assert_eq!(numbers, expected);
}
