//! A customer's orders and loyalty points over REST: the orders list (newest first, a keyset
//! cursor), an order posted by an order system, and a manager's points adjustment. Writes
//! become ops ([`Op::OrderRecorded`], [`Op::PointsAdjusted`]) and go through the one applier,
//! exactly as the same op pushed by a till; the order's points come from the shop's rule
//! ([`loyalty_rule`]).

use crate::apply::{self, Acting, Door};
use crate::db;
use crate::error::Error;
use crate::ids::TenantId;
use crate::staff::Actor;
use deadpool_postgres::{GenericClient, Pool, Transaction};
use dukkan_core::ops::{Op, OrderRecorded};
use dukkan_core::orders::{LoyaltyRule, OrderRecord};
use dukkan_core::{AdjustmentId, CustomerId, OrderId};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use uuid::Uuid;

/// Largest page of a customer's orders.
pub const MAX_LIMIT: u32 = 200;
const DEFAULT_LIMIT: u32 = 50;

/// The columns [`record_from_row`] reads, for `FROM orders o`.
pub(crate) const ORDER_COLUMNS: &str =
    "o.id, o.ticket, o.total_minor, o.pieces, o.note, o.points, o.created_at";

/// One order as the API and the tills see it (a row of [`ORDER_COLUMNS`]). Orders from before
/// the ledger kept tickets (V12) show an empty ticket.
pub(crate) fn record_from_row(r: &Row) -> OrderRecord {
    OrderRecord {
        id: OrderId::from_uuid(r.get("id")),
        ticket: r.get::<_, Option<String>>("ticket").unwrap_or_default(),
        amount_baisa: r.get("total_minor"),
        pieces: u32::try_from(r.get::<_, i32>("pieces")).unwrap_or(0),
        note: r.get("note"),
        points: r.get("points"),
        created_at: r
            .get::<_, chrono::DateTime<chrono::Utc>>("created_at")
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

/// The shop's loyalty rule (the default for a stored number out of range).
pub async fn loyalty_rule(
    client: &impl GenericClient,
    tenant: TenantId,
) -> Result<LoyaltyRule, Error> {
    let n: Option<i32> = client
        .query_opt(
            "SELECT points_per_rial FROM tenants WHERE id = $1",
            &[&tenant.0],
        )
        .await?
        .map(|r| r.get(0));
    Ok(n.and_then(|n| u32::try_from(n).ok())
        .and_then(|n| LoyaltyRule::new(n).ok())
        .unwrap_or_default())
}

/// `GET /customers/{id}/orders` query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// Orders per page, newest first (default 50, at most 200).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The cursor: the `nextBefore` of the previous page (the id of the last order it held);
    /// the page then starts with the order taken just before that one.
    pub before: Option<Uuid>,
}

/// A page of a customer's orders.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage {
    /// Newest first.
    pub orders: Vec<OrderRecord>,
    /// Pass as `before` for the next page; null on the last page.
    pub next_before: Option<Uuid>,
}

/// `POST /customers/{id}/orders`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOrder {
    /// The order's id (UUIDv7), made by the order system so that a retry records the order
    /// once; the server makes one when absent.
    pub id: Option<Uuid>,
    /// The ticket reference printed for the customer: 1 to 32 characters, one line.
    pub ticket: String,
    /// Baisa (1 OMR = 1,000): 0 to 100,000,000.
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub amount_baisa: i64,
    /// 1 to 999.
    #[schema(minimum = 1, maximum = 999)]
    pub pieces: u32,
    /// At most 500 characters.
    pub note: Option<String>,
}

/// `POST /customers/{id}/points`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAdjustment {
    /// The adjustment's id, so that a retry adjusts once; the server makes one when absent.
    pub id: Option<Uuid>,
    /// Points added (positive) or taken away (negative): not 0, at most 1,000,000 either way.
    #[schema(minimum = -1_000_000, maximum = 1_000_000)]
    pub delta: i64,
    /// Why (one line, 1 to 200 characters).
    pub reason: String,
}

/// The answer to a points adjustment.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyPoints {
    pub customer_id: Uuid,
    pub adjustment_id: Uuid,
    pub delta: i64,
    /// The customer's points now.
    pub loyalty_points: i64,
}

/// Whether an answer is a new record (201) or the one made by an earlier call with the same
/// id (200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    New,
    Again,
}

impl Made {
    /// The HTTP status that says which.
    pub fn status(self) -> axum::http::StatusCode {
        match self {
            Made::New => axum::http::StatusCode::CREATED,
            Made::Again => axum::http::StatusCode::OK,
        }
    }
}

