//! The sign-in lockout after repeated wrong PINs, counted in Postgres (`sign_in_strikes`) so it
//! holds on every server instance behind the load balancer: a guesser who is spread over N
//! instances gets no more tries than one who is not.
//!
//! Two keys per attempt: the staff member (the parsed UUID, however it was written) and the
//! client address, both stored as SHA-256 hashes. Each attempt is counted *before* its PIN is
//! checked, in the same transaction as the lockout check (rows locked in key order), so guesses
//! sent at once get no more tries than guesses sent one by one; a right PIN takes its strike
//! back. The work per attempt is constant: a few statements on two rows, and at most
//! [`PURGE_BATCH`] expired rows deleted, so a flood from many addresses cannot grow memory or
//! the table without bound.

use crate::error::Error;
use crate::limits::LimitConfig;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// Expired rows deleted by one attempt, at most.
pub const PURGE_BATCH: i64 = 100;

/// One staff member's key however their id is written: a UUID in any spelling the sign-in
/// accepts (hyphenated, braced, 32 hex digits, `urn:uuid:`, any case) is the same member, so
/// another spelling buys no more guesses and cannot sign in during a lockout. Staff ids are
/// unique across tenants; a text that is no UUID (it cannot sign in) is keyed with its tenant.
fn staff_key(tenant_slug: &str, staff_id: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"staff\0");
    match uuid::Uuid::try_parse(staff_id.trim()) {
        Ok(id) => h.update(id.as_bytes()),
        Err(_) => {
            h.update(tenant_slug.trim().to_lowercase().as_bytes());
            h.update([0]);
            h.update(staff_id.trim().to_lowercase().as_bytes());
        }
    }
    h.finalize().into()
}

fn ip_key(ip: IpAddr) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"ip\0");
    h.update(ip.to_canonical().to_string().as_bytes());
    h.finalize().into()
}

/// The attempt's keys with their limits (a limit of 0 is off: that key is not counted).
fn keys(
    config: &LimitConfig,
    ip: IpAddr,
    tenant_slug: &str,
    staff_id: &str,
) -> Vec<(Vec<u8>, i32)> {
    let mut keys: Vec<(Vec<u8>, i32)> = [
        (
            staff_key(tenant_slug, staff_id),
            config.sign_in_staff_failures,
        ),
        (ip_key(ip), config.sign_in_ip_failures),
    ]
    .into_iter()
    .filter(|(_, max)| *max > 0)
    .map(|(k, max)| (k.to_vec(), i32::try_from(max).unwrap_or(i32::MAX)))
    .collect();
    keys.sort();
    keys
}

fn window_secs(config: &LimitConfig) -> f64 {
    config.sign_in_window.as_secs_f64()
}

