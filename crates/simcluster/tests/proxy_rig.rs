//! The proxy rig of vmdeck-test-support against simcluster's real TLS: haproxy passes TLS through
//! to the backend its SNI names (the handshake verifies against simcluster's CA), closes the
//! connection for an unknown name, and tinyproxy's CONNECT in front of it makes two hops.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use simcluster::{Options, SimCluster};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vmdeck_test_support::proxy_rig::{Haproxy, Tinyproxy};

const NAME: &str = "cluster-rig0001.proxy.test";

fn connector(ca_pem: &str) -> tokio_rustls::TlsConnector {
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
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn server_name(name: &str) -> ServerName<'static> {
    ServerName::try_from(name.to_string()).unwrap()
}

async fn backend() -> SimCluster {
    SimCluster::start(Options {
        tls_sans: vec![NAME.to_string()],
        ..Options::default()
    })
    .await
    .unwrap()
}

fn backend_address(cluster: &SimCluster) -> std::net::SocketAddr {
    cluster
        .url()
        .trim_start_matches("https://")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn haproxy_passes_tls_through_by_sni_and_refuses_an_unknown_name() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = backend().await;
    let haproxy = Haproxy::start(dir.path(), &[(NAME, backend_address(&cluster))]).await;
    let tls = connector(&cluster.cluster().pki.ca_cert_pem);

    let tcp = tokio::net::TcpStream::connect(haproxy.address())
        .await
        .unwrap();
    let mut stream = tls
        .connect(server_name(NAME), tcp)
        .await
        .expect("simcluster's certificate through haproxy");
    stream
        .write_all(b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.contains("gitVersion"), "{answer}");
    assert_eq!(haproxy.routed_to(NAME), 1, "{}", haproxy.log_text());

    let tcp = tokio::net::TcpStream::connect(haproxy.address())
        .await
        .unwrap();
    let error = tls
        .connect(server_name("cluster-unknown.proxy.test"), tcp)
        .await
        .expect_err("an unknown name is refused");
    assert_eq!(
        error.kind(),
        std::io::ErrorKind::UnexpectedEof,
        "closed without a TLS answer: {error}"
    );
    assert_eq!(haproxy.refused(), 1, "{}", haproxy.log_text());
}

#[tokio::test]
async fn tinyproxy_connect_in_front_of_haproxy_makes_two_hops() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = backend().await;
    let haproxy = Haproxy::start(dir.path(), &[(NAME, backend_address(&cluster))]).await;
    let tinyproxy = Tinyproxy::start(dir.path()).await;
    let authority = haproxy.address().to_string();

    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", tinyproxy.port()))
        .await
        .unwrap();
    tcp.write_all(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    connector(&cluster.cluster().pki.ca_cert_pem)
        .connect(server_name(NAME), tcp)
        .await
        .expect("TLS through tinyproxy and haproxy");
    assert_eq!(
        tinyproxy.connects_to(&authority),
        1,
        "{}",
        tinyproxy.log_text()
    );
    assert_eq!(haproxy.routed_to(NAME), 1, "{}", haproxy.log_text());
}
