//! Tests against a real Secret Service (gnome-keyring). Run them through
//! `scripts/with-keyring.sh cargo test -p vmdeck-vault --test keyring`; without a reachable
//! Secret Service they FAIL with a message saying so.

mod support;

use std::sync::Arc;

use support::hygiene::{CONTEXTS, find_secrets, import_and_use, write_secret_kubeconfig};
use support::{pki, start_https, token_kubeconfig};
use vmdeck_vault::{
    AppDirs, ExecEnvironment, ImportRequest, KeyringStore, SecretStore, StoreKind, Vault,
};

/// Each test binary run uses its own service name so runs never see each other's entries.
fn keyring() -> Arc<KeyringStore> {
    let service = format!("io.vmdeck.VMDeck.test-{}", std::process::id());
    match KeyringStore::connect_with_service(&service) {
        Ok(store) => Arc::new(store),
        Err(err) => panic!(
            "no usable Secret Service ({}: {err}). Run these tests inside scripts/with-keyring.sh, which starts a throwaway unlocked gnome-keyring",
            err.code()
        ),
    }
}

#[test]
fn secret_service_is_reachable() {
    let store = keyring();
    assert_eq!(store.kind(), StoreKind::OsKeyring);
}

#[test]
fn import_stores_one_entry_and_remove_deletes_it() {
    let store = keyring();
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::new(
        &AppDirs::under(dir.path()),
        store.clone(),
        ExecEnvironment::with_path("/usr/bin"),
    );
    let text = token_kubeconfig("https://127.0.0.1:6443", &pki.ca_pem, "keyring-token-1");
    let saved = vault
        .import_from_text(&text, &ImportRequest::default())
        .unwrap();
    let id = saved[0].id.clone();
    assert_eq!(saved[0].secret_store, StoreKind::OsKeyring);
    let blob = store
        .get(&id)
        .unwrap()
        .expect("the cluster's blob is in the keyring");
    assert!(blob.expose().contains("keyring-token-1"));

    // Re-import over the name: refused without overwrite, replaces (and deletes the old entry) with it.
    let err = vault
        .import_from_text(&text, &ImportRequest::default())
        .unwrap_err();
    assert_eq!(err.code(), "name_exists");
    let text2 = token_kubeconfig("https://127.0.0.1:6443", &pki.ca_pem, "keyring-token-2");
    let replaced = vault
        .import_from_text(
            &text2,
            &ImportRequest {
                picks: vec![],
                overwrite: true,
            },
        )
        .unwrap();
    assert!(
        store.get(&id).unwrap().is_none(),
        "the replaced entry is gone"
    );
    let new_id = replaced[0].id.clone();
    assert!(
        store
            .get(&new_id)
            .unwrap()
            .unwrap()
            .expose()
            .contains("keyring-token-2")
    );

    vault.rename("test", "renamed").unwrap();
    assert_eq!(
        vault
            .connection("renamed")
            .unwrap()
            .credentials
            .token
            .unwrap()
            .expose(),
        "keyring-token-2"
    );
    vault.remove("renamed").unwrap();
    assert!(
        store.get(&new_id).unwrap().is_none(),
        "remove deletes the keyring entry"
    );
    assert!(vault.list().unwrap().is_empty());
}

#[test]
fn secrets_survive_a_new_vault_instance() {
    let store = keyring();
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let dirs = AppDirs::under(dir.path());
    let text = token_kubeconfig("https://127.0.0.1:6443", &pki.ca_pem, "persisted-token");
    Vault::new(&dirs, store.clone(), ExecEnvironment::with_path("/usr/bin"))
        .import_from_text(&text, &ImportRequest::default())
        .unwrap();
    let reopened = Vault::new(&dirs, keyring(), ExecEnvironment::with_path("/usr/bin"));
    assert_eq!(
        reopened
            .connection("test")
            .unwrap()
            .credentials
            .token
            .unwrap()
            .expose(),
        "persisted-token"
    );
    reopened.remove("test").unwrap();
}

#[tokio::test]
async fn no_secret_reaches_the_app_directories_with_the_os_keyring() {
    let store = keyring();
    let pki = pki();
    let token = "tok-SECRET-keyring-321";
    let server = start_https(&pki, token).await;
    let work = tempfile::tempdir().unwrap();
    let (kubeconfig, secrets) = write_secret_kubeconfig(work.path(), &server.url, &pki, token);
    let base = work.path().join("app");
    let dirs = AppDirs::under(&base);
    let vault = Vault::new(&dirs, store, ExecEnvironment::with_path("/usr/bin:/bin"));
    import_and_use(&vault, &kubeconfig, &dirs.logs).await;
    assert_eq!(vault.list().unwrap().len(), CONTEXTS.len());
    let (files, found) = find_secrets(&base, &secrets);
    assert!(files >= 2);
    assert!(found.is_empty(), "secrets on disk: {found:#?}");
    for name in CONTEXTS {
        vault.remove(name).unwrap();
    }
}
