//! Merging duplicates at the till, with undo, against a real SQLite file: likely duplicates are
//! found, a merge moves orders, figures, points, addresses and missing fields offline as one
//! op, an undo puts back exactly that, managers only, hostile reasons write nothing, and the
//! server's snapshots of a pending merge's customers wait until it is answered.

#![allow(clippy::unwrap_used)]

mod common;

use common::{device, pull, signed_in, stub};
use dukkan_core::staff::Role;
use dukkan_core::sync::{CustomerSnapshot, OpOutcome, OpResult};
use dukkan_core::{AddressInput, CustomerKind, CustomerNumber};
use dukkan_device::{Customer, Device, DeviceError, OrderInput};

fn order(d: &Device, c: &Customer, amount: &str) {
    d.record_order(
        c.id,
        &OrderInput {
            ticket: None,
            amount: amount.into(),
            pieces: "1".into(),
            note: None,
        },
    )
    .unwrap();
}

fn address(d: &Device, c: &Customer, area: &str) -> String {
    d.add_address(
        c.id,
        &AddressInput {
            area: Some(area.into()),
            city: Some("Muscat".into()),
            ..Default::default()
        },
    )
    .unwrap()
    .id
    .to_string()
}

fn now(d: &Device, c: &Customer) -> Customer {
    d.customer(c.id).unwrap().customer
}

fn areas(d: &Device, c: &Customer) -> Vec<String> {
    let mut out: Vec<String> = d
        .customer(c.id)
        .unwrap()
        .addresses
        .iter()
        .map(|a| a.address.area.as_ref().unwrap().as_str().to_owned())
        .collect();
    out.sort();
    out
}

/// Marks every pending op answered `applied` (the server took them).
fn push_all(d: &Device) {
    let batch = d.next_push_batch(1000).unwrap();
    let answers: Vec<OpResult> = batch
        .iter()
        .map(|op| OpResult {
            op_id: op.op_id,
            device_seq: op.device_seq,
            outcome: OpOutcome::Applied,
        })
        .collect();
    d.apply_push_results(&answers).unwrap();
}

/// The server's copy of `c` (numbered by its phone's last digit, so two differ), no orders.
fn snapshot(c: &Customer, points: i64) -> CustomerSnapshot {
    let n = c
        .phone
        .as_deref()
        .and_then(|p| p.chars().last()?.to_digit(10))
        .unwrap_or(0)
        + 1;
    common::snapshot_of(c, n, vec![], points)
}

#[test]
fn a_returning_customer_and_a_phone_typo_are_found_as_likely_duplicates() {
    let (_dir, d) = device();
    let old = stub(&d, "Salim", "92123456");
    d.deactivate_customer(old.id).unwrap();
    let again = stub(&d, "Salim", "92123456");
    order(&d, &again, "3");
    let aisha = stub(&d, "عائشة", "93000001");
    let typo = stub(&d, "عائشه", "93000010");
    stub(&d, "Badr", "94000000");
    d.create_guest().unwrap();
    d.create_guest().unwrap();

    let pairs = d.likely_duplicates().unwrap();
    let found: Vec<_> = pairs
        .iter()
        .map(|p| (p.keep.id, p.duplicate.id, format!("{:?}", p.reason)))
        .collect();
    assert_eq!(
        found,
        vec![
            (again.id, old.id, "SamePhone".to_owned()),
            (aisha.id, typo.id, "SameNameNearPhone".to_owned()),
        ],
        "the active one with orders stays; ta marbuta folded, swapped digits seen"
    );
    signed_in(&d, Role::Cashier);
    assert_eq!(
        d.likely_duplicates().unwrap_err().code(),
        "auth.forbidden",
        "a cashier does not browse for duplicates"
    );
}

