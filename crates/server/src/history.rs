//! A customer's history over REST (managers) and over sync (tills, which show it to a signed-in
//! manager): the audit entries of the customer and of its addresses — who (by name), from which
//! till, what action and which fields (never values) — and the merges it took part in, newest
//! first.

use crate::db;
use crate::error::Error;
use crate::ids::TenantId;
use crate::staff::{Actor, Role};
use deadpool_postgres::Pool;
use serde::Deserialize;
use uuid::Uuid;

/// Most entries of each kind one answer holds.
pub const MAX_LIMIT: u32 = dukkan_core::sync::MAX_HISTORY_LIMIT;
const DEFAULT_LIMIT: u32 = dukkan_core::sync::DEFAULT_HISTORY_LIMIT;

/// `GET /customers/{id}/history` (and the sync door's) query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Entries of each kind, newest first (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

impl HistoryQuery {
    /// The limit asked for, checked (400 `request.invalid-query` outside 1..=500).
    pub fn limit(&self) -> Result<u32, Error> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if (1..=MAX_LIMIT).contains(&limit) {
            Ok(limit)
        } else {
            Err(Error::InvalidQuery)
        }
    }
}

/// One change, as the audit log keeps it (the one wire type, shared with the till).
pub use dukkan_core::sync::ServerAuditEntry as AuditEntry;
/// The answer of `GET /customers/{id}/history` and `GET /sync/customers/{id}/history`.
pub use dukkan_core::sync::ServerHistory as CustomerHistory;
/// One merge this customer took part in (as the duplicate or as the one that stayed).
pub use dukkan_core::sync::ServerMergeEntry as MergeEntry;

/// The history of `customer`, a customer of the actor's shop (404 otherwise). Managers and
/// admins: it says who did what at the shop.
pub async fn history(
    pool: &Pool,
    actor: &Actor,
    customer: Uuid,
    query: HistoryQuery,
) -> Result<CustomerHistory, Error> {
    actor.require(Role::Manager)?;
    history_of(pool, actor.tenant, customer, query.limit()?).await
}

/// The history of `customer` in `tenant` (404 when the tenant has no such customer), at most
/// `limit` entries of each kind, newest first. The one builder of the answer: the REST door
/// checks the manager's role first; the sync door answers the device's own tenant, and the
/// till shows it to a signed-in manager only.
pub async fn history_of(
    pool: &Pool,
    tenant_id: TenantId,
    customer: Uuid,
    limit: u32,
) -> Result<CustomerHistory, Error> {
    let limit = i64::from(limit);
    let tenant = tenant_id.0;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, tenant_id).await?;
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
                    orders_moved, loyalty_points_merged, undone_at
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
            undone_at: r.get(8),
        })
        .collect();
    tx.commit().await?;
    Ok(CustomerHistory { audit, merges })
}
