//! Phone verification by one-time code, and the stub → full upgrade it unlocks.
//!
//! Codes: 6 digits from a CSPRNG, stored only as HMAC-SHA256 (server secret; tenant, phone and
//! code as input), 5-minute expiry, 3 attempts, 60 s resend cooldown, hourly caps per phone and
//! per client address, compared in constant time. Sends for one phone are serialised by an
//! advisory lock so two tills cannot both pass the cooldown check.
//!
//! A code goes by WhatsApp when the customer's contact channels include WhatsApp and the server
//! has a WhatsApp sender ([`code_channel`], [`crate::sms::send_preferring`]); a WhatsApp message
//! that did not go out is sent once by SMS. Either way it is one code and one send: the caps
//! count codes, so a fallback never adds to them.

use crate::apply;
use crate::clock::Clock;
use crate::db;
use crate::error::{Error, OtpRefusal};
use crate::ids::TenantId;
use crate::sms::{Channel, SmsSender};
use crate::staff::Actor;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{Pool, Transaction};
use dukkan_core::i18n::Locale;
use dukkan_core::phone::{mask_e164, verification_code};
use dukkan_core::rules::{self, Refusal};
use dukkan_core::{CustomerKind, Field, NotificationChannel, Preferences, ValidationError};
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;
use uuid::Uuid;

mod send;

type HmacSha256 = Hmac<Sha256>;

/// Shortest accepted OTP secret, in bytes.
pub const SECRET_MIN_BYTES: usize = 32;

/// The limits of the OTP flow.
#[derive(Debug, Clone)]
pub struct OtpSettings {
    pub ttl: Duration,
    pub max_attempts: i32,
    pub cooldown: Duration,
    pub per_phone_per_hour: i64,
    pub per_client_per_hour: i64,
}

impl Default for OtpSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::minutes(5),
            max_attempts: 3,
            cooldown: Duration::seconds(60),
            per_phone_per_hour: 5,
            per_client_per_hour: 20,
        }
    }
}

/// The OTP service: secret, SMS sender, clock, limits.
pub struct Otp {
    /// HMAC keyed with the server secret, cloned for each code.
    keyed: HmacSha256,
    sms: Arc<dyn SmsSender>,
    clock: Arc<dyn Clock>,
    pub settings: OtpSettings,
}

/// Why the OTP service could not be built.
#[derive(Debug, thiserror::Error)]
#[error("OTP_SECRET must be at least {SECRET_MIN_BYTES} bytes")]
pub struct WeakSecret;

impl Otp {
    pub fn new(
        secret: &[u8],
        sms: Arc<dyn SmsSender>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, WeakSecret> {
        if secret.len() < SECRET_MIN_BYTES {
            return Err(WeakSecret);
        }
        Ok(Self {
            keyed: HmacSha256::new_from_slice(secret).map_err(|_| WeakSecret)?,
            sms,
            clock,
            settings: OtpSettings::default(),
        })
    }

    /// The OTP clock's time (injected in tests).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn mac(&self, tenant: Uuid, phone: &str, code: &str) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(tenant.as_bytes());
        mac.update(phone.as_bytes());
        mac.update(b":");
        mac.update(code.as_bytes());
        mac
    }

    /// The keyed hash stored for `code`.
    pub fn digest(&self, tenant: Uuid, phone: &str, code: &str) -> Vec<u8> {
        self.mac(tenant, phone, code)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Constant-time comparison of `code` with a stored digest.
    pub fn matches(&self, tenant: Uuid, phone: &str, code: &str, stored: &[u8]) -> bool {
        self.mac(tenant, phone, code).verify_slice(stored).is_ok()
    }
}

/// A new 6-digit code from the thread CSPRNG.
fn new_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// `POST /customers/send-otp`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendOtp {
    pub customer_id: Uuid,
    /// Language of the text message; the request's Accept-Language when absent.
    pub language: Option<Locale>,
}

/// What the till shows after a send: never the code, never the whole number.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OtpSent {
    pub phone_masked: String,
    pub expires_at: DateTime<Utc>,
    pub resend_after_seconds: i64,
    /// Where the code went: `whatsapp`, or `sms` (also when a WhatsApp message failed and the
    /// code went by SMS instead).
    pub channel: Channel,
}

/// The channel a code is meant to go on for a customer with these contact channels: WhatsApp
/// when they include it, else SMS (a code always goes to the phone, whatever else is chosen).
pub(crate) fn code_channel(channels: &[NotificationChannel]) -> Channel {
    if channels.contains(&NotificationChannel::Whatsapp) {
        Channel::Whatsapp
    } else {
        Channel::Sms
    }
}

/// `POST /customers/verify-otp`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyOtp {
    pub customer_id: Uuid,
    pub code: String,
}

