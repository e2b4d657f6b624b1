//! The one applier of customer changes on the server, used by the REST handlers and by sync
//! push alike: an [`Op`] checked against the customer rules (`dukkan_core::rules`, the same
//! ones the till asks) and authorised for whoever acts, then written with its audit row and
//! change-feed entry, in the caller's transaction.
//!
//! The two doors differ only where they must ([`Door`]): a pushed create whose phone another
//! till already created offline is merged into that customer (REST refuses it with 409), and a
//! pushed op follows merges to the survivor (REST names one customer and gets its answer).

use crate::changes::{self, Author, Entity};
use crate::error::Error;
use crate::ids::TenantId;
use crate::staff::{Actor, Role};
use deadpool_postgres::Transaction;
use dukkan_core::ops::{CustomerUpdated, Op};
use dukkan_core::rules::{self, Action, CustomerState, PhoneHolder};
use dukkan_core::search::search_key;
use dukkan_core::sync::OpOutcome;
use dukkan_core::{CustomerId, CustomerKind, CustomerNumber};
use uuid::Uuid;

mod create;
mod merge;
mod orders;
mod upgrade;
pub(crate) use create::{create, create_run};
pub(crate) use merge::{merge, undo as undo_merge};
pub(crate) use upgrade::{make_full, phone_verified};

/// Which door a change came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// A staff member's REST call: a duplicate phone is refused (409); ids are taken as named.
    Rest,
    /// A till's pushed op: a duplicate phone created offline is merged into the customer that
    /// has it; ops follow merges to the survivor.
    Sync,
}

/// Who is acting: a staff member (over REST, or named on a till's op) with their role, through
/// a device or not. `role: None` is an op a till recorded with nobody signed in.
#[derive(Debug, Clone, Copy)]
pub struct Acting {
    pub tenant: Uuid,
    pub staff: Option<Uuid>,
    pub role: Option<Role>,
    pub device: Option<Uuid>,
    /// When a till says it made the change (a pushed op's `at`); `None` over REST (now).
    /// Orders keep it, bounded by `dukkan_core::orders::taken_at`.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<&Actor> for Acting {
    fn from(actor: &Actor) -> Self {
        Acting {
            tenant: actor.tenant.0,
            staff: Some(actor.staff.0),
            role: Some(actor.role),
            device: None,
            at: None,
        }
    }
}

impl From<&Acting> for Author {
    fn from(a: &Acting) -> Self {
        Author {
            tenant: TenantId(a.tenant),
            staff: a.staff,
            device: a.device,
        }
    }
}

/// Records one change of a customer (audit row plus change-feed entry).
pub(crate) async fn record(
    tx: &Transaction<'_>,
    acting: &Acting,
    customer: Uuid,
    action: &str,
    fields: &[&str],
) -> Result<(), Error> {
    changes::record(tx, acting, Entity::Customer, customer, action, fields)
        .await
        .map(drop)
}

/// The name search text of a customer (names and email, folded).
pub(crate) fn names_key(
    first: Option<&str>,
    last: Option<&str>,
    name2: Option<&str>,
    email: Option<&str>,
) -> String {
    let parts: Vec<&str> = [first, last, name2, email].into_iter().flatten().collect();
    search_key(&parts.join(" "))
}

/// The store's unique index on active phones said no.
pub(crate) fn is_unique_phone(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().and_then(|d| d.constraint()) == Some("customers_active_phone_unique")
}

/// A refused write in the store's own words: a phone another active customer holds, an id
/// another customer has (both raced in by a transaction that committed first).
fn phone_conflict(e: tokio_postgres::Error) -> Error {
    match e.as_db_error().and_then(|d| d.constraint()) {
        Some("customers_active_phone_unique") => Error::phone_taken(),
        Some("customers_pkey") => Error::Conflict(crate::error::Conflict::IdTaken),
        _ => Error::Database(e),
    }
}

