//! The Dukkan desktop shell: Tauri commands that are thin wrappers over `dukkan-device`.
//!
//! No logic lives here: each command extracts its arguments, calls the use case and maps the
//! error to `{code, messageId, args}` for the UI to localise.
#![forbid(unsafe_code)]

use dukkan_core::i18n::Locale;
use dukkan_core::orders::OrderRecord;
use dukkan_core::sync::ServerHistory;
use dukkan_core::{
    AddressId, AddressInput, CustomerId, GeoPoint, LocalizedMessage, Preferences, StubInput,
};
use dukkan_device::engine::{self, EngineStatus, ServerConfig, SyncHandle};
use dukkan_device::{AddressDistance, CustomerActivity, StaffMember, StaffSession};
use dukkan_device::{
    AddressRecord, Customer, CustomerChanges, CustomerDetails, Device, DeviceError, Entity,
    ListQuery, Page, SearchHit, StubOutcome, UpgradeRequest,
};
use dukkan_device::{BackupInfo, KeyPlace, OrderInput, ParkedOp};
use dukkan_device::{DuplicatePair, MergeEntry, MergePreview};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

pub mod update;

/// Environment variable that overrides where the database lives (tests, portable installs).
pub const DATA_DIR_ENV: &str = "DUKKAN_DATA_DIR";

/// An error as the UI receives it: a stable code and a Fluent message with arguments.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CommandError {
    pub code: String,
    pub message: LocalizedMessage,
}

impl From<DeviceError> for CommandError {
    fn from(e: DeviceError) -> Self {
        if e.code() == "storage.failed" {
            tracing::error!(error = %e, "device store error");
        }
        CommandError {
            code: e.code().to_owned(),
            message: e.message(),
        }
    }
}

type CmdResult<T> = Result<T, CommandError>;

fn parse_id(id: &str) -> CmdResult<CustomerId> {
    id.parse()
        .map_err(|_| DeviceError::NotFound(Entity::Customer).into())
}

fn parse_address_id(id: &str) -> CmdResult<AddressId> {
    id.parse()
        .map_err(|_| DeviceError::NotFound(Entity::Address).into())
}

/// Where an export went and how many customers it holds.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    pub path: String,
    pub rows: u32,
}

impl ExportResult {
    fn new(path: &std::path::Path, rows: u64) -> Self {
        ExportResult {
            path: path.display().to_string(),
            rows: u32::try_from(rows).unwrap_or(u32::MAX),
        }
    }
}

#[tauri::command]
fn create_guest(device: State<'_, Arc<Device>>) -> CmdResult<Customer> {
    Ok(device.create_guest()?)
}

#[tauri::command]
fn create_stub(device: State<'_, Arc<Device>>, input: StubInput) -> CmdResult<StubOutcome> {
    Ok(device.create_stub(&input)?)
}

#[tauri::command]
fn search_customers(
    device: State<'_, Arc<Device>>,
    query: String,
    limit: Option<usize>,
) -> CmdResult<Vec<SearchHit>> {
    Ok(device.search(&query, limit.unwrap_or(20))?)
}

#[tauri::command]
fn list_customers(device: State<'_, Arc<Device>>, query: ListQuery) -> CmdResult<Page> {
    Ok(device.list_customers(&query)?)
}

#[tauri::command]
fn customer_details(device: State<'_, Arc<Device>>, id: String) -> CmdResult<CustomerDetails> {
    Ok(device.customer(parse_id(&id)?)?)
}

#[tauri::command]
fn update_customer(
    device: State<'_, Arc<Device>>,
    id: String,
    changes: CustomerChanges,
) -> CmdResult<Customer> {
    Ok(device.update_customer(parse_id(&id)?, &changes)?)
}

#[tauri::command]
fn deactivate_customer(device: State<'_, Arc<Device>>, id: String) -> CmdResult<Customer> {
    Ok(device.deactivate_customer(parse_id(&id)?)?)
}

#[tauri::command]
fn reactivate_customer(device: State<'_, Arc<Device>>, id: String) -> CmdResult<Customer> {
    Ok(device.reactivate_customer(parse_id(&id)?)?)
}

