//! What can go wrong in a use case, with a stable code and a Fluent message for the person.

use dukkan_core::rules::Refusal;
use dukkan_core::{LocalizedMessage, MessageArg, ValidationError};

/// The kind of record an id pointed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Customer,
    Address,
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
    #[error("sign-in is locked for {seconds} s after too many wrong PINs")]
    SignInLocked { seconds: u64 },
}

impl DeviceError {
    /// Stable machine code (the UI decides on it; nobody matches on text).
    pub fn code(&self) -> &'static str {
        match self {
            DeviceError::Validation(v) => v.code(),
            DeviceError::Refused(r) => r.code(),
            DeviceError::NotFound(_) => "not-found",
            DeviceError::DatabaseTooNew { .. } => "database-too-new",
            DeviceError::Migration(_) | DeviceError::Storage(_) | DeviceError::Export(_) => {
                "storage"
            }
            DeviceError::UnsyncedOps { .. } => "unsynced-ops",
            DeviceError::EnrollmentRefused(_) => "enrollment-refused",
            DeviceError::ServerUnreachable => "server-unreachable",
            DeviceError::NotEnrolled => "not-enrolled",
            DeviceError::UpgradeWaitingForSync => "upgrade-waiting-for-sync",
            DeviceError::NoUpgradeRequest => "no-upgrade-request",
            DeviceError::OtpMalformed => "otp-malformed",
            DeviceError::SignInRequired => "sign-in-required",
            DeviceError::PinWrong => "pin-wrong",
            DeviceError::SignInLocked { .. } => "sign-in-locked",
        }
    }

    /// The message to show, as a Fluent id with arguments.
    pub fn message(&self) -> LocalizedMessage {
        match self {
            DeviceError::Validation(v) => v.message(),
            DeviceError::Refused(r) => r.message(),
            DeviceError::DatabaseTooNew { found, .. } => {
                LocalizedMessage::new("error-database-too-new")
                    .with("found", MessageArg::Number(*found as f64))
            }
            DeviceError::UnsyncedOps { pending } => LocalizedMessage::new("error-unsynced-ops")
                .with("pending", MessageArg::Number(*pending as f64)),
            DeviceError::SignInLocked { seconds } => LocalizedMessage::new("error-sign-in-locked")
                .with("seconds", MessageArg::Number(*seconds as f64)),
            other => LocalizedMessage::new(format!("error-{}", other.code())),
        }
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
