//! Merging a duplicate customer into the one that stays (managers and admins).
//!
//! In one transaction: the source's orders and addresses move to the target, its loyalty points
//! are added to the target's, blank fields of the target are filled from the source, the source
//! is deactivated and points at the target, and the merge is logged.
//!
//! Moved addresses keep their fields; the target keeps exactly one default address: its own
//! when it has one, else the source's. A merge may leave the target with more than
//! [`crate::addresses::MAX_PER_CUSTOMER`] addresses: it never drops a customer's data.

use crate::changes::{self, Entity};
use crate::customers::{self, Customer};
use crate::db;
use crate::error::{Error, Rule};
use crate::staff::{Actor, Role};
use deadpool_postgres::Pool;
use dukkan_core::rules::Refusal;
use dukkan_core::FreeText;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest merge reason, in characters.
pub const REASON_MAX_CHARS: usize = 200;

/// `POST /customers/merge`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MergeRequest {
    /// The duplicate, deactivated by the merge.
    pub source_id: Uuid,
    /// The customer that stays.
    pub target_id: Uuid,
    pub reason: Option<String>,
}

/// What a merge did.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeResult {
    pub target: Customer,
    pub orders_moved: i64,
    pub addresses_moved: i64,
    pub loyalty_points_merged: i64,
}

pub async fn merge(
    pool: &Pool,
    actor: &Actor,
    request: MergeRequest,
) -> Result<MergeResult, Error> {
    actor.require(Role::Manager)?;
    if request.source_id == request.target_id {
        return Err(Error::Rule(Rule::MergeSelf));
    }
    let reason = FreeText::parse_line(
        dukkan_core::Field::Label,
        request.reason.as_deref(),
        REASON_MAX_CHARS,
    )?
    .map(|r| r.as_str().to_owned())
    .unwrap_or_else(|| "manual".to_owned());
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    // Both rows locked, in id order, so two opposite merges cannot deadlock.
    let rows = tx
        .query(
            "SELECT id, active, loyalty_points, phone, last_name, name2, email
             FROM customers WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE",
            &[&actor.tenant.0, &vec![request.source_id, request.target_id]],
        )
        .await?;
    let find = |id: Uuid| rows.iter().find(|r| r.get::<_, Uuid>("id") == id);
    let (Some(source), Some(target)) = (find(request.source_id), find(request.target_id)) else {
        return Err(Error::NotFound);
    };
    if !source.get::<_, bool>("active") || !target.get::<_, bool>("active") {
        return Err(Error::Refused(Refusal::CustomerInactive));
    }
    let points: i64 = source.get("loyalty_points");
    let orders_moved = tx
        .execute(
            "UPDATE orders SET customer_id = $3 WHERE tenant_id = $1 AND customer_id = $2",
            &[&actor.tenant.0, &request.source_id, &request.target_id],
        )
        .await?;
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
            &[&actor.tenant.0, &request.source_id, &request.target_id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Deactivate the source first: that frees its phone for the target.
    tx.execute(
        "UPDATE customers SET active = false, merged_into = $3, loyalty_points = 0,
                updated_at = now(), updated_by = $4
         WHERE tenant_id = $1 AND id = $2",
        &[
            &actor.tenant.0,
            &request.source_id,
            &request.target_id,
            &actor.staff.0,
        ],
    )
    .await?;
    tx.execute(
        "UPDATE customers t SET loyalty_points = t.loyalty_points + $3,
                phone = coalesce(t.phone, $4), last_name = coalesce(t.last_name, $5),
                name2 = coalesce(t.name2, $6),
                email = CASE WHEN t.kind = 'guest' THEN t.email ELSE coalesce(t.email, $7) END,
                kind = CASE WHEN t.kind = 'guest' AND t.first_name IS NOT NULL
                             AND coalesce(t.phone, $4) IS NOT NULL THEN 'stub' ELSE t.kind END,
                updated_at = now(), updated_by = $8
         WHERE tenant_id = $1 AND id = $2",
        &[
            &actor.tenant.0,
            &request.target_id,
            &points,
            &source.get::<_, Option<String>>("phone"),
            &source.get::<_, Option<String>>("last_name"),
            &source.get::<_, Option<String>>("name2"),
            &source.get::<_, Option<String>>("email"),
            &actor.staff.0,
        ],
    )
    .await
    .map_err(|e| match e.as_db_error().and_then(|d| d.constraint()) {
        Some("customers_active_phone_unique") => Error::phone_taken(),
        _ => Error::Database(e),
    })?;
    let orders_moved = i64::try_from(orders_moved).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO customer_merges (tenant_id, id, source_customer_id, target_customer_id,
             reason, merged_by, orders_moved, loyalty_points_merged)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &actor.tenant.0,
            &Uuid::now_v7(),
            &request.source_id,
            &request.target_id,
            &reason,
            &actor.staff.0,
            &i32::try_from(orders_moved).unwrap_or(i32::MAX),
            &points,
        ],
    )
    .await?;
    changes::record(
        &tx,
        actor,
        Entity::Customer,
        request.source_id,
        "merge-source",
        &["isActive", "mergedInto"],
    )
    .await?;
    changes::record(
        &tx,
        actor,
        Entity::Customer,
        request.target_id,
        "merge-target",
        &["loyaltyPoints", "orders", "addresses"],
    )
    .await?;
    for address in &moved_addresses {
        changes::record(
            &tx,
            actor,
            Entity::Address,
            *address,
            "merge-move",
            &["customerId", "isDefault"],
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(tenant = %actor.tenant, source = %request.source_id, target = %request.target_id, orders_moved, "customers merged");
    Ok(MergeResult {
        target: customers::get(pool, actor, request.target_id).await?,
        orders_moved,
        addresses_moved: i64::try_from(moved_addresses.len()).unwrap_or(i64::MAX),
        loyalty_points_merged: points,
    })
}