/// The customer an op names, following merges to the survivor.
pub(crate) async fn resolve(tx: &Transaction<'_>, tenant: Uuid, id: Uuid) -> Result<Uuid, Error> {
    let mut current = id;
    for _ in 0..8 {
        let row = tx
            .query_opt(
                &tx.prepare_cached(
                    "SELECT merged_into FROM customers WHERE tenant_id = $1 AND id = $2",
                )
                .await?,
                &[&tenant, &current],
            )
            .await?
            .ok_or(Error::NotFound)?;
        match row.get::<_, Option<Uuid>>(0) {
            Some(next) => current = next,
            None => return Ok(current),
        }
    }
    Err(Error::Internal("merge chain too long".into()))
}

/// The customer as the rules see it, locked for the rest of the transaction.
pub(crate) async fn load_state(
    tx: &Transaction<'_>,
    tenant: Uuid,
    id: Uuid,
) -> Result<CustomerState, Error> {
    let row = tx
        .query_opt(
            &tx.prepare_cached(
                "SELECT kind, active, merged_into IS NOT NULL, first_name, last_name, name2, phone,
                        phone_verified, email, preferences
                 FROM customers WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            )
            .await?,
            &[&tenant, &id],
        )
        .await?
        .ok_or(Error::NotFound)?;
    let kind: &str = row.get(0);
    Ok(CustomerState {
        id: CustomerId::from_uuid(id),
        kind: kind
            .parse()
            .map_err(|()| Error::Internal(format!("kind {kind}")))?,
        active: row.get(1),
        merged: row.get(2),
        first_name: row.get(3),
        last_name: row.get(4),
        name2: row.get(5),
        phone: row.get(6),
        phone_verified: row.get(7),
        email: row.get(8),
        preferences: row
            .get::<_, Option<serde_json::Value>>(9)
            .and_then(|v| serde_json::from_value(v).ok()),
    })
}

/// The active customer holding `phone`, other than `except`.
async fn phone_holder(
    tx: &Transaction<'_>,
    tenant: Uuid,
    phone: &str,
    except: Uuid,
) -> Result<Option<PhoneHolder>, Error> {
    let row = tx
        .query_opt(
            "SELECT id, customer_number, concat_ws(' ', first_name, last_name) FROM customers
             WHERE tenant_id = $1 AND phone = $2 AND active AND id <> $3",
            &[&tenant, &phone, &except],
        )
        .await?;
    Ok(row.map(|r| PhoneHolder {
        id: CustomerId::from_uuid(r.get(0)),
        number: r
            .get::<_, Option<i32>>(1)
            .and_then(|n| u32::try_from(n).ok())
            .and_then(|n| CustomerNumber::new(n).ok()),
        name: Some(r.get::<_, String>(2)).filter(|n| !n.is_empty()),
    }))
}

/// Gives customer `id` the shop's next customer number if it has none yet (a walk-in guest at
/// its first order, or as it becomes a stub), under the tenant counter's row lock like a
/// create. True when it did.
pub(crate) async fn assign_number(
    tx: &Transaction<'_>,
    tenant: Uuid,
    id: Uuid,
) -> Result<bool, Error> {
    let assigned = tx
        .execute(
            &tx.prepare_cached(
                "WITH c AS (SELECT 1 FROM customers
                            WHERE tenant_id = $1 AND id = $2 AND customer_number IS NULL),
                      n AS (UPDATE tenant_counters SET next_customer_number = next_customer_number + 1
                            WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM c)
                            RETURNING next_customer_number - 1 AS number)
                 UPDATE customers SET customer_number = n.number::int FROM n
                 WHERE customers.tenant_id = $1 AND customers.id = $2",
            )
            .await?,
            &[&tenant, &id],
        )
        .await?;
    Ok(assigned > 0)
}

