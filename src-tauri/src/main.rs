// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(e) = dukkan_app::run() {
        eprintln!("dukkan: {e}");
        std::process::exit(1);
    }
}
