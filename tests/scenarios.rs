//! One scenario table, run through every door: each row (who acts, what they do, step by step)
//! is played on a till's store, on the tenant server over REST, and on the tenant server as
//! ops pushed by a till — and every door must give the same answer to every step and leave the
//! customer in the same state. The rules live once (`dukkan_core::rules`); this proves that
//! each door asks them, and that no door adds or forgets one.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

use dukkan_core::ops::{CustomerCreated, CustomerUpdated, Op, OrderRecorded};
use dukkan_core::staff::{Role, Roster, RosterMember};
use dukkan_core::sync::{Enrollment, OpOutcome, PushOp, PushResponse, PROTOCOL_VERSION};
use dukkan_core::{
    AddressId, AddressInput, AdjustmentId, CustomerId, CustomerKind, MergeId, OpId, OrderId,
    StubInput,
};
use dukkan_device::{CustomerChanges, Device, OrderInput, StubOutcome};
use serde_json::{json, Value};
use std::collections::HashMap;
use support::{TestApp, PIN};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    /// A till used with nobody signed in (no staff roster).
    Nobody,
    Cashier,
    Manager,
}

/// A change as a person makes it. `c` is a customer slot of the row, `a` an address slot of
/// that customer (in the order they were added), `p` a phone slot of the row.
#[derive(Debug, Clone)]
enum Act {
    Stub {
        c: usize,
        first: &'static str,
        p: usize,
    },
    Guest {
        c: usize,
    },
    Edit {
        c: usize,
        edit: Changes,
    },
    Deactivate {
        c: usize,
    },
    Reactivate {
        c: usize,
    },
    AddAddress {
        c: usize,
        city: String,
    },
    UpdateAddress {
        c: usize,
        a: usize,
        city: String,
    },
    DeleteAddress {
        c: usize,
        a: usize,
    },
    SetDefault {
        c: usize,
        a: usize,
    },
    /// A drop-off order for the customer.
    Order {
        c: usize,
        order: OrderForm,
    },
    /// A points adjustment, with a reason.
    Points {
        c: usize,
        delta: Typed<i64>,
        reason: &'static str,
    },
    /// A manager merges duplicate `c` into `keep`, as merge slot `m`.
    Merge {
        c: usize,
        keep: usize,
        reason: &'static str,
        m: usize,
    },
    /// Undoes the merge in slot `m`.
    Undo {
        m: usize,
    },
}

/// A value as typed at the till (text: rials, pieces, a signed number of points) and as the
/// number REST and a pushed op carry (baisa, pieces, points).
#[derive(Debug, Clone, Copy)]
struct Typed<N> {
    text: &'static str,
    number: N,
}

/// `t("4.5", 4_500)`: typed `4.5` at the till, 4,500 over REST and in an op.
fn t<N>(text: &'static str, number: N) -> Typed<N> {
    Typed { text, number }
}

/// An order as the cashier types it (the ticket given, so every door records the same).
#[derive(Debug, Clone)]
struct OrderForm {
    ticket: String,
    /// Rials at the till, baisa over REST and in an op.
    amount: Typed<i64>,
    pieces: Typed<u32>,
    note: Option<String>,
}

/// The fields an edit touches: `Some("")` on an optional field clears it.
#[derive(Debug, Clone, Default)]
struct Changes {
    first: Option<String>,
    last: Option<String>,
    name2: Option<String>,
    /// A phone slot of the row, or a literal (for malformed numbers).
    phone: Option<Phone>,
    email: Option<String>,
}

