//! Upgrades keep data: a tenant's data saved from an earlier server at schema V6
//! (tests/fixtures/server-v6.sql, see its header for how it was made) loaded into a database
//! at V6, then migrated to the latest schema by this build. Every row it held must still be
//! there with the same values, and the staff and the till of the saved tenant must go on
//! working through the real HTTP API.
//!
//! When a migration is added, these tests run it on that saved data. Never regenerate the
//! fixture to make them pass: a failure here means the migration loses or changes a shop's data.

use crate::support::{TestApp, TestDb};
use dukkan_core::ops::{CustomerCreated, CustomerUpdated, Op};
use dukkan_core::sync::{
    OpOutcome, PullResponse, PushOp, PushRequest, PushResponse, PROTOCOL_VERSION,
};
use dukkan_core::{CustomerId, CustomerKind, OpId};
use dukkan_server::db;
use dukkan_server::limits::LimitConfig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The saved data: `pg_dump --data-only --inserts` of a V6 database.
const SAVED_V6: &str = include_str!("../fixtures/server-v6.sql");
/// The schema version the saved data was written at.
const SAVED_VERSION: i32 = 6;

// Who and what the saved tenant holds (ids as written in the fixture).
const TENANT: &str = "01a2453a-e254-73a4-80f1-b2dbdc5603e9";
const SLUG: &str = "fixture-shop";
const MARIAM: &str = "01a2453a-e283-747d-8323-a0a9b026fa21"; // manager
const KHALID: &str = "01a2453a-e2a7-71ac-bc7e-172d0de404b9"; // cashier خالد
const MANAGER_PIN: &str = "2468";
const CASHIER_PIN: &str = "1357";
const TILL: &str = "01a2453a-e3b1-73b9-a46b-23ac40c91065";
/// The till's bearer token (only its hash is in the fixture; the header records it).
const TILL_TOKEN: &str =
    "dkd_01a2453ae25473a480f1b2dbdc5603e9_ARVV9pnGGJ_Y55ckOZ0IPA8QBEhVl6eofxWH3RvMHKw";
const SALIM: &str = "01a2453a-e359-77e8-b27d-f6606b51702e";
const GUEST: &str = "01a2453a-e366-7740-a2e4-368ad7894223";
const FATMA: &str = "01a2453a-e36b-770a-b7e2-5a0b33b63b71";
const NASSER: &str = "01a2453a-e36f-70b4-9e25-c5973b42f7b0";
const OMAR: &str = "01a2453a-e373-76cf-83c0-47f762a62aed";
const HUDA: &str = "01a2453a-e3b6-76f7-b08b-416168cc37d4";
const SALIM_RETIRED: &str = "01a2453a-e3b7-701c-89d8-30c9bfeb4d42";
const SALIM_HOME: &str = "01a2453a-e37e-7015-b0e9-689932ff5f43";
const SALIM_WORK: &str = "01a2453a-e385-772f-a897-9df9674509f8";
const HUDA_HOME: &str = "01a2453a-e3b8-7183-9c69-cf4d24f02c4c";
/// The ops the till pushed: `(device_seq, op_id)`.
const PUSHED: [(i64, &str); 5] = [
    (1, "01a2453a-e3b6-76f7-b08b-4162d9ad4c4f"),
    (2, "01a2453a-e3b7-701c-89d8-30ca6738d55e"),
    (3, "01a2453a-e3b7-701c-89d8-30cc23e60512"),
    (4, "01a2453a-e3b8-7183-9c69-cf4e7080f44c"),
    (5, "01a2453a-e3b9-7341-a1fc-a61e5f9392bb"),
];

/// Names of the fixture's ids, for readable expectations.
const NAMES: [(&str, &str); 13] = [
    (MARIAM, "Mariam"),
    (KHALID, "خالد"),
    (TILL, "Till 1"),
    (SALIM, "Salim"),
    (GUEST, "guest"),
    (FATMA, "Fatma"),
    (NASSER, "ناصر"),
    (OMAR, "Omar"),
    (HUDA, "Huda"),
    (SALIM_RETIRED, "Salim (merged copy)"),
    (SALIM_HOME, "Salim's home"),
    (SALIM_WORK, "Salim's work"),
    (HUDA_HOME, "Huda's home"),
];

/// Rows of every table as JSON objects (column → value), by table.
type Rows = BTreeMap<String, Vec<Map<String, Value>>>;

