//! `/api/v1/sync/push` and `/api/v1/sync/pull`: the server half of the sync protocol.
//!
//! Push applies a device's ops exactly once: op `n` is applied only when `n` is the device's
//! next sequence number, and the device's counter advances in the same transaction as the op's
//! effect. Every answer is stored, so a replay gets the same answer (`duplicate`, or the same
//! `redirected`). Each op runs under a savepoint: a bad op is answered `rejected{code}` and
//! nothing of it is kept, without failing the rest of the batch.
//!
//! Pull returns the tenant's change feed after a cursor as whole-customer snapshots. Feed
//! sequence numbers are taken under the tenant's counters row lock, held until commit, so
//! entries become visible in sequence order and a cursor never skips one.

use crate::db;
use crate::error::{Conflict, Error, Rule};
use crate::ids::TenantId;
use crate::tokens;
use crate::wakeups::ChangeSignals;
use deadpool_postgres::{Pool, Transaction};
use dukkan_core::ops::{CustomerCreated, CustomerUpdated, Op};
use dukkan_core::search::search_key;
use dukkan_core::sync::{
    AddressSnapshot, Change, CustomerSnapshot, OpOutcome, OpResult, PullResponse, PushOp,
    PushRequest, PushResponse, UpgradeState, MAX_PULL_PAGE, MAX_PULL_WAIT_SECS, MAX_PUSH_BATCH,
    PROTOCOL_VERSION,
};
use dukkan_core::{
    Address, AddressInput, CustomerId, CustomerKind, CustomerNumber, Email, Field, PersonName,
    Phone, Preferences, StubInput, ValidationError,
};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio_postgres::Row;
use uuid::Uuid;

/// Prefix of device bearer tokens (see [`tokens::new_bearer`]).
pub const DEVICE_TOKEN_KIND: &str = "dkd";

/// An enrolled device, known only from its token.
#[derive(Debug, Clone, Copy)]
pub struct DeviceActor {
    pub tenant: TenantId,
    pub device: Uuid,
}

/// The device behind a bearer token, if the token and the device are live.
pub async fn authenticate_device(pool: &Pool, token: &str) -> Result<DeviceActor, Error> {
    let tenant = tokens::bearer_tenant(DEVICE_TOKEN_KIND, token).ok_or(Error::Unauthenticated)?;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, tenant).await?;
    let row = tx
        .query_opt(
            "SELECT t.device_id FROM device_tokens t
             JOIN devices d ON d.tenant_id = t.tenant_id AND d.id = t.device_id
             WHERE t.tenant_id = $1 AND t.token_hash = $2
               AND t.revoked_at IS NULL AND d.revoked_at IS NULL",
            &[&tenant.0, &tokens::hash(token)],
        )
        .await?;
    tx.commit().await?;
    let row = row.ok_or(Error::Unauthenticated)?;
    Ok(DeviceActor {
        tenant,
        device: row.get(0),
    })
}

/// Who did an op: the device, and the staff member signed in on it when that is one of the
/// tenant's staff (an unknown staff id is recorded as nobody rather than trusted).
struct OpActor {
    tenant: Uuid,
    device: Uuid,
    staff: Option<Uuid>,
}

impl From<&OpActor> for crate::changes::Author {
    fn from(actor: &OpActor) -> Self {
        crate::changes::Author {
            tenant: TenantId(actor.tenant),
            staff: actor.staff,
            device: Some(actor.device),
        }
    }
}

/// Records one change of a customer made by an op (audit row plus change-feed entry).
async fn record(
    tx: &Transaction<'_>,
    actor: &OpActor,
    customer: Uuid,
    action: &str,
    fields: &[&str],
) -> Result<(), Error> {
    crate::changes::record(
        tx,
        actor,
        crate::changes::Entity::Customer,
        customer,
        action,
        fields,
    )
    .await
    .map(drop)
}

/// Applies a batch of ops in device order and answers each.
///
/// Most batches apply cleanly, so the first pass runs every op straight in the transaction (two
/// round trips per op fewer than a savepoint each), and a run of new customers as a few
/// multi-row statements ([`create_run`]). If any op fails, that pass is rolled back
/// as a whole and the batch runs again with a savepoint per op, which answers the failing op
/// `rejected` and keeps the others. Either way the batch commits once, with its answers.
pub async fn push(
    pool: &Pool,
    device: DeviceActor,
    request: PushRequest,
) -> Result<PushResponse, Error> {
    if request.protocol != PROTOCOL_VERSION || request.ops.len() > MAX_PUSH_BATCH {
        return Err(Error::InvalidBody);
    }
    let mut client = pool.get().await?;
    {
        let mut tx = db::tenant_tx(&mut client, device.tenant).await?;
        if let Some(results) = run_batch(&mut tx, device, &request.ops, false).await? {
            tx.commit().await?;
            return Ok(PushResponse { results });
        }
        tx.rollback().await?;
    }
    let mut tx = db::tenant_tx(&mut client, device.tenant).await?;
    let results = run_batch(&mut tx, device, &request.ops, true)
        .await?
        .ok_or_else(|| Error::Internal("a careful push pass gave up".into()))?;
    tx.commit().await?;
    Ok(PushResponse { results })
}

