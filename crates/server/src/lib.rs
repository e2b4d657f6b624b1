//! `dukkan-server`: the central tenant server. Every device reconciles with it; it assigns
//! customer numbers, verifies phones, merges and exports.
//!
//! Tenants are isolated twice: every query filters by tenant, and Postgres row-level security
//! (forced, set per transaction) hides every other tenant's rows from the application role.
#![forbid(unsafe_code)]

pub mod addresses;
pub mod apply;
pub mod argon;
pub mod changes;
pub mod clock;
pub mod customers;
pub mod db;
pub mod devices;
pub mod error;
pub mod export;
pub mod history;
pub mod housekeeping;
pub mod http;
pub mod ids;
pub mod limits;
pub mod lockout;
pub mod merge;
pub mod messages;
pub mod metrics;
pub mod orders;
pub mod otp;
pub mod pull;
pub mod push;
pub mod sms;
pub mod snapshots;
pub mod staff;
pub mod tenants;
pub mod tokens;
pub mod upgrades;
pub mod wakeups;

pub use error::Error;
pub use http::{router, AppState};

/// Serves `router` on `listener` until `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
