//! Errors a person sees: a stable machine code plus a Fluent message id with arguments.
//!
//! Nobody matches on message text. The UI (or the server's error body) localises the id through
//! the same `i18n/*.ftl` files that [`crate::i18n`] embeds.

use serde::Serialize;
use std::fmt;

/// The input field a validation error is about. Each has a Fluent label `field-<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    FirstName,
    LastName,
    Name2,
    Phone,
    Email,
    Label,
    Building,
    Floor,
    Apartment,
    Street,
    Area,
    City,
    Country,
    PostalCode,
    Latitude,
    Longitude,
    DeliveryNotes,
    Fragrance,
    CustomerNumber,
    Query,
    /// A staff member's name (a standalone till's owner).
    StaffName,
    /// An order's ticket reference.
    Ticket,
    /// An order's amount (rials).
    Amount,
    /// How many pieces an order has.
    Pieces,
    /// An order's note.
    OrderNote,
    /// Loyalty points (an adjustment).
    Points,
    /// Why a manager adjusted points.
    Reason,
    /// Where a till asks for new versions of the app.
    UpdateFeed,
}

impl Field {
    /// Kebab-case name, used in codes and in the Fluent label id `field-<name>`.
    pub fn name(self) -> &'static str {
        match self {
            Field::FirstName => "first-name",
            Field::LastName => "last-name",
            Field::Name2 => "name2",
            Field::Phone => "phone",
            Field::Email => "email",
            Field::Label => "label",
            Field::Building => "building",
            Field::Floor => "floor",
            Field::Apartment => "apartment",
            Field::Street => "street",
            Field::Area => "area",
            Field::City => "city",
            Field::Country => "country",
            Field::PostalCode => "postal-code",
            Field::Latitude => "latitude",
            Field::Longitude => "longitude",
            Field::DeliveryNotes => "delivery-notes",
            Field::Fragrance => "fragrance",
            Field::CustomerNumber => "customer-number",
            Field::Query => "query",
            Field::StaffName => "staff-name",
            Field::Ticket => "ticket",
            Field::Amount => "amount",
            Field::Pieces => "pieces",
            Field::OrderNote => "order-note",
            Field::Points => "points",
            Field::Reason => "reason",
            Field::UpdateFeed => "update-feed",
        }
    }

    /// The Fluent message id of this field's label.
    pub fn label_id(self) -> String {
        format!("field-{}", self.name())
    }
}

/// An argument of a localised message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", content = "value", rename_all = "camelCase")]
pub enum MessageArg {
    /// Plain text, shown as is.
    Text(String),
    /// A number, formatted by the locale.
    Number(f64),
    /// Another message id, localised first (used for field labels).
    Message(String),
}

/// A message id with its arguments, ready to be localised by the UI or the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocalizedMessage {
    pub id: String,
    pub args: Vec<(String, MessageArg)>,
}

impl LocalizedMessage {
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            args: Vec::new(),
        }
    }

    pub fn with(mut self, name: &str, arg: MessageArg) -> Self {
        self.args.push((name.to_owned(), arg));
        self
    }
}

/// Why a piece of input was refused. Nothing is written when one of these is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("{} is required", .0.name())]
    Required(Field),
    #[error("{} is longer than {max} characters", field.name())]
    TooLong { field: Field, max: usize },
    #[error("{} contains a control character", .0.name())]
    ControlCharacter(Field),
    #[error("{} contains a bidirectional override character", .0.name())]
    BidiControl(Field),
    #[error("phone number is not valid")]
    InvalidPhone,
    #[error("email address is not valid")]
    InvalidEmail,
    #[error("{} is out of range", .0.name())]
    OutOfRange(Field),
    #[error("{} is not a number", .0.name())]
    NotANumber(Field),
    #[error("latitude and longitude must be given together")]
    IncompleteGps,
    #[error("country is not an ISO 3166-1 alpha-2 code")]
    InvalidCountry,
    #[error("customer number is not valid")]
    InvalidCustomerNumber,
    #[error("{} is not a web address", .0.name())]
    InvalidUrl(Field),
    #[error("{} must use https", .0.name())]
    InsecureUrl(Field),
}

impl ValidationError {
    /// The field concerned, when there is one.
    pub fn field(&self) -> Option<Field> {
        match self {
            ValidationError::Required(f)
            | ValidationError::ControlCharacter(f)
            | ValidationError::BidiControl(f)
            | ValidationError::OutOfRange(f)
            | ValidationError::NotANumber(f)
            | ValidationError::InvalidUrl(f)
            | ValidationError::InsecureUrl(f) => Some(*f),
            ValidationError::TooLong { field, .. } => Some(*field),
            ValidationError::InvalidPhone => Some(Field::Phone),
            ValidationError::InvalidEmail => Some(Field::Email),
            ValidationError::IncompleteGps => Some(Field::Latitude),
            ValidationError::InvalidCountry => Some(Field::Country),
            ValidationError::InvalidCustomerNumber => Some(Field::CustomerNumber),
        }
    }

    /// Stable machine code, e.g. `validation.too-long`.
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::Required(_) => "validation.required",
            ValidationError::TooLong { .. } => "validation.too-long",
            ValidationError::ControlCharacter(_) => "validation.control-character",
            ValidationError::BidiControl(_) => "validation.bidi-control",
            ValidationError::InvalidPhone => "validation.invalid-phone",
            ValidationError::InvalidEmail => "validation.invalid-email",
            ValidationError::OutOfRange(_) => "validation.out-of-range",
            ValidationError::NotANumber(_) => "validation.not-a-number",
            ValidationError::IncompleteGps => "validation.incomplete-gps",
            ValidationError::InvalidCountry => "validation.invalid-country",
            ValidationError::InvalidCustomerNumber => "validation.invalid-customer-number",
            ValidationError::InvalidUrl(_) => "validation.invalid-url",
            ValidationError::InsecureUrl(_) => "validation.insecure-url",
        }
    }

    /// The Fluent message, with the field label as a nested message argument.
    pub fn message(&self) -> LocalizedMessage {
        let id = format!("error-{}", self.code().trim_start_matches("validation."));
        let mut msg = LocalizedMessage::new(id);
        if let Some(field) = self.field() {
            msg = msg.with("field", MessageArg::Message(field.label_id()));
        }
        if let ValidationError::TooLong { max, .. } = self {
            msg = msg.with("max", MessageArg::Number(*max as f64));
        }
        msg
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
