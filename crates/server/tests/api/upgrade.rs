//! Upgrading a database of the previous release (schema V2, as released) to the latest schema:
//! the data it holds survives and the server works on it.

use crate::support::{TestApp, TestDb, PASSWORD, PIN};
use dukkan_server::ids::TenantId;
use dukkan_server::limits::LimitConfig;
use dukkan_server::staff::{self, Role};
use dukkan_server::{db, tokens};
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

/// The last schema version shipped in a release.
const RELEASED_VERSION: i32 = 2;

#[tokio::test]
async fn a_database_of_the_released_schema_upgrades_with_its_data_intact_and_serves() {
    let database = TestDb::create().await;
    let applied = db::migrate_to(&database.owner_url, Some(RELEASED_VERSION))
        .await
        .unwrap();
    assert_eq!(applied, vec![1, 2]);

    // Data of the released schema, written with plain SQL as that release would have left it.
    let tenant = Uuid::now_v7();
    let (aisha, walk_in, identity) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (address, order, device) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let device_token = tokens::new_bearer("dkd", TenantId(tenant));
    {
        let (client, conn) = tokio_postgres::connect(&database.owner_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .execute(
                "INSERT INTO tenants (id, slug, name) VALUES ($1, 'old-shop', 'دكان القديم')",
                &[&tenant],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO tenant_counters (tenant_id, next_customer_number, next_change_seq)
                 VALUES ($1, 3, 4)",
                &[&tenant],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO phone_identities (id, phone) VALUES ($1, '+96892123456')",
                &[&identity],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO customers (tenant_id, id, customer_number, kind, first_name, name2,
                     phone, email, phone_verified, identity_id, loyalty_points, search_text)
                 VALUES ($1, $2, 1, 'full', 'Aisha', 'عائشة', '+96892123456', 'aisha@example.om',
                         true, $3, 70, 'aisha عائشه aisha@example.om'),
                        ($1, $4, 2, 'guest', NULL, NULL, NULL, NULL, false, NULL, 0, '')",
                &[&tenant, &aisha, &identity, &walk_in],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO addresses (tenant_id, id, customer_id, address_type, area, city,
                     latitude, longitude, delivery_notes, is_default)
                 VALUES ($1, $2, $3, 'home', 'الخوير', 'Muscat', 23.5880, 58.3829,
                         'Ring twice', true)",
                &[&tenant, &address, &aisha],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO orders (tenant_id, id, customer_id, total_minor)
                 VALUES ($1, $2, $3, 12500)",
                &[&tenant, &order, &aisha],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO devices (tenant_id, id, name) VALUES ($1, $2, 'Till 1')",
                &[&tenant, &device],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO device_tokens (tenant_id, token_hash, device_id) VALUES ($1, $2, $3)",
                &[&tenant, &tokens::hash(&device_token), &device],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO device_sync_state (tenant_id, device_id, last_applied_seq, pull_cursor)
                 VALUES ($1, $2, 1, 3)",
                &[&tenant, &device],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO sync_ops (tenant_id, device_id, device_seq, op_id, outcome)
                 VALUES ($1, $2, 1, $3, '{\"status\": \"applied\"}')",
                &[&tenant, &device, &Uuid::now_v7()],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO change_feed (tenant_id, seq, entity, entity_id)
                 VALUES ($1, 1, 'customer', $2), ($1, 2, 'customer', $3), ($1, 3, 'address', $4)",
                &[&tenant, &aisha, &walk_in, &address],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO upgrade_requests (tenant_id, customer_id, email, state, device_id)
                 VALUES ($1, $2, 'walkin@example.om', 'queued', $3)",
                &[&tenant, &walk_in, &device],
            )
            .await
            .unwrap();
    }
    let owner_url = database.owner_url.clone();
    // Staff through the operator's code path (it needs an argon2 hash), still on schema V2.
    let owner = db::pool(&owner_url, 2).unwrap();
    let member = staff::add(&owner, "old-shop", "Salim", Role::Manager, PIN)
        .await
        .unwrap();
    drop(owner);

    // The upgrade: the server applies what the database lacks, then serves.
    let app = TestApp::spawn_on(database, None, LimitConfig::default()).await;
    for (table, rows) in [
        ("customers", 2),
        ("addresses", 1),
        ("orders", 1),
        ("devices", 1),
        ("device_tokens", 1),
        ("sync_ops", 1),
        ("change_feed", 3),
        ("phone_identities", 1),
        ("staff", 1),
    ] {
        assert_eq!(
            app.count(&format!("SELECT count(*) FROM {table}")).await,
            rows,
            "{table}"
        );
    }

    // Staff of before passwords sign in to the server once an operator sets one.
    staff::set_password(&app.owner, "old-shop", &member.id.to_string(), PASSWORD)
        .await
        .unwrap();
    let signed_in = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"tenant": "old-shop", "staffId": member.id.to_string(), "password": PASSWORD})),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{signed_in:?}");
    let token = signed_in.body["token"].as_str().unwrap().to_owned();

    let got = app.get(&format!("/api/v1/customers/{aisha}"), &token).await;
    assert_eq!(got.status, StatusCode::OK, "{got:?}");
    assert_eq!(got.body["customerNumber"], "CUST-00001");
    assert_eq!(got.body["type"], "full");
    assert_eq!(got.body["name2"], "عائشة");
    assert_eq!(got.body["phone"], "+96892123456");
    assert_eq!(got.body["phoneVerified"], true);
    assert_eq!(got.body["loyaltyPoints"], 70);
    assert_eq!(got.body["totalOrders"], 1);
    assert_eq!(got.body["totalSpentMinor"], 12_500);
    let addresses = app
        .get(&format!("/api/v1/customers/{aisha}/addresses"), &token)
        .await;
    assert_eq!(addresses.body[0]["area"], "الخوير");
    assert_eq!(addresses.body[0]["isDefault"], true);
    assert_eq!(addresses.body[0]["deliveryNotes"], "Ring twice");

    let found = app.get("/api/v1/customers?search=2123456", &token).await;
    assert_eq!(found.status, StatusCode::OK, "{found:?}");
    assert_eq!(found.body["customers"][0]["id"], aisha.to_string());

    // Numbers continue from the released counter: no gap, no duplicate.
    let created = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "Omar", "phone": "+96893334444"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["customerNumber"], "CUST-00003");

    // The till enrolled under the released schema still syncs with its token.
    let pull = app.get("/api/v1/sync/pull?since=3", &device_token).await;
    assert_eq!(pull.status, StatusCode::OK, "{pull:?}");
    assert!(pull.body["cursor"].as_i64().unwrap() >= 3);
}
