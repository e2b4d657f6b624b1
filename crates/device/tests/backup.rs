//! A manager backs a till up to a `.dukkan-backup` file sealed with a passphrase, while the app
//! works, and restores it onto the same PC or a new one (another data folder, another place for
//! the store's key). Real SQLCipher files; under `scripts/test.sh` a real Secret Service.

#![allow(clippy::unwrap_used)]

mod common;

use dukkan_core::i18n::{Locale, Localizer};
use dukkan_core::staff::Role;
use dukkan_device::backup::{before_restore_file, restore_file, BACKUP_EXTENSION};
use dukkan_device::store_key::KeyStorage;
use dukkan_device::{Device, DeviceError, OrderInput};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

const PASSPHRASE: &str = "sand dunes at dawn 42";

fn backup_path(dir: &Path) -> PathBuf {
    dir.join(format!("till.{BACKUP_EXTENSION}"))
}

/// The backup at `path` opened as a plain SQLCipher database with `key` as its passphrase.
fn open_backup(path: &Path, key: &str) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    conn.execute_batch(&format!("PRAGMA key = '{}';", key.replace('\'', "''")))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(conn)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn english(e: &DeviceError) -> String {
    Localizer::global().format_message(Locale::En, &e.message())
}

/// Every file in `dir`, by name.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn order(amount: &str) -> OrderInput {
    OrderInput {
        ticket: None,
        amount: amount.into(),
        pieces: "3".into(),
        note: None,
    }
}

fn enroll(d: &Device) {
    d.save_enrollment(
        "https://shop.example.om",
        &dukkan_core::sync::Enrollment {
            tenant_id: uuid::Uuid::now_v7(),
            device_id: d.device_id(),
            device_token: "the-device-token".into(),
        },
    )
    .unwrap();
}

#[test]
fn a_backup_taken_while_the_till_writes_holds_one_moment_of_it() {
    let (dir, d) = common::device();
    let d = Arc::new(d);
    for i in 0..300 {
        common::stub(&d, "Salim", &format!("9100{i:04}"));
    }
    // The cashier keeps saving customers (each one its row, its outbox op and its audit entry
    // in one transaction) on the app's connection while backups are taken on their own.
    let stop = Arc::new(AtomicBool::new(false));
    let saved = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (d, stop, saved) = (d.clone(), stop.clone(), saved.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                common::stub(&d, "Badr", &format!("93{n:06}"));
                n += 1;
                saved.store(n, Ordering::Relaxed);
            }
        })
    };
    while saved.load(Ordering::Relaxed) == 0 {
        std::thread::yield_now();
    }
    let mut seen = Vec::new();
    let mut saved_during_backups = 0;
    for round in 0..4 {
        let target = dir.path().join(format!("round-{round}.{BACKUP_EXTENSION}"));
        let before = saved.load(Ordering::Relaxed);
        let info = d.backup_to(&target, PASSPHRASE).unwrap();
        saved_during_backups += saved.load(Ordering::Relaxed) - before;
        let conn = open_backup(&target, PASSPHRASE).unwrap();
        let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        let customers = one("SELECT COUNT(*) FROM customers");
        assert_eq!(info.customers, customers as u64);
        assert_eq!(
            one("SELECT COUNT(*) FROM outbox WHERE state = 'pending'"),
            customers,
            "one op per customer, no more, no fewer"
        );
        assert_eq!(
            one("SELECT COUNT(*) FROM customers c WHERE NOT EXISTS
                   (SELECT 1 FROM outbox o WHERE o.customer_id = c.id)"),
            0
        );
        assert_eq!(
            one("SELECT COUNT(*) FROM audit_log"),
            customers,
            "one audit entry per customer"
        );
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
        seen.push(customers);
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(
        saved_during_backups > 0,
        "the cashier's saves went on while the backups were written"
    );
    assert!(seen[0] > 300);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));
    assert!(
        files_in(dir.path()).iter().all(|f| !f.contains("partial")),
        "no partial file is left: {:?}",
        files_in(dir.path())
    );
}

