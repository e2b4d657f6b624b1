//! Staff sign-in at the till: the server's roster, PINs checked offline, roles per use case.

#![allow(clippy::unwrap_used)]

mod common;

use common::{device, member, pin_hash, signed_in, stub};
use dukkan_core::i18n::{Locale, Localizer};
use dukkan_core::staff::{Role, Roster, RosterMember};
use dukkan_core::{AddressInput, StubInput};
use dukkan_device::{CustomerChanges, Device, DeviceError, ListQuery};

fn roster(members: &[RosterMember]) -> Roster {
    Roster {
        staff: members.to_vec(),
        ..Default::default()
    }
}

fn rows(d: &Device, sql: &str) -> i64 {
    dukkan_device::store::connect_existing(d.path())
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn assert_localised(e: &DeviceError) {
    let msg = e.message();
    for locale in Locale::ALL {
        assert!(
            Localizer::global().has(locale, &msg.id),
            "{} has no {locale:?} text",
            msg.id
        );
    }
}

#[test]
fn a_till_never_enrolled_does_nothing_until_its_owner_sets_a_pin_and_then_asks_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite3");
    let d = Device::open(&path).unwrap();
    let session = d.staff_session();
    assert!(session.owner_pin_required && !session.sign_in_required);
    for refused in [
        d.create_guest().map(drop).unwrap_err(),
        d.search("a", 10).map(drop).unwrap_err(),
        d.list_customers(&ListQuery::default())
            .map(drop)
            .unwrap_err(),
        d.set_store_location("23.5", "58.3").map(drop).unwrap_err(),
    ] {
        assert_eq!(refused.code(), "auth.owner-pin-required");
    }
    assert_eq!(
        rows(&d, "SELECT count(*) FROM customers"),
        0,
        "nothing was written"
    );

    // The real cost: an argon2id verifier like the server's (64 MiB, 3 passes).
    let owner = d.set_owner_pin("Huda Al Balushi", "١٣٥٧٩٠").unwrap();
    assert_eq!(owner.role, Role::Admin);
    assert_eq!(d.staff_session().staff.as_ref(), Some(&owner), "signed in");
    stub(&d, "Ahmed", "92123456");
    let hash: String = dukkan_device::store::connect_existing(&path)
        .unwrap()
        .query_row("SELECT pin_hash FROM staff", [], |r| r.get(0))
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains("135790"));
    assert_eq!(
        d.set_owner_pin("Someone", "999999").unwrap_err().code(),
        "auth.owner-pin-not-needed",
        "an owner is set once"
    );

    // A restart: the till asks for the owner's PIN (typed in ASCII digits this time).
    drop(d);
    let d = Device::open(&path).unwrap();
    let session = d.staff_session();
    assert!(session.sign_in_required && !session.owner_pin_required);
    assert_eq!(
        d.create_guest().unwrap_err().code(),
        "auth.sign-in-required"
    );
    assert_eq!(
        d.sign_in(&owner.id, "135791").unwrap_err().code(),
        "auth.pin-wrong"
    );
    d.sign_in(&owner.id, "135790").unwrap();
    assert_eq!(d.search("ahmed", 10).unwrap().len(), 1);
}

#[test]
fn a_bad_owner_pin_or_name_is_refused_with_a_clear_error_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path().join("d.sqlite3")).unwrap();
    let long = "1".repeat(10_000);
    for (name, pin, code) in [
        ("Huda", "", "staff.invalid-pin"),
        ("Huda", "12345", "staff.invalid-pin"),
        ("Huda", long.as_str(), "staff.invalid-pin"),
        ("Huda", "123\u{0}456", "staff.invalid-pin"),
        ("", "135790", "validation.required"),
        ("   ", "135790", "validation.required"),
        ("Huda\u{202E}", "135790", "validation.bidi-control"),
        ("Hu\u{7}da", "135790", "validation.control-character"),
        (long.as_str(), "135790", "validation.too-long"),
    ] {
        let err = d.set_owner_pin(name, pin).unwrap_err();
        assert_eq!(err.code(), code, "{name:?} / {pin:?}");
        for locale in Locale::ALL {
            assert!(Localizer::global().has(locale, &err.message().id));
        }
    }
    assert!(d.staff_roster().unwrap().is_empty(), "nothing was written");
    assert!(d.staff_session().owner_pin_required);
    let err = d.set_owner_pin("Huda", "12345").unwrap_err();
    assert_eq!(
        Localizer::global().format_message(Locale::En, &err.message()),
        "The PIN must have at least 6 digits."
    );
}

