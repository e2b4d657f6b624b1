//! `GET /api/v1/sync/customers/{id}`: one customer as the server holds it now (the same snapshot
//! a pull carries), for a device that must drop a local change the server refused and a person
//! discarded. Device token only; the tenant comes from the token, so another tenant's id is
//! simply not found.

use crate::error::Error;
use crate::orders::{record_from_row, ORDER_COLUMNS};
use deadpool_postgres::Transaction;
use dukkan_core::orders::OrderRecord;
use dukkan_core::sync::{AddressSnapshot, CustomerSnapshot, UpgradeState, RECENT_ORDERS};
use dukkan_core::{Address, CustomerId, CustomerNumber, Field};
use tokio_postgres::Row;
use uuid::Uuid;

fn text(row: &Row, col: &str) -> Option<dukkan_core::FreeText> {
    let v: Option<String> = row.get(col);
    v.and_then(|s| {
        dukkan_core::FreeText::parse_block(Field::DeliveryNotes, Some(&s), usize::MAX)
            .ok()
            .flatten()
    })
}

/// One customer as it is now (see [`snapshots`]).
pub(crate) async fn snapshot(
    tx: &Transaction<'_>,
    tenant: Uuid,
    id: Uuid,
) -> Result<CustomerSnapshot, Error> {
    snapshots(tx, tenant, &[id])
        .await?
        .remove(&id)
        .ok_or(Error::NotFound)
}

