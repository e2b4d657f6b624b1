//! The key the till's store is encrypted with, and where it is kept.
//!
//! The store is a SQLCipher database (every page AES-256, with an HMAC). Its key is 256 random
//! bits made at first start and handed to SQLCipher as a raw key (no passphrase derivation: there
//! is nothing to stretch). The key is kept in the operating system's credential store (Secret
//! Service on Linux, Credential Manager on Windows, Keychain on macOS), under the store's path,
//! so a copy of the file alone opens nowhere. Where the machine has no credential store (a bare
//! kiosk), the key goes to a file beside the store that only the OS user can read, and Settings
//! says so ([`KeyPlace::File`]): never silently.

use crate::error::{DeviceError, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The credential-store service the keys are filed under (the user name is the store's path).
pub const KEYRING_SERVICE: &str = "Dukkan till store";

/// 256 random bits. Never logged: `Debug` prints nothing of it, and it is wiped when dropped.
pub struct StoreKey([u8; 32]);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

impl Drop for StoreKey {
    fn drop(&mut self) {
        self.0 = [0; 32];
        std::hint::black_box(&self.0);
    }
}

impl StoreKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| {
            DeviceError::Migration(format!("no random source for the store key: {e}"))
        })?;
        Ok(Self(bytes))
    }

    /// The key as kept: 64 lowercase hex digits.
    fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn from_hex(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// The SQL literal SQLCipher reads as a raw key: `"x'…'"`. Hex digits only, so it is safe
    /// to put in a statement (SQLCipher's `PRAGMA key` takes no bound parameters).
    pub(crate) fn sql_literal(&self) -> String {
        format!("\"x'{}'\"", self.to_hex())
    }
}

/// Where a store's key is kept (shown in Settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum KeyPlace {
    /// The operating system's credential store.
    CredentialStore,
    /// A file only the OS user can read, because the machine has no credential store.
    File { path: String },
    /// Not encrypted: the baseline of the encryption benchmark only; the app never opens so.
    Unencrypted,
}

/// Where [`crate::Device::open_with`] may keep a store's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStorage {
    /// The credential store, or a key file when the machine has none (what the app uses).
    System,
    /// A key file beside the store only.
    File,
    /// No encryption: for the benchmark's baseline, never for a till.
    Unencrypted,
}

/// The key file of the store at `path` (used only without a credential store).
pub fn key_file(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.key", path.display()))
}

/// What is on disk at a store's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// No file, or an empty one: a new store.
    Nothing,
    /// A plain SQLite database (an earlier version's store): encrypted in place at open.
    Plain,
    /// Anything else: an encrypted store.
    Encrypted,
}

pub(crate) fn found(path: &Path) -> Result<Found> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Nothing),
        Err(e) => return Err(DeviceError::Migration(format!("store file: {e}"))),
    };
    let read = file
        .read(&mut header)
        .map_err(|e| DeviceError::Migration(format!("store file: {e}")))?;
    Ok(match read {
        0 => Found::Nothing,
        _ if header == *b"SQLite format 3\0" => Found::Plain,
        _ => Found::Encrypted,
    })
}

/// Finds (or, for a store that has none yet, makes and keeps) the key of the store at `path`.
pub(crate) fn resolve(path: &Path, storage: KeyStorage) -> Result<(Option<StoreKey>, KeyPlace)> {
    if storage == KeyStorage::Unencrypted {
        return Ok((None, KeyPlace::Unencrypted));
    }
    let file = key_file(path);
    let file_place = || KeyPlace::File {
        path: file.display().to_string(),
    };
    // A key that went to a file (no credential store when the store was made) stays there.
    if file.exists() {
        return Ok((Some(read_key_file(&file)?), file_place()));
    }
    let on_disk = found(path)?;
    if storage == KeyStorage::System {
        // A new store (or a plain one about to be encrypted) has no key worth finding, unless
        // files sealed with it lie beside: a restore interrupted between moving the old store
        // aside and renaming the staged one. A key left under this path by an earlier store
        // (the app reinstalled) opens nothing and is replaced. Not asking spares a new till the
        // wait a missing key costs (`os_keys::get` asks again for 1.55 s before it believes a
        // key is gone).
        let sealed_beside = || {
            [
                crate::backup::restore_file(path),
                crate::backup::before_restore_file(path),
            ]
            .iter()
            .any(|f| f.exists())
        };
        let known = if on_disk != Found::Encrypted && !sealed_beside() {
            Ok(None)
        } else {
            os_keys::get(path)
        };
        match known {
            Ok(Some(key)) => return Ok((Some(key), KeyPlace::CredentialStore)),
            Ok(None) if on_disk == Found::Encrypted => return Err(DeviceError::StoreKeyMissing),
            Ok(None) => {
                let key = StoreKey::generate()?;
                match os_keys::put(path, &key) {
                    Ok(()) => return Ok((Some(key), KeyPlace::CredentialStore)),
                    Err(reason) => {
                        tracing::warn!(%reason, "no credential store took the store key; it goes to a file only this OS user can read");
                    }
                }
            }
            Err(reason) if on_disk == Found::Encrypted => {
                tracing::error!(%reason, "the credential store holding the store key cannot be reached");
                return Err(DeviceError::StoreKeyMissing);
            }
            Err(reason) => {
                tracing::warn!(%reason, "no credential store on this machine; the store key goes to a file only this OS user can read");
            }
        }
    } else if on_disk == Found::Encrypted {
        return Err(DeviceError::StoreKeyMissing);
    }
    let key = StoreKey::generate()?;
    write_key_file(&file, &key)?;
    Ok((Some(key), file_place()))
}

