//! Sending text messages: Twilio's Messages API, or a development sink.
//!
//! The two implementations are why this is a trait. Neither ever logs a whole phone number or
//! the message text (it holds a one-time code).

use dukkan_core::phone::mask_e164;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("SMS provider refused the message: HTTP {status}, code {code:?}")]
    Refused { status: u16, code: Option<i64> },
    /// No connection to the provider: nothing was sent.
    #[error("SMS provider unreachable: {0}")]
    Unreachable(String),
    /// The request went out but no answer came (timeout, connection lost): the text may have
    /// been sent.
    #[error("SMS provider did not answer: {0}")]
    Transport(String),
}

/// Something that delivers a text message to an E.164 number.
pub trait SmsSender: Send + Sync {
    fn send<'a>(
        &'a self,
        to_e164: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>>;
}

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

/// Sends through Twilio's `CreateMessage` (POST /2010-04-01/Accounts/{sid}/Messages.json).
pub struct Twilio {
    config: TwilioConfig,
    client: reqwest::Client,
}

impl Twilio {
    pub fn new(config: TwilioConfig) -> Result<Self, SmsError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| SmsError::Unreachable(e.to_string()))?;
        Ok(Self { config, client })
    }
}

impl SmsSender for Twilio {
    fn send<'a>(
        &'a self,
        to_e164: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>> {
        Box::pin(async move {
            let c = &self.config;
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                c.base_url.trim_end_matches('/'),
                c.account_sid
            );
            let from_field = if c.from.starts_with("MG") {
                "MessagingServiceSid"
            } else {
                "From"
            };
            let form = [
                ("To", to_e164),
                (from_field, c.from.as_str()),
                ("Body", body),
            ];
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
            if status == reqwest::StatusCode::CREATED {
                tracing::info!(to = %mask_e164(to_e164), "SMS accepted by Twilio");
                return Ok(());
            }
            // Twilio errors are JSON {code, message, more_info, status}; keep the code only.
            let code = response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v["code"].as_i64());
            tracing::warn!(to = %mask_e164(to_e164), status = status.as_u16(), ?code, "Twilio refused the SMS");
            Err(SmsError::Refused {
                status: status.as_u16(),
                code,
            })
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
    fn send<'a>(
        &'a self,
        to_e164: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>> {
        Box::pin(async move {
            tracing::info!(to = %mask_e164(to_e164), "development SMS sink: message kept in memory");
            if let Ok(mut last) = self.last.lock() {
                *last = Some((to_e164.to_owned(), body.to_owned()));
            }
            Ok(())
        })
    }
}
