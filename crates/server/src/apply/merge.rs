//! Merging a duplicate customer into the one that stays, and undoing it (a manager's acts,
//! over REST or pushed by a till as `customer_merged` / `merge_undone` ops).
//!
//! In the caller's transaction: the source's orders and addresses move to the target, its
//! loyalty points are added to the target's, the target takes from the source what it lacks
//! (`rules::decide_merge`, applied as an edit by [`super::update`]: a guest target that gains a
//! name and a phone becomes a stub), the source is deactivated and points at the target, and
//! the merge is logged with what moved — so an undo within the window
//! (`rules::MERGE_UNDO_HOURS`) puts back exactly that, unless later changes make it unsafe
//! (`rules::decide_undo_merge`, the same rule the till asks).
//!
//! Moved addresses keep their fields; the target keeps exactly one default address: its own
//! when it has one, else the source's. A merge may leave the target with more than
//! [`rules::MAX_ADDRESSES`] addresses: it never drops a customer's data.

use super::{
    edit, load_state, make_default, phone_conflict, phone_holder, record, refresh_search_text,
    Acting,
};
use crate::changes::{self, Entity};
use crate::error::{Conflict, Error};
use deadpool_postgres::Transaction;
use dukkan_core::ops::CustomerUpdated;
use dukkan_core::rules::{self, Action, MergeRecord, Refusal};
use dukkan_core::{CustomerId, MergeId};
use uuid::Uuid;

/// What a merge moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    pub orders_moved: i64,
    pub addresses_moved: i64,
    pub loyalty_points_merged: i64,
    /// The same merge again: nothing changed.
    pub replayed: bool,
}

/// Locks `a` and `b` in id order (so two opposite merges cannot deadlock) and returns their
/// states as `(a, b)`.
async fn lock_pair(
    tx: &Transaction<'_>,
    tenant: Uuid,
    a: Uuid,
    b: Uuid,
) -> Result<(rules::CustomerState, rules::CustomerState), Error> {
    let (first, second) = if a < b { (a, b) } else { (b, a) };
    let first = load_state(tx, tenant, first).await?;
    let second = load_state(tx, tenant, second).await?;
    Ok(if first.id.as_uuid() == a {
        (first, second)
    } else {
        (second, first)
    })
}

