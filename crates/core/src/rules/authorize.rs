//! Who may do what: each action needs a role (`None`: a till's op made with nobody signed in).

use super::Refusal;
use crate::ops::Op;
use crate::staff::Role;

/// What a staff member does to a customer; each needs a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateCustomer,
    EditCustomer,
    EditAddresses,
    RequestUpgrade,
    Deactivate,
    Reactivate,
    /// Merging a duplicate into the customer that stays, and undoing it.
    Merge,
    /// Making a stub full once its phone is verified (the server's, answering a code).
    CompleteUpgrade,
    /// Taking a drop-off order for a customer.
    RecordOrder,
    /// Adding or taking away loyalty points by hand (with a reason).
    AdjustPoints,
    /// Finding a customer: a search term, the first [`SEARCH_MATCHES_MAX`] active matches.
    SearchCustomers,
    /// Browsing the customer list: without a term, page after page, inactive customers.
    BrowseCustomers,
}

impl Action {
    /// The least role that may do this: the counter's work for a cashier, taking a customer
    /// out of (or back into) the list for a manager.
    pub fn role(self) -> Role {
        match self {
            Action::CreateCustomer
            | Action::EditCustomer
            | Action::EditAddresses
            | Action::RequestUpgrade
            | Action::CompleteUpgrade
            | Action::RecordOrder
            | Action::SearchCustomers => Role::Cashier,
            Action::Deactivate
            | Action::Reactivate
            | Action::Merge
            | Action::AdjustPoints
            | Action::BrowseCustomers => Role::Manager,
        }
    }

    /// The action an op records.
    pub fn of(op: &Op) -> Action {
        match op {
            Op::CustomerCreated(_) => Action::CreateCustomer,
            Op::CustomerUpdated(_) => Action::EditCustomer,
            Op::CustomerDeactivated { .. } => Action::Deactivate,
            Op::CustomerReactivated { .. } => Action::Reactivate,
            Op::AddressAdded { .. }
            | Op::AddressUpdated { .. }
            | Op::AddressDeleted { .. }
            | Op::DefaultAddressSet { .. } => Action::EditAddresses,
            Op::UpgradeRequested { .. } => Action::RequestUpgrade,
            Op::OrderRecorded(_) => Action::RecordOrder,
            Op::PointsAdjusted { .. } => Action::AdjustPoints,
            Op::CustomerMerged { .. } | Op::MergeUndone { .. } => Action::Merge,
        }
    }
}

/// Most matches a search shows a cashier at once. A cashier finds the customer at the counter;
/// reading the list page by page (what a stolen session or a curious cashier would do) is
/// browsing, a manager's.
pub const SEARCH_MATCHES_MAX: usize = 20;

/// What a look at the customer list is: a search a cashier may make (a `term`, the first page,
/// at most [`SEARCH_MATCHES_MAX`] matches, active customers only) or browsing.
pub fn list_action(term: bool, first_page: bool, limit: usize, active_only: bool) -> Action {
    if term && first_page && limit <= SEARCH_MATCHES_MAX && active_only {
        Action::SearchCustomers
    } else {
        Action::BrowseCustomers
    }
}

/// May someone with `role` do `action`? `None` is an op recorded with nobody signed in (a till
/// used before its shop had staff): it may do the counter's work, never a manager's.
pub fn authorize(role: Option<Role>, action: Action) -> Result<(), Refusal> {
    let needed = action.role();
    match role {
        Some(r) if r >= needed => Ok(()),
        None if needed == Role::Cashier => Ok(()),
        _ => Err(Refusal::RoleRequired(needed)),
    }
}
