//! Delivery addresses, GPS points and the distance between them.

use crate::error::{Field, ValidationError};
use crate::text::FreeText;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Home, work or another place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AddressType {
    #[default]
    Home,
    Work,
    Other,
}

impl AddressType {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressType::Home => "home",
            AddressType::Work => "work",
            AddressType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "home" => Some(AddressType::Home),
            "work" => Some(AddressType::Work),
            "other" => Some(AddressType::Other),
            _ => None,
        }
    }
}

/// Every officially assigned ISO 3166-1 alpha-2 code.
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// An ISO 3166-1 alpha-2 country code, upper case. Defaults to Oman.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "OM"))]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub const OMAN: CountryCode = CountryCode(*b"OM");

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let code = input.trim().to_ascii_uppercase();
        if code.len() == 2 && ISO_3166_ALPHA2.split(' ').any(|c| c == code) {
            let b = code.as_bytes();
            Ok(CountryCode([b[0], b[1]]))
        } else {
            Err(ValidationError::InvalidCountry)
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("OM")
    }
}

impl Default for CountryCode {
    fn default() -> Self {
        Self::OMAN
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for CountryCode {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CountryCode::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(value: CountryCode) -> Self {
        value.as_str().to_owned()
    }
}

/// A WGS 84 point with latitude in [-90, 90] and longitude in [-180, 180].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoPoint {
    #[cfg_attr(feature = "openapi", schema(minimum = -90, maximum = 90))]
    latitude: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = -180, maximum = 180))]
    longitude: f64,
}

/// Mean Earth radius used by the haversine formula, in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

impl GeoPoint {
    pub fn new(latitude: f64, longitude: f64) -> Result<Self, ValidationError> {
        if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
            return Err(ValidationError::OutOfRange(Field::Latitude));
        }
        if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
            return Err(ValidationError::OutOfRange(Field::Longitude));
        }
        Ok(Self {
            latitude,
            longitude,
        })
    }

    /// Both coordinates or neither: half a GPS point is refused.
    pub fn optional(
        latitude: Option<f64>,
        longitude: Option<f64>,
    ) -> Result<Option<Self>, ValidationError> {
        match (latitude, longitude) {
            (None, None) => Ok(None),
            (Some(lat), Some(lon)) => Self::new(lat, lon).map(Some),
            _ => Err(ValidationError::IncompleteGps),
        }
    }

    /// A point typed by a person: decimal degrees in ASCII, Arabic-Indic or Persian digits, with
    /// `.` or the Arabic decimal separator `٫`. `NaN`, `inf`, exponents and anything longer than
    /// [`COORDINATE_MAX_CHARS`] are refused as not a number, before any range check.
    pub fn parse_text(latitude: &str, longitude: &str) -> Result<Self, ValidationError> {
        let lat = parse_coordinate(Field::Latitude, latitude)?;
        let lon = parse_coordinate(Field::Longitude, longitude)?;
        Self::new(lat, lon)
    }

    pub fn latitude(&self) -> f64 {
        self.latitude
    }

    pub fn longitude(&self) -> f64 {
        self.longitude
    }

    /// Great-circle distance by the haversine formula, in kilometres.
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        let (p1, p2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let dp = p2 - p1;
        let dl = (other.longitude - self.longitude).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().atan2((1.0 - a).sqrt())
    }
}

/// Longest coordinate text accepted (`-179.123456789012` has 17 characters).
pub const COORDINATE_MAX_CHARS: usize = 24;

/// One coordinate in decimal degrees, in any of the digit scripts a keyboard here produces.
fn parse_coordinate(field: Field, input: &str) -> Result<f64, ValidationError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(ValidationError::Required(field));
    }
    if text.chars().count() > COORDINATE_MAX_CHARS {
        return Err(ValidationError::NotANumber(field));
    }
    let ascii: String = text
        .chars()
        .map(|c| match c {
            '\u{066B}' => '.',
            c => crate::phone::ascii_digit(c),
        })
        .collect();
    let body = ascii.strip_prefix(['+', '-']).unwrap_or(&ascii);
    let mut parts = body.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = digits(whole)
        && fraction.is_none_or(digits)
        && !(whole.is_empty() && fraction.is_none_or(str::is_empty));
    if !well_formed {
        return Err(ValidationError::NotANumber(field));
    }
    ascii
        .parse::<f64>()
        .map_err(|_| ValidationError::NotANumber(field))
}

/// Limits of the address text fields, in characters.
pub const ADDRESS_LINE_MAX_CHARS: usize = 100;
pub const POSTAL_CODE_MAX_CHARS: usize = 16;
pub const DELIVERY_NOTES_MAX_CHARS: usize = 500;

/// What the address form sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AddressInput {
    #[serde(default)]
    pub address_type: AddressType,
    pub label: Option<String>,
    pub building: Option<String>,
    pub floor: Option<String>,
    pub apartment: Option<String>,
    pub street: Option<String>,
    pub area: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2; Oman when absent.
    pub country: Option<String>,
    pub postal_code: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub delivery_notes: Option<String>,
}

/// A validated address (without its ids: the store owns those).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub address_type: AddressType,
    pub label: Option<FreeText>,
    pub building: Option<FreeText>,
    pub floor: Option<FreeText>,
    pub apartment: Option<FreeText>,
    pub street: Option<FreeText>,
    pub area: Option<FreeText>,
    pub city: Option<FreeText>,
    pub country: CountryCode,
    pub postal_code: Option<FreeText>,
    pub gps: Option<GeoPoint>,
    pub delivery_notes: Option<FreeText>,
}