/// The orders of `customer`, a customer of the actor's shop (404 otherwise), newest first. A
/// merged customer has none: its orders moved to the customer it was merged into.
pub async fn list(
    pool: &Pool,
    actor: &Actor,
    customer: Uuid,
    query: OrdersQuery,
) -> Result<OrderPage, Error> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::InvalidQuery);
    }
    let tenant = actor.tenant.0;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    tx.query_opt(
        "SELECT 1 FROM customers WHERE tenant_id = $1 AND id = $2",
        &[&tenant, &customer],
    )
    .await?
    .ok_or(Error::NotFound)?;
    let take = i64::from(limit) + 1;
    let rows = match query.before {
        None => {
            tx.query(
                &format!(
                    "SELECT {ORDER_COLUMNS} FROM orders o
                     WHERE o.tenant_id = $1 AND o.customer_id = $2
                     ORDER BY o.created_at DESC, o.id DESC LIMIT $3"
                ),
                &[&tenant, &customer, &take],
            )
            .await?
        }
        Some(before) => {
            // The cursor is one of this customer's orders; anything else is a bad query.
            let at: chrono::DateTime<chrono::Utc> = tx
                .query_opt(
                    "SELECT created_at FROM orders
                     WHERE tenant_id = $1 AND customer_id = $2 AND id = $3",
                    &[&tenant, &customer, &before],
                )
                .await?
                .ok_or(Error::InvalidQuery)?
                .get(0);
            tx.query(
                &format!(
                    "SELECT {ORDER_COLUMNS} FROM orders o
                     WHERE o.tenant_id = $1 AND o.customer_id = $2
                       AND (o.created_at, o.id) < ($3, $4)
                     ORDER BY o.created_at DESC, o.id DESC LIMIT $5"
                ),
                &[&tenant, &customer, &at, &before, &take],
            )
            .await?
        }
    };
    tx.commit().await?;
    let more = rows.len() > limit as usize;
    let orders: Vec<OrderRecord> = rows
        .iter()
        .take(limit as usize)
        .map(record_from_row)
        .collect();
    let next_before = more
        .then(|| orders.last().map(|o| o.id.as_uuid()))
        .flatten();
    Ok(OrderPage {
        orders,
        next_before,
    })
}

/// One order by id, as stored.
async fn stored(
    tx: &Transaction<'_>,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<OrderRecord>, Error> {
    Ok(tx
        .query_opt(
            &format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.tenant_id = $1 AND o.id = $2"),
            &[&tenant, &id],
        )
        .await?
        .as_ref()
        .map(record_from_row))
}

/// Records an order for `customer` through the one applier; the order as stored, with the
/// points it earned. The same order posted again (same id, customer, ticket, amount and
/// pieces) is answered with the stored order and changes nothing; an id another order holds
/// is a conflict.
pub async fn record(
    pool: &Pool,
    actor: &Actor,
    customer: Uuid,
    input: NewOrder,
) -> Result<(Made, OrderRecord), Error> {
    let id = input.id.unwrap_or_else(Uuid::now_v7);
    let op = Op::OrderRecorded(OrderRecorded {
        order_id: OrderId::from_uuid(id),
        customer_id: CustomerId::from_uuid(customer),
        ticket: input.ticket,
        amount_baisa: input.amount_baisa,
        pieces: input.pieces,
        note: input.note,
    });
    let tenant = actor.tenant.0;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let made = if stored(&tx, tenant, id).await?.is_some() {
        Made::Again
    } else {
        Made::New
    };
    apply::apply(&tx, &Acting::from(actor), &op, Door::Rest).await?;
    let order = stored(&tx, tenant, id)
        .await?
        .ok_or_else(|| Error::Internal("a recorded order is missing".into()))?;
    tx.commit().await?;
    if made == Made::New {
        tracing::info!(
            tenant = %actor.tenant, customer = %customer, order = %id, points = order.points,
            "order recorded"
        );
    }
    Ok((made, order))
}

/// Adds `delta` points to `customer` (takes them away when negative), for a reason, through
/// the one applier (managers and admins). The same adjustment posted again (same id, customer
/// and delta) changes nothing.
pub async fn adjust_points(
    pool: &Pool,
    actor: &Actor,
    customer: Uuid,
    input: NewAdjustment,
) -> Result<(Made, LoyaltyPoints), Error> {
    let id = input.id.unwrap_or_else(Uuid::now_v7);
    let op = Op::PointsAdjusted {
        customer_id: CustomerId::from_uuid(customer),
        adjustment_id: AdjustmentId::from_uuid(id),
        delta: input.delta,
        reason: input.reason,
    };
    let tenant = actor.tenant.0;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let seen = tx
        .query_opt(
            "SELECT 1 FROM loyalty_adjustments WHERE tenant_id = $1 AND id = $2",
            &[&tenant, &id],
        )
        .await?
        .is_some();
    apply::apply(&tx, &Acting::from(actor), &op, Door::Rest).await?;
    let row = tx
        .query_one(
            "SELECT a.customer_id, a.delta, c.loyalty_points
             FROM loyalty_adjustments a
             JOIN customers c ON c.tenant_id = a.tenant_id AND c.id = a.customer_id
             WHERE a.tenant_id = $1 AND a.id = $2",
            &[&tenant, &id],
        )
        .await?;
    tx.commit().await?;
    let answer = LoyaltyPoints {
        customer_id: row.get(0),
        adjustment_id: id,
        delta: row.get(1),
        loyalty_points: row.get(2),
    };
    if !seen {
        tracing::info!(
            tenant = %actor.tenant, customer = %customer, adjustment = %id, delta = answer.delta,
            "loyalty points adjusted"
        );
    }
    Ok((if seen { Made::Again } else { Made::New }, answer))
}
