//! Connection checks against a local HTTPS server: reachable, 401, untrusted CA, timeout.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{pki, start_https, start_silent, token_kubeconfig};
use vmdeck_vault::{AppDirs, ExecEnvironment, ImportRequest, SessionStore, Vault};

fn vault(base: &std::path::Path, timeout: Duration) -> Vault {
    Vault::new(
        &AppDirs::under(base),
        Arc::new(SessionStore::new()),
        ExecEnvironment::with_path("/usr/bin:/bin"),
    )
    .with_check_timeout(timeout)
}

#[tokio::test]
async fn reachable_cluster_reports_version_nodes_kubevirt_and_permission() {
    let pki = pki();
    let server = start_https(&pki, "good-token").await;
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path(), Duration::from_secs(10));
    vault
        .import_from_text(
            &token_kubeconfig(&server.url, &pki.ca_pem, "good-token"),
            &ImportRequest::default(),
        )
        .unwrap();

    let report = vault.check("test").await.unwrap();
    assert!(report.reachable, "{report:?}");
    assert_eq!(report.failure, None);
    assert_eq!(report.kubernetes_version.as_deref(), Some("v1.33.1"));
    assert_eq!(report.node_count, Some(2));
    let kubevirt = report.kubevirt.unwrap();
    assert!(kubevirt.installed);
    assert_eq!(kubevirt.version.as_deref(), Some("v1.5.2"));
    assert_eq!(report.can_install, Some(true));
    assert!(
        vault.get("test").unwrap().last_used.is_some(),
        "a reachable check records last_used"
    );
}

#[tokio::test]
async fn wrong_token_gives_unauthorized() {
    let pki = pki();
    let server = start_https(&pki, "good-token").await;
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path(), Duration::from_secs(10));
    vault
        .import_from_text(
            &token_kubeconfig(&server.url, &pki.ca_pem, "stale-token"),
            &ImportRequest::default(),
        )
        .unwrap();
    let report = vault.check("test").await.unwrap();
    assert!(!report.reachable);
    let failure = report.failure.unwrap();
    assert_eq!(failure.code, "unauthorized", "{}", failure.message);
    assert!(failure.message.contains("re-import"));
    assert!(vault.get("test").unwrap().last_used.is_none());
}

#[tokio::test]
async fn server_signed_by_another_ca_is_untrusted() {
    let server_pki = pki();
    let other_pki = pki();
    let server = start_https(&server_pki, "good-token").await;
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path(), Duration::from_secs(10));
    vault
        .import_from_text(
            &token_kubeconfig(&server.url, &other_pki.ca_pem, "good-token"),
            &ImportRequest::default(),
        )
        .unwrap();
    let failure = vault.check("test").await.unwrap().failure.unwrap();
    assert_eq!(failure.code, "untrusted_certificate", "{}", failure.message);
}

#[tokio::test]
async fn silent_server_times_out() {
    let pki = pki();
    let server = start_silent().await;
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path(), Duration::from_millis(700));
    vault
        .import_from_text(
            &token_kubeconfig(&server.url, &pki.ca_pem, "t"),
            &ImportRequest::default(),
        )
        .unwrap();
    let failure = vault.check("test").await.unwrap().failure.unwrap();
    assert_eq!(failure.code, "timeout", "{}", failure.message);
}

#[tokio::test]
async fn unknown_host_is_a_dns_failure() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path(), Duration::from_secs(10));
    let config = token_kubeconfig("https://no-such-host.invalid:6443", &pki.ca_pem, "t");
    vault
        .import_from_text(&config, &ImportRequest::default())
        .unwrap();
    let failure = vault.check("test").await.unwrap().failure.unwrap();
    assert_eq!(failure.code, "dns_failure", "{}", failure.message);
}
