//! The non-secret cluster index (`clusters.json` in the config dir, mode 0600), written atomically.
//!
//! Besides the clusters it records the secret-store ids the index no longer lists but whose
//! entries may still exist (a removal or an import interrupted between its steps): the OS
//! keyring cannot be listed, so this record is what lets a later start find and delete them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::connection::{AuthKind, ClusterWarning};
use crate::endpoints::{EndpointKind, ProxiedEndpoint};
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
    /// Access through the Spectro-style reverse proxy, when added (older files have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxied: Option<ProxiedEndpoint>,
    /// The endpoint this cluster's clients use (older files: direct).
    #[serde(default)]
    pub endpoint_in_use: EndpointKind,
}

impl SavedCluster {
    /// Warnings to show with this cluster (e.g. TLS verification off).
    pub fn warnings(&self) -> &[ClusterWarning] {
        &self.warnings
    }
}

/// Everything the index file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexContents {
    pub clusters: Vec<SavedCluster>,
    /// Keys of the extra secrets each cluster owns (by cluster id), e.g. pack secrets; their
    /// entries are deleted with the cluster.
    pub extra_secrets: BTreeMap<String, BTreeSet<String>>,
    /// Secret-store ids that no listed cluster owns but that may still exist: deleted by the
    /// next sweep.
    pub unlisted_secrets: BTreeSet<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct IndexFile {
    version: u32,
    clusters: Vec<SavedCluster>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    extra_secrets: BTreeMap<String, BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    unlisted_secrets: BTreeSet<String>,
}

/// Why the index could not be read, parsed or saved.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot read the cluster list {}: {source}; check its permissions", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the cluster list {} is damaged ({source}); move it aside and re-import your clusters", .path.display())]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the cluster list {} has version {found}, which this VMDeck does not support (expected {INDEX_VERSION}); update VMDeck", .path.display())]
    Version { path: PathBuf, found: u32 },
    #[error("cannot save the cluster list {}: {source}; check free space and permissions", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl IndexError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read { .. } => "index_unreadable",
            Self::Corrupt { .. } | Self::Version { .. } => "index_corrupt",
            Self::Write { .. } => "index_write_failed",
        }
    }
}

/// The index file in a config directory. Its methods do blocking file I/O.
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
        Ok(self.load_contents()?.clusters)
    }

    /// The whole index (empty when the file does not exist yet).
    pub fn load_contents(&self) -> Result<IndexContents, IndexError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(IndexContents::default());
            }
            Err(source) => {
                return Err(IndexError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let file: IndexFile =
            serde_json::from_str(&text).map_err(|source| IndexError::Corrupt {
                path: self.path.clone(),
                source,
            })?;
        if file.version != INDEX_VERSION {
            return Err(IndexError::Version {
                path: self.path.clone(),
                found: file.version,
            });
        }
        Ok(IndexContents {
            clusters: file.clusters,
            extra_secrets: file.extra_secrets,
            unlisted_secrets: file.unlisted_secrets,
        })
    }

    /// Replaces the file atomically (temp file in the same directory, fsync, rename, fsync of
    /// the directory), readable by the user only.
    pub fn save(&self, contents: &IndexContents) -> Result<(), IndexError> {
        let write_err = |source: std::io::Error| IndexError::Write {
            path: self.path.clone(),
            source,
        };
        let body = serde_json::to_vec_pretty(&IndexFile {
            version: INDEX_VERSION,
            clusters: contents.clusters.clone(),
            extra_secrets: contents.extra_secrets.clone(),
            unlisted_secrets: contents.unlisted_secrets.clone(),
        })
        .map_err(|e| write_err(e.into()))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        let mut file = private_file_options().open(&self.path).map_err(write_err)?;
        file.write_all(&body).map_err(write_err)?;
        file.commit().map_err(write_err)
    }
}

/// Atomic-write options for a file only its owner may read: mode 0600 on Unix, whatever mode
/// an earlier version of the file had.
fn private_file_options() -> atomic_write_file::OpenOptions {
    #[allow(unused_mut)]
    let mut options = atomic_write_file::OpenOptions::new();
    #[cfg(unix)]
    {
        use atomic_write_file::unix::OpenOptionsExt as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600).preserve_mode(false);
    }
    options
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
            proxied: None,
            endpoint_in_use: EndpointKind::Direct,
        }
    }

    fn listing(clusters: Vec<SavedCluster>) -> IndexContents {
        IndexContents {
            clusters,
            ..IndexContents::default()
        }
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let index = ClusterIndex::in_dir(&dir.path().join("nested"));
        assert!(index.load().unwrap().is_empty());
        index
            .save(&listing(vec![sample("a"), sample("b")]))
            .unwrap();
        let mut contents = listing(vec![sample("b")]);
        contents.unlisted_secrets.insert("id-a".into());
        contents
            .extra_secrets
            .entry("id-b".into())
            .or_default()
            .insert("pack:p:token".into());
        index.save(&contents).unwrap();
        assert_eq!(index.load_contents().unwrap(), contents);
        assert_eq!(index.load().unwrap(), vec![sample("b")]);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("nested"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("clusters.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_readable_by_its_owner_only_even_if_it_was_not() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let index = ClusterIndex::in_dir(dir.path());
        std::fs::write(index.path(), r#"{"version":1,"clusters":[]}"#).unwrap();
        std::fs::set_permissions(index.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        index.save(&listing(vec![sample("a")])).unwrap();
        let mode = std::fs::metadata(index.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_file_without_the_newer_fields_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let index = ClusterIndex::in_dir(dir.path());
        std::fs::write(index.path(), r#"{"version":1,"clusters":[]}"#).unwrap();
        assert_eq!(index.load_contents().unwrap(), IndexContents::default());
    }

    #[test]
    fn damaged_file_is_reported_with_a_code() {
        let dir = tempfile::tempdir().unwrap();
        let index = ClusterIndex::in_dir(dir.path());
        std::fs::write(index.path(), "{not json").unwrap();
        assert_eq!(index.load().unwrap_err().code(), "index_corrupt");
        std::fs::write(index.path(), r#"{"version":7,"clusters":[]}"#).unwrap();
        let newer = index.load().unwrap_err();
        assert_eq!(newer.code(), "index_corrupt");
        assert!(newer.to_string().contains("version 7"), "{newer}");
    }
}
