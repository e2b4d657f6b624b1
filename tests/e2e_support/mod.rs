//! The harness of the end-to-end tests: the built `dukkan` binary driven through tauri-driver and
//! WebKitWebDriver (under Xvfb when there is no display), on its own data directory.
//!
//! Needs `tauri-driver` (installed by `scripts/test-e2e.sh` into target/tools) and the packages of
//! `scripts/setup-system.sh`. Screenshots go to target/e2e/.
#![allow(dead_code)]

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// tauri-driver and WebKitWebDriver listen on fixed ports: one app at a time.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const DRIVER_URL: &str = "http://127.0.0.1:4444";

pub fn repo() -> PathBuf {
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
pub struct App {
    pub client: Client,
    /// When the session that starts the app was asked for.
    pub launched: Instant,
    pub data: tempfile::TempDir,
    /// The X display the app is on.
    pub display: String,
    _procs: Stop,
}

/// The owner's PIN the e2e tests set on a new standalone till.
pub const OWNER_PIN: &str = "246810";

/// The app on an empty data directory, past its first-start screen: the owner's PIN set
/// through the UI, the owner signed in.
pub async fn start() -> App {
    let app = start_bare().await;
    app.set_up_owner("Owner").await;
    app
}

/// The app on an empty data directory, on the first-start screen (the owner's PIN not set).
pub async fn start_bare() -> App {
    start_in(tempfile::tempdir().unwrap()).await
}

/// The app on `data` (which a test may have prepared, e.g. with an enrolled store).
pub async fn start_in(data: tempfile::TempDir) -> App {
    start_binary_in(Path::new(env!("CARGO_BIN_EXE_dukkan")), data).await
}

/// The app at `binary` (a copy a test may let the app replace) on `data`.
///
/// Drawn *with* WebKit's GPU compositing, which the shipped app turns off on Linux
/// (`dukkan_app::NO_COMPOSITING_ENV`): without it WebKitWebDriver's key simulation never
/// returns from an Enter that submits a form (`send_keys` hangs; the same Enter typed through X
/// works). `the_app_as_shipped_starts_its_web_process_without_gpu_compositing` checks the
/// shipped setting, and the UI bench measures the app as shipped ([`start_as_shipped_in`]).
pub async fn start_binary_in(binary: &Path, data: tempfile::TempDir) -> App {
    start_with(binary, data, Some("0")).await
}

/// The app on `data` drawn as shipped (no compositing on Linux), for the UI bench, which
/// submits forms from the page rather than through WebDriver's keys.
pub async fn start_as_shipped_in(data: tempfile::TempDir) -> App {
    start_with(Path::new(env!("CARGO_BIN_EXE_dukkan")), data, None).await
}

/// `no_compositing`: the value of `dukkan_app::NO_COMPOSITING_ENV` the app is started with
/// (`None`: unset, so the app chooses as shipped).
async fn start_with(binary: &Path, data: tempfile::TempDir, no_compositing: Option<&str>) -> App {
    let mut procs = Vec::new();
    let display = display(&mut procs);
    let mut driver = Command::new(tauri_driver());
    match no_compositing {
        Some(value) => driver.env(dukkan_app::NO_COMPOSITING_ENV, value),
        None => driver.env_remove(dukkan_app::NO_COMPOSITING_ENV),
    };
    let driver = driver
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
    // The driver listens first; only then does a session start the app (so `launched` times the
    // app, not the driver).
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect("127.0.0.1:4444").is_err() {
        assert!(Instant::now() < deadline, "tauri-driver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let launched = Instant::now();

    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": binary }),
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
        launched,
        data,
        display,
        _procs: procs,
    }
}

impl App {
    pub async fn find(&self, testid: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(&format!("[data-testid='{testid}']")))
            .await
            .unwrap_or_else(|e| panic!("no [data-testid={testid}]: {e}"))
    }

    /// How many `[data-testid=testid]` are on the page now (no waiting: for absence checks).
    pub async fn count(&self, testid: &str) -> usize {
        self.client
            .find_all(Locator::Css(&format!("[data-testid='{testid}']")))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// Sets the owner's PIN on a new standalone till's first-start screen, as a person does.
    pub async fn set_up_owner(&self, name: &str) {
        self.find("owner-name").await.send_keys(name).await.unwrap();
        self.find("owner-pin")
            .await
            .send_keys(OWNER_PIN)
            .await
            .unwrap();
        self.find("owner-pin-again")
            .await
            .send_keys(OWNER_PIN)
            .await
            .unwrap();
        self.find("owner-submit").await.click().await.unwrap();
        self.find("signed-in").await;
    }

    /// Creates a stub at the counter as a cashier does (F2, name, phone, Enter) and closes
    /// the confirmation.
    pub async fn new_stub(&self, name: &str, phone: &str) {
        self.press(Key::F2).await;
        self.find("first-name").await.send_keys(name).await.unwrap();
        self.find("phone").await.send_keys(phone).await.unwrap();
        self.press(Key::Enter).await;
        self.find("confirmation").await;
        self.press(Key::Escape).await;
    }

    /// Signs in a till whose roster is its owner alone (chosen already), with [`OWNER_PIN`].
    pub async fn sign_in_owner(&self) {
        self.find("signin-pin")
            .await
            .send_keys(OWNER_PIN)
            .await
            .unwrap();
        self.find("signin-submit").await.click().await.unwrap();
        self.find("signed-in").await;
    }

    pub async fn text(&self, testid: &str) -> String {
        self.find(testid).await.text().await.unwrap()
    }

    pub async fn press(&self, key: Key) {
        let active = self.client.active_element().await.unwrap();
        active
            .send_keys(&char::from(key).to_string())
            .await
            .unwrap();
    }

    pub async fn html_attr(&self, name: &str) -> String {
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

    pub async fn use_language(&self, lang: &str) {
        if self.html_attr("lang").await != lang {
            self.find("language").await.click().await.unwrap();
        }
        assert_eq!(self.html_attr("lang").await, lang);
    }

    pub async fn screenshot(&self, name: &str) {
        let dir = repo().join("target/e2e");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Waits until `testid`'s text satisfies `ok` (the sync indicator re-reads the store every
    /// 2 s), and returns it.
    pub async fn text_until(&self, testid: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.text(testid).await;
            if ok(&text) || Instant::now() > deadline {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `[data-testid=testid]` has `attr` = `value` (re-rendered elements are
    /// looked up again).
    pub async fn wait_attr(&self, testid: &str, attr: &str, value: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let now = self.find(testid).await.attr(attr).await.ok().flatten();
            if now.as_deref() == Some(value) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "[data-testid={testid}] {attr}={now:?}, wanted {value:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the text of `[data-testid=testid]` contains `part`.
    pub async fn wait_text(&self, testid: &str, part: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.find(testid).await.text().await.unwrap_or_default();
            if text.contains(part) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "[data-testid={testid}] says {text:?}, wanted {part:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    /// Quits the app (and its driver) and hands back its data directory, to start it again.
    pub async fn close_keeping_data(self) -> tempfile::TempDir {
        let _ = self.client.close().await;
        drop(self._procs);
        self.data
    }
}

/// The environment each WebKit web process of the till on `data` was started with (found by
/// the `DUKKAN_DATA_DIR` it inherited from the app), one `NAME=value` string per variable.
pub fn web_process_environments(data: &Path) -> Vec<Vec<String>> {
    let mine = format!("DUKKAN_DATA_DIR={}", data.display());
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let dir = entry.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.starts_with("WebKitWebProces") {
            continue;
        }
        let Ok(environ) = std::fs::read(dir.join("environ")) else {
            continue;
        };
        let vars: Vec<String> = environ
            .split(|b| *b == 0)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        if vars.contains(&mine) {
            out.push(vars);
        }
    }
    out
}
