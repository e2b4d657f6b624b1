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
