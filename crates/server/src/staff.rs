//! Staff members, their secrets and sign-in sessions (random bearer tokens, stored hashed, 12
//! hours). A PIN (argon2id, sent to the tills in the roster) unlocks a till; a password
//! (argon2id, never leaves the server) signs in to the server.

use crate::argon;
use crate::db;
use crate::error::{Error, Rule};
use crate::ids::{StaffId, TenantId};
use crate::tenants;
use crate::tokens;
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::Pool;
use serde::Serialize;

/// How long a sign-in lasts: one long shift.
pub const SESSION_HOURS: i64 = 12;
const TOKEN_KIND: &str = "dks";

pub use dukkan_core::staff::Role;

/// A staff member, without their secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Staff {
    pub id: StaffId,
    pub tenant_id: TenantId,
    pub name: String,
    pub role: Role,
}

/// The signed-in staff member a request acts for.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub tenant: TenantId,
    pub staff: StaffId,
    pub role: Role,
}

impl Actor {
    /// Refuses the action unless the actor's role is at least `min`.
    pub fn require(&self, min: Role) -> Result<(), Error> {
        if self.role >= min {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// A new sign-in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub staff: Staff,
}

fn check_pin(role: Role, pin: &str) -> Result<(), Error> {
    if !dukkan_core::staff::pin_allowed(role, pin) {
        return Err(Error::Rule(Rule::InvalidPin {
            min: dukkan_core::staff::pin_min_chars(role),
            max: dukkan_core::staff::PIN_MAX_CHARS,
        }));
    }
    Ok(())
}

fn check_password(password: &str) -> Result<(), Error> {
    if !dukkan_core::staff::password_allowed(password) {
        return Err(Error::Rule(Rule::InvalidPassword {
            min: dukkan_core::staff::PASSWORD_MIN_CHARS,
            max: dukkan_core::staff::PASSWORD_MAX_CHARS,
        }));
    }
    Ok(())
}

/// Adds a staff member to the tenant with slug `tenant_slug`.
pub async fn add(
    pool: &Pool,
    tenant_slug: &str,
    name: &str,
    role: Role,
    pin: &str,
) -> Result<Staff, Error> {
    let pin = &dukkan_core::staff::normalize_pin(pin);
    check_pin(role, pin)?;
    let name = dukkan_core::PersonName::parse(dukkan_core::Field::FirstName, name)?;
    let secret_hash = argon::hash(pin.to_owned(), argon::pin_hasher()).await?;
    let mut client = pool.get().await?;
    let tenant = tenants::find_by_slug(&client, tenant_slug)
        .await?
        .ok_or(Error::NotFound)?;
    let id = StaffId::new();
    let tx = db::tenant_tx(&mut client, tenant).await?;
    tx.execute(
        "INSERT INTO staff (tenant_id, id, name, role, secret_hash) VALUES ($1, $2, $3, $4, $5)",
        &[
            &tenant.0,
            &id.0,
            &name.as_str(),
            &role.as_str(),
            &secret_hash,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(Staff {
        id,
        tenant_id: tenant,
        name: name.as_str().to_owned(),
        role,
    })
}

/// Signs a staff member in to the server with their password (never their PIN, whose hash is
/// on every till). Every failure looks the same to the caller.
pub async fn sign_in(
    pool: &Pool,
    tenant_slug: &str,
    staff_id: &str,
    password: &str,
) -> Result<Session, Error> {
    let mut client = pool.get().await?;
    let staff_id = uuid::Uuid::try_parse(staff_id).ok().map(StaffId);
    let tenant = tenants::find_by_slug(&client, tenant_slug).await?;
    let found = match (tenant, staff_id) {
        (Some(tenant), Some(staff_id)) => {
            let tx = db::tenant_tx(&mut client, tenant).await?;
            let row = tx
                .query_opt(
                    "SELECT name, role, password_hash FROM staff
                     WHERE tenant_id = $1 AND id = $2 AND active",
                    &[&tenant.0, &staff_id.0],
                )
                .await?;
            tx.commit().await?;
            row.map(|r| (tenant, staff_id, r))
        }
        _ => None,
    };
    // Checked in full only within bounds: a 10,000-character "password" is not hashed.
    let shape_ok = check_password(password).is_ok();
    let stored = found
        .as_ref()
        .and_then(|(_, _, r)| r.get::<_, Option<String>>(2));
    let has_password = stored.is_some();
    let phc = stored.unwrap_or_else(|| argon::decoy_hash().to_owned());
    let candidate = if shape_ok { password } else { "" };
    let verified = argon::verify(candidate.to_owned(), phc).await? && shape_ok && has_password;
    let Some((tenant, staff_id, row)) = found.filter(|_| verified) else {
        tracing::info!(tenant = tenant_slug, "sign-in refused");
        return Err(Error::InvalidCredentials);
    };
    let role = Role::parse(row.get(1)).ok_or_else(|| Error::Internal("unknown role".into()))?;
    let token = tokens::new_bearer(TOKEN_KIND, tenant);
    let expires_at = Utc::now() + Duration::hours(SESSION_HOURS);
    let tx = db::tenant_tx(&mut client, tenant).await?;
    // The shop's expired sessions go as new ones come: the table holds live ones only.
    tx.execute(
        "DELETE FROM staff_sessions WHERE tenant_id = $1 AND expires_at <= now()",
        &[&tenant.0],
    )
    .await?;
    tx.execute(
        "INSERT INTO staff_sessions (tenant_id, token_hash, staff_id, expires_at)
         VALUES ($1, $2, $3, $4)",
        &[&tenant.0, &tokens::hash(&token), &staff_id.0, &expires_at],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%tenant, staff = %staff_id, "staff signed in");
    Ok(Session {
        token,
        expires_at,
        staff: Staff {
            id: staff_id,
            tenant_id: tenant,
            name: row.get(0),
            role,
        },
    })
}

/// The actor behind a bearer token, if the session is live and the staff member active.
pub async fn authenticate(pool: &Pool, token: &str) -> Result<Actor, Error> {
    let tenant = tokens::bearer_tenant(TOKEN_KIND, token).ok_or(Error::Unauthenticated)?;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, tenant).await?;
    let row = tx
        .query_opt(
            "SELECT s.id, s.role FROM staff_sessions t
             JOIN staff s ON s.tenant_id = t.tenant_id AND s.id = t.staff_id
             WHERE t.tenant_id = $1 AND t.token_hash = $2 AND t.expires_at > now() AND s.active",
            &[&tenant.0, &tokens::hash(token)],
        )
        .await?;
    tx.commit().await?;
    let row = row.ok_or(Error::Unauthenticated)?;
    Ok(Actor {
        tenant,
        staff: StaffId(row.get(0)),
        role: Role::parse(row.get(1)).ok_or(Error::Unauthenticated)?,
    })
}

/// Sets the server password of a staff member of `tenant_slug` (an operator's act), ending their
/// sessions.
pub async fn set_password(
    pool: &Pool,
    tenant_slug: &str,
    staff_id: &str,
    password: &str,
) -> Result<Staff, Error> {
    check_password(password)?;
    let hash = argon::hash(password.to_owned(), Argon2::default()).await?;
    let member = change_member(pool, tenant_slug, staff_id, Some(hash), true).await?;
    tracing::info!(tenant = %member.tenant_id, staff = %member.id, "password set");
    Ok(member)
}

/// An operator's change to a member of `tenant_slug`: a new password hash and/or deactivation.
/// Their server sessions end with it.
async fn change_member(
    pool: &Pool,
    tenant_slug: &str,
    staff_id: &str,
    password_hash: Option<String>,
    stays_active: bool,
) -> Result<Staff, Error> {
    let staff_id = uuid::Uuid::try_parse(staff_id)
        .map(StaffId)
        .map_err(|_| Error::NotFound)?;
    let mut client = pool.get().await?;
    let tenant = tenants::find_by_slug(&client, tenant_slug)
        .await?
        .ok_or(Error::NotFound)?;
    let tx = db::tenant_tx(&mut client, tenant).await?;
    let row = tx
        .query_opt(
            "UPDATE staff SET password_hash = coalesce($3, password_hash), active = active AND $4
             WHERE tenant_id = $1 AND id = $2
             RETURNING name, role",
            &[&tenant.0, &staff_id.0, &password_hash, &stays_active],
        )
        .await?
        .ok_or(Error::NotFound)?;
    tx.execute(
        "DELETE FROM staff_sessions WHERE tenant_id = $1 AND staff_id = $2",
        &[&tenant.0, &staff_id.0],
    )
    .await?;
    tx.commit().await?;
    Ok(Staff {
        id: staff_id,
        tenant_id: tenant,
        name: row.get(0),
        role: Role::parse(row.get(1)).ok_or_else(|| Error::Internal("unknown role".into()))?,
    })
}

/// The signed-in staff member changes their own password (the current one first); their
/// other sessions end, this one goes on.
pub async fn change_password(
    pool: &Pool,
    actor: &Actor,
    token: &str,
    current: &str,
    new: &str,
) -> Result<(), Error> {
    check_password(new)?;
    let mut client = pool.get().await?;
    let stored: Option<String> = {
        let tx = db::tenant_tx(&mut client, actor.tenant).await?;
        let row = tx
            .query_one(
                "SELECT password_hash FROM staff WHERE tenant_id = $1 AND id = $2",
                &[&actor.tenant.0, &actor.staff.0],
            )
            .await?;
        tx.commit().await?;
        row.get(0)
    };
    let shape_ok = check_password(current).is_ok();
    let phc = stored.unwrap_or_else(|| argon::decoy_hash().to_owned());
    let candidate = if shape_ok { current } else { "" };
    if !(argon::verify(candidate.to_owned(), phc).await? && shape_ok) {
        return Err(Error::InvalidCredentials);
    }
    let hash = argon::hash(new.to_owned(), Argon2::default()).await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    tx.execute(
        "UPDATE staff SET password_hash = $3 WHERE tenant_id = $1 AND id = $2",
        &[&actor.tenant.0, &actor.staff.0, &hash],
    )
    .await?;
    tx.execute(
        "DELETE FROM staff_sessions WHERE tenant_id = $1 AND staff_id = $2 AND token_hash <> $3",
        &[&actor.tenant.0, &actor.staff.0, &tokens::hash(token)],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant = %actor.tenant, staff = %actor.staff, "password changed");
    Ok(())
}

/// Ends the session of `token` on the server: the token stops working at once, on every
/// instance. Unknown or ended tokens are refused as unauthenticated (by the caller's
/// authentication, which runs first).
pub async fn sign_out(pool: &Pool, actor: &Actor, token: &str) -> Result<(), Error> {
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    tx.execute(
        "DELETE FROM staff_sessions WHERE tenant_id = $1 AND token_hash = $2",
        &[&actor.tenant.0, &tokens::hash(token)],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant = %actor.tenant, staff = %actor.staff, "staff signed out");
    Ok(())
}

/// Deactivates a staff member of the tenant with slug `tenant_slug`: their sessions stop
/// working at once, and devices drop them from their roster at the next sync.
pub async fn deactivate(pool: &Pool, tenant_slug: &str, staff_id: &str) -> Result<Staff, Error> {
    let member = change_member(pool, tenant_slug, staff_id, None, false).await?;
    tracing::info!(tenant = %member.tenant_id, staff = %member.id, "staff member deactivated");
    Ok(member)
}

/// The tenant's active staff with their PIN hashes, for its enrolled devices (offline sign-in),
/// and the shop's settings a till works by offline (time zone, loyalty rule).
pub async fn roster(pool: &Pool, tenant: TenantId) -> Result<dukkan_core::staff::Roster, Error> {
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, tenant).await?;
    let rows = tx
        .query(
            "SELECT id, name, role, secret_hash FROM staff
             WHERE tenant_id = $1 AND active ORDER BY name, id",
            &[&tenant.0],
        )
        .await?;
    let zone = crate::tenants::time_zone(&tx, tenant).await?;
    let loyalty = crate::orders::loyalty_rule(&tx, tenant).await?;
    tx.commit().await?;
    let staff = rows
        .iter()
        .filter_map(|r| {
            Some(dukkan_core::staff::RosterMember {
                id: r.get(0),
                name: r.get(1),
                role: Role::parse(r.get(2))?,
                pin_hash: r.get(3),
            })
        })
        .collect();
    Ok(dukkan_core::staff::Roster {
        staff,
        time_zone: Some(zone.name().to_owned()),
        loyalty: Some(loyalty),
        update_feed: None,
    })
}
