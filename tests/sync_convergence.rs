//! Property: whatever three devices do — creates (including the same phone on several devices),
//! edits, address add/edit/delete/default, deactivations — while being cut off and reconnected
//! at random, once everyone is back online and has synced until quiet, every device holds
//! exactly the server's customers (ids, numbers, names, phones, kinds, active, merges,
//! addresses and default address), and every op took effect on the server exactly once.
//!
//! Real parts: each device its own SQLite file, the real server on 127.0.0.1:0, a fresh
//! Postgres database per case, sync over HTTP in the engine's order (push, then pull).
//!
//! `PROPTEST_CASES` sets the number of cases (6 by default, to keep the suite fast), e.g.
//! `PROPTEST_CASES=200 cargo test -p dukkan --test sync_convergence`.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "common/mod.rs"]
mod common;

use common::{
    assert_every_op_applied_exactly_once, device_view, difference, enrolled_device,
    last_change_seq, perform, server_view, sync, Action, EditField, Phones, TestDevice,
};
use dukkan_device::Device;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::sync::Arc;
use support::TestApp;

const DEVICES: usize = 3;

#[derive(Debug, Clone)]
enum Step {
    /// A person works on a device (online or not).
    Act(usize, Action),
    /// The device's engine runs a round — if the device is online.
    Sync(usize),
    /// The device loses or regains the network.
    SetOnline(usize, bool),
}

fn action() -> impl Strategy<Value = Action> {
    let field = prop_oneof![
        Just(EditField::FirstName),
        Just(EditField::LastName),
        Just(EditField::ClearLastName),
        Just(EditField::Name2),
        Just(EditField::Phone),
    ];
    prop_oneof![
        4 => any::<u8>().prop_map(|name| Action::CreateStub { shared: None, name }),
        2 => (0u8..3, any::<u8>()).prop_map(|(k, name)| Action::CreateStub { shared: Some(k), name }),
        1 => Just(Action::CreateGuest),
        4 => (any::<u16>(), field, any::<u8>())
            .prop_map(|(target, field, value)| Action::Edit { target, field, value }),
        3 => (any::<u16>(), any::<u8>()).prop_map(|(target, area)| Action::AddAddress { target, area }),
        2 => (any::<u16>(), any::<u8>())
            .prop_map(|(target, area)| Action::UpdateAddress { target, area }),
        1 => any::<u16>().prop_map(|target| Action::DeleteAddress { target }),
        1 => any::<u16>().prop_map(|target| Action::SetDefaultAddress { target }),
        1 => any::<u16>().prop_map(|target| Action::Deactivate { target }),
        1 => any::<u16>().prop_map(|target| Action::Reactivate { target }),
        1 => (any::<u16>(), any::<u16>()).prop_map(|(target, keep)| Action::Merge { target, keep }),
        1 => any::<u16>().prop_map(|target| Action::UndoMerge { target }),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        6 => (0..DEVICES, action()).prop_map(|(d, a)| Step::Act(d, a)),
        3 => (0..DEVICES).prop_map(Step::Sync),
        2 => (0..DEVICES, any::<bool>()).prop_map(|(d, on)| Step::SetOnline(d, on)),
    ];
    prop::collection::vec(step, 10..60)
}

struct World {
    app: Arc<TestApp>,
    tenant: uuid::Uuid,
    devices: Vec<TestDevice>,
}

/// Runs `steps`, heals (everyone online, sync rounds until quiet) and returns the world.
/// `sabotage` drops the newest unsent op of device 0 after that step — the kind of bug the
/// property exists to catch.
async fn run(steps: &[Step], sabotage: Option<usize>) -> World {
    let app = Arc::new(TestApp::spawn().await);
    let tenant = app.tenant("muscat").await.0;
    let mut devices = Vec::new();
    for _ in 0..DEVICES {
        let t = enrolled_device(&app, "muscat").await;
        common::sign_in_manager(&app, "muscat", &t.device).await;
        devices.push(t);
    }
    let mut phones: Vec<Phones> = (0..DEVICES as u32).map(Phones::new).collect();
    let mut online = [true; DEVICES];
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Act(d, action) => {
                perform(&devices[*d].device, &mut phones[*d], action);
            }
            Step::Sync(d) if online[*d] => sync(&app, &devices[*d].device).await,
            Step::Sync(_) => {}
            Step::SetOnline(d, on) => online[*d] = *on,
        }
        if sabotage == Some(i) {
            let conn = dukkan_device::store::connect_existing(&devices[0].path()).unwrap();
            conn.execute(
                "DELETE FROM outbox WHERE device_seq = (SELECT max(device_seq) FROM outbox WHERE state = 'pending')",
                [],
            )
            .unwrap();
        }
    }
    // Heal: everyone online; rounds until nothing is pending and every cursor is at the end.
    for _ in 0..5 {
        for t in &devices {
            sync(&app, &t.device).await;
        }
        let last = last_change_seq(&app, tenant).await;
        if devices.iter().all(|t| {
            let s = t.device.sync_status().unwrap();
            s.pending == 0 && s.cursor == last
        }) {
            break;
        }
    }
    World {
        app,
        tenant,
        devices,
    }
}

/// Both oracles; `Err` describes the first thing that does not hold.
async fn check(world: &World) -> Result<(), String> {
    let server = server_view(&world.app, world.tenant).await;
    for (i, t) in world.devices.iter().enumerate() {
        if let Some(diff) = difference(&server, &device_view(&t.device)) {
            return Err(format!("device {i}: {diff}"));
        }
    }
    // The exactly-once oracle asserts; run it as a task so a failure comes back as a value.
    let app = world.app.clone();
    let tenant = world.tenant;
    let devices: Vec<Arc<Device>> = world.devices.iter().map(|t| t.device.clone()).collect();
    tokio::spawn(async move {
        let refs: Vec<&Device> = devices.iter().map(|d| &**d).collect();
        assert_every_op_applied_exactly_once(&app, tenant, &refs).await;
    })
    .await
    .map_err(|e| format!("exactly-once check failed: {e}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn every_device_holds_the_servers_customers_after_random_work_partitions_and_reconnects() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(6);
    let rt = runtime();
    let mut runner = TestRunner::new(Config {
        cases,
        // Each case builds a database and three stores: shrink, but not for ever.
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&steps(), |steps| {
        let outcome = rt.block_on(async {
            let world = run(&steps, None).await;
            check(&world).await
        });
        match outcome {
            Ok(()) => Ok(()),
            Err(e) => Err(TestCaseError::fail(e)),
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The property can fail: drop one op that a device recorded (as a buggy outbox would) and
/// the oracles notice, whichever way the rest of the run goes.
#[test]
fn the_oracles_notice_an_op_that_never_reached_the_server() {
    let rt = runtime();
    let steps = vec![
        Step::Act(
            0,
            Action::CreateStub {
                shared: None,
                name: 1,
            },
        ),
        Step::Sync(0),
        Step::SetOnline(0, false),
        Step::Act(
            0,
            Action::Edit {
                target: 0,
                field: EditField::LastName,
                value: 2,
            },
        ),
        Step::Act(
            1,
            Action::CreateStub {
                shared: None,
                name: 3,
            },
        ),
        Step::Sync(1),
    ];
    rt.block_on(async {
        let honest = run(&steps, None).await;
        assert_eq!(check(&honest).await, Ok(()));
        let sabotaged = run(&steps, Some(3)).await;
        let found = check(&sabotaged).await;
        assert!(found.is_err(), "a dropped op went unnoticed");
    });
}
