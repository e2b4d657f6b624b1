//! Sending text messages: Twilio's Messages API (SMS, and WhatsApp when the shop has a WhatsApp
//! sender), or a development sink.
//!
//! The two implementations are why this is a trait. Neither ever logs a whole phone number or
//! the message text (it holds a one-time code). [`send_preferring`] is the one policy for a
//! code: WhatsApp when the customer prefers it and a WhatsApp sender is configured, else SMS;
//! a WhatsApp message that surely did not go out is sent once more, by SMS.

use dukkan_core::phone::mask_e164;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The channel a message goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Whatsapp,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
        }
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("SMS provider refused the message: HTTP {status}, code {code:?}")]
    Refused { status: u16, code: Option<i64> },
    /// The provider created the message, but its answer already says it `failed` or was
    /// `undelivered`: nothing reached the phone.
    #[error("SMS provider created the message as {status}: code {code:?}")]
    Failed { status: String, code: Option<i64> },
    /// No connection to the provider: nothing was sent.
    #[error("SMS provider unreachable: {0}")]
    Unreachable(String),
    /// The request went out but no answer came (timeout, connection lost): the text may have
    /// been sent.
    #[error("SMS provider did not answer: {0}")]
    Transport(String),
}

impl SmsError {
    /// True when the message surely never reached the phone (refused, created as failed, or the
    /// provider not reached); false when it may have ([`SmsError::Transport`]).
    pub fn nothing_sent(&self) -> bool {
        !matches!(self, SmsError::Transport(_))
    }

    /// The provider's error code, when it gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            SmsError::Refused { code, .. } | SmsError::Failed { code, .. } => *code,
            _ => None,
        }
    }
}

/// A boxed future of a send.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>>;

/// Something that delivers a text message to an E.164 number: by SMS, and by WhatsApp when it
/// has a WhatsApp sender.
pub trait SmsSender: Send + Sync {
    /// Sends `body` by SMS.
    fn send<'a>(&'a self, to_e164: &'a str, body: &'a str) -> SendFuture<'a>;

    /// Whether this sender can send by WhatsApp (a WhatsApp sender is configured).
    fn whatsapp_enabled(&self) -> bool {
        false
    }

    /// Sends `body` by WhatsApp; callers check [`SmsSender::whatsapp_enabled`] first. Without a
    /// WhatsApp sender nothing is sent.
    fn send_whatsapp<'a>(&'a self, _to_e164: &'a str, _body: &'a str) -> SendFuture<'a> {
        Box::pin(async {
            Err(SmsError::Unreachable(
                "no WhatsApp sender configured".into(),
            ))
        })
    }
}

/// How a message went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub channel: Channel,
    /// WhatsApp was tried first and failed: this is the SMS fallback.
    pub fell_back: bool,
}

/// Sends `body` to `to_e164` on the `preferred` channel: by WhatsApp when that is preferred and
/// `sender` has a WhatsApp sender, else by SMS. When the WhatsApp message surely did not go out
/// (refused, created as `failed`/`undelivered`, provider not reached), the same body goes once by
/// SMS; when its answer was lost (it may have arrived), nothing more is sent. The error is the
/// last attempt's.
pub async fn send_preferring(
    sender: &dyn SmsSender,
    preferred: Channel,
    to_e164: &str,
    body: &str,
) -> Result<Sent, SmsError> {
    if preferred == Channel::Whatsapp && sender.whatsapp_enabled() {
        match sender.send_whatsapp(to_e164, body).await {
            Ok(()) => {
                return Ok(Sent {
                    channel: Channel::Whatsapp,
                    fell_back: false,
                })
            }
            Err(e) if e.nothing_sent() => {
                tracing::warn!(
                    to = %mask_e164(to_e164),
                    code = ?e.code(),
                    "WhatsApp message not sent; falling back to SMS"
                );
                sender.send(to_e164, body).await?;
                return Ok(Sent {
                    channel: Channel::Sms,
                    fell_back: true,
                });
            }
            Err(e) => return Err(e),
        }
    }
    sender.send(to_e164, body).await?;
    Ok(Sent {
        channel: Channel::Sms,
        fell_back: false,
    })
}

/// A WhatsApp sender as configured (`+15551234567` or `whatsapp:+15551234567`) → its E.164
/// number, or `None` when it is not one.
pub fn whatsapp_sender(configured: &str) -> Option<String> {
    let s = configured.trim();
    let number = s.strip_prefix("whatsapp:").unwrap_or(s);
    let digits = number.strip_prefix('+')?;
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then(|| number.to_owned())
}

/// Why a WhatsApp sender was refused at start.
#[derive(Debug, thiserror::Error)]
#[error("the WhatsApp sender must be a number in E.164 (+15551234567), optionally as whatsapp:+15551234567")]
pub struct InvalidWhatsappSender;