#[test]
fn a_backup_opens_only_with_its_passphrase_and_holds_no_name_or_phone_in_the_clear() {
    let (dir, d) = common::device();
    common::stub(&d, "Zainab", "+96892123456");
    let target = backup_path(dir.path());
    let info = d.backup_to(&target, PASSPHRASE).unwrap();
    assert_eq!(info.path, target.display().to_string());
    assert_eq!(info.customers, 1);
    assert_eq!(info.pending_ops, 1);
    assert_eq!(info.size_bytes, std::fs::metadata(&target).unwrap().len());
    assert!(info.created_at.ends_with('Z'), "{}", info.created_at);

    let bytes = std::fs::read(&target).unwrap();
    assert!(!bytes.starts_with(b"SQLite format 3\0"));
    assert!(!contains(&bytes, "Zainab"), "the name is not in the file");
    assert!(
        !contains(&bytes, "92123456"),
        "the phone is not in the file"
    );

    // As a plain SQLite database, with the till's own key file's worth of guessing, or with a
    // wrong passphrase: nothing opens it.
    let plain = rusqlite::Connection::open(&target).unwrap();
    let err = plain
        .query_row("SELECT count(*) FROM customers", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert!(err.to_string().contains("not a database"), "{err}");
    assert!(open_backup(&target, "sand dunes at dusk 42").is_err());
    assert!(open_backup(&target, "").is_err());
    // The passphrase does.
    let conn = open_backup(&target, PASSPHRASE).unwrap();
    let name: String = conn
        .query_row("SELECT first_name FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "Zainab");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "readable by the OS user only");
    }
}

#[test]
fn a_backup_restored_on_a_new_pc_brings_back_customers_outbox_orders_and_enrollment() {
    let (dir, d) = common::device();
    let zainab = common::stub(&d, "Zainab", "+96892123456");
    common::stub(&d, "Salim", "+96892000001");
    let taken = d.record_order(zainab.id, &order("4.500")).unwrap();
    enroll(&d);
    let target = backup_path(dir.path());
    let info = d.backup_to(&target, PASSPHRASE).unwrap();
    assert_eq!((info.customers, info.pending_ops), (2, 3));
    let outbox = d.outbox().unwrap();
    let device_id = d.device_id();
    drop(d);

    // A new PC: another data folder, the store's key in a file there (not the credential store
    // the first till's key is in). Its own fresh till, its owner signed in.
    let new_pc = tempfile::tempdir().unwrap();
    let store = new_pc.path().join("dukkan.sqlite3");
    let fresh = Device::open_with(&store, KeyStorage::File).unwrap();
    common::owner(&fresh);
    assert_ne!(fresh.device_id(), device_id);
    common::stub(&fresh, "Nobody", "+96892999999");

    let restored = fresh.restore_from(&target, PASSPHRASE).unwrap();
    assert_eq!(restored.customers, 2);
    assert_eq!(restored.pending_ops, 3);
    assert_eq!(restored.created_at, info.created_at);
    assert_eq!(restored.path, target.display().to_string());
    // Nothing changes before the restart: the running till is still the fresh one.
    assert_eq!(fresh.search("Nobody", 5).unwrap().len(), 1);
    assert!(restore_file(&store).exists());
    drop(fresh);

    let d = Device::open_with(&store, KeyStorage::File).unwrap();
    assert_eq!(d.device_id(), device_id, "the same till, restored");
    assert_eq!(
        d.enrollment().unwrap(),
        Some((
            "https://shop.example.om".to_string(),
            "the-device-token".to_string()
        )),
        "its enrollment came back"
    );
    common::owner(&d);
    assert_eq!(
        d.outbox().unwrap(),
        outbox,
        "every unsent op, numbered as before"
    );
    assert_eq!(d.search("Zainab", 5).unwrap().len(), 1);
    assert_eq!(d.search("Salim", 5).unwrap().len(), 1);
    assert!(d.search("Nobody", 5).unwrap().is_empty());
    let orders = d.orders(zainab.id).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].id, taken.id);
    assert!(!restore_file(&store).exists());
    assert!(
        before_restore_file(&store).exists(),
        "the replaced store is kept beside it"
    );
    // The restored store is sealed with the new PC's key, not the passphrase.
    assert!(open_backup(&store, PASSPHRASE).is_err());
    drop(d);
    let again = Device::open_with(&store, KeyStorage::File).unwrap();
    assert_eq!(again.device_id(), device_id);
    assert!(before_restore_file(&store).exists());
}

