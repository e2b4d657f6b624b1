//! The sync routes (`/api/v1/sync/...`) and the device authentication they share. Push lives
//! in [`crate::push`], pull in [`crate::pull`], customer snapshots in [`crate::snapshots`].

use crate::db;
use crate::error::Error;
use crate::ids::TenantId;
use crate::tokens;
use deadpool_postgres::Pool;
use dukkan_core::sync::{
    PullResponse, PushRequest, PushResponse, MAX_PULL_PAGE, MAX_PULL_WAIT_SECS,
};
use std::time::Duration;
use uuid::Uuid;

/// Prefix of device bearer tokens (see [`tokens::new_bearer`]).
pub const DEVICE_TOKEN_KIND: &str = "dkd";

/// An enrolled device, known only from its token.
#[derive(Debug, Clone, Copy)]
pub struct DeviceActor {
    pub tenant: TenantId,
    pub device: Uuid,
}

/// The device behind a bearer token, if the token and the device are live.
pub async fn authenticate_device(pool: &Pool, token: &str) -> Result<DeviceActor, Error> {
    let tenant = tokens::bearer_tenant(DEVICE_TOKEN_KIND, token).ok_or(Error::Unauthenticated)?;
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, tenant).await?;
    let row = tx
        .query_opt(
            "SELECT t.device_id FROM device_tokens t
             JOIN devices d ON d.tenant_id = t.tenant_id AND d.id = t.device_id
             WHERE t.tenant_id = $1 AND t.token_hash = $2
               AND t.revoked_at IS NULL AND d.revoked_at IS NULL",
            &[&tenant.0, &tokens::hash(token)],
        )
        .await?;
    tx.commit().await?;
    let row = row.ok_or(Error::Unauthenticated)?;
    Ok(DeviceActor {
        tenant,
        device: row.get(0),
    })
}

/// Largest push body: a full batch of ops with addresses and notes.
pub const PUSH_BODY_LIMIT_BYTES: usize = 2 * 1024 * 1024;

impl axum::extract::FromRequestParts<crate::AppState> for DeviceActor {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::AppState,
    ) -> Result<Self, Error> {
        let token = crate::limits::bearer(&parts.headers).ok_or(Error::Unauthenticated)?;
        authenticate_device(&state.pool, token).await
    }
}

/// `GET /api/v1/sync/pull` query.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    pub since: i64,
    pub limit: Option<usize>,
    /// Seconds to wait for a change when there is none (long-poll), at most 25.
    pub wait: Option<u64>,
}

async fn push_handler(
    axum::extract::State(s): axum::extract::State<crate::AppState>,
    device: DeviceActor,
    crate::http::ApiJson(body): crate::http::ApiJson<PushRequest>,
) -> Result<axum::Json<PushResponse>, Error> {
    let answer = crate::push::push(&s.pool, device, body).await?;
    // Codes of upgrade requests queued by this (or an earlier) push go out now, off the
    // request path; the device learns the new state from the change feed.
    tokio::spawn(async move {
        if let Err(e) = crate::upgrades::dispatch_queued(&s.pool, &s.otp, device).await {
            tracing::warn!(error = %e, "sending queued upgrade codes failed");
        }
    });
    Ok(axum::Json(answer))
}

async fn pull_handler(
    axum::extract::State(s): axum::extract::State<crate::AppState>,
    device: DeviceActor,
    crate::http::ApiQuery(q): crate::http::ApiQuery<PullQuery>,
) -> Result<axum::Json<PullResponse>, Error> {
    if q.since < 0 {
        return Err(Error::InvalidQuery);
    }
    let wait = Duration::from_secs(q.wait.unwrap_or(0));
    Ok(axum::Json(
        crate::pull::pull(
            &s.pool,
            &s.changes,
            device,
            q.since,
            q.limit.unwrap_or(MAX_PULL_PAGE),
            wait,
        )
        .await?,
    ))
}

/// The sync routes, nested at `/api/v1/sync` by [`crate::router`] outside the REST timeout:
/// a long-poll pull legitimately waits 25 s, and a full push batch may take longer than a REST
/// call. Each gets its own timeout instead.
pub fn routes() -> axum::Router<crate::AppState> {
    use axum::http::StatusCode;
    use tower_http::timeout::TimeoutLayer;
    let push = axum::Router::new()
        .route("/push", axum::routing::post(push_handler))
        .layer(axum::extract::DefaultBodyLimit::max(PUSH_BODY_LIMIT_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ));
    let pull = axum::Router::new()
        .route("/pull", axum::routing::get(pull_handler))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(MAX_PULL_WAIT_SECS + 15),
        ));
    push.merge(pull).merge(
        crate::upgrades::routes().layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        )),
    )
}
