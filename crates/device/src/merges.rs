//! Merging duplicates at the till, with undo (a manager's act; offline, as ops).
//!
//! A manager looks for likely duplicates ([`dukkan_core::duplicates`]), previews what a merge
//! moves, and merges with a reason: the duplicate's orders, addresses, figures and points move
//! to the customer that stays, which takes what it lacks (names, phone, email); the duplicate is
//! deactivated and points at it. What moved is kept (`merges` table), so an undo within
//! [`rules::MERGE_UNDO_HOURS`] puts back exactly that, unless later changes make it unsafe
//! ([`rules::decide_undo_merge`]). Both are ops the server applies with the same rules.
//!
//! While a merge or its undo waits in the outbox, the server's snapshots of its two customers
//! are held back (see `crate::sync`): they predate it, and re-applying a merge on one of them
//! alone would count the moved figures twice.

use crate::apply;
use crate::customers::{index_names, load, phone_holder, Customer};
use crate::error::{DeviceError, Entity, Result};
use crate::{Device, WriteContext};
use dukkan_core::duplicates::{self, Candidate, DuplicateReason};
use dukkan_core::ops::{CustomerUpdated, Op};
use dukkan_core::rules::{self, Action, MergeRecord};
use dukkan_core::{CustomerId, CustomerKind, MergeId, Phone};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

/// Two customers that look like one person; `keep` is suggested to stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DuplicatePair {
    pub keep: Customer,
    pub duplicate: Customer,
    #[cfg_attr(feature = "ts", ts(type = "\"same-phone\" | \"same-name-near-phone\""))]
    pub reason: DuplicateReason,
}

/// What merging `duplicate` into `keep` would do, for the manager to confirm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MergePreview {
    pub keep: Customer,
    pub duplicate: Customer,
    pub orders_moving: i64,
    pub spent_moving: i64,
    pub points_moving: i64,
    pub addresses_moving: i64,
    /// The fields `keep` takes from the duplicate (`firstName`, `phone`, ...).
    pub fields_taken: Vec<String>,
    /// The type `keep` has after the merge (a guest that takes a name and a phone: a stub).
    pub keep_becomes: CustomerKind,
    /// The duplicate has a verified phone that `keep` will not take (it has a phone of its
    /// own): merge the other way round to keep the verified one.
    pub verified_phone_stays_behind: bool,
}

/// One merge in the till's log, as the detail page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MergeEntry {
    pub id: MergeId,
    pub source_id: CustomerId,
    pub target_id: CustomerId,
    pub reason: String,
    pub merged_at: String,
    pub merged_by: Option<String>,
    pub merged_by_name: Option<String>,
    pub orders_moved: i64,
    pub points_moved: i64,
    pub addresses_moved: i64,
    pub undone_at: Option<String>,
    /// Inside the undo window and not undone (the rules may still refuse: see the refusal).
    pub undoable: bool,
}