/// Keeps the key of the store at `from` for a copy of it at `to`, where `from`'s is kept (tests
/// and benchmarks that copy a till's files on one machine).
#[cfg(feature = "testing")]
pub fn copy_key(from: &Path, to: &Path) -> Result<()> {
    let (key, place) = resolve(from, KeyStorage::System)?;
    let Some(key) = key else { return Ok(()) };
    match place {
        KeyPlace::CredentialStore => os_keys::put(to, &key)
            .map_err(|reason| DeviceError::Migration(format!("credential store: {reason}"))),
        KeyPlace::File { .. } => {
            let file = key_file(to);
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(DeviceError::Migration(format!("store key file: {e}")))
                }
                _ => {}
            }
            write_key_file(&file, &key)
        }
        KeyPlace::Unencrypted => Ok(()),
    }
}

/// Removes the key of the store at `path` from where `place` says it is (tests: a credential
/// store that was reset).
#[cfg(feature = "testing")]
pub fn forget(path: &Path, place: &KeyPlace) -> Result<()> {
    match place {
        KeyPlace::CredentialStore => os_keys::delete(path)
            .map_err(|reason| DeviceError::Migration(format!("credential store: {reason}"))),
        KeyPlace::File { .. } => std::fs::remove_file(key_file(path))
            .map_err(|e| DeviceError::Migration(format!("store key file: {e}"))),
        KeyPlace::Unencrypted => Ok(()),
    }
}

fn read_key_file(file: &Path) -> Result<StoreKey> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| DeviceError::Migration(format!("store key file: {e}")))?;
    StoreKey::from_hex(&text).ok_or(DeviceError::StoreKeyWrong)
}

