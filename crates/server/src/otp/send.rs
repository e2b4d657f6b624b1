//! Sending a code: the shop's policy and the caps are checked and the code recorded in the
//! caller's transaction ([`issue_code`]); the text goes out after it commits ([`deliver`]),
//! with no transaction open and no connection held — by WhatsApp or SMS, with at most one SMS
//! fallback, all for the one code (and the one send the caps counted).

use super::{code_channel, lock_target, new_code, seconds_until, Otp, OtpSent, SendOtp};
use crate::db;
use crate::error::{Error, OtpRefusal};
use crate::ids::TenantId;
use crate::sms::Channel;
use crate::staff::Actor;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{Pool, Transaction};
use dukkan_core::i18n::Locale;
use dukkan_core::phone::mask_e164;
use dukkan_core::rules::Refusal;
use dukkan_core::{CustomerKind, LocalizedMessage, MessageArg};
use std::net::IpAddr;
use uuid::Uuid;

/// Where a request for a code comes from, for the hourly cap per client.
#[derive(Debug, Clone, Copy)]
pub enum Requester {
    /// A REST call from this address.
    Ip(IpAddr),
    /// An enrolled device, on whose behalf the server sends a queued upgrade's code.
    Device(Uuid),
}

/// Sends a code to the customer's phone.
pub async fn send(
    pool: &Pool,
    otp: &Otp,
    actor: &Actor,
    request: SendOtp,
    client: IpAddr,
    locale: Locale,
) -> Result<OtpSent, Error> {
    let mut conn = pool.get().await?;
    let tx = db::tenant_tx(&mut conn, actor.tenant).await?;
    let target = lock_target(&tx, actor.tenant, request.customer_id).await?;
    let channel = code_channel(
        target
            .preferences
            .as_ref()
            .map_or(&[][..], |p| p.channels.as_slice()),
    );
    let phone = match (&target.kind, &target.phone) {
        (CustomerKind::Guest, _) | (_, None) => {
            return Err(Error::Refused(Refusal::GuestCannotUpgrade))
        }
        (CustomerKind::Full, _) => return Err(Error::Refused(Refusal::AlreadyFull)),
        (_, Some(p)) => p.clone(),
    };
    let issued = issue_code(
        &tx,
        otp,
        actor.tenant,
        Recipient {
            customer: request.customer_id,
            phone: &phone,
            language: request.language.unwrap_or(locale),
            channel,
        },
        Requester::Ip(client),
    )
    .await?;
    tx.commit().await?;
    drop(conn);
    match deliver(pool, otp, &issued).await? {
        Delivery::Sent { channel } => Ok(OtpSent {
            channel,
            ..issued.sent
        }),
        Delivery::Refused => Err(Error::Otp(OtpRefusal::SmsFailed)),
        Delivery::Unconfirmed => Err(Error::Otp(OtpRefusal::SmsUnconfirmed)),
    }
}

/// A code recorded in the caller's transaction, to be sent once that commits.
pub(crate) struct Issued {
    id: Uuid,
    tenant: TenantId,
    phone: String,
    body: String,
    /// The channel the customer prefers (WhatsApp goes out only with a WhatsApp sender).
    channel: Channel,
    /// Codes this one replaced (given back if the provider refuses the text).
    replaced: Vec<Uuid>,
    pub sent: OtpSent,
}

/// What became of a code's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Out on `channel` (SMS also when a WhatsApp message failed and the SMS fallback went).
    Sent { channel: Channel },
    /// The provider said no: the code is deleted (it never went out; no cooldown starts) and
    /// the codes it replaced are valid again.
    Refused,
    /// The request failed in transit (timeout, connection lost): the text may have arrived, so
    /// the code stays valid and the cooldown applies.
    Unconfirmed,
}

