//! The REST API: routes, extractors whose rejections are `{code, message}` errors, and thin
//! handlers over the use-case modules.

use crate::addresses::{self, AddressPatch, AddressView, NewAddress};
use crate::customers::{self, Customer, CustomerPage, CustomerPatch, ListQuery, NewCustomer};
use crate::devices::{self, EnrollRequest, Enrollment};
use crate::error::{localize_errors, Error, ErrorBody};
use crate::limits::{LimitConfig, Limits};
use crate::metrics::Metrics;
use crate::openapi::Additions;
use crate::otp::{self, Otp, OtpSent, SendOtp, Upgrade, VerifyOtp};
use crate::staff::{self, Actor, Session};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::ConnectInfo;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use deadpool_postgres::Pool;
use dukkan_core::i18n::Locale;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use uuid::Uuid;

/// Largest request body accepted.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// Longest a request may take before the server answers 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Connections as the application role (row-level security applies).
    pub pool: Pool,
    pub otp: Arc<Otp>,
    /// Rate limits and the sign-in lockout of this instance.
    pub limits: Arc<Limits>,
    /// Request and pool metrics of this instance (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// Wake-ups of the long-poll pulls waiting on this instance.
    pub changes: Arc<crate::wakeups::ChangeSignals>,
}

impl AppState {
    /// A state with the default limits ([`LimitConfig::default`]) and fresh metrics.
    pub fn new(pool: Pool, otp: Arc<Otp>) -> Self {
        AppState {
            pool,
            otp,
            limits: Arc::new(Limits::default()),
            metrics: Arc::new(Metrics::new()),
            changes: Arc::default(),
        }
    }

    /// The same state with a connection to `url` that listens for committed changes, so that
    /// waiting pulls wake at once instead of polling (see [`crate::wakeups`]). Needs a tokio
    /// runtime; without it pulls poll the feed every 200 ms.
    pub fn with_change_listener(self, url: &str) -> Result<Self, crate::db::SetupError> {
        let config: tokio_postgres::Config = url.parse().map_err(crate::db::SetupError::Url)?;
        crate::wakeups::spawn_listener(self.changes.clone(), config);
        Ok(self)
    }

    /// The same state with `/metrics` readable only with `Authorization: Bearer <token>`.
    pub fn with_metrics_token(mut self, token: &str) -> Self {
        self.metrics = Arc::new(Metrics::new().requiring_token(token));
        self
    }

    /// The same state with other limits.
    pub fn with_limits(mut self, config: LimitConfig) -> Self {
        self.limits = Arc::new(Limits::new(config));
        self
    }
}

/// The language asked for by the request's `Accept-Language`.
pub struct RequestLocale(pub Locale);

impl<S: Send + Sync> FromRequestParts<S> for RequestLocale {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        Ok(RequestLocale(crate::messages::negotiate(
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )))
    }
}

/// A JSON body whose rejection is one of our errors.
///
/// Parsed in two steps so that valid JSON of the wrong shape (`"type": 5`) is told apart from
/// text that is not JSON at all: serde_json reports some shape errors as syntax errors.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Error> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        if !is_json {
            return Err(Error::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Error::PayloadTooLarge
                } else {
                    Error::MalformedJson
                }
            })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| Error::MalformedJson)?;
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|_| Error::InvalidBody)
    }
}

/// Path parameters whose rejection is one of our errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct ApiPath<T>(pub T);

/// A query string whose rejection is one of our errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct ApiQuery<T>(pub T);

impl From<PathRejection> for Error {
    fn from(_: PathRejection) -> Self {
        Error::InvalidPath
    }
}

impl From<QueryRejection> for Error {
    fn from(_: QueryRejection) -> Self {
        Error::InvalidQuery
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = crate::limits::bearer(&parts.headers).ok_or(Error::Unauthenticated)?;
        staff::authenticate(&state.pool, token).await
    }
}

/// `POST /api/v1/auth/sign-in`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignIn {
    /// The tenant's slug.
    pub tenant: String,
    pub staff_id: String,
    pub pin: String,
}

