//! Staff sign-in at the till, offline: the roster comes from the tenant server (with argon2id
//! PIN hashes), PINs are checked here, and each use case demands a role.
//!
//! A till that was never enrolled and has nobody on its roster (a standalone till, or a new one)
//! is not open to whoever walks up to it: nothing works until its owner sets a PIN
//! ([`Device::set_owner_pin`]), which makes them the till's one admin, signed in. Enrollment later
//! replaces that roster with the shop's. An enrolled till whose shop has no staff acts for
//! nobody: the counter's work only, as the server judges it. Once the roster has anyone in it,
//! it fails closed: a later roster with nobody usable in it is not
//! believed (the last good one stays), wrong PINs and a lockout survive a restart, and nothing
//! but reading the sync status works until someone signs in, and the
//! manager's use cases (the customer list, export, deactivation, discarding parked changes,
//! enrollment and store settings) refuse a cashier.

use crate::error::{DeviceError, Result};
use crate::settings::{drop_setting, put_setting};
use crate::Device;
use argon2::password_hash::PasswordHash;
use argon2::{Argon2, PasswordVerifier};
use dukkan_core::staff::{normalize_pin, Role, Roster};
use dukkan_core::{Field, PersonName};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Wrong PINs in a row (for anyone) before sign-in locks.
pub const MAX_PIN_FAILURES: u32 = 5;
/// How long sign-in stays locked after [`MAX_PIN_FAILURES`] wrong PINs.
pub const PIN_LOCKOUT: Duration = Duration::from_secs(60);
/// The longest PIN considered (longer input is wrong without hashing it).
const PIN_MAX_CHARS: usize = 64;
pub(crate) const ROSTER_ETAG: &str = "staff_roster_etag";

/// A staff member as the UI sees them (never their PIN hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StaffMember {
    pub id: String,
    pub name: String,
    pub role: Role,
}

/// Who is signed in, and whether anyone has to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StaffSession {
    /// A till never enrolled with nobody on its roster: its owner must set a PIN first.
    pub owner_pin_required: bool,
    /// The roster is not empty: use cases need a signed-in staff member.
    pub sign_in_required: bool,
    pub staff: Option<StaffMember>,
}

/// Sign-in state: a restart signs everybody out, but the count of wrong PINs and a lockout are
/// kept in the store (a restart must not buy a guesser more tries).
#[derive(Debug, Default)]
pub(crate) struct SignIn {
    pub staffed: bool,
    pub staff: Option<StaffMember>,
    failures: u32,
    /// Attempts whose PIN is being checked right now: with `failures` they may not exceed
    /// [`MAX_PIN_FAILURES`], so attempts made at once get no more tries than one by one.
    checking: u32,
    locked_until: Option<Instant>,
}

const PIN_FAILURES: &str = "sign_in_failures";
const PIN_LOCKED_UNTIL: &str = "sign_in_locked_until_ms";

fn unix_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl SignIn {
    /// The state at start: nobody signed in; the wrong PINs counted before the restart, and
    /// what is left of a lockout (at most [`PIN_LOCKOUT`], should the clock have been set back).
    pub(crate) fn load(conn: &rusqlite::Connection) -> Result<Self> {
        let setting = |key: &str| -> Result<Option<i64>> {
            Ok(conn
                .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .and_then(|v| v.parse().ok()))
        };
        let failures = setting(PIN_FAILURES)?
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
            .min(MAX_PIN_FAILURES);
        let now_ms = unix_ms(std::time::SystemTime::now());
        let locked_until = setting(PIN_LOCKED_UNTIL)?
            .filter(|until| *until > now_ms)
            .map(|until| {
                let left = Duration::from_millis(u64::try_from(until - now_ms).unwrap_or(0));
                Instant::now() + left.min(PIN_LOCKOUT)
            });
        Ok(SignIn {
            staffed: load_staffed(conn)?,
            failures,
            locked_until,
            ..Default::default()
        })
    }
}

/// The cost every PIN verifier has (`dukkan_core::staff`), as the server's roster makes them.
fn pin_hash_params() -> Result<argon2::Params> {
    argon2::Params::new(
        dukkan_core::staff::PIN_HASH_MEMORY_KIB,
        dukkan_core::staff::PIN_HASH_PASSES,
        1,
        None,
    )
    .map_err(|e| DeviceError::Migration(format!("PIN hash parameters: {e}")))
}

