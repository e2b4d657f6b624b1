//! Device enrollment: a manager (or an operator on the CLI) makes a one-time code; the device
//! exchanges it for its id and a bearer token. Codes and tokens are stored only hashed.

use crate::db;
use crate::error::{Error, Rule};
use crate::ids::{StaffId, TenantId};
use crate::staff::{Actor, Role};
use crate::tenants;
use crate::tokens;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::Pool;
use dukkan_core::DeviceId;
use serde::Serialize;
use uuid::Uuid;

/// How long an enrollment code stays valid.
pub const CODE_TTL_HOURS: i64 = 24;
const TOKEN_KIND: &str = "dkd";

/// A fresh one-time code, shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentCode {
    pub tenant_id: TenantId,
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/v1/devices/enroll` and its answer: wire types shared with the device.
pub use dukkan_core::sync::{EnrollRequest, Enrollment};

/// Makes a one-time enrollment code for the tenant with slug `tenant_slug` (operators).
pub async fn create_code(
    pool: &Pool,
    tenant_slug: &str,
    created_by: Option<StaffId>,
) -> Result<EnrollmentCode, Error> {
    let tenant = {
        let client = pool.get().await?;
        tenants::find_by_slug(&client, tenant_slug)
            .await?
            .ok_or(Error::NotFound)?
    };
    insert_code(pool, tenant, created_by).await
}

/// `POST /api/v1/devices/enroll-codes`: a manager or admin makes a code for their own shop.
pub async fn create_code_as(pool: &Pool, actor: &Actor) -> Result<EnrollmentCode, Error> {
    actor.require(Role::Manager)?;
    let code = insert_code(pool, actor.tenant, Some(actor.staff)).await?;
    tracing::info!(tenant = %actor.tenant, staff = %actor.staff, "enrollment code made");
    Ok(code)
}

async fn insert_code(
    pool: &Pool,
    tenant: TenantId,
    created_by: Option<StaffId>,
) -> Result<EnrollmentCode, Error> {
    let mut client = pool.get().await?;
    let code = tokens::new_enrollment_code();
    let canonical = tokens::normalize_enrollment_code(&code)
        .ok_or_else(|| Error::Internal("generated code does not parse".into()))?;
    let expires_at = Utc::now() + Duration::hours(CODE_TTL_HOURS);
    let tx = db::tenant_tx(&mut client, tenant).await?;
    tx.execute(
        "INSERT INTO enrollment_codes (tenant_id, code_hash, created_by, expires_at)
         VALUES ($1, $2, $3, $4)",
        &[
            &tenant.0,
            &tokens::hash(&canonical),
            &created_by.map(|s| s.0),
            &expires_at,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(EnrollmentCode {
        tenant_id: tenant,
        code,
        expires_at,
    })
}

/// Exchanges a one-time code for a device id and token. A code works once, before it expires.
pub async fn enroll(pool: &Pool, request: EnrollRequest) -> Result<Enrollment, Error> {
    let invalid = Error::Rule(Rule::EnrollmentCodeInvalid);
    let name = dukkan_core::FreeText::parse_line(
        dukkan_core::Field::Label,
        request.device_name.as_deref(),
        100,
    )?;
    // A till reports the last number the server answered for it: 0 for a new one, never
    // negative, and never near the end of i64 (every later push adds to it).
    if !(0..=dukkan_core::sync::MAX_DEVICE_SEQ).contains(&request.last_acked_seq) {
        return Err(Error::InvalidBody);
    }
    let Some(code) = tokens::normalize_enrollment_code(&request.code) else {
        return Err(invalid);
    };
    let mut client = pool.get().await?;
    let Some(tenant) = tenants::find_by_slug(&client, &request.tenant).await? else {
        return Err(invalid);
    };
    let tx = db::tenant_tx(&mut client, tenant).await?;
    let device = DeviceId::new();
    tx.execute(
        "INSERT INTO devices (tenant_id, id, name) VALUES ($1, $2, $3)",
        &[
            &tenant.0,
            &device.as_uuid(),
            &name.as_ref().map(|n| n.as_str()),
        ],
    )
    .await?;
    // Claim the code atomically: only one concurrent exchange can update it.
    let claimed = tx
        .execute(
            "UPDATE enrollment_codes SET used_at = now(), device_id = $3
             WHERE tenant_id = $1 AND code_hash = $2 AND used_at IS NULL AND expires_at > now()",
            &[&tenant.0, &tokens::hash(&code), &device.as_uuid()],
        )
        .await?;
    if claimed != 1 {
        return Err(invalid);
    }
    let token = tokens::new_bearer(TOKEN_KIND, tenant);
    tx.execute(
        "INSERT INTO device_tokens (tenant_id, token_hash, device_id) VALUES ($1, $2, $3)",
        &[&tenant.0, &tokens::hash(&token), &device.as_uuid()],
    )
    .await?;
    tx.execute(
        // A re-enrolled installation keeps its outbox: its exactly-once counter continues after
        // the last op the server answered for it.
        "INSERT INTO device_sync_state (tenant_id, device_id, last_applied_seq) VALUES ($1, $2, $3)",
        &[&tenant.0, &device.as_uuid(), &request.last_acked_seq],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%tenant, %device, "device enrolled");
    Ok(Enrollment {
        tenant_id: tenant.0,
        device_id: device,
        device_token: token,
    })
}

/// An enrolled device, as managers see it (never its token).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub id: Uuid,
    pub name: Option<String>,
    pub enrolled_at: DateTime<Utc>,
    /// When the device was revoked; its tokens stopped working then.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/devices`: the shop's devices, newest first (managers and admins).
