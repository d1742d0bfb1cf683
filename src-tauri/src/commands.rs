//! Thin Tauri commands: each awaits the core `App` and forwards one call; no logic of their own.

use std::sync::Arc;

use tauri::{AppHandle, Manager, State};
use tokio::sync::OnceCell;
use vmdeck_desktop_core::{
    App, AppConfig, AppStatus, CheckView, ClusterRef, ClusterView, ContextView, DraftCheckView,
    GateTableQuery, GateTableView, ImportInput, KubeconfigSource, LoadedProfileView,
    PackSecretInput, PackSecretQuery, PackSecretView, PackSelection, ProfileDraft, ProfileFileView,
    ProfileLocation, RenameInput, SaveProfileInput, SavedProfileView, SelectionView, UiError,
    WizardCatalogView,
};

/// The core, opened once (keyring probe, demo cluster) on a background task at start.
pub struct CoreCell {
    config: AppConfig,
    app: OnceCell<Arc<App>>,
}

impl CoreCell {
    pub fn new(config: AppConfig) -> Self {
        Self {
            config,
            app: OnceCell::new(),
        }
    }

    async fn get(&self) -> &App {
        self.app
            .get_or_init(|| async { Arc::new(App::open(self.config.clone()).await) })
            .await
    }
}

/// Starts opening the core while the window loads, so the first call finds it ready.
pub fn open_core_early(handle: &AppHandle) {
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        handle.state::<CoreCell>().get().await;
    });
}

type Core<'a> = State<'a, CoreCell>;

#[tauri::command]
pub async fn app_status(core: Core<'_>) -> Result<AppStatus, UiError> {
    Ok(core.get().await.status())
}

#[tauri::command]
pub async fn use_session_only(core: Core<'_>) -> Result<AppStatus, UiError> {
    core.get().await.use_session_only().await
}

#[tauri::command]
pub async fn list_clusters(core: Core<'_>) -> Result<Vec<ClusterView>, UiError> {
    core.get().await.list_clusters().await
}

#[tauri::command]
pub async fn inspect_kubeconfig(
    core: Core<'_>,
    request: KubeconfigSource,
) -> Result<Vec<ContextView>, UiError> {
    core.get().await.inspect_kubeconfig(request).await
}

#[tauri::command]
pub async fn import_clusters(
    core: Core<'_>,
    request: ImportInput,
) -> Result<Vec<ClusterView>, UiError> {
    core.get().await.import_clusters(request).await
}

#[tauri::command]
pub async fn rename_cluster(core: Core<'_>, request: RenameInput) -> Result<ClusterView, UiError> {
    core.get().await.rename_cluster(request).await
}

#[tauri::command]
pub async fn remove_cluster(core: Core<'_>, request: ClusterRef) -> Result<(), UiError> {
    core.get().await.remove_cluster(request).await
}

#[tauri::command]
pub async fn check_cluster(core: Core<'_>, request: ClusterRef) -> Result<CheckView, UiError> {
    core.get().await.check_cluster(request).await
}

#[tauri::command]
pub async fn start_demo(core: Core<'_>) -> Result<ClusterView, UiError> {
    core.get().await.start_demo().await
}

#[tauri::command]
pub async fn wizard_catalog(core: Core<'_>) -> Result<WizardCatalogView, UiError> {
    core.get().await.wizard_catalog()
}

#[tauri::command]
pub async fn resolve_packs(
    core: Core<'_>,
    request: PackSelection,
) -> Result<SelectionView, UiError> {
    core.get().await.resolve_packs(request)
}

#[tauri::command]
pub async fn gate_table(core: Core<'_>, request: GateTableQuery) -> Result<GateTableView, UiError> {
    core.get().await.gate_table(request)
}

#[tauri::command]
pub async fn validate_profile(
    core: Core<'_>,
    request: ProfileDraft,
) -> Result<DraftCheckView, UiError> {
    core.get().await.validate_profile(request)
}

#[tauri::command]
pub async fn save_profile(
    core: Core<'_>,
    request: SaveProfileInput,
) -> Result<SavedProfileView, UiError> {
    core.get().await.save_profile(request).await
}

#[tauri::command]
pub async fn load_profile(
    core: Core<'_>,
    request: ProfileLocation,
) -> Result<LoadedProfileView, UiError> {
    core.get().await.load_profile(request).await
}

#[tauri::command]
pub async fn list_profiles(core: Core<'_>) -> Result<Vec<ProfileFileView>, UiError> {
    core.get().await.list_profiles().await
}

#[tauri::command]
pub async fn store_pack_secret(
    core: Core<'_>,
    request: PackSecretInput,
) -> Result<PackSecretView, UiError> {
    core.get().await.store_pack_secret(request).await
}

#[tauri::command]
pub async fn pack_secret_status(
    core: Core<'_>,
    request: PackSecretQuery,
) -> Result<Vec<PackSecretView>, UiError> {
    core.get().await.pack_secret_status(request).await
}

/// The UI calls this once its first screen is drawn; the start-up benchmark waits for the line.
#[tauri::command]
pub fn ui_ready() {
    if std::env::var_os("VMDECK_REPORT_READY").is_some() {
        println!("vmdeck: interactive");
    }
}