#[derive(Debug, Clone)]
enum Phone {
    Slot(usize),
    Text(&'static str),
}

struct Row {
    name: &'static str,
    steps: Vec<(Who, Act)>,
    /// The answer to each step: `ok` or the refusal code.
    answers: Vec<&'static str>,
    /// Customer slot 0 afterwards, as [`View::line`] writes it.
    end: &'static str,
}

fn phone(row: usize, slot: usize) -> String {
    format!("+96892{:03}{:03}", row, slot)
}

// --- the table -------------------------------------------------------------------------------

use Act::*;
use Who::*;

fn stub(c: usize, first: &'static str, p: usize) -> Act {
    Stub { c, first, p }
}
fn edit(c: usize, edit: Changes) -> Act {
    Edit { c, edit }
}
fn first(v: &str) -> Changes {
    Changes {
        first: Some(v.into()),
        ..Default::default()
    }
}
fn last(v: &str) -> Changes {
    Changes {
        last: Some(v.into()),
        ..Default::default()
    }
}
fn email(v: &str) -> Changes {
    Changes {
        email: Some(v.into()),
        ..Default::default()
    }
}
fn phone_slot(p: usize) -> Changes {
    Changes {
        phone: Some(Phone::Slot(p)),
        ..Default::default()
    }
}
fn addr(c: usize, city: &str) -> Act {
    AddAddress {
        c,
        city: city.into(),
    }
}
fn order(c: usize, amount: Typed<i64>, pieces: Typed<u32>) -> Act {
    Order {
        c,
        order: OrderForm {
            ticket: "T-1".into(),
            amount,
            pieces,
            note: None,
        },
    }
}
fn ticketed(c: usize, ticket: &str) -> Act {
    Order {
        c,
        order: OrderForm {
            ticket: ticket.into(),
            amount: t("1", 1_000),
            pieces: t("1", 1),
            note: None,
        },
    }
}
fn points(c: usize, delta: Typed<i64>, reason: &'static str) -> Act {
    Points { c, delta, reason }
}

fn merge(c: usize, keep: usize, reason: &'static str) -> Act {
    Merge {
        c,
        keep,
        reason,
        m: 0,
    }
}

fn rows() -> Vec<Row> {
    let salim = "stub active Salim|-|-|P0|- [] default=-";
    let mut rows = vec![
        Row {
            name: "a cashier creates a stub",
            steps: vec![(Cashier, stub(0, "Salim", 0))],
            answers: vec!["ok"],
            end: salim,
        },
        Row {
            name: "a cashier creates a walk-in guest",
            steps: vec![(Cashier, Guest { c: 0 })],
            answers: vec!["ok"],
            end: "guest active -|-|-|-|- [] default=-",
        },
        Row {
            name: "a cashier adds a last name",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, edit(0, last("Al-Busaidi"))),
            ],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|Al-Busaidi|-|P0|- [] default=-",
        },
        Row {
            name: "a cashier clears the last name again",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, edit(0, last("Al-Busaidi"))),
                (Cashier, edit(0, last(""))),
            ],
            answers: vec!["ok", "ok", "ok"],
            end: salim,
        },
        Row {
            name: "a guest given a name and a phone becomes a stub",
            steps: vec![
                (Cashier, Guest { c: 0 }),
                (
                    Cashier,
                    edit(
                        0,
                        Changes {
                            first: Some("Huda".into()),
                            phone: Some(Phone::Slot(0)),
                            ..Default::default()
                        },
                    ),
                ),
            ],
            answers: vec!["ok", "ok"],
            end: "stub active Huda|-|-|P0|- [] default=-",
        },
        Row {
            name: "a guest given only a name is refused: a stub needs the phone too",
            steps: vec![(Cashier, Guest { c: 0 }), (Cashier, edit(0, first("Huda")))],
            answers: vec!["ok", "validation.required"],
            end: "guest active -|-|-|-|- [] default=-",
        },
        Row {
            name: "a guest given only a phone is refused: a stub needs the name too",
            steps: vec![(Cashier, Guest { c: 0 }), (Cashier, edit(0, phone_slot(0)))],
            answers: vec!["ok", "validation.required"],
            end: "guest active -|-|-|-|- [] default=-",
        },
        Row {
            name: "a guest cannot have an email",
            steps: vec![
                (Cashier, Guest { c: 0 }),
                (Cashier, edit(0, email("huda@example.om"))),
            ],
            answers: vec!["ok", "customer.guest-contact"],
            end: "guest active -|-|-|-|- [] default=-",
        },
        Row {
            name: "a phone another active customer holds is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, stub(1, "Badr", 1)),
                (Cashier, edit(0, phone_slot(1))),
            ],
            answers: vec!["ok", "ok", "customer.phone-taken"],
            end: salim,
        },
        Row {
            name: "a phone a deactivated customer held is free",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, stub(1, "Badr", 1)),
                (Manager, Deactivate { c: 1 }),
                (Cashier, edit(0, phone_slot(1))),
            ],
            answers: vec!["ok", "ok", "ok", "ok"],
            end: "stub active Salim|-|-|P1|- [] default=-",
        },
        Row {
            name: "a cashier may not deactivate",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, Deactivate { c: 0 }),
            ],
            answers: vec!["ok", "auth.forbidden"],
            end: salim,
        },
        Row {
            name: "a manager deactivates",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
            ],
            answers: vec!["ok", "ok"],
            end: "stub inactive Salim|-|-|P0|- [] default=-",
        },
        Row {
            name: "deactivating twice changes nothing the second time",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
                (Manager, Deactivate { c: 0 }),
            ],
            answers: vec!["ok", "ok", "ok"],
            end: "stub inactive Salim|-|-|P0|- [] default=-",
        },
        Row {
            name: "a deactivated customer cannot be edited",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
                (Cashier, edit(0, last("X"))),
            ],
            answers: vec!["ok", "ok", "customer.inactive"],
            end: "stub inactive Salim|-|-|P0|- [] default=-",
        },
        Row {
            name: "a deactivated customer gets no new address",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
                (Cashier, addr(0, "Sohar")),
            ],
            answers: vec!["ok", "ok", "customer.inactive"],
            end: "stub inactive Salim|-|-|P0|- [] default=-",
        },
        Row {
            name: "a manager reactivates",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
                (Manager, Reactivate { c: 0 }),
            ],
            answers: vec!["ok", "ok", "ok"],
            end: salim,
        },
        Row {
            name: "a cashier may not reactivate",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
                (Cashier, Reactivate { c: 0 }),
            ],
            answers: vec!["ok", "ok", "auth.forbidden"],
            end: "stub inactive Salim|-|-|P0|- [] default=-",
        },
        Row {
            name: "reactivation is refused while another customer holds the phone",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
                (Cashier, stub(1, "Badr", 0)),
                (Manager, Reactivate { c: 0 }),
            ],
            answers: vec!["ok", "ok", "ok", "customer.phone-taken"],
            end: "stub inactive Salim|-|-|P0|- [] default=-",
        },
        Row {
            name: "reactivating an active customer changes nothing",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Reactivate { c: 0 }),
            ],
            answers: vec!["ok", "ok"],
            end: salim,
        },
        Row {
            name: "the first address becomes the default",
            steps: vec![(Cashier, stub(0, "Salim", 0)), (Cashier, addr(0, "Muscat"))],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|-|-|P0|- [Muscat] default=Muscat",
        },
        Row {
            name: "a second address leaves the default where it was",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, addr(0, "Muscat")),
                (Cashier, addr(0, "Sohar")),
            ],
            answers: vec!["ok", "ok", "ok"],
            end: "stub active Salim|-|-|P0|- [Muscat,Sohar] default=Muscat",
        },
        Row {
            name: "the default moves to the address chosen",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, addr(0, "Muscat")),
                (Cashier, addr(0, "Sohar")),
                (Cashier, SetDefault { c: 0, a: 1 }),
            ],
            answers: vec!["ok", "ok", "ok", "ok"],
            end: "stub active Salim|-|-|P0|- [Muscat,Sohar] default=Sohar",
        },
        Row {
            name: "deleting the default makes the newest remaining address the default",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, addr(0, "Muscat")),
                (Cashier, addr(0, "Sohar")),
                (Cashier, addr(0, "Nizwa")),
                (Cashier, DeleteAddress { c: 0, a: 0 }),
            ],
            answers: vec!["ok", "ok", "ok", "ok", "ok"],
            end: "stub active Salim|-|-|P0|- [Sohar,Nizwa] default=Nizwa",
        },
        Row {
            name: "deleting another address keeps the default",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, addr(0, "Muscat")),
                (Cashier, addr(0, "Sohar")),
                (Cashier, DeleteAddress { c: 0, a: 1 }),
            ],
            answers: vec!["ok", "ok", "ok", "ok"],
            end: "stub active Salim|-|-|P0|- [Muscat] default=Muscat",
        },
        Row {
            name: "deleting the only address leaves no default",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, addr(0, "Muscat")),
                (Cashier, DeleteAddress { c: 0, a: 0 }),
            ],
            answers: vec!["ok", "ok", "ok"],
            end: salim,
        },
        Row {
            name: "an address is edited",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, addr(0, "Muscat")),
                (
                    Cashier,
                    UpdateAddress {
                        c: 0,
                        a: 0,
                        city: "Seeb".into(),
                    },
                ),
            ],
            answers: vec!["ok", "ok", "ok"],
            end: "stub active Salim|-|-|P0|- [Seeb] default=Seeb",
        },
        Row {
            name: "a deactivated customer's address cannot be edited",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, addr(0, "Muscat")),
                (Manager, Deactivate { c: 0 }),
                (
                    Cashier,
                    UpdateAddress {
                        c: 0,
                        a: 0,
                        city: "Seeb".into(),
                    },
                ),
            ],
            answers: vec!["ok", "ok", "ok", "customer.inactive"],
            end: "stub inactive Salim|-|-|P0|- [Muscat] default=Muscat",
        },
        Row {
            name: "a deactivated customer's default cannot move",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, addr(0, "Muscat")),
                (Cashier, addr(0, "Sohar")),
                (Manager, Deactivate { c: 0 }),
                (Cashier, SetDefault { c: 0, a: 1 }),
            ],
            answers: vec!["ok", "ok", "ok", "ok", "customer.inactive"],
            end: "stub inactive Salim|-|-|P0|- [Muscat,Sohar] default=Muscat",
        },
        Row {
            name: "a deactivated customer's address cannot be deleted",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, addr(0, "Muscat")),
                (Manager, Deactivate { c: 0 }),
                (Cashier, DeleteAddress { c: 0, a: 0 }),
            ],
            answers: vec!["ok", "ok", "ok", "customer.inactive"],
            end: "stub inactive Salim|-|-|P0|- [Muscat] default=Muscat",
        },
        Row {
            name: "a 10,000-character first name is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, edit(0, first(&"x".repeat(10_000)))),
            ],
            answers: vec!["ok", "validation.too-long"],
            end: salim,
        },
        Row {
            name: "a bidi override in a name is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, edit(0, first("Sa\u{202E}lim"))),
            ],
            answers: vec!["ok", "validation.bidi-control"],
            end: salim,
        },
        Row {
            name: "direction marks and zero-width spaces pasted into a name are dropped",
            steps: vec![(Cashier, stub(0, "\u{200F}Sal\u{200B}im\u{FEFF}", 0))],
            answers: vec!["ok"],
            end: salim,
        },
        Row {
            name: "a name of invisible marks only is no name",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, edit(0, first("\u{200E}\u{061C}"))),
            ],
            answers: vec!["ok", "validation.required"],
            end: salim,
        },
        Row {
            name: "a control character in a name is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, edit(0, last("Al\u{0007}Busaidi"))),
            ],
            answers: vec!["ok", "validation.control-character"],
            end: salim,
        },
        Row {
            name: "a blank first name is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, edit(0, first("   "))),
            ],
            answers: vec!["ok", "validation.required"],
            end: salim,
        },
        Row {
            name: "a malformed phone is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (
                    Cashier,
                    edit(
                        0,
                        Changes {
                            phone: Some(Phone::Text("+968 1234")),
                            ..Default::default()
                        },
                    ),
                ),
            ],
            answers: vec!["ok", "validation.invalid-phone"],
            end: salim,
        },
        Row {
            name: "a phone pasted as a tel: link with a direction mark and slashes is one number",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (
                    Cashier,
                    edit(
                        0,
                        Changes {
                            phone: Some(Phone::Text("tel:+968/9377\u{200F}/7777")),
                            ..Default::default()
                        },
                    ),
                ),
            ],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|-|-|+96893777777|- [] default=-",
        },
        Row {
            name: "a malformed email is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, edit(0, email("not-an-email"))),
            ],
            answers: vec!["ok", "validation.invalid-email"],
            end: salim,
        },
        Row {
            name: "a stub may have an email",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, edit(0, email("salim@example.om"))),
            ],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|-|-|P0|salim@example.om [] default=-",
        },
        Row {
            name: "an Arabic name is kept",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (
                    Cashier,
                    edit(
                        0,
                        Changes {
                            name2: Some("سالم".into()),
                            ..Default::default()
                        },
                    ),
                ),
            ],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|-|سالم|P0|- [] default=-",
        },
        Row {
            name: "names are stored trimmed with inner spaces collapsed",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, edit(0, last("  Al   Busaidi "))),
            ],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|Al Busaidi|-|P0|- [] default=-",
        },
        Row {
            name: "an edit that changes nothing is accepted and changes nothing",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, edit(0, first("Salim"))),
            ],
            answers: vec!["ok", "ok"],
            end: salim,
        },
        Row {
            name: "a manager may do the counter's work",
            steps: vec![(Manager, stub(0, "Salim", 0)), (Manager, addr(0, "Muscat"))],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|-|-|P0|- [Muscat] default=Muscat",
        },
        Row {
            name: "a 10,000-character street is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, addr(0, &"x".repeat(10_000))),
            ],
            answers: vec!["ok", "validation.too-long"],
            end: salim,
        },
        Row {
            name: "a till with nobody signed in creates and edits",
            steps: vec![
                (Nobody, stub(0, "Salim", 0)),
                (Nobody, edit(0, last("Al-Busaidi"))),
                (Nobody, addr(0, "Muscat")),
            ],
            answers: vec!["ok", "ok", "ok"],
            end: "stub active Salim|Al-Busaidi|-|P0|- [Muscat] default=Muscat",
        },
        Row {
            name: "a till with nobody signed in may not deactivate",
            steps: vec![(Nobody, stub(0, "Salim", 0)), (Nobody, Deactivate { c: 0 })],
            answers: vec!["ok", "auth.forbidden"],
            end: salim,
        },
        // --- orders and loyalty points ---
        Row {
            name: "a cashier records a drop-off order: it counts, and earns a point per whole rial",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("4.5", 4_500), t("3", 3))),
            ],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|-|-|P0|- [] default=- orders=1 spent=4.500 points=4",
        },
        Row {
            name: "orders add up, and under a rial earns no point",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("4.5", 4_500), t("3", 3))),
                (Cashier, order(0, t("0.999", 999), t("1", 1))),
            ],
            answers: vec!["ok", "ok", "ok"],
            end: "stub active Salim|-|-|P0|- [] default=- orders=2 spent=5.499 points=4",
        },
        Row {
            name: "an amount and pieces typed in Arabic-Indic digits are the same order",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("١٢٫٥", 12_500), t("٢", 2))),
            ],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|-|-|P0|- [] default=- orders=1 spent=12.500 points=12",
        },
        Row {
            name: "a walk-in guest can have an order",
            steps: vec![
                (Cashier, Guest { c: 0 }),
                (Cashier, order(0, t("2", 2_000), t("5", 5))),
            ],
            answers: vec!["ok", "ok"],
            end: "guest active -|-|-|-|- [] default=- orders=1 spent=2.000 points=2",
        },
        Row {
            name: "an order of a negative amount is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("-1", -1), t("1", 1))),
            ],
            answers: vec!["ok", "validation.out-of-range"],
            end: salim,
        },
        Row {
            name: "an order over 100,000 rials is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("100000.001", 100_000_001), t("1", 1))),
            ],
            answers: vec!["ok", "validation.out-of-range"],
            end: salim,
        },
        Row {
            name: "an order of 100,000 rials exactly is taken",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("100000", 100_000_000), t("1", 1))),
            ],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|-|-|P0|- [] default=- orders=1 spent=100000.000 points=100000",
        },
        Row {
            name: "an order of no pieces is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("1", 1_000), t("0", 0))),
            ],
            answers: vec!["ok", "validation.out-of-range"],
            end: salim,
        },
        Row {
            name: "an order of a thousand pieces is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("1", 1_000), t("1000", 1_000))),
            ],
            answers: vec!["ok", "validation.out-of-range"],
            end: salim,
        },
        Row {
            name: "a bidi override in a ticket is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, ticketed(0, "T-\u{202E}1")),
            ],
            answers: vec!["ok", "validation.bidi-control"],
            end: salim,
        },
        Row {
            name: "a 33-character ticket is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, ticketed(0, &"T".repeat(33))),
            ],
            answers: vec!["ok", "validation.too-long"],
            end: salim,
        },
        Row {
            name: "a deactivated customer takes no order",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
                (Cashier, order(0, t("4.5", 4_500), t("3", 3))),
            ],
            answers: vec!["ok", "ok", "customer.inactive"],
            end: "stub inactive Salim|-|-|P0|- [] default=-",
        },
        Row {
            name: "a cashier may not adjust points",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("10", 10_000), t("2", 2))),
                (Cashier, points(0, t("+5", 5), "Goodwill")),
            ],
            answers: vec!["ok", "ok", "auth.forbidden"],
            end: "stub active Salim|-|-|P0|- [] default=- orders=1 spent=10.000 points=10",
        },
        Row {
            name: "a manager adds points, saying why",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, points(0, t("+5", 5), "Birthday")),
            ],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|-|-|P0|- [] default=- orders=0 spent=0.000 points=5",
        },
        Row {
            name: "a manager may not take a customer below zero points",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("4.5", 4_500), t("3", 3))),
                (Manager, points(0, t("-5", -5), "Typo")),
            ],
            answers: vec!["ok", "ok", "loyalty.points-below-zero"],
            end: "stub active Salim|-|-|P0|- [] default=- orders=1 spent=4.500 points=4",
        },
        Row {
            name: "a manager takes points down to zero exactly",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("4.5", 4_500), t("3", 3))),
                (Manager, points(0, t("-4", -4), "Redeemed")),
            ],
            answers: vec!["ok", "ok", "ok"],
            end: "stub active Salim|-|-|P0|- [] default=- orders=1 spent=4.500 points=0",
        },
        Row {
            name: "an adjustment of no points is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, points(0, t("0", 0), "Nothing")),
            ],
            answers: vec!["ok", "validation.out-of-range"],
            end: salim,
        },
        Row {
            name: "an adjustment without a reason is refused",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, points(0, t("+5", 5), "   ")),
            ],
            answers: vec!["ok", "validation.required"],
            end: salim,
        },
        Row {
            name: "a deactivated customer's points cannot be adjusted",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
                (Manager, points(0, t("+5", 5), "Birthday")),
            ],
            answers: vec!["ok", "ok", "customer.inactive"],
            end: "stub inactive Salim|-|-|P0|- [] default=-",
        },
        Row {
            name: "a till with nobody signed in takes an order",
            steps: vec![
                (Nobody, stub(0, "Salim", 0)),
                (Nobody, order(0, t("4.5", 4_500), t("3", 3))),
            ],
            answers: vec!["ok", "ok"],
            end: "stub active Salim|-|-|P0|- [] default=- orders=1 spent=4.500 points=4",
        },
        Row {
            name: "a till with nobody signed in may not adjust points",
            steps: vec![
                (Nobody, stub(0, "Salim", 0)),
                (Nobody, points(0, t("+5", 5), "Birthday")),
            ],
            answers: vec!["ok", "auth.forbidden"],
            end: salim,
        },
    ];
    // Merging duplicates, and undoing it (slot 0 is the duplicate).
    let merged_away = "stub inactive Salim|-|-|P0|- [] default=-";
    let with_order = "stub active Salim|-|-|P0|- [] default=- orders=1 spent=4.500 points=4";
    rows.extend([
        Row {
            name: "a manager merges a duplicate: its order and points move to the one that stays",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, stub(1, "Salim", 1)),
                (Cashier, order(0, t("4.5", 4_500), t("1", 1))),
                (Manager, merge(0, 1, "Phone typo")),
            ],
            answers: vec!["ok", "ok", "ok", "ok"],
            end: merged_away,
        },
        Row {
            name: "a cashier may not merge",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, stub(1, "Salim", 1)),
                (Cashier, order(0, t("4.5", 4_500), t("1", 1))),
                (Cashier, merge(0, 1, "Phone typo")),
            ],
            answers: vec!["ok", "ok", "ok", "auth.forbidden"],
            end: with_order,
        },
        Row {
            name: "a merge needs a reason",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, stub(1, "Salim", 1)),
                (Manager, merge(0, 1, "   ")),
                (Manager, merge(0, 1, "Same\u{202E}person")),
            ],
            answers: vec!["ok", "ok", "validation.required", "validation.bidi-control"],
            end: salim,
        },
        Row {
            name: "a deactivated customer cannot be merged, nor into itself",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, stub(1, "Salim", 1)),
                (Manager, Deactivate { c: 1 }),
                (Manager, merge(0, 1, "Phone typo")),
                (Manager, merge(0, 0, "Phone typo")),
            ],
            answers: vec!["ok", "ok", "ok", "customer.inactive", "customer.merge-self"],
            end: salim,
        },
        Row {
            name: "an undo brings the duplicate back with its order, points and address; again changes nothing",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, stub(1, "Salim", 1)),
                (Cashier, order(0, t("4.5", 4_500), t("1", 1))),
                (Cashier, addr(0, "Sohar")),
                (Manager, merge(0, 1, "Phone typo")),
                (Cashier, Undo { m: 0 }),
                (Manager, Undo { m: 0 }),
                (Manager, Undo { m: 0 }),
            ],
            answers: vec![
                "ok",
                "ok",
                "ok",
                "ok",
                "ok",
                "auth.forbidden",
                "ok",
                "ok",
            ],
            end: "stub active Salim|-|-|P0|- [Sohar] default=Sohar orders=1 spent=4.500 points=4",
        },
        Row {
            name: "an undo after the one that stayed spent the points is unsafe",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, stub(1, "Salim", 1)),
                (Cashier, order(0, t("4.5", 4_500), t("1", 1))),
                (Manager, merge(0, 1, "Phone typo")),
                (Manager, points(1, t("-2", -2), "Redeemed")),
                (Manager, Undo { m: 0 }),
            ],
            answers: vec!["ok", "ok", "ok", "ok", "ok", "merge.undo-unsafe"],
            end: merged_away,
        },
        Row {
            name: "a returning customer's deactivated record joins the new one, and an undo leaves it deactivated",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, order(0, t("4.5", 4_500), t("1", 1))),
                (Manager, Deactivate { c: 0 }),
                (Cashier, stub(1, "Salim", 0)),
                (Manager, merge(0, 1, "Returning customer")),
                (Manager, Undo { m: 0 }),
            ],
            answers: vec!["ok", "ok", "ok", "ok", "ok", "ok"],
            end: "stub inactive Salim|-|-|P0|- [] default=- orders=1 spent=4.500 points=4",
        },
        Row {
            name: "an undo after the duplicate's phone was taken names who took it",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Cashier, stub(1, "Salim", 1)),
                (Manager, merge(0, 1, "Phone typo")),
                (Cashier, stub(2, "Badr", 0)),
                (Manager, Undo { m: 0 }),
            ],
            answers: vec!["ok", "ok", "ok", "ok", "customer.phone-taken"],
            end: merged_away,
        },
    ]);
    // The address cap: twenty addresses, and the twenty-first refused.
    let mut steps = vec![(Cashier, stub(0, "Salim", 0))];
    let mut answers = vec!["ok"];
    for i in 0..21 {
        steps.push((Cashier, addr(0, &format!("City{i:02}"))));
        answers.push(if i < 20 {
            "ok"
        } else {
            "address.limit-reached"
        });
    }
    rows.push(Row {
        name: "the twenty-first address is refused",
        steps,
        answers,
        end: "stub active Salim|-|-|P0|- [City00,City01,City02,City03,City04,City05,City06,City07,City08,City09,City10,City11,City12,City13,City14,City15,City16,City17,City18,City19] default=City00",
    });
    rows
}

