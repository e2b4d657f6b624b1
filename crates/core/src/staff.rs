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

/// The longest PIN considered.
pub const PIN_MAX_CHARS: usize = 64;
/// Argon2id cost of a PIN verifier, wherever one is made (the server's roster, a standalone
/// till's owner): 64 MiB and three passes, about 110 ms on a 2-core till (BENCHMARKS.md), so
/// whoever copies a till's roster pays that much for every PIN guessed offline.
pub const PIN_HASH_MEMORY_KIB: u32 = 64 * 1024;
pub const PIN_HASH_PASSES: u32 = 3;
/// Shortest password for signing in to the server, and the longest considered.
pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// The shortest PIN for `role`: 4 for a cashier; 6 for managers and admins, whose PIN opens the
/// manager's functions of every till of the shop (its hash is on each of them).
pub fn pin_min_chars(role: Role) -> usize {
    match role {
        Role::Cashier => 4,
        Role::Manager | Role::Admin => 6,
    }
}

/// Whether `pin` (normalised) may be set for `role`: its length, and no control characters.
pub fn pin_allowed(role: Role, pin: &str) -> bool {
    let n = pin.chars().count();
    (pin_min_chars(role)..=PIN_MAX_CHARS).contains(&n) && !pin.chars().any(char::is_control)
}

/// Whether `password` may be set: 10 to 128 characters, no control characters.
pub fn password_allowed(password: &str) -> bool {
    let n = password.chars().count();
    (PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&n)
        && !password.chars().any(char::is_control)
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
    /// The shop's time zone (IANA name), whose days the till shows and exports; absent from
    /// servers that predate it (the till then keeps what it has, Asia/Muscat at first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The shop's loyalty rule; absent from servers that predate it (the till keeps what it
    /// has, 1 point per rial at first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty: Option<crate::orders::LoyaltyRule>,
    /// Where the shop's tills ask for new versions of the app ([`crate::net::update_feed`]),
    /// when the server is configured with one; a till whose manager set its own keeps that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_feed: Option<String>,
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
    fn managers_and_admins_need_six_digit_pins_and_passwords_ten_characters() {
        assert!(pin_allowed(Role::Cashier, "1234"));
        assert!(!pin_allowed(Role::Manager, "1234"));
        assert!(!pin_allowed(Role::Admin, "12345"));
        assert!(pin_allowed(Role::Admin, "123456"));
        assert!(!pin_allowed(Role::Cashier, "12\u{0000}4"));
        assert!(!pin_allowed(Role::Cashier, &"1".repeat(65)));
        assert!(!password_allowed("short pass"[..9].trim()));
        assert!(password_allowed("ten chars!"));
        assert!(!password_allowed("ten\nchars!"));
        assert!(!password_allowed(&"p".repeat(129)));
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
