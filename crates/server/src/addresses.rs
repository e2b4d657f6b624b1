//! A customer's addresses: many, exactly one default (the database enforces both halves:
//! a partial unique index and a deferred constraint trigger).

use crate::apply::{Acting, Door};
use crate::db;
use crate::error::Error;
use crate::staff::Actor;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Pool, Transaction};
use dukkan_core::ops::Op;
use dukkan_core::rules::Refusal;
use dukkan_core::{AddressId, AddressInput, AddressType, CustomerId};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use uuid::Uuid;

/// Most addresses one customer may have (the customer rules' cap).
pub const MAX_PER_CUSTOMER: usize = dukkan_core::rules::MAX_ADDRESSES;

/// `POST /customers/{id}/addresses`: the address form plus whether it becomes the default.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewAddress {
    /// The address fields as in [`AddressView`] (`addressType` required, the rest optional).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub address: AddressInput,
    #[serde(default)]
    pub is_default: bool,
}

/// `PATCH .../addresses/{addressId}`: absent fields are kept, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressPatch {
    /// `home`, `work` or `other`.
    pub address_type: Option<AddressType>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub label: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub building: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub floor: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub apartment: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub street: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub area: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub latitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub longitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub delivery_notes: Option<Option<String>>,
    /// `true` makes this the default; `false` is refused on the default (choose another).
    pub is_default: Option<bool>,
}

/// An address as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressView {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// `home`, `work` or `other`.
    #[schema(value_type = String)]
    pub address_type: AddressType,
    pub label: Option<String>,
    pub building: Option<String>,
    pub floor: Option<String>,
    pub apartment: Option<String>,
    pub street: Option<String>,
    pub area: Option<String>,
    pub city: Option<String>,
    pub country: String,
    pub postal_code: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub delivery_notes: Option<String>,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, customer_id, address_type, label, building, floor, apartment, street,
    area, city, country, postal_code, latitude, longitude, delivery_notes, is_default,
    created_at, updated_at";