// --- what a door leaves behind -----------------------------------------------------------------

/// A customer as every door can read it back.
#[derive(Debug, Clone, PartialEq)]
struct View {
    kind: String,
    active: bool,
    first: Option<String>,
    last: Option<String>,
    name2: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    /// Cities in the order the addresses were added, and the default's.
    cities: Vec<String>,
    default: Option<String>,
    /// Orders, baisa spent, loyalty points.
    orders: i64,
    spent: i64,
    points: i64,
}

impl View {
    /// One line, with the row's phones written as their slots (`P0`); the order figures
    /// (` orders=1 spent=4.500 points=4`) only when there are any.
    fn line(&self, row: usize) -> String {
        let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let phone = self.phone.as_ref().map_or("-".to_owned(), |p| {
            (0..10)
                .find(|s| &phone(row, *s) == p)
                .map_or(p.clone(), |s| format!("P{s}"))
        });
        let figures = if (self.orders, self.spent, self.points) == (0, 0, 0) {
            String::new()
        } else {
            format!(
                " orders={} spent={} points={}",
                self.orders,
                dukkan_core::orders::format_omr(self.spent),
                self.points
            )
        };
        format!(
            "{} {} {}|{}|{}|{}|{} [{}] default={}{figures}",
            self.kind,
            if self.active { "active" } else { "inactive" },
            o(&self.first),
            o(&self.last),
            o(&self.name2),
            phone,
            o(&self.email),
            self.cities.join(","),
            o(&self.default),
        )
    }
}

