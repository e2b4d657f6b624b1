//! Signed updates of the app (issue 15): the till asks its update feed for a newer version,
//! downloads it in the background, verifies its signature against the public key this build
//! carries, and puts it in place for the next start. The cashier is never interrupted and the
//! till's store is never touched: only the app's own file changes.
//!
//! - **Where it looks.** The feed a manager set on this till, else the one the shop's server
//!   announces with its roster ([`Device::update_feed`]); nowhere when neither did.
//! - **What it trusts.** Only packages signed with the key whose public half was built into
//!   this app (`plugins.updater.pubkey`, set at release time through `TAURI_CONFIG`; a build
//!   without one never updates), and only for the version the signature names
//!   (`requireSignedVersion`): a feed cannot pass an older signed release off as a newer one.
//! - **How it installs.** Through `tauri-plugin-updater`. A self-contained executable (the
//!   AppImage, or a portable binary) is replaced on disk at once: the running app keeps its
//!   open file, and the next start runs the new version. On Windows the NSIS installer would
//!   close the app, so the verified package waits in memory and is installed when the app
//!   exits. A `.deb`/`.rpm` install is updated by the system's package manager: the app says
//!   a new version exists and does not download it.

use dukkan_device::{Device, UpdateFeed};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_updater::UpdaterExt;

/// Event carrying [`UpdateStatus`] to the UI on every change.
pub const UPDATE_STATUS_EVENT: &str = "update-status";

/// The first scheduled check waits this long after the start (the start stays quick).
const FIRST_CHECK_AFTER: Duration = Duration::from_secs(60);
/// Then the feed is asked again this often.
const CHECK_EVERY: Duration = Duration::from_secs(6 * 60 * 60);
/// A check or download that takes longer than this is abandoned (and tried again later): long
/// enough for a 70 MB package on a slow shop line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// A feed that does not answer the connection at all is given up on sooner.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the app stands with updates, as Settings shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UpdateStatus {
    /// This app's version.
    pub current: String,
    pub state: UpdateState,
    /// The newer version found, downloading or ready.
    pub version: Option<String>,
    /// Why the last check failed or the package was refused (a stable code, `update.*`).
    pub error: Option<String>,
    /// Where the app looks, and who set it.
    pub feed: Option<UpdateFeed>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum UpdateState {
    /// This build carries no update key: it never updates itself.
    NoKey,
    /// No feed is set: the app does not look.
    NoFeed,
    /// Not asked yet since the start.
    Idle,
    Checking,
    UpToDate,
    Downloading,
    /// Verified and in place: the next start runs `version` (on Windows: installed at exit).
    Ready,
    /// A newer version exists; this install is updated by the system's package manager.
    PackageManager,
    /// The feed could not be asked or the package not put in place (`error`); tried again later.
    Failed,
    /// The package was refused: its signature does not match this app's key or its version.
    Refused,
}

/// The app's update state, managed by Tauri.
pub struct Updates {
    status: Mutex<UpdateStatus>,
    /// One check at a time (the schedule and a manager's "check now").
    running: tokio::sync::Mutex<()>,
    /// Windows: the verified package, installed when the app exits.
    #[cfg(windows)]
    staged: Mutex<Option<(tauri_plugin_updater::Update, Vec<u8>)>>,
}

impl Updates {
    pub fn new(current: String) -> Self {
        Updates {
            status: Mutex::new(UpdateStatus {
                current,
                state: UpdateState::Idle,
                version: None,
                error: None,
                feed: None,
            }),
            running: tokio::sync::Mutex::new(()),
            #[cfg(windows)]
            staged: Mutex::new(None),
        }
    }

    pub fn status(&self) -> UpdateStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set<R: Runtime>(&self, app: &AppHandle<R>, change: impl FnOnce(&mut UpdateStatus)) {
        let status = {
            let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
            change(&mut status);
            status.clone()
        };
        let _ = app.emit(UPDATE_STATUS_EVENT, status);
    }
}

/// The public key this build verifies packages with (empty: none).
fn public_key<R: Runtime>(app: &AppHandle<R>) -> String {
    app.config()
        .plugins
        .0
        .get("updater")
        .and_then(|u| u.get("pubkey"))
        .and_then(|k| k.as_str())
        .map(|k| k.trim().to_owned())
        .unwrap_or_default()
}

/// Where the app looks now, as the till's store says.
fn feed<R: Runtime>(app: &AppHandle<R>) -> Option<UpdateFeed> {
    app.try_state::<Arc<Device>>()
        .and_then(|device| device.update_feed().ok().flatten())
}

