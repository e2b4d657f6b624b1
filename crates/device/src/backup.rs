//! Backup and restore of a till: a `.dukkan-backup` file a manager can keep anywhere, and a
//! restore onto this PC or a new one.
//!
//! **The backup is encrypted with a passphrase the manager types**, not with the store's key:
//! that key lives in this PC's credential store, so a backup sealed with it could never be
//! restored on a new PC. SQLCipher derives the backup's key from the passphrase with its own
//! PBKDF2 (HMAC-SHA512, 256,000 iterations, a random salt per file). The passphrase is handed to
//! SQLite as a bound parameter of `ATTACH … KEY ?`: it is never part of a statement's text, so
//! it needs no quoting and shows in no trace or log.
//!
//! **How the copy is made: `sqlcipher_export()`, not the SQLite online backup API.** The backup
//! API copies pages as they are, so it only works between databases with the same page size and
//! reserved bytes per page (SQLCipher answers `SQLITE_READONLY` otherwise), and rusqlite's
//! `backup` feature is not enabled in this workspace. `sqlcipher_export` copies the schema and
//! rows into a database with its own key and settings (the mechanism [`crate::store`] already
//! uses to encrypt an earlier version's plain store, so it is proven on this schema: FTS5 tables,
//! triggers, AUTOINCREMENT counters). It runs on a connection of its own inside ONE read
//! transaction: in WAL mode that transaction sees one committed state of the store from its
//! first read to its end, so every table of the backup comes from the same moment, while the
//! cashier's writes go on (a WAL reader blocks no writer). The file is written beside the
//! target under a `.partial` name and renamed when complete, so a half-written backup never
//! looks like one.
//!
//! **Restore** checks that the passphrase opens the file and that it is a Dukkan store this
//! build can run (a newer schema is refused, as at start), then exports it, encrypted with THIS
//! till's key, to `<store>.restore` beside the store. The running app keeps its connection to
//! the old store; the swap happens at the next start, in [`crate::Device::open`] before the
//! store is opened ([`finish_restore`]): the old store is checkpointed and kept as
//! `<store>.before-restore`, and the restored file takes its name. Each step can be repeated
//! after a crash. The restored store carries the backed-up till's device id, enrollment (device
//! token) and outbox: it IS that till again, and the server's sequence-conflict answer
//! renumbers any of its ops whose numbers the till used after the backup was taken
//! (`tests/sync_backup.rs`).

use crate::error::{DeviceError, Result};
use crate::store;
use crate::store_key::StoreKey;
use crate::{now_text, Device};
use dukkan_core::staff::Role;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The extension of a backup file.
pub const BACKUP_EXTENSION: &str = "dukkan-backup";

/// The shortest backup passphrase, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 10;

/// The settings key a backup records when it was taken (kept by the store restored from it).
const TAKEN_AT: &str = "backup_taken_at";

/// What a backup holds, as Settings shows it after a backup or a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BackupInfo {
    /// The backup file.
    pub path: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// Customers in it (every kind, active or not).
    pub customers: u64,
    /// Changes in it that had not reached the server when it was taken.
    pub pending_ops: u64,
    /// When it was taken (RFC 3339, UTC).
    pub created_at: String,
}

/// Where a restore waits for the next start: beside the store.
pub fn restore_file(store: &Path) -> PathBuf {
    suffixed(store, ".restore")
}

/// Where the store replaced by a restore is kept (encrypted with the same key).
pub fn before_restore_file(store: &Path) -> PathBuf {
    suffixed(store, ".before-restore")
}

/// A backup's path as a manager typed or pasted it: surrounding spaces and the quotes a file
/// manager's "copy path" may add are dropped, and a `file://` address becomes its path.
pub fn path_as_typed(text: &str) -> PathBuf {
    let mut text = text.trim();
    for quote in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(quote) && text.ends_with(quote) {
            text = text[1..text.len() - 1].trim();
        }
    }
    match text.strip_prefix("file://") {
        Some(rest) if !rest.contains('%') => PathBuf::from(rest),
        _ => PathBuf::from(text),
    }
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

fn check_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(DeviceError::BackupPassphraseTooShort {
            min: MIN_PASSPHRASE_CHARS,
        });
    }
    Ok(())
}

