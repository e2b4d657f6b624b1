//! Orders and loyalty on one till, against a real SQLite file: taking an order offline (figures,
//! points, ticket reference, outbox op and audit entry at once), hostile input, the roles, and
//! the server's figures replacing the till's without counting a pending order twice.

#![allow(clippy::unwrap_used)]

mod common;

use common::{device, pull, signed_in, snapshot_of, stub};
use dukkan_core::orders::OrderRecord;
use dukkan_core::staff::Role;
use dukkan_core::sync::{OpOutcome, OpResult};
use dukkan_core::CustomerKind;
use dukkan_device::{Customer, Device, DeviceError, OrderInput};

fn input(amount: &str, pieces: &str) -> OrderInput {
    OrderInput {
        ticket: None,
        amount: amount.into(),
        pieces: pieces.into(),
        note: None,
    }
}

fn customer(d: &Device, c: &Customer) -> Customer {
    d.customer(c.id).unwrap().customer
}

fn code(e: DeviceError) -> String {
    e.code().to_owned()
}

#[test]
fn an_order_taken_offline_counts_at_once_with_its_own_ticket_points_op_and_audit_entry() {
    let (_dir, d) = device();
    let c = stub(&d, "Salim", "92123456");
    let before = d.pending_ops().unwrap();
    let first_ticket = d.next_ticket().unwrap();
    let o = d.record_order(c.id, &input("4.500", "3")).unwrap();
    assert_eq!(o.ticket, first_ticket, "the ticket the form proposed");
    assert_eq!(o.amount_baisa, 4_500);
    assert_eq!(o.pieces, 3);
    assert_eq!(o.points, 4, "1 point per whole rial by default");
    let second = d
        .record_order(
            c.id,
            &OrderInput {
                note: Some("  starch the collars ".into()),
                ..input("١٢٫٥", "٢")
            },
        )
        .unwrap();
    assert_ne!(second.ticket, o.ticket, "each order its own ticket");
    assert!(second.ticket.ends_with("-00002"), "{}", second.ticket);
    assert_eq!(second.note.as_deref(), Some("starch the collars"));
    let typed = d
        .record_order(
            c.id,
            &OrderInput {
                ticket: Some("PAPER-7".into()),
                ..input("1", "1")
            },
        )
        .unwrap();
    assert_eq!(typed.ticket, "PAPER-7");
    assert!(
        d.next_ticket().unwrap().ends_with("-00003"),
        "a typed ticket does not use up a number"
    );

    let now = customer(&d, &c);
    assert_eq!(now.order_count, 3);
    assert_eq!(now.total_spent_minor, 18_000);
    assert_eq!(now.loyalty_points, 4 + 12 + 1);
    assert!(now.last_order_at.is_some());
    assert_eq!(d.pending_ops().unwrap(), before + 3);
    let listed: Vec<String> = d
        .orders(c.id)
        .unwrap()
        .into_iter()
        .map(|o| o.ticket)
        .collect();
    assert_eq!(
        listed,
        vec!["PAPER-7".to_string(), second.ticket, o.ticket],
        "newest first"
    );
    let kinds: Vec<String> = d.outbox().unwrap().into_iter().map(|o| o.1).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "order_recorded").count(), 3);
    let activity = d.customer_activity(c.id).unwrap();
    assert!(
        activity
            .audit
            .iter()
            .any(|e| e.fields.iter().any(|f| f == "orders")),
        "the order is in the customer's activity"
    );
}

#[test]
fn a_walk_in_guest_can_have_an_order() {
    let (_dir, d) = device();
    let g = d.create_guest().unwrap();
    let o = d.record_order(g.id, &input("2", "5")).unwrap();
    assert_eq!(o.points, 2);
    let g = customer(&d, &g);
    assert_eq!(g.kind, CustomerKind::Guest);
    assert_eq!(g.order_count, 1);
}

