//! What every write leaves behind besides its rows: an outbox op for the server and an audit
//! entry for people. Both are written inside the caller's transaction.

use crate::error::Result;
use crate::WriteContext;
use dukkan_core::ops::Op;
use dukkan_core::{CustomerId, OpId};
use rusqlite::{params, Transaction};

/// Queues `op` for the server and records the audit entry, in the caller's transaction.
pub(crate) fn record(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    op: &Op,
    customer_id: CustomerId,
    entity_id: &str,
    fields: &[&str],
) -> Result<()> {
    let value = serde_json::to_value(op).map_err(|e| crate::DeviceError::Export(e.to_string()))?;
    let payload = value
        .get("payload")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    tx.execute(
        "INSERT INTO outbox (op_id, kind, entity_id, customer_id, payload, staff_id, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            OpId::new().to_string(),
            op.kind(),
            entity_id,
            customer_id.to_string(),
            payload.to_string(),
            ctx.staff_id,
            ctx.now
        ],
    )?;
    let entity = if op.kind().starts_with("address") || op.kind() == "default_address_set" {
        "address"
    } else {
        "customer"
    };
    tx.execute(
        "INSERT INTO audit_log (at, staff_id, device_id, entity, entity_id, customer_id, action, fields)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            ctx.now,
            ctx.staff_id,
            ctx.device_id.to_string(),
            entity,
            entity_id,
            customer_id.to_string(),
            op.kind(),
            serde_json::Value::from(fields.to_vec()).to_string(),
        ],
    )?;
    // A customer with an op in flight is not in step with the server.
    tx.execute(
        "UPDATE customers SET sync_state = 'pending' WHERE id = ?1 AND sync_state = 'synced'",
        [customer_id.to_string()],
    )?;
    Ok(())
}
