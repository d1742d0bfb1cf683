//! Connection checks against a local HTTPS server: reachable, 401, untrusted CA, timeout; and
//! hosts and ports containing "401" or "expired" classified by the real cause.

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

/// A free local port whose number contains "401", from `candidates` (the listener keeps it until
/// dropped). Each test has its own candidates: tests run in parallel processes.
fn listener_on_a_401_port(candidates: &[u16]) -> std::net::TcpListener {
    candidates
        .iter()
        .copied()
        .find_map(|port| std::net::TcpListener::bind(("127.0.0.1", port)).ok())
        .expect("no free port containing 401")
}

async fn check_against(server: &str, timeout: Duration) -> vmdeck_vault::CheckFailure {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path(), timeout);
    vault
        .import_from_text(
            &token_kubeconfig(server, &pki.ca_pem, "t"),
            &ImportRequest::default(),
        )
        .unwrap();
    vault.check("test").await.unwrap().failure.unwrap()
}

#[tokio::test]
async fn a_closed_port_containing_401_is_refused_not_unauthorized() {
    let port = {
        let listener = listener_on_a_401_port(&[14010, 14011, 14012, 14013]);
        listener.local_addr().unwrap().port()
    };
    let failure = check_against(
        &format!("https://127.0.0.1:{port}"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(failure.code, "connection_refused", "{}", failure.message);
}

#[tokio::test]
async fn a_server_on_a_401_port_that_hangs_up_is_unreachable_not_unauthorized() {
    let listener = listener_on_a_401_port(&[24010, 34010, 40100, 44010]);
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let server = tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            drop(socket);
        }
    });
    let failure = check_against(
        &format!("https://127.0.0.1:{port}"),
        Duration::from_secs(10),
    )
    .await;
    server.abort();
    assert_eq!(failure.code, "unreachable", "{}", failure.message);
}

#[tokio::test]
async fn an_unknown_host_named_401_expired_timeout_is_a_dns_failure() {
    let failure = check_against(
        "https://expired-401-timeout-unauthorized.invalid:14010",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(failure.code, "dns_failure", "{}", failure.message);
}