/// The answer of a door to one step.
fn answer_of<E>(r: Result<(), E>, code: impl Fn(&E) -> String) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => code(&e),
    }
}

// --- door 1: the till's store -------------------------------------------------------------------

fn cheap_hash(pin: &str) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let params = argon2::Params::new(1024, 1, 1, None).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(pin.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string()
}

struct TillDoor {
    _dir: tempfile::TempDir,
    d: Device,
    staff: HashMap<&'static str, String>,
    customers: HashMap<usize, CustomerId>,
    addresses: HashMap<usize, Vec<AddressId>>,
    merges: HashMap<usize, MergeId>,
}

impl TillDoor {
    fn new(staffed: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = Device::open(dir.path().join("d.sqlite3")).unwrap();
        // Enrolled, as a shop's till is: the server will judge what it records.
        d.save_enrollment(
            "http://127.0.0.1:9",
            &Enrollment {
                tenant_id: Uuid::now_v7(),
                device_id: dukkan_core::DeviceId::new(),
                device_token: "dkd_unused".into(),
            },
        )
        .unwrap();
        let mut staff = HashMap::new();
        if staffed {
            let members: Vec<RosterMember> =
                [("cashier", Role::Cashier), ("manager", Role::Manager)]
                    .into_iter()
                    .map(|(name, role)| RosterMember {
                        id: Uuid::now_v7(),
                        name: name.into(),
                        role,
                        pin_hash: cheap_hash(PIN),
                    })
                    .collect();
            for m in &members {
                staff.insert(m.role.as_str(), m.id.to_string());
            }
            d.replace_roster(
                &Roster {
                    staff: members,
                    ..Default::default()
                },
                None,
            )
            .unwrap();
        }
        TillDoor {
            _dir: dir,
            d,
            staff,
            customers: HashMap::new(),
            addresses: HashMap::new(),
            merges: HashMap::new(),
        }
    }