fn utf8(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| DeviceError::BackupWriteFailed(format!("{} is not UTF-8", path.display())))
}

/// A file being written: removed (with its rollback journal) unless [`Partial::keep`] is called,
/// so a refused or failed backup or restore leaves nothing behind.
struct Partial {
    path: PathBuf,
    kept: bool,
}

impl Partial {
    /// Starts `path` afresh: an empty file only the OS user can read (SQLite gives the journal
    /// the same mode).
    fn create(path: PathBuf) -> std::io::Result<Self> {
        let partial = Partial { path, kept: false };
        partial.remove()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(&partial.path)?;
        Ok(partial)
    }

    fn remove(&self) -> std::io::Result<()> {
        for file in [self.path.clone(), suffixed(&self.path, "-journal")] {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Syncs the finished file and renames it to `to` (durably: the directory is synced too).
    fn finish(mut self, to: &Path) -> std::io::Result<()> {
        std::fs::File::open(&self.path)?.sync_all()?;
        std::fs::rename(&self.path, to)?;
        self.kept = true;
        sync_dir(to)
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            if let Err(e) = self.remove() {
                tracing::warn!(error = %e, file = %self.path.display(), "a partial file could not be removed");
            }
        }
    }
}

/// Makes a rename in `path`'s directory durable (POSIX; Windows has no directory handles).
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn count(conn: &Connection, schema: &str) -> Result<(u64, u64)> {
    let customers: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM {schema}.customers"),
        [],
        |r| r.get(0),
    )?;
    let pending: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM {schema}.outbox WHERE state = 'pending'"),
        [],
        |r| r.get(0),
    )?;
    Ok((customers as u64, pending as u64))
}

impl Device {
    /// Writes a backup of this till to `target`, encrypted with `passphrase` (at least
    /// [`MIN_PASSPHRASE_CHARS`] characters), while the app goes on working. Managers only.
    /// On any error nothing is left at `target` or beside it.
    pub fn backup_to(&self, target: &Path, passphrase: &str) -> Result<BackupInfo> {
        self.authorize(Role::Manager)?;
        check_passphrase(passphrase)?;
        let result = self.write_backup(target, passphrase);
        if let Err(DeviceError::BackupWriteFailed(reason)) = &result {
            tracing::warn!(%reason, "the backup could not be written");
        }
        result
    }

    fn write_backup(&self, target: &Path, passphrase: &str) -> Result<BackupInfo> {
        let failed = |e: std::io::Error| DeviceError::BackupWriteFailed(e.to_string());
        let partial = Partial::create(suffixed(target, ".partial")).map_err(failed)?;
        let created_at = now_text();
        let (customers, pending_ops) = {
            // A connection of its own: the app's stays free for the cashier meanwhile.
            let conn = store::connect(&self.path, self.key.as_ref())?;
            conn.busy_timeout(Duration::from_secs(5))?;
            let copied = (|| -> Result<(u64, u64)> {
                conn.execute(
                    "ATTACH DATABASE ?1 AS backup KEY ?2",
                    params![utf8(&partial.path)?, passphrase],
                )?;
                // One read transaction: every table is copied from the same committed state
                // (the snapshot is taken at its first read and held to its end).
                conn.execute_batch("BEGIN DEFERRED;")?;
                let version: i64 = conn.query_row("PRAGMA main.user_version", [], |r| r.get(0))?;
                conn.query_row("SELECT sqlcipher_export('backup', 'main')", [], |_| Ok(()))?;
                conn.execute_batch(&format!("PRAGMA backup.user_version = {version};"))?;
                conn.execute(
                    "INSERT INTO backup.settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![TAKEN_AT, created_at],
                )?;
                let counts = count(&conn, "backup")?;
                conn.execute_batch("COMMIT; DETACH DATABASE backup;")?;
                Ok(counts)
            })();
            // On an error the connection is closed (rolling back) before the partial file is
            // removed.
            copied.map_err(|e| match e {
                DeviceError::Storage(s) => DeviceError::BackupWriteFailed(s.to_string()),
                other => other,
            })?
        };
        partial.finish(target).map_err(failed)?;
        let size_bytes = std::fs::metadata(target).map_err(failed)?.len();
        tracing::info!(customers, pending_ops, size_bytes, "backup written");
        Ok(BackupInfo {
            path: target.display().to_string(),
            size_bytes,
            customers,
            pending_ops,
            created_at,
        })
    }

