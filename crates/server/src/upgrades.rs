//! The OTP upgrade queue: upgrades stub → full requested on a device, possibly offline.
//!
//! The request reaches the server as an `upgrade_requested` op (stored `queued` by
//! [`crate::push`]). Once that push commits, the server sends the code (cooldown and hourly caps
//! apply, per phone and per device; by WhatsApp when the request's contact channels include it
//! and a WhatsApp sender is configured, with one SMS fallback) and the request becomes `sent`;
//! the cashier then submits the
//! code the customer reads out, online, and only the server sets the profile `full` with its
//! phone verified (`verified`). Too many wrong codes end in `failed` (`otp.locked`), a provider
//! refusal in `failed` (`sms.failed`), a late code in `expired`; a new code can be asked for from
//! any of these. Every state change is a change-feed entry, so the device learns it by pulling.

use crate::apply::{self, Acting};
use crate::changes::{self, Author, Entity};
use crate::db;
use crate::devices::DeviceActor;
use crate::error::{Error, OtpRefusal};
use crate::ids::TenantId;
use crate::otp::{self, CodeCheck, Otp, Requester};
use chrono::{DateTime, Utc};
use deadpool_postgres::{Pool, Transaction};
use dukkan_core::i18n::Locale;
use dukkan_core::phone::mask_e164;
use dukkan_core::sync::{UpgradeState, UpgradeStatus};
use dukkan_core::{CustomerId, CustomerKind, Preferences};
use uuid::Uuid;

/// The request row, locked for the rest of the transaction.
struct Request {
    state: UpgradeState,
    email: String,
    preferences: serde_json::Value,
    language: Option<Locale>,
}

async fn lock_request(
    tx: &Transaction<'_>,
    tenant: TenantId,
    customer: Uuid,
) -> Result<Request, Error> {
    let row = tx
        .query_opt(
            "SELECT state, email, preferences, language FROM upgrade_requests
             WHERE tenant_id = $1 AND customer_id = $2 FOR UPDATE",
            &[&tenant.0, &customer],
        )
        .await?
        .ok_or(Error::NotFound)?;
    let state: &str = row.get(0);
    Ok(Request {
        state: UpgradeState::parse(state)
            .ok_or_else(|| Error::Internal(format!("upgrade state {state}")))?,
        email: row.get(1),
        preferences: row.get(2),
        language: row.get::<_, Option<&str>>(3).and_then(Locale::parse),
    })
}

/// Moves the request to `state` with `error`, and records the change for the devices.
async fn set_state(
    tx: &Transaction<'_>,
    author: Author,
    customer: Uuid,
    state: UpgradeState,
    error: Option<&str>,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE upgrade_requests SET state = $3, error_code = $4, updated_at = now(),
                code_expires_at = CASE WHEN $3 = 'sent' THEN code_expires_at END
         WHERE tenant_id = $1 AND customer_id = $2",
        &[&author.tenant.0, &customer, &state.as_str(), &error],
    )
    .await?;
    changes::record(
        tx,
        author,
        Entity::Customer,
        customer,
        "upgrade-state",
        &["upgrade"],
    )
    .await?;
    Ok(())
}