    fn step(&mut self, row: usize, who: Who, act: &Act) -> String {
        match who {
            Nobody => {}
            Cashier | Manager => {
                let role = if who == Cashier { "cashier" } else { "manager" };
                self.d.sign_in(&self.staff[role], PIN).unwrap();
            }
        }
        let d = &self.d;
        let code = |e: &dukkan_device::DeviceError| e.code().to_owned();
        let r: Result<(), dukkan_device::DeviceError> = match act {
            Stub { c, first, p } => d
                .create_stub(&StubInput {
                    first_name: (*first).into(),
                    phone: phone(row, *p),
                    ..Default::default()
                })
                .map(|o| match o {
                    StubOutcome::Created(x) => {
                        self.customers.insert(*c, x.id);
                    }
                    StubOutcome::Existing(_) => panic!("rows create unique phones"),
                }),
            Guest { c } => d.create_guest().map(|x| {
                self.customers.insert(*c, x.id);
            }),
            Edit { c, edit } => d
                .update_customer(
                    self.customers[c],
                    &CustomerChanges {
                        first_name: edit.first.clone(),
                        last_name: edit.last.clone(),
                        name2: edit.name2.clone(),
                        phone: edit.phone.as_ref().map(|p| phone_text(row, p)),
                        email: edit.email.clone(),
                        preferences: None,
                    },
                )
                .map(drop),
            Deactivate { c } => d.deactivate_customer(self.customers[c]).map(drop),
            Reactivate { c } => d.reactivate_customer(self.customers[c]).map(drop),
            AddAddress { c, city } => d
                .add_address(self.customers[c], &city_address(city))
                .map(|a| self.addresses.entry(*c).or_default().push(a.id)),
            UpdateAddress { c, a, city } => d
                .update_address(self.addresses[c][*a], &city_address(city))
                .map(drop),
            DeleteAddress { c, a } => d.delete_address(self.addresses[c][*a]),
            SetDefault { c, a } => d.set_default_address(self.addresses[c][*a]).map(drop),
            Order { c, order } => d
                .record_order(
                    self.customers[c],
                    &OrderInput {
                        ticket: Some(order.ticket.clone()),
                        amount: order.amount.text.into(),
                        pieces: order.pieces.text.into(),
                        note: order.note.clone(),
                    },
                )
                .map(drop),
            Points { c, delta, reason } => d
                .adjust_points(self.customers[c], delta.text, reason)
                .map(drop),
            Merge { c, keep, reason, m } => d
                .merge_customers(self.customers[c], self.customers[keep], reason)
                .map(|e| {
                    self.merges.insert(*m, e.id);
                }),
            Undo { m } => d.undo_merge(self.merges[m]).map(drop),
        };
        answer_of(r, code)
    }

