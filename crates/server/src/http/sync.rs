//! The sync routes under `/api/v1/sync`, for devices (device token only; tenant and device
//! come from the token): push ([`crate::push`]), pull ([`crate::pull`]), one customer again
//! ([`crate::snapshots`]), the staff roster (with its `ETag`), and the upgrade code calls
//! ([`crate::upgrades`]).

use super::{ApiJson, ApiPath, ApiQuery, AppState, RequestLocale};
use crate::db;
use crate::devices::DeviceActor;
use crate::error::Error;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dukkan_core::sync::{
    CustomerSnapshot, PullResponse, PushRequest, PushResponse, UpgradeStatus, VerifyUpgrade,
    MAX_PULL_PAGE, MAX_PULL_WAIT_SECS,
};
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

/// Largest push body: a full batch of ops with addresses and notes.
pub const PUSH_BODY_LIMIT_BYTES: usize = 2 * 1024 * 1024;

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
    State(s): State<AppState>,
    device: DeviceActor,
    ApiJson(body): ApiJson<PushRequest>,
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
    State(s): State<AppState>,
    device: DeviceActor,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<axum::Json<PullResponse>, Error> {
    // As strict as the documented query: a cursor is never negative, a page holds 1 to
    // MAX_PULL_PAGE changes, and a pull waits at most MAX_PULL_WAIT_SECS.
    let limit_ok = q.limit.is_none_or(|l| (1..=MAX_PULL_PAGE).contains(&l));
    let wait_ok = q.wait.is_none_or(|w| w <= MAX_PULL_WAIT_SECS);
    if q.since < 0 || !limit_ok || !wait_ok {
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
    let upgrades = axum::Router::new()
        .route(
            "/upgrades/{customer}/resend",
            axum::routing::post(resend_handler),
        )
        .route(
            "/upgrades/{customer}/verify",
            axum::routing::post(verify_handler),
        )
        .layer(axum::extract::DefaultBodyLimit::max(4 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ));
    push.merge(pull)
        .merge(upgrades)
        .route(ROSTER_PATH, axum::routing::get(staff_handler))
        .route("/customers/{id}", axum::routing::get(customer_handler))
}

async fn customer_handler(
    State(s): State<AppState>,
    device: DeviceActor,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<axum::Json<CustomerSnapshot>, Error> {
    let id = uuid::Uuid::try_parse(&id).map_err(|_| Error::NotFound)?;
    let mut client = s.pool.get().await?;
    let tx = db::tenant_tx(&mut client, device.tenant).await?;
    let snapshot = crate::snapshots::snapshot(&tx, device.tenant.0, id).await?;
    tx.commit().await?;
    Ok(axum::Json(snapshot))
}

/// Path of the roster endpoint under `/api/v1/sync`.
pub const ROSTER_PATH: &str = "/staff";

fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// True when `If-None-Match` names `tag` (or is `*`).
fn matches(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*")
}

async fn staff_handler(
    State(s): State<AppState>,
    device: DeviceActor,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let roster = crate::staff::roster(&s.pool, device.tenant).await?;
    let body = serde_json::to_vec(&roster).map_err(|e| Error::Internal(e.to_string()))?;
    let tag = etag(&body);
    let tag_value = HeaderValue::from_str(&tag).map_err(|e| Error::Internal(e.to_string()))?;
    let no_store = HeaderValue::from_static("private, no-store");
    if matches(&headers, &tag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, tag_value), (header::CACHE_CONTROL, no_store)],
        )
            .into_response());
    }
    Ok((
        StatusCode::OK,
        [
            (header::ETAG, tag_value),
            (header::CACHE_CONTROL, no_store),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body,
    )
        .into_response())
}

async fn verify_handler(
    State(s): State<AppState>,
    device: DeviceActor,
    ApiPath(customer): ApiPath<Uuid>,
    ApiJson(body): ApiJson<VerifyUpgrade>,
) -> Result<axum::Json<UpgradeStatus>, Error> {
    Ok(axum::Json(
        crate::upgrades::verify(&s.pool, &s.otp, device, customer, &body.code).await?,
    ))
}

async fn resend_handler(
    State(s): State<AppState>,
    device: DeviceActor,
    RequestLocale(locale): RequestLocale,
    ApiPath(customer): ApiPath<Uuid>,
) -> Result<axum::Json<UpgradeStatus>, Error> {
    Ok(axum::Json(
        crate::upgrades::send_code(&s.pool, &s.otp, device, customer, true, locale).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_matches_the_tag_in_a_list_weak_or_star_but_not_another_tag() {
        let tag = etag(b"{}");
        let mut h = HeaderMap::new();
        assert!(!matches(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(!matches(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"a\", W/{tag}")).unwrap(),
        );
        assert!(matches(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches(&h, &tag));
    }

    #[test]
    fn the_etag_changes_with_the_body() {
        assert_ne!(etag(b"{\"staff\":[]}"), etag(b"{\"staff\":[1]}"));
        assert_eq!(etag(b"x"), etag(b"x"));
    }
}
