//! Customers: create (guest / stub), list and search, get, patch, deactivate.
//!
//! Input arrives as plain strings and is parsed here with dukkan-core's types, so a bad value
//! is a validation error with its own code, never a generic "bad body".

use crate::apply::{self, Acting, Door};
use crate::db;
use crate::error::Error;
use crate::staff::Actor;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Pool, Transaction};
use dukkan_core::ops::{CustomerCreated, CustomerUpdated, Op};
use dukkan_core::rules::Refusal;
use dukkan_core::rules::{self, Action};
use dukkan_core::search::{digits_only, looks_like_phone_digits, search_tokens};
use dukkan_core::CustomerId;
use dukkan_core::{
    CustomerKind, CustomerNumber, Field, Folding, NotificationChannel, Phone, Preferences,
    ValidationError,
};
use serde::{Deserialize, Serialize};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

mod search;
pub use search::list;

/// Longest search text accepted.
pub const SEARCH_MAX_CHARS: usize = 100;
/// Largest page of a list.
pub const MAX_LIMIT: u32 = 100;
pub const DEFAULT_LIMIT: u32 = 20;
/// Matches counted for a list's total; past it the total says "at least this many".
///
/// The page itself is found without counting (it walks down the customer numbers), so the count
/// is what a broad search costs: in a shop of 5,000,000 customers, counting two common name
/// words to 10,000 took 60-68 ms p95 (BENCHMARKS.md, "Server search at 5,000,000 customers").
/// 1,000 is 50 pages of 20: past it a person narrows the search rather than pages on.
pub const COUNT_CAP: i64 = 1_000;
/// Shortest digit string searched through the phone tokens (V4__search_tokens.sql).
const PHONE_TOKEN_MIN_DIGITS: usize = 3;

/// Preferences as typed; checked by [`Preferences::new`].
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreferencesInput {
    /// `hang` or `fold`.
    pub folding: Option<Folding>,
    pub fragrance: Option<String>,
    pub eco_friendly: Option<bool>,
    /// Any of `whatsapp`, `sms`, `email`.
    pub channels: Option<Vec<NotificationChannel>>,
}

impl PreferencesInput {
    pub(crate) fn parse(&self) -> Result<Preferences, ValidationError> {
        Preferences::new(
            self.folding,
            self.fragrance.as_deref(),
            self.eco_friendly.unwrap_or(false),
            self.channels.as_deref().unwrap_or(&[]),
        )
    }
}

/// `POST /customers`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCustomer {
    /// The id the device generated (UUIDv7); the server makes one when absent.
    pub id: Option<Uuid>,
    /// `guest`, `stub` or `full`.
    #[serde(rename = "type")]
    pub kind: CustomerKind,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name2: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub preferences: Option<PreferencesInput>,
    /// Only for `type: "full"`, which needs a verified phone.
    pub otp_code: Option<String>,
}

/// `PATCH /customers/{id}`: absent fields are kept, `null` clears an optional field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerPatch {
    #[serde(rename = "type")]
    pub kind: Option<CustomerKind>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub name2: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "dukkan_core::ops::present")]
    pub email: Option<Option<String>>,
    pub preferences: Option<PreferencesInput>,
}

/// A customer as the API shows it (PRD shape, camelCase).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: Uuid,
    /// `CUST-00001`: sequential and gapless per tenant. `null` for a walk-in guest until its
    /// first order (a guest is one visit, and uses up no number until then).
    #[schema(value_type = Option<String>, example = "CUST-00001")]
    pub customer_number: Option<CustomerNumber>,
    /// `guest`, `stub` or `full`.
    #[serde(rename = "type")]
    pub kind: CustomerKind,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name2: Option<String>,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub email: Option<String>,
    pub preferences: serde_json::Value,
    pub loyalty_points: i64,
    pub is_active: bool,
    pub merged_into: Option<Uuid>,
    pub total_orders: i64,
    pub total_spent_minor: i64,
    pub last_order_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Filter by active state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Active,
    Inactive,
    All,
}