#[test]
fn pairs_are_kept_as_customers_are_written_pulled_merged_and_edited_after_the_first_look() {
    let (_dir, d) = device();
    let salim = stub(&d, "Salim", "92123456");
    assert!(d.likely_duplicates().unwrap().is_empty(), "the first look");
    let pairs = |d: &Device| -> Vec<(dukkan_core::CustomerId, dukkan_core::CustomerId)> {
        d.likely_duplicates()
            .unwrap()
            .iter()
            .map(|p| (p.keep.id, p.duplicate.id))
            .collect()
    };
    // Written here: a typo of Salim's phone, under his name.
    let typo = stub(&d, "salim", "92123457");
    assert_eq!(pairs(&d), vec![(salim.id, typo.id)]);
    // Edited away: a different name is another person.
    d.update_customer(
        typo.id,
        &dukkan_device::CustomerChanges {
            first_name: Some("Badr".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(pairs(&d).is_empty());
    // Pulled from another till: a deactivated record with Salim's phone.
    push_all(&d);
    let other = Customer {
        id: dukkan_core::CustomerId::new(),
        ..salim.clone()
    };
    let mut old = snapshot(&other, 0);
    old.customer_number = Some(CustomerNumber::new(40).unwrap());
    old.active = false;
    pull(&d, 30, vec![old]);
    let found = d.likely_duplicates().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].keep.id, found[0].duplicate.id),
        (salim.id, other.id)
    );
    assert_eq!(
        found[0].reason,
        dukkan_core::duplicates::DuplicateReason::SamePhone
    );
    // Merged: gone from the finder.
    d.merge_customers(other.id, salim.id, "Returning customer")
        .unwrap();
    assert!(pairs(&d).is_empty());
}

#[test]
fn a_merge_offline_moves_orders_points_addresses_and_missing_fields_in_one_op() {
    let (_dir, d) = device();
    let guest = d.create_guest().unwrap();
    order(&d, &guest, "2");
    let dup = stub(&d, "Salim", "92123456");
    order(&d, &dup, "5");
    order(&d, &dup, "7.5");
    address(&d, &dup, "Ruwi");
    address(&d, &dup, "Qurum");
    let ops_before = d.pending_ops().unwrap();

    let preview = d.merge_preview(dup.id, guest.id).unwrap();
    assert_eq!(
        (
            preview.orders_moving,
            preview.spent_moving,
            preview.points_moving,
            preview.addresses_moving
        ),
        (2, 12_500, 12, 2)
    );
    assert_eq!(preview.fields_taken, vec!["firstName", "phone"]);
    assert_eq!(preview.keep_becomes, CustomerKind::Stub);
    assert_eq!(
        d.pending_ops().unwrap(),
        ops_before,
        "a preview writes nothing"
    );

    let entry = d
        .merge_customers(dup.id, guest.id, "  Same person ")
        .unwrap();
    assert_eq!(entry.reason, "Same person");
    assert!(entry.undoable);
    assert_eq!((entry.orders_moved, entry.points_moved), (2, 12));
    assert_eq!(d.pending_ops().unwrap(), ops_before + 1, "one op");

    let kept = now(&d, &guest);
    assert_eq!(kept.kind, CustomerKind::Stub);
    assert_eq!(kept.first_name.as_deref(), Some("Salim"));
    assert_eq!(kept.phone.as_deref(), Some("+96892123456"));
    assert_eq!(
        (
            kept.order_count,
            kept.total_spent_minor,
            kept.loyalty_points
        ),
        (3, 14_500, 14)
    );
    assert_eq!(d.orders(guest.id).unwrap().len(), 3);
    assert_eq!(areas(&d, &guest), vec!["Qurum", "Ruwi"]);
    assert!(kept.default_address_id.is_some());
    let gone = now(&d, &dup);
    assert!(!gone.active);
    assert_eq!(gone.merged_into, Some(guest.id));
    assert_eq!(gone.loyalty_points, 0);
    // The survivor is found by the names it took.
    let hits = d.search("salim", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].customer.id, guest.id);
    // Both customers' logs show the merge.
    assert_eq!(d.merges_of(guest.id).unwrap(), vec![entry.clone()]);
    assert_eq!(d.merges_of(dup.id).unwrap(), vec![entry]);
}