#[tauri::command]
fn likely_duplicates(device: State<'_, Arc<Device>>) -> CmdResult<Vec<DuplicatePair>> {
    Ok(device.likely_duplicates()?)
}

#[tauri::command]
fn merge_preview(
    device: State<'_, Arc<Device>>,
    duplicate_id: String,
    keep_id: String,
) -> CmdResult<MergePreview> {
    Ok(device.merge_preview(parse_id(&duplicate_id)?, parse_id(&keep_id)?)?)
}

#[tauri::command]
fn merge_customers(
    device: State<'_, Arc<Device>>,
    duplicate_id: String,
    keep_id: String,
    reason: String,
) -> CmdResult<MergeEntry> {
    Ok(device.merge_customers(parse_id(&duplicate_id)?, parse_id(&keep_id)?, &reason)?)
}

#[tauri::command]
fn undo_merge(device: State<'_, Arc<Device>>, merge_id: String) -> CmdResult<Customer> {
    let id = merge_id
        .parse()
        .map_err(|_| DeviceError::NotFound(Entity::Merge))?;
    Ok(device.undo_merge(id)?)
}

#[tauri::command]
fn customer_merges(device: State<'_, Arc<Device>>, id: String) -> CmdResult<Vec<MergeEntry>> {
    Ok(device.merges_of(parse_id(&id)?)?)
}

#[tauri::command]
fn customer_orders(device: State<'_, Arc<Device>>, id: String) -> CmdResult<Vec<OrderRecord>> {
    Ok(device.orders(parse_id(&id)?)?)
}

#[tauri::command]
fn record_order(
    device: State<'_, Arc<Device>>,
    customer_id: String,
    input: OrderInput,
) -> CmdResult<OrderRecord> {
    Ok(device.record_order(parse_id(&customer_id)?, &input)?)
}

#[tauri::command]
fn adjust_points(
    device: State<'_, Arc<Device>>,
    customer_id: String,
    delta: String,
    reason: String,
) -> CmdResult<i64> {
    Ok(device.adjust_points(parse_id(&customer_id)?, &delta, &reason)?)
}

#[tauri::command]
fn next_ticket(device: State<'_, Arc<Device>>) -> CmdResult<String> {
    Ok(device.next_ticket()?)
}

#[tauri::command]
fn add_address(
    device: State<'_, Arc<Device>>,
    customer_id: String,
    input: AddressInput,
) -> CmdResult<AddressRecord> {
    Ok(device.add_address(parse_id(&customer_id)?, &input)?)
}

#[tauri::command]
fn update_address(
    device: State<'_, Arc<Device>>,
    id: String,
    input: AddressInput,
) -> CmdResult<AddressRecord> {
    Ok(device.update_address(parse_address_id(&id)?, &input)?)
}

#[tauri::command]
fn delete_address(device: State<'_, Arc<Device>>, id: String) -> CmdResult<()> {
    Ok(device.delete_address(parse_address_id(&id)?)?)
}

#[tauri::command]
fn set_default_address(device: State<'_, Arc<Device>>, id: String) -> CmdResult<AddressRecord> {
    Ok(device.set_default_address(parse_address_id(&id)?)?)
}

