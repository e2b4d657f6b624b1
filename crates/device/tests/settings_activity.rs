//! Device settings (the store's location and the distances measured from it) and a customer's
//! activity history, on real SQLite files.

#![allow(clippy::unwrap_used)]

mod common;

use common::{device, stub};
use dukkan_core::sync::{OpOutcome, OpResult};
use dukkan_core::{AddressInput, Field, ValidationError};
use dukkan_device::{CustomerChanges, DeviceError, OpState};

fn gps_address(lat: f64, lon: f64) -> AddressInput {
    AddressInput {
        area: Some("Qurum".into()),
        latitude: Some(lat),
        longitude: Some(lon),
        ..Default::default()
    }
}

fn validation(e: DeviceError) -> ValidationError {
    match e {
        DeviceError::Validation(v) => v,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn the_store_location_is_saved_on_the_device_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite3");
    {
        let d = common::open(&path);
        assert_eq!(d.store_location().unwrap(), None);
        let p = d.set_store_location("٢٣٫٥٨٨٠", "58.3829").unwrap();
        assert_eq!((p.latitude(), p.longitude()), (23.588, 58.3829));
    }
    let d = common::open(&path);
    let p = d.store_location().unwrap().unwrap();
    assert_eq!((p.latitude(), p.longitude()), (23.588, 58.3829));
    d.clear_store_location().unwrap();
    assert_eq!(d.store_location().unwrap(), None);
}

#[test]
fn hostile_store_locations_are_refused_and_keep_the_previous_one() {
    let (_dir, d) = device();
    d.set_store_location("23.588", "58.3829").unwrap();
    let huge = "1".repeat(10_000);
    let cases: [(&str, &str, ValidationError); 8] = [
        ("90.0001", "0", ValidationError::OutOfRange(Field::Latitude)),
        ("-91", "0", ValidationError::OutOfRange(Field::Latitude)),
        ("0", "180.5", ValidationError::OutOfRange(Field::Longitude)),
        ("NaN", "0", ValidationError::NotANumber(Field::Latitude)),
        ("0", "inf", ValidationError::NotANumber(Field::Longitude)),
        ("0", "58,38", ValidationError::NotANumber(Field::Longitude)),
        (&huge, "0", ValidationError::NotANumber(Field::Latitude)),
        ("", "58", ValidationError::Required(Field::Latitude)),
    ];
    for (lat, lon, expected) in cases {
        let err = validation(d.set_store_location(lat, lon).unwrap_err());
        assert_eq!(err, expected, "{} / {lon}", &lat[..lat.len().min(12)]);
    }
    let p = d.store_location().unwrap().unwrap();
    assert_eq!((p.latitude(), p.longitude()), (23.588, 58.3829));
}

#[test]
fn a_hand_edited_store_location_that_is_not_a_valid_point_reads_as_not_set() {
    let (_dir, d) = device();
    let conn = dukkan_device::store::connect_existing(d.path()).unwrap();
    for bad in [
        r#"{"latitude": 123, "longitude": 0}"#,
        "not json",
        &"x".repeat(10_000),
    ] {
        conn.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES ('store_location', ?1)",
            [bad],
        )
        .unwrap();
        assert_eq!(d.store_location().unwrap(), None);
    }
}

