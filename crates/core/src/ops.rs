//! Operations a device records in its outbox and pushes to the tenant server.
//!
//! These are wire types: the device writes them, the server applies them. Updates carry only the
//! fields that changed, so the server can apply the field-level conflict policy (a field changed
//! by a later-applied op wins; fields an op did not touch are kept).

use crate::address::Address;
use crate::customer::{CustomerKind, Preferences};
use crate::ids::{AddressId, AdjustmentId, CustomerId, MergeId, OrderId};
use serde::{Deserialize, Deserializer, Serialize};

/// Version of the push/pull protocol these types describe.
///
/// 2 added [`crate::sync::OpOutcome::SequenceConflict`] (a device sequence number already used
/// by another op: the till renumbers and pushes again) and the `customer_reactivated` op. A
/// till still on 1 is answered a conflict as `rejected` with `sync.sequence-conflict`, which
/// it parks for a person (and never a `customer_reactivated`, which it cannot make).
/// The `order_recorded`, `points_adjusted`, `customer_merged` and `merge_undone` ops came later without a version bump: a till
/// that predates them never makes them, and a server that predates them rejects them (the
/// till parks them; nothing is lost).
pub const PROTOCOL_VERSION: u32 = 2;

/// The oldest protocol the server still answers.
pub const OLDEST_PROTOCOL_VERSION: u32 = 1;

/// What an operation does. The tag is stored in the outbox's `kind` column.
/// (Each struct variant names its fields in camelCase: the OpenAPI derive does not read
/// serde's `rename_all_fields`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Op {
    CustomerCreated(CustomerCreated),
    CustomerUpdated(CustomerUpdated),
    #[serde(rename_all = "camelCase")]
    CustomerDeactivated {
        customer_id: CustomerId,
    },
    /// A manager brought a deactivated customer back.
    #[serde(rename_all = "camelCase")]
    CustomerReactivated {
        customer_id: CustomerId,
    },
    #[serde(rename_all = "camelCase")]
    AddressAdded {
        customer_id: CustomerId,
        address_id: AddressId,
        address: Address,
    },
    #[serde(rename_all = "camelCase")]
    AddressUpdated {
        customer_id: CustomerId,
        address_id: AddressId,
        address: Address,
    },
    #[serde(rename_all = "camelCase")]
    AddressDeleted {
        customer_id: CustomerId,
        address_id: AddressId,
    },
    #[serde(rename_all = "camelCase")]
    DefaultAddressSet {
        customer_id: CustomerId,
        address_id: AddressId,
    },
    #[serde(rename_all = "camelCase")]
    UpgradeRequested {
        customer_id: CustomerId,
        email: String,
        preferences: Preferences,
        /// Language of the verification SMS; the server's default when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<crate::i18n::Locale>,
    },
    /// A drop-off order taken for the customer (a guest too).
    OrderRecorded(OrderRecorded),
    /// A manager added or took away loyalty points, saying why.
    #[serde(rename_all = "camelCase")]
    PointsAdjusted {
        customer_id: CustomerId,
        adjustment_id: AdjustmentId,
        /// Points added (positive) or taken away (negative); never zero.
        delta: i64,
        reason: String,
    },
    /// A manager merged the duplicate `customer_id` into `target_id`: its orders, addresses
    /// and points move to the target, the target takes what it lacks, the duplicate is
    /// deactivated and points at the target.
    #[serde(rename_all = "camelCase")]
    CustomerMerged {
        merge_id: MergeId,
        /// The duplicate.
        customer_id: CustomerId,
        /// The customer that stays.
        target_id: CustomerId,
        reason: String,
    },
    /// A manager undid a merge (within [`crate::rules::MERGE_UNDO_HOURS`] of it): the
    /// duplicate `customer_id` is back with what moved.
    #[serde(rename_all = "camelCase")]
    MergeUndone {
        merge_id: MergeId,
        /// The duplicate the merge deactivated.
        customer_id: CustomerId,
        /// The customer it was merged into.
        target_id: CustomerId,
    },
}