/// One pass over a batch. `careful`: a savepoint per op, so a failing op is answered
/// `rejected` and the rest go on; otherwise the first failure gives up the pass (`None`) for
/// the caller to roll back and run carefully.
async fn run_batch(
    tx: &mut Transaction<'_>,
    device: DeviceActor,
    ops: &[PushOp],
    careful: bool,
) -> Result<Option<Vec<OpResult>>, Error> {
    let mut last: i64 = tx
        .query_opt(
            "SELECT last_applied_seq FROM device_sync_state
             WHERE tenant_id = $1 AND device_id = $2 FOR UPDATE",
            &[&device.tenant.0, &device.device],
        )
        .await?
        .ok_or(Error::Unauthenticated)?
        .get(0);
    let mut results = Vec::with_capacity(ops.len());
    // The answers to store, written with one statement for the whole batch.
    let (mut seqs, mut op_ids, mut outcomes) = (Vec::new(), Vec::new(), Vec::new());
    // Staff ids named by the batch's ops, looked up once each.
    let mut staff_ids: HashMap<&str, Option<Uuid>> = HashMap::new();
    // Ops before this index go one by one (a run that could not go in together).
    let mut one_by_one_until = 0;
    let mut i = 0;
    while i < ops.len() {
        let op = &ops[i];
        if !careful && i >= one_by_one_until && op.device_seq == last + 1 {
            // New customers of consecutive ops (what an offline till mostly sends) go in
            // together.
            let run_len = ops[i..]
                .iter()
                .zip(op.device_seq..)
                .take_while(|(o, seq)| {
                    o.device_seq == *seq && matches!(o.op, Op::CustomerCreated(_))
                })
                .count();
            if run_len > 1 {
                let mut run = Vec::with_capacity(run_len);
                for o in &ops[i..i + run_len] {
                    let by = staff_id(tx, device.tenant, &mut staff_ids, o).await?;
                    if let Op::CustomerCreated(c) = &o.op {
                        run.push((c, by));
                    }
                }
                let applied = match create_run(tx, device.tenant.0, device.device, &run).await {
                    Ok(applied) => applied,
                    Err(_) => return Ok(None),
                };
                if let Some(applied) = applied {
                    for (o, outcome) in ops[i..i + run_len].iter().zip(applied) {
                        seqs.push(o.device_seq);
                        op_ids.push(o.op_id.as_uuid());
                        outcomes.push(
                            serde_json::to_value(&outcome)
                                .map_err(|e| Error::Internal(e.to_string()))?,
                        );
                        last = o.device_seq;
                        results.push(OpResult {
                            op_id: o.op_id,
                            device_seq: o.device_seq,
                            outcome,
                        });
                    }
                    i += run_len;
                    continue;
                }
                one_by_one_until = i + run_len;
            }
        }
        i += 1;
        let outcome = if op.device_seq <= last {
            let stored = tx
                .query_opt(
                    "SELECT outcome FROM sync_ops
                     WHERE tenant_id = $1 AND device_id = $2 AND device_seq = $3 AND op_id = $4",
                    &[
                        &device.tenant.0,
                        &device.device,
                        &op.device_seq,
                        &op.op_id.as_uuid(),
                    ],
                )
                .await?;
            // The stored answer, except that "applied" is now "duplicate": a lost redirect or
            // rejection is answered again rather than mistaken for success.
            match stored.map(|r| serde_json::from_value::<OpOutcome>(r.get(0))) {
                Some(Ok(outcome @ (OpOutcome::Redirected { .. } | OpOutcome::Rejected { .. }))) => {
                    outcome
                }
                _ => OpOutcome::Duplicate,
            }
        } else if op.device_seq != last + 1 {
            OpOutcome::OutOfOrder { expected: last + 1 }
        } else {
            let staff = staff_id(tx, device.tenant, &mut staff_ids, op).await?;
            let actor = OpActor {
                tenant: device.tenant.0,
                device: device.device,
                staff,
            };
            let outcome = if careful {
                apply_in_savepoint(tx, &actor, op).await?
            } else {
                match apply(tx, &actor, &op.op).await {
                    Ok(outcome) => outcome,
                    Err(_) => return Ok(None),
                }
            };
            seqs.push(op.device_seq);
            op_ids.push(op.op_id.as_uuid());
            outcomes
                .push(serde_json::to_value(&outcome).map_err(|e| Error::Internal(e.to_string()))?);
            last = op.device_seq;
            outcome
        };
        results.push(OpResult {
            op_id: op.op_id,
            device_seq: op.device_seq,
            outcome,
        });
    }
    if !seqs.is_empty() {
        tx.execute(
            "INSERT INTO sync_ops (tenant_id, device_id, device_seq, op_id, outcome)
             SELECT $1, $2, t.seq, t.op, t.outcome
             FROM unnest($3::bigint[], $4::uuid[], $5::jsonb[]) AS t(seq, op, outcome)",
            &[&device.tenant.0, &device.device, &seqs, &op_ids, &outcomes],
        )
        .await?;
    }
    tx.execute(
        "UPDATE device_sync_state SET last_applied_seq = $3, updated_at = now()
         WHERE tenant_id = $1 AND device_id = $2",
        &[&device.tenant.0, &device.device, &last],
    )
    .await?;
    Ok(Some(results))
}

