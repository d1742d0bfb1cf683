//! The demo cluster: an embedded simulated cluster saved in its own session-only vault (never the keyring).

use std::path::Path;
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

/// Demo mode's throwaway app directories: a fresh `vmdeck-demo-*` folder under `parent`
/// (removed when the returned `TempDir` drops). Failing to make it is an error, never a reason to
/// use the user's own folders.
pub fn throwaway_dirs(parent: &Path) -> Result<(tempfile::TempDir, AppDirs), UiError> {
    let dir = tempfile::Builder::new()
        .prefix("vmdeck-demo-")
        .tempdir_in(parent)
        .map_err(|err| {
            UiError::new(
                "demo_temp_dir_failed",
                format!(
                    "demo mode could not create its temporary folder in {}: {err}; check free space and permissions there (or set TMPDIR)",
                    parent.display()
                ),
            )
        })?;
    let dirs = AppDirs::under(dir.path());
    Ok((dir, dirs))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throwaway_dirs_live_in_a_fresh_folder_under_the_parent() {
        let parent = tempfile::tempdir().unwrap();
        let (dir, dirs) = throwaway_dirs(parent.path()).unwrap();
        assert_eq!(dir.path().parent(), Some(parent.path()));
        assert!(dirs.config.starts_with(dir.path()));
        assert!(dirs.data.starts_with(dir.path()));
    }

    #[test]
    fn a_temp_folder_that_cannot_be_made_is_an_error_not_a_fallback() {
        let parent = tempfile::tempdir().unwrap();
        let not_a_dir = parent.path().join("file");
        std::fs::write(&not_a_dir, "x").unwrap();
        let err = throwaway_dirs(&not_a_dir).unwrap_err();
        assert_eq!(err.code, "demo_temp_dir_failed");
        assert!(err.message.contains("temporary folder"), "{}", err.message);
    }
}