/// Sends a recorded code — after the caller committed, outside any transaction and holding no
/// pooled connection while the provider answers (a slow provider cannot exhaust the pool). A
/// WhatsApp message that surely did not go out is followed by one SMS of the same text (same
/// code): no new code, no new row, so the cooldown and caps see one send.
pub(crate) async fn deliver(pool: &Pool, otp: &Otp, issued: &Issued) -> Result<Delivery, Error> {
    let phone = mask_e164(&issued.phone);
    let preferred = issued.channel.as_str();
    match crate::sms::send_preferring(&*otp.sms, issued.channel, &issued.phone, &issued.body).await
    {
        Ok(sent) => {
            tracing::info!(
                tenant = %issued.tenant,
                %phone,
                preferred,
                channel = sent.channel.as_str(),
                fallback = sent.fell_back,
                "OTP sent"
            );
            Ok(Delivery::Sent {
                channel: sent.channel,
            })
        }
        Err(e) if e.nothing_sent() => {
            tracing::warn!(tenant = %issued.tenant, %phone, preferred, code = ?e.code(), "OTP message refused; code withdrawn");
            let mut conn = pool.get().await?;
            let tx = db::tenant_tx(&mut conn, issued.tenant).await?;
            tx.execute(
                "DELETE FROM otp_codes WHERE tenant_id = $1 AND id = $2",
                &[&issued.tenant.0, &issued.id],
            )
            .await?;
            tx.execute(
                "UPDATE otp_codes SET consumed_at = NULL WHERE tenant_id = $1 AND id = ANY($2)",
                &[&issued.tenant.0, &issued.replaced],
            )
            .await?;
            tx.commit().await?;
            Ok(Delivery::Refused)
        }
        Err(e) => {
            tracing::warn!(tenant = %issued.tenant, %phone, preferred, error = %e, "OTP message unconfirmed; code kept");
            Ok(Delivery::Unconfirmed)
        }
    }
}

/// Whom a code is for, and how they read it.
pub(crate) struct Recipient<'a> {
    pub customer: Uuid,
    /// E.164.
    pub phone: &'a str,
    /// The language of the message.
    pub language: Locale,
    /// The channel the customer prefers (WhatsApp goes out only with a WhatsApp sender).
    pub channel: Channel,
}