/// The staff member an op names (see [`resolve_staff`]), asked once per batch.
async fn staff_id<'a>(
    tx: &Transaction<'_>,
    tenant: TenantId,
    known: &mut HashMap<&'a str, Option<Uuid>>,
    op: &'a PushOp,
) -> Result<Option<Uuid>, Error> {
    let Some(named) = op.staff_id.as_deref() else {
        return Ok(None);
    };
    if let Some(id) = known.get(named) {
        return Ok(*id);
    }
    let id = resolve_staff(tx, tenant, Some(named)).await?;
    known.insert(named, id);
    Ok(id)
}

async fn resolve_staff(
    tx: &Transaction<'_>,
    tenant: TenantId,
    staff: Option<&str>,
) -> Result<Option<Uuid>, Error> {
    let Some(id) = staff.and_then(|s| Uuid::try_parse(s).ok()) else {
        return Ok(None);
    };
    let row = tx
        .query_opt(
            "SELECT id FROM staff WHERE tenant_id = $1 AND id = $2",
            &[&tenant.0, &id],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// True for errors that describe the op (answered `rejected`), not the server's health.
fn is_rejection(e: &Error) -> bool {
    !matches!(
        e,
        Error::Database(_) | Error::Unavailable(_) | Error::Internal(_) | Error::Timeout
    )
}

async fn apply_in_savepoint(
    tx: &mut Transaction<'_>,
    actor: &OpActor,
    op: &PushOp,
) -> Result<OpOutcome, Error> {
    // Two attempts: a unique-phone race with another device's concurrent push surfaces as a
    // constraint violation after the other commits; the second attempt then sees its row.
    for attempt in 0..2 {
        let sp = tx.savepoint("op").await?;
        match apply(&sp, actor, &op.op).await {
            Ok(outcome) => {
                sp.commit().await?;
                return Ok(outcome);
            }
            Err(Error::Conflict(Conflict::PhoneTaken)) if attempt == 0 => {
                sp.rollback().await?;
            }
            Err(Error::Database(db)) if attempt == 0 && is_unique_phone(&db) => {
                sp.rollback().await?;
            }
            Err(e) if is_rejection(&e) => {
                sp.rollback().await?;
                let code = e.parts().1.to_owned();
                tracing::info!(%code, kind = op.op.kind(), "op rejected");
                return Ok(OpOutcome::Rejected { code });
            }
            Err(Error::Database(db)) if db.code().is_some_and(|c| c.code().starts_with("23")) => {
                // Any other integrity violation is the op's fault, not the server's.
                sp.rollback().await?;
                return Ok(OpOutcome::Rejected {
                    code: "op.constraint".into(),
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(OpOutcome::Rejected {
        code: "customer.phone-taken".into(),
    })
}

fn is_unique_phone(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().and_then(|d| d.constraint()) == Some("customers_active_phone_unique")
}

/// The customer an op names, following merges to the survivor.
async fn resolve(tx: &Transaction<'_>, tenant: Uuid, id: Uuid) -> Result<Uuid, Error> {
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

fn names_key(
    first: Option<&str>,
    last: Option<&str>,
    name2: Option<&str>,
    email: Option<&str>,
) -> String {
    let parts: Vec<&str> = [first, last, name2, email].into_iter().flatten().collect();
    search_key(&parts.join(" "))
}

async fn apply(tx: &Transaction<'_>, actor: &OpActor, op: &Op) -> Result<OpOutcome, Error> {
    match op {
        Op::CustomerCreated(c) => create(tx, actor, c).await,
        Op::CustomerUpdated(u) => update(tx, actor, u).await.map(|()| OpOutcome::Applied),
        Op::CustomerDeactivated { customer_id } => {
            let id = resolve(tx, actor.tenant, customer_id.as_uuid()).await?;
            tx.execute(
                "UPDATE customers SET active = false, updated_at = now(), updated_by = $3, updated_device = $4
                 WHERE tenant_id = $1 AND id = $2",
                &[&actor.tenant, &id, &actor.staff, &actor.device],
            )
            .await?;
            record(tx, actor, id, "deactivate", &["active"]).await?;
            Ok(OpOutcome::Applied)
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
            let id = resolve(tx, actor.tenant, customer_id.as_uuid()).await?;
            let a = revalidate(address)?;
            let t = |f: &Option<dukkan_core::FreeText>| f.as_ref().map(|x| x.as_str().to_owned());
            tx.execute(
                "INSERT INTO addresses (tenant_id, id, customer_id, address_type, label, building, floor,
                    apartment, street, area, city, country, postal_code, latitude, longitude, delivery_notes,
                    is_default)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                    NOT EXISTS (SELECT 1 FROM addresses WHERE tenant_id = $1 AND customer_id = $3))
                 ON CONFLICT (tenant_id, id) DO UPDATE SET address_type = excluded.address_type,
                    label = excluded.label, building = excluded.building, floor = excluded.floor,
                    apartment = excluded.apartment, street = excluded.street, area = excluded.area,
                    city = excluded.city, country = excluded.country, postal_code = excluded.postal_code,
                    latitude = excluded.latitude, longitude = excluded.longitude,
                    delivery_notes = excluded.delivery_notes, updated_at = now()
                 WHERE addresses.customer_id = excluded.customer_id",
                &[
                    &actor.tenant, &address_id.as_uuid(), &id, &a.address_type.as_str(), &t(&a.label),
                    &t(&a.building), &t(&a.floor), &t(&a.apartment), &t(&a.street), &t(&a.area), &t(&a.city),
                    &a.country.as_str(), &t(&a.postal_code), &a.gps.map(|g| g.latitude()),
                    &a.gps.map(|g| g.longitude()), &t(&a.delivery_notes),
                ],
            )
            .await?;
            record(tx, actor, id, "address", &["addresses"]).await?;
            Ok(OpOutcome::Applied)
        }
        Op::AddressDeleted {
            customer_id,
            address_id,
        } => {
            let id = resolve(tx, actor.tenant, customer_id.as_uuid()).await?;
            let was_default = tx
                .query_opt(
                    "DELETE FROM addresses WHERE tenant_id = $1 AND customer_id = $2 AND id = $3 RETURNING is_default",
                    &[&actor.tenant, &id, &address_id.as_uuid()],
                )
                .await?
                .is_some_and(|r| r.get::<_, bool>(0));
            if was_default {
                tx.execute(
                    "UPDATE addresses SET is_default = true WHERE tenant_id = $1 AND id =
                        (SELECT id FROM addresses WHERE tenant_id = $1 AND customer_id = $2 ORDER BY id DESC LIMIT 1)",
                    &[&actor.tenant, &id],
                )
                .await?;
            }
            record(tx, actor, id, "address", &["addresses"]).await?;
            Ok(OpOutcome::Applied)
        }
        Op::DefaultAddressSet {
            customer_id,
            address_id,
        } => {
            let id = resolve(tx, actor.tenant, customer_id.as_uuid()).await?;
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM addresses WHERE tenant_id = $1 AND customer_id = $2 AND id = $3",
                    &[&actor.tenant, &id, &address_id.as_uuid()],
                )
                .await?
                .is_some();
            if !exists {
                return Err(Error::NotFound);
            }
            tx.execute(
                "UPDATE addresses SET is_default = false WHERE tenant_id = $1 AND customer_id = $2 AND is_default",
                &[&actor.tenant, &id],
            )
            .await?;
            tx.execute(
                "UPDATE addresses SET is_default = true WHERE tenant_id = $1 AND id = $2",
                &[&actor.tenant, &address_id.as_uuid()],
            )
            .await?;
            record(tx, actor, id, "address", &["defaultAddress"]).await?;
            Ok(OpOutcome::Applied)
        }
        Op::UpgradeRequested {
            customer_id,
            email,
            preferences,
            language,
        } => {
            let id = resolve(tx, actor.tenant, customer_id.as_uuid()).await?;
            let email = Email::parse(email)?;
            let preferences = preferences.checked()?;
            let row = tx
                .query_one(
                    "SELECT kind, active FROM customers WHERE tenant_id = $1 AND id = $2",
                    &[&actor.tenant, &id],
                )
                .await?;
            match (row.get::<_, &str>(0), row.get::<_, bool>(1)) {
                (_, false) => return Err(Error::Conflict(Conflict::CustomerInactive)),
                ("guest", _) => return Err(Error::Conflict(Conflict::GuestCannotUpgrade)),
                ("full", _) => return Err(Error::Conflict(Conflict::AlreadyFull)),
                _ => {}
            }
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
                    &actor.tenant,
                    &id,
                    &email.as_str(),
                    &serde_json::to_value(&preferences)
                        .map_err(|e| Error::Internal(e.to_string()))?,
                    &actor.device,
                    &language.map(|l| l.tag()),
                ],
            )
            .await?;
            record(tx, actor, id, "upgrade-requested", &["upgrade"]).await?;
            Ok(OpOutcome::Applied)
        }
    }
}

/// Ops carry addresses as data: check them again as if typed.
fn revalidate(a: &Address) -> Result<Address, ValidationError> {
    let s = |f: &Option<dukkan_core::FreeText>| f.as_ref().map(|x| x.as_str().to_owned());
    AddressInput {
        address_type: a.address_type,
        label: s(&a.label),
        building: s(&a.building),
        floor: s(&a.floor),
        apartment: s(&a.apartment),
        street: s(&a.street),
        area: s(&a.area),
        city: s(&a.city),
        country: Some(a.country.as_str().to_owned()),
        postal_code: s(&a.postal_code),
        latitude: a.gps.map(|g| g.latitude()),
        longitude: a.gps.map(|g| g.longitude()),
        delivery_notes: s(&a.delivery_notes),
    }
    .validate()
}

/// The fields of a created customer, checked again as if typed.
struct NewCustomer {
    first: Option<PersonName>,
    last: Option<PersonName>,
    name2: Option<PersonName>,
    phone: Option<Phone>,
}

fn check_created(c: &CustomerCreated) -> Result<NewCustomer, Error> {
    match c.kind {
        CustomerKind::Guest => {
            if c.phone.is_some() {
                return Err(Error::Rule(Rule::GuestContact));
            }
            Ok(NewCustomer {
                first: None,
                last: None,
                name2: None,
                phone: None,
            })
        }
        CustomerKind::Stub => {
            let stub = StubInput {
                first_name: c.first_name.clone().unwrap_or_default(),
                last_name: c.last_name.clone(),
                name2: c.name2.clone(),
                phone: c.phone.clone().unwrap_or_default(),
            }
            .validate()?;
            Ok(NewCustomer {
                first: Some(stub.first_name),
                last: stub.last_name,
                name2: stub.name2,
                phone: Some(stub.phone),
            })
        }
        CustomerKind::Full => Err(Error::Rule(Rule::OtpRequired)),
    }
}

/// Creates a run of new customers of consecutive ops with one statement each for the rows,
/// their numbers, audit entries and feed entries (the token trigger runs once for the run).
///
/// Only for the common case: every op valid, no id already there, no phone already active and
/// no phone twice in the run. Otherwise `Ok(None)` (nothing written): the caller applies the
/// ops one by one, which merges duplicates and answers replays. A failure aborts the pass,
/// which the caller then runs again op by op under savepoints.
async fn create_run(
    tx: &Transaction<'_>,
    tenant: Uuid,
    device: Uuid,
    run: &[(&CustomerCreated, Option<Uuid>)],
) -> Result<Option<Vec<OpOutcome>>, Error> {
    let n = run.len();
    let (mut ids, mut kinds, mut firsts, mut lasts, mut names2, mut phones, mut keys, mut staff) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut seen = HashSet::with_capacity(n);
    for (c, by) in run {
        let new = check_created(c)?;
        let name = |n: &Option<PersonName>| n.as_ref().map(|x| x.as_str().to_owned());
        let (first, last, name2) = (name(&new.first), name(&new.last), name(&new.name2));
        let e164 = new.phone.as_ref().map(|p| p.e164().to_owned());
        if let Some(p) = &e164 {
            if !seen.insert(p.clone()) {
                return Ok(None);
            }
        }
        keys.push(names_key(
            first.as_deref(),
            last.as_deref(),
            name2.as_deref(),
            None,
        ));
        ids.push(c.id.as_uuid());
        kinds.push(c.kind.as_str());
        firsts.push(first);
        lasts.push(last);
        names2.push(name2);
        phones.push(e164);
        staff.push(*by);
    }
    let phones_given: Vec<&str> = phones.iter().flatten().map(String::as_str).collect();
    let ids_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&tenant, &ids];
    let phones_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&tenant, &phones_given];
    let (known, taken) = tokio::try_join!(
        tx.query_one(
            "SELECT count(*) FROM customers WHERE tenant_id = $1 AND id = ANY($2)",
            &ids_params,
        ),
        tx.query_one(
            "SELECT count(*) FROM customers
             WHERE tenant_id = $1 AND phone = ANY($2) AND active",
            &phones_params,
        ),
    )?;
    if known.get::<_, i64>(0) > 0 || taken.get::<_, i64>(0) > 0 {
        return Ok(None);
    }
    let count = i64::try_from(n).map_err(|_| Error::Internal("run size".into()))?;
    // Numbers in op order, taken under the tenant counter's row lock like a single create.
    let insert_params: [&(dyn tokio_postgres::types::ToSql + Sync); 11] = [
        &tenant, &device, &count, &ids, &kinds, &firsts, &lasts, &names2, &phones, &keys, &staff,
    ];
    let insert = tx.execute(
        "WITH n AS (UPDATE tenant_counters SET next_customer_number = next_customer_number + $3
                    WHERE tenant_id = $1 RETURNING next_customer_number - $3 AS first)
         INSERT INTO customers (tenant_id, id, customer_number, kind, first_name, last_name, name2,
             phone, search_text, created_by, created_device, updated_by, updated_device)
         SELECT $1, r.id, (n.first + r.i - 1)::int, r.kind, r.first_name, r.last_name, r.name2,
                r.phone, r.search_text, r.staff, $2, r.staff, $2
         FROM n, unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                        $10::text[], $11::uuid[])
                 WITH ORDINALITY AS r(id, kind, first_name, last_name, name2, phone, search_text,
                                      staff, i)",
        &insert_params,
    );
    let author = crate::changes::Author {
        tenant: TenantId(tenant),
        staff: None,
        device: Some(device),
    };
    let (inserted, ()) = tokio::try_join!(
        async { insert.await.map_err(Error::from) },
        crate::changes::record_many(
            tx,
            author,
            crate::changes::Entity::Customer,
            &ids,
            &staff,
            "create",
            &["*"],
        ),
    )?;
    if inserted != count.unsigned_abs() {
        return Err(Error::Internal("tenant counters row missing".into()));
    }
    Ok(Some(vec![OpOutcome::Applied; n]))
}