/// An order taken at a till (or posted by an order system over REST). The order id is made
/// where the order is taken: recording the same order twice records it once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderRecorded {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    /// The ticket reference printed for the customer (at most 32 characters).
    pub ticket: String,
    /// Baisa (1 OMR = 1,000), 0 to 100,000,000.
    pub amount_baisa: i64,
    /// 1 to 999.
    pub pieces: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Op {
    /// The outbox `kind` tag of this op.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::CustomerCreated(_) => "customer_created",
            Op::CustomerUpdated(_) => "customer_updated",
            Op::CustomerDeactivated { .. } => "customer_deactivated",
            Op::CustomerReactivated { .. } => "customer_reactivated",
            Op::AddressAdded { .. } => "address_added",
            Op::AddressUpdated { .. } => "address_updated",
            Op::AddressDeleted { .. } => "address_deleted",
            Op::DefaultAddressSet { .. } => "default_address_set",
            Op::UpgradeRequested { .. } => "upgrade_requested",
            Op::OrderRecorded(_) => "order_recorded",
            Op::PointsAdjusted { .. } => "points_adjusted",
            Op::CustomerMerged { .. } => "customer_merged",
            Op::MergeUndone { .. } => "merge_undone",
        }
    }

    /// The customer the op changes.
    pub fn customer_id(&self) -> CustomerId {
        match self {
            Op::CustomerCreated(c) => c.id,
            Op::CustomerUpdated(u) => u.id,
            Op::OrderRecorded(o) => o.customer_id,
            Op::CustomerDeactivated { customer_id }
            | Op::PointsAdjusted { customer_id, .. }
            | Op::CustomerMerged { customer_id, .. }
            | Op::MergeUndone { customer_id, .. }
            | Op::CustomerReactivated { customer_id }
            | Op::AddressAdded { customer_id, .. }
            | Op::AddressUpdated { customer_id, .. }
            | Op::AddressDeleted { customer_id, .. }
            | Op::DefaultAddressSet { customer_id, .. }
            | Op::UpgradeRequested { customer_id, .. } => *customer_id,
        }
    }
}

/// A customer created (guest or stub), on a till or over REST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerCreated {
    pub id: CustomerId,
    pub kind: CustomerKind,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name2: Option<String>,
    pub phone: Option<String>,
    /// A stub's email, when known at once (the REST API takes it; tills add it by an edit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<Preferences>,
}

/// The fields an edit changed. `None` = untouched; `Some(None)` = cleared.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerUpdated {
    pub id: CustomerId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub last_name: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub name2: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub email: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<Preferences>,
}

impl CustomerUpdated {
    /// Names of the fields this update touches (for the audit log).
    pub fn changed_fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let pairs = [
            (self.first_name.is_some(), "firstName"),
            (self.last_name.is_some(), "lastName"),
            (self.name2.is_some(), "name2"),
            (self.phone.is_some(), "phone"),
            (self.email.is_some(), "email"),
            (self.preferences.is_some(), "preferences"),
        ];
        for (changed, name) in pairs {
            if changed {
                out.push(name);
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.changed_fields().is_empty()
    }
}

/// A field that is present in JSON is `Some(value)`, even when the value is `null`: tells an
/// absent field (`None`: keep) from `null` (`Some(None)`: clear). Use with
/// `#[serde(default, deserialize_with = "...")]`.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_distinguish_untouched_from_cleared_fields() {
        let id = CustomerId::new();
        let json = format!(r#"{{"id":"{id}","lastName":null,"firstName":"Ali"}}"#);
        let u: CustomerUpdated = serde_json::from_str(&json).unwrap();
        assert_eq!(u.last_name, Some(None));
        assert_eq!(u.name2, None);
        assert_eq!(u.changed_fields(), vec!["firstName", "lastName"]);
        let back = serde_json::to_value(&u).unwrap();
        assert!(back.get("name2").is_none(), "untouched fields are not sent");
        assert!(back["lastName"].is_null());
    }

    #[test]
    fn ops_serialise_with_their_kind_tag() {
        let op = Op::CustomerDeactivated {
            customer_id: CustomerId::new(),
        };
        let v = serde_json::to_value(&op).unwrap();
        assert_eq!(v["kind"], op.kind());
        let back: Op = serde_json::from_value(v).unwrap();
        assert_eq!(back, op);
    }
}
