//! The `App` service: every call the desktop UI makes, over the user's vault and the demo cluster.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use vmdeck_vault::{
    AppDirs, ContextPick, ExecEnvironment, ImportRequest, KeyringStore, LoadedKubeconfig,
    SecretStore, SessionStore, Vault, discover, load_path, load_text,
};

use crate::app_status::AppStatus;
use crate::demo::DemoCluster;
use crate::install_render::SourcesConfig;
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::calls::Events;
use crate::requests::{ClusterNames, ClusterRef, ImportInput, KubeconfigSource, RenameInput};
use crate::ui_error::UiError;
use crate::views::{CheckView, ClusterCheckEvent, ClusterView, ContextView, StoreMode};
use crate::wizard::Wizard;

/// How long finding the login shell's PATH (for exec plugins) may take at start.
const LOGIN_PATH_TIMEOUT: Duration = Duration::from_secs(3);

/// Where the user's cluster secrets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsChoice {
    /// The OS keyring; when it is unavailable the UI offers session-only mode.
    OsKeyring,
    /// Process memory only.
    SessionOnly,
}

/// How to open the app.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// App directories; `None` means `$VMDECK_HOME` or the platform's.
    pub dirs: Option<AppDirs>,
    pub secrets: SecretsChoice,
    /// Demo mode: the demo folder (`<data>/demo` of `dirs`), session-only secrets, the Demo
    /// cluster started from its saved state.
    pub demo: bool,
    /// Per-step timeout of connection checks (default: the vault's).
    pub check_timeout: Option<Duration>,
    /// Where the installer's upstream files come from (default: `$VMDECK_MIRROR`, else upstream).
    pub sources: SourcesConfig,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            dirs: None,
            secrets: SecretsChoice::OsKeyring,
            demo: false,
            check_timeout: None,
            sources: SourcesConfig::from_env(),
        }
    }
}

/// The user's vault, or why it cannot be opened (keyring unavailable, no home directory).
enum UserVault {
    Ready(Arc<Vault>),
    Unavailable(UiError),
}

/// Everything the UI calls. Cheap to share behind an `Arc`.
pub struct App {
    demo_mode: bool,
    pub(crate) dirs: Result<AppDirs, UiError>,
    pub(crate) exec_environment: ExecEnvironment,
    pub(crate) check_timeout: Option<Duration>,
    user: RwLock<UserVault>,
    demo: tokio::sync::Mutex<Option<DemoCluster>>,
    demo_problem: RwLock<Option<UiError>>,
    /// The install wizard's pack catalog, parsed on first use.
    pub(crate) wizard: OnceLock<Result<Arc<Wizard>, UiError>>,
    /// Where the installer's upstream files come from.
    pub(crate) sources: SourcesConfig,
    /// Installs running now, for "Cancel".
    pub(crate) running: crate::install_cancel::RunningInstalls,
    /// The console gateway, viewer listeners and console clients' credentials.
    pub(crate) consoles: crate::console_calls::Consoles,
    /// Demo mode: the simulated cluster's state file in the demo folder (kept across restarts).
    demo_state: Option<PathBuf>,
    /// Demo mode's throwaway config directory (removed on drop).
    _throwaway: Option<tempfile::TempDir>,
}