/// Where an export goes: the user's Downloads folder (else the data folder), with a name that
/// says what and when.
fn export_path<R: Runtime>(app: &tauri::AppHandle<R>, device: &Device, ext: &str) -> PathBuf {
    let dir = match app.path().download_dir() {
        Ok(dir) if dir.is_dir() => dir,
        _ => device
            .path()
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    dir.join(format!("dukkan-customers-{stamp}.{ext}"))
}

/// Writes the list (its filters and search term) as CSV into the Downloads folder.
#[tauri::command]
fn export_csv<R: Runtime>(
    app: tauri::AppHandle<R>,
    device: State<'_, Arc<Device>>,
    filter: ListQuery,
    locale: Locale,
) -> CmdResult<ExportResult> {
    // Checked before a file is made, so a refused export leaves nothing behind.
    device.authorize(dukkan_core::staff::Role::Manager)?;
    let storage = |e: std::io::Error| CommandError::from(DeviceError::Export(e.to_string()));
    let path = export_path(&app, &device, "csv");
    let file = std::fs::File::create(&path).map_err(storage)?;
    let rows = device.export_csv(&filter, locale, std::io::BufWriter::new(file))?;
    Ok(ExportResult::new(&path, rows))
}

/// Writes the list (its filters and search term) as an Excel workbook into the Downloads
/// folder. Off the UI thread: a large list takes seconds.
#[tauri::command]
async fn export_xlsx<R: Runtime>(
    app: tauri::AppHandle<R>,
    device: State<'_, Arc<Device>>,
    filter: ListQuery,
    locale: Locale,
) -> CmdResult<ExportResult> {
    device.authorize(dukkan_core::staff::Role::Manager)?;
    let path = export_path(&app, &device, "xlsx");
    let written = path.clone();
    let rows =
        off_the_ui_thread(&device, move |d| d.export_xlsx(&filter, locale, &written)).await?;
    Ok(ExportResult::new(&path, rows))
}

/// Writes a backup of the whole till, sealed with the manager's passphrase, into the folder
/// exports go to, named for when it was taken (`dukkan-backup-….dukkan-backup`). Off the UI
/// thread: deriving the key from the passphrase and copying the store take a moment.
#[tauri::command]
async fn backup_to<R: Runtime>(
    app: tauri::AppHandle<R>,
    device: State<'_, Arc<Device>>,
    passphrase: String,
) -> CmdResult<BackupInfo> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let path = export_path(&app, &device, dukkan_device::backup::BACKUP_EXTENSION).with_file_name(
        format!(
            "dukkan-backup-{stamp}.{}",
            dukkan_device::backup::BACKUP_EXTENSION
        ),
    );
    off_the_ui_thread(&device, move |d| d.backup_to(&path, &passphrase)).await
}

/// How long the window shows "restored" before the app restarts onto the restored data.
const RESTART_AFTER_RESTORE: std::time::Duration = std::time::Duration::from_millis(1500);

/// Restores the backup at `path` (as the manager typed or pasted it), opened with
/// `passphrase`: checked and staged beside the store, then the sync engine stops and the app
/// restarts, and the restored data replaces the store at that start. A refused backup changes
/// nothing and the app goes on.
#[tauri::command]
async fn restore_from<R: Runtime>(
    app: AppHandle<R>,
    device: State<'_, Arc<Device>>,
    engine: State<'_, SyncEngine>,
    path: String,
    passphrase: String,
) -> CmdResult<BackupInfo> {
    let path = dukkan_device::backup::path_as_typed(&path);
    let info = off_the_ui_thread(&device, move |d| d.restore_from(&path, &passphrase)).await?;
    // Nothing more goes to or comes from the server into the store being replaced.
    if let Some(handle) = engine.0.lock().await.take() {
        handle.stop().await;
    }
    tracing::info!("restarting onto the restored backup");
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(RESTART_AFTER_RESTORE).await;
        app.request_restart();
    });
    Ok(info)
}

/// The running sync engine, when the device is enrolled.
#[derive(Default)]
pub struct SyncEngine(tokio::sync::Mutex<Option<SyncHandle>>);

/// Event carrying [`EngineStatus`] to the UI's sync indicator on every change.
pub const SYNC_STATUS_EVENT: &str = "sync-status";

/// Starts the engine for the stored enrollment and forwards its status to the UI.
async fn start_engine<R: Runtime>(
    app: &AppHandle<R>,
    device: Arc<Device>,
    engine: &SyncEngine,
) -> CmdResult<()> {
    let Some((url, token)) = device.enrollment()? else {
        return Ok(());
    };
    let mut slot = engine.0.lock().await;
    if let Some(old) = slot.take() {
        old.stop().await;
    }
    let handle = engine::spawn(device, ServerConfig::new(url, token))?;
    let mut status = handle.status();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let current = status.borrow_and_update().clone();
            if app.emit(SYNC_STATUS_EVENT, current).is_err() || status.changed().await.is_err() {
                break;
            }
        }
    });
    *slot = Some(handle);
    Ok(())
}

