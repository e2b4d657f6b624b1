//! Customer use cases: create guest or stub, read, edit, deactivate, request the upgrade to full.

use crate::addresses::{self, AddressRecord};
use crate::error::{DeviceError, Entity, Result};
use crate::{apply, Device, WriteContext};
use dukkan_core::i18n::Locale;
use dukkan_core::ops::{CustomerCreated, CustomerUpdated, Op};
use dukkan_core::rules::{self, Action, PhoneHolder};
use dukkan_core::search::search_key;
use dukkan_core::sync::UpgradeState;
use dukkan_core::{
    CustomerId, CustomerKind, CustomerNumber, Phone, Preferences, StubInput, ValidStub,
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
    /// (`sms.failed`, `otp.locked`, `otp.cooldown`, `otp.invalid`, ...).
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

/// A customer's row (`seq`) and the names its name index entry is made of: first, last and
/// second name, one space apart. `None` when this till does not hold the customer.
pub(crate) fn indexed_names(conn: &Connection, id: &str) -> Result<Option<(i64, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT seq, concat_ws(' ', first_name, last_name, name2) FROM customers WHERE id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Rewrites the name index entry of a customer (rowid = customers.seq).
pub(crate) fn index_names(conn: &Connection, id: CustomerId) -> Result<()> {
    let (seq, names) =
        indexed_names(conn, &id.to_string())?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    conn.prepare_cached("DELETE FROM customers_fts WHERE rowid = ?1")?
        .execute([seq])?;
    write_name_keys(conn, seq, &names)
}

/// Adds the name index entry of customer row `seq`, which has none, from its names (first,
/// last and second name, as [`index_names`] reads them).
pub(crate) fn write_name_keys(conn: &Connection, seq: i64, names: &str) -> Result<()> {
    let mut terms = NameTerms::default();
    add_name_entry(conn, seq, names, &mut terms)?;
    terms.write(conn)
}

/// Adds the name index entry of customer row `seq`, which has none; its tokens go to `terms`,
/// to be written with [`NameTerms::write`] in the same transaction.
pub(crate) fn add_name_entry(
    conn: &Connection,
    seq: i64,
    names: &str,
    terms: &mut NameTerms,
) -> Result<()> {
    let keys = search_key(names);
    if !keys.is_empty() {
        conn.prepare_cached("INSERT INTO customers_fts (rowid, name_keys) VALUES (?1, ?2)")?
            .execute(params![seq, keys])?;
        terms.0.extend(keys.split(' ').map(str::to_owned));
    }
    Ok(())
}

/// The whole tokens of name index entries just added: every one must be in `name_terms` (V9),
/// which a long prefix is expanded from. Gathered so that a page of pulled customers, whose
/// names repeat, looks each token up once.
#[derive(Default)]
pub(crate) struct NameTerms(std::collections::BTreeSet<String>);

impl NameTerms {
    pub(crate) fn write(self, conn: &Connection) -> Result<()> {
        // A token already known is one index read, not a write.
        let mut known =
            conn.prepare_cached("INSERT OR IGNORE INTO name_terms (term) VALUES (?1)")?;
        for token in &self.0 {
            known.execute([token])?;
        }
        Ok(())
    }
}

pub(crate) fn last4(phone: &Phone) -> String {
    let n = phone.national();
    n[n.len().saturating_sub(4)..].to_owned()
}

/// The active customer holding `phone`, as the rules name them.
pub(crate) fn phone_holder(conn: &Connection, phone: &Phone) -> Result<Option<PhoneHolder>> {
    Ok(active_with_phone(conn, phone)?.map(|c| PhoneHolder {
        id: c.id,
        number: c.customer_number,
        name: [c.first_name.as_deref(), c.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
            .into(),
    }))
}

/// Records a new customer decided by the rules (row, name index, outbox op, audit entry).
fn insert_customer(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    created: CustomerCreated,
) -> Result<CustomerId> {
    let created = rules::decide_create(&created)?;
    let id = created.id;
    let mut fields = vec!["kind"];
    for (present, name) in [
        (created.first_name.is_some(), "firstName"),
        (created.phone.is_some(), "phone"),
        (created.last_name.is_some(), "lastName"),
        (created.name2.is_some(), "name2"),
    ] {
        if present {
            fields.push(name);
        }
    }
    apply::commit(
        tx,
        ctx,
        &Op::CustomerCreated(created),
        &id.to_string(),
        &fields,
    )?;
    Ok(id)
}

fn stub_created(stub: &ValidStub) -> CustomerCreated {
    CustomerCreated {
        id: CustomerId::new(),
        kind: CustomerKind::Stub,
        first_name: Some(stub.first_name.to_string()),
        last_name: stub.last_name.as_ref().map(ToString::to_string),
        name2: stub.name2.as_ref().map(ToString::to_string),
        phone: Some(stub.phone.e164().to_owned()),
        email: None,
        preferences: None,
    }
}

impl Device {
    /// Creates a walk-in customer: no input, instant.
    pub fn create_guest(&self) -> Result<Customer> {
        self.authorize_action(Action::CreateCustomer)?;
        self.write(|tx, ctx| {
            let id = insert_customer(
                tx,
                ctx,
                CustomerCreated {
                    id: CustomerId::new(),
                    kind: CustomerKind::Guest,
                    first_name: None,
                    last_name: None,
                    name2: None,
                    phone: None,
                    email: None,
                    preferences: None,
                },
            )?;
            load(tx, id)
        })
    }

    /// Creates a stub (first name + phone), search-first: when an active customer already has
    /// the phone, that customer is returned as [`StubOutcome::Existing`] and nothing is written.
    pub fn create_stub(&self, input: &StubInput) -> Result<StubOutcome> {
        self.authorize_action(Action::CreateCustomer)?;
        let stub = input.validate()?;
        self.write(|tx, ctx| {
            if let Some(existing) = active_with_phone(tx, &stub.phone)? {
                return Ok(StubOutcome::Existing(existing));
            }
            let id = insert_customer(tx, ctx, stub_created(&stub))?;
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
                    insert_customer(tx, ctx, stub_created(stub))?;
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
        self.authorize_action(Action::EditCustomer)?;
        let wanted = CustomerUpdated {
            id,
            first_name: changes.first_name.clone(),
            last_name: changes.last_name.clone().map(Some),
            name2: changes.name2.clone().map(Some),
            phone: changes.phone.clone(),
            email: changes.email.clone().map(Some),
            preferences: changes.preferences.clone(),
        };
        self.write(|tx, ctx| {
            let current = apply::state(tx, id)?;
            let Some(edit) = rules::decide_update(&current, &wanted, None)? else {
                return load(tx, id);
            };
            if let Some(phone) = edit.op.phone.as_deref() {
                let phone = Phone::parse(phone)?;
                rules::phone_free(id, phone_holder(tx, &phone)?)?;
            }
            let fields = edit.op.changed_fields();
            apply::commit(
                tx,
                ctx,
                &Op::CustomerUpdated(edit.op),
                &id.to_string(),
                &fields,
            )?;
            load(tx, id)
        })
    }

    /// Deactivates (soft-deletes) a customer. Deactivating an inactive customer changes nothing.
    pub fn deactivate_customer(&self, id: CustomerId) -> Result<Customer> {
        self.authorize_action(Action::Deactivate)?;
        self.write(|tx, ctx| {
            if let Some(op) = rules::decide_deactivate(&apply::state(tx, id)?)? {
                apply::commit(tx, ctx, &op, &id.to_string(), &["active"])?;
            }
            load(tx, id)
        })
    }

    /// Brings a deactivated customer back (a manager's act), unless another active customer
    /// now holds the phone: then the refusal names that customer. Reactivating an active
    /// customer changes nothing.
    pub fn reactivate_customer(&self, id: CustomerId) -> Result<Customer> {
        self.authorize_action(Action::Reactivate)?;
        self.write(|tx, ctx| {
            let current = apply::state(tx, id)?;
            let holder = match current.phone.as_deref().map(Phone::parse) {
                Some(Ok(phone)) => phone_holder(tx, &phone)?,
                _ => None,
            };
            if let Some(op) = rules::decide_reactivate(&current, holder)? {
                apply::commit(tx, ctx, &op, &id.to_string(), &["active"])?;
            }
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
        self.authorize_action(Action::RequestUpgrade)?;
        self.write(|tx, ctx| {
            let current = apply::state(tx, id)?;
            // One live request at a time: a sent code still valid, or one not sent yet. An
            // expired or failed request may be made again (with new details).
            let live = load_upgrade(tx, id)?.is_some_and(|u| {
                matches!(
                    u.state,
                    UpgradeState::Queued | UpgradeState::Sent | UpgradeState::Verified
                )
            });
            let (email, preferences) =
                rules::decide_upgrade_request(&current, live, email, preferences)?;
            let op = Op::UpgradeRequested {
                customer_id: id,
                email: email.as_str().to_owned(),
                preferences,
                language: sms_language,
            };
            apply::commit(
                tx,
                ctx,
                &op,
                &id.to_string(),
                &["email", "preferences", "upgrade"],
            )?;
            load_upgrade(tx, id)?.ok_or(DeviceError::NotFound(Entity::Customer))
        })
    }
}
