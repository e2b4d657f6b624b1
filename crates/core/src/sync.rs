//! The push/pull sync protocol between a device and the tenant server (wire types only).
//!
//! Push: a device sends its outbox in device order. The server applies op `n` only when `n` is
//! the device's next sequence number, advancing that counter in the same transaction as the op's
//! effect, so a replayed op answers [`OpOutcome::Duplicate`] and never applies twice.
//! Pull: the device asks for the tenant's changes after its cursor; every change carries the
//! whole customer as the server now holds it, so applying a page is an idempotent upsert.

use crate::customer::{CustomerKind, CustomerNumber, Preferences};
use crate::ids::{CustomerId, OpId};
use crate::ops::Op;
use serde::{Deserialize, Serialize};

pub use crate::ops::{OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION};

/// Largest device sequence number (or `lastAckedSeq`) accepted: a till making an op every
/// millisecond for 30 years stays far below it, and `seq + 1` can never overflow.
pub const MAX_DEVICE_SEQ: i64 = 1 << 50;

/// Longest `at` text accepted on a pushed op (RFC 3339 with nanoseconds and an offset is 35).
pub const AT_MAX_CHARS: usize = 40;

/// Most orders a customer snapshot carries (the newest): the till's Orders tab.
pub const RECENT_ORDERS: usize = 20;

/// Most ops accepted in one push.
pub const MAX_PUSH_BATCH: usize = 200;
/// Most changes returned in one pull page.
pub const MAX_PULL_PAGE: usize = 1000;
/// Longest a pull may wait for a change (long-poll), in seconds.
pub const MAX_PULL_WAIT_SECS: u64 = 25;

/// One outbox op as pushed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushOp {
    pub op_id: OpId,
    /// This till's number for the op: 1, 2, 3, ... with no gap, at most 2^50.
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1, maximum = 1_125_899_906_842_624_i64)
    )]
    pub device_seq: i64,
    #[serde(flatten)]
    pub op: Op,
    /// The staff member signed in when the op was made (UUID), or none.
    pub staff_id: Option<String>,
    /// When the op happened on the device (RFC 3339).
    #[cfg_attr(feature = "openapi", schema(max_length = 40))]
    pub at: String,
}

/// A batch of ops in device order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushRequest {
    /// The protocol the till speaks: 1 or 2.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2))]
    pub protocol: u32,
    /// At most 200 ops, in device order.
    #[cfg_attr(feature = "openapi", schema(max_items = 200))]
    pub ops: Vec<PushOp>,
}

/// What the server did with one op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum OpOutcome {
    /// Applied now.
    Applied,
    /// Already applied before (a replay); nothing changed.
    Duplicate,
    /// Applied to another customer: the op's customer was merged into `to` (same phone created
    /// offline on two devices). The device re-points its references to `to`.
    Redirected { to: CustomerId },
    /// Refused for good; the device parks it for a person.
    Rejected { code: String },
    /// Not attempted because an earlier op of the device is missing (a gap): resend from
    /// `expected`.
    OutOfOrder { expected: i64 },
    /// Not applied: the server already applied a *different* op under this sequence number
    /// (a till restored from a backup, or copied to a new PC, numbers again from where its
    /// copy stood). The till renumbers its unanswered ops after `last_applied` and pushes
    /// them again. Every later op of the same push is answered the same, so order is kept.
    #[serde(rename_all = "camelCase")]
    SequenceConflict { last_applied: i64 },
}

/// The answer to one pushed op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OpResult {
    pub op_id: OpId,
    pub device_seq: i64,
    #[serde(flatten)]
    pub outcome: OpOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushResponse {
    pub results: Vec<OpResult>,
}

/// An address as the server holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AddressSnapshot {
    pub id: crate::ids::AddressId,
    #[serde(flatten)]
    pub address: crate::address::Address,
}

/// A customer as the server holds it after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerSnapshot {
    pub id: CustomerId,
    pub customer_number: Option<CustomerNumber>,
    pub kind: CustomerKind,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name2: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub phone_verified: bool,
    pub preferences: Option<Preferences>,
    pub loyalty_points: i64,
    pub order_count: i64,
    pub total_spent_minor: i64,
    pub last_order_at: Option<String>,
    /// The customer's latest orders (at most [`RECENT_ORDERS`], newest first), so every till
    /// of the shop shows them; absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_orders: Vec<crate::orders::OrderRecord>,
    pub active: bool,
    /// A walk-in guest without orders that the shop's retention retired: a till drops its copy
    /// (unless it still has work of that customer to send). Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
    pub merged_into: Option<CustomerId>,
    pub default_address_id: Option<crate::ids::AddressId>,
    pub addresses: Vec<AddressSnapshot>,
    /// State of the customer's upgrade, when one was requested.
    pub upgrade_state: Option<UpgradeState>,
    /// When another OTP may be sent (RFC 3339).
    pub resend_after: Option<String>,
    /// When the code sent expires (RFC 3339), while the upgrade is `sent`.
    #[serde(default)]
    pub code_expires_at: Option<String>,
    /// Why the upgrade is `failed`, or why its code is not sent yet (`otp.cooldown`, ...).
    #[serde(default)]
    pub upgrade_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// One entry of the tenant's change feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Position in the tenant's feed; strictly increasing, assigned under the tenant row lock.
    pub seq: i64,
    pub customer: CustomerSnapshot,
}

/// A page of changes after `since`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PullResponse {
    pub changes: Vec<Change>,
    /// The cursor to send next time (the last change's seq, or `since` when empty).
    pub cursor: i64,
    /// True when more changes are waiting (pull again without waiting).
    pub more: bool,
}