fn from_row(row: &Row) -> AddressView {
    AddressView {
        id: row.get("id"),
        customer_id: row.get("customer_id"),
        address_type: AddressType::parse(row.get("address_type")).unwrap_or_default(),
        label: row.get("label"),
        building: row.get("building"),
        floor: row.get("floor"),
        apartment: row.get("apartment"),
        street: row.get("street"),
        area: row.get("area"),
        city: row.get("city"),
        country: row.get("country"),
        postal_code: row.get("postal_code"),
        latitude: row.get("latitude"),
        longitude: row.get("longitude"),
        delivery_notes: row.get("delivery_notes"),
        is_default: row.get("is_default"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// Locks the customer row; addresses may only be added to or changed on an active customer.
async fn lock_customer(
    tx: &Transaction<'_>,
    actor: &Actor,
    customer: Uuid,
    must_be_active: bool,
) -> Result<(), Error> {
    let active: bool = tx
        .query_opt(
            "SELECT active FROM customers WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            &[&actor.tenant.0, &customer],
        )
        .await?
        .ok_or(Error::NotFound)?
        .get(0);
    if must_be_active && !active {
        return Err(Error::Refused(Refusal::CustomerInactive));
    }
    Ok(())
}

async fn fetch_one(
    tx: &Transaction<'_>,
    actor: &Actor,
    customer: Uuid,
    id: Uuid,
) -> Result<AddressView, Error> {
    let row = tx
        .query_opt(
            &format!(
                "SELECT {COLUMNS} FROM addresses
                 WHERE tenant_id = $1 AND customer_id = $2 AND id = $3"
            ),
            &[&actor.tenant.0, &customer, &id],
        )
        .await?
        .ok_or(Error::NotFound)?;
    Ok(from_row(&row))
}

/// The customer's addresses, the default first.
pub async fn list(pool: &Pool, actor: &Actor, customer: Uuid) -> Result<Vec<AddressView>, Error> {
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    lock_customer(&tx, actor, customer, false).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT {COLUMNS} FROM addresses WHERE tenant_id = $1 AND customer_id = $2
                 ORDER BY is_default DESC, created_at, id"
            ),
            &[&actor.tenant.0, &customer],
        )
        .await?;
    tx.commit().await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Applies one address op through the one applier ([`crate::apply`]), exactly as the same
/// change pushed by a till.
async fn change(tx: &Transaction<'_>, actor: &Actor, op: Op) -> Result<(), Error> {
    crate::apply::apply(tx, &Acting::from(actor), &op, Door::Rest)
        .await
        .map(drop)
}

/// Adds an address; the first one, or one marked `isDefault`, becomes the default. A customer
/// has at most [`MAX_PER_CUSTOMER`].
pub async fn add(
    pool: &Pool,
    actor: &Actor,
    customer: Uuid,
    input: NewAddress,
) -> Result<AddressView, Error> {
    let address = input.address.validate()?;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let id = AddressId::new();
    let customer_id = CustomerId::from_uuid(customer);
    change(
        &tx,
        actor,
        Op::AddressAdded {
            customer_id,
            address_id: id,
            address,
        },
    )
    .await?;
    if input.is_default {
        change(
            &tx,
            actor,
            Op::DefaultAddressSet {
                customer_id,
                address_id: id,
            },
        )
        .await?;
    }
    let view = fetch_one(&tx, actor, customer, id.as_uuid()).await?;
    tx.commit().await?;
    Ok(view)
}

/// Changes the fields named in `patch`; the result is validated as a whole.
pub async fn update(
    pool: &Pool,
    actor: &Actor,
    customer: Uuid,
    id: Uuid,
    patch: AddressPatch,
) -> Result<AddressView, Error> {
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    lock_customer(&tx, actor, customer, true).await?;
    let old = fetch_one(&tx, actor, customer, id).await?;
    if patch.is_default == Some(false) && old.is_default {
        // Exactly one default: another address must be chosen as default instead.
        return Err(Error::Rule(crate::error::Rule::DefaultRequired));
    }
    let pick = |p: &Option<Option<String>>, o: &Option<String>| match p {
        Some(v) => v.clone(),
        None => o.clone(),
    };
    let pick_f = |p: &Option<Option<f64>>, o: Option<f64>| match p {
        Some(v) => *v,
        None => o,
    };
    let merged = AddressInput {
        address_type: patch.address_type.unwrap_or(old.address_type),
        label: pick(&patch.label, &old.label),
        building: pick(&patch.building, &old.building),
        floor: pick(&patch.floor, &old.floor),
        apartment: pick(&patch.apartment, &old.apartment),
        street: pick(&patch.street, &old.street),
        area: pick(&patch.area, &old.area),
        city: pick(&patch.city, &old.city),
        country: pick(&patch.country, &Some(old.country.clone())),
        postal_code: pick(&patch.postal_code, &old.postal_code),
        latitude: pick_f(&patch.latitude, old.latitude),
        longitude: pick_f(&patch.longitude, old.longitude),
        delivery_notes: pick(&patch.delivery_notes, &old.delivery_notes),
    }
    .validate()?;
    let (customer_id, address_id) = (CustomerId::from_uuid(customer), AddressId::from_uuid(id));
    change(
        &tx,
        actor,
        Op::AddressUpdated {
            customer_id,
            address_id,
            address: merged,
        },
    )
    .await?;
    if patch.is_default == Some(true) {
        change(
            &tx,
            actor,
            Op::DefaultAddressSet {
                customer_id,
                address_id,
            },
        )
        .await?;
    }
    let view = fetch_one(&tx, actor, customer, id).await?;
    tx.commit().await?;
    Ok(view)
}

/// Makes `id` the customer's default address.
pub async fn set_default(
    pool: &Pool,
    actor: &Actor,
    customer: Uuid,
    id: Uuid,
) -> Result<AddressView, Error> {
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let op = Op::DefaultAddressSet {
        customer_id: CustomerId::from_uuid(customer),
        address_id: AddressId::from_uuid(id),
    };
    change(&tx, actor, op).await?;
    let view = fetch_one(&tx, actor, customer, id).await?;
    tx.commit().await?;
    Ok(view)
}

/// Deletes an address; when it was the default, the newest remaining one becomes the default
/// (`dukkan_core::rules::default_after_delete`, the till's rule too).
pub async fn delete(pool: &Pool, actor: &Actor, customer: Uuid, id: Uuid) -> Result<(), Error> {
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let op = Op::AddressDeleted {
        customer_id: CustomerId::from_uuid(customer),
        address_id: AddressId::from_uuid(id),
    };
    change(&tx, actor, op).await?;
    tx.commit().await?;
    Ok(())
}
