//! Tauri build step: embeds tauri.conf.json, capabilities and icons.
fn main() {
    tauri_build::build()
}
