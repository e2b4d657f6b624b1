//! Upgrades keep data: a till store saved by an earlier Dukkan (tests/fixtures/device-v4.sql,
//! schema V4, see its header for how it was made) opened by this build. Opening migrates it to
//! the latest schema; every customer, address, pending op, audit entry, upgrade request and
//! setting it held must still be there, and the till must go on working on it.
//!
//! When a migration is added, these tests run it on that saved store. Never regenerate the
//! fixture to make them pass: a failure here means the migration loses or changes a till's data.

#![allow(clippy::unwrap_used)]

use dukkan_core::staff::Role;
use dukkan_core::sync::UpgradeState;
use dukkan_core::{AddressType, CustomerId, Folding, NotificationChannel, StubInput};
use dukkan_device::{Device, MatchKind, OpState, StubOutcome};
use rusqlite::types::Value;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The saved store: SQL as `sqlite3 .dump` wrote it.
const SAVED_V4: &str = include_str!("fixtures/device-v4.sql");
/// The schema version the saved store was written at.
const SAVED_VERSION: i64 = 4;

// Who and what the saved store holds (ids as written in the fixture).
const DEVICE_ID: &str = "01a2453a-e3ab-7303-9ac1-d2acf1235760";
const MARIAM: &str = "01a2453a-e283-747d-8323-a0a9b026fa21"; // manager, PIN 2468
const KHALID: &str = "01a2453a-e2a7-71ac-bc7e-172d0de404b9"; // cashier خالد, PIN 1357
const MANAGER_PIN: &str = "2468";
const CASHIER_PIN: &str = "1357";
const HUDA: &str = "01a2453a-e3b6-76f7-b08b-416168cc37d4";
const SALIM_RETIRED: &str = "01a2453a-e3b7-701c-89d8-30c9bfeb4d42";
const SALIM: &str = "01a2453a-e359-77e8-b27d-f6606b51702e";
const NASSER: &str = "01a2453a-e36f-70b4-9e25-c5973b42f7b0";
const FATMA: &str = "01a2453a-e36b-770a-b7e2-5a0b33b63b71";
const OMAR: &str = "01a2453a-e373-76cf-83c0-47f762a62aed";
const SAID: &str = "01a2453a-e487-715f-824f-73b4dfeee731";
const SALEM: &str = "01a2453a-e489-73e9-9f62-d2a23f5f48c6";
const AISHA: &str = "01a2453a-e48a-7542-a987-dea6379ca8f7";
const SAID_HOME: &str = "01a2453a-e48b-72db-80c9-f4a4d5e75a2a";
const SAID_WORK: &str = "01a2453a-e48c-72b7-93f3-d1746c1c6b85";
const SALIM_HOME: &str = "01a2453a-e37e-7015-b0e9-689932ff5f43";
const SALIM_WORK: &str = "01a2453a-e385-772f-a897-9df9674509f8";
const HUDA_HOME: &str = "01a2453a-e3b8-7183-9c69-cf4d24f02c4c";

fn id(s: &str) -> CustomerId {
    s.parse().unwrap()
}

/// The saved store written to a fresh file, as a till would find it on disk; not opened by
/// Opens the upgraded till at `path` as its owner (a standalone till asks for one first).
fn opened(path: &Path) -> Device {
    let device = Device::open(path).unwrap();
    if device.staff_session().owner_pin_required {
        device.set_owner_pin_cheaply("Owner", "246810").unwrap();
    }
    device
}

/// Dukkan yet.
fn saved_store() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.sqlite3");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(SAVED_V4).unwrap();
    assert_eq!(
        dukkan_device::store::applied_schema_version(&conn).unwrap(),
        SAVED_VERSION,
        "the fixture is a V{SAVED_VERSION} store"
    );
    drop(conn);
    (dir, path)
}

/// The saved store opened (so migrated) by this build, Mariam (manager) signed in.
fn upgraded() -> (TempDir, Device) {
    let (dir, path) = saved_store();
    let device = opened(&path);
    let mariam = device.sign_in(MARIAM, MANAGER_PIN).unwrap();
    assert_eq!(mariam.role, Role::Manager);
    (dir, device)
}

/// Every row of every table, by table, as read straight from the file (the FTS5 index's own
/// tables left out: search proves the index), each row its values in column order.
type Rows = BTreeMap<String, Vec<Vec<Value>>>;

