//! Housekeeping that runs itself: every instance wakes on a schedule, and the one that takes
//! the housekeeping lock (a transaction-scoped Postgres advisory lock, so a crash or a dropped
//! connection releases it) sweeps every shop; the others skip that turn.
//!
//! A sweep, shop by shop in one transaction: OTP codes that expired more than an hour ago (the
//! hourly caps look back one hour, so older codes serve no purpose), staff sessions past their
//! expiry, walk-in guests that never had an order once the shop's retention has passed (retired:
//! inactive and out of every list, recorded in the audit log and the change feed, so every till
//! drops them too; at most [`GUESTS_PER_SWEEP`] per shop and turn), and each shop's sync lag (how many changes its furthest-behind till has not pulled)
//! for `/metrics`. The operator command `otp purge-expired` runs the same sweep by hand.

use crate::db;
use crate::error::Error;
use deadpool_postgres::Pool;
use std::time::Duration;
use uuid::Uuid;

/// The advisory lock of a sweep ("dukkan housekeeping"); one holder at a time per database.
pub const HOUSEKEEPING_LOCK: i64 = 0x6475_6b6b_686b_7031;

/// How often each instance tries to sweep, unless `HOUSEKEEPING_INTERVAL_SECS` says otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Most guests one sweep retires in one shop (the rest wait for the next turn), so a sweep's
/// transaction stays short whatever a shop has piled up.
pub const GUESTS_PER_SWEEP: i64 = 1_000;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Expired OTP codes removed.
    pub otp_codes: u64,
    /// Expired staff sessions removed.
    pub staff_sessions: u64,
    /// Guests without an order retired after their shop's retention.
    pub retired_guests: u64,
    /// Per shop with enrolled tills: the changes its furthest-behind till has not pulled yet.
    pub behind: Vec<(Uuid, i64)>,
}

/// Sweeps every shop if no other instance is sweeping now (`None`: another one holds the lock).
pub async fn sweep(pool: &Pool) -> Result<Option<Sweep>, Error> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let locked: bool = tx
        .query_one(
            "SELECT pg_try_advisory_xact_lock($1)",
            &[&HOUSEKEEPING_LOCK],
        )
        .await?
        .get(0);
    if !locked {
        return Ok(None);
    }
    let tenants: Vec<Uuid> = tx
        .query("SELECT id FROM tenants ORDER BY id", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut sweep = Sweep::default();
    for tenant in tenants {
        // Row-level security is forced on every role: the transaction acts for one shop at a
        // time (the setting is local to the transaction, as in `db::tenant_tx`).
        db::set_tenant(&tx, crate::ids::TenantId(tenant)).await?;
        sweep.otp_codes += tx
            .execute(
                "DELETE FROM otp_codes
                 WHERE tenant_id = $1 AND expires_at < now() - interval '1 hour'",
                &[&tenant],
            )
            .await?;
        sweep.staff_sessions += tx
            .execute(
                "DELETE FROM staff_sessions WHERE tenant_id = $1 AND expires_at <= now()",
                &[&tenant],
            )
            .await?;
        sweep.retired_guests += retire_guests(&tx, tenant).await?;
        let behind: Option<i64> = tx
            .query_one(
                "SELECT greatest(
                        coalesce((SELECT max(seq) FROM change_feed WHERE tenant_id = $1), 0)
                          - min(s.pull_cursor), 0)
                 FROM device_sync_state s
                 JOIN devices d ON d.tenant_id = s.tenant_id AND d.id = s.device_id
                 WHERE s.tenant_id = $1 AND d.revoked_at IS NULL",
                &[&tenant],
            )
            .await?
            .get(0);
        if let Some(b) = behind {
            sweep.behind.push((tenant, b));
        }
    }
    tx.commit().await?;
    Ok(Some(sweep))
}

/// Retires the shop's guests that never had an order and are older than its retention: each
/// becomes inactive with `retired_at` set, and is recorded (audit row and change-feed entry,
/// by nobody from no till) so the tills drop it when they pull. Returns how many.
async fn retire_guests(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: Uuid,
) -> Result<u64, Error> {
    let retired: Vec<Uuid> = tx
        .query(
            "UPDATE customers c SET active = false, retired_at = now(), updated_at = now(),
                    updated_by = NULL, updated_device = NULL
             WHERE c.tenant_id = $1 AND c.id IN (
                 SELECT g.id FROM customers g JOIN tenants t ON t.id = g.tenant_id
                 WHERE g.tenant_id = $1 AND g.kind = 'guest' AND g.active AND g.retired_at IS NULL
                   AND g.merged_into IS NULL
                   AND g.created_at < now() - make_interval(days => t.guest_retention_days)
                   AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.tenant_id = g.tenant_id AND o.customer_id = g.id)
                   AND NOT EXISTS (SELECT 1 FROM customers m WHERE m.tenant_id = g.tenant_id AND m.merged_into = g.id)
                 ORDER BY g.created_at LIMIT $2
                 FOR UPDATE OF g SKIP LOCKED)
             RETURNING c.id",
            &[&tenant, &GUESTS_PER_SWEEP],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let acting = crate::apply::Acting {
        tenant,
        staff: None,
        role: None,
        device: None,
        at: None,
    };
    for id in &retired {
        crate::apply::record(tx, &acting, *id, "retire", &["active"]).await?;
    }
    Ok(retired.len() as u64)
}

/// Sweeps every `interval` (first after one interval) until the runtime stops, recording each
/// turn in `metrics`. A failed sweep is logged and tried again next turn.
pub fn spawn(
    pool: Pool,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(&pool).await {
                Ok(Some(s)) => {
                    tracing::info!(
                        otp_codes = s.otp_codes,
                        staff_sessions = s.staff_sessions,
                        retired_guests = s.retired_guests,
                        shops = s.behind.len(),
                        "housekeeping sweep"
                    );
                    metrics.swept(&s);
                }
                Ok(None) => metrics.sweep_skipped(),
                Err(e) => {
                    tracing::warn!(error = %e, "housekeeping sweep failed");
                    metrics.sweep_failed();
                }
            }
        }
    })
}
