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

/// A walk-in guest with one order (which gave it its customer number).
async fn guest_with_an_order(app: &TestApp, token: &str) {
    let g = app
        .post("/api/v1/customers", token, json!({"type": "guest"}))
        .await;
    let id = g.body["id"].as_str().expect("the guest's id");
    let o = app
        .post(
            &format!("/api/v1/customers/{id}/orders"),
            token,
            json!({"ticket": "W-1", "amountBaisa": 500, "pieces": 1}),
        )
        .await;
    assert_eq!(o.status, StatusCode::CREATED, "{o:?}");
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
    guest_with_an_order(&app, &admin).await;
    // A walk-in that never ordered has no number yet, and is left out.
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
    assert_eq!(rows[0][3], "+96892123456");
    assert_eq!(
        rows[0][4], "'=cmd@example.om",
        "formula-like cells are neutralised"
    );
    assert_eq!(rows[0][5], "Stub");
    assert_eq!(rows[0][6], "Active");
    assert_eq!(rows[1][5], "Guest");
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
    assert_eq!(rows[0][5], "مبدئي");
}

#[tokio::test]
async fn an_admin_exports_an_excel_workbook_with_phones_as_text_and_figures_as_numbers() {
    use calamine::{Data, Reader, Xlsx};
    let app = TestApp::spawn().await;
    let (_, admin) = app.tenant_with("shop", Role::Admin).await;
    let cashier = app.sign_in("shop", Role::Cashier).await;
    let c = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({"type": "stub", "firstName": "Ahmed", "name2": "أحمد", "phone": "92123456"}),
        )
        .await;
    guest_with_an_order(&app, &admin).await;
    // A walk-in that never ordered has no number yet, and is left out.
    app.post("/api/v1/customers", &admin, json!({"type": "guest"}))
        .await;
    let id: uuid::Uuid = c.body["id"].as_str().unwrap().parse().unwrap();
    // Two orders (12.345 OMR in all), written as the orders ledger would.
    let owner = app.owner.get().await.unwrap();
    for total in [10_000i64, 2_345] {
        owner
            .execute(
                "INSERT INTO orders (tenant_id, id, customer_id, total_minor)
                 SELECT tenant_id, gen_random_uuid(), id, $2 FROM customers WHERE id = $1",
                &[&id, &total],
            )
            .await
            .unwrap();
    }

    let (status, _) = export(&app, &cashier, "?format=xlsx", "en").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let resp = app
        .client
        .get(format!("{}/api/v1/customers/export?format=xlsx", app.base))
        .bearer_auth(&admin)
        .header("accept-language", "ar")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("customers.xlsx"));
    let bytes = resp.bytes().await.unwrap().to_vec();
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("العملاء").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), 3, "header and two customers");
    assert_eq!(rows[0][0], Data::String("رقم العميل".into()));
    assert_eq!(rows[1][0], Data::String("CUST-00001".into()));
    assert_eq!(rows[1][1], Data::String("Ahmed".into()));
    assert_eq!(rows[1][2], Data::String("أحمد".into()));
    assert_eq!(
        rows[1][3],
        Data::String("+96892123456".into()),
        "phone as text"
    );
    assert_eq!(rows[1][6], Data::String("نشط".into()));
    assert_eq!(rows[1][7], Data::Float(2.0), "orders");
    assert_eq!(rows[1][8], Data::Float(12.345), "total spent in rials");
    assert_eq!(rows[2][1], Data::String("عميل عابر".into()));
}

#[tokio::test]
async fn dates_and_date_filters_are_the_shops_days_in_its_time_zone() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.tenant_with("shop", Role::Admin).await;
    app.stub(&admin, "Evening", "92123456").await;
    app.stub(&admin, "Night", "93334444").await;
    let owner = app.owner.get().await.unwrap();
    // 23:30 in Muscat on 15 January, and 02:00 in Muscat on 16 January (22:00 UTC on the 15th).
    for (name, at) in [
        ("Evening", "2024-01-15T19:30:00Z"),
        ("Night", "2024-01-15T22:00:00Z"),
    ] {
        owner
            .execute(
                &format!("UPDATE customers SET created_at = '{at}' WHERE first_name = $1"),
                &[&name],
            )
            .await
            .unwrap();
    }
    let (_, bytes) = export(&app, &admin, "?endDate=2024-01-15", "en").await;
    let rows = records(&bytes);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0][1].as_str(), rows[0][10].as_str()),
        ("Evening", "2024-01-15")
    );
    let (_, bytes) = export(&app, &admin, "?startDate=2024-01-16", "en").await;
    let rows = records(&bytes);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0][1].as_str(), rows[0][10].as_str()),
        ("Night", "2024-01-16")
    );

    // A shop in UTC sees UTC days.
    dukkan_server::tenants::set_time_zone(&app.owner, "shop", "UTC")
        .await
        .unwrap();
    let (_, bytes) = export(&app, &admin, "?endDate=2024-01-15", "en").await;
    assert_eq!(records(&bytes).len(), 2);
    assert!(
        dukkan_server::tenants::set_time_zone(&app.owner, "shop", "Mars/Olympus")
            .await
            .is_err()
    );
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
        "?format=pdf",
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
    body.extend(b"1,2,3,4,5,6,7,8,9,10,11\n");
    while let Some(chunk) = reader.recv().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    let numbers: Vec<String> = records(&body).into_iter().map(|r| r[0].clone()).collect();
    let expected: Vec<String> = (1..=5000).map(|n| format!("CUST-{n:05}")).collect();
    assert_eq!(numbers, expected);
}