async fn owner_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect as the owner");
    tokio::spawn(conn);
    client
}

/// A fresh database migrated to exactly V6 with the saved data loaded as the owner, not yet
/// migrated further.
async fn saved_database() -> TestDb {
    let database = TestDb::create().await;
    let applied = db::migrate_to(&database.owner_url, Some(SAVED_VERSION))
        .await
        .expect("migrate to the saved version");
    assert_eq!(applied, (1..=SAVED_VERSION).collect::<Vec<_>>());
    let client = owner_client(&database.owner_url).await;
    client
        .batch_execute(SAVED_V6)
        .await
        .expect("load the saved data");
    database
}

/// Every row of every table (refinery's history aside, and the search tokens: an index of
/// the customers that migrations rebuild, proven by searching instead).
async fn all_rows(url: &str) -> Rows {
    let client = owner_client(url).await;
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
               AND table_name NOT IN ('refinery_schema_history', 'customer_search_tokens')
             ORDER BY 1",
            &[],
        )
        .await
        .expect("list the tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut rows = Rows::new();
    for table in tables {
        let got = client
            .query(
                &format!("SELECT to_jsonb(t)::text FROM public.\"{table}\" t"),
                &[],
            )
            .await
            .expect("read a table")
            .iter()
            .map(
                |r| match serde_json::from_str(r.get::<_, &str>(0)).expect("a JSON row") {
                    Value::Object(m) => m,
                    other => panic!("{table}: not an object: {other}"),
                },
            )
            .collect();
        rows.insert(table, got);
    }
    rows
}

/// `(version, name, checksum)` of every applied migration.
async fn history(url: &str) -> Vec<(i32, String, String)> {
    owner_client(url)
        .await
        .query(
            "SELECT version, name, checksum FROM refinery_schema_history ORDER BY version",
            &[],
        )
        .await
        .expect("read the migration history")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// The saved data migrated to the latest schema and served; also its rows before the upgrade.
async fn upgraded() -> (TestApp, Rows) {
    let database = saved_database().await;
    let before = all_rows(&database.owner_url).await;
    let app = TestApp::spawn_on(database, None, LimitConfig::default()).await;
    (app, before)
}

/// Saved staff have till PINs only: an operator gives them a server password (made here from
/// their PIN), with which they sign in.
async fn sign_in(app: &TestApp, staff: &str, pin: &str) -> String {
    let password = format!("password {pin}");
    dukkan_server::staff::set_password(&app.owner, SLUG, staff, &password)
        .await
        .expect("set password");
    let a = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"tenant": SLUG, "staffId": staff, "password": password})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    a.body["token"].as_str().expect("a token").to_owned()
}

async fn push(app: &TestApp, ops: Vec<PushOp>) -> PushResponse {
    let resp = app
        .client
        .post(format!("{}/api/v1/sync/push", app.base))
        .bearer_auth(TILL_TOKEN)
        .json(&PushRequest {
            protocol: PROTOCOL_VERSION,
            ops,
        })
        .send()
        .await
        .expect("push");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("push answers")
}

fn cid(s: &str) -> CustomerId {
    s.parse().expect("a customer id")
}

fn op_id(s: &str) -> OpId {
    s.parse().expect("an op id")
}

#[tokio::test]
async fn a_saved_v6_database_migrates_to_the_latest_schema_and_keeps_v1_to_v6_recorded() {
    let database = saved_database().await;
    let saved = history(&database.owner_url).await;
    assert_eq!(
        saved.iter().map(|m| m.0).collect::<Vec<_>>(),
        (1..=SAVED_VERSION).collect::<Vec<_>>()
    );
    let applied = db::migrate(&database.owner_url).await.unwrap();
    assert!(
        applied.iter().all(|v| *v > SAVED_VERSION),
        "applied again: {applied:?}"
    );
    let now = history(&database.owner_url).await;
    for m in &saved {
        assert!(now.contains(m), "{m:?} is no longer recorded as it was");
    }
    assert_eq!(now.len(), saved.len() + applied.len());
    // A second run applies nothing.
    assert!(db::migrate(&database.owner_url).await.unwrap().is_empty());
}

