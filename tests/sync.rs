//! Sync end to end: real devices (their own SQLite files) against the real tenant server on
//! 127.0.0.1:0 and a fresh Postgres database per test.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "common/mod.rs"]
mod common;

use common::{enrolled_device, stub, sync};
use dukkan_core::sync::{OpOutcome, PushRequest, PushResponse, PROTOCOL_VERSION};
use dukkan_core::AddressInput;
use dukkan_device::engine::{self, ServerConfig};
use dukkan_device::{CustomerChanges, Device, SyncState};
use std::time::Duration;
use support::TestApp;

fn token(d: &Device) -> (String, String) {
    d.enrollment().unwrap().expect("enrolled")
}

/// Pushes `ops` with `token` and returns the server's answers.
async fn push_ops(app: &TestApp, token: &str, ops: Vec<dukkan_core::sync::PushOp>) -> PushResponse {
    app.client
        .post(format!("{}/api/v1/sync/push", app.base))
        .bearer_auth(token)
        .json(&PushRequest {
            protocol: PROTOCOL_VERSION,
            ops,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// One push of everything pending (answers not applied); returns the server's answers.
async fn push_once(app: &TestApp, d: &Device) -> PushResponse {
    let (_, token) = token(d);
    let ops = d.next_push_batch(200).unwrap();
    push_ops(app, &token, ops).await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_devices_creating_the_same_phone_offline_converge_on_one_customer() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let a = enrolled_device(&app, "muscat").await;
    let b = enrolled_device(&app, "muscat").await;
    // Both offline: the same person registered at two tills.
    let first = stub(&a.device, "Ahmed", "92123456");
    let second = stub(&b.device, "Ahmed", "+968 9212 3456");
    b.device
        .update_customer(
            second.id,
            &CustomerChanges {
                last_name: Some("Al Said".into()),
                ..Default::default()
            },
        )
        .unwrap();
    b.device
        .add_address(
            second.id,
            &AddressInput {
                area: Some("Ruwi".into()),
                ..Default::default()
            },
        )
        .unwrap();

    sync(&app, &a.device).await;
    let answer = push_once(&app, &b.device).await;
    assert_eq!(
        answer.results[0].outcome,
        OpOutcome::Redirected { to: first.id }
    );
    b.device.apply_push_results(&answer.results).unwrap();
    common::pull_all(&app.client, &app.base, &b.device).await;
    sync(&app, &a.device).await;

    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE active AND phone = '+96892123456'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM customer_merges WHERE reason = 'duplicate-phone'")
            .await,
        1
    );
    for d in [&a.device, &b.device] {
        let hits = d.search("92123456", 10).unwrap();
        assert_eq!(hits.len(), 1, "one active customer on every device");
        let survivor = &hits[0].customer;
        assert_eq!(survivor.id, first.id);
        assert_eq!(
            survivor.last_name.as_deref(),
            Some("Al Said"),
            "blank field filled from the later copy"
        );
        assert_eq!(
            survivor.customer_number.map(|n| n.to_string()).as_deref(),
            Some("CUST-00001")
        );
        assert_eq!(survivor.sync_state, SyncState::Synced);
        let details = d.customer(first.id).unwrap();
        assert_eq!(
            details.addresses.len(),
            1,
            "the address added offline follows the survivor"
        );
        assert_eq!(d.sync_status().unwrap().pending, 0);
    }
    let retired = b.device.customer(second.id).unwrap().customer;
    assert!(!retired.active);
    assert_eq!(retired.merged_into, Some(first.id));
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_pushes_and_lost_answers_apply_every_op_exactly_once() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let d = enrolled_device(&app, "muscat").await;
    for i in 0..5 {
        stub(&d.device, &format!("C{i}"), &format!("9212345{i}"));
    }
    let c0 = d
        .device
        .list_customers(&Default::default())
        .unwrap()
        .items
        .last()
        .unwrap()
        .id;
    d.device
        .update_customer(
            c0,
            &CustomerChanges {
                last_name: Some("X".into()),
                ..Default::default()
            },
        )
        .unwrap();
    // The server commits, but the answers are lost three times over.
    let first = push_once(&app, &d.device).await;
    assert!(
        first
            .results
            .iter()
            .all(|r| r.outcome == OpOutcome::Applied),
        "{first:?}"
    );
    for _ in 0..3 {
        let replay = push_once(&app, &d.device).await;
        assert!(
            replay
                .results
                .iter()
                .all(|r| r.outcome == OpOutcome::Duplicate),
            "{replay:?}"
        );
    }
    d.device
        .apply_push_results(&push_once(&app, &d.device).await.results)
        .unwrap();
    common::pull_all(&app.client, &app.base, &d.device).await;
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 5);
    assert_eq!(
        app.count("SELECT max(customer_number)::bigint FROM customers")
            .await,
        5,
        "no number burnt by a replay"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'update'")
            .await,
        1
    );
    assert_eq!(d.device.sync_status().unwrap().pending, 0);
    assert!(d
        .device
        .list_customers(&Default::default())
        .unwrap()
        .items
        .iter()
        .all(|c| c.customer_number.is_some()));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_op_after_a_gap_is_not_applied_until_the_gap_is_filled() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let d = enrolled_device(&app, "muscat").await;
    stub(&d.device, "A", "92123450");
    stub(&d.device, "B", "92123451");
    let (_, token) = token(&d.device);
    let mut ops = d.device.next_push_batch(10).unwrap();
    let second = ops.split_off(1);
    let answer = push_ops(&app, &token, second).await;
    assert_eq!(
        answer.results[0].outcome,
        OpOutcome::OutOfOrder { expected: 1 }
    );
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 0);
    sync(&app, &d.device).await;
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_op_is_parked_without_blocking_the_ones_after_it_and_can_be_retried() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let d = enrolled_device(&app, "muscat").await;
    let a = stub(&d.device, "A", "92123450");
    let b = stub(&d.device, "B", "92123451");
    sync(&app, &d.device).await;
    // Offline, B takes a phone that the server will already have given to A... by another device.
    let other = enrolled_device(&app, "muscat").await;
    common::pull_all(&app.client, &app.base, &other.device).await;
    other
        .device
        .update_customer(
            a.id,
            &CustomerChanges {
                phone: Some("92999999".into()),
                ..Default::default()
            },
        )
        .unwrap();
    d.device
        .update_customer(
            b.id,
            &CustomerChanges {
                phone: Some("92999999".into()),
                ..Default::default()
            },
        )
        .unwrap();
    d.device
        .update_customer(
            b.id,
            &CustomerChanges {
                last_name: Some("Later".into()),
                ..Default::default()
            },
        )
        .unwrap();
    sync(&app, &other.device).await;
    sync(&app, &d.device).await;
    let parked = d.device.parked_ops().unwrap();
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].error_code, "customer.phone-taken");
    assert_eq!(
        d.device.sync_status().unwrap().pending,
        0,
        "the op after the bad one went through"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM customers WHERE id = '{}' AND last_name = 'Later'",
            b.id
        ))
        .await,
        1
    );
    let seq = parked[0].device_seq;
    // The manager frees the number on the other device, then the cashier retries.
    other
        .device
        .update_customer(
            a.id,
            &CustomerChanges {
                phone: Some("92888888".into()),
                ..Default::default()
            },
        )
        .unwrap();
    sync(&app, &other.device).await;
    d.device.retry_parked(seq).unwrap();
    sync(&app, &d.device).await;
    assert!(d.device.parked_ops().unwrap().is_empty());
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM customers WHERE id = '{}' AND phone = '+96892999999'",
            b.id
        ))
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_token_never_reaches_another_tenant() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    app.tenant("sohar").await;
    let muscat = enrolled_device(&app, "muscat").await;
    let sohar = enrolled_device(&app, "sohar").await;
    let theirs = stub(&sohar.device, "Sohar", "92123456");
    sync(&app, &sohar.device).await;
    // A Muscat device edits the Sohar customer's id: the server must not find it.
    common::pull_all(&app.client, &app.base, &muscat.device).await;
    assert!(
        muscat
            .device
            .list_customers(&Default::default())
            .unwrap()
            .items
            .is_empty(),
        "no foreign customers pulled"
    );
    let forged = dukkan_core::sync::PushOp {
        op_id: dukkan_core::OpId::new(),
        device_seq: 1,
        op: dukkan_core::ops::Op::CustomerUpdated(dukkan_core::ops::CustomerUpdated {
            id: theirs.id,
            last_name: Some(Some("Forged".into())),
            ..Default::default()
        }),
        staff_id: None,
        at: "2026-11-25T10:00:00.000Z".into(),
    };
    let (_, token) = token(&muscat.device);
    let answer = push_ops(&app, &token, vec![forged]).await;
    assert_eq!(
        answer.results[0].outcome,
        OpOutcome::Rejected {
            code: "record.not-found".into()
        }
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM customers WHERE id = '{}' AND active AND last_name IS NULL",
            theirs.id
        ))
        .await,
        1
    );
    // A garbled or missing token is refused outright.
    let resp = app
        .client
        .get(format!("{}/api/v1/sync/pull?since=0", app.base))
        .bearer_auth("dkd_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_created_offline_syncs_and_reaches_another_online_device_within_seconds() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let a = enrolled_device(&app, "muscat").await;
    let b = enrolled_device(&app, "muscat").await;
    let created = stub(&a.device, "Salim", "92123456");
    assert_eq!(a.device.sync_status().unwrap().pending, 1);
    let (url_a, token_a) = token(&a.device);
    let (url_b, token_b) = token(&b.device);
    let engine_a = engine::spawn(a.device.clone(), ServerConfig::new(url_a, token_a)).unwrap();
    let engine_b = engine::spawn(b.device.clone(), ServerConfig::new(url_b, token_b)).unwrap();
    let mut status_a = engine_a.status();
    common::wait_until_synced(&mut status_a, Duration::from_secs(20)).await;
    assert!(a
        .device
        .customer(created.id)
        .unwrap()
        .customer
        .customer_number
        .is_some());
    // B is idle on a long-poll; the new customer must show up without B writing anything.
    let started = std::time::Instant::now();
    loop {
        if !b.device.search("92123456", 5).unwrap().is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "device B never saw the customer"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And a write on B reaches A the same way.
    let from_b = stub(&b.device, "Huda", "92123457");
    let started = std::time::Instant::now();
    while a.device.customer(from_b.id).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "device A never saw B's customer"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine_a.stop().await;
    engine_b.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_engine_reports_offline_keeps_ops_and_syncs_once_the_server_is_reachable() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let d = enrolled_device(&app, "muscat").await;
    let (url, token) = token(&d.device);
    // Point the engine at a port where nothing listens: the till is offline.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let c = stub(&d.device, "Offline", "92123456");
    let offline =
        engine::spawn(d.device.clone(), ServerConfig::new(dead_url, token.clone())).unwrap();
    let mut status = offline.status();
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.last_error.is_some()),
    )
    .await
    .unwrap()
    .unwrap();
    let s = status.borrow().clone();
    assert!(!s.online);
    assert_eq!(s.store.pending, 1);
    assert_eq!(s.last_error.as_deref(), Some("network"));
    offline.stop().await;
    assert!(
        d.device
            .customer(c.id)
            .unwrap()
            .customer
            .customer_number
            .is_none(),
        "pending number while offline"
    );

    let online = engine::spawn(d.device.clone(), ServerConfig::new(url, token)).unwrap();
    let mut status = online.status();
    common::wait_until_synced(&mut status, Duration::from_secs(20)).await;
    assert!(status.borrow().store.last_success.is_some());
    assert_eq!(
        d.device
            .customer(c.id)
            .unwrap()
            .customer
            .customer_number
            .map(|n| n.to_string())
            .as_deref(),
        Some("CUST-00001")
    );
    online.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_re_enrolled_device_keeps_its_pending_ops_and_the_server_applies_them_once() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let d = enrolled_device(&app, "muscat").await;
    stub(&d.device, "A", "92123450");
    sync(&app, &d.device).await;
    stub(&d.device, "B", "92123451");
    assert_eq!(
        d.device.reset_enrollment(false).unwrap_err().code(),
        "sync.unsynced-ops"
    );
    // A new code (e.g. the device was moved to a new till slot) without losing B.
    let code = dukkan_server::devices::create_code(&app.owner, "muscat", None)
        .await
        .unwrap();
    engine::enroll(&d.device, &app.base, "muscat", &code.code, None)
        .await
        .unwrap();
    sync(&app, &d.device).await;
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 2);
    assert_eq!(d.device.sync_status().unwrap().pending, 0);
    // A used code cannot enroll again.
    let err = engine::enroll(&d.device, &app.base, "muscat", &code.code, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "device.enrollment-refused");
    d.device.reset_enrollment(false).unwrap();
    assert!(d.device.enrollment().unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_never_skips_a_change_whose_transaction_commits_late() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("muscat").await;
    let writer = enrolled_device(&app, "muscat").await;
    let reader = enrolled_device(&app, "muscat").await;
    let early = stub(&writer.device, "Early", "92123450");
    sync(&app, &writer.device).await;
    common::pull_all(&app.client, &app.base, &reader.device).await;
    let cursor_before = reader.device.sync_cursor().unwrap();

    // A slow transaction takes the next change number and holds it uncommitted.
    let mut slow = app.owner.get().await.unwrap();
    let tx = slow.transaction().await.unwrap();
    let seq: i64 = tx
        .query_one(
            "UPDATE tenant_counters SET next_change_seq = next_change_seq + 1
             WHERE tenant_id = $1 RETURNING next_change_seq - 1",
            &[&tenant.0],
        )
        .await
        .unwrap()
        .get(0);
    tx.execute(
        "UPDATE customers SET loyalty_points = 70 WHERE tenant_id = $1 AND id = $2",
        &[&tenant.0, &early.id.as_uuid()],
    )
    .await
    .unwrap();
    tx.execute(
        "INSERT INTO change_feed (tenant_id, seq, entity, entity_id) VALUES ($1, $2, 'customer', $3)",
        &[&tenant.0, &seq, &early.id.as_uuid()],
    )
    .await
    .unwrap();
    // Meanwhile another device pushes a new customer: it must wait for the slow one.
    let later = stub(&writer.device, "Later", "92123451");
    let ops = writer.device.next_push_batch(10).unwrap();
    let (_, writer_token) = token(&writer.device);
    let client = app.client.clone();
    let base = app.base.clone();
    let push = tokio::spawn(async move {
        client
            .post(format!("{base}/api/v1/sync/push"))
            .bearer_auth(writer_token)
            .json(&PushRequest {
                protocol: PROTOCOL_VERSION,
                ops,
            })
            .send()
            .await
            .unwrap()
            .json::<PushResponse>()
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !push.is_finished(),
        "a later change cannot commit before the earlier number"
    );
    common::pull_all(&app.client, &app.base, &reader.device).await;
    assert_eq!(
        reader.device.sync_cursor().unwrap(),
        cursor_before,
        "nothing visible, nothing skipped"
    );

    tx.commit().await.unwrap();
    writer
        .device
        .apply_push_results(&push.await.unwrap().results)
        .unwrap();
    common::pull_all(&app.client, &app.base, &reader.device).await;
    assert_eq!(
        reader
            .device
            .customer(early.id)
            .unwrap()
            .customer
            .loyalty_points,
        70,
        "the late commit arrived"
    );
    assert!(reader.device.customer(later.id).is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_that_never_saw_the_survivor_applies_a_merged_customer_before_it() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let a = enrolled_device(&app, "muscat").await;
    let b = enrolled_device(&app, "muscat").await;
    let c = enrolled_device(&app, "muscat").await;
    let first = stub(&a.device, "Ahmed", "92123456");
    let second = stub(&b.device, "Ahmed", "92123456");
    sync(&app, &a.device).await;
    sync(&app, &b.device).await;
    // C knows neither copy. A page carries each customer once, at its latest entry: the
    // survivor's merge entry comes after the merged copy's create, so C meets a customer merged
    // into one it does not have yet.
    common::pull_all(&app.client, &app.base, &c.device).await;
    let retired = c.device.customer(second.id).unwrap().customer;
    assert_eq!(retired.merged_into, Some(first.id));
    assert!(!retired.active);
    let survivor = c.device.customer(first.id).unwrap().customer;
    assert_eq!(
        survivor.customer_number.map(|n| n.to_string()).as_deref(),
        Some("CUST-00001"),
        "the survivor's own snapshot replaced the placeholder"
    );
    let hits = c.device.search("92123456", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].customer.id, first.id);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offline_engine_tries_again_at_once_when_the_cashier_saves_something() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let d = enrolled_device(&app, "muscat").await;
    let (_, token) = d.device.enrollment().unwrap().unwrap();
    let upstream = app.base.trim_start_matches("http://").parse().unwrap();
    let mut gate = common::gate::Gate::new(upstream);
    // After a failed round the engine would wait a full minute before trying again.
    let mut config = ServerConfig::new(gate.url(), token);
    config.retry_min = Duration::from_secs(60);
    config.retry_max = Duration::from_secs(60);
    let engine = engine::spawn(d.device.clone(), config).unwrap();
    let mut status = engine.status();
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.last_error.as_deref() == Some("network")),
    )
    .await
    .unwrap()
    .unwrap();

    // The network is back, and the cashier saves a customer: that save is the cue to try now.
    gate.open().await;
    let c = stub(&d.device, "Ahmed", "92123456");
    // Well before the one-minute backoff runs out.
    common::wait_until_synced(&mut status, Duration::from_secs(10)).await;
    assert!(d
        .device
        .customer(c.id)
        .unwrap()
        .customer
        .customer_number
        .is_some());
    engine.stop().await;
    gate.close().await;
}

