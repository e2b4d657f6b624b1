//! Merging a duplicate customer into the one that stays (managers and admins), over REST: the
//! request and its answer. The rules and the writes are the applier's ([`crate::apply`]).

use crate::apply;
use crate::customers::{self, Customer};
use crate::db;
use crate::error::Error;
use crate::staff::Actor;
use deadpool_postgres::Pool;
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
    let reason = FreeText::parse_line(
        dukkan_core::Field::Label,
        request.reason.as_deref(),
        REASON_MAX_CHARS,
    )?
    .map(|r| r.as_str().to_owned())
    .unwrap_or_else(|| "manual".to_owned());
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let merged = apply::merge(
        &tx,
        &actor.into(),
        request.source_id,
        request.target_id,
        &reason,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant = %actor.tenant, source = %request.source_id, target = %request.target_id, orders_moved = merged.orders_moved, "customers merged");
    Ok(MergeResult {
        target: customers::get(pool, actor, request.target_id).await?,
        orders_moved: merged.orders_moved,
        addresses_moved: merged.addresses_moved,
        loyalty_points_merged: merged.loyalty_points_merged,
    })
}
