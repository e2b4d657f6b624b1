//! The device half of sync, on the store: what to push next, what the server answered, and
//! applying pulled pages. The network loop lives in [`crate::engine`].
//!
//! Guarantees kept here, each in one SQLite transaction:
//! - an op leaves the outbox only when the server answered it (applied, duplicate, redirected)
//!   or it is parked (rejected) for a person to see — never silently;
//! - a pulled page and the cursor after it commit together, so a page is applied once or
//!   re-pulled, never half-applied;
//! - local ops still waiting in the outbox are re-applied on top of pulled server state, so a
//!   pull never hides an edit the cashier made offline.

use crate::error::{DeviceError, Result};
use crate::pulled::{redirect, remove_local_customer, upsert_snapshot, PageNames};
use crate::{now_text, Device};
use dukkan_core::ops::Op;
use dukkan_core::sync::{
    CustomerSnapshot, OpOutcome, OpResult, PullResponse, PushOp, UpgradeStatus,
};
use dukkan_core::CustomerId;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// What the sync indicator shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// Ops waiting to be pushed.
    pub pending: u64,
    /// Ops the server rejected, waiting for a person.
    pub parked: u64,
    /// Last time a push and pull both succeeded (RFC 3339).
    pub last_success: Option<String>,
    /// Position in the tenant's change feed.
    pub cursor: i64,
}

/// An op the server refused, as the parked-operations panel shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ParkedOp {
    pub device_seq: i64,
    pub kind: String,
    pub customer_id: String,
    pub error_code: String,
    pub at: String,
}

