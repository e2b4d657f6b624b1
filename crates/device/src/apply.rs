//! The one writer of the till's customers and addresses tables: [`apply`] gives an op its
//! effect. Use cases decide an op with the customer rules (`dukkan_core::rules`) and
//! [`commit`] it (effect + outbox + audit, in the caller's transaction); re-applying the ops
//! still waiting in the outbox on top of a pulled snapshot calls the same [`apply`].

use crate::customers::{index_names, last4};
use crate::error::{DeviceError, Entity, Result};
use crate::{journal, WriteContext};
use dukkan_core::ops::{CustomerCreated, CustomerUpdated, Op};
use dukkan_core::rules::{self, CustomerState};
use dukkan_core::{Address, AddressId, CustomerId, Phone};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

fn text(f: &Option<dukkan_core::FreeText>) -> Option<&str> {
    f.as_ref().map(|t| t.as_str())
}

/// Gives `op` its effect and journals it (outbox op for the server, audit entry for people).
pub(crate) fn commit(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    op: &Op,
    entity_id: &str,
    fields: &[&str],
) -> Result<()> {
    apply(tx, ctx, op)?;
    journal::record(tx, ctx, op, op.customer_id(), entity_id, fields)
}

/// The customer as the rules see it.
pub(crate) fn state(conn: &Connection, id: CustomerId) -> Result<CustomerState> {
    let c = crate::customers::load(conn, id)?;
    Ok(CustomerState {
        id: c.id,
        kind: c.kind,
        active: c.active,
        merged: c.merged_into.is_some(),
        first_name: c.first_name,
        last_name: c.last_name,
        name2: c.name2,
        phone: c.phone,
        phone_verified: c.phone_verified,
        email: c.email,
        preferences: c.preferences,
    })
}

