//! Helpers shared by the device's integration tests.
#![allow(dead_code)]

use dukkan_core::StubInput;
use dukkan_device::{Device, StubOutcome};
use tempfile::TempDir;

/// A device on a fresh SQLite file (kept while the `TempDir` lives).
pub fn device() -> (TempDir, Device) {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::open(dir.path().join("d.sqlite3")).unwrap();
    (dir, device)
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
        },
        None,
    )
    .unwrap();
    d.sign_in(&m.id.to_string(), "2468").unwrap()
}
