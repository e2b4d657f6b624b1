//! The local effect of an op on the store, without journaling it. Used to re-apply ops still
//! waiting in the outbox on top of state pulled from the server.

use crate::customers::{index_names, last4};
use crate::error::Result;
use dukkan_core::ops::Op;
use dukkan_core::{Address, Phone};
use rusqlite::{params, OptionalExtension, Transaction};

fn text(f: &Option<dukkan_core::FreeText>) -> Option<&str> {
    f.as_ref().map(|t| t.as_str())
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

/// Applies `op`'s effect to the local rows it concerns. Ops whose target is gone locally (the
/// server deleted or merged it) are skipped: the server's answer to the op will say what happened.
pub(crate) fn apply_local(tx: &Transaction<'_>, op: &Op) -> Result<()> {
    match op {
        // The customer exists (it came with the pulled snapshot or was created locally).
        Op::CustomerCreated(_) => {}
        // A request not yet pushed is queued, whatever the server said of an earlier one.
        Op::UpgradeRequested { customer_id, .. } => {
            tx.execute(
                "UPDATE upgrade_requests SET state = 'queued', error_code = NULL,
                        code_expires_at = NULL, attempts_left = NULL, resend_after = NULL
                 WHERE customer_id = ?1",
                [customer_id.to_string()],
            )?;
        }
        Op::CustomerUpdated(u) => {
            let id = u.id.to_string();
            if let Some(v) = &u.first_name {
                tx.execute(
                    "UPDATE customers SET first_name = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(v) = &u.last_name {
                tx.execute(
                    "UPDATE customers SET last_name = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(v) = &u.name2 {
                tx.execute(
                    "UPDATE customers SET name2 = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(v) = &u.phone {
                let p = Phone::parse(v).ok();
                tx.execute(
                    "UPDATE customers SET phone = ?2, phone_national = ?3, phone_last4 = ?4 WHERE id = ?1",
                    params![id, v, p.as_ref().map(|p| p.national().to_owned()), p.as_ref().map(last4)],
                )?;
            }
            if let Some(v) = &u.email {
                tx.execute(
                    "UPDATE customers SET email = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(v) = &u.preferences {
                let json = serde_json::to_string(v).unwrap_or_default();
                tx.execute(
                    "UPDATE customers SET preferences = ?2 WHERE id = ?1",
                    params![id, json],
                )?;
            }
            if u.first_name.is_some() || u.last_name.is_some() || u.name2.is_some() {
                index_names(tx, u.id)?;
            }
        }
        Op::CustomerDeactivated { customer_id } => {
            tx.execute(
                "UPDATE customers SET active = 0 WHERE id = ?1",
                [customer_id.to_string()],
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
            let owner: String = tx
                .query_row(
                    "SELECT COALESCE(merged_into, id) FROM customers WHERE id = ?1",
                    [customer_id.to_string()],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or_else(|| customer_id.to_string());
            write_address(
                tx,
                &owner,
                &address_id.to_string(),
                address,
                &crate::now_text(),
            )?;
        }
        Op::AddressDeleted { address_id, .. } => {
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
                "UPDATE customers SET default_address_id = ?2 WHERE id = ?1
                   AND EXISTS (SELECT 1 FROM addresses WHERE id = ?2 AND customer_id = ?1)",
                params![customer_id.to_string(), address_id.to_string()],
            )?;
        }
    }
    Ok(())
}
