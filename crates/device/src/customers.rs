//! Customer use cases: create guest or stub, read, edit, deactivate, request the upgrade to full.

use crate::addresses::{self, AddressRecord};
use crate::error::{DeviceError, Entity, Result};
use crate::{journal, Device, WriteContext};
use dukkan_core::i18n::Locale;
use dukkan_core::ops::{CustomerCreated, CustomerUpdated, Op};
use dukkan_core::search::search_key;
use dukkan_core::sync::UpgradeState;
use dukkan_core::{
    CustomerId, CustomerKind, CustomerNumber, Email, Field, PersonName, Phone, Preferences,
    StubInput, ValidStub,
};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};

/// Whether a customer's latest local changes have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    /// At least one op is waiting in the outbox.
    Pending,
    /// Everything local has been acknowledged by the server.
    Synced,
    /// An op was rejected by the server and waits for a person.
    Parked,
}

impl SyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::Pending => "pending",
            SyncState::Synced => "synced",
            SyncState::Parked => "parked",
        }
    }

    fn parse(s: &str) -> SyncState {
        match s {
            "synced" => SyncState::Synced,
            "parked" => SyncState::Parked,
            _ => SyncState::Pending,
        }
    }
}

/// A customer as the device knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: CustomerId,
    /// `None` until the server assigns it ("pending number").
    pub customer_number: Option<CustomerNumber>,
    pub kind: CustomerKind,
    /// `None` for guests (shown as the localised "Walk-in customer").
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name2: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub phone_verified: bool,
    pub preferences: Option<Preferences>,
    pub loyalty_points: i64,
    pub order_count: i64,
    /// Integer minor units (OMR has 3 decimals).
    pub total_spent_minor: i64,
    pub last_order_at: Option<String>,
    pub active: bool,
    pub merged_into: Option<CustomerId>,
    pub default_address_id: Option<String>,
    pub sync_state: SyncState,
    pub created_at: String,
    pub updated_at: String,
}

/// Everything the detail screen shows about one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CustomerDetails {
    pub customer: Customer,
    pub addresses: Vec<AddressRecord>,
    pub upgrade: Option<UpgradeRequest>,
}

/// A queued or finished request to upgrade a stub to a full profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UpgradeRequest {
    pub email: String,
    pub preferences: Preferences,
    /// `sent` becomes `expired` here once the code's expiry has passed.
    pub state: UpgradeState,
    pub requested_at: String,
    pub updated_at: String,
    /// When the code sent expires (RFC 3339), while `sent`.
    pub code_expires_at: Option<String>,
    /// When a new code may be asked for (RFC 3339).
    pub resend_after: Option<String>,
    /// Why it failed, why no code went out yet, or what the last code typed was
    /// (`sms-failed`, `otp-locked`, `otp-cooldown`, `otp-invalid`, ...).
    pub error_code: Option<String>,
    /// Attempts left after a wrong code.
    pub attempts_left: Option<u32>,
    /// The request has not reached the server yet (it is in the outbox).
    pub waiting_for_sync: bool,
}

/// The customer's upgrade request as the screen shows it, if there is one.
pub(crate) fn load_upgrade(conn: &Connection, id: CustomerId) -> Result<Option<UpgradeRequest>> {
    let now = crate::now_text();
    Ok(conn
        .query_row(
            "SELECT u.email, u.preferences, u.state, u.requested_at, u.updated_at, u.code_expires_at,
                    u.resend_after, u.error_code, u.attempts_left,
                    EXISTS (SELECT 1 FROM outbox o WHERE o.customer_id = u.customer_id
                            AND o.kind = 'upgrade_requested')
             FROM upgrade_requests u WHERE u.customer_id = ?1",
            [id.to_string()],
            |r| {
                let prefs: String = r.get(1)?;
                let state: String = r.get(2)?;
                let code_expires_at: Option<String> = r.get(5)?;
                let mut state = UpgradeState::parse(&state).unwrap_or(UpgradeState::Queued);
                // RFC 3339 UTC texts of one format compare as times.
                if state == UpgradeState::Sent && code_expires_at.as_deref().is_some_and(|e| e <= now.as_str()) {
                    state = UpgradeState::Expired;
                }
                Ok(UpgradeRequest {
                    email: r.get(0)?,
                    preferences: serde_json::from_str(&prefs).unwrap_or_default(),
                    state,
                    requested_at: r.get(3)?,
                    updated_at: r.get(4)?,
                    code_expires_at,
                    resend_after: r.get(6)?,
                    error_code: r.get(7)?,
                    attempts_left: r.get(8)?,
                    waiting_for_sync: r.get(9)?,
                })
            },
        )
        .optional()?)
}

