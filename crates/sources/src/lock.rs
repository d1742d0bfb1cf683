//! The lock file: sha256 pins of sources that had none, recorded after an explicit trust-on-first-use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    /// URL -> sha256.
    sources: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    pub fn new(path: impl Into<PathBuf>) -> Lock {
        Lock { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<LockFile, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_yaml_ng::from_str(&text).map_err(|e| e.to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LockFile::default()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The pinned digest of `url`, if locked.
    pub fn pin(&self, url: &str) -> Result<Option<String>, String> {
        Ok(self.read()?.sources.get(url).cloned())
    }

    /// Record a pin (atomic rewrite of the whole file).
    pub fn record(&self, url: &str, digest: &str) -> Result<(), String> {
        let mut file = self.read()?;
        file.sources.insert(url.to_string(), digest.to_string());
        let text = format!(
            "# vmdeck source lock: sha256 of sources without a pin in their pack, trusted on first use.\n{}",
            serde_yaml_ng::to_string(&file).map_err(|e| e.to_string())?
        );
        crate::atomic_write::write(&self.path, text.as_bytes()).map_err(|e| e.to_string())
    }
}
