//! The VM screens' `App` calls over `vmdeck_console`: VM rows (a snapshot, or a stream of the
//! snapshot and batched changes), what a namespace allows, power actions, consoles opened through
//! the App's one loopback gateway (its URL and a one-time token for the webview), native viewer
//! listeners (started, stopped, an installed viewer launched at them) and screenshots.
//!
//! The gateway starts on the first console and lives as long as the App. Its Origins are the
//! webview's own: Tauri's per platform (and, in debug builds, `tauri dev`'s dev URL) plus any the
//! dev server registers ([`App::allow_console_origins`]). Consoles dial through a client without
//! kube's retry layer, so a busy VM's 503 is read once as `session_in_use`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use kube::api::{Api, DynamicObject, ListParams};
use tokio::sync::{Mutex, OnceCell};
use vmdeck_console::access::{AccessError, access};
use vmdeck_console::actions::{ActionError, act};
use vmdeck_console::gateway::{GatewayError, OpenError};
use vmdeck_console::inventory::{InventoryError, Scope, Update};
use vmdeck_console::kinds::vm_resource;
use vmdeck_console::upstream::{ConsoleTarget, DialError, client_without_retry};
use vmdeck_console::viewer::{ViewerError, find_viewer_in};
use vmdeck_console::{Gateway, GatewayConfig, Inventory, ScreenshotError, VncProxy, screenshot};
use vmdeck_vault::exec_credentials::ExecCredentialSource;
use vmdeck_vault::kube_client::{ClientError, kube_config};
use vmdeck_vault::{DEFAULT_CHECK_TIMEOUT, Vault};

use crate::app::{App, blocking};
use crate::calls::Events;
use crate::console_requests::{
    NamespaceRef, OpenConsoleInput, PowerActionInput, SaveScreenshotInput, StartViewerInput, VmRef,
    VmScope,
};
use crate::console_views::{
    ConsoleTicketView, InstalledViewerView, SavedScreenshotView, ScreenshotView, ViewerView,
    VmAccessView, VmRowView, VmUpdateEvent,
};
use crate::ui_error::UiError;

/// The webview's Origin in the desktop app: `tauri://localhost` on Linux and macOS,
/// `http://tauri.localhost` on Windows (`https://` with `useHttpsScheme`).
pub const TAURI_ORIGINS: [&str; 3] = [
    "tauri://localhost",
    "http://tauri.localhost",
    "https://tauri.localhost",
];

/// `tauri dev` loads the UI from Vite's dev server (`build.devUrl`); debug builds allow it.
pub const TAURI_DEV_ORIGINS: [&str; 2] = ["http://localhost:5173", "http://127.0.0.1:5173"];

/// How long `list_vms` waits for the first complete list.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(60);

/// The Origins the gateway allows before any dev server registers its own.
pub fn default_console_origins() -> Vec<String> {
    let mut origins: Vec<String> = TAURI_ORIGINS.iter().map(|o| o.to_string()).collect();
    if cfg!(debug_assertions) {
        origins.extend(TAURI_DEV_ORIGINS.iter().map(|o| o.to_string()));
    }
    origins
}

type VmKey = (String, String, String);

/// A native viewer's listener and what the UI was told about it.
struct RunningViewer {
    _proxy: VncProxy,
    view: ViewerView,
}

/// The console side of the App: its gateway, the viewer listeners, the console clients' exec
/// credential sources.
pub(crate) struct Consoles {
    gateway: OnceCell<Gateway>,
    /// Origins allowed besides the defaults (kept for a gateway not started yet).
    origins: std::sync::Mutex<Vec<String>>,
    viewers: Mutex<HashMap<VmKey, RunningViewer>>,
    /// Per saved cluster id: its exec plugin's credentials, cached until they expire.
    exec_sources: std::sync::Mutex<HashMap<String, Arc<ExecCredentialSource>>>,
}

impl Default for Consoles {
    fn default() -> Self {
        Self {
            gateway: OnceCell::new(),
            origins: std::sync::Mutex::new(default_console_origins()),
            viewers: Mutex::new(HashMap::new()),
            exec_sources: std::sync::Mutex::new(HashMap::new()),
        }
    }
}

/// The console crate's errors each carry a stable code; the message says what happened.
macro_rules! coded {
    ($($error:ty),* $(,)?) => {
        $(
            impl From<$error> for UiError {
                fn from(err: $error) -> Self {
                    Self::new(err.code(), err.to_string())
                }
            }
        )*
    };
}

coded!(ActionError, OpenError, DialError, ScreenshotError);

fn client_error(err: ClientError) -> UiError {
    UiError::new(err.code(), err.to_string())
}

