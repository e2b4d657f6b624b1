//! The customer rules, once: pure decisions over a customer's current state.
//!
//! Every door that changes a customer — the till's use cases, the till re-applying its pending
//! ops over a pulled snapshot, the server's REST handlers and the server applying a pushed op —
//! asks these functions, so the answer is the same wherever the change comes from. A decision
//! returns the op to record (normalised, with only what really changes) or a [`Refusal`] with
//! one code vocabulary (`customer.phone-taken`, `address.limit-reached`, ...) and a Fluent
//! message in `i18n/*/errors.ftl`.
//!
//! What a decision cannot know by itself (whether another customer holds a phone, how many
//! addresses the customer has) the caller reads from its store and passes in.

use crate::address::{Address, AddressInput};
use crate::customer::{CustomerKind, CustomerNumber, Preferences, StubInput};
use crate::email::Email;
use crate::error::{Field, LocalizedMessage, MessageArg, ValidationError};
use crate::ids::{AddressId, CustomerId};
use crate::ops::{CustomerCreated, CustomerUpdated, Op, OrderRecorded};
use crate::orders::{
    self, MAX_PIECES, MAX_POINTS_ADJUSTMENT, ORDER_NOTE_MAX_CHARS, REASON_MAX_CHARS,
};
use crate::phone::Phone;
use crate::staff::Role;
use crate::text::FreeText;
use crate::text::PersonName;

/// Most addresses one customer may have.
pub const MAX_ADDRESSES: usize = 20;

/// Why a change was refused. Nothing is written when a decision returns one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The person acting lacks the role (or nobody is signed in where a manager is needed).
    #[error("only a {0:?} or above may do this")]
    RoleRequired(Role),
    #[error("customer is deactivated")]
    CustomerInactive,
    /// Merged into another customer: that one is the customer now.
    #[error("customer was merged into another")]
    CustomerMerged,
    /// Another active customer holds the phone. `holder` names them for the person
    /// ("Salim Al-Busaidi, CUST-00012") when the caller knows.
    #[error("another active customer has this phone")]
    PhoneTaken {
        existing: Option<CustomerId>,
        holder: Option<String>,
    },
    #[error("a verified phone cannot be changed")]
    VerifiedPhoneLocked,
    #[error("a guest must become a stub before upgrading")]
    GuestCannotUpgrade,
    #[error("customer already has a full profile")]
    AlreadyFull,
    #[error("an upgrade is already queued for this customer")]
    UpgradeAlreadyRequested,
    /// A walk-in has no phone or email.
    #[error("a guest has no phone or email")]
    GuestContact,
    /// Only a verified phone (OTP) makes a full profile.
    #[error("a full profile needs a verified phone")]
    OtpRequired,
    #[error("the customer type cannot change this way")]
    KindChange,
    #[error("the customer has the most addresses allowed")]
    AddressLimit,
    /// The address does not belong to the customer (or no longer exists).
    #[error("no such address for this customer")]
    AddressNotFound,
    /// A merge names the same customer twice.
    #[error("a customer cannot be merged into itself")]
    MergeSelf,
    /// A points adjustment would leave the customer below zero points.
    #[error("the customer has fewer points than that")]
    PointsBelowZero { points: i64 },
    /// The undo window ([`MERGE_UNDO_HOURS`]) has passed.
    #[error("the merge is too old to undo")]
    MergeUndoExpired,
    /// Later changes make an undo unsafe: the customer that stayed was deactivated or merged
    /// away, spent the points it received, or changed a field it took.
    #[error("the customers changed since the merge")]
    MergeUndoUnsafe,
}