#[test]
fn a_restore_on_the_same_till_waits_for_the_next_start_and_keeps_the_old_store_beside_it() {
    let (dir, d) = common::device();
    let path = dir.path().join("d.sqlite3");
    common::stub(&d, "Zainab", "+96892123456");
    let target = backup_path(dir.path());
    d.backup_to(&target, PASSPHRASE).unwrap();
    common::stub(&d, "Later", "+96892000002");
    d.restore_from(&target, PASSPHRASE).unwrap();
    common::stub(&d, "Meanwhile", "+96892000003");
    assert_eq!(d.search("Later", 5).unwrap().len(), 1);
    drop(d);

    let d = common::open(&path);
    assert_eq!(d.search("Zainab", 5).unwrap().len(), 1);
    assert!(
        d.search("Later", 5).unwrap().is_empty(),
        "back to the backup"
    );
    assert!(d.search("Meanwhile", 5).unwrap().is_empty());
    assert_eq!(d.pending_ops().unwrap(), 1);
    let kept = before_restore_file(&path);
    assert!(std::fs::metadata(&kept).unwrap().len() > 0);
    for suffix in ["-wal", "-shm"] {
        assert!(
            !Path::new(&format!("{}{suffix}", kept.display())).exists(),
            "the kept store was checkpointed: it is whole on its own"
        );
    }
}

#[test]
fn a_restore_interrupted_at_the_swap_finishes_at_the_next_start_and_a_bad_staged_file_changes_nothing(
) {
    let (dir, d) = common::device();
    let path = dir.path().join("d.sqlite3");
    common::stub(&d, "Zainab", "+96892123456");
    let target = backup_path(dir.path());
    d.backup_to(&target, PASSPHRASE).unwrap();
    common::stub(&d, "Later", "+96892000002");
    d.restore_from(&target, PASSPHRASE).unwrap();
    d.checkpoint().unwrap();
    drop(d);
    // The power went between moving the old store aside and renaming the restored one.
    std::fs::rename(&path, before_restore_file(&path)).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let d = common::open(&path);
    assert_eq!(d.search("Zainab", 5).unwrap().len(), 1);
    assert!(d.search("Later", 5).unwrap().is_empty());
    drop(d);

    // A staged file this till's key does not open is set aside; the store stays as it was.
    std::fs::write(restore_file(&path), vec![7u8; 4096]).unwrap();
    let d = common::open(&path);
    assert_eq!(d.search("Zainab", 5).unwrap().len(), 1);
    assert!(!restore_file(&path).exists());
    assert!(Path::new(&format!("{}.restore-failed", path.display())).exists());
}