/// Records each address a merge or its undo moved to another customer (change feed and audit).
async fn record_moves(
    tx: &Transaction<'_>,
    acting: &Acting,
    addresses: &[Uuid],
) -> Result<(), Error> {
    for address in addresses {
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
    Ok(())
}

/// Merges `source` into `target` as merge `merge_id`, for `reason`. The same merge again (a
/// replay) changes nothing and answers what it moved; another merge under its id is refused.
pub(crate) async fn merge(
    tx: &Transaction<'_>,
    acting: &Acting,
    merge_id: MergeId,
    source: Uuid,
    target: Uuid,
    reason: &str,
) -> Result<Merged, Error> {
    rules::authorize(acting.role, Action::Merge)?;
    let tenant = acting.tenant;
    if let Some(r) = tx
        .query_opt(
            "SELECT source_customer_id, target_customer_id, orders_moved,
                    cardinality(moved_address_ids), loyalty_points_merged
             FROM customer_merges WHERE tenant_id = $1 AND id = $2",
            &[&tenant, &merge_id.as_uuid()],
        )
        .await?
    {
        if r.get::<_, Uuid>(0) != source || r.get::<_, Uuid>(1) != target {
            return Err(Error::Conflict(Conflict::IdTaken));
        }
        return Ok(Merged {
            orders_moved: i64::from(r.get::<_, i32>(2)),
            addresses_moved: i64::from(r.get::<_, i32>(3)),
            loyalty_points_merged: r.get(4),
            replayed: true,
        });
    }
    if source == target {
        return Err(Refusal::MergeSelf.into());
    }
    let (s, t) = lock_pair(tx, tenant, source, target).await?;
    let (_, fill) = rules::decide_merge_op(merge_id, &s, &t, reason)?;
    let reason = reason.trim();
    let moved_orders: Vec<Uuid> = tx
        .query(
            "UPDATE orders SET customer_id = $3 WHERE tenant_id = $1 AND customer_id = $2
             RETURNING id",
            &[&tenant, &source, &target],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let source_default: Option<Uuid> = tx
        .query_opt(
            "SELECT id FROM addresses WHERE tenant_id = $1 AND customer_id = $2 AND is_default",
            &[&tenant, &source],
        )
        .await?
        .map(|r| r.get(0));
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
    let filled = edit(tx, acting, target, &fill, None).await?;
    tx.execute(
        "UPDATE customers SET loyalty_points = loyalty_points + $3, updated_at = now(),
                updated_by = $4, updated_device = $5
         WHERE tenant_id = $1 AND id = $2",
        &[&tenant, &target, &points, &acting.staff, &acting.device],
    )
    .await?;
    let mut fields = vec!["loyaltyPoints", "orders", "addresses"];
    fields.extend(filled);
    record(tx, acting, target, "merge-target", &fields).await?;
    record_moves(tx, acting, &moved_addresses).await?;
    let orders_moved = i64::try_from(moved_orders.len()).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO customer_merges (tenant_id, id, source_customer_id, target_customer_id,
             reason, merged_by, device_id, orders_moved, loyalty_points_merged, moved_order_ids,
             moved_address_ids, source_default, filled, target_kind_before, source_was_active)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        &[
            &tenant,
            &merge_id.as_uuid(),
            &source,
            &target,
            &reason,
            &acting.staff,
            &acting.device,
            &i32::try_from(orders_moved).unwrap_or(i32::MAX),
            &points,
            &moved_orders,
            &moved_addresses,
            &source_default,
            &serde_json::to_value(&fill).map_err(|e| Error::Internal(e.to_string()))?,
            &t.kind.as_str(),
            &s.active,
        ],
    )
    .await?;
    Ok(Merged {
        orders_moved,
        addresses_moved: i64::try_from(moved_addresses.len()).unwrap_or(i64::MAX),
        loyalty_points_merged: points,
        replayed: false,
    })
}

/// What an undo gave back to the duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undone {
    pub source: Uuid,
    pub target: Uuid,
    /// False: it was undone already (by another till, or an earlier call).
    pub changed: bool,
}

