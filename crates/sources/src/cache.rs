//! The download cache: files stored under `<cache dir>/sha256/<digest>`, checked again on every read.
//! Blocking file I/O: async callers run it on the blocking pool.

use std::path::{Path, PathBuf};

use vmdeck_packs::sha256_hex;

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    fn path(&self, digest: &str) -> PathBuf {
        self.root.join("sha256").join(digest.to_ascii_lowercase())
    }

    /// The cached bytes for `digest`, if present and intact (a damaged entry is removed).
    pub fn get(&self, digest: &str) -> Option<Vec<u8>> {
        let path = self.path(digest);
        let bytes = std::fs::read(&path).ok()?;
        if sha256_hex(&bytes).eq_ignore_ascii_case(digest) {
            Some(bytes)
        } else {
            let _ = std::fs::remove_file(&path);
            None
        }
    }

    pub fn put(&self, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.path(&sha256_hex(bytes));
        crate::atomic_write::write(&path, bytes)?;
        Ok(path)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}
