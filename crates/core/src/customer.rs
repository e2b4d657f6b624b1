//! Customer kinds and the rules of each, customer numbers, and preferences.

use crate::error::{Field, ValidationError};
use crate::phone::Phone;
use crate::text::{FreeText, PersonName};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Guest → stub → full: the three stages of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CustomerKind {
    /// A walk-in for one transaction: needs nothing.
    #[default]
    Guest,
    /// Created at the counter: first name + phone.
    Stub,
    /// Phone verified by OTP (only the server may set this), email and preferences.
    Full,
}

impl CustomerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerKind::Guest => "guest",
            CustomerKind::Stub => "stub",
            CustomerKind::Full => "full",
        }
    }

    /// Fluent id of the kind's badge text.
    pub fn label_id(self) -> &'static str {
        match self {
            CustomerKind::Guest => "customer-kind-guest",
            CustomerKind::Stub => "customer-kind-stub",
            CustomerKind::Full => "customer-kind-full",
        }
    }
}

impl FromStr for CustomerKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "guest" => Ok(CustomerKind::Guest),
            "stub" => Ok(CustomerKind::Stub),
            "full" => Ok(CustomerKind::Full),
            _ => Err(()),
        }
    }
}

/// The per-tenant sequential number the server assigns: `CUST-00001`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "CUST-00012"))]
#[serde(try_from = "String", into = "String")]
pub struct CustomerNumber(u32);

impl CustomerNumber {
    pub const PREFIX: &'static str = "CUST-";

    /// A number from its sequence value; 0 is not a customer number.
    pub fn new(value: u32) -> Result<Self, ValidationError> {
        if value == 0 {
            return Err(ValidationError::InvalidCustomerNumber);
        }
        Ok(Self(value))
    }

    pub fn value(self) -> u32 {
        self.0
    }

    /// Parses `CUST-00012`, case-insensitively, with or without the dash and padding.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let s = input.trim();
        let upper = s.to_ascii_uppercase();
        let digits = upper
            .strip_prefix("CUST")
            .map(|r| r.strip_prefix('-').unwrap_or(r))
            .ok_or(ValidationError::InvalidCustomerNumber)?;
        if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::InvalidCustomerNumber);
        }
        let value: u32 = digits
            .parse()
            .map_err(|_| ValidationError::InvalidCustomerNumber)?;
        Self::new(value)
    }
}

impl fmt::Display for CustomerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:05}", Self::PREFIX, self.0)
    }
}

impl TryFrom<String> for CustomerNumber {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CustomerNumber::parse(&value)
    }
}

impl From<CustomerNumber> for String {
    fn from(value: CustomerNumber) -> Self {
        value.to_string()
    }
}

/// How garments come back: on hangers or folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Folding {
    Hang,
    Fold,
}

/// How the customer wants to be told about orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum NotificationChannel {
    Whatsapp,
    Sms,
    Email,
}

/// Longest fragrance preference, in characters.
pub const FRAGRANCE_MAX_CHARS: usize = 50;

/// A customer's service preferences (PRD: folding, fragrance, eco-friendly, channels).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    pub folding: Option<Folding>,
    pub fragrance: Option<FreeText>,
    #[serde(default)]
    pub eco_friendly: bool,
    #[serde(default)]
    pub channels: Vec<NotificationChannel>,
}

impl Preferences {
    /// Builds preferences from typed input: the fragrance is cleaned, channels de-duplicated.
    pub fn new(
        folding: Option<Folding>,
        fragrance: Option<&str>,
        eco_friendly: bool,
        channels: &[NotificationChannel],
    ) -> Result<Self, ValidationError> {
        let mut channels = channels.to_vec();
        channels.sort();
        channels.dedup();
        Ok(Self {
            folding,
            fragrance: FreeText::parse_line(Field::Fragrance, fragrance, FRAGRANCE_MAX_CHARS)?,
            eco_friendly,
            channels,
        })
    }
}

