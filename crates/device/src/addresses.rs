//! Address use cases. The database itself keeps exactly one default address per customer that
//! has any (see `migrations/device/V1__customer_store.sql`); this module never has to.

use crate::error::{DeviceError, Entity, Result};
use crate::{apply, Device};
use dukkan_core::ops::Op;
use dukkan_core::rules::{self, Action};
use dukkan_core::{
    Address, AddressId, AddressInput, AddressType, CountryCode, CustomerId, GeoPoint,
};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// An address as stored on the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AddressRecord {
    pub id: AddressId,
    pub customer_id: CustomerId,
    pub is_default: bool,
    #[serde(flatten)]
    pub address: Address,
    pub created_at: String,
    pub updated_at: String,
}

impl AddressRecord {
    /// Distance from `from` (e.g. the store) in kilometres, when the address has GPS.
    pub fn distance_km(&self, from: &GeoPoint) -> Option<f64> {
        self.address.gps.map(|g| g.distance_km(from))
    }
}

const ADDRESS_COLUMNS: &str =
    "id, customer_id, address_type, label, building, floor, apartment, street, \
    area, city, country, postal_code, latitude, longitude, delivery_notes, created_at, updated_at";

fn text(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<dukkan_core::FreeText>> {
    // Stored text was validated on the way in; parse_block accepts every stored value.
    let s: Option<String> = row.get(idx)?;
    Ok(s.and_then(|s| {
        dukkan_core::FreeText::parse_block(dukkan_core::Field::DeliveryNotes, Some(&s), usize::MAX)
            .ok()
            .flatten()
    }))
}

fn from_row(row: &Row<'_>, default_id: Option<&str>) -> rusqlite::Result<AddressRecord> {
    let id: String = row.get(0)?;
    let customer: String = row.get(1)?;
    let bad = |i: usize, s: &str| {
        rusqlite::Error::InvalidColumnType(i, s.to_owned(), rusqlite::types::Type::Text)
    };
    let lat: Option<f64> = row.get(12)?;
    let lon: Option<f64> = row.get(13)?;
    let country: String = row.get(10)?;
    let kind: String = row.get(2)?;
    Ok(AddressRecord {
        is_default: default_id == Some(id.as_str()),
        id: id.parse().map_err(|_| bad(0, &id))?,
        customer_id: customer.parse().map_err(|_| bad(1, &customer))?,
        address: Address {
            address_type: AddressType::parse(&kind).ok_or_else(|| bad(2, &kind))?,
            label: text(row, 3)?,
            building: text(row, 4)?,
            floor: text(row, 5)?,
            apartment: text(row, 6)?,
            street: text(row, 7)?,
            area: text(row, 8)?,
            city: text(row, 9)?,
            country: CountryCode::parse(&country).unwrap_or_default(),
            postal_code: text(row, 11)?,
            gps: GeoPoint::optional(lat, lon).ok().flatten(),
            delivery_notes: text(row, 14)?,
        },
        created_at: row.get(15)?,
        updated_at: row.get(16)?,
    })
}

/// The customer's addresses, default first, then newest first.
pub(crate) fn list(
    conn: &Connection,
    customer: CustomerId,
    default_id: Option<&str>,
) -> Result<Vec<AddressRecord>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ADDRESS_COLUMNS} FROM addresses WHERE customer_id = ?1 ORDER BY id = ?2 DESC, id DESC"
    ))?;
    let rows = stmt.query_map(params![customer.to_string(), default_id], |r| {
        from_row(r, default_id)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn customer_of(conn: &Connection, address: AddressId) -> Result<CustomerId> {
    let s: String = conn
        .query_row(
            "SELECT customer_id FROM addresses WHERE id = ?1",
            [address.to_string()],
            |r| r.get(0),
        )
        .optional()?
        .ok_or(DeviceError::NotFound(Entity::Address))?;
    s.parse()
        .map_err(|_| DeviceError::NotFound(Entity::Address))
}

fn load(conn: &Connection, address: AddressId) -> Result<AddressRecord> {
    let customer = customer_of(conn, address)?;
    let default_id: Option<String> = conn.query_row(
        "SELECT default_address_id FROM customers WHERE id = ?1",
        [customer.to_string()],
        |r| r.get(0),
    )?;
    Ok(conn.query_row(
        &format!("SELECT {ADDRESS_COLUMNS} FROM addresses WHERE id = ?1"),
        [address.to_string()],
        |r| from_row(r, default_id.as_deref()),
    )?)
}

const ADDRESS_FIELDS: [&str; 12] = [
    "addressType",
    "label",
    "building",
    "floor",
    "apartment",
    "street",
    "area",
    "city",
    "country",
    "postalCode",
    "gps",
    "deliveryNotes",
];

impl Device {
    /// Adds an address; the customer's first address becomes the default. A customer has at
    /// most [`rules::MAX_ADDRESSES`].
    pub fn add_address(&self, customer: CustomerId, input: &AddressInput) -> Result<AddressRecord> {
        self.authorize_action(Action::EditAddresses)?;
        let address = input.validate()?;
        let id = AddressId::new();
        self.write(|tx, ctx| {
            let count: i64 = tx.query_row(
                "SELECT COUNT(*) FROM addresses WHERE customer_id = ?1",
                [customer.to_string()],
                |r| r.get(0),
            )?;
            let address = rules::decide_address_add(
                &apply::state(tx, customer)?,
                usize::try_from(count).unwrap_or(usize::MAX),
                &address,
            )?;
            let op = Op::AddressAdded {
                customer_id: customer,
                address_id: id,
                address,
            };
            apply::commit(tx, ctx, &op, &id.to_string(), &ADDRESS_FIELDS)?;
            load(tx, id)
        })
    }

    /// Replaces an address's fields with the form's.
    pub fn update_address(&self, id: AddressId, input: &AddressInput) -> Result<AddressRecord> {
        self.authorize_action(Action::EditAddresses)?;
        let address = input.validate()?;
        self.write(|tx, ctx| {
            let customer = owner_changeable(tx, id)?;
            let op = Op::AddressUpdated {
                customer_id: customer,
                address_id: id,
                address,
            };
            apply::commit(tx, ctx, &op, &id.to_string(), &ADDRESS_FIELDS)?;
            load(tx, id)
        })
    }

    /// Deletes an address; if it was the default, the newest remaining one becomes the default
    /// (`rules::default_after_delete`).
    pub fn delete_address(&self, id: AddressId) -> Result<()> {
        self.authorize_action(Action::EditAddresses)?;
        self.write(|tx, ctx| {
            let customer = owner_changeable(tx, id)?;
            let op = Op::AddressDeleted {
                customer_id: customer,
                address_id: id,
            };
            apply::commit(tx, ctx, &op, &id.to_string(), &["deleted"])
        })
    }

    /// Makes `id` its customer's default address.
    pub fn set_default_address(&self, id: AddressId) -> Result<AddressRecord> {
        self.authorize_action(Action::EditAddresses)?;
        self.write(|tx, ctx| {
            let customer = owner_changeable(tx, id)?;
            let op = Op::DefaultAddressSet {
                customer_id: customer,
                address_id: id,
            };
            apply::commit(tx, ctx, &op, &id.to_string(), &["default"])?;
            load(tx, id)
        })
    }
}

/// The customer of address `id`, when the rules allow changing its addresses.
fn owner_changeable(conn: &Connection, id: AddressId) -> Result<CustomerId> {
    let customer = apply::address_owner(conn, id)?.ok_or(DeviceError::NotFound(Entity::Address))?;
    rules::decide_address_change(&apply::state(conn, customer)?, true)?;
    Ok(customer)
}