async fn create(
    tx: &Transaction<'_>,
    actor: &OpActor,
    c: &CustomerCreated,
) -> Result<OpOutcome, Error> {
    let id = c.id.as_uuid();
    let NewCustomer {
        first,
        last,
        name2,
        phone,
    } = check_created(c)?;
    // Whether the id exists already (the op was applied under another answer), and whether the
    // phone is already active (created offline on another device: merge into it), asked
    // together in one round trip.
    let exists_stmt = tx
        .prepare_cached("SELECT 1 FROM customers WHERE tenant_id = $1 AND id = $2")
        .await?;
    let survivor_stmt = tx
        .prepare_cached(
            "SELECT id FROM customers WHERE tenant_id = $1 AND phone = $2 AND active FOR UPDATE",
        )
        .await?;
    let e164 = phone.as_ref().map(|p| p.e164().to_owned());
    let exists_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&actor.tenant, &id];
    let (exists, survivor) = tokio::try_join!(tx.query_opt(&exists_stmt, &exists_params), async {
        match &e164 {
            Some(p) => tx.query_opt(&survivor_stmt, &[&actor.tenant, p]).await,
            None => Ok(None),
        }
    })?;
    if exists.is_some() {
        return Ok(OpOutcome::Applied);
    }
    let survivor = survivor.map(|r| r.get::<_, Uuid>(0));
    let name = |n: &Option<PersonName>| n.as_ref().map(|x| x.as_str().to_owned());
    // The number is taken under the tenant counter's row lock in the insert's own statement;
    // the audit and feed entries follow in the same round trip.
    let insert = tx
        .prepare_cached(
            "WITH n AS (UPDATE tenant_counters SET next_customer_number = next_customer_number + 1
                        WHERE tenant_id = $1 RETURNING next_customer_number - 1 AS number)
             INSERT INTO customers (tenant_id, id, customer_number, kind, first_name, last_name, name2,
                 phone, search_text, active, merged_into, created_by, created_device, updated_by,
                 updated_device)
             SELECT $1, $2, n.number::int, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $11, $12 FROM n",
        )
        .await?;
    let (first_name, last_name, name2) = (name(&first), name(&last), name(&name2));
    let key = names_key(
        first_name.as_deref(),
        last_name.as_deref(),
        name2.as_deref(),
        None,
    );
    let kind = c.kind.as_str();
    let active = survivor.is_none();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 12] = [
        &actor.tenant,
        &id,
        &kind,
        &first_name,
        &last_name,
        &name2,
        &e164,
        &key,
        &active,
        &survivor,
        &actor.staff,
        &actor.device,
    ];
    let (inserted, ()) = tokio::try_join!(
        async { tx.execute(&insert, &params).await.map_err(Error::from) },
        record(tx, actor, id, "create", &["*"]),
    )?;
    if inserted != 1 {
        return Err(Error::Internal("tenant counters row missing".into()));
    }
    let Some(to) = survivor else {
        return Ok(OpOutcome::Applied);
    };
    // Fill the survivor's blank fields from the later copy, log the merge.
    tx.execute(
        "UPDATE customers t SET last_name = COALESCE(t.last_name, s.last_name),
                name2 = COALESCE(t.name2, s.name2), updated_at = now()
         FROM customers s
         WHERE t.tenant_id = $1 AND t.id = $2 AND s.tenant_id = $1 AND s.id = $3",
        &[&actor.tenant, &to, &id],
    )
    .await?;
    tx.execute(
        "UPDATE customers SET search_text = $3 WHERE tenant_id = $1 AND id = $2",
        &[&actor.tenant, &to, &{
            let r = tx
                .query_one(
                    "SELECT first_name, last_name, name2, email FROM customers WHERE tenant_id = $1 AND id = $2",
                    &[&actor.tenant, &to],
                )
                .await?;
            names_key(r.get(0), r.get(1), r.get(2), r.get(3))
        }],
    )
    .await?;
    tx.execute(
        "INSERT INTO customer_merges (tenant_id, id, source_customer_id, target_customer_id, reason, merged_by, device_id)
         VALUES ($1, $2, $3, $4, 'duplicate-phone', $5, $6)",
        &[&actor.tenant, &Uuid::now_v7(), &id, &to, &actor.staff, &actor.device],
    )
    .await?;
    record(tx, actor, to, "merge", &["lastName", "name2"]).await?;
    tracing::info!(source = %id, target = %to, phone = phone.as_ref().map(Phone::masked).as_deref().unwrap_or("-"), "duplicate phone merged");
    Ok(OpOutcome::Redirected {
        to: CustomerId::from_uuid(to),
    })
}

