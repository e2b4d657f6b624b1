//! Merging a duplicate customer into the one that stays (managers and admins), over REST: the
//! request and its answer, and its undo. The rules and the writes are the applier's
//! ([`crate::apply`]).

use crate::apply;
use crate::customers::{self, Customer};
use crate::db;
use crate::error::Error;
use crate::staff::Actor;
use deadpool_postgres::Pool;
use dukkan_core::MergeId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /customers/merge`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MergeRequest {
    /// The duplicate, deactivated by the merge.
    pub source_id: Uuid,
    /// The customer that stays.
    pub target_id: Uuid,
    /// Why (required; one line, at most 200 characters).
    pub reason: String,
    /// The merge's id, made by the caller so a retry is recognised (a new one when absent).
    pub merge_id: Option<Uuid>,
}

/// What a merge did.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeResult {
    /// Names the merge for an undo (`POST /customers/merges/{id}/undo`, within 24 hours).
    pub merge_id: Uuid,
    pub target: Customer,
    pub orders_moved: i64,
    pub addresses_moved: i64,
    pub loyalty_points_merged: i64,
}

/// What an undo gave back: the duplicate, active again, and the customer that stayed.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UndoResult {
    pub source: Customer,
    pub target: Customer,
}

pub async fn merge(
    pool: &Pool,
    actor: &Actor,
    request: MergeRequest,
) -> Result<MergeResult, Error> {
    let merge_id = request.merge_id.map(MergeId::from_uuid).unwrap_or_default();
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let merged = apply::merge(
        &tx,
        &actor.into(),
        merge_id,
        request.source_id,
        request.target_id,
        &request.reason,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant = %actor.tenant, merge = %merge_id, source = %request.source_id, target = %request.target_id, orders_moved = merged.orders_moved, "customers merged");
    Ok(MergeResult {
        merge_id: merge_id.as_uuid(),
        target: customers::get(pool, actor, request.target_id).await?,
        orders_moved: merged.orders_moved,
        addresses_moved: merged.addresses_moved,
        loyalty_points_merged: merged.loyalty_points_merged,
    })
}

/// Undoes a merge made within 24 hours, unless later changes make it unsafe.
pub async fn undo(pool: &Pool, actor: &Actor, merge_id: Uuid) -> Result<UndoResult, Error> {
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let undone = apply::undo_merge(&tx, &actor.into(), MergeId::from_uuid(merge_id), None).await?;
    tx.commit().await?;
    tracing::info!(tenant = %actor.tenant, merge = %merge_id, "merge undone");
    Ok(UndoResult {
        source: customers::get(pool, actor, undone.source).await?,
        target: customers::get(pool, actor, undone.target).await?,
    })
}