/// Twilio account settings (from TWILIO_* environment variables).
#[derive(Clone)]
pub struct TwilioConfig {
    /// `AC` + 32 hex digits.
    pub account_sid: String,
    pub auth_token: String,
    /// A sender number (E.164) or a Messaging Service SID (`MG...`).
    pub from: String,
    /// `https://api.twilio.com` in production; a local double in tests.
    pub base_url: String,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"***")
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// Sends through Twilio's `CreateMessage` (POST /2010-04-01/Accounts/{sid}/Messages.json): SMS
/// from the configured sender, WhatsApp (`To=whatsapp:+…`, `From=whatsapp:+…`) from the
/// WhatsApp sender when one is set ([`Twilio::with_whatsapp_sender`]).
pub struct Twilio {
    config: TwilioConfig,
    /// The shop's WhatsApp sender (E.164, without the `whatsapp:` prefix).
    whatsapp_from: Option<String>,
    client: reqwest::Client,
}

impl Twilio {
    pub fn new(config: TwilioConfig) -> Result<Self, SmsError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| SmsError::Unreachable(e.to_string()))?;
        Ok(Self {
            config,
            whatsapp_from: None,
            client,
        })
    }

    /// Sends the codes of customers who prefer WhatsApp from `sender`, a WhatsApp-enabled
    /// number of the Twilio account (`+15551234567` or `whatsapp:+15551234567`).
    pub fn with_whatsapp_sender(mut self, sender: &str) -> Result<Self, InvalidWhatsappSender> {
        self.whatsapp_from = Some(whatsapp_sender(sender).ok_or(InvalidWhatsappSender)?);
        Ok(self)
    }

    /// One `CreateMessage` call. `to` and `from` are as Twilio wants them for `channel` (channel
    /// addresses on WhatsApp); `to_e164` is only for the (masked) logs.
    async fn create(
        &self,
        channel: Channel,
        to_e164: &str,
        to: &str,
        from: (&str, &str),
        body: &str,
    ) -> Result<(), SmsError> {
        let c = &self.config;
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            c.base_url.trim_end_matches('/'),
            c.account_sid
        );
        let form = [("To", to), from, ("Body", body)];
        let masked = mask_e164(to_e164);
        let response = self
            .client
            .post(url)
            .basic_auth(&c.account_sid, Some(&c.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                let e = e.without_url();
                if e.is_connect() {
                    SmsError::Unreachable(e.to_string())
                } else {
                    SmsError::Transport(e.to_string())
                }
            })?;
        let status = response.status();
        // Both answers are JSON: the message resource on 201, {code, message, more_info,
        // status} on an error. Only the status and the codes are kept (the resource repeats the
        // number and the text).
        let answer = response.json::<serde_json::Value>().await.ok();
        if status == reqwest::StatusCode::CREATED {
            let created_as = answer.as_ref().and_then(|v| v["status"].as_str());
            if let Some(failed @ ("failed" | "undelivered")) = created_as {
                let code = answer.as_ref().and_then(|v| v["error_code"].as_i64());
                tracing::warn!(to = %masked, channel = channel.as_str(), status = failed, ?code, "Twilio created the message as not delivered");
                return Err(SmsError::Failed {
                    status: failed.to_owned(),
                    code,
                });
            }
            tracing::info!(to = %masked, channel = channel.as_str(), "message accepted by Twilio");
            return Ok(());
        }
        let code = answer.as_ref().and_then(|v| v["code"].as_i64());
        tracing::warn!(to = %masked, channel = channel.as_str(), status = status.as_u16(), ?code, "Twilio refused the message");
        Err(SmsError::Refused {
            status: status.as_u16(),
            code,
        })
    }
}

impl SmsSender for Twilio {
    fn send<'a>(&'a self, to_e164: &'a str, body: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let from = self.config.from.as_str();
            let from_field = if from.starts_with("MG") {
                "MessagingServiceSid"
            } else {
                "From"
            };
            self.create(Channel::Sms, to_e164, to_e164, (from_field, from), body)
                .await
        })
    }

    fn whatsapp_enabled(&self) -> bool {
        self.whatsapp_from.is_some()
    }

    fn send_whatsapp<'a>(&'a self, to_e164: &'a str, body: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let Some(sender) = &self.whatsapp_from else {
                return Err(SmsError::Unreachable(
                    "no WhatsApp sender configured".into(),
                ));
            };
            let to = format!("whatsapp:{to_e164}");
            let from = format!("whatsapp:{sender}");
            self.create(Channel::Whatsapp, to_e164, &to, ("From", &from), body)
                .await
        })
    }
}

/// Development sink: logs a masked line and keeps the last message in memory, where only code
/// holding this sink (a development server, a test) can read it.
#[derive(Default, Clone)]
pub struct DevSink {
    last: Arc<Mutex<Option<(String, String)>>>,
}

impl DevSink {
    /// The last message sent: (E.164 number, body).
    pub fn last(&self) -> Option<(String, String)> {
        self.last.lock().ok().and_then(|l| l.clone())
    }
}

