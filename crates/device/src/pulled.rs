//! What the server says a customer is, written into this till's store: a pulled snapshot, a
//! merge into a survivor, or a customer the server never took. These are the server's truth;
//! the till's own changes go through [`crate::apply`].

use crate::customers::{add_name_entry, index_names, indexed_names, last4, NameTerms};
use crate::error::Result;
use crate::now_text;
use dukkan_core::sync::CustomerSnapshot;
use dukkan_core::{CustomerId, Phone};
use rusqlite::{params, OptionalExtension, Transaction};

/// Removes a customer that exists on this till only, with its addresses, upgrade request and
/// search entry (its audit entries stay: they are history).
pub(crate) fn remove_local_customer(tx: &Transaction<'_>, id: &str) -> Result<()> {
    let seq: Option<i64> = tx
        .query_row("SELECT seq FROM customers WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(seq) = seq else {
        return Ok(());
    };
    tx.execute("DELETE FROM customers_fts WHERE rowid = ?1", [seq])?;
    tx.execute(
        "DELETE FROM duplicate_candidates WHERE a = ?1 OR b = ?1",
        [id],
    )?;
    tx.execute("DELETE FROM upgrade_requests WHERE customer_id = ?1", [id])?;
    tx.execute("DELETE FROM orders WHERE customer_id = ?1", [id])?;
    // The last address deleted leaves the default empty (addresses_promote_on_delete).
    tx.execute("DELETE FROM addresses WHERE customer_id = ?1", [id])?;
    tx.execute("DELETE FROM customers WHERE id = ?1", [id])?;
    Ok(())
}

/// Walk-in guests that never had an order, created more than [`GUEST_RETENTION_DAYS`] before
/// `now` (RFC 3339), on a till that has never been enrolled with a shop's server: the server's
/// housekeeping retires them for enrolled tills; a standalone till does it itself. Each is
/// removed with its queued create (the queue is numbered again from 1 so a later enrollment
/// pushes it without gaps) and recorded in the audit log. Returns how many.
pub(crate) fn retire_standalone_guests(
    tx: &Transaction<'_>,
    ctx: &crate::WriteContext,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64> {
    let cutoff = (now - chrono::Duration::days(GUEST_RETENTION_DAYS))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let old: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT c.id FROM customers c
             WHERE c.kind = 'guest' AND c.order_count = 0 AND c.created_at < ?1
               AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)
               AND NOT EXISTS (SELECT 1 FROM customers m WHERE m.merged_into = c.id)
               AND NOT EXISTS (SELECT 1 FROM merges g WHERE g.source_id = c.id OR g.target_id = c.id)
             LIMIT 1000",
        )?;
        let rows = stmt.query_map([&cutoff], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in &old {
        tx.execute("DELETE FROM outbox WHERE customer_id = ?1", [id])?;
        remove_local_customer(tx, id)?;
        tx.execute(
            "INSERT INTO audit_log (at, staff_id, device_id, entity, entity_id, customer_id, action, fields)
             VALUES (?1, NULL, ?2, 'customer', ?3, ?3, 'retire', '[]')",
            params![ctx.now, ctx.device_id.to_string(), id],
        )?;
    }
    if !old.is_empty() {
        // A till never enrolled has pushed nothing: its queue is numbered 1.. again.
        tx.execute_batch(
            "CREATE TEMP TABLE renumbered AS
                 SELECT device_seq AS old, row_number() OVER (ORDER BY device_seq) AS new FROM outbox;
             UPDATE outbox SET device_seq = -device_seq;
             UPDATE outbox SET device_seq = (SELECT new FROM renumbered WHERE old = -outbox.device_seq);
             DROP TABLE renumbered;
             UPDATE sqlite_sequence SET seq = (SELECT COALESCE(MAX(device_seq), 0) FROM outbox)
             WHERE name = 'outbox';",
        )?;
        tracing::info!(
            retired = old.len(),
            "walk-in guests without orders retired on this standalone till"
        );
    }
    Ok(old.len() as u64)
}

/// How long a walk-in guest without an order stays on a standalone till (the server's default
/// for its shops).
pub const GUEST_RETENTION_DAYS: i64 = 90;

