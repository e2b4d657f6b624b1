//! What the database itself guarantees, whatever the server code does.

use crate::support::TestApp;
use dukkan_server::db;
use uuid::Uuid;

#[tokio::test]
async fn every_table_with_a_tenant_id_has_forced_row_level_security_and_a_policy() {
    let app = TestApp::spawn().await;
    let client = app.owner.get().await.unwrap();
    let rows = client
        .query(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                    (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind = 'r'
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                           AND a.attname = 'tenant_id' AND NOT a.attisdropped)",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.len() >= 14, "tenant tables found: {}", rows.len());
    for r in rows {
        let name: String = r.get(0);
        assert!(r.get::<_, bool>(1), "{name}: RLS not enabled");
        assert!(r.get::<_, bool>(2), "{name}: RLS not forced");
        assert!(r.get::<_, i64>(3) >= 1, "{name}: no policy");
    }
}

#[tokio::test]
async fn the_application_role_owns_no_table_and_cannot_bypass_row_level_security() {
    let app = TestApp::spawn().await;
    let client = app.owner.get().await.unwrap();
    let owned: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
             WHERE r.rolname = 'dukkan_app'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(owned, 0);
    let r = client
        .query_one(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'dukkan_app'",
            &[],
        )
        .await
        .unwrap();
    assert!(!r.get::<_, bool>(0) && !r.get::<_, bool>(1));
}

#[tokio::test]
async fn row_level_security_alone_hides_other_tenants_from_a_query_that_forgets_the_tenant_filter()
{
    let app = TestApp::spawn().await;
    let (a, token_a) = app
        .tenant_with("shop-a", dukkan_server::staff::Role::Cashier)
        .await;
    let (_b, token_b) = app
        .tenant_with("shop-b", dukkan_server::staff::Role::Cashier)
        .await;
    app.stub(&token_a, "Ahmed", "92123456").await;
    app.stub(&token_b, "Badr", "92123457").await;
    app.stub(&token_b, "Bilal", "92123458").await;

    let mut client = app.app_pool.get().await.unwrap();
    // No tenant set at all: nothing is visible.
    let none: i64 = client
        .query_one("SELECT count(*) FROM customers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(none, 0);
    // Tenant A set, and a query with no WHERE clause: only A's row.
    let tx = db::tenant_tx(&mut client, a).await.unwrap();
    let names: Vec<String> = tx
        .query("SELECT first_name FROM customers", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, vec!["Ahmed".to_owned()]);
    // Nor can A write a row into B's tenant.
    let b_id: Uuid = app
        .owner
        .get()
        .await
        .unwrap()
        .query_one("SELECT id FROM tenants WHERE slug = 'shop-b'", &[])
        .await
        .unwrap()
        .get(0);
    let err = tx
        .execute(
            "INSERT INTO customers (tenant_id, id, customer_number, kind) VALUES ($1, $2, 99, 'guest')",
            &[&b_id, &Uuid::now_v7()],
        )
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("row-level security"), "{err:?}");
}

#[tokio::test]
async fn the_application_role_cannot_hard_delete_customers_or_rewrite_the_audit_log() {
    let app = TestApp::spawn().await;
    let (tenant, token) = app
        .tenant_with("shop", dukkan_server::staff::Role::Admin)
        .await;
    app.stub(&token, "Ahmed", "92123456").await;
    let mut client = app.app_pool.get().await.unwrap();
    let tx = db::tenant_tx(&mut client, tenant).await.unwrap();
    let err = tx.execute("DELETE FROM customers", &[]).await.unwrap_err();
    assert!(format!("{err:?}").contains("permission denied"), "{err:?}");
    drop(tx);
    let tx = db::tenant_tx(&mut client, tenant).await.unwrap();
    let err = tx
        .execute("UPDATE audit_log SET fields = '[]'", &[])
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("permission denied"), "{err:?}");
}

#[tokio::test]
async fn the_database_refuses_a_second_active_customer_with_the_same_phone_in_a_tenant() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("shop").await;
    let other = app.tenant("other").await;
    let client = app.owner.get().await.unwrap();
    let insert =
        "INSERT INTO customers (tenant_id, id, customer_number, kind, first_name, phone, active)
                  VALUES ($1, $2, $3, 'stub', 'X', '+96892123456', $4)";
    client
        .execute(insert, &[&tenant.0, &Uuid::now_v7(), &1i32, &true])
        .await
        .unwrap();
    // Same phone, other tenant: fine. Same phone, same tenant, inactive: fine.
    client
        .execute(insert, &[&other.0, &Uuid::now_v7(), &1i32, &true])
        .await
        .unwrap();
    client
        .execute(insert, &[&tenant.0, &Uuid::now_v7(), &2i32, &false])
        .await
        .unwrap();
    let err = client
        .execute(insert, &[&tenant.0, &Uuid::now_v7(), &3i32, &true])
        .await
        .unwrap_err();
    assert_eq!(
        err.as_db_error().and_then(|d| d.constraint()),
        Some("customers_active_phone_unique")
    );
}

