//! The non-secret cluster index (`clusters.json` in the config dir), written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::connection::{AuthKind, ClusterWarning};
use crate::secret_store::StoreKind;

const INDEX_FILE: &str = "clusters.json";
const INDEX_VERSION: u32 = 1;

/// A saved cluster as listed: nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCluster {
    pub name: String,
    /// Key of the secret blob (stable across renames).
    pub id: String,
    pub server: String,
    pub context: String,
    /// sha256 of the CA certificate's DER, lowercase hex.
    pub ca_fingerprint: Option<String>,
    pub auth: AuthKind,
    pub secret_store: StoreKind,
    pub added: Timestamp,
    pub last_used: Option<Timestamp>,
    #[serde(default)]
    pub warnings: Vec<ClusterWarning>,
}

impl SavedCluster {
    /// Warnings to show with this cluster (e.g. TLS verification off).
    pub fn warnings(&self) -> &[ClusterWarning] {
        &self.warnings
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct IndexFile {
    version: u32,
    clusters: Vec<SavedCluster>,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot read the cluster list {}: {reason}; check its permissions", .path.display())]
    Read { path: PathBuf, reason: String },
    #[error("the cluster list {} is damaged ({reason}); move it aside and re-import your clusters", .path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot save the cluster list {}: {reason}; check free space and permissions", .path.display())]
    Write { path: PathBuf, reason: String },
}

impl IndexError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read { .. } => "index_unreadable",
            Self::Corrupt { .. } => "index_corrupt",
            Self::Write { .. } => "index_write_failed",
        }
    }
}

/// The index file in a config directory.
#[derive(Debug, Clone)]
pub struct ClusterIndex {
    path: PathBuf,
}

impl ClusterIndex {
    pub fn in_dir(config_dir: &Path) -> Self {
        Self {
            path: config_dir.join(INDEX_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All saved clusters (empty when the file does not exist yet).
    pub fn load(&self) -> Result<Vec<SavedCluster>, IndexError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(IndexError::Read {
                    path: self.path.clone(),
                    reason: e.to_string(),
                });
            }
        };
        let file: IndexFile = serde_json::from_str(&text).map_err(|e| IndexError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        if file.version != INDEX_VERSION {
            return Err(IndexError::Corrupt {
                path: self.path.clone(),
                reason: format!(
                    "version {} is not supported (expected {INDEX_VERSION})",
                    file.version
                ),
            });
        }
        Ok(file.clusters)
    }

    /// Replaces the file: temp file in the same directory, fsync, rename.
    pub fn save(&self, clusters: &[SavedCluster]) -> Result<(), IndexError> {
        let write_err = |reason: String| IndexError::Write {
            path: self.path.clone(),
            reason,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| write_err(e.to_string()))?;
        let body = serde_json::to_vec_pretty(&IndexFile {
            version: INDEX_VERSION,
            clusters: clusters.to_vec(),
        })
        .map_err(|e| write_err(e.to_string()))?;
        let mut temp =
            tempfile::NamedTempFile::new_in(dir).map_err(|e| write_err(e.to_string()))?;
        temp.write_all(&body)
            .map_err(|e| write_err(e.to_string()))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| write_err(e.to_string()))?;
        temp.persist(&self.path)
            .map_err(|e| write_err(e.error.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> SavedCluster {
        SavedCluster {
            name: name.into(),
            id: format!("id-{name}"),
            server: "https://h:6443".into(),
            context: "ctx".into(),
            ca_fingerprint: None,
            auth: AuthKind::Token,
            secret_store: StoreKind::SessionOnly,
            added: Timestamp::UNIX_EPOCH,
            last_used: None,
            warnings: vec![ClusterWarning::InsecureSkipTlsVerify],
        }
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let index = ClusterIndex::in_dir(&dir.path().join("nested"));
        assert!(index.load().unwrap().is_empty());
        index.save(&[sample("a"), sample("b")]).unwrap();
        index.save(&[sample("b")]).unwrap();
        assert_eq!(index.load().unwrap(), vec![sample("b")]);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("nested"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("clusters.json")]);
    }

    #[test]
    fn damaged_file_is_reported_with_a_code() {
        let dir = tempfile::tempdir().unwrap();
        let index = ClusterIndex::in_dir(dir.path());
        std::fs::write(index.path(), "{not json").unwrap();
        assert_eq!(index.load().unwrap_err().code(), "index_corrupt");
    }
}
