//! The vault: import, list, rename and remove saved clusters; clients and connection checks for them.
//!
//! Its synchronous methods do blocking I/O (the index file and its fsyncs, the keyring over
//! D-Bus): async callers run them on the blocking pool (`tokio::task::spawn_blocking`). The async
//! methods ([`Vault::client`], [`Vault::check`]) offload their own blocking parts.
//!
//! Integrity: the index never lists a cluster whose secret is missing. Secrets are written
//! before the index lists them and deleted only after it stopped listing them; ids that may be
//! left behind by an interrupted step are recorded in the index first and deleted by the next
//! [`Vault::sweep_orphans`] (or the next import or removal).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::app_dirs::AppDirs;
use crate::cluster_index::{ClusterIndex, IndexContents, IndexError, SavedCluster};
use crate::connection::ClusterConnection;
use crate::connection_check::{CheckFailure, CheckReport, DEFAULT_CHECK_TIMEOUT, check_cluster};
use crate::endpoints::{EndpointError, EndpointKind, ProxiedEndpoint};
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
    #[error("the connection of cluster \"{name}\" could not be encoded: {source}")]
    Encode {
        name: String,
        source: serde_json::Error,
    },
    #[error("a background task of the vault failed: {source}")]
    Task { source: tokio::task::JoinError },
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error(
        "cluster \"{name}\" has no proxied endpoint yet; add proxied access first (vmdeckctl clusters add-proxied {name} --server PROXY_HOST --cluster-uid UID)"
    )]
    NoProxiedEndpoint { name: String },
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
            Self::Encode { .. } | Self::Task { .. } => "internal",
            Self::Endpoint(e) => e.code(),
            Self::NoProxiedEndpoint { .. } => "no_proxied_endpoint",
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
    index_lock: Arc<Mutex<()>>,
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
            index_lock: Arc::new(Mutex::new(())),
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
        Ok(find_cluster(&self.list()?, name)?.clone())
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

        let _guard = self.lock_index();
        let mut contents = self.index.load_contents()?;
        if !request.overwrite
            && let Some((name, _)) = resolved.iter().find(|(n, _)| {
                !replace.contains(n) && contents.clusters.iter().any(|c| &c.name == n)
            })
        {
            return Err(VaultError::NameExists { name: name.clone() });
        }

        let now = Timestamp::now();
        let mut saved = Vec::new();
        let mut blobs = Vec::new();
        for (name, context) in &resolved {
            let id = new_id(name);
            let blob = serde_json::to_string(&context.connection)
                .map(Sensitive::new)
                .map_err(|source| VaultError::Encode {
                    name: name.clone(),
                    source,
                })?;
            blobs.push(blob);
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
                proxied: None,
                endpoint_in_use: EndpointKind::Direct,
            });
        }

        // Record the new ids as unlisted before writing their secrets: if this stops half-way,
        // the next sweep finds and deletes what was written.
        let mut intent = contents.clone();
        intent
            .unlisted_secrets
            .extend(saved.iter().map(|c| c.id.clone()));
        self.index.save(&intent)?;
        for (cluster, blob) in saved.iter().zip(&blobs) {
            if let Err(err) = self.store.put(&cluster.id, blob) {
                self.settle(&mut intent);
                return Err(err.into());
            }
        }

        let mut replaced = Vec::new();
        contents.clusters.retain(|c| {
            let is_replaced = saved.iter().any(|s| s.name == c.name);
            if is_replaced {
                replaced.push(c.id.clone());
            }
            !is_replaced
        });
        for id in &replaced {
            self.forget_exec_source(id);
            unlist_cluster_secrets(&mut contents, id);
        }
        contents.clusters.extend(saved.iter().cloned());
        if let Err(err) = self.index.save(&contents) {
            self.settle(&mut intent);
            return Err(err.into());
        }
        self.settle(&mut contents);
        for cluster in &saved {
            tracing::info!(cluster = %cluster.name, server = %cluster.server, "cluster imported");
        }
        Ok(saved)
    }

    pub fn rename(&self, old: &str, new: &str) -> Result<SavedCluster, VaultError> {
        let new = check_name(new)?;
        let _guard = self.lock_index();
        let mut contents = self.index.load_contents()?;
        if old != new && contents.clusters.iter().any(|c| c.name == new) {
            return Err(VaultError::NameExists { name: new });
        }
        let cluster = contents
            .clusters
            .iter_mut()
            .find(|c| c.name == old)
            .ok_or_else(|| VaultError::NotFound {
                name: old.to_string(),
            })?;
        cluster.name = new;
        let renamed = cluster.clone();
        self.index.save(&contents)?;
        Ok(renamed)
    }

    /// Removes the cluster, then its secrets (the connection and every cluster secret). The
    /// index is saved first; a secret that cannot be deleted now is deleted by a later sweep.
    pub fn remove(&self, name: &str) -> Result<(), VaultError> {
        let _guard = self.lock_index();
        let mut contents = self.index.load_contents()?;
        let position = contents
            .clusters
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| VaultError::NotFound {
                name: name.to_string(),
            })?;
        let removed = contents.clusters.remove(position);
        unlist_cluster_secrets(&mut contents, &removed.id);
        self.index.save(&contents)?;
        self.forget_exec_source(&removed.id);
        self.settle(&mut contents);
        Ok(())
    }

    /// Deletes the secrets that no listed cluster owns any more (left by a removal or import
    /// that was interrupted); returns how many were deleted. Run it at start. Entries that
    /// cannot be deleted now stay recorded for the next sweep.
    pub fn sweep_orphans(&self) -> Result<usize, VaultError> {
        let _guard = self.lock_index();
        let mut contents = self.index.load_contents()?;
        Ok(self.settle(&mut contents))
    }

    /// Secret-store ids recorded as unlisted, waiting for a sweep (nothing secret).
    pub fn unlisted_secrets(&self) -> Result<Vec<String>, VaultError> {
        Ok(self
            .index
            .load_contents()?
            .unlisted_secrets
            .into_iter()
            .collect())
    }

    /// Stores a secret that belongs to a saved cluster besides its connection (for example a
    /// pack's token) under `key`. It follows the cluster through renames and is deleted with it.
    pub fn put_cluster_secret(
        &self,
        cluster: &str,
        key: &str,
        blob: &Sensitive<String>,
    ) -> Result<(), VaultError> {
        let _guard = self.lock_index();
        let mut contents = self.index.load_contents()?;
        let id = find_cluster(&contents.clusters, cluster)?.id.clone();
        // Recorded before it is written, so the removal of the cluster always finds it.
        if contents
            .extra_secrets
            .entry(id.clone())
            .or_default()
            .insert(key.to_string())
        {
            self.index.save(&contents)?;
        }
        Ok(self.store.put(&cluster_secret_id(&id, key), blob)?)
    }

    /// A secret stored with [`Vault::put_cluster_secret`]; `Ok(None)` when there is none.
    pub fn cluster_secret(
        &self,
        cluster: &str,
        key: &str,
    ) -> Result<Option<Sensitive<String>>, VaultError> {
        let contents = self.index.load_contents()?;
        let id = &find_cluster(&contents.clusters, cluster)?.id;
        let recorded = contents
            .extra_secrets
            .get(id)
            .is_some_and(|keys| keys.contains(key));
        if !recorded {
            return Ok(None);
        }
        Ok(self.store.get(&cluster_secret_id(id, key))?)
    }

    /// The connection of a saved cluster through the endpoint in use (secrets included; keep it
    /// in memory only).
    pub fn connection(&self, name: &str) -> Result<ClusterConnection, VaultError> {
        let (cluster, connection) = load_connection(&self.index, self.store.as_ref(), name)?;
        connection_via(&cluster, connection, cluster.endpoint_in_use)
    }

    /// A kube client for a saved cluster through the endpoint in use; exec plugins run with the
    /// login PATH.
    pub async fn client(&self, name: &str) -> Result<kube::Client, VaultError> {
        self.client_via(name, None).await
    }

    /// A kube client through `endpoint` (`None`: the one in use).
    pub async fn client_via(
        &self,
        name: &str,
        endpoint: Option<EndpointKind>,
    ) -> Result<kube::Client, VaultError> {
        let (index, store, owned) = (self.index.clone(), self.store.clone(), name.to_string());
        let (cluster, connection) =
            offload(move || load_connection(&index, store.as_ref(), &owned)).await?;
        let connection = connection_via(
            &cluster,
            connection,
            endpoint.unwrap_or(cluster.endpoint_in_use),
        )?;
        let source = connection
            .credentials
            .exec
            .clone()
            .map(|exec| self.exec_source(&cluster.id, exec, &connection));
        Ok(build_client(&connection, source.as_deref(), self.check_timeout).await?)
    }

    /// Saves proxied access for a cluster (replacing an earlier one); `use_it` switches to it.
    pub fn add_proxied(
        &self,
        name: &str,
        endpoint: ProxiedEndpoint,
        use_it: bool,
    ) -> Result<SavedCluster, VaultError> {
        self.update_cluster(name, |cluster| {
            cluster.proxied = Some(endpoint);
            if use_it {
                cluster.endpoint_in_use = EndpointKind::Proxied;
            }
            Ok(())
        })
    }

    /// Switches the endpoint a cluster's clients use.
    pub fn use_endpoint(&self, name: &str, kind: EndpointKind) -> Result<SavedCluster, VaultError> {
        self.update_cluster(name, |cluster| {
            if kind == EndpointKind::Proxied && cluster.proxied.is_none() {
                return Err(VaultError::NoProxiedEndpoint {
                    name: cluster.name.clone(),
                });
            }
            cluster.endpoint_in_use = kind;
            Ok(())
        })
    }

    fn update_cluster(
        &self,
        name: &str,
        change: impl FnOnce(&mut SavedCluster) -> Result<(), VaultError>,
    ) -> Result<SavedCluster, VaultError> {
        let _guard = self.lock_index();
        let mut contents = self.index.load_contents()?;
        let cluster = contents
            .clusters
            .iter_mut()
            .find(|c| c.name == name)
            .ok_or_else(|| VaultError::NotFound {
                name: name.to_string(),
            })?;
        change(cluster)?;
        let updated = cluster.clone();
        self.index.save(&contents)?;
        Ok(updated)
    }

    /// Checks both endpoints of a saved cluster at once (the proxied one when there is one).
    pub async fn check_endpoints(
        &self,
        name: &str,
    ) -> Result<(SavedCluster, CheckReport, Option<CheckReport>), VaultError> {
        let cluster = self.get(name)?;
        let direct = self.check_via(name, EndpointKind::Direct);
        let proxied = async {
            match cluster.proxied {
                Some(_) => Some(self.check_via(name, EndpointKind::Proxied).await),
                None => None,
            }
        };
        let (direct, proxied) = futures::join!(direct, proxied);
        Ok((cluster, direct?, proxied.transpose()?))
    }

    /// Checks one endpoint of a saved cluster (without recording `last_used`).
    pub async fn check_via(
        &self,
        name: &str,
        endpoint: EndpointKind,
    ) -> Result<CheckReport, VaultError> {
        match self.client_via(name, Some(endpoint)).await {
            Ok(client) => Ok(check_cluster(name, &client, self.check_timeout).await),
            Err(VaultError::Client(err)) => Ok(CheckReport::failed(name, CheckFailure::from(&err))),
            Err(other) => Err(other),
        }
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
            let (index, lock, owned) = (
                self.index.clone(),
                self.index_lock.clone(),
                name.to_string(),
            );
            offload(move || touch(&index, &lock, &owned)).await?;
        }
        Ok(report)
    }

    fn lock_index(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guarded data is the file: a panic half-way leaves nothing in memory to distrust.
        self.index_lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Deletes the unlisted secrets it can and saves what is left; failures are logged (the next
    /// sweep tries again). Returns how many were deleted.
    fn settle(&self, contents: &mut IndexContents) -> usize {
        let before = contents.unlisted_secrets.len();
        contents
            .unlisted_secrets
            .retain(|id| match self.store.delete(id) {
                Ok(()) => false,
                Err(err) => {
                    tracing::warn!(code = err.code(), "could not delete an unlisted secret yet");
                    true
                }
            });
        let deleted = before - contents.unlisted_secrets.len();
        if deleted > 0
            && let Err(err) = self.index.save(contents)
        {
            tracing::warn!(
                code = err.code(),
                "could not record the deleted secrets: {err}"
            );
        }
        deleted
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

/// The store id of a cluster secret besides the connection.
fn cluster_secret_id(cluster_id: &str, key: &str) -> String {
    format!("{cluster_id}/{key}")
}

/// Moves a cluster's secrets (its connection and cluster secrets) to the unlisted ones.
fn unlist_cluster_secrets(contents: &mut IndexContents, cluster_id: &str) {
    let extra = contents
        .extra_secrets
        .remove(cluster_id)
        .unwrap_or_default();
    contents.unlisted_secrets.insert(cluster_id.to_string());
    contents
        .unlisted_secrets
        .extend(extra.iter().map(|key| cluster_secret_id(cluster_id, key)));
}

fn find_cluster<'a>(
    clusters: &'a [SavedCluster],
    name: &str,
) -> Result<&'a SavedCluster, VaultError> {
    clusters
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| VaultError::NotFound {
            name: name.to_string(),
        })
}

