//! `dukkan-device`: Dukkan on one till — the local SQLite store and the use cases the desktop
//! shell and the tests call.
//!
//! Every write commits its rows, its outbox operation and its audit entry in ONE transaction, so
//! a customer the cashier saw saved is durable and will reach the server exactly as recorded.
#![forbid(unsafe_code)]

/// Sync plumbing — what the engine calls, not the shell: `pub(crate)`, and public only with the
/// `testing` feature, for the sync proofs and benchmarks that drive push and pull by hand.
macro_rules! plumbing {
    ($(#[$meta:meta])* fn $($item:tt)*) => {
        $(#[$meta])*
        #[cfg(feature = "testing")]
        pub fn $($item)*
        $(#[$meta])*
        #[cfg(not(feature = "testing"))]
        pub(crate) fn $($item)*
    };
}

pub mod activity;
pub mod addresses;
mod apply;
pub mod backup;
pub mod customers;
pub mod engine;
pub mod error;
pub mod export;
mod journal;
pub mod merges;
pub mod orders;
mod pulled;
pub mod search;
pub mod settings;
pub mod staff;
pub mod store;
pub mod store_key;
pub mod sync;

pub use activity::{AuditEntry, CustomerActivity, OpState, SyncEntry};
pub use addresses::AddressRecord;
pub use backup::BackupInfo;
pub use customers::{
    Customer, CustomerChanges, CustomerDetails, StubOutcome, SyncState, UpgradeRequest,
};
pub use error::{DeviceError, Entity, Result};
pub use merges::{DuplicatePair, MergeEntry, MergePreview};
pub use orders::OrderInput;
pub use search::{ListQuery, MatchKind, Page, SearchHit};
pub use settings::{AddressDistance, UpdateFeed, UpdateFeedSource};
pub use staff::{StaffMember, StaffSession, MAX_PIN_FAILURES, PIN_LOCKOUT};
pub use store_key::{KeyPlace, KeyStorage};
pub use sync::{ParkedOp, SyncStatus};

use dukkan_core::DeviceId;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// One device's customer desk over its SQLite file.
pub struct Device {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Where the store's key is kept (Settings shows it).
    key_place: KeyPlace,
    /// The store's key (`None`: the benchmark's plain baseline), for the connections a backup
    /// and a restore open beside the app's. Wiped when the device is dropped.
    key: Option<store_key::StoreKey>,
    device_id: DeviceId,
    /// Who is signed in (in memory: a restart signs everybody out).
    sign_in: Mutex<staff::SignIn>,
    /// Woken after every committed write, so the sync engine pushes without waiting.
    writes: Arc<tokio::sync::Notify>,
}

/// Who and when, for the journal of a write.
pub(crate) struct WriteContext {
    pub device_id: DeviceId,
    pub staff_id: Option<String>,
    pub now: String,
}

/// The current time as stored: RFC 3339, UTC, milliseconds.
pub(crate) fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Device {
    /// Opens (creating and migrating if needed) the encrypted store at `path`, its key in the
    /// operating system's credential store (or, on a machine without one, a key file).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, KeyStorage::System)
    }

    /// [`Device::open`] with the key kept as `storage` says.
    pub fn open_with(path: impl AsRef<Path>, storage: KeyStorage) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (key, key_place) = store_key::resolve(&path, storage)?;
        // A restore staged before the last restart takes the store's place first.
        backup::finish_restore(&path, key.as_ref())?;
        let conn = store::open(&path, key.as_ref())?;
        let device_id = match conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'device_id'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|s| s.parse().ok())
        {
            Some(id) => id,
            None => {
                let id = DeviceId::new();
                conn.execute(
                    "INSERT OR REPLACE INTO settings (key, value) VALUES ('device_id', ?1)",
                    [id.to_string()],
                )?;
                id
            }
        };
        let sign_in = staff::SignIn::load(&conn)?;
        tracing::info!(%device_id, "device store opened");
        Ok(Self {
            conn: Mutex::new(conn),
            path,
            key_place,
            key,
            device_id,
            sign_in: Mutex::new(sign_in),
            writes: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// This installation's id (stable across restarts).
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    /// The SQLite file this device uses.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the key of this device's store is kept.
    pub fn key_place(&self) -> &KeyPlace {
        &self.key_place
    }

    pub(crate) fn sign_in_state(&self) -> MutexGuard<'_, staff::SignIn> {
        self.sign_in.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a transaction rolled it back when the guard dropped; the connection is
        // still consistent, so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one IMMEDIATE transaction and commits it; on any error nothing is written.
    /// Wakes the sync engine: a local change is waiting to be pushed.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &WriteContext) -> Result<T>,
    ) -> Result<T> {
        let out = self.write_quietly(f)?;
        self.writes.notify_one();
        Ok(out)
    }

    /// [`Device::write`] for what the sync engine itself writes (pulled pages, push answers,
    /// upgrade states): nothing new to push, so the engine is not woken — waking it would make
    /// an idle engine pull in a tight loop instead of waiting on its long-poll.
    pub(crate) fn write_quietly<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &WriteContext) -> Result<T>,
    ) -> Result<T> {
        let ctx = WriteContext {
            device_id: self.device_id,
            staff_id: self.sign_in_state().staff.as_ref().map(|m| m.id.clone()),
            now: now_text(),
        };
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx, &ctx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs a read against the store.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.conn())
    }

    /// Copies the WAL into the database file without blocking writers (call when idle, so
    /// checkpoints stay out of the cashier's path).
    pub fn checkpoint(&self) -> Result<()> {
        self.read(|c| {
            c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
            Ok(())
        })
    }

    plumbing! {
        /// Notified after every committed write (the sync engine waits on it).
        fn write_signal(&self) -> Arc<tokio::sync::Notify> {
            self.writes.clone()
        }
    }

    /// Number of operations still waiting to be pushed (parked ones excluded).
    pub fn pending_ops(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    /// The outbox in device order: `(device_seq, kind, entity_id, payload JSON)` (for tests).
    #[cfg(feature = "testing")]
    pub fn outbox(&self) -> Result<Vec<(i64, String, String, String)>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT device_seq, kind, entity_id, payload FROM outbox ORDER BY device_seq",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
