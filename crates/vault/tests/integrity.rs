//! Vault integrity: a removal or import stopped between its steps never leaves a listed cluster
//! without its secret, and what it leaves behind is swept at the next open; cluster secrets go
//! with their cluster.

mod support;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use support::{pki, token_kubeconfig};
use vmdeck_vault::{
    AppDirs, ContextPick, ExecEnvironment, ImportRequest, SavedCluster, SecretStore,
    SecretStoreError, Sensitive, StoreKind, Vault, load_text,
};

/// A secret store that checks the index on disk at every delete, and can "crash" (panic, as a
/// killed process stops) right after a put or before a delete.
struct CrashingStore {
    config: std::path::PathBuf,
    blobs: Mutex<HashMap<String, Sensitive<String>>>,
    crash_after_put: AtomicBool,
    crash_on_delete: AtomicBool,
    violations: Mutex<Vec<String>>,
}

impl CrashingStore {
    fn new(config: &Path) -> Self {
        Self {
            config: config.to_path_buf(),
            blobs: Mutex::new(HashMap::new()),
            crash_after_put: AtomicBool::new(false),
            crash_on_delete: AtomicBool::new(false),
            violations: Mutex::new(Vec::new()),
        }
    }

    fn listed(&self) -> Vec<SavedCluster> {
        let text = match std::fs::read_to_string(self.config.join("clusters.json")) {
            Ok(text) => text,
            Err(_) => return Vec::new(),
        };
        let file: serde_json::Value = serde_json::from_str(&text).unwrap();
        serde_json::from_value(file["clusters"].clone()).unwrap()
    }

    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<_> = self.blobs.lock().unwrap().keys().cloned().collect();
        ids.sort();
        ids
    }
}

impl SecretStore for CrashingStore {
    fn kind(&self) -> StoreKind {
        StoreKind::SessionOnly
    }

    fn put(&self, id: &str, blob: &Sensitive<String>) -> Result<(), SecretStoreError> {
        self.blobs
            .lock()
            .unwrap()
            .insert(id.to_string(), blob.clone());
        if self.crash_after_put.load(Ordering::SeqCst) {
            panic!("simulated crash after writing a secret");
        }
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<Sensitive<String>>, SecretStoreError> {
        Ok(self.blobs.lock().unwrap().get(id).cloned())
    }

    fn delete(&self, id: &str) -> Result<(), SecretStoreError> {
        if self.listed().iter().any(|c| c.id == id) {
            self.violations
                .lock()
                .unwrap()
                .push(format!("deleted the secret of a listed cluster ({id})"));
        }
        if self.crash_on_delete.load(Ordering::SeqCst) {
            panic!("simulated crash before deleting a secret");
        }
        self.blobs.lock().unwrap().remove(id);
        Ok(())
    }
}

fn open(dir: &Path, store: &Arc<CrashingStore>) -> Vault {
    Vault::new(
        &AppDirs::under(dir),
        store.clone(),
        ExecEnvironment::with_path(""),
    )
}

fn import(vault: &Vault, name: &str) {
    let pki = pki();
    let loaded = load_text(&token_kubeconfig(
        "https://127.0.0.1:14010",
        &pki.ca_pem,
        "t",
    ))
    .unwrap();
    let request = ImportRequest {
        picks: vec![ContextPick {
            context: Some("test".into()),
            name: Some(name.into()),
        }],
        overwrite: false,
    };
    vault.import(&loaded, &request).unwrap();
}

/// Every listed cluster has its secret.
fn assert_listed_have_secrets(vault: &Vault, store: &CrashingStore) {
    for cluster in vault.list().unwrap() {
        assert!(
            store.ids().contains(&cluster.id),
            "{} is listed without its secret",
            cluster.name
        );
        vault.connection(&cluster.name).unwrap();
    }
    assert_eq!(
        store.violations.lock().unwrap().as_slice(),
        [] as [String; 0]
    );
}

#[test]
fn a_removal_stopped_before_the_keyring_delete_leaves_an_orphan_that_the_next_open_sweeps() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(CrashingStore::new(&AppDirs::under(dir.path()).config));
    let vault = open(dir.path(), &store);
    import(&vault, "keep");
    import(&vault, "gone");
    let gone_id = vault.get("gone").unwrap().id;
    vault
        .put_cluster_secret(
            "gone",
            "pack:spectro-proxy:token",
            &Sensitive::new("frp".into()),
        )
        .unwrap();