impl Device {
    /// Likely duplicates among this till's customers (at most [`duplicates::MAX_PAIRS`]),
    /// same-phone pairs first. Read from the pairs kept as customers are written; the first
    /// look on a till fills them in one pass over every customer.
    pub fn likely_duplicates(&self) -> Result<Vec<DuplicatePair>> {
        self.authorize_action(Action::Merge)?;
        if !self.read(candidates_ready)? {
            self.write_quietly(|tx, _| rebuild_candidates(tx))?;
        }
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT d.a, d.b, d.reason FROM duplicate_candidates d
                 JOIN customers x ON x.id = d.a JOIN customers y ON y.id = d.b
                 WHERE x.merged_into IS NULL AND y.merged_into IS NULL
                   AND x.kind <> 'guest' AND y.kind <> 'guest'
                 ORDER BY d.reason DESC, d.a DESC, d.b DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([duplicates::MAX_PAIRS as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (a, b, reason) = row?;
                let (Ok(a), Ok(b)) = (a.parse(), b.parse()) else {
                    continue;
                };
                let reason = if reason == "same-phone" {
                    DuplicateReason::SamePhone
                } else {
                    DuplicateReason::SameNameNearPhone
                };
                let (a, b) = (load(c, a)?, load(c, b)?);
                let p = duplicates::pair(&candidate_of(&a), &candidate_of(&b), reason);
                let (keep, duplicate) = if p.keep == a.id { (a, b) } else { (b, a) };
                out.push(DuplicatePair {
                    keep,
                    duplicate,
                    reason,
                });
            }
            Ok(out)
        })
    }

    /// What merging `duplicate` into `keep` would move; refused as the merge itself would be.
    pub fn merge_preview(&self, duplicate: CustomerId, keep: CustomerId) -> Result<MergePreview> {
        self.authorize_action(Action::Merge)?;
        self.read(|c| {
            let source = apply::state(c, duplicate)?;
            let target = apply::state(c, keep)?;
            let fill = rules::decide_merge(&source, &target)?;
            let keep_c = load(c, keep)?;
            let dup = load(c, duplicate)?;
            let addresses: i64 = c.query_row(
                "SELECT count(*) FROM addresses WHERE customer_id = ?1",
                [duplicate.to_string()],
                |r| r.get(0),
            )?;
            let keep_becomes = rules::decide_update(&target, &fill, None)?
                .map(|e| e.kind)
                .unwrap_or(target.kind);
            Ok(MergePreview {
                orders_moving: dup.order_count,
                spent_moving: dup.total_spent_minor,
                points_moving: dup.loyalty_points,
                addresses_moving: addresses,
                fields_taken: fill
                    .changed_fields()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                keep_becomes,
                verified_phone_stays_behind: dup.phone_verified && fill.phone.is_none(),
                keep: keep_c,
                duplicate: dup,
            })
        })
    }

    /// Merges `duplicate` into `keep` for `reason` (required), offline: one transaction with
    /// the moves, the outbox op and the audit entry. Returns the merge as the log shows it.
    pub fn merge_customers(
        &self,
        duplicate: CustomerId,
        keep: CustomerId,
        reason: &str,
    ) -> Result<MergeEntry> {
        self.authorize_action(Action::Merge)?;
        let merge_id = MergeId::new();
        self.write(|tx, ctx| {
            let source = apply::state(tx, duplicate)?;
            let target = apply::state(tx, keep)?;
            let (op, _) = rules::decide_merge_op(merge_id, &source, &target, reason)?;
            apply::commit(
                tx,
                ctx,
                &op,
                &duplicate.to_string(),
                &["isActive", "mergedInto"],
            )?;
            entry(tx, merge_id, &ctx.now)
        })
    }

    /// Undoes a merge made within [`rules::MERGE_UNDO_HOURS`] (a manager's act; offline, as an op),
    /// unless later changes make it unsafe. Returns the duplicate, active again.
    pub fn undo_merge(&self, merge_id: MergeId) -> Result<Customer> {
        self.authorize_action(Action::Merge)?;
        self.write(|tx, ctx| {
            let record = record(tx, merge_id)?;
            let Some(op) = decide_undo(tx, &record, &ctx.now)? else {
                return load(tx, record.source);
            };
            apply::commit(
                tx,
                ctx,
                &op,
                &record.source.to_string(),
                &["isActive", "mergedInto"],
            )?;
            load(tx, record.source)
        })
    }

    /// The merges this till knows that `customer` took part in, newest first.
    pub fn merges_of(&self, customer: CustomerId) -> Result<Vec<MergeEntry>> {
        self.authorize_action(Action::SearchCustomers)?;
        self.read(|c| {
            let ids: Vec<String> = {
                let mut stmt = c.prepare_cached(
                    "SELECT id FROM merges WHERE source_id = ?1 OR target_id = ?1
                     ORDER BY merged_at DESC, id DESC",
                )?;
                let rows = stmt.query_map([customer.to_string()], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let now = crate::now_text();
            ids.iter()
                .filter_map(|id| id.parse().ok())
                .map(|id| entry(c, id, &now))
                .collect()
        })
    }
}

fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| DeviceError::Export(format!("bad time {text}: {e}")))
}

fn id_list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The merge `id` as this till recorded it.
fn record(c: &Connection, id: MergeId) -> Result<MergeRecord> {
    let row = c
        .query_row(
            "SELECT source_id, target_id, merged_at, undone_at IS NOT NULL, points_moved, filled,
                    target_kind_before, source_was_active
             FROM merges WHERE id = ?1",
            [id.to_string()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, bool>(7)?,
                ))
            },
        )
        .optional()?
        .ok_or(DeviceError::NotFound(Entity::Merge))?;
    let bad = |what: &str| DeviceError::Export(format!("bad merge record: {what}"));
    Ok(MergeRecord {
        id,
        source: row.0.parse().map_err(|_| bad("source"))?,
        target: row.1.parse().map_err(|_| bad("target"))?,
        merged_at: parse_time(&row.2)?,
        undone: row.3,
        points_moved: row.4,
        filled: serde_json::from_str(&row.5).map_err(|_| bad("filled"))?,
        target_kind_before: row.6.parse().map_err(|_| bad("kind"))?,
        source_was_active: row.7,
    })
}

