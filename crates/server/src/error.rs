//! The one error type of the server, and how it becomes a `{code, message}` response.
//!
//! A handler returns [`Error`]; its response carries an [`ErrorReport`] extension and no body.
//! The [`localize_errors`] middleware, which knows the request's `Accept-Language`, writes the
//! body. Internal details (database errors) go to the log, never to the client.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dukkan_core::rules::Refusal;
use dukkan_core::{LocalizedMessage, MessageArg, ValidationError};

/// Why a request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input: {0}")]
    Validation(#[from] ValidationError),
    #[error("not found")]
    NotFound,
    #[error("no such route")]
    RouteNotFound,
    #[error("not signed in")]
    Unauthenticated,
    #[error("wrong tenant, staff or PIN")]
    InvalidCredentials,
    #[error("role not allowed")]
    Forbidden,
    #[error("malformed JSON body")]
    MalformedJson,
    #[error("JSON body of the wrong shape")]
    InvalidBody,
    #[error("body is not JSON")]
    UnsupportedMediaType,
    #[error("body too large")]
    PayloadTooLarge,
    #[error("invalid path parameter")]
    InvalidPath,
    #[error("invalid query string")]
    InvalidQuery,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request timed out")]
    Timeout,
    #[error("too many requests; retry in {seconds} s")]
    RateLimited { seconds: u64 },
    #[error("sign-in locked after wrong PINs; retry in {seconds} s")]
    SignInLocked { seconds: u64 },
    /// The customer rules (`dukkan_core::rules`) refused the change: the same code and message
    /// as on the till.
    #[error("refused: {0}")]
    Refused(Refusal),
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    #[error("rule: {0:?}")]
    Rule(Rule),
    #[error("OTP refused: {0:?}")]
    Otp(OtpRefusal),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("internal: {0}")]
    Internal(String),
}

/// The record's current state forbids the change (HTTP 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    IdTaken,
    TenantExists,
}

/// Why a one-time-code request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpRefusal {
    /// A code was sent less than the cooldown ago (429 with Retry-After).
    Cooldown {
        seconds: i64,
    },
    /// The hourly cap per phone or per client is reached (429 with Retry-After).
    RateLimited {
        seconds: i64,
    },
    Invalid,
    Expired,
    /// Too many wrong attempts: ask for a new code.
    Locked,
    PhoneNotVerified,
    /// The SMS provider did not take the message (502).
    SmsFailed,
    /// The provider could not be reached or did not answer: the text may have arrived (the
    /// code stays valid; 502).
    SmsUnconfirmed,
    /// The phone is in a country the shop does not text (422).
    CountryNotAllowed,
    /// The shop sent its most codes in 24 hours (429 with Retry-After).
    ShopDailyCap {
        seconds: i64,
    },
}

/// The input is well-formed but breaks a business rule (HTTP 422).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    InvalidPin { min: usize, max: usize },
    InvalidPassword { min: usize, max: usize },
    InvalidSlug,
    EnrollmentCodeInvalid,
    DefaultRequired,
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Invalid(v) => Error::Validation(v),
            other => Error::Refused(other),
        }
    }
}

impl Error {
    /// Another active customer holds the phone (the store's unique index said so).
    pub fn phone_taken() -> Self {
        Error::Refused(Refusal::PhoneTaken {
            existing: None,
            holder: None,
        })
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(db) => Error::Database(db),
            other => Error::Unavailable(other.to_string()),
        }
    }
}

/// The body of every error response (documentation type: the middleware writes it).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `customer.phone-taken`.
    pub code: String,
    /// Localised from `Accept-Language` (`en` or `ar`).
    pub message: String,
}

/// What the [`localize_errors`] middleware needs to write an error body.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub code: &'static str,
    pub message: LocalizedMessage,
}

fn server(id: &str) -> LocalizedMessage {
    LocalizedMessage::new(format!("server-error-{id}"))
}

