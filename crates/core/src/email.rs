//! Email addresses, checked by the `email_address` crate (RFC 5321/5322 syntax).

use crate::error::{Field, ValidationError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest address accepted (RFC 5321 path limit).
pub const EMAIL_MAX_CHARS: usize = 254;

/// A syntactically valid email address; the domain is stored in lower case.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::Required(Field::Email));
        }
        if trimmed.chars().count() > EMAIL_MAX_CHARS {
            return Err(ValidationError::TooLong {
                field: Field::Email,
                max: EMAIL_MAX_CHARS,
            });
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() || crate::text::is_bidi_control(c))
        {
            return Err(ValidationError::InvalidEmail);
        }
        let parsed = email_address::EmailAddress::from_str(trimmed)
            .map_err(|_| ValidationError::InvalidEmail)?;
        // A shop's customers need a deliverable address: require a dotted domain, no IP literal.
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('[') {
            return Err(ValidationError::InvalidEmail);
        }
        Ok(Email(format!(
            "{}@{}",
            parsed.local_part(),
            domain.to_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// Debug output hides the address: emails are personal data and never go to a log.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_emails_are_accepted_with_lower_case_domain() {
        assert_eq!(
            Email::parse(" ahmed@Example.OM ").unwrap().as_str(),
            "ahmed@example.om"
        );
        assert!(Email::parse("a.b+tag@mail.example.com").is_ok());
    }

    #[test]
    fn invalid_emails_are_refused() {
        for bad in [
            "ahmed",
            "ahmed@",
            "@example.com",
            "a b@example.com",
            "ahmed@localhost",
            "a@[127.0.0.1]",
            "a@exa\u{202E}mple.com",
            "a\u{0000}@example.com",
        ] {
            assert_eq!(
                Email::parse(bad),
                Err(ValidationError::InvalidEmail),
                "{bad:?}"
            );
        }
        assert_eq!(
            Email::parse(""),
            Err(ValidationError::Required(Field::Email))
        );
        assert!(matches!(
            Email::parse(&format!("{}@example.com", "a".repeat(10_000))),
            Err(ValidationError::TooLong { .. })
        ));
    }

    #[test]
    fn debug_output_does_not_reveal_the_address() {
        assert_eq!(
            format!("{:?}", Email::parse("ahmed@example.om").unwrap()),
            "Email(***)"
        );
    }
}