async fn update(tx: &Transaction<'_>, actor: &OpActor, u: &CustomerUpdated) -> Result<(), Error> {
    let id = resolve(tx, actor.tenant, u.id.as_uuid()).await?;
    let row = tx
        .query_one(
            "SELECT kind, first_name, phone, phone_verified, active FROM customers
             WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            &[&actor.tenant, &id],
        )
        .await?;
    if !row.get::<_, bool>(4) {
        return Err(Error::Conflict(Conflict::CustomerInactive));
    }
    let first = u
        .first_name
        .as_deref()
        .map(|s| PersonName::parse(Field::FirstName, s))
        .transpose()?;
    let last = u
        .last_name
        .as_ref()
        .map(|s| PersonName::parse_optional(Field::LastName, s.as_deref()))
        .transpose()?;
    let name2 = u
        .name2
        .as_ref()
        .map(|s| PersonName::parse_optional(Field::Name2, s.as_deref()))
        .transpose()?;
    let phone = u.phone.as_deref().map(Phone::parse).transpose()?;
    let email = match &u.email {
        None => None,
        Some(None) => Some(None),
        Some(Some(e)) => Some(Some(Email::parse(e)?)),
    };
    let prefs = u
        .preferences
        .as_ref()
        .map(Preferences::checked)
        .transpose()?;
    let kind: &str = row.get(0);
    if phone.is_some() && row.get::<_, bool>(3) {
        let same = phone.as_ref().map(Phone::e164) == row.get::<_, Option<&str>>(2);
        if !same {
            return Err(Error::Conflict(Conflict::VerifiedPhoneLocked));
        }
    }
    if kind == "full" && matches!(email, Some(None)) {
        return Err(ValidationError::Required(Field::Email).into());
    }
    let new_first = first
        .as_ref()
        .map(|f| f.as_str().to_owned())
        .or(row.get::<_, Option<String>>(1));
    let new_phone = phone
        .as_ref()
        .map(|p| p.e164().to_owned())
        .or(row.get::<_, Option<String>>(2));
    let new_kind = if kind == "guest" && new_first.is_some() && new_phone.is_some() {
        "stub"
    } else {
        kind
    };
    let s = |n: &Option<PersonName>| n.as_ref().map(|x| x.as_str().to_owned());
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
            &actor.tenant,
            &id,
            &new_kind,
            &first.is_some(),
            &first.as_ref().map(|f| f.as_str().to_owned()),
            &last.is_some(),
            &last.as_ref().and_then(s),
            &name2.is_some(),
            &name2.as_ref().and_then(s),
            &phone.is_some(),
            &phone.as_ref().map(|p| p.e164().to_owned()),
            &email.is_some(),
            &email
                .as_ref()
                .and_then(|e| e.as_ref().map(|e| e.as_str().to_owned())),
            &prefs.is_some(),
            &prefs
                .as_ref()
                .map(|p| serde_json::to_value(p).unwrap_or_default())
                .unwrap_or_default(),
            &actor.staff,
            &actor.device,
        ],
    )
    .await
    .map_err(|e| {
        if is_unique_phone(&e) {
            Error::Conflict(Conflict::PhoneTaken)
        } else {
            Error::Database(e)
        }
    })?;
    let r = tx
        .query_one("SELECT first_name, last_name, name2, email FROM customers WHERE tenant_id = $1 AND id = $2", &[&actor.tenant, &id])
        .await?;
    let key = names_key(r.get(0), r.get(1), r.get(2), r.get(3));
    tx.execute(
        "UPDATE customers SET search_text = $3 WHERE tenant_id = $1 AND id = $2",
        &[&actor.tenant, &id, &key],
    )
    .await?;
    record(tx, actor, id, "update", &u.changed_fields()).await
}