/// Records a new code for `phone` in `tx`, after the shop's policy (countries, daily cap), the
/// cooldown and the hourly caps (per phone, and per client address or device) allow it. The
/// caller commits, then sends it with [`deliver`] on the recipient's channel (or by SMS). Sends
/// for one phone are serialised by an advisory lock.
pub(crate) async fn issue_code(
    tx: &Transaction<'_>,
    otp: &Otp,
    tenant: TenantId,
    recipient: Recipient<'_>,
    requester: Requester,
) -> Result<Issued, Error> {
    let Recipient {
        customer,
        phone,
        language,
        channel,
    } = recipient;
    let s = &otp.settings;
    let mut channel = channel;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&format!("otp:{tenant}:{phone}")],
    )
    .await?;
    let now = otp.clock.now();
    // The shop's policy: the countries it texts, and its codes in 24 hours.
    let policy = tx
        .query_one(
            "SELECT t.sms_countries, t.sms_daily_cap,
                    (SELECT count(*) FROM otp_codes c
                     WHERE c.tenant_id = t.id AND c.created_at > $2),
                    (SELECT min(c.created_at) FROM otp_codes c
                     WHERE c.tenant_id = t.id AND c.created_at > $2)
             FROM tenants t WHERE t.id = $1",
            &[&tenant.0, &(now - Duration::days(1))],
        )
        .await?;
    let countries: Vec<String> = policy.get(0);
    let region = dukkan_core::phone::region_of(phone);
    if !region.is_some_and(|r| countries.contains(&r)) {
        tracing::info!(%tenant, phone = %mask_e164(phone), "OTP refused: country not served");
        return Err(Error::Otp(OtpRefusal::CountryNotAllowed));
    }
    let (cap, today): (i32, i64) = (policy.get(1), policy.get(2));
    if today >= i64::from(cap) {
        let oldest: Option<DateTime<Utc>> = policy.get(3);
        let retry = oldest.map_or(86_400, |o| seconds_until(o + Duration::days(1), now));
        tracing::warn!(%tenant, cap, "OTP refused: the shop's daily cap is reached");
        return Err(Error::Otp(OtpRefusal::ShopDailyCap { seconds: retry }));
    }
    let hour_ago = now - Duration::hours(1);
    let row = tx
        .query_one(
            "SELECT max(created_at), count(*) FILTER (WHERE created_at > $3),
                    min(created_at) FILTER (WHERE created_at > $3),
                    coalesce(bool_or(channel = 'whatsapp') FILTER (WHERE created_at > $3), false)
             FROM otp_codes WHERE tenant_id = $1 AND phone = $2",
            &[&tenant.0, &phone, &hour_ago],
        )
        .await?;
    let last: Option<DateTime<Utc>> = row.get(0);
    if let Some(last) = last.filter(|l| now < *l + s.cooldown) {
        return Err(Error::Otp(OtpRefusal::Cooldown {
            seconds: seconds_until(last + s.cooldown, now),
        }));
    }
    let (in_hour, oldest): (i64, Option<DateTime<Utc>>) = (row.get(1), row.get(2));
    // A new code asked for within the hour of a WhatsApp one goes by SMS: the customer who asks
    // again did not get it (WhatsApp failures often reach Twilio only after it answered).
    if channel == Channel::Whatsapp && row.get::<_, bool>(3) {
        channel = Channel::Sms;
    }
    if in_hour >= s.per_phone_per_hour {
        let retry = oldest.map_or(3600, |o| seconds_until(o + Duration::hours(1), now));
        return Err(Error::Otp(OtpRefusal::RateLimited { seconds: retry }));
    }
    let (client_ip, device) = match requester {
        Requester::Ip(ip) => (Some(ip), None),
        Requester::Device(d) => (None, Some(d)),
    };
    let by_client = match requester {
        Requester::Ip(ip) => {
            tx.query_one(
                "SELECT count(*), min(created_at) FROM otp_codes
                 WHERE tenant_id = $1 AND client_ip = $2 AND created_at > $3",
                &[&tenant.0, &ip, &hour_ago],
            )
            .await?
        }
        Requester::Device(d) => {
            tx.query_one(
                "SELECT count(*), min(created_at) FROM otp_codes
                 WHERE tenant_id = $1 AND device_id = $2 AND created_at > $3",
                &[&tenant.0, &d, &hour_ago],
            )
            .await?
        }
    };
    if by_client.get::<_, i64>(0) >= s.per_client_per_hour {
        let oldest: Option<DateTime<Utc>> = by_client.get(1);
        let retry = oldest.map_or(3600, |o| seconds_until(o + Duration::hours(1), now));
        return Err(Error::Otp(OtpRefusal::RateLimited { seconds: retry }));
    }
    // A new code replaces any earlier one.
    let replaced: Vec<Uuid> = tx
        .query(
            "UPDATE otp_codes SET consumed_at = $3
             WHERE tenant_id = $1 AND phone = $2 AND consumed_at IS NULL RETURNING id",
            &[&tenant.0, &phone, &now],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let code = new_code();
    let expires_at = now + s.ttl;
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO otp_codes (tenant_id, id, phone, customer_id, code_hash, created_at,
                                expires_at, client_ip, device_id, channel)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &tenant.0,
            &id,
            &phone,
            &customer,
            &otp.digest(tenant.0, phone, &code),
            &now,
            &expires_at,
            &client_ip,
            &device,
            &channel.as_str(),
        ],
    )
    .await?;
    let body = crate::messages::format(
        language,
        &LocalizedMessage::new("server-otp-sms").with("code", MessageArg::Text(code)),
    );
    Ok(Issued {
        id,
        tenant,
        phone: phone.to_owned(),
        body,
        channel,
        replaced,
        sent: OtpSent {
            phone_masked: mask_e164(phone),
            expires_at,
            resend_after_seconds: s.cooldown.num_seconds(),
            channel,
        },
    })
}