#[test]
fn bad_order_input_gets_the_fields_error_and_nothing_is_written() {
    let (_dir, d) = device();
    let c = stub(&d, "Salim", "92123456");
    let ops = d.pending_ops().unwrap();
    let ticket = d.next_ticket().unwrap();
    let long = "x".repeat(10_000);
    let cases: Vec<(OrderInput, &str)> = vec![
        (input("", "1"), "validation.required"),
        (input("abc", "1"), "validation.not-a-number"),
        (input("-3", "1"), "validation.out-of-range"),
        (input("1.2345", "1"), "validation.out-of-range"),
        (input(&long, "1"), "validation.not-a-number"),
        (input("100001", "1"), "validation.out-of-range"),
        (input("1", ""), "validation.required"),
        (input("1", "0"), "validation.out-of-range"),
        (input("1", "1000"), "validation.out-of-range"),
        (input("1", "two"), "validation.not-a-number"),
        (
            OrderInput {
                ticket: Some("A\u{202E}B".into()),
                ..input("1", "1")
            },
            "validation.bidi-control",
        ),
        (
            OrderInput {
                ticket: Some(long.clone()),
                ..input("1", "1")
            },
            "validation.too-long",
        ),
        (
            OrderInput {
                note: Some(long.clone()),
                ..input("1", "1")
            },
            "validation.too-long",
        ),
        (
            OrderInput {
                note: Some("a\u{0000}b".into()),
                ..input("1", "1")
            },
            "validation.control-character",
        ),
    ];
    for (bad, expected) in cases {
        let err = d.record_order(c.id, &bad).unwrap_err();
        assert_eq!(
            code(err),
            expected,
            "{:?}",
            bad.amount.chars().take(20).collect::<String>()
        );
    }
    assert_eq!(d.pending_ops().unwrap(), ops);
    assert!(d.orders(c.id).unwrap().is_empty());
    assert_eq!(customer(&d, &c).order_count, 0);
    assert_eq!(d.next_ticket().unwrap(), ticket, "no ticket number used up");
}

#[test]
fn a_deactivated_customer_takes_no_order_until_reactivated() {
    let (_dir, d) = device();
    let c = stub(&d, "Salim", "92123456");
    d.deactivate_customer(c.id).unwrap();
    assert_eq!(
        code(d.record_order(c.id, &input("1", "1")).unwrap_err()),
        "customer.inactive"
    );
    d.reactivate_customer(c.id).unwrap();
    d.record_order(c.id, &input("1", "1")).unwrap();
}

#[test]
fn a_cashier_takes_orders_but_only_a_manager_adjusts_points_never_below_zero() {
    let (_dir, d) = device();
    let c = stub(&d, "Salim", "92123456");
    signed_in(&d, Role::Cashier);
    d.record_order(c.id, &input("10", "4")).unwrap();
    assert_eq!(
        code(d.adjust_points(c.id, "5", "goodwill").unwrap_err()),
        "auth.forbidden"
    );
    signed_in(&d, Role::Manager);
    assert_eq!(d.adjust_points(c.id, "5", " goodwill ").unwrap(), 15);
    let ops = d.pending_ops().unwrap();
    assert_eq!(
        code(d.adjust_points(c.id, "-16", "typo").unwrap_err()),
        "loyalty.points-below-zero"
    );
    assert_eq!(
        code(d.adjust_points(c.id, "-1", "  ").unwrap_err()),
        "validation.required"
    );
    assert_eq!(
        code(d.adjust_points(c.id, "0", "nothing").unwrap_err()),
        "validation.out-of-range"
    );
    assert_eq!(
        code(d.adjust_points(c.id, "five", "typo").unwrap_err()),
        "validation.not-a-number"
    );
    assert_eq!(d.pending_ops().unwrap(), ops, "refusals write nothing");
    assert_eq!(d.adjust_points(c.id, "-15", "returned").unwrap(), 0);
    assert_eq!(customer(&d, &c).loyalty_points, 0);
}

