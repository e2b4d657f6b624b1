//! The REST API: routes, extractors whose rejections are `{code, message}` errors, and thin
//! handlers over the use-case modules.

pub mod openapi;
mod rest;
mod sync;

use crate::devices::DeviceActor;
use crate::error::{localize_errors, Error, ErrorBody};
use crate::limits::{LimitConfig, Limits};
use crate::metrics::Metrics;
use crate::otp::Otp;
use crate::staff::{self, Actor};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use deadpool_postgres::Pool;
use dukkan_core::i18n::Locale;
use openapi::BearerScheme;
use rest::*;
use std::sync::Arc;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

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
    /// Where the tills ask for new versions of the app, announced with every roster.
    pub update_feed: Option<Arc<str>>,
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
            update_feed: None,
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

    /// The same state announcing `feed` to the tills as their update feed. Refused unless it
    /// is an address a till may fetch from ([`dukkan_core::net::update_feed`]).
    pub fn with_update_feed(mut self, feed: &str) -> Result<Self, dukkan_core::ValidationError> {
        self.update_feed = Some(Arc::from(dukkan_core::net::update_feed(feed)?));
        Ok(self)
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

impl FromRequestParts<AppState> for DeviceActor {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = crate::limits::bearer(&parts.headers).ok_or(Error::Unauthenticated)?;
        crate::devices::authenticate_device(&state.pool, token).await
    }
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
        sign_in, sign_out, change_password, enroll, create_enroll_code, list_devices, revoke_device,
        create_customer, list_customers, get_customer, patch_customer, deactivate_customer, reactivate_customer,
        customer_history, list_orders, record_order, adjust_points,
        merge_customers, undo_merge, export_customers, send_otp, verify_otp, upgrade_customer,
        list_addresses, add_address, patch_address, delete_address, default_address,
        healthz, readyz, crate::metrics::scrape, openapi_json,
        sync::push_handler, sync::pull_handler, sync::customer_handler, sync::customer_history_handler,
        sync::staff_handler,
        sync::verify_handler, sync::resend_handler,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Staff sign-in"),
        (name = "devices", description = "Device enrollment and management"),
        (name = "customers", description = "Customers"),
        (name = "addresses", description = "Customer addresses"),
        (name = "orders", description = "A customer's orders and loyalty points"),
        (name = "otp", description = "Phone verification and upgrade to a full profile"),
        (name = "sync", description = "Device sync (device token)"),
        (name = "health", description = "Probes and monitoring"),
    )
)]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/openapi.json", tag = "health",
    responses((status = 200, description = "This OpenAPI document", body = Object)))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi::document())
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/sign-in", post(sign_in))
        .route("/auth/sign-out", post(sign_out))
        .route("/auth/password", post(change_password))
        .route("/devices/enroll", post(enroll))
        .route("/devices/enroll-codes", post(create_enroll_code))
        .route("/devices", get(list_devices))
        .route("/devices/{id}", axum::routing::delete(revoke_device))
        .route("/customers", post(create_customer).get(list_customers))
        .route("/customers/merge", post(merge_customers))
        .route("/customers/merges/{id}/undo", post(undo_merge))
        .route("/customers/export", get(export_customers))
        .route("/customers/send-otp", post(send_otp))
        .route("/customers/verify-otp", post(verify_otp))
        .route("/customers/{id}/upgrade", post(upgrade_customer))
        .route("/customers/{id}/reactivate", post(reactivate_customer))
        .route("/customers/{id}/history", get(customer_history))
        .route(
            "/customers/{id}/orders",
            get(list_orders).post(record_order),
        )
        .route("/customers/{id}/points", post(adjust_points))
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
            sync::routes(),
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
        // Responses compressed (zstd or gzip, as the client accepts): a till's first sync of a
        // shop is mostly repeated JSON keys and names, a fraction of its size compressed.
        .layer(tower_http::compression::CompressionLayer::new())
        // Outermost, so refusals by the layers above are counted too.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::track,
        ))
        .with_state(state)
}