/// Changes after `since`, waiting up to `wait` for the first one when there is none.
///
/// While waiting it looks at the feed again when the tenant's changes are notified
/// ([`crate::wakeups`]), and otherwise every few seconds (every 200 ms when notifications are
/// not arriving). Any instance can answer any device: the feed is the only state.
pub async fn pull(
    pool: &Pool,
    signals: &ChangeSignals,
    device: DeviceActor,
    since: i64,
    limit: usize,
    wait: Duration,
) -> Result<PullResponse, Error> {
    let limit = limit.clamp(1, MAX_PULL_PAGE);
    let wait = wait.min(Duration::from_secs(MAX_PULL_WAIT_SECS));
    let deadline = tokio::time::Instant::now() + wait;
    let signal = signals.tenant(device.tenant.0);
    loop {
        // Registered before looking, so a change committed in between still wakes us.
        let notified = signal.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        signals.looked();
        let page = pull_once(pool, device, since, limit).await?;
        let now = tokio::time::Instant::now();
        if !page.changes.is_empty() || now >= deadline {
            return Ok(page);
        }
        let nap = signals.recheck_every().min(deadline - now);
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(nap) => {}
        }
    }
}

async fn pull_once(
    pool: &Pool,
    device: DeviceActor,
    since: i64,
    limit: usize,
) -> Result<PullResponse, Error> {
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, device.tenant).await?;
    let tenant = device.tenant.0;
    let rows = tx
        .query(
            "SELECT seq, entity, entity_id FROM change_feed WHERE tenant_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3",
            &[&tenant, &since, &(limit as i64 + 1)],
        )
        .await?;
    let more = rows.len() > limit;
    let rows = &rows[..rows.len().min(limit)];
    let cursor = rows.last().map(|r| r.get::<_, i64>(0)).unwrap_or(since);
    // The latest entry per customer is enough: each carries the whole customer.
    let mut latest: Vec<(i64, Uuid)> = Vec::new();
    for r in rows {
        let seq: i64 = r.get(0);
        let entity: &str = r.get(1);
        let entity_id: Uuid = r.get(2);
        let customer = if entity == "customer" {
            Some(entity_id)
        } else {
            tx.query_opt(
                "SELECT customer_id FROM addresses WHERE tenant_id = $1 AND id = $2",
                &[&tenant, &entity_id],
            )
            .await?
            .map(|r| r.get(0))
        };
        if let Some(c) = customer {
            latest.retain(|(_, id)| *id != c);
            latest.push((seq, c));
        }
    }
    let ids: Vec<Uuid> = latest.iter().map(|(_, id)| *id).collect();
    let mut snapshots = snapshots(&tx, tenant, &ids).await?;
    let mut changes = Vec::with_capacity(latest.len());
    for (seq, id) in latest {
        let customer = snapshots
            .remove(&id)
            .ok_or_else(|| Error::Internal(format!("change of unknown customer {id}")))?;
        changes.push(Change { seq, customer });
    }
    tx.commit().await?;
    Ok(PullResponse {
        changes,
        cursor,
        more,
    })
}

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