    /// Restores the backup at `backup` (opened with `passphrase`) onto this till: checks it and
    /// writes it, encrypted with this till's key, beside the store, where the next start puts it
    /// in place of the store ([`finish_restore`]; the shell restarts the app). Managers only.
    /// A wrong passphrase, a file that is no Dukkan backup or one of a newer version is refused
    /// and nothing changes. Returns what the backup holds.
    pub fn restore_from(&self, backup: &Path, passphrase: &str) -> Result<BackupInfo> {
        self.authorize(Role::Manager)?;
        let meta = match std::fs::metadata(backup) {
            Ok(meta) if meta.is_file() => meta,
            _ => return Err(DeviceError::BackupNotFound),
        };
        check_passphrase(passphrase)?;
        // An encrypted SQLite file is whole pages (512 bytes at the least) and has no plain
        // SQLite header: anything else is not a backup, whatever the passphrase.
        let mut header = [0u8; 16];
        let read = {
            use std::io::Read;
            std::fs::File::open(backup)
                .and_then(|mut f| f.read(&mut header))
                .map_err(|_| DeviceError::BackupNotFound)?
        };
        if meta.len() < 512 || meta.len() % 512 != 0 || read < 16 || header == *b"SQLite format 3\0"
        {
            return Err(DeviceError::NotABackup);
        }
        let storage = |e: std::io::Error| DeviceError::Migration(format!("restore: {e}"));
        let partial =
            Partial::create(suffixed(&restore_file(&self.path), ".partial")).map_err(storage)?;
        let (customers, pending_ops, taken_at) = {
            let conn = store::connect(&partial.path, self.key.as_ref())?;
            let source = backup.to_str().ok_or(DeviceError::BackupNotFound)?;
            // SQLCipher reads the schema of a database as it is attached: a key that does not
            // open it is found here.
            let not_opened = |e: &rusqlite::Error| {
                matches!(e, rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::NotADatabase)
            };
            match conn
                .execute(
                    "ATTACH DATABASE ?1 AS backup KEY ?2",
                    params![source, passphrase],
                )
                .and_then(|_| {
                    conn.query_row("SELECT count(*) FROM backup.sqlite_master", [], |r| {
                        r.get::<_, i64>(0)
                    })
                }) {
                Ok(_) => {}
                Err(e) if not_opened(&e) => return Err(DeviceError::BackupWrongPassphrase),
                Err(e) => return Err(e.into()),
            }
            let found = backup_schema_version(&conn)?;
            let supported = store::latest_schema_version();
            if found > supported {
                return Err(DeviceError::DatabaseTooNew { found, supported });
            }
            conn.execute_batch("BEGIN;")?;
            let version: i64 = conn.query_row("PRAGMA backup.user_version", [], |r| r.get(0))?;
            conn.query_row("SELECT sqlcipher_export('main', 'backup')", [], |_| Ok(()))?;
            conn.execute_batch(&format!("PRAGMA main.user_version = {version};"))?;
            let (customers, pending) = count(&conn, "main")?;
            let taken_at: Option<String> = conn
                .query_row(
                    "SELECT value FROM main.settings WHERE key = ?1",
                    [TAKEN_AT],
                    |r| r.get(0),
                )
                .optional()?;
            conn.execute_batch("COMMIT; DETACH DATABASE backup;")?;
            (customers, pending, taken_at)
        };
        partial.finish(&restore_file(&self.path)).map_err(storage)?;
        let created_at = taken_at.unwrap_or_else(|| {
            meta.modified()
                .map(|t| {
                    chrono::DateTime::<chrono::Utc>::from(t)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                })
                .unwrap_or_default()
        });
        tracing::info!(
            customers,
            pending_ops,
            "backup checked and staged; it replaces the store at the next start"
        );
        Ok(BackupInfo {
            path: backup.display().to_string(),
            size_bytes: meta.len(),
            customers,
            pending_ops,
            created_at,
        })
    }
}

