//! Shared test scaffolding: start a simulated cluster, find kubectl binaries, read upstream files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use simcluster::{Options, SimCluster};

pub async fn start() -> SimCluster {
    start_with(Options::default()).await
}

pub async fn start_with(options: Options) -> SimCluster {
    SimCluster::start(options).await.expect("simcluster starts")
}

/// `../shared/upstream` beside the repository.
pub fn upstream() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream");
    assert!(
        dir.is_dir(),
        "the upstream manifests are expected at {} (../shared/upstream beside the repository)",
        dir.display()
    );
    dir
}

/// Every upstream Kubernetes manifest (YAML), sorted; frp's TOML files are not manifests.
pub fn upstream_manifests() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![upstream()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read upstream dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A real kubectl binary of one minor version (`kubectl.1.33` beside the `kubectl` dispatcher).
pub fn kubectl(minor: u32) -> PathBuf {
    let name = format!("kubectl.1.{minor}");
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(&name)).collect())
        .unwrap_or_default();
    if let Ok(dispatcher) = which("kubectl")
        && let Ok(real) = std::fs::canonicalize(dispatcher)
        && let Some(dir) = real.parent()
    {
        candidates.push(dir.join(&name));
    }
    candidates
        .into_iter()
        .find(|c| c.is_file())
        .unwrap_or_else(|| panic!("{name} not found on PATH or beside the kubectl dispatcher; the machine image provides kubectl 1.27-1.33"))
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|c| c.is_file())
        })
        .ok_or(())
}

/// Split a multi-document YAML file into its documents (as parsed JSON values).
pub fn documents(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize;
    serde_yaml_ng::Deserializer::from_str(text)
        .filter_map(|doc| serde_json::Value::deserialize(doc).ok())
        .filter(|v| v.is_object())
        .collect()
}

/// One kubectl binary bound to a kubeconfig and a throwaway HOME (its discovery cache).
pub struct Kubectl {
    pub binary: PathBuf,
    pub kubeconfig: PathBuf,
    home: tempfile::TempDir,
}

impl Kubectl {
    pub fn new(minor: u32, kubeconfig: &Path) -> Self {
        Self {
            binary: kubectl(minor),
            kubeconfig: kubeconfig.to_path_buf(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.home.path())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Run and return (success, stdout, stderr).
    pub async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let output = tokio::time::timeout(Duration::from_secs(90), self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
            .expect("kubectl runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Run, assert success, return stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args).await;
        assert!(
            ok,
            "{} {args:?} failed:\n{stdout}\n{stderr}",
            self.binary.display()
        );
        stdout
    }
}

// The one polling helper of every suite: a wait on a condition, never on time alone.
#[allow(unused_imports)] // each suite takes what it needs
pub use vmdeck_test_support::{WAIT_LIMIT, eventually, retry_expected, wait_until};