/// An argon2id verifier of `pin`.
fn hash_pin(pin: &str, params: argon2::Params) -> Result<String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let hasher = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    hasher
        .hash_password(pin.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .map_err(|e| DeviceError::Migration(format!("PIN hash: {e}")))
}

fn verify_pin(pin: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

pub(crate) fn load_staffed(conn: &rusqlite::Connection) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM staff)", [], |r| r.get(0))?)
}

impl Device {
    /// Refuses the use case unless the signed-in staff member's role is at least `min` (or the
    /// till is enrolled with a shop that has no staff; then the server judges each change).
    pub fn authorize(&self, min: Role) -> Result<()> {
        let s = self.sign_in_state();
        if !s.staffed {
            drop(s);
            return match self.enrollment()? {
                Some(_) => Ok(()),
                None => Err(DeviceError::OwnerPinRequired),
            };
        }
        match &s.staff {
            None => Err(DeviceError::SignInRequired),
            Some(m) if m.role >= min => Ok(()),
            Some(_) => Err(DeviceError::Refused(
                dukkan_core::rules::Refusal::RoleRequired(min),
            )),
        }
    }

    /// Refuses a change to a customer unless the signed-in staff member's role allows it
    /// (`dukkan_core::rules::authorize`, the rule the server applies to the pushed op). A till
    /// without a roster acts for nobody once it is enrolled — the counter's work only, as the
    /// server will judge it; a till never enrolled is a shop's own standalone till, where the
    /// person at it is its owner.
    pub fn authorize_action(&self, action: dukkan_core::rules::Action) -> Result<()> {
        let staffed = self.sign_in_state().staffed;
        if !staffed && self.enrollment()?.is_some() {
            return Ok(dukkan_core::rules::authorize(None, action)?);
        }
        self.authorize(action.role())
    }

    /// Who is signed in, and whether signing in (or first, setting the owner's PIN) is required.
    pub fn staff_session(&self) -> StaffSession {
        let (staffed, staff) = {
            let s = self.sign_in_state();
            (s.staffed, s.staff.clone())
        };
        // Fails closed: a store that cannot say whether it is enrolled asks for the owner.
        let owner_pin_required = !staffed && self.enrollment().map_or(true, |e| e.is_none());
        StaffSession {
            owner_pin_required,
            sign_in_required: staffed,
            staff,
        }
    }

    /// Gives a till that was never enrolled and has nobody on its roster its owner: `name`, an
    /// admin, with `pin` (at least the admin's 6 digits; Arabic-Indic digits read as ASCII),
    /// kept as an argon2id verifier like the server's. The owner is signed in. Refused once the
    /// till has a roster or is enrolled (the shop's roster then comes from the server).
    /// Slow on purpose (argon2): call it off the UI thread.
    pub fn set_owner_pin(&self, name: &str, pin: &str) -> Result<StaffMember> {
        self.set_owner(name, pin, pin_hash_params()?)
    }

    /// [`Device::set_owner_pin`] with a verifier that costs next to nothing, for tests whose
    /// subject is not sign-in (the app never enables the `testing` feature).
    #[cfg(feature = "testing")]
    pub fn set_owner_pin_cheaply(&self, name: &str, pin: &str) -> Result<StaffMember> {
        let cheap = argon2::Params::new(8, 1, 1, None)
            .map_err(|e| DeviceError::Migration(format!("PIN hash parameters: {e}")))?;
        self.set_owner(name, pin, cheap)
    }

