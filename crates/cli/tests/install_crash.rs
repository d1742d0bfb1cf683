//! `vmdeckctl install` killed with SIGKILL at three points (inventory written; mid-apply;
//! mid-wait), then run again: the cluster ends with the same objects and specs as a clean
//! install's, the journal names the cut-short run and is cleared once it ends well; and an
//! uninstall straight after a crash removes everything.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;
use simcluster::SimCluster;
use vmdeck_installer::{INVENTORY_ANNOTATION, InventoryStore};

mod support;
use support::mirror;

struct Setup {
    dir: tempfile::TempDir,
    profile: String,
}

fn vmdeckctl(home: &Path) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("vmdeckctl"));
    command
        .env_remove("VMDECK_PACKS_DIR")
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("VMDECK_HOME", home.join("vmdeck"));
    command
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let init = vmdeckctl(dir.path())
        .args(["profile", "init", "--preset", "vm-dashboard-direct"])
        .output()
        .unwrap();
    assert!(init.status.success());
    let profile = dir.path().join("profile.yaml");
    std::fs::write(&profile, &init.stdout).unwrap();
    Setup {
        profile: profile.display().to_string(),
        dir,
    }
}

async fn cluster(home: &Path, name: &str) -> (SimCluster, String, kube::Client) {
    let cluster = SimCluster::start(simcluster::Options {
        ready_delay: Duration::from_millis(400),
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let kubeconfig = home.join(format!("{name}.kubeconfig"));
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let client = kube::Client::try_from(cluster.client_config("admin").await).unwrap();
    (cluster, kubeconfig.display().to_string(), client)
}

fn install_args<'a>(setup: &'a Setup, kubeconfig: &'a str, mirror: &'a str) -> Vec<&'a str> {
    vec![
        "install",
        &setup.profile,
        "--kubeconfig",
        kubeconfig,
        "--mirror",
        mirror,
        "--yes",
    ]
}

/// Runs an install to the end (off the async threads, which serve simcluster).
async fn install(home: &Path, args: Vec<String>) -> std::process::Output {
    let home = home.to_path_buf();
    tokio::task::spawn_blocking(move || vmdeckctl(&home).args(args).output().unwrap())
        .await
        .unwrap()
}

/// Starts an install and SIGKILLs it as soon as its progress shows a line containing `marker`.
async fn install_killed_at(home: &Path, args: Vec<String>, marker: &'static str) -> Vec<String> {
    let home = home.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut child = vmdeckctl(&home)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut seen = Vec::new();
        for line in BufReader::new(child.stderr.take().unwrap()).lines() {
            let line = line.unwrap();
            let found = line.contains(marker);
            seen.push(line);
            if found {
                child.kill().unwrap();
                break;
            }
        }
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "the install ended before {marker:?}:\n{}",
            seen.join("\n")
        );
        assert!(
            seen.last().is_some_and(|l| l.contains(marker)),
            "{marker:?} never showed:\n{}",
            seen.join("\n")
        );
        seen
    })
    .await
    .unwrap()
}

fn strings(list: Vec<&str>) -> Vec<String> {
    list.into_iter().map(str::to_string).collect()
}

/// Every object in the inventory as a spec to compare: no server fields, no status, the
/// inventory id (random per install) blanked.
async fn installed_state(client: &kube::Client) -> BTreeMap<String, Value> {
    let inventory = InventoryStore::new(client.clone(), Default::default())
        .load()
        .await
        .unwrap()
        .expect("an inventory");
    let mut state = BTreeMap::new();
    for entry in &inventory.objects {
        let discovered = kube::discovery::pinned_kind(client, &entry.key.gvk())
            .await
            .unwrap();
        let api: Api<DynamicObject> = match (&entry.key.namespace, discovered.1.scope) {
            (Some(namespace), kube::discovery::Scope::Namespaced) => {
                Api::namespaced_with(client.clone(), namespace, &discovered.0)
            }
            _ => Api::all_with(client.clone(), &discovered.0),
        };
        let live = api
            .get_opt(&entry.key.name)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} is listed but missing", entry.key));
        let mut live = serde_json::to_value(live).unwrap();
        let metadata = live["metadata"].as_object_mut().unwrap();
        for field in [
            "managedFields",
            "resourceVersion",
            "uid",
            "generation",
            "creationTimestamp",
        ] {
            metadata.remove(field);
        }
        if let Some(annotations) = metadata
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
        {
            annotations.insert(INVENTORY_ANNOTATION.into(), Value::String("<id>".into()));
        }
        live.as_object_mut().unwrap().remove("status");
        state.insert(entry.key.to_string(), live);
    }
    state
}

fn journal_files(home: &Path) -> Vec<String> {
    match std::fs::read_dir(home.join("vmdeck/data/runs")) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_killed_anywhere_resumes_to_a_clean_installs_state() {
    let setup = setup();
    let home = setup.dir.path();
    let mirror = mirror();

    let (_clean, clean_kubeconfig, clean_client) = cluster(home, "clean").await;
    let done = install(
        home,
        strings(install_args(&setup, &clean_kubeconfig, &mirror)),
    )
    .await;
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let expected = installed_state(&clean_client).await;
    assert_eq!(journal_files(home), Vec::<String>::new());

    for marker in ["inventory written", ": workloads (", "waiting for"] {
        let (_cluster, kubeconfig, client) = cluster(home, "crashed").await;
        let args = strings(install_args(&setup, &kubeconfig, &mirror));
        install_killed_at(home, args.clone(), marker).await;
        let left = journal_files(home);
        assert_eq!(left.len(), 1, "the killed run is journalled: {left:?}");

        let resumed = install(home, args).await;
        let stderr = String::from_utf8_lossy(&resumed.stderr);
        assert!(resumed.status.success(), "after {marker:?}: {stderr}");
        assert!(stderr.contains("was cut short"), "{stderr}");
        assert_eq!(installed_state(&client).await, expected, "after {marker:?}");
        assert_eq!(journal_files(home), Vec::<String>::new());
    }

    // Killed mid-apply and then uninstalled: nothing of ours is left.
    let (_cluster, kubeconfig, client) = cluster(home, "abandoned").await;
    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
        )),
    );
    let before = crds.list(&Default::default()).await.unwrap().items.len();
    install_killed_at(
        home,
        strings(install_args(&setup, &kubeconfig, &mirror)),
        ": workloads (",
    )
    .await;
    let removed = install(
        home,
        strings(vec!["uninstall", "--kubeconfig", &kubeconfig, "--yes"]),
    )
    .await;
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    assert_eq!(
        crds.list(&Default::default()).await.unwrap().items.len(),
        before
    );
    assert!(
        InventoryStore::new(client.clone(), Default::default())
            .load()
            .await
            .unwrap()
            .is_none()
    );
}
