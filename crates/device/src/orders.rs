//! Orders and loyalty at the till: taking a drop-off order (offline, as an op, with a ticket
//! reference the till makes itself), a manager's points adjustment, and the customer's orders.

use crate::apply;
use crate::error::Result;
use crate::Device;
use dukkan_core::ops::{Op, OrderRecorded};
use dukkan_core::orders::{self, LoyaltyRule, OrderRecord};
use dukkan_core::rules::{self, Action};
use dukkan_core::{AdjustmentId, CustomerId, OrderId};
use rusqlite::{params, Connection, Transaction};
use serde::{Deserialize, Serialize};

/// The settings key of this till's next ticket number.
const NEXT_TICKET: &str = "next_ticket";
/// The settings key of the shop's loyalty rule (JSON), as the roster last brought it.
pub(crate) const LOYALTY_RULE: &str = "loyalty_rule";
/// Most orders the Orders tab lists.
pub const ORDERS_SHOWN: usize = 100;

/// What the cashier typed into the order form. The amount is rials as typed (`4.5`, `٤٫٥`);
/// an empty ticket takes this till's next ticket reference.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct OrderInput {
    pub ticket: Option<String>,
    pub amount: String,
    pub pieces: String,
    pub note: Option<String>,
}

impl Device {
    /// The ticket reference the next order taken here gets unless the cashier types one.
    pub fn next_ticket(&self) -> Result<String> {
        self.read(|c| {
            Ok(orders::ticket_reference(
                self.device_id(),
                ticket_number(c)?,
            ))
        })
    }

    /// The shop's loyalty rule as this till last heard it (1 point per rial until then).
    pub fn loyalty_rule(&self) -> Result<LoyaltyRule> {
        self.read(loyalty_rule)
    }

    /// Takes a drop-off order for a customer (a walk-in guest too), offline: the order, the
    /// customer's figures and points, the outbox op and the audit entry in one transaction.
    /// Bad input is refused with the field's error and nothing is written.
    pub fn record_order(&self, customer: CustomerId, input: &OrderInput) -> Result<OrderRecord> {
        self.authorize_action(Action::RecordOrder)?;
        let order_id = OrderId::new();
        self.write(|tx, ctx| {
            // The customer first, then what was typed: the order the rules ask in on every door.
            let state = apply::state(tx, customer)?;
            state.changeable()?;
            let amount_baisa = orders::parse_omr(&input.amount)?;
            let pieces = orders::parse_pieces(&input.pieces)?;
            let typed = input.ticket.as_deref().filter(|t| !t.trim().is_empty());
            let own = typed.is_none();
            let ticket = match typed {
                Some(t) => t.to_owned(),
                None => orders::ticket_reference(self.device_id(), ticket_number(tx)?),
            };
            let order = rules::decide_order(
                &state,
                &OrderRecorded {
                    order_id,
                    customer_id: customer,
                    ticket,
                    amount_baisa,
                    pieces,
                    note: input.note.clone(),
                },
            )?;
            let op = Op::OrderRecorded(order);
            apply::commit(
                tx,
                ctx,
                &op,
                &order_id.to_string(),
                &["orders", "loyaltyPoints"],
            )?;
            if own {
                crate::settings::put_setting(
                    tx,
                    NEXT_TICKET,
                    &(ticket_number(tx)? + 1).to_string(),
                )?;
            }
            load_order(tx, order_id)
        })
    }

    /// A manager adds or takes away points as typed (`+5`, `-20`), saying why (audited; never
    /// below zero). Returns the customer's points after.
    pub fn adjust_points(&self, customer: CustomerId, delta: &str, reason: &str) -> Result<i64> {
        self.authorize_action(Action::AdjustPoints)?;
        self.write(|tx, ctx| {
            let state = apply::state(tx, customer)?;
            state.changeable()?;
            let delta = orders::parse_points_delta(delta)?;
            let reason =
                rules::decide_points_adjustment(&state, points_of(tx, customer)?, delta, reason)?;
            let op = Op::PointsAdjusted {
                customer_id: customer,
                adjustment_id: AdjustmentId::new(),
                delta,
                reason,
            };
            apply::commit(tx, ctx, &op, &customer.to_string(), &["loyaltyPoints"])?;
            points_of(tx, customer)
        })
    }

