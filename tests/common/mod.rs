//! Shared by the sync proofs (tests/sync_faults.rs, tests/sync_convergence.rs) and the sync
//! benchmark (benches/sync.rs): enrolled devices with their own SQLite files, one-shot sync over
//! real HTTP, the fault-injecting proxy, and the two oracles — "every device holds the server's
//! customers" and "every op the devices recorded took effect on the server exactly once".
//!
//! The including crate must also declare the server harness as `mod support`.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod gate;

use crate::support::TestApp;
use dukkan_core::sync::{OpOutcome, PullResponse, PushRequest, PushResponse, PROTOCOL_VERSION};
use dukkan_device::engine::{self, EngineStatus, ServerConfig};
use dukkan_device::Device;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::watch;

/// A device with its own SQLite file in a temp dir.
pub struct TestDevice {
    pub dir: TempDir,
    pub device: Arc<Device>,
}

impl TestDevice {
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("d.sqlite3")
    }

    /// `(server URL, device token)` from enrollment.
    pub fn enrollment(&self) -> (String, String) {
        self.device.enrollment().unwrap().expect("enrolled")
    }
}

/// A new device enrolled with tenant `slug` (enrollment goes straight to the server).
pub async fn enrolled_device(app: &TestApp, slug: &str) -> TestDevice {
    let dir = tempfile::tempdir().unwrap();
    let device = Arc::new(Device::open(dir.path().join("d.sqlite3")).unwrap());
    let code = dukkan_server::devices::create_code(&app.owner, slug, None)
        .await
        .unwrap();
    engine::enroll(&device, &app.base, slug, &code.code, Some("till"))
        .await
        .unwrap();
    TestDevice { dir, device }
}

/// Gives shop `slug` a new manager (PIN [`crate::support::PIN`]), brings the shop's roster to
/// `d` as the engine does, and signs the manager in: a till used as a shop uses it, whose ops
/// name who made them (the server refuses a manager's change made by nobody). Returns the
/// manager's staff id.
pub async fn sign_in_manager(app: &TestApp, slug: &str, d: &Device) -> String {
    let m = dukkan_server::staff::add(
        &app.owner,
        slug,
        "Maryam",
        dukkan_server::staff::Role::Manager,
        crate::support::PIN,
    )
    .await
    .unwrap();
    bring_roster(app, d).await;
    let id = m.id.0.to_string();
    d.sign_in(&id, crate::support::PIN).unwrap();
    id
}