/// The customers `ids` as they are now, with their addresses and latest orders: two queries
/// for a whole page, a third when some have orders (one per customer made an initial pull of
/// 100,000 customers take 200,000 round trips).
pub(crate) async fn snapshots(
    tx: &Transaction<'_>,
    tenant: Uuid,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, CustomerSnapshot>, Error> {
    // A waiting pull's look that found nothing asks for no customers: no query.
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    // Prepared once per connection, like every statement of a pull: planning this join on
    // every pull answer cost the database more than running it.
    let customers = tx
        .query(
            &tx.prepare_cached(
            "SELECT c.id, c.customer_number, c.kind, c.first_name, c.last_name, c.name2, c.phone, c.email,
                    c.phone_verified, c.preferences, c.loyalty_points, c.active, c.merged_into,
                    c.retired_at IS NOT NULL AS retired, c.created_at, c.updated_at,
                    COALESCE(o.n, 0) AS n, COALESCE(o.total, 0)::bigint AS total, o.last_at,
                    u.state AS upgrade_state, u.resend_after, u.code_expires_at, u.error_code
             FROM customers c
             LEFT JOIN LATERAL (SELECT count(*) AS n, sum(total_minor) AS total, max(created_at) AS last_at
                                FROM orders WHERE tenant_id = c.tenant_id AND customer_id = c.id) o ON true
             LEFT JOIN upgrade_requests u ON u.tenant_id = c.tenant_id AND u.customer_id = c.id
             WHERE c.tenant_id = $1 AND c.id = ANY($2)",
            )
            .await?,
            &[&tenant, &ids],
        )
        .await?;
    let addresses = tx
        .query(
            &tx.prepare_cached(
            "SELECT customer_id, id, address_type, label, building, floor, apartment, street, area, city,
                    country, postal_code, latitude, longitude, delivery_notes, is_default
             FROM addresses WHERE tenant_id = $1 AND customer_id = ANY($2) ORDER BY customer_id, id",
            )
            .await?,
            &[&tenant, &ids],
        )
        .await?;
    let mut by_customer: std::collections::HashMap<Uuid, Vec<&Row>> =
        std::collections::HashMap::new();
    for a in &addresses {
        by_customer.entry(a.get("customer_id")).or_default().push(a);
    }
    let mut recent = recent_orders(tx, tenant, &customers).await?;
    let mut out = std::collections::HashMap::with_capacity(customers.len());
    for c in &customers {
        let id: Uuid = c.get("id");
        let addresses = by_customer.remove(&id).unwrap_or_default();
        let mut snapshot = snapshot_from_rows(id, c, &addresses)?;
        snapshot.recent_orders = recent.remove(&id).unwrap_or_default();
        out.insert(id, snapshot);
    }
    Ok(out)
}

/// The newest [`RECENT_ORDERS`] orders of each of `customers` (rows of [`snapshots`]' first
/// query) that has any, newest first: one query, asked only about customers with orders, so
/// a first pull of a shop of customers without orders costs nothing more.
async fn recent_orders(
    tx: &Transaction<'_>,
    tenant: Uuid,
    customers: &[Row],
) -> Result<std::collections::HashMap<Uuid, Vec<OrderRecord>>, Error> {
    let with_orders: Vec<Uuid> = customers
        .iter()
        .filter(|c| c.get::<_, i64>("n") > 0)
        .map(|c| c.get("id"))
        .collect();
    let mut out: std::collections::HashMap<Uuid, Vec<OrderRecord>> =
        std::collections::HashMap::with_capacity(with_orders.len());
    if with_orders.is_empty() {
        return Ok(out);
    }
    let limit = i64::try_from(RECENT_ORDERS).unwrap_or(i64::MAX);
    let rows = tx
        .query(
            &tx.prepare_cached(&format!(
                "SELECT w.id AS customer_id, {ORDER_COLUMNS}
                 FROM unnest($2::uuid[]) AS w(id)
                 CROSS JOIN LATERAL (
                     SELECT * FROM orders
                     WHERE tenant_id = $1 AND customer_id = w.id
                     ORDER BY created_at DESC, id DESC LIMIT $3) o
                 ORDER BY w.id, o.created_at DESC, o.id DESC"
            ))
            .await?,
            &[&tenant, &with_orders, &limit],
        )
        .await?;
    for r in &rows {
        out.entry(r.get("customer_id"))
            .or_default()
            .push(record_from_row(r));
    }
    Ok(out)
}

fn snapshot_from_rows(id: Uuid, c: &Row, addresses: &[&Row]) -> Result<CustomerSnapshot, Error> {
    let mut default_address_id = None;
    let mut snaps = Vec::with_capacity(addresses.len());
    for a in addresses {
        let aid: Uuid = a.get("id");
        if a.get::<_, bool>("is_default") {
            default_address_id = Some(dukkan_core::AddressId::from_uuid(aid));
        }
        let kind: &str = a.get("address_type");
        let country: &str = a.get("country");
        snaps.push(AddressSnapshot {
            id: dukkan_core::AddressId::from_uuid(aid),
            address: Address {
                address_type: dukkan_core::AddressType::parse(kind).unwrap_or_default(),
                label: text(a, "label"),
                building: text(a, "building"),
                floor: text(a, "floor"),
                apartment: text(a, "apartment"),
                street: text(a, "street"),
                area: text(a, "area"),
                city: text(a, "city"),
                country: dukkan_core::CountryCode::parse(country).unwrap_or_default(),
                postal_code: text(a, "postal_code"),
                gps: dukkan_core::GeoPoint::optional(a.get("latitude"), a.get("longitude"))
                    .ok()
                    .flatten(),
                delivery_notes: text(a, "delivery_notes"),
            },
        });
    }
    let number: Option<i32> = c.get("customer_number");
    let kind: &str = c.get("kind");
    let ts = |col: &str| {
        c.get::<_, chrono::DateTime<chrono::Utc>>(col)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let opt_ts = |col: &str| {
        c.get::<_, Option<chrono::DateTime<chrono::Utc>>>(col)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    Ok(CustomerSnapshot {
        id: CustomerId::from_uuid(id),
        customer_number: number
            .and_then(|n| u32::try_from(n).ok())
            .and_then(|n| CustomerNumber::new(n).ok()),
        kind: kind
            .parse()
            .map_err(|()| Error::Internal(format!("kind {kind}")))?,
        first_name: c.get("first_name"),
        last_name: c.get("last_name"),
        name2: c.get("name2"),
        phone: c.get("phone"),
        email: c.get("email"),
        phone_verified: c.get("phone_verified"),
        preferences: serde_json::from_value(c.get("preferences")).ok(),
        loyalty_points: c.get("loyalty_points"),
        order_count: c.get("n"),
        total_spent_minor: c.get("total"),
        last_order_at: c
            .get::<_, Option<chrono::DateTime<chrono::Utc>>>("last_at")
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        // Filled by `snapshots` for the whole page at once.
        recent_orders: Vec::new(),
        active: c.get("active"),
        retired: c.get("retired"),
        merged_into: c
            .get::<_, Option<Uuid>>("merged_into")
            .map(CustomerId::from_uuid),
        default_address_id,
        addresses: snaps,
        upgrade_state: c
            .get::<_, Option<&str>>("upgrade_state")
            .and_then(UpgradeState::parse),
        resend_after: opt_ts("resend_after"),
        code_expires_at: opt_ts("code_expires_at"),
        upgrade_error: c.get("error_code"),
        created_at: ts("created_at"),
        updated_at: ts("updated_at"),
    })
}