#[test]
fn an_undo_puts_back_exactly_what_moved_once_and_a_later_change_makes_it_unsafe() {
    let (_dir, d) = device();
    let guest = d.create_guest().unwrap();
    order(&d, &guest, "2");
    let dup = stub(&d, "Salim", "92123456");
    order(&d, &dup, "5");
    let home = address(&d, &dup, "Ruwi");
    address(&d, &dup, "Qurum");
    d.set_default_address(home.parse().unwrap()).unwrap();
    let entry = d.merge_customers(dup.id, guest.id, "Same person").unwrap();
    order(&d, &guest, "1");

    let back = d.undo_merge(entry.id).unwrap();
    assert!(back.active);
    assert_eq!(back.merged_into, None);
    assert_eq!(back.phone.as_deref(), Some("+96892123456"));
    assert_eq!(
        (
            back.order_count,
            back.total_spent_minor,
            back.loyalty_points
        ),
        (1, 5_000, 5)
    );
    assert_eq!(d.orders(dup.id).unwrap().len(), 1);
    assert_eq!(areas(&d, &dup), vec!["Qurum", "Ruwi"]);
    assert_eq!(back.default_address_id.as_deref(), Some(home.as_str()));
    let guest_now = now(&d, &guest);
    assert_eq!(
        guest_now.kind,
        CustomerKind::Guest,
        "gave back name and phone"
    );
    assert_eq!(guest_now.first_name, None);
    assert_eq!(guest_now.phone, None);
    assert_eq!(
        (guest_now.order_count, guest_now.loyalty_points),
        (2, 3),
        "its own order and the one taken after the merge stay"
    );
    assert_eq!(areas(&d, &guest), Vec::<String>::new());
    assert_eq!(d.orders(guest.id).unwrap().len(), 2);
    let log = d.merges_of(dup.id).unwrap();
    assert!(log[0].undone_at.is_some());
    assert!(!log[0].undoable);
    let ops = d.pending_ops().unwrap();
    assert_eq!(
        d.undo_merge(entry.id).unwrap(),
        now(&d, &dup),
        "undone already: stays so"
    );
    assert_eq!(d.pending_ops().unwrap(), ops, "nothing written");

    // Merged again; the survivor spends the points: unsafe to undo.
    let again = d.merge_customers(dup.id, guest.id, "Same person").unwrap();
    d.adjust_points(guest.id, "-4", "Redeemed").unwrap();
    let ops = d.pending_ops().unwrap();
    assert_eq!(
        d.undo_merge(again.id).unwrap_err().code(),
        "merge.undo-unsafe"
    );
    assert_eq!(d.pending_ops().unwrap(), ops);
    assert!(!now(&d, &dup).active);
}

#[test]
fn only_a_manager_merges_and_hostile_reasons_are_refused_with_nothing_written() {
    let (_dir, d) = device();
    let a = stub(&d, "Salim", "92123456");
    let b = stub(&d, "Salim", "92123457");
    let ops = d.pending_ops().unwrap();
    for reason in [
        "".to_owned(),
        "   ".to_owned(),
        "x".repeat(10_000),
        "Same\u{202E}person".to_owned(),
        "bell\u{0007}".to_owned(),
        "two\nlines".to_owned(),
    ] {
        let e = d.merge_customers(a.id, b.id, &reason).unwrap_err();
        assert!(
            matches!(e, DeviceError::Validation(_) | DeviceError::Refused(_)),
            "{reason:?}: {e:?}"
        );
        assert!(e.code().starts_with("validation."), "{}", e.code());
    }
    assert_eq!(
        d.merge_customers(a.id, a.id, "x").unwrap_err().code(),
        "customer.merge-self"
    );
    assert_eq!(
        d.merge_customers(a.id, dukkan_core::CustomerId::new(), "x")
            .unwrap_err()
            .code(),
        "customer.not-found"
    );
    assert_eq!(
        d.undo_merge(dukkan_core::MergeId::new())
            .unwrap_err()
            .code(),
        "merge.not-found"
    );
    assert_eq!(d.pending_ops().unwrap(), ops);
    assert!(now(&d, &a).active && now(&d, &b).active);

    let entry = d.merge_customers(a.id, b.id, "Same person").unwrap();
    signed_in(&d, Role::Cashier);
    assert_eq!(
        d.merge_customers(b.id, a.id, "x").unwrap_err().code(),
        "auth.forbidden"
    );
    assert_eq!(d.undo_merge(entry.id).unwrap_err().code(), "auth.forbidden");
    assert_eq!(
        d.merges_of(b.id).unwrap().len(),
        1,
        "a cashier reads the log"
    );
}