impl Preferences {
    /// The same preferences checked again: for values that arrived as data (JSON from the UI,
    /// an op from a device), which deserialisation alone does not validate.
    pub fn checked(&self) -> Result<Self, ValidationError> {
        Self::new(
            self.folding,
            self.fragrance.as_ref().map(FreeText::as_str),
            self.eco_friendly,
            &self.channels,
        )
    }
}

/// What the cashier typed into the quick stub form.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StubInput {
    pub first_name: String,
    pub last_name: Option<String>,
    /// The Arabic name (PRD `name2`).
    pub name2: Option<String>,
    pub phone: String,
}

/// A stub that satisfies the rules: first name + valid phone; last/Arabic name optional.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidStub {
    pub first_name: PersonName,
    pub last_name: Option<PersonName>,
    pub name2: Option<PersonName>,
    pub phone: Phone,
}

impl StubInput {
    /// Checks every field; the first problem found is reported.
    pub fn validate(&self) -> Result<ValidStub, ValidationError> {
        Ok(ValidStub {
            first_name: PersonName::parse(Field::FirstName, &self.first_name)?,
            last_name: PersonName::parse_optional(Field::LastName, self.last_name.as_deref())?,
            name2: PersonName::parse_optional(Field::Name2, self.name2.as_deref())?,
            phone: Phone::parse(&self.phone)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_numbers_display_with_five_digit_padding() {
        assert_eq!(CustomerNumber::new(1).unwrap().to_string(), "CUST-00001");
        assert_eq!(
            CustomerNumber::new(123_456).unwrap().to_string(),
            "CUST-123456"
        );
    }

    #[test]
    fn customer_numbers_parse_in_the_forms_people_type() {
        for s in ["CUST-00012", "cust-12", "CUST12", " cust-0012 "] {
            assert_eq!(CustomerNumber::parse(s).map(|n| n.value()), Ok(12), "{s:?}");
        }
        for s in [
            "",
            "CUST-",
            "CUST-0",
            "12",
            "CUST-12a",
            "CUST--12",
            "CUST-99999999999",
        ] {
            assert!(CustomerNumber::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn a_stub_needs_a_first_name_and_a_valid_phone() {
        let ok = StubInput {
            first_name: "Ahmed".into(),
            phone: "9212 3456".into(),
            ..Default::default()
        };
        let stub = ok.validate().unwrap();
        assert_eq!(stub.phone.e164(), "+96892123456");
        assert_eq!(stub.last_name, None);

        let no_name = StubInput {
            first_name: " ".into(),
            ..ok.clone()
        };
        assert_eq!(
            no_name.validate(),
            Err(ValidationError::Required(Field::FirstName))
        );
        let bad_phone = StubInput {
            phone: "+968 1234 5678".into(),
            ..ok.clone()
        };
        assert_eq!(bad_phone.validate(), Err(ValidationError::InvalidPhone));
        let bad_arabic = StubInput {
            name2: Some("أحمد\u{202E}".into()),
            ..ok
        };
        assert_eq!(
            bad_arabic.validate(),
            Err(ValidationError::BidiControl(Field::Name2))
        );
    }

    #[test]
    fn preferences_deduplicate_channels_and_clean_fragrance() {
        let p = Preferences::new(
            Some(Folding::Hang),
            Some("  lavender "),
            true,
            &[
                NotificationChannel::Sms,
                NotificationChannel::Whatsapp,
                NotificationChannel::Sms,
            ],
        )
        .unwrap();
        assert_eq!(
            p.channels,
            vec![NotificationChannel::Whatsapp, NotificationChannel::Sms]
        );
        assert_eq!(p.fragrance.as_ref().map(|f| f.as_str()), Some("lavender"));
        assert!(Preferences::new(None, Some(&"x".repeat(51)), false, &[]).is_err());
    }

    #[test]
    fn preferences_serialise_in_camel_case() {
        let p = Preferences::new(
            Some(Folding::Fold),
            None,
            true,
            &[NotificationChannel::Email],
        )
        .unwrap();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["ecoFriendly"], true);
        assert_eq!(json["folding"], "fold");
        assert_eq!(json["channels"][0], "email");
    }
}