impl AddressInput {
    /// Checks every field; an address needs at least one place detail or a GPS point.
    pub fn validate(&self) -> Result<Address, ValidationError> {
        let line = |field, v: &Option<String>| {
            FreeText::parse_line(field, v.as_deref(), ADDRESS_LINE_MAX_CHARS)
        };
        let address = Address {
            address_type: self.address_type,
            label: line(Field::Label, &self.label)?,
            building: line(Field::Building, &self.building)?,
            floor: line(Field::Floor, &self.floor)?,
            apartment: line(Field::Apartment, &self.apartment)?,
            street: line(Field::Street, &self.street)?,
            area: line(Field::Area, &self.area)?,
            city: line(Field::City, &self.city)?,
            country: match self.country.as_deref().map(str::trim) {
                None | Some("") => CountryCode::OMAN,
                Some(c) => CountryCode::parse(c)?,
            },
            postal_code: FreeText::parse_line(
                Field::PostalCode,
                self.postal_code.as_deref(),
                POSTAL_CODE_MAX_CHARS,
            )?,
            gps: GeoPoint::optional(self.latitude, self.longitude)?,
            delivery_notes: FreeText::parse_block(
                Field::DeliveryNotes,
                self.delivery_notes.as_deref(),
                DELIVERY_NOTES_MAX_CHARS,
            )?,
        };
        let has_place = [
            &address.building,
            &address.street,
            &address.area,
            &address.city,
        ]
        .iter()
        .any(|f| f.is_some());
        if !has_place && address.gps.is_none() {
            return Err(ValidationError::Required(Field::Area));
        }
        Ok(address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gps_ranges_are_checked() {
        assert!(GeoPoint::new(23.588, 58.3829).is_ok());
        assert!(GeoPoint::new(90.0, 180.0).is_ok());
        assert_eq!(
            GeoPoint::new(90.0001, 0.0),
            Err(ValidationError::OutOfRange(Field::Latitude))
        );
        assert_eq!(
            GeoPoint::new(0.0, -180.5),
            Err(ValidationError::OutOfRange(Field::Longitude))
        );
        assert_eq!(
            GeoPoint::new(f64::NAN, 0.0),
            Err(ValidationError::OutOfRange(Field::Latitude))
        );
        assert_eq!(
            GeoPoint::new(0.0, f64::INFINITY),
            Err(ValidationError::OutOfRange(Field::Longitude))
        );
        assert_eq!(
            GeoPoint::optional(Some(1.0), None),
            Err(ValidationError::IncompleteGps)
        );
    }

    #[test]
    fn typed_coordinates_accept_arabic_indic_digits_and_refuse_non_numbers() {
        let p = GeoPoint::parse_text("٢٣٫٥٨٨٠", " 58.3829 ").unwrap();
        assert_eq!((p.latitude(), p.longitude()), (23.588, 58.3829));
        assert_eq!(GeoPoint::parse_text("-.5", "+1.").unwrap().latitude(), -0.5);
        for bad in [
            "NaN",
            "inf",
            "-infinity",
            "1e3",
            "12,5",
            "1.2.3",
            ".",
            "-",
            "0x10",
            "٢٣abc",
        ] {
            assert_eq!(
                GeoPoint::parse_text(bad, "0"),
                Err(ValidationError::NotANumber(Field::Latitude)),
                "{bad}"
            );
        }
        assert_eq!(
            GeoPoint::parse_text("0", &"9".repeat(10_000)),
            Err(ValidationError::NotANumber(Field::Longitude))
        );
        assert_eq!(
            GeoPoint::parse_text("  ", "0"),
            Err(ValidationError::Required(Field::Latitude))
        );
        assert_eq!(
            GeoPoint::parse_text("90.5", "0"),
            Err(ValidationError::OutOfRange(Field::Latitude))
        );
        assert_eq!(
            GeoPoint::parse_text("0", "-180.01"),
            Err(ValidationError::OutOfRange(Field::Longitude))
        );
    }

    #[test]
    fn haversine_distance_muscat_to_salalah_is_about_860_km() {
        let muscat = GeoPoint::new(23.5880, 58.3829).unwrap();
        let salalah = GeoPoint::new(17.0151, 54.0924).unwrap();
        let d = muscat.distance_km(&salalah);
        assert!((d - 858.0).abs() < 10.0, "{d}");
        assert_eq!(muscat.distance_km(&muscat), 0.0);
    }

    #[test]
    fn country_defaults_to_oman_and_must_be_iso_alpha2() {
        let a = AddressInput {
            area: Some("Al Khuwair".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(a.country, CountryCode::OMAN);
        assert_eq!(CountryCode::parse("ae").unwrap().as_str(), "AE");
        assert_eq!(
            CountryCode::parse("XX"),
            Err(ValidationError::InvalidCountry)
        );
        assert_eq!(
            CountryCode::parse("OMN"),
            Err(ValidationError::InvalidCountry)
        );
    }

    #[test]
    fn an_address_needs_a_place_or_a_gps_point() {
        assert_eq!(
            AddressInput {
                label: Some("Home".into()),
                ..Default::default()
            }
            .validate(),
            Err(ValidationError::Required(Field::Area))
        );
        assert!(AddressInput {
            latitude: Some(23.6),
            longitude: Some(58.4),
            ..Default::default()
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn address_text_fields_refuse_hostile_input() {
        let long = AddressInput {
            street: Some("s".repeat(10_000)),
            ..Default::default()
        };
        assert!(matches!(
            long.validate(),
            Err(ValidationError::TooLong {
                field: Field::Street,
                ..
            })
        ));
        let bidi = AddressInput {
            city: Some("Mus\u{202E}cat".into()),
            ..Default::default()
        };
        assert_eq!(
            bidi.validate(),
            Err(ValidationError::BidiControl(Field::City))
        );
    }
}
