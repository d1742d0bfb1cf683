//! Writes the generated TypeScript types to `ui/src/lib/generated/` (or the folder given).

use std::path::{Path, PathBuf};

use anyhow::Context;
use vmdeck_desktop_core::typescript::{
    CLIENT_FILE, GENERATED_DIR, bindings, client_text, index_text,
};

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(GENERATED_DIR)
        });
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let bindings = bindings();
    let mut wanted = vec![PathBuf::from("index.ts"), PathBuf::from(CLIENT_FILE)];
    write_atomic(&dir.join("index.ts"), &index_text(&bindings))?;
    write_atomic(&dir.join(CLIENT_FILE), &client_text())?;
    for binding in &bindings {
        write_atomic(&dir.join(&binding.file), &binding.text)?;
        wanted.push(binding.file.clone());
    }
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let stale = path.extension().is_some_and(|e| e == "ts")
            && !wanted
                .iter()
                .any(|w| path.file_name() == Some(w.as_os_str()));
        if stale {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    println!("wrote {} files to {}", wanted.len(), dir.display());
    Ok(())
}

fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = atomic_write_file::AtomicWriteFile::open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .and_then(|()| file.commit())
        .with_context(|| format!("writing {}", path.display()))
}
