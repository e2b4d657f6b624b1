//! Opening the SQLite file: pragmas, migrations, and the refusal to open a newer database.
//!
//! Durability choice: WAL with `synchronous = FULL`. In WAL mode, `NORMAL` already survives a
//! crash of the app, but a power cut can lose the last commits — and a till loses power more often
//! than a server does. `FULL` syncs the WAL on every commit, so a create the cashier saw
//! acknowledged survives both. The cost is one fsync per write transaction; BENCHMARKS.md
//! measures it (create stub p50/p99 against a bare insert with the same pragmas).

use crate::error::{DeviceError, Result};
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
    // Checkpoint the WAL rarely inside a write (a checkpoint fsyncs the database file, which
    // would land in some cashier's create); [`crate::Device::checkpoint`] does it when idle.
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    Ok(())
}

/// Opens (creating if needed) and migrates the store at `path`.
pub fn open(path: &Path) -> Result<Connection> {
    owner_only(path)?;
    let mut conn = Connection::open(path)?;
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
