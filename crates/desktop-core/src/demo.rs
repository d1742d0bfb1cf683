//! The demo cluster: an embedded simulated cluster saved in its own session-only vault (never the
//! keyring). In demo mode its state and the app's data live in the demo folder, `<data>/demo`
//! (beside the real clusters' data, never mixed with it), so a run killed with the app is
//! resumed when the app starts again in demo mode; `vmdeck --demo --reset-demo` empties it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use simcluster::{SimCluster, StartError};
use vmdeck_vault::{AppDirs, ContextPick, ExecEnvironment, ImportRequest, SessionStore, Vault};

use crate::ui_error::UiError;

/// The name the demo cluster is listed under.
pub const DEMO_CLUSTER_NAME: &str = "Demo cluster";

/// The kubeconfig context of the demo cluster that the app uses.
const DEMO_CONTEXT: &str = "admin";

/// The simulated cluster's state file inside the demo folder.
const STATE_FILE: &str = "simcluster-state.json";

/// Starts the simulated cluster behind demo mode (simcluster's `--demo` preset: 3 KVM nodes, KubeVirt
/// not installed yet, 12 VMs that appear once it is), kept in memory only.
pub async fn start_demo_cluster() -> Result<SimCluster, StartError> {
    start_demo_cluster_with_state(None).await
}

/// The same, with its objects and credentials saved in `state` (and read back from it when it
/// exists). The one place that chooses its options.
pub async fn start_demo_cluster_with_state(
    state: Option<PathBuf>,
) -> Result<SimCluster, StartError> {
    SimCluster::start(simcluster::Options {
        state,
        ..simcluster::Options::demo()
    })
    .await
}

/// The demo folder: `<data>/demo` of `dirs`, or of `$VMDECK_HOME` / the platform's folders.
pub fn demo_home(dirs: Option<&AppDirs>) -> Result<PathBuf, UiError> {
    let data = match dirs {
        Some(dirs) => dirs.data.clone(),
        None => {
            AppDirs::from_env_or_system()
                .map_err(|err| UiError::new(err.code(), err.to_string()))?
                .data
        }
    };
    Ok(data.join("demo"))
}

/// Demo mode's app directories: data, cache and logs in the demo folder `home` (kept across
/// restarts: the run journal, profiles, downloaded sources), config (the index of clusters
/// imported in demo mode, whose secrets live in memory only) in a fresh `vmdeck-demo-*` folder
/// under `temp` (removed when the returned `TempDir` drops). Failing to make either is an
/// error, never a reason to use the user's own folders.
pub fn demo_dirs(home: &Path, temp: &Path) -> Result<(tempfile::TempDir, AppDirs), UiError> {
    std::fs::create_dir_all(home).map_err(|err| {
        UiError::new(
            "demo_dir_failed",
            format!(
                "demo mode could not create its folder {}: {err}; check free space and permissions there (or set VMDECK_HOME)",
                home.display()
            ),
        )
    })?;
    let dir = tempfile::Builder::new()
        .prefix("vmdeck-demo-")
        .tempdir_in(temp)
        .map_err(|err| {
            UiError::new(
                "demo_temp_dir_failed",
                format!(
                    "demo mode could not create its temporary folder in {}: {err}; check free space and permissions there (or set TMPDIR)",
                    temp.display()
                ),
            )
        })?;
    let dirs = AppDirs {
        config: dir.path().join("config"),
        ..AppDirs::under(home)
    };
    Ok((dir, dirs))
}

/// The simulated cluster's state file in the demo folder `home`.
pub fn state_file(home: &Path) -> PathBuf {
    home.join(STATE_FILE)
}

/// Empties the demo folder `home` (the simulated cluster, its runs, profiles and cache): the next
/// demo start is a fresh cluster. `false` when there was nothing to remove.
pub fn reset(home: &Path) -> Result<bool, UiError> {
    match std::fs::remove_dir_all(home) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(UiError::new(
            "demo_reset_failed",
            format!(
                "the demo folder {} could not be removed: {err}; remove it by hand",
                home.display()
            ),
        )),
    }
}

/// A running demo cluster and the throwaway vault that holds it.
pub struct DemoCluster {
    pub sim: SimCluster,
    pub vault: Arc<Vault>,
    _dir: tempfile::TempDir,
}