#[test]
fn a_wrong_or_short_passphrase_another_file_or_a_newer_backup_is_refused_and_nothing_changes() {
    let (dir, d) = common::device();
    let path = dir.path().join("d.sqlite3");
    common::stub(&d, "Zainab", "+96892123456");
    let target = backup_path(dir.path());
    let untouched = files_in(dir.path());

    // Backing up.
    let err = d.backup_to(&target, "short").unwrap_err();
    assert_eq!(err.code(), "backup.passphrase-too-short");
    assert_eq!(
        english(&err),
        "A backup passphrase has at least 10 characters."
    );
    assert_eq!(
        d.backup_to(&target, "ninechars").unwrap_err().code(),
        "backup.passphrase-too-short",
        "characters, not bytes: nine is too few"
    );
    let missing_folder = dir.path().join("no-such-folder").join("b.dukkan-backup");
    let err = d.backup_to(&missing_folder, PASSPHRASE).unwrap_err();
    assert_eq!(err.code(), "backup.write-failed", "{err:?}");
    assert_eq!(files_in(dir.path()), untouched, "nothing left behind");

    // Restoring.
    d.backup_to(&target, PASSPHRASE).unwrap();
    common::stub(&d, "Later", "+96892000002");
    let listing = files_in(dir.path());
    let refused = |file: &Path, passphrase: &str| {
        let err = d.restore_from(file, passphrase).unwrap_err();
        assert_eq!(files_in(dir.path()), listing, "nothing written for {err:?}");
        err
    };
    let err = refused(&target, "sand dunes at dusk 42");
    assert_eq!(err.code(), "backup.wrong-passphrase");
    assert_eq!(
        english(&err),
        "This passphrase does not open the backup. Nothing was changed."
    );
    assert_eq!(
        refused(&target, "sand").code(),
        "backup.passphrase-too-short"
    );
    assert_eq!(
        refused(&dir.path().join("nothing-here.dukkan-backup"), PASSPHRASE).code(),
        "backup.not-found"
    );
    assert_eq!(refused(dir.path(), PASSPHRASE).code(), "backup.not-found");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a backup at all\n".repeat(100)).unwrap();
    let plain = dir.path().join("plain.sqlite3");
    rusqlite::Connection::open(&plain)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let other = dir.path().join("other.dukkan-backup");
    {
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.execute_batch(&format!("PRAGMA key = '{PASSPHRASE}';"))
            .unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let listing = files_in(dir.path());
    for file in [&text, &plain, &other] {
        let err = d.restore_from(file, PASSPHRASE).unwrap_err();
        assert_eq!(err.code(), "backup.not-a-backup", "{}", file.display());
        assert_eq!(files_in(dir.path()), listing);
    }

    // A backup of a newer version of the app.
    let newer = dir.path().join("newer.dukkan-backup");
    std::fs::copy(&target, &newer).unwrap();
    open_backup(&newer, PASSPHRASE)
        .unwrap()
        .execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (999, 'future', '2030-01-01', '0')",
            [],
        )
        .unwrap();
    let listing = files_in(dir.path());
    let err = d.restore_from(&newer, PASSPHRASE).unwrap_err();
    assert!(
        matches!(err, DeviceError::DatabaseTooNew { found: 999, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "storage.too-new");
    assert_eq!(files_in(dir.path()), listing);

    // The till is as it was, before and after a restart.
    assert_eq!(d.search("Later", 5).unwrap().len(), 1);
    drop(d);
    let d = common::open(&path);
    assert_eq!(d.search("Later", 5).unwrap().len(), 1);
    assert!(!restore_file(&path).exists());
    assert!(!before_restore_file(&path).exists());
}

#[test]
fn a_cashier_can_neither_back_up_nor_restore() {
    let (dir, d) = common::device();
    let target = backup_path(dir.path());
    d.backup_to(&target, PASSPHRASE).unwrap();
    common::signed_in(&d, Role::Cashier);
    let listing = files_in(dir.path());
    let other = dir.path().join("cashier.dukkan-backup");
    let err = d.backup_to(&other, PASSPHRASE).unwrap_err();
    assert_eq!(err.code(), "auth.forbidden");
    assert_eq!(
        d.restore_from(&target, PASSPHRASE).unwrap_err().code(),
        "auth.forbidden"
    );
    assert_eq!(files_in(dir.path()), listing, "nothing written");
    // A manager may.
    common::signed_in(&d, Role::Manager);
    d.backup_to(&other, PASSPHRASE).unwrap();
}