fn entry(c: &Connection, id: MergeId, now: &str) -> Result<MergeEntry> {
    let record = record(c, id)?;
    let undoable = record.undoable_at(parse_time(now)?);
    c.query_row(
        "SELECT m.reason, m.merged_at, m.merged_by, s.name, m.orders_moved, m.points_moved,
                json_array_length(m.address_ids), m.undone_at
         FROM merges m LEFT JOIN staff s ON s.id = m.merged_by WHERE m.id = ?1",
        [id.to_string()],
        |r| {
            Ok(MergeEntry {
                id,
                source_id: record.source,
                target_id: record.target,
                reason: r.get(0)?,
                merged_at: r.get(1)?,
                merged_by: r.get(2)?,
                merged_by_name: r.get(3)?,
                orders_moved: r.get(4)?,
                points_moved: r.get(5)?,
                addresses_moved: r.get(6)?,
                undone_at: r.get(7)?,
                undoable,
            })
        },
    )
    .map_err(Into::into)
}

/// The undo of `record` as the rules decide it here, at `now`.
fn decide_undo(tx: &Connection, record: &MergeRecord, now: &str) -> Result<Option<Op>> {
    let source = apply::state(tx, record.source)?;
    let target = apply::state(tx, record.target)?;
    let target_points = crate::orders::points_of(tx, record.target)?;
    let holder = match source.phone.as_deref().map(Phone::parse) {
        Some(Ok(phone)) => phone_holder(tx, &phone)?,
        _ => None,
    };
    Ok(rules::decide_undo_merge(
        record,
        &source,
        &target,
        target_points,
        holder,
        parse_time(now)?,
    )?)
}

/// Gives a merge its effect here (the applier's arm of `customer_merged`): decided again by
/// the rules, then the moves, recorded so an undo can put them back. A merge already applied
/// here changes nothing.
pub(crate) fn apply_merge(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    merge_id: MergeId,
    duplicate: CustomerId,
    keep: CustomerId,
    reason: &str,
) -> Result<()> {
    let known: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM merges WHERE id = ?1)",
        [merge_id.to_string()],
        |r| r.get(0),
    )?;
    if known {
        return Ok(());
    }
    let source = apply::state(tx, duplicate)?;
    let target = apply::state(tx, keep)?;
    let (_, fill) = rules::decide_merge_op(merge_id, &source, &target, reason)?;
    let (s, t) = (duplicate.to_string(), keep.to_string());
    let ids = |sql: &str| -> Result<Vec<String>> {
        let mut stmt = tx.prepare(sql)?;
        let rows = stmt.query_map([&s], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    let order_ids = ids("SELECT id FROM orders WHERE customer_id = ?1")?;
    let address_ids = ids("SELECT id FROM addresses WHERE customer_id = ?1")?;
    let dup = load(tx, duplicate)?;
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO merges (id, source_id, target_id, reason, merged_at, merged_by,
            target_kind_before, filled, order_ids, address_ids, source_default, points_moved,
            orders_moved, spent_moved, source_was_active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            merge_id.to_string(),
            s,
            t,
            reason.trim(),
            ctx.now,
            ctx.staff_id,
            target.kind.as_str(),
            serde_json::to_string(&fill).map_err(|e| DeviceError::Export(e.to_string()))?,
            json(&order_ids),
            json(&address_ids),
            dup.default_address_id,
            dup.loyalty_points,
            dup.order_count,
            dup.total_spent_minor,
            source.active,
        ],
    )?;
    tx.execute(
        "UPDATE orders SET customer_id = ?2 WHERE customer_id = ?1",
        params![s, t],
    )?;
    // Addresses first, so the duplicate may then drop its default; the target keeps its own
    // default, or takes the duplicate's.
    tx.execute(
        "UPDATE addresses SET customer_id = ?2 WHERE customer_id = ?1",
        params![s, t],
    )?;
    tx.execute(
        "UPDATE customers SET active = 0, merged_into = ?2, default_address_id = NULL,
            loyalty_points = 0, order_count = 0, total_spent_minor = 0, last_order_at = NULL,
            updated_at = ?3, updated_by = ?4
         WHERE id = ?1",
        params![s, t, ctx.now, ctx.staff_id],
    )?;
    tx.execute(
        "UPDATE customers SET loyalty_points = loyalty_points + ?2,
            order_count = order_count + ?3, total_spent_minor = total_spent_minor + ?4,
            last_order_at = CASE WHEN ?5 IS NULL THEN last_order_at
                                 ELSE max(COALESCE(last_order_at, ''), ?5) END,
            default_address_id = COALESCE(default_address_id, ?6),
            updated_at = ?7, updated_by = ?8
         WHERE id = ?1",
        params![
            t,
            dup.loyalty_points,
            dup.order_count,
            dup.total_spent_minor,
            dup.last_order_at,
            dup.default_address_id,
            ctx.now,
            ctx.staff_id
        ],
    )?;
    apply::update(tx, ctx, &fill)?;
    refresh_candidates(tx, duplicate)?;
    refresh_candidates(tx, keep)?;
    Ok(())
}