#[tauri::command]
async fn sync_status(
    device: State<'_, Arc<Device>>,
    engine: State<'_, SyncEngine>,
) -> CmdResult<EngineStatus> {
    let slot = engine.0.lock().await;
    Ok(match slot.as_ref() {
        Some(handle) => handle.status().borrow().clone(),
        None => EngineStatus {
            online: false,
            store: device.sync_status()?,
            last_error: None,
        },
    })
}

#[tauri::command]
async fn enroll_device<R: Runtime>(
    app: AppHandle<R>,
    device: State<'_, Arc<Device>>,
    engine: State<'_, SyncEngine>,
    server_url: String,
    tenant: String,
    code: String,
) -> CmdResult<()> {
    engine::enroll(&device, &server_url, &tenant, &code, None).await?;
    start_engine(&app, device.inner().clone(), &engine).await
}

#[tauri::command]
async fn reset_enrollment(
    device: State<'_, Arc<Device>>,
    engine: State<'_, SyncEngine>,
    force: bool,
) -> CmdResult<()> {
    device.reset_enrollment(force)?;
    if let Some(handle) = engine.0.lock().await.take() {
        handle.stop().await;
    }
    Ok(())
}

#[tauri::command]
fn parked_ops(device: State<'_, Arc<Device>>) -> CmdResult<Vec<ParkedOp>> {
    Ok(device.parked_ops()?)
}

#[tauri::command]
fn retry_parked(device: State<'_, Arc<Device>>, device_seq: i64) -> CmdResult<()> {
    Ok(device.retry_parked(device_seq)?)
}

#[tauri::command]
fn discard_parked(device: State<'_, Arc<Device>>, device_seq: i64) -> CmdResult<()> {
    Ok(device.discard_parked(device_seq)?)
}

#[tauri::command]
fn request_upgrade(
    device: State<'_, Arc<Device>>,
    id: String,
    email: String,
    preferences: Preferences,
    sms_language: Option<Locale>,
) -> CmdResult<UpgradeRequest> {
    Ok(device.request_upgrade(parse_id(&id)?, &email, &preferences, sms_language)?)
}

#[tauri::command]
async fn resend_upgrade_code(
    device: State<'_, Arc<Device>>,
    id: String,
) -> CmdResult<UpgradeRequest> {
    Ok(engine::resend_upgrade_code(&device, parse_id(&id)?).await?)
}

#[tauri::command]
async fn verify_upgrade_code(
    device: State<'_, Arc<Device>>,
    id: String,
    code: String,
) -> CmdResult<UpgradeRequest> {
    Ok(engine::verify_upgrade_code(&device, parse_id(&id)?, &code).await?)
}

/// Whether this till is enrolled, and with which server (the token stays in the store).
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentInfo {
    pub enrolled: bool,
    pub server_url: Option<String>,
}

#[tauri::command]
fn enrollment_info(device: State<'_, Arc<Device>>) -> CmdResult<EnrollmentInfo> {
    let server_url = device.enrollment()?.map(|(url, _token)| url);
    Ok(EnrollmentInfo {
        enrolled: server_url.is_some(),
        server_url,
    })
}

/// Where the key of this till's encrypted store is kept (Settings warns when it is a file).
#[tauri::command]
fn key_place(device: State<'_, Arc<Device>>) -> KeyPlace {
    device.key_place().clone()
}

#[tauri::command]
fn store_location(device: State<'_, Arc<Device>>) -> CmdResult<Option<GeoPoint>> {
    Ok(device.store_location()?)
}

/// Coordinates arrive as typed; `dukkan-device` parses and validates them.
#[tauri::command]
fn set_store_location(
    device: State<'_, Arc<Device>>,
    latitude: String,
    longitude: String,
) -> CmdResult<GeoPoint> {
    Ok(device.set_store_location(&latitude, &longitude)?)
}

#[tauri::command]
fn clear_store_location(device: State<'_, Arc<Device>>) -> CmdResult<()> {
    Ok(device.clear_store_location()?)
}