/// The result of the quick stub form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "outcome", content = "customer", rename_all = "camelCase")]
pub enum StubOutcome {
    /// A new stub was saved.
    Created(Customer),
    /// An active customer already has this phone: nothing was written; offer this one instead.
    Existing(Customer),
}

/// The edit form: `None` = untouched; `Some("")` on an optional field clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CustomerChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name2: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub preferences: Option<Preferences>,
}

pub(crate) const CUSTOMER_COLUMNS: &str =
    "c.id, c.customer_number, c.kind, c.first_name, c.last_name, c.name2, \
    c.phone, c.email, c.phone_verified, c.preferences, c.loyalty_points, c.order_count, \
    c.total_spent_minor, c.last_order_at, c.active, c.merged_into, c.default_address_id, \
    c.sync_state, c.created_at, c.updated_at";

fn parse_col<T: std::str::FromStr>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    s.parse()
        .map_err(|_| rusqlite::Error::InvalidColumnType(idx, s, rusqlite::types::Type::Text))
}

/// Maps a row selected with [`CUSTOMER_COLUMNS`].
pub(crate) fn customer_from_row(row: &Row<'_>) -> rusqlite::Result<Customer> {
    let number: Option<u32> = row.get(1)?;
    let preferences: Option<String> = row.get(9)?;
    let merged: Option<String> = row.get(15)?;
    Ok(Customer {
        id: parse_col(row, 0)?,
        customer_number: number.and_then(|n| CustomerNumber::new(n).ok()),
        kind: parse_col(row, 2)?,
        first_name: row.get(3)?,
        last_name: row.get(4)?,
        name2: row.get(5)?,
        phone: row.get(6)?,
        email: row.get(7)?,
        phone_verified: row.get(8)?,
        preferences: preferences.and_then(|p| serde_json::from_str(&p).ok()),
        loyalty_points: row.get(10)?,
        order_count: row.get(11)?,
        total_spent_minor: row.get(12)?,
        last_order_at: row.get(13)?,
        active: row.get(14)?,
        merged_into: merged.and_then(|m| m.parse().ok()),
        default_address_id: row.get(16)?,
        sync_state: SyncState::parse(&row.get::<_, String>(17)?),
        created_at: row.get(18)?,
        updated_at: row.get(19)?,
    })
}

pub(crate) fn load(conn: &Connection, id: CustomerId) -> Result<Customer> {
    conn.query_row(
        &format!("SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE c.id = ?1"),
        [id.to_string()],
        customer_from_row,
    )
    .optional()?
    .ok_or(DeviceError::NotFound(Entity::Customer))
}

/// Loads a customer that may still be changed: it exists and is active.
pub(crate) fn load_active(conn: &Connection, id: CustomerId) -> Result<Customer> {
    let c = load(conn, id)?;
    if !c.active {
        return Err(DeviceError::CustomerInactive);
    }
    Ok(c)
}

fn active_with_phone(conn: &Connection, phone: &Phone) -> Result<Option<Customer>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE c.phone = ?1 AND +c.active = 1 \
                 ORDER BY c.id LIMIT 1"
            ),
            [phone.e164()],
            customer_from_row,
        )
        .optional()?)
}

/// Rewrites the name index entry of a customer (rowid = customers.seq).
pub(crate) fn index_names(conn: &Connection, id: CustomerId) -> Result<()> {
    let (seq, keys): (i64, String) = conn
        .prepare_cached(
            "SELECT seq, concat_ws(' ', first_name, last_name, name2) FROM customers WHERE id = ?1",
        )?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    conn.prepare_cached("DELETE FROM customers_fts WHERE rowid = ?1")?
        .execute([seq])?;
    let keys = search_key(&keys);
    if !keys.is_empty() {
        conn.prepare_cached("INSERT INTO customers_fts (rowid, name_keys) VALUES (?1, ?2)")?
            .execute(params![seq, keys])?;
    }
    Ok(())
}

pub(crate) fn last4(phone: &Phone) -> String {
    let n = phone.national();
    n[n.len().saturating_sub(4)..].to_owned()
}

