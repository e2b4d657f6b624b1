//! What every write leaves behind in its own transaction: an audit row (who, which device,
//! when, which fields — never the values) and a change-feed entry for the devices to pull.

use crate::error::Error;
use crate::ids::TenantId;
use crate::staff::Actor;
use deadpool_postgres::Transaction;
use uuid::Uuid;

/// Who made a change: a signed-in staff member over REST, or an enrolled device (with the
/// staff member signed in on it, when the server knows them).
#[derive(Debug, Clone, Copy)]
pub struct Author {
    pub tenant: TenantId,
    pub staff: Option<Uuid>,
    pub device: Option<Uuid>,
}

impl From<&Actor> for Author {
    fn from(actor: &Actor) -> Self {
        Author {
            tenant: actor.tenant,
            staff: Some(actor.staff.0),
            device: None,
        }
    }
}

/// The entities the change feed and the audit log speak of.
#[derive(Debug, Clone, Copy)]
pub enum Entity {
    Customer,
    Address,
}

impl Entity {
    fn as_str(self) -> &'static str {
        match self {
            Entity::Customer => "customer",
            Entity::Address => "address",
        }
    }
}

/// Records one change of `entity_id`: audit row plus change-feed entry.
///
/// The feed sequence comes from the tenant's counters row, whose lock this transaction then
/// holds until commit: feed entries commit in sequence order, so a pull never skips one.
pub async fn record(
    tx: &Transaction<'_>,
    author: impl Into<Author>,
    entity: Entity,
    entity_id: Uuid,
    action: &str,
    fields: &[&str],
) -> Result<i64, Error> {
    let author = author.into();
    tx.execute(
        "INSERT INTO audit_log (tenant_id, id, entity, entity_id, action, staff_id, device_id, fields)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &author.tenant.0,
            &Uuid::now_v7(),
            &entity.as_str(),
            &entity_id,
            &action,
            &author.staff,
            &author.device,
            &serde_json::json!(fields),
        ],
    )
    .await?;
    let seq: i64 = tx
        .query_one(
            "UPDATE tenant_counters SET next_change_seq = next_change_seq + 1
             WHERE tenant_id = $1 RETURNING next_change_seq - 1",
            &[&author.tenant.0],
        )
        .await?
        .get(0);
    tx.execute(
        "INSERT INTO change_feed (tenant_id, seq, entity, entity_id) VALUES ($1, $2, $3, $4)",
        &[&author.tenant.0, &seq, &entity.as_str(), &entity_id],
    )
    .await?;
    Ok(seq)
}
