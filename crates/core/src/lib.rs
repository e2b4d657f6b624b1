//! `dukkan-core`: Dukkan's pure domain, shared by the device and the tenant server.
//!
//! No I/O lives here. Every value a person types is parsed into a newtype through a fallible
//! constructor (`PersonName::parse`, `Phone::parse`, ...); once you hold one, it is valid.
//! Errors that reach a person carry a stable code and a Fluent message id (see [`error`]).
#![forbid(unsafe_code)]

pub mod address;
pub mod customer;
pub mod duplicates;
pub mod email;
pub mod error;
pub mod export;
pub mod i18n;
pub mod ids;
pub mod net;
pub mod ops;
pub mod orders;
pub mod phone;
pub mod rules;
pub mod search;
pub mod staff;
pub mod sync;
pub mod text;
pub mod time;

pub use address::{Address, AddressInput, AddressType, CountryCode, GeoPoint};
pub use customer::{
    CustomerKind, CustomerNumber, Folding, NotificationChannel, Preferences, StubInput, ValidStub,
};
pub use email::Email;
pub use error::{Field, LocalizedMessage, MessageArg, ValidationError};
pub use ids::{AddressId, AdjustmentId, CustomerId, DeviceId, MergeId, OpId, OrderId};
pub use phone::Phone;
pub use text::{FreeText, PersonName};