impl Refusal {
    /// The stable code, the same on the till, the server, the API and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Invalid(v) => v.code(),
            Refusal::RoleRequired(_) => "auth.forbidden",
            Refusal::CustomerInactive => "customer.inactive",
            Refusal::CustomerMerged => "customer.merged",
            Refusal::PhoneTaken { .. } => "customer.phone-taken",
            Refusal::VerifiedPhoneLocked => "customer.verified-phone-locked",
            Refusal::GuestCannotUpgrade => "customer.guest-cannot-upgrade",
            Refusal::AlreadyFull => "customer.already-full",
            Refusal::UpgradeAlreadyRequested => "customer.upgrade-already-requested",
            Refusal::GuestContact => "customer.guest-contact",
            Refusal::OtpRequired => "customer.otp-required",
            Refusal::KindChange => "customer.kind-change",
            Refusal::AddressLimit => "address.limit-reached",
            Refusal::AddressNotFound => "address.not-found",
            Refusal::MergeSelf => "customer.merge-self",
            Refusal::PointsBelowZero { .. } => "loyalty.points-below-zero",
            Refusal::MergeUndoExpired => "merge.undo-expired",
            Refusal::MergeUndoUnsafe => "merge.undo-unsafe",
        }
    }

    /// The message a person reads (Fluent id `error-<code without its prefix>`).
    pub fn message(&self) -> LocalizedMessage {
        match self {
            Refusal::Invalid(v) => v.message(),
            Refusal::RoleRequired(role) => LocalizedMessage::new("error-role-required").with(
                "role",
                MessageArg::Message(format!("staff-role-{}", role.as_str())),
            ),
            Refusal::PhoneTaken {
                holder: Some(holder),
                ..
            } => LocalizedMessage::new("error-phone-taken-by")
                .with("customer", MessageArg::Text(holder.clone())),
            Refusal::AddressLimit => LocalizedMessage::new("error-address-limit-reached")
                .with("max", MessageArg::Number(MAX_ADDRESSES as f64)),
            Refusal::PointsBelowZero { points } => LocalizedMessage::new("error-points-below-zero")
                .with("points", MessageArg::Number(*points as f64)),
            Refusal::MergeUndoExpired => LocalizedMessage::new("error-merge-undo-expired")
                .with("hours", MessageArg::Number(MERGE_UNDO_HOURS as f64)),
            other => LocalizedMessage::new(match other {
                Refusal::CustomerInactive => "error-customer-inactive",
                Refusal::CustomerMerged => "error-customer-merged",
                Refusal::VerifiedPhoneLocked => "error-verified-phone-locked",
                Refusal::GuestCannotUpgrade => "error-guest-cannot-upgrade",
                Refusal::AlreadyFull => "error-already-full",
                Refusal::UpgradeAlreadyRequested => "error-upgrade-already-requested",
                Refusal::GuestContact => "error-guest-contact",
                Refusal::OtpRequired => "error-otp-required",
                Refusal::KindChange => "error-kind-change",
                Refusal::AddressNotFound => "error-address-not-found",
                Refusal::MergeSelf => "error-merge-self",
                Refusal::MergeUndoUnsafe => "error-merge-undo-unsafe",
                _ => "error-phone-taken",
            }),
        }
    }

    /// Every refusal code with the Fluent id of its message (for the i18n completeness test).
    pub fn catalogue() -> Vec<(&'static str, String)> {
        [
            Refusal::RoleRequired(Role::Manager),
            Refusal::CustomerInactive,
            Refusal::CustomerMerged,
            Refusal::PhoneTaken {
                existing: None,
                holder: None,
            },
            Refusal::PhoneTaken {
                existing: None,
                holder: Some("x".into()),
            },
            Refusal::VerifiedPhoneLocked,
            Refusal::GuestCannotUpgrade,
            Refusal::AlreadyFull,
            Refusal::UpgradeAlreadyRequested,
            Refusal::GuestContact,
            Refusal::OtpRequired,
            Refusal::KindChange,
            Refusal::AddressLimit,
            Refusal::AddressNotFound,
            Refusal::MergeSelf,
            Refusal::PointsBelowZero { points: 3 },
            Refusal::MergeUndoExpired,
            Refusal::MergeUndoUnsafe,
        ]
        .into_iter()
        .map(|r| (r.code(), r.message().id))
        .collect()
    }
}

/// A customer as the rules need to see it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomerState {
    pub id: CustomerId,
    pub kind: CustomerKind,
    pub active: bool,
    pub merged: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name2: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub email: Option<String>,
    pub preferences: Option<Preferences>,
}