#[test]
fn a_pending_order_is_added_once_on_top_of_the_servers_figures_and_not_again_once_counted() {
    let (_dir, d) = device();
    let c = stub(&d, "Salim", "92123456");
    // The create reached the server; the order has not.
    let batch = d.next_push_batch(1).unwrap();
    d.apply_push_results(&[OpResult {
        op_id: batch[0].op_id,
        device_seq: batch[0].device_seq,
        outcome: OpOutcome::Applied,
    }])
    .unwrap();
    let mine = d.record_order(c.id, &input("5", "2")).unwrap();

    // Another till's order, counted by the server; ours is not in its figures yet. The page
    // carries the customer twice: the pending order must still be added once.
    let other = OrderRecord {
        id: dukkan_core::OrderId::new(),
        ticket: "AAAA-00001".into(),
        amount_baisa: 3_000,
        pieces: 1,
        note: None,
        points: 30,
        created_at: "2026-12-06T09:00:00.000Z".into(),
    };
    let first = snapshot_of(&c, 7, vec![other.clone()], 30);
    pull(&d, 1, vec![first.clone(), first]);
    let now = customer(&d, &c);
    assert_eq!(now.order_count, 2, "the server's one plus the pending one");
    assert_eq!(now.total_spent_minor, 8_000);
    assert_eq!(
        now.loyalty_points, 35,
        "server's 30 + the till's 5 for its pending order"
    );
    assert_eq!(
        d.orders(c.id).unwrap().len(),
        2,
        "the other till's order is listed"
    );

    // The server counted ours too, but the answer to our push was lost: the op is still
    // pending when the next snapshot arrives. Not counted twice.
    let mut counted = mine.clone();
    counted.points = 5;
    let second = snapshot_of(&c, 7, vec![counted, other], 35);
    pull(&d, 3, vec![second]);
    let now = customer(&d, &c);
    assert_eq!(now.order_count, 2);
    assert_eq!(now.total_spent_minor, 8_000);
    assert_eq!(now.loyalty_points, 35);
}

#[test]
fn walk_in_guests_stay_out_of_the_list_and_its_export_unless_asked_for() {
    let (_dir, d) = device();
    let stub = stub(&d, "Salim", "92123456");
    let guest = d.create_guest().unwrap();
    d.record_order(guest.id, &input("1", "1")).unwrap();
    let ids = |q: &dukkan_device::ListQuery| -> Vec<dukkan_core::CustomerId> {
        d.list_customers(q)
            .unwrap()
            .items
            .iter()
            .map(|c| c.id)
            .collect()
    };
    assert_eq!(ids(&Default::default()), vec![stub.id]);
    let guests = dukkan_device::ListQuery {
        kind: Some(CustomerKind::Guest),
        ..Default::default()
    };
    assert_eq!(ids(&guests), vec![guest.id]);
    let rows = d
        .export_csv(
            &Default::default(),
            dukkan_core::i18n::Locale::En,
            Vec::new(),
        )
        .unwrap();
    assert_eq!(rows, 1, "the export holds what the list shows");
    assert_eq!(
        d.export_csv(&guests, dukkan_core::i18n::Locale::En, Vec::new())
            .unwrap(),
        1
    );
}

#[test]
fn a_standalone_till_retires_its_walk_in_guests_without_orders_after_ninety_days_and_renumbers_its_queue(
) {
    let (_dir, d) = device();
    let old_guest = d.create_guest().unwrap();
    let old_with_order = d.create_guest().unwrap();
    d.record_order(old_with_order.id, &input("1", "1")).unwrap();
    let young_guest = d.create_guest().unwrap();
    let old_stub = stub(&d, "Salim", "92123456");
    let conn = dukkan_device::store::connect_existing(d.path()).unwrap();
    for c in [&old_guest, &old_with_order, &old_stub] {
        conn.execute(
            "UPDATE customers SET created_at = '2026-01-01T08:00:00.000Z' WHERE id = ?1",
            [c.id.to_string()],
        )
        .unwrap();
    }
    let queued = d.pending_ops().unwrap();
    assert_eq!(d.retire_old_guests().unwrap(), 1);
    assert!(d.customer(old_guest.id).is_err(), "gone from this till");
    for kept in [&old_with_order, &young_guest, &old_stub] {
        assert!(d.customer(kept.id).is_ok());
    }
    assert_eq!(
        d.pending_ops().unwrap(),
        queued - 1,
        "its queued create went with it"
    );
    let seqs: Vec<i64> = d
        .next_push_batch(100)
        .unwrap()
        .iter()
        .map(|o| o.device_seq)
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "numbered again from 1"
    );
    let retired: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'retire' AND entity_id = ?1",
            [old_guest.id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(retired, 1, "recorded in the audit log");
    assert_eq!(d.retire_old_guests().unwrap(), 0, "once");
}
