//! Reads a user folder of extra packs (one sub-folder per pack) into the file maps the packs crate takes.
//! Blocking file I/O: async callers run it on the blocking pool.

use std::collections::BTreeMap;
use std::path::Path;

use vmdeck_packs::PackFiles;

/// Every sub-folder of `dir` that has a `pack.yaml`. A missing `dir` gives no packs.
pub fn read_pack_folders(dir: &Path) -> std::io::Result<Vec<PackFiles>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    let mut packs = Vec::new();
    for entry in entries {
        let path = entry.path();
        if !path.is_dir() || !path.join("pack.yaml").is_file() {
            continue;
        }
        let mut files = BTreeMap::new();
        collect(&path, &path, &mut files)?;
        packs.push(PackFiles {
            folder: entry.file_name().to_string_lossy().into_owned(),
            files,
        });
    }
    Ok(packs)
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(relative, std::fs::read(&path)?);
        }
    }
    Ok(())
}