impl CustomerState {
    /// A customer that may still be changed: active and not merged away.
    pub fn changeable(&self) -> Result<(), Refusal> {
        if self.merged {
            Err(Refusal::CustomerMerged)
        } else if !self.active {
            Err(Refusal::CustomerInactive)
        } else {
            Ok(())
        }
    }
}

/// A new customer, checked as if typed: a guest carries no contact (a name makes it a stub,
/// which needs a phone too), a stub a first name and a valid phone (names cleaned, phone in
/// E.164, email and preferences checked); nobody creates a full profile directly.
pub fn decide_create(c: &CustomerCreated) -> Result<CustomerCreated, Refusal> {
    let email = c
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(Email::parse)
        .transpose()?
        .map(|e| e.as_str().to_owned());
    let preferences = c
        .preferences
        .as_ref()
        .map(Preferences::checked)
        .transpose()?;
    match c.kind {
        CustomerKind::Guest => {
            if c.phone.as_deref().is_some_and(|p| !p.trim().is_empty()) || email.is_some() {
                return Err(Refusal::GuestContact);
            }
            let named = [&c.first_name, &c.last_name, &c.name2]
                .iter()
                .any(|n| n.as_deref().is_some_and(|n| !n.trim().is_empty()));
            if named {
                // A named customer is a stub: it needs its phone (and first name) too.
                let missing = if c.first_name.is_some() {
                    Field::Phone
                } else {
                    Field::FirstName
                };
                return Err(ValidationError::Required(missing).into());
            }
            Ok(CustomerCreated {
                first_name: None,
                last_name: None,
                name2: None,
                phone: None,
                email: None,
                preferences,
                ..c.clone()
            })
        }
        CustomerKind::Stub => {
            let stub = StubInput {
                first_name: c.first_name.clone().unwrap_or_default(),
                last_name: c.last_name.clone(),
                name2: c.name2.clone(),
                phone: c.phone.clone().unwrap_or_default(),
            }
            .validate()?;
            Ok(CustomerCreated {
                id: c.id,
                kind: CustomerKind::Stub,
                first_name: Some(stub.first_name.to_string()),
                last_name: stub.last_name.map(|n| n.to_string()),
                name2: stub.name2.map(|n| n.to_string()),
                phone: Some(stub.phone.e164().to_owned()),
                email,
                preferences,
            })
        }
        CustomerKind::Full => Err(Refusal::OtpRequired),
    }
}

/// An edit the rules accepted: the op to record (only the fields that change, normalised) and
/// the customer's kind afterwards (a guest given a name and phone is a stub now).
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub op: CustomerUpdated,
    pub kind: CustomerKind,
}