impl From<AccessError> for UiError {
    fn from(err: AccessError) -> Self {
        Self::new("access_review_failed", err.to_string())
    }
}

impl From<GatewayError> for UiError {
    fn from(err: GatewayError) -> Self {
        Self::new("console_gateway_failed", err.to_string())
    }
}

impl From<InventoryError> for UiError {
    fn from(err: InventoryError) -> Self {
        Self::new("inventory_stopped", err.to_string())
    }
}

impl From<ViewerError> for UiError {
    fn from(err: ViewerError) -> Self {
        Self::new("viewer_listen_failed", err.to_string())
    }
}

/// A failed first list of VMs, in the user's words.
fn list_error(cluster: &str, err: kube::Error) -> UiError {
    match err {
        kube::Error::Api(status) if status.code == 404 => UiError::new(
            "kubevirt_missing",
            format!(
                "{cluster} has no VirtualMachines API: install KubeVirt (a profile with the kubevirt pack) first"
            ),
        ),
        kube::Error::Api(status) if matches!(status.code, 401 | 403) => UiError::new(
            "not_allowed",
            format!("not allowed to list VMs on {cluster}: {}", status.message),
        ),
        kube::Error::Api(status) => UiError::new(
            "api_error",
            format!(
                "listing VMs on {cluster}: HTTP {}: {}",
                status.code, status.message
            ),
        ),
        other => UiError::new(
            "unreachable",
            format!("{cluster} could not be reached: {other}"),
        ),
    }
}

fn scope_of(namespace: Option<String>) -> Scope {
    match namespace.filter(|ns| !ns.is_empty()) {
        Some(ns) => Scope::Namespace(ns),
        None => Scope::All,
    }
}

