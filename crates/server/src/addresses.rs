//! A customer's addresses: many, exactly one default (the database enforces both halves:
//! a partial unique index and a deferred constraint trigger).

use crate::changes::{self, Entity};
use crate::db;
use crate::error::{Conflict, Error};
use crate::staff::Actor;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Pool, Transaction};
use dukkan_core::{AddressInput, AddressType, FreeText};
use serde::{Deserialize, Deserializer, Serialize};
use tokio_postgres::Row;
use uuid::Uuid;

/// Most addresses one customer may have.
pub const MAX_PER_CUSTOMER: i64 = 20;

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

fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH .../addresses/{addressId}`: absent fields are kept, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressPatch {
    /// `home`, `work` or `other`.
    #[schema(value_type = Option<String>)]
    pub address_type: Option<AddressType>,
    #[serde(default, deserialize_with = "present")]
    pub label: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub building: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub floor: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub apartment: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub street: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub area: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub latitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    pub longitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
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

fn text(t: &Option<FreeText>) -> Option<&str> {
    t.as_ref().map(FreeText::as_str)
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
        return Err(Error::Conflict(Conflict::CustomerInactive));
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

/// Moves the default to `id` (the old default is cleared first: the unique index is checked
/// at once, the "one default" trigger at commit).
async fn make_default(
    tx: &Transaction<'_>,
    actor: &Actor,
    customer: Uuid,
    id: Uuid,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE addresses SET is_default = false, updated_at = now()
         WHERE tenant_id = $1 AND customer_id = $2 AND is_default AND id <> $3",
        &[&actor.tenant.0, &customer, &id],
    )
    .await?;
    tx.execute(
        "UPDATE addresses SET is_default = true, updated_at = now()
         WHERE tenant_id = $1 AND customer_id = $2 AND id = $3 AND NOT is_default",
        &[&actor.tenant.0, &customer, &id],
    )
    .await?;
    Ok(())
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

async fn write(
    tx: &Transaction<'_>,
    actor: &Actor,
    customer: Uuid,
    id: Uuid,
    input: &AddressInput,
    insert: bool,
) -> Result<(), Error> {
    let a = input.validate()?;
    let sql = if insert {
        "INSERT INTO addresses (tenant_id, customer_id, id, address_type, label, building, floor,
             apartment, street, area, city, country, postal_code, latitude, longitude,
             delivery_notes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    } else {
        "UPDATE addresses SET address_type = $4, label = $5, building = $6, floor = $7,
             apartment = $8, street = $9, area = $10, city = $11, country = $12,
             postal_code = $13, latitude = $14, longitude = $15, delivery_notes = $16,
             updated_at = now()
         WHERE tenant_id = $1 AND customer_id = $2 AND id = $3"
    };
    tx.execute(
        sql,
        &[
            &actor.tenant.0,
            &customer,
            &id,
            &a.address_type.as_str(),
            &text(&a.label),
            &text(&a.building),
            &text(&a.floor),
            &text(&a.apartment),
            &text(&a.street),
            &text(&a.area),
            &text(&a.city),
            &a.country.as_str(),
            &text(&a.postal_code),
            &a.gps.map(|g| g.latitude()),
            &a.gps.map(|g| g.longitude()),
            &text(&a.delivery_notes),
        ],
    )
    .await?;
    Ok(())
}

/// Adds an address; the first one, or one marked `isDefault`, becomes the default.
pub async fn add(
    pool: &Pool,
    actor: &Actor,
    customer: Uuid,
    input: NewAddress,
) -> Result<AddressView, Error> {
    input.address.validate()?;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    lock_customer(&tx, actor, customer, true).await?;
    let count: i64 = tx
        .query_one(
            "SELECT count(*) FROM addresses WHERE tenant_id = $1 AND customer_id = $2",
            &[&actor.tenant.0, &customer],
        )
        .await?
        .get(0);
    if count >= MAX_PER_CUSTOMER {
        return Err(Error::Conflict(Conflict::AddressLimit));
    }
    let id = Uuid::now_v7();
    write(&tx, actor, customer, id, &input.address, true).await?;
    if count == 0 || input.is_default {
        make_default(&tx, actor, customer, id).await?;
    }
    changes::record(&tx, actor, Entity::Address, id, "create", &["*"]).await?;
    let view = fetch_one(&tx, actor, customer, id).await?;
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
    };
    write(&tx, actor, customer, id, &merged, false).await?;
    if patch.is_default == Some(true) {
        make_default(&tx, actor, customer, id).await?;
    }
    let view = fetch_one(&tx, actor, customer, id).await?;
    let fields = changed_fields(&old, &view);
    if !fields.is_empty() {
        changes::record(&tx, actor, Entity::Address, id, "update", &fields).await?;
    }
    tx.commit().await?;
    Ok(view)
}

fn changed_fields(old: &AddressView, new: &AddressView) -> Vec<&'static str> {
    let mut f = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            f.push(name);
        }
    };
    check("addressType", old.address_type != new.address_type);
    check("label", old.label != new.label);
    check("building", old.building != new.building);
    check("floor", old.floor != new.floor);
    check("apartment", old.apartment != new.apartment);
    check("street", old.street != new.street);
    check("area", old.area != new.area);
    check("city", old.city != new.city);
    check("country", old.country != new.country);
    check("postalCode", old.postal_code != new.postal_code);
    check(
        "gps",
        old.latitude != new.latitude || old.longitude != new.longitude,
    );
    check("deliveryNotes", old.delivery_notes != new.delivery_notes);
    check("isDefault", old.is_default != new.is_default);
    f
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
    lock_customer(&tx, actor, customer, true).await?;
    let old = fetch_one(&tx, actor, customer, id).await?;
    if !old.is_default {
        make_default(&tx, actor, customer, id).await?;
        changes::record(&tx, actor, Entity::Address, id, "update", &["isDefault"]).await?;
    }
    let view = fetch_one(&tx, actor, customer, id).await?;
    tx.commit().await?;
    Ok(view)
}

/// Deletes an address; when it was the default, the oldest remaining one becomes the default.
pub async fn delete(pool: &Pool, actor: &Actor, customer: Uuid, id: Uuid) -> Result<(), Error> {
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    lock_customer(&tx, actor, customer, true).await?;
    let old = fetch_one(&tx, actor, customer, id).await?;
    tx.execute(
        "DELETE FROM addresses WHERE tenant_id = $1 AND customer_id = $2 AND id = $3",
        &[&actor.tenant.0, &customer, &id],
    )
    .await?;
    if old.is_default {
        let next = tx
            .query_opt(
                "SELECT id FROM addresses WHERE tenant_id = $1 AND customer_id = $2
                 ORDER BY created_at, id LIMIT 1",
                &[&actor.tenant.0, &customer],
            )
            .await?;
        if let Some(next) = next {
            let next: Uuid = next.get(0);
            make_default(&tx, actor, customer, next).await?;
            changes::record(&tx, actor, Entity::Address, next, "update", &["isDefault"]).await?;
        }
    }
    changes::record(&tx, actor, Entity::Address, id, "delete", &["*"]).await?;
    tx.commit().await?;
    Ok(())
}
