//! The counter's search box, the manager's list and the CSV export, on real SQLite files.

#![allow(clippy::unwrap_used)]

mod common;

use common::device;
use dukkan_core::i18n::Locale;
use dukkan_core::{CustomerKind, StubInput};
use dukkan_device::{Customer, Device, ListQuery, MatchKind, StubOutcome, SyncState};

fn add(
    device: &Device,
    first: &str,
    last: Option<&str>,
    name2: Option<&str>,
    phone: &str,
) -> Customer {
    let input = StubInput {
        first_name: first.into(),
        last_name: last.map(Into::into),
        name2: name2.map(Into::into),
        phone: phone.into(),
    };
    match device.create_stub(&input).unwrap() {
        StubOutcome::Created(c) => c,
        StubOutcome::Existing(c) => panic!("phone {phone} already used by {}", c.id),
    }
}

/// The server assigns numbers; tests stand in for it with a direct write.
fn assign_number(device: &Device, c: &Customer, n: u32) {
    let conn = dukkan_device::store::connect_existing(device.path()).unwrap();
    conn.execute(
        "UPDATE customers SET customer_number = ?1 WHERE id = ?2",
        rusqlite::params![n, c.id.to_string()],
    )
    .unwrap();
}

fn ids(hits: &[dukkan_device::SearchHit]) -> Vec<dukkan_core::CustomerId> {
    hits.iter().map(|h| h.customer.id).collect()
}

#[test]
fn phone_search_finds_the_last_4_digits_the_national_number_and_every_notation() {
    let (_dir, d) = device();
    let ahmed = add(&d, "Ahmed", None, None, "92123456");
    let salim = add(&d, "Salim", None, None, "99773456");
    let other = add(&d, "Other", None, None, "71234567");
    let last4 = d.search("3456", 10).unwrap();
    assert_eq!(ids(&last4).len(), 2);
    assert!(last4.iter().all(|h| h.matched == MatchKind::PhoneLast4));
    for q in [
        "92123456",
        "+968 9212 3456",
        "0096892123456",
        "٩٢١٢٣٤٥٦",
        "96892123456",
    ] {
        let hits = d.search(q, 10).unwrap();
        assert_eq!(ids(&hits), vec![ahmed.id], "{q}");
        assert_eq!(hits[0].matched, MatchKind::PhoneExact, "{q}");
    }
    let prefix = d.search("9977", 10).unwrap();
    assert_eq!(ids(&prefix), vec![salim.id]);
    assert_eq!(prefix[0].matched, MatchKind::PhonePrefix);
    assert_eq!(ids(&d.search("7123", 10).unwrap()), vec![other.id]);
}

