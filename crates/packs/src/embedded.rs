//! The `packs/` folder of the repository, embedded into the binary at build time.

use include_dir::{Dir, include_dir};

use crate::catalog::PackFiles;

static PACKS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../packs");

/// Every pack folder with all its files (paths relative to the folder).
pub fn pack_folders() -> Vec<PackFiles> {
    PACKS
        .dirs()
        .map(|dir| {
            let mut files = std::collections::BTreeMap::new();
            collect(dir, dir.path(), &mut files);
            PackFiles {
                folder: dir.path().to_string_lossy().into_owned(),
                files,
            }
        })
        .collect()
}

fn collect(
    dir: &Dir<'static>,
    root: &std::path::Path,
    out: &mut std::collections::BTreeMap<String, Vec<u8>>,
) {
    for file in dir.files() {
        let relative = file.path().strip_prefix(root).unwrap_or(file.path());
        out.insert(
            relative.to_string_lossy().replace('\\', "/"),
            file.contents().to_vec(),
        );
    }
    for sub in dir.dirs() {
        collect(sub, root, out);
    }
}

/// `packs/presets.yaml`.
pub fn presets_yaml() -> Option<&'static [u8]> {
    PACKS.get_file("presets.yaml").map(|f| f.contents())
}