/// Decides an edit of `state` asking for the fields of `wanted`.
///
/// - every field is checked as if typed; unchanged values are dropped from the op;
/// - a verified phone cannot change; a full profile keeps an email;
/// - a guest given a first name or a phone becomes a stub, which needs both;
/// - `promote_to` asks for a kind change as well (REST `type`): guest → stub only.
///
/// Whether another customer holds a new phone is the caller's to check (see [`phone_free`]):
/// it needs the store. `Ok(None)`: nothing changes.
pub fn decide_update(
    state: &CustomerState,
    wanted: &CustomerUpdated,
    promote_to: Option<CustomerKind>,
) -> Result<Option<Edit>, Refusal> {
    state.changeable()?;
    let first = wanted
        .first_name
        .as_deref()
        .map(|s| PersonName::parse(Field::FirstName, s))
        .transpose()?;
    let optional_name = |v: &Option<Option<String>>, field| {
        v.as_ref()
            .map(|s| PersonName::parse_optional(field, s.as_deref()))
            .transpose()
    };
    let last = optional_name(&wanted.last_name, Field::LastName)?;
    let name2 = optional_name(&wanted.name2, Field::Name2)?;
    let phone = wanted.phone.as_deref().map(Phone::parse).transpose()?;
    let email = match &wanted.email {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) if s.trim().is_empty() => Some(None),
        Some(Some(s)) => Some(Some(Email::parse(s)?)),
    };
    let preferences = wanted
        .preferences
        .as_ref()
        .map(Preferences::checked)
        .transpose()?;

    let mut op = CustomerUpdated {
        id: state.id,
        ..Default::default()
    };
    if let Some(n) = first.filter(|n| state.first_name.as_deref() != Some(n.as_str())) {
        op.first_name = Some(n.to_string());
    }
    let differs = |new: &Option<PersonName>, old: &Option<String>| {
        new.as_ref().map(PersonName::as_str) != old.as_deref()
    };
    if let Some(n) = last.filter(|n| differs(n, &state.last_name)) {
        op.last_name = Some(n.map(|n| n.to_string()));
    }
    if let Some(n) = name2.filter(|n| differs(n, &state.name2)) {
        op.name2 = Some(n.map(|n| n.to_string()));
    }
    if let Some(p) = phone.filter(|p| state.phone.as_deref() != Some(p.e164())) {
        if state.phone_verified {
            return Err(Refusal::VerifiedPhoneLocked);
        }
        op.phone = Some(p.e164().to_owned());
    }
    if let Some(e) = email.filter(|e| e.as_ref().map(Email::as_str) != state.email.as_deref()) {
        if e.is_none() && state.kind == CustomerKind::Full {
            return Err(ValidationError::Required(Field::Email).into());
        }
        op.email = Some(e.map(|e| e.as_str().to_owned()));
    }
    if let Some(p) = preferences.filter(|p| state.preferences.as_ref() != Some(p)) {
        op.preferences = Some(p);
    }

    let kind = kind_after(state, &op, promote_to)?;
    if kind == CustomerKind::Guest && op.email.as_ref().is_some_and(Option::is_some) {
        return Err(Refusal::GuestContact);
    }
    if op.is_empty() && kind == state.kind {
        return Ok(None);
    }
    Ok(Some(Edit { op, kind }))
}

/// The kind after an edit: guest → stub when it gets a name or phone (and then needs both).
fn kind_after(
    state: &CustomerState,
    op: &CustomerUpdated,
    promote_to: Option<CustomerKind>,
) -> Result<CustomerKind, Refusal> {
    let current = state.kind;
    let promote = match promote_to {
        None => false,
        Some(k) if k == current => false,
        Some(CustomerKind::Stub) if current == CustomerKind::Guest => true,
        Some(CustomerKind::Full) => return Err(Refusal::OtpRequired),
        Some(_) => return Err(Refusal::KindChange),
    };
    if current != CustomerKind::Guest {
        return Ok(current);
    }
    if !promote && op.first_name.is_none() && op.phone.is_none() {
        return Ok(CustomerKind::Guest);
    }
    let has_first = op.first_name.is_some() || state.first_name.is_some();
    let has_phone = op.phone.is_some() || state.phone.is_some();
    match (has_first, has_phone) {
        (true, true) => Ok(CustomerKind::Stub),
        (false, _) => Err(ValidationError::Required(Field::FirstName).into()),
        (true, false) => Err(ValidationError::Required(Field::Phone).into()),
    }
}

/// A new phone must not be held by another active customer (`holder`: who holds it, if
/// anyone, as the store found them).
pub fn phone_free(state_id: CustomerId, holder: Option<PhoneHolder>) -> Result<(), Refusal> {
    match holder {
        Some(h) if h.id != state_id => Err(Refusal::PhoneTaken {
            existing: Some(h.id),
            holder: Some(h.label()),
        }),
        _ => Ok(()),
    }
}

/// The active customer holding a phone, as a person would recognise them.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneHolder {
    pub id: CustomerId,
    pub number: Option<CustomerNumber>,
    pub name: Option<String>,
}

impl PhoneHolder {
    /// "Salim Al-Busaidi (CUST-00012)", or the name alone while the number is pending.
    pub fn label(&self) -> String {
        let name = self.name.clone().unwrap_or_default();
        match self.number {
            Some(n) if name.is_empty() => n.to_string(),
            Some(n) => format!("{name} ({n})"),
            None => name,
        }
    }
}

