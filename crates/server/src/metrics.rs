//! Prometheus metrics at `GET /metrics`: requests and their latency by method, route template
//! and status, and the database pool's connections.
//!
//! Labels use the route *template* (`/api/v1/customers/{id}`), never the requested path, so no
//! customer id, phone or search term becomes a label; requests that match no route share the
//! label `unmatched`.
//!
//! Open to anyone by default (keep it on the monitoring network); with `METRICS_TOKEN` set the
//! scraper must send `Authorization: Bearer <token>`, compared in constant time.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use deadpool_postgres::Pool;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

/// A shop, by id (never its name or slug: ids are not personal data and do not change).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShopLabels {
    shop_id: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The metrics of one server instance.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    pool_max: Gauge,
    pool_open: Gauge,
    pool_idle: Gauge,
    pool_waiting: Gauge,
    waiting_pulls: Family<ShopLabels, Gauge>,
    sync_behind: Family<ShopLabels, Gauge>,
    sweeps: Family<OutcomeLabels, Counter>,
    swept: Family<KindLabels, Counter>,
    /// SHA-256 of the bearer token a scrape must carry; `None`: no token needed.
    scrape_token: Option<[u8; 32]>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("dukkan");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let (pool_max, pool_open, pool_idle, pool_waiting) = Default::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request (until the response head), by method, route template and status",
            prometheus_client::registry::Unit::Seconds,
            latency.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Largest number of database connections the pool may open",
            Gauge::clone(&pool_max),
        );
        registry.register(
            "db_pool_connections",
            "Database connections open now",
            Gauge::clone(&pool_open),
        );
        registry.register(
            "db_pool_idle_connections",
            "Open database connections not in use",
            Gauge::clone(&pool_idle),
        );
        registry.register(
            "db_pool_waiting_requests",
            "Requests waiting for a database connection",
            Gauge::clone(&pool_waiting),
        );
        let waiting_pulls = Family::<ShopLabels, Gauge>::default();
        registry.register(
            "sync_waiting_pulls",
            "Long-poll pulls waiting on this instance now, per shop",
            waiting_pulls.clone(),
        );
        let sync_behind = Family::<ShopLabels, Gauge>::default();
        registry.register(
            "sync_behind_changes",
            "Changes the shop's furthest-behind till has not pulled yet (as of the last housekeeping sweep this instance made)",
            sync_behind.clone(),
        );
        let sweeps = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "housekeeping_sweeps",
            "Housekeeping turns of this instance: done, skipped (another instance held the lock) or failed",
            sweeps.clone(),
        );
        let swept = Family::<KindLabels, Counter>::default();
        registry.register(
            "housekeeping_removed",
            "Rows removed by this instance's housekeeping sweeps, by kind",
            swept.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            pool_max,
            pool_open,
            pool_idle,
            pool_waiting,
            waiting_pulls,
            sync_behind,
            sweeps,
            swept,
            scrape_token: None,
        }
    }

    /// Records a sweep this instance made.
    pub fn swept(&self, sweep: &crate::housekeeping::Sweep) {
        self.sweeps
            .get_or_create(&OutcomeLabels { outcome: "done" })
            .inc();
        self.swept
            .get_or_create(&KindLabels { kind: "otp_codes" })
            .inc_by(sweep.otp_codes);
        self.swept
            .get_or_create(&KindLabels {
                kind: "staff_sessions",
            })
            .inc_by(sweep.staff_sessions);
        self.swept
            .get_or_create(&KindLabels {
                kind: "retired_guests",
            })
            .inc_by(sweep.retired_guests);
        for (shop, behind) in &sweep.behind {
            self.sync_behind
                .get_or_create(&ShopLabels {
                    shop_id: shop.to_string(),
                })
                .set(*behind);
        }
    }

    /// Records a turn skipped because another instance was sweeping.
    pub fn sweep_skipped(&self) {
        self.sweeps
            .get_or_create(&OutcomeLabels { outcome: "skipped" })
            .inc();
    }

    /// Records a sweep that failed.
    pub fn sweep_failed(&self) {
        self.sweeps
            .get_or_create(&OutcomeLabels { outcome: "failed" })
            .inc();
    }

    /// The same metrics, readable only with `Authorization: Bearer <token>`.
    pub fn requiring_token(mut self, token: &str) -> Self {
        self.scrape_token = Some(Sha256::digest(token.as_bytes()).into());
        self
    }

    /// Whether a request with these headers may read the metrics.
    fn may_scrape(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.scrape_token else {
            return true;
        };
        crate::limits::bearer(headers).is_some_and(|sent| {
            let sent: [u8; 32] = Sha256::digest(sent.as_bytes()).into();
            bool::from(sent.ct_eq(expected))
        })
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// The text exposition (OpenMetrics) with the pool's and the waiting pulls' figures as of
    /// now.
    pub fn render(
        &self,
        pool: &Pool,
        changes: &crate::wakeups::ChangeSignals,
    ) -> Result<String, std::fmt::Error> {
        for (shop, waiting) in changes.waiting_by_tenant() {
            self.waiting_pulls
                .get_or_create(&ShopLabels {
                    shop_id: shop.to_string(),
                })
                .set(waiting);
        }
        let status = pool.status();
        let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.pool_max.set(as_i64(status.max_size));
        self.pool_open.set(as_i64(status.size));
        self.pool_idle.set(as_i64(status.available));
        self.pool_waiting.set(as_i64(status.waiting));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Middleware: counts and times every request under its route template.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    // Only the standard methods become labels: any other word a client sends must not add a
    // series.
    let method = match *request.method() {
        Method::GET
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::HEAD
        | Method::OPTIONS => request.method().as_str().to_owned(),
        _ => "other".to_owned(),
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus metrics (OpenMetrics text)", content_type = "application/openmetrics-text", body = String), (status = 401, description = "METRICS_TOKEN is set and the request does not carry it as a bearer token", body = crate::error::ErrorBody)))]
pub async fn scrape(State(state): State<crate::AppState>, headers: HeaderMap) -> Response {
    if !state.metrics.may_scrape(&headers) {
        return crate::Error::Unauthenticated.into_response();
    }
    match state.metrics.render(&state.pool, &state.changes) {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => crate::Error::Internal(format!("metrics encoding: {e}")).into_response(),
    }
}