#[test]
fn an_enrolled_till_has_no_owner_pin_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path().join("d.sqlite3")).unwrap();
    assert!(d.staff_session().owner_pin_required);
    d.save_enrollment(
        "https://shop.example.om",
        &dukkan_core::sync::Enrollment {
            tenant_id: uuid::Uuid::now_v7(),
            device_id: d.device_id(),
            device_token: "token".into(),
        },
    )
    .unwrap();
    assert!(!d.staff_session().owner_pin_required);
    assert_eq!(
        d.set_owner_pin("Huda", "135790").unwrap_err().code(),
        "auth.owner-pin-not-needed"
    );
}

#[test]
fn once_a_roster_arrives_every_use_case_waits_for_a_sign_in_and_writes_nothing() {
    let (_dir, d) = device();
    let before = stub(&d, "Ahmed", "92123456");
    d.replace_roster(&roster(&[member("Aisha", Role::Manager, "2468")]), None)
        .unwrap();
    assert!(d.staff_session().sign_in_required);
    let refusals = [
        d.create_guest().map(|_| ()).unwrap_err(),
        d.create_stub(&StubInput {
            first_name: "Salim".into(),
            phone: "92999999".into(),
            ..Default::default()
        })
        .map(|_| ())
        .unwrap_err(),
        d.search("ahm", 10).map(|_| ()).unwrap_err(),
        d.customer(before.id).map(|_| ()).unwrap_err(),
        d.update_customer(
            before.id,
            &CustomerChanges {
                last_name: Some("Al-Said".into()),
                ..Default::default()
            },
        )
        .map(|_| ())
        .unwrap_err(),
        d.add_address(
            before.id,
            &AddressInput {
                street: Some("Way 1".into()),
                city: Some("Muscat".into()),
                ..Default::default()
            },
        )
        .map(|_| ())
        .unwrap_err(),
        d.list_customers(&ListQuery::default())
            .map(|_| ())
            .unwrap_err(),
        d.deactivate_customer(before.id).map(|_| ()).unwrap_err(),
    ];
    for e in &refusals {
        assert_eq!(e.code(), "auth.sign-in-required", "{e:?}");
        assert_localised(e);
    }
    assert_eq!(rows(&d, "SELECT count(*) FROM customers"), 1);
    assert_eq!(rows(&d, "SELECT count(*) FROM outbox"), 1);
    assert_eq!(rows(&d, "SELECT count(*) FROM addresses"), 0);
    // Reading the sync status does not need anyone.
    d.sync_status().unwrap();
}

