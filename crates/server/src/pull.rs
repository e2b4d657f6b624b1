//! `GET /api/v1/sync/pull`: the tenant's change feed after a cursor, as whole-customer
//! snapshots. Feed sequence numbers are taken under the tenant's counters row lock, held until
//! commit, so entries become visible in sequence order and a cursor never skips one.

use crate::db;
use crate::devices::DeviceActor;
use crate::error::Error;
use crate::snapshots::snapshots;
use crate::wakeups::ChangeSignals;
use deadpool_postgres::Pool;
use dukkan_core::sync::{Change, PullResponse, MAX_PULL_PAGE, MAX_PULL_WAIT_SECS};
use std::time::Duration;
use uuid::Uuid;

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
    let _waiting = (!wait.is_zero()).then(|| signal.waiting());
    loop {
        // Registered before looking, so a change committed in between still wakes us.
        let notified = signal.notify.notified();
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
    // Its one write is the device's cursor, for /metrics.
    let tx = db::bookkeeping_tx(&mut client, device.tenant).await?;
    let tenant = device.tenant.0;
    // Prepared once per connection: every pull and every look of a waiting one runs it.
    let feed = tx
        .prepare_cached(
            "SELECT seq, entity, entity_id FROM change_feed WHERE tenant_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3",
        )
        .await?;
    let rows = tx
        .query(&feed, &[&tenant, &since, &(limit as i64 + 1)])
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
            let owner = tx
                .prepare_cached(
                    "SELECT customer_id FROM addresses WHERE tenant_id = $1 AND id = $2",
                )
                .await?;
            tx.query_opt(&owner, &[&tenant, &entity_id])
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
    // How far this till has pulled (for the shop's sync lag on /metrics); written only when it
    // moves on, so a waiting pull's repeated looks write nothing.
    let moved = tx
        .prepare_cached(
            "UPDATE device_sync_state SET pull_cursor = $3
             WHERE tenant_id = $1 AND device_id = $2 AND pull_cursor < $3",
        )
        .await?;
    tx.execute(&moved, &[&tenant, &device.device, &since.max(0)])
        .await?;
    tx.commit().await?;
    Ok(PullResponse {
        changes,
        cursor,
        more,
    })
}