pub async fn list(pool: &Pool, actor: &Actor) -> Result<Vec<DeviceView>, Error> {
    actor.require(Role::Manager)?;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let rows = tx
        .query(
            "SELECT id, name, enrolled_at, revoked_at FROM devices
             WHERE tenant_id = $1 ORDER BY enrolled_at DESC, id DESC",
            &[&actor.tenant.0],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| DeviceView {
            id: r.get(0),
            name: r.get(1),
            enrolled_at: r.get(2),
            revoked_at: r.get(3),
        })
        .collect())
}

/// `DELETE /api/v1/devices/{id}`: revokes the device and every token it holds (managers and
/// admins). Revoking a revoked device again changes nothing.
pub async fn revoke(pool: &Pool, actor: &Actor, id: Uuid) -> Result<(), Error> {
    actor.require(Role::Manager)?;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let found = tx
        .execute(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, now())
             WHERE tenant_id = $1 AND id = $2",
            &[&actor.tenant.0, &id],
        )
        .await?;
    if found != 1 {
        return Err(Error::NotFound);
    }
    tx.execute(
        "UPDATE device_tokens SET revoked_at = now()
         WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL",
        &[&actor.tenant.0, &id],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant = %actor.tenant, device = %id, staff = %actor.staff, "device revoked");
    Ok(())
}

/// Prefix of device bearer tokens (see [`tokens::new_bearer`]).
pub const DEVICE_TOKEN_KIND: &str = "dkd";

/// An enrolled device, known only from its token.
#[derive(Debug, Clone, Copy)]
pub struct DeviceActor {
    pub tenant: TenantId,
    pub device: Uuid,
}

/// The device behind a bearer token, if the token and the device are live.
///
/// One statement, outside any transaction: every sync request and every long-poll asks, so
/// the check is the `live_device` function (V17), which sets the tenant for its own statement
/// and looks under row-level security, instead of a transaction of four round trips.
pub async fn authenticate_device(pool: &Pool, token: &str) -> Result<DeviceActor, Error> {
    let tenant = tokens::bearer_tenant(DEVICE_TOKEN_KIND, token).ok_or(Error::Unauthenticated)?;
    let client = pool.get().await?;
    // Prepared once per connection.
    let check = client.prepare_cached("SELECT live_device($1, $2)").await?;
    let row = client
        .query_one(&check, &[&tenant.0, &tokens::hash(token)])
        .await?;
    let device: Option<Uuid> = row.get(0);
    Ok(DeviceActor {
        tenant,
        device: device.ok_or(Error::Unauthenticated)?,
    })
}