/// Deactivating: a manager's act; an inactive customer stays as is (`None`).
pub fn decide_deactivate(state: &CustomerState) -> Result<Option<Op>, Refusal> {
    if state.merged {
        return Err(Refusal::CustomerMerged);
    }
    Ok(state.active.then_some(Op::CustomerDeactivated {
        customer_id: state.id,
    }))
}

/// Bringing a deactivated customer back, unless another active customer now holds the phone
/// (then the refusal names that customer). A merged customer cannot come back this way: the
/// survivor is the customer. An active customer stays as is (`None`).
pub fn decide_reactivate(
    state: &CustomerState,
    phone_holder: Option<PhoneHolder>,
) -> Result<Option<Op>, Refusal> {
    if state.merged {
        return Err(Refusal::CustomerMerged);
    }
    if state.active {
        return Ok(None);
    }
    phone_free(state.id, phone_holder)?;
    Ok(Some(Op::CustomerReactivated {
        customer_id: state.id,
    }))
}

/// Adding an address: the customer is changeable and below the cap. The address is checked as
/// if typed (an op carries it as data).
pub fn decide_address_add(
    state: &CustomerState,
    address_count: usize,
    address: &Address,
) -> Result<Address, Refusal> {
    state.changeable()?;
    if address_count >= MAX_ADDRESSES {
        return Err(Refusal::AddressLimit);
    }
    Ok(checked_address(address)?)
}

/// Changing, deleting or choosing the default address of a customer: `exists` is whether the
/// address is one of the customer's.
pub fn decide_address_change(state: &CustomerState, exists: bool) -> Result<(), Refusal> {
    state.changeable()?;
    if !exists {
        return Err(Refusal::AddressNotFound);
    }
    Ok(())
}

/// Which address becomes the default when the default one is deleted: the newest remaining
/// (address ids are time-ordered UUIDv7, so the newest is the greatest). One rule for the till
/// and the server.
pub fn default_after_delete(remaining: impl IntoIterator<Item = AddressId>) -> Option<AddressId> {
    remaining.into_iter().max()
}

/// An address that arrived as data, checked again as if typed.
pub fn checked_address(a: &Address) -> Result<Address, ValidationError> {
    let s = |f: &Option<crate::text::FreeText>| f.as_ref().map(|x| x.as_str().to_owned());
    AddressInput {
        address_type: a.address_type,
        label: s(&a.label),
        building: s(&a.building),
        floor: s(&a.floor),
        apartment: s(&a.apartment),
        street: s(&a.street),
        area: s(&a.area),
        city: s(&a.city),
        country: Some(a.country.as_str().to_owned()),
        postal_code: s(&a.postal_code),
        latitude: a.gps.map(|g| g.latitude()),
        longitude: a.gps.map(|g| g.longitude()),
        delivery_notes: s(&a.delivery_notes),
    }
    .validate()
}

/// Requesting the upgrade stub → full: only a changeable stub, one live request at a time
/// (`live_request`: a code queued, sent and still valid, or already verified).
pub fn decide_upgrade_request(
    state: &CustomerState,
    live_request: bool,
    email: &str,
    preferences: &Preferences,
) -> Result<(Email, Preferences), Refusal> {
    state.changeable()?;
    match state.kind {
        CustomerKind::Guest => return Err(Refusal::GuestCannotUpgrade),
        CustomerKind::Full => return Err(Refusal::AlreadyFull),
        CustomerKind::Stub => {}
    }
    if live_request {
        return Err(Refusal::UpgradeAlreadyRequested);
    }
    Ok((Email::parse(email)?, preferences.checked()?))
}

/// Making a stub full (only the server does, once a code sent to the phone was read back):
/// the request's rules, and a phone verified before or `verified_now`.
pub fn decide_full(
    state: &CustomerState,
    verified_now: bool,
    email: &str,
    preferences: &Preferences,
) -> Result<(Email, Preferences), Refusal> {
    let (email, preferences) = decide_upgrade_request(state, false, email, preferences)?;
    check_full(state.phone_verified || verified_now, Some(email.as_str()))?;
    Ok((email, preferences))
}

