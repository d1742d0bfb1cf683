//! The vault: import, list, rename and remove saved clusters; clients and connection checks for them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::app_dirs::AppDirs;
use crate::cluster_index::{ClusterIndex, IndexError, SavedCluster};
use crate::connection::ClusterConnection;
use crate::connection_check::{CheckFailure, CheckReport, DEFAULT_CHECK_TIMEOUT, check_cluster};
use crate::exec_credentials::ExecCredentialSource;
use crate::import_error::ImportError;
use crate::kube_client::{ClientError, build_client};
use crate::kubeconfig_merge::{LoadedKubeconfig, discover, load_path, load_text};
use crate::login_path::ExecEnvironment;
use crate::resolve::resolve_context;
use crate::secret_store::{SecretStore, SecretStoreError};
use crate::sensitive::Sensitive;

/// Longest cluster name accepted.
const MAX_NAME_CHARS: usize = 100;

/// One context to import and the name to save it under (default: the context's name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextPick {
    pub context: Option<String>,
    pub name: Option<String>,
}

/// What to import from a loaded kubeconfig.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// Contexts to import; empty means the current context.
    pub picks: Vec<ContextPick>,
    /// Replace clusters that already have the chosen names.
    pub overwrite: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    SecretStore(#[from] SecretStoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(
        "a cluster named \"{name}\" already exists; choose another name or confirm to replace it"
    )]
    NameExists { name: String },
    #[error("the name \"{name}\" is chosen twice in this import; give each context its own name")]
    NameTwice { name: String },
    #[error("invalid cluster name \"{name}\": {problem}")]
    InvalidName { name: String, problem: &'static str },
    #[error("no saved cluster is named \"{name}\"")]
    NotFound { name: String },
    #[error(
        "the secrets of cluster \"{name}\" are gone (it was saved session-only or the keyring entry was deleted); re-import it"
    )]
    SecretMissing { name: String },
    #[error("the saved secrets of cluster \"{name}\" are damaged; re-import it")]
    SecretCorrupt { name: String },
}

impl VaultError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Import(e) => e.code(),
            Self::SecretStore(e) => e.code(),
            Self::Index(e) => e.code(),
            Self::Client(e) => e.code(),
            Self::NameExists { .. } => "name_exists",
            Self::NameTwice { .. } => "name_twice",
            Self::InvalidName { .. } => "invalid_name",
            Self::NotFound { .. } => "cluster_not_found",
            Self::SecretMissing { .. } => "secret_missing",
            Self::SecretCorrupt { .. } => "secret_corrupt",
        }
    }
}

/// Saved clusters: the index on disk plus one secret blob per cluster in the secret store.
pub struct Vault {
    index: ClusterIndex,
    store: Arc<dyn SecretStore>,
    exec_environment: ExecEnvironment,
    check_timeout: Duration,
    exec_sources: Mutex<HashMap<String, Arc<ExecCredentialSource>>>,
    /// Serialises read-modify-write cycles of the index within this process.
    index_lock: Mutex<()>,
}

impl Vault {
    pub fn new(
        dirs: &AppDirs,
        store: Arc<dyn SecretStore>,
        exec_environment: ExecEnvironment,
    ) -> Self {
        Self {
            index: ClusterIndex::in_dir(&dirs.config),
            store,
            exec_environment,
            check_timeout: DEFAULT_CHECK_TIMEOUT,
            exec_sources: Mutex::new(HashMap::new()),
            index_lock: Mutex::new(()),
        }
    }

    /// Sets the per-step timeout of connection checks, API calls and exec plugins.
    pub fn with_check_timeout(mut self, timeout: Duration) -> Self {
        self.check_timeout = timeout;
        self
    }

    pub fn store(&self) -> &dyn SecretStore {
        self.store.as_ref()
    }

    pub fn list(&self) -> Result<Vec<SavedCluster>, VaultError> {
        Ok(self.index.load()?)
    }

