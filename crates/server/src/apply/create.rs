//! New customers: numbered under the tenant counter's row lock, one at a time (a REST call,
//! one pushed op) or a run of a till's offline creates in a few multi-row statements. Both
//! check each customer with `dukkan_core::rules::decide_create`.

use super::{names_key, phone_conflict, record, refresh_search_text, Acting, Door};
use crate::changes::Author;
use crate::error::Error;
use crate::ids::TenantId;
use deadpool_postgres::Transaction;
use dukkan_core::ops::CustomerCreated;
use dukkan_core::rules::{self, Refusal};
use dukkan_core::sync::OpOutcome;
use dukkan_core::{CustomerId, Phone};
use std::collections::HashSet;
use uuid::Uuid;

/// A new customer: checked by the rules, numbered, and — when its phone is already an active
/// customer's (created offline on another till) — merged into that customer (`redirected`)
/// on the sync door, refused on the REST door. `read_back`: a query (`$1` tenant, `$2` id)
/// whose row is returned, sent in the same round trip as the insert (REST answers with it).
///
/// Every create of a tenant waits for the tenant's counter row from the moment it takes a
/// number until it commits. So the statements are prepared first (cached per connection: no
/// round trip once warm), and the numbered insert, its audit and feed entries and the
/// read-back are then sent together, in that order (tokio-postgres pipelines the queries of
/// one connection in the order they are first polled): one round trip under the lock.
pub(crate) async fn create(
    tx: &Transaction<'_>,
    acting: &Acting,
    c: &CustomerCreated,
    door: Door,
    read_back: Option<&str>,
) -> Result<(OpOutcome, Option<tokio_postgres::Row>), Error> {
    let c = rules::decide_create(c)?;
    let id = c.id.as_uuid();
    // Whether the id exists already (the op was applied under another answer), and whether the
    // phone is already active (created offline on another device: merge into it), asked
    // together in one round trip, with the statements prepared.
    let (exists_stmt, survivor_stmt, insert, select) = tokio::try_join!(
        tx.prepare_cached("SELECT 1 FROM customers WHERE tenant_id = $1 AND id = $2"),
        tx.prepare_cached(
            "SELECT id FROM customers WHERE tenant_id = $1 AND phone = $2 AND active FOR UPDATE",
        ),
        tx.prepare_cached(
            // A walk-in guest is numbered at its first order, not now.
            "WITH n AS (UPDATE tenant_counters SET next_customer_number = next_customer_number + 1
                        WHERE tenant_id = $1 AND $3::text <> 'guest'
                        RETURNING next_customer_number - 1 AS number)
             INSERT INTO customers (tenant_id, id, customer_number, kind, first_name, last_name, name2,
                 phone, search_text, active, merged_into, created_by, created_device, updated_by,
                 updated_device, email, preferences)
             VALUES ($1, $2, (SELECT number FROM n)::int, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                    $11, $12, $13, $14)",
        ),
        async {
            match read_back {
                Some(sql) => tx.prepare_cached(sql).await.map(Some),
                None => Ok(None),
            }
        },
    )?;
    let exists_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&acting.tenant, &id];
    let (exists, survivor) = tokio::try_join!(tx.query_opt(&exists_stmt, &exists_params), async {
        match &c.phone {
            Some(p) => tx.query_opt(&survivor_stmt, &[&acting.tenant, p]).await,
            None => Ok(None),
        }
    })?;
    if exists.is_some() {
        return match door {
            Door::Sync => Ok((OpOutcome::Applied, None)),
            Door::Rest => Err(Error::Conflict(crate::error::Conflict::IdTaken)),
        };
    }
    let survivor = survivor.map(|r| r.get::<_, Uuid>(0));
    if door == Door::Rest && survivor.is_some() {
        return Err(Error::Refused(Refusal::PhoneTaken {
            existing: survivor.map(CustomerId::from_uuid),
            holder: None,
        }));
    }
    let key = names_key(
        c.first_name.as_deref(),
        c.last_name.as_deref(),
        c.name2.as_deref(),
        c.email.as_deref(),
    );
    let kind = c.kind.as_str();
    let active = survivor.is_none();
    let preferences = serde_json::to_value(c.preferences.clone().unwrap_or_default())
        .map_err(|e| Error::Internal(e.to_string()))?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 14] = [
        &acting.tenant,
        &id,
        &kind,
        &c.first_name,
        &c.last_name,
        &c.name2,
        &c.phone,
        &key,
        &active,
        &survivor,
        &acting.staff,
        &acting.device,
        &c.email,
        &preferences,
    ];
    // Biased: polled in this order every time, so a refused insert's own error (a taken phone
    // or id, raced in by another transaction) is the one returned, not the "transaction
    // aborted" of the statements after it.
    let (inserted, (), row) = tokio::try_join!(
        biased;
        async { tx.execute(&insert, &params).await.map_err(phone_conflict) },
        record(tx, acting, id, "create", &["*"]),
        async {
            match &select {
                Some(select) => Ok(tx.query_opt(select, &[&acting.tenant, &id]).await?),
                None => Ok(None),
            }
        },
    )?;
    if inserted != 1 {
        return Err(Error::Internal("tenant counters row missing".into()));
    }
    let Some(to) = survivor else {
        return Ok((OpOutcome::Applied, row));
    };
    // Fill the survivor's blank fields from the later copy, log the merge.
    tx.execute(
        "UPDATE customers t SET last_name = COALESCE(t.last_name, s.last_name),
                name2 = COALESCE(t.name2, s.name2), updated_at = now()
         FROM customers s
         WHERE t.tenant_id = $1 AND t.id = $2 AND s.tenant_id = $1 AND s.id = $3",
        &[&acting.tenant, &to, &id],
    )
    .await?;
    refresh_search_text(tx, acting.tenant, to).await?;
    tx.execute(
        "INSERT INTO customer_merges (tenant_id, id, source_customer_id, target_customer_id, reason, merged_by, device_id)
         VALUES ($1, $2, $3, $4, 'duplicate-phone', $5, $6)",
        &[&acting.tenant, &Uuid::now_v7(), &id, &to, &acting.staff, &acting.device],
    )
    .await?;
    record(tx, acting, to, "merge", &["lastName", "name2"]).await?;
    let masked = c.phone.as_deref().and_then(|p| Phone::parse(p).ok());
    tracing::info!(source = %id, target = %to, phone = masked.as_ref().map(Phone::masked).as_deref().unwrap_or("-"), "duplicate phone merged");
    Ok((
        OpOutcome::Redirected {
            to: CustomerId::from_uuid(to),
        },
        row,
    ))
}