/// `POST /customers/{id}/upgrade`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Upgrade {
    /// Needed unless the phone was verified already (verify-otp).
    pub otp_code: Option<String>,
    pub email: String,
    pub preferences: Option<crate::customers::PreferencesInput>,
}

pub(crate) struct Target {
    pub kind: CustomerKind,
    pub phone: Option<String>,
    /// The customer's saved preferences (their contact channels).
    pub preferences: Option<Preferences>,
}

/// Locks the customer a code is for and reads what decides whether it may have one: a
/// customer the rules still let change (active, not merged).
pub(crate) async fn lock_target(
    tx: &Transaction<'_>,
    tenant: TenantId,
    id: Uuid,
) -> Result<Target, Error> {
    let state = crate::apply::load_state(tx, tenant.0, id).await?;
    state.changeable()?;
    Ok(Target {
        kind: state.kind,
        phone: state.phone,
        preferences: state.preferences,
    })
}

/// Whole seconds from `now` until `later`, rounded up (at least 1).
fn seconds_until(later: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    ((later - now).num_milliseconds() + 999)
        .div_euclid(1000)
        .max(1)
}

pub(crate) use send::{deliver, issue_code, Delivery, Recipient};
pub use send::{send, Requester};

/// What a typed code turned out to be. Every outcome's writes (a used-up attempt, the code
/// consumed) are in the caller's transaction, which commits them whatever it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeCheck {
    /// Right: the code is consumed.
    Accepted,
    /// Not six digits: no attempt used.
    Malformed,
    /// No live code for the phone (never sent, used, or replaced).
    NoCode,
    /// Wrong: one attempt used, this many left.
    Wrong {
        attempts_left: i32,
    },
    /// No attempts left: a new code is needed.
    Locked,
    Expired,
}

impl CodeCheck {
    /// The refusal a REST caller gets for anything but `Accepted`.
    pub(crate) fn refusal(self) -> Option<OtpRefusal> {
        match self {
            CodeCheck::Accepted => None,
            CodeCheck::Malformed | CodeCheck::NoCode | CodeCheck::Wrong { .. } => {
                Some(OtpRefusal::Invalid)
            }
            CodeCheck::Locked => Some(OtpRefusal::Locked),
            CodeCheck::Expired => Some(OtpRefusal::Expired),
        }
    }
}

/// Checks `code` against the phone's live code, in constant time.
pub(crate) async fn check_code(
    tx: &Transaction<'_>,
    otp: &Otp,
    tenant: TenantId,
    phone: &str,
    code: &str,
) -> Result<CodeCheck, Error> {
    let Some(code) = verification_code(code) else {
        return Ok(CodeCheck::Malformed);
    };
    let now = otp.clock.now();
    let Some(row) = tx
        .query_opt(
            "SELECT id, code_hash, attempts, expires_at FROM otp_codes
             WHERE tenant_id = $1 AND phone = $2 AND consumed_at IS NULL
             ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
            &[&tenant.0, &phone],
        )
        .await?
    else {
        return Ok(CodeCheck::NoCode);
    };
    let id: Uuid = row.get(0);
    let stored: Vec<u8> = row.get(1);
    let attempts: i32 = row.get(2);
    let expires_at: DateTime<Utc> = row.get(3);
    if attempts >= otp.settings.max_attempts {
        return Ok(CodeCheck::Locked);
    }
    if now >= expires_at {
        return Ok(CodeCheck::Expired);
    }
    if !otp.matches(tenant.0, phone, &code, &stored) {
        tx.execute(
            "UPDATE otp_codes SET attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2",
            &[&tenant.0, &id],
        )
        .await?;
        tracing::info!(phone = %mask_e164(phone), attempt = attempts + 1, "wrong OTP");
        let left = otp.settings.max_attempts - (attempts + 1);
        return Ok(if left <= 0 {
            CodeCheck::Locked
        } else {
            CodeCheck::Wrong {
                attempts_left: left,
            }
        });
    }
    tx.execute(
        "UPDATE otp_codes SET consumed_at = $3 WHERE tenant_id = $1 AND id = $2",
        &[&tenant.0, &id, &now],
    )
    .await?;
    Ok(CodeCheck::Accepted)
}

/// Checks the code for a REST caller: anything but a right code commits what the check wrote
/// (a used-up attempt) and answers the refusal.
async fn require_code<'t>(
    tx: Transaction<'t>,
    otp: &Otp,
    tenant: TenantId,
    phone: &str,
    code: &str,
) -> Result<Transaction<'t>, Error> {
    match check_code(&tx, otp, tenant, phone, code).await?.refusal() {
        None => Ok(tx),
        Some(refusal) => {
            tx.commit().await?;
            Err(Error::Otp(refusal))
        }
    }
}

