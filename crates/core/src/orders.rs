//! Orders (drop-off tickets) and loyalty points: amounts in Omani rials kept as integer baisa
//! (1 OMR = 1,000 baisa, shown with 3 decimals), the ticket reference a till prints while
//! offline, and the shop's loyalty rule.

use crate::error::{Field, ValidationError};
use crate::ids::{DeviceId, OrderId};
use crate::text::FreeText;
use serde::{Deserialize, Serialize};

/// Baisa in one Omani rial.
pub const BAISA_PER_RIAL: i64 = 1_000;
/// Largest amount of one order: 100,000 OMR (a typo guard far above any laundry ticket).
pub const MAX_ORDER_BAISA: i64 = 100_000 * BAISA_PER_RIAL;
/// Most pieces on one ticket.
pub const MAX_PIECES: u32 = 999;
/// Longest ticket reference, in characters.
pub const TICKET_MAX_CHARS: usize = 32;
/// Longest order note, in characters.
pub const ORDER_NOTE_MAX_CHARS: usize = 500;
/// Longest reason of a points adjustment, in characters.
pub const REASON_MAX_CHARS: usize = 200;
/// Largest points adjustment, either way.
pub const MAX_POINTS_ADJUSTMENT: i64 = 1_000_000;
/// Most points a shop may give per rial.
pub const MAX_POINTS_PER_RIAL: u32 = 1_000;
/// How far back a till's clock may date an order it took offline, in days.
pub const ORDER_BACKDATE_MAX_DAYS: i64 = 30;

/// When an order was taken, as the server records it: the time the till says it took the
/// order offline, but never in the future and never more than [`ORDER_BACKDATE_MAX_DAYS`]
/// before `now` (a wrong or tampered till clock cannot move orders out of their period).
pub fn taken_at(
    claimed: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::Utc> {
    claimed.clamp(now - chrono::Duration::days(ORDER_BACKDATE_MAX_DAYS), now)
}

/// The shop's loyalty rule: whole points per rial spent (default 1 point per OMR), rounded
/// down per order. The server's rule is the truth; a till applies the rule it last heard of
/// while offline and takes the server's points when it pulls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyRule {
    pub points_per_rial: u32,
}

impl Default for LoyaltyRule {
    fn default() -> Self {
        Self { points_per_rial: 1 }
    }
}

impl LoyaltyRule {
    /// A rule from a number a shop owner set: 0 (no points) to [`MAX_POINTS_PER_RIAL`].
    pub fn new(points_per_rial: u32) -> Result<Self, ValidationError> {
        if points_per_rial > MAX_POINTS_PER_RIAL {
            return Err(ValidationError::OutOfRange(Field::Points));
        }
        Ok(Self { points_per_rial })
    }

    /// Points an order of `amount_baisa` earns.
    pub fn points_for(self, amount_baisa: i64) -> i64 {
        amount_baisa.max(0) * i64::from(self.points_per_rial) / BAISA_PER_RIAL
    }
}

/// `12345` baisa → `"12.345"`.
pub fn format_omr(baisa: i64) -> String {
    let sign = if baisa < 0 { "-" } else { "" };
    let b = baisa.unsigned_abs();
    format!("{sign}{}.{:03}", b / 1000, b % 1000)
}

/// An amount typed in rials: `12`, `12.5`, `12.345`, `0.250`, with Arabic-Indic or Persian
/// digits and the Arabic decimal separator (`١٢٫٥`) too; at most 3 decimals, not negative, at
/// most [`MAX_ORDER_BAISA`]. Returns baisa.
pub fn parse_omr(input: &str) -> Result<i64, ValidationError> {
    let field = Field::Amount;
    let mut text = String::with_capacity(input.len());
    for c in input.trim().chars() {
        let c = match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            '\u{066B}' | ',' => '.',
            c if crate::text::is_invisible_mark(c) => continue,
            c => c,
        };
        text.push(c);
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(ValidationError::Required(field));
    }
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if text.starts_with('-') {
        return Err(ValidationError::OutOfRange(field));
    }
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return Err(ValidationError::NotANumber(field));
    }
    if frac.len() > 3 {
        return Err(ValidationError::OutOfRange(field));
    }
    // More digits than the cap can have: out of range without overflowing.
    let whole = whole.trim_start_matches('0');
    if whole.len() > 9 {
        return Err(ValidationError::OutOfRange(field));
    }
    let rials: i64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| ValidationError::NotANumber(field))?
    };
    let frac: i64 = format!("{frac:0<3}")
        .parse()
        .map_err(|_| ValidationError::NotANumber(field))?;
    let baisa = rials * BAISA_PER_RIAL + frac;
    check_amount(baisa)?;
    Ok(baisa)
}

/// A number of pieces as typed (any digit script): 1 to [`MAX_PIECES`].
pub fn parse_pieces(input: &str) -> Result<u32, ValidationError> {
    let field = Field::Pieces;
    let n = parse_pieces_like(input, field, 3)?;
    if !(1..=i64::from(MAX_PIECES)).contains(&n) {
        return Err(ValidationError::OutOfRange(field));
    }
    Ok(n as u32)
}