impl App {
    /// Opens the app. Never fails: problems (keyring, demo cluster) show in [`App::status`].
    pub async fn open(config: AppConfig) -> Self {
        // Demo mode never falls back to the user's folders: without its own it reports why.
        let demo_home = config
            .demo
            .then(|| crate::demo::demo_home(config.dirs.as_ref()));
        let (throwaway, dirs) = match (&demo_home, config.dirs) {
            (Some(home), _) => match home
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|home| crate::demo::demo_dirs(home, &std::env::temp_dir()))
            {
                Ok((dir, dirs)) => (Some(dir), Ok(dirs)),
                Err(problem) => (None, Err(problem)),
            },
            (None, Some(dirs)) => (None, Ok(dirs)),
            (None, None) => (
                None,
                AppDirs::from_env_or_system()
                    .map_err(|err| UiError::new(err.code(), err.to_string())),
            ),
        };
        let secrets = if config.demo {
            SecretsChoice::SessionOnly
        } else {
            config.secrets
        };
        let store = tokio::task::spawn_blocking(move || open_store(secrets));
        let exec = tokio::task::spawn_blocking(|| ExecEnvironment::detect(LOGIN_PATH_TIMEOUT));
        let store = store
            .await
            .unwrap_or_else(|err| Err(UiError::internal(err)));
        let exec_environment = exec.await.unwrap_or_else(|_| {
            ExecEnvironment::with_path(std::env::var_os("PATH").unwrap_or_default())
        });
        let user = match store
            .and_then(|store| build_vault(&dirs, store, &exec_environment, config.check_timeout))
        {
            Ok(vault) => {
                sweep_orphans(&vault).await;
                UserVault::Ready(vault)
            }
            Err(problem) => UserVault::Unavailable(problem),
        };
        let app = Self {
            demo_mode: config.demo,
            dirs,
            exec_environment,
            check_timeout: config.check_timeout,
            user: RwLock::new(user),
            demo: tokio::sync::Mutex::new(None),
            demo_problem: RwLock::new(None),
            wizard: OnceLock::new(),
            sources: config.sources,
            running: Default::default(),
            consoles: Default::default(),
            demo_state: demo_home
                .and_then(Result::ok)
                .map(|h| crate::demo::state_file(&h)),
            _throwaway: throwaway,
        };
        if let (true, Err(problem)) = (config.demo, &app.dirs) {
            *app.demo_problem.write().unwrap_or_else(|p| p.into_inner()) = Some(problem.clone());
        } else if config.demo
            && let Err(problem) = app.start_demo().await
        {
            *app.demo_problem.write().unwrap_or_else(|p| p.into_inner()) = Some(problem);
        }
        app
    }

    pub(crate) fn user_vault(&self) -> Result<Arc<Vault>, UiError> {
        match &*self.user.read().unwrap_or_else(|p| p.into_inner()) {
            UserVault::Ready(vault) => Ok(vault.clone()),
            UserVault::Unavailable(problem) => Err(problem.clone()),
        }
    }

    pub fn status(&self) -> AppStatus {
        let (store, keyring_problem) = match &*self.user.read().unwrap_or_else(|p| p.into_inner()) {
            UserVault::Ready(vault) => (Some(StoreMode::from(vault.store().kind())), None),
            UserVault::Unavailable(problem) => (None, Some(problem.clone())),
        };
        AppStatus {
            demo: self.demo_mode,
            store,
            keyring_problem,
            demo_problem: self
                .demo_problem
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    /// The user's opt-in when the keyring is unavailable: keep secrets in memory until exit.
    pub async fn use_session_only(&self) -> Result<AppStatus, UiError> {
        let vault = build_vault(
            &self.dirs,
            Arc::new(SessionStore::new()),
            &self.exec_environment,
            self.check_timeout,
        )?;
        *self.user.write().unwrap_or_else(|p| p.into_inner()) = UserVault::Ready(vault);
        Ok(self.status())
    }

    /// The demo cluster (if running) first, then the user's saved clusters.
    pub async fn list_clusters(&self) -> Result<Vec<ClusterView>, UiError> {
        let mut views = Vec::new();
        if let Some(demo) = self.demo_vault().await {
            let saved = blocking(move || demo.list()).await?;
            views.extend(saved.iter().map(|c| ClusterView::from_saved(c, true)));
        }
        if let Ok(vault) = self.user_vault() {
            let saved = blocking(move || vault.list()).await?;
            views.extend(saved.iter().map(|c| ClusterView::from_saved(c, false)));
        }
        Ok(views)
    }

    /// The contexts of a kubeconfig, for the user to choose from. Fails with the field at fault.
    pub async fn inspect_kubeconfig(
        &self,
        source: KubeconfigSource,
    ) -> Result<Vec<ContextView>, UiError> {
        let loaded = blocking(move || load_source(&source)).await?;
        Ok(loaded
            .context_summaries()
            .into_iter()
            .map(ContextView::from)
            .collect())
    }

    /// Saves the chosen contexts (all or nothing). A taken name fails with `name_exists` naming
    /// the cluster, unless `overwrite` is set or the name is in `replace`.
    pub async fn import_clusters(&self, input: ImportInput) -> Result<Vec<ClusterView>, UiError> {
        let vault = self.user_vault()?;
        let saved = blocking(move || {
            let loaded = load_source(&input.source)?;
            let request = ImportRequest {
                picks: input
                    .choices
                    .into_iter()
                    .map(|choice| ContextPick {
                        context: Some(choice.context),
                        name: choice.name.filter(|n| !n.trim().is_empty()),
                    })
                    .collect(),
                overwrite: input.overwrite,
            };
            Ok::<_, UiError>(vault.import_replacing(&loaded, &request, &input.replace)?)
        })
        .await?;
        Ok(saved
            .iter()
            .map(|c| ClusterView::from_saved(c, false))
            .collect())
    }

    pub async fn rename_cluster(&self, input: RenameInput) -> Result<ClusterView, UiError> {
        let (vault, simulated) = self.vault_for(&input.from).await?;
        let renamed = blocking(move || vault.rename(&input.from, &input.to)).await?;
        Ok(ClusterView::from_saved(&renamed, simulated))
    }

    /// Removes a saved cluster and its secrets; removing the demo cluster stops the simulator.
    pub async fn remove_cluster(&self, cluster: ClusterRef) -> Result<(), UiError> {
        let (vault, simulated) = self.vault_for(&cluster.name).await?;
        let name = cluster.name.clone();
        blocking(move || vault.remove(&name)).await?;
        if simulated && let Some(demo) = self.demo.lock().await.take() {
            demo.sim.shutdown().await;
        }
        Ok(())
    }

    /// Connects to a saved cluster and reports version, nodes, KubeVirt and install permission.
    pub async fn check_cluster(&self, cluster: ClusterRef) -> Result<CheckView, UiError> {
        let (vault, _) = self.vault_for(&cluster.name).await?;
        Ok(vault.check(&cluster.name).await?.into())
    }

    /// Checks the named clusters concurrently and reports each one as soon as it is done.
    pub async fn check_clusters(
        &self,
        names: ClusterNames,
        events: Events<ClusterCheckEvent>,
    ) -> Result<(), UiError> {
        let mut checks: FuturesUnordered<_> = names
            .names
            .into_iter()
            .map(|name| async move {
                let outcome = self.check_cluster(ClusterRef { name: name.clone() }).await;
                ClusterCheckEvent {
                    cluster: name,
                    check: outcome.as_ref().ok().cloned(),
                    error: outcome.err(),
                }
            })
            .collect();
        while let Some(event) = checks.next().await {
            events.send(event).await?;
        }
        Ok(())
    }

    /// Starts the embedded simulated cluster (once) and lists it as the Demo cluster.
    pub async fn start_demo(&self) -> Result<ClusterView, UiError> {
        let mut demo = self.demo.lock().await;
        if demo.is_none() {
            *demo = Some(DemoCluster::start(self.demo_state.clone()).await?);
            *self.demo_problem.write().unwrap_or_else(|p| p.into_inner()) = None;
        }
        let vault = demo
            .as_ref()
            .map(|d| d.vault.clone())
            .ok_or_else(|| UiError::internal("the demo cluster vanished while starting"))?;
        drop(demo);
        let saved = blocking(move || vault.list()).await?;
        saved
            .first()
            .map(|c| ClusterView::from_saved(c, true))
            .ok_or_else(|| UiError::internal("the demo cluster was not saved"))
    }

    async fn demo_vault(&self) -> Option<Arc<Vault>> {
        self.demo.lock().await.as_ref().map(|d| d.vault.clone())
    }

    /// The vault holding `name`: the demo vault for the simulated cluster, else the user's.
    pub(crate) async fn vault_for(&self, name: &str) -> Result<(Arc<Vault>, bool), UiError> {
        if let Some(demo) = self.demo_vault().await {
            let probe = demo.clone();
            let owned = name.to_string();
            if blocking(move || probe.get(&owned)).await.is_ok() {
                return Ok((demo, true));
            }
        }
        Ok((self.user_vault()?, false))
    }
}

fn build_vault(
    dirs: &Result<AppDirs, UiError>,
    store: Arc<dyn SecretStore>,
    exec_environment: &ExecEnvironment,
    check_timeout: Option<Duration>,
) -> Result<Arc<Vault>, UiError> {
    let mut vault = Vault::new(
        dirs.as_ref().map_err(Clone::clone)?,
        store,
        exec_environment.clone(),
    );
    if let Some(timeout) = check_timeout {
        vault = vault.with_check_timeout(timeout);
    }
    Ok(Arc::new(vault))
}

/// Deletes secrets left behind by an interrupted removal or import (logged, never fatal).
async fn sweep_orphans(vault: &Arc<Vault>) {
    let vault = vault.clone();
    match blocking(move || vault.sweep_orphans()).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "deleted secrets of clusters no longer listed"),
        Err(err) => tracing::warn!(code = %err.code, "could not sweep unlisted secrets yet"),
    }
}

fn open_store(secrets: SecretsChoice) -> Result<Arc<dyn SecretStore>, UiError> {
    match secrets {
        SecretsChoice::SessionOnly => Ok(Arc::new(SessionStore::new())),
        SecretsChoice::OsKeyring => KeyringStore::connect()
            .map(|store| Arc::new(store) as Arc<dyn SecretStore>)
            .map_err(UiError::from),
    }
}

fn load_source(source: &KubeconfigSource) -> Result<LoadedKubeconfig, UiError> {
    Ok(match source {
        KubeconfigSource::Text { text } => load_text(text)?,
        KubeconfigSource::Path { path } => load_path(&PathBuf::from(path))?,
        KubeconfigSource::Discovered => discover()?,
    })
}

/// Runs blocking vault work (file and keyring I/O) off the async workers.
pub(crate) async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, UiError>
where
    T: Send + 'static,
    E: Into<UiError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(Into::into),
        Err(err) => Err(UiError::internal(err)),
    }
}