/// Inserts a validated stub with its name index entry, outbox op and audit entry.
fn insert_stub(tx: &Transaction<'_>, ctx: &WriteContext, stub: &ValidStub) -> Result<CustomerId> {
    let id = CustomerId::new();
    tx.execute(
        "INSERT INTO customers (id, kind, first_name, last_name, name2, phone, phone_national,
            phone_last4, created_at, created_by, created_device, updated_at, updated_by)
         VALUES (?1, 'stub', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?8, ?9)",
        params![
            id.to_string(),
            stub.first_name.as_str(),
            stub.last_name.as_ref().map(PersonName::as_str),
            stub.name2.as_ref().map(PersonName::as_str),
            stub.phone.e164(),
            stub.phone.national(),
            last4(&stub.phone),
            ctx.now,
            ctx.staff_id,
            ctx.device_id.to_string(),
        ],
    )?;
    index_names(tx, id)?;
    let op = Op::CustomerCreated(CustomerCreated {
        id,
        kind: CustomerKind::Stub,
        first_name: Some(stub.first_name.to_string()),
        last_name: stub.last_name.as_ref().map(ToString::to_string),
        name2: stub.name2.as_ref().map(ToString::to_string),
        phone: Some(stub.phone.e164().to_owned()),
    });
    let mut fields = vec!["kind", "firstName", "phone"];
    if stub.last_name.is_some() {
        fields.push("lastName");
    }
    if stub.name2.is_some() {
        fields.push("name2");
    }
    journal::record(tx, ctx, &op, id, &id.to_string(), &fields)?;
    Ok(id)
}

impl Device {
    /// Creates a walk-in customer: no input, instant.
    pub fn create_guest(&self) -> Result<Customer> {
        self.authorize(dukkan_core::staff::Role::Cashier)?;
        let id = CustomerId::new();
        self.write(|tx, ctx| {
            tx.execute(
                "INSERT INTO customers (id, kind, created_at, created_by, created_device, updated_at, updated_by)
                 VALUES (?1, 'guest', ?2, ?3, ?4, ?2, ?3)",
                params![id.to_string(), ctx.now, ctx.staff_id, ctx.device_id.to_string()],
            )?;
            let op = Op::CustomerCreated(CustomerCreated {
                id,
                kind: CustomerKind::Guest,
                first_name: None,
                last_name: None,
                name2: None,
                phone: None,
            });
            journal::record(tx, ctx, &op, id, &id.to_string(), &["kind"])?;
            load(tx, id)
        })
    }

    /// Creates a stub (first name + phone), search-first: when an active customer already has
    /// the phone, that customer is returned as [`StubOutcome::Existing`] and nothing is written.
    pub fn create_stub(&self, input: &StubInput) -> Result<StubOutcome> {
        self.authorize(dukkan_core::staff::Role::Cashier)?;
        let stub = input.validate()?;
        self.write(|tx, ctx| {
            if let Some(existing) = active_with_phone(tx, &stub.phone)? {
                return Ok(StubOutcome::Existing(existing));
            }
            let id = insert_stub(tx, ctx, &stub)?;
            tracing::info!(customer = %id, phone = %stub.phone.masked(), "stub created");
            Ok(StubOutcome::Created(load(tx, id)?))
        })
    }

    /// Imports a customer list (e.g. from the shop's previous system) in one transaction: every
    /// row is validated first and nothing is written if any row is invalid (its index is
    /// returned with the error). Phones already held by an active customer — on the device or
    /// earlier in the list — are skipped, not duplicated. Returns the number created.
    pub fn import_stubs(&self, inputs: &[StubInput]) -> Result<usize, (usize, DeviceError)> {
        self.authorize(dukkan_core::staff::Role::Manager)
            .map_err(|e| (0, e))?;
        let stubs = inputs
            .iter()
            .enumerate()
            .map(|(i, s)| s.validate().map_err(|e| (i, e.into())))
            .collect::<Result<Vec<_>, _>>()?;
        self.write(|tx, ctx| {
            let mut created = 0;
            for stub in &stubs {
                if active_with_phone(tx, &stub.phone)?.is_none() {
                    insert_stub(tx, ctx, stub)?;
                    created += 1;
                }
            }
            tracing::info!(
                created,
                skipped = stubs.len() - created,
                "customers imported"
            );
            Ok(created)
        })
        .map_err(|e| (0, e))
    }

    /// One customer with its addresses and upgrade request.
    pub fn customer(&self, id: CustomerId) -> Result<CustomerDetails> {
        self.authorize(dukkan_core::staff::Role::Cashier)?;
        self.read(|conn| {
            let customer = load(conn, id)?;
            let addresses = addresses::list(conn, id, customer.default_address_id.as_deref())?;
            let upgrade = load_upgrade(conn, id)?;
            Ok(CustomerDetails {
                customer,
                addresses,
                upgrade,
            })
        })
    }

