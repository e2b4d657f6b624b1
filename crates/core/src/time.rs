//! The shop's time: instants are stored in UTC, and every date a person sees, filters on or
//! exports is a day of the shop's time zone (default Asia/Muscat, UTC+4): an order taken at
//! 01:30 in Muscat belongs to that day, not to the UTC day before.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The zone of a shop that has not chosen one.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Asia::Muscat;

/// A zone by its IANA name (`Asia/Muscat`, `Asia/Dubai`); `None` when there is no such zone.
pub fn time_zone(name: &str) -> Option<Tz> {
    let name = name.trim();
    (name.len() <= 64)
        .then(|| name.parse::<Tz>().ok())
        .flatten()
}

/// The shop's day (`YYYY-MM-DD`) of an instant stored as RFC 3339; `None` if it is not one.
pub fn local_date(rfc3339: &str, zone: Tz) -> Option<String> {
    let at = DateTime::parse_from_rfc3339(rfc3339).ok()?;
    Some(at.with_timezone(&zone).format("%Y-%m-%d").to_string())
}

/// The instants a shop's day spans: from its first moment (inclusive) to the next day's
/// (exclusive), in UTC, for filtering stored instants by the shop's days.
pub fn day_bounds(day: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            // A day that starts in a DST gap: its first existing moment is an hour later.
            .unwrap_or_else(|| Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN)))
    };
    (start(day), start(day.succ_opt().unwrap_or(day)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_evening_and_small_hours_in_muscat_are_the_shops_day_not_utcs() {
        // 23:30 in Muscat on 5 December is 19:30 UTC: the same day either way.
        assert_eq!(
            local_date("2026-12-05T19:30:00Z", DEFAULT_TIME_ZONE).as_deref(),
            Some("2026-12-05")
        );
        // 02:00 in Muscat on 6 December is 22:00 UTC on the 5th: the shop's day is the 6th.
        assert_eq!(
            local_date("2026-12-05T22:00:00Z", DEFAULT_TIME_ZONE).as_deref(),
            Some("2026-12-06")
        );
        assert_eq!(
            local_date("2026-12-05T22:00:00.123+00:00", DEFAULT_TIME_ZONE).as_deref(),
            Some("2026-12-06")
        );
        assert_eq!(local_date("not a time", DEFAULT_TIME_ZONE), None);
    }

    #[test]
    fn a_shops_day_spans_from_its_local_midnight_to_the_next() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let (from, to) = day_bounds(day, DEFAULT_TIME_ZONE);
        assert_eq!(from.to_rfc3339(), "2026-12-05T20:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-12-06T20:00:00+00:00");
    }

    #[test]
    fn zones_are_read_by_their_iana_name() {
        assert_eq!(time_zone("Asia/Muscat"), Some(DEFAULT_TIME_ZONE));
        assert_eq!(time_zone(" Asia/Dubai "), Some(chrono_tz::Asia::Dubai));
        assert_eq!(time_zone("Mars/Olympus"), None);
        assert_eq!(time_zone(""), None);
        assert_eq!(time_zone(&"A".repeat(10_000)), None);
    }
}
