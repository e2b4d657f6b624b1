//! What can go wrong in a use case, with a stable code and a Fluent message for the person.

use dukkan_core::rules::Refusal;
use dukkan_core::{LocalizedMessage, MessageArg, ValidationError};

/// The kind of record an id pointed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Customer,
    Address,
    /// A merge this till does not know.
    Merge,
}

/// An error of a device use case. On every error, nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The customer rules (`dukkan_core::rules`) refused the change.
    #[error(transparent)]
    Refused(Refusal),
    #[error("{0:?} not found")]
    NotFound(Entity),
    #[error("database schema version {found} is newer than this app supports ({supported})")]
    DatabaseTooNew { found: i64, supported: i64 },
    /// The store is encrypted and its key is not where it was kept (the credential store was
    /// reset or cannot be reached, or the file was copied from another till).
    #[error("the key of the encrypted store is missing")]
    StoreKeyMissing,
    /// The kept key does not open the store.
    #[error("the kept key does not open the store")]
    StoreKeyWrong,
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("export failed: {0}")]
    Export(String),
    #[error("{pending} operations have not reached the server yet")]
    UnsyncedOps { pending: u64 },
    #[error("enrollment refused: {0}")]
    EnrollmentRefused(String),
    #[error("the server could not be reached")]
    ServerUnreachable,
    /// A plain `http://` server address for another computer.
    #[error("the server address must use https")]
    InsecureServer,
    /// The server's TLS certificate is not signed by an authority the till trusts (the
    /// system's, or the shop's CA file): another machine may be answering in its place.
    #[error("the server's certificate is not trusted")]
    ServerUntrusted,
    /// The shop's CA file (`DUKKAN_SERVER_CA`) cannot be read or holds no certificate.
    #[error("the server CA file cannot be used: {0}")]
    ServerCaInvalid(String),
    #[error("this device is not enrolled with a server")]
    NotEnrolled,
    #[error("the upgrade request has not reached the server yet")]
    UpgradeWaitingForSync,
    #[error("no upgrade was requested for this customer")]
    NoUpgradeRequest,
    #[error("a verification code has six digits")]
    OtpMalformed,
    #[error("a staff member must sign in first")]
    SignInRequired,
    #[error("wrong PIN")]
    PinWrong,
    /// A standalone till's owner has not set a PIN yet: nothing works before.
    #[error("the till's owner must set a PIN first")]
    OwnerPinRequired,
    /// The till has a roster (or is enrolled): it has no owner PIN to set.
    #[error("this till already has staff")]
    OwnerPinNotNeeded,
    #[error("a PIN here has at least {min} digits")]
    PinNotAllowed { min: usize },
    #[error("sign-in is locked for {seconds} s after too many wrong PINs")]
    SignInLocked { seconds: u64 },
    /// A backup passphrase shorter than the minimum.
    #[error("a backup passphrase has at least {min} characters")]
    BackupPassphraseTooShort { min: usize },
    /// The backup file could not be written (the folder is missing or full, no permission).
    #[error("the backup could not be written: {0}")]
    BackupWriteFailed(String),
    /// No backup file at the path given.
    #[error("there is no backup file there")]
    BackupNotFound,
    /// The passphrase does not open the backup.
    #[error("the passphrase does not open this backup")]
    BackupWrongPassphrase,
    /// The file opens but is not a Dukkan till's backup (or is not an encrypted database).
    #[error("this file is not a Dukkan backup")]
    NotABackup,
}

