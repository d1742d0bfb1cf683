//! The demo cluster: an embedded simulated cluster saved in its own session-only vault (never the keyring).

use std::sync::Arc;

use simcluster::{SimCluster, StartError};
use vmdeck_vault::{AppDirs, ContextPick, ExecEnvironment, ImportRequest, SessionStore, Vault};

use crate::ui_error::UiError;

/// The name the demo cluster is listed under.
pub const DEMO_CLUSTER_NAME: &str = "Demo cluster";

/// The kubeconfig context of the demo cluster that the app uses.
const DEMO_CONTEXT: &str = "admin";

/// Starts the simulated cluster behind demo mode (simcluster's `--demo` preset: 3 KVM nodes, KubeVirt
/// not installed yet, 12 VMs that appear once it is). The one place that chooses its options.
pub async fn start_demo_cluster() -> Result<SimCluster, StartError> {
    SimCluster::start(simcluster::Options::demo()).await
}

/// A running demo cluster and the throwaway vault that holds it.
pub struct DemoCluster {
    pub sim: SimCluster,
    pub vault: Arc<Vault>,
    _dir: tempfile::TempDir,
}

impl DemoCluster {
    /// Starts the simulator and saves its admin context as [`DEMO_CLUSTER_NAME`].
    pub async fn start() -> Result<Self, UiError> {
        let sim = start_demo_cluster().await.map_err(|err| {
            UiError::new(
                "demo_start_failed",
                format!("the demo cluster could not start: {err}; restart the app"),
            )
        })?;
        let dir = tempfile::tempdir().map_err(|err| {
            UiError::new(
                "demo_start_failed",
                format!(
                    "the demo cluster could not create its temporary folder: {err}; check free space in the temp directory"
                ),
            )
        })?;
        let vault = Vault::new(
            &AppDirs::under(dir.path()),
            Arc::new(SessionStore::new()),
            ExecEnvironment::with_path(""),
        );
        let request = ImportRequest {
            picks: vec![ContextPick {
                context: Some(DEMO_CONTEXT.to_string()),
                name: Some(DEMO_CLUSTER_NAME.to_string()),
            }],
            overwrite: true,
        };
        vault.import_from_text(sim.kubeconfig(), &request)?;
        Ok(Self {
            sim,
            vault: Arc::new(vault),
            _dir: dir,
        })
    }
}