/// Rewrites the name search text of a customer from its row.
async fn refresh_search_text(tx: &Transaction<'_>, tenant: Uuid, id: Uuid) -> Result<(), Error> {
    let r = tx
        .query_one(
            "SELECT first_name, last_name, name2, email FROM customers WHERE tenant_id = $1 AND id = $2",
            &[&tenant, &id],
        )
        .await?;
    let key = names_key(r.get(0), r.get(1), r.get(2), r.get(3));
    tx.execute(
        "UPDATE customers SET search_text = $3 WHERE tenant_id = $1 AND id = $2",
        &[&tenant, &id, &key],
    )
    .await?;
    Ok(())
}

/// Checks `op` against the rules for `acting` and writes its effect. The answer is what a till
/// is told (`applied`, or `redirected` to the customer a duplicate was merged into).
pub async fn apply(
    tx: &Transaction<'_>,
    acting: &Acting,
    op: &Op,
    door: Door,
) -> Result<OpOutcome, Error> {
    rules::authorize(acting.role, Action::of(op))?;
    let target = |id: CustomerId| async move {
        match door {
            Door::Sync => resolve(tx, acting.tenant, id.as_uuid()).await,
            Door::Rest => Ok(id.as_uuid()),
        }
    };
    match op {
        Op::CustomerCreated(c) => create(tx, acting, c, door, None).await.map(|(o, _)| o),
        Op::CustomerUpdated(u) => {
            let id = target(u.id).await?;
            if update(tx, acting, id, u, None).await?.is_empty() {
                unchanged(tx, acting, door, id, "update").await?;
            }
            Ok(OpOutcome::Applied)
        }
        Op::CustomerDeactivated { customer_id } | Op::CustomerReactivated { customer_id } => {
            let id = target(*customer_id).await?;
            let state = load_state(tx, acting.tenant, id).await?;
            let decided = if matches!(op, Op::CustomerDeactivated { .. }) {
                rules::decide_deactivate(&state)?
            } else {
                let holder = match &state.phone {
                    Some(p) => phone_holder(tx, acting.tenant, p, id).await?,
                    None => None,
                };
                rules::decide_reactivate(&state, holder)?
            };
            if let Some(op) = decided {
                let active = matches!(op, Op::CustomerReactivated { .. });
                tx.execute(
                    "UPDATE customers SET active = $3, updated_at = now(), updated_by = $4,
                            updated_device = $5
                     WHERE tenant_id = $1 AND id = $2",
                    &[&acting.tenant, &id, &active, &acting.staff, &acting.device],
                )
                .await
                .map_err(phone_conflict)?;
                let action = if active { "reactivate" } else { "deactivate" };
                record(tx, acting, id, action, &["active"]).await?;
            } else {
                let action = match op {
                    Op::CustomerReactivated { .. } => "reactivate",
                    _ => "deactivate",
                };
                unchanged(tx, acting, door, id, action).await?;
            }
            Ok(OpOutcome::Applied)
        }
        Op::AddressAdded {
            customer_id,
            address_id,
            address,
        } => {
            let id = target(*customer_id).await?;
            let state = load_state(tx, acting.tenant, id).await?;
            let owner: Option<Uuid> = tx
                .query_opt(
                    "SELECT customer_id FROM addresses WHERE tenant_id = $1 AND id = $2",
                    &[&acting.tenant, &address_id.as_uuid()],
                )
                .await?
                .map(|r| r.get(0));
            match owner {
                // A replay of the same add (answered before under another op): nothing to do.
                Some(owner) if owner == id => {
                    unchanged(tx, acting, door, id, "address").await?;
                    return Ok(OpOutcome::Applied);
                }
                Some(_) => return Err(Error::Conflict(crate::error::Conflict::IdTaken)),
                None => {}
            }
            let count: i64 = tx
                .query_one(
                    "SELECT count(*) FROM addresses WHERE tenant_id = $1 AND customer_id = $2",
                    &[&acting.tenant, &id],
                )
                .await?
                .get(0);
            let a = rules::decide_address_add(
                &state,
                usize::try_from(count).unwrap_or(usize::MAX),
                address,
            )?;
            write_address(tx, acting.tenant, id, address_id.as_uuid(), &a, true).await?;
            record(tx, acting, id, "address", &["addresses"]).await?;
            Ok(OpOutcome::Applied)
        }
        Op::AddressUpdated {
            customer_id,
            address_id,
            address,
        } => {
            let id = target(*customer_id).await?;
            let exists = address_of(tx, acting.tenant, id, address_id.as_uuid()).await?;
            rules::decide_address_change(&load_state(tx, acting.tenant, id).await?, exists)?;
            let a = rules::checked_address(address)?;
            write_address(tx, acting.tenant, id, address_id.as_uuid(), &a, false).await?;
            record(tx, acting, id, "address", &["addresses"]).await?;
            Ok(OpOutcome::Applied)
        }
        Op::AddressDeleted {
            customer_id,
            address_id,
        } => {
            let id = target(*customer_id).await?;
            let exists = address_of(tx, acting.tenant, id, address_id.as_uuid()).await?;
            if !exists && door == Door::Sync {
                // Deleted already (by another till, or this op's earlier copy): done.
                load_state(tx, acting.tenant, id).await?.changeable()?;
                unchanged(tx, acting, door, id, "address").await?;
                return Ok(OpOutcome::Applied);
            }
            rules::decide_address_change(&load_state(tx, acting.tenant, id).await?, exists)?;
            let was_default = tx
                .query_opt(
                    "DELETE FROM addresses WHERE tenant_id = $1 AND customer_id = $2 AND id = $3
                     RETURNING is_default",
                    &[&acting.tenant, &id, &address_id.as_uuid()],
                )
                .await?
                .is_some_and(|r| r.get::<_, bool>(0));
            if was_default {
                let remaining: Vec<Uuid> = tx
                    .query(
                        "SELECT id FROM addresses WHERE tenant_id = $1 AND customer_id = $2",
                        &[&acting.tenant, &id],
                    )
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let next = rules::default_after_delete(
                    remaining.into_iter().map(dukkan_core::AddressId::from_uuid),
                );
                if let Some(next) = next {
                    make_default(tx, acting.tenant, id, next.as_uuid()).await?;
                }
            }
            record(tx, acting, id, "address", &["addresses"]).await?;
            Ok(OpOutcome::Applied)
        }
        Op::DefaultAddressSet {
            customer_id,
            address_id,
        } => {
            let id = target(*customer_id).await?;
            let exists = address_of(tx, acting.tenant, id, address_id.as_uuid()).await?;
            rules::decide_address_change(&load_state(tx, acting.tenant, id).await?, exists)?;
            if make_default(tx, acting.tenant, id, address_id.as_uuid()).await? {
                record(tx, acting, id, "address", &["defaultAddress"]).await?;
            } else {
                unchanged(tx, acting, door, id, "address").await?;
            }
            Ok(OpOutcome::Applied)
        }
        Op::UpgradeRequested {
            customer_id,
            email,
            preferences,
            language,
        } => {
            let id = target(*customer_id).await?;
            let state = load_state(tx, acting.tenant, id).await?;
            // The server queues again whatever it holds: the till guards one live request.
            let (email, preferences) =
                rules::decide_upgrade_request(&state, false, email, preferences)?;
            // Queued here; the code is sent once the push commits (see `crate::upgrades`).
            tx.execute(
                "INSERT INTO upgrade_requests (tenant_id, customer_id, email, preferences, state,
                                               device_id, language)
                 VALUES ($1, $2, $3, $4, 'queued', $5, $6)
                 ON CONFLICT (tenant_id, customer_id) DO UPDATE SET email = excluded.email,
                    preferences = excluded.preferences, state = 'queued', updated_at = now(),
                    device_id = excluded.device_id, language = excluded.language,
                    code_expires_at = NULL, error_code = NULL, resend_after = NULL",
                &[
                    &acting.tenant,
                    &id,
                    &email.as_str(),
                    &serde_json::to_value(&preferences)
                        .map_err(|e| Error::Internal(e.to_string()))?,
                    &acting.device,
                    &language.map(|l| l.tag()),
                ],
            )
            .await?;
            record(tx, acting, id, "upgrade-requested", &["upgrade"]).await?;
            Ok(OpOutcome::Applied)
        }
        Op::OrderRecorded(o) => {
            let id = target(o.customer_id).await?;
            orders::record_order(tx, acting, door, id, o).await?;
            Ok(OpOutcome::Applied)
        }
        Op::PointsAdjusted {
            customer_id,
            adjustment_id,
            delta,
            reason,
        } => {
            let id = target(*customer_id).await?;
            orders::adjust_points(
                tx,
                acting,
                door,
                id,
                adjustment_id.as_uuid(),
                *delta,
                reason,
            )
            .await?;
            Ok(OpOutcome::Applied)
        }
        // The duplicate is the one the manager saw (a customer merged away meanwhile is
        // refused, never followed); the one that stays is followed to its survivor.
        Op::CustomerMerged {
            merge_id,
            customer_id,
            target_id,
            reason,
        } => {
            let keep = target(*target_id).await?;
            let source = customer_id.as_uuid();
            if merge(tx, acting, *merge_id, source, keep, reason)
                .await?
                .replayed
            {
                unchanged(tx, acting, door, source, "merge-source").await?;
            }
            Ok(OpOutcome::Applied)
        }
        Op::MergeUndone {
            merge_id,
            customer_id,
            target_id,
        } => {
            let undone = undo_merge(
                tx,
                acting,
                *merge_id,
                Some((customer_id.as_uuid(), target_id.as_uuid())),
            )
            .await?;
            if !undone.changed {
                unchanged(tx, acting, door, undone.source, "merge-undo-source").await?;
            }
            Ok(OpOutcome::Applied)
        }
    }
}

