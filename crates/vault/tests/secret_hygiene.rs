//! No secret (raw or base64) in any file under the app's config, data, cache and log dirs.

mod support;

use std::sync::Arc;

use support::hygiene::{CONTEXTS, find_secrets, import_and_use, write_secret_kubeconfig};
use support::{pki, start_https};
use vmdeck_vault::{AppDirs, AuthKind, ExecEnvironment, SessionStore, Vault};

#[tokio::test]
async fn no_secret_reaches_the_app_directories() {
    let pki = pki();
    let token = "tok-SECRET-inline-123";
    let server = start_https(&pki, token).await;
    let work = tempfile::tempdir().unwrap();
    let (kubeconfig, secrets) = write_secret_kubeconfig(work.path(), &server.url, &pki, token);
    let base = work.path().join("app");
    let dirs = AppDirs::under(&base);
    for dir in [&dirs.config, &dirs.data, &dirs.cache, &dirs.logs] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let vault = Vault::new(
        &dirs,
        Arc::new(SessionStore::new()),
        ExecEnvironment::with_path("/usr/bin:/bin"),
    );
    import_and_use(&vault, &kubeconfig, &dirs.logs).await;

    // Files referenced by path were read at import: deleting them changes nothing.
    for file in ["client.crt", "client.key", "token"] {
        std::fs::remove_file(work.path().join(file)).unwrap();
    }
    let connection = vault.connection("cert-file-ctx").unwrap();
    assert_eq!(
        connection.credentials.client_key_pem.unwrap().expose(),
        &pki.client_key_pem
    );
    assert_eq!(
        connection.credentials.token.unwrap().expose(),
        "tok-SECRET-from-file-456"
    );

    let listed = vault.list().unwrap();
    let names: Vec<_> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, CONTEXTS);
    assert_eq!(listed[4].auth, AuthKind::Exec);
    assert!(
        listed[0]
            .ca_fingerprint
            .as_ref()
            .is_some_and(|f| f.len() == 64)
    );
    let log = std::fs::read_to_string(dirs.logs.join("vmdeck.log")).unwrap();
    assert!(
        log.contains("cluster imported"),
        "the scenario logged at TRACE level"
    );
    assert!(
        log.contains("<redacted>"),
        "the connection was logged, redacted"
    );

    let (files, found) = find_secrets(&base, &secrets);
    assert!(files >= 2, "the index and the log were searched");
    assert!(found.is_empty(), "secrets on disk: {found:#?}");
}