impl App {
    /// Let pages from these Origins connect to consoles too (the dev server's own addresses and
    /// the ones it was told to allow). Applies to the running gateway and to one started later.
    pub fn allow_console_origins(&self, origins: impl IntoIterator<Item = impl Into<String>>) {
        let origins: Vec<String> = origins.into_iter().map(Into::into).collect();
        let mut allowed = self
            .consoles
            .origins
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for origin in &origins {
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
                allowed.push(origin.clone());
            }
        }
        if let Some(gateway) = self.consoles.gateway.get() {
            gateway.allow_origins(origins);
        }
    }

    /// The App's console gateway, started on first use (loopback, a random port).
    pub async fn console_gateway(&self) -> Result<&Gateway, UiError> {
        self.consoles
            .gateway
            .get_or_try_init(|| async {
                let origins = self
                    .consoles
                    .origins
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                Ok::<_, UiError>(Gateway::start(GatewayConfig::new(origins)).await?)
            })
            .await
    }

    /// A kube client for reading and acting on a saved cluster's VMs.
    pub(crate) async fn vm_client(
        &self,
        cluster: &str,
    ) -> Result<(Arc<Vault>, kube::Client), UiError> {
        let (vault, _) = self.vault_for(cluster).await?;
        let client = vault.client(cluster).await?;
        Ok((vault, client))
    }

    /// A kube client for consoles: no retry layer (a refused upgrade is answered once) and no
    /// read timeout (a quiet console is not a dead one; virt-api pings, the gateway pings).
    async fn console_client(&self, cluster: &str) -> Result<kube::Client, UiError> {
        let (vault, _) = self.vault_for(cluster).await?;
        let (owned, reader) = (cluster.to_string(), vault.clone());
        let (saved, connection) =
            blocking(move || Ok::<_, UiError>((reader.get(&owned)?, reader.connection(&owned)?)))
                .await?;
        let timeout = self.check_timeout.unwrap_or(DEFAULT_CHECK_TIMEOUT);
        let source = connection.credentials.exec.clone().map(|exec| {
            let mut sources = self
                .consoles
                .exec_sources
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            sources
                .entry(saved.id.clone())
                .or_insert_with(|| {
                    Arc::new(ExecCredentialSource::new(
                        exec,
                        &connection,
                        self.exec_environment.clone(),
                        timeout * 6,
                    ))
                })
                .clone()
        });
        let (mut config, _expires) = kube_config(&connection, source.as_deref(), timeout)
            .await
            .map_err(client_error)?;
        config.read_timeout = None;
        Ok(client_without_retry(config)?)
    }

    /// Every VM row of the scope, once both VMs and VMIs are listed.
    pub async fn list_vms(&self, scope: VmScope) -> Result<Vec<VmRowView>, UiError> {
        let (_, client) = self.vm_client(&scope.cluster).await?;
        probe(&client, &scope).await?;
        let inventory = Inventory::start(client, scope_of(scope.namespace));
        let mut subscription = inventory.subscribe().await?;
        match tokio::time::timeout(SNAPSHOT_WAIT, subscription.next()).await {
            Ok(Some(Update::Snapshot(rows))) => Ok(rows.into_iter().map(Into::into).collect()),
            Ok(Some(Update::Changes(_)) | None) => {
                Err(UiError::internal("the VM inventory stopped before listing"))
            }
            Err(_) => Err(UiError::new(
                "vms_list_timeout",
                format!(
                    "{} did not list its VMs within {}s; check the cluster's health",
                    scope.cluster,
                    SNAPSHOT_WAIT.as_secs()
                ),
            )),
        }
    }

    /// The VM rows of the scope: a snapshot, then batched changes, until the window stops
    /// listening.
    pub async fn watch_vms(
        &self,
        scope: VmScope,
        events: Events<VmUpdateEvent>,
    ) -> Result<(), UiError> {
        let (_, client) = self.vm_client(&scope.cluster).await?;
        probe(&client, &scope).await?;
        let inventory = Inventory::start(client, scope_of(scope.namespace));
        let mut subscription = inventory.subscribe().await?;
        loop {
            tokio::select! {
                update = subscription.next() => match update {
                    Some(update) => match events.send(update.into()).await {
                        Ok(()) => {}
                        Err(closed) if closed.code == "stream_closed" => return Ok(()),
                        Err(other) => return Err(other),
                    },
                    None => return Err(UiError::internal("the VM inventory stopped")),
                },
                () = events.closed() => return Ok(()),
            }
        }
    }

    /// Which power actions and consoles the user may use in a namespace.
    pub async fn vm_access(&self, target: NamespaceRef) -> Result<VmAccessView, UiError> {
        let (_, client) = self.vm_client(&target.cluster).await?;
        Ok(access(&client, &target.namespace).await?.into())
    }

    /// Carries out a power action; KubeVirt's refusals come back in plain words
    /// (`already_running`, `not_running`, `paused`, `not_allowed`, ...).
    pub async fn power_action(&self, input: PowerActionInput) -> Result<(), UiError> {
        let (_, client) = self.vm_client(&input.cluster).await?;
        act(&client, &input.namespace, &input.name, input.action.into()).await?;
        Ok(())
    }

    /// Dials the VM's console and answers the gateway URL and one-time token the webview
    /// connects with; a busy VNC is `session_in_use` until opened with `takeover`.
    pub async fn open_console(
        &self,
        input: OpenConsoleInput,
    ) -> Result<ConsoleTicketView, UiError> {
        let client = self.console_client(&input.cluster).await?;
        let gateway = self.console_gateway().await?;
        let target = ConsoleTarget {
            namespace: input.namespace,
            name: input.name,
            kind: input.kind.into(),
            takeover: input.takeover,
        };
        Ok(gateway.open(&client, target).await?.into())
    }

    /// The native VNC viewer found on the login shell's PATH, if any.
    pub fn installed_viewer(&self) -> Option<InstalledViewerView> {
        find_viewer_in(&self.exec_environment.path).map(|viewer| InstalledViewerView {
            name: viewer.kind.program().to_string(),
            path: viewer.program.display().to_string(),
        })
    }

    /// Starts (or finds) the VM's loopback listener for a native VNC viewer and, when asked,
    /// launches the installed viewer at it.
    pub async fn start_viewer(&self, input: StartViewerInput) -> Result<ViewerView, UiError> {
        let key = (
            input.cluster.clone(),
            input.namespace.clone(),
            input.name.clone(),
        );
        let mut viewers = self.consoles.viewers.lock().await;
        let mut view = match viewers.get(&key) {
            Some(running) => running.view.clone(),
            None => {
                let client = self.console_client(&input.cluster).await?;
                let proxy = VncProxy::start(
                    client,
                    ConsoleTarget::vnc(&input.namespace, &input.name),
                    SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                )
                .await?;
                let view = ViewerView {
                    cluster: input.cluster.clone(),
                    namespace: input.namespace.clone(),
                    name: input.name.clone(),
                    address: proxy.addr().to_string(),
                    port: proxy.port(),
                    launched: None,
                };
                viewers.insert(
                    key,
                    RunningViewer {
                        _proxy: proxy,
                        view: view.clone(),
                    },
                );
                view
            }
        };
        drop(viewers);
        if input.launch {
            view.launched = Some(self.launch_viewer(view.port)?);
        }
        Ok(view)
    }

    fn launch_viewer(&self, port: u16) -> Result<String, UiError> {
        let viewer = find_viewer_in(&self.exec_environment.path).ok_or_else(|| {
            UiError::new(
                "viewer_not_installed",
                "no VNC viewer was found: install remote-viewer (virt-viewer), TigerVNC's vncviewer or Remmina, or point one at the address shown",
            )
        })?;
        let name = viewer.kind.program().to_string();
        let mut child = tokio::process::Command::new(&viewer.program)
            .args(viewer.args(SocketAddr::from((Ipv4Addr::LOCALHOST, port))))
            .env("PATH", &self.exec_environment.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| {
                UiError::new(
                    "viewer_launch_failed",
                    format!("{} could not be started: {err}", viewer.program.display()),
                )
            })?;
        // Reaped when the user closes it; the listener stays until `stop_viewer`.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        Ok(name)
    }

    /// The viewer listeners running now.
    pub async fn list_viewers(&self) -> Vec<ViewerView> {
        let viewers = self.consoles.viewers.lock().await;
        let mut views: Vec<ViewerView> = viewers.values().map(|v| v.view.clone()).collect();
        views.sort_by(|a, b| {
            (&a.cluster, &a.namespace, &a.name).cmp(&(&b.cluster, &b.namespace, &b.name))
        });
        views
    }

    /// Closes the VM's viewer listener and the connection it serves; `false` when none ran.
    pub async fn stop_viewer(&self, vm: VmRef) -> bool {
        self.consoles
            .viewers
            .lock()
            .await
            .remove(&(vm.cluster, vm.namespace, vm.name))
            .is_some()
    }

    /// The VM's screen as a PNG.
    pub async fn screenshot(&self, vm: VmRef) -> Result<ScreenshotView, UiError> {
        let (_, client) = self.vm_client(&vm.cluster).await?;
        let png = screenshot(&client, &vm.namespace, &vm.name).await?;
        Ok(ScreenshotView {
            bytes: u32::try_from(png.len()).unwrap_or(u32::MAX),
            png_base64: base64::engine::general_purpose::STANDARD.encode(&png),
        })
    }

    /// Writes the VM's screenshot to `path` (atomically).
    pub async fn save_screenshot(
        &self,
        input: SaveScreenshotInput,
    ) -> Result<SavedScreenshotView, UiError> {
        let (_, client) = self.vm_client(&input.cluster).await?;
        let png = screenshot(&client, &input.namespace, &input.name).await?;
        let bytes = u32::try_from(png.len()).unwrap_or(u32::MAX);
        let path = input.path.clone();
        blocking(move || write_png(&path, &png)).await?;
        Ok(SavedScreenshotView {
            path: input.path,
            bytes,
        })
    }
}

