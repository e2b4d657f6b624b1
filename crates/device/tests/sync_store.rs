//! The device half of sync against a real SQLite file: push batches, the server's answers,
//! and pulled pages (the server side is exercised end to end in the workspace `tests/`).

#![allow(clippy::unwrap_used)]

mod common;

use common::{device, stub};
use dukkan_core::sync::{
    Change, CustomerSnapshot, OpOutcome, OpResult, PullResponse, UpgradeState,
};
use dukkan_core::{CustomerId, CustomerKind, CustomerNumber};
use dukkan_device::{CustomerChanges, Device, SyncState};

fn answer(d: &Device, outcome: impl Fn(usize) -> OpOutcome) {
    let batch = d.next_push_batch(100).unwrap();
    let results: Vec<OpResult> = batch
        .iter()
        .enumerate()
        .map(|(i, op)| OpResult {
            op_id: op.op_id,
            device_seq: op.device_seq,
            outcome: outcome(i),
        })
        .collect();
    d.apply_push_results(&results).unwrap();
}

fn snapshot(id: CustomerId, number: u32, first: &str, phone: &str) -> CustomerSnapshot {
    CustomerSnapshot {
        id,
        customer_number: Some(CustomerNumber::new(number).unwrap()),
        kind: CustomerKind::Stub,
        first_name: Some(first.into()),
        last_name: None,
        name2: None,
        phone: Some(phone.into()),
        email: None,
        phone_verified: false,
        preferences: None,
        loyalty_points: 0,
        order_count: 0,
        total_spent_minor: 0,
        last_order_at: None,
        recent_orders: Vec::new(),
        active: true,
        retired: false,
        merged_into: None,
        default_address_id: None,
        addresses: vec![],
        upgrade_state: None,
        resend_after: None,
        code_expires_at: None,
        upgrade_error: None,
        created_at: "2026-11-25T10:00:00.000Z".into(),
        updated_at: "2026-11-25T10:00:00.000Z".into(),
    }
}

