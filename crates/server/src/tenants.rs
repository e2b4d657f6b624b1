//! Tenants: created by operators on the CLI, resolved by slug at sign-in.

use crate::db;
use crate::error::{Conflict, Error, Rule};
use crate::ids::TenantId;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use dukkan_core::orders::LoyaltyRule;
use serde::Serialize;

/// A tenant as the CLI prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

fn valid_slug(slug: &str) -> bool {
    let b = slug.as_bytes();
    (2..=63).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Creates a tenant and its counters row. Run with the owner's pool (the app role cannot).
pub async fn create(pool: &Pool, slug: &str, name: &str) -> Result<Tenant, Error> {
    if !valid_slug(slug) {
        return Err(Error::Rule(Rule::InvalidSlug));
    }
    let name = dukkan_core::FreeText::parse_line(dukkan_core::Field::Label, Some(name), 200)?
        .ok_or(dukkan_core::ValidationError::Required(
            dukkan_core::Field::Label,
        ))?;
    let id = TenantId::new();
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, id).await?;
    let row = tx
        .query_one(
            "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3) RETURNING created_at",
            &[&id.0, &slug, &name.as_str()],
        )
        .await
        .map_err(|e| match e.as_db_error().and_then(|d| d.constraint()) {
            Some("tenants_slug_key") => Error::Conflict(Conflict::TenantExists),
            _ => Error::Database(e),
        })?;
    tx.execute(
        "INSERT INTO tenant_counters (tenant_id) VALUES ($1)",
        &[&id.0],
    )
    .await?;
    tx.commit().await?;
    Ok(Tenant {
        id,
        slug: slug.to_owned(),
        name: name.as_str().to_owned(),
        created_at: row.get(0),
    })
}

/// Where and how much a shop may text verification codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsPolicy {
    pub slug: String,
    /// ISO 3166-1 alpha-2 codes of the countries whose numbers get codes.
    pub sms_countries: Vec<String>,
    /// Most codes in 24 hours.
    pub sms_daily_cap: i32,
}

/// Sets the countries a shop texts and its daily cap (the ones given; the other keeps its
/// value). Run with the owner's pool.
pub async fn set_sms_policy(
    pool: &Pool,
    slug: &str,
    countries: Option<&[String]>,
    daily_cap: Option<i32>,
) -> Result<SmsPolicy, Error> {
    let countries: Option<Vec<String>> = countries
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let c = c.trim().to_ascii_uppercase();
                    (c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
                        .then_some(c)
                        .ok_or(Error::InvalidBody)
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    if daily_cap.is_some_and(|c| !(0..=1_000_000).contains(&c)) {
        return Err(Error::InvalidBody);
    }
    let mut client = pool.get().await?;
    let tenant = find_by_slug(&client, slug).await?.ok_or(Error::NotFound)?;
    let tx = db::tenant_tx(&mut client, tenant).await?;
    let row = tx
        .query_one(
            "UPDATE tenants SET sms_countries = coalesce($2, sms_countries),
                    sms_daily_cap = coalesce($3, sms_daily_cap)
             WHERE id = $1 RETURNING sms_countries, sms_daily_cap",
            &[&tenant.0, &countries, &daily_cap],
        )
        .await?;
    tx.commit().await?;
    Ok(SmsPolicy {
        slug: slug.to_owned(),
        sms_countries: row.get(0),
        sms_daily_cap: row.get(1),
    })
}

/// Sets a shop's time zone by its IANA name (`Asia/Dubai`); an unknown zone is refused. Run
/// with the owner's pool. Returns the zone's name.
pub async fn set_time_zone(pool: &Pool, slug: &str, zone: &str) -> Result<String, Error> {
    let zone = dukkan_core::time::time_zone(zone).ok_or(Error::InvalidBody)?;
    let mut client = pool.get().await?;
    let tenant = find_by_slug(&client, slug).await?.ok_or(Error::NotFound)?;
    let tx = db::tenant_tx(&mut client, tenant).await?;
    tx.execute(
        "UPDATE tenants SET time_zone = $2 WHERE id = $1",
        &[&tenant.0, &zone.name()],
    )
    .await?;
    tx.commit().await?;
    Ok(zone.name().to_owned())
}

/// Sets a shop's loyalty rule: whole points per rial spent, 0 (no points) to 1,000, checked by
/// [`LoyaltyRule::new`]. Orders recorded from then on earn by it (earlier ones keep their
/// points); the tills hear of it with the roster. Run with the owner's pool.
pub async fn set_points_per_rial(
    pool: &Pool,
    slug: &str,
    points_per_rial: u32,
) -> Result<LoyaltyRule, Error> {
    let rule = LoyaltyRule::new(points_per_rial)?;
    let stored = i32::try_from(rule.points_per_rial)
        .map_err(|_| dukkan_core::ValidationError::OutOfRange(dukkan_core::Field::Points))?;
    let mut client = pool.get().await?;
    let tenant = find_by_slug(&client, slug).await?.ok_or(Error::NotFound)?;
    let tx = db::tenant_tx(&mut client, tenant).await?;
    tx.execute(
        "UPDATE tenants SET points_per_rial = $2 WHERE id = $1",
        &[&tenant.0, &stored],
    )
    .await?;
    tx.commit().await?;
    Ok(rule)
}

/// Longest guest retention a shop may set, in days (10 years).
pub const MAX_GUEST_RETENTION_DAYS: u32 = 3650;

/// Sets after how many days a guest that never had an order is retired (1 to
/// [`MAX_GUEST_RETENTION_DAYS`]). Run with the owner's pool.
pub async fn set_guest_retention_days(pool: &Pool, slug: &str, days: u32) -> Result<u32, Error> {
    if !(1..=MAX_GUEST_RETENTION_DAYS).contains(&days) {
        return Err(Error::InvalidQuery);
    }
    let stored = i32::try_from(days).unwrap_or(i32::MAX);
    let mut client = pool.get().await?;
    let tenant = find_by_slug(&client, slug).await?.ok_or(Error::NotFound)?;
    let tx = db::tenant_tx(&mut client, tenant).await?;
    tx.execute(
        "UPDATE tenants SET guest_retention_days = $2 WHERE id = $1",
        &[&tenant.0, &stored],
    )
    .await?;
    tx.commit().await?;
    Ok(days)
}

/// A shop's time zone (the default for a stored name that is no zone).
pub async fn time_zone(
    client: &impl deadpool_postgres::GenericClient,
    tenant: TenantId,
) -> Result<chrono_tz::Tz, Error> {
    let name: Option<String> = client
        .query_opt("SELECT time_zone FROM tenants WHERE id = $1", &[&tenant.0])
        .await?
        .map(|r| r.get(0));
    Ok(name
        .as_deref()
        .and_then(dukkan_core::time::time_zone)
        .unwrap_or(dukkan_core::time::DEFAULT_TIME_ZONE))
}

/// The tenant with this slug.
pub async fn find_by_slug(
    client: &deadpool_postgres::Object,
    slug: &str,
) -> Result<Option<TenantId>, Error> {
    if !valid_slug(slug) {
        return Ok(None);
    }
    let row = client
        .query_opt("SELECT id FROM tenants WHERE slug = $1", &[&slug])
        .await?;
    Ok(row.map(|r| TenantId(r.get(0))))
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_short_lower_case_words() {
        for ok in ["ab", "shop-1", "muscat-laundry"] {
            assert!(super::valid_slug(ok), "{ok}");
        }
        for bad in ["", "a", "-ab", "Shop", "sh op", "ش", &"a".repeat(64)] {
            assert!(!super::valid_slug(bad), "{bad}");
        }
    }
}
