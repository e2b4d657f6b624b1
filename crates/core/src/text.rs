//! Text a person typed: names and free-text fields.
//!
//! Input is trimmed, inner runs of whitespace collapse to one space, and the result is put in
//! Unicode NFC so that the same name typed on two keyboards compares equal. Control characters and
//! the bidirectional embedding/override/isolate characters (U+202A–U+202E, U+2066–U+2069) are
//! refused: they can make a name display as something other than what is stored. Invisible
//! marks ([`is_invisible_mark`]: direction marks, zero-width spaces, the byte-order mark, soft
//! hyphens) are dropped: text pasted from an Arabic phone or chat app carries them, and kept
//! they would let two customers look identical on screen while differing in the store. The
//! same functions run on the till and the server, so both doors clean text the same way.

use crate::error::{Field, ValidationError};
use serde::{Deserialize, Serialize};
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// Longest person name accepted, in characters (Unicode scalar values after NFC).
pub const NAME_MAX_CHARS: usize = 100;

/// True for the characters that override or embed bidirectional text.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// True for the invisible marks that are dropped from typed or pasted text: the direction marks
/// (U+200E LRM, U+200F RLM, U+061C ALM), zero-width space and word joiner (U+200B, U+2060),
/// the invisible operators (U+2061–U+2064), the byte-order mark (U+FEFF), the Mongolian vowel
/// separator (U+180E) and the soft hyphen (U+00AD). The zero-width joiner and non-joiner
/// (U+200D, U+200C) are kept: they change how Arabic and Persian letters join, visibly.
pub fn is_invisible_mark(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{2060}'
            ..='\u{2064}' | '\u{FEFF}' | '\u{180E}' | '\u{00AD}'
    )
}