    store.crash_on_delete.store(true, Ordering::SeqCst);
    let crashed = catch_unwind(AssertUnwindSafe(|| vault.remove("gone")));
    assert!(
        crashed.is_err(),
        "the store double should have crashed the removal"
    );
    drop(vault);

    // The process "died": the index no longer lists the cluster; its secrets are orphans.
    store.crash_on_delete.store(false, Ordering::SeqCst);
    let reopened = open(dir.path(), &store);
    let names: Vec<_> = reopened
        .list()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["keep"]);
    assert_listed_have_secrets(&reopened, &store);
    assert!(store.ids().contains(&gone_id));

    assert_eq!(reopened.sweep_orphans().unwrap(), 2);
    let keep_id = reopened.get("keep").unwrap().id;
    assert_eq!(store.ids(), [keep_id]);
    assert!(reopened.unlisted_secrets().unwrap().is_empty());
    assert_eq!(reopened.sweep_orphans().unwrap(), 0);
    assert_listed_have_secrets(&reopened, &store);
}

#[test]
fn an_import_stopped_after_the_keyring_write_leaves_no_listed_cluster_and_its_secret_is_swept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(CrashingStore::new(&AppDirs::under(dir.path()).config));
    let vault = open(dir.path(), &store);
    import(&vault, "keep");

    store.crash_after_put.store(true, Ordering::SeqCst);
    let crashed = catch_unwind(AssertUnwindSafe(|| import(&vault, "half")));
    assert!(crashed.is_err());
    drop(vault);
    store.crash_after_put.store(false, Ordering::SeqCst);

    let reopened = open(dir.path(), &store);
    let names: Vec<_> = reopened
        .list()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["keep"]);
    assert_eq!(
        store.ids().len(),
        2,
        "the half-imported secret is still there"
    );
    assert_listed_have_secrets(&reopened, &store);
    assert_eq!(reopened.sweep_orphans().unwrap(), 1);
    assert_eq!(store.ids(), [reopened.get("keep").unwrap().id]);
}

#[test]
fn cluster_secrets_follow_renames_and_vanish_with_their_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(CrashingStore::new(&AppDirs::under(dir.path()).config));
    let vault = open(dir.path(), &store);
    import(&vault, "lab");
    let key = "pack:spectro-proxy:token";
    vault
        .put_cluster_secret("lab", key, &Sensitive::new("frp-token".into()))
        .unwrap();
    vault.rename("lab", "lab2").unwrap();
    assert_eq!(
        vault.cluster_secret("lab2", key).unwrap().unwrap().expose(),
        "frp-token"
    );
    let index =
        std::fs::read_to_string(AppDirs::under(dir.path()).config.join("clusters.json")).unwrap();
    assert!(!index.contains("frp-token"), "a secret reached the index");

    vault.remove("lab2").unwrap();
    assert!(store.ids().is_empty(), "left behind: {:?}", store.ids());
    assert!(vault.unlisted_secrets().unwrap().is_empty());

    // A new cluster under the old name starts without the old cluster's secrets.
    import(&vault, "lab2");
    assert!(vault.cluster_secret("lab2", key).unwrap().is_none());
    assert_listed_have_secrets(&vault, &store);
}

#[test]
fn replacing_a_cluster_deletes_its_secrets_after_the_index_stops_listing_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(CrashingStore::new(&AppDirs::under(dir.path()).config));
    let vault = open(dir.path(), &store);
    import(&vault, "lab");
    vault
        .put_cluster_secret("lab", "k", &Sensitive::new("v".into()))
        .unwrap();
    let pki = pki();
    let loaded = load_text(&token_kubeconfig("https://127.0.0.1:2", &pki.ca_pem, "t")).unwrap();
    vault
        .import_replacing(
            &loaded,
            &ImportRequest {
                picks: vec![ContextPick {
                    context: Some("test".into()),
                    name: Some("lab".into()),
                }],
                overwrite: false,
            },
            &["lab".into()],
        )
        .unwrap();
    assert_eq!(store.ids(), [vault.get("lab").unwrap().id]);
    assert_listed_have_secrets(&vault, &store);
}