/// The server merged `from` into `to` (same phone created offline on two devices): the local
/// copy is retired and points at the survivor; addresses and queued work move to the survivor.
pub(crate) fn redirect(tx: &Transaction<'_>, from: &str, to: CustomerId) -> Result<()> {
    let to_s = to.to_string();
    if from == to_s {
        return Ok(());
    }
    let survivor_known: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE id = ?1)",
        [&to_s],
        |r| r.get(0),
    )?;
    if !survivor_known {
        // Until the survivor is pulled, keep a placeholder so references stay valid; the pull
        // that follows every push overwrites it with the server's truth.
        tx.execute(
            "INSERT INTO customers (id, kind, first_name, last_name, name2, phone, phone_national, phone_last4,
                created_at, created_by, created_device, updated_at, updated_by, sync_state)
             SELECT ?2, kind, first_name, last_name, name2, phone, phone_national, phone_last4,
                created_at, created_by, created_device, updated_at, updated_by, 'synced'
             FROM customers WHERE id = ?1",
            params![from, to_s],
        )?;
        index_names(tx, to)?;
    }
    // Move the addresses first: the retired copy may then drop its default (the database only
    // refuses that while it still has addresses), and the survivor takes one if it had none.
    tx.execute(
        "UPDATE addresses SET customer_id = ?2 WHERE customer_id = ?1",
        params![from, to_s],
    )?;
    tx.execute(
        "UPDATE customers SET active = 0, merged_into = ?2, default_address_id = NULL WHERE id = ?1",
        params![from, to_s],
    )?;
    tx.execute(
        "UPDATE customers SET default_address_id =
            (SELECT id FROM addresses WHERE customer_id = ?1 ORDER BY id DESC LIMIT 1)
         WHERE id = ?1 AND default_address_id IS NULL",
        [&to_s],
    )?;
    tx.execute(
        "UPDATE outbox SET customer_id = ?2 WHERE customer_id = ?1",
        params![from, to_s],
    )?;
    tx.execute(
        "UPDATE orders SET customer_id = ?2 WHERE customer_id = ?1",
        params![from, to_s],
    )?;
    tx.execute(
        "UPDATE upgrade_requests SET customer_id = ?2 WHERE customer_id = ?1
           AND NOT EXISTS (SELECT 1 FROM upgrade_requests WHERE customer_id = ?2)",
        params![from, to_s],
    )?;
    tx.execute(
        "DELETE FROM duplicate_candidates WHERE a = ?1 OR b = ?1",
        [from],
    )?;
    crate::merges::refresh_candidates(tx, to)?;
    tracing::info!(%from, to = %to_s, "customer merged into survivor by the server");
    Ok(())
}

macro_rules! snapshot_insert {
    () => {
        "INSERT INTO customers (id, customer_number, kind, first_name, last_name, name2, phone, phone_national,
            phone_last4, email, phone_verified, preferences, loyalty_points, order_count, total_spent_minor,
            last_order_at, active, merged_into, created_at, created_device, updated_at, sync_state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, 'server', ?20, 'synced')"
    };
}
/// A pulled customer's row; [`SNAPSHOT_UPSERT`] when the till may hold it already.
const SNAPSHOT_INSERT: &str = snapshot_insert!();
const SNAPSHOT_UPSERT: &str = concat!(
    snapshot_insert!(),
    " ON CONFLICT (id) DO UPDATE SET customer_number = excluded.customer_number, kind = excluded.kind,
    first_name = excluded.first_name, last_name = excluded.last_name, name2 = excluded.name2,
    phone = excluded.phone, phone_national = excluded.phone_national, phone_last4 = excluded.phone_last4,
    email = excluded.email, phone_verified = excluded.phone_verified, preferences = excluded.preferences,
    loyalty_points = excluded.loyalty_points, order_count = excluded.order_count,
    total_spent_minor = excluded.total_spent_minor, last_order_at = excluded.last_order_at,
    active = excluded.active, merged_into = excluded.merged_into, updated_at = excluded.updated_at
    RETURNING seq"
);

/// The name index entries of the customers a pulled page wrote, added after all of the page's
/// rows: FTS5 writes its pending entries to disk at every statement savepoint of the
/// transaction, so entries added between the rows' statements each became a segment of one
/// customer, merged again and again (a third of a first sync's time).
#[derive(Default)]
pub(crate) struct PageNames {
    /// Customers new to this till: their row and names.
    added: Vec<(i64, String)>,
    /// Customers that had an entry: read again from their row.
    changed: Vec<CustomerId>,
}

impl PageNames {
    pub(crate) fn write(self, tx: &Transaction<'_>) -> Result<()> {
        // New entries first: a customer written twice in a page is then re-read once more.
        let mut terms = NameTerms::default();
        for (seq, names) in &self.added {
            add_name_entry(tx, *seq, names, &mut terms)?;
        }
        terms.write(tx)?;
        for id in self.changed {
            index_names(tx, id)?;
        }
        Ok(())
    }
}

