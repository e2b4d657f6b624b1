//! The signed updater end to end, in the real app: built as version N, it finds version N+1 on
//! an update feed (a local HTTP server), downloads it in the background, verifies it against
//! the key it was built with and puts it in place of its own executable; the next start runs
//! N+1 on the same store, with the change it had not sent yet. A package whose bytes were
//! altered, or one signed with another key, is refused with a clear message and replaces
//! nothing.
//!
//! Needs what `scripts/test-e2e.sh` makes at run time (never kept in git): a signing key pair,
//! the app built as N with its public key (this test's `dukkan`), and the same app built as N+1
//! and signed (`DUKKAN_E2E_UPDATE_DIR`, `DUKKAN_E2E_NEXT_VERSION`). Ignored by a plain
//! `cargo test`.
#![allow(clippy::unwrap_used)]

#[path = "e2e_support/mod.rs"]
mod e2e;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fantoccini::key::Key;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Files served by path, and the paths asked for.
#[derive(Clone, Default)]
struct Files {
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    asked: Arc<Mutex<Vec<String>>>,
}

async fn serve(State(files): State<Files>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    files.asked.lock().unwrap().push(path.clone());
    match files.files.lock().unwrap().get(&path) {
        Some(bytes) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The update feed: a plain HTTP server on 127.0.0.1.
struct Feed {
    base: String,
    files: Files,
}

impl Feed {
    async fn start() -> Feed {
        let files = Files::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(files.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Feed { base, files }
    }

    /// Publishes `package` as `version` under `/{channel}/`, with `signature` (a `.sig` file's
    /// text) in the manifest, as a release pipeline does; returns the manifest's URL.
    fn publish(&self, channel: &str, version: &str, package: Vec<u8>, signature: &str) -> String {
        let package_path = format!("/{channel}/dukkan");
        let manifest = serde_json::json!({
            "version": version,
            "notes": "Faster search",
            "pub_date": "2026-12-06T12:00:00Z",
            "platforms": {
                "linux-x86_64": {
                    "url": format!("{}{package_path}", self.base),
                    "signature": signature,
                }
            }
        });
        let mut files = self.files.files.lock().unwrap();
        files.insert(package_path, package);
        let manifest_path = format!("/{channel}/latest.json");
        files.insert(manifest_path.clone(), manifest.to_string().into_bytes());
        format!("{}{manifest_path}", self.base)
    }

    fn was_asked(&self, path: &str) -> bool {
        self.files.asked.lock().unwrap().iter().any(|p| p == path)
    }
}

fn tauri_cli() -> PathBuf {
    e2e::repo().join("ui/node_modules/.bin/tauri")
}

/// Signs `file` with the private key at `key` for `version` (`tauri signer sign`, the release
/// tool); returns the signature as the manifest carries it.
fn sign(key: &Path, file: &Path, version: &str) -> String {
    let status = std::process::Command::new(tauri_cli())
        .args(["signer", "sign", "-p", "", "--app-version", version, "-f"])
        .arg(key)
        .arg(file)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "tauri signer sign failed");
    std::fs::read_to_string(file.with_extension("sig")).unwrap()
}

/// A key pair nobody built into the app (`tauri signer generate`); returns the private key.
fn another_key(dir: &Path) -> PathBuf {
    let key = dir.join("other.key");
    let status = std::process::Command::new(tauri_cli())
        .args(["signer", "generate", "--ci", "-f", "-p", "", "-w"])
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "tauri signer generate failed");
    key
}

fn bump_patch(version: &str) -> String {
    let mut parts: Vec<u64> = version.split('.').map(|p| p.parse().unwrap()).collect();
    *parts.last_mut().unwrap() += 1;
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

async fn open_settings_and_use_feed(app: &e2e::App, url: &str) {
    app.press(Key::F9).await;
    let input = app.find("update-feed-input").await;
    input.clear().await.unwrap();
    input.send_keys(url).await.unwrap();
    app.find("update-feed-save").await.click().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the builds and key of scripts/test-e2e.sh, tauri-driver and WebKitWebDriver"]
async fn the_app_installs_a_signed_new_version_for_its_next_start_keeps_its_data_and_refuses_a_tampered_or_foreign_one(
) {
    let _one = e2e::ONE_AT_A_TIME.lock().await;
    let made = PathBuf::from(
        std::env::var("DUKKAN_E2E_UPDATE_DIR")
            .expect("DUKKAN_E2E_UPDATE_DIR: run scripts/test-e2e.sh"),
    );
    let next = std::env::var("DUKKAN_E2E_NEXT_VERSION").unwrap();
    let current = env!("CARGO_PKG_VERSION");
    assert_eq!(next, bump_patch(current));
    let next_package = std::fs::read(made.join(format!("dukkan-{next}"))).unwrap();
    let next_signature = std::fs::read_to_string(made.join(format!("dukkan-{next}.sig"))).unwrap();

    // The till's copy of the app, which it may replace (as an AppImage is).
    let install = tempfile::tempdir().unwrap();
    let exe = install.path().join("dukkan");
    std::fs::copy(env!("CARGO_BIN_EXE_dukkan"), &exe).unwrap();
    let version_n = std::fs::read(&exe).unwrap();
    assert_ne!(version_n, next_package);

    let feed = Feed::start().await;
    let good = feed.publish("good", &next, next_package.clone(), &next_signature);

    // Version N at the counter: a new stub, not sent anywhere (a standalone till).
    let app = e2e::start_binary_in(&exe, tempfile::tempdir().unwrap()).await;
    app.set_up_owner("Owner").await;
    app.use_language("en").await;
    app.new_stub("Ahmed", "92123456").await;
    app.wait_text("sync-pending", "1 change waiting", Duration::from_secs(10))
        .await;

    // A manager sets the shop's update address; the app checks it at once.
    app.press(Key::F9).await;
    assert!(app.text("update-current").await.contains(current));
    app.wait_attr(
        "update-state",
        "data-state",
        "no-feed",
        Duration::from_secs(10),
    )
    .await;
    open_settings_and_use_feed(&app, &good).await;
    app.wait_attr(
        "update-state",
        "data-state",
        "ready",
        Duration::from_secs(60),
    )
    .await;
    app.wait_attr(
        "update-state",
        "data-version",
        &next,
        Duration::from_secs(1),
    )
    .await;
    assert!(app.text("update-feed").await.contains(&good));
    assert!(feed.was_asked("/good/dukkan"), "downloaded from the feed");
    app.screenshot("update-ready-en").await;
    assert_eq!(
        std::fs::read(&exe).unwrap(),
        next_package,
        "N+1 is in place of the app's file"
    );
    // The running app is still N and goes on working.
    app.press(Key::F3).await;
    app.find("search").await.send_keys("3456").await.unwrap();
    app.wait_text("results", "Ahmed", Duration::from_secs(10))
        .await;

    // The next start runs N+1 on the same data, with the unsent change still waiting.
    let data = app.close_keeping_data().await;
    let app = e2e::start_binary_in(&exe, data).await;
    app.sign_in_owner().await;
    app.use_language("en").await;
    app.wait_text("sync-pending", "1 change waiting", Duration::from_secs(10))
        .await;
    app.find("search").await.send_keys("3456").await.unwrap();
    app.wait_text("results", "Ahmed", Duration::from_secs(10))
        .await;
    app.press(Key::F9).await;
    app.wait_text("update-current", &next, Duration::from_secs(10))
        .await;
    app.screenshot("update-next-start-en").await;

    // N+2 with its bytes altered after signing: refused, nothing replaced.
    let next2 = bump_patch(&next);
    let work = tempfile::tempdir().unwrap();
    let package = work.path().join("dukkan");
    std::fs::write(&package, &next_package).unwrap();
    let signature = sign(&made.join("update.key"), &package, &next2);
    let mut altered = next_package.clone();
    let middle = altered.len() / 2;
    altered[middle] ^= 0x01;
    let tampered = feed.publish("tampered", &next2, altered, &signature);
    app.use_language("ar").await;
    open_settings_and_use_feed(&app, &tampered).await;
    app.wait_attr(
        "update-state",
        "data-state",
        "refused",
        Duration::from_secs(60),
    )
    .await;
    assert!(feed.was_asked("/tampered/dukkan"));
    app.wait_text("update-error", "توقيعه لا يطابق", Duration::from_secs(5))
        .await;
    app.screenshot("update-refused-ar").await;
    assert_eq!(
        std::fs::read(&exe).unwrap(),
        next_package,
        "nothing replaced"
    );

    // N+2 signed with a key this app was not built with: refused the same way.
    let foreign = sign(&another_key(work.path()), &package, &next2);
    let foreign_feed = feed.publish("foreign", &next2, next_package.clone(), &foreign);
    app.use_language("en").await;
    open_settings_and_use_feed(&app, &foreign_feed).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !feed.was_asked("/foreign/dukkan") {
        assert!(
            std::time::Instant::now() < deadline,
            "the foreign package was not fetched"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.wait_attr(
        "update-state",
        "data-state",
        "refused",
        Duration::from_secs(30),
    )
    .await;
    app.wait_text(
        "update-error",
        "signature does not match this app's key",
        Duration::from_secs(5),
    )
    .await;
    app.screenshot("update-refused-en").await;
    assert_eq!(
        std::fs::read(&exe).unwrap(),
        next_package,
        "nothing replaced"
    );
    app.close().await;
}
