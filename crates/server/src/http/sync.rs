//! The sync routes under `/api/v1/sync`, for devices (device token only; tenant and device
//! come from the token): push ([`crate::push`]), pull ([`crate::pull`]), one customer again
//! ([`crate::snapshots`]) and its history ([`crate::history`]), the staff roster (with its
//! `ETag`), and the upgrade code calls ([`crate::upgrades`]).

use super::{ApiJson, ApiPath, ApiQuery, AppState, RequestLocale};
use crate::db;
use crate::devices::DeviceActor;
use crate::error::{Error, ErrorBody};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dukkan_core::staff::Roster;
use dukkan_core::sync::{
    CustomerSnapshot, PullResponse, PushRequest, PushResponse, UpgradeStatus, VerifyUpgrade,
    MAX_PULL_PAGE, MAX_PULL_WAIT_SECS,
};
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

/// Largest push body: a full batch of ops with addresses and notes.
pub const PUSH_BODY_LIMIT_BYTES: usize = 2 * 1024 * 1024;

/// `GET /api/v1/sync/pull` query. The bounds are checked by the handler (and kept equal to
/// the documented ones by a test).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    /// Cursor of the last change applied (0 at first).
    #[param(minimum = 0)]
    pub since: i64,
    /// Changes per page, 1 to 1000 (1000 when absent).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Seconds to wait for a change when there is none (long-poll), 0 to 25.
    #[param(minimum = 0, maximum = 25)]
    pub wait: Option<u64>,
}

/// Push a batch of ops in device order (device token only).
///
/// Each op is applied exactly once, checked and authorised as the same change over REST would
/// be (a pushed op acts for the staff member it names). Answer: one result per op —
/// `applied`, `duplicate`, `redirected` (merged into `to`), `rejected` (with `code`, parked by
/// the till for a person), `outOfOrder` (resend from `expected`) or `sequenceConflict`
/// (renumber after `lastApplied`).
#[utoipa::path(post, path = "/api/v1/sync/push", tag = "sync", security(("bearer" = [])),
    request_body = PushRequest,
    responses((status = 200, description = "One result per op", body = PushResponse), (status = 400, description = "Not JSON", body = ErrorBody), (status = 401, description = "Not a live device token", body = ErrorBody), (status = 413, description = "Body too large (2 MiB)", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid batch (shape, protocol, size or sequence numbers)", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(crate) async fn push_handler(
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

/// Pull the tenant's changes after a cursor (device token only); with `wait`, long-poll until
/// one arrives. Every change carries the whole customer as the server holds it now.
#[utoipa::path(get, path = "/api/v1/sync/pull", tag = "sync", security(("bearer" = [])),
    params(PullQuery),
    responses((status = 200, description = "A page of changes", body = PullResponse), (status = 400, description = "Invalid query", body = ErrorBody), (status = 401, description = "Not a live device token", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(crate) async fn pull_handler(
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
        .route(
            "/customers/{id}/history",
            axum::routing::get(customer_history_handler),
        )
}

/// One customer as the server holds it now (device token only): what a pull would carry.
/// Tills read a customer again after a person discarded a change the server refused.
#[utoipa::path(get, path = "/api/v1/sync/customers/{id}", tag = "sync", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The customer")),
    responses((status = 200, description = "The customer", body = CustomerSnapshot), (status = 401, description = "Not a live device token", body = ErrorBody), (status = 404, description = "No such customer in this tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(crate) async fn customer_handler(
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

/// A customer's history as the server holds it (device token only): the same answer as
/// `GET /api/v1/customers/{id}/history` — who (by name) changed what (field names, never
/// values), from which till, and its merges, newest first. The till shows it to a signed-in
/// manager only, while it is connected.
#[utoipa::path(get, path = "/api/v1/sync/customers/{id}/history", tag = "sync", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The customer"), crate::history::HistoryQuery),
    responses((status = 200, description = "Audit entries of the customer and its addresses (names of fields, never values) and its merges, newest first", body = crate::history::CustomerHistory), (status = 400, description = "Invalid query", body = ErrorBody), (status = 401, description = "Not a live device token", body = ErrorBody), (status = 404, description = "No such customer in this tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(crate) async fn customer_history_handler(
    State(s): State<AppState>,
    device: DeviceActor,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiQuery(q): ApiQuery<crate::history::HistoryQuery>,
) -> Result<axum::Json<crate::history::CustomerHistory>, Error> {
    let id = uuid::Uuid::try_parse(&id).map_err(|_| Error::NotFound)?;
    let limit = q.limit()?;
    Ok(axum::Json(
        crate::history::history_of(&s.pool, device.tenant, id, limit).await?,
    ))
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

/// The tenant's active staff, for sign-in at the till (device token only): each with the
/// argon2id hash of their PIN (never the PIN), with a strong `ETag`; send it back as
/// `If-None-Match` to get 304 while nothing changed.
#[utoipa::path(get, path = "/api/v1/sync/staff", tag = "sync", security(("bearer" = [])),
    responses((status = 200, description = "The roster", body = Roster), (status = 304, description = "Unchanged since the ETag sent"), (status = 401, description = "Not a live device token", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(crate) async fn staff_handler(
    State(s): State<AppState>,
    device: DeviceActor,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let mut roster = crate::staff::roster(&s.pool, device.tenant).await?;
    roster.update_feed = s.update_feed.as_deref().map(str::to_owned);
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

/// Submit the code the customer read out (device token only). A right code makes the stub
/// full with a verified phone (`state` verified, `customer` the new snapshot); a wrong one is
/// `errorCode` otp.invalid with `attemptsLeft`; the third wrong one `failed` (otp.locked); a
/// late one `expired`.
#[utoipa::path(post, path = "/api/v1/sync/upgrades/{customer}/verify", tag = "sync", security(("bearer" = [])),
    params(("customer" = Uuid, Path, description = "The customer whose upgrade was requested")),
    request_body = VerifyUpgrade,
    responses((status = 200, description = "Where the upgrade stands", body = UpgradeStatus), (status = 400, description = "Malformed body or customer id", body = ErrorBody), (status = 401, description = "Not a live device token", body = ErrorBody), (status = 404, description = "No upgrade requested for this customer", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Body of the wrong shape", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(crate) async fn verify_handler(
    State(s): State<AppState>,
    device: DeviceActor,
    ApiPath(customer): ApiPath<Uuid>,
    ApiJson(body): ApiJson<VerifyUpgrade>,
) -> Result<axum::Json<UpgradeStatus>, Error> {
    Ok(axum::Json(
        crate::upgrades::verify(&s.pool, &s.otp, device, customer, &body.code).await?,
    ))
}

/// Send a new code for a queued upgrade (device token only; cooldown and caps apply: then
/// `errorCode` otp.cooldown / otp.rate-limited with `resendAfter`).
#[utoipa::path(post, path = "/api/v1/sync/upgrades/{customer}/resend", tag = "sync", security(("bearer" = [])),
    params(("customer" = Uuid, Path, description = "The customer whose upgrade was requested")),
    responses((status = 200, description = "Where the upgrade stands", body = UpgradeStatus), (status = 400, description = "The customer is not a UUID", body = ErrorBody), (status = 401, description = "Not a live device token", body = ErrorBody), (status = 404, description = "No upgrade requested for this customer", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(crate) async fn resend_handler(
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