#[tauri::command]
fn address_distances(
    device: State<'_, Arc<Device>>,
    customer_id: String,
) -> CmdResult<Vec<AddressDistance>> {
    Ok(device.address_distances(parse_id(&customer_id)?)?)
}

#[tauri::command]
fn customer_activity(device: State<'_, Arc<Device>>, id: String) -> CmdResult<CustomerActivity> {
    Ok(device.customer_activity(parse_id(&id)?)?)
}

/// The customer's history as the server holds it, for a signed-in manager while the till is
/// connected (`null` while the server does not know the customer yet).
#[tauri::command]
async fn server_history(
    device: State<'_, Arc<Device>>,
    id: String,
) -> CmdResult<Option<ServerHistory>> {
    Ok(engine::server_history(&device, parse_id(&id)?).await?)
}

#[tauri::command]
fn staff_session(device: State<'_, Arc<Device>>) -> StaffSession {
    device.staff_session()
}

#[tauri::command]
fn staff_roster(device: State<'_, Arc<Device>>) -> CmdResult<Vec<StaffMember>> {
    Ok(device.staff_roster()?)
}

/// Runs a slow use case (argon2 is slow on purpose) off the UI thread.
async fn off_the_ui_thread<T: Send + 'static>(
    device: &State<'_, Arc<Device>>,
    f: impl FnOnce(&Device) -> dukkan_device::Result<T> + Send + 'static,
) -> CmdResult<T> {
    let device = device.inner().clone();
    tauri::async_runtime::spawn_blocking(move || f(&device))
        .await
        .map_err(|e| CommandError::from(DeviceError::Export(e.to_string())))?
        .map_err(CommandError::from)
}

/// Checks the PIN.
#[tauri::command]
async fn sign_in(
    device: State<'_, Arc<Device>>,
    staff_id: String,
    pin: String,
) -> CmdResult<StaffMember> {
    off_the_ui_thread(&device, move |d| d.sign_in(&staff_id, &pin)).await
}

/// A standalone till's first start: its owner sets their PIN.
#[tauri::command]
async fn set_owner_pin(
    device: State<'_, Arc<Device>>,
    name: String,
    pin: String,
) -> CmdResult<StaffMember> {
    off_the_ui_thread(&device, move |d| d.set_owner_pin(&name, &pin)).await
}

#[tauri::command]
fn sign_out(device: State<'_, Arc<Device>>) -> StaffSession {
    device.sign_out();
    device.staff_session()
}

/// Where the database lives: `$DUKKAN_DATA_DIR`, else the platform's app-data directory.
fn data_dir<R: Runtime>(app: &tauri::App<R>) -> Result<PathBuf, Box<dyn std::error::Error>> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(app.path().app_data_dir()?),
    }
}

/// Why the till's store could not be opened at start (its key missing from the credential
/// store, a newer app's database, a damaged file): the window shows it instead of a desk that
/// cannot work, in the person's language, with where the data is.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StartupProblem {
    pub code: String,
    pub message: LocalizedMessage,
    /// The store's file, for whoever repairs the till.
    pub store: String,
}

/// The problem that kept the store closed, if any (managed for every start).
struct Startup(Option<StartupProblem>);

/// The shop's time zone (IANA name): the UI shows every date in its days and hours.
#[tauri::command]
fn time_zone(device: State<'_, Arc<Device>>) -> CmdResult<String> {
    Ok(device.time_zone()?.name().to_owned())
}

/// `None` when the till started normally; else why its data could not be opened.
/// Where the app stands with updates (and where it looks, as the store says now).
#[tauri::command]
fn update_status<R: Runtime>(app: AppHandle<R>) -> update::UpdateStatus {
    update::current(&app)
}

/// Asks the update feed now; the answer arrives as [`update::UPDATE_STATUS_EVENT`].
#[tauri::command]
fn check_for_updates<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        update::check(&app).await;
    });
}

/// Sets this till's own update feed (managers) and asks it at once.
#[tauri::command]
fn set_update_feed<R: Runtime>(
    app: AppHandle<R>,
    device: State<'_, Arc<Device>>,
    url: String,
) -> CmdResult<dukkan_device::UpdateFeed> {
    let feed = device.set_update_feed(&url)?;
    check_for_updates(app);
    Ok(feed)
}