#[test]
fn the_right_pin_signs_in_and_what_they_do_is_recorded_under_their_id() {
    let (_dir, d) = device();
    let aisha = member("Aisha", Role::Cashier, "2468");
    let salim = member("Salim", Role::Manager, "1357");
    d.replace_roster(&roster(&[salim.clone(), aisha.clone()]), Some("\"v1\""))
        .unwrap();
    let listed = d.staff_roster().unwrap();
    assert_eq!(
        listed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["Aisha", "Salim"],
        "by name"
    );
    let me = d.sign_in(&aisha.id.to_string(), "2468").unwrap();
    assert_eq!((me.name.as_str(), me.role), ("Aisha", Role::Cashier));
    assert_eq!(d.staff_session().staff, Some(me.clone()));
    let c = stub(&d, "Ahmed", "92123456");
    let conn = dukkan_device::store::connect_existing(d.path()).unwrap();
    let (op_staff, audit_staff): (String, String) = conn
        .query_row(
            "SELECT o.staff_id, a.staff_id FROM outbox o, audit_log a WHERE o.customer_id = ?1",
            [c.id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (op_staff.as_str(), audit_staff.as_str()),
        (me.id.as_str(), me.id.as_str())
    );
    d.sign_out();
    assert_eq!(d.staff_session().staff, None);
    assert_eq!(
        d.create_guest().unwrap_err().code(),
        "auth.sign-in-required",
        "signing out closes the till again"
    );
}

#[test]
fn a_pin_typed_in_arabic_indic_digits_signs_in() {
    let (_dir, d) = device();
    let aisha = member("عائشة", Role::Cashier, "2468");
    d.replace_roster(&roster(std::slice::from_ref(&aisha)), None)
        .unwrap();
    assert_eq!(
        d.sign_in(&aisha.id.to_string(), "٢٤٦٨").unwrap().name,
        "عائشة"
    );
}

#[test]
fn wrong_pins_and_unknown_or_hostile_ids_are_refused_alike_and_five_lock_sign_in() {
    let (_dir, d) = device();
    let aisha = member("Aisha", Role::Cashier, "2468");
    d.replace_roster(&roster(std::slice::from_ref(&aisha)), None)
        .unwrap();
    let id = aisha.id.to_string();
    let long = "9".repeat(10_000);
    let attempts: [(&str, &str); 4] = [
        (&id, "2469"),
        (&id, ""),
        ("not-a-staff-id", "2468"),
        (&id, &long),
    ];
    for (who, pin) in attempts {
        let e = d.sign_in(who, pin).unwrap_err();
        assert_eq!(e.code(), "auth.pin-wrong", "{who} / {} chars", pin.len());
        assert_localised(&e);
    }
    let locked = d.sign_in(&id, "2\u{202E}468").unwrap_err();
    assert_eq!(
        locked.code(),
        "auth.sign-in-locked",
        "the fifth wrong PIN locks"
    );
    assert_localised(&locked);
    assert!(matches!(locked, DeviceError::SignInLocked { seconds } if seconds == 60));
    let still = d.sign_in(&id, "2468").unwrap_err();
    assert_eq!(
        still.code(),
        "auth.sign-in-locked",
        "even the right PIN waits"
    );
    assert_eq!(d.staff_session().staff, None);
}

#[test]
fn pins_tried_at_once_get_no_more_tries_than_pins_tried_one_by_one() {
    // A PIN check takes tens of milliseconds (argon2): 20 wrong PINs sent together must not all
    // be checked before the first failure is counted.
    let (_dir, d) = device();
    let aisha = member("Aisha", Role::Cashier, "2468");
    d.replace_roster(&roster(std::slice::from_ref(&aisha)), None)
        .unwrap();
    let id = aisha.id.to_string();
    let start = std::sync::Barrier::new(20);
    let codes: Vec<String> = std::thread::scope(|scope| {
        let tries: Vec<_> = (0..20)
            .map(|i| {
                let (d, id, start) = (&d, &id, &start);
                scope.spawn(move || {
                    start.wait();
                    d.sign_in(id, &format!("{:04}", 9000 + i))
                        .unwrap_err()
                        .code()
                        .to_owned()
                })
            })
            .collect();
        tries.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let wrong = codes.iter().filter(|c| *c == "auth.pin-wrong").count();
    let locked = codes.iter().filter(|c| *c == "auth.sign-in-locked").count();
    assert_eq!(wrong + locked, 20, "{codes:?}");
    assert!(
        wrong <= 4,
        "at most 5 PINs checked, the fifth failure locking: {codes:?}"
    );
    let right = d.sign_in(&id, "2468").unwrap_err();
    assert_eq!(right.code(), "auth.sign-in-locked");
    assert_eq!(d.staff_session().staff, None);
}

#[test]
fn a_cashier_keeps_the_counter_but_manager_work_is_refused_with_the_role_needed() {
    let (_dir, d) = device();
    signed_in(&d, Role::Cashier);
    let c = stub(&d, "Ahmed", "92123456");
    d.search("ahm", 10).unwrap();
    d.customer(c.id).unwrap();
    d.update_customer(
        c.id,
        &CustomerChanges {
            last_name: Some("Al-Said".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let refusals = [
        d.list_customers(&ListQuery::default())
            .map(|_| ())
            .unwrap_err(),
        d.export_csv(&ListQuery::default(), Locale::En, Vec::new())
            .map(|_| ())
            .unwrap_err(),
        d.deactivate_customer(c.id).map(|_| ()).unwrap_err(),
        d.set_store_location("23.58", "58.38")
            .map(|_| ())
            .unwrap_err(),
        d.clear_store_location().unwrap_err(),
        d.discard_parked(1).unwrap_err(),
        d.reset_enrollment(true).unwrap_err(),
        d.import_stubs(&[]).map(|_| ()).unwrap_err().1,
    ];
    for e in &refusals {
        assert!(
            matches!(
                e,
                DeviceError::Refused(dukkan_core::rules::Refusal::RoleRequired(Role::Manager))
            ),
            "{e:?}"
        );
        assert_localised(e);
        let text = Localizer::global().format_message(Locale::En, &e.message());
        assert!(text.contains("manager"), "{text}");
    }
    assert_eq!(rows(&d, "SELECT active FROM customers"), 1);
    assert_eq!(
        rows(
            &d,
            "SELECT count(*) FROM settings WHERE key = 'store_location'"
        ),
        0
    );
}

#[test]
fn a_manager_may_list_export_deactivate_and_set_the_store() {
    let (_dir, d) = device();
    signed_in(&d, Role::Manager);
    let c = stub(&d, "Ahmed", "92123456");
    assert_eq!(
        d.list_customers(&ListQuery::default()).unwrap().items.len(),
        1
    );
    let mut csv = Vec::new();
    assert_eq!(
        d.export_csv(&ListQuery::default(), Locale::Ar, &mut csv)
            .unwrap(),
        1
    );
    d.set_store_location("23.58", "58.38").unwrap();
    assert!(!d.deactivate_customer(c.id).unwrap().active);
}

#[test]
fn a_new_roster_signs_out_who_left_updates_a_changed_role_and_skips_unusable_entries() {
    let (_dir, d) = device();
    let aisha = member("Aisha", Role::Cashier, "2468");
    let salim = member("Salim", Role::Manager, "1357");
    d.replace_roster(&roster(&[aisha.clone(), salim.clone()]), Some("\"v1\""))
        .unwrap();
    d.sign_in(&aisha.id.to_string(), "2468").unwrap();
    // Promoted while signed in: the session carries on with the new role.
    let promoted = RosterMember {
        role: Role::Manager,
        ..aisha.clone()
    };
    d.replace_roster(&roster(&[promoted, salim.clone()]), Some("\"v2\""))
        .unwrap();
    assert_eq!(d.staff_session().staff.unwrap().role, Role::Manager);
    assert_eq!(d.roster_etag().unwrap().as_deref(), Some("\"v2\""));
    d.list_customers(&ListQuery::default()).unwrap();

    // Entries no PIN could match, or no person could be shown as, are left out.
    let broken = [
        RosterMember {
            pin_hash: "2468".into(),
            ..member("Clear text", Role::Admin, "0000")
        },
        RosterMember {
            name: "x".repeat(10_000),
            ..member("Long", Role::Admin, "0000")
        },
        RosterMember {
            name: "  ".into(),
            ..member("Blank", Role::Admin, "0000")
        },
    ];
    let mut next = vec![salim.clone()];
    next.extend(broken);
    d.replace_roster(&roster(&next), Some("\"v3\"")).unwrap();
    assert_eq!(
        d.staff_session().staff,
        None,
        "Aisha left the roster: signed out"
    );
    let names: Vec<_> = d
        .staff_roster()
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["Salim"]);
    assert_eq!(
        d.sign_in(&aisha.id.to_string(), "2468").unwrap_err().code(),
        "auth.pin-wrong"
    );
}

#[test]
fn the_roster_survives_a_restart_but_the_sign_in_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite3");
    {
        let d = Device::open(&path).unwrap();
        signed_in(&d, Role::Manager);
    }
    let d = Device::open(&path).unwrap();
    let session = d.staff_session();
    assert!(session.sign_in_required);
    assert_eq!(session.staff, None);
    assert_eq!(d.staff_roster().unwrap().len(), 1);
}

#[test]
fn resetting_the_enrollment_forgets_the_roster_and_asks_for_an_owner_again() {
    let (_dir, d) = device();
    signed_in(&d, Role::Manager);
    d.replace_roster(
        &roster(&[RosterMember {
            pin_hash: pin_hash("2468"),
            ..member("Salim", Role::Manager, "2468")
        }]),
        Some("\"v9\""),
    )
    .unwrap();
    let salim = d.staff_roster().unwrap().remove(0);
    d.sign_in(&salim.id, "2468").unwrap();
    d.reset_enrollment(false).unwrap();
    assert!(!d.staff_session().sign_in_required);
    assert!(d.staff_roster().unwrap().is_empty());
    assert_eq!(d.roster_etag().unwrap(), None);
    assert!(d.staff_session().owner_pin_required);
    assert_eq!(
        d.create_guest().unwrap_err().code(),
        "auth.owner-pin-required"
    );
    common::owner(&d);
    stub(&d, "Ahmed", "92123456");
}

#[test]
fn a_cashier_finds_customers_by_search_but_cannot_browse_the_list() {
    let (_dir, d) = device();
    stub(&d, "Salim", "92123456");
    signed_in(&d, Role::Cashier);
    let max = dukkan_core::rules::SEARCH_MATCHES_MAX;
    assert_eq!(d.search("sal", max).unwrap().len(), 1);
    for refused in [
        d.search("sal", max + 1).map(drop).unwrap_err(),
        d.list_customers(&ListQuery::default())
            .map(drop)
            .unwrap_err(),
    ] {
        assert_eq!(refused.code(), "auth.forbidden", "{refused:?}");
        assert_localised(&refused);
    }
    signed_in(&d, Role::Manager);
    assert_eq!(d.search("sal", 100).unwrap().len(), 1);
    assert_eq!(
        d.list_customers(&ListQuery::default()).unwrap().items.len(),
        1
    );
}

#[test]
fn a_restart_keeps_the_count_of_wrong_pins_and_the_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite3");
    let aisha = member("Aisha", Role::Manager, "2468");
    let id = aisha.id.to_string();
    {
        let d = Device::open(&path).unwrap();
        d.replace_roster(&roster(&[aisha]), None).unwrap();
        for _ in 0..3 {
            assert_eq!(d.sign_in(&id, "0000").unwrap_err().code(), "auth.pin-wrong");
        }
    }
    // Restarted: two wrong PINs left, not five.
    {
        let d = Device::open(&path).unwrap();
        assert_eq!(d.sign_in(&id, "0000").unwrap_err().code(), "auth.pin-wrong");
        assert_eq!(
            d.sign_in(&id, "0000").unwrap_err().code(),
            "auth.sign-in-locked"
        );
    }
    // Restarted during the lockout: even the right PIN waits.
    let d = Device::open(&path).unwrap();
    let locked = d.sign_in(&id, "2468").unwrap_err();
    assert_eq!(locked.code(), "auth.sign-in-locked");
    match locked {
        DeviceError::SignInLocked { seconds } => assert!(
            (1..=dukkan_device::PIN_LOCKOUT.as_secs()).contains(&seconds),
            "{seconds}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(d.staff_session().staff, None);
}

#[test]
fn a_staffed_till_keeps_its_last_good_roster_when_an_empty_or_unusable_one_arrives() {
    let (_dir, d) = device();
    let aisha = member("Aisha", Role::Manager, "2468");
    d.replace_roster(&roster(std::slice::from_ref(&aisha)), Some("\"good\""))
        .unwrap();
    let mut broken = member("Nobody", Role::Admin, "1111");
    broken.pin_hash = "not a hash".into();
    for answer in [roster(&[]), roster(&[broken])] {
        d.replace_roster(&answer, Some("\"bad\"")).unwrap();
        assert!(
            d.staff_session().sign_in_required,
            "the till stays closed after {answer:?}"
        );
        assert_eq!(
            d.create_guest().map(drop).unwrap_err().code(),
            "auth.sign-in-required"
        );
    }
    assert_eq!(rows(&d, "SELECT count(*) FROM staff"), 1);
    assert_eq!(
        rows(
            &d,
            "SELECT count(*) FROM settings WHERE key = 'staff_roster_etag' AND value = '\"bad\"'"
        ),
        0,
        "the refused roster's tag is not kept, so the next sync asks again"
    );
    assert_eq!(
        d.sign_in(&aisha.id.to_string(), "2468").unwrap().name,
        "Aisha"
    );
}

#[test]
fn the_shops_time_zone_and_loyalty_rule_come_with_the_roster_and_an_unknown_zone_is_ignored() {
    let (_dir, d) = device();
    assert_eq!(d.time_zone().unwrap(), dukkan_core::time::DEFAULT_TIME_ZONE);
    let aisha = member("Aisha", Role::Cashier, "2468");
    d.replace_roster(
        &Roster {
            staff: vec![aisha.clone()],
            time_zone: Some("Asia/Dubai".into()),
            loyalty: Some(dukkan_core::orders::LoyaltyRule::new(5).unwrap()),
            update_feed: None,
        },
        None,
    )
    .unwrap();
    assert_eq!(d.time_zone().unwrap().name(), "Asia/Dubai");
    d.replace_roster(
        &Roster {
            staff: vec![aisha],
            time_zone: Some("Mars/Olympus".into()),
            loyalty: None,
            update_feed: None,
        },
        None,
    )
    .unwrap();
    assert_eq!(d.time_zone().unwrap().name(), "Asia/Dubai", "kept");
    assert_eq!(d.loyalty_rule().unwrap().points_per_rial, 5, "kept too");
}

#[test]
fn the_update_feed_comes_with_the_roster_a_managers_own_wins_and_a_roster_without_one_withdraws_it()
{
    use dukkan_device::{UpdateFeed, UpdateFeedSource};
    let (_dir, d) = device();
    assert_eq!(d.update_feed().unwrap(), None, "a new till does not look");
    let aisha = member("Aisha", Role::Manager, "2468");
    let with_feed = |feed: Option<&str>| Roster {
        staff: vec![aisha.clone()],
        update_feed: feed.map(str::to_owned),
        ..Default::default()
    };
    let server = "https://updates.dukkan.om/desk/{{target}}/{{arch}}/{{current_version}}";
    d.replace_roster(&with_feed(Some(server)), None).unwrap();
    let from_server = UpdateFeed {
        url: server.into(),
        source: UpdateFeedSource::Server,
    };
    assert_eq!(d.update_feed().unwrap(), Some(from_server.clone()));

    // A roster naming an address a till may not fetch from changes nothing.
    d.replace_roster(&with_feed(Some("http://192.168.1.9/latest.json")), None)
        .unwrap();
    assert_eq!(d.update_feed().unwrap(), Some(from_server.clone()));

    // The manager's own address wins while it is set.
    d.sign_in(&aisha.id.to_string(), "2468").unwrap();
    let own = d
        .set_update_feed(" https://mirror.shop.om/latest.json ")
        .unwrap();
    assert_eq!(own.url, "https://mirror.shop.om/latest.json");
    assert_eq!(d.update_feed().unwrap(), Some(own));
    assert_eq!(d.clear_update_feed().unwrap(), Some(from_server));

    // A server that stops announcing one withdraws it.
    d.replace_roster(&with_feed(None), None).unwrap();
    assert_eq!(d.update_feed().unwrap(), None);
}

#[test]
fn only_a_manager_sets_the_update_feed_and_a_refused_address_writes_nothing() {
    let (_dir, d) = device();
    signed_in(&d, Role::Cashier);
    assert_eq!(
        d.set_update_feed("https://mirror.shop.om/latest.json")
            .unwrap_err()
            .code(),
        "auth.forbidden"
    );
    assert_eq!(d.clear_update_feed().unwrap_err().code(), "auth.forbidden");
    assert_eq!(d.update_feed().unwrap(), None);

    let (_dir, d) = device();
    signed_in(&d, Role::Manager);
    d.set_update_feed("https://mirror.shop.om/latest.json")
        .unwrap();
    let long = format!("https://mirror.shop.om/{}", "x".repeat(10_000));
    for (hostile, code) in [
        ("", "validation.required"),
        (long.as_str(), "validation.too-long"),
        (
            "https://mirror.shop.om/\u{202E}x",
            "validation.bidi-control",
        ),
        (
            "https://mirror.shop.om/\u{7}",
            "validation.control-character",
        ),
        ("http://192.168.1.9/latest.json", "validation.insecure-url"),
        ("file:///etc/passwd", "validation.invalid-url"),
        ("{\"url\":1}", "validation.invalid-url"),
    ] {
        assert_eq!(
            d.set_update_feed(hostile).unwrap_err().code(),
            code,
            "{hostile:?}"
        );
    }
    assert_eq!(
        d.update_feed().unwrap().unwrap().url,
        "https://mirror.shop.om/latest.json",
        "the last good address stays"
    );
}