/// Cleans one line or block of text; `None` when it is empty after trimming.
fn clean(
    field: Field,
    input: &str,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, ValidationError> {
    let mut out = String::with_capacity(input.len().min(max.saturating_mul(4).saturating_add(4)));
    let mut chars = 0usize;
    let mut pending_space = false;
    let mut pending_newline = false;
    let visible = input.chars().filter(|c| !is_invisible_mark(*c));
    for c in visible.collect::<String>().trim().nfc() {
        if is_bidi_control(c) {
            return Err(ValidationError::BidiControl(field));
        }
        if multiline && c == '\n' {
            pending_newline = true;
            pending_space = false;
            continue;
        }
        if c == '\r' && multiline {
            continue;
        }
        if c.is_control() {
            return Err(ValidationError::ControlCharacter(field));
        }
        if c.is_whitespace() {
            if !pending_newline {
                pending_space = true;
            }
            continue;
        }
        for sep in [(pending_newline, '\n'), (pending_space, ' ')] {
            if sep.0 {
                out.push(sep.1);
                chars += 1;
            }
        }
        pending_newline = false;
        pending_space = false;
        out.push(c);
        chars += 1;
        if chars > max {
            return Err(ValidationError::TooLong { field, max });
        }
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// A person's name (first, last or Arabic name): 1–100 characters, clean, NFC.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Parses a required name for `field`.
    pub fn parse(field: Field, input: &str) -> Result<Self, ValidationError> {
        clean(field, input, NAME_MAX_CHARS, false)?
            .map(PersonName)
            .ok_or(ValidationError::Required(field))
    }

    /// Parses an optional name: empty input gives `None`.
    pub fn parse_optional(
        field: Field,
        input: Option<&str>,
    ) -> Result<Option<Self>, ValidationError> {
        match input {
            None => Ok(None),
            Some(s) => Ok(clean(field, s, NAME_MAX_CHARS, false)?.map(PersonName)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PersonName {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PersonName::parse(Field::FirstName, &value)
    }
}

impl From<PersonName> for String {
    fn from(value: PersonName) -> Self {
        value.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Optional free text of an address or a preference (label, street, delivery notes, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct FreeText(String);

impl FreeText {
    /// Parses one line of optional text of at most `max` characters.
    pub fn parse_line(
        field: Field,
        input: Option<&str>,
        max: usize,
    ) -> Result<Option<Self>, ValidationError> {
        input
            .map(|s| clean(field, s, max, false).map(|o| o.map(FreeText)))
            .transpose()
            .map(Option::flatten)
    }

    /// Parses optional multi-line text (line breaks kept) of at most `max` characters.
    pub fn parse_block(
        field: Field,
        input: Option<&str>,
        max: usize,
    ) -> Result<Option<Self>, ValidationError> {
        input
            .map(|s| clean(field, s, max, true).map(|o| o.map(FreeText)))
            .transpose()
            .map(Option::flatten)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FreeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Result<PersonName, ValidationError> {
        PersonName::parse(Field::FirstName, s)
    }

    #[test]
    fn names_are_trimmed_and_inner_spaces_collapsed() {
        assert_eq!(
            name("  Ahmed   Al  Said \t").unwrap().as_str(),
            "Ahmed Al Said"
        );
    }

    #[test]
    fn names_are_stored_in_nfc() {
        // "e" + combining acute accent becomes the single precomposed character.
        assert_eq!(name("Rene\u{0301}").unwrap().as_str(), "Ren\u{00e9}");
    }

    #[test]
    fn arabic_names_are_accepted() {
        assert_eq!(name("أحمد السعيدي").unwrap().as_str(), "أحمد السعيدي");
    }

    #[test]
    fn empty_and_blank_names_are_required_errors() {
        assert_eq!(name(""), Err(ValidationError::Required(Field::FirstName)));
        assert_eq!(
            name(" \t "),
            Err(ValidationError::Required(Field::FirstName))
        );
    }

    #[test]
    fn names_over_100_characters_are_refused_and_100_accepted() {
        let long = "ب".repeat(10_000);
        assert_eq!(
            name(&long),
            Err(ValidationError::TooLong {
                field: Field::FirstName,
                max: 100
            })
        );
        assert!(name(&"a".repeat(100)).is_ok());
        assert!(name(&"a".repeat(101)).is_err());
    }

    #[test]
    fn control_characters_inside_names_are_refused() {
        for bad in [
            "Ah\u{0000}med",
            "Ah\nmed",
            "Ah\u{0007}med",
            "Ah\u{009B}med",
            "Ah\u{007F}med",
        ] {
            assert_eq!(
                name(bad),
                Err(ValidationError::ControlCharacter(Field::FirstName)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn every_bidi_override_embedding_and_isolate_is_refused() {
        for c in ('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}') {
            let input = format!("Ahmed{c}dias");
            assert_eq!(
                name(&input),
                Err(ValidationError::BidiControl(Field::FirstName)),
                "{c:?}"
            );
        }
    }

    #[test]
    fn invisible_marks_are_dropped_so_two_names_cannot_look_alike_and_differ() {
        for mark in [
            '\u{200B}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{2060}', '\u{2063}', '\u{FEFF}',
            '\u{180E}', '\u{00AD}',
        ] {
            for input in [
                format!("{mark}Salim"),
                format!("Sal{mark}im"),
                format!("Salim{mark}"),
                format!("Salim {mark} "),
            ] {
                assert_eq!(name(&input).unwrap().as_str(), "Salim", "{input:?}");
            }
            assert_eq!(
                name(&format!("سالم{mark}")).unwrap().as_str(),
                "سالم",
                "{mark:?}"
            );
            // A name of marks only is no name.
            assert_eq!(
                name(&format!("{mark}{mark}")),
                Err(ValidationError::Required(Field::FirstName))
            );
        }
        // The joiners change how letters join: kept.
        assert_eq!(name("می\u{200C}خواهم").unwrap().as_str(), "می\u{200C}خواهم");
        let notes = FreeText::parse_block(Field::DeliveryNotes, Some("Gate\u{200F} 2"), 500)
            .unwrap()
            .unwrap();
        assert_eq!(notes.as_str(), "Gate 2");
    }

    #[test]
    fn optional_names_treat_blank_as_absent() {
        assert_eq!(
            PersonName::parse_optional(Field::LastName, Some("  ")),
            Ok(None)
        );
        assert_eq!(PersonName::parse_optional(Field::LastName, None), Ok(None));
    }

    #[test]
    fn delivery_notes_keep_line_breaks_but_refuse_other_controls() {
        let notes = FreeText::parse_block(Field::DeliveryNotes, Some("Gate 2\r\nRing twice"), 500)
            .unwrap()
            .unwrap();
        assert_eq!(notes.as_str(), "Gate 2\nRing twice");
        assert!(FreeText::parse_block(Field::DeliveryNotes, Some("a\u{0008}b"), 500).is_err());
        assert!(FreeText::parse_line(Field::Street, Some("a\nb"), 100).is_err());
    }
}