/// Writes the server's version of a customer and its addresses; its name index entry goes to
/// `names`. `fresh`: the caller knows this till holds no row of the customer (most of a first
/// sync), so nothing of an earlier version is looked for to be replaced.
pub(crate) fn upsert_snapshot(
    tx: &Transaction<'_>,
    c: &CustomerSnapshot,
    fresh: bool,
    names: &mut PageNames,
) -> Result<()> {
    let id = c.id.to_string();
    if c.retired && fresh {
        return Ok(());
    }
    if c.retired {
        // A guest the shop's retention retired: gone from this till too, unless work of it is
        // still queued here (an order taken offline meanwhile): then it is kept, inactive, and
        // the server answers that work.
        let queued: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM outbox WHERE customer_id = ?1)")?
            .query_row([&id], |r| r.get(0))?;
        if !queued {
            remove_local_customer(tx, &id)?;
            return Ok(());
        }
    }
    // The names this till indexed for the customer, if it holds it: a snapshot that leaves
    // them as they were (most pulled changes: numbers, orders, points, sync) keeps its search
    // entry rather than deleting and writing it again.
    let indexed = if fresh {
        None
    } else {
        indexed_names(tx, &id)?.map(|(_, names)| names)
    };
    let phone = c.phone.as_deref().and_then(Phone::from_e164);
    let prefs = c
        .preferences
        .as_ref()
        .map(|p| serde_json::to_string(p).unwrap_or_default());
    if let Some(to) = c.merged_into {
        // The survivor's own snapshot comes later in the feed (the server records the merge on
        // the survivor after the merged copy's create), possibly on a later page. Until it
        // arrives, a placeholder copied from this customer keeps `merged_into` pointing at a
        // row, as `redirect` does; the survivor's snapshot then overwrites it.
        let placed = tx.execute(
            "INSERT INTO customers (id, kind, first_name, last_name, name2, phone, phone_national,
                phone_last4, email, phone_verified, created_at, created_device, updated_at, sync_state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'server', ?12, 'synced')
             ON CONFLICT (id) DO NOTHING",
            params![
                to.to_string(),
                c.kind.as_str(),
                c.first_name,
                c.last_name,
                c.name2,
                c.phone,
                phone.as_ref().map(|p| p.national().to_owned()),
                phone.as_ref().map(last4),
                c.email,
                c.phone_verified,
                c.created_at,
                c.updated_at,
            ],
        )?;
        if placed > 0 {
            index_names(tx, to)?;
        }
    }
    let row = params![
        id,
        c.customer_number.map(|n| n.value()),
        c.kind.as_str(),
        c.first_name,
        c.last_name,
        c.name2,
        c.phone,
        phone.as_ref().map(|p| p.national().to_owned()),
        phone.as_ref().map(last4),
        c.email,
        c.phone_verified,
        prefs,
        c.loyalty_points,
        c.order_count,
        c.total_spent_minor,
        c.last_order_at,
        c.active,
        c.merged_into.map(|m| m.to_string()),
        c.created_at,
        c.updated_at,
    ];
    let seq: i64 = if fresh {
        // A plain insert: no conflict to resolve, and no statement journal to keep.
        tx.prepare_cached(SNAPSHOT_INSERT)?.execute(row)?;
        tx.last_insert_rowid()
    } else {
        tx.prepare_cached(SNAPSHOT_UPSERT)?
            .query_row(row, |r| r.get(0))?
    };
    crate::orders::upsert_server_orders(tx, &id, &c.recent_orders, c.order_count)?;
    // Addresses: upsert the server's, drop the rest, then take the server's default.
    let mut moved_from = Vec::new();
    for a in &c.addresses {
        // An address held here by another customer (a merge the server did not take moved
        // it) comes back; if it was that customer's default, it takes another of its own.
        if let Some(owner) = crate::apply::address_owner(tx, a.id)? {
            if owner != c.id {
                moved_from.push(owner.to_string());
            }
        }
        crate::apply::write_address(tx, &id, &a.id.to_string(), &a.address, &c.updated_at)?;
    }
    for owner in moved_from {
        tx.execute(
            "UPDATE customers SET default_address_id =
                (SELECT id FROM addresses WHERE customer_id = ?1 ORDER BY id LIMIT 1)
             WHERE id = ?1 AND default_address_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM addresses
                               WHERE id = customers.default_address_id AND customer_id = ?1)",
            [&owner],
        )?;
    }
    if !fresh {
        let keep: Vec<String> = c.addresses.iter().map(|a| a.id.to_string()).collect();
        let keep_json = serde_json::to_string(&keep).unwrap_or_else(|_| "[]".into());
        tx.prepare_cached(
            "DELETE FROM addresses WHERE customer_id = ?1 AND id NOT IN (SELECT value FROM json_each(?2))")?.execute(
            params![id, keep_json],
        )?;
    }
    if let Some(default) = c.default_address_id {
        tx.prepare_cached("UPDATE customers SET default_address_id = ?2 WHERE id = ?1")?
            .execute(params![id, default.to_string()])?;
    }
    if let Some(state) = c.upgrade_state.filter(|_| !fresh) {
        tx.execute(
            "UPDATE upgrade_requests SET state = ?2, resend_after = ?3, code_expires_at = ?4,
                    error_code = ?5, updated_at = ?6,
                    attempts_left = CASE WHEN ?2 = 'sent' AND state = 'sent' THEN attempts_left END
             WHERE customer_id = ?1",
            params![
                id,
                state.as_str(),
                c.resend_after,
                c.code_expires_at,
                c.upgrade_error,
                now_text()
            ],
        )?;
    }
    // As `indexed_names` reads them: the names that are there, one space apart.
    let all: Vec<&str> = [&c.first_name, &c.last_name, &c.name2]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let all = all.join(" ");
    if fresh {
        names.added.push((seq, all));
    } else if indexed.as_deref() != Some(all.as_str()) {
        names.changed.push(c.id);
    }
    Ok(())
}