/// The state before any check: why no check can happen (no key in this build, no feed), or
/// `Idle` when one can.
fn resting_state(key: &str, feed: Option<&UpdateFeed>) -> UpdateState {
    match (key.is_empty(), feed) {
        (true, _) => UpdateState::NoKey,
        (false, None) => UpdateState::NoFeed,
        (false, Some(_)) => UpdateState::Idle,
    }
}

/// Where the app stands now, with the feed as the store says it.
pub fn current<R: Runtime>(app: &AppHandle<R>) -> UpdateStatus {
    let mut status = app.state::<Updates>().status();
    status.feed = feed(app);
    if matches!(
        status.state,
        UpdateState::Idle | UpdateState::NoFeed | UpdateState::NoKey
    ) {
        status.state = resting_state(&public_key(app), status.feed.as_ref());
    }
    status
}

/// The stable code of an updater error, and whether it means the package was refused.
fn classify(e: &tauri_plugin_updater::Error) -> (UpdateState, &'static str) {
    use tauri_plugin_updater::Error as E;
    match e {
        E::Minisign(_)
        | E::Base64(_)
        | E::SignatureUtf8(_)
        | E::SignedVersionMismatch { .. }
        | E::MissingSignedVersion => (UpdateState::Refused, "update.signature"),
        E::InvalidUpdaterFormat | E::BinaryNotFoundInArchive => {
            (UpdateState::Refused, "update.format")
        }
        E::TargetNotFound(_) | E::TargetsNotFound(_) => (UpdateState::Failed, "update.no-build"),
        E::InsecureTransportProtocol => (UpdateState::Failed, "update.insecure-feed"),
        E::Reqwest(_) | E::Network(_) | E::ReleaseNotFound | E::Serialization(_) => {
            (UpdateState::Failed, "update.unreachable")
        }
        E::Io(_) | E::TempDirNotOnSameMountPoint | E::TempDirNotFound => {
            (UpdateState::Failed, "update.install")
        }
        _ => (UpdateState::Failed, "update.failed"),
    }
}

/// Asks the feed once and, when a newer version is there, downloads, verifies and installs it.
/// Returns the status it ends in. A check already running is not started twice.
pub async fn check<R: Runtime>(app: &AppHandle<R>) -> UpdateStatus {
    let updates = app.state::<Updates>();
    let Ok(_one) = updates.running.try_lock() else {
        return updates.status();
    };
    let feed = feed(app);
    let key = public_key(app);
    let ready = updates.status().state == UpdateState::Ready;
    updates.set(app, |s| {
        s.feed = feed.clone();
        if !ready {
            s.error = None;
            s.state = match resting_state(&key, feed.as_ref()) {
                UpdateState::Idle => UpdateState::Checking,
                why_not => why_not,
            };
        }
    });
    let (Some(feed), false, false) = (feed, key.is_empty(), ready) else {
        return updates.status();
    };
    let outcome = fetch_and_install(app, &updates, &feed, &key).await;
    updates.set(app, |s| match outcome {
        Ok(Found::Nothing) => {
            s.state = UpdateState::UpToDate;
            s.version = None;
        }
        Ok(Found::Installed(version)) => {
            s.state = UpdateState::Ready;
            s.version = Some(version);
        }
        Ok(Found::ForPackageManager(version)) => {
            s.state = UpdateState::PackageManager;
            s.version = Some(version);
        }
        Err((state, code)) => {
            s.state = state;
            s.error = Some(code.to_owned());
        }
    });
    updates.status()
}

enum Found {
    Nothing,
    Installed(String),
    ForPackageManager(String),
}

async fn fetch_and_install<R: Runtime>(
    app: &AppHandle<R>,
    updates: &Updates,
    feed: &UpdateFeed,
    key: &str,
) -> Result<Found, (UpdateState, &'static str)> {
    let failed = |e: tauri_plugin_updater::Error| {
        let (state, code) = classify(&e);
        tracing::warn!(code, error = %e, "update not installed");
        (state, code)
    };
    let endpoint = feed
        .url
        .parse()
        .map_err(|_| (UpdateState::Failed, "update.unreachable"))?;
    let updater = app
        .updater_builder()
        .pubkey(key)
        .timeout(REQUEST_TIMEOUT)
        .configure_client(|client| client.connect_timeout(CONNECT_TIMEOUT))
        .endpoints(vec![endpoint])
        .map_err(failed)?
        .build()
        .map_err(failed)?;
    let Some(update) = updater.check().await.map_err(failed)? else {
        tracing::info!("the app is up to date");
        return Ok(Found::Nothing);
    };
    let version = update.version.clone();
    use tauri::utils::{config::BundleType, platform::bundle_type};
    if matches!(bundle_type(), Some(BundleType::Deb | BundleType::Rpm)) {
        tracing::info!(%version, "a new version is out; this install is updated by the package manager");
        return Ok(Found::ForPackageManager(version));
    }
    tracing::info!(%version, "downloading a new version");
    updates.set(app, |s| {
        s.state = UpdateState::Downloading;
        s.version = Some(version.clone());
    });
    // `download` verifies the signature (and the version it names) before returning the bytes.
    let bytes = update.download(|_, _| {}, || {}).await.map_err(failed)?;
    install(updates, update, bytes).map_err(failed)?;
    tracing::info!(%version, "new version in place for the next start");
    Ok(Found::Installed(version))
}