/// Taking an order for a customer (a guest too): the customer is changeable (a merged one's
/// orders go to the survivor, which the caller resolves first); the ticket, amount, pieces and
/// note are checked as if typed, since an op carries them as data. Returns the order cleaned.
pub fn decide_order(
    state: &CustomerState,
    order: &OrderRecorded,
) -> Result<OrderRecorded, Refusal> {
    state.changeable()?;
    let ticket = orders::check_ticket(&order.ticket)?;
    orders::check_amount(order.amount_baisa)?;
    if !(1..=MAX_PIECES).contains(&order.pieces) {
        return Err(ValidationError::OutOfRange(Field::Pieces).into());
    }
    let note = FreeText::parse_block(
        Field::OrderNote,
        order.note.as_deref(),
        ORDER_NOTE_MAX_CHARS,
    )?
    .map(|n| n.as_str().to_owned());
    Ok(OrderRecorded {
        order_id: order.order_id,
        customer_id: state.id,
        ticket,
        amount_baisa: order.amount_baisa,
        pieces: order.pieces,
        note,
    })
}

/// A manager's points adjustment of a changeable customer holding `points`: a non-zero
/// `delta` of at most [`MAX_POINTS_ADJUSTMENT`] either way, a reason (one line, at most
/// [`REASON_MAX_CHARS`]), and never below zero points. Returns the cleaned reason.
pub fn decide_points_adjustment(
    state: &CustomerState,
    points: i64,
    delta: i64,
    reason: &str,
) -> Result<String, Refusal> {
    state.changeable()?;
    if delta == 0 || delta.abs() > MAX_POINTS_ADJUSTMENT {
        return Err(ValidationError::OutOfRange(Field::Points).into());
    }
    let reason = FreeText::parse_line(Field::Reason, Some(reason), REASON_MAX_CHARS)?
        .ok_or(ValidationError::Required(Field::Reason))?;
    if points + delta < 0 {
        return Err(Refusal::PointsBelowZero { points });
    }
    Ok(reason.as_str().to_owned())
}

/// Merging the duplicate `source` into `target` (a manager's act; the server moves orders,
/// addresses and points): two different customers, the target still changeable, the source
/// not merged away — it may be deactivated (a returning customer's old record, whose phone the
/// new one now has: its history joins the new one). Returns the edit
/// of the target that takes from the source what the target lacks — first and last name,
/// second name, phone, email — which is then decided like any edit ([`decide_update`]: a
/// guest that gains a name and a phone becomes a stub).
pub fn decide_merge(
    source: &CustomerState,
    target: &CustomerState,
) -> Result<CustomerUpdated, Refusal> {
    if source.id == target.id {
        return Err(Refusal::MergeSelf);
    }
    if source.merged {
        return Err(Refusal::CustomerMerged);
    }
    target.changeable()?;
    let lacking = |t: &Option<String>, s: &Option<String>| match (t, s) {
        (None, Some(s)) => Some(s.clone()),
        _ => None,
    };
    Ok(CustomerUpdated {
        id: target.id,
        first_name: lacking(&target.first_name, &source.first_name),
        last_name: lacking(&target.last_name, &source.last_name).map(Some),
        name2: lacking(&target.name2, &source.name2).map(Some),
        phone: lacking(&target.phone, &source.phone),
        email: lacking(&target.email, &source.email).map(Some),
        preferences: None,
    })
}

/// A full profile needs a verified phone and an email.
pub fn check_full(phone_verified: bool, email: Option<&str>) -> Result<(), Refusal> {
    if !phone_verified {
        return Err(Refusal::OtpRequired);
    }
    if email.is_none_or(|e| e.trim().is_empty()) {
        return Err(ValidationError::Required(Field::Email).into());
    }
    Ok(())
}

mod authorize;
mod merge;
pub use authorize::{authorize, list_action, Action, SEARCH_MATCHES_MAX};
pub use merge::{decide_merge_op, decide_undo_merge, MergeRecord, MERGE_UNDO_HOURS};

#[cfg(test)]
mod tests;
