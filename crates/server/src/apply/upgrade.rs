//! Phone verification and the stub → full upgrade. Only the server makes a profile full, once
//! a code sent to the phone was read back (the code is checked by `crate::otp`, for REST, and
//! `crate::upgrades`, for a till's queued request); the rules are `rules::decide_full`.

use super::{load_state, record, refresh_search_text, Acting};
use crate::error::Error;
use deadpool_postgres::Transaction;
use dukkan_core::rules::{self, Action};
use dukkan_core::{Email, Preferences};
use uuid::Uuid;

/// Marks `id`'s phone verified and links the customer to the phone's global identity.
/// Returns whether it was not verified before.
async fn verify_phone(
    tx: &Transaction<'_>,
    acting: &Acting,
    id: Uuid,
    phone: &str,
) -> Result<bool, Error> {
    // The app role may insert identities but never change one.
    let inserted = tx
        .query_opt(
            "INSERT INTO phone_identities (id, phone) VALUES ($1, $2)
             ON CONFLICT (phone) DO NOTHING RETURNING id",
            &[&Uuid::now_v7(), &phone],
        )
        .await?;
    let identity: Uuid = match inserted {
        Some(row) => row.get(0),
        None => tx
            .query_one(
                "SELECT id FROM phone_identities WHERE phone = $1",
                &[&phone],
            )
            .await?
            .get(0),
    };
    let changed = tx
        .execute(
            "UPDATE customers SET phone_verified = true, identity_id = $3, updated_at = now(),
                    updated_by = $4, updated_device = $5
             WHERE tenant_id = $1 AND id = $2 AND phone = $6
               AND (NOT phone_verified OR identity_id IS DISTINCT FROM $3)",
            &[
                &acting.tenant,
                &id,
                &identity,
                &acting.staff,
                &acting.device,
                &phone,
            ],
        )
        .await?;
    Ok(changed > 0)
}

/// The code sent to `phone` was read back: the customer's phone is verified (recorded when it
/// was not before).
pub(crate) async fn phone_verified(
    tx: &Transaction<'_>,
    acting: &Acting,
    id: Uuid,
    phone: &str,
) -> Result<(), Error> {
    load_state(tx, acting.tenant, id).await?.changeable()?;
    if verify_phone(tx, acting, id, phone).await? {
        record(tx, acting, id, "verify-phone", &["phoneVerified"]).await?;
    }
    Ok(())
}

/// Makes the stub `id` a full profile with `email` and `preferences`, as the rules decide:
/// `code_for`, the phone a code was just read back for (verifying it now), or `None` when the
/// phone must be verified already. A till's queued request is answered too.
pub(crate) async fn make_full(
    tx: &Transaction<'_>,
    acting: &Acting,
    id: Uuid,
    email: &str,
    preferences: &Preferences,
    code_for: Option<&str>,
) -> Result<(), Error> {
    rules::authorize(acting.role, Action::CompleteUpgrade)?;
    let state = load_state(tx, acting.tenant, id).await?;
    let verified_now = code_for.is_some() && code_for == state.phone.as_deref();
    let (email, preferences): (Email, Preferences) =
        rules::decide_full(&state, verified_now, email, preferences)?;
    if let Some(phone) = code_for.filter(|_| verified_now) {
        verify_phone(tx, acting, id, phone).await?;
    }
    tx.execute(
        "UPDATE customers SET kind = 'full', email = $3, preferences = $4, updated_at = now(),
                updated_by = $5, updated_device = $6
         WHERE tenant_id = $1 AND id = $2",
        &[
            &acting.tenant,
            &id,
            &email.as_str(),
            &serde_json::to_value(&preferences).map_err(|e| Error::Internal(e.to_string()))?,
            &acting.staff,
            &acting.device,
        ],
    )
    .await?;
    refresh_search_text(tx, acting.tenant, id).await?;
    // A request queued from a till is answered by this upgrade, however it came about.
    tx.execute(
        "UPDATE upgrade_requests SET state = 'verified', error_code = NULL, code_expires_at = NULL,
                updated_at = now()
         WHERE tenant_id = $1 AND customer_id = $2",
        &[&acting.tenant, &id],
    )
    .await?;
    record(
        tx,
        acting,
        id,
        "upgrade",
        &["type", "phoneVerified", "email", "preferences"],
    )
    .await
}
