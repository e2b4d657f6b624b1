//! The customer rules, one decision at a time.
use super::*;

fn stub() -> CustomerState {
    CustomerState {
        id: CustomerId::new(),
        kind: CustomerKind::Stub,
        active: true,
        first_name: Some("Salim".into()),
        phone: Some("+96892123456".into()),
        ..Default::default()
    }
}

fn guest() -> CustomerState {
    CustomerState {
        id: CustomerId::new(),
        active: true,
        ..Default::default()
    }
}

#[test]
fn a_manager_deactivates_and_reactivates_a_cashier_or_nobody_may_not() {
    for action in [Action::Deactivate, Action::Reactivate, Action::Merge] {
        assert_eq!(authorize(Some(Role::Manager), action), Ok(()));
        assert_eq!(authorize(Some(Role::Admin), action), Ok(()));
        assert_eq!(
            authorize(Some(Role::Cashier), action),
            Err(Refusal::RoleRequired(Role::Manager))
        );
        assert_eq!(
            authorize(None, action),
            Err(Refusal::RoleRequired(Role::Manager))
        );
    }
    assert_eq!(authorize(None, Action::CreateCustomer), Ok(()));
    assert_eq!(
        authorize(Some(Role::Cashier), Action::EditAddresses),
        Ok(())
    );
}

#[test]
fn a_guest_given_a_name_and_phone_becomes_a_stub_and_needs_both() {
    let g = guest();
    let both = CustomerUpdated {
        id: g.id,
        first_name: Some(" Ali ".into()),
        phone: Some("9212 3456".into()),
        ..Default::default()
    };
    let edit = decide_update(&g, &both, None).unwrap().unwrap();
    assert_eq!(edit.kind, CustomerKind::Stub);
    assert_eq!(edit.op.first_name.as_deref(), Some("Ali"));
    assert_eq!(edit.op.phone.as_deref(), Some("+96892123456"));
    let name_only = CustomerUpdated {
        id: g.id,
        first_name: Some("Ali".into()),
        ..Default::default()
    };
    assert_eq!(
        decide_update(&g, &name_only, None),
        Err(ValidationError::Required(Field::Phone).into())
    );
    assert_eq!(
        decide_update(
            &g,
            &CustomerUpdated {
                id: g.id,
                ..Default::default()
            },
            Some(CustomerKind::Stub)
        ),
        Err(ValidationError::Required(Field::FirstName).into())
    );
}

#[test]
fn an_edit_records_only_what_changes_and_nothing_when_nothing_does() {
    let s = stub();
    let same = CustomerUpdated {
        id: s.id,
        first_name: Some("Salim".into()),
        phone: Some("+968 9212 3456".into()),
        ..Default::default()
    };
    assert_eq!(decide_update(&s, &same, None), Ok(None));
    let new_last = CustomerUpdated {
        last_name: Some(Some("Al-Busaidi".into())),
        ..same
    };
    let edit = decide_update(&s, &new_last, None).unwrap().unwrap();
    assert_eq!(edit.op.changed_fields(), vec!["lastName"]);
}

#[test]
fn a_verified_phone_is_locked_and_a_full_profile_keeps_its_email() {
    let full = CustomerState {
        kind: CustomerKind::Full,
        phone_verified: true,
        email: Some("a@b.om".into()),
        ..stub()
    };
    let phone = CustomerUpdated {
        id: full.id,
        phone: Some("92000000".into()),
        ..Default::default()
    };
    assert_eq!(
        decide_update(&full, &phone, None),
        Err(Refusal::VerifiedPhoneLocked)
    );
    let clear_email = CustomerUpdated {
        id: full.id,
        email: Some(None),
        ..Default::default()
    };
    assert_eq!(
        decide_update(&full, &clear_email, None),
        Err(ValidationError::Required(Field::Email).into())
    );
    assert_eq!(check_full(false, Some("a@b.om")), Err(Refusal::OtpRequired));
    assert!(check_full(true, None).is_err());
    assert_eq!(check_full(true, Some("a@b.om")), Ok(()));
}