impl SmsSender for DevSink {
    fn send<'a>(&'a self, to_e164: &'a str, body: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            tracing::info!(to = %mask_e164(to_e164), "development SMS sink: message kept in memory");
            if let Ok(mut last) = self.last.lock() {
                *last = Some((to_e164.to_owned(), body.to_owned()));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sender that answers each channel as told and counts its calls.
    struct Scripted {
        whatsapp: Option<fn() -> Result<(), SmsError>>,
        sms: fn() -> Result<(), SmsError>,
        calls: Mutex<Vec<Channel>>,
    }

    impl Scripted {
        fn new(
            whatsapp: Option<fn() -> Result<(), SmsError>>,
            sms: fn() -> Result<(), SmsError>,
        ) -> Self {
            Self {
                whatsapp,
                sms,
                calls: Mutex::new(Vec::new()),
            }
        }

        fn calls(&self) -> Vec<Channel> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl SmsSender for Scripted {
        fn send<'a>(&'a self, _: &'a str, _: &'a str) -> SendFuture<'a> {
            self.calls.lock().unwrap().push(Channel::Sms);
            let answer = (self.sms)();
            Box::pin(async move { answer })
        }

        fn whatsapp_enabled(&self) -> bool {
            self.whatsapp.is_some()
        }

        fn send_whatsapp<'a>(&'a self, _: &'a str, _: &'a str) -> SendFuture<'a> {
            self.calls.lock().unwrap().push(Channel::Whatsapp);
            let answer = self.whatsapp.map_or(Ok(()), |w| w());
            Box::pin(async move { answer })
        }
    }

    fn ok() -> Result<(), SmsError> {
        Ok(())
    }
    fn not_on_whatsapp() -> Result<(), SmsError> {
        Err(SmsError::Refused {
            status: 400,
            code: Some(63003),
        })
    }
    fn created_failed() -> Result<(), SmsError> {
        Err(SmsError::Failed {
            status: "failed".into(),
            code: Some(63016),
        })
    }
    fn unreachable() -> Result<(), SmsError> {
        Err(SmsError::Unreachable("refused".into()))
    }
    fn lost() -> Result<(), SmsError> {
        Err(SmsError::Transport("timed out".into()))
    }

    async fn run(s: &Scripted, preferred: Channel) -> Result<Sent, SmsError> {
        send_preferring(s, preferred, "+96892123456", "code 123456").await
    }

    #[tokio::test]
    async fn whatsapp_is_used_only_when_preferred_and_configured() {
        let s = Scripted::new(Some(ok), ok);
        let sent = run(&s, Channel::Whatsapp).await.unwrap();
        assert_eq!((sent.channel, sent.fell_back), (Channel::Whatsapp, false));
        assert_eq!(s.calls(), [Channel::Whatsapp]);

        let s = Scripted::new(Some(ok), ok);
        let sent = run(&s, Channel::Sms).await.unwrap();
        assert_eq!((sent.channel, sent.fell_back), (Channel::Sms, false));
        assert_eq!(s.calls(), [Channel::Sms]);

        let s = Scripted::new(None, ok);
        let sent = run(&s, Channel::Whatsapp).await.unwrap();
        assert_eq!((sent.channel, sent.fell_back), (Channel::Sms, false));
        assert_eq!(s.calls(), [Channel::Sms]);
    }

    #[tokio::test]
    async fn a_whatsapp_message_that_surely_did_not_go_out_falls_back_to_one_sms() {
        for failure in [not_on_whatsapp, created_failed, unreachable] {
            let s = Scripted::new(Some(failure), ok);
            let sent = run(&s, Channel::Whatsapp).await.unwrap();
            assert_eq!((sent.channel, sent.fell_back), (Channel::Sms, true));
            assert_eq!(s.calls(), [Channel::Whatsapp, Channel::Sms]);
        }
        // The SMS fails too: its error, and no third attempt.
        let s = Scripted::new(Some(not_on_whatsapp), unreachable);
        assert!(matches!(
            run(&s, Channel::Whatsapp).await,
            Err(SmsError::Unreachable(_))
        ));
        assert_eq!(s.calls(), [Channel::Whatsapp, Channel::Sms]);
    }

    #[tokio::test]
    async fn a_whatsapp_message_whose_answer_was_lost_is_not_sent_again_by_sms() {
        let s = Scripted::new(Some(lost), ok);
        assert!(matches!(
            run(&s, Channel::Whatsapp).await,
            Err(SmsError::Transport(_))
        ));
        assert_eq!(s.calls(), [Channel::Whatsapp]);
    }

    #[test]
    fn a_whatsapp_sender_is_an_e164_number_with_or_without_its_channel_prefix() {
        assert_eq!(
            whatsapp_sender("+14155238886").as_deref(),
            Some("+14155238886")
        );
        assert_eq!(
            whatsapp_sender(" whatsapp:+96871234567 ").as_deref(),
            Some("+96871234567")
        );
        for bad in [
            "",
            "whatsapp:",
            "14155238886",
            "+0123456789",
            "+1415",
            "+1415523888612345",
            "whatsapp:+1415 523 8886",
            "MG0123456789abcdef0123456789abcdef",
            "sms:+14155238886",
        ] {
            assert_eq!(whatsapp_sender(bad), None, "{bad:?}");
        }
    }
}
