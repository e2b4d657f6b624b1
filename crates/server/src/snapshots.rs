//! `GET /api/v1/sync/customers/{id}`: one customer as the server holds it now (the same snapshot
//! a pull carries), for a device that must drop a local change the server refused and a person
//! discarded. Device token only; the tenant comes from the token, so another tenant's id is
//! simply not found.

use crate::db;
use crate::error::Error;
use crate::sync::DeviceActor;
use dukkan_core::sync::CustomerSnapshot;

async fn customer_handler(
    axum::extract::State(s): axum::extract::State<crate::AppState>,
    device: DeviceActor,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<axum::Json<CustomerSnapshot>, Error> {
    let id = uuid::Uuid::try_parse(&id).map_err(|_| Error::NotFound)?;
    let mut client = s.pool.get().await?;
    let tx = db::tenant_tx(&mut client, device.tenant).await?;
    let snapshot = crate::sync::snapshot(&tx, device.tenant.0, id).await?;
    tx.commit().await?;
    Ok(axum::Json(snapshot))
}

/// The route, nested at `/api/v1/sync` beside the other sync routes.
pub fn routes() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/customers/{id}", axum::routing::get(customer_handler))
}