/// Forgets this till's own update feed (managers): the server's applies again, if any.
#[tauri::command]
fn clear_update_feed(
    device: State<'_, Arc<Device>>,
) -> CmdResult<Option<dukkan_device::UpdateFeed>> {
    Ok(device.clear_update_feed()?)
}

#[tauri::command]
fn startup_problem(startup: State<'_, Startup>) -> Option<StartupProblem> {
    startup.0.clone()
}

/// Opens the device store and registers the commands; generic over the runtime so tests can
/// use Tauri's mock runtime. A store that cannot be opened leaves the app running with only
/// [`startup_problem`] to say why: a window that explains beats one that never opens.
pub fn setup<R: Runtime>(app: &mut tauri::App<R>) -> Result<(), Box<dyn std::error::Error>> {
    app.manage(update::Updates::new(app.package_info().version.to_string()));
    let dir = data_dir(app)?;
    std::fs::create_dir_all(&dir)?;
    let store = dir.join("dukkan.sqlite3");
    let device = match Device::open(&store) {
        Ok(device) => Arc::new(device),
        Err(e) => {
            tracing::error!(code = e.code(), error = %e, "the till's store cannot be opened");
            app.manage(Startup(Some(StartupProblem {
                code: e.code().to_owned(),
                message: e.message(),
                store: store.display().to_string(),
            })));
            return Ok(());
        }
    };
    app.manage(Startup(None));
    // A till never enrolled with a shop's server retires its own old walk-in guests (an
    // enrolled one hears of retirements from the server).
    match device.retire_old_guests() {
        Ok(0) => {}
        Ok(n) => tracing::info!(retired = n, "old walk-in guests without orders retired"),
        Err(e) => tracing::warn!(code = e.code(), "old walk-in guests were not retired"),
    }
    app.manage(device.clone());
    app.manage(SyncEngine::default());
    // An enrolled till syncs from the start; before enrollment the app works fully locally.
    let handle = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        let engine = handle.state::<SyncEngine>();
        if let Err(e) = start_engine(&handle, device, &engine).await {
            tracing::warn!(code = %e.code, "sync engine did not start");
        }
    });
    Ok(())
}

/// Builds the app with its commands (shared by `run` and the tests).
pub fn builder<R: Runtime>() -> tauri::Builder<R> {
    tauri::Builder::<R>::new()
        .setup(|app| setup(app))
        .invoke_handler(tauri::generate_handler![
            create_guest,
            create_stub,
            search_customers,
            list_customers,
            customer_details,
            update_customer,
            deactivate_customer,
            reactivate_customer,
            customer_orders,
            likely_duplicates,
            merge_preview,
            merge_customers,
            undo_merge,
            customer_merges,
            record_order,
            adjust_points,
            next_ticket,
            add_address,
            update_address,
            delete_address,
            set_default_address,
            export_csv,
            export_xlsx,
            backup_to,
            restore_from,
            sync_status,
            enroll_device,
            reset_enrollment,
            parked_ops,
            retry_parked,
            discard_parked,
            request_upgrade,
            resend_upgrade_code,
            verify_upgrade_code,
            enrollment_info,
            key_place,
            store_location,
            set_store_location,
            clear_store_location,
            address_distances,
            customer_activity,
            server_history,
            staff_session,
            staff_roster,
            sign_in,
            set_owner_pin,
            sign_out,
            startup_problem,
            time_zone,
            update_status,
            check_for_updates,
            set_update_feed,
            clear_update_feed
        ])
}