#[test]
fn the_servers_snapshots_of_a_pending_merge_wait_until_it_is_answered() {
    let (_dir, d) = device();
    let keep = stub(&d, "Salim", "92123456");
    let dup = stub(&d, "Salim", "92123457");
    order(&d, &dup, "5");
    push_all(&d);
    d.merge_customers(dup.id, keep.id, "Typo").unwrap();

    // Snapshots from before the merge reached the server: the till keeps its merge.
    pull(&d, 10, vec![snapshot(&keep, 0), snapshot(&dup, 5)]);
    let kept = now(&d, &keep);
    assert_eq!(kept.loyalty_points, 5, "counted once, not lost");
    assert!(!now(&d, &dup).active);
    let mut stale = d.stale_customers().unwrap();
    stale.sort();
    let mut both = vec![keep.id, dup.id];
    both.sort();
    assert_eq!(stale, both, "read again once the merge is answered");
    // Still pending: a refetch is held back too.
    d.apply_refetched(keep.id, Some(&snapshot(&keep, 0)))
        .unwrap();
    assert_eq!(now(&d, &keep).loyalty_points, 5);

    // Answered: the server's truth comes in and nothing is counted twice.
    push_all(&d);
    let mut after = snapshot(&keep, 5);
    after.order_count = 1;
    after.total_spent_minor = 5_000;
    d.apply_refetched(keep.id, Some(&after)).unwrap();
    let mut merged_away = snapshot(&dup, 0);
    merged_away.active = false;
    merged_away.merged_into = Some(keep.id);
    d.apply_refetched(dup.id, Some(&merged_away)).unwrap();
    let kept = now(&d, &keep);
    assert_eq!((kept.loyalty_points, kept.order_count), (5, 1));
    assert!(d.stale_customers().unwrap().is_empty());
}

#[test]
fn the_duplicates_snapshot_takes_its_address_back_from_a_survivor_that_made_it_its_default() {
    let (_dir, d) = device();
    let keep = stub(&d, "Salim", "92123456");
    let dup = stub(&d, "Salim", "92123457");
    let home = address(&d, &dup, "Ruwi");
    push_all(&d);
    d.merge_customers(dup.id, keep.id, "Typo").unwrap();
    assert_eq!(
        now(&d, &keep).default_address_id.as_deref(),
        Some(home.as_str())
    );
    // The server refused the merge; only the duplicate changed on the server since.
    let batch = d.next_push_batch(10).unwrap();
    d.apply_push_results(&[OpResult {
        op_id: batch[0].op_id,
        device_seq: batch[0].device_seq,
        outcome: OpOutcome::Rejected {
            code: "customer.inactive".into(),
        },
    }])
    .unwrap();
    let mut server_dup = snapshot(&dup, 0);
    let record = d.customer(keep.id).unwrap().addresses.remove(0);
    server_dup.addresses = vec![dukkan_core::sync::AddressSnapshot {
        id: record.id,
        address: record.address.clone(),
    }];
    server_dup.default_address_id = Some(record.id);
    pull(&d, 20, vec![server_dup]);
    assert_eq!(areas(&d, &dup), vec!["Ruwi"]);
    assert_eq!(
        now(&d, &dup).default_address_id.as_deref(),
        Some(home.as_str())
    );
    assert_eq!(areas(&d, &keep), Vec::<String>::new());
    assert_eq!(now(&d, &keep).default_address_id, None);
}

#[test]
fn a_merge_the_server_refused_and_a_manager_discarded_is_forgotten_and_both_are_read_again() {
    let (_dir, d) = device();
    let keep = stub(&d, "Salim", "92123456");
    let dup = stub(&d, "Salim", "92123457");
    push_all(&d);
    d.merge_customers(dup.id, keep.id, "Typo").unwrap();
    let batch = d.next_push_batch(10).unwrap();
    d.apply_push_results(&[OpResult {
        op_id: batch[0].op_id,
        device_seq: batch[0].device_seq,
        outcome: OpOutcome::Rejected {
            code: "customer.merged".into(),
        },
    }])
    .unwrap();
    let parked = d.parked_ops().unwrap();
    assert_eq!(parked[0].kind, "customer_merged");
    d.discard_parked(parked[0].device_seq).unwrap();
    assert!(d.merges_of(keep.id).unwrap().is_empty());
    let mut stale = d.stale_customers().unwrap();
    stale.sort();
    let mut both = vec![keep.id, dup.id];
    both.sort();
    assert_eq!(stale, both);
    d.apply_refetched(dup.id, Some(&snapshot(&dup, 0))).unwrap();
    assert!(now(&d, &dup).active, "the server's truth: never merged");
}
