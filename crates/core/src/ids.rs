//! Identifiers generated on the device: UUIDv7, so they sort by creation time and never collide
//! between devices working offline.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A customer, on every device and on the server.
    CustomerId
);
uuid_id!(
    /// An address of a customer.
    AddressId
);
uuid_id!(
    /// One operation in a device's outbox; the server's idempotency key.
    OpId
);
uuid_id!(
    /// A device (one till / one installation).
    DeviceId
);
uuid_id!(
    /// An order (a drop-off ticket): made where the order is taken, so recording it is
    /// idempotent everywhere.
    OrderId
);
uuid_id!(
    /// A manager's adjustment of a customer's loyalty points.
    AdjustmentId
);
uuid_id!(
    /// One merge of a duplicate into the customer that stays: made where the manager merges,
    /// so a merge is recorded once and can be undone by naming it.
    MergeId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_7_and_sort_by_creation() {
        let a = CustomerId::new();
        let b = CustomerId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b);
        assert!(a.to_string() < b.to_string(), "text form sorts like the id");
    }

    #[test]
    fn ids_round_trip_through_text() {
        let a = AddressId::new();
        assert_eq!(a.to_string().parse::<AddressId>().ok(), Some(a));
        assert!("not-a-uuid".parse::<AddressId>().is_err());
    }
}