    /// The customer's orders, newest first (this till's and, once pulled, every till's latest).
    pub fn orders(&self, customer: CustomerId) -> Result<Vec<OrderRecord>> {
        self.authorize_action(Action::SearchCustomers)?;
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, ticket, amount_baisa, pieces, note, points, created_at FROM orders
                 WHERE customer_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(
                params![customer.to_string(), ORDERS_SHOWN as i64],
                order_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

fn ticket_number(c: &Connection) -> Result<u64> {
    let n = crate::settings::setting(c, NEXT_TICKET)?;
    Ok(n.and_then(|n| n.parse().ok()).unwrap_or(1))
}

pub(crate) fn loyalty_rule(c: &Connection) -> Result<LoyaltyRule> {
    let rule = crate::settings::setting(c, LOYALTY_RULE)?;
    Ok(rule
        .and_then(|r| serde_json::from_str::<LoyaltyRule>(&r).ok())
        .and_then(|r| LoyaltyRule::new(r.points_per_rial).ok())
        .unwrap_or_default())
}

pub(crate) fn points_of(c: &Connection, customer: CustomerId) -> Result<i64> {
    Ok(c.query_row(
        "SELECT loyalty_points FROM customers WHERE id = ?1",
        [customer.to_string()],
        |r| r.get(0),
    )?)
}

fn order_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRecord> {
    let id: String = r.get(0)?;
    Ok(OrderRecord {
        id: id.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })?,
        ticket: r.get(1)?,
        amount_baisa: r.get(2)?,
        pieces: r.get(3)?,
        note: r.get(4)?,
        points: r.get(5)?,
        created_at: r.get(6)?,
    })
}

fn load_order(tx: &Transaction<'_>, id: OrderId) -> Result<OrderRecord> {
    Ok(tx.query_row(
        "SELECT id, ticket, amount_baisa, pieces, note, points, created_at FROM orders WHERE id = ?1",
        [id.to_string()],
        order_row,
    )?)
}

/// Writes the orders a pulled snapshot carries: the server has counted them. When the
/// customer has more orders than the snapshot lists (`order_count`), an order of this till
/// not listed but no newer than the oldest listed one may be among the unlisted ones the
/// server counted (its push answered, the answer lost): it is taken as counted too, so it is
/// never added on top of the server's figures twice. (Had the server not counted it, it counts
/// once its push is answered: the server's next snapshot, or the refetch a `duplicate` answer
/// asks for, brings the figures.)
pub(crate) fn upsert_server_orders(
    tx: &Transaction<'_>,
    customer: &str,
    orders: &[OrderRecord],
    order_count: i64,
) -> Result<()> {
    let Some(oldest) = orders.last() else {
        return Ok(());
    };
    if order_count > orders.len() as i64 {
        tx.prepare_cached(
            "UPDATE orders SET from_server = 1
             WHERE customer_id = ?1 AND from_server = 0 AND created_at <= ?2",
        )?
        .execute(params![customer, oldest.created_at])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO orders (id, customer_id, ticket, amount_baisa, pieces, note, points, created_at, from_server)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)
         ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, ticket = excluded.ticket,
            amount_baisa = excluded.amount_baisa, pieces = excluded.pieces, note = excluded.note,
            points = excluded.points, created_at = excluded.created_at, from_server = 1",
    )?;
    for o in orders {
        stmt.execute(params![
            o.id.to_string(),
            customer,
            o.ticket,
            o.amount_baisa,
            o.pieces,
            o.note,
            o.points,
            o.created_at
        ])?;
    }
    Ok(())
}
