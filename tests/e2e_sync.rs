//! End to end in the real desktop app with a real tenant server: the app (its own SQLite store,
//! enrolled before it starts) works offline, then syncs when the server becomes reachable; an
//! upgrade requested offline gets its code texted on reconnect and is verified in the app.
//!
//! The server runs in this test process on 127.0.0.1 with a fresh Postgres database; between the
//! app and the server sits a gate (a TCP forwarder) the test opens and closes to take the till
//! offline and online. Ignored by a plain `cargo test`; run with `bash scripts/test-e2e.sh`.
#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "e2e_support/mod.rs"]
mod e2e;

#[path = "common/mod.rs"]
mod common;

use fantoccini::key::Key;
use std::net::SocketAddr;
use std::time::Duration;

fn code_in(body: &str) -> String {
    let chars: Vec<char> = body.chars().collect();
    chars
        .windows(6)
        .find(|w| w.iter().all(|c| c.is_ascii_digit()))
        .map(|w| w.iter().collect())
        .unwrap_or_else(|| panic!("no code in the text"))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn offline_create_and_upgrade_sync_on_reconnect_and_the_code_verifies_in_the_app() {
    let _one = e2e::ONE_AT_A_TIME.lock().await;
    let server = support::TestApp::spawn().await;
    server.tenant("muscat").await;
    let upstream: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let mut gate = common::gate::Gate::new(upstream);

    // Enroll the till's store through the gate, then take the till offline and start the app.
    let data = tempfile::tempdir().unwrap();
    gate.open().await;
    {
        let device = dukkan_device::Device::open(data.path().join("dukkan.sqlite3")).unwrap();
        let code = dukkan_server::devices::create_code(&server.owner, "muscat", None)
            .await
            .unwrap();
        dukkan_device::engine::enroll(&device, &gate.url(), "muscat", &code.code, Some("till 1"))
            .await
            .unwrap();
    }
    gate.close().await;
    let app = e2e::start_in(data).await;
    app.use_language("en").await;

    // Offline at the counter: a new stub, with a pending number.
    app.find("search")
        .await
        .send_keys("92123456")
        .await
        .unwrap();
    app.find("no-results").await;
    app.press(Key::F2).await;
    app.find("first-name")
        .await
        .send_keys("Ahmed")
        .await
        .unwrap();
    app.press(Key::Enter).await;
    app.find("confirmation").await;
    assert!(app.text("card-number").await.contains("Pending number"));
    // The indicator says so: offline, one change waiting.
    app.wait_text("sync-connection", "Offline", Duration::from_secs(20))
        .await;
    app.wait_text("sync-pending", "1 change waiting", Duration::from_secs(10))
        .await;
    app.screenshot("sync-offline-pending-en").await;

    // Its detail: the upgrade is requested offline and waits for the network.
    app.press(Key::Escape).await;
    let search = app.find("search").await;
    search.clear().await.unwrap();
    search.send_keys("9212").await.unwrap();
    app.find("result").await.click().await.unwrap();
    app.find("upgrade-start").await.click().await.unwrap();
    app.find("upgrade-email")
        .await
        .send_keys("ahmed@example.om")
        .await
        .unwrap();
    app.press(Key::Enter).await;
    app.wait_attr(
        "upgrade-state",
        "data-state",
        "waiting-for-sync",
        Duration::from_secs(10),
    )
    .await;
    app.screenshot("upgrade-queued-offline-en").await;
    assert!(
        server.sms.last().is_none(),
        "nothing is texted while offline"
    );

    // The network returns: the engine pushes, the server texts the code, the panel asks for it.
    gate.open().await;
    app.wait_attr(
        "upgrade-state",
        "data-state",
        "code",
        Duration::from_secs(60),
    )
    .await;
    assert!(app.text("card-number").await.contains("CUST-00001"));
    app.wait_text("sync-connection", "Online", Duration::from_secs(20))
        .await;
    app.wait_text("sync-pending", "All changes sent", Duration::from_secs(10))
        .await;
    let (to, body) = server.sms.last().expect("the code was texted");
    assert_eq!(to, "+96892123456");
    app.screenshot("upgrade-code-sent-en").await;

    // The code box has the focus: the cashier types what the customer reads out.
    let focused = app.client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("data-testid").await.unwrap().as_deref(),
        Some("upgrade-code")
    );
    focused.send_keys(&code_in(&body)).await.unwrap();
    app.press(Key::Enter).await;
    app.wait_attr(
        "upgrade-state",
        "data-state",
        "verified",
        Duration::from_secs(15),
    )
    .await;
    assert!(app.text("customer-card").await.contains("Full"));
    app.screenshot("upgrade-verified-en").await;
    // The same screens in Arabic, for the record (and the user guide).
    app.use_language("ar").await;
    assert_eq!(app.html_attr("dir").await, "rtl");
    app.wait_attr(
        "upgrade-state",
        "data-state",
        "verified",
        Duration::from_secs(5),
    )
    .await;
    assert!(app.text("upgrade-state").await.contains("تم التحقق"));
    app.screenshot("upgrade-verified-ar").await;

    let db = server.owner.get().await.unwrap();
    let row = db
        .query_one(
            "SELECT kind, phone_verified, email FROM customers WHERE phone = '+96892123456'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "full");
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, String>(2), "ahmed@example.om");
    app.close().await;
    gate.close().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs tauri-driver, WebKitWebDriver and a built UI: bash scripts/test-e2e.sh"]
async fn the_shops_staff_sign_in_with_their_pin_and_only_a_manager_gets_the_customer_list() {
    use dukkan_core::staff::Role;
    let _one = e2e::ONE_AT_A_TIME.lock().await;
    let server = support::TestApp::spawn().await;
    server.tenant("muscat").await;
    dukkan_server::staff::add(&server.owner, "muscat", "Aisha", Role::Cashier, "2468")
        .await
        .unwrap();
    dukkan_server::staff::add(&server.owner, "muscat", "Salim", Role::Manager, "135790")
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    {
        let device = dukkan_device::Device::open(data.path().join("dukkan.sqlite3")).unwrap();
        let code = dukkan_server::devices::create_code(&server.owner, "muscat", None)
            .await
            .unwrap();
        dukkan_device::engine::enroll(&device, &server.base, "muscat", &code.code, Some("till"))
            .await
            .unwrap();
    }
    let app = e2e::start_in(data).await;
    app.use_language("en").await;

    // The engine brings the roster; from then on the till waits for a PIN.
    app.wait_text("signin", "Who is at the till?", Duration::from_secs(30))
        .await;
    assert_eq!(
        app.count("nav-settings").await,
        0,
        "no screens before sign-in"
    );
    // Let WebKit paint the screen that replaced the counter before taking its picture.
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.screenshot("signin-en").await;
    let people = app
        .client
        .find_all(fantoccini::Locator::Css("[data-testid='signin-staff']"))
        .await
        .unwrap();
    assert_eq!(people.len(), 2);
    assert!(people[0].text().await.unwrap().contains("Aisha"));
    people[0].click().await.unwrap();
    app.find("signin-pin")
        .await
        .send_keys("1111")
        .await
        .unwrap();
    app.press(Key::Enter).await;
    app.wait_text(
        "signin-error",
        "That PIN is not right",
        Duration::from_secs(10),
    )
    .await;
    app.find("signin-pin")
        .await
        .send_keys("2468")
        .await
        .unwrap();
    app.press(Key::Enter).await;
    app.wait_text("signed-in", "Aisha", Duration::from_secs(10))
        .await;

    // A cashier has the counter, not the list: no tab, and F8 does nothing.
    app.find("search").await;
    assert_eq!(app.count("nav-customers").await, 0);
    app.press(Key::F8).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.count("list-count").await, 0);
    app.screenshot("signed-in-cashier-en").await;

    // The manager signs in and gets the list.
    app.find("sign-out").await.click().await.unwrap();
    app.find("signin").await;
    app.use_language("ar").await;
    assert_eq!(app.html_attr("dir").await, "rtl");
    app.wait_text("signin", "من على الصندوق؟", Duration::from_secs(5))
        .await;
    app.screenshot("signin-ar").await;
    app.use_language("en").await;
    let people = app
        .client
        .find_all(fantoccini::Locator::Css("[data-testid='signin-staff']"))
        .await
        .unwrap();
    people[1].click().await.unwrap();
    app.find("signin-pin")
        .await
        .send_keys("135790")
        .await
        .unwrap();
    app.press(Key::Enter).await;
    app.wait_text("signed-in", "Salim", Duration::from_secs(10))
        .await;
    app.find("nav-customers").await.click().await.unwrap();
    app.find("list-count").await;
    app.close().await;
}
