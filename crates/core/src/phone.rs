//! Phone numbers: parsed with the `phonenumber` crate (libphonenumber's metadata), stored as
//! E.164, shown masked in logs and on screens that do not need the whole number.

use crate::error::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Region assumed for numbers typed without a country code: Oman (+968).
pub const DEFAULT_REGION: phonenumber::country::Id = phonenumber::country::Id::OM;

/// Longest raw input considered; anything longer cannot be a phone number (a pasted one may
/// carry a `tel:` prefix and a direction mark around every group).
const MAX_INPUT_CHARS: usize = 64;

/// A valid phone number in E.164 form (`+96892123456`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone {
    e164: String,
    country_code: u16,
}

/// Maps Arabic-Indic (٠-٩), Persian (۰-۹) and full-width (０-９) digits to ASCII; other
/// characters are unchanged.
pub fn ascii_digit(c: char) -> char {
    match c {
        '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
        '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
        '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (c as u32 - 0xFF10) as u8),
        _ => c,
    }
}

/// A character that separates groups of a phone number as people write, print or paste them:
/// spaces (no-break, ideographic), hyphens and dashes, brackets, dots and slashes, in their
/// ASCII and full-width forms.
fn is_phone_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-'
            | '('
            | ')'
            | '.'
            | '/'
            | '\u{00A0}'
            | '\u{2007}'
            | '\u{202F}'
            | '\u{3000}'
            | '\u{2010}'
            ..='\u{2015}'
                | '\u{2212}'
                | '\u{FF08}'
                | '\u{FF09}'
                | '\u{FF0D}'
                | '\u{FF0E}'
                | '\u{FF0F}'
    )
}

/// The digits of a phone number as typed or pasted, in ASCII, with its leading `+` if it has
/// one; `None` when the text holds anything else. Digits of any of the scripts, the separators
/// of [`is_phone_separator`], a `tel:` scheme, and the invisible marks and direction controls
/// that come with numbers copied in an Arabic interface are accepted (only digits are kept, so
/// dropping them cannot change what is stored); letters and other junk are refused, so vanity
/// numbers and typos are not silently "parsed".
pub fn phone_text(input: &str) -> Option<String> {
    let mut cleaned = String::with_capacity(input.len());
    for c in strip_tel_uri(input).chars().map(ascii_digit) {
        match c {
            '0'..='9' => cleaned.push(c),
            '+' | '\u{FF0B}' if cleaned.is_empty() => cleaned.push('+'),
            c if is_phone_separator(c)
                || crate::text::is_invisible_mark(c)
                || crate::text::is_bidi_control(c)
                || matches!(c, '\u{200C}' | '\u{200D}') => {}
            _ => return None,
        }
    }
    Some(cleaned)
}

/// The number inside a `tel:` link (RFC 3966) as copied from a web page or a contact card:
/// the text after the scheme, up to its first parameter (`;ext=…`, `;phone-context=…`).
fn strip_tel_uri(input: &str) -> &str {
    let t = input.trim_matches(|c: char| {
        c.is_whitespace() || crate::text::is_invisible_mark(c) || crate::text::is_bidi_control(c)
    });
    match t.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("tel:") => {
            let number = &t[4..];
            number.split(';').next().unwrap_or(number)
        }
        _ => t,
    }
}