/// Wrong PINs count against the staff member and the client IP; past the limit both are
/// locked out for a while (429 with `Retry-After`), even with the right PIN.
#[utoipa::path(post, path = "/api/v1/auth/sign-in", tag = "auth", request_body = SignIn,
    responses((status = 200, description = "Signed in", body = Session), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn sign_in(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(b): ApiJson<SignIn>,
) -> Result<Json<Session>, Error> {
    let ip = peer.ip();
    // Counted as wrong until the PIN proves otherwise (see `Limits::begin_sign_in`).
    s.limits.begin_sign_in(ip, &b.tenant, &b.staff_id)?;
    match staff::sign_in(&s.pool, &b.tenant, &b.staff_id, &b.pin).await {
        Ok(session) => {
            s.limits.sign_in_succeeded(ip, &b.tenant, &b.staff_id);
            Ok(Json(session))
        }
        Err(Error::InvalidCredentials) => Err(Error::InvalidCredentials),
        Err(e) => {
            s.limits.sign_in_not_judged(ip, &b.tenant, &b.staff_id);
            Err(e)
        }
    }
}

#[utoipa::path(post, path = "/api/v1/devices/enroll", tag = "devices",
    request_body(content = Object, description = "`{tenant, code, deviceName?, lastAckedSeq?}` (dukkan_core::sync::EnrollRequest)"),
    responses((status = 201, description = "`{tenantId, deviceId, deviceToken}` (dukkan_core::sync::Enrollment)", body = Object), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn enroll(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<EnrollRequest>,
) -> Result<(StatusCode, Json<Enrollment>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(devices::enroll(&s.pool, b).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/devices/enroll-codes", tag = "devices", security(("bearer" = [])),
    responses((status = 201, description = "A one-time code, shown once", body = devices::EnrollmentCode), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn create_enroll_code(
    State(s): State<AppState>,
    actor: Actor,
) -> Result<(StatusCode, Json<devices::EnrollmentCode>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(devices::create_code_as(&s.pool, &actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", security(("bearer" = [])),
    responses((status = 200, description = "The shop's devices, newest first", body = Vec<devices::DeviceView>), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn list_devices(
    State(s): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<devices::DeviceView>>, Error> {
    Ok(Json(devices::list(&s.pool, &actor).await?))
}

#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "devices", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Device id")),
    responses((status = 204, description = "Revoked (or already revoked)"), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn revoke_device(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, Error> {
    devices::revoke(&s.pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", security(("bearer" = [])), request_body = NewCustomer,
    responses((status = 201, description = "Created, with its customer number", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn create_customer(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<NewCustomer>,
) -> Result<(StatusCode, Json<Customer>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(customers::create(&s.pool, &actor, b).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "A page of customers, newest number first", body = CustomerPage), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn list_customers(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<CustomerPage>, Error> {
    Ok(Json(customers::list(&s.pool, &actor, q).await?))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "The customer, active or not", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn get_customer(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(customers::get(&s.pool, &actor, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")), request_body = CustomerPatch,
    responses((status = 200, description = "The changed customer", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn patch_customer(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<CustomerPatch>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(customers::update(&s.pool, &actor, id, b).await?))
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Deactivated (soft delete)", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn deactivate_customer(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(customers::deactivate(&s.pool, &actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/reactivate", tag = "customers", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Active again (or already active)", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed (managers and admins)", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Another active customer now holds the phone (`customer.phone-taken`, the message names them), or the customer was merged (`customer.merged`)", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn reactivate_customer(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(customers::reactivate(&s.pool, &actor, id).await?))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/addresses", tag = "addresses", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Addresses, default first", body = Vec<AddressView>), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn list_addresses(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<AddressView>>, Error> {
    Ok(Json(addresses::list(&s.pool, &actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/addresses", tag = "addresses", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")), request_body = NewAddress,
    responses((status = 201, description = "Added", body = AddressView), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn add_address(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<NewAddress>,
) -> Result<(StatusCode, Json<AddressView>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(addresses::add(&s.pool, &actor, id, b).await?),
    ))
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}/addresses/{address_id}", tag = "addresses", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id"), ("address_id" = Uuid, Path, description = "Address id")), request_body = AddressPatch,
    responses((status = 200, description = "The changed address", body = AddressView), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn patch_address(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath((id, address)): ApiPath<(Uuid, Uuid)>,
    ApiJson(b): ApiJson<AddressPatch>,
) -> Result<Json<AddressView>, Error> {
    Ok(Json(
        addresses::update(&s.pool, &actor, id, address, b).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}/addresses/{address_id}", tag = "addresses", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id"), ("address_id" = Uuid, Path, description = "Address id")),
    responses((status = 204, description = "Deleted; the oldest remaining address becomes the default"), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn delete_address(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath((id, address)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, Error> {
    addresses::delete(&s.pool, &actor, id, address).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/addresses/{address_id}/default", tag = "addresses", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id"), ("address_id" = Uuid, Path, description = "Address id")),
    responses((status = 200, description = "The new default address", body = AddressView), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn default_address(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath((id, address)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<AddressView>, Error> {
    Ok(Json(
        addresses::set_default(&s.pool, &actor, id, address).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/customers/send-otp", tag = "otp", security(("bearer" = [])), request_body = SendOtp,
    responses((status = 200, description = "Code sent by SMS", body = OtpSent), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody), (status = 502, description = "SMS provider failed", body = ErrorBody)))]
async fn send_otp(
    State(s): State<AppState>,
    actor: Actor,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RequestLocale(locale): RequestLocale,
    ApiJson(b): ApiJson<SendOtp>,
) -> Result<Json<OtpSent>, Error> {
    Ok(Json(
        otp::send(&s.pool, &s.otp, &actor, b, peer.ip(), locale).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/customers/verify-otp", tag = "otp", security(("bearer" = [])), request_body = VerifyOtp,
    responses((status = 200, description = "The customer, phone verified", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn verify_otp(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<VerifyOtp>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(otp::verify(&s.pool, &s.otp, &actor, b).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/upgrade", tag = "otp", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")), request_body = Upgrade,
    responses((status = 200, description = "The customer, now full", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn upgrade_customer(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<Upgrade>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(otp::upgrade(&s.pool, &s.otp, &actor, id, b).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/merge", tag = "customers", security(("bearer" = [])), request_body = crate::merge::MergeRequest,
    responses((status = 200, description = "Merged", body = crate::merge::MergeResult), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn merge_customers(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<crate::merge::MergeRequest>,
) -> Result<Json<crate::merge::MergeResult>, Error> {
    Ok(Json(crate::merge::merge(&s.pool, &actor, b).await?))
}

#[utoipa::path(get, path = "/api/v1/customers/export", tag = "customers", security(("bearer" = [])), params(crate::export::ExportQuery),
    responses((status = 200, description = "CSV, UTF-8 with BOM, streamed", content_type = "text/csv", body = String), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
async fn export_customers(
    State(s): State<AppState>,
    actor: Actor,
    RequestLocale(locale): RequestLocale,
    ApiQuery(q): ApiQuery<crate::export::ExportQuery>,
) -> Result<axum::response::Response, Error> {
    let chunks = crate::export::start(&s.pool, &actor, q, locale).await?;
    let stream = futures_util::stream::unfold(chunks, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    axum::response::Response::builder()
        .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .header(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"customers.csv\"",
        )
        .body(axum::body::Body::from_stream(stream))
        .map_err(|e| Error::Internal(e.to_string()))
}

#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process runs", body = Object)))]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "The database answers", body = Object), (status = 503, description = "The database cannot be reached", body = ErrorBody)))]
async fn readyz(State(s): State<AppState>) -> Result<Json<serde_json::Value>, Error> {
    crate::db::ping(&s.pool)
        .await
        .map_err(|e| Error::Unavailable(e.to_string()))?;
    Ok(Json(serde_json::json!({ "status": "ready" })))
}

/// The OpenAPI document of this API, generated from the handlers' annotations and types.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Dukkan tenant server",
        description = "Multi-tenant customer API of Dukkan. Reference with examples: docs/api.md."
    ),
    paths(
        sign_in, enroll, create_enroll_code, list_devices, revoke_device,
        create_customer, list_customers, get_customer, patch_customer, deactivate_customer, reactivate_customer,
        merge_customers, export_customers, send_otp, verify_otp, upgrade_customer,
        list_addresses, add_address, patch_address, delete_address, default_address,
        healthz, readyz, crate::metrics::scrape, openapi_json,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Additions),
    tags(
        (name = "auth", description = "Staff sign-in"),
        (name = "devices", description = "Device enrollment and management"),
        (name = "customers", description = "Customers"),
        (name = "addresses", description = "Customer addresses"),
        (name = "otp", description = "Phone verification and upgrade to a full profile"),
        (name = "sync", description = "Device sync (device token)"),
        (name = "health", description = "Probes and monitoring"),
    )
)]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/openapi.json", tag = "health",
    responses((status = 200, description = "This OpenAPI document", body = Object)))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/sign-in", post(sign_in))
        .route("/devices/enroll", post(enroll))
        .route("/devices/enroll-codes", post(create_enroll_code))
        .route("/devices", get(list_devices))
        .route("/devices/{id}", axum::routing::delete(revoke_device))
        .route("/customers", post(create_customer).get(list_customers))
        .route("/customers/merge", post(merge_customers))
        .route("/customers/export", get(export_customers))
        .route("/customers/send-otp", post(send_otp))
        .route("/customers/verify-otp", post(verify_otp))
        .route("/customers/{id}/upgrade", post(upgrade_customer))
        .route("/customers/{id}/reactivate", post(reactivate_customer))
        .route(
            "/customers/{id}",
            get(get_customer)
                .patch(patch_customer)
                .delete(deactivate_customer),
        )
        .route(
            "/customers/{id}/addresses",
            get(list_addresses).post(add_address),
        )
        .route(
            "/customers/{id}/addresses/{address_id}",
            axum::routing::patch(patch_address).delete(delete_address),
        )
        .route(
            "/customers/{id}/addresses/{address_id}/default",
            post(default_address),
        );
    let limits = state.limits.clone();
    let metrics = state.metrics.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::scrape))
        .route("/api/openapi.json", get(openapi_json))
        .nest("/api/v1", api)
        .fallback(|| async { Error::RouteNotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .nest(
            "/api/v1/sync",
            crate::sync::routes()
                .merge(crate::roster::routes())
                .merge(crate::snapshots::routes()),
        )
        .layer(axum::middleware::from_fn_with_state(
            limits,
            crate::limits::rate_limit,
        ))
        // Spans name the method and path only: query strings may hold a searched phone number.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<axum::body::Body>| {
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(axum::middleware::from_fn(localize_errors))
        // Outermost, so refusals by the layers above are counted too.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::track,
        ))
        .with_state(state)
}
