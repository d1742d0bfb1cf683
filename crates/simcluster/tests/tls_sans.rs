//! `--tls-san`: extra names on simcluster's serving certificate, verified by real TLS handshakes
//! against its CA (the name as SNI), by kube-rs with `tls_server_name`, and kept across a
//! `--state` restart that adds a name (the serving certificate is reissued, the CA stays).

use std::sync::Arc;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use simcluster::{Options, SimCluster};

const PROXY_NAME: &str = "cluster-0123abcd.proxy.test";

/// A TLS handshake with `sni` as server name, verified against `ca_pem`.
async fn handshake(cluster: &SimCluster, ca_pem: &str, sni: &str) -> Result<(), std::io::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let address = cluster.url().trim_start_matches("https://").to_string();
    let tcp = tokio::net::TcpStream::connect(address).await?;
    let name = ServerName::try_from(sni.to_string()).unwrap();
    connector.connect(name, tcp).await.map(|_| ())
}

fn options_with(sans: &[&str]) -> Options {
    Options {
        tls_sans: sans.iter().map(|s| s.to_string()).collect(),
        ..Options::default()
    }
}

#[tokio::test]
async fn an_extra_name_verifies_against_the_ca_and_an_unlisted_one_does_not() {
    let cluster = SimCluster::start(options_with(&[PROXY_NAME]))
        .await
        .unwrap();
    let ca = cluster.cluster().pki.ca_cert_pem.clone();
    handshake(&cluster, &ca, PROXY_NAME)
        .await
        .expect("the --tls-san name verifies");
    handshake(&cluster, &ca, "localhost")
        .await
        .expect("localhost still verifies");
    let error = handshake(&cluster, &ca, "cluster-other.proxy.test")
        .await
        .expect_err("a name not on the certificate must fail verification");
    assert!(
        error.to_string().contains("certificate"),
        "a certificate error, got: {error}"
    );
    let names = cluster.cluster().pki.server_names().unwrap();
    assert!(names.contains(PROXY_NAME), "{names:?}");
    assert!(names.contains("127.0.0.1"), "{names:?}");
}

#[tokio::test]
async fn kube_rs_with_tls_server_name_reaches_the_cluster_by_its_extra_name() {
    let cluster = SimCluster::start(options_with(&[PROXY_NAME]))
        .await
        .unwrap();
    let mut config = cluster.client_config("admin").await;
    config.tls_server_name = Some(PROXY_NAME.to_string());
    let client = kube::Client::try_from(config).unwrap();
    let namespaces: Api<Namespace> = Api::all(client);
    let list = namespaces.list(&ListParams::default()).await.unwrap();
    assert!(!list.items.is_empty());

    let mut wrong = cluster.client_config("admin").await;
    wrong.tls_server_name = Some("cluster-other.proxy.test".to_string());
    let client = kube::Client::try_from(wrong).unwrap();
    let namespaces: Api<Namespace> = Api::all(client);
    assert!(namespaces.list(&ListParams::default()).await.is_err());
}

#[tokio::test]
async fn a_saved_state_gets_the_new_name_and_keeps_its_ca_and_token() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let first = SimCluster::start(Options {
        state: Some(state.clone()),
        ..Options::default()
    })
    .await
    .unwrap();
    let ca = first.cluster().pki.ca_cert_pem.clone();
    let token = first.admin_token().to_string();
    assert!(handshake(&first, &ca, PROXY_NAME).await.is_err());
    first.shutdown().await;

    let second = SimCluster::start(Options {
        state: Some(state.clone()),
        ..options_with(&[PROXY_NAME])
    })
    .await
    .unwrap();
    assert_eq!(second.cluster().pki.ca_cert_pem, ca, "the CA is kept");
    assert_eq!(second.admin_token(), token, "the token is kept");
    handshake(&second, &ca, PROXY_NAME)
        .await
        .expect("the reissued serving certificate carries the new name");
    second.shutdown().await;

    // Without the name again, the certificate stops carrying it.
    let third = SimCluster::start(Options {
        state: Some(state),
        ..Options::default()
    })
    .await
    .unwrap();
    assert!(handshake(&third, &ca, PROXY_NAME).await.is_err());
    handshake(&third, &ca, "localhost").await.unwrap();
}