fn tables_and_columns(conn: &Connection) -> BTreeMap<String, Vec<String>> {
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table'
             AND name NOT LIKE 'customers_fts%' AND name <> 'refinery_schema_history'
             ORDER BY name",
        )
        .unwrap();
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{t}') ORDER BY cid"
                ))
                .unwrap();
            let columns = stmt
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<Vec<String>>>()
                .unwrap();
            (t, columns)
        })
        .collect()
}

fn read_rows(path: &Path, tables: &BTreeMap<String, Vec<String>>) -> Rows {
    let conn = dukkan_device::store::connect_existing(path).unwrap();
    tables
        .iter()
        .map(|(table, columns)| {
            let list = columns
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let mut stmt = conn
                .prepare(&format!("SELECT {list} FROM \"{table}\""))
                .unwrap_or_else(|e| {
                    panic!("table {table} or one of its columns {columns:?} is gone: {e}")
                });
            let rows = stmt
                .query_map([], |r| {
                    (0..columns.len())
                        .map(|i| r.get::<_, Value>(i))
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap();
            (table.clone(), rows)
        })
        .collect()
}

/// `(version, name, checksum)` of every migration the store records.
fn migrations(path: &Path) -> Vec<(i64, String, String)> {
    let conn = dukkan_device::store::connect_existing(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT version, name, checksum FROM refinery_schema_history ORDER BY version")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// The outbox straight from the file: `(device_seq, op_id, kind, entity_id, customer_id,
/// payload, staff_id, at, state, error_code, attempts)` in device order.
type OutboxRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    i64,
);

fn raw_outbox(path: &Path) -> Vec<OutboxRow> {
    let conn = dukkan_device::store::connect_existing(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT device_seq, op_id, kind, entity_id, customer_id, payload, staff_id, at, state,
                    error_code, attempts
             FROM outbox ORDER BY device_seq",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

#[test]
fn opening_a_saved_v4_store_migrates_it_to_the_latest_schema_and_keeps_v1_to_v4_recorded() {
    let (_dir, path) = saved_store();
    let saved = migrations(&path);
    assert_eq!(
        saved.iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );

    let device = opened(&path);
    let conn = dukkan_device::store::connect_existing(device.path()).unwrap();
    assert_eq!(
        dukkan_device::store::applied_schema_version(&conn).unwrap(),
        dukkan_device::store::latest_schema_version()
    );
    let now = migrations(&path);
    for m in &saved {
        assert!(
            now.contains(m),
            "migration {m:?} of the saved store is no longer recorded as it was"
        );
    }
    assert!(now.len() >= saved.len());
    // Opening again applies nothing more and changes nothing.
    drop(device);
    drop(Device::open(&path).unwrap());
    assert_eq!(migrations(&path), now);
}

#[test]
fn every_row_the_saved_store_held_is_still_there_with_the_same_values_after_the_upgrade() {
    let (_dir, path) = saved_store();
    let tables = {
        let conn = dukkan_device::store::connect_existing(&path).unwrap();
        tables_and_columns(&conn)
    };
    for table in [
        "customers",
        "addresses",
        "outbox",
        "audit_log",
        "upgrade_requests",
        "sync_state",
        "settings",
        "staff",
    ] {
        assert!(tables.contains_key(table), "the fixture has no {table}");
    }
    let before = read_rows(&path, &tables);
    assert_eq!(before["customers"].len(), 10);
    assert_eq!(before["addresses"].len(), 5);
    assert_eq!(before["outbox"].len(), 12);
    assert_eq!(before["audit_log"].len(), 16);
    assert_eq!(before["upgrade_requests"].len(), 2);
    assert_eq!(before["staff"].len(), 2);

    drop(Device::open(&path).unwrap());

    // The columns the saved store had, read from the upgraded file: each saved row must be
    // found there unchanged (a migration may add rows or columns, never lose or alter these).
    let after = read_rows(&path, &tables);
    for (table, rows) in &before {
        let now = &after[table];
        for row in rows {
            assert!(
                now.contains(row),
                "{table}: the saved row {row:?} is missing or changed after the upgrade"
            );
        }
    }
}

#[test]
fn every_saved_customer_is_kept_with_its_id_names_phone_kind_number_and_active_flag() {
    let (_dir, device) = upgraded();
    // id | number | kind | first | last | name2 | phone | email | active | sync state
    let expected = [
        "01a2453a-e359-77e8-b27d-f6606b51702e | 1 | stub | Salim | Al Harthy | سالم الحارثي | +96892123456 | salim@example.om | active | pending",
        "01a2453a-e366-7740-a2e4-368ad7894223 | 2 | guest | - | - | - | - | - | active | synced",
        "01a2453a-e36b-770a-b7e2-5a0b33b63b71 | 3 | full | Fatma | - | - | +96893456789 | fatma@example.om | active | synced",
        "01a2453a-e36f-70b4-9e25-c5973b42f7b0 | 4 | stub | ناصر | - | - | +96899887766 | - | inactive | pending",
        "01a2453a-e373-76cf-83c0-47f762a62aed | 5 | stub | Omar | - | - | +96891112222 | - | inactive | synced",
        "01a2453a-e3b6-76f7-b08b-416168cc37d4 | 6 | stub | Huda | - | هدى | +96894567890 | - | active | parked",
        "01a2453a-e3b7-701c-89d8-30c9bfeb4d42 | 7 | stub | Salim | Al Harthi | - | +96892123456 | - | inactive | synced",
        "01a2453a-e487-715f-824f-73b4dfeee731 | - | stub | Said | Al Busaidi | سعيد البوسعيدي | +96891234567 | - | active | pending",
        "01a2453a-e489-73e9-9f62-d2a23f5f48c6 | - | stub | سالم | - | - | +96898765432 | - | active | pending",
        "01a2453a-e48a-7542-a987-dea6379ca8f7 | - | stub | Aisha | - | - | +96895551234 | - | active | pending",
    ];
    let line = |c: &dukkan_device::Customer| {
        let or_dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
        [
            c.id.to_string(),
            c.customer_number
                .map_or_else(|| "-".into(), |n| n.value().to_string()),
            c.kind.as_str().to_owned(),
            or_dash(&c.first_name),
            or_dash(&c.last_name),
            or_dash(&c.name2),
            or_dash(&c.phone),
            or_dash(&c.email),
            (if c.active { "active" } else { "inactive" }).to_owned(),
            c.sync_state.as_str().to_owned(),
        ]
        .join(" | ")
    };

    // The manager's list holds them all (walk-in guests when asked for), and each one reads
    // back the same on its own.
    let page = device
        .list_customers(&dukkan_device::ListQuery {
            limit: Some(500),
            ..Default::default()
        })
        .unwrap();
    let guests = device
        .list_customers(&dukkan_device::ListQuery {
            kind: Some(dukkan_core::CustomerKind::Guest),
            limit: Some(500),
            ..Default::default()
        })
        .unwrap();
    assert_eq!((page.next, guests.next), (None, None));
    assert!(page
        .items
        .iter()
        .all(|c| c.kind != dukkan_core::CustomerKind::Guest));
    let page = dukkan_device::Page {
        items: [page.items, guests.items].concat(),
        next: None,
    };
    let mut listed: Vec<String> = page.items.iter().map(line).collect();
    listed.sort();
    assert_eq!(listed, expected);
    for c in &page.items {
        assert_eq!(device.customer(c.id).unwrap().customer, *c);
    }
    let inactive = device
        .list_customers(&dukkan_device::ListQuery {
            active: Some(false),
            ..Default::default()
        })
        .unwrap();
    let mut inactive: Vec<String> = inactive.items.iter().map(|c| c.id.to_string()).collect();
    inactive.sort();
    assert_eq!(inactive, vec![NASSER, OMAR, SALIM_RETIRED]);

    let retired = device.customer(id(SALIM_RETIRED)).unwrap().customer;
    assert_eq!(retired.merged_into, Some(id(SALIM)));
    let fatma = device.customer(id(FATMA)).unwrap().customer;
    assert!(fatma.phone_verified);
    let prefs = fatma.preferences.unwrap();
    assert_eq!(prefs.folding, Some(Folding::Hang));
    assert_eq!(prefs.fragrance.as_ref().map(|f| f.as_str()), Some("عود"));
    assert!(prefs.eco_friendly);
    assert_eq!(
        prefs.channels,
        vec![NotificationChannel::Whatsapp, NotificationChannel::Email]
    );
}

#[test]
fn saved_addresses_and_each_customers_default_address_are_kept() {
    let (_dir, device) = upgraded();

    let said = device.customer(id(SAID)).unwrap();
    assert_eq!(said.customer.default_address_id.as_deref(), Some(SAID_WORK));
    let mut by_id: BTreeMap<String, _> = said
        .addresses
        .iter()
        .map(|a| (a.id.to_string(), a.clone()))
        .collect();
    assert_eq!(by_id.len(), 2);
    let home = by_id.remove(SAID_HOME).unwrap();
    let work = by_id.remove(SAID_WORK).unwrap();
    assert!(!home.is_default);
    assert!(work.is_default);
    assert_eq!(home.customer_id, id(SAID));
    assert_eq!(home.address.address_type, AddressType::Home);
    let text = |t: &Option<dukkan_core::FreeText>| t.as_ref().map(|t| t.as_str().to_owned());
    assert_eq!(text(&home.address.building).as_deref(), Some("Villa 7"));
    assert_eq!(text(&home.address.street).as_deref(), Some("Way 2833"));
    assert_eq!(text(&home.address.area).as_deref(), Some("القرم"));
    assert_eq!(text(&home.address.city).as_deref(), Some("مسقط"));
    assert_eq!(
        text(&home.address.delivery_notes).as_deref(),
        Some("Leave with the guard")
    );
    assert_eq!(home.address.country.as_str(), "OM");
    let gps = home.address.gps.unwrap();
    assert_eq!((gps.latitude(), gps.longitude()), (23.6141, 58.4838));
    assert_eq!(work.address.address_type, AddressType::Work);
    assert_eq!(text(&work.address.label).as_deref(), Some("Bank"));
    assert_eq!(text(&work.address.floor).as_deref(), Some("3"));
    assert_eq!(text(&work.address.apartment).as_deref(), Some("301"));
    assert_eq!(text(&work.address.postal_code).as_deref(), Some("112"));
    assert!(work.address.gps.is_none());

    let salim = device.customer(id(SALIM)).unwrap();
    assert_eq!(
        salim.customer.default_address_id.as_deref(),
        Some(SALIM_WORK)
    );
    let mut ids: Vec<String> = salim.addresses.iter().map(|a| a.id.to_string()).collect();
    ids.sort();
    assert_eq!(ids, vec![SALIM_HOME.to_owned(), SALIM_WORK.to_owned()]);
    let salim_home = salim
        .addresses
        .iter()
        .find(|a| a.id.to_string() == SALIM_HOME)
        .unwrap();
    assert_eq!(
        text(&salim_home.address.delivery_notes).as_deref(),
        Some("Ring twice / اتصل عند الوصول")
    );

    let huda = device.customer(id(HUDA)).unwrap();
    assert_eq!(huda.addresses.len(), 1);
    assert_eq!(huda.addresses[0].id.to_string(), HUDA_HOME);
    assert!(huda.addresses[0].is_default);
    assert!(device.customer(id(AISHA)).unwrap().addresses.is_empty());

    // The store's location (a setting) is kept: distances still come out for Said's home.
    let store = device.store_location().unwrap().unwrap();
    assert_eq!((store.latitude(), store.longitude()), (23.588, 58.3829));
    let distances = device.address_distances(id(SAID)).unwrap();
    assert_eq!(distances.len(), 1);
    assert_eq!(distances[0].address_id, SAID_HOME);
    assert!(
        distances[0].km > 0.0 && distances[0].km < 20.0,
        "{distances:?}"
    );
}

#[test]
fn every_saved_outbox_op_is_kept_in_order_with_its_op_id_and_payload_and_still_waits_to_be_pushed()
{
    let (_dir, path) = saved_store();
    let saved = raw_outbox(&path);
    let device = opened(&path);
    device.sign_in(MARIAM, MANAGER_PIN).unwrap();

    assert_eq!(raw_outbox(&path), saved, "the outbox rows changed");
    let seqs: Vec<i64> = saved.iter().map(|o| o.0).collect();
    assert_eq!(seqs, vec![3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    let kinds: Vec<&str> = saved.iter().map(|o| o.2.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "customer_updated",
            "customer_created",
            "customer_updated",
            "customer_created",
            "customer_created",
            "address_added",
            "address_added",
            "default_address_set",
            "upgrade_requested",
            "customer_deactivated",
            "customer_updated",
            "customer_updated",
        ]
    );

    // What the app reads: the same ops, same order, same payloads.
    let outbox = device.outbox().unwrap();
    assert_eq!(
        outbox,
        saved
            .iter()
            .map(|o| (o.0, o.2.clone(), o.3.clone(), o.5.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(device.pending_ops().unwrap(), 11);
    let status = device.sync_status().unwrap();
    assert_eq!((status.pending, status.parked, status.cursor), (11, 1, 16));
    assert_eq!(device.last_acked_seq().unwrap(), 5);

    // The next push sends the pending ones as recorded: same op ids (the server's exactly-once
    // key), same sequence numbers, same staff and time, every payload still readable.
    let batch = device.next_push_batch(200).unwrap();
    let pending: Vec<&OutboxRow> = saved.iter().filter(|o| o.8 == "pending").collect();
    assert_eq!(batch.len(), pending.len());
    for (op, row) in batch.iter().zip(&pending) {
        assert_eq!(op.device_seq, row.0);
        assert_eq!(op.op_id.to_string(), row.1);
        assert_eq!(op.op.kind(), row.2);
        assert_eq!(op.staff_id, row.6);
        assert_eq!(op.at, row.7);
    }
    assert_eq!(batch[0].staff_id.as_deref(), Some(MARIAM));
    assert_eq!(batch.last().unwrap().staff_id.as_deref(), Some(KHALID));

    // The op the server refused stays parked, with its reason, for a person to decide.
    let parked = device.parked_ops().unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].device_seq, 3);
    assert_eq!(parked[0].kind, "customer_updated");
    assert_eq!(parked[0].customer_id, HUDA);
    assert_eq!(parked[0].error_code, "customer.phone-taken");

    // The enrollment the ops will be pushed with is kept.
    let (url, token) = device.enrollment().unwrap().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(token.starts_with("dkd_"), "{token}");
}

#[test]
fn saved_audit_entries_and_sync_history_are_kept_per_customer() {
    let (_dir, device) = upgraded();

    let said = device.customer_activity(id(SAID)).unwrap();
    let actions: Vec<&str> = said.audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "default_address_set",
            "address_added",
            "address_added",
            "customer_updated",
            "customer_created",
        ]
    );
    for entry in &said.audit {
        assert_eq!(entry.staff_id.as_deref(), Some(MARIAM));
        assert_eq!(entry.device_id, DEVICE_ID);
    }
    assert_eq!(said.audit[3].fields, vec!["lastName", "name2"]);
    assert_eq!(said.audit[3].entity, "customer");
    assert_eq!(said.audit[0].entity, "address");
    assert_eq!(said.sync.len(), 5);
    assert!(said.sync.iter().all(|s| s.state == OpState::Pending));

    // Huda: made before anyone signed in; four ops, one parked, the rest answered by the server.
    let huda = device.customer_activity(id(HUDA)).unwrap();
    let actions: Vec<&str> = huda.audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "upgrade_requested",
            "address_added",
            "customer_updated",
            "customer_created",
        ]
    );
    assert!(huda.audit.iter().all(|a| a.staff_id.is_none()));
    let parked: Vec<_> = huda
        .sync
        .iter()
        .filter(|s| s.state == OpState::Parked)
        .collect();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].device_seq, Some(3));
    assert_eq!(
        parked[0].error_code.as_deref(),
        Some("customer.phone-taken")
    );
    assert_eq!(parked[0].attempts, 1);
    assert_eq!(
        huda.sync
            .iter()
            .filter(|s| s.state == OpState::Acknowledged)
            .count(),
        3
    );

    // The merged-away copy's history shows under the customer it was merged into.
    let salim = device.customer_activity(id(SALIM)).unwrap();
    let actions: Vec<(&str, Option<&str>)> = salim
        .audit
        .iter()
        .map(|a| (a.action.as_str(), a.staff_id.as_deref()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("customer_updated", Some(KHALID)),
            ("customer_created", None)
        ]
    );

    let nasser = device.customer_activity(id(NASSER)).unwrap();
    assert_eq!(nasser.audit.len(), 1);
    assert_eq!(nasser.audit[0].action, "customer_deactivated");
    assert_eq!(nasser.audit[0].fields, vec!["active"]);
}

#[test]
fn saved_upgrade_requests_are_kept_and_still_wait_for_sync() {
    let (_dir, device) = upgraded();

    let salem = device.upgrade_request(id(SALEM)).unwrap().unwrap();
    assert_eq!(salem.email, "salem@example.om");
    assert_eq!(salem.state, UpgradeState::Queued);
    assert!(salem.waiting_for_sync, "its op is still in the outbox");
    assert_eq!(salem.preferences.folding, Some(Folding::Hang));
    assert_eq!(
        salem.preferences.fragrance.as_ref().map(|f| f.as_str()),
        Some("لافندر")
    );
    assert!(salem.preferences.eco_friendly);
    assert_eq!(
        salem.preferences.channels,
        vec![NotificationChannel::Whatsapp]
    );
    assert_eq!(
        device.customer(id(SALEM)).unwrap().upgrade.as_ref(),
        Some(&salem)
    );

    let huda = device.upgrade_request(id(HUDA)).unwrap().unwrap();
    assert_eq!(huda.email, "huda@example.om");
    assert_eq!(huda.state, UpgradeState::Queued);
    assert!(
        !huda.waiting_for_sync,
        "its op was pushed before the fixture was saved"
    );
    assert_eq!(huda.preferences.folding, Some(Folding::Fold));
    assert_eq!(huda.preferences.channels, vec![NotificationChannel::Sms]);

    assert!(device.upgrade_request(id(SAID)).unwrap().is_none());
}

#[test]
fn saved_customers_are_still_found_by_name_in_both_scripts_and_by_phone() {
    let (_dir, device) = upgraded();
    let found = |q: &str| -> Vec<(String, MatchKind)> {
        device
            .search(q, 20)
            .unwrap()
            .into_iter()
            .map(|h| (h.customer.id.to_string(), h.matched))
            .collect()
    };
    let ids = |q: &str| -> Vec<String> { found(q).into_iter().map(|(id, _)| id).collect() };

    // Names (the FTS5 index written by the earlier version), Latin and Arabic, whole and prefix.
    assert_eq!(ids("Said"), vec![SAID.to_owned()]);
    assert_eq!(ids("busaidi"), vec![SAID.to_owned()]);
    assert_eq!(ids("سعيد"), vec![SAID.to_owned()]);
    assert_eq!(ids("Huda"), vec![HUDA.to_owned()]);
    assert_eq!(ids("هدى"), vec![HUDA.to_owned()]);
    assert_eq!(ids("Aisha"), vec![AISHA.to_owned()]);
    assert_eq!(ids("Fat"), vec![FATMA.to_owned()]);
    // Prefixes longer than the FTS5 prefix indexes: expanded into whole names through the
    // terms V9 read from the saved index.
    assert_eq!(ids("busai"), vec![SAID.to_owned()]);
    assert_eq!(ids("Aish"), vec![AISHA.to_owned()]);
    let salim = ids("Salim");
    assert_eq!(salim, vec![SALIM.to_owned()], "the merged copy is inactive");
    let mut salem = ids("سالم");
    salem.sort();
    assert_eq!(salem, vec![SALIM.to_owned(), SALEM.to_owned()]);
    // Deactivated customers are not offered.
    assert!(ids("Omar").is_empty());
    assert!(ids("ناصر").is_empty());

    // Phones: whole number in any notation, last 4 digits, prefix.
    assert_eq!(
        found("9212 3456"),
        vec![(SALIM.to_owned(), MatchKind::PhoneExact)]
    );
    assert_eq!(
        found("+968 9876 5432"),
        vec![(SALEM.to_owned(), MatchKind::PhoneExact)]
    );
    assert_eq!(found("4567")[0], (SAID.to_owned(), MatchKind::PhoneLast4));
    assert_eq!(ids("955512"), vec![AISHA.to_owned()]);
    assert_eq!(ids("salim@example"), vec![SALIM.to_owned()]);

    // The index itself is sound.
    let conn = dukkan_device::store::connect_existing(device.path()).unwrap();
    conn.execute(
        "INSERT INTO customers_fts (customers_fts) VALUES ('integrity-check')",
        [],
    )
    .unwrap();
}

#[test]
fn the_upgraded_store_keeps_its_device_id_roster_and_pins_and_takes_new_writes() {
    let (_dir, path) = saved_store();
    let device = opened(&path);
    assert_eq!(device.device_id().to_string(), DEVICE_ID);

    // The roster came from the server with its PIN hashes; sign-in still needs it and works.
    assert!(device.staff_session().sign_in_required);
    assert!(device.search("Said", 5).is_err(), "nobody is signed in");
    let roster = device.staff_roster().unwrap();
    let mut names: Vec<(String, String, Role)> =
        roster.into_iter().map(|m| (m.id, m.name, m.role)).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            (MARIAM.to_owned(), "Mariam".to_owned(), Role::Manager),
            (KHALID.to_owned(), "خالد".to_owned(), Role::Cashier),
        ]
    );
    assert!(device.sign_in(KHALID, "0000").is_err());
    let khalid = device.sign_in(KHALID, CASHIER_PIN).unwrap();
    assert_eq!(khalid.role, Role::Cashier);

    // A new stub goes after the saved ops: the outbox numbering continues, never reuses.
    let zahra = match device
        .create_stub(&StubInput {
            first_name: "Zahra".into(),
            name2: Some("زهرة".into()),
            phone: "9777 8888".into(),
            ..Default::default()
        })
        .unwrap()
    {
        StubOutcome::Created(c) => c,
        StubOutcome::Existing(c) => panic!("already there: {}", c.id),
    };
    let outbox = device.outbox().unwrap();
    let last = outbox.last().unwrap();
    assert_eq!(
        (last.0, last.1.as_str(), last.2.clone()),
        (17, "customer_created", zahra.id.to_string())
    );
    assert_eq!(device.pending_ops().unwrap(), 12);
    assert_eq!(
        device
            .next_push_batch(200)
            .unwrap()
            .last()
            .unwrap()
            .device_seq,
        17
    );
    let hits = device.search("زهرة", 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].customer.id, zahra.id);
    let activity = device.customer_activity(zahra.id).unwrap();
    assert_eq!(activity.audit.len(), 1);
    assert_eq!(activity.audit[0].staff_id.as_deref(), Some(KHALID));
    assert_eq!(activity.audit[0].device_id, DEVICE_ID);

    // A saved phone is still known: the same number is found, not duplicated.
    match device
        .create_stub(&StubInput {
            first_name: "Said".into(),
            phone: "91234567".into(),
            ..Default::default()
        })
        .unwrap()
    {
        StubOutcome::Existing(c) => assert_eq!(c.id, id(SAID)),
        StubOutcome::Created(c) => panic!("duplicated a saved customer: {}", c.id),
    }
    // Edits of saved customers work and are queued after the new stub.
    let said = device
        .update_customer(
            id(SAID),
            &dukkan_device::CustomerChanges {
                email: Some("said@example.om".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(said.email.as_deref(), Some("said@example.om"));
    assert_eq!(device.outbox().unwrap().last().unwrap().0, 18);
    device.sign_out();
    device.sign_in(MARIAM, MANAGER_PIN).unwrap();
    device
        .set_default_address(SAID_HOME.parse().unwrap())
        .unwrap();
    assert_eq!(
        device
            .customer(id(SAID))
            .unwrap()
            .customer
            .default_address_id
            .as_deref(),
        Some(SAID_HOME)
    );
}

#[test]
fn upgrade_reasons_saved_in_the_old_dashed_codes_read_in_the_one_code_vocabulary() {
    let (_dir, path) = saved_store();
    // What a till of the previous version stored after the server said "wait" for a code.
    dukkan_device::store::connect_existing(&path)
        .unwrap()
        .execute(
            "UPDATE upgrade_requests SET error_code = 'otp-cooldown' WHERE customer_id = ?1",
            [HUDA],
        )
        .unwrap();
    let device = opened(&path);
    device.sign_in(MARIAM, MANAGER_PIN).unwrap();
    let huda = device.upgrade_request(id(HUDA)).unwrap().unwrap();
    assert_eq!(huda.error_code.as_deref(), Some("otp.cooldown"));
}