#[test]
fn inactive_or_merged_customers_cannot_be_edited() {
    let inactive = CustomerState {
        active: false,
        ..stub()
    };
    let u = CustomerUpdated {
        id: inactive.id,
        first_name: Some("X".into()),
        ..Default::default()
    };
    assert_eq!(
        decide_update(&inactive, &u, None),
        Err(Refusal::CustomerInactive)
    );
    let merged = CustomerState {
        merged: true,
        ..inactive
    };
    assert_eq!(
        decide_update(&merged, &u, None),
        Err(Refusal::CustomerMerged)
    );
}

#[test]
fn reactivation_is_refused_while_another_customer_holds_the_phone_and_names_them() {
    let gone = CustomerState {
        active: false,
        ..stub()
    };
    let holder = PhoneHolder {
        id: CustomerId::new(),
        number: CustomerNumber::new(12).ok(),
        name: Some("Salim Al-Busaidi".into()),
    };
    let refusal = decide_reactivate(&gone, Some(holder.clone())).unwrap_err();
    assert_eq!(refusal.code(), "customer.phone-taken");
    let msg = refusal.message();
    assert_eq!(msg.id, "error-phone-taken-by");
    assert_eq!(
        msg.args[0].1,
        MessageArg::Text("Salim Al-Busaidi (CUST-00012)".into())
    );
    assert!(matches!(
        decide_reactivate(&gone, None),
        Ok(Some(Op::CustomerReactivated { .. }))
    ));
    assert_eq!(decide_reactivate(&stub(), None), Ok(None));
}

#[test]
fn the_twenty_first_address_is_refused() {
    let s = stub();
    let a = AddressInput {
        street: Some("Way 3021".into()),
        ..Default::default()
    }
    .validate()
    .unwrap();
    assert!(decide_address_add(&s, MAX_ADDRESSES - 1, &a).is_ok());
    assert_eq!(
        decide_address_add(&s, MAX_ADDRESSES, &a),
        Err(Refusal::AddressLimit)
    );
}

#[test]
fn the_newest_remaining_address_becomes_the_default() {
    let (a, b, c) = (AddressId::new(), AddressId::new(), AddressId::new());
    assert_eq!(default_after_delete([b, a, c]), Some(c));
    assert_eq!(default_after_delete([]), None);
}

#[test]
fn created_customers_are_checked_as_if_typed() {
    let id = CustomerId::new();
    let guest_with_phone = CustomerCreated {
        id,
        kind: CustomerKind::Guest,
        first_name: None,
        last_name: None,
        name2: None,
        phone: Some("92123456".into()),
        email: None,
        preferences: None,
    };
    assert_eq!(decide_create(&guest_with_phone), Err(Refusal::GuestContact));
    let full = CustomerCreated {
        kind: CustomerKind::Full,
        ..guest_with_phone.clone()
    };
    assert_eq!(decide_create(&full), Err(Refusal::OtpRequired));
    let stub = CustomerCreated {
        kind: CustomerKind::Stub,
        first_name: Some(" سالم ".into()),
        ..guest_with_phone
    };
    let made = decide_create(&stub).unwrap();
    assert_eq!(made.first_name.as_deref(), Some("سالم"));
    assert_eq!(made.phone.as_deref(), Some("+96892123456"));
    let long = CustomerCreated {
        first_name: Some("x".repeat(10_000)),
        ..stub
    };
    assert_eq!(
        decide_create(&long).map_err(|r| r.code()),
        Err("validation.too-long")
    );
}

#[test]
fn every_refusal_has_one_code_in_the_customer_style() {
    for (code, id) in Refusal::catalogue() {
        assert!(code.contains('.'), "{code}");
        assert!(id.starts_with("error-"), "{id}");
    }
}