/// An op the rules accepted that changes nothing now (another till made the same change
/// first). A till's op is still recorded as received and applied — one audit entry per pushed
/// op, with no fields — while a REST call that changes nothing leaves no trace.
async fn unchanged(
    tx: &Transaction<'_>,
    acting: &Acting,
    door: Door,
    customer: Uuid,
    action: &str,
) -> Result<(), Error> {
    match door {
        Door::Sync => record(tx, acting, customer, action, &[]).await,
        Door::Rest => Ok(()),
    }
}

/// Whether `address` is one of `customer`'s addresses.
async fn address_of(
    tx: &Transaction<'_>,
    tenant: Uuid,
    customer: Uuid,
    address: Uuid,
) -> Result<bool, Error> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM addresses WHERE tenant_id = $1 AND customer_id = $2 AND id = $3",
            &[&tenant, &customer, &address],
        )
        .await?
        .is_some())
}

/// Moves the default to `address` (the old default is cleared first: the unique index is
/// checked at once, the "one default" trigger at commit). False when it already was.
pub(crate) async fn make_default(
    tx: &Transaction<'_>,
    tenant: Uuid,
    customer: Uuid,
    address: Uuid,
) -> Result<bool, Error> {
    tx.execute(
        "UPDATE addresses SET is_default = false, updated_at = now()
         WHERE tenant_id = $1 AND customer_id = $2 AND is_default AND id <> $3",
        &[&tenant, &customer, &address],
    )
    .await?;
    Ok(tx
        .execute(
            "UPDATE addresses SET is_default = true, updated_at = now()
             WHERE tenant_id = $1 AND customer_id = $2 AND id = $3 AND NOT is_default",
            &[&tenant, &customer, &address],
        )
        .await?
        > 0)
}

