//! The device store against real SQLite files in temp directories.

#![allow(clippy::unwrap_used)]

mod common;

use common::device;
use dukkan_core::{
    AddressInput, CustomerKind, Folding, NotificationChannel, Preferences, StubInput,
};
use dukkan_device::{CustomerChanges, Device, DeviceError, StubOutcome};

fn stub(first: &str, phone: &str) -> StubInput {
    StubInput {
        first_name: first.into(),
        phone: phone.into(),
        ..Default::default()
    }
}

fn created(outcome: StubOutcome) -> dukkan_device::Customer {
    match outcome {
        StubOutcome::Created(c) => c,
        StubOutcome::Existing(c) => panic!("expected a new customer, got existing {}", c.id),
    }
}

fn count(device: &Device, table: &str) -> i64 {
    let conn = dukkan_device::store::connect_existing(device.path()).unwrap();
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_new_store_is_migrated_to_the_latest_schema_with_durable_pragmas() {
    let (_dir, device) = device();
    let conn = dukkan_device::store::connect_existing(device.path()).unwrap();
    assert_eq!(
        dukkan_device::store::applied_schema_version(&conn).unwrap(),
        dukkan_device::store::latest_schema_version()
    );
    dukkan_device::store::configure(&conn).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
}

#[test]
fn reopening_a_store_keeps_its_data_and_device_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite3");
    let (id, device_id) = {
        let d = common::open(&path);
        (d.create_guest().unwrap().id, d.device_id())
    };
    let d = common::open(&path);
    assert_eq!(d.device_id(), device_id);
    assert_eq!(d.customer(id).unwrap().customer.kind, CustomerKind::Guest);
}

#[test]
fn a_database_written_by_a_newer_version_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite3");
    drop(Device::open(&path).unwrap());
    {
        let conn = dukkan_device::store::connect_existing(&path).unwrap();
        conn.execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (999, 'future', '2030-01-01', '0')",
            [],
        )
        .unwrap();
    }
    match Device::open(&path) {
        Err(DeviceError::DatabaseTooNew {
            found: 999,
            supported,
        }) => {
            assert_eq!(supported, dukkan_device::store::latest_schema_version())
        }
        other => panic!("expected DatabaseTooNew, got {:?}", other.map(|_| ())),
    }
    let conn = dukkan_device::store::connect_existing(&path).unwrap();
    let max: i64 = conn
        .query_row(
            "SELECT MAX(version) FROM refinery_schema_history",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(max, 999);
}

#[test]
fn a_guest_is_created_with_its_outbox_op_and_audit_entry() {
    let (_dir, device) = device();
    let guest = device.create_guest().unwrap();
    assert_eq!(guest.kind, CustomerKind::Guest);
    assert_eq!(guest.first_name, None);
    assert_eq!(
        guest.customer_number, None,
        "the number stays pending until the server assigns it"
    );
    let outbox = device.outbox().unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].1, "customer_created");
    assert_eq!(outbox[0].2, guest.id.to_string());
    assert_eq!(count(&device, "audit_log"), 1);
}