    fn set_owner(&self, name: &str, pin: &str, params: argon2::Params) -> Result<StaffMember> {
        if !self.staff_session().owner_pin_required {
            return Err(DeviceError::OwnerPinNotNeeded);
        }
        let name = PersonName::parse(Field::StaffName, name)?;
        let pin = normalize_pin(pin);
        if !dukkan_core::staff::pin_allowed(Role::Admin, &pin) {
            return Err(DeviceError::PinNotAllowed {
                min: dukkan_core::staff::pin_min_chars(Role::Admin),
            });
        }
        let hash = hash_pin(&pin, params)?;
        let owner = StaffMember {
            id: uuid::Uuid::now_v7().to_string(),
            name: name.as_str().to_owned(),
            role: Role::Admin,
        };
        // Inserted only into an empty roster, inside the write transaction: two windows
        // setting an owner at once make one.
        let inserted = self.write_quietly(|tx, _| {
            Ok(tx.execute(
                "INSERT INTO staff (id, name, role, pin_hash)
                 SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM staff)",
                params![owner.id, owner.name, owner.role.as_str(), hash],
            )?)
        })?;
        if inserted == 0 {
            return Err(DeviceError::OwnerPinNotNeeded);
        }
        let mut s = self.sign_in_state();
        s.staffed = true;
        s.staff = Some(owner.clone());
        tracing::info!(staff = %owner.id, "owner PIN set on a standalone till; owner signed in");
        Ok(owner)
    }

    /// The staff who may sign in here, by name.
    pub fn staff_roster(&self) -> Result<Vec<StaffMember>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT id, name, role FROM staff ORDER BY name, id")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name, role) = row?;
                if let Some(role) = Role::parse(&role) {
                    out.push(StaffMember { id, name, role });
                }
            }
            Ok(out)
        })
    }

    /// Signs `staff_id` in with `pin` (Arabic-Indic digits accepted), checked against the
    /// roster's argon2id hash — offline. [`MAX_PIN_FAILURES`] wrong PINs in a row lock sign-in
    /// for [`PIN_LOCKOUT`]. Slow on purpose (tens of milliseconds): call it off the UI thread.
    pub fn sign_in(&self, staff_id: &str, pin: &str) -> Result<StaffMember> {
        {
            let mut s = self.sign_in_state();
            let now = Instant::now();
            if let Some(until) = s.locked_until.filter(|until| *until > now) {
                return Err(DeviceError::SignInLocked {
                    seconds: (until - now).as_secs() + 1,
                });
            }
            if s.failures + s.checking >= MAX_PIN_FAILURES {
                // The tries left are all being checked already.
                return Err(DeviceError::SignInLocked {
                    seconds: PIN_LOCKOUT.as_secs(),
                });
            }
            s.checking += 1;
        }
        let outcome = self.check_pin(staff_id, pin);
        let (answer, failures, locked_until) = {
            let mut s = self.sign_in_state();
            s.checking -= 1;
            let answer = match outcome? {
                Some(member) => {
                    s.failures = 0;
                    s.locked_until = None;
                    s.staff = Some(member.clone());
                    tracing::info!(staff = %member.id, role = member.role.as_str(), "staff signed in");
                    Ok(member)
                }
                None => {
                    s.failures += 1;
                    tracing::info!(failures = s.failures, "sign-in refused");
                    if s.failures >= MAX_PIN_FAILURES {
                        s.failures = 0;
                        s.locked_until = Some(Instant::now() + PIN_LOCKOUT);
                        Err(DeviceError::SignInLocked {
                            seconds: PIN_LOCKOUT.as_secs(),
                        })
                    } else {
                        Err(DeviceError::PinWrong)
                    }
                }
            };
            (answer, s.failures, s.locked_until)
        };
        self.save_pin_failures(failures, locked_until)?;
        answer
    }

    /// Keeps the count of wrong PINs and the lockout in the store.
    fn save_pin_failures(&self, failures: u32, locked_until: Option<Instant>) -> Result<()> {
        let until_ms = locked_until.map(|until| {
            let left = until.saturating_duration_since(Instant::now());
            unix_ms(std::time::SystemTime::now() + left)
        });
        self.write_quietly(|tx, _| {
            put_setting(tx, PIN_FAILURES, &failures.to_string())?;
            put_setting(tx, PIN_LOCKED_UNTIL, &until_ms.unwrap_or(0).to_string())
        })
    }

    /// The roster member `staff_id` when `pin` is theirs (argon2: slow).
    fn check_pin(&self, staff_id: &str, pin: &str) -> Result<Option<StaffMember>> {
        let found: Option<(String, String, String)> = self.read(|c| {
            Ok(c.query_row(
                "SELECT name, role, pin_hash FROM staff WHERE id = ?1",
                [staff_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })?;
        let pin = normalize_pin(pin);
        let member = found.and_then(|(name, role, hash)| {
            let ok = pin.chars().count() <= PIN_MAX_CHARS && verify_pin(&pin, &hash);
            Some(StaffMember {
                id: staff_id.to_owned(),
                name,
                role: Role::parse(&role)?,
            })
            .filter(|_| ok)
        });
        Ok(member)
    }

    /// Signs the current staff member out (the till then waits for the next sign-in).
    pub fn sign_out(&self) {
        let mut s = self.sign_in_state();
        if let Some(m) = s.staff.take() {
            tracing::info!(staff = %m.id, "staff signed out");
        }
    }

    plumbing! {
        /// The `ETag` of the roster last stored, sent back as `If-None-Match`.
        fn roster_etag(&self) -> Result<Option<String>> {
            self.read(|c| {
                Ok(c.query_row(
                    "SELECT value FROM settings WHERE key = ?1",
                    [ROSTER_ETAG],
                    |r| r.get(0),
                )
                .optional()?)
            })
        }
    }

    plumbing! {
        /// Replaces the roster with the server's. Members whose PIN hash is not an argon2 PHC
        /// string are left out (they could never sign in). A signed-in member who left the roster
        /// is signed out; one whose role changed keeps the session with the new role.
        fn replace_roster(&self, roster: &Roster, etag: Option<&str>) -> Result<()> {
            let members: Vec<_> = roster
                .staff
                .iter()
                .filter(|m| {
                    let usable = PasswordHash::new(&m.pin_hash).is_ok()
                        && !m.name.trim().is_empty()
                        && m.name.chars().count() <= 200;
                    if !usable {
                        tracing::warn!(staff = %m.id, "roster member left out: unusable entry");
                    }
                    usable
                })
                .collect();
            // Fail closed: once a till has staff it never opens without a sign-in. A roster
            // with nobody usable in it (an empty answer, a server that lost its staff, anyone on
            // the network answering in its place) is not believed: the last good one stays,
            // and its tag is not kept, so the next sync asks again.
            if members.is_empty() && self.sign_in_state().staffed {
                tracing::warn!(
                    received = roster.staff.len(),
                    "roster without a usable member refused; keeping the last good one"
                );
                return Ok(());
            }
            // Quietly: a roster is not a change to push, so it must not wake the sync engine.
            self.write_quietly(|tx, _| {
                tx.execute("DELETE FROM staff", [])?;
                let mut insert =
                    tx.prepare("INSERT INTO staff (id, name, role, pin_hash) VALUES (?1, ?2, ?3, ?4)")?;
                for m in &members {
                    insert.execute(params![
                        m.id.to_string(),
                        m.name.trim(),
                        m.role.as_str(),
                        m.pin_hash
                    ])?;
                }
                // The shop's time zone comes with its roster; a name that is no zone is ignored.
                if let Some(zone) = roster
                    .time_zone
                    .as_deref()
                    .and_then(dukkan_core::time::time_zone)
                {
                    put_setting(tx, crate::settings::TIME_ZONE, zone.name())?;
                }
                // So is its loyalty rule (points a till gives while offline, until the server's
                // figures arrive).
                if let Some(rule) = roster
                    .loyalty
                    .and_then(|r| dukkan_core::orders::LoyaltyRule::new(r.points_per_rial).ok())
                {
                    put_setting(
                        tx,
                        crate::orders::LOYALTY_RULE,
                        &serde_json::to_string(&rule).unwrap_or_default(),
                    )?;
                }
                // And where its tills look for new versions of the app (an address a till may
                // not fetch from is ignored; a roster without one withdraws the server's).
                match roster.update_feed.as_deref().map(dukkan_core::net::update_feed) {
                    Some(Ok(feed)) => {
                        put_setting(tx, crate::settings::UPDATE_FEED_FROM_SERVER, &feed)?
                    }
                    Some(Err(e)) => {
                        tracing::warn!(code = e.code(), "the server's update feed was refused");
                    }
                    None => drop_setting(tx, crate::settings::UPDATE_FEED_FROM_SERVER)?,
                }
                match etag {
                    Some(tag) => put_setting(tx, ROSTER_ETAG, tag),
                    None => drop_setting(tx, ROSTER_ETAG),
                }
            })?;
            let mut s = self.sign_in_state();
            s.staffed = !members.is_empty();
            if let Some(current) = s.staff.take() {
                s.staff = members
                    .iter()
                    .find(|m| m.id.to_string() == current.id)
                    .map(|m| StaffMember {
                        id: current.id.clone(),
                        name: m.name.trim().to_owned(),
                        role: m.role,
                    });
                if s.staff.is_none() {
                    tracing::info!(staff = %current.id, "signed-in staff member left the roster");
                }
            }
            tracing::info!(staff = members.len(), "staff roster stored");
            Ok(())
        }
    }
}
