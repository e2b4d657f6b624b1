//! Staff roles and the roster a tenant server hands its devices, so that staff can sign in at
//! a till with their PIN whether or not the network is up.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a staff member may do. Ordered: each role may do everything the ones below it may.
///
/// - `cashier`: the counter — search, create, view and edit customers, addresses, upgrades;
/// - `manager`: also the customer list, export, deactivation, merges, parked-op discards,
///   device enrollment and store settings;
/// - `admin`: also tenant-wide server functions (server export, staff management).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Cashier,
    Manager,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "cashier" => Some(Role::Cashier),
            "manager" => Some(Role::Manager),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A PIN as typed, with Arabic-Indic or Persian digits read as ASCII ones, so a PIN typed on an
/// Arabic keyboard matches the one it was set with.
pub fn normalize_pin(pin: &str) -> String {
    pin.chars().map(crate::phone::ascii_digit).collect()
}

/// One active staff member as a device holds them. `pin_hash` is the argon2id PHC string the
/// server stores (salted, slow on purpose): a device verifies PINs offline against it and never
/// sees a PIN in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RosterMember {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub pin_hash: String,
}

/// `GET /api/v1/sync/staff`: the tenant's active staff (answered with an `ETag`; a device that
/// sends it back as `If-None-Match` gets `304 Not Modified` while nothing changed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Roster {
    pub staff: Vec<RosterMember>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_typed_in_arabic_indic_or_persian_digits_read_as_ascii() {
        assert_eq!(normalize_pin("١٢٣٤"), "1234");
        assert_eq!(normalize_pin("۵۶۷۸"), "5678");
        assert_eq!(normalize_pin("12ab"), "12ab");
    }

    #[test]
    fn roles_are_ordered_cashier_manager_admin() {
        assert!(Role::Cashier < Role::Manager && Role::Manager < Role::Admin);
    }

    #[test]
    fn role_text_round_trips_and_unknown_text_is_refused() {
        for r in [Role::Cashier, Role::Manager, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert_eq!(Role::parse("owner"), None);
        assert_eq!(Role::parse("Manager"), None);
    }
}