    /// Edits a customer's fields. A guest given a first name and phone becomes a stub. Only the
    /// changed fields go into the outbox op (the server merges field by field).
    pub fn update_customer(&self, id: CustomerId, changes: &CustomerChanges) -> Result<Customer> {
        self.authorize(dukkan_core::staff::Role::Cashier)?;
        // Parse everything before touching the store.
        let first_name = changes
            .first_name
            .as_deref()
            .map(|s| PersonName::parse(Field::FirstName, s))
            .transpose()?;
        let last_name = changes
            .last_name
            .as_deref()
            .map(|s| PersonName::parse_optional(Field::LastName, Some(s)))
            .transpose()?;
        let name2 = changes
            .name2
            .as_deref()
            .map(|s| PersonName::parse_optional(Field::Name2, Some(s)))
            .transpose()?;
        let phone = changes.phone.as_deref().map(Phone::parse).transpose()?;
        let email = changes
            .email
            .as_deref()
            .map(|s| {
                if s.trim().is_empty() {
                    Ok(None)
                } else {
                    Email::parse(s).map(Some)
                }
            })
            .transpose()?;
        let preferences = changes
            .preferences
            .as_ref()
            .map(Preferences::checked)
            .transpose()?;

        self.write(|tx, ctx| {
            let current = load_active(tx, id)?;
            let mut update = CustomerUpdated {
                id,
                ..Default::default()
            };
            if let Some(n) = &first_name {
                if current.first_name.as_deref() != Some(n.as_str()) {
                    update.first_name = Some(n.to_string());
                }
            }
            let differs = |new: &Option<PersonName>, old: &Option<String>| {
                new.as_ref().map(PersonName::as_str) != old.as_deref()
            };
            if let Some(n) = &last_name {
                if differs(n, &current.last_name) {
                    update.last_name = Some(n.as_ref().map(ToString::to_string));
                }
            }
            if let Some(n) = &name2 {
                if differs(n, &current.name2) {
                    update.name2 = Some(n.as_ref().map(ToString::to_string));
                }
            }
            if let Some(p) = &phone {
                if current.phone.as_deref() != Some(p.e164()) {
                    if current.phone_verified {
                        return Err(DeviceError::VerifiedPhoneLocked);
                    }
                    if let Some(other) = active_with_phone(tx, p)? {
                        return Err(DeviceError::PhoneTaken { existing: other.id });
                    }
                    update.phone = Some(p.e164().to_owned());
                }
            }
            if let Some(e) = &email {
                if e.as_ref().map(Email::as_str) != current.email.as_deref() {
                    if e.is_none() && current.kind == CustomerKind::Full {
                        return Err(dukkan_core::ValidationError::Required(Field::Email).into());
                    }
                    update.email = Some(e.as_ref().map(|e| e.as_str().to_owned()));
                }
            }
            if let Some(p) = &preferences {
                if current.preferences.as_ref() != Some(p) {
                    update.preferences = Some(p.clone());
                }
            }
            if update.is_empty() {
                return Ok(current);
            }
            let new_first = update.first_name.clone().or(current.first_name.clone());
            let new_phone = update.phone.clone().or(current.phone.clone());
            let kind = match current.kind {
                CustomerKind::Guest if new_first.is_some() && new_phone.is_some() => {
                    CustomerKind::Stub
                }
                CustomerKind::Guest if update.phone.is_some() || update.first_name.is_some() => {
                    // A guest becomes a stub only with both: report what is missing.
                    let missing = if new_first.is_none() {
                        Field::FirstName
                    } else {
                        Field::Phone
                    };
                    return Err(dukkan_core::ValidationError::Required(missing).into());
                }
                k => k,
            };
            let phone_parts = phone.as_ref().filter(|_| update.phone.is_some());
            tx.execute(
                "UPDATE customers SET
                    kind = ?2,
                    first_name = CASE WHEN ?3 THEN ?4 ELSE first_name END,
                    last_name = CASE WHEN ?5 THEN ?6 ELSE last_name END,
                    name2 = CASE WHEN ?7 THEN ?8 ELSE name2 END,
                    phone = CASE WHEN ?9 THEN ?10 ELSE phone END,
                    phone_national = CASE WHEN ?9 THEN ?11 ELSE phone_national END,
                    phone_last4 = CASE WHEN ?9 THEN ?12 ELSE phone_last4 END,
                    email = CASE WHEN ?13 THEN ?14 ELSE email END,
                    preferences = CASE WHEN ?15 THEN ?16 ELSE preferences END,
                    updated_at = ?17, updated_by = ?18
                 WHERE id = ?1",
                params![
                    id.to_string(),
                    kind.as_str(),
                    update.first_name.is_some(),
                    update.first_name,
                    update.last_name.is_some(),
                    update.last_name.clone().flatten(),
                    update.name2.is_some(),
                    update.name2.clone().flatten(),
                    phone_parts.is_some(),
                    phone_parts.map(Phone::e164),
                    phone_parts.map(Phone::national),
                    phone_parts.map(last4),
                    update.email.is_some(),
                    update.email.clone().flatten(),
                    update.preferences.is_some(),
                    update
                        .preferences
                        .as_ref()
                        .map(|p| serde_json::to_string(p).unwrap_or_default()),
                    ctx.now,
                    ctx.staff_id,
                ],
            )?;
            if update.first_name.is_some() || update.last_name.is_some() || update.name2.is_some() {
                index_names(tx, id)?;
            }
            let fields = update.changed_fields();
            journal::record(
                tx,
                ctx,
                &Op::CustomerUpdated(update),
                id,
                &id.to_string(),
                &fields,
            )?;
            load(tx, id)
        })
    }