#[test]
fn a_stub_stores_the_phone_in_e164_and_queues_its_create() {
    let (_dir, device) = device();
    let staff = common::signed_in(&device, dukkan_core::staff::Role::Cashier);
    let input = StubInput {
        first_name: "  Ahmed ".into(),
        last_name: Some("Al-Said".into()),
        name2: Some("أحمد السعيدي".into()),
        phone: "٩٢١٢ ٣٤٥٦".into(),
    };
    let c = created(device.create_stub(&input).unwrap());
    assert_eq!(c.phone.as_deref(), Some("+96892123456"));
    assert_eq!(c.first_name.as_deref(), Some("Ahmed"));
    assert_eq!(c.kind, CustomerKind::Stub);
    let (_, kind, _, payload) = &device.outbox().unwrap()[0];
    assert_eq!(kind, "customer_created");
    let payload: serde_json::Value = serde_json::from_str(payload).unwrap();
    assert_eq!(payload["phone"], "+96892123456");
    assert_eq!(payload["name2"], "أحمد السعيدي");
    let conn = dukkan_device::store::connect_existing(device.path()).unwrap();
    let recorded: String = conn
        .query_row("SELECT staff_id FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(recorded, staff.id, "the op names who created it");
}

#[test]
fn a_stub_with_a_phone_already_in_use_returns_the_existing_customer_and_writes_nothing() {
    let (_dir, device) = device();
    let first = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    for notation in ["+968 9212 3456", "0096892123456", "٩٢١٢٣٤٥٦"] {
        match device.create_stub(&stub("Someone", notation)).unwrap() {
            StubOutcome::Existing(c) => assert_eq!(c.id, first.id),
            StubOutcome::Created(_) => panic!("duplicate created for {notation}"),
        }
    }
    assert_eq!(count(&device, "customers"), 1);
    assert_eq!(count(&device, "outbox"), 1);
}

#[test]
fn a_deactivated_customers_phone_can_be_used_by_a_new_stub() {
    let (_dir, device) = device();
    let first = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    device.deactivate_customer(first.id).unwrap();
    let second = created(device.create_stub(&stub("Salim", "92123456")).unwrap());
    assert_ne!(first.id, second.id);
}

#[test]
fn hostile_stub_input_is_refused_with_a_code_and_nothing_is_written() {
    let (_dir, device) = device();
    let long = "x".repeat(10_000);
    let cases: Vec<(StubInput, &str)> = vec![
        (stub("", "92123456"), "validation.required"),
        (stub("   ", "92123456"), "validation.required"),
        (stub(&long, "92123456"), "validation.too-long"),
        (
            stub("Ah\u{0000}med", "92123456"),
            "validation.control-character",
        ),
        (
            stub("Ah\u{001B}[31mmed", "92123456"),
            "validation.control-character",
        ),
        (
            stub("Ahmed\u{202E}dias", "92123456"),
            "validation.bidi-control",
        ),
        (stub("Ahmed\u{2066}", "92123456"), "validation.bidi-control"),
        (stub("Ahmed", "+968 1234 5678"), "validation.invalid-phone"),
        (stub("Ahmed", ""), "validation.required"),
        (stub("Ahmed", &long), "validation.invalid-phone"),
        (
            stub("Ahmed", "'; DROP TABLE customers; --"),
            "validation.invalid-phone",
        ),
        (
            StubInput {
                name2: Some("ب".repeat(101)),
                ..stub("Ahmed", "92123456")
            },
            "validation.too-long",
        ),
        (
            StubInput {
                last_name: Some("Al\u{202D}Said".into()),
                ..stub("Ahmed", "92123456")
            },
            "validation.bidi-control",
        ),
    ];
    for (input, code) in cases {
        let err = device.create_stub(&input).expect_err("must be refused");
        assert_eq!(err.code(), code, "{input:?}");
        let msg = err.message();
        for locale in dukkan_core::i18n::Locale::ALL {
            assert!(
                dukkan_core::i18n::Localizer::global().has(locale, &msg.id),
                "{} has no text",
                msg.id
            );
        }
    }
    assert_eq!(count(&device, "customers"), 0);
    assert_eq!(count(&device, "outbox"), 0);
    assert_eq!(count(&device, "audit_log"), 0);
}

#[test]
fn the_row_and_its_outbox_op_commit_together_or_not_at_all() {
    let (_dir, device) = device();
    // Make the outbox insert fail from outside, as a full disk or a bug would.
    let conn = dukkan_device::store::connect_existing(device.path()).unwrap();
    conn.execute_batch("CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'injected'); END;")
        .unwrap();
    let err = device.create_stub(&stub("Ahmed", "92123456")).unwrap_err();
    assert_eq!(err.code(), "storage.failed");
    assert!(device.create_guest().is_err());
    assert_eq!(
        count(&device, "customers"),
        0,
        "no customer row without its outbox op"
    );
    assert_eq!(count(&device, "customers_fts"), 0);
    conn.execute_batch("DROP TRIGGER fail_outbox;").unwrap();
    created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    assert_eq!(
        (count(&device, "customers"), count(&device, "outbox")),
        (1, 1)
    );
}

#[test]
fn an_update_queues_only_the_fields_that_changed() {
    let (_dir, device) = device();
    let c = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    let changes = CustomerChanges {
        first_name: Some("Ahmed".into()), // unchanged
        last_name: Some("Al Balushi".into()),
        name2: Some("".into()), // already empty: unchanged
        ..Default::default()
    };
    let after = device.update_customer(c.id, &changes).unwrap();
    assert_eq!(after.last_name.as_deref(), Some("Al Balushi"));
    let outbox = device.outbox().unwrap();
    assert_eq!(outbox.len(), 2);
    let payload: serde_json::Value = serde_json::from_str(&outbox[1].3).unwrap();
    assert_eq!(
        payload,
        serde_json::json!({"id": c.id.to_string(), "lastName": "Al Balushi"})
    );
    // Nothing changed at all: no op.
    device.update_customer(c.id, &changes).unwrap();
    assert_eq!(device.outbox().unwrap().len(), 2);
}

#[test]
fn a_guest_given_a_name_and_phone_becomes_a_stub() {
    let (_dir, device) = device();
    let g = device.create_guest().unwrap();
    let only_name = CustomerChanges {
        first_name: Some("Salim".into()),
        ..Default::default()
    };
    assert_eq!(
        device.update_customer(g.id, &only_name).unwrap_err().code(),
        "validation.required"
    );
    let both = CustomerChanges {
        first_name: Some("Salim".into()),
        phone: Some("92123456".into()),
        ..Default::default()
    };
    let c = device.update_customer(g.id, &both).unwrap();
    assert_eq!(c.kind, CustomerKind::Stub);
    assert_eq!(device.search("3456", 10).unwrap().len(), 1);
}

#[test]
fn updates_refuse_a_phone_another_active_customer_has_and_unknown_or_inactive_ids() {
    let (_dir, device) = device();
    let a = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    let b = created(device.create_stub(&stub("Salim", "92123457")).unwrap());
    let steal = CustomerChanges {
        phone: Some("92123456".into()),
        ..Default::default()
    };
    match device.update_customer(b.id, &steal) {
        Err(DeviceError::Refused(dukkan_core::rules::Refusal::PhoneTaken { existing, .. })) => {
            assert_eq!(existing, Some(a.id))
        }
        other => panic!("{other:?}"),
    }
    let unknown = dukkan_core::CustomerId::new();
    assert_eq!(
        device.update_customer(unknown, &steal).unwrap_err().code(),
        "customer.not-found"
    );
    device.deactivate_customer(a.id).unwrap();
    let rename = CustomerChanges {
        first_name: Some("X".into()),
        ..Default::default()
    };
    assert_eq!(
        device.update_customer(a.id, &rename).unwrap_err().code(),
        "customer.inactive"
    );
    assert_eq!(count(&device, "outbox"), 3);
}

#[test]
fn deactivation_is_a_soft_delete_that_is_queued_once() {
    let (_dir, device) = device();
    let a = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    assert!(!device.deactivate_customer(a.id).unwrap().active);
    assert!(!device.deactivate_customer(a.id).unwrap().active);
    assert_eq!(count(&device, "customers"), 1);
    let kinds: Vec<String> = device.outbox().unwrap().into_iter().map(|o| o.1).collect();
    assert_eq!(kinds, vec!["customer_created", "customer_deactivated"]);
    assert!(
        device.search("Ahmed", 10).unwrap().is_empty(),
        "inactive customers are not offered at the counter"
    );
}

fn area(a: &str) -> AddressInput {
    AddressInput {
        area: Some(a.into()),
        ..Default::default()
    }
}

#[test]
fn the_first_address_is_the_default_and_setting_another_moves_it() {
    let (_dir, device) = device();
    let c = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    let home = device.add_address(c.id, &area("Al Khuwair")).unwrap();
    let work = device.add_address(c.id, &area("Ruwi")).unwrap();
    assert!(home.is_default && !work.is_default);
    assert!(device.set_default_address(work.id).unwrap().is_default);
    let details = device.customer(c.id).unwrap();
    let defaults: Vec<_> = details
        .addresses
        .iter()
        .filter(|a| a.is_default)
        .map(|a| a.id)
        .collect();
    assert_eq!(defaults, vec![work.id]);
    assert_eq!(details.addresses[0].id, work.id, "default first");
}

#[test]
fn deleting_the_default_address_promotes_the_newest_remaining_one() {
    let (_dir, device) = device();
    let c = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    let a = device.add_address(c.id, &area("A")).unwrap();
    let _b = device.add_address(c.id, &area("B")).unwrap();
    let c3 = device.add_address(c.id, &area("C")).unwrap();
    device.delete_address(a.id).unwrap();
    let details = device.customer(c.id).unwrap();
    assert_eq!(details.customer.default_address_id, Some(c3.id.to_string()));
    for x in details.addresses.clone() {
        device.delete_address(x.id).unwrap();
    }
    assert_eq!(
        device.customer(c.id).unwrap().customer.default_address_id,
        None
    );
}

#[test]
fn the_database_itself_refuses_to_leave_a_customer_without_a_default_or_with_a_foreign_one() {
    let (_dir, device) = device();
    let a = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    let b = created(device.create_stub(&stub("Salim", "92123457")).unwrap());
    device.add_address(a.id, &area("A")).unwrap();
    let b_addr = device.add_address(b.id, &area("B")).unwrap();
    let conn = dukkan_device::store::connect_existing(device.path()).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    let cleared = conn.execute(
        "UPDATE customers SET default_address_id = NULL WHERE id = ?1",
        [a.id.to_string()],
    );
    assert!(
        cleared.is_err(),
        "clearing the default while addresses remain must fail"
    );
    let foreign = conn.execute_batch(&format!(
        "BEGIN; UPDATE customers SET default_address_id = '{}' WHERE id = '{}'; COMMIT;",
        b_addr.id, a.id
    ));
    assert!(
        foreign.is_err(),
        "another customer's address cannot be the default"
    );
}

#[test]
fn hostile_addresses_are_refused_and_nothing_is_written() {
    let (_dir, device) = device();
    let c = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    let before = count(&device, "outbox");
    let cases = [
        (
            AddressInput {
                latitude: Some(91.0),
                longitude: Some(58.0),
                ..area("A")
            },
            "validation.out-of-range",
        ),
        (
            AddressInput {
                latitude: Some(23.0),
                longitude: Some(-181.0),
                ..area("A")
            },
            "validation.out-of-range",
        ),
        (
            AddressInput {
                latitude: Some(23.0),
                ..area("A")
            },
            "validation.incomplete-gps",
        ),
        (
            AddressInput {
                street: Some("s".repeat(10_000)),
                ..area("A")
            },
            "validation.too-long",
        ),
        (
            AddressInput {
                delivery_notes: Some("ring\u{202E}bell".into()),
                ..area("A")
            },
            "validation.bidi-control",
        ),
        (
            AddressInput {
                country: Some("ZZ".into()),
                ..area("A")
            },
            "validation.invalid-country",
        ),
        (AddressInput::default(), "validation.required"),
    ];
    for (input, code) in cases {
        assert_eq!(
            device.add_address(c.id, &input).unwrap_err().code(),
            code,
            "{input:?}"
        );
    }
    assert_eq!(
        device
            .add_address(dukkan_core::CustomerId::new(), &area("A"))
            .unwrap_err()
            .code(),
        "customer.not-found"
    );
    assert_eq!(
        device
            .set_default_address(dukkan_core::AddressId::new())
            .unwrap_err()
            .code(),
        "address.not-found"
    );
    assert_eq!(count(&device, "addresses"), 0);
    assert_eq!(count(&device, "outbox"), before);
}

#[test]
fn address_distance_from_the_store_uses_gps() {
    let (_dir, device) = device();
    let c = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    let a = device
        .add_address(
            c.id,
            &AddressInput {
                latitude: Some(23.5880),
                longitude: Some(58.3829),
                ..Default::default()
            },
        )
        .unwrap();
    let store = dukkan_core::GeoPoint::new(23.6, 58.4).unwrap();
    let d = a.distance_km(&store).unwrap();
    assert!(d > 1.0 && d < 3.0, "{d}");
}

fn prefs() -> Preferences {
    Preferences::new(
        Some(Folding::Hang),
        Some("lavender"),
        true,
        &[NotificationChannel::Whatsapp],
    )
    .unwrap()
}

#[test]
fn an_upgrade_request_is_recorded_and_queued_offline() {
    let (_dir, device) = device();
    let c = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    let req = device
        .request_upgrade(c.id, "ahmed@example.om", &prefs(), None)
        .unwrap();
    assert_eq!(req.state, dukkan_core::sync::UpgradeState::Queued);
    assert!(req.waiting_for_sync, "a new request waits in the outbox");
    let details = device.customer(c.id).unwrap();
    assert_eq!(
        details.upgrade.map(|u| u.state),
        Some(dukkan_core::sync::UpgradeState::Queued)
    );
    assert_eq!(
        details.customer.kind,
        CustomerKind::Stub,
        "only the server makes a customer full"
    );
    let (_, kind, _, payload) = device.outbox().unwrap().pop().unwrap();
    assert_eq!(kind, "upgrade_requested");
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["email"], "ahmed@example.om");
    assert_eq!(payload["preferences"]["folding"], "hang");
    assert_eq!(
        device
            .request_upgrade(c.id, "ahmed@example.om", &prefs(), None)
            .unwrap_err()
            .code(),
        "customer.upgrade-already-requested"
    );
}