#[tokio::test]
async fn every_row_of_the_saved_tenant_is_still_there_with_the_same_values_after_the_upgrade() {
    let (app, before) = upgraded().await;
    let counts: BTreeMap<&str, usize> = before
        .iter()
        .map(|(t, rows)| (t.as_str(), rows.len()))
        .collect();
    for (table, n) in [
        ("tenants", 1),
        ("tenant_counters", 1),
        ("staff", 2),
        ("staff_sessions", 2),
        ("devices", 1),
        ("device_tokens", 1),
        ("enrollment_codes", 1),
        ("device_sync_state", 1),
        ("customers", 7),
        ("addresses", 3),
        ("phone_identities", 1),
        ("customer_merges", 1),
        ("audit_log", 17),
        ("change_feed", 17),
        ("otp_codes", 2),
        ("sync_ops", 5),
        ("upgrade_requests", 1),
    ] {
        assert_eq!(
            counts.get(table),
            Some(&n),
            "{table} as loaded from the fixture"
        );
    }

    // The columns each saved row had, read back after the upgrade: every saved row must be
    // found unchanged (a migration may add rows or columns, never lose or alter these).
    let after = all_rows(&app.owner_url).await;
    for (table, rows) in &before {
        let now: Vec<Map<String, Value>> = after
            .get(table)
            .unwrap_or_else(|| panic!("table {table} is gone"))
            .iter()
            .map(|row| {
                row.iter()
                    .filter(|(column, _)| rows.first().is_some_and(|r| r.contains_key(*column)))
                    .map(|(c, v)| (c.clone(), v.clone()))
                    .collect()
            })
            .collect();
        for row in rows {
            assert!(
                now.contains(row),
                "{table}: the saved row {row} is missing or changed after the upgrade",
                row = Value::Object(row.clone())
            );
        }
    }
}

