//! TypeScript bindings of every type that crosses the IPC boundary, generated with ts-rs and
//! checked in under `ui/src/bindings/`. The test fails when the Rust types and the checked-in
//! files differ; `DUKKAN_UPDATE_BINDINGS=1 cargo test -p dukkan bindings` rewrites them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use ts_rs::{Config, TS};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings")
}

fn config() -> Config {
    // i64 counters (points, orders, minor units) stay far below 2^53: plain numbers in JS.
    Config::new().with_large_int("number")
}

/// `file name -> contents` of every binding.
fn generated() -> BTreeMap<String, String> {
    let cfg = config();
    let mut out = BTreeMap::new();
    macro_rules! export {
        ($($ty:ty),* $(,)?) => {$(
            let path = <$ty as TS>::output_path()
                .expect("an exportable type")
                .display()
                .to_string();
            let text = <$ty as TS>::export_to_string(&cfg).expect("binding");
            out.insert(path, text);
        )*};
    }
    use dukkan_core as core;
    use dukkan_device as device;
    export!(
        crate::CommandError,
        crate::ExportResult,
        core::error::Field,
        core::MessageArg,
        core::LocalizedMessage,
        core::i18n::Locale,
        core::CustomerId,
        core::AddressId,
        core::CustomerKind,
        core::CustomerNumber,
        core::Folding,
        core::NotificationChannel,
        core::Preferences,
        core::StubInput,
        core::FreeText,
        core::AddressType,
        core::CountryCode,
        core::GeoPoint,
        core::AddressInput,
        core::Address,
        device::SyncState,
        device::Customer,
        device::CustomerDetails,
        device::UpgradeRequest,
        core::sync::UpgradeState,
        device::StubOutcome,
        device::CustomerChanges,
        device::AddressRecord,
        device::ListQuery,
        device::Page,
        device::MatchKind,
        device::SearchHit,
        crate::EnrollmentInfo,
        device::KeyPlace,
        device::SyncStatus,
        device::engine::EngineStatus,
        device::ParkedOp,
        device::AddressDistance,
        device::AuditEntry,
        device::OpState,
        device::SyncEntry,
        device::CustomerActivity,
        core::sync::ServerAuditEntry,
        core::sync::ServerMergeEntry,
        core::sync::ServerHistory,
        core::staff::Role,
        device::StaffMember,
        device::StaffSession,
        crate::StartupProblem,
        core::OrderId,
        core::orders::OrderRecord,
        device::OrderInput,
        device::BackupInfo,
        core::MergeId,
        device::DuplicatePair,
        device::MergePreview,
        device::MergeEntry,
        device::UpdateFeed,
        device::UpdateFeedSource,
        crate::update::UpdateStatus,
        crate::update::UpdateState,
    );
    out
}

#[test]
fn checked_in_typescript_bindings_match_the_rust_types() {
    let generated = generated();
    let dir = dir();
    if std::env::var_os("DUKKAN_UPDATE_BINDINGS").is_some() {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("clear bindings dir");
        }
        std::fs::create_dir_all(&dir).expect("bindings dir");
        for (name, text) in &generated {
            std::fs::write(dir.join(name), text).expect("write binding");
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    on_disk.sort();
    let expected: Vec<String> = generated.keys().cloned().collect();
    assert_eq!(
        on_disk, expected,
        "ui/src/bindings is out of date: run DUKKAN_UPDATE_BINDINGS=1 cargo test -p dukkan bindings"
    );
    for (name, text) in &generated {
        let current = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            current == *text,
            "ui/src/bindings/{name} differs from the Rust type: run \
             DUKKAN_UPDATE_BINDINGS=1 cargo test -p dukkan bindings"
        );
    }
}
