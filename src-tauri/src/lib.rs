//! The Dukkan desktop shell: Tauri commands that are thin wrappers over `dukkan-device`.
//!
//! No logic lives here: each command extracts its arguments, calls the use case and maps the
//! error to `{code, messageId, args}` for the UI to localise.
#![forbid(unsafe_code)]

use dukkan_core::{CustomerId, LocalizedMessage, StubInput};
use dukkan_device::{
    Customer, CustomerDetails, Device, DeviceError, ListQuery, Page, SearchHit, StubOutcome,
};
use serde::Serialize;
use std::path::PathBuf;
use tauri::{Manager, Runtime, State};

/// Environment variable that overrides where the database lives (tests, portable installs).
pub const DATA_DIR_ENV: &str = "DUKKAN_DATA_DIR";

/// An error as the UI receives it: a stable code and a Fluent message with arguments.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandError {
    pub code: String,
    pub message: LocalizedMessage,
}

impl From<DeviceError> for CommandError {
    fn from(e: DeviceError) -> Self {
        if e.code() == "storage" {
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
        .map_err(|_| DeviceError::NotFound(dukkan_device::Entity::Customer).into())
}

#[tauri::command]
fn create_guest(device: State<'_, Device>) -> CmdResult<Customer> {
    Ok(device.create_guest()?)
}

#[tauri::command]
fn create_stub(device: State<'_, Device>, input: StubInput) -> CmdResult<StubOutcome> {
    Ok(device.create_stub(&input)?)
}

#[tauri::command]
fn search_customers(
    device: State<'_, Device>,
    query: String,
    limit: Option<usize>,
) -> CmdResult<Vec<SearchHit>> {
    Ok(device.search(&query, limit.unwrap_or(20))?)
}

#[tauri::command]
fn list_customers(device: State<'_, Device>, query: ListQuery) -> CmdResult<Page> {
    Ok(device.list_customers(&query)?)
}

#[tauri::command]
fn customer_details(device: State<'_, Device>, id: String) -> CmdResult<CustomerDetails> {
    Ok(device.customer(parse_id(&id)?)?)
}

/// Where the database lives: `$DUKKAN_DATA_DIR`, else the platform's app-data directory.
fn data_dir<R: Runtime>(app: &tauri::App<R>) -> Result<PathBuf, Box<dyn std::error::Error>> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(app.path().app_data_dir()?),
    }
}

/// Opens the device store and registers the commands; generic over the runtime so tests can
/// use Tauri's mock runtime.
pub fn setup<R: Runtime>(app: &mut tauri::App<R>) -> Result<(), Box<dyn std::error::Error>> {
    let dir = data_dir(app)?;
    std::fs::create_dir_all(&dir)?;
    let device = Device::open(dir.join("dukkan.sqlite3"))?;
    app.manage(device);
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
            customer_details
        ])
}

/// Runs the desktop app.
pub fn run() -> Result<(), tauri::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    builder::<tauri::Wry>().run(tauri::generate_context!())
}