/// The customers `ids` as they are now, with their addresses: two queries for a whole page
/// (one per customer made an initial pull of 100,000 customers take 200,000 round trips).
async fn snapshots(
    tx: &Transaction<'_>,
    tenant: Uuid,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, CustomerSnapshot>, Error> {
    let customers = tx
        .query(
            "SELECT c.id, c.customer_number, c.kind, c.first_name, c.last_name, c.name2, c.phone, c.email,
                    c.phone_verified, c.preferences, c.loyalty_points, c.active, c.merged_into,
                    c.created_at, c.updated_at,
                    COALESCE(o.n, 0) AS n, COALESCE(o.total, 0)::bigint AS total, o.last_at,
                    u.state AS upgrade_state, u.resend_after, u.code_expires_at, u.error_code
             FROM customers c
             LEFT JOIN LATERAL (SELECT count(*) AS n, sum(total_minor) AS total, max(created_at) AS last_at
                                FROM orders WHERE tenant_id = c.tenant_id AND customer_id = c.id) o ON true
             LEFT JOIN upgrade_requests u ON u.tenant_id = c.tenant_id AND u.customer_id = c.id
             WHERE c.tenant_id = $1 AND c.id = ANY($2)",
            &[&tenant, &ids],
        )
        .await?;
    let addresses = tx
        .query(
            "SELECT customer_id, id, address_type, label, building, floor, apartment, street, area, city,
                    country, postal_code, latitude, longitude, delivery_notes, is_default
             FROM addresses WHERE tenant_id = $1 AND customer_id = ANY($2) ORDER BY customer_id, id",
            &[&tenant, &ids],
        )
        .await?;
    let mut by_customer: std::collections::HashMap<Uuid, Vec<&Row>> =
        std::collections::HashMap::new();
    for a in &addresses {
        by_customer.entry(a.get("customer_id")).or_default().push(a);
    }
    let mut out = std::collections::HashMap::with_capacity(customers.len());
    for c in &customers {
        let id: Uuid = c.get("id");
        let addresses = by_customer.remove(&id).unwrap_or_default();
        out.insert(id, snapshot_from_rows(id, c, &addresses)?);
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
    let number: i32 = c.get("customer_number");
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
        customer_number: u32::try_from(number)
            .ok()
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
        active: c.get("active"),
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

/// Largest push body: a full batch of ops with addresses and notes.
pub const PUSH_BODY_LIMIT_BYTES: usize = 2 * 1024 * 1024;

impl axum::extract::FromRequestParts<crate::AppState> for DeviceActor {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::AppState,
    ) -> Result<Self, Error> {
        let token = crate::limits::bearer(&parts.headers).ok_or(Error::Unauthenticated)?;
        authenticate_device(&state.pool, token).await
    }
}

/// `GET /api/v1/sync/pull` query.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    pub since: i64,
    pub limit: Option<usize>,
    /// Seconds to wait for a change when there is none (long-poll), at most 25.
    pub wait: Option<u64>,
}

async fn push_handler(
    axum::extract::State(s): axum::extract::State<crate::AppState>,
    device: DeviceActor,
    crate::http::ApiJson(body): crate::http::ApiJson<PushRequest>,
) -> Result<axum::Json<PushResponse>, Error> {
    let answer = push(&s.pool, device, body).await?;
    // Codes of upgrade requests queued by this (or an earlier) push go out now, off the
    // request path; the device learns the new state from the change feed.
    tokio::spawn(async move {
        if let Err(e) = crate::upgrades::dispatch_queued(&s.pool, &s.otp, device).await {
            tracing::warn!(error = %e, "sending queued upgrade codes failed");
        }
    });
    Ok(axum::Json(answer))
}

async fn pull_handler(
    axum::extract::State(s): axum::extract::State<crate::AppState>,
    device: DeviceActor,
    crate::http::ApiQuery(q): crate::http::ApiQuery<PullQuery>,
) -> Result<axum::Json<PullResponse>, Error> {
    if q.since < 0 {
        return Err(Error::InvalidQuery);
    }
    let wait = Duration::from_secs(q.wait.unwrap_or(0));
    Ok(axum::Json(
        pull(
            &s.pool,
            &s.changes,
            device,
            q.since,
            q.limit.unwrap_or(MAX_PULL_PAGE),
            wait,
        )
        .await?,
    ))
}

/// The sync routes, nested at `/api/v1/sync` by [`crate::router`] outside the REST timeout:
/// a long-poll pull legitimately waits 25 s, and a full push batch may take longer than a REST
/// call. Each gets its own timeout instead.
pub fn routes() -> axum::Router<crate::AppState> {
    use axum::http::StatusCode;
    use tower_http::timeout::TimeoutLayer;
    let push = axum::Router::new()
        .route("/push", axum::routing::post(push_handler))
        .layer(axum::extract::DefaultBodyLimit::max(PUSH_BODY_LIMIT_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ));
    let pull = axum::Router::new()
        .route("/pull", axum::routing::get(pull_handler))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(MAX_PULL_WAIT_SECS + 15),
        ));
    push.merge(pull).merge(
        crate::upgrades::routes().layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        )),
    )
}
