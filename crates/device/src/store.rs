//! Opening the SQLite file: its key, pragmas, migrations, and the refusal to open a newer
//! database.
//!
//! The file is a SQLCipher database (see [`crate::store_key`] for the key). A plain store of an
//! earlier version is encrypted in place on its first open by this one: exported page by page
//! into a new encrypted file beside it, which then replaces it in one rename, so a crash midway
//! leaves the plain store as it was and the next start tries again.
//!
//! Durability choice: WAL with `synchronous = FULL`. In WAL mode, `NORMAL` already survives a
//! crash of the app, but a power cut can lose the last commits — and a till loses power more often
//! than a server does. `FULL` syncs the WAL on every commit, so a create the cashier saw
//! acknowledged survives both. The cost is one fsync per write transaction; BENCHMARKS.md
//! measures it (create stub p50/p99 against a bare insert with the same pragmas).

use crate::error::{DeviceError, Result};
use crate::store_key::{self, Found, StoreKey};
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

mod embedded {
    refinery::embed_migrations!("../../migrations/device");
}

/// The newest schema version this build knows.
pub fn latest_schema_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// Applies the connection settings every Dukkan connection uses.
pub fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 32 MiB of page cache (SQLite's default is 2 MiB), filled only as pages are read: the
    // store is encrypted, so a page read from the file is decrypted and its HMAC checked, and
    // the indexes a till searches all day should stay decrypted in memory (BENCHMARKS.md,
    // "Encrypted till store").
    conn.pragma_update(None, "cache_size", -32_768)?;
    // Checkpoint the WAL rarely inside a write (a checkpoint fsyncs the database file, which
    // would land in some cashier's create); [`crate::Device::checkpoint`] does it when idle.
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    Ok(())
}

/// Opens (creating if needed) and migrates the store at `path`, encrypted with `key` (`None`:
/// a plain database, for the encryption benchmark's baseline only).
pub fn open(path: &Path, key: Option<&StoreKey>) -> Result<Connection> {
    if let Some(key) = key {
        if store_key::found(path)? == Found::Plain {
            encrypt_in_place(path, key)?;
        }
    }
    owner_only(path)?;
    let mut conn = connect(path, key)?;
    configure(&conn)?;
    let found = applied_schema_version(&conn)?;
    let supported = latest_schema_version();
    if found > supported {
        return Err(DeviceError::DatabaseTooNew { found, supported });
    }
    // refinery runs every pending migration in one transaction: all or nothing.
    embedded::migrations::runner()
        .set_grouped(true)
        .run(&mut conn)
        .map_err(|e| DeviceError::Migration(e.to_string()))?;
    Ok(conn)
}

/// A connection to the existing store at `path` as it lies on disk: plain (an earlier version's)
/// or unlocked with its kept key; no migration (tests and benchmarks that read a till's tables
/// directly).
#[cfg(feature = "testing")]
pub fn connect_existing(path: &Path) -> Result<Connection> {
    if store_key::found(path)? == Found::Plain {
        return connect(path, None);
    }
    let (key, _) = store_key::resolve(path, store_key::KeyStorage::System)?;
    connect(path, key.as_ref())
}

/// Initialises SQLite (and SQLCipher with it) once, before the first connection of the process.
/// SQLite marks itself initialised before it runs SQLCipher's own set-up, so a connection opened
/// on another thread meanwhile could take its key too early: "sqlcipher not initialized", then
/// "PRAGMA key requires a key of one or more characters" with a good key (seen in CI when tests
/// opened new tills at the same moment).
fn sqlite_ready() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| {
        // The first connection of the process initialises SQLite, and SQLCipher with it, on
        // this thread; every other connection of this module waits for the Once.
        if let Err(e) = Connection::open_in_memory() {
            tracing::error!(error = %e, "SQLite did not initialise; opening the store will say why");
        }
    });
}

/// A connection to the store at `path`, unlocked with `key`. A wrong key (or a store that is
/// not a database) is found here, not at the first query of some later use case.
pub(crate) fn connect(path: &Path, key: Option<&StoreKey>) -> Result<Connection> {
    sqlite_ready();
    let conn = Connection::open(path)?;
    // A wrong key is answered with our own error; SQLCipher need not print it on stderr.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    if let Some(key) = key {
        // The key must be the first statement on the connection.
        conn.execute_batch(&format!("PRAGMA key = {};", key.sql_literal()))?;
    }
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(conn),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(DeviceError::StoreKeyWrong)
        }
        Err(e) => Err(e.into()),
    }
}

/// Encrypts the plain store at `path` with `key`: `sqlcipher_export` into `<path>.encrypting`,
/// then one rename over the plain file. Until the rename the plain store is untouched.
fn encrypt_in_place(path: &Path, key: &StoreKey) -> Result<()> {
    let io = |e: std::io::Error| DeviceError::Migration(format!("encrypting the store: {e}"));
    let staging = std::path::PathBuf::from(format!("{}.encrypting", path.display()));
    match std::fs::remove_file(&staging) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    owner_only(&staging)?;
    {
        sqlite_ready();
        let plain = Connection::open(path)?;
        plain.busy_timeout(Duration::from_secs(5))?;
        // Everything the WAL holds goes into the main file first, so the export sees it all.
        plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let version: i64 = plain.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let staging_text = staging
            .to_str()
            .ok_or_else(|| DeviceError::Migration("the store path is not UTF-8".into()))?;
        plain.execute(
            &format!("ATTACH DATABASE ?1 AS encrypted KEY {}", key.sql_literal()),
            [staging_text],
        )?;
        plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        plain.execute_batch(&format!("PRAGMA encrypted.user_version = {version};"))?;
        plain.execute_batch("DETACH DATABASE encrypted;")?;
    }
    std::fs::File::open(&staging)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&staging, path).map_err(io)?;
    // The plain store's WAL and index belong to the file just replaced (the checkpoint emptied
    // the WAL); left behind, SQLite would try them against the encrypted file.
    for suffix in ["-wal", "-shm"] {
        match std::fs::remove_file(format!("{}{suffix}", path.display())) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
    }
    if let Some(dir) = path.parent() {
        // The rename itself is durable once the directory is synced (POSIX).
        #[cfg(unix)]
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
        #[cfg(not(unix))]
        let _ = dir;
    }
    tracing::info!("the plain store of an earlier version is now encrypted");
    Ok(())
}

/// Makes the store readable and writable by the OS user only: a new file is created so (SQLite
/// gives its journal and WAL files the same mode), and an existing one is narrowed to it. The
/// store holds every customer of the shop and the staff's PIN verifiers.
#[cfg(unix)]
fn owner_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |e: std::io::Error| DeviceError::Migration(format!("store file: {e}"));
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
    }
    Ok(())
}

/// On Windows a user's profile folder (where the app keeps its store) is private to them.
#[cfg(not(unix))]
fn owner_only(_: &Path) -> Result<()> {
    Ok(())
}

/// The highest migration applied to this database (0 for a new file).
pub fn applied_schema_version(conn: &Connection) -> Result<i64> {
    let has_history: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history')",
        [],
        |r| r.get(0),
    )?;
    if !has_history {
        return Ok(0);
    }
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM refinery_schema_history",
        [],
        |r| r.get(0),
    )?)
}