#[test]
fn distances_are_measured_from_the_store_to_each_address_with_gps() {
    let (_dir, d) = device();
    let c = stub(&d, "Ahmed", "92123456");
    let near = d.add_address(c.id, &gps_address(23.5880, 58.3929)).unwrap();
    let far = d.add_address(c.id, &gps_address(17.0151, 54.0924)).unwrap();
    d.add_address(
        c.id,
        &AddressInput {
            area: Some("No GPS".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        d.address_distances(c.id).unwrap().is_empty(),
        "no store location, no distances"
    );

    d.set_store_location("23.5880", "58.3829").unwrap();
    let distances = d.address_distances(c.id).unwrap();
    assert_eq!(distances.len(), 2, "only addresses with GPS");
    let km = |id: &dukkan_core::AddressId| {
        distances
            .iter()
            .find(|x| x.address_id == id.to_string())
            .unwrap()
            .km
    };
    // 0.01° of longitude at 23.6° N is about 1.02 km; Muscat to Salalah about 860 km.
    assert!((km(&near.id) - 1.019).abs() < 0.01, "{}", km(&near.id));
    assert!((km(&far.id) - 860.0).abs() < 15.0, "{}", km(&far.id));
}

#[test]
fn activity_lists_audit_entries_newest_first_with_field_names_and_never_values() {
    let (_dir, d) = device();
    let staff = common::signed_in(&d, dukkan_core::staff::Role::Cashier);
    let c = stub(&d, "Ahmed", "92123456");
    d.update_customer(
        c.id,
        &CustomerChanges {
            email: Some("secret@example.om".into()),
            ..Default::default()
        },
    )
    .unwrap();
    d.add_address(c.id, &gps_address(23.6, 58.4)).unwrap();
    let other = stub(&d, "Other", "92999999");

    let activity = d.customer_activity(c.id).unwrap();
    let actions: Vec<&str> = activity.audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        vec!["address_added", "customer_updated", "customer_created"]
    );
    let update = &activity.audit[1];
    assert_eq!(update.fields, vec!["email".to_owned()]);
    assert_eq!(update.staff_id.as_deref(), Some(staff.id.as_str()));
    assert_eq!(
        update.staff_name.as_deref(),
        Some(staff.name.as_str()),
        "named"
    );
    assert_eq!(update.device_id, d.device_id().to_string());
    let json = serde_json::to_string(&activity).unwrap();
    assert!(!json.contains("secret@example.om") && !json.contains("92123456"));
    assert!(!json.contains(&other.id.to_string()), "only this customer");
    assert!(activity.audit.windows(2).all(|w| w[0].at >= w[1].at));
}

#[test]
fn sync_history_shows_pending_parked_and_acknowledged_ops_newest_first() {
    let (_dir, d) = device();
    let c = stub(&d, "Ahmed", "92123456");
    d.update_customer(
        c.id,
        &CustomerChanges {
            last_name: Some("Said".into()),
            ..Default::default()
        },
    )
    .unwrap();
    // The server applies the create and refuses the update.
    let batch = d.next_push_batch(10).unwrap();
    let results: Vec<OpResult> = batch
        .iter()
        .map(|op| OpResult {
            op_id: op.op_id,
            device_seq: op.device_seq,
            outcome: if op.device_seq == 1 {
                OpOutcome::Applied
            } else {
                OpOutcome::Rejected {
                    code: "customer.phone-taken".into(),
                }
            },
        })
        .collect();
    d.apply_push_results(&results).unwrap();
    d.add_address(c.id, &gps_address(23.6, 58.4)).unwrap();

    let sync = d.customer_activity(c.id).unwrap().sync;
    let states: Vec<(OpState, &str)> = sync.iter().map(|s| (s.state, s.kind.as_str())).collect();
    assert_eq!(
        states,
        vec![
            (OpState::Pending, "address_added"),
            (OpState::Parked, "customer_updated"),
            (OpState::Acknowledged, "customer_created"),
        ]
    );
    assert_eq!(sync[1].error_code.as_deref(), Some("customer.phone-taken"));
    assert_eq!(sync[1].attempts, 1);
    assert_eq!(sync[2].device_seq, None);

    // Retrying requeues the parked op: it is pending again, not acknowledged.
    d.retry_parked(sync[1].device_seq.unwrap()).unwrap();
    let sync = d.customer_activity(c.id).unwrap().sync;
    assert_eq!(
        sync.iter().filter(|s| s.state == OpState::Pending).count(),
        2
    );
}

#[test]
fn activity_of_an_unknown_customer_is_empty_and_hostile_text_in_the_log_is_returned_as_text() {
    let (_dir, d) = device();
    let nobody = dukkan_core::CustomerId::new();
    assert_eq!(d.customer_activity(nobody).unwrap(), Default::default());
    let c = stub(&d, "Ahmed", "92123456");
    let conn = dukkan_device::store::connect_existing(d.path()).unwrap();
    conn.execute(
        "INSERT INTO audit_log (at, device_id, entity, entity_id, customer_id, action, fields)
         VALUES ('2099-01-01T00:00:00.000Z', 'other-device', 'customer', ?1, ?1, ?2, 'not json')",
        rusqlite::params![c.id.to_string(), "<script>".repeat(2_000)],
    )
    .unwrap();
    let activity = d.customer_activity(c.id).unwrap();
    assert_eq!(activity.audit.len(), 2);
    assert_eq!(activity.audit[0].action.len(), 16_000);
    assert!(
        activity.audit[0].fields.is_empty(),
        "unreadable fields list"
    );
    assert_eq!(
        activity.sync.len(),
        1,
        "another device's entry is not this till's op"
    );
}

#[test]
fn the_servers_history_is_read_for_a_manager_of_an_enrolled_till_only() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_dir, d) = device();
    let c = stub(&d, "Ahmed", "92123456");
    // A cashier is refused before anything is asked of the server.
    common::signed_in(&d, dukkan_core::staff::Role::Cashier);
    let refused = rt
        .block_on(dukkan_device::engine::server_history(&d, c.id))
        .unwrap_err();
    assert_eq!(refused.code(), "auth.forbidden");
    // A manager of a till with no server: nothing to ask.
    common::signed_in(&d, dukkan_core::staff::Role::Manager);
    let alone = rt
        .block_on(dukkan_device::engine::server_history(&d, c.id))
        .unwrap_err();
    assert_eq!(alone.code(), "device.not-enrolled");
}