#[tokio::test]
async fn the_saved_staff_sign_in_with_a_password_not_their_pin_and_get_every_saved_customer_and_address(
) {
    let (app, _) = upgraded().await;
    let manager = sign_in(&app, MARIAM, MANAGER_PIN).await;
    let cashier = sign_in(&app, KHALID, CASHIER_PIN).await;
    let wrong = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"tenant": SLUG, "staffId": KHALID, "password": CASHIER_PIN})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{wrong:?}");

    // id | number | type | first | last | name2 | phone | email | verified | active | merged into
    let expected = [
        "01a2453a-e359-77e8-b27d-f6606b51702e | CUST-00001 | stub | Salim | Al Harthy | سالم الحارثي | +96892123456 | - | unverified | active | -",
        "01a2453a-e366-7740-a2e4-368ad7894223 | CUST-00002 | guest | - | - | - | - | - | unverified | active | -",
        "01a2453a-e36b-770a-b7e2-5a0b33b63b71 | CUST-00003 | full | Fatma | - | - | +96893456789 | fatma@example.om | verified | active | -",
        "01a2453a-e36f-70b4-9e25-c5973b42f7b0 | CUST-00004 | stub | ناصر | - | - | +96899887766 | - | unverified | active | -",
        "01a2453a-e373-76cf-83c0-47f762a62aed | CUST-00005 | stub | Omar | - | - | +96891112222 | - | unverified | inactive | -",
        "01a2453a-e3b6-76f7-b08b-416168cc37d4 | CUST-00006 | stub | Huda | - | هدى | +96894567890 | - | unverified | active | -",
        "01a2453a-e3b7-701c-89d8-30c9bfeb4d42 | CUST-00007 | stub | Salim | Al Harthi | - | +96892123456 | - | unverified | inactive | 01a2453a-e359-77e8-b27d-f6606b51702e",
    ];
    let line = |c: &Value| {
        let text = |field: &str| c[field].as_str().unwrap_or("-").to_owned();
        let flag = |field: &str, yes: &str, no: &str| {
            (if c[field].as_bool().unwrap() { yes } else { no }).to_owned()
        };
        [
            text("id"),
            text("customerNumber"),
            text("type"),
            text("firstName"),
            text("lastName"),
            text("name2"),
            text("phone"),
            text("email"),
            flag("phoneVerified", "verified", "unverified"),
            flag("isActive", "active", "inactive"),
            text("mergedInto"),
        ]
        .join(" | ")
    };
    let mut got = Vec::new();
    for want in expected {
        let id = &want[..36];
        let a = app.get(&format!("/api/v1/customers/{id}"), &cashier).await;
        assert_eq!(a.status, StatusCode::OK, "{id}: {a:?}");
        got.push(line(&a.body));
    }
    assert_eq!(got, expected);
    // The list (all statuses) holds the same customers, with the same values.
    let all = app
        .get("/api/v1/customers?status=all&limit=100", &manager)
        .await;
    assert_eq!(all.status, StatusCode::OK, "{all:?}");
    assert_eq!(all.body["pagination"]["total"], 7);
    let mut listed: Vec<String> = all.body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(line)
        .collect();
    listed.sort();
    assert_eq!(listed, expected);

    let fatma = app
        .get(&format!("/api/v1/customers/{FATMA}"), &cashier)
        .await;
    assert_eq!(
        fatma.body["preferences"],
        json!({"folding": "hang", "fragrance": "عود", "ecoFriendly": true,
               "channels": ["whatsapp", "email"]})
    );

    let addresses = app
        .get(&format!("/api/v1/customers/{SALIM}/addresses"), &cashier)
        .await;
    assert_eq!(addresses.status, StatusCode::OK, "{addresses:?}");
    let list = addresses.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], SALIM_WORK, "the default comes first");
    assert_eq!(list[0]["isDefault"], true);
    assert_eq!(list[0]["addressType"], "work");
    assert_eq!(list[0]["label"], "Office");
    assert_eq!(list[0]["street"], "Way 3011");
    assert_eq!(list[0]["area"], "Ruwi");
    assert_eq!(list[1]["id"], SALIM_HOME);
    assert_eq!(list[1]["isDefault"], false);
    assert_eq!(list[1]["building"], "12");
    assert_eq!(list[1]["area"], "الخوير");
    assert_eq!(list[1]["city"], "Muscat");
    assert_eq!(list[1]["country"], "OM");
    assert_eq!(list[1]["latitude"], 23.588);
    assert_eq!(list[1]["longitude"], 58.4059);
    assert_eq!(list[1]["deliveryNotes"], "Ring twice / اتصل عند الوصول");
    let huda = app
        .get(&format!("/api/v1/customers/{HUDA}/addresses"), &cashier)
        .await;
    assert_eq!(huda.body.as_array().unwrap().len(), 1);
    assert_eq!(huda.body[0]["id"], HUDA_HOME);
    assert_eq!(huda.body[0]["isDefault"], true);
    assert_eq!(huda.body[0]["area"], "Qurum");

    // The saved till is listed, not revoked.
    let devices = app.get("/api/v1/devices", &manager).await;
    assert_eq!(devices.status, StatusCode::OK, "{devices:?}");
    assert_eq!(devices.body.as_array().unwrap().len(), 1);
    assert_eq!(devices.body[0]["id"], TILL);
    assert_eq!(devices.body[0]["name"], "Till 1");
    assert_eq!(devices.body[0]["revokedAt"], Value::Null);

    // Writes go on: numbers continue from the saved counter, without gap or duplicate, and
    // a saved phone is still taken.
    let taken = app
        .post(
            "/api/v1/customers",
            &cashier,
            json!({"type": "stub", "firstName": "Salim", "phone": "92123456"}),
        )
        .await;
    assert_ne!(taken.status, StatusCode::CREATED, "{taken:?}");
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE active AND phone = '+96892123456'")
            .await,
        1
    );
    let created = app
        .post(
            "/api/v1/customers",
            &cashier,
            json!({"type": "stub", "firstName": "Zahra", "phone": "97778888"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["customerNumber"], "CUST-00008");
    let edited = app
        .patch(
            &format!("/api/v1/customers/{HUDA}"),
            &cashier,
            json!({"lastName": "Al Balushi"}),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{edited:?}");
    assert_eq!(edited.body["name2"], "هدى");
}

#[tokio::test]
async fn saved_customers_are_still_found_by_name_in_both_scripts_and_by_phone() {
    let (app, _) = upgraded().await;
    // A manager: some rows browse (inactive customers, no search term).
    let token = sign_in(&app, MARIAM, MANAGER_PIN).await;
    let ids = |body: &Value| -> BTreeSet<String> {
        body["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let set = |ids: &[&str]| -> BTreeSet<String> { ids.iter().map(|s| s.to_string()).collect() };
    for (query, expected) in [
        ("search=Salim", set(&[SALIM])),
        ("search=salim&status=all", set(&[SALIM, SALIM_RETIRED])),
        ("search=%D8%B3%D8%A7%D9%84%D9%85", set(&[SALIM])), // سالم
        ("search=%D9%87%D8%AF%D9%89", set(&[HUDA])),        // هدى
        ("search=%D9%86%D8%A7%D8%B5%D8%B1", set(&[NASSER])), // ناصر
        ("search=fatma", set(&[FATMA])),
        ("search=fatma%40example", set(&[FATMA])),
        ("search=2123456", set(&[SALIM])),
        ("search=7766", set(&[NASSER])),
        ("search=%2B968%209456%207890", set(&[HUDA])),
        ("search=omar", set(&[])),
        ("search=omar&status=inactive", set(&[OMAR])),
        ("type=guest", set(&[GUEST])),
    ] {
        let a = app.get(&format!("/api/v1/customers?{query}"), &token).await;
        assert_eq!(a.status, StatusCode::OK, "{query}: {a:?}");
        assert_eq!(ids(&a.body), expected, "{query}");
    }
}

#[tokio::test]
async fn the_saved_till_still_syncs_with_its_token_replays_get_their_saved_answers_and_its_sequence_continues(
) {
    let (app, _) = upgraded().await;

    // Pull: every saved customer, up to the saved end of the change feed.
    let resp = app
        .client
        .get(format!("{}/api/v1/sync/pull?since=0&wait=0", app.base))
        .bearer_auth(TILL_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let page: PullResponse = resp.json().await.unwrap();
    assert_eq!(page.cursor, 17);
    assert!(!page.more);
    let pulled: BTreeSet<String> = page
        .changes
        .iter()
        .map(|c| c.customer.id.to_string())
        .collect();
    let saved: BTreeSet<String> = [SALIM, GUEST, FATMA, NASSER, OMAR, HUDA, SALIM_RETIRED]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(pulled, saved);
    let snapshot = |id: &str| {
        page.changes
            .iter()
            .rev()
            .find(|c| c.customer.id.to_string() == id)
            .unwrap()
            .customer
            .clone()
    };
    let salim = snapshot(SALIM);
    assert_eq!(
        salim.default_address_id.map(|a| a.to_string()).as_deref(),
        Some(SALIM_WORK)
    );
    assert_eq!(salim.addresses.len(), 2);
    assert_eq!(snapshot(SALIM_RETIRED).merged_into, Some(cid(SALIM)));
    assert!(!snapshot(OMAR).active);
    assert!(
        snapshot(HUDA).upgrade_state.is_some(),
        "Huda's upgrade request"
    );
    assert_eq!(snapshot(FATMA).kind, CustomerKind::Full);

    // The roster the till signs staff in with.
    let resp = app
        .client
        .get(format!("{}/api/v1/sync/staff", app.base))
        .bearer_auth(TILL_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let roster: dukkan_core::staff::Roster = resp.json().await.unwrap();
    let mut staff: Vec<(String, String)> = roster
        .staff
        .iter()
        .map(|m| (m.id.to_string(), m.name.clone()))
        .collect();
    staff.sort();
    assert_eq!(
        staff,
        vec![
            (MARIAM.to_owned(), "Mariam".to_owned()),
            (KHALID.to_owned(), "خالد".to_owned()),
        ]
    );

    // Replays of the saved ops (a till that never heard the answers) get the saved answers.
    let at = "2026-12-05T08:03:37.015Z".to_owned();
    let replay = |seq: i64, id: &str, op: Op| PushOp {
        op_id: op_id(id),
        device_seq: seq,
        op,
        staff_id: None,
        at: at.clone(),
    };
    let answers = push(
        &app,
        vec![
            replay(
                PUSHED[0].0,
                PUSHED[0].1,
                Op::CustomerCreated(CustomerCreated {
                    id: cid(HUDA),
                    kind: CustomerKind::Stub,
                    first_name: Some("Huda".into()),
                    last_name: None,
                    name2: Some("هدى".into()),
                    phone: Some("+96894567890".into()),
                    email: None,
                    preferences: None,
                }),
            ),
            replay(
                PUSHED[1].0,
                PUSHED[1].1,
                Op::CustomerCreated(CustomerCreated {
                    id: cid(SALIM_RETIRED),
                    kind: CustomerKind::Stub,
                    first_name: Some("Salim".into()),
                    last_name: Some("Al Harthi".into()),
                    name2: None,
                    phone: Some("+96892123456".into()),
                    email: None,
                    preferences: None,
                }),
            ),
            replay(
                PUSHED[2].0,
                PUSHED[2].1,
                Op::CustomerUpdated(CustomerUpdated {
                    id: cid(HUDA),
                    phone: Some("+96893456789".into()),
                    ..Default::default()
                }),
            ),
        ],
    )
    .await;
    let outcomes: Vec<(i64, OpOutcome)> = answers
        .results
        .into_iter()
        .map(|r| (r.device_seq, r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (1, OpOutcome::Duplicate),
            (2, OpOutcome::Redirected { to: cid(SALIM) }),
            (
                3,
                OpOutcome::Rejected {
                    code: "customer.phone-taken".into()
                }
            ),
        ]
    );

    // The next op continues the saved sequence (last applied: 5) and is applied once.
    let zahra = CustomerId::new();
    let next = PushOp {
        op_id: OpId::new(),
        device_seq: 6,
        op: Op::CustomerCreated(CustomerCreated {
            id: zahra,
            kind: CustomerKind::Stub,
            first_name: Some("Zahra".into()),
            last_name: None,
            name2: Some("زهرة".into()),
            phone: Some("+96897778888".into()),
            email: None,
            preferences: None,
        }),
        staff_id: Some(KHALID.into()),
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    let answers = push(&app, vec![next.clone()]).await;
    assert_eq!(answers.results.len(), 1);
    assert_eq!(answers.results[0].outcome, OpOutcome::Applied);
    assert_eq!(answers.results[0].device_seq, 6);
    assert_eq!(
        app.count(&format!(
            "SELECT last_applied_seq FROM device_sync_state WHERE device_id = '{TILL}'"
        ))
        .await,
        6
    );
    let client = app.owner.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT c.customer_number, a.staff_id, a.device_id FROM customers c
             JOIN audit_log a ON a.entity_id = c.id AND a.action = 'create'
             WHERE c.id = $1",
            &[&zahra.as_uuid()],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, i32>(0),
        8,
        "numbers continue from the saved counter"
    );
    assert_eq!(
        row.get::<_, Option<uuid::Uuid>>(1)
            .map(|u| u.to_string())
            .as_deref(),
        Some(KHALID)
    );
    assert_eq!(
        row.get::<_, Option<uuid::Uuid>>(2)
            .map(|u| u.to_string())
            .as_deref(),
        Some(TILL)
    );
    let again = push(&app, vec![next]).await;
    assert_eq!(again.results[0].outcome, OpOutcome::Duplicate);

    let resp = app
        .client
        .get(format!("{}/api/v1/sync/pull?since=17&wait=0", app.base))
        .bearer_auth(TILL_TOKEN)
        .send()
        .await
        .unwrap();
    let page: PullResponse = resp.json().await.unwrap();
    assert_eq!(
        page.cursor, 18,
        "the change feed continues after the saved 17"
    );
    assert_eq!(page.changes.len(), 1);
    assert_eq!(page.changes[0].customer.id, zahra);
}

#[tokio::test]
async fn saved_sync_answers_audit_entries_merges_and_upgrade_requests_keep_their_values() {
    let (app, _) = upgraded().await;
    let client = app.owner.get().await.unwrap();

    let ops: Vec<(i64, String, Value)> = client
        .query(
            "SELECT device_seq, op_id::text, outcome FROM sync_ops
             WHERE tenant_id = $1::text::uuid AND device_id = $2::text::uuid
             ORDER BY device_seq",
            &[&TENANT, &TILL],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        ops,
        vec![
            (1, PUSHED[0].1.to_owned(), json!({"result": "applied"})),
            (
                2,
                PUSHED[1].1.to_owned(),
                json!({"result": "redirected", "to": SALIM})
            ),
            (
                3,
                PUSHED[2].1.to_owned(),
                json!({"result": "rejected", "code": "customer.phone-taken"})
            ),
            (4, PUSHED[3].1.to_owned(), json!({"result": "applied"})),
            (5, PUSHED[4].1.to_owned(), json!({"result": "applied"})),
        ]
    );

    // The audit log, oldest first: which record, what was done, by which staff member or till,
    // which fields (ids shown by name).
    let name = |id: Option<String>| -> String {
        let Some(id) = id else { return "-".into() };
        NAMES
            .iter()
            .find(|(known, _)| *known == id)
            .map_or(id.clone(), |(_, name)| (*name).to_owned())
    };
    let audit: Vec<String> = client
        .query(
            "SELECT entity, entity_id::text, action, staff_id::text, device_id::text, fields::text
             FROM audit_log WHERE tenant_id = $1::text::uuid ORDER BY id",
            &[&TENANT],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            [
                r.get::<_, String>(0),
                name(r.get(1)),
                r.get(2),
                name(r.get(3)),
                name(r.get(4)),
                r.get(5),
            ]
            .join(" | ")
        })
        .collect();
    assert_eq!(
        audit,
        [
            "customer | Salim | create | Mariam | - | [\"*\"]",
            "customer | guest | create | خالد | - | [\"*\"]",
            "customer | Fatma | create | خالد | - | [\"*\"]",
            "customer | ناصر | create | خالد | - | [\"*\"]",
            "customer | Omar | create | Mariam | - | [\"*\"]",
            "customer | Salim | update | خالد | - | [\"lastName\"]",
            "address | Salim's home | create | خالد | - | [\"*\"]",
            "address | Salim's work | create | خالد | - | [\"*\"]",
            "address | Salim's work | update | خالد | - | [\"isDefault\"]",
            "customer | Fatma | upgrade | خالد | - | [\"type\", \"phoneVerified\", \"email\", \"preferences\"]",
            "customer | Omar | deactivate | Mariam | - | [\"isActive\"]",
            "customer | Huda | create | - | Till 1 | [\"*\"]",
            "customer | Salim (merged copy) | create | - | Till 1 | [\"*\"]",
            "customer | Salim | merge | - | Till 1 | [\"lastName\", \"name2\"]",
            "customer | Huda | address | - | Till 1 | [\"addresses\"]",
            "customer | Huda | upgrade-requested | - | Till 1 | [\"upgrade\"]",
            "customer | Huda | upgrade-state | - | Till 1 | [\"upgrade\"]",
        ]
    );

    let merge = client
        .query_one(
            "SELECT source_customer_id::text, target_customer_id::text, reason, device_id::text
             FROM customer_merges WHERE tenant_id = $1::text::uuid",
            &[&TENANT],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            merge.get::<_, String>(0),
            merge.get::<_, String>(1),
            merge.get::<_, String>(2),
            merge.get::<_, String>(3)
        ),
        (
            SALIM_RETIRED.to_owned(),
            SALIM.to_owned(),
            "duplicate-phone".to_owned(),
            TILL.to_owned()
        )
    );

    let upgrade = client
        .query_one(
            "SELECT customer_id::text, email, preferences, state, device_id::text, language
             FROM upgrade_requests WHERE tenant_id = $1::text::uuid",
            &[&TENANT],
        )
        .await
        .unwrap();
    assert_eq!(upgrade.get::<_, String>(0), HUDA);
    assert_eq!(upgrade.get::<_, String>(1), "huda@example.om");
    assert_eq!(
        upgrade.get::<_, Value>(2),
        json!({"folding": "fold", "channels": ["sms"], "fragrance": null, "ecoFriendly": false})
    );
    assert_eq!(upgrade.get::<_, String>(3), "sent");
    assert_eq!(upgrade.get::<_, String>(4), TILL);
    assert_eq!(upgrade.get::<_, Option<String>>(5).as_deref(), Some("ar"));

    // Fatma's verified phone is still the shared identity she was verified as.
    let identity = client
        .query_one(
            "SELECT p.phone FROM customers c JOIN phone_identities p ON p.id = c.identity_id
             WHERE c.id = $1::text::uuid",
            &[&FATMA],
        )
        .await
        .unwrap();
    assert_eq!(identity.get::<_, String>(0), "+96893456789");
    assert_eq!(
        app.count("SELECT next_customer_number FROM tenant_counters")
            .await,
        8
    );
}

#[tokio::test]
async fn upgrade_reasons_saved_in_the_old_dashed_codes_are_rewritten_in_the_one_code_vocabulary() {
    let database = saved_database().await;
    let client = owner_client(&database.owner_url).await;
    // What the previous version stored when a code could not go out yet.
    let marked = client
        .execute(
            "UPDATE upgrade_requests SET error_code = 'otp-cooldown'",
            &[],
        )
        .await
        .expect("mark the saved requests");
    assert!(marked > 0, "the fixture holds upgrade requests");
    db::migrate(&database.owner_url).await.expect("migrate");
    let codes: Vec<Option<String>> = client
        .query("SELECT error_code FROM upgrade_requests", &[])
        .await
        .expect("read")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        codes.iter().all(|c| c.as_deref() == Some("otp.cooldown")),
        "{codes:?}"
    );
}