    fn view(&self, c: usize) -> View {
        let details = self.d.customer(self.customers[&c]);
        // Reading needs nobody in particular on an open till, a cashier otherwise.
        let details = details.unwrap_or_else(|_| {
            self.d.sign_in(&self.staff["cashier"], PIN).unwrap();
            self.d.customer(self.customers[&c]).unwrap()
        });
        let mut addresses = details.addresses;
        addresses.sort_by_key(|a| a.id);
        let city = |a: &dukkan_device::AddressRecord| {
            a.address
                .city
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default()
        };
        let x = details.customer;
        View {
            kind: x.kind.as_str().into(),
            active: x.active,
            first: x.first_name,
            last: x.last_name,
            name2: x.name2,
            phone: x.phone,
            email: x.email,
            default: addresses.iter().find(|a| a.is_default).map(city),
            cities: addresses.iter().map(city).collect(),
            orders: x.order_count,
            spent: x.total_spent_minor,
            points: x.loyalty_points,
        }
    }
}

fn phone_text(row: usize, p: &Phone) -> String {
    match p {
        Phone::Slot(s) => phone(row, *s),
        Phone::Text(t) => (*t).to_owned(),
    }
}

fn city_address(city: &str) -> AddressInput {
    AddressInput {
        city: Some(city.into()),
        ..Default::default()
    }
}

// --- doors 2 and 3: the server, over REST and as pushed ops -----------------------------------