impl Error {
    /// HTTP status, stable machine code and message of this error.
    pub fn parts(&self) -> (StatusCode, &'static str, LocalizedMessage) {
        use StatusCode as S;
        match self {
            Error::Validation(v) => (S::UNPROCESSABLE_ENTITY, v.code(), v.message()),
            Error::NotFound => (S::NOT_FOUND, "record.not-found", server("not-found")),
            Error::RouteNotFound => (S::NOT_FOUND, "route.not-found", server("route-not-found")),
            Error::Unauthenticated => (
                S::UNAUTHORIZED,
                "auth.unauthenticated",
                server("unauthenticated"),
            ),
            Error::InvalidCredentials => (
                S::UNAUTHORIZED,
                "auth.invalid-credentials",
                server("invalid-credentials"),
            ),
            Error::Forbidden => (S::FORBIDDEN, "auth.forbidden", server("forbidden")),
            Error::MalformedJson => (
                S::BAD_REQUEST,
                "request.malformed-json",
                server("malformed-json"),
            ),
            Error::InvalidBody => (
                S::UNPROCESSABLE_ENTITY,
                "request.invalid-body",
                server("invalid-body"),
            ),
            Error::UnsupportedMediaType => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "request.unsupported-media-type",
                server("unsupported-media-type"),
            ),
            Error::PayloadTooLarge => (
                S::PAYLOAD_TOO_LARGE,
                "request.payload-too-large",
                server("payload-too-large"),
            ),
            Error::InvalidPath => (
                S::BAD_REQUEST,
                "request.invalid-path",
                server("invalid-path"),
            ),
            Error::InvalidQuery => (
                S::BAD_REQUEST,
                "request.invalid-query",
                server("invalid-query"),
            ),
            Error::MethodNotAllowed => (
                S::METHOD_NOT_ALLOWED,
                "request.method-not-allowed",
                server("method-not-allowed"),
            ),
            Error::Timeout => (S::REQUEST_TIMEOUT, "request.timeout", server("timeout")),
            Error::RateLimited { seconds } => (
                S::TOO_MANY_REQUESTS,
                "request.rate-limited",
                server("rate-limited").with("seconds", MessageArg::Number(*seconds as f64)),
            ),
            Error::SignInLocked { seconds } => (
                S::TOO_MANY_REQUESTS,
                "auth.sign-in-locked",
                server("sign-in-locked").with(
                    "minutes",
                    MessageArg::Number(seconds.div_ceil(60).max(1) as f64),
                ),
            ),
            Error::Refused(r) => {
                let status = match r {
                    Refusal::Invalid(_)
                    | Refusal::GuestContact
                    | Refusal::OtpRequired
                    | Refusal::KindChange
                    | Refusal::MergeSelf => S::UNPROCESSABLE_ENTITY,
                    Refusal::RoleRequired(_) => S::FORBIDDEN,
                    Refusal::AddressNotFound => S::NOT_FOUND,
                    Refusal::CustomerInactive
                    | Refusal::CustomerMerged
                    | Refusal::PhoneTaken { .. }
                    | Refusal::VerifiedPhoneLocked
                    | Refusal::GuestCannotUpgrade
                    | Refusal::AlreadyFull
                    | Refusal::UpgradeAlreadyRequested
                    | Refusal::AddressLimit
                    | Refusal::PointsBelowZero { .. }
                    | Refusal::MergeUndoExpired
                    | Refusal::MergeUndoUnsafe => S::CONFLICT,
                };
                (status, r.code(), r.message())
            }
            Error::Conflict(c) => {
                let (code, msg) = match c {
                    Conflict::IdTaken => ("customer.id-taken", "server-error-id-taken"),
                    Conflict::TenantExists => ("tenant.exists", "server-error-tenant-exists"),
                };
                (S::CONFLICT, code, LocalizedMessage::new(msg))
            }
            Error::Rule(r) => {
                let (code, msg) = match r {
                    Rule::InvalidPin { min, max } => (
                        "staff.invalid-pin",
                        server("invalid-pin")
                            .with("min", MessageArg::Number(*min as f64))
                            .with("max", MessageArg::Number(*max as f64)),
                    ),
                    Rule::InvalidPassword { min, max } => (
                        "staff.invalid-password",
                        server("invalid-password")
                            .with("min", MessageArg::Number(*min as f64))
                            .with("max", MessageArg::Number(*max as f64)),
                    ),
                    Rule::InvalidSlug => ("tenant.invalid-slug", server("invalid-slug")),
                    Rule::DefaultRequired => {
                        ("address.default-required", server("default-required"))
                    }
                    Rule::EnrollmentCodeInvalid => (
                        "device.enrollment-code-invalid",
                        server("enrollment-code-invalid"),
                    ),
                };
                (S::UNPROCESSABLE_ENTITY, code, msg)
            }
            Error::Otp(o) => match o {
                OtpRefusal::Cooldown { seconds } => (
                    S::TOO_MANY_REQUESTS,
                    "otp.cooldown",
                    server("otp-cooldown").with("seconds", MessageArg::Number(*seconds as f64)),
                ),
                OtpRefusal::RateLimited { .. } => (
                    S::TOO_MANY_REQUESTS,
                    "otp.rate-limited",
                    server("otp-rate-limited"),
                ),
                OtpRefusal::Invalid => (
                    S::UNPROCESSABLE_ENTITY,
                    "otp.invalid",
                    server("otp-invalid"),
                ),
                OtpRefusal::Expired => (
                    S::UNPROCESSABLE_ENTITY,
                    "otp.expired",
                    server("otp-expired"),
                ),
                OtpRefusal::Locked => (S::UNPROCESSABLE_ENTITY, "otp.locked", server("otp-locked")),
                OtpRefusal::PhoneNotVerified => (
                    S::UNPROCESSABLE_ENTITY,
                    "customer.phone-not-verified",
                    server("phone-not-verified"),
                ),
                OtpRefusal::SmsFailed => (S::BAD_GATEWAY, "sms.failed", server("sms-failed")),
                OtpRefusal::SmsUnconfirmed => {
                    (S::BAD_GATEWAY, "sms.unconfirmed", server("unconfirmed"))
                }
                OtpRefusal::CountryNotAllowed => (
                    S::UNPROCESSABLE_ENTITY,
                    "otp.country-not-allowed",
                    server("country-not-allowed"),
                ),
                OtpRefusal::ShopDailyCap { .. } => (
                    S::TOO_MANY_REQUESTS,
                    "otp.shop-daily-cap",
                    server("shop-daily-cap"),
                ),
            },
            Error::Unavailable(_) => (
                S::SERVICE_UNAVAILABLE,
                "server.unavailable",
                server("unavailable"),
            ),
            Error::Database(_) | Error::Internal(_) => (
                S::INTERNAL_SERVER_ERROR,
                "server.internal",
                server("internal"),
            ),
        }
    }

    /// The Postgres constraint this error violated, if it is one.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Error::Database(e) => e.as_db_error().and_then(|d| d.constraint()),
            _ => None,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        if status.is_server_error() {
            // The detail stays in the log; it never names a phone, email or token (the
            // database errors we raise name constraints and ids, not values).
            tracing::error!(error = %self, code, "request failed");
        } else {
            tracing::debug!(code, "request refused");
        }
        let mut response = status.into_response();
        let retry_after = match &self {
            Error::Otp(
                OtpRefusal::Cooldown { seconds }
                | OtpRefusal::RateLimited { seconds }
                | OtpRefusal::ShopDailyCap { seconds },
            ) => Some(seconds.to_string()),
            Error::RateLimited { seconds } | Error::SignInLocked { seconds } => {
                Some(seconds.to_string())
            }
            _ => None,
        };
        if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
            .extensions_mut()
            .insert(ErrorReport { code, message });
        response
    }
}

/// Writes the `{code, message}` body of every error response in the request's language, and
/// gives a body to the bare error responses produced outside handlers (timeouts, 405s).
pub async fn localize_errors(request: Request, next: Next) -> Response {
    let locale = crate::messages::negotiate(
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let mut response = next.run(request).await;
    let report = match response.extensions_mut().remove::<ErrorReport>() {
        Some(report) => report,
        None if response.status().is_client_error() || response.status().is_server_error() => {
            let is_json = response
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
            if is_json {
                return response;
            }
            let fallback = match response.status() {
                StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed,
                StatusCode::REQUEST_TIMEOUT => Error::Timeout,
                StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
                StatusCode::NOT_FOUND => Error::RouteNotFound,
                StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType,
                s if s.is_client_error() => Error::InvalidBody,
                _ => Error::Internal(format!("bare {} response", response.status())),
            };
            let (_, code, message) = fallback.parts();
            ErrorReport { code, message }
        }
        None => return response,
    };
    let body = serde_json::json!({
        "code": report.code,
        "message": crate::messages::format(locale, &report.message),
    });
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(locale.tag()),
    );
    Response::from_parts(parts, axum::body::Body::from(body.to_string()))
}