    /// Deactivates (soft-deletes) a customer. Deactivating an inactive customer changes nothing.
    pub fn deactivate_customer(&self, id: CustomerId) -> Result<Customer> {
        self.authorize(dukkan_core::staff::Role::Manager)?;
        self.write(|tx, ctx| {
            let current = load(tx, id)?;
            if !current.active {
                return Ok(current);
            }
            tx.execute(
                "UPDATE customers SET active = 0, updated_at = ?2, updated_by = ?3 WHERE id = ?1",
                params![id.to_string(), ctx.now, ctx.staff_id],
            )?;
            journal::record(
                tx,
                ctx,
                &Op::CustomerDeactivated { customer_id: id },
                id,
                &id.to_string(),
                &["active"],
            )?;
            load(tx, id)
        })
    }

    /// Records a request to upgrade a stub to a full profile and queues it for the server, which
    /// sends the OTP when the request reaches it. Works offline.
    pub fn request_upgrade(
        &self,
        id: CustomerId,
        email: &str,
        preferences: &Preferences,
        sms_language: Option<Locale>,
    ) -> Result<UpgradeRequest> {
        self.authorize(dukkan_core::staff::Role::Cashier)?;
        let email = Email::parse(email)?;
        // Re-validate preferences that arrived as data (e.g. from the UI as JSON).
        let preferences = preferences.checked()?;
        self.write(|tx, ctx| {
            let current = load_active(tx, id)?;
            match current.kind {
                CustomerKind::Guest => return Err(DeviceError::GuestCannotUpgrade),
                CustomerKind::Full => return Err(DeviceError::AlreadyFull),
                CustomerKind::Stub => {}
            }
            // One live request at a time: a sent code still valid, or one not sent yet. An
            // expired or failed request may be made again (with new details).
            if let Some(live) = load_upgrade(tx, id)? {
                if matches!(live.state, UpgradeState::Queued | UpgradeState::Sent | UpgradeState::Verified) {
                    return Err(DeviceError::UpgradeAlreadyRequested);
                }
            }
            let prefs_json = serde_json::to_string(&preferences).map_err(|e| DeviceError::Export(e.to_string()))?;
            tx.execute(
                "INSERT INTO upgrade_requests (customer_id, email, preferences, state, requested_at, requested_by, updated_at)
                 VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?4)
                 ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email,
                    preferences = excluded.preferences, state = 'queued', requested_at = excluded.requested_at,
                    requested_by = excluded.requested_by, updated_at = excluded.updated_at, error_code = NULL,
                    code_expires_at = NULL, attempts_left = NULL, resend_after = NULL",
                params![id.to_string(), email.as_str(), prefs_json, ctx.now, ctx.staff_id],
            )?;
            let op = Op::UpgradeRequested {
                customer_id: id,
                email: email.as_str().to_owned(),
                preferences: preferences.clone(),
                language: sms_language,
            };
            journal::record(tx, ctx, &op, id, &id.to_string(), &["email", "preferences", "upgrade"])?;
            load_upgrade(tx, id)?.ok_or(DeviceError::NotFound(Entity::Customer))
        })
    }
}