/// Waits (at most 20 s) until the running engine has brought `d` a roster for which `done`
/// holds.
async fn wait_for_roster(d: &Device, done: impl Fn(&[dukkan_device::StaffMember]) -> bool) {
    common::poll_until("the roster arrived", Duration::from_secs(20), || {
        done(&d.staff_roster().unwrap())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enrolled_till_learns_its_update_feed_from_the_server_with_its_roster() {
    use dukkan_core::staff::Role;
    let feed = "https://updates.dukkan.om/desk/{{target}}/{{arch}}/{{current_version}}";
    let app = TestApp::spawn_with_state(|s| s.with_update_feed(feed).unwrap()).await;
    app.tenant("muscat").await;
    dukkan_server::staff::add(&app.owner, "muscat", "Aisha", Role::Manager, "246810")
        .await
        .unwrap();
    let d = enrolled_device(&app, "muscat").await;
    assert_eq!(d.device.update_feed().unwrap(), None, "not before it syncs");
    let (url, token) = token(&d.device);
    let online = engine::spawn(d.device.clone(), common::test_engine_config(&url, &token)).unwrap();
    wait_for_roster(&d.device, |r| r.len() == 1).await;
    online.stop().await;
    assert_eq!(
        d.device.update_feed().unwrap(),
        Some(dukkan_device::UpdateFeed {
            url: feed.into(),
            source: dukkan_device::UpdateFeedSource::Server,
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_engine_brings_the_shops_staff_so_a_pin_signs_in_offline_and_deactivation_signs_out() {
    use dukkan_core::staff::Role;
    use dukkan_server::staff;
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let aisha = staff::add(&app.owner, "muscat", "Aisha", Role::Cashier, "2468")
        .await
        .unwrap();
    let d = enrolled_device(&app, "muscat").await;
    let (url, token) = token(&d.device);
    assert!(
        !d.device.staff_session().sign_in_required,
        "open until the roster arrives"
    );
    let online = engine::spawn(d.device.clone(), common::test_engine_config(&url, &token)).unwrap();
    wait_for_roster(&d.device, |r| r.len() == 1).await;
    online.stop().await;

    // Offline now: the PIN is checked on the till.
    assert!(d.device.staff_session().sign_in_required);
    assert_eq!(
        d.device.create_guest().unwrap_err().code(),
        "auth.sign-in-required"
    );
    let me = d.device.sign_in(&aisha.id.to_string(), "2468").unwrap();
    assert_eq!(me.role, Role::Cashier);
    let c = stub(&d.device, "Ahmed", "92123456");

    // Back online: the server records who created the customer, and a deactivation on the
    // server reaches the till and signs her out.
    staff::add(&app.owner, "muscat", "Salim", Role::Manager, "135790")
        .await
        .unwrap();
    staff::deactivate(&app.owner, "muscat", &aisha.id.to_string())
        .await
        .unwrap();
    let online = engine::spawn(d.device.clone(), common::test_engine_config(&url, &token)).unwrap();
    wait_for_roster(&d.device, |r| {
        r.iter().map(|m| m.name.as_str()).collect::<Vec<_>>() == ["Salim"]
    })
    .await;
    let mut status = online.status();
    common::wait_until_synced(&mut status, Duration::from_secs(20)).await;
    online.stop().await;
    assert_eq!(d.device.staff_session().staff, None);
    let creator: Option<uuid::Uuid> = app
        .owner
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT staff_id FROM audit_log WHERE entity_id = $1 AND action = 'create'",
            &[&uuid::Uuid::parse_str(&c.id.to_string()).unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(creator, Some(aisha.id.0));
}

/// Requests the server has answered on `route` (from its Prometheus metrics).
async fn requests_on(app: &TestApp, route: &str) -> u64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("dukkan_http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_online_engine_waits_on_long_polls_instead_of_spinning() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let d = enrolled_device(&app, "muscat").await;
    let (url, token) = token(&d.device);
    let engine = engine::spawn(d.device.clone(), common::test_engine_config(&url, &token)).unwrap();
    let mut status = engine.status();
    tokio::time::timeout(Duration::from_secs(20), status.wait_for(|s| s.online))
        .await
        .unwrap()
        .unwrap();
    let before = requests_on(&app, "/api/v1/sync/pull").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during = requests_on(&app, "/api/v1/sync/pull").await - before;
    engine.stop().await;
    // Long polls of 2 s (test config): about 3 in 5 s, each followed by one short round.
    assert!(during <= 8, "{during} pulls in 5 s while idle");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_online_engine_answered_by_its_long_poll_polls_again_without_a_full_round_per_change() {
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let a = enrolled_device(&app, "muscat").await;
    let b = enrolled_device(&app, "muscat").await;
    let (url, token) = token(&b.device);
    let mut config = common::test_engine_config(&url, &token);
    // No full round falls due during the test.
    config.idle_interval = Duration::from_secs(120);
    let engine = engine::spawn(b.device.clone(), config).unwrap();
    let mut status = engine.status();
    tokio::time::timeout(Duration::from_secs(20), status.wait_for(|s| s.online))
        .await
        .unwrap()
        .unwrap();
    // A write signalled before the engine waited on it (enrollment) makes one more round at
    // start; let it pass.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rosters = requests_on(&app, "/api/v1/sync/staff").await;
    let pulls = requests_on(&app, "/api/v1/sync/pull").await;
    for (k, phone) in ["92123401", "92123402", "92123403", "92123404", "92123405"]
        .into_iter()
        .enumerate()
    {
        let c = stub(&a.device, &format!("Changed{k}"), phone);
        sync(&app, &a.device).await;
        common::poll_until(
            "the change reached the other till",
            Duration::from_secs(10),
            || b.device.customer(c.id).is_ok(),
        )
        .await;
    }
    let roster_checks = requests_on(&app, "/api/v1/sync/staff").await - rosters;
    let pulled = requests_on(&app, "/api/v1/sync/pull").await - pulls;
    engine.stop().await;
    // Before, every long-poll answer was followed by a round: a pull with no wait that found
    // nothing and a roster check, for each change of the shop on each of its tills.
    assert_eq!(roster_checks, 0, "no round per change");
    // The five answered long-polls, plus any 2 s long-poll that ran out meanwhile.
    assert!(pulled <= 5 + 10, "{pulled} pulls for 5 changes");
}

#[tokio::test(flavor = "multi_thread")]
async fn discarding_a_refused_change_brings_the_servers_customer_back_to_the_till() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("muscat").await;
    let d = enrolled_device(&app, "muscat").await;
    let other = enrolled_device(&app, "muscat").await;
    let b = stub(&d.device, "B", "92123451");
    sync(&app, &d.device).await;
    // Another till takes a phone first; this one, not knowing, gives B the same phone.
    stub(&other.device, "Taken", "92999999");
    sync(&app, &other.device).await;
    d.device
        .update_customer(
            b.id,
            &CustomerChanges {
                phone: Some("92999999".into()),
                last_name: Some("Refused".into()),
                ..Default::default()
            },
        )
        .unwrap();
    sync(&app, &d.device).await;
    let parked = d.device.parked_ops().unwrap();
    assert_eq!(parked.len(), 1, "{parked:?}");
    d.device.discard_parked(parked[0].device_seq).unwrap();
    assert_eq!(
        d.device
            .customer(b.id)
            .unwrap()
            .customer
            .last_name
            .as_deref(),
        Some("Refused"),
        "until the next sync the till still shows the refused change"
    );

    let (url, token) = token(&d.device);
    let engine = engine::spawn(d.device.clone(), common::test_engine_config(&url, &token)).unwrap();
    common::poll_until("stale customers refreshed", Duration::from_secs(20), || {
        d.device.stale_customers().unwrap().is_empty()
    })
    .await;
    engine.stop().await;
    let back = d.device.customer(b.id).unwrap().customer;
    assert_eq!(back.phone.as_deref(), Some("+96892123451"));
    assert_eq!(back.last_name, None);
    assert_eq!(back.sync_state, SyncState::Synced);
    let server = common::server_view(&app, tenant.0).await;
    let local = common::device_view(&d.device);
    assert_eq!(
        common::difference(&server, &local),
        None,
        "the till holds the server's customers again"
    );
}

/// The engine sends the next batch while it records the answers of the one before, when every
/// op of that one was taken as sent; an answer that can change later ops (here a redirect) is
/// recorded before the next batch is read. Either way each op is applied once and every answer
/// is recorded.
#[tokio::test(flavor = "multi_thread")]
async fn an_outbox_of_several_batches_with_a_merge_in_the_middle_is_pushed_once_and_fully_recorded()
{
    let app = TestApp::spawn().await;
    app.tenant("muscat").await;
    let a = enrolled_device(&app, "muscat").await;
    let b = enrolled_device(&app, "muscat").await;
    // On the server first: the customer that A's op 300 (in its second batch) duplicates.
    let survivor = stub(&b.device, "Salim", "92999999");
    sync(&app, &b.device).await;
    let n = 2 * dukkan_core::sync::MAX_PUSH_BATCH + 50;
    let inputs: Vec<dukkan_core::StubInput> = (0..n)
        .map(|i| dukkan_core::StubInput {
            first_name: format!("Customer{i}"),
            last_name: None,
            name2: None,
            phone: if i == 299 {
                "92999999".to_owned()
            } else {
                format!("91{i:06}")
            },
        })
        .collect();
    assert_eq!(a.device.import_stubs(&inputs).unwrap(), n);
    let (url, token_a) = token(&a.device);
    let engine_a = engine::spawn(a.device.clone(), ServerConfig::new(url, token_a)).unwrap();
    let mut status = engine_a.status();
    common::wait_until_synced(&mut status, Duration::from_secs(60)).await;
    engine_a.stop().await;
    let status = a.device.sync_status().unwrap();
    assert_eq!((status.pending, status.parked), (0, 0), "{status:?}");
    assert_eq!(
        app.count("SELECT count(*) FROM sync_ops").await,
        i64::try_from(n + 1).unwrap(),
        "every op answered once (B's one and A's)"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE active")
            .await,
        i64::try_from(n).unwrap(),
        "A's duplicate merged into B's customer, no other lost or doubled"
    );
    assert_eq!(app.count("SELECT count(*) FROM customer_merges").await, 1);
    // On A the duplicate is now B's customer, and every customer is synced.
    let found = a.device.search("92999999", 5).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].customer.id, survivor.id);
    // The last op of the last batch, whose answer was recorded after the loop: synced and
    // numbered.
    let last = a.device.search(&format!("91{:06}", n - 1), 5).unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].customer.sync_state, SyncState::Synced);
    assert!(last[0].customer.customer_number.is_some());
}