impl DemoCluster {
    /// Starts the simulator (from `state` when given, see [`start_demo_cluster_with_state`]) and
    /// saves its admin context as [`DEMO_CLUSTER_NAME`].
    pub async fn start(state: Option<PathBuf>) -> Result<Self, UiError> {
        let sim = start_demo_cluster_with_state(state.clone())
            .await
            .map_err(|err| {
                let fix = match &state {
                    Some(path) => format!(
                        "restart the app, or start afresh with `vmdeck --demo --reset-demo` (removes {})",
                        path.parent().unwrap_or(path).display()
                    ),
                    None => "restart the app".to_string(),
                };
                UiError::new(
                    "demo_start_failed",
                    format!("the demo cluster could not start: {err}; {fix}"),
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
    fn demo_dirs_keep_data_in_the_demo_folder_and_config_in_a_fresh_temp_folder() {
        let parent = tempfile::tempdir().unwrap();
        let real = AppDirs::under(&parent.path().join("home"));
        let home = demo_home(Some(&real)).unwrap();
        assert_eq!(home, real.data.join("demo"));
        let temp = parent.path().join("tmp");
        std::fs::create_dir(&temp).unwrap();
        let (dir, dirs) = demo_dirs(&home, &temp).unwrap();
        assert!(home.is_dir());
        assert_eq!(dir.path().parent(), Some(temp.as_path()));
        assert!(dirs.config.starts_with(dir.path()));
        assert!(dirs.data.starts_with(&home) && dirs.cache.starts_with(&home));
        // Never the real clusters' folders: the journal and profiles sit under the demo folder.
        assert_ne!(dirs.data, real.data);
        assert_eq!(state_file(&home), home.join("simcluster-state.json"));
    }

    #[test]
    fn a_temp_folder_that_cannot_be_made_is_an_error_not_a_fallback() {
        let parent = tempfile::tempdir().unwrap();
        let not_a_dir = parent.path().join("file");
        std::fs::write(&not_a_dir, "x").unwrap();
        let err = demo_dirs(&parent.path().join("demo"), &not_a_dir).unwrap_err();
        assert_eq!(err.code, "demo_temp_dir_failed");
        assert!(err.message.contains("temporary folder"), "{}", err.message);
        let err = demo_dirs(&not_a_dir.join("demo"), parent.path()).unwrap_err();
        assert_eq!(err.code, "demo_dir_failed");
    }

    #[test]
    fn reset_removes_the_demo_folder_and_only_it() {
        let parent = tempfile::tempdir().unwrap();
        let home = parent.path().join("data").join("demo");
        std::fs::create_dir_all(home.join("data/runs")).unwrap();
        std::fs::write(state_file(&home), "{}").unwrap();
        std::fs::write(parent.path().join("data/keep"), "x").unwrap();
        assert!(reset(&home).unwrap());
        assert!(!home.exists());
        assert!(parent.path().join("data/keep").exists());
        assert!(!reset(&home).unwrap());
    }

    fn config_maps(client: kube::Client) -> kube::Api<kube::api::DynamicObject> {
        let resource = kube::api::ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
        };
        kube::Api::namespaced_with(client, "default", &resource)
    }

    #[tokio::test]
    async fn the_simulated_cluster_comes_back_from_its_state_file_until_reset() {
        let home = tempfile::tempdir().unwrap();
        let state = state_file(home.path());
        let first = DemoCluster::start(Some(state.clone())).await.unwrap();
        let map: kube::api::DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"}
        }))
        .unwrap();
        config_maps(first.sim.client().await)
            .create(&Default::default(), &map)
            .await
            .unwrap();
        first.sim.shutdown().await;
        assert!(state.is_file());

        let second = DemoCluster::start(Some(state.clone())).await.unwrap();
        let maps = config_maps(second.sim.client().await);
        assert!(maps.get_opt("kept").await.unwrap().is_some());
        second.sim.shutdown().await;

        assert!(reset(home.path()).unwrap());
        std::fs::create_dir_all(home.path()).unwrap();
        let fresh = DemoCluster::start(Some(state)).await.unwrap();
        let maps = config_maps(fresh.sim.client().await);
        assert!(maps.get_opt("kept").await.unwrap().is_none());
        fresh.sim.shutdown().await;
    }
}
