//! End to end in the real desktop app: the built `dukkan` binary driven through tauri-driver and
//! WebKitWebDriver (under Xvfb when there is no display), on a fresh SQLite store per test.
//!
//! Needs `tauri-driver` (installed by `scripts/test-e2e.sh` into target/tools) and the packages of
//! `scripts/setup-system.sh`. Ignored by a plain `cargo test`; run with
//! `bash scripts/test-e2e.sh`. Screenshots go to target/e2e/.
#![allow(clippy::unwrap_used)]

use fantoccini::key::Key;
use fantoccini::Locator;
use std::time::{Duration, Instant};

#[path = "e2e_support/mod.rs"]
mod e2e;

use e2e::{start, start_bare, start_in, ONE_AT_A_TIME};

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn a_phone_not_found_becomes_a_stub_with_f2_and_appears_in_the_list() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.use_language("en").await;
    assert_eq!(app.html_attr("dir").await, "ltr");

    let search = app.find("search").await;
    search.send_keys("90123456").await.unwrap();
    assert!(app.text("no-results").await.contains("90123456"));
    app.screenshot("counter-not-found-en").await;

    app.press(Key::F2).await;
    let first = app.find("first-name").await;
    assert_eq!(
        app.find("phone")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("90123456")
    );
    first.send_keys("Ahmed").await.unwrap();
    app.screenshot("stub-form-en").await;
    app.press(Key::Enter).await;

    let confirmation = app.find("confirmation").await;
    assert_eq!(
        confirmation.attr("data-outcome").await.unwrap().as_deref(),
        Some("created")
    );
    assert!(app.text("card-number").await.contains("Pending number"));
    app.screenshot("counter-created-en").await;

    app.press(Key::F8).await;
    let row = app.find("row").await;
    let text = row.text().await.unwrap();
    assert!(
        text.contains("Ahmed") && text.contains("+968 •••• 3456") && !text.contains("90123456"),
        "{text}"
    );
    app.screenshot("customers-en").await;

    // The same phone again is offered, not duplicated.
    app.press(Key::F2).await;
    app.find("first-name")
        .await
        .send_keys("Ahmad")
        .await
        .unwrap();
    app.find("phone")
        .await
        .send_keys("9012 3456")
        .await
        .unwrap();
    app.press(Key::Enter).await;
    let confirmation = app.find("confirmation").await;
    assert_eq!(
        confirmation.attr("data-outcome").await.unwrap().as_deref(),
        Some("existing")
    );
    assert_eq!(app.text("card-name").await, "Ahmed");
    app.close().await;
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn the_app_as_shipped_starts_its_web_process_without_gpu_compositing() {
    let _one = ONE_AT_A_TIME.lock().await;
    // The driven app gives a display; a second till on its own data is started beside it as a
    // person starts it (no driver, nothing set in its environment).
    let app = start_bare().await;
    let data = tempfile::tempdir().unwrap();
    let mut till = launch_again(&app, data.path());
    let deadline = Instant::now() + Duration::from_secs(30);
    let web = loop {
        let web = e2e::web_process_environments(data.path());
        if !web.is_empty() || Instant::now() > deadline {
            break web;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &till.id().to_string()])
        .status();
    let _ = till.wait();
    app.close().await;
    // The app sets it for WebKit before the window opens (`dukkan_app::NO_COMPOSITING_ENV`):
    // about 160 MiB less in the web process with a long list (BENCHMARKS.md).
    assert!(
        !web.is_empty(),
        "the till's WebKit web process was not found"
    );
    let off = format!("{}=1", dukkan_app::NO_COMPOSITING_ENV);
    for vars in &web {
        assert!(
            vars.contains(&off),
            "a web process of the shipped app draws with GPU compositing"
        );
    }
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn the_stub_flow_works_in_arabic_right_to_left() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.use_language("ar").await;
    assert_eq!(app.html_attr("dir").await, "rtl");
    assert!(app.text("new-customer").await.contains("عميل جديد"));

    app.press(Key::F2).await;
    app.find("first-name")
        .await
        .send_keys("سالم")
        .await
        .unwrap();
    // Arabic-Indic digits, as typed on an Arabic keyboard.
    app.find("phone").await.send_keys("٩٠١٢٣٤٥٧").await.unwrap();
    app.screenshot("stub-form-ar").await;
    app.press(Key::Enter).await;

    let confirmation = app.find("confirmation").await;
    assert_eq!(
        confirmation.attr("data-outcome").await.unwrap().as_deref(),
        Some("created")
    );
    assert!(confirmation.text().await.unwrap().contains("تم حفظ العميل"));
    assert_eq!(app.text("card-phone").await, "+968 9012 3457");
    assert!(app.text("card-number").await.contains("رقم قيد الانتظار"));
    app.screenshot("counter-created-ar").await;

    // A bad phone: a localised error, and nothing saved.
    app.press(Key::Escape).await;
    app.press(Key::F2).await;
    app.find("first-name")
        .await
        .send_keys("خالد")
        .await
        .unwrap();
    app.find("phone").await.send_keys("123").await.unwrap();
    app.press(Key::Enter).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.text("error").await.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.text("error").await,
        "رقم الهاتف غير صحيح. تحقق من الأرقام ورمز الدولة."
    );
    app.screenshot("stub-error-ar").await;

    app.press(Key::F8).await;
    app.find("row").await;
    let rows = app
        .client
        .find_all(Locator::Css("[data-testid='row']"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the bad phone saved nothing");
    app.screenshot("customers-ar").await;
    app.close().await;
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn the_sync_indicator_shows_not_enrolled_and_the_pending_count_after_an_offline_create() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.use_language("en").await;
    let indicator = app.find("sync-indicator").await;
    assert_eq!(
        app.text_until("sync-connection", |t| t == "Not enrolled")
            .await,
        "Not enrolled"
    );
    assert_eq!(
        indicator.attr("data-state").await.unwrap().as_deref(),
        Some("not-enrolled")
    );
    assert_eq!(app.text("sync-pending").await, "All changes sent");

    app.find("search").await;
    app.press(Key::F2).await;
    app.find("first-name")
        .await
        .send_keys("Huda")
        .await
        .unwrap();
    app.find("phone").await.send_keys("92345678").await.unwrap();
    app.press(Key::Enter).await;
    app.find("confirmation").await;
    assert_eq!(
        app.text_until("sync-pending", |t| t == "1 change waiting")
            .await,
        "1 change waiting"
    );
    app.screenshot("sync-indicator-pending-en").await;

    // The panel opens from the indicator and says why nothing is sent.
    indicator.click().await.unwrap();
    let panel = app.find("sync-panel").await;
    assert!(panel
        .text()
        .await
        .unwrap()
        .contains("works on its own until it is enrolled"));
    assert_eq!(app.text("parked-none").await, "No refused changes.");
    app.screenshot("sync-panel-en").await;
    app.close().await;
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn settings_switch_to_arabic_and_a_saved_store_location_gives_addresses_a_distance() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.use_language("en").await;
    app.find("search").await;
    app.press(Key::F9).await;
    app.find("settings-language-ar")
        .await
        .click()
        .await
        .unwrap();
    assert_eq!(app.html_attr("dir").await, "rtl");
    assert_eq!(app.html_attr("lang").await, "ar");
    assert!(app.text("nav-settings").await.contains("الإعدادات"));
    assert_eq!(app.text("sync-connection").await, "غير مسجّل");
    // The store is encrypted; under the test script its key is in the real Secret Service.
    if std::env::var("DUKKAN_REQUIRE_SECRET_SERVICE").as_deref() == Ok("1") {
        app.wait_attr(
            "key-place",
            "data-kind",
            "credentialStore",
            Duration::from_secs(5),
        )
        .await;
        assert!(app.text("key-place").await.contains("مشفّرة"));
    }

    // Arabic-Indic digits with the Arabic decimal separator, as typed on an Arabic keyboard.
    app.find("store-latitude")
        .await
        .send_keys("٢٣٫٥٨٨٠")
        .await
        .unwrap();
    app.find("store-longitude")
        .await
        .send_keys("٥٨٫٣٨٢٩")
        .await
        .unwrap();
    app.find("store-save").await.click().await.unwrap();
    assert_eq!(
        app.text_until("store-notice", |t| !t.is_empty()).await,
        "حُفظ موقع المتجر."
    );
    assert!(app.text("store-current").await.contains("23.588, 58.3829"));
    app.screenshot("settings-ar").await;

    // A bad latitude: a localised error, and the saved location is kept.
    let lat = app.find("store-latitude").await;
    lat.send_keys("NaN").await.unwrap();
    app.find("store-longitude")
        .await
        .send_keys("58")
        .await
        .unwrap();
    app.find("store-save").await.click().await.unwrap();
    assert_eq!(
        app.text_until("store-error", |t| !t.is_empty()).await,
        "يجب أن يكون خط العرض رقماً، مثل 23.5880."
    );
    assert!(app.text("store-current").await.contains("23.588, 58.3829"));

    // A customer with an address about 2.2 km from the store.
    app.press(Key::F2).await;
    app.find("first-name")
        .await
        .send_keys("سالم")
        .await
        .unwrap();
    app.find("phone").await.send_keys("92345679").await.unwrap();
    app.press(Key::Enter).await;
    app.find("confirm-open").await.click().await.unwrap();
    app.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#tab-addresses"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    app.find("add-address").await.click().await.unwrap();
    app.find("address-area")
        .await
        .send_keys("القرم")
        .await
        .unwrap();
    app.find("address-latitude")
        .await
        .send_keys("23.6")
        .await
        .unwrap();
    app.find("address-longitude")
        .await
        .send_keys("58.4")
        .await
        .unwrap();
    app.find("address-save").await.click().await.unwrap();
    let distance = app.text("distance").await;
    assert!(
        distance == "على بُعد 2.2 كم من المتجر" || distance == "على بُعد ٢٫٢ كم من المتجر",
        "{distance}"
    );
    app.screenshot("address-distance-ar").await;

    // The Activity tab lists what was done, newest first, with Arabic action names.
    app.client
        .find(Locator::Css("#tab-activity"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    app.find("audit-entry").await;
    let actions = app
        .client
        .find_all(Locator::Css("[data-testid='audit-action']"))
        .await
        .unwrap();
    let mut names = Vec::new();
    for a in actions {
        names.push(a.text().await.unwrap());
    }
    assert_eq!(names, ["إضافة عنوان", "إنشاء عميل"]);
    let states = app
        .client
        .find_all(Locator::Css(
            "[data-testid='sync-entry'][data-state='pending']",
        ))
        .await
        .unwrap();
    assert_eq!(states.len(), 2, "both changes wait for the server");
    app.screenshot("activity-ar").await;
    app.close().await;
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn a_walk_in_guest_takes_one_key_and_enter_is_ready_for_the_next_customer() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.use_language("en").await;
    app.find("search").await;

    app.press(Key::F4).await;
    let confirmation = app.find("confirmation").await;
    assert_eq!(
        confirmation.attr("data-outcome").await.unwrap().as_deref(),
        Some("guest")
    );
    assert_eq!(app.text("card-name").await, "Walk-in customer");
    assert!(app.text("customer-card").await.contains("Guest"));
    // The focus is on "next customer": Enter goes straight back to an empty search box.
    let focused = app.client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("data-testid").await.unwrap().as_deref(),
        Some("new-search")
    );
    app.screenshot("counter-guest-en").await;
    app.press(Key::Enter).await;
    let search = app.find("search").await;
    assert_eq!(search.prop("value").await.unwrap().as_deref(), Some(""));

    // A second walk-in is another guest, not the same one.
    app.press(Key::F4).await;
    app.find("confirmation").await;
    app.press(Key::F8).await;
    // Walk-ins stay out of the list until a manager asks for them.
    app.find("list-count").await;
    assert_eq!(app.count("row").await, 0, "no guests in the default list");
    app.find("filter-type")
        .await
        .select_by_value("guest")
        .await
        .unwrap();
    app.find("row").await;
    let rows = app
        .client
        .find_all(Locator::Css("[data-testid='row']"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "two walk-ins, two guests");
    app.close().await;
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn a_new_standalone_till_shows_nothing_until_its_owner_sets_a_pin_and_asks_for_it_at_the_next_start(
) {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start_bare().await;
    app.use_language("en").await;
    app.find("owner-setup").await;
    assert_eq!(app.count("search").await, 0, "no counter before the owner");
    assert_eq!(app.count("nav-settings").await, 0, "no settings either");
    app.screenshot("owner-setup-en").await;

    // Too short a PIN: the shell's localised refusal, and nothing opens.
    app.find("owner-name")
        .await
        .send_keys("Huda")
        .await
        .unwrap();
    app.find("owner-pin")
        .await
        .send_keys("12345")
        .await
        .unwrap();
    app.find("owner-pin-again")
        .await
        .send_keys("12345")
        .await
        .unwrap();
    app.find("owner-submit").await.click().await.unwrap();
    assert_eq!(
        app.text_until("owner-error", |t| !t.is_empty()).await,
        "The PIN must have at least 6 digits."
    );
    app.use_language("ar").await;
    assert_eq!(app.html_attr("dir").await, "rtl");
    let arabic = app.text("owner-error").await;
    assert!(
        arabic.contains("يجب أن يتكون الرمز السري من")
            && (arabic.contains("٦") || arabic.contains("6")),
        "{arabic}"
    );
    app.screenshot("owner-setup-ar").await;
    app.use_language("en").await;

    app.find("owner-name").await.clear().await.unwrap();
    app.set_up_owner("Huda").await;
    assert!(app.text("signed-in").await.contains("Huda"));
    app.find("search").await;

    // The next start, on the same store, asks for the owner's PIN.
    let data = app.close_keeping_data().await;
    let app = start_in(data).await;
    app.use_language("en").await;
    app.wait_text("signin", "Huda", Duration::from_secs(30))
        .await;
    assert_eq!(app.count("search").await, 0);
    app.sign_in_owner().await;
    app.find("search").await;
    app.close().await;
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn a_till_whose_data_key_is_gone_explains_it_in_the_window_and_changes_nothing() {
    use dukkan_device::{store_key, KeyPlace};
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.find("search").await;
    let data = app.close_keeping_data().await;
    // The credential store loses the key (a reset Windows profile, a data folder copied to
    // another PC): the store is still there, unreadable.
    let store = data.path().join("dukkan.sqlite3");
    let key_file = store_key::key_file(&store);
    let place = if key_file.exists() {
        KeyPlace::File {
            path: key_file.display().to_string(),
        }
    } else {
        KeyPlace::CredentialStore
    };
    store_key::forget(&store, &place).unwrap();
    let before = std::fs::read(&store).unwrap();

    let app = start_in(data).await;
    app.use_language("en").await;
    let problem = app.find("startup-problem").await;
    assert_eq!(
        problem.attr("data-code").await.unwrap().as_deref(),
        Some("storage.key-missing")
    );
    assert!(app
        .text("startup-problem-message")
        .await
        .contains("credential store"));
    assert!(app
        .text("startup-problem-store")
        .await
        .ends_with("dukkan.sqlite3"));
    assert_eq!(app.count("search").await, 0, "no desk without its data");
    assert_eq!(app.count("nav-settings").await, 0);
    app.screenshot("startup-problem-en").await;
    app.use_language("ar").await;
    assert!(app
        .text("startup-problem")
        .await
        .contains("تعذّر فتح بيانات"));
    app.screenshot("startup-problem-ar").await;
    let data = app.close_keeping_data().await;
    assert_eq!(
        std::fs::read(data.path().join("dukkan.sqlite3")).unwrap(),
        before,
        "the unreadable store was left as it was"
    );
}

/// The file an export notice names (Fluent isolates the path with FSI/PDI marks).
fn exported_path(notice: &str) -> std::path::PathBuf {
    let clean: String = notice
        .chars()
        .filter(|c| !matches!(c, '\u{2066}'..='\u{2069}'))
        .collect();
    let start = clean.find('/').expect("a path in the notice");
    let end = clean.find(".xlsx").expect("an .xlsx file") + ".xlsx".len();
    std::path::PathBuf::from(&clean[start..end])
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn the_customer_list_exports_an_excel_file_with_phones_as_text_in_english_and_arabic() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.use_language("en").await;
    app.press(Key::F2).await;
    app.find("first-name")
        .await
        .send_keys("Ahmed")
        .await
        .unwrap();
    // Pasted from a chat app: a direction mark and slashes.
    app.find("phone")
        .await
        .send_keys("\u{200F}9212/3456")
        .await
        .unwrap();
    app.press(Key::Enter).await;
    app.find("confirmation").await;
    assert_eq!(app.text("card-phone").await, "+968 9212 3456");

    app.press(Key::F8).await;
    app.find("row").await;
    app.find("export-xlsx").await.click().await.unwrap();
    let notice = app
        .wait_text("notice", ".xlsx", Duration::from_secs(30))
        .await;
    let path = exported_path(&notice);
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let sheet = book.worksheet_range("Customers").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), 2, "header and Ahmed");
    assert_eq!(rows[0][3], Data::String("Phone".into()));
    assert_eq!(rows[1][1], Data::String("Ahmed".into()));
    assert_eq!(
        rows[1][3],
        Data::String("+96892123456".into()),
        "phone as text"
    );
    assert_eq!(rows[1][7], Data::Float(0.0), "orders as a number");
    app.screenshot("customers-export-en").await;

    app.use_language("ar").await;
    app.find("export-xlsx").await.click().await.unwrap();
    let notice = app
        .text_until("notice", |t| t.contains(".xlsx") && t.contains("تصدير"))
        .await;
    let path = exported_path(&notice);
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let sheet = book.worksheet_range("العملاء").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows[0][0], Data::String("رقم العميل".into()));
    assert_eq!(rows[1][3], Data::String("+96892123456".into()));
    app.screenshot("customers-export-ar").await;
    app.close().await;
}

/// Makes a stub through the counter's F2 form.
async fn new_stub(app: &e2e::App, name: &str, phone: &str) {
    app.new_stub(name, phone).await;
}

/// Clicks the list's Deactivate button of `name` (its label ends with the name in either
/// language) and confirms.
async fn deactivate_in_list(app: &e2e::App, name: &str) {
    app.client
        .wait()
        .for_element(Locator::Css(&format!("button[aria-label$=': {name}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    app.find("deactivate-yes").await.click().await.unwrap();
}

async fn show(app: &e2e::App, status: &str, search: &str) {
    app.find("filter-active")
        .await
        .select_by_value(status)
        .await
        .unwrap();
    let field = app.find("list-search").await;
    // WebDriver's clear fires no input event: type a character and delete it, so the list
    // hears the empty search.
    field.clear().await.unwrap();
    field.send_keys("x").await.unwrap();
    field.send_keys(&Key::Backspace.to_string()).await.unwrap();
    if !search.is_empty() {
        field.send_keys(search).await.unwrap();
    }
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn a_manager_finds_a_deactivated_customer_by_name_and_reactivates_them_in_english_and_arabic()
{
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.use_language("en").await;
    new_stub(&app, "Ahmed", "92123456").await;
    new_stub(&app, "Salim", "92123457").await;

    app.press(Key::F8).await;
    deactivate_in_list(&app, "Ahmed").await;
    app.wait_text("notice", "Ahmed was deactivated.", Duration::from_secs(10))
        .await;
    // A returning customer: found by name among the inactive ones.
    show(&app, "inactive", "ahm").await;
    app.wait_text("customer-table", "Ahmed", Duration::from_secs(10))
        .await;
    assert_eq!(app.count("row").await, 1);
    app.screenshot("customers-inactive-en").await;
    app.find("reactivate").await.click().await.unwrap();
    app.wait_text("notice", "Ahmed is active again.", Duration::from_secs(10))
        .await;
    show(&app, "active", "ahm").await;
    app.wait_text("customer-table", "Ahmed", Duration::from_secs(10))
        .await;

    app.use_language("ar").await;
    show(&app, "active", "").await;
    deactivate_in_list(&app, "Salim").await;
    app.wait_text("notice", "تم إلغاء تفعيل", Duration::from_secs(10))
        .await;
    show(&app, "inactive", "92123457").await;
    app.wait_text("customer-table", "Salim", Duration::from_secs(10))
        .await;
    app.screenshot("customers-inactive-ar").await;
    app.find("reactivate").await.click().await.unwrap();
    app.wait_text("notice", "نشط من جديد", Duration::from_secs(10))
        .await;
    app.screenshot("customers-reactivated-ar").await;
    app.close().await;
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn a_cashier_records_drop_off_orders_offline_that_count_in_figures_and_points_in_english_and_arabic(
) {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.use_language("en").await;
    app.press(Key::F2).await;
    app.find("first-name")
        .await
        .send_keys("Ahmed")
        .await
        .unwrap();
    app.find("phone").await.send_keys("92123456").await.unwrap();
    app.press(Key::Enter).await;
    // Straight from the counter's confirmation to the order form, the amount ready for typing.
    app.find("confirm-order").await.click().await.unwrap();
    app.wait_text("orders-none", "No orders yet.", Duration::from_secs(10))
        .await;
    let focused = app.client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("data-testid").await.unwrap().as_deref(),
        Some("order-amount")
    );
    let proposed = app
        .find("order-ticket")
        .await
        .attr("placeholder")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(proposed.ends_with("-00001"), "{proposed}");

    // A typo first: the field's error, and nothing recorded.
    app.find("order-amount")
        .await
        .send_keys("4,5x")
        .await
        .unwrap();
    app.find("order-record").await.click().await.unwrap();
    app.wait_text("orders-error", "Amount", Duration::from_secs(10))
        .await;
    assert_eq!(app.count("order-row").await, 0);

    let amount = app.find("order-amount").await;
    amount.clear().await.unwrap();
    amount.send_keys("4.5").await.unwrap();
    let pieces = app.find("order-pieces").await;
    pieces.clear().await.unwrap();
    pieces.send_keys("3").await.unwrap();
    app.press(Key::Enter).await;
    let notice = app
        .wait_text("orders-notice", "recorded", Duration::from_secs(10))
        .await;
    assert!(notice.contains(&proposed), "{notice}");
    assert!(notice.contains("4.500 OMR, 4 points"), "{notice}");
    app.wait_text(
        "orders-summary",
        "One order · 4.500 OMR spent · 4 points",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(app.count("order-row").await, 1);
    assert_eq!(app.text("order-row-ticket").await, proposed);

    // The owner is a manager: takes a point away, saying why.
    app.find("points-delta")
        .await
        .send_keys("-1")
        .await
        .unwrap();
    app.find("points-reason")
        .await
        .send_keys("stain not removed")
        .await
        .unwrap();
    app.find("points-save").await.click().await.unwrap();
    app.wait_text("orders-notice", "Points now: 3.", Duration::from_secs(10))
        .await;
    app.wait_text("orders-summary", "3 points", Duration::from_secs(10))
        .await;
    app.screenshot("orders-en").await;

    // In Arabic, right to left, amounts typed with Arabic-Indic digits and separator.
    app.use_language("ar").await;
    assert_eq!(app.html_attr("dir").await, "rtl");
    app.find("order-amount")
        .await
        .send_keys("٢٫٥")
        .await
        .unwrap();
    app.find("order-record").await.click().await.unwrap();
    app.wait_text("orders-notice", "سُجّل الطلب", Duration::from_secs(10))
        .await;
    let summary = app
        .wait_text("orders-summary", "طلبان", Duration::from_secs(10))
        .await;
    assert!(
        summary.contains("7.000 ر.ع.") || summary.contains("٧٫٠٠٠ ر.ع."),
        "{summary}"
    );
    assert_eq!(app.count("order-row").await, 2);
    app.screenshot("orders-ar").await;

    // Both orders wait for the server, and the customer list counts them.
    app.press(Key::Escape).await;
    app.press(Key::F8).await;
    app.wait_text("customer-table", "Ahmed", Duration::from_secs(10))
        .await;
    let cell = |testid: &'static str| {
        let app = &app;
        async move {
            let js = format!(
                "return document.querySelector(\"[data-testid='{testid}']\")?.textContent ?? ''"
            );
            let v = app.client.execute(&js, vec![]).await.unwrap();
            v.as_str().unwrap_or_default().trim().to_owned()
        }
    };
    assert_eq!(cell("row-orders").await, "2");
    assert_eq!(cell("row-points").await, "5", "4 + 2 earned, 1 taken away");
    app.close().await;
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn a_manager_merges_a_likely_duplicate_with_a_reason_and_undoes_it_in_english_and_arabic() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.use_language("en").await;
    // Salim with an order, and Salim again under the phone with two digits swapped.
    app.press(Key::F2).await;
    app.find("first-name")
        .await
        .send_keys("Salim")
        .await
        .unwrap();
    app.find("phone").await.send_keys("92123456").await.unwrap();
    app.press(Key::Enter).await;
    app.find("confirm-order").await.click().await.unwrap();
    app.find("order-amount").await.send_keys("5").await.unwrap();
    app.press(Key::Enter).await;
    app.wait_text("orders-notice", "recorded", Duration::from_secs(10))
        .await;
    app.press(Key::Escape).await;
    new_stub(&app, "Salim", "92123465").await;

    app.press(Key::F8).await;
    app.find("find-duplicates").await.click().await.unwrap();
    app.wait_text("duplicate-pair", "Salim", Duration::from_secs(10))
        .await;
    assert_eq!(app.count("duplicate-pair").await, 1);
    app.find("review-merge").await.click().await.unwrap();
    app.wait_text("merge-orders", "0", Duration::from_secs(10))
        .await;
    // The one with the order is suggested to stay; keep the other one instead.
    app.find("merge-swap").await.click().await.unwrap();
    app.wait_text("merge-orders", "1", Duration::from_secs(10))
        .await;
    assert_eq!(app.text("merge-points").await, "5");
    // No reason: refused, and nothing merged.
    app.find("merge-confirm").await.click().await.unwrap();
    app.wait_text("merge-error", "Reason", Duration::from_secs(10))
        .await;
    app.find("merge-reason")
        .await
        .send_keys("Same person, phone typo")
        .await
        .unwrap();
    app.screenshot("merge-preview-en").await;
    app.find("merge-confirm").await.click().await.unwrap();
    app.wait_text("merge-done", "was merged into", Duration::from_secs(10))
        .await;
    assert!(app.text("merge-done").await.contains("Orders moved: 1"));
    app.screenshot("merge-done-en").await;
    app.find("merge-undo").await.click().await.unwrap();
    app.wait_text("merge-notice", "Merge undone", Duration::from_secs(10))
        .await;

    // In Arabic: the pair is back; merged again and read in the survivor's log.
    app.use_language("ar").await;
    assert_eq!(app.html_attr("dir").await, "rtl");
    app.find("duplicates-refresh").await.click().await.unwrap();
    app.wait_text("duplicate-pair", "Salim", Duration::from_secs(10))
        .await;
    app.find("review-merge").await.click().await.unwrap();
    app.find("merge-reason")
        .await
        .send_keys("نفس العميل")
        .await
        .unwrap();
    app.find("merge-confirm").await.click().await.unwrap();
    app.wait_text("merge-done", "دُمج", Duration::from_secs(10))
        .await;
    app.screenshot("merge-done-ar").await;
    app.find("merge-open-kept").await.click().await.unwrap();
    app.client
        .wait()
        .for_element(Locator::Css("#tab-activity"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    app.wait_text("merge-log", "نفس العميل", Duration::from_secs(10))
        .await;
    assert_eq!(app.count("merge-log-undo").await, 1);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        app.count("merge-log").await,
        1,
        "the Activity tab stays open"
    );
    app.client
        .execute(
            "document.querySelector(\"[data-testid='merge-log']\").scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    app.screenshot("merge-log-ar").await;
    app.close().await;
}

/// Launches the app binary directly on `data`, on the display of the app under test.
fn launch_again(app: &e2e::App, data: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_dukkan"))
        .env("DISPLAY", &app.display)
        .env_remove(dukkan_app::NO_COMPOSITING_ENV)
        .env("DUKKAN_DATA_DIR", data)
        .env("XDG_DATA_HOME", data.join("xdg-data"))
        .env("XDG_CACHE_HOME", data.join("xdg-cache"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn launching_the_app_again_on_the_same_till_shows_the_open_window_and_opens_no_second_one() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.use_language("en").await;
    new_stub(&app, "Ahmed", "92123456").await;

    let mut again = launch_again(&app, app.data.path());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = again.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = again.kill();
            panic!("a second launch on the same till kept running");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}");
    app.wait_text(
        "second-launch",
        "Dukkan is already open on this till",
        Duration::from_secs(10),
    )
    .await;
    app.screenshot("second-launch-en").await;
    // The first window still works on its store.
    app.press(Key::F2).await;
    app.find("first-name").await;

    // Another till's data on the same machine is another till: that launch stays up.
    let other = tempfile::tempdir().unwrap();
    let mut third = launch_again(&app, other.path());
    tokio::time::sleep(Duration::from_secs(4)).await;
    let running = third.try_wait().unwrap().is_none();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &third.id().to_string()])
        .status();
    let _ = third.wait();
    assert!(running, "a till on other data is not the same till");
    app.close().await;
}

#[tokio::test]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn a_manager_backs_the_till_up_with_a_passphrase_and_a_wrong_one_restores_nothing_in_english_and_arabic(
) {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = start().await;
    app.use_language("en").await;
    new_stub(&app, "Ahmed", "92123456").await;
    app.press(Key::F9).await;
    app.find("backup-passphrase")
        .await
        .send_keys("harbour lights 1987")
        .await
        .unwrap();
    app.find("backup-passphrase-again")
        .await
        .send_keys("harbour lights 1987")
        .await
        .unwrap();
    app.find("backup-submit").await.click().await.unwrap();
    app.wait_text("backup-done", "Backup saved", Duration::from_secs(20))
        .await;
    let path = app.text("backup-path").await;
    let path =
        path.trim_matches(|c: char| c.is_whitespace() || ('\u{2066}'..='\u{2069}').contains(&c));
    assert!(path.ends_with(".dukkan-backup"), "{path}");
    let bytes = std::fs::read(path).unwrap();
    assert!(
        !bytes.starts_with(b"SQLite format 3"),
        "the backup is encrypted"
    );
    assert!(
        !bytes.windows(5).any(|w| w == b"Ahmed"),
        "no customer name in the clear"
    );
    app.screenshot("backup-en").await;

    // In Arabic, a restore with a passphrase that does not open the backup changes nothing.
    app.use_language("ar").await;
    app.find("restore-path")
        .await
        .send_keys(path)
        .await
        .unwrap();
    app.find("restore-passphrase")
        .await
        .send_keys("not the passphrase")
        .await
        .unwrap();
    app.find("restore-start").await.click().await.unwrap();
    app.find("restore-confirm").await.click().await.unwrap();
    app.wait_text(
        "restore-error",
        "عبارة المرور هذه لا تفتح النسخة الاحتياطية",
        Duration::from_secs(20),
    )
    .await;
    app.screenshot("restore-refused-ar").await;
    // The till goes on as it was.
    app.press(Key::F3).await;
    app.find("search").await.send_keys("3456").await.unwrap();
    app.wait_text("results", "Ahmed", Duration::from_secs(10))
        .await;
    app.close().await;
}