/// A points adjustment as typed: a whole number with an optional sign (`+5`, `-20`, `−3`,
/// Arabic-Indic digits too), non-zero, at most [`MAX_POINTS_ADJUSTMENT`] either way.
pub fn parse_points_delta(input: &str) -> Result<i64, ValidationError> {
    let field = Field::Points;
    let text: String = input
        .trim()
        .chars()
        .filter(|c| !crate::text::is_invisible_mark(*c))
        .collect();
    let (negative, digits) = match text.chars().next() {
        Some('-' | '\u{2212}') => (true, &text[text.chars().next().map_or(0, char::len_utf8)..]),
        Some('+') => (false, &text[1..]),
        _ => (false, text.as_str()),
    };
    let magnitude = parse_pieces_like(digits, field, 7)?;
    if magnitude == 0 || magnitude > MAX_POINTS_ADJUSTMENT {
        return Err(ValidationError::OutOfRange(field));
    }
    Ok(if negative { -magnitude } else { magnitude })
}

/// Digits in any script to a number of at most `max_digits` significant digits.
fn parse_pieces_like(input: &str, field: Field, max_digits: usize) -> Result<i64, ValidationError> {
    let digits: String = input
        .trim()
        .chars()
        .filter(|c| !crate::text::is_invisible_mark(*c))
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            c => c,
        })
        .collect();
    if digits.is_empty() {
        return Err(ValidationError::Required(field));
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::NotANumber(field));
    }
    let n = digits.trim_start_matches('0');
    if n.len() > max_digits {
        return Err(ValidationError::OutOfRange(field));
    }
    if n.is_empty() {
        return Ok(0);
    }
    n.parse().map_err(|_| ValidationError::NotANumber(field))
}

/// An amount that arrived as data (an op, a REST body): 0 to [`MAX_ORDER_BAISA`] baisa.
pub fn check_amount(baisa: i64) -> Result<(), ValidationError> {
    if (0..=MAX_ORDER_BAISA).contains(&baisa) {
        Ok(())
    } else {
        Err(ValidationError::OutOfRange(Field::Amount))
    }
}

/// The ticket reference a till gives its `n`th order, offline: a 4-character till code (from
/// the random end of its device id, so two tills of a shop differ) and the number, e.g.
/// `7F3A-00042`.
pub fn ticket_reference(device: DeviceId, n: u64) -> String {
    let hex = device.as_uuid().simple().to_string().to_ascii_uppercase();
    format!("{}-{n:05}", &hex[hex.len() - 4..])
}

/// A ticket reference as typed or received: one line, 1 to [`TICKET_MAX_CHARS`] characters.
pub fn check_ticket(input: &str) -> Result<String, ValidationError> {
    FreeText::parse_line(Field::Ticket, Some(input), TICKET_MAX_CHARS)?
        .map(|t| t.as_str().to_owned())
        .ok_or(ValidationError::Required(Field::Ticket))
}