fn get_state(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

fn set_state(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn decode_op(kind: &str, payload: &str) -> Result<Op> {
    let value = serde_json::json!({ "kind": kind, "payload": serde_json::from_str::<serde_json::Value>(payload)
        .map_err(|e| DeviceError::Export(e.to_string()))? });
    serde_json::from_value(value).map_err(|e| DeviceError::Export(e.to_string()))
}

/// The customer of the parked op `device_seq` (not found unless that op is parked).
fn parked_customer(conn: &Connection, device_seq: i64) -> Result<String> {
    conn.query_row(
        "SELECT customer_id FROM outbox WHERE device_seq = ?1 AND state = 'parked'",
        [device_seq],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(DeviceError::NotFound(crate::Entity::Customer))
}

/// Recomputes a customer's sync state from its outbox ops.
fn refresh_sync_state(conn: &Connection, customer: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE customers SET sync_state = CASE
            WHEN EXISTS (SELECT 1 FROM outbox WHERE customer_id = ?1 AND state = 'parked') THEN 'parked'
            WHEN EXISTS (SELECT 1 FROM outbox WHERE customer_id = ?1 AND state = 'pending') THEN 'pending'
            ELSE 'synced' END
         WHERE id = ?1")?.execute(
        [customer],
    )?;
    Ok(())
}

impl Device {
    plumbing! {
        /// The next ops to push, oldest first (parked ops are not sent again).
        fn next_push_batch(&self, max: usize) -> Result<Vec<PushOp>> {
            self.next_push_batch_after(0, max)
        }
    }

    plumbing! {
        /// The ops to push after `after` (a device sequence number), oldest first: the batch
        /// that follows one already sent, read before that one's answers are recorded.
        fn next_push_batch_after(&self, after: i64, max: usize) -> Result<Vec<PushOp>> {
            self.read(|conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT op_id, device_seq, kind, payload, staff_id, at FROM outbox
                     WHERE state = 'pending' AND device_seq > ?1 ORDER BY device_seq LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![after, max as i64], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })?;
                let mut ops = Vec::new();
                for row in rows {
                    let (op_id, device_seq, kind, payload, staff_id, at) = row?;
                    ops.push(PushOp {
                        op_id: op_id
                            .parse()
                            .map_err(|_| DeviceError::Export(format!("bad op id {op_id}")))?,
                        device_seq,
                        op: decode_op(&kind, &payload)?,
                        staff_id,
                        at,
                    });
                }
                Ok(ops)
            })
        }
    }

    plumbing! {
        /// Records the server's answers: answered ops leave the outbox, rejected ones are parked,
        /// redirected customers are merged locally into the survivor.
        fn apply_push_results(&self, results: &[OpResult]) -> Result<()> {
            self.write_quietly(|tx, _ctx| {
                // The server's last applied seq when it said another op holds ours.
                let mut conflict_after: Option<i64> = None;
                for r in results {
                    let op: Option<(String, String)> = tx
                        .query_row(
                            "SELECT customer_id, kind FROM outbox WHERE device_seq = ?1 AND op_id = ?2",
                            params![r.device_seq, r.op_id.to_string()],
                            |row| Ok((row.get(0)?, row.get(1)?)),
                        )
                        .optional()?;
                    let Some((customer, kind)) = op else { continue };
                    match &r.outcome {
                        OpOutcome::Applied | OpOutcome::Duplicate => {
                            tx.execute("DELETE FROM outbox WHERE device_seq = ?1", [r.device_seq])?;
                            // Applied earlier (an answer was lost): the figures this till added
                            // for it on top of a snapshot may already be in that snapshot. Read
                            // the customer again from the server (see `apply_refetched`).
                            if matches!(r.outcome, OpOutcome::Duplicate)
                                && matches!(kind.as_str(), "order_recorded" | "points_adjusted")
                            {
                                tx.execute(
                                    "INSERT OR IGNORE INTO stale_customers (customer_id) VALUES (?1)",
                                    [&customer],
                                )?;
                            }
                        }
                        OpOutcome::Redirected { to } => {
                            tx.execute("DELETE FROM outbox WHERE device_seq = ?1", [r.device_seq])?;
                            redirect(tx, &customer, *to)?;
                        }
                        OpOutcome::Rejected { code } => {
                            tracing::warn!(device_seq = r.device_seq, %code, "op rejected by the server; parked");
                            if matches!(kind.as_str(), "customer_merged" | "merge_undone") {
                                // A merge or undo spans two customers: refused, the till shows
                                // the server's truth of both at once (not only once a person
                                // discards it), and its log says it did not happen.
                                crate::merges::forget(tx, r.device_seq)?;
                            }
                            tx.execute(
                                "UPDATE outbox SET state = 'parked', error_code = ?2, attempts = attempts + 1
                                 WHERE device_seq = ?1",
                                params![r.device_seq, code],
                            )?;
                        }
                        // Nothing was done; the op stays and is sent again in order.
                        OpOutcome::OutOfOrder { .. } => {}
                        OpOutcome::SequenceConflict { last_applied } => {
                            conflict_after = conflict_after.max(Some(*last_applied));
                        }
                    }
                    refresh_sync_state(tx, &customer)?;
                }
                if let Some(last_applied) = conflict_after {
                    renumber_pending_after(tx, last_applied)?;
                }
                Ok(())
            })
        }
    }

    plumbing! {
        /// The cursor to pull from.
        fn sync_cursor(&self) -> Result<i64> {
            self.read(|c| {
                Ok(get_state(c, "cursor")?
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0))
            })
        }
    }

    plumbing! {
        /// Applies one pulled page and advances the cursor, in one transaction.
        fn apply_pull(&self, page: &PullResponse) -> Result<()> {
            self.apply_pulls(std::slice::from_ref(page))
        }
    }

    plumbing! {
        /// Applies pulled pages, in order, and advances the cursor, in one transaction.
        fn apply_pulls(&self, pages: &[PullResponse]) -> Result<()> {
            self.write_quietly(|tx, ctx| {
                for page in pages {
                    apply_page(tx, ctx, page)?;
                }
                Ok(())
            })
        }
    }

    plumbing! {
        /// Notes a complete successful sync round (shown as "last sync").
        fn mark_synced_now(&self) -> Result<()> {
            self.read(|c| set_state(c, "last_success", &now_text()))
        }
    }

    /// What the sync indicator shows.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        self.read(|c| {
            let (pending, parked): (i64, i64) = c.query_row(
                "SELECT COALESCE(SUM(state = 'pending'), 0), COALESCE(SUM(state = 'parked'), 0) FROM outbox",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(SyncStatus {
                pending: pending as u64,
                parked: parked as u64,
                last_success: get_state(c, "last_success")?,
                cursor: get_state(c, "cursor")?.and_then(|s| s.parse().ok()).unwrap_or(0),
            })
        })
    }

    /// Ops the server rejected, oldest first.
    pub fn parked_ops(&self) -> Result<Vec<ParkedOp>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT device_seq, kind, customer_id, COALESCE(error_code, ''), at FROM outbox
                 WHERE state = 'parked' ORDER BY device_seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(ParkedOp {
                    device_seq: r.get(0)?,
                    kind: r.get(1)?,
                    customer_id: r.get(2)?,
                    error_code: r.get(3)?,
                    at: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Sends a parked op again (after a person fixed what made the server refuse it, e.g.
    /// freed the phone number): it is queued as a new op at the end of the outbox, made now by
    /// the staff member signed in (so a manager can retry what a cashier was not allowed to
    /// do, and the server judges it with the manager's role).
    pub fn retry_parked(&self, device_seq: i64) -> Result<()> {
        self.authorize(dukkan_core::staff::Role::Cashier)?;
        self.write(|tx, ctx| {
            let customer = parked_customer(tx, device_seq)?;
            tx.execute(
                "INSERT INTO outbox (op_id, kind, entity_id, customer_id, payload, staff_id, at)
                 SELECT ?2, kind, entity_id, customer_id, payload, COALESCE(?3, staff_id), at
                 FROM outbox WHERE device_seq = ?1",
                params![
                    device_seq,
                    dukkan_core::OpId::new().to_string(),
                    ctx.staff_id
                ],
            )?;
            tx.execute("DELETE FROM outbox WHERE device_seq = ?1", [device_seq])?;
            refresh_sync_state(tx, &customer)
        })
    }

    /// Discards a parked op (a person decided it should not reach the server).
    pub fn discard_parked(&self, device_seq: i64) -> Result<()> {
        self.authorize(dukkan_core::staff::Role::Manager)?;
        self.write(|tx, _| {
            let customer = parked_customer(tx, device_seq)?;
            crate::merges::forget(tx, device_seq)?;
            tx.execute("DELETE FROM outbox WHERE device_seq = ?1", [device_seq])?;
            // The refused change is still in the local row: read the customer again from the
            // server at the next sync (see `apply_refetched`).
            tx.execute(
                "INSERT OR IGNORE INTO stale_customers (customer_id) VALUES (?1)",
                [&customer],
            )?;
            refresh_sync_state(tx, &customer)
        })
    }

    plumbing! {
        /// Customers to read again from the server (a refused change of theirs was discarded).
        fn stale_customers(&self) -> Result<Vec<CustomerId>> {
            self.read(|c| {
                let mut stmt = c.prepare("SELECT customer_id FROM stale_customers")?;
                let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
                let mut out = Vec::new();
                for id in ids {
                    if let Ok(id) = id?.parse() {
                        out.push(id);
                    }
                }
                Ok(out)
            })
        }
    }

    plumbing! {
        /// Replaces the local copy of a stale customer with the server's `snapshot`, re-applying
        /// what is still pending on top. `None`: the server does not know the customer (its create
        /// was refused and discarded) — then, unless something of it is still queued, it is removed
        /// from this till, as the person who discarded the create expects.
        fn apply_refetched(
            &self,
            id: CustomerId,
            snapshot: Option<&CustomerSnapshot>,
        ) -> Result<()> {
            let key = id.to_string();
            self.write_quietly(|tx, ctx| {
                if crate::merges::in_pending_merges(tx)?.contains(&key) {
                    // Still held back: read again after the merge is answered.
                    return Ok(());
                }
                match snapshot {
                    Some(snapshot) if snapshot.id == id => {
                        let mut names = PageNames::default();
                        upsert_snapshot(tx, snapshot, false, &mut names)?;
                        names.write(tx)?;
                        reapply_pending(tx, ctx, id)?;
                        refresh_sync_state(tx, &key)?;
                        crate::merges::refresh_candidates(tx, id)?;
                    }
                    Some(_) => {}
                    None => {
                        let queued: bool = tx.query_row(
                            "SELECT EXISTS (SELECT 1 FROM outbox WHERE customer_id = ?1)
                                 OR EXISTS (SELECT 1 FROM customers WHERE merged_into = ?1)",
                            [&key],
                            |r| r.get(0),
                        )?;
                        if !queued {
                            remove_local_customer(tx, &key)?;
                        }
                    }
                }
                tx.execute("DELETE FROM stale_customers WHERE customer_id = ?1", [&key])?;
                Ok(())
            })
        }
    }
    /// Retires walk-in guests without an order older than the retention, on a till never
    /// enrolled with a shop's server (an enrolled till hears of retirements from the server).
    /// Returns how many; run at start.
    pub fn retire_old_guests(&self) -> Result<u64> {
        if self.enrollment()?.is_some() {
            return Ok(0);
        }
        self.write_quietly(|tx, ctx| {
            crate::pulled::retire_standalone_guests(tx, ctx, chrono::Utc::now())
        })
    }

    /// The customer's upgrade request, if one was made.
    pub fn upgrade_request(&self, id: CustomerId) -> Result<Option<crate::UpgradeRequest>> {
        self.read(|c| crate::customers::load_upgrade(c, id))
    }

    plumbing! {
        /// Records the server's answer to a resend or verify: the request's state, and the customer
        /// as the server holds it once verified (full, phone verified).
        fn apply_upgrade_status(&self, status: &UpgradeStatus) -> Result<()> {
            self.write_quietly(|tx, ctx| {
                if let Some(customer) = &status.customer {
                    let mut names = PageNames::default();
                    upsert_snapshot(tx, customer, false, &mut names)?;
                    names.write(tx)?;
                    reapply_pending(tx, ctx, customer.id)?;
                    refresh_sync_state(tx, &customer.id.to_string())?;
                }
                tx.execute(
                    "UPDATE upgrade_requests SET state = ?2, error_code = ?3, code_expires_at = ?4,
                            resend_after = ?5, attempts_left = ?6, updated_at = ?7
                     WHERE customer_id = ?1",
                    params![
                        status.customer_id.to_string(),
                        status.state.as_str(),
                        status.error_code,
                        status.code_expires_at,
                        status.resend_after,
                        status.attempts_left,
                        now_text()
                    ],
                )?;
                Ok(())
            })
        }
    }

    /// The server this device is enrolled with: `(base URL, device token)`.
    pub fn enrollment(&self) -> Result<Option<(String, String)>> {
        self.read(|c| Ok(get_state(c, "server_url")?.zip(get_state(c, "device_token")?)))
    }

    plumbing! {
        /// Stores a successful enrollment. Pending ops are kept: they go to the new enrollment.
        fn save_enrollment(
            &self,
            server_url: &str,
            enrollment: &dukkan_core::sync::Enrollment,
        ) -> Result<()> {
            self.write(|tx, _| {
                set_state(tx, "server_url", server_url)?;
                set_state(tx, "device_token", &enrollment.device_token)?;
                set_state(tx, "tenant_id", &enrollment.tenant_id.to_string())?;
                set_state(tx, "server_device_id", &enrollment.device_id.to_string())
            })
        }
    }

    plumbing! {
        /// The highest device sequence number the server has answered (see `EnrollRequest`).
        fn last_acked_seq(&self) -> Result<i64> {
            self.read(|c| {
                let first_pending: Option<i64> = c.query_row(
                    "SELECT MIN(device_seq) FROM outbox WHERE state = 'pending'",
                    [],
                    |r| r.get(0),
                )?;
                if let Some(first) = first_pending {
                    return Ok(first - 1);
                }
                // Nothing pending: every op ever numbered was answered.
                Ok(c.query_row(
                    "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'outbox'",
                    [],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0))
            })
        }
    }

    /// Forgets the enrollment (sign the device out of its tenant). Refused while ops have not
    /// reached the server, unless `force` — then they are lost, and the caller said so.
    /// The tenant's staff roster goes too: the till is open again, as before enrollment.
    pub fn reset_enrollment(&self, force: bool) -> Result<()> {
        self.authorize(dukkan_core::staff::Role::Manager)?;
        self.write(|tx, _| {
            let pending: i64 = tx.query_row("SELECT COUNT(*) FROM outbox WHERE state = 'pending'", [], |r| r.get(0))?;
            if pending > 0 && !force {
                return Err(DeviceError::UnsyncedOps { pending: pending as u64 });
            }
            if force {
                tx.execute("DELETE FROM outbox", [])?;
                tx.execute("UPDATE customers SET sync_state = 'synced'", [])?;
            }
            tx.execute(
                "DELETE FROM sync_state WHERE key IN ('server_url', 'device_token', 'tenant_id', 'server_device_id', 'cursor')",
                [],
            )?;
            tx.execute("DELETE FROM staff", [])?;
            tx.execute(
                "DELETE FROM settings WHERE key = ?1",
                [crate::staff::ROSTER_ETAG],
            )?;
            Ok(())
        })?;
        let mut s = self.sign_in_state();
        s.staffed = false;
        s.staff = None;
        Ok(())
    }
}

/// Writes one pulled page and its cursor (the caller's transaction).
fn apply_page(tx: &Transaction<'_>, ctx: &crate::WriteContext, page: &PullResponse) -> Result<()> {
    // The two customers of a merge still waiting to be pushed keep their local
    // state: these snapshots predate the merge. They are read again once it is
    // answered (`stale_customers`).
    let held = crate::merges::in_pending_merges(tx)?;
    let pairs_kept = crate::merges::candidates_ready(tx)?;
    let ids: Vec<String> = page
        .changes
        .iter()
        .map(|c| c.customer.id.to_string())
        .collect();
    let ids_json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    // One look per page at which of its customers this till holds already and which
    // have ops still in the outbox (a first sync's pages: none of either).
    let page_ids = |sql: &str| -> Result<HashSet<String>> {
        let mut stmt = tx.prepare_cached(sql)?;
        let rows = stmt.query_map([&ids_json], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    let held_here =
        page_ids("SELECT id FROM customers WHERE id IN (SELECT value FROM json_each(?1))")?;
    let with_ops = page_ids(
        "SELECT DISTINCT customer_id FROM outbox
         WHERE customer_id IN (SELECT value FROM json_each(?1))",
    )?;
    // A customer is written fresh (nothing of it to replace) when this till does not
    // hold it, it is not the survivor a merged snapshot of the page places first, and
    // it is its first snapshot in the page.
    let survivors: HashSet<String> = page
        .changes
        .iter()
        .filter_map(|c| c.customer.merged_into.map(|m| m.to_string()))
        .collect();
    let mut names = PageNames::default();
    let mut written = HashSet::new();
    let mut fresh_ids = HashSet::new();
    for (change, id) in page.changes.iter().zip(&ids) {
        if held.contains(id) {
            tx.execute(
                "INSERT OR IGNORE INTO stale_customers (customer_id) VALUES (?1)",
                [id],
            )?;
            continue;
        }
        let fresh =
            written.insert(id.as_str()) && !held_here.contains(id) && !survivors.contains(id);
        if fresh {
            fresh_ids.insert(id.as_str());
        }
        upsert_snapshot(tx, &change.customer, fresh, &mut names)?;
        if pairs_kept {
            crate::merges::refresh_ready(tx, change.customer.id)?;
        }
    }
    names.write(tx)?;
    // Once per customer, after its last snapshot of the page: re-applying a pending
    // order twice would count it twice.
    let mut reapplied = std::collections::HashSet::new();
    for change in page.changes.iter().rev() {
        let id = change.customer.id.to_string();
        if !reapplied.insert(id.clone()) || held.contains(&id) {
            continue;
        }
        if with_ops.contains(&id) {
            reapply_pending(tx, ctx, change.customer.id)?;
            refresh_sync_state(tx, &id)?;
        } else if !fresh_ids.contains(id.as_str()) {
            tx.prepare_cached(
                "UPDATE customers SET sync_state = 'synced'
                 WHERE id = ?1 AND sync_state <> 'synced'",
            )?
            .execute([&id])?;
        }
    }
    set_state(tx, "cursor", &page.cursor.to_string())
}

/// Re-applies the customer's still-pending local ops on top of the server's state, through the
/// same [`crate::apply::apply`] the use cases use, each as the staff member and at the time
/// it was made. An op the rules now refuse here (its customer was deactivated or merged on
/// the server meanwhile) is left for the server to answer.
fn reapply_pending(
    tx: &Transaction<'_>,
    ctx: &crate::WriteContext,
    customer: CustomerId,
) -> Result<()> {
    let ops: Vec<(String, String, Option<String>, String)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT kind, payload, staff_id, at FROM outbox
             WHERE customer_id = ?1 AND state = 'pending' ORDER BY device_seq",
        )?;
        let rows = stmt.query_map([customer.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (kind, payload, staff_id, at) in ops {
        let op = decode_op(&kind, &payload)?;
        let made = crate::WriteContext {
            device_id: ctx.device_id,
            staff_id,
            now: at,
        };
        match crate::apply::apply(tx, &made, &op) {
            Ok(()) => {}
            Err(
                DeviceError::Refused(_) | DeviceError::Validation(_) | DeviceError::NotFound(_),
            ) => {
                tracing::debug!(kind = op.kind(), "pending op no longer applies locally");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The server applied other ops under our pending ops' numbers (this store is a restored
/// backup, or a copy on a second PC): give every pending op, in order, the numbers right after
/// `last_applied` (the server's next expected), so they are pushed again and applied once each.
fn renumber_pending_after(tx: &Transaction<'_>, last_applied: i64) -> Result<()> {
    let (first, answered): (Option<i64>, i64) = tx.query_row(
        "SELECT (SELECT MIN(device_seq) FROM outbox WHERE state = 'pending'),
                COALESCE((SELECT MAX(device_seq) FROM outbox WHERE state <> 'pending'), 0)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some(first) = first else {
        return Ok(());
    };
    if first > last_applied {
        return Ok(());
    }
    // A parked op was answered by the server, so its number is at most `last_applied`; the
    // max only guards the primary key should that ever not hold.
    let offset = last_applied.max(answered) + 1 - first;
    // Through negative numbers, so no two rows ever share a number mid-update.
    tx.execute(
        "UPDATE outbox SET device_seq = -device_seq WHERE state = 'pending'",
        [],
    )?;
    tx.execute(
        "UPDATE outbox SET device_seq = ?1 - device_seq WHERE device_seq < 0",
        [offset],
    )?;
    tx.execute(
        "UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT MAX(device_seq) FROM outbox))
         WHERE name = 'outbox'",
        [],
    )?;
    tracing::warn!(
        last_applied,
        from = first,
        to = first + offset,
        "the server holds other ops under this till's numbers; pending ops renumbered"
    );
    Ok(())
}