/// A one-time verification code as typed (Arabic-Indic or Persian digits and spaces allowed):
/// its six ASCII digits, or `None` if it cannot be one.
pub fn verification_code(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let code: String = input
        .chars()
        .map(ascii_digit)
        .filter(|c| !c.is_whitespace())
        .collect();
    (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

impl Phone {
    /// Parses a number typed at the counter, assuming Oman when no country code is given.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        Self::parse_with_region(input, DEFAULT_REGION)
    }

    /// Parses with an explicit default region (the country selector of the form).
    pub fn parse_with_region(
        input: &str,
        region: phonenumber::country::Id,
    ) -> Result<Self, ValidationError> {
        if input.chars().count() > MAX_INPUT_CHARS {
            return Err(ValidationError::InvalidPhone);
        }
        let mut cleaned = phone_text(input).ok_or(ValidationError::InvalidPhone)?;
        if let Some(rest) = cleaned.strip_prefix("00") {
            cleaned = format!("+{rest}");
        }
        if cleaned.trim_start_matches('+').is_empty() {
            return Err(ValidationError::Required(crate::Field::Phone));
        }
        // Without a '+', the digits are first read as a national number of the region: an Omani
        // mobile such as 9680 0000 begins with 968, and libphonenumber alone would take that for
        // the country code. Digits that include the country code still parse on the second try.
        let mut candidates = Vec::with_capacity(2);
        if !cleaned.starts_with('+') {
            let region_code: &str = region.as_ref();
            if let Some(meta) = phonenumber::metadata::DATABASE.by_id(region_code) {
                candidates.push(format!("+{}{}", meta.country_code(), cleaned));
            }
        }
        candidates.push(cleaned);
        let parsed = candidates
            .iter()
            .filter_map(|c| phonenumber::parse(Some(region), c).ok())
            .find(phonenumber::is_valid)
            .ok_or(ValidationError::InvalidPhone)?;
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Phone {
            e164,
            country_code: parsed.code().value(),
        })
    }

    /// A number as the tenant server keeps it: E.164, checked by [`Phone::parse`] when it was
    /// written. Reads the calling code off the digits (calling codes are prefix-free, one to
    /// three digits) instead of parsing the number again, which costs a till about ten
    /// microseconds per customer of a first sync. `None` unless `e164` is `+` and 7 to 15
    /// digits starting with a known calling code (none starts with 0).
    pub fn from_e164(e164: &str) -> Option<Self> {
        let digits = e164.strip_prefix('+')?;
        if !(7..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return None;
        }
        (1..=3).find_map(|len| {
            let code: u16 = digits[..len].parse().ok()?;
            phonenumber::metadata::DATABASE
                .by_code(&code)
                .is_some()
                .then(|| Phone {
                    e164: e164.to_owned(),
                    country_code: code,
                })
        })
    }

    /// The E.164 form, e.g. `+96892123456`.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The E.164 digits without the plus, e.g. `96892123456`.
    pub fn digits(&self) -> &str {
        &self.e164[1..]
    }

    /// The national significant number, e.g. `92123456`.
    pub fn national(&self) -> &str {
        &self.e164[1 + self.country_code.to_string().len()..]
    }

    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// Masked for logs and lists: `+968****3456`.
    pub fn masked(&self) -> String {
        mask_e164(&self.e164)
    }

    /// Grouped for reading back to the customer, in the numbering plan's international format:
    /// `+968 9212 3456`, `+971 50 123 4567`.
    pub fn grouped(&self) -> String {
        group_e164(&self.e164)
    }
}

/// An E.164 string grouped as [`Phone::grouped`]; a string that is not one comes back as it is.
pub fn group_e164(e164: &str) -> String {
    phonenumber::parse(None, e164)
        .map(|p| {
            p.format()
                .mode(phonenumber::Mode::International)
                .to_string()
        })
        .unwrap_or_else(|_| e164.to_owned())
}

/// The country (ISO 3166-1 alpha-2, e.g. `OM`) an E.164 number belongs to, when the numbering
/// plan says (shared codes such as +1 are told apart by their area codes).
pub fn region_of(e164: &str) -> Option<String> {
    let parsed = phonenumber::parse(None, e164).ok()?;
    parsed.country().id().map(|id| id.as_ref().to_owned())
}

/// Masks an E.164 string: keeps the country code and the last 4 digits.
pub fn mask_e164(e164: &str) -> String {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    let cc_len = phonenumber::parse(None, e164)
        .map(|p| p.code().value().to_string().len())
        .unwrap_or(0);
    if digits.len() <= 4 + cc_len {
        return "****".to_owned();
    }
    let cc: String = digits[..cc_len].iter().collect();
    let last: String = digits[digits.len() - 4..].iter().collect();
    format!("+{cc}****{last}")
}

impl TryFrom<String> for Phone {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Phone::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.e164
    }
}