/// Gives an undo its effect here (the applier's arm of `merge_undone`): decided again by the
/// rules, then what the merge moved goes back. A merge this till does not know changes
/// nothing here: the server undoes it and its snapshots follow.
pub(crate) fn apply_undo(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    merge_id: MergeId,
) -> Result<()> {
    let record = match record(tx, merge_id) {
        Ok(r) => r,
        Err(DeviceError::NotFound(Entity::Merge)) => return Ok(()),
        Err(e) => return Err(e),
    };
    if decide_undo(tx, &record, &ctx.now)?.is_none() {
        return Ok(());
    }
    let (s, t) = (record.source.to_string(), record.target.to_string());
    let (order_ids, address_ids, source_default, orders_moved, spent_moved): (
        String,
        String,
        Option<String>,
        i64,
        i64,
    ) = tx.query_row(
        "SELECT order_ids, address_ids, source_default, orders_moved, spent_moved
         FROM merges WHERE id = ?1",
        [merge_id.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    // The target gives back what it took, first: the duplicate's phone is then free again.
    let f: CustomerUpdated = record.filled.clone();
    tx.execute(
        "UPDATE customers SET kind = ?2,
            first_name = CASE WHEN ?3 THEN NULL ELSE first_name END,
            last_name = CASE WHEN ?4 THEN NULL ELSE last_name END,
            name2 = CASE WHEN ?5 THEN NULL ELSE name2 END,
            phone = CASE WHEN ?6 THEN NULL ELSE phone END,
            phone_national = CASE WHEN ?6 THEN NULL ELSE phone_national END,
            phone_last4 = CASE WHEN ?6 THEN NULL ELSE phone_last4 END,
            email = CASE WHEN ?7 THEN NULL ELSE email END,
            loyalty_points = loyalty_points - ?8,
            order_count = max(order_count - ?9, 0),
            total_spent_minor = max(total_spent_minor - ?10, 0),
            updated_at = ?11, updated_by = ?12
         WHERE id = ?1",
        params![
            t,
            record.target_kind_before.as_str(),
            f.first_name.is_some(),
            f.last_name.is_some(),
            f.name2.is_some(),
            f.phone.is_some(),
            f.email.is_some(),
            record.points_moved,
            orders_moved,
            spent_moved,
            ctx.now,
            ctx.staff_id,
        ],
    )?;
    tx.execute(
        "UPDATE orders SET customer_id = ?2
         WHERE customer_id = ?1 AND id IN (SELECT value FROM json_each(?3))",
        params![t, s, order_ids],
    )?;
    let target_default: Option<String> = tx.query_row(
        "SELECT default_address_id FROM customers WHERE id = ?1",
        [&t],
        |r| r.get(0),
    )?;
    let moving: Vec<String> = id_list(&address_ids);
    if target_default.as_ref().is_some_and(|d| moving.contains(d)) {
        // The target's default was the duplicate's: it takes another of its own, or none.
        let other: Option<String> = tx
            .query_row(
                "SELECT id FROM addresses WHERE customer_id = ?1
                   AND id NOT IN (SELECT value FROM json_each(?2)) ORDER BY id LIMIT 1",
                params![t, address_ids],
                |r| r.get(0),
            )
            .optional()?;
        tx.execute(
            "UPDATE addresses SET customer_id = ?2
             WHERE customer_id = ?1 AND id IN (SELECT value FROM json_each(?3))",
            params![t, s, address_ids],
        )?;
        tx.execute(
            "UPDATE customers SET default_address_id = ?2 WHERE id = ?1",
            params![t, other],
        )?;
    } else {
        tx.execute(
            "UPDATE addresses SET customer_id = ?2
             WHERE customer_id = ?1 AND id IN (SELECT value FROM json_each(?3))",
            params![t, s, address_ids],
        )?;
    }
    tx.execute(
        "UPDATE customers SET active = ?8, merged_into = NULL,
            loyalty_points = ?2, order_count = ?3, total_spent_minor = ?4,
            last_order_at = (SELECT max(created_at) FROM orders WHERE customer_id = ?1),
            default_address_id = COALESCE(
                (SELECT id FROM addresses WHERE customer_id = ?1 AND id = ?5),
                (SELECT id FROM addresses WHERE customer_id = ?1 ORDER BY id LIMIT 1)),
            updated_at = ?6, updated_by = ?7
         WHERE id = ?1",
        params![
            s,
            record.points_moved,
            orders_moved,
            spent_moved,
            source_default,
            ctx.now,
            ctx.staff_id,
            record.source_was_active,
        ],
    )?;
    tx.execute(
        "UPDATE merges SET undone_at = ?2, undone_by = ?3 WHERE id = ?1",
        params![merge_id.to_string(), ctx.now, ctx.staff_id],
    )?;
    index_names(tx, record.target)?;
    refresh_candidates(tx, record.source)?;
    refresh_candidates(tx, record.target)?;
    Ok(())
}

/// The settings key saying the pairs table holds every likely pair of this till.
const CANDIDATES_READY: &str = "duplicate_candidates_ready";

/// Whether the pairs table is kept on this till (filled by the finder's first look).
pub(crate) fn candidates_ready(c: &Connection) -> Result<bool> {
    Ok(crate::settings::setting(c, CANDIDATES_READY)?.is_some())
}

fn candidate_of(c: &Customer) -> Candidate {
    Candidate {
        id: c.id,
        kind: c.kind,
        active: c.active,
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        name2: c.name2.clone(),
        phone: c.phone.clone(),
        order_count: c.order_count,
        created_at: c.created_at.clone(),
    }
}

const CANDIDATE_COLUMNS: &str =
    "id, kind, active, first_name, last_name, name2, phone, order_count, created_at";

fn candidate_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Candidate>> {
    let id: String = r.get(0)?;
    let kind: String = r.get(1)?;
    let (Ok(id), Ok(kind)) = (id.parse(), kind.parse()) else {
        return Ok(None);
    };
    Ok(Some(Candidate {
        id,
        kind,
        active: r.get(2)?,
        first_name: r.get(3)?,
        last_name: r.get(4)?,
        name2: r.get(5)?,
        phone: r.get(6)?,
        order_count: r.get(7)?,
        created_at: r.get(8)?,
    }))
}

fn note_pair(c: &Connection, x: CustomerId, y: CustomerId, reason: DuplicateReason) -> Result<()> {
    let (a, b) = if x < y { (x, y) } else { (y, x) };
    let reason = match reason {
        DuplicateReason::SamePhone => "same-phone",
        DuplicateReason::SameNameNearPhone => "same-name-near-phone",
    };
    c.prepare_cached(
        "INSERT INTO duplicate_candidates (a, b, reason) VALUES (?1, ?2, ?3)
         ON CONFLICT (a, b) DO UPDATE SET reason = excluded.reason",
    )?
    .execute(params![a.to_string(), b.to_string(), reason])?;
    Ok(())
}

/// Fills the pairs table in one pass over every customer (the finder's first look).
fn rebuild_candidates(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("DELETE FROM duplicate_candidates", [])?;
    let people: Vec<Candidate> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT {CANDIDATE_COLUMNS} FROM customers
             WHERE merged_into IS NULL AND kind <> 'guest'"
        ))?;
        let rows = stmt.query_map([], candidate_row)?;
        rows.filter_map(|r| r.transpose())
            .collect::<rusqlite::Result<_>>()?
    };
    for (i, j, reason) in duplicates::all_pairs(&people) {
        note_pair(tx, people[i].id, people[j].id, reason)?;
    }
    crate::settings::put_setting(tx, CANDIDATES_READY, "1")
}

