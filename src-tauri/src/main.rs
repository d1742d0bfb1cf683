//! VMDeck desktop app entry point: parses `--demo` / `VMDECK_DEMO`, opens the core and the window.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod launch;

fn main() {
    let _logs = vmdeck_desktop_core::logging::init_default();
    let options = launch::LaunchOptions::from_env_and_args(std::env::args().skip(1));
    let core = commands::CoreCell::new(options.core_config());
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(core)
        .setup(|app| {
            commands::open_core_early(app.handle());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::use_session_only,
            commands::list_clusters,
            commands::inspect_kubeconfig,
            commands::import_clusters,
            commands::rename_cluster,
            commands::remove_cluster,
            commands::check_cluster,
            commands::start_demo,
            commands::wizard_catalog,
            commands::resolve_packs,
            commands::gate_table,
            commands::validate_profile,
            commands::save_profile,
            commands::load_profile,
            commands::list_profiles,
            commands::store_pack_secret,
            commands::pack_secret_status,
            commands::ui_ready,
        ])
        .run(tauri::generate_context!())
        .unwrap_or_else(|err| {
            eprintln!("vmdeck: the window could not start: {err}");
            std::process::exit(1);
        });
}