async fn write_address(
    tx: &Transaction<'_>,
    tenant: Uuid,
    customer: Uuid,
    id: Uuid,
    a: &dukkan_core::Address,
    insert: bool,
) -> Result<(), Error> {
    let t = |f: &Option<dukkan_core::FreeText>| f.as_ref().map(|x| x.as_str().to_owned());
    let sql = if insert {
        // The customer's first address is its default.
        "INSERT INTO addresses (tenant_id, customer_id, id, address_type, label, building, floor,
             apartment, street, area, city, country, postal_code, latitude, longitude,
             delivery_notes, is_default)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
             NOT EXISTS (SELECT 1 FROM addresses WHERE tenant_id = $1 AND customer_id = $2))"
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
            &tenant,
            &customer,
            &id,
            &a.address_type.as_str(),
            &t(&a.label),
            &t(&a.building),
            &t(&a.floor),
            &t(&a.apartment),
            &t(&a.street),
            &t(&a.area),
            &t(&a.city),
            &a.country.as_str(),
            &t(&a.postal_code),
            &a.gps.map(|g| g.latitude()),
            &a.gps.map(|g| g.longitude()),
            &t(&a.delivery_notes),
        ],
    )
    .await?;
    Ok(())
}

/// Applies an edit of customer `id` decided by the rules (`promote_to`: REST's `type`), with
/// its audit entry. Returns the fields that changed (empty: nothing did).
pub(crate) async fn update(
    tx: &Transaction<'_>,
    acting: &Acting,
    id: Uuid,
    wanted: &CustomerUpdated,
    promote_to: Option<CustomerKind>,
) -> Result<Vec<&'static str>, Error> {
    let fields = edit(tx, acting, id, wanted, promote_to).await?;
    if !fields.is_empty() {
        record(tx, acting, id, "update", &fields).await?;
    }
    Ok(fields)
}