/// Starts a sign-in: refused while the staff member or the client address is locked out, else
/// counted as a wrong sign-in at once. A right PIN takes the count back ([`succeeded`]), and
/// so does an attempt the server could not judge ([`not_judged`]).
pub async fn begin(
    pool: &Pool,
    config: &LimitConfig,
    ip: IpAddr,
    tenant_slug: &str,
    staff_id: &str,
) -> Result<(), Error> {
    let keys = keys(config, ip, tenant_slug, staff_id);
    if keys.is_empty() {
        return Ok(());
    }
    let window = window_secs(config);
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "DELETE FROM sign_in_strikes WHERE key IN (
             SELECT key FROM sign_in_strikes
             WHERE since < now() - $1 * interval '1 second'
               AND (locked_until IS NULL OR locked_until < now())
             LIMIT $2)",
        &[&window, &PURGE_BATCH],
    )
    .await?;
    let ids: Vec<&Vec<u8>> = keys.iter().map(|(k, _)| k).collect();
    tx.execute(
        "INSERT INTO sign_in_strikes (key, count, since)
         SELECT k, 0, now() FROM unnest($1::bytea[]) AS k ORDER BY k
         ON CONFLICT (key) DO NOTHING",
        &[&ids],
    )
    .await?;
    let rows = tx
        .query(
            "SELECT key, count, since, locked_until, now() FROM sign_in_strikes
             WHERE key = ANY($1) ORDER BY key FOR UPDATE",
            &[&ids],
        )
        .await?;
    let now: DateTime<Utc> = rows
        .first()
        .map(|r| r.get(4))
        .ok_or_else(|| Error::Internal("sign-in strikes vanished".into()))?;
    let wait = rows
        .iter()
        .filter_map(|r| r.get::<_, Option<DateTime<Utc>>>(3))
        .filter(|until| *until > now)
        .map(|until| until - now)
        .max();
    if let Some(wait) = wait {
        tx.commit().await?;
        let ms = u64::try_from(wait.num_milliseconds()).unwrap_or(0);
        return Err(Error::SignInLocked {
            seconds: ms.div_ceil(1000).max(1),
        });
    }
    let window_ms = i64::try_from(config.sign_in_window.as_millis()).unwrap_or(i64::MAX);
    for row in &rows {
        let key: Vec<u8> = row.get(0);
        let max = keys
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(i32::MAX, |(_, m)| *m);
        let (mut count, mut since): (i32, DateTime<Utc>) = (row.get(1), row.get(2));
        if (now - since).num_milliseconds() >= window_ms {
            count = 0;
            since = now;
        }
        count = count.saturating_add(1);
        let locked_until = (count >= max).then(|| now + chrono::Duration::milliseconds(window_ms));
        tx.execute(
            "UPDATE sign_in_strikes SET count = $2, since = $3, locked_until = $4 WHERE key = $1",
            &[&key, &count, &since, &locked_until],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Takes one strike back from `key`, lifting its lockout when it falls below `max`.
async fn take_back(pool: &Pool, key: &[u8], max: i32) -> Result<(), Error> {
    pool.get()
        .await?
        .execute(
            "UPDATE sign_in_strikes SET count = greatest(count - 1, 0),
                    locked_until = CASE WHEN count - 1 < $2 THEN NULL ELSE locked_until END
             WHERE key = $1",
            &[&key, &max],
        )
        .await?;
    Ok(())
}

/// A right PIN clears the staff member's count and takes back the attempt's strike on the
/// client address (its earlier wrong ones stay: one good PIN must not buy an attacker more
/// guesses at other staff).
pub async fn succeeded(
    pool: &Pool,
    config: &LimitConfig,
    ip: IpAddr,
    tenant_slug: &str,
    staff_id: &str,
) -> Result<(), Error> {
    pool.get()
        .await?
        .execute(
            "DELETE FROM sign_in_strikes WHERE key = $1",
            &[&staff_key(tenant_slug, staff_id).to_vec()],
        )
        .await?;
    if config.sign_in_ip_failures > 0 {
        let max = i32::try_from(config.sign_in_ip_failures).unwrap_or(i32::MAX);
        take_back(pool, &ip_key(ip), max).await?;
    }
    Ok(())
}

/// Takes back both strikes of an attempt that failed for another reason than the PIN (the
/// database was down): staff are not locked out by the server's own trouble.
pub async fn not_judged(
    pool: &Pool,
    config: &LimitConfig,
    ip: IpAddr,
    tenant_slug: &str,
    staff_id: &str,
) -> Result<(), Error> {
    for (key, max) in keys(config, ip, tenant_slug, staff_id) {
        take_back(pool, &key, max).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staff_id_has_one_key_in_every_spelling_and_addresses_are_hashed() {
        let id = "01a2453a-e283-747d-8323-a0a9b026fa21";
        let key = staff_key("shop", id);
        for spelling in [
            id.to_uppercase(),
            format!("{{{id}}}"),
            id.replace('-', ""),
            format!("urn:uuid:{id}"),
            format!("  {id} "),
        ] {
            assert_eq!(staff_key("SHOP ", &spelling), key, "{spelling}");
        }
        assert_ne!(staff_key("shop", "not-a-uuid"), key);
        assert_ne!(
            ip_key("203.0.113.7".parse().unwrap()),
            ip_key("203.0.113.8".parse().unwrap())
        );
        // An IPv4-mapped IPv6 address is the same client.
        assert_eq!(
            ip_key("::ffff:203.0.113.7".parse().unwrap()),
            ip_key("203.0.113.7".parse().unwrap())
        );
    }
}
