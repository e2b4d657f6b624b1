//! The till's store is encrypted (a stolen file gives nothing away) and its key is kept by the
//! operating system's credential store, or, on a machine without one, in an owner-only file that
//! Settings names. Real SQLCipher files; under `scripts/test.sh` a real Secret Service
//! (gnome-keyring in a private D-Bus session, `scripts/with-keyring.sh`).

#![allow(clippy::unwrap_used)]

mod common;

use dukkan_device::store_key::{self, KeyPlace, KeyStorage};
use dukkan_device::{Device, DeviceError};
use std::path::{Path, PathBuf};

const PHONE_DIGITS: &str = "92123456";

/// Every byte of the store's files (database, WAL) as they lie on disk.
fn bytes_on_disk(path: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
            all.extend(b);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The till at `path`, its owner signed in.
fn opened(path: &Path, storage: KeyStorage) -> Device {
    let device = Device::open_with(path, storage).unwrap();
    common::owner(&device);
    device
}

fn is_plain_sqlite(path: &Path) -> bool {
    std::fs::read(path)
        .unwrap()
        .starts_with(b"SQLite format 3\0")
}

/// A store with one stub, "Zainab Lawati" on +968 9212 3456, opened as `storage` says.
fn store_with_zainab(dir: &Path, storage: KeyStorage) -> PathBuf {
    let path = dir.join("d.sqlite3");
    let device = opened(&path, storage);
    common::stub(&device, "Zainab", "+96892123456");
    device.checkpoint().unwrap();
    path
}

#[test]
fn a_new_store_is_encrypted_so_its_files_hold_no_name_or_phone() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_zainab(dir.path(), KeyStorage::System);
    let on_disk = bytes_on_disk(&path);
    assert!(!is_plain_sqlite(&path), "the header is not SQLite's");
    assert!(!contains(&on_disk, "Zainab"), "the name is not on disk");
    assert!(
        !contains(&on_disk, PHONE_DIGITS),
        "the phone is not on disk"
    );

    // The baseline shows the check would see them: the same store unencrypted holds both.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = store_with_zainab(plain_dir.path(), KeyStorage::Unencrypted);
    let plain_bytes = bytes_on_disk(&plain);
    assert!(is_plain_sqlite(&plain));
    assert!(contains(&plain_bytes, "Zainab") && contains(&plain_bytes, PHONE_DIGITS));

    // Plain SQLite cannot read the encrypted file.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let err = conn
        .query_row("SELECT count(*) FROM customers", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert!(err.to_string().contains("not a database"), "{err}");
}

#[test]
fn a_plain_store_of_an_earlier_version_is_encrypted_in_place_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_zainab(dir.path(), KeyStorage::Unencrypted);
    let (device_id, before) = {
        let d = opened(&path, KeyStorage::Unencrypted);
        (d.device_id(), d.search("Zainab", 10).unwrap())
    };
    assert!(is_plain_sqlite(&path));
    // A crash during an earlier attempt left its half-written file: it is started over.
    std::fs::write(format!("{}.encrypting", path.display()), b"half written").unwrap();

    let device = opened(&path, KeyStorage::System);
    assert_eq!(device.device_id(), device_id, "the same till");
    let after = device.search("Zainab", 10).unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].customer.id, before[0].customer.id);
    assert_eq!(
        device.pending_ops().unwrap(),
        1,
        "its unsent create is still queued"
    );
    device.checkpoint().unwrap();

    assert!(!is_plain_sqlite(&path));
    let on_disk = bytes_on_disk(&path);
    assert!(!contains(&on_disk, "Zainab") && !contains(&on_disk, PHONE_DIGITS));
    assert!(!Path::new(&format!("{}.encrypting", path.display())).exists());
    drop(device);
    // And it opens again with the kept key.
    assert_eq!(
        opened(&path, KeyStorage::System)
            .search("Zainab", 10)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_copy_of_the_store_without_its_key_opens_nowhere_and_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_zainab(dir.path(), KeyStorage::System);
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("d.sqlite3");
    std::fs::copy(&path, &copy).unwrap();
    let copied = std::fs::read(&copy).unwrap();

    let err = Device::open(&copy).err().unwrap();
    assert!(matches!(err, DeviceError::StoreKeyMissing), "{err:?}");
    assert_eq!(err.code(), "storage.key-missing");
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        copied,
        "the copy is untouched"
    );
    assert!(
        !store_key::key_file(&copy).exists(),
        "no new key was made for it"
    );
}

#[test]
fn a_key_that_does_not_open_the_store_is_refused_with_its_own_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_zainab(dir.path(), KeyStorage::File);
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join("d.sqlite3");
    std::fs::copy(&path, &copy).unwrap();
    // Another till's key file beside the copy.
    std::fs::write(store_key::key_file(&copy), "ab".repeat(32)).unwrap();
    let err = Device::open(&copy).err().unwrap();
    assert_eq!(err.code(), "storage.key-wrong", "{err:?}");
    // A key file that is not a key at all.
    std::fs::write(store_key::key_file(&copy), "not a key").unwrap();
    assert_eq!(
        Device::open(&copy).err().unwrap().code(),
        "storage.key-wrong"
    );
}