/// One order as a till or the server holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderRecord {
    pub id: OrderId,
    pub ticket: String,
    /// Baisa (1 OMR = 1,000).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub amount_baisa: i64,
    pub pieces: u32,
    pub note: Option<String>,
    /// Points the order earned (the server's figure once synced).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub points: i64,
    /// RFC 3339.
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_as_rials_with_up_to_three_decimals_in_any_digits() {
        assert_eq!(parse_omr("12"), Ok(12_000));
        assert_eq!(parse_omr(" 12.5 "), Ok(12_500));
        assert_eq!(parse_omr("12.345"), Ok(12_345));
        assert_eq!(parse_omr("0.250"), Ok(250));
        assert_eq!(parse_omr(".5"), Ok(500));
        assert_eq!(parse_omr("١٢٫٥"), Ok(12_500));
        assert_eq!(parse_omr("۳,۰۰۰"), Ok(3_000));
        assert_eq!(parse_omr("\u{200F}7.5\u{200E}"), Ok(7_500));
        assert_eq!(parse_omr("100000"), Ok(MAX_ORDER_BAISA));
    }

    #[test]
    fn bad_amounts_get_a_field_error_not_a_panic() {
        let f = Field::Amount;
        assert_eq!(parse_omr(""), Err(ValidationError::Required(f)));
        assert_eq!(parse_omr("  "), Err(ValidationError::Required(f)));
        assert_eq!(parse_omr("-1"), Err(ValidationError::OutOfRange(f)));
        assert_eq!(parse_omr("1.2345"), Err(ValidationError::OutOfRange(f)));
        assert_eq!(parse_omr("100000.001"), Err(ValidationError::OutOfRange(f)));
        assert_eq!(
            parse_omr(&"9".repeat(10_000)),
            Err(ValidationError::OutOfRange(f))
        );
        for junk in [
            "abc",
            "1.2.3",
            "1e3",
            "12 OMR",
            ".",
            "1\u{202E}2",
            "0x10",
            "+5",
        ] {
            assert_eq!(
                parse_omr(junk),
                Err(ValidationError::NotANumber(f)),
                "{junk}"
            );
        }
    }

    #[test]
    fn pieces_are_a_count_from_one_to_the_cap_in_any_digits() {
        let f = Field::Pieces;
        assert_eq!(parse_pieces("3"), Ok(3));
        assert_eq!(parse_pieces(" ١٢ "), Ok(12));
        assert_eq!(parse_pieces("999"), Ok(999));
        assert_eq!(parse_pieces(""), Err(ValidationError::Required(f)));
        assert_eq!(parse_pieces("0"), Err(ValidationError::OutOfRange(f)));
        assert_eq!(parse_pieces("1000"), Err(ValidationError::OutOfRange(f)));
        assert_eq!(
            parse_pieces(&"7".repeat(10_000)),
            Err(ValidationError::OutOfRange(f))
        );
        assert_eq!(parse_pieces("2.5"), Err(ValidationError::NotANumber(f)));
        assert_eq!(parse_pieces("-1"), Err(ValidationError::NotANumber(f)));
    }

    #[test]
    fn a_points_adjustment_is_a_signed_whole_number_never_zero() {
        let f = Field::Points;
        assert_eq!(parse_points_delta("5"), Ok(5));
        assert_eq!(parse_points_delta("+5"), Ok(5));
        assert_eq!(parse_points_delta(" -20 "), Ok(-20));
        assert_eq!(parse_points_delta("\u{2212}٣"), Ok(-3));
        assert_eq!(parse_points_delta("1000000"), Ok(1_000_000));
        assert_eq!(parse_points_delta(""), Err(ValidationError::Required(f)));
        assert_eq!(parse_points_delta("-"), Err(ValidationError::Required(f)));
        assert_eq!(parse_points_delta("0"), Err(ValidationError::OutOfRange(f)));
        assert_eq!(
            parse_points_delta("1000001"),
            Err(ValidationError::OutOfRange(f))
        );
        assert_eq!(
            parse_points_delta(&"9".repeat(10_000)),
            Err(ValidationError::OutOfRange(f))
        );
        assert_eq!(
            parse_points_delta("1.5"),
            Err(ValidationError::NotANumber(f))
        );
        assert_eq!(
            parse_points_delta("--1"),
            Err(ValidationError::NotANumber(f))
        );
    }

    #[test]
    fn an_order_keeps_the_time_the_till_took_it_within_bounds() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
            .unwrap()
            .to_utc();
        let hours = |h: i64| now - chrono::Duration::hours(h);
        assert_eq!(taken_at(hours(5), now), hours(5), "offline for five hours");
        assert_eq!(taken_at(hours(-3), now), now, "a till clock ahead");
        assert_eq!(
            taken_at(hours(24 * 400), now),
            now - chrono::Duration::days(ORDER_BACKDATE_MAX_DAYS),
            "a till clock a year behind"
        );
    }

    #[test]
    fn amounts_are_shown_with_three_decimals() {
        assert_eq!(format_omr(12_345), "12.345");
        assert_eq!(format_omr(500), "0.500");
        assert_eq!(format_omr(0), "0.000");
        assert_eq!(format_omr(-1_250), "-1.250");
    }

    #[test]
    fn points_are_whole_points_per_rial_rounded_down() {
        let one = LoyaltyRule::default();
        assert_eq!(one.points_for(12_999), 12);
        assert_eq!(one.points_for(999), 0);
        assert_eq!(LoyaltyRule::new(5).unwrap().points_for(2_500), 12);
        assert_eq!(LoyaltyRule::new(0).unwrap().points_for(50_000), 0);
        assert_eq!(
            LoyaltyRule::new(MAX_POINTS_PER_RIAL)
                .unwrap()
                .points_for(MAX_ORDER_BAISA),
            100_000_000
        );
        assert!(LoyaltyRule::new(MAX_POINTS_PER_RIAL + 1).is_err());
    }

    #[test]
    fn tickets_carry_the_till_code_and_differ_between_tills() {
        let id = |s: &str| DeviceId::from_uuid(s.parse().unwrap());
        let a = id("019a0000-0000-7000-8000-00000000beef");
        let b = id("019a0000-0000-7000-8000-000000007f3a");
        let ta = ticket_reference(a, 42);
        assert_eq!(ta, "BEEF-00042");
        assert_eq!(ticket_reference(b, 123_456), "7F3A-123456");
        assert_eq!(check_ticket(&ta), Ok(ta.clone()));
        assert_eq!(
            check_ticket("  "),
            Err(ValidationError::Required(Field::Ticket))
        );
        assert!(check_ticket(&"x".repeat(33)).is_err());
        assert!(check_ticket("A\u{202E}B").is_err());
    }
}