#[test]
fn upgrades_are_refused_for_guests_bad_emails_and_unknown_customers() {
    let (_dir, device) = device();
    let g = device.create_guest().unwrap();
    assert_eq!(
        device
            .request_upgrade(g.id, "a@example.om", &prefs(), None)
            .unwrap_err()
            .code(),
        "customer.guest-cannot-upgrade"
    );
    let c = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    assert_eq!(
        device
            .request_upgrade(c.id, "not-an-email", &prefs(), None)
            .unwrap_err()
            .code(),
        "validation.invalid-email"
    );
    assert_eq!(
        device
            .request_upgrade(c.id, "", &prefs(), None)
            .unwrap_err()
            .code(),
        "validation.required"
    );
    assert_eq!(
        device
            .request_upgrade(
                dukkan_core::CustomerId::new(),
                "a@example.om",
                &prefs(),
                None
            )
            .unwrap_err()
            .code(),
        "customer.not-found"
    );
    assert_eq!(count(&device, "upgrade_requests"), 0);
}

/// Child half of the crash test: create, report the id, then die without any cleanup.
#[test]
fn crash_child_creates_then_aborts() {
    let Ok(path) = std::env::var("DUKKAN_CRASH_DB") else {
        return;
    };
    let device = common::open(std::path::Path::new(&path));
    let c = created(device.create_stub(&stub("Crash", "92123456")).unwrap());
    println!("CREATED {}", c.id);
    std::process::abort();
}