    pub fn get(&self, name: &str) -> Result<SavedCluster, VaultError> {
        self.list()?
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| VaultError::NotFound {
                name: name.to_string(),
            })
    }

    pub fn import_from_path(
        &self,
        path: &Path,
        request: &ImportRequest,
    ) -> Result<Vec<SavedCluster>, VaultError> {
        self.import(&load_path(path)?, request)
    }

    pub fn import_from_text(
        &self,
        text: &str,
        request: &ImportRequest,
    ) -> Result<Vec<SavedCluster>, VaultError> {
        self.import(&load_text(text)?, request)
    }

    /// Imports from `$KUBECONFIG` / `~/.kube/config`.
    pub fn import_discovered(
        &self,
        request: &ImportRequest,
    ) -> Result<Vec<SavedCluster>, VaultError> {
        self.import(&discover()?, request)
    }

    /// Saves the chosen contexts. All of them are checked first; nothing is saved on any error.
    pub fn import(
        &self,
        loaded: &LoadedKubeconfig,
        request: &ImportRequest,
    ) -> Result<Vec<SavedCluster>, VaultError> {
        self.import_replacing(loaded, request, &[])
    }

    /// Like [`Vault::import`], and clusters named in `replace` are replaced even without
    /// `overwrite` (the names the user confirmed one by one); any other existing name is refused.
    pub fn import_replacing(
        &self,
        loaded: &LoadedKubeconfig,
        request: &ImportRequest,
        replace: &[String],
    ) -> Result<Vec<SavedCluster>, VaultError> {
        let default_pick = [ContextPick::default()];
        let picks = if request.picks.is_empty() {
            &default_pick[..]
        } else {
            &request.picks[..]
        };
        let mut resolved = Vec::new();
        for pick in picks {
            let context = resolve_context(loaded, pick.context.as_deref())?;
            let name = pick.name.clone().unwrap_or_else(|| context.context.clone());
            let name = check_name(&name)?;
            if resolved.iter().any(|(n, _)| n == &name) {
                return Err(VaultError::NameTwice { name });
            }
            resolved.push((name, context));
        }

        let _guard = self.index_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut clusters = self.index.load()?;
        if !request.overwrite
            && let Some((name, _)) = resolved
                .iter()
                .find(|(n, _)| !replace.contains(n) && clusters.iter().any(|c| &c.name == n))
        {
            return Err(VaultError::NameExists { name: name.clone() });
        }

        let now = Timestamp::now();
        let mut saved = Vec::new();
        let mut written_ids: Vec<String> = Vec::new();
        for (name, context) in &resolved {
            let id = new_id(name);
            let blob = serde_json::to_string(&context.connection)
                .map(Sensitive::new)
                .map_err(|_| SecretStoreError::Failed {
                    detail: "the connection could not be encoded".into(),
                })?;
            if let Err(err) = self.store.put(&id, &blob) {
                for written in &written_ids {
                    let _ = self.store.delete(written);
                }
                return Err(err.into());
            }
            written_ids.push(id.clone());
            saved.push(SavedCluster {
                name: name.clone(),
                id,
                server: context.connection.server.clone(),
                context: context.context.clone(),
                ca_fingerprint: context.ca_fingerprint.clone(),
                auth: context.connection.credentials.kind(),
                secret_store: self.store.kind(),
                added: now,
                last_used: None,
                warnings: context.warnings.clone(),
            });
        }

        let mut replaced_ids = Vec::new();
        clusters.retain(|c| {
            let replaced = saved.iter().any(|s| s.name == c.name);
            if replaced {
                replaced_ids.push(c.id.clone());
            }
            !replaced
        });
        clusters.extend(saved.iter().cloned());
        if let Err(err) = self.index.save(&clusters) {
            for written in &written_ids {
                let _ = self.store.delete(written);
            }
            return Err(err.into());
        }
        for id in replaced_ids {
            self.forget_exec_source(&id);
            if let Err(err) = self.store.delete(&id) {
                tracing::warn!(
                    code = err.code(),
                    "could not delete the replaced cluster's keyring entry"
                );
            }
        }
        for cluster in &saved {
            tracing::info!(cluster = %cluster.name, server = %cluster.server, "cluster imported");
        }
        Ok(saved)
    }

    pub fn rename(&self, old: &str, new: &str) -> Result<SavedCluster, VaultError> {
        let new = check_name(new)?;
        let _guard = self.index_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut clusters = self.index.load()?;
        if old != new && clusters.iter().any(|c| c.name == new) {
            return Err(VaultError::NameExists { name: new });
        }
        let cluster =
            clusters
                .iter_mut()
                .find(|c| c.name == old)
                .ok_or_else(|| VaultError::NotFound {
                    name: old.to_string(),
                })?;
        cluster.name = new;
        let renamed = cluster.clone();
        self.index.save(&clusters)?;
        Ok(renamed)
    }

    /// Removes the cluster and its secret store entry.
    pub fn remove(&self, name: &str) -> Result<(), VaultError> {
        let _guard = self.index_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut clusters = self.index.load()?;
        let position = clusters
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| VaultError::NotFound {
                name: name.to_string(),
            })?;
        let removed = clusters.remove(position);
        self.store.delete(&removed.id)?;
        self.forget_exec_source(&removed.id);
        self.index.save(&clusters)?;
        Ok(())
    }

    /// The stored connection of a saved cluster (secrets included; keep it in memory only).
    pub fn connection(&self, name: &str) -> Result<ClusterConnection, VaultError> {
        let cluster = self.get(name)?;
        let blob = self
            .store
            .get(&cluster.id)?
            .ok_or_else(|| VaultError::SecretMissing {
                name: name.to_string(),
            })?;
        serde_json::from_str(blob.expose()).map_err(|_| VaultError::SecretCorrupt {
            name: name.to_string(),
        })
    }

    /// A kube client for a saved cluster; exec plugins run with the login PATH.
    pub async fn client(&self, name: &str) -> Result<kube::Client, VaultError> {
        let cluster = self.get(name)?;
        let connection = self.connection(name)?;
        let source = connection
            .credentials
            .exec
            .clone()
            .map(|exec| self.exec_source(&cluster.id, exec, &connection));
        Ok(build_client(&connection, source.as_deref(), self.check_timeout).await?)
    }

    /// Checks a saved cluster; records `last_used` when it is reachable.
    pub async fn check(&self, name: &str) -> Result<CheckReport, VaultError> {
        let client = match self.client(name).await {
            Ok(client) => client,
            Err(VaultError::Client(err)) => {
                return Ok(CheckReport::failed(name, CheckFailure::from(&err)));
            }
            Err(other) => return Err(other),
        };
        let report = check_cluster(name, &client, self.check_timeout).await;
        if report.reachable {
            self.touch(name)?;
        }
        Ok(report)
    }

    fn touch(&self, name: &str) -> Result<(), VaultError> {
        let _guard = self.index_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut clusters = self.index.load()?;
        if let Some(cluster) = clusters.iter_mut().find(|c| c.name == name) {
            cluster.last_used = Some(Timestamp::now());
            self.index.save(&clusters)?;
        }
        Ok(())
    }

    fn exec_source(
        &self,
        id: &str,
        exec: crate::connection::StoredExec,
        connection: &ClusterConnection,
    ) -> Arc<ExecCredentialSource> {
        let mut sources = self.exec_sources.lock().unwrap_or_else(|p| p.into_inner());
        sources
            .entry(id.to_string())
            .or_insert_with(|| {
                Arc::new(ExecCredentialSource::new(
                    exec,
                    connection,
                    self.exec_environment.clone(),
                    self.check_timeout * 6,
                ))
            })
            .clone()
    }

    fn forget_exec_source(&self, id: &str) {
        self.exec_sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

fn check_name(name: &str) -> Result<String, VaultError> {
    let trimmed = name.trim();
    let invalid = |problem| VaultError::InvalidName {
        name: name.to_string(),
        problem,
    };
    if trimmed.is_empty() {
        return Err(invalid("empty; give the cluster a name"));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(invalid("longer than 100 characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid("contains control characters"));
    }
    Ok(trimmed.to_string())
}

/// A fresh id for a secret blob: unique per import, independent of later renames.
fn new_id(name: &str) -> String {
    let nanos = Timestamp::now().as_nanosecond();
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(nanos.to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(format!("{:?}", std::thread::current().id()).as_bytes());
    format!("cluster-{}", &hex::encode(hasher.finalize())[..24])
}