#[cfg(unix)]
#[test]
fn the_store_and_a_key_file_are_readable_by_the_os_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_zainab(dir.path(), KeyStorage::File);
    let key_file = store_key::key_file(&path);
    let device = Device::open_with(&path, KeyStorage::File).unwrap();
    assert_eq!(
        device.key_place(),
        &KeyPlace::File {
            path: key_file.display().to_string()
        }
    );
    for file in [path.clone(), key_file.clone()] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert!(text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()));
}

/// Under the test script a Secret Service runs (`DUKKAN_REQUIRE_SECRET_SERVICE=1`): the key must
/// be kept there, nowhere on disk, and the store opens with nothing else.
#[test]
fn with_a_credential_store_the_key_is_kept_there_and_the_store_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite3");
    let device = opened(&path, KeyStorage::System);
    common::stub(&device, "Zainab", "+96892123456");
    let place = device.key_place().clone();
    if std::env::var("DUKKAN_REQUIRE_SECRET_SERVICE").as_deref() == Ok("1") {
        assert_eq!(place, KeyPlace::CredentialStore);
        assert!(!store_key::key_file(&path).exists(), "no key on disk");
    }
    drop(device);
    assert_eq!(Device::open(&path).unwrap().key_place(), &place);

    // The credential store is reset (or the till's user profile lost): the store stays shut.
    store_key::forget(&path, &place).unwrap();
    let err = Device::open(&path).err().unwrap();
    assert_eq!(err.code(), "storage.key-missing", "{err:?}");
}

/// A store made where an earlier one was removed (the app reinstalled) gets a key of its own:
/// the earlier key is not looked for, and it no longer opens the earlier store's file there.
#[test]
fn a_new_store_where_an_earlier_one_was_removed_is_sealed_with_a_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_zainab(dir.path(), KeyStorage::System);
    if Device::open(&path).unwrap().key_place() != &KeyPlace::CredentialStore {
        return; // no credential store here: the key file beside the store is the key
    }
    let earlier = std::fs::read(&path).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let device = opened(&path, KeyStorage::System);
    assert!(
        device.search("Zainab", 5).unwrap().is_empty(),
        "a new, empty store"
    );
    common::stub(&device, "Salim", "+96892000001");
    drop(device);
    assert_eq!(
        opened(&path, KeyStorage::System)
            .search("Salim", 5)
            .unwrap()
            .len(),
        1
    );
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::write(&path, earlier).unwrap();
    let err = Device::open(&path).err().unwrap();
    assert_eq!(err.code(), "storage.key-wrong", "{err:?}");
}

/// The child half of the next test: run in a process that can reach no credential store.
#[test]
#[ignore = "run by a_machine_without_a_credential_store_keeps_the_key_in_an_owner_only_file_and_says_so"]
fn child_opens_a_store_without_a_credential_store() {
    let dir = PathBuf::from(std::env::var("DUKKAN_CHILD_DIR").unwrap());
    let device = opened(&dir.join("d.sqlite3"), KeyStorage::System);
    common::stub(&device, "Zainab", "+96892123456");
    println!(
        "KEY_PLACE={}",
        serde_json::to_string(device.key_place()).unwrap()
    );
}

#[test]
fn a_machine_without_a_credential_store_keeps_the_key_in_an_owner_only_file_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_opens_a_store_without_a_credential_store",
            "--ignored",
            "--nocapture",
        ])
        .env("DUKKAN_CHILD_DIR", dir.path())
        // No session bus, so no Secret Service.
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/dukkan-no-bus",
        )
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.path().join("d.sqlite3");
    let key_file = store_key::key_file(&path);
    let expected = serde_json::to_string(&KeyPlace::File {
        path: key_file.display().to_string(),
    })
    .unwrap();
    assert!(
        stdout.contains(&format!("KEY_PLACE={expected}")),
        "Settings is told where the key is: {stdout}"
    );
    assert!(key_file.exists());
    // The key stays in its file from then on, wherever it is opened.
    let device = opened(&path, KeyStorage::System);
    assert!(matches!(device.key_place(), KeyPlace::File { .. }));
    assert_eq!(device.search("Zainab", 10).unwrap().len(), 1);
}

/// Tills opened at the same moment in one process each get their key (SQLCipher's codec attach
/// raced when first keys were set at once: "PRAGMA key requires a key of one or more
/// characters" with a good key).
#[test]
fn new_stores_opened_at_the_same_moment_all_open() {
    let dir = tempfile::tempdir().unwrap();
    let start = std::sync::Arc::new(std::sync::Barrier::new(16));
    let opened: Vec<_> = (0..16)
        .map(|i| {
            let path = dir.path().join(format!("till-{i}.sqlite3"));
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                // Key files: nothing staggers the keys as the credential store's queue does.
                Device::open_with(&path, KeyStorage::File)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    for till in opened {
        assert_eq!(till.join().unwrap(), Ok(()));
    }
}