/// The schema version of the attached `backup`, refusing a database that is not a Dukkan store
/// (no migration history, no customers, no outbox, no device id).
fn backup_schema_version(conn: &Connection) -> Result<i64> {
    let tables: i64 = conn.query_row(
        "SELECT COUNT(*) FROM backup.sqlite_master WHERE type = 'table'
           AND name IN ('refinery_schema_history', 'customers', 'outbox', 'settings', 'sync_state')",
        [],
        |r| r.get(0),
    )?;
    if tables != 5 {
        return Err(DeviceError::NotABackup);
    }
    let device_id: Option<String> = conn
        .query_row(
            "SELECT value FROM backup.settings WHERE key = 'device_id'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if device_id
        .and_then(|id| id.parse::<dukkan_core::DeviceId>().ok())
        .is_none()
    {
        return Err(DeviceError::NotABackup);
    }
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM backup.refinery_schema_history",
        [],
        |r| r.get(0),
    )?)
}

/// Puts a restore staged by [`Device::restore_from`] in place of the store at `store`, before
/// the store is opened. Every step can be repeated after a crash:
/// 1. a staged file this till's key does not open is set aside (`.restore-failed`) and the store
///    is left as it was;
/// 2. the old store's WAL is checkpointed into it, and it becomes `<store>.before-restore`
///    (replacing an older one), its emptied WAL and index removed;
/// 3. the staged file takes the store's name.
pub(crate) fn finish_restore(store_path: &Path, key: Option<&StoreKey>) -> Result<()> {
    let staged = restore_file(store_path);
    if !staged.exists() {
        return Ok(());
    }
    let io = |e: std::io::Error| DeviceError::Migration(format!("restore: {e}"));
    if let Err(e) = store::connect(&staged, key) {
        tracing::error!(error = %e, "the staged restore does not open with this till's key; it is set aside and the store is left as it was");
        std::fs::rename(&staged, suffixed(store_path, ".restore-failed")).map_err(io)?;
        return Ok(());
    }
    if store_path.exists() {
        {
            let old = store::connect(store_path, key)?;
            old.busy_timeout(Duration::from_secs(5))?;
            // Everything the WAL holds goes into the file kept, so it is whole on its own.
            let busy: i64 = old.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy != 0 {
                return Err(DeviceError::Migration(
                    "restore: the old store is in use; it stays in place".into(),
                ));
            }
        }
        let before = before_restore_file(store_path);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            match std::fs::remove_file(suffixed(&before, suffix)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
                _ => {}
            }
        }
        for suffix in ["-wal", "-shm"] {
            match std::fs::remove_file(suffixed(store_path, suffix)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
                _ => {}
            }
        }
        std::fs::rename(store_path, &before).map_err(io)?;
    }
    std::fs::rename(&staged, store_path).map_err(io)?;
    sync_dir(store_path).map_err(io)?;
    tracing::info!(
        "the till's store was replaced by the restored backup; the old one is kept beside it"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_path_loses_its_spaces_quotes_and_file_scheme_only() {
        for (typed, path) in [
            ("/home/till/b.dukkan-backup", "/home/till/b.dukkan-backup"),
            (
                "  /home/till/b.dukkan-backup\n",
                "/home/till/b.dukkan-backup",
            ),
            (
                "'/home/till/my backups/b.dukkan-backup'",
                "/home/till/my backups/b.dukkan-backup",
            ),
            (
                "\"C:\\Users\\till\\b.dukkan-backup\"",
                "C:\\Users\\till\\b.dukkan-backup",
            ),
            (
                "file:///home/till/b.dukkan-backup",
                "/home/till/b.dukkan-backup",
            ),
            // Percent-escapes are not decoded: such an address stays as typed (and is not found).
            (
                "file:///home/till/my%20b.dukkan-backup",
                "file:///home/till/my%20b.dukkan-backup",
            ),
        ] {
            assert_eq!(path_as_typed(typed), PathBuf::from(path), "{typed}");
        }
    }

    #[test]
    fn a_passphrase_is_counted_in_characters() {
        assert!(check_passphrase("ninechars").is_err());
        assert!(check_passphrase("tencharsok").is_ok());
        // Ten Arabic letters are twenty bytes, and ten characters.
        assert!(check_passphrase("كلمةمرورطو").is_ok());
        assert!(check_passphrase("كلمةمرورط").is_err());
    }
}
