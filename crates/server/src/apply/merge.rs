//! Merging a duplicate customer into the one that stays (a manager's act, over REST).
//!
//! In the caller's transaction: the source's orders and addresses move to the target, its
//! loyalty points are added to the target's, the target takes from the source what it lacks
//! (`rules::decide_merge`, applied as an edit by [`super::update`]: a guest target that gains a
//! name and a phone becomes a stub), the source is deactivated and points at the target, and
//! the merge is logged.
//!
//! Moved addresses keep their fields; the target keeps exactly one default address: its own
//! when it has one, else the source's. A merge may leave the target with more than
//! [`rules::MAX_ADDRESSES`] addresses: it never drops a customer's data.

use super::{load_state, record, update, Acting};
use crate::changes::{self, Entity};
use crate::error::Error;
use deadpool_postgres::Transaction;
use dukkan_core::rules::{self, Action, Refusal};
use uuid::Uuid;

/// What a merge moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    pub orders_moved: i64,
    pub addresses_moved: i64,
    pub loyalty_points_merged: i64,
}

/// Merges `source` into `target`, for `reason` (already checked).
pub(crate) async fn merge(
    tx: &Transaction<'_>,
    acting: &Acting,
    source: Uuid,
    target: Uuid,
    reason: &str,
) -> Result<Merged, Error> {
    rules::authorize(acting.role, Action::Merge)?;
    if source == target {
        return Err(Refusal::MergeSelf.into());
    }
    // Both rows locked in id order, so two opposite merges cannot deadlock.
    let (first, second) = if source < target {
        (source, target)
    } else {
        (target, source)
    };
    let first = load_state(tx, acting.tenant, first).await?;
    let second = load_state(tx, acting.tenant, second).await?;
    let (s, t) = if first.id.as_uuid() == source {
        (&first, &second)
    } else {
        (&second, &first)
    };
    let fill = rules::decide_merge(s, t)?;
    let tenant = acting.tenant;
    let orders_moved = tx
        .execute(
            "UPDATE orders SET customer_id = $3 WHERE tenant_id = $1 AND customer_id = $2",
            &[&tenant, &source, &target],
        )
        .await?;
    let orders_moved = i64::try_from(orders_moved).unwrap_or(i64::MAX);
    // The source's default stays the default only when the target has none of its own (the
    // subquery sees the addresses as they were before this statement).
    let moved_addresses: Vec<Uuid> = tx
        .query(
            "UPDATE addresses a SET customer_id = $3, updated_at = now(),
                    is_default = a.is_default AND NOT EXISTS (
                        SELECT 1 FROM addresses t
                        WHERE t.tenant_id = $1 AND t.customer_id = $3 AND t.is_default)
             WHERE a.tenant_id = $1 AND a.customer_id = $2
             RETURNING a.id",
            &[&tenant, &source, &target],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Deactivate the source first: that frees its phone for the target.
    let points: i64 = tx
        .query_one(
            "UPDATE customers n SET active = false, merged_into = $3, loyalty_points = 0,
                    updated_at = now(), updated_by = $4, updated_device = $5
             FROM customers o WHERE o.tenant_id = n.tenant_id AND o.id = n.id
               AND n.tenant_id = $1 AND n.id = $2
             RETURNING o.loyalty_points",
            &[&tenant, &source, &target, &acting.staff, &acting.device],
        )
        .await?
        .get(0);
    record(
        tx,
        acting,
        source,
        "merge-source",
        &["isActive", "mergedInto"],
    )
    .await?;
    update(tx, acting, target, &fill, None).await?;
    tx.execute(
        "UPDATE customers SET loyalty_points = loyalty_points + $3, updated_at = now(),
                updated_by = $4, updated_device = $5
         WHERE tenant_id = $1 AND id = $2",
        &[&tenant, &target, &points, &acting.staff, &acting.device],
    )
    .await?;
    record(
        tx,
        acting,
        target,
        "merge-target",
        &["loyaltyPoints", "orders", "addresses"],
    )
    .await?;
    for address in &moved_addresses {
        changes::record(
            tx,
            acting,
            Entity::Address,
            *address,
            "merge-move",
            &["customerId", "isDefault"],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO customer_merges (tenant_id, id, source_customer_id, target_customer_id,
             reason, merged_by, orders_moved, loyalty_points_merged)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &tenant,
            &Uuid::now_v7(),
            &source,
            &target,
            &reason,
            &acting.staff,
            &i32::try_from(orders_moved).unwrap_or(i32::MAX),
            &points,
        ],
    )
    .await?;
    Ok(Merged {
        orders_moved,
        addresses_moved: i64::try_from(moved_addresses.len()).unwrap_or(i64::MAX),
        loyalty_points_merged: points,
    })
}