/// `GET /customers` query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    /// Customers per page (default 20, at most 100).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Name (Latin or Arabic, prefix), phone digits or last 4, email, or customer number.
    #[param(max_length = 100)]
    pub search: Option<String>,
    /// `guest`, `stub` or `full`.
    #[serde(rename = "type")]
    #[param(value_type = Option<CustomerKind>)]
    pub kind: Option<CustomerKind>,
    /// `active` (default), `inactive` or `all`.
    #[param(inline)]
    pub status: Option<Status>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub page: u32,
    pub limit: u32,
    /// Matches, counted up to [`COUNT_CAP`].
    pub total: i64,
    /// False when there are more than [`COUNT_CAP`] matches (`total` is then the cap).
    pub total_exact: bool,
    pub total_pages: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPage {
    pub customers: Vec<Customer>,
    pub pagination: Pagination,
}

const SELECT_CUSTOMER: &str = "
    SELECT c.id, c.customer_number, c.kind, c.first_name, c.last_name, c.name2, c.phone,
           c.phone_verified, c.email, c.preferences, c.loyalty_points, c.active, c.merged_into,
           c.created_at, c.updated_at,
           coalesce(o.n, 0) AS total_orders, coalesce(o.total, 0)::bigint AS total_spent,
           o.last_at
    FROM customers c
    LEFT JOIN LATERAL (
        SELECT count(*) AS n, sum(total_minor) AS total, max(created_at) AS last_at
        FROM orders WHERE tenant_id = c.tenant_id AND customer_id = c.id
    ) o ON true";