#[test]
fn a_merge_takes_what_the_target_lacks_and_a_guest_target_becomes_a_stub() {
    let source = CustomerState {
        last_name: Some("Al-Busaidi".into()),
        email: Some("s@b.om".into()),
        ..stub()
    };
    let target = guest();
    let fill = decide_merge(&source, &target).unwrap();
    assert_eq!(fill.id, target.id);
    assert_eq!(fill.first_name.as_deref(), Some("Salim"));
    assert_eq!(fill.phone.as_deref(), Some("+96892123456"));
    assert_eq!(fill.last_name, Some(Some("Al-Busaidi".into())));
    let edit = decide_update(&target, &fill, None).unwrap().unwrap();
    assert_eq!(edit.kind, CustomerKind::Stub);

    // A target keeps what it has.
    let named = CustomerState {
        first_name: Some("Aisha".into()),
        phone: Some("+96899000000".into()),
        ..stub()
    };
    let fill = decide_merge(&source, &named).unwrap();
    assert_eq!(fill.first_name, None);
    assert_eq!(fill.phone, None);
    assert_eq!(fill.email, Some(Some("s@b.om".into())));
}

#[test]
fn a_merge_needs_a_changeable_target_and_a_source_not_merged_away() {
    let a = stub();
    assert_eq!(decide_merge(&a, &a), Err(Refusal::MergeSelf));
    let inactive = CustomerState {
        active: false,
        ..stub()
    };
    assert_eq!(
        decide_merge(&stub(), &inactive),
        Err(Refusal::CustomerInactive)
    );
    assert!(
        decide_merge(&inactive, &stub()).is_ok(),
        "a deactivated duplicate joins the active customer"
    );
    let merged_source = CustomerState {
        merged: true,
        active: false,
        ..stub()
    };
    assert_eq!(
        decide_merge(&merged_source, &stub()),
        Err(Refusal::CustomerMerged)
    );
    let merged = CustomerState {
        merged: true,
        active: false,
        ..stub()
    };
    assert_eq!(decide_merge(&stub(), &merged), Err(Refusal::CustomerMerged));
}

#[test]
fn only_a_stub_with_a_verified_phone_becomes_full() {
    let prefs = Preferences::default();
    assert_eq!(
        decide_full(&stub(), false, "a@b.om", &prefs),
        Err(Refusal::OtpRequired)
    );
    let (email, _) = decide_full(&stub(), true, " a@b.om ", &prefs).unwrap();
    assert_eq!(email.as_str(), "a@b.om");
    let verified = CustomerState {
        phone_verified: true,
        ..stub()
    };
    assert!(decide_full(&verified, false, "a@b.om", &prefs).is_ok());
    assert_eq!(
        decide_full(&guest(), true, "a@b.om", &prefs),
        Err(Refusal::GuestCannotUpgrade)
    );
    let full = CustomerState {
        kind: CustomerKind::Full,
        phone_verified: true,
        ..stub()
    };
    assert_eq!(
        decide_full(&full, true, "a@b.om", &prefs),
        Err(Refusal::AlreadyFull)
    );
    assert!(decide_full(&stub(), true, "not an email", &prefs).is_err());
}

#[test]
fn a_cashier_searches_and_a_manager_browses() {
    let search = list_action(true, true, SEARCH_MATCHES_MAX, true);
    assert_eq!(search, Action::SearchCustomers);
    assert_eq!(authorize(Some(Role::Cashier), search), Ok(()));
    for browse in [
        list_action(false, true, 20, true),
        list_action(true, false, 20, true),
        list_action(true, true, SEARCH_MATCHES_MAX + 1, true),
        list_action(true, true, 20, false),
    ] {
        assert_eq!(browse, Action::BrowseCustomers);
        assert_eq!(
            authorize(Some(Role::Cashier), browse),
            Err(Refusal::RoleRequired(Role::Manager))
        );
        assert_eq!(authorize(Some(Role::Manager), browse), Ok(()));
    }
}

fn order(customer: CustomerId) -> OrderRecorded {
    OrderRecorded {
        order_id: crate::ids::OrderId::new(),
        customer_id: customer,
        ticket: " BEEF-00001 ".into(),
        amount_baisa: 4_500,
        pieces: 3,
        note: Some("  starch collars  ".into()),
    }
}