fn load_connection(
    index: &ClusterIndex,
    store: &dyn SecretStore,
    name: &str,
) -> Result<(SavedCluster, ClusterConnection), VaultError> {
    let cluster = find_cluster(&index.load()?, name)?.clone();
    let blob = store
        .get(&cluster.id)?
        .ok_or_else(|| VaultError::SecretMissing {
            name: name.to_string(),
        })?;
    let connection =
        serde_json::from_str(blob.expose()).map_err(|_| VaultError::SecretCorrupt {
            name: name.to_string(),
        })?;
    Ok((cluster, connection))
}

/// The connection through `kind`: the stored one, or through the saved proxied endpoint.
fn connection_via(
    cluster: &SavedCluster,
    connection: ClusterConnection,
    kind: EndpointKind,
) -> Result<ClusterConnection, VaultError> {
    match kind {
        EndpointKind::Direct => Ok(connection),
        EndpointKind::Proxied => match &cluster.proxied {
            Some(endpoint) => Ok(crate::endpoints::through(connection, endpoint)),
            None => Err(VaultError::NoProxiedEndpoint {
                name: cluster.name.clone(),
            }),
        },
    }
}

fn touch(index: &ClusterIndex, lock: &Mutex<()>, name: &str) -> Result<(), VaultError> {
    let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    let mut contents = index.load_contents()?;
    if let Some(cluster) = contents.clusters.iter_mut().find(|c| c.name == name) {
        cluster.last_used = Some(Timestamp::now());
        index.save(&contents)?;
    }
    Ok(())
}

/// Runs blocking vault work on Tokio's blocking pool.
async fn offload<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, VaultError> + Send + 'static,
) -> Result<T, VaultError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|source| VaultError::Task { source })?
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
