//! The committed TypeScript types in ui/src/lib/generated match the Rust types (regenerate with vmdeck-ts-bindings).

use std::path::Path;

use vmdeck_desktop_core::typescript::{
    CLIENT_FILE, GENERATED_DIR, bindings, client_text, index_text,
};

#[test]
fn committed_typescript_matches_the_rust_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(GENERATED_DIR);
    let bindings = bindings();
    let mut stale = Vec::new();
    for binding in &bindings {
        let committed = std::fs::read_to_string(dir.join(&binding.file)).unwrap_or_default();
        if committed != binding.text {
            stale.push(binding.file.display().to_string());
        }
    }
    let index = std::fs::read_to_string(dir.join("index.ts")).unwrap_or_default();
    if index != index_text(&bindings) {
        stale.push("index.ts".into());
    }
    let client = std::fs::read_to_string(dir.join(CLIENT_FILE)).unwrap_or_default();
    if client != client_text() {
        stale.push(CLIENT_FILE.into());
    }
    assert!(
        stale.is_empty(),
        "stale generated TypeScript {stale:?}; run: cargo run -p vmdeck-desktop-core --bin vmdeck-ts-bindings"
    );
}

#[test]
fn every_imported_type_is_generated_too() {
    let bindings = bindings();
    for binding in &bindings {
        for import in &binding.imports {
            assert!(
                bindings.iter().any(|b| &b.file == import),
                "{} imports {} which is not generated",
                binding.file.display(),
                import.display()
            );
        }
    }
}
