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
    let audit = tx
        .prepare_cached(
            "INSERT INTO audit_log (tenant_id, id, entity, entity_id, action, staff_id, device_id, fields)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    let feed = tx
        .prepare_cached(
            "WITH s AS (UPDATE tenant_counters SET next_change_seq = next_change_seq + 1
                        WHERE tenant_id = $1 RETURNING next_change_seq - 1 AS seq)
             INSERT INTO change_feed (tenant_id, seq, entity, entity_id)
             SELECT $1, s.seq, $2, $3 FROM s RETURNING seq",
        )
        .await?;
    let id = Uuid::now_v7();
    let fields = serde_json::json!(fields);
    let entity = entity.as_str();
    let audit_params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
        &author.tenant.0,
        &id,
        &entity,
        &entity_id,
        &action,
        &author.staff,
        &author.device,
        &fields,
    ];
    let feed_params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&author.tenant.0, &entity, &entity_id];
    // Independent statements of one transaction, sent together (tokio-postgres pipelines
    // concurrent queries on a connection, in order): one round trip instead of two.
    let (_, row) = tokio::try_join!(
        tx.execute(&audit, &audit_params),
        tx.query_one(&feed, &feed_params),
    )?;
    Ok(row.get(0))
}

/// Records one change of each of `entity_ids` (audit rows and change-feed entries, in that
/// order), with one statement for each table: what a run of [`record`] calls would leave.
/// `staff[i]` made the change of `entity_ids[i]`; `author.staff` is not used.
pub async fn record_many(
    tx: &Transaction<'_>,
    author: Author,
    entity: Entity,
    entity_ids: &[Uuid],
    staff: &[Option<Uuid>],
    action: &str,
    fields: &[&str],
) -> Result<(), Error> {
    let ids: Vec<Uuid> = entity_ids.iter().map(|_| Uuid::now_v7()).collect();
    let count = i64::try_from(entity_ids.len()).map_err(|_| Error::Internal("batch".into()))?;
    let fields = serde_json::json!(fields);
    let entity = entity.as_str();
    let audit_params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
        &author.tenant.0,
        &entity,
        &action,
        &author.device,
        &fields,
        &ids,
        &entity_ids,
        &staff,
    ];
    let audit = tx.execute(
        "INSERT INTO audit_log (tenant_id, id, entity, entity_id, action, staff_id, device_id, fields)
         SELECT $1, r.id, $2, r.entity_id, $3, r.staff, $4, $5
         FROM unnest($6::uuid[], $7::uuid[], $8::uuid[]) AS r(id, entity_id, staff)",
        &audit_params,
    );
    // Sequence numbers in order, under the counters row lock (see `record`).
    let feed_params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&author.tenant.0, &entity, &count, &entity_ids];
    let feed = tx.execute(
        "WITH s AS (UPDATE tenant_counters SET next_change_seq = next_change_seq + $3
                    WHERE tenant_id = $1 RETURNING next_change_seq - $3 AS first)
         INSERT INTO change_feed (tenant_id, seq, entity, entity_id)
         SELECT $1, s.first + r.i - 1, $2, r.entity_id
         FROM s, unnest($4::uuid[]) WITH ORDINALITY AS r(entity_id, i)",
        &feed_params,
    );
    let (_, fed) = tokio::try_join!(audit, feed)?;
    if fed != count.unsigned_abs() {
        return Err(Error::Internal("tenant counters row missing".into()));
    }
    Ok(())
}