/// Works out again the likely pairs of customer `id` after a write of it (its phone, its
/// names, a merge): the customers with its phone, and those with its name whose phone is one
/// digit apart, found through the phone index. Nothing until the finder's first look.
pub(crate) fn refresh_candidates(c: &Connection, id: CustomerId) -> Result<()> {
    if !candidates_ready(c)? {
        return Ok(());
    }
    refresh_ready(c, id)
}

/// [`refresh_candidates`] for a caller that knows the table is kept.
pub(crate) fn refresh_ready(c: &Connection, id: CustomerId) -> Result<()> {
    let key = id.to_string();
    c.prepare_cached("DELETE FROM duplicate_candidates WHERE a = ?1 OR b = ?1")?
        .execute([&key])?;
    let me: Option<Candidate> = c
        .prepare_cached(&format!(
            "SELECT {CANDIDATE_COLUMNS} FROM customers
             WHERE id = ?1 AND merged_into IS NULL AND kind <> 'guest'"
        ))?
        .query_row([&key], candidate_row)
        .optional()?
        .flatten();
    let Some(me) = me else {
        return Ok(());
    };
    let Some(phone) = me.phone.clone() else {
        return Ok(());
    };
    let near = serde_json::to_string(&duplicates::phones_one_digit_apart_from(&phone))
        .map_err(|e| DeviceError::Export(e.to_string()))?;
    let others: Vec<Candidate> = {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT {CANDIDATE_COLUMNS} FROM customers
             WHERE (phone = ?1 OR phone IN (SELECT value FROM json_each(?2)))
               AND id <> ?3 AND merged_into IS NULL AND kind <> 'guest'"
        ))?;
        let rows = stmt.query_map(params![phone, near, key], candidate_row)?;
        rows.filter_map(|r| r.transpose())
            .collect::<rusqlite::Result<_>>()?
    };
    for other in others {
        if other.phone.as_deref() == Some(phone.as_str()) {
            note_pair(c, me.id, other.id, DuplicateReason::SamePhone)?;
        } else if duplicates::same_name(&me, &other) {
            note_pair(c, me.id, other.id, DuplicateReason::SameNameNearPhone)?;
        }
    }
    Ok(())
}

