//! The REST handlers under `/api/v1` (staff bearer token), each documented for the OpenAPI
//! document by its `#[utoipa::path]`.

use super::{ApiJson, ApiPath, ApiQuery, AppState, RequestLocale};
use crate::addresses::{self, AddressPatch, AddressView, NewAddress};
use crate::customers::{self, Customer, CustomerPage, CustomerPatch, ListQuery, NewCustomer};
use crate::devices::{self, EnrollRequest, Enrollment};
use crate::error::{Error, ErrorBody};
use crate::limits::ClientIp;
use crate::lockout;
use crate::orders::{self, LoyaltyPoints, NewAdjustment, NewOrder, OrderPage, OrdersQuery};
use crate::otp::{self, OtpSent, SendOtp, Upgrade, VerifyOtp};
use crate::staff::{self, Actor, Session};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::Json;
use dukkan_core::orders::OrderRecord;
use serde::Deserialize;
use uuid::Uuid;

/// `POST /api/v1/auth/sign-in`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignIn {
    /// The tenant's slug.
    pub tenant: String,
    pub staff_id: String,
    /// The staff member's server password (never their till PIN).
    pub password: String,
}

/// `POST /api/v1/auth/password`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    /// 10 to 128 characters.
    pub new_password: String,
}

/// Signs in with the server password. Wrong passwords count against the staff member and the
/// client IP; past the limit both are locked out for a while (429 with `Retry-After`), even
/// with the right one.
#[utoipa::path(post, path = "/api/v1/auth/sign-in", tag = "auth", request_body = SignIn,
    responses((status = 200, description = "Signed in", body = Session), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn sign_in(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<SignIn>,
) -> Result<Json<Session>, Error> {
    // Counted as wrong until the PIN proves otherwise (see `lockout::begin`), on every
    // instance alike.
    let limits = s.limits.config();
    lockout::begin(&s.pool, limits, ip, &b.tenant, &b.staff_id).await?;
    match staff::sign_in(&s.pool, &b.tenant, &b.staff_id, &b.password).await {
        Ok(session) => {
            lockout::succeeded(&s.pool, limits, ip, &b.tenant, &b.staff_id).await?;
            Ok(Json(session))
        }
        Err(Error::InvalidCredentials) => Err(Error::InvalidCredentials),
        Err(e) => {
            if let Err(undo) =
                lockout::not_judged(&s.pool, limits, ip, &b.tenant, &b.staff_id).await
            {
                tracing::warn!(error = %undo, "taking back a sign-in strike failed");
            }
            Err(e)
        }
    }
}

/// Changes the signed-in staff member's password (the current one first); their other
/// sessions end.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", security(("bearer" = [])),
    request_body = ChangePassword,
    responses((status = 204, description = "Changed"), (status = 400, description = "Malformed JSON", body = ErrorBody), (status = 401, description = "Not signed in, or the current password is wrong", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "The new password is too short or too long", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn change_password(
    State(s): State<AppState>,
    actor: Actor,
    headers: axum::http::HeaderMap,
    ApiJson(b): ApiJson<ChangePassword>,
) -> Result<StatusCode, Error> {
    let token = crate::limits::bearer(&headers).ok_or(Error::Unauthenticated)?;
    staff::change_password(&s.pool, &actor, token, &b.current_password, &b.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends this session on the server: the token stops working at once.
#[utoipa::path(post, path = "/api/v1/auth/sign-out", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, description = "Not signed in", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn sign_out(
    State(s): State<AppState>,
    actor: Actor,
    headers: axum::http::HeaderMap,
) -> Result<StatusCode, Error> {
    let token = crate::limits::bearer(&headers).ok_or(Error::Unauthenticated)?;
    staff::sign_out(&s.pool, &actor, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/devices/enroll", tag = "devices",
    request_body = EnrollRequest,
    responses((status = 201, description = "The device's token, shown once", body = Enrollment), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn enroll(
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
pub(super) async fn create_enroll_code(
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
pub(super) async fn list_devices(
    State(s): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<devices::DeviceView>>, Error> {
    Ok(Json(devices::list(&s.pool, &actor).await?))
}

#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "devices", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Device id")),
    responses((status = 204, description = "Revoked (or already revoked)"), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn revoke_device(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, Error> {
    devices::revoke(&s.pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", security(("bearer" = [])), request_body = NewCustomer,
    responses((status = 201, description = "Created, with its customer number", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn create_customer(
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
    responses((status = 200, description = "A page of customers, newest number first", body = CustomerPage), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 422, description = "Search text too long", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn list_customers(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<CustomerPage>, Error> {
    Ok(Json(customers::list(&s.pool, &actor, q).await?))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "The customer, active or not", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn get_customer(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(customers::get(&s.pool, &actor, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")), request_body = CustomerPatch,
    responses((status = 200, description = "The changed customer", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn patch_customer(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<CustomerPatch>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(customers::update(&s.pool, &actor, id, b).await?))
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Deactivated (soft delete)", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn deactivate_customer(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(customers::deactivate(&s.pool, &actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/reactivate", tag = "customers", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Active again (or already active)", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed (managers and admins)", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Another active customer now holds the phone (`customer.phone-taken`, the message names them), or the customer was merged (`customer.merged`)", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn reactivate_customer(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(customers::reactivate(&s.pool, &actor, id).await?))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/history", tag = "customers", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id"), crate::history::HistoryQuery),
    responses((status = 200, description = "Audit entries of the customer and its addresses (names of fields, never values) and its merges, newest first", body = crate::history::CustomerHistory), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed (managers and admins)", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn customer_history(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<crate::history::HistoryQuery>,
) -> Result<Json<crate::history::CustomerHistory>, Error> {
    Ok(Json(crate::history::history(&s.pool, &actor, id, q).await?))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id"), OrdersQuery),
    responses((status = 200, description = "The customer's orders, newest first (a merged customer has none: they moved to the customer it was merged into)", body = OrderPage), (status = 400, description = "Malformed path or query (a `before` that is not one of this customer's orders too)", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn list_orders(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<OrdersQuery>,
) -> Result<Json<OrderPage>, Error> {
    Ok(Json(orders::list(&s.pool, &actor, id, q).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/orders", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")), request_body = NewOrder,
    responses((status = 201, description = "Recorded, with the points it earned", body = OrderRecord), (status = 200, description = "Recorded before under this id (a retry): the stored order, nothing changed", body = OrderRecord), (status = 400, description = "Malformed JSON or path", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "The customer is deactivated (`customer.inactive`) or merged (`customer.merged`), or another order has this id (`customer.id-taken`)", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input (`validation.*`) or a body of the wrong shape", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn record_order(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<NewOrder>,
) -> Result<(StatusCode, Json<OrderRecord>), Error> {
    let (made, order) = orders::record(&s.pool, &actor, id, b).await?;
    Ok((made.status(), Json(order)))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/points", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")), request_body = NewAdjustment,
    responses((status = 201, description = "Adjusted: the customer's points now", body = LoyaltyPoints), (status = 200, description = "Adjusted before under this id (a retry): nothing changed", body = LoyaltyPoints), (status = 400, description = "Malformed JSON or path", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed (managers and admins)", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Fewer points than taken away (`loyalty.points-below-zero`), the customer deactivated or merged, or another adjustment has this id", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input (`validation.*`) or a body of the wrong shape", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn adjust_points(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<NewAdjustment>,
) -> Result<(StatusCode, Json<LoyaltyPoints>), Error> {
    let (made, points) = orders::adjust_points(&s.pool, &actor, id, b).await?;
    Ok((made.status(), Json(points)))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/addresses", tag = "addresses", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Addresses, default first", body = Vec<AddressView>), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn list_addresses(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<AddressView>>, Error> {
    Ok(Json(addresses::list(&s.pool, &actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/addresses", tag = "addresses", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")), request_body = NewAddress,
    responses((status = 201, description = "Added", body = AddressView), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn add_address(
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
pub(super) async fn patch_address(
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
pub(super) async fn delete_address(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath((id, address)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, Error> {
    addresses::delete(&s.pool, &actor, id, address).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/addresses/{address_id}/default", tag = "addresses", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id"), ("address_id" = Uuid, Path, description = "Address id")),
    responses((status = 200, description = "The new default address", body = AddressView), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn default_address(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath((id, address)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<AddressView>, Error> {
    Ok(Json(
        addresses::set_default(&s.pool, &actor, id, address).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/customers/send-otp", tag = "otp", security(("bearer" = [])), request_body = SendOtp,
    responses((status = 200, description = "Code sent by SMS, or by WhatsApp to a customer who prefers it", body = OtpSent), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody), (status = 502, description = "SMS provider failed (WhatsApp and its SMS fallback)", body = ErrorBody)))]
pub(super) async fn send_otp(
    State(s): State<AppState>,
    actor: Actor,
    ClientIp(ip): ClientIp,
    RequestLocale(locale): RequestLocale,
    ApiJson(b): ApiJson<SendOtp>,
) -> Result<Json<OtpSent>, Error> {
    Ok(Json(
        otp::send(&s.pool, &s.otp, &actor, b, ip, locale).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/customers/verify-otp", tag = "otp", security(("bearer" = [])), request_body = VerifyOtp,
    responses((status = 200, description = "The customer, phone verified", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "The customer cannot have a verified phone (a walk-in guest, or inactive)", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn verify_otp(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<VerifyOtp>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(otp::verify(&s.pool, &s.otp, &actor, b).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/upgrade", tag = "otp", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Customer id")), request_body = Upgrade,
    responses((status = 200, description = "The customer, now full", body = Customer), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn upgrade_customer(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<Upgrade>,
) -> Result<Json<Customer>, Error> {
    Ok(Json(otp::upgrade(&s.pool, &s.otp, &actor, id, b).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/merge", tag = "customers", security(("bearer" = [])), request_body = crate::merge::MergeRequest,
    responses((status = 200, description = "Merged", body = crate::merge::MergeResult), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed", body = ErrorBody), (status = 404, description = "Not found in your tenant", body = ErrorBody), (status = 409, description = "Conflicts with the record's state", body = ErrorBody), (status = 415, description = "Body is not JSON", body = ErrorBody), (status = 422, description = "Invalid input or business rule", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn merge_customers(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<crate::merge::MergeRequest>,
) -> Result<Json<crate::merge::MergeResult>, Error> {
    Ok(Json(crate::merge::merge(&s.pool, &actor, b).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/merges/{id}/undo", tag = "customers", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The merge (its `mergeId`)")),
    responses((status = 200, description = "Undone (or undone already: nothing changes): the duplicate is active again with what moved; the customer that stayed gave back what it took", body = crate::merge::UndoResult), (status = 400, description = "Malformed path", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed (managers and admins)", body = ErrorBody), (status = 404, description = "No such merge in your tenant", body = ErrorBody), (status = 409, description = "More than 24 hours old (`merge.undo-expired`), unsafe since later changes (`merge.undo-unsafe`), or another active customer took the duplicate's phone (`customer.phone-taken`, the message names them)", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn undo_merge(
    State(s): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<crate::merge::UndoResult>, Error> {
    Ok(Json(crate::merge::undo(&s.pool, &actor, id).await?))
}

#[utoipa::path(get, path = "/api/v1/customers/export", tag = "customers", security(("bearer" = [])), params(crate::export::ExportQuery),
    responses((status = 200, description = "CSV (UTF-8 with BOM, streamed) or, with format=xlsx, an Excel workbook", content_type = "text/csv", body = String), (status = 400, description = "Malformed JSON, path or query", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Role not allowed", body = ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody)))]
pub(super) async fn export_customers(
    State(s): State<AppState>,
    actor: Actor,
    RequestLocale(locale): RequestLocale,
    ApiQuery(q): ApiQuery<crate::export::ExportQuery>,
) -> Result<axum::response::Response, Error> {
    let format = q.format.unwrap_or_default();
    let chunks = crate::export::start(&s.pool, &actor, q, locale).await?;
    // Fused: the compression layer polls a body once more after its end.
    let stream =
        futures_util::StreamExt::fuse(futures_util::stream::unfold(chunks, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        }));
    axum::response::Response::builder()
        .header(header::CONTENT_TYPE, format.content_type())
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", format.file_name()),
        )
        .body(axum::body::Body::from_stream(stream))
        .map_err(|e| Error::Internal(e.to_string()))
}