/// A customer of the server, read behind the API's back.
async fn server_view(app: &TestApp, id: Uuid) -> View {
    let client = app.owner.get().await.unwrap();
    let c = client
        .query_one(
            "SELECT kind, active, first_name, last_name, name2, phone, email, loyalty_points,
                    (SELECT count(*) FROM orders o WHERE o.customer_id = c.id),
                    (SELECT coalesce(sum(total_minor), 0)::bigint FROM orders o
                     WHERE o.customer_id = c.id)
             FROM customers c WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let addresses = client
        .query(
            "SELECT city, is_default FROM addresses WHERE customer_id = $1 ORDER BY id",
            &[&id],
        )
        .await
        .unwrap();
    View {
        kind: c.get(0),
        active: c.get(1),
        first: c.get(2),
        last: c.get(3),
        name2: c.get(4),
        phone: c.get(5),
        email: c.get(6),
        cities: addresses
            .iter()
            .map(|a| a.get::<_, Option<String>>(0).unwrap_or_default())
            .collect(),
        default: addresses
            .iter()
            .find(|a| a.get::<_, bool>(1))
            .map(|a| a.get(0)),
        points: c.get(7),
        orders: c.get(8),
        spent: c.get(9),
    }
}

struct RestDoor {
    tokens: HashMap<&'static str, String>,
    customers: HashMap<usize, Uuid>,
    addresses: HashMap<usize, Vec<String>>,
    merges: HashMap<usize, String>,
}

impl RestDoor {
    async fn step(&mut self, app: &TestApp, row: usize, who: Who, act: &Act) -> String {
        let token = match who {
            Cashier => &self.tokens["cashier"],
            Manager => &self.tokens["manager"],
            Nobody => unreachable!("REST always has someone signed in"),
        };
        let c_path = |c: &usize| format!("/api/v1/customers/{}", self.customers[c]);
        let a_path =
            |c: &usize, a: &usize| format!("{}/addresses/{}", c_path(c), self.addresses[c][*a]);
        let answer = match act {
            Stub { first, p, .. } => {
                app.post(
                    "/api/v1/customers",
                    token,
                    json!({"type": "stub", "firstName": first, "phone": phone(row, *p)}),
                )
                .await
            }
            Guest { .. } => {
                app.post("/api/v1/customers", token, json!({"type": "guest"}))
                    .await
            }
            Edit { c, edit } => {
                let mut body = serde_json::Map::new();
                let mut put = |k: &str, v: &Option<String>| {
                    if let Some(v) = v {
                        body.insert(k.into(), if v.is_empty() { Value::Null } else { json!(v) });
                    }
                };
                put("firstName", &edit.first);
                put("lastName", &edit.last);
                put("name2", &edit.name2);
                put("phone", &edit.phone.as_ref().map(|p| phone_text(row, p)));
                put("email", &edit.email);
                app.patch(&c_path(c), token, Value::Object(body)).await
            }
            Deactivate { c } => app.delete(&c_path(c), token).await,
            Reactivate { c } => {
                app.post(&format!("{}/reactivate", c_path(c)), token, json!(null))
                    .await
            }
            AddAddress { c, city } => {
                app.post(
                    &format!("{}/addresses", c_path(c)),
                    token,
                    json!({"city": city}),
                )
                .await
            }
            UpdateAddress { c, a, city } => {
                app.patch(&a_path(c, a), token, json!({"city": city})).await
            }
            DeleteAddress { c, a } => app.delete(&a_path(c, a), token).await,
            SetDefault { c, a } => {
                app.post(&format!("{}/default", a_path(c, a)), token, json!(null))
                    .await
            }
            Order { c, order } => {
                let mut body = json!({"ticket": order.ticket, "amountBaisa": order.amount.number,
                    "pieces": order.pieces.number});
                if let Some(note) = &order.note {
                    body["note"] = json!(note);
                }
                app.post(&format!("{}/orders", c_path(c)), token, body)
                    .await
            }
            Points { c, delta, reason } => {
                app.post(
                    &format!("{}/points", c_path(c)),
                    token,
                    json!({"delta": delta.number, "reason": reason}),
                )
                .await
            }
            Merge {
                c, keep, reason, ..
            } => {
                app.post(
                    "/api/v1/customers/merge",
                    token,
                    json!({"sourceId": self.customers[c], "targetId": self.customers[keep],
                           "reason": reason}),
                )
                .await
            }
            Undo { m } => {
                app.post(
                    &format!("/api/v1/customers/merges/{}/undo", self.merges[m]),
                    token,
                    json!(null),
                )
                .await
            }
        };
        if !answer.status.is_success() {
            return answer.code().to_owned();
        }
        match act {
            Stub { c, .. } | Guest { c } => {
                self.customers
                    .insert(*c, answer.body["id"].as_str().unwrap().parse().unwrap());
            }
            AddAddress { c, .. } => {
                self.addresses
                    .entry(*c)
                    .or_default()
                    .push(answer.body["id"].as_str().unwrap().to_owned());
            }
            Merge { m, .. } => {
                self.merges
                    .insert(*m, answer.body["mergeId"].as_str().unwrap().to_owned());
            }
            _ => {}
        }
        "ok".into()
    }
}

struct SyncDoor {
    token: String,
    staff: HashMap<&'static str, Uuid>,
    seq: i64,
    customers: HashMap<usize, CustomerId>,
    addresses: HashMap<usize, Vec<AddressId>>,
    /// Each merge slot's id and its two customer slots (the till's log names them).
    merges: HashMap<usize, (MergeId, usize, usize)>,
}

impl SyncDoor {
    async fn step(&mut self, app: &TestApp, row: usize, who: Who, act: &Act) -> String {
        let mut new_address = None;
        let op = match act {
            Stub { c, first, p } => {
                let id = *self.customers.entry(*c).or_default();
                Op::CustomerCreated(CustomerCreated {
                    id,
                    kind: CustomerKind::Stub,
                    first_name: Some((*first).into()),
                    last_name: None,
                    name2: None,
                    phone: Some(phone(row, *p)),
                    email: None,
                    preferences: None,
                })
            }
            Guest { c } => {
                let id = *self.customers.entry(*c).or_default();
                Op::CustomerCreated(CustomerCreated {
                    id,
                    kind: CustomerKind::Guest,
                    first_name: None,
                    last_name: None,
                    name2: None,
                    phone: None,
                    email: None,
                    preferences: None,
                })
            }
            // What a till's edit form sends: only the fields touched, "" clearing.
            Edit { c, edit } => Op::CustomerUpdated(CustomerUpdated {
                id: self.customers[c],
                first_name: edit.first.clone(),
                last_name: edit.last.clone().map(|v| Some(v).filter(|v| !v.is_empty())),
                name2: edit
                    .name2
                    .clone()
                    .map(|v| Some(v).filter(|v| !v.is_empty())),
                phone: edit.phone.as_ref().map(|p| phone_text(row, p)),
                email: edit
                    .email
                    .clone()
                    .map(|v| Some(v).filter(|v| !v.is_empty())),
                preferences: None,
            }),
            Deactivate { c } => Op::CustomerDeactivated {
                customer_id: self.customers[c],
            },
            Reactivate { c } => Op::CustomerReactivated {
                customer_id: self.customers[c],
            },
            AddAddress { c, city } => {
                let id = AddressId::new();
                new_address = Some((*c, id));
                // An op carries an address as data; the server checks it again as if typed.
                // Pushed raw, so a too-long value reaches the server unvalidated.
                return self
                    .push_raw(
                        app,
                        who,
                        "address_added",
                        json!({
                        "customerId": self.customers[c], "addressId": id,
                        "address": {"addressType": "home", "label": null, "building": null,
                            "floor": null, "apartment": null, "street": null, "area": null,
                            "city": city, "country": "OM", "postalCode": null, "gps": null,
                            "deliveryNotes": null}}),
                        new_address,
                    )
                    .await;
            }
            UpdateAddress { c, a, city } => {
                return self
                    .push_raw(
                        app,
                        who,
                        "address_updated",
                        json!({
                        "customerId": self.customers[c], "addressId": self.addresses[c][*a],
                        "address": {"addressType": "home", "label": null, "building": null,
                            "floor": null, "apartment": null, "street": null, "area": null,
                            "city": city, "country": "OM", "postalCode": null, "gps": null,
                            "deliveryNotes": null}}),
                        None,
                    )
                    .await;
            }
            DeleteAddress { c, a } => Op::AddressDeleted {
                customer_id: self.customers[c],
                address_id: self.addresses[c][*a],
            },
            SetDefault { c, a } => Op::DefaultAddressSet {
                customer_id: self.customers[c],
                address_id: self.addresses[c][*a],
            },
            Order { c, order } => Op::OrderRecorded(OrderRecorded {
                order_id: OrderId::new(),
                customer_id: self.customers[c],
                ticket: order.ticket.clone(),
                amount_baisa: order.amount.number,
                pieces: order.pieces.number,
                note: order.note.clone(),
            }),
            Points { c, delta, reason } => Op::PointsAdjusted {
                customer_id: self.customers[c],
                adjustment_id: AdjustmentId::new(),
                delta: delta.number,
                reason: (*reason).into(),
            },
            Merge { c, keep, reason, m } => {
                let merge_id = self
                    .merges
                    .entry(*m)
                    .or_insert_with(|| (MergeId::new(), *c, *keep))
                    .0;
                Op::CustomerMerged {
                    merge_id,
                    customer_id: self.customers[c],
                    target_id: self.customers[keep],
                    reason: (*reason).into(),
                }
            }
            Undo { m } => {
                let (merge_id, c, keep) = self.merges[m];
                Op::MergeUndone {
                    merge_id,
                    customer_id: self.customers[&c],
                    target_id: self.customers[&keep],
                }
            }
        };
        let v = serde_json::to_value(&op).unwrap();
        self.push_raw(app, who, op.kind(), v["payload"].clone(), new_address)
            .await
    }

    async fn push_raw(
        &mut self,
        app: &TestApp,
        who: Who,
        kind: &str,
        payload: Value,
        new_address: Option<(usize, AddressId)>,
    ) -> String {
        self.seq += 1;
        let staff = match who {
            Nobody => None,
            Cashier => Some(self.staff["cashier"]),
            Manager => Some(self.staff["manager"]),
        };
        let op = json!({"opId": OpId::new(), "deviceSeq": self.seq, "kind": kind, "payload": payload,
            "staffId": staff, "at": "2026-12-05T08:00:00.000Z"});
        // Typed ops round-trip through the wire type; the raw JSON is what goes out.
        if kind != "address_added" && kind != "address_updated" {
            let _: PushOp = serde_json::from_value(op.clone()).unwrap();
        }
        let answer = app
            .post(
                "/api/v1/sync/push",
                &self.token,
                json!({"protocol": PROTOCOL_VERSION, "ops": [op]}),
            )
            .await;
        let response: PushResponse = serde_json::from_value(answer.body.clone())
            .unwrap_or_else(|e| panic!("{e}: {answer:?}"));
        match &response.results[0].outcome {
            OpOutcome::Applied | OpOutcome::Duplicate => {
                if let Some((c, id)) = new_address {
                    self.addresses.entry(c).or_default().push(id);
                }
                "ok".into()
            }
            OpOutcome::Rejected { code } => code.clone(),
            other => panic!("unexpected answer {other:?}"),
        }
    }
}

/// Plays `table` on a till's store, over REST and as pushed ops (a server of its own); every
/// difference from what the rows expect.
async fn play(table: &[Row]) -> Vec<String> {
    let app = TestApp::spawn().await;
    app.tenant("rest").await;
    app.tenant("sync").await;
    let mut tokens = HashMap::new();
    tokens.insert("cashier", app.sign_in("rest", Role::Cashier).await);
    tokens.insert("manager", app.sign_in("rest", Role::Manager).await);
    let mut staff = HashMap::new();
    for (name, role) in [("cashier", Role::Cashier), ("manager", Role::Manager)] {
        let m = dukkan_server::staff::add(&app.owner, "sync", name, role, PIN)
            .await
            .unwrap();
        staff.insert(name, m.id.0);
    }
    let device_token = app.device_token("sync").await;
    let mut sync = SyncDoor {
        token: device_token,
        staff,
        seq: 0,
        customers: HashMap::new(),
        addresses: HashMap::new(),
        merges: HashMap::new(),
    };
    let mut failures = Vec::new();
    for (row, r) in table.iter().enumerate() {
        assert_eq!(
            r.steps.len(),
            r.answers.len(),
            "{}: one answer per step",
            r.name
        );
        let nobody = r.steps.iter().any(|(w, _)| *w == Nobody);
        let mut till = TillDoor::new(!nobody);
        let mut rest = RestDoor {
            tokens: tokens.clone(),
            customers: HashMap::new(),
            addresses: HashMap::new(),
            merges: HashMap::new(),
        };
        sync.customers.clear();
        sync.addresses.clear();
        sync.merges.clear();
        for (i, (who, act)) in r.steps.iter().enumerate() {
            let expected = r.answers[i];
            let mut got = vec![("till", till.step(row, *who, act))];
            if !nobody {
                got.push(("rest", rest.step(&app, row, *who, act).await));
            }
            got.push(("sync", sync.step(&app, row, *who, act).await));
            for (door, answer) in got {
                if answer != expected {
                    failures.push(format!(
                        "{}: step {i} through {door}: {answer}, expected {expected}",
                        r.name
                    ));
                }
            }
        }
        let mut ends = vec![("till", till.view(0).line(row))];
        if !nobody {
            ends.push((
                "rest",
                server_view(&app, rest.customers[&0]).await.line(row),
            ));
        }
        ends.push((
            "sync",
            server_view(&app, sync.customers[&0].as_uuid())
                .await
                .line(row),
        ));
        for (door, end) in ends {
            if end != r.end {
                failures.push(format!(
                    "{}: through {door} ends\n    {end}\n  expected\n    {}",
                    r.name, r.end
                ));
            }
        }
    }
    failures
}

fn assert_no_differences(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_row_gets_the_same_answers_and_end_state_from_the_till_rest_and_sync_push() {
    let table = rows();
    assert!(table.len() >= 40, "the table has {} rows", table.len());
    assert_no_differences(&play(&table).await);
}

/// Rows on which the doors are known to disagree today, each with the answer every door
/// should give: the till checks the typed amount, pieces or points before it looks at the
/// customer, the server the customer first, so bad input for a deactivated customer is
/// `validation.*` on the till and `customer.inactive` over REST and sync.
fn deactivated_with_bad_input() -> Vec<Row> {
    let inactive = "stub inactive Salim|-|-|P0|- [] default=-";
    vec![
        Row {
            name: "an order with a bad amount for a deactivated customer",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
                (Cashier, order(0, t("-1", -1), t("3", 3))),
            ],
            answers: vec!["ok", "ok", "customer.inactive"],
            end: inactive,
        },
        Row {
            name: "an order of no pieces for a deactivated customer",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
                (Cashier, order(0, t("1", 1_000), t("0", 0))),
            ],
            answers: vec!["ok", "ok", "customer.inactive"],
            end: inactive,
        },
        Row {
            name: "an adjustment of no points for a deactivated customer",
            steps: vec![
                (Cashier, stub(0, "Salim", 0)),
                (Manager, Deactivate { c: 0 }),
                (Manager, points(0, t("0", 0), "Nothing")),
            ],
            answers: vec!["ok", "ok", "customer.inactive"],
            end: inactive,
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_order_or_points_input_for_a_deactivated_customer_gets_the_same_refusal_from_every_door(
) {
    assert_no_differences(&play(&deactivated_with_bad_input()).await);
}