/// Debug output is masked too, so a phone never leaks through `{:?}` in a log line.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e164(s: &str) -> Result<String, ValidationError> {
        Phone::parse(s).map(|p| p.e164().to_owned())
    }

    #[test]
    fn a_stored_e164_number_reads_back_as_the_parse_made_it_without_parsing_again() {
        for input in [
            "+968 9212 3456",
            "+971 50 123 4567",
            "+44 7911 123456",
            "+1 415 555 2671",
            "+91 98765 43210",
            "+20 10 1234 5678",
            "+39 06 6982 1234",
            "+966 50 123 4567",
            "+880 1812 345678",
        ] {
            let parsed = Phone::parse(input).unwrap();
            let stored = Phone::from_e164(parsed.e164()).unwrap();
            assert_eq!(stored, parsed, "{input}");
            assert_eq!(stored.national(), parsed.national(), "{input}");
        }
        for bad in [
            "",
            "+",
            "96892123456",
            "+9689212345x",
            "+0123456789",
            "+96892\u{200F}123456",
            "+1234567890123456",
        ] {
            assert_eq!(Phone::from_e164(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn omani_numbers_in_every_accepted_notation_give_the_same_e164() {
        for input in [
            "92123456",
            "96892123456",
            "9212 3456",
            "9212-3456",
            "(9212) 3456",
            "+968 9212 3456",
            "+968-9212-3456",
            "00968 92123456",
            "0096892123456",
            "٩٢١٢٣٤٥٦",
            "+٩٦٨ ٩٢١٢ ٣٤٥٦",
            "۹۲۱۲۳۴۵۶",
            " 92123456 ",
            // Copied from an Arabic phone or chat app: direction marks and isolates around or
            // inside the digits.
            "\u{200F}92123456",
            "92123456\u{200E}",
            "\u{2066}+968 9212 3456\u{2069}",
            "+968\u{200E} 9212\u{061C}3456",
            "\u{FEFF}٩٢١٢٣٤٥٦\u{200F}",
            "9\u{200B}2123\u{200D}456",
            // A `tel:` link from a web page or a contact card.
            "tel:+96892123456",
            "TEL:+968-9212-3456",
            "tel:+968 9212 3456;ext=12",
            "\u{200F}tel:92123456\u{200F}",
            // Slashes, dots and dashes as printed on cards and receipts.
            "+968/9212/3456",
            "968.9212.3456",
            "+968\u{2011}9212\u{2013}3456",
            // Full-width digits and plus (a Chinese or Japanese keyboard, some PDFs).
            "＋９６８　９２１２　３４５６",
            "９２１２－３４５６",
        ] {
            assert_eq!(e164(input).as_deref(), Ok("+96892123456"), "{input:?}");
        }
    }

    #[test]
    fn local_numbers_that_begin_with_968_are_read_as_national() {
        assert_eq!(e164("9680 0000").as_deref(), Ok("+96896800000"));
        assert_eq!(e164("+968 9680 0000").as_deref(), Ok("+96896800000"));
    }

    #[test]
    fn fixed_lines_and_foreign_numbers_are_accepted() {
        assert_eq!(e164("+968 2312 3456").as_deref(), Ok("+96823123456"));
        assert_eq!(e164("+971 50 123 4567").as_deref(), Ok("+971501234567"));
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for input in [
            "+968 1234 5678",
            "123",
            "92123456789012",
            "abc",
            "9212345x",
            "+968 9212 3456 ext 1",
            "++96892123456",
            "tel:abc",
            "mailto:92123456",
            "9212+3456",
            "9212_3456",
            "9212,3456",
            "92123456tel:",
        ] {
            assert_eq!(e164(input), Err(ValidationError::InvalidPhone), "{input:?}");
        }
        assert_eq!(
            e164(&"9".repeat(10_000)),
            Err(ValidationError::InvalidPhone)
        );
        // Only digits are kept: an override inside a pasted number is dropped, not stored
        // (see the notations test); a control character is refused.
        assert_eq!(e164("9212\u{202E}3456").as_deref(), Ok("+96892123456"));
        assert_eq!(e164("9212\u{0000}3456"), Err(ValidationError::InvalidPhone));
    }

    #[test]
    fn phones_are_grouped_for_reading_back_in_their_countrys_format() {
        let grouped = |s: &str| Phone::parse(s).unwrap().grouped();
        assert_eq!(grouped("92123456"), "+968 9212 3456");
        assert_eq!(grouped("+971501234567"), "+971 50 123 4567");
        assert_eq!(grouped("+966 50 123 4567"), "+966 50 123 4567");
        assert_eq!(group_e164("not a phone"), "not a phone");
    }

    #[test]
    fn empty_phone_is_a_required_error() {
        assert_eq!(
            e164(""),
            Err(ValidationError::Required(crate::Field::Phone))
        );
        assert_eq!(
            e164(" - "),
            Err(ValidationError::Required(crate::Field::Phone))
        );
        for nothing in ["tel:", "\u{200F}\u{200E}", "tel:;ext=1"] {
            assert_eq!(
                e164(nothing),
                Err(ValidationError::Required(crate::Field::Phone)),
                "{nothing:?}"
            );
        }
    }

    #[test]
    fn phones_are_masked_for_display_and_debug() {
        let p = Phone::parse("92123456").unwrap();
        assert_eq!(p.masked(), "+968****3456");
        assert_eq!(format!("{p:?}"), "Phone(+968****3456)");
        assert_eq!(p.national(), "92123456");
        assert_eq!(p.digits(), "96892123456");
    }

    fn arabic(s: &str) -> String {
        s.chars()
            .map(|c| char::from_u32(0x0660 + c.to_digit(10).unwrap()).unwrap())
            .collect()
    }

    proptest! {
        #[test]
        fn any_omani_mobile_in_any_notation_normalises_to_one_e164(
            second in 1u8..=9, rest in 0u32..1_000_000,
            notation in 0usize..6,
        ) {
            let national = format!("9{second}{rest:06}");
            let expected = format!("+968{national}");
            let typed = match notation {
                0 => national.clone(),
                1 => format!("+968 {} {}", &national[..4], &national[4..]),
                2 => format!("00968-{national}"),
                3 => format!("({}) {}-{}", &national[..2], &national[2..5], &national[5..]),
                4 => arabic(&national),
                _ => format!("+{}", arabic(&format!("968{national}"))),
            };
            prop_assert_eq!(e164(&typed), Ok(expected));
        }

        #[test]
        fn parsing_never_panics_and_valid_results_reparse_to_themselves(s in "\\PC{0,30}") {
            if let Ok(p) = Phone::parse(&s) {
                prop_assert_eq!(Phone::parse(p.e164()).ok(), Some(p));
            }
        }
    }
}