/// Brings the shop's roster (staff, time zone, loyalty rule) to `d` as the engine does.
pub async fn bring_roster(app: &TestApp, d: &Device) {
    let (_, token) = d.enrollment().unwrap().expect("enrolled");
    let roster: dukkan_core::staff::Roster = app
        .client
        .get(format!("{}/api/v1/sync/staff", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    d.replace_roster(&roster, None).unwrap();
}

/// Copies a till's store as a file copy of an idle app would (database, WAL and index files),
/// with its key kept for the copy as for the original (a backup restored by the same OS user).
/// Checkpoint the till first so the copy holds everything it committed.
pub fn copy_store(from: &std::path::Path, to_dir: &std::path::Path) -> PathBuf {
    let to = to_dir.join("d.sqlite3");
    dukkan_device::store_key::copy_key(from, &to).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let src = format!("{}{suffix}", from.display());
        if std::path::Path::new(&src).exists() {
            std::fs::copy(&src, format!("{}{suffix}", to.display())).unwrap();
        }
    }
    to
}

/// Engine settings for tests: the device's token, the given server URL (e.g. a proxy), short
/// timeouts so a swallowed request costs seconds, and a short long-poll so idle engines turn
/// over often.
/// A new stub on `d` (panics if the phone is taken).
pub fn stub(d: &Device, first: &str, phone: &str) -> dukkan_device::Customer {
    match d
        .create_stub(&dukkan_core::StubInput {
            first_name: first.into(),
            phone: phone.into(),
            ..Default::default()
        })
        .unwrap()
    {
        dukkan_device::StubOutcome::Created(c) => c,
        dukkan_device::StubOutcome::Existing(c) => panic!("phone already used by {}", c.id),
    }
}

pub fn test_engine_config(url: &str, token: &str) -> ServerConfig {
    let mut config = ServerConfig::new(url, token);
    config.request_timeout = Duration::from_secs(5);
    config.long_poll = Duration::from_secs(2);
    config.idle_interval = Duration::from_secs(3);
    config
}

/// Pushes what is pending (one batch) and returns the server's answers without recording
/// them on the till: the server committed, the answer was lost on the way back.
pub async fn push_unanswered(app: &TestApp, d: &Device) -> PushResponse {
    let (_, token) = d.enrollment().unwrap().expect("enrolled");
    app.client
        .post(format!("{}/api/v1/sync/push", app.base))
        .bearer_auth(&token)
        .json(&PushRequest {
            protocol: PROTOCOL_VERSION,
            ops: d.next_push_batch(200).unwrap(),
        })
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Pushes everything pending in batches of 200 (as the engine does) and records the answers.
pub async fn push_all(client: &reqwest::Client, base: &str, d: &Device) {
    let (_, token) = d.enrollment().unwrap().expect("enrolled");
    loop {
        let ops = d.next_push_batch(200).unwrap();
        if ops.is_empty() {
            return;
        }
        let answer: PushResponse = client
            .post(format!("{base}/api/v1/sync/push"))
            .bearer_auth(&token)
            .json(&PushRequest {
                protocol: PROTOCOL_VERSION,
                ops,
            })
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        d.apply_push_results(&answer.results).unwrap();
        if answer
            .results
            .iter()
            .all(|r| matches!(r.outcome, OpOutcome::OutOfOrder { .. }))
        {
            panic!("the server refused the whole batch as out of order: {answer:?}");
        }
    }
}

/// Pulls pages until the server has nothing more.
pub async fn pull_all(client: &reqwest::Client, base: &str, d: &Device) {
    let (_, token) = d.enrollment().unwrap().expect("enrolled");
    loop {
        let page: PullResponse = client
            .get(format!(
                "{base}/api/v1/sync/pull?since={}",
                d.sync_cursor().unwrap()
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        d.apply_pull(&page).unwrap();
        if !page.more {
            return;
        }
    }
}

/// One sync round as the engine runs it: push everything, pull everything, then read again the
/// customers the till marked stale (a discarded or refused change of theirs).
pub async fn sync(app: &TestApp, d: &Device) {
    push_all(&app.client, &app.base, d).await;
    pull_all(&app.client, &app.base, d).await;
    refetch_stale(&app.client, &app.base, d).await;
}

/// Reads each stale customer again from the server (`None` when it answers 404), as the
/// engine does at the end of a round.
pub async fn refetch_stale(client: &reqwest::Client, base: &str, d: &Device) {
    let (_, token) = d.enrollment().unwrap().expect("enrolled");
    for id in d.stale_customers().unwrap() {
        let resp = client
            .get(format!("{base}/api/v1/sync/customers/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let snapshot: Option<dukkan_core::sync::CustomerSnapshot> =
            if resp.status() == reqwest::StatusCode::NOT_FOUND {
                None
            } else {
                Some(resp.error_for_status().unwrap().json().await.unwrap())
            };
        d.apply_refetched(id, snapshot.as_ref()).unwrap();
    }
}

/// An address as both sides can show it.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressView {
    pub address_type: String,
    pub label: Option<String>,
    pub street: Option<String>,
    pub area: Option<String>,
    pub city: Option<String>,
    pub delivery_notes: Option<String>,
    pub gps: Option<(f64, f64)>,
}

/// A customer as both sides can show it (what a cashier sees, not bookkeeping).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerView {
    pub number: Option<u32>,
    pub kind: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name2: Option<String>,
    pub phone: Option<String>,
    pub active: bool,
    pub merged_into: Option<String>,
    pub default_address: Option<String>,
    pub addresses: BTreeMap<String, AddressView>,
}

/// Every customer of `tenant`, read from Postgres behind the API's back.
pub async fn server_view(app: &TestApp, tenant: uuid::Uuid) -> BTreeMap<String, CustomerView> {
    let client = app.owner.get().await.unwrap();
    let mut out = BTreeMap::new();
    for r in client
        .query(
            "SELECT id::text, customer_number, kind, first_name, last_name, name2, phone, active,
                    merged_into::text
             FROM customers WHERE tenant_id = $1",
            &[&tenant],
        )
        .await
        .unwrap()
    {
        out.insert(
            r.get::<_, String>(0),
            CustomerView {
                number: r.get::<_, Option<i32>>(1).map(|n| n as u32),
                kind: r.get(2),
                first_name: r.get(3),
                last_name: r.get(4),
                name2: r.get(5),
                phone: r.get(6),
                active: r.get(7),
                merged_into: r.get(8),
                default_address: None,
                addresses: BTreeMap::new(),
            },
        );
    }
    for r in client
        .query(
            "SELECT id::text, customer_id::text, address_type, label, street, area, city,
                    delivery_notes, latitude, longitude, is_default
             FROM addresses WHERE tenant_id = $1",
            &[&tenant],
        )
        .await
        .unwrap()
    {
        let id: String = r.get(0);
        let customer: String = r.get(1);
        let c = out.get_mut(&customer).expect("address of a known customer");
        if r.get::<_, bool>(10) {
            c.default_address = Some(id.clone());
        }
        let gps = r.get::<_, Option<f64>>(8).zip(r.get::<_, Option<f64>>(9));
        c.addresses.insert(
            id,
            AddressView {
                address_type: r.get(2),
                label: r.get(3),
                street: r.get(4),
                area: r.get(5),
                city: r.get(6),
                delivery_notes: r.get(7),
                gps,
            },
        );
    }
    out
}

/// Every customer the device lists with `active` (`None`: active or not), walk-in guests
/// included (the list leaves them out unless asked for them), page after page.
pub fn every_customer(d: &Device, active: Option<bool>) -> Vec<dukkan_device::Customer> {
    let mut out = Vec::new();
    for kind in [None, Some(dukkan_core::CustomerKind::Guest)] {
        let mut query = dukkan_device::ListQuery {
            kind,
            active,
            limit: Some(500),
            ..Default::default()
        };
        loop {
            let page = d.list_customers(&query).unwrap();
            out.extend(page.items);
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
    }
    out
}

/// Every customer the device holds (active or not), with its addresses.
pub fn device_view(d: &Device) -> BTreeMap<String, CustomerView> {
    let mut out = BTreeMap::new();
    {
        for c in &every_customer(d, None) {
            let details = d.customer(c.id).unwrap();
            let t = |f: &Option<dukkan_core::FreeText>| f.as_ref().map(|x| x.as_str().to_owned());
            let addresses = details
                .addresses
                .iter()
                .map(|a| {
                    (
                        a.id.to_string(),
                        AddressView {
                            address_type: a.address.address_type.as_str().to_owned(),
                            label: t(&a.address.label),
                            street: t(&a.address.street),
                            area: t(&a.address.area),
                            city: t(&a.address.city),
                            delivery_notes: t(&a.address.delivery_notes),
                            gps: a.address.gps.map(|g| (g.latitude(), g.longitude())),
                        },
                    )
                })
                .collect();
            out.insert(
                c.id.to_string(),
                CustomerView {
                    number: c.customer_number.map(|n| n.value()),
                    kind: c.kind.as_str().to_owned(),
                    first_name: c.first_name.clone(),
                    last_name: c.last_name.clone(),
                    name2: c.name2.clone(),
                    phone: c.phone.clone(),
                    active: c.active,
                    merged_into: c.merged_into.map(|m| m.to_string()),
                    default_address: c.default_address_id.clone(),
                    addresses,
                },
            );
        }
    }
    out
}

/// The first difference between the server's customers and a device's, if any.
pub fn difference(
    server: &BTreeMap<String, CustomerView>,
    device: &BTreeMap<String, CustomerView>,
) -> Option<String> {
    for (id, s) in server {
        match device.get(id) {
            None => return Some(format!("customer {id} is on the server but not the device")),
            Some(d) if d != s => {
                return Some(format!(
                    "customer {id} differs:\n  server {s:?}\n  device {d:?}"
                ))
            }
            Some(_) => {}
        }
    }
    device
        .keys()
        .find(|id| !server.contains_key(*id))
        .map(|id| format!("customer {id} is on the device but not the server"))
}

/// The highest change number the tenant's feed has handed out.
pub async fn last_change_seq(app: &TestApp, tenant: uuid::Uuid) -> i64 {
    let client = app.owner.get().await.unwrap();
    client
        .query_one(
            "SELECT next_change_seq - 1 FROM tenant_counters WHERE tenant_id = $1",
            &[&tenant],
        )
        .await
        .unwrap()
        .get(0)
}

/// Ops a device recorded, by kind, from its own audit log (written in the same SQLite
/// transaction as each outbox op, and never pruned, unlike the outbox).
pub fn recorded_ops(d: &Device) -> BTreeMap<String, i64> {
    let conn = dukkan_device::store::connect_existing(d.path()).unwrap();
    let mut stmt = conn
        .prepare("SELECT action, count(*) FROM audit_log GROUP BY action")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

/// Checks, against Postgres, that every op the devices recorded took effect exactly once:
/// - each device's ops each have one `sync_ops` row, and its counter stands at its last op;
/// - the server's audit holds one entry per recorded op of each kind, less the ones the
///   server rejected (which the devices hold parked), and one merge entry per redirect;
/// - customer numbers are 1..=n without gaps or repeats (walk-in guests without an order have none).
///
/// Call when every device has pushed everything (no pending ops).
pub async fn assert_every_op_applied_exactly_once(
    app: &TestApp,
    tenant: uuid::Uuid,
    devices: &[&Device],
) {
    let client = app.owner.get().await.unwrap();
    let mut expected: BTreeMap<&str, i64> = BTreeMap::new();
    let mut total_ops = 0;
    let mut parked_total = 0;
    for d in devices {
        assert_eq!(
            d.pending_ops().unwrap(),
            0,
            "call once everything is pushed"
        );
        let ops = recorded_ops(d);
        let n: i64 = ops.values().sum();
        total_ops += n;
        let parked = d.parked_ops().unwrap();
        parked_total += parked.len() as i64;
        for (kind, count) in &ops {
            let parked_of_kind = parked.iter().filter(|p| &p.kind == kind).count() as i64;
            let action = match kind.as_str() {
                "customer_created" => "create",
                "customer_updated" => "update",
                "customer_deactivated" => "deactivate",
                "customer_reactivated" => "reactivate",
                "address_added" | "address_updated" | "address_deleted" | "default_address_set" => {
                    "address"
                }
                "order_recorded" => "order",
                "points_adjusted" => "points",
                "customer_merged" => "merge-source",
                "merge_undone" => "merge-undo-source",
                other => panic!("op kind {other} not covered by this check"),
            };
            *expected.entry(action).or_default() += count - parked_of_kind;
        }
        assert_eq!(
            d.last_acked_seq().unwrap(),
            n,
            "the device numbered one op per audit entry and all were answered"
        );
    }
    let count = |sql: &'static str| {
        let client = &client;
        async move {
            client
                .query_one(sql, &[&tenant])
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    assert_eq!(
        count("SELECT count(*) FROM sync_ops WHERE tenant_id = $1").await,
        total_ops,
        "one sync_ops row per op the devices recorded"
    );
    assert_eq!(
        count("SELECT COALESCE(sum(last_applied_seq), 0)::bigint FROM device_sync_state WHERE tenant_id = $1")
            .await,
        total_ops,
        "every device's counter stands at its last op"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM sync_ops WHERE tenant_id = $1 AND outcome->>'result' = 'rejected'"
        )
        .await,
        parked_total,
        "every rejection is parked on its device"
    );
    for (action, n) in &expected {
        let got: i64 = client
            .query_one(
                "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = $2",
                &[&tenant, action],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(got, *n, "server audit entries of action {action}");
    }
    let merges = count("SELECT count(*) FROM customer_merges WHERE tenant_id = $1").await;
    let redirected = count(
        "SELECT count(*) FROM sync_ops WHERE tenant_id = $1 AND outcome->>'result' = 'redirected'",
    )
    .await;
    assert_eq!(
        merges,
        redirected + expected.get("merge-source").copied().unwrap_or(0),
        "one merge per redirected create and per merge a manager made at a till"
    );
    let merges = redirected;
    assert_eq!(
        count("SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'merge'").await,
        merges
    );
    let row = client
        .query_one(
            "SELECT count(customer_number), count(DISTINCT customer_number),
                    COALESCE(min(customer_number), 1)::bigint, COALESCE(max(customer_number), 0)::bigint
             FROM customers WHERE tenant_id = $1",
            &[&tenant],
        )
        .await
        .unwrap();
    let (n, distinct, min, max): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        (distinct, min, max),
        (n, 1, n),
        "customer numbers are 1..=n, gapless"
    );
}

/// What a cashier or manager does on a device, with targets given as indexes into the device's
/// current lists (taken modulo their length), so any generated sequence is meaningful.
#[derive(Debug, Clone)]
pub enum Action {
    /// A stub with a phone of its own (`shared = None`) or one of a few phones that every device
    /// may create offline (`Some(k)`): the duplicate-phone merge case.
    CreateStub {
        shared: Option<u8>,
        name: u8,
    },
    CreateGuest,
    Edit {
        target: u16,
        field: EditField,
        value: u8,
    },
    AddAddress {
        target: u16,
        area: u8,
    },
    UpdateAddress {
        target: u16,
        area: u8,
    },
    DeleteAddress {
        target: u16,
    },
    SetDefaultAddress {
        target: u16,
    },
    Deactivate {
        target: u16,
    },
    /// A manager brings back a deactivated (not merged) customer.
    Reactivate {
        target: u16,
    },
    /// A manager merges one active customer into another.
    Merge {
        target: u16,
        keep: u16,
    },
    /// A manager undoes one of the merges this device knows (its own).
    UndoMerge {
        target: u16,
    },
}

#[derive(Debug, Clone, Copy)]
pub enum EditField {
    FirstName,
    LastName,
    ClearLastName,
    Name2,
    /// A phone nobody else uses (a phone taken elsewhere is a parked op, tested in tests/sync.rs).
    Phone,
}

pub const SHARED_PHONES: [&str; 3] = ["92000001", "92000002", "92000003"];
const FIRST: [&str; 6] = ["Ahmed", "Fatma", "Salim", "Maryam", "Khalid", "Aisha"];
const LAST: [&str; 4] = ["Al Balushi", "Al Harthy", "Al Said", "Al Rawahi"];
const NAME2: [&str; 4] = [
    "أحمد البلوشي",
    "فاطمة الحارثي",
    "سالم السعيدي",
    "مريم الرواحي",
];
const AREAS: [&str; 5] = ["Ruwi", "Qurum", "Seeb", "Al Khuwair", "Bawshar"];

/// Makes unique phone numbers for one device (`slot` < 10 keeps devices apart).
#[derive(Debug)]
pub struct Phones {
    slot: u32,
    next: u32,
}

impl Phones {
    pub fn new(slot: u32) -> Self {
        assert!(slot < 10);
        Phones { slot, next: 0 }
    }

    pub fn fresh(&mut self) -> String {
        self.next += 1;
        assert!(self.next < 100_000);
        format!("9{}{}{:05}", 3 + self.slot / 5, self.slot % 5, self.next)
    }
}

/// Errors an action may meet because another device changed things first (the target was
/// deactivated or merged and the device pulled that before acting). Any other error fails.
fn tolerated(e: &dukkan_device::DeviceError) -> bool {
    matches!(
        e.code(),
        "customer.inactive"
            | "customer.merged"
            | "customer.not-found"
            | "address.not-found"
            // An undo the rules refuse here (the survivor changed, the phone was taken).
            | "merge.undo-unsafe"
            | "customer.phone-taken"
    )
}

/// Does `action` on `d`. Returns whether the device recorded an op (an action with no target,
/// or a stub whose phone the device already knows, records nothing).
pub fn perform(d: &Device, phones: &mut Phones, action: &Action) -> bool {
    use dukkan_core::{AddressInput, StubInput};
    use dukkan_device::{CustomerChanges, StubOutcome};
    let active = || every_customer(d, Some(true));
    let pick = |target: u16| {
        let items = active();
        (!items.is_empty()).then(|| items[target as usize % items.len()].clone())
    };
    let pick_address = |target: u16| {
        let with: Vec<_> = active()
            .into_iter()
            .filter(|c| c.default_address_id.is_some())
            .collect();
        if with.is_empty() {
            return None;
        }
        let c = &with[target as usize % with.len()];
        let addresses = d.customer(c.id).unwrap().addresses;
        (!addresses.is_empty()).then(|| addresses[target as usize / 7 % addresses.len()].id)
    };
    let address = |area: u8| AddressInput {
        label: Some(format!("L{area}")),
        area: Some(AREAS[area as usize % AREAS.len()].into()),
        street: Some(format!("Way {}", 100 + u32::from(area))),
        delivery_notes: area.is_multiple_of(3).then(|| "Ring twice".to_owned()),
        latitude: area
            .is_multiple_of(2)
            .then_some(23.5 + f64::from(area) / 100.0),
        longitude: area.is_multiple_of(2).then_some(58.4),
        ..Default::default()
    };
    let result = match action {
        Action::CreateStub { shared, name } => {
            let phone = match shared {
                Some(k) => SHARED_PHONES[*k as usize % SHARED_PHONES.len()].to_owned(),
                None => phones.fresh(),
            };
            d.create_stub(&StubInput {
                first_name: FIRST[*name as usize % FIRST.len()].into(),
                phone,
                ..Default::default()
            })
            .map(|o| matches!(o, StubOutcome::Created(_)))
        }
        Action::CreateGuest => d.create_guest().map(|_| true),
        Action::Edit {
            target,
            field,
            value,
        } => match pick(*target).filter(|c| c.kind != dukkan_core::CustomerKind::Guest) {
            None => Ok(false),
            Some(c) => {
                let v = *value as usize;
                let changes = match field {
                    EditField::FirstName => CustomerChanges {
                        first_name: Some(FIRST[v % FIRST.len()].into()),
                        ..Default::default()
                    },
                    EditField::LastName => CustomerChanges {
                        last_name: Some(LAST[v % LAST.len()].into()),
                        ..Default::default()
                    },
                    EditField::ClearLastName => CustomerChanges {
                        last_name: Some(String::new()),
                        ..Default::default()
                    },
                    EditField::Name2 => CustomerChanges {
                        name2: Some(NAME2[v % NAME2.len()].into()),
                        ..Default::default()
                    },
                    EditField::Phone => CustomerChanges {
                        phone: Some(phones.fresh()),
                        ..Default::default()
                    },
                };
                d.update_customer(c.id, &changes).map(|_| true)
            }
        },
        Action::AddAddress { target, area } => match pick(*target) {
            None => Ok(false),
            Some(c) => d.add_address(c.id, &address(*area)).map(|_| true),
        },
        Action::UpdateAddress { target, area } => match pick_address(*target) {
            None => Ok(false),
            Some(a) => d.update_address(a, &address(*area)).map(|_| true),
        },
        Action::DeleteAddress { target } => match pick_address(*target) {
            None => Ok(false),
            Some(a) => d.delete_address(a).map(|_| true),
        },
        Action::SetDefaultAddress { target } => match pick_address(*target) {
            None => Ok(false),
            Some(a) => d.set_default_address(a).map(|_| true),
        },
        Action::Deactivate { target } => match pick(*target) {
            None => Ok(false),
            Some(c) => d.deactivate_customer(c.id).map(|_| true),
        },
        Action::Reactivate { target } => {
            let inactive: Vec<_> = every_customer(d, Some(false))
                .into_iter()
                .filter(|c| c.merged_into.is_none())
                // A phone every till may create offline could be another customer's by the
                // time the server sees this: the server would refuse it (as it should), and
                // a refused op waits for a person, which these runs have none of.
                .filter(|c| {
                    !SHARED_PHONES.iter().any(|p| {
                        dukkan_core::Phone::parse(p)
                            .ok()
                            .map(|p| p.e164().to_owned())
                            == c.phone
                    })
                })
                .collect();
            match inactive.get(*target as usize % inactive.len().max(1)) {
                None => Ok(false),
                Some(c) => d.reactivate_customer(c.id).map(|_| true),
            }
        }
        Action::Merge { target, keep } => {
            let items = active();
            if items.len() < 2 {
                Ok(false)
            } else {
                let source = &items[*target as usize % items.len()];
                let others: Vec<_> = items.iter().filter(|c| c.id != source.id).collect();
                let keep = others[*keep as usize % others.len()];
                d.merge_customers(source.id, keep.id, "Same person")
                    .map(|_| true)
            }
        }
        Action::UndoMerge { target } => {
            let mut undoable: Vec<_> = every_customer(d, None)
                .iter()
                .flat_map(|c| d.merges_of(c.id).unwrap())
                .filter(|m| m.undoable)
                .map(|m| m.id)
                .collect();
            undoable.sort();
            undoable.dedup();
            match undoable.get(*target as usize % undoable.len().max(1)) {
                None => Ok(false),
                Some(id) => d.undo_merge(*id).map(|_| true),
            }
        }
    };
    match result {
        Ok(recorded) => recorded,
        Err(e) if tolerated(&e) => false,
        Err(e) => panic!("{action:?} failed on the device: {e:?}"),
    }
}

/// A random action from a seeded generator, weighted like a busy counter: mostly creates and
/// edits, some address work, few deactivations.
pub fn random_action(rng: &mut fault_proxy::SplitMix64) -> Action {
    let target = rng.below(1 << 16) as u16;
    let small = rng.below(256) as u8;
    match rng.below(20) {
        0..=4 => Action::CreateStub {
            shared: None,
            name: small,
        },
        5 => Action::CreateStub {
            shared: Some(small % 3),
            name: small,
        },
        6 => Action::CreateGuest,
        7..=10 => Action::Edit {
            target,
            field: [
                EditField::FirstName,
                EditField::LastName,
                EditField::ClearLastName,
                EditField::Name2,
                EditField::Phone,
            ][small as usize % 5],
            value: small,
        },
        11..=13 => Action::AddAddress {
            target,
            area: small,
        },
        14 | 15 => Action::UpdateAddress {
            target,
            area: small,
        },
        16 => Action::DeleteAddress { target },
        17 => Action::SetDefaultAddress { target },
        18 => Action::Deactivate { target },
        _ => Action::Reactivate { target },
    }
}

/// Waits until the running engine reports itself online with nothing left to push, or panics
/// after `within`.
pub async fn wait_until_synced(status: &mut watch::Receiver<EngineStatus>, within: Duration) {
    tokio::time::timeout(
        within,
        status.wait_for(|s| s.online && s.store.pending == 0),
    )
    .await
    .unwrap_or_else(|_| panic!("not online with nothing pending after {within:?}"))
    .expect("the engine stopped");
}

/// Checks `done` every 100 ms until it holds; panics with `what` after `within`.
pub async fn poll_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not so after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