/// The variable that has WebKitGTK draw pages without GPU compositing.
pub const NO_COMPOSITING_ENV: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Whether the app turns WebKitGTK's compositing off, given what the variable is set to at
/// start: always, unless whoever started the app set it (`=0` gives a till its GPU back).
///
/// Why: measured with 100,000 customers scrolled end to end (BENCHMARKS.md, "Memory and Enter
/// → row without GPU compositing"), the composited renderer holds about 160 MiB more in
/// WebKit's web process (GL context, layer tiles and their pools) than drawing the page
/// directly, and a till's screens (forms and one list, no animation or video) gain nothing from
/// a GPU. It also keeps the app off the DMA-BUF renderer that leaves windows blank with some GPU
/// drivers.
/// Only Linux: Windows (WebView2) and macOS draw as they do.
fn turns_compositing_off(set: Option<&std::ffi::OsStr>) -> bool {
    cfg!(target_os = "linux") && set.is_none()
}

/// Runs the desktop app.
pub fn run() -> Result<(), tauri::Error> {
    // Before anything starts a thread or WebKit reads its environment: nothing else runs yet.
    if turns_compositing_off(std::env::var_os(NO_COMPOSITING_ENV).as_deref()) {
        std::env::set_var(NO_COMPOSITING_ENV, "1");
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let app = builder::<tauri::Wry>()
        .plugin(one_instance_per_till())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .plugin(update_schedule())
        .build(tauri::generate_context!())?;
    app.run(|_app, _event| {
        #[cfg(windows)]
        if let tauri::RunEvent::Exit = _event {
            update::install_staged_at_exit(_app);
        }
    });
    Ok(())
}

/// Asks the update feed on a schedule while the app runs (see [`update`]).
fn update_schedule<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("dukkan-update-schedule")
        .setup(|app, _| {
            update::spawn_schedule(app.clone());
            Ok(())
        })
        .build()
}

/// The event the first window hears when the app is launched again on its till.
pub const SECOND_LAUNCH_EVENT: &str = "second-launch";

/// One app per till: launching it again on the same data focuses the window that is open and
/// exits, instead of a second window (and a second sync engine) on the same store. Registered
/// before anything else, so the second launch never opens the store. On Linux the lock is a
/// D-Bus name per data directory (`$DUKKAN_DATA_DIR` gives each till on one machine its own);
/// on Windows and macOS the plugin keeps one instance per user session.
fn one_instance_per_till<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    let mut plugin = tauri_plugin_single_instance::Builder::new().callback(|app, _argv, _cwd| {
        tracing::info!("the app was launched again on this till; showing the open window");
        if let Some(window) = app.get_webview_window("main") {
            let _ = window.unminimize();
            let _ = window.show();
            let _ = window.set_focus();
        }
        let _ = app.emit(SECOND_LAUNCH_EVENT, ());
    });
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV) {
        let dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| PathBuf::from(&dir));
        plugin = plugin.dbus_id(instance_id(&dir));
    }
    plugin.build()
}

/// The D-Bus name of the till whose data is in `dir`: the app's identifier and a stable hash
/// of the directory (FNV-1a, the same in every build; a name element must not start with a
/// digit, hence the `d`).
fn instance_id(dir: &std::path::Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in dir.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("om.dukkan.desk.d{hash:016x}")
}

#[cfg(test)]
mod bindings;

#[cfg(test)]
mod tests {
    use super::{instance_id, turns_compositing_off};
    use std::ffi::OsStr;
    use std::path::Path;

    #[test]
    fn compositing_is_turned_off_on_linux_unless_whoever_started_the_app_chose() {
        assert_eq!(turns_compositing_off(None), cfg!(target_os = "linux"));
        assert!(!turns_compositing_off(Some(OsStr::new("0"))));
        assert!(!turns_compositing_off(Some(OsStr::new("1"))));
    }

    #[test]
    fn each_till_directory_has_its_own_stable_instance_name() {
        let a = instance_id(Path::new("/var/lib/dukkan/till-1"));
        assert_eq!(a, instance_id(Path::new("/var/lib/dukkan/till-1")));
        assert_ne!(a, instance_id(Path::new("/var/lib/dukkan/till-2")));
        // A valid D-Bus well-known name: dot-separated elements, none starting with a digit.
        assert!(a.starts_with("om.dukkan.desk.d"), "{a}");
        assert!(a
            .split('.')
            .all(|e| !e.is_empty() && !e.starts_with(|c: char| c.is_ascii_digit())));
        assert!(a.len() < 255);
    }
}