/// `POST /api/v1/devices/enroll`: a one-time code, made by a manager, for a device token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollRequest {
    /// The tenant's slug (shown with the code).
    pub tenant: String,
    /// The one-time code (`XXXXX-XXXXX`; lower case and no dash accepted).
    pub code: String,
    /// How the shop calls this till (at most 100 characters).
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub device_name: Option<String>,
    /// The highest device sequence number the server already answered for this installation
    /// (0 for a new one). A re-enrolled device keeps its pending ops; the server continues
    /// its exactly-once counter from here.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 1_125_899_906_842_624_i64)
    )]
    pub last_acked_seq: i64,
}

/// What a device keeps after enrolling. The token is shown once and only its hash is stored
/// on the server.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    pub tenant_id: uuid::Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub device_id: crate::ids::DeviceId,
    pub device_token: String,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment")
            .field("tenant_id", &self.tenant_id)
            .field("device_id", &self.device_id)
            .field("device_token", &"***")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_op_serialises_flat_with_its_kind_and_payload() {
        let op = PushOp {
            op_id: OpId::new(),
            device_seq: 7,
            op: Op::CustomerDeactivated {
                customer_id: CustomerId::new(),
            },
            staff_id: None,
            at: "2026-11-25T10:00:00.000Z".into(),
        };
        let v = serde_json::to_value(&op).unwrap();
        assert_eq!(v["deviceSeq"], 7);
        assert_eq!(v["kind"], "customer_deactivated");
        assert!(v["payload"]["customerId"].is_string());
        assert_eq!(serde_json::from_value::<PushOp>(v).unwrap(), op);
    }

    #[test]
    fn outcomes_are_tagged_by_result() {
        let to = CustomerId::new();
        let v = serde_json::to_value(OpOutcome::Redirected { to }).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"result": "redirected", "to": to.to_string()})
        );
        let r: OpOutcome =
            serde_json::from_str(r#"{"result":"rejected","code":"validation.invalid-phone"}"#)
                .unwrap();
        assert_eq!(
            r,
            OpOutcome::Rejected {
                code: "validation.invalid-phone".into()
            }
        );
    }
}

/// Where an upgrade stub → full stands: `queued` (waiting for the server, or for the phone's
/// cooldown) → `sent` (a code is on its way) → `verified` | `failed` | `expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum UpgradeState {
    Queued,
    Sent,
    Verified,
    Failed,
    Expired,
}

impl UpgradeState {
    pub fn as_str(self) -> &'static str {
        match self {
            UpgradeState::Queued => "queued",
            UpgradeState::Sent => "sent",
            UpgradeState::Verified => "verified",
            UpgradeState::Failed => "failed",
            UpgradeState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => UpgradeState::Queued,
            "sent" => UpgradeState::Sent,
            "verified" => UpgradeState::Verified,
            "failed" => UpgradeState::Failed,
            "expired" => UpgradeState::Expired,
            _ => return None,
        })
    }
}

/// `POST /api/v1/sync/upgrades/{customerId}/verify`: the code the customer read out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyUpgrade {
    pub code: String,
}

/// The server's answer to a device's resend or verify: where the upgrade stands now. A wrong
/// code is an answer too (`errorCode` `otp.invalid`, `attemptsLeft`), not an HTTP error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UpgradeStatus {
    pub customer_id: CustomerId,
    pub state: UpgradeState,
    pub error_code: Option<String>,
    pub code_expires_at: Option<String>,
    pub resend_after: Option<String>,
    pub attempts_left: Option<u32>,
    pub phone_masked: Option<String>,
    /// The customer as the server now holds it (full, phone verified, once `verified`).
    pub customer: Option<CustomerSnapshot>,
}

/// Most entries of each kind one customer history answer holds.
pub const MAX_HISTORY_LIMIT: u32 = 500;
/// Entries of each kind when the query names no limit.
pub const DEFAULT_HISTORY_LIMIT: u32 = 100;

/// One change to a customer (or one of its addresses) as the server's audit log keeps it: who
/// (by name), from which till, what action and which fields — never their values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ServerAuditEntry {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: chrono::DateTime<chrono::Utc>,
    /// `customer` or `address`.
    pub entity: String,
    pub entity_id: uuid::Uuid,
    /// What was done (`create`, `update`, `deactivate`, `merge`, …).
    pub action: String,
    /// The fields changed (names only, never values).
    pub fields: Vec<String>,
    pub staff_id: Option<uuid::Uuid>,
    /// The staff member's name while they are on the shop's staff list.
    pub staff_name: Option<String>,
    /// The till it was made on, when it came by sync.
    pub device_id: Option<uuid::Uuid>,
    pub device_name: Option<String>,
}

/// One merge a customer took part in (as the duplicate or as the one that stayed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ServerMergeEntry {
    pub id: uuid::Uuid,
    pub source_customer_id: uuid::Uuid,
    pub target_customer_id: uuid::Uuid,
    pub reason: String,
    pub merged_by: Option<uuid::Uuid>,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub merged_at: chrono::DateTime<chrono::Utc>,
    pub orders_moved: i32,
    pub loyalty_points_merged: i64,
    /// When the merge was undone (`POST /customers/merges/{id}/undo`), if it was.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[serde(default)]
    pub undone_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A customer's history as the server holds it, newest first: the answer of
/// `GET /api/v1/customers/{id}/history` (managers) and `GET /api/v1/sync/customers/{id}/history`
/// (tills, shown to a signed-in manager).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ServerHistory {
    pub audit: Vec<ServerAuditEntry>,
    pub merges: Vec<ServerMergeEntry>,
}