/// [`update`] without its audit entry, for a change that records its own (a merge's fill).
pub(crate) async fn edit(
    tx: &Transaction<'_>,
    acting: &Acting,
    id: Uuid,
    wanted: &CustomerUpdated,
    promote_to: Option<CustomerKind>,
) -> Result<Vec<&'static str>, Error> {
    let state = load_state(tx, acting.tenant, id).await?;
    let Some(edit) = rules::decide_update(&state, wanted, promote_to)? else {
        return Ok(Vec::new());
    };
    if let Some(p) = &edit.op.phone {
        rules::phone_free(state.id, phone_holder(tx, acting.tenant, p, id).await?)?;
    }
    // A guest becoming a stub is numbered first: its name's search rows carry the number.
    if edit.kind != CustomerKind::Guest {
        assign_number(tx, acting.tenant, id).await?;
    }
    let u = &edit.op;
    tx.execute(
        "UPDATE customers SET kind = $3,
            first_name = CASE WHEN $4 THEN $5 ELSE first_name END,
            last_name = CASE WHEN $6 THEN $7 ELSE last_name END,
            name2 = CASE WHEN $8 THEN $9 ELSE name2 END,
            phone = CASE WHEN $10 THEN $11 ELSE phone END,
            email = CASE WHEN $12 THEN $13 ELSE email END,
            preferences = CASE WHEN $14 THEN $15 ELSE preferences END,
            updated_at = now(), updated_by = $16, updated_device = $17
         WHERE tenant_id = $1 AND id = $2",
        &[
            &acting.tenant,
            &id,
            &edit.kind.as_str(),
            &u.first_name.is_some(),
            &u.first_name,
            &u.last_name.is_some(),
            &u.last_name.clone().flatten(),
            &u.name2.is_some(),
            &u.name2.clone().flatten(),
            &u.phone.is_some(),
            &u.phone,
            &u.email.is_some(),
            &u.email.clone().flatten(),
            &u.preferences.is_some(),
            &u.preferences
                .as_ref()
                .map(|p| serde_json::to_value(p).unwrap_or_default())
                .unwrap_or_default(),
            &acting.staff,
            &acting.device,
        ],
    )
    .await
    .map_err(phone_conflict)?;
    refresh_search_text(tx, acting.tenant, id).await?;
    let mut fields = u.changed_fields();
    if edit.kind != state.kind {
        fields.insert(0, "type");
    }
    Ok(fields)
}