#[test]
fn phones_pasted_with_direction_marks_tel_links_slashes_or_full_width_digits_are_stored_and_found_alike(
) {
    let (_dir, d) = device();
    // Copied from an Arabic contact card: marks before, after and inside the digits.
    let ahmed = add(&d, "Ahmed", None, None, "\u{200F}9212\u{200E} 3456\u{061C}");
    assert_eq!(ahmed.phone.as_deref(), Some("+96892123456"));
    for pasted in [
        "tel:+96892123456",
        "+968/9212/3456",
        "968.9212.3456",
        "＋９６８ ９２１２ ３４５６",
        "\u{2066}+968 9212 3456\u{2069}",
    ] {
        // The same number pasted again is the same customer, not a second one.
        let again = d
            .create_stub(&StubInput {
                first_name: "Ahmad".into(),
                phone: pasted.into(),
                ..Default::default()
            })
            .unwrap();
        assert!(
            matches!(&again, StubOutcome::Existing(c) if c.id == ahmed.id),
            "{pasted:?}: {again:?}"
        );
        let hits = d.search(pasted, 10).unwrap();
        assert_eq!(ids(&hits), vec![ahmed.id], "{pasted:?}");
        assert_eq!(hits[0].matched, MatchKind::PhoneExact, "{pasted:?}");
    }
    // Letters and junk still get the clear error, and nothing is written.
    for junk in ["tel:abc", "9212_3456", "call 92123456"] {
        let e = d
            .create_stub(&StubInput {
                first_name: "X".into(),
                phone: junk.into(),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(e.code(), "validation.invalid-phone", "{junk:?}");
    }
    assert_eq!(
        d.list_customers(&ListQuery::default()).unwrap().items.len(),
        1
    );
}

#[test]
fn name_search_matches_latin_prefixes_case_and_accent_insensitively() {
    let (_dir, d) = device();
    let ahmed = add(&d, "Ahmed", Some("Al-Said"), None, "92123456");
    let zoe = add(&d, "Zoë", Some("Núñez"), None, "92123457");
    add(&d, "Salim", None, None, "92123458");
    assert_eq!(ids(&d.search("ahm", 10).unwrap()), vec![ahmed.id]);
    assert_eq!(ids(&d.search("AHMED said", 10).unwrap()), vec![ahmed.id]);
    assert_eq!(ids(&d.search("al-sa", 10).unwrap()), vec![ahmed.id]);
    assert_eq!(ids(&d.search("zoe nun", 10).unwrap()), vec![zoe.id]);
    assert!(d.search("ahmedx", 10).unwrap().is_empty());
}

#[test]
fn arabic_name_search_ignores_hamza_forms_tashkeel_tatweel_and_ta_marbuta() {
    let (_dir, d) = device();
    let ahmed = add(&d, "Ahmed", None, Some("أحمد"), "92123456");
    let fatima = add(&d, "Fatima", None, Some("فاطمة الزهراء"), "92123457");
    let mustafa = add(&d, "Mustafa", None, Some("مُصْطَفَى"), "92123458");
    assert_eq!(ids(&d.search("احمد", 10).unwrap()), vec![ahmed.id]);
    assert_eq!(ids(&d.search("أح", 10).unwrap()), vec![ahmed.id]);
    assert_eq!(ids(&d.search("فاطمه", 10).unwrap()), vec![fatima.id]);
    assert_eq!(ids(&d.search("فاطـمة الزه", 10).unwrap()), vec![fatima.id]);
    assert_eq!(ids(&d.search("مصطفي", 10).unwrap()), vec![mustafa.id]);
}

#[test]
fn exact_name_matches_rank_before_prefix_matches() {
    let (_dir, d) = device();
    let ali = add(&d, "Ali", None, None, "92123456");
    let alia = add(&d, "Alia", None, None, "92123457");
    let alim = add(&d, "Alim", None, None, "92123458");
    let hits = d.search("ali", 10).unwrap();
    assert_eq!(hits[0].customer.id, ali.id);
    assert_eq!(hits[0].matched, MatchKind::NameExact);
    assert_eq!(hits.len(), 3);
    assert!(ids(&hits[1..]).contains(&alia.id) && ids(&hits[1..]).contains(&alim.id));
}

#[test]
fn a_long_name_prefix_finds_every_name_it_starts_newest_first_in_either_script() {
    let (_dir, d) = device();
    let nasser = add(
        &d,
        "Nasser",
        Some("Al Harthy"),
        Some("ناصر الحارثي"),
        "92123456",
    );
    let nassera = add(&d, "Nassera", None, Some("ناصرة"), "92123457");
    add(&d, "Nasima", None, Some("نسيمة"), "92123458");
    let nasseri = add(&d, "Salim", Some("Al-Nasseri"), None, "92123459");
    // Newest first among the prefix matches; every name the prefix starts, none it does not.
    assert_eq!(
        ids(&d.search("nasse", 10).unwrap()),
        vec![nasseri.id, nassera.id, nasser.id]
    );
    assert!(d
        .search("nasse", 10)
        .unwrap()
        .iter()
        .all(|h| h.matched == MatchKind::NamePrefix));
    // Arabic, ta marbuta folded: "ناصره" is a whole name of Nassera and starts nothing else.
    assert_eq!(
        ids(&d.search("ناصر", 10).unwrap()),
        vec![nasser.id, nassera.id]
    );
    assert_eq!(ids(&d.search("ناصره", 10).unwrap()), vec![nassera.id]);
    // Two words, each a long prefix of a different name of the same customer.
    assert_eq!(ids(&d.search("nasse harth", 10).unwrap()), vec![nasser.id]);
    assert_eq!(
        ids(&d.search("salim nasser", 10).unwrap()),
        vec![nasseri.id]
    );
    // A long prefix that starts no name finds nobody, alone or with a word that does.
    assert!(d.search("nassex", 10).unwrap().is_empty());
    assert!(d.search("nasser harthx", 10).unwrap().is_empty());
    // A renamed customer is found by the new name and no longer by the old one.
    d.update_customer(
        nassera.id,
        &dukkan_device::CustomerChanges {
            first_name: Some("Badriya".into()),
            name2: Some("بدرية".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        ids(&d.search("nasse", 10).unwrap()),
        vec![nasseri.id, nasser.id]
    );
    assert_eq!(ids(&d.search("badri", 10).unwrap()), vec![nassera.id]);
}

#[test]
fn a_prefix_that_starts_more_names_than_the_expansion_takes_still_finds_them_all() {
    let (_dir, d) = device();
    // 70 different whole names starting "zaid" (digits are part of a name token).
    let all: Vec<_> = (0..70)
        .map(|i| add(&d, &format!("Zaid{i}"), None, None, &format!("921{i:05}")))
        .collect();
    let hits = d.search("zaid", 100).unwrap();
    let mut found = ids(&hits);
    found.sort();
    let mut want: Vec<_> = all.iter().map(|c| c.id).collect();
    want.sort();
    assert_eq!(found, want);
    // Newest first, as for any name prefix.
    assert_eq!(hits[0].customer.id, all[69].id);
}

#[test]
fn every_token_of_the_name_index_is_a_known_term_so_a_long_prefix_loses_no_name() {
    let (_dir, d) = device();
    add(
        &d,
        "Zoë",
        Some("Núñez-O'Brien"),
        Some("مُصْطَفَى الـبلوشي"),
        "92123456",
    );
    add(
        &d,
        "ĀMINA",
        Some("al_Hinai"),
        Some("آمنة إبراهيم"),
        "92123457",
    );
    let c = add(&d, "Salim", None, Some("سالم"), "92123458");
    d.update_customer(
        c.id,
        &dukkan_device::CustomerChanges {
            last_name: Some("Al Rawahi ١٢".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let conn = dukkan_device::store::connect_existing(d.path()).unwrap();
    conn.execute_batch("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, customers_fts, 'row')")
        .unwrap();
    let missing: Vec<String> = conn
        .prepare("SELECT term FROM temp.v WHERE term NOT IN (SELECT term FROM name_terms)")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(missing.is_empty(), "indexed but not known: {missing:?}");
    let indexed: i64 = conn
        .query_row("SELECT count(*) FROM temp.v", [], |r| r.get(0))
        .unwrap();
    assert!(
        indexed >= 12,
        "the index holds the names' tokens ({indexed})"
    );
}

#[test]
fn customer_numbers_and_emails_are_searchable() {
    let (_dir, d) = device();
    let a = add(&d, "Ahmed", None, None, "92123456");
    let b = add(&d, "Salim", None, None, "92123457");
    assign_number(&d, &a, 12);
    d.update_customer(
        b.id,
        &dukkan_device::CustomerChanges {
            email: Some("salim@example.om".into()),
            ..Default::default()
        },
    )
    .unwrap();
    for q in ["CUST-00012", "cust-12", "cust12"] {
        let hits = d.search(q, 10).unwrap();
        assert_eq!(ids(&hits), vec![a.id], "{q}");
        assert_eq!(hits[0].matched, MatchKind::CustomerNumber);
    }
    assert_eq!(
        d.search("12", 10).unwrap()[0].customer.id,
        a.id,
        "bare digits also look up the number"
    );
    let email = d.search("salim@ex", 10).unwrap();
    assert_eq!(ids(&email), vec![b.id]);
    assert_eq!(email[0].matched, MatchKind::Email);
}

#[test]
fn hostile_search_queries_return_results_or_nothing_but_never_fail() {
    let (_dir, d) = device();
    add(&d, "Ahmed", None, None, "92123456");
    for q in [
        "",
        " ",
        "\"",
        "*",
        "ahmed\"*",
        "NEAR(a b)",
        "a OR b",
        "a AND",
        "-",
        "'; DROP TABLE customers; --",
        "\u{202E}",
        "\u{0000}",
        "+",
        "00",
        "CUST-",
        "@",
        &"x".repeat(10_000),
        &"9".repeat(10_000),
    ] {
        d.search(q, 10).unwrap_or_else(|e| panic!("{q:?}: {e}"));
    }
    assert_eq!(
        d.search("\u{202E}ahmed", 10).unwrap().len(),
        1,
        "format characters are ignored by search"
    );
}

#[test]
fn the_list_pages_through_every_customer_once_newest_first() {
    let (_dir, d) = device();
    let mut created = Vec::new();
    for i in 0..23 {
        created.push(add(&d, &format!("C{i}"), None, None, &format!("921234{i:02}")).id);
    }
    let mut seen = Vec::new();
    let mut q = ListQuery {
        limit: Some(5),
        ..Default::default()
    };
    loop {
        let page = d.list_customers(&q).unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created);
}

#[test]
fn the_list_filters_by_kind_active_and_sync_state() {
    let (_dir, d) = device();
    let g = d.create_guest().unwrap();
    let s = add(&d, "Ahmed", None, None, "92123456");
    let gone = add(&d, "Gone", None, None, "92123457");
    d.deactivate_customer(gone.id).unwrap();
    let q = |q: ListQuery| {
        d.list_customers(&q)
            .unwrap()
            .items
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        q(ListQuery {
            kind: Some(CustomerKind::Guest),
            ..Default::default()
        }),
        vec![g.id]
    );
    assert_eq!(
        q(ListQuery {
            active: Some(false),
            ..Default::default()
        }),
        vec![gone.id]
    );
    assert_eq!(
        q(ListQuery {
            kind: Some(CustomerKind::Stub),
            active: Some(true),
            ..Default::default()
        }),
        vec![s.id]
    );
    assert_eq!(
        q(ListQuery {
            sync_state: Some(SyncState::Pending),
            ..Default::default()
        })
        .len(),
        2,
        "every type but the walk-in guest, which is listed only when asked for"
    );
    assert!(q(ListQuery {
        sync_state: Some(SyncState::Synced),
        ..Default::default()
    })
    .is_empty());
    assert_eq!(
        q(ListQuery {
            limit: Some(0),
            ..Default::default()
        })
        .len(),
        1,
        "limit is clamped to at least 1"
    );
}

const EN_HEADERS: [&str; 11] = [
    "Customer Number",
    "Name",
    "Arabic Name",
    "Phone",
    "Email",
    "Type",
    "Status",
    "Total Orders",
    "Total Spent (OMR)",
    "Loyalty Points",
    "Joined Date",
];

/// Sets a customer's figures and creation instant as the server's snapshot would.
fn set_figures(device: &Device, c: &Customer, orders: i64, spent_baisa: i64, created: &str) {
    let conn = dukkan_device::store::connect_existing(device.path()).unwrap();
    conn.execute(
        "UPDATE customers SET order_count = ?2, total_spent_minor = ?3, loyalty_points = ?4,
            created_at = ?5 WHERE id = ?1",
        rusqlite::params![
            c.id.to_string(),
            orders,
            spent_baisa,
            spent_baisa / 1000,
            created
        ],
    )
    .unwrap();
}

#[test]
fn the_excel_export_keeps_phones_as_text_figures_as_numbers_and_the_shops_days() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let (dir, d) = device();
    let a = add(&d, "Ahmed", Some("Al-Said"), Some("أحمد"), "92123456");
    let b = add(&d, "Badr", None, None, "92123457");
    d.create_guest().unwrap();
    assign_number(&d, &a, 7);
    // Joined at 23:30 and at 02:00 in Muscat (UTC+4): the shop's days, not UTC's.
    set_figures(&d, &a, 3, 12_345, "2026-12-05T19:30:00.000Z");
    set_figures(&d, &b, 0, 0, "2026-12-05T22:00:00.000Z");
    d.deactivate_customer(b.id).unwrap();

    let path = dir.path().join("export.xlsx");
    assert_eq!(
        d.export_xlsx(&ListQuery::default(), Locale::En, &path)
            .unwrap(),
        2,
        "what the list shows: walk-in guests only when asked for"
    );
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let sheet = book.worksheet_range("Customers").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), 3, "header and two customers");
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(header, EN_HEADERS);
    let ahmed = rows[1];
    assert_eq!(ahmed[0], Data::String("CUST-00007".into()));
    assert_eq!(ahmed[1], Data::String("Ahmed Al-Said".into()));
    assert_eq!(ahmed[2], Data::String("أحمد".into()));
    // The phone is text, never the number 9.68921E+10.
    assert_eq!(ahmed[3], Data::String("+96892123456".into()));
    assert_eq!(ahmed[6], Data::String("Active".into()));
    assert_eq!(ahmed[7], Data::Float(3.0));
    assert_eq!(ahmed[8], Data::Float(12.345));
    assert_eq!(ahmed[9], Data::Float(12.0));
    assert_eq!(ahmed[10], Data::String("2026-12-05".into()));
    let badr = rows[2];
    assert_eq!(badr[6], Data::String("Inactive".into()));
    assert_eq!(
        badr[10],
        Data::String("2026-12-06".into()),
        "02:00 in Muscat"
    );
    let guests = dir.path().join("guests.xlsx");
    let guest_only = ListQuery {
        kind: Some(CustomerKind::Guest),
        ..Default::default()
    };
    assert_eq!(d.export_xlsx(&guest_only, Locale::En, &guests).unwrap(), 1);
    let mut book: Xlsx<_> = open_workbook(&guests).unwrap();
    let sheet = book.worksheet_range("Customers").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows[1][1], Data::String("Walk-in customer".into()));

    // In Arabic, with the list's search and filters: only what the list shows.
    let ar = dir.path().join("export-ar.xlsx");
    let n = d
        .export_xlsx(
            &ListQuery {
                search: Some("أحمد".into()),
                active: Some(true),
                ..Default::default()
            },
            Locale::Ar,
            &ar,
        )
        .unwrap();
    assert_eq!(n, 1);
    let mut book: Xlsx<_> = open_workbook(&ar).unwrap();
    let sheet = book.worksheet_range("العملاء").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows[0][0], Data::String("رقم العميل".into()));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], Data::String("CUST-00007".into()));
}