/// Undoes merge `merge_id` (a till's op names its two customers too: `expected`). A merge
/// undone already stays as it is (the rules' answer on every door: two tills may undo it).
pub(crate) async fn undo(
    tx: &Transaction<'_>,
    acting: &Acting,
    merge_id: MergeId,
    expected: Option<(Uuid, Uuid)>,
) -> Result<Undone, Error> {
    rules::authorize(acting.role, Action::Merge)?;
    let tenant = acting.tenant;
    let row = tx
        .query_opt(
            "SELECT source_customer_id, target_customer_id, merged_at, undone_at IS NOT NULL,
                    loyalty_points_merged, filled, target_kind_before, moved_order_ids,
                    moved_address_ids, source_default, now(), source_was_active
             FROM customer_merges WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            &[&tenant, &merge_id.as_uuid()],
        )
        .await?
        .ok_or(Error::NotFound)?;
    let (source, target): (Uuid, Uuid) = (row.get(0), row.get(1));
    if expected.is_some_and(|e| e != (source, target)) {
        return Err(Error::NotFound);
    }
    let undone: bool = row.get(3);
    // A merge made before undo existed kept no record of what it moved: it cannot be undone.
    let Some(kind_before) = row.get::<_, Option<String>>(6) else {
        return Err(Refusal::MergeUndoUnsafe.into());
    };
    let filled: CustomerUpdated = serde_json::from_value(row.get(5))
        .map_err(|e| Error::Internal(format!("merge fill: {e}")))?;
    let record_of = MergeRecord {
        id: merge_id,
        source: CustomerId::from_uuid(source),
        target: CustomerId::from_uuid(target),
        merged_at: row.get(2),
        undone,
        points_moved: row.get(4),
        filled: filled.clone(),
        target_kind_before: kind_before
            .parse()
            .map_err(|()| Error::Internal(format!("kind {kind_before}")))?,
        source_was_active: row.get(11),
    };
    let moved_orders: Vec<Uuid> = row.get(7);
    let moved_addresses: Vec<Uuid> = row.get(8);
    let source_default: Option<Uuid> = row.get(9);
    let now: chrono::DateTime<chrono::Utc> = row.get(10);

    let (s, t) = lock_pair(tx, tenant, source, target).await?;
    let target_points: i64 = tx
        .query_one(
            "SELECT loyalty_points FROM customers WHERE tenant_id = $1 AND id = $2",
            &[&tenant, &target],
        )
        .await?
        .get(0);
    let holder = match &s.phone {
        Some(p) => phone_holder(tx, tenant, p, source).await?,
        None => None,
    };
    if rules::decide_undo_merge(&record_of, &s, &t, target_points, holder, now)?.is_none() {
        return Ok(Undone {
            source,
            target,
            changed: false,
        });
    }

    // The target gives back what it took first: the duplicate's phone is then free again.
    tx.execute(
        "UPDATE customers SET kind = $3,
            first_name = CASE WHEN $4 THEN NULL ELSE first_name END,
            last_name = CASE WHEN $5 THEN NULL ELSE last_name END,
            name2 = CASE WHEN $6 THEN NULL ELSE name2 END,
            phone = CASE WHEN $7 THEN NULL ELSE phone END,
            email = CASE WHEN $8 THEN NULL ELSE email END,
            loyalty_points = loyalty_points - $9,
            updated_at = now(), updated_by = $10, updated_device = $11
         WHERE tenant_id = $1 AND id = $2",
        &[
            &tenant,
            &target,
            &record_of.target_kind_before.as_str(),
            &filled.first_name.is_some(),
            &filled.last_name.is_some(),
            &filled.name2.is_some(),
            &filled.phone.is_some(),
            &filled.email.is_some(),
            &record_of.points_moved,
            &acting.staff,
            &acting.device,
        ],
    )
    .await?;
    refresh_search_text(tx, tenant, target).await?;
    tx.execute(
        "UPDATE orders SET customer_id = $3
         WHERE tenant_id = $1 AND customer_id = $2 AND id = ANY($4)",
        &[&tenant, &target, &source, &moved_orders],
    )
    .await?;
    let back: Vec<Uuid> = tx
        .query(
            "UPDATE addresses SET customer_id = $3, is_default = false, updated_at = now()
             WHERE tenant_id = $1 AND customer_id = $2 AND id = ANY($4)
             RETURNING id",
            &[&tenant, &target, &source, &moved_addresses],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Each keeps exactly one default: the target one of its own if it gave its default back,
    // the duplicate its old default (or another of its addresses).
    let target_default: Option<Uuid> = tx
        .query_opt(
            "SELECT id FROM addresses WHERE tenant_id = $1 AND customer_id = $2
             ORDER BY is_default DESC, id LIMIT 1",
            &[&tenant, &target],
        )
        .await?
        .map(|r| r.get(0));
    if let Some(d) = target_default {
        make_default(tx, tenant, target, d).await?;
    }
    let source_default = source_default
        .filter(|d| back.contains(d))
        .or_else(|| back.iter().min().copied());
    if let Some(d) = source_default {
        make_default(tx, tenant, source, d).await?;
    }
    tx.execute(
        "UPDATE customers SET active = $6, merged_into = NULL, loyalty_points = $3,
                updated_at = now(), updated_by = $4, updated_device = $5
         WHERE tenant_id = $1 AND id = $2",
        &[
            &tenant,
            &source,
            &record_of.points_moved,
            &acting.staff,
            &acting.device,
            &record_of.source_was_active,
        ],
    )
    .await
    .map_err(phone_conflict)?;
    record(
        tx,
        acting,
        source,
        "merge-undo-source",
        &[
            "isActive",
            "mergedInto",
            "loyaltyPoints",
            "orders",
            "addresses",
        ],
    )
    .await?;
    let mut fields = vec!["loyaltyPoints", "orders", "addresses"];
    fields.extend(filled.changed_fields());
    record(tx, acting, target, "merge-undo-target", &fields).await?;
    record_moves(tx, acting, &back).await?;
    tx.execute(
        "UPDATE customer_merges SET undone_at = now(), undone_by = $3, undone_device = $4
         WHERE tenant_id = $1 AND id = $2",
        &[&tenant, &merge_id.as_uuid(), &acting.staff, &acting.device],
    )
    .await?;
    Ok(Undone {
        source,
        target,
        changed: true,
    })
}