#[test]
fn an_order_for_a_guest_or_stub_is_taken_cleaned_by_a_cashier_or_nobody() {
    for state in [guest(), stub()] {
        let decided = decide_order(&state, &order(state.id)).unwrap();
        assert_eq!(decided.ticket, "BEEF-00001");
        assert_eq!(decided.note.as_deref(), Some("starch collars"));
        assert_eq!(decided.customer_id, state.id);
    }
    let op = Op::OrderRecorded(order(CustomerId::new()));
    assert_eq!(authorize(None, Action::of(&op)), Ok(()));
    assert_eq!(authorize(Some(Role::Cashier), Action::of(&op)), Ok(()));
}

#[test]
fn an_order_with_bad_data_or_for_a_gone_customer_is_refused() {
    let s = stub();
    let bad = |f: &dyn Fn(&mut OrderRecorded)| {
        let mut o = order(s.id);
        f(&mut o);
        decide_order(&s, &o).unwrap_err().code()
    };
    assert_eq!(bad(&|o| o.ticket = "  ".into()), "validation.required");
    assert_eq!(
        bad(&|o| o.ticket = "A\u{202E}B".into()),
        "validation.bidi-control"
    );
    assert_eq!(
        bad(&|o| o.ticket = "x".repeat(10_000)),
        "validation.too-long"
    );
    assert_eq!(bad(&|o| o.amount_baisa = -1), "validation.out-of-range");
    assert_eq!(
        bad(&|o| o.amount_baisa = crate::orders::MAX_ORDER_BAISA + 1),
        "validation.out-of-range"
    );
    assert_eq!(bad(&|o| o.pieces = 0), "validation.out-of-range");
    assert_eq!(bad(&|o| o.pieces = 1000), "validation.out-of-range");
    assert_eq!(
        bad(&|o| o.note = Some("n".repeat(10_000))),
        "validation.too-long"
    );
    assert_eq!(
        bad(&|o| o.note = Some("a\u{0007}b".into())),
        "validation.control-character"
    );
    let inactive = CustomerState {
        active: false,
        ..stub()
    };
    assert_eq!(
        decide_order(&inactive, &order(inactive.id)),
        Err(Refusal::CustomerInactive)
    );
    let merged = CustomerState {
        merged: true,
        ..stub()
    };
    assert_eq!(
        decide_order(&merged, &order(merged.id)),
        Err(Refusal::CustomerMerged)
    );
}

#[test]
fn points_are_adjusted_by_a_manager_with_a_reason_and_never_below_zero() {
    let s = stub();
    assert_eq!(
        decide_points_adjustment(&s, 10, -10, " returned goods "),
        Ok("returned goods".into())
    );
    assert_eq!(
        decide_points_adjustment(&s, 10, -11, "x"),
        Err(Refusal::PointsBelowZero { points: 10 })
    );
    assert_eq!(
        decide_points_adjustment(&s, 10, 0, "x").unwrap_err().code(),
        "validation.out-of-range"
    );
    assert_eq!(
        decide_points_adjustment(&s, 0, 1_000_001, "x")
            .unwrap_err()
            .code(),
        "validation.out-of-range"
    );
    assert_eq!(
        decide_points_adjustment(&s, 0, 5, "  ").unwrap_err().code(),
        "validation.required"
    );
    assert_eq!(
        decide_points_adjustment(&s, 0, 5, &"r".repeat(201))
            .unwrap_err()
            .code(),
        "validation.too-long"
    );
    let op = Op::PointsAdjusted {
        customer_id: s.id,
        adjustment_id: crate::ids::AdjustmentId::new(),
        delta: 5,
        reason: "goodwill".into(),
    };
    assert_eq!(
        authorize(Some(Role::Cashier), Action::of(&op)),
        Err(Refusal::RoleRequired(Role::Manager))
    );
    assert_eq!(
        authorize(None, Action::of(&op)),
        Err(Refusal::RoleRequired(Role::Manager))
    );
    assert_eq!(authorize(Some(Role::Manager), Action::of(&op)), Ok(()));
}