#[tokio::test]
async fn the_database_keeps_exactly_one_default_address_per_customer() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("shop").await;
    let mut client = app.owner.get().await.unwrap();
    let customer = Uuid::now_v7();
    client
        .execute(
            "INSERT INTO customers (tenant_id, id, customer_number, kind) VALUES ($1, $2, 1, 'guest')",
            &[&tenant.0, &customer],
        )
        .await
        .unwrap();
    let add = "INSERT INTO addresses (tenant_id, id, customer_id, address_type, city, is_default)
               VALUES ($1, $2, $3, 'home', 'Muscat', $4)";
    // An address without any default fails at commit.
    let tx = client.transaction().await.unwrap();
    tx.execute(add, &[&tenant.0, &Uuid::now_v7(), &customer, &false])
        .await
        .unwrap();
    let err = tx.commit().await.unwrap_err();
    assert!(format!("{err:?}").contains("no default address"), "{err:?}");
    // One default is fine; a second default fails at once.
    client
        .execute(add, &[&tenant.0, &Uuid::now_v7(), &customer, &true])
        .await
        .unwrap();
    let err = client
        .execute(add, &[&tenant.0, &Uuid::now_v7(), &customer, &true])
        .await
        .unwrap_err();
    assert_eq!(
        err.as_db_error().and_then(|d| d.constraint()),
        Some("addresses_one_default")
    );
}

#[tokio::test]
async fn migrations_are_idempotent_when_run_twice() {
    let app = TestApp::spawn().await;
    let applied = db::migrate(&app.owner_url).await.unwrap();
    assert!(applied.is_empty(), "{applied:?}");
}

#[tokio::test]
async fn two_instances_migrating_one_database_at_once_apply_each_migration_once() {
    let fresh = crate::support::TestDb::create().await;
    let (a, b) = tokio::join!(db::migrate(&fresh.owner_url), db::migrate(&fresh.owner_url));
    let (a, b) = (a.expect("first"), b.expect("second"));
    let mut all: Vec<i32> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    let expected: Vec<i32> = (1..=all.len() as i32).collect();
    assert_eq!(
        all, expected,
        "one instance applies, the other waits: {a:?} {b:?}"
    );
    assert!(a.is_empty() || b.is_empty(), "{a:?} {b:?}");
}

#[tokio::test]
async fn the_server_checks_that_its_role_cannot_read_past_row_level_security() {
    let app = TestApp::spawn().await;
    db::check_app_role(&app.app_pool)
        .await
        .expect("dukkan_app is safe");
    let refused = db::check_app_role(&app.owner).await.unwrap_err();
    assert!(
        matches!(refused, db::SetupError::UnsafeRole { .. }),
        "{refused:?}"
    );
}

/// Tables that hold no shop's rows: Citus reference tables (copied to every node) or tables
/// kept on the coordinator. Anything else must be distributable by `tenant_id`.
const NOT_DISTRIBUTED: [&str; 4] = [
    // One row per shop: the distribution key's own table (a reference table).
    "tenants",
    // One person's verified phone shared by every shop they visit (a reference table).
    "phone_identities",
    // Sign-in lockout counters keyed by a hash of staff id or client address (coordinator).
    "sign_in_strikes",
    // refinery's migration history.
    "refinery_schema_history",
];

#[tokio::test]
async fn every_tenant_tables_keys_lead_with_tenant_id_so_the_database_can_be_distributed_by_shop() {
    let app = TestApp::spawn().await;
    let client = app.owner.get().await.unwrap();
    let tables: Vec<(String, bool)> = client
        .query(
            "SELECT c.relname,
                    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                            AND a.attname = 'tenant_id' AND NOT a.attisdropped)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let tenant_tables: Vec<&str> = tables
        .iter()
        .filter(|(_, t)| *t)
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(
        tenant_tables.len() >= 14,
        "tenant tables: {tenant_tables:?}"
    );
    for (name, has_tenant) in &tables {
        assert!(
            *has_tenant || NOT_DISTRIBUTED.contains(&name.as_str()),
            "{name} has no tenant_id and is not a known reference or coordinator table"
        );
    }

    // Every primary key, unique constraint and unique index of a tenant table: its first
    // column is tenant_id (Citus enforces uniqueness only within one shard).
    let unique = client
        .query(
            "SELECT t.relname, i.relname, a.attname
             FROM pg_index x
             JOIN pg_class t ON t.oid = x.indrelid
             JOIN pg_class i ON i.oid = x.indexrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
             WHERE n.nspname = 'public' AND x.indisunique AND t.relname = ANY($1)",
            &[&tenant_tables],
        )
        .await
        .unwrap();
    assert!(
        unique.len() >= tenant_tables.len(),
        "{} unique indexes",
        unique.len()
    );
    for r in &unique {
        let (table, index, first): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        assert_eq!(
            first, "tenant_id",
            "{table}: unique index {index} leads with {first}"
        );
    }

    // Every foreign key between tenant tables joins on tenant_id first, on both sides; a
    // tenant table may point at a reference table by its key alone.
    let fks = client
        .query(
            "SELECT t.relname, con.conname, r.relname,
                    (SELECT attname FROM pg_attribute WHERE attrelid = con.conrelid AND attnum = con.conkey[1]),
                    (SELECT attname FROM pg_attribute WHERE attrelid = con.confrelid AND attnum = con.confkey[1])
             FROM pg_constraint con
             JOIN pg_class t ON t.oid = con.conrelid
             JOIN pg_class r ON r.oid = con.confrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = 'public' AND con.contype = 'f' AND t.relname = ANY($1)",
            &[&tenant_tables],
        )
        .await
        .unwrap();
    assert!(fks.len() >= 10, "{} foreign keys", fks.len());
    for r in &fks {
        let (table, fk, target, from, to): (String, String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        if NOT_DISTRIBUTED.contains(&target.as_str()) {
            continue;
        }
        assert_eq!(
            (from.as_str(), to.as_str()),
            ("tenant_id", "tenant_id"),
            "{table}.{fk} -> {target} does not lead with tenant_id"
        );
    }
}
