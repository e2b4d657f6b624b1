//! A customer's history on this till, for the Activity tab: the audit entries (who, when, which
//! action, which fields — never the values) and the sync history of the operations behind them.

use crate::error::Result;
use crate::Device;
use dukkan_core::CustomerId;
use serde::{Deserialize, Serialize};

/// Most entries of each list returned: the tab shows recent history, not an export.
pub const ACTIVITY_LIMIT: usize = 500;

/// One audited change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub at: String,
    /// The signed-in staff member, `None` when nobody was signed in.
    pub staff_id: Option<String>,
    /// Their name, while they are on this till's roster.
    pub staff_name: Option<String>,
    pub device_id: String,
    /// `customer` or `address`.
    pub entity: String,
    /// The operation kind (`customer_created`, `address_added`, ...), localised by the UI.
    pub action: String,
    /// Names of the fields changed (never their values).
    pub fields: Vec<String>,
}

/// Where an operation of this customer stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum OpState {
    /// Waiting in the outbox.
    Pending,
    /// Refused by the server; waits for a person (retry or discard).
    Parked,
    /// No longer in the outbox: answered by the server. The device keeps no separate record of
    /// acknowledgements, so this is inferred from the audit entry whose op has left the outbox
    /// (an op a person discarded from the parked list leaves it too).
    Acknowledged,
}

/// One operation in the customer's sync history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SyncEntry {
    /// The outbox position while queued; `None` once acknowledged.
    pub device_seq: Option<i64>,
    pub kind: String,
    /// When the change was made on the device.
    pub at: String,
    pub state: OpState,
    /// The server's refusal code of a parked op.
    pub error_code: Option<String>,
    /// Times the op was sent and refused.
    pub attempts: i64,
}

/// The Activity tab of one customer, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CustomerActivity {
    pub audit: Vec<AuditEntry>,
    pub sync: Vec<SyncEntry>,
}

impl Device {
    /// The customer's audit entries and sync history, newest first, at most
    /// [`ACTIVITY_LIMIT`] of each. Entries of customers the server merged into this one are
    /// included (their history is now this customer's).
    pub fn customer_activity(&self, customer: CustomerId) -> Result<CustomerActivity> {
        self.authorize(dukkan_core::staff::Role::Cashier)?;
        let id = customer.to_string();
        let limit = ACTIVITY_LIMIT as i64;
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT a.at, a.staff_id, a.device_id, a.entity, a.action, a.fields, s.name
                 FROM audit_log a LEFT JOIN staff s ON s.id = a.staff_id
                 WHERE a.customer_id = ?1
                    OR a.customer_id IN (SELECT id FROM customers WHERE merged_into = ?1)
                 ORDER BY a.at DESC, a.seq DESC LIMIT ?2",
            )?;
            let audit = stmt
                .query_map(rusqlite::params![id, limit], |r| {
                    let fields: String = r.get(5)?;
                    Ok(AuditEntry {
                        at: r.get(0)?,
                        staff_id: r.get(1)?,
                        staff_name: r.get(6)?,
                        device_id: r.get(2)?,
                        entity: r.get(3)?,
                        action: r.get(4)?,
                        fields: serde_json::from_str(&fields).unwrap_or_default(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;

            // An audit entry and its op are written in one transaction with the same entity,
            // kind and time; an entry of this device whose op is gone was answered.
            let mut stmt = c.prepare(
                "SELECT device_seq, kind, at, state, error_code, attempts FROM (
                    SELECT device_seq, kind, at, state, error_code, attempts FROM outbox
                     WHERE customer_id = ?1
                    UNION ALL
                    SELECT NULL, a.action, a.at, 'acknowledged', NULL, 0 FROM audit_log a
                     WHERE (a.customer_id = ?1
                            OR a.customer_id IN (SELECT id FROM customers WHERE merged_into = ?1))
                       AND a.device_id = ?2
                       AND NOT EXISTS (SELECT 1 FROM outbox o
                                        WHERE o.entity_id = a.entity_id AND o.kind = a.action
                                          AND o.at = a.at))
                 ORDER BY at DESC, device_seq DESC LIMIT ?3",
            )?;
            let sync = stmt
                .query_map(
                    rusqlite::params![id, self.device_id().to_string(), limit],
                    |r| {
                        let state: String = r.get(3)?;
                        Ok(SyncEntry {
                            device_seq: r.get(0)?,
                            kind: r.get(1)?,
                            at: r.get(2)?,
                            state: match state.as_str() {
                                "pending" => OpState::Pending,
                                "parked" => OpState::Parked,
                                _ => OpState::Acknowledged,
                            },
                            error_code: r.get(4)?,
                            attempts: r.get(5)?,
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(CustomerActivity { audit, sync })
        })
    }
}