#[test]
fn the_lists_search_finds_inactive_customers_when_the_filter_asks_for_them() {
    let (_dir, d) = device();
    let gone = add(&d, "Ahmed", None, None, "92123456");
    let here = add(&d, "Ahmad", None, None, "92123457");
    d.deactivate_customer(gone.id).unwrap();
    let found = |active: Option<bool>| -> Vec<dukkan_core::CustomerId> {
        d.list_customers(&ListQuery {
            search: Some("ahm".into()),
            active,
            ..Default::default()
        })
        .unwrap()
        .items
        .iter()
        .map(|c| c.id)
        .collect()
    };
    assert_eq!(found(Some(true)), vec![here.id]);
    assert_eq!(found(Some(false)), vec![gone.id]);
    let all = found(None);
    assert!(all.contains(&gone.id) && all.contains(&here.id) && all.len() == 2);
    // By phone too, and the counter's search still finds active customers only.
    let by_phone = d
        .list_customers(&ListQuery {
            search: Some("92123456".into()),
            active: Some(false),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_phone.items.len(), 1);
    assert!(d.search("92123456", 10).unwrap().is_empty());
}

#[test]
fn the_csv_export_honours_the_lists_search_and_filters() {
    let (_dir, d) = device();
    add(&d, "Ahmed", None, None, "92123456");
    add(&d, "Ahmad", None, None, "92123457");
    add(&d, "Salim", None, None, "92123458");
    let mut out = Vec::new();
    let n = d
        .export_csv(
            &ListQuery {
                search: Some("ahm".into()),
                ..Default::default()
            },
            Locale::En,
            &mut out,
        )
        .unwrap();
    assert_eq!(n, 2);
    let text = String::from_utf8(out[3..].to_vec()).unwrap();
    assert!(text.contains("Ahmed") && text.contains("Ahmad") && !text.contains("Salim"));
    // The list's page with the same term shows the same customers.
    let page = d
        .list_customers(&ListQuery {
            search: Some("ahm".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.next, None);
}

#[test]
fn the_csv_export_has_a_bom_localised_headers_and_escapes_formulas() {
    let (_dir, d) = device();
    let a = add(&d, "Ahmed", Some("Al-Said"), Some("أحمد"), "92123456");
    add(&d, "=HYPERLINK(\"http://x\")", None, None, "92123457");
    d.create_guest().unwrap();
    assign_number(&d, &a, 7);

    let mut en = Vec::new();
    assert_eq!(
        d.export_csv(&ListQuery::default(), Locale::En, &mut en)
            .unwrap(),
        2,
        "what the list shows: walk-in guests only when asked for"
    );
    assert!(en.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(en[3..].to_vec()).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(headers, EN_HEADERS);
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(&rows[0][0], "CUST-00007");
    assert_eq!(&rows[0][1], "Ahmed Al-Said");
    assert_eq!(&rows[0][2], "أحمد");
    assert_eq!(&rows[0][3], "+96892123456");
    assert_eq!(&rows[0][5], "Stub");
    assert_eq!(&rows[0][6], "Active");
    assert!(
        rows[1][1].starts_with("'="),
        "formula neutralised: {}",
        &rows[1][1]
    );
    assert_eq!(&rows[1][0], "Pending number");
    assert_eq!(rows.len(), 2);

    let mut ar = Vec::new();
    d.export_csv(
        &ListQuery {
            kind: Some(CustomerKind::Guest),
            ..Default::default()
        },
        Locale::Ar,
        &mut ar,
    )
    .unwrap();
    let text = String::from_utf8(ar[3..].to_vec()).unwrap();
    assert!(text.starts_with("رقم العميل,"));
    assert!(text.contains("عميل عابر"));
    assert_eq!(
        text.lines().count(),
        2,
        "filter applied: header + the guest"
    );
}

#[test]
fn a_last_4_search_starting_with_00_finds_the_phone_not_an_international_prefix() {
    let (_dir, d) = device();
    let a = add(&d, "Ahmed", None, None, "92120066");
    let hits = d.search("0066", 10).unwrap();
    assert_eq!(hits[0].customer.id, a.id);
    assert_eq!(hits[0].matched, MatchKind::PhoneLast4);
}

#[test]
fn phone_and_email_lookups_use_their_indexes_not_a_scan() {
    let (_dir, d) = device();
    let rows: Vec<StubInput> = (0..3000)
        .map(|i| StubInput {
            first_name: format!("C{i}"),
            phone: format!("9{}", 2_000_000 + i),
            ..Default::default()
        })
        .collect();
    d.import_stubs(&rows).unwrap();
    let conn = dukkan_device::store::connect_existing(d.path()).unwrap();
    // The app runs without ANALYZE statistics; the planner must still pick the selective index.

    let plan = |sql: &str| -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    };
    for (sql, index) in [
        ("SELECT 1 FROM customers c WHERE c.phone = '+96892123456' AND +c.active = 1", "customers_phone"),
        ("SELECT 1 FROM customers c WHERE c.phone_last4 = '3456' AND +c.active = 1 ORDER BY c.id DESC", "customers_phone_last4"),
        (
            "SELECT 1 FROM customers c WHERE c.email IS NOT NULL AND lower(c.email) >= 'a' AND lower(c.email) < 'b' AND +c.active = 1",
            "customers_email",
        ),
    ] {
        let p = plan(sql);
        assert!(p.contains(index), "{sql}\n  uses: {p}");
    }
}