/// Customers in a merge (or its undo) still waiting in the outbox: the server's snapshots of
/// them predate it and are held back until it is answered.
pub(crate) fn in_pending_merges(c: &Connection) -> Result<std::collections::HashSet<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT customer_id, json_extract(payload, '$.targetId') FROM outbox
         WHERE state = 'pending' AND kind IN ('customer_merged', 'merge_undone')",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    let mut out = std::collections::HashSet::new();
    for row in rows {
        let (source, target) = row?;
        out.insert(source);
        out.extend(target);
    }
    Ok(out)
}

/// The merge or undo queued as op `device_seq` did not happen — the server refused it, or a
/// person discarded it once parked: the merge's record goes (a merge) or is no longer undone
/// (an undo), and both customers are read again from the server (the local change is still in
/// their rows). A refused op stays parked for a person to read; retried and applied later, the
/// pulls bring it. Any other op: nothing to do.
pub(crate) fn forget(tx: &Transaction<'_>, device_seq: i64) -> Result<()> {
    let op: Option<(String, String, Option<String>, Option<String>)> = tx
        .query_row(
            "SELECT kind, customer_id, json_extract(payload, '$.targetId'),
                    json_extract(payload, '$.mergeId')
             FROM outbox WHERE device_seq = ?1",
            [device_seq],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((kind, source, target, merge_id)) = op else {
        return Ok(());
    };
    match kind.as_str() {
        "customer_merged" => {
            tx.execute("DELETE FROM merges WHERE id = ?1", [&merge_id])?;
        }
        "merge_undone" => {
            tx.execute(
                "UPDATE merges SET undone_at = NULL, undone_by = NULL WHERE id = ?1",
                [&merge_id],
            )?;
        }
        _ => return Ok(()),
    }
    for id in [Some(source), target].into_iter().flatten() {
        tx.execute(
            "INSERT OR IGNORE INTO stale_customers (customer_id) VALUES (?1)",
            [id],
        )?;
    }
    Ok(())
}