impl DeviceError {
    /// Stable machine code (the UI decides on it; nobody matches on text), in the one
    /// vocabulary of the till, the server and the API: `area.problem`.
    pub fn code(&self) -> &'static str {
        match self {
            DeviceError::Validation(v) => v.code(),
            DeviceError::Refused(r) => r.code(),
            DeviceError::NotFound(Entity::Customer) => "customer.not-found",
            DeviceError::NotFound(Entity::Address) => "address.not-found",
            DeviceError::NotFound(Entity::Merge) => "merge.not-found",
            DeviceError::DatabaseTooNew { .. } => "storage.too-new",
            DeviceError::StoreKeyMissing => "storage.key-missing",
            DeviceError::StoreKeyWrong => "storage.key-wrong",
            DeviceError::Migration(_) | DeviceError::Storage(_) | DeviceError::Export(_) => {
                "storage.failed"
            }
            DeviceError::UnsyncedOps { .. } => "sync.unsynced-ops",
            DeviceError::EnrollmentRefused(_) => "device.enrollment-refused",
            DeviceError::ServerUnreachable => "sync.server-unreachable",
            DeviceError::InsecureServer => "device.insecure-server",
            DeviceError::ServerUntrusted => "device.server-untrusted",
            DeviceError::ServerCaInvalid(_) => "device.server-ca-invalid",
            DeviceError::NotEnrolled => "device.not-enrolled",
            DeviceError::UpgradeWaitingForSync => "upgrade.waiting-for-sync",
            DeviceError::NoUpgradeRequest => "upgrade.not-requested",
            DeviceError::OtpMalformed => "otp.malformed",
            DeviceError::SignInRequired => "auth.sign-in-required",
            DeviceError::PinWrong => "auth.pin-wrong",
            DeviceError::OwnerPinRequired => "auth.owner-pin-required",
            DeviceError::OwnerPinNotNeeded => "auth.owner-pin-not-needed",
            DeviceError::PinNotAllowed { .. } => "staff.invalid-pin",
            DeviceError::SignInLocked { .. } => "auth.sign-in-locked",
            DeviceError::BackupPassphraseTooShort { .. } => "backup.passphrase-too-short",
            DeviceError::BackupWriteFailed(_) => "backup.write-failed",
            DeviceError::BackupNotFound => "backup.not-found",
            DeviceError::BackupWrongPassphrase => "backup.wrong-passphrase",
            DeviceError::NotABackup => "backup.not-a-backup",
        }
    }

    /// The message to show, as a Fluent id with arguments (in `i18n/*/errors.ftl`).
    pub fn message(&self) -> LocalizedMessage {
        let id = match self {
            DeviceError::Validation(v) => return v.message(),
            DeviceError::Refused(r) => return r.message(),
            DeviceError::DatabaseTooNew { found, .. } => {
                return LocalizedMessage::new("error-database-too-new")
                    .with("found", MessageArg::Number(*found as f64))
            }
            DeviceError::UnsyncedOps { pending } => {
                return LocalizedMessage::new("error-unsynced-ops")
                    .with("pending", MessageArg::Number(*pending as f64))
            }
            DeviceError::SignInLocked { seconds } => {
                return LocalizedMessage::new("error-sign-in-locked")
                    .with("seconds", MessageArg::Number(*seconds as f64))
            }
            DeviceError::PinNotAllowed { min } => {
                return LocalizedMessage::new("error-pin-not-allowed")
                    .with("min", MessageArg::Number(*min as f64))
            }
            DeviceError::BackupPassphraseTooShort { min } => {
                return LocalizedMessage::new("error-backup-passphrase-too-short")
                    .with("min", MessageArg::Number(*min as f64))
            }
            DeviceError::NotFound(_) => "error-not-found",
            DeviceError::StoreKeyMissing => "error-store-key-missing",
            DeviceError::StoreKeyWrong => "error-store-key-wrong",
            DeviceError::Migration(_) | DeviceError::Storage(_) | DeviceError::Export(_) => {
                "error-storage"
            }
            DeviceError::EnrollmentRefused(_) => "error-enrollment-refused",
            DeviceError::ServerUnreachable => "error-server-unreachable",
            DeviceError::InsecureServer => "error-insecure-server",
            DeviceError::ServerUntrusted => "error-server-untrusted",
            DeviceError::ServerCaInvalid(_) => "error-server-ca-invalid",
            DeviceError::NotEnrolled => "error-not-enrolled",
            DeviceError::UpgradeWaitingForSync => "error-upgrade-waiting-for-sync",
            DeviceError::NoUpgradeRequest => "error-no-upgrade-request",
            DeviceError::OtpMalformed => "error-otp-malformed",
            DeviceError::SignInRequired => "error-sign-in-required",
            DeviceError::PinWrong => "error-pin-wrong",
            DeviceError::OwnerPinRequired => "error-owner-pin-required",
            DeviceError::OwnerPinNotNeeded => "error-owner-pin-not-needed",
            DeviceError::BackupWriteFailed(_) => "error-backup-write-failed",
            DeviceError::BackupNotFound => "error-backup-not-found",
            DeviceError::BackupWrongPassphrase => "error-backup-wrong-passphrase",
            DeviceError::NotABackup => "error-not-a-backup",
        };
        LocalizedMessage::new(id)
    }

    /// One of each kind of error (for the vocabulary test).
    #[cfg(test)]
    fn catalogue() -> Vec<DeviceError> {
        vec![
            DeviceError::NotFound(Entity::Customer),
            DeviceError::NotFound(Entity::Address),
            DeviceError::NotFound(Entity::Merge),
            DeviceError::DatabaseTooNew {
                found: 9,
                supported: 5,
            },
            DeviceError::StoreKeyMissing,
            DeviceError::StoreKeyWrong,
            DeviceError::Migration("x".into()),
            DeviceError::Storage(rusqlite::Error::InvalidQuery),
            DeviceError::Export("x".into()),
            DeviceError::UnsyncedOps { pending: 2 },
            DeviceError::EnrollmentRefused("x".into()),
            DeviceError::ServerUnreachable,
            DeviceError::InsecureServer,
            DeviceError::ServerUntrusted,
            DeviceError::ServerCaInvalid("x".into()),
            DeviceError::NotEnrolled,
            DeviceError::UpgradeWaitingForSync,
            DeviceError::NoUpgradeRequest,
            DeviceError::OtpMalformed,
            DeviceError::SignInRequired,
            DeviceError::PinWrong,
            DeviceError::SignInLocked { seconds: 30 },
            DeviceError::OwnerPinRequired,
            DeviceError::OwnerPinNotNeeded,
            DeviceError::PinNotAllowed { min: 6 },
            DeviceError::BackupPassphraseTooShort { min: 10 },
            DeviceError::BackupWriteFailed("x".into()),
            DeviceError::BackupNotFound,
            DeviceError::BackupWrongPassphrase,
            DeviceError::NotABackup,
        ]
    }
}

impl From<Refusal> for DeviceError {
    /// A field that failed its check stays a validation error (one code per problem).
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Invalid(v) => DeviceError::Validation(v),
            other => DeviceError::Refused(other),
        }
    }
}

pub type Result<T, E = DeviceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use dukkan_core::i18n::{Locale, Localizer};

    #[test]
    fn every_till_error_has_a_code_in_the_one_vocabulary_and_text_in_both_languages() {
        let l = Localizer::load().unwrap();
        for e in DeviceError::catalogue() {
            let code = e.code();
            let (area, problem) = code.split_once('.').unwrap_or_default();
            let word =
                |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '-');
            assert!(word(area) && word(problem), "{code} is not area.problem");
            for locale in Locale::ALL {
                let id = e.message().id;
                assert!(
                    l.has(locale, &id),
                    "{id} ({code}) missing in {}",
                    locale.tag()
                );
            }
        }
    }
}
