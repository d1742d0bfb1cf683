//! VMDeck desktop app entry point: parses `--demo` / `VMDECK_DEMO` (and `--reset-demo`), opens the
//! core and the window.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::sync::Arc;

mod console_window;
mod core_cell;
mod ipc;
mod launch;
mod stream_stops;

fn main() {
    let _logs = vmdeck_desktop_core::logging::init_default();
    let options = launch::LaunchOptions::from_env_and_args(std::env::args().skip(1));
    if let Err(problem) = options.reset_demo_folder() {
        eprintln!("vmdeck: {problem}");
        std::process::exit(1);
    }
    let core = Arc::new(core_cell::CoreCell::new(options.core_config()));
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(core)
        .setup(|app| {
            core_cell::open_early(app.handle());
            Ok(())
        })
        .invoke_handler(ipc::handle)
        .run(tauri::generate_context!())
        .unwrap_or_else(|err| {
            eprintln!("vmdeck: the window could not start: {err}");
            std::process::exit(1);
        });
}
