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

/// Why the lock file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot read it: {source}")]
    Read { source: std::io::Error },
    #[error("it is not a valid lock file: {source}")]
    Parse { source: serde_yaml_ng::Error },
    #[error("cannot encode it: {source}")]
    Encode { source: serde_yaml_ng::Error },
    #[error("cannot write it: {source}")]
    Write { source: std::io::Error },
}

/// The lock file at a path. Its methods do blocking file I/O.
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

    fn read(&self) -> Result<LockFile, LockError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                serde_yaml_ng::from_str(&text).map_err(|source| LockError::Parse { source })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LockFile::default()),
            Err(source) => Err(LockError::Read { source }),
        }
    }

    /// The pinned digest of `url`, if locked.
    pub fn pin(&self, url: &str) -> Result<Option<String>, LockError> {
        Ok(self.read()?.sources.get(url).cloned())
    }

    /// Record a pin (atomic rewrite of the whole file).
    pub fn record(&self, url: &str, digest: &str) -> Result<(), LockError> {
        let mut file = self.read()?;
        file.sources.insert(url.to_string(), digest.to_string());
        let text = format!(
            "# vmdeck source lock: sha256 of sources without a pin in their pack, trusted on first use.\n{}",
            serde_yaml_ng::to_string(&file).map_err(|source| LockError::Encode { source })?
        );
        crate::atomic_write::write(&self.path, text.as_bytes())
            .map_err(|source| LockError::Write { source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_round_trip_and_a_damaged_file_is_a_parse_error() {
        let dir = tempfile::tempdir().unwrap();
        let lock = Lock::new(dir.path().join("sources.lock.yaml"));
        assert_eq!(lock.pin("https://x/a.yaml").unwrap(), None);
        lock.record("https://x/a.yaml", "ab12").unwrap();
        assert_eq!(
            lock.pin("https://x/a.yaml").unwrap().as_deref(),
            Some("ab12")
        );
        std::fs::write(lock.path(), "sources: [not, a, map]").unwrap();
        let err = lock.pin("https://x/a.yaml").unwrap_err();
        assert!(matches!(err, LockError::Parse { .. }), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }
}
