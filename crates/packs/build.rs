//! Rebuild when anything under `packs/` changes (the folder is embedded with include_dir).
fn main() {
    println!("cargo:rerun-if-changed=../../packs");
}
