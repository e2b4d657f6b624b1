//! A customer's history over REST (managers): the audit entries of the customer and of its
//! addresses — who (by name), from which till, what action and which fields (never values) —
//! and the merges it took part in, newest first.

use crate::db;
use crate::error::Error;
use crate::staff::{Actor, Role};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most entries of each kind one answer holds.
pub const MAX_LIMIT: u32 = 500;
const DEFAULT_LIMIT: u32 = 100;

/// `GET /customers/{id}/history` query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Entries of each kind, newest first (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// One change, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// `customer` or `address`.
    pub entity: String,
    pub entity_id: Uuid,
    /// What was done (`create`, `update`, `deactivate`, `merge`, …).
    pub action: String,
    /// The fields changed (names only, never values).
    pub fields: Vec<String>,
    pub staff_id: Option<Uuid>,
    /// The staff member's name while they are on the shop's staff list.
    pub staff_name: Option<String>,
    /// The till it was made on, when it came by sync.
    pub device_id: Option<Uuid>,
    pub device_name: Option<String>,
}

/// One merge this customer took part in (as the duplicate or as the one that stayed).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeEntry {
    pub id: Uuid,
    pub source_customer_id: Uuid,
    pub target_customer_id: Uuid,
    pub reason: String,
    pub merged_by: Option<Uuid>,
    pub merged_at: DateTime<Utc>,
    pub orders_moved: i32,
    pub loyalty_points_merged: i64,
}

/// The answer of `GET /customers/{id}/history`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerHistory {
    pub audit: Vec<AuditEntry>,
    pub merges: Vec<MergeEntry>,
}

/// The history of `customer`, a customer of the actor's shop (404 otherwise). Managers and
/// admins: it says who did what at the shop.
pub async fn history(
    pool: &Pool,
    actor: &Actor,
    customer: Uuid,
    query: HistoryQuery,
) -> Result<CustomerHistory, Error> {
    actor.require(Role::Manager)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::InvalidQuery);
    }
    let limit = i64::from(limit);
    let tenant = actor.tenant.0;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    tx.query_opt(
        "SELECT 1 FROM customers WHERE tenant_id = $1 AND id = $2",
        &[&tenant, &customer],
    )
    .await?
    .ok_or(Error::NotFound)?;
    let audit = tx
        .query(
            "SELECT a.at, a.entity, a.entity_id, a.action, a.fields, a.staff_id, s.name,
                    a.device_id, d.name
             FROM audit_log a
             LEFT JOIN staff s ON s.tenant_id = a.tenant_id AND s.id = a.staff_id
             LEFT JOIN devices d ON d.tenant_id = a.tenant_id AND d.id = a.device_id
             WHERE a.tenant_id = $1
               AND ((a.entity = 'customer' AND a.entity_id = $2)
                    OR (a.entity = 'address'
                        AND a.entity_id IN (SELECT id FROM addresses
                                            WHERE tenant_id = $1 AND customer_id = $2)))
             ORDER BY a.at DESC, a.id DESC LIMIT $3",
            &[&tenant, &customer, &limit],
        )
        .await?
        .iter()
        .map(|r| AuditEntry {
            at: r.get(0),
            entity: r.get(1),
            entity_id: r.get(2),
            action: r.get(3),
            fields: serde_json::from_value(r.get::<_, serde_json::Value>(4)).unwrap_or_default(),
            staff_id: r.get(5),
            staff_name: r.get(6),
            device_id: r.get(7),
            device_name: r.get(8),
        })
        .collect();
    let merges = tx
        .query(
            "SELECT id, source_customer_id, target_customer_id, reason, merged_by, merged_at,
                    orders_moved, loyalty_points_merged
             FROM customer_merges
             WHERE tenant_id = $1 AND (source_customer_id = $2 OR target_customer_id = $2)
             ORDER BY merged_at DESC, id DESC LIMIT $3",
            &[&tenant, &customer, &limit],
        )
        .await?
        .iter()
        .map(|r| MergeEntry {
            id: r.get(0),
            source_customer_id: r.get(1),
            target_customer_id: r.get(2),
            reason: r.get(3),
            merged_by: r.get(4),
            merged_at: r.get(5),
            orders_moved: r.get(6),
            loyalty_points_merged: r.get(7),
        })
        .collect();
    tx.commit().await?;
    Ok(CustomerHistory { audit, merges })
}