/// Where the request stands, as the device shows it.
async fn status(
    tx: &Transaction<'_>,
    tenant: TenantId,
    customer: Uuid,
    attempts_left: Option<i32>,
    error_override: Option<&str>,
) -> Result<UpgradeStatus, Error> {
    let row = tx
        .query_one(
            "SELECT u.state, u.error_code, u.code_expires_at, u.resend_after, c.phone
             FROM upgrade_requests u
             JOIN customers c ON c.tenant_id = u.tenant_id AND c.id = u.customer_id
             WHERE u.tenant_id = $1 AND u.customer_id = $2",
            &[&tenant.0, &customer],
        )
        .await?;
    let state: &str = row.get(0);
    let state = UpgradeState::parse(state)
        .ok_or_else(|| Error::Internal(format!("upgrade state {state}")))?;
    let ts = |i: usize| {
        row.get::<_, Option<DateTime<Utc>>>(i)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    let customer_snapshot = if state == UpgradeState::Verified {
        Some(crate::snapshots::snapshot(tx, tenant.0, customer).await?)
    } else {
        None
    };
    Ok(UpgradeStatus {
        customer_id: CustomerId::from_uuid(customer),
        state,
        error_code: error_override
            .map(str::to_owned)
            .or_else(|| row.get::<_, Option<String>>(1)),
        code_expires_at: ts(2),
        resend_after: ts(3),
        attempts_left: attempts_left.and_then(|n| u32::try_from(n).ok()),
        phone_masked: row.get::<_, Option<&str>>(4).map(mask_e164),
        customer: customer_snapshot,
    })
}

/// Commits `tx` and answers where the request now stands.
async fn finish(
    tx: Transaction<'_>,
    tenant: TenantId,
    customer: Uuid,
    attempts_left: Option<i32>,
    error: Option<&str>,
) -> Result<UpgradeStatus, Error> {
    let answer = status(&tx, tenant, customer, attempts_left, error).await?;
    tx.commit().await?;
    Ok(answer)
}

/// Sends the code for one request: after a push for `queued` requests (`resend` false), or when
/// the cashier asks for a new code (`resend` true, any state but `verified`).
pub(crate) async fn send_code(
    pool: &Pool,
    otp: &Otp,
    device: DeviceActor,
    customer: Uuid,
    resend: bool,
    fallback_language: Locale,
) -> Result<UpgradeStatus, Error> {
    let author = Author {
        tenant: device.tenant,
        staff: None,
        device: Some(device.device),
    };
    let mut conn = pool.get().await?;
    let mut tx = db::tenant_tx(&mut conn, device.tenant).await?;
    let request = lock_request(&tx, device.tenant, customer).await?;
    let wanted = match request.state {
        UpgradeState::Verified => false,
        UpgradeState::Queued => true,
        _ => resend,
    };
    if !wanted {
        return finish(tx, device.tenant, customer, None, None).await;
    }
    let target = otp::lock_target(&tx, device.tenant, customer).await?;
    let phone = match (target.kind, target.phone) {
        // Upgraded meanwhile (e.g. by a manager over REST): nothing to send.
        (CustomerKind::Full, _) => {
            set_state(&tx, author, customer, UpgradeState::Verified, None).await?;
            return finish(tx, device.tenant, customer, None, None).await;
        }
        (CustomerKind::Guest, _) | (_, None) => {
            set_state(
                &tx,
                author,
                customer,
                UpgradeState::Failed,
                Some("customer.guest-cannot-upgrade"),
            )
            .await?;
            return finish(tx, device.tenant, customer, None, None).await;
        }
        (CustomerKind::Stub, Some(phone)) => phone,
    };
    let language = request.language.unwrap_or(fallback_language);
    // The channels the customer gave with this request (they become the profile's), else the
    // ones saved on the customer.
    let requested: Vec<dukkan_core::NotificationChannel> =
        serde_json::from_value::<Preferences>(request.preferences.clone())
            .map(|p| p.channels)
            .unwrap_or_default();
    let channels = if requested.is_empty() {
        target.preferences.map(|p| p.channels).unwrap_or_default()
    } else {
        requested
    };
    // The code's own writes live in a savepoint: when the provider refuses, they are undone
    // (no cooldown starts) while the refusal itself is recorded.
    let sp = tx.savepoint("send").await?;
    let sent = otp::issue_code(
        &sp,
        otp,
        device.tenant,
        otp::Recipient {
            customer,
            phone: &phone,
            language,
            channel: otp::code_channel(&channels),
        },
        Requester::Device(device.device),
    )
    .await;
    match sent {
        Ok(issued) => {
            sp.commit().await?;
            let resend_after = otp.now() + otp.settings.cooldown;
            tx.execute(
                "UPDATE upgrade_requests SET code_expires_at = $3, resend_after = $4
                 WHERE tenant_id = $1 AND customer_id = $2",
                &[
                    &device.tenant.0,
                    &customer,
                    &issued.sent.expires_at,
                    &resend_after,
                ],
            )
            .await?;
            set_state(&tx, author, customer, UpgradeState::Sent, None).await?;
            tx.commit().await?;
            drop(conn);
            // The text goes out with no transaction open and no connection held.
            let outcome = otp::deliver(pool, otp, &issued).await?;
            let mut conn = pool.get().await?;
            let tx = db::tenant_tx(&mut conn, device.tenant).await?;
            match outcome {
                otp::Delivery::Sent { .. } => {}
                otp::Delivery::Refused => {
                    set_state(
                        &tx,
                        author,
                        customer,
                        UpgradeState::Failed,
                        Some("sms.failed"),
                    )
                    .await?;
                }
                otp::Delivery::Unconfirmed => {
                    set_state(
                        &tx,
                        author,
                        customer,
                        UpgradeState::Sent,
                        Some("sms.unconfirmed"),
                    )
                    .await?;
                }
            }
            return finish(tx, device.tenant, customer, None, None).await;
        }
        Err(Error::Otp(
            refusal @ (OtpRefusal::Cooldown { seconds }
            | OtpRefusal::RateLimited { seconds }
            | OtpRefusal::ShopDailyCap { seconds }),
        )) => {
            sp.rollback().await?;
            let code = match refusal {
                OtpRefusal::Cooldown { .. } => "otp.cooldown",
                OtpRefusal::ShopDailyCap { .. } => "otp.shop-daily-cap",
                _ => "otp.rate-limited",
            };
            let retry_at = otp.now() + chrono::Duration::seconds(seconds);
            tx.execute(
                "UPDATE upgrade_requests SET resend_after = $3 WHERE tenant_id = $1 AND customer_id = $2",
                &[&device.tenant.0, &customer, &retry_at],
            )
            .await?;
            // The state stays (queued, or sent with the earlier code still valid).
            set_state(&tx, author, customer, request.state, Some(code)).await?;
        }
        Err(Error::Otp(OtpRefusal::CountryNotAllowed)) => {
            sp.rollback().await?;
            set_state(
                &tx,
                author,
                customer,
                UpgradeState::Failed,
                Some("otp.country-not-allowed"),
            )
            .await?;
        }
        Err(other) => return Err(other),
    }
    finish(tx, device.tenant, customer, None, None).await
}

/// Sends the codes of this device's queued requests whose retry time has come. Run after each
/// push commits, off the request path: an SMS provider's latency never holds up sync.
pub async fn dispatch_queued(pool: &Pool, otp: &Otp, device: DeviceActor) -> Result<(), Error> {
    let due: Vec<Uuid> = {
        let mut conn = pool.get().await?;
        let tx = db::tenant_tx(&mut conn, device.tenant).await?;
        let rows = tx
            .query(
                "SELECT customer_id FROM upgrade_requests
                 WHERE tenant_id = $1 AND device_id = $2 AND state = 'queued'
                   AND (resend_after IS NULL OR resend_after <= $3)
                 ORDER BY requested_at LIMIT 50",
                &[&device.tenant.0, &device.device, &otp.now()],
            )
            .await?;
        tx.commit().await?;
        rows.iter().map(|r| r.get(0)).collect()
    };
    for customer in due {
        let answer = send_code(pool, otp, device, customer, false, Locale::Ar).await?;
        tracing::info!(
            tenant = %device.tenant,
            %customer,
            state = answer.state.as_str(),
            error = answer.error_code.as_deref().unwrap_or(""),
            "queued upgrade dispatched"
        );
    }
    Ok(())
}

/// Checks the code the customer read out; a right one makes the stub full with the email and
/// preferences of the request. Wrong, late or exhausted codes are answers, not errors.
pub async fn verify(
    pool: &Pool,
    otp: &Otp,
    device: DeviceActor,
    customer: Uuid,
    code: &str,
) -> Result<UpgradeStatus, Error> {
    let author = Author {
        tenant: device.tenant,
        staff: None,
        device: Some(device.device),
    };
    let mut conn = pool.get().await?;
    let tx = db::tenant_tx(&mut conn, device.tenant).await?;
    let request = lock_request(&tx, device.tenant, customer).await?;
    if request.state == UpgradeState::Verified {
        return finish(tx, device.tenant, customer, None, None).await;
    }
    let target = otp::lock_target(&tx, device.tenant, customer).await?;
    let phone = match (target.kind, target.phone) {
        (CustomerKind::Full, _) => {
            set_state(&tx, author, customer, UpgradeState::Verified, None).await?;
            return finish(tx, device.tenant, customer, None, None).await;
        }
        (CustomerKind::Stub, Some(phone)) => phone,
        _ => {
            return Err(Error::Refused(
                dukkan_core::rules::Refusal::GuestCannotUpgrade,
            ))
        }
    };
    let (attempts_left, error) =
        match otp::check_code(&tx, otp, device.tenant, &phone, code).await? {
            CodeCheck::Accepted => {
                let preferences: Preferences = serde_json::from_value(request.preferences)
                    .map_err(|e| Error::Internal(format!("queued preferences: {e}")))?;
                let acting = Acting {
                    tenant: device.tenant.0,
                    staff: None,
                    role: None,
                    device: Some(device.device),
                    at: None,
                };
                apply::make_full(
                    &tx,
                    &acting,
                    customer,
                    &request.email,
                    &preferences,
                    Some(&phone),
                )
                .await?;
                tracing::info!(tenant = %device.tenant, %customer, "queued upgrade verified");
                (None, None)
            }
            CodeCheck::Wrong { attempts_left } => (Some(attempts_left), Some("otp.invalid")),
            CodeCheck::Malformed => (None, Some("otp.invalid")),
            CodeCheck::NoCode => (None, Some("otp.no-code")),
            CodeCheck::Locked => {
                set_state(
                    &tx,
                    author,
                    customer,
                    UpgradeState::Failed,
                    Some("otp.locked"),
                )
                .await?;
                (Some(0), None)
            }
            CodeCheck::Expired => {
                set_state(
                    &tx,
                    author,
                    customer,
                    UpgradeState::Expired,
                    Some("otp.expired"),
                )
                .await?;
                (None, None)
            }
        };
    finish(tx, device.tenant, customer, attempts_left, error).await
}