#[test]
fn an_acknowledged_create_survives_the_app_being_killed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.sqlite3");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_creates_then_aborts",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DUKKAN_CRASH_DB", &path)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the child must have died");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id: dukkan_core::CustomerId = stdout
        .lines()
        .find_map(|l| l.split_once("CREATED ").map(|(_, id)| id))
        .unwrap_or_else(|| {
            panic!(
                "child did not report: {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .trim()
        .parse()
        .unwrap();
    let device = common::open(&path);
    assert_eq!(
        device.customer(id).unwrap().customer.first_name.as_deref(),
        Some("Crash")
    );
    assert_eq!(device.pending_ops().unwrap(), 1);
}

#[test]
fn an_import_skips_phones_already_in_use_and_writes_nothing_when_a_row_is_invalid() {
    let (_dir, device) = device();
    created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    let rows = vec![
        stub("A", "92123457"),
        stub("Dup", "+968 9212 3456"),
        stub("B", "92123458"),
        stub("Again", "92123457"),
    ];
    assert_eq!(device.import_stubs(&rows).unwrap(), 2);
    assert_eq!(count(&device, "customers"), 3);
    assert_eq!(count(&device, "outbox"), 3);
    let bad = vec![stub("C", "92123459"), stub("", "92123460")];
    let (index, err) = device.import_stubs(&bad).unwrap_err();
    assert_eq!((index, err.code()), (1, "validation.required"));
    assert_eq!(
        count(&device, "customers"),
        3,
        "an invalid row writes nothing"
    );
}

#[test]
fn preferences_arriving_as_json_are_validated_before_an_update() {
    let (_dir, device) = device();
    let c = created(device.create_stub(&stub("Ahmed", "92123456")).unwrap());
    // The UI sends JSON; deserialising alone does not check the fragrance.
    let prefs: Preferences = serde_json::from_value(serde_json::json!({
        "folding": "hang", "fragrance": "x".repeat(10_000), "ecoFriendly": true, "channels": []
    }))
    .unwrap();
    let changes = CustomerChanges {
        preferences: Some(prefs),
        ..Default::default()
    };
    assert_eq!(
        device.update_customer(c.id, &changes).unwrap_err().code(),
        "validation.too-long"
    );
    assert_eq!(count(&device, "outbox"), 1, "only the create");
}

#[cfg(unix)]
#[test]
fn the_store_and_its_journal_files_are_readable_by_the_os_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite3");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    {
        let d = common::open(&path);
        d.create_guest().unwrap();
        assert_eq!(mode(&path), 0o600);
        let wal = dir.path().join("d.sqlite3-wal");
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600);
        }
    }
    // A store made by an earlier version with the default umask is narrowed when opened.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(dukkan_device::Device::open(&path).unwrap());
    assert_eq!(mode(&path), 0o600);
}