#[test]
fn push_batches_come_in_device_order_and_respect_the_limit() {
    let (_dir, d) = device();
    for i in 0..5 {
        stub(&d, "A", &format!("9212345{i}"));
    }
    let batch = d.next_push_batch(3).unwrap();
    let seqs: Vec<i64> = batch.iter().map(|o| o.device_seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(batch[0].op.kind(), "customer_created");
}

#[test]
fn applied_and_duplicate_answers_empty_the_outbox_and_mark_customers_synced() {
    let (_dir, d) = device();
    let a = stub(&d, "A", "92123450");
    stub(&d, "B", "92123451");
    answer(&d, |i| {
        if i == 0 {
            OpOutcome::Applied
        } else {
            OpOutcome::Duplicate
        }
    });
    assert_eq!(d.sync_status().unwrap().pending, 0);
    assert_eq!(
        d.customer(a.id).unwrap().customer.sync_state,
        SyncState::Synced
    );
    // A later edit makes it pending again.
    d.update_customer(
        a.id,
        &CustomerChanges {
            last_name: Some("X".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        d.customer(a.id).unwrap().customer.sync_state,
        SyncState::Pending
    );
}

#[test]
fn rejected_ops_are_parked_visible_and_discardable_never_dropped_silently() {
    let (_dir, d) = device();
    let a = stub(&d, "A", "92123450");
    answer(&d, |_| OpOutcome::Rejected {
        code: "validation.invalid-phone".into(),
    });
    let status = d.sync_status().unwrap();
    assert_eq!((status.pending, status.parked), (0, 1));
    let parked = d.parked_ops().unwrap();
    assert_eq!(parked[0].error_code, "validation.invalid-phone");
    assert_eq!(
        d.customer(a.id).unwrap().customer.sync_state,
        SyncState::Parked
    );
    assert!(
        d.next_push_batch(10).unwrap().is_empty(),
        "parked ops are not resent"
    );
    d.discard_parked(parked[0].device_seq).unwrap();
    assert_eq!(d.sync_status().unwrap().parked, 0);
}

#[test]
fn out_of_order_answers_keep_the_op_for_the_next_push() {
    let (_dir, d) = device();
    stub(&d, "A", "92123450");
    answer(&d, |_| OpOutcome::OutOfOrder { expected: 1 });
    assert_eq!(d.sync_status().unwrap().pending, 1);
}

#[test]
fn a_redirect_retires_the_local_duplicate_and_points_it_at_the_survivor() {
    let (_dir, d) = device();
    let local = stub(&d, "Ahmed", "92123456");
    d.add_address(
        local.id,
        &dukkan_core::AddressInput {
            area: Some("Ruwi".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let survivor = CustomerId::new();
    let first = d.next_push_batch(1).unwrap();
    d.apply_push_results(&[OpResult {
        op_id: first[0].op_id,
        device_seq: first[0].device_seq,
        outcome: OpOutcome::Redirected { to: survivor },
    }])
    .unwrap();
    let retired = d.customer(local.id).unwrap();
    assert!(!retired.customer.active);
    assert_eq!(retired.customer.merged_into, Some(survivor));
    let s = d.customer(survivor).unwrap();
    assert_eq!(s.addresses.len(), 1, "references moved to the survivor");
    assert!(s.addresses[0].is_default);
    let hits = d.search("3456", 10).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.customer.id).collect::<Vec<_>>(),
        vec![survivor]
    );
    // The queued address op now belongs to the survivor.
    assert_eq!(d.next_push_batch(10).unwrap().len(), 1);
}

#[test]
fn a_pulled_page_upserts_server_truth_and_advances_the_cursor_together() {
    let (_dir, d) = device();
    let mine = stub(&d, "Ahmed", "92123456");
    answer(&d, |_| OpOutcome::Applied);
    let other = CustomerId::new();
    let page = PullResponse {
        changes: vec![
            Change {
                seq: 1,
                customer: snapshot(mine.id, 1, "Ahmed", "+96892123456"),
            },
            Change {
                seq: 2,
                customer: snapshot(other, 2, "Salim", "+96899123456"),
            },
        ],
        cursor: 2,
        more: false,
    };
    d.apply_pull(&page).unwrap();
    d.apply_pull(&page).unwrap(); // a re-pulled page changes nothing
    assert_eq!(d.sync_cursor().unwrap(), 2);
    assert_eq!(
        d.customer(mine.id)
            .unwrap()
            .customer
            .customer_number
            .map(|n| n.to_string()),
        Some("CUST-00001".into())
    );
    let salim = d.search("salim", 10).unwrap();
    assert_eq!(salim[0].customer.id, other);
    assert_eq!(salim[0].customer.sync_state, SyncState::Synced);
    assert_eq!(
        d.list_customers(&Default::default()).unwrap().items.len(),
        2
    );
}

#[test]
fn pending_local_edits_are_reapplied_on_top_of_a_pulled_snapshot() {
    let (_dir, d) = device();
    let mine = stub(&d, "Ahmed", "92123456");
    answer(&d, |_| OpOutcome::Applied);
    d.update_customer(
        mine.id,
        &CustomerChanges {
            last_name: Some("Al Said".into()),
            ..Default::default()
        },
    )
    .unwrap();
    // The server's state does not have the edit yet, but has a number and another field.
    let mut snap = snapshot(mine.id, 9, "Ahmed", "+96892123456");
    snap.loyalty_points = 40;
    d.apply_pull(&PullResponse {
        changes: vec![Change {
            seq: 5,
            customer: snap,
        }],
        cursor: 5,
        more: false,
    })
    .unwrap();
    let c = d.customer(mine.id).unwrap().customer;
    assert_eq!(c.last_name.as_deref(), Some("Al Said"), "offline edit kept");
    assert_eq!(c.loyalty_points, 40, "server field taken");
    assert_eq!(c.sync_state, SyncState::Pending);
    assert_eq!(
        d.search("said", 10).unwrap().len(),
        1,
        "name index follows the re-applied edit"
    );
}

#[test]
fn a_failed_page_leaves_the_cursor_where_it_was() {
    let (_dir, d) = device();
    let mut bad = snapshot(CustomerId::new(), 1, "A", "+96892123456");
    bad.kind = CustomerKind::Full; // full without verified phone/email violates the store's CHECK
    let err = d.apply_pull(&PullResponse {
        changes: vec![Change {
            seq: 1,
            customer: bad,
        }],
        cursor: 1,
        more: false,
    });
    assert!(err.is_err());
    assert_eq!(d.sync_cursor().unwrap(), 0);
    assert!(d
        .list_customers(&Default::default())
        .unwrap()
        .items
        .is_empty());
}

/// The name index's own storage (FTS5's shadow table of segments), to tell whether anything
/// was written to it.
fn name_index_blocks(d: &Device) -> String {
    let conn = dukkan_device::store::connect_existing(d.path()).unwrap();
    conn.query_row(
        "SELECT group_concat(id || ':' || hex(block), ',') FROM (SELECT * FROM customers_fts_data ORDER BY id)",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn a_pulled_snapshot_that_keeps_the_names_leaves_the_name_index_untouched_and_a_rename_replaces_the_entry(
) {
    let (_dir, d) = device();
    let mine = stub(&d, "Ahmed", "92123456");
    answer(&d, |_| OpOutcome::Applied);
    let before = name_index_blocks(&d);
    // The server numbered the customer and gave it points: the names are as they were.
    let numbered = CustomerSnapshot {
        loyalty_points: 15,
        ..snapshot(mine.id, 1, "Ahmed", "+96892123456")
    };
    d.apply_pull(&page(1, numbered.clone())).unwrap();
    assert_eq!(name_index_blocks(&d), before, "the name index was written");
    assert_eq!(indexed(&d, "ahmed"), 1);
    assert_eq!(d.search("ahm", 5).unwrap()[0].customer.id, mine.id);
    // A rename on the server: the old entry goes, the new one is found.
    let renamed = CustomerSnapshot {
        first_name: Some("Zahir".into()),
        ..numbered
    };
    d.apply_pull(&page(2, renamed)).unwrap();
    assert_eq!(indexed(&d, "ahmed"), 0);
    assert_eq!(indexed(&d, "zahir"), 1);
    assert_eq!(d.search("zah", 5).unwrap()[0].customer.id, mine.id);
    assert!(d.search("ahm", 5).unwrap().is_empty());
}

fn page(cursor: i64, customer: CustomerSnapshot) -> PullResponse {
    PullResponse {
        changes: vec![Change {
            seq: cursor,
            customer,
        }],
        cursor,
        more: false,
    }
}

#[test]
fn a_queued_upgrade_follows_the_states_the_server_reports() {
    let (_dir, d) = device();
    let c = stub(&d, "Ahmed", "92123456");
    d.request_upgrade(c.id, "ahmed@example.om", &Default::default(), None)
        .unwrap();
    let queued = d.upgrade_request(c.id).unwrap().unwrap();
    assert_eq!(queued.state, UpgradeState::Queued);
    assert!(queued.waiting_for_sync);
    answer(&d, |_| OpOutcome::Applied);
    let pushed = d.upgrade_request(c.id).unwrap().unwrap();
    assert_eq!(pushed.state, UpgradeState::Queued);
    assert!(
        !pushed.waiting_for_sync,
        "acknowledged: now the server's to send"
    );

    // sent, with a code valid for five more minutes
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut s = snapshot(c.id, 1, "Ahmed", "+96892123456");
    s.upgrade_state = Some(UpgradeState::Sent);
    s.code_expires_at = Some(soon.clone());
    s.resend_after = Some(soon.clone());
    d.apply_pull(&page(1, s.clone())).unwrap();
    let sent = d.upgrade_request(c.id).unwrap().unwrap();
    assert_eq!(sent.state, UpgradeState::Sent);
    assert_eq!(sent.code_expires_at.as_deref(), Some(soon.as_str()));

    // the code's time passes without a word from the server: the device shows it expired
    s.code_expires_at = Some("2026-01-01T00:00:00.000Z".into());
    d.apply_pull(&page(2, s.clone())).unwrap();
    assert_eq!(
        d.upgrade_request(c.id).unwrap().unwrap().state,
        UpgradeState::Expired
    );

    // the provider refused the text: failed, with the reason
    s.upgrade_state = Some(UpgradeState::Failed);
    s.upgrade_error = Some("sms.failed".into());
    d.apply_pull(&page(3, s.clone())).unwrap();
    let failed = d.upgrade_request(c.id).unwrap().unwrap();
    assert_eq!(failed.state, UpgradeState::Failed);
    assert_eq!(failed.error_code.as_deref(), Some("sms.failed"));

    // a failed request may be made again; it is queued until pushed, whatever a later pull says
    d.request_upgrade(c.id, "ahmed@example.om", &Default::default(), None)
        .unwrap();
    d.apply_pull(&page(4, s.clone())).unwrap();
    let again = d.upgrade_request(c.id).unwrap().unwrap();
    assert_eq!(again.state, UpgradeState::Queued);
    assert_eq!(again.error_code, None);

    // verified by the server: the customer is full with a verified phone
    answer(&d, |_| OpOutcome::Applied);
    s.upgrade_state = Some(UpgradeState::Verified);
    s.upgrade_error = None;
    s.kind = CustomerKind::Full;
    s.phone_verified = true;
    s.email = Some("ahmed@example.om".into());
    d.apply_pull(&page(5, s)).unwrap();
    let details = d.customer(c.id).unwrap();
    assert_eq!(details.upgrade.unwrap().state, UpgradeState::Verified);
    assert_eq!(details.customer.kind, CustomerKind::Full);
    assert!(details.customer.phone_verified);
}

#[test]
fn a_discarded_refused_create_leaves_the_till_once_the_server_says_it_never_had_it() {
    let (_dir, d) = device();
    let ghost = stub(&d, "Ghost", "92123450");
    answer(&d, |_| OpOutcome::Rejected {
        code: "validation.invalid-phone".into(),
    });
    let seq = d.parked_ops().unwrap()[0].device_seq;
    d.discard_parked(seq).unwrap();
    assert_eq!(d.stale_customers().unwrap(), vec![ghost.id]);
    d.apply_refetched(ghost.id, None).unwrap();
    assert!(d.customer(ghost.id).is_err());
    assert!(d.search("ghost", 10).unwrap().is_empty());
    assert!(d.search("3450", 10).unwrap().is_empty());
    assert!(d.stale_customers().unwrap().is_empty());
}

#[test]
fn a_stale_customer_with_work_still_queued_is_kept_and_a_snapshot_replaces_the_refused_change() {
    let (_dir, d) = device();
    let a = stub(&d, "A", "92123450");
    answer(&d, |_| OpOutcome::Applied);
    d.update_customer(
        a.id,
        &CustomerChanges {
            last_name: Some("Refused".into()),
            ..Default::default()
        },
    )
    .unwrap();
    answer(&d, |_| OpOutcome::Rejected {
        code: "customer.phone-taken".into(),
    });
    d.update_customer(
        a.id,
        &CustomerChanges {
            name2: Some("أحمد".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let seq = d.parked_ops().unwrap()[0].device_seq;
    d.discard_parked(seq).unwrap();
    // The server says it never had the customer, but an edit is still queued: kept.
    d.apply_refetched(a.id, None).unwrap();
    assert!(d.customer(a.id).is_ok());
    // The server's snapshot: the refused last name goes, the queued Arabic name stays on top.
    d.discard_parked(seq).unwrap_err();
    d.apply_refetched(a.id, Some(&snapshot(a.id, 1, "A", "+96892123450")))
        .unwrap();
    let now = d.customer(a.id).unwrap().customer;
    assert_eq!(now.last_name, None);
    assert_eq!(now.name2.as_deref(), Some("أحمد"));
    assert_eq!(now.sync_state, SyncState::Pending);
}

#[test]
fn a_guest_the_server_retired_leaves_this_till_unless_work_of_it_is_still_queued() {
    let (_dir, d) = device();
    let quiet = d.create_guest().unwrap();
    let busy = d.create_guest().unwrap();
    // The creates reached the server; later an order for `busy` was taken here offline.
    answer(&d, |_| OpOutcome::Applied);
    d.record_order(
        busy.id,
        &dukkan_device::OrderInput {
            amount: "2".into(),
            pieces: "1".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let retired = |id: CustomerId| {
        let mut s = snapshot(id, 1, "x", "+96892000000");
        s.kind = CustomerKind::Guest;
        s.first_name = None;
        s.phone = None;
        s.active = false;
        s.retired = true;
        s
    };
    d.apply_pull(&PullResponse {
        changes: vec![
            Change {
                seq: 1,
                customer: retired(quiet.id),
            },
            Change {
                seq: 2,
                customer: retired(busy.id),
            },
        ],
        cursor: 2,
        more: false,
    })
    .unwrap();
    assert!(d.customer(quiet.id).is_err(), "retired: gone from the till");
    let kept = d.customer(busy.id).unwrap().customer;
    assert!(
        !kept.active,
        "kept, inactive, until the server answers its order"
    );
    assert_eq!(d.pending_ops().unwrap(), 1);
}

/// Every row of the customers table, as text, in id order.
fn customer_rows(d: &Device) -> Vec<String> {
    let conn = dukkan_device::store::connect_existing(d.path()).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT id, customer_number, kind, first_name, last_name, name2, phone, phone_national,
                    phone_last4, active, merged_into, sync_state FROM customers ORDER BY id",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((0..12)
                .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

/// How many entries of the name index match `expression`.
fn indexed(d: &Device, expression: &str) -> i64 {
    let conn = dukkan_device::store::connect_existing(d.path()).unwrap();
    conn.query_row(
        "SELECT count(*) FROM customers_fts WHERE customers_fts MATCH ?1",
        [expression],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn pages_written_together_in_one_transaction_leave_the_store_as_pages_written_one_by_one() {
    let (a, b, c, m, s, r) = (
        CustomerId::new(),
        CustomerId::new(),
        CustomerId::new(),
        CustomerId::new(),
        CustomerId::new(),
        CustomerId::new(),
    );
    let renamed = |c: CustomerSnapshot, first: &str| CustomerSnapshot {
        first_name: Some(first.into()),
        ..c
    };
    let merged = CustomerSnapshot {
        active: false,
        merged_into: Some(s),
        ..snapshot(m, 3, "Saif", "+96892000003")
    };
    let retired = CustomerSnapshot {
        kind: CustomerKind::Guest,
        customer_number: None,
        first_name: None,
        phone: None,
        retired: true,
        ..snapshot(r, 9, "x", "+96892000009")
    };
    let changes = [
        // Page 1: two new customers, and a merged one whose survivor comes on a later page.
        vec![
            snapshot(a, 1, "Nasser", "+96892000001"),
            snapshot(b, 2, "Salim", "+96892000002"),
            merged,
        ],
        // Page 2: the survivor, a retired guest, and the first customer renamed twice.
        vec![
            snapshot(s, 4, "Saif", "+96892000004"),
            retired,
            renamed(snapshot(a, 1, "Nasser", "+96892000001"), "Hamed"),
            renamed(snapshot(a, 1, "Nasser", "+96892000001"), "Badr"),
        ],
        // Page 3: a new phone for the second customer; a new one, renamed on the same page.
        vec![
            snapshot(b, 2, "Salim", "+96899000002"),
            snapshot(c, 5, "Zahra", "+96892000005"),
            renamed(snapshot(c, 5, "Zahra", "+96892000005"), "Zainab"),
        ],
    ];
    let mut seq = 0;
    let pages: Vec<PullResponse> = changes
        .iter()
        .enumerate()
        .map(|(k, snapshots)| PullResponse {
            changes: snapshots
                .iter()
                .map(|c| {
                    seq += 1;
                    Change {
                        seq,
                        customer: c.clone(),
                    }
                })
                .collect(),
            cursor: seq,
            more: k + 1 < changes.len(),
        })
        .collect();

    let (_one_dir, one_by_one) = device();
    for page in &pages {
        one_by_one.apply_pull(page).unwrap();
    }
    let (_all_dir, together) = device();
    together.apply_pulls(&pages).unwrap();

    assert_eq!(customer_rows(&together), customer_rows(&one_by_one));
    for d in [&one_by_one, &together] {
        assert_eq!(d.sync_cursor().unwrap(), seq);
        assert_eq!(customer_rows(d).len(), 5, "the retired guest is not kept");
        // One name entry per customer, each its latest name.
        assert_eq!(indexed(d, "\"badr\""), 1);
        assert_eq!(indexed(d, "\"nasser\" OR \"hamed\" OR \"zahra\""), 0);
        assert_eq!(indexed(d, "\"zainab\""), 1);
        assert_eq!(
            indexed(d, "\"saif\""),
            2,
            "the survivor and its merged copy"
        );
        let hits = d.search("badr", 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].customer.id, a);
        let moved = d.search("99000002", 10).unwrap();
        assert_eq!(moved[0].customer.id, b);
        assert!(d.search("92000002", 10).unwrap().is_empty());
    }
}