/// One list of VMs with `limit=1`: KubeVirt missing, no permission or no connection fail here,
/// in plain words, instead of a watch retrying out of sight.
async fn probe(client: &kube::Client, scope: &VmScope) -> Result<(), UiError> {
    let api: Api<DynamicObject> = match scope_of(scope.namespace.clone()) {
        Scope::All => Api::all_with(client.clone(), &vm_resource()),
        Scope::Namespace(ns) => Api::namespaced_with(client.clone(), &ns, &vm_resource()),
    };
    api.list_metadata(&ListParams::default().limit(1))
        .await
        .map(|_| ())
        .map_err(|err| list_error(&scope.cluster, err))
}

fn write_png(path: &str, png: &[u8]) -> Result<(), UiError> {
    use std::io::Write;
    let unwritable = |err: &std::io::Error| {
        UiError::new(
            "screenshot_unwritable",
            format!("the screenshot could not be written to {path}: {err}"),
        )
    };
    let mut file = atomic_write_file::AtomicWriteFile::open(path).map_err(|e| unwritable(&e))?;
    file.write_all(png)
        .and_then(|()| file.commit())
        .map_err(|e| unwritable(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_allows_the_webview_origins_only() {
        let origins = default_console_origins();
        assert!(origins.iter().any(|o| o == "tauri://localhost"));
        assert!(origins.iter().any(|o| o == "http://tauri.localhost"));
        assert!(!origins.iter().any(|o| o.contains("evil") || o == "null"));
        assert_eq!(
            origins.iter().any(|o| o == "http://localhost:5173"),
            cfg!(debug_assertions),
            "tauri dev's dev URL in debug builds only"
        );
    }

    #[test]
    fn an_empty_namespace_means_all() {
        assert_eq!(scope_of(Some(String::new())), Scope::All);
        assert_eq!(scope_of(None), Scope::All);
        assert_eq!(scope_of(Some("dev".into())), Scope::Namespace("dev".into()));
    }
}