fn write_key_file(file: &Path, key: &StoreKey) -> Result<()> {
    use std::io::Write;
    let io = |e: std::io::Error| DeviceError::Migration(format!("store key file: {e}"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(file).map_err(io)?;
    out.write_all(key.to_hex().as_bytes()).map_err(io)?;
    out.sync_all().map_err(io)
}

/// Calls `attempt` until `settled` accepts its answer, waiting 50, 100, 200, 400 and 800 ms
/// between tries (six tries, 1.55 s of waiting at most), and returns the last answer. For a
/// credential store that answers wrongly for a moment under load or while it starts.
#[cfg(any(target_os = "linux", windows, target_os = "macos", test))]
fn patiently<T>(
    mut attempt: impl FnMut() -> T,
    settled: impl Fn(&T) -> bool,
    mut sleep: impl FnMut(std::time::Duration),
) -> T {
    let mut answer = attempt();
    let mut wait = std::time::Duration::from_millis(50);
    for _ in 0..5 {
        if settled(&answer) {
            break;
        }
        sleep(wait);
        wait *= 2;
        answer = attempt();
    }
    answer
}

/// The operating system's credential store, through the `keyring` crate.
#[cfg(any(target_os = "linux", windows, target_os = "macos"))]
mod os_keys {
    use super::{patiently, StoreKey, KEYRING_SERVICE};
    use std::path::Path;

    fn entry(path: &Path) -> ::keyring::Result<::keyring::Entry> {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        ::keyring::Entry::new(KEYRING_SERVICE, &absolute.display().to_string())
    }

    /// The key kept for `path`; `Ok(None)` when the store works and holds none; `Err` when
    /// there is no credential store to ask.
    pub fn get(path: &Path) -> Result<Option<StoreKey>, String> {
        // Under load, gnome-keyring has answered "no such item" for a key it holds (seen in CI
        // runs and in the convergence property under a parallel build, once even after one
        // retry): a missing key is asked for again before the till says it is gone (a key
        // really gone costs 1.55 s once, at start).
        let answer = patiently(
            || entry(path).and_then(|e| e.get_password()),
            |answer| !matches!(answer, Err(::keyring::Error::NoEntry)),
            std::thread::sleep,
        );
        match answer {
            Ok(text) => StoreKey::from_hex(&text)
                .map(Some)
                .ok_or_else(|| "the kept key is not 64 hex digits".to_string()),
            Err(::keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Keeps `key` for `path`, and reads it back: a store that accepts a secret but does not
    /// keep it (a locked or in-memory one) counts as none.
    ///
    /// A new till makes its key once, at its first start, when a desktop session's keyring may
    /// still be starting or busy: a write or read-back that fails is tried again (1.55 s at
    /// most) before the key goes to a file. Seen once in four CI runs: a new till's key went to
    /// a file after one failed write.
    pub fn put(path: &Path, key: &StoreKey) -> Result<(), String> {
        let once = || -> Result<(), String> {
            let entry = entry(path).map_err(|e| e.to_string())?;
            entry
                .set_password(&key.to_hex())
                .map_err(|e| e.to_string())?;
            match entry.get_password() {
                Ok(text) if StoreKey::from_hex(&text).is_some_and(|kept| kept.0 == key.0) => Ok(()),
                Ok(_) | Err(::keyring::Error::NoEntry) => {
                    Err("the credential store did not keep the key".to_string())
                }
                Err(e) => Err(e.to_string()),
            }
        };
        patiently(once, Result::is_ok, std::thread::sleep)
    }

    #[cfg(feature = "testing")]
    pub fn delete(path: &Path) -> Result<(), String> {
        entry(path)
            .and_then(|e| e.delete_credential())
            .map_err(|e| e.to_string())
    }
}

/// No credential store on other systems: keys go to files.
#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
mod os_keys {
    use super::StoreKey;
    use std::path::Path;

    pub fn get(_: &Path) -> Result<Option<StoreKey>, String> {
        Err("no credential store on this system".to_string())
    }
    pub fn put(_: &Path, _: &StoreKey) -> Result<(), String> {
        Err("no credential store on this system".to_string())
    }
    pub fn delete(_: &Path) -> Result<(), String> {
        Err("no credential store on this system".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_its_hex_form_and_hex_that_is_not_a_key_is_refused() {
        let key = StoreKey::generate().unwrap();
        let back = StoreKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(back.0, key.0);
        assert!(StoreKey::from_hex("00").is_none());
        assert!(StoreKey::from_hex(&"g".repeat(64)).is_none());
        assert!(StoreKey::from_hex(&"é".repeat(32)).is_none());
        assert_ne!(StoreKey::generate().unwrap().0, key.0, "keys are random");
    }

    #[test]
    fn a_key_never_shows_in_debug_output() {
        let key = StoreKey::generate().unwrap();
        assert!(!format!("{key:?}").contains(&key.to_hex()[..8]));
    }

    #[test]
    fn a_credential_store_failing_twice_is_asked_again_and_its_third_answer_kept() {
        let mut calls = 0;
        let mut waited = Vec::new();
        let answer = patiently(
            || {
                calls += 1;
                if calls < 3 {
                    Err(format!("keyring busy ({calls})"))
                } else {
                    Ok(calls)
                }
            },
            Result::is_ok,
            |wait| waited.push(wait.as_millis()),
        );
        assert_eq!(answer, Ok(3));
        assert_eq!(waited, [50, 100]);
    }

    #[test]
    fn a_credential_store_that_keeps_failing_is_given_up_on_after_six_tries_and_1_55_s() {
        let mut calls = 0;
        let mut waited = Vec::new();
        let answer: Result<(), String> = patiently(
            || {
                calls += 1;
                Err(format!("no keyring ({calls})"))
            },
            Result::is_ok,
            |wait| waited.push(wait.as_millis()),
        );
        assert_eq!(answer, Err("no keyring (6)".to_string()));
        assert_eq!(waited, [50, 100, 200, 400, 800]);
        assert_eq!(waited.iter().sum::<u128>(), 1550);
    }
}
