//! Helpers shared by the device's integration tests.
#![allow(dead_code)]

use dukkan_core::StubInput;
use dukkan_device::{Device, StubOutcome};
use tempfile::TempDir;

/// The PIN tests give a standalone till's owner.
pub const OWNER_PIN: &str = "246810";

/// A device on a fresh SQLite file (kept while the `TempDir` lives), its owner signed in.
pub fn device() -> (TempDir, Device) {
    let dir = tempfile::tempdir().unwrap();
    let device = open(&dir.path().join("d.sqlite3"));
    (dir, device)
}

/// Opens the standalone till at `path` as its owner: sets the owner's PIN on a new till,
/// signs the owner in on one that has it (a restart signs everybody out).
pub fn open(path: &std::path::Path) -> Device {
    let device = Device::open(path).unwrap();
    owner(&device);
    device
}

/// Signs the owner of standalone till `d` in, setting their PIN first if it has none.
pub fn owner(d: &Device) -> dukkan_device::StaffMember {
    if d.staff_session().owner_pin_required {
        return d.set_owner_pin_cheaply("Owner", OWNER_PIN).unwrap();
    }
    let roster = d.staff_roster().unwrap();
    let owner = roster
        .iter()
        .find(|m| m.name == "Owner")
        .expect("the till's owner");
    d.sign_in(&owner.id, OWNER_PIN).unwrap()
}

/// A new stub on `d` (panics if the phone is taken).
pub fn stub(d: &Device, first: &str, phone: &str) -> dukkan_device::Customer {
    match d
        .create_stub(&StubInput {
            first_name: first.into(),
            phone: phone.into(),
            ..Default::default()
        })
        .unwrap()
    {
        StubOutcome::Created(c) => c,
        StubOutcome::Existing(_) => panic!("exists"),
    }
}

/// An argon2id PHC hash of `pin`, with small parameters so tests stay fast (a device verifies
/// with the parameters the hash names, as it does with the server's).
pub fn pin_hash(pin: &str) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let params = argon2::Params::new(1024, 1, 1, None).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(pin.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string()
}

/// A roster member with a fresh id.
pub fn member(
    name: &str,
    role: dukkan_core::staff::Role,
    pin: &str,
) -> dukkan_core::staff::RosterMember {
    dukkan_core::staff::RosterMember {
        id: uuid::Uuid::now_v7(),
        name: name.into(),
        role,
        pin_hash: pin_hash(pin),
    }
}

/// Gives `d` a roster of one staff member with `role` (PIN 2468) and signs them in.
pub fn signed_in(d: &Device, role: dukkan_core::staff::Role) -> dukkan_device::StaffMember {
    let m = member("Aisha", role, "2468");
    d.replace_roster(
        &dukkan_core::staff::Roster {
            staff: vec![m.clone()],
            ..Default::default()
        },
        None,
    )
    .unwrap();
    d.sign_in(&m.id.to_string(), "2468").unwrap()
}

/// The server's copy of `c` as a pull brings it: number `number`, these orders and points.
pub fn snapshot_of(
    c: &dukkan_device::Customer,
    number: u32,
    orders: Vec<dukkan_core::orders::OrderRecord>,
    points: i64,
) -> dukkan_core::sync::CustomerSnapshot {
    dukkan_core::sync::CustomerSnapshot {
        id: c.id,
        customer_number: Some(dukkan_core::CustomerNumber::new(number).unwrap()),
        kind: c.kind,
        first_name: c.first_name.clone(),
        last_name: None,
        name2: None,
        phone: c.phone.clone(),
        email: None,
        phone_verified: false,
        preferences: None,
        loyalty_points: points,
        order_count: orders.len() as i64,
        total_spent_minor: orders.iter().map(|o| o.amount_baisa).sum(),
        last_order_at: orders.first().map(|o| o.created_at.clone()),
        recent_orders: orders,
        active: true,
        retired: false,
        merged_into: None,
        default_address_id: None,
        addresses: vec![],
        upgrade_state: None,
        resend_after: None,
        code_expires_at: None,
        upgrade_error: None,
        created_at: c.created_at.clone(),
        updated_at: "2026-12-06T10:00:00.000Z".into(),
    }
}

/// Applies one pulled page of `snapshots`, numbered from `seq`.
pub fn pull(d: &Device, seq: i64, snapshots: Vec<dukkan_core::sync::CustomerSnapshot>) {
    d.apply_pull(&dukkan_core::sync::PullResponse {
        changes: snapshots
            .into_iter()
            .enumerate()
            .map(|(i, customer)| dukkan_core::sync::Change {
                seq: seq + i as i64,
                customer,
            })
            .collect(),
        cursor: seq,
        more: false,
    })
    .unwrap();
}