#[cfg(not(windows))]
fn install(
    _updates: &Updates,
    update: tauri_plugin_updater::Update,
    bytes: Vec<u8>,
) -> Result<(), tauri_plugin_updater::Error> {
    update.install(bytes)
}

#[cfg(windows)]
fn install(
    updates: &Updates,
    update: tauri_plugin_updater::Update,
    bytes: Vec<u8>,
) -> Result<(), tauri_plugin_updater::Error> {
    *updates.staged.lock().unwrap_or_else(|e| e.into_inner()) = Some((update, bytes));
    Ok(())
}

/// Windows: runs the verified installer as the app exits (it does not start the app again).
#[cfg(windows)]
pub fn install_staged_at_exit<R: Runtime>(app: &AppHandle<R>) {
    let staged = app
        .state::<Updates>()
        .staged
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some((update, bytes)) = staged {
        if let Err(e) = update.restart_after_install(false).install(bytes) {
            tracing::warn!(error = %e, "the new version could not be installed at exit");
        }
    }
}

/// Checks a minute after the start, then every six hours, for as long as the app runs.
pub fn spawn_schedule<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(FIRST_CHECK_AFTER).await;
        loop {
            check(&app).await;
            tokio::time::sleep(CHECK_EVERY).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tauri_plugin_updater::Error as E;

    #[test]
    fn a_bad_signature_or_package_is_refused_and_a_network_failure_is_tried_again_later() {
        let refused_signature = [
            E::SignedVersionMismatch {
                signed: "0.1.1".into(),
                announced: "0.1.2".into(),
            },
            E::MissingSignedVersion,
        ];
        for e in &refused_signature {
            assert_eq!(
                classify(e),
                (UpdateState::Refused, "update.signature"),
                "{e}"
            );
        }
        assert_eq!(
            classify(&E::InvalidUpdaterFormat),
            (UpdateState::Refused, "update.format")
        );
        assert_eq!(
            classify(&E::Network("503".into())),
            (UpdateState::Failed, "update.unreachable")
        );
        assert_eq!(
            classify(&E::ReleaseNotFound),
            (UpdateState::Failed, "update.unreachable")
        );
        assert_eq!(
            classify(&E::TargetsNotFound(vec!["linux-x86_64".into()])),
            (UpdateState::Failed, "update.no-build")
        );
        assert_eq!(
            classify(&E::InsecureTransportProtocol),
            (UpdateState::Failed, "update.insecure-feed")
        );
        assert_eq!(
            classify(&E::TempDirNotOnSameMountPoint),
            (UpdateState::Failed, "update.install")
        );
        assert_eq!(
            classify(&E::EmptyEndpoints),
            (UpdateState::Failed, "update.failed")
        );
    }

    #[test]
    fn every_update_error_and_state_has_a_message_in_english_and_arabic() {
        let states = [
            UpdateState::NoKey,
            UpdateState::NoFeed,
            UpdateState::Idle,
            UpdateState::Checking,
            UpdateState::UpToDate,
            UpdateState::Downloading,
            UpdateState::Ready,
            UpdateState::PackageManager,
            UpdateState::Failed,
            UpdateState::Refused,
        ];
        let codes = [
            "signature",
            "format",
            "no-build",
            "insecure-feed",
            "unreachable",
            "install",
            "failed",
        ];
        for lang in ["en", "ar"] {
            let path = format!("{}/i18n/{lang}/ui.ftl", env!("CARGO_MANIFEST_DIR"));
            let ftl = std::fs::read_to_string(path).unwrap();
            let has = |id: &str| ftl.lines().any(|l| l.starts_with(&format!("{id} = ")));
            for state in states {
                let name = serde_json::to_value(state).unwrap();
                let id = format!("update-state-{}", name.as_str().unwrap());
                assert!(has(&id), "{lang}: {id}");
            }
            for code in codes {
                assert!(has(&format!("error-update-{code}")), "{lang}: {code}");
            }
        }
    }
}