/// Verifies the code sent to the customer's phone; the customer's phone becomes verified.
pub async fn verify(
    pool: &Pool,
    otp: &Otp,
    actor: &Actor,
    request: VerifyOtp,
) -> Result<crate::customers::Customer, Error> {
    let mut conn = pool.get().await?;
    let tx = db::tenant_tx(&mut conn, actor.tenant).await?;
    let target = lock_target(&tx, actor.tenant, request.customer_id).await?;
    let phone = target
        .phone
        .clone()
        .ok_or(Error::Refused(Refusal::GuestCannotUpgrade))?;
    let tx = require_code(tx, otp, actor.tenant, &phone, &request.code).await?;
    apply::phone_verified(&tx, &actor.into(), request.customer_id, &phone).await?;
    tx.commit().await?;
    crate::customers::get(pool, actor, request.customer_id).await
}

/// Upgrades a stub to a full profile: verified phone (by `otpCode` now, or earlier), email,
/// preferences. Only the server ever sets a profile to full.
pub async fn upgrade(
    pool: &Pool,
    otp: &Otp,
    actor: &Actor,
    id: Uuid,
    request: Upgrade,
) -> Result<crate::customers::Customer, Error> {
    let preferences = request
        .preferences
        .as_ref()
        .map(crate::customers::PreferencesInput::parse)
        .transpose()?
        .unwrap_or_default();
    let mut conn = pool.get().await?;
    let tx = db::tenant_tx(&mut conn, actor.tenant).await?;
    let target = crate::apply::load_state(&tx, actor.tenant.0, id).await?;
    // Refused before a code is spent on it.
    rules::decide_full(
        &target,
        request.otp_code.is_some(),
        &request.email,
        &preferences,
    )
    .map_err(|r| match r {
        Refusal::OtpRequired => Error::Otp(OtpRefusal::PhoneNotVerified),
        other => other.into(),
    })?;
    let phone = target
        .phone
        .clone()
        .ok_or(ValidationError::Required(Field::Phone))?;
    let tx = match &request.otp_code {
        Some(code) => require_code(tx, otp, actor.tenant, &phone, code).await?,
        None => tx,
    };
    let code_for = request.otp_code.as_ref().map(|_| phone.as_str());
    apply::make_full(
        &tx,
        &actor.into(),
        id,
        &request.email,
        &preferences,
        code_for,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant = %actor.tenant, customer = %id, "customer upgraded to full");
    crate::customers::get(pool, actor, id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::sms::DevSink;

    fn otp() -> Otp {
        Otp::new(
            &[7u8; 32],
            Arc::new(DevSink::default()),
            Arc::new(SystemClock),
        )
        .unwrap()
    }

    #[test]
    fn codes_are_six_digits_and_typed_codes_are_normalised() {
        for _ in 0..100 {
            let c = new_code();
            assert!(c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()), "{c}");
        }
        assert_eq!(verification_code(" ١٢٣ ٤٥٦ ").as_deref(), Some("123456"));
        assert_eq!(verification_code("12345"), None);
        assert_eq!(verification_code("12345a"), None);
        assert_eq!(verification_code(&"1".repeat(1000)), None);
    }

    #[test]
    fn the_stored_hash_depends_on_the_secret_tenant_phone_and_code() {
        let o = otp();
        let t = Uuid::now_v7();
        let d = o.digest(t, "+96892123456", "123456");
        assert_eq!(d.len(), 32);
        assert_ne!(d, b"123456".to_vec());
        assert!(o.matches(t, "+96892123456", "123456", &d));
        assert!(!o.matches(t, "+96892123456", "123457", &d));
        assert!(!o.matches(Uuid::now_v7(), "+96892123456", "123456", &d));
        assert!(!o.matches(t, "+96892123457", "123456", &d));
        let other = Otp::new(
            &[8u8; 32],
            Arc::new(DevSink::default()),
            Arc::new(SystemClock),
        )
        .unwrap();
        assert!(!other.matches(t, "+96892123456", "123456", &d));
    }

    #[test]
    fn a_code_goes_by_whatsapp_only_for_customers_whose_channels_include_it() {
        use NotificationChannel::{Email, Sms, Whatsapp};
        assert_eq!(code_channel(&[Whatsapp]), Channel::Whatsapp);
        assert_eq!(code_channel(&[Whatsapp, Sms]), Channel::Whatsapp);
        assert_eq!(code_channel(&[Whatsapp, Email]), Channel::Whatsapp);
        assert_eq!(code_channel(&[Sms]), Channel::Sms);
        assert_eq!(code_channel(&[Email]), Channel::Sms);
        assert_eq!(code_channel(&[]), Channel::Sms);
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(Otp::new(
            &[1u8; 16],
            Arc::new(DevSink::default()),
            Arc::new(SystemClock)
        )
        .is_err());
    }
}
