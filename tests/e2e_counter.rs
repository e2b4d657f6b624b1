//! End to end in the real desktop app: the built `dukkan` binary driven through tauri-driver and
//! WebKitWebDriver (under Xvfb when there is no display), on a fresh SQLite store per test.
//!
//! Needs `tauri-driver` (installed by `scripts/test-e2e.sh` into target/tools) and the packages of
//! `scripts/setup-system.sh`. Ignored by a plain `cargo test`; run with
//! `bash scripts/test-e2e.sh`. Screenshots go to target/e2e/.
#![allow(clippy::unwrap_used)]

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// tauri-driver and WebKitWebDriver listen on fixed ports: one app at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const DRIVER_URL: &str = "http://127.0.0.1:4444";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tauri_driver() -> PathBuf {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return PathBuf::from(p);
    }
    let local = repo().join("target/tools/bin/tauri-driver");
    if local.exists() {
        return local;
    }
    PathBuf::from("tauri-driver")
}

/// Processes stopped with SIGTERM when the test ends (SIGKILL would orphan WebKitWebDriver).
struct Stop(Vec<Child>);

impl Drop for Stop {
    fn drop(&mut self) {
        for child in self.0.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A display for the app: the current one, else a private Xvfb.
fn display(procs: &mut Vec<Child>) -> String {
    if let Ok(d) = std::env::var("DISPLAY") {
        if !d.is_empty() {
            return d;
        }
    }
    let n = 90 + (std::process::id() % 100);
    let display = format!(":{n}");
    let xvfb = Command::new("Xvfb")
        .args([
            display.as_str(),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb (scripts/setup-system.sh installs it)");
    procs.push(xvfb);
    let socket = format!("/tmp/.X11-unix/X{n}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !Path::new(&socket).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    display
}

/// The app, started by tauri-driver on an empty data directory.
struct App {
    client: Client,
    _data: tempfile::TempDir,
    _procs: Stop,
}

async fn start() -> App {
    let data = tempfile::tempdir().unwrap();
    let mut procs = Vec::new();
    let display = display(&mut procs);
    let driver = Command::new(tauri_driver())
        .env("DISPLAY", &display)
        .env("DUKKAN_DATA_DIR", data.path())
        // A fresh WebKit profile too, so a language chosen in another run does not leak in.
        .env("XDG_DATA_HOME", data.path().join("xdg-data"))
        .env("XDG_CACHE_HOME", data.path().join("xdg-cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tauri-driver: run scripts/test-e2e.sh, which installs it into target/tools");
    procs.push(driver);
    let procs = Stop(procs);

    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": env!("CARGO_BIN_EXE_dukkan") }),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(DRIVER_URL)
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("could not start the app through tauri-driver: {e}"),
        }
    };
    App {
        client,
        _data: data,
        _procs: procs,
    }
}

impl App {
    async fn find(&self, testid: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(&format!("[data-testid='{testid}']")))
            .await
            .unwrap_or_else(|e| panic!("no [data-testid={testid}]: {e}"))
    }

    async fn text(&self, testid: &str) -> String {
        self.find(testid).await.text().await.unwrap()
    }

    async fn press(&self, key: Key) {
        let active = self.client.active_element().await.unwrap();
        active
            .send_keys(&char::from(key).to_string())
            .await
            .unwrap();
    }

    async fn html_attr(&self, name: &str) -> String {
        let v = self
            .client
            .execute(
                &format!("return document.documentElement.getAttribute('{name}')"),
                vec![],
            )
            .await
            .unwrap();
        v.as_str().unwrap_or_default().to_owned()
    }

    async fn use_language(&self, lang: &str) {
        if self.html_attr("lang").await != lang {
            self.find("language").await.click().await.unwrap();
        }
        assert_eq!(self.html_attr("lang").await, lang);
    }

    async fn screenshot(&self, name: &str) {
        let dir = repo().join("target/e2e");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

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
        text.contains("Ahmed") && text.contains("+96890123456"),
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
    assert_eq!(app.text("card-phone").await, "+96890123457");
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

impl App {
    /// Waits until `testid`'s text satisfies `ok` (the sync indicator re-reads the store every
    /// 2 s), and returns it.
    async fn text_until(&self, testid: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.text(testid).await;
            if ok(&text) || Instant::now() > deadline {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
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