/// The customer a change of `id` lands on: `id`, or the survivor it was merged into.
fn owner_of(tx: &Transaction<'_>, id: CustomerId) -> Result<String> {
    tx.query_row(
        "SELECT COALESCE(merged_into, id) FROM customers WHERE id = ?1",
        [id.to_string()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(DeviceError::NotFound(Entity::Customer))
}

/// The customer an address belongs to on this till.
pub(crate) fn address_owner(conn: &Connection, address: AddressId) -> Result<Option<CustomerId>> {
    let owner: Option<String> = conn
        .query_row(
            "SELECT customer_id FROM addresses WHERE id = ?1",
            [address.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(owner.and_then(|s| s.parse().ok()))
}

/// Inserts or replaces an address of `customer` (also used for pulled server snapshots, which
/// may move an address to a merge survivor).
pub(crate) fn write_address(
    tx: &Transaction<'_>,
    customer: &str,
    id: &str,
    a: &Address,
    updated_at: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO addresses (id, customer_id, address_type, label, building, floor, apartment, street, area,
            city, country, postal_code, latitude, longitude, delivery_notes, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)
         ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id,
            address_type = excluded.address_type, label = excluded.label,
            building = excluded.building, floor = excluded.floor, apartment = excluded.apartment,
            street = excluded.street, area = excluded.area, city = excluded.city, country = excluded.country,
            postal_code = excluded.postal_code, latitude = excluded.latitude, longitude = excluded.longitude,
            delivery_notes = excluded.delivery_notes, updated_at = excluded.updated_at",
        params![
            id, customer, a.address_type.as_str(), text(&a.label), text(&a.building), text(&a.floor),
            text(&a.apartment), text(&a.street), text(&a.area), text(&a.city), a.country.as_str(),
            text(&a.postal_code), a.gps.map(|g| g.latitude()), a.gps.map(|g| g.longitude()),
            text(&a.delivery_notes), updated_at,
        ],
    )?;
    Ok(())
}

fn create(tx: &Transaction<'_>, ctx: &WriteContext, c: &CustomerCreated) -> Result<()> {
    let phone = c.phone.as_deref().and_then(|p| Phone::parse(p).ok());
    let inserted = tx
        .prepare_cached(
            "INSERT INTO customers (id, kind, first_name, last_name, name2, phone, phone_national,
                phone_last4, created_at, created_by, created_device, updated_at, updated_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?9, ?10)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            c.id.to_string(),
            c.kind.as_str(),
            c.first_name,
            c.last_name,
            c.name2,
            phone.as_ref().map(Phone::e164),
            phone.as_ref().map(Phone::national),
            phone.as_ref().map(last4),
            ctx.now,
            ctx.staff_id,
            ctx.device_id.to_string(),
        ])?;
    if inserted > 0 && c.first_name.is_some() {
        index_names(tx, c.id)?;
    }
    if inserted > 0 && c.phone.is_some() {
        crate::merges::refresh_candidates(tx, c.id)?;
    }
    Ok(())
}

/// An edit of a customer decided by the rules as the customer now stands here.
pub(crate) fn update(tx: &Transaction<'_>, ctx: &WriteContext, u: &CustomerUpdated) -> Result<()> {
    let current = state(tx, u.id)?;
    let Some(edit) = rules::decide_update(&current, u, None)? else {
        return Ok(());
    };
    let e = &edit.op;
    let phone = e.phone.as_deref().and_then(|p| Phone::parse(p).ok());
    tx.execute(
        "UPDATE customers SET
            kind = ?2,
            first_name = CASE WHEN ?3 THEN ?4 ELSE first_name END,
            last_name = CASE WHEN ?5 THEN ?6 ELSE last_name END,
            name2 = CASE WHEN ?7 THEN ?8 ELSE name2 END,
            phone = CASE WHEN ?9 THEN ?10 ELSE phone END,
            phone_national = CASE WHEN ?9 THEN ?11 ELSE phone_national END,
            phone_last4 = CASE WHEN ?9 THEN ?12 ELSE phone_last4 END,
            email = CASE WHEN ?13 THEN ?14 ELSE email END,
            preferences = CASE WHEN ?15 THEN ?16 ELSE preferences END,
            updated_at = ?17, updated_by = ?18
         WHERE id = ?1",
        params![
            u.id.to_string(),
            edit.kind.as_str(),
            e.first_name.is_some(),
            e.first_name,
            e.last_name.is_some(),
            e.last_name.clone().flatten(),
            e.name2.is_some(),
            e.name2.clone().flatten(),
            phone.is_some(),
            phone.as_ref().map(Phone::e164),
            phone.as_ref().map(Phone::national),
            phone.as_ref().map(last4),
            e.email.is_some(),
            e.email.clone().flatten(),
            e.preferences.is_some(),
            e.preferences
                .as_ref()
                .map(|p| serde_json::to_string(p).unwrap_or_default()),
            ctx.now,
            ctx.staff_id,
        ],
    )?;
    if e.first_name.is_some() || e.last_name.is_some() || e.name2.is_some() {
        index_names(tx, u.id)?;
    }
    if e.first_name.is_some() || e.last_name.is_some() || e.name2.is_some() || e.phone.is_some() {
        crate::merges::refresh_candidates(tx, u.id)?;
    }
    Ok(())
}

/// Gives `op` its effect on this till's customers and addresses, after checking it against the
/// customer rules as the customer now stands here. Nothing else writes those tables' customer
/// fields (pulled snapshots aside, which are the server's truth).
pub(crate) fn apply(tx: &Transaction<'_>, ctx: &WriteContext, op: &Op) -> Result<()> {
    match op {
        // Already there when re-applied: it came with the pulled snapshot.
        Op::CustomerCreated(c) => create(tx, ctx, c)?,
        Op::CustomerUpdated(u) => update(tx, ctx, u)?,
        Op::CustomerDeactivated { customer_id } | Op::CustomerReactivated { customer_id } => {
            let active = matches!(op, Op::CustomerReactivated { .. });
            tx.execute(
                "UPDATE customers SET active = ?2, updated_at = ?3, updated_by = ?4
                 WHERE id = ?1 AND merged_into IS NULL AND active <> ?2",
                params![customer_id.to_string(), active, ctx.now, ctx.staff_id],
            )?;
        }
        Op::AddressAdded {
            customer_id,
            address_id,
            address,
        }
        | Op::AddressUpdated {
            customer_id,
            address_id,
            address,
        } => {
            // An op queued before its customer was merged belongs to the survivor now.
            let owner = owner_of(tx, *customer_id)?;
            write_address(tx, &owner, &address_id.to_string(), address, &ctx.now)?;
        }
        Op::AddressDeleted { address_id, .. } => {
            let Some(owner) = address_owner(tx, *address_id)? else {
                return Ok(());
            };
            let default: Option<String> = tx.query_row(
                "SELECT default_address_id FROM customers WHERE id = ?1",
                [owner.to_string()],
                |r| r.get(0),
            )?;
            if default.as_deref() == Some(address_id.to_string().as_str()) {
                let others: Vec<AddressId> = {
                    let mut stmt =
                        tx.prepare("SELECT id FROM addresses WHERE customer_id = ?1 AND id <> ?2")?;
                    let ids = stmt
                        .query_map(params![owner.to_string(), address_id.to_string()], |r| {
                            r.get::<_, String>(0)
                        })?;
                    ids.filter_map(|r| r.ok()?.parse().ok()).collect()
                };
                if let Some(next) = rules::default_after_delete(others) {
                    tx.execute(
                        "UPDATE customers SET default_address_id = ?2 WHERE id = ?1",
                        params![owner.to_string(), next.to_string()],
                    )?;
                }
            }
            // The last address deleted leaves no default (addresses_promote_on_delete).
            tx.execute(
                "DELETE FROM addresses WHERE id = ?1",
                [address_id.to_string()],
            )?;
        }
        Op::DefaultAddressSet {
            customer_id,
            address_id,
        } => {
            tx.execute(
                "UPDATE customers SET default_address_id = ?2, updated_at = ?3, updated_by = ?4
                 WHERE id = ?1
                   AND EXISTS (SELECT 1 FROM addresses WHERE id = ?2 AND customer_id = ?1)",
                params![
                    customer_id.to_string(),
                    address_id.to_string(),
                    ctx.now,
                    ctx.staff_id
                ],
            )?;
        }
        Op::OrderRecorded(o) => {
            // A pending order re-applied after a pull belongs to the survivor of a merge.
            let owner = owner_of(tx, o.customer_id)?;
            let mut state = state(tx, o.customer_id)?;
            if state.merged {
                state = self::state(
                    tx,
                    owner
                        .parse()
                        .map_err(|_| DeviceError::NotFound(Entity::Customer))?,
                )?;
            }
            let order = rules::decide_order(&state, o)?;
            let points = crate::orders::loyalty_rule(tx)?.points_for(order.amount_baisa);
            tx.prepare_cached(
                "INSERT INTO orders (id, customer_id, ticket, amount_baisa, pieces, note, points, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO NOTHING",
            )?
            .execute(params![
                order.order_id.to_string(),
                owner,
                order.ticket,
                order.amount_baisa,
                order.pieces,
                order.note,
                points,
                ctx.now,
                ctx.staff_id,
            ])?;
            // Added to the customer's figures unless the server has counted it already (it came
            // with the snapshot this op is re-applied on): the server's figures never include
            // an order still only here.
            let counted: bool = tx.query_row(
                "SELECT from_server FROM orders WHERE id = ?1",
                [order.order_id.to_string()],
                |r| r.get(0),
            )?;
            if !counted {
                tx.execute(
                    "UPDATE customers SET order_count = order_count + 1,
                        total_spent_minor = total_spent_minor + ?2,
                        loyalty_points = loyalty_points + ?3,
                        last_order_at = max(COALESCE(last_order_at, ''), ?4),
                        updated_at = ?4, updated_by = ?5
                     WHERE id = ?1",
                    params![owner, order.amount_baisa, points, ctx.now, ctx.staff_id],
                )?;
            }
        }
        Op::PointsAdjusted {
            customer_id,
            delta,
            reason,
            ..
        } => {
            let current = state(tx, *customer_id)?;
            rules::decide_points_adjustment(
                &current,
                crate::orders::points_of(tx, *customer_id)?,
                *delta,
                reason,
            )?;
            tx.execute(
                "UPDATE customers SET loyalty_points = loyalty_points + ?2, updated_at = ?3, updated_by = ?4
                 WHERE id = ?1",
                params![customer_id.to_string(), delta, ctx.now, ctx.staff_id],
            )?;
        }
        Op::CustomerMerged {
            merge_id,
            customer_id,
            target_id,
            reason,
        } => crate::merges::apply_merge(tx, ctx, *merge_id, *customer_id, *target_id, reason)?,
        Op::MergeUndone { merge_id, .. } => crate::merges::apply_undo(tx, ctx, *merge_id)?,
        // Queued (again): a request not yet pushed waits for the server, whatever the server
        // said of an earlier one.
        Op::UpgradeRequested {
            customer_id,
            email,
            preferences,
            ..
        } => {
            let prefs = serde_json::to_string(preferences)
                .map_err(|e| DeviceError::Export(e.to_string()))?;
            tx.execute(
                "INSERT INTO upgrade_requests (customer_id, email, preferences, state, requested_at, requested_by, updated_at)
                 VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?4)
                 ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email,
                    preferences = excluded.preferences, state = 'queued', requested_at = excluded.requested_at,
                    requested_by = excluded.requested_by, updated_at = excluded.updated_at, error_code = NULL,
                    code_expires_at = NULL, attempts_left = NULL, resend_after = NULL",
                params![customer_id.to_string(), email, prefs, ctx.now, ctx.staff_id],
            )?;
        }
    }
    Ok(())
}