fn from_row(row: &Row) -> Result<Customer, Error> {
    let number: Option<i32> = row.get("customer_number");
    let kind: String = row.get("kind");
    Ok(Customer {
        id: row.get("id"),
        customer_number: number
            .map(|number| {
                u32::try_from(number)
                    .ok()
                    .and_then(|n| CustomerNumber::new(n).ok())
                    .ok_or_else(|| Error::Internal(format!("customer number {number}")))
            })
            .transpose()?,
        kind: kind
            .parse()
            .map_err(|()| Error::Internal(format!("customer kind {kind}")))?,
        first_name: row.get("first_name"),
        last_name: row.get("last_name"),
        name2: row.get("name2"),
        phone: row.get("phone"),
        phone_verified: row.get("phone_verified"),
        email: row.get("email"),
        preferences: row.get("preferences"),
        loyalty_points: row.get("loyalty_points"),
        is_active: row.get("active"),
        merged_into: row.get("merged_into"),
        total_orders: row.get("total_orders"),
        total_spent_minor: row.get("total_spent"),
        last_order_at: row.get("last_at"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    })
}

/// One customer of a tenant by id (`$1` tenant, `$2` id).
fn select_one() -> String {
    format!("{SELECT_CUSTOMER} WHERE c.tenant_id = $1 AND c.id = $2")
}

async fn fetch(tx: &Transaction<'_>, actor: &Actor, id: Uuid) -> Result<Customer, Error> {
    let row = tx
        .query_opt(&select_one(), &[&actor.tenant.0, &id])
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// Creates a guest or stub customer and gives it the tenant's next customer number, in one
/// transaction (a failed create leaves no gap in the numbers), through the one applier: the
/// same rules and the same numbered insert as a customer a till creates.
pub async fn create(pool: &Pool, actor: &Actor, input: NewCustomer) -> Result<Customer, Error> {
    if input.kind == CustomerKind::Full {
        // Only the server sets a profile to full, after the phone is verified by OTP.
        return Err(Error::Refused(Refusal::OtpRequired));
    }
    let blank = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let created = CustomerCreated {
        id: CustomerId::from_uuid(input.id.unwrap_or_else(Uuid::now_v7)),
        kind: input.kind,
        first_name: blank(input.first_name),
        last_name: blank(input.last_name),
        name2: blank(input.name2),
        phone: blank(input.phone),
        email: blank(input.email),
        preferences: input
            .preferences
            .as_ref()
            .map(PreferencesInput::parse)
            .transpose()?,
    };
    let acting = Acting::from(actor);
    rules::authorize(acting.role, Action::CreateCustomer)?;
    let select_one = select_one();
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let (_, row) = apply::create(&tx, &acting, &created, Door::Rest, Some(&select_one)).await?;
    let customer = from_row(&row.ok_or(Error::NotFound)?)?;
    tx.commit().await?;
    let phone = created.phone.as_deref().and_then(|p| Phone::parse(p).ok());
    tracing::info!(
        tenant = %actor.tenant,
        customer = %customer.id,
        number = customer.customer_number.map(|n| n.to_string()).as_deref().unwrap_or("-"),
        phone = phone.as_ref().map(Phone::masked).as_deref().unwrap_or("-"),
        "customer created"
    );
    Ok(customer)
}

/// One customer of the actor's tenant, active or not.
pub async fn get(pool: &Pool, actor: &Actor, id: Uuid) -> Result<Customer, Error> {
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let customer = fetch(&tx, actor, id).await?;
    tx.commit().await?;
    Ok(customer)
}

/// Changes the fields named in `patch`, decided by the customer rules through the one applier
/// ([`crate::apply`]), exactly as the same edit pushed by a till. A verified phone cannot be
/// changed here; `type` can only go from guest to stub (full needs the OTP upgrade); a
/// customer's first name and phone, once given, can be changed but not removed.
pub async fn update(
    pool: &Pool,
    actor: &Actor,
    id: Uuid,
    patch: CustomerPatch,
) -> Result<Customer, Error> {
    let required = |field| Error::Validation(ValidationError::Required(field));
    let wanted = CustomerUpdated {
        id: CustomerId::from_uuid(id),
        first_name: match patch.first_name {
            None => None,
            Some(Some(s)) => Some(s),
            Some(None) => return Err(required(Field::FirstName)),
        },
        last_name: patch.last_name,
        name2: patch.name2,
        phone: match patch.phone {
            None => None,
            Some(Some(s)) if !s.trim().is_empty() => Some(s),
            Some(_) => return Err(required(Field::Phone)),
        },
        email: patch.email,
        preferences: patch
            .preferences
            .as_ref()
            .map(PreferencesInput::parse)
            .transpose()?,
    };
    let acting = Acting::from(actor);
    rules::authorize(acting.role, Action::EditCustomer)?;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let changed = apply::update(&tx, &acting, id, &wanted, patch.kind).await?;
    let customer = fetch(&tx, actor, id).await?;
    tx.commit().await?;
    if !changed.is_empty() {
        tracing::info!(tenant = %actor.tenant, customer = %id, fields = ?changed, "customer updated");
    }
    Ok(customer)
}

/// Applies one change to customer `id` through the one applier and answers the customer.
async fn change(pool: &Pool, actor: &Actor, id: Uuid, op: Op) -> Result<Customer, Error> {
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    apply::apply(&tx, &Acting::from(actor), &op, Door::Rest).await?;
    let customer = fetch(&tx, actor, id).await?;
    tx.commit().await?;
    Ok(customer)
}

/// Soft-deletes a customer (managers and admins). Deactivating twice is not an error.
pub async fn deactivate(pool: &Pool, actor: &Actor, id: Uuid) -> Result<Customer, Error> {
    let op = Op::CustomerDeactivated {
        customer_id: CustomerId::from_uuid(id),
    };
    change(pool, actor, id, op).await
}

/// Brings a deactivated customer back (managers and admins), unless another active customer
/// now holds the phone (409 `customer.phone-taken`, naming that customer). Reactivating an
/// active customer is not an error.
pub async fn reactivate(pool: &Pool, actor: &Actor, id: Uuid) -> Result<Customer, Error> {
    let op = Op::CustomerReactivated {
        customer_id: CustomerId::from_uuid(id),
    };
    change(pool, actor, id, op).await
}