/// Creates a run of new customers of consecutive ops with one statement each for the rows,
/// their numbers, audit entries and feed entries (the token trigger runs once for the run).
///
/// Only for the common case: every op valid, no id already there, no phone already active and
/// no phone twice in the run. Otherwise `Ok(None)` (nothing written): the caller applies the
/// ops one by one, which merges duplicates and answers replays. A failure aborts the pass,
/// which the caller then runs again op by op under savepoints.
pub(crate) async fn create_run(
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
        let new = rules::decide_create(c)?;
        let (first, last, name2) = (new.first_name, new.last_name, new.name2);
        let e164 = new.phone;
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
    // Numbers in op order, taken under the tenant counter's row lock like a single create:
    // the k-th customer that is not a walk-in guest takes the k-th number (a guest is numbered
    // at its first order).
    let mut numbered = 0i64;
    let slots: Vec<Option<i64>> = kinds
        .iter()
        .map(|k| {
            (*k != "guest").then(|| {
                numbered += 1;
                numbered
            })
        })
        .collect();
    let insert_params: [&(dyn tokio_postgres::types::ToSql + Sync); 12] = [
        &tenant, &device, &numbered, &ids, &kinds, &firsts, &lasts, &names2, &phones, &keys,
        &staff, &slots,
    ];
    let insert = tx.execute(
        "WITH n AS (UPDATE tenant_counters SET next_customer_number = next_customer_number + $3
                    WHERE tenant_id = $1 RETURNING next_customer_number - $3 AS first)
         INSERT INTO customers (tenant_id, id, customer_number, kind, first_name, last_name, name2,
             phone, search_text, created_by, created_device, updated_by, updated_device)
         SELECT $1, r.id, (n.first + r.k - 1)::int, r.kind, r.first_name, r.last_name, r.name2,
                r.phone, r.search_text, r.staff, $2, r.staff, $2
         FROM n, unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                        $10::text[], $11::uuid[], $12::int8[])
                 AS r(id, kind, first_name, last_name, name2, phone, search_text, staff, k)",
        &insert_params,
    );
    let author = Author {
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
