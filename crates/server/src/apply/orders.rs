//! Orders and loyalty points, in the one applier: an order earns the points of the shop's rule
//! and adds them to the customer's; a manager's adjustment adds or takes away points, never
//! below zero. Both are idempotent by the id the op carries (made where the order was taken),
//! so a till's op pushed again under another number, or an order system's retry, records once.

use super::{load_state, record, resolve, unchanged, Acting, Door};
use crate::error::{Conflict, Error};
use crate::ids::TenantId;
use deadpool_postgres::Transaction;
use dukkan_core::ops::OrderRecorded;
use dukkan_core::orders;
use dukkan_core::rules;
use uuid::Uuid;

/// The order's id taken by another order (a transaction that committed first).
fn id_conflict(e: tokio_postgres::Error) -> Error {
    match e.as_db_error().and_then(|d| d.constraint()) {
        Some("orders_pkey" | "loyalty_adjustments_pkey") => Error::Conflict(Conflict::IdTaken),
        _ => Error::Database(e),
    }
}

/// Whether a record held by `holder` is for customer `id` (already resolved): the same
/// customer, or one merged into it since.
async fn same_customer(
    tx: &Transaction<'_>,
    tenant: Uuid,
    holder: Uuid,
    id: Uuid,
) -> Result<bool, Error> {
    Ok(holder == id || resolve(tx, tenant, holder).await? == resolve(tx, tenant, id).await?)
}

/// Records order `o` for customer `id` (the op's customer, resolved by the caller).
pub(super) async fn record_order(
    tx: &Transaction<'_>,
    acting: &Acting,
    door: Door,
    id: Uuid,
    o: &OrderRecorded,
) -> Result<(), Error> {
    let tenant = acting.tenant;
    let state = load_state(tx, tenant, id).await?;
    let order_id = o.order_id.as_uuid();
    let existing = tx
        .query_opt(
            "SELECT customer_id, ticket, total_minor, pieces FROM orders
             WHERE tenant_id = $1 AND id = $2",
            &[&tenant, &order_id],
        )
        .await?;
    if let Some(r) = existing {
        // The same order again (a retry, or a till's op pushed again under a new number):
        // recorded already, whatever became of the customer since. The same id with other
        // figures is another order.
        let same = same_customer(tx, tenant, r.get(0), id).await?
            && r.get::<_, Option<String>>(1) == orders::check_ticket(&o.ticket).ok()
            && r.get::<_, i64>(2) == o.amount_baisa
            && u32::try_from(r.get::<_, i32>(3)).ok() == Some(o.pieces);
        if !same {
            return Err(Error::Conflict(Conflict::IdTaken));
        }
        return unchanged(tx, acting, door, id, "order").await;
    }
    let order = rules::decide_order(&state, o)?;
    let points = crate::orders::loyalty_rule(tx, TenantId(tenant))
        .await?
        .points_for(order.amount_baisa);
    let pieces = i32::try_from(order.pieces).map_err(|_| Error::Internal("pieces".into()))?;
    // When the till took it (offline, maybe hours ago; bounded), or now over REST.
    // clock_timestamp(): orders of one REST burst differ in time, so newest-first is their order.
    let taken = acting.at.map(|at| orders::taken_at(at, chrono::Utc::now()));
    tx.execute(
        "INSERT INTO orders (tenant_id, id, customer_id, total_minor, ticket, pieces, note,
                             points, device_id, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11, clock_timestamp()))",
        &[
            &tenant,
            &order_id,
            &id,
            &order.amount_baisa,
            &order.ticket,
            &pieces,
            &order.note,
            &points,
            &acting.device,
            &acting.staff,
            &taken,
        ],
    )
    .await
    .map_err(id_conflict)?;
    add_points(tx, acting, id, points).await?;
    // A walk-in guest's first order gives it its customer number.
    if super::assign_number(tx, tenant, id).await? {
        record(
            tx,
            acting,
            id,
            "order",
            &["orders", "loyaltyPoints", "customerNumber"],
        )
        .await
    } else {
        record(tx, acting, id, "order", &["orders", "loyaltyPoints"]).await
    }
}

/// Adjusts customer `id`'s points (the op's customer, resolved by the caller) by `delta`, for
/// `reason`.
pub(super) async fn adjust_points(
    tx: &Transaction<'_>,
    acting: &Acting,
    door: Door,
    id: Uuid,
    adjustment: Uuid,
    delta: i64,
    reason: &str,
) -> Result<(), Error> {
    let tenant = acting.tenant;
    let state = load_state(tx, tenant, id).await?;
    let existing = tx
        .query_opt(
            "SELECT customer_id, delta FROM loyalty_adjustments WHERE tenant_id = $1 AND id = $2",
            &[&tenant, &adjustment],
        )
        .await?;
    if let Some(r) = existing {
        if !(r.get::<_, i64>(1) == delta && same_customer(tx, tenant, r.get(0), id).await?) {
            return Err(Error::Conflict(Conflict::IdTaken));
        }
        return unchanged(tx, acting, door, id, "points").await;
    }
    // The row is locked by `load_state`: nobody changes the points between here and the write.
    let points: i64 = tx
        .query_one(
            "SELECT loyalty_points FROM customers WHERE tenant_id = $1 AND id = $2",
            &[&tenant, &id],
        )
        .await?
        .get(0);
    let reason = rules::decide_points_adjustment(&state, points, delta, reason)?;
    tx.execute(
        "INSERT INTO loyalty_adjustments (tenant_id, id, customer_id, delta, reason, adjusted_by,
                                          device_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &tenant,
            &adjustment,
            &id,
            &delta,
            &reason,
            &acting.staff,
            &acting.device,
        ],
    )
    .await
    .map_err(id_conflict)?;
    add_points(tx, acting, id, delta).await?;
    record(tx, acting, id, "points", &["loyaltyPoints"]).await
}

async fn add_points(
    tx: &Transaction<'_>,
    acting: &Acting,
    id: Uuid,
    points: i64,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE customers SET loyalty_points = loyalty_points + $3, updated_at = now(),
                updated_by = $4, updated_device = $5
         WHERE tenant_id = $1 AND id = $2",
        &[&acting.tenant, &id, &points, &acting.staff, &acting.device],
    )
    .await?;
    Ok(())
}
