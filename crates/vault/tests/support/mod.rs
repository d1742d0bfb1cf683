//! Test fixtures: a throwaway PKI, a tiny Kubernetes-like HTTPS server, and kubeconfig builders.
#![allow(dead_code)]

pub mod hygiene;

use std::convert::Infallible;
use std::sync::Arc;

use base64::Engine;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A CA, a server certificate for 127.0.0.1/localhost signed by it, and a client cert + key.
pub struct Pki {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

pub fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "vmdeck test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "vmdeck-test-user");
    let client_cert = client_params.signed_by(&client_key, &ca).unwrap();

    Pki {
        ca_pem: ca.pem(),
        server_cert_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

/// A server that answers the few API calls the connection check makes, accepting one bearer token.
pub struct FakeApiServer {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

async fn answer(
    req: Request<Incoming>,
    token: Arc<String>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let expected = format!("Bearer {token}");
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    if !authorized {
        return Ok(json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}),
        ));
    }
    let body = match (req.method().as_str(), req.uri().path()) {
        ("GET", "/version") => serde_json::json!({
            "major":"1","minor":"33","gitVersion":"v1.33.1","gitCommit":"abc","gitTreeState":"clean",
            "buildDate":"2025-01-01T00:00:00Z","goVersion":"go1.24","compiler":"gc","platform":"linux/amd64"
        }),
        ("GET", "/api/v1/nodes") => serde_json::json!({
            "apiVersion":"meta.k8s.io/v1","kind":"PartialObjectMetadataList","metadata":{},
            "items":[
                {"apiVersion":"meta.k8s.io/v1","kind":"PartialObjectMetadata","metadata":{"name":"node-a"}},
                {"apiVersion":"meta.k8s.io/v1","kind":"PartialObjectMetadata","metadata":{"name":"node-b"}}
            ]
        }),
        ("GET", "/apis") => serde_json::json!({
            "kind":"APIGroupList","apiVersion":"v1",
            "groups":[{"name":"kubevirt.io","versions":[{"groupVersion":"kubevirt.io/v1","version":"v1"}],
                       "preferredVersion":{"groupVersion":"kubevirt.io/v1","version":"v1"}}]
        }),
        ("GET", "/apis/kubevirt.io/v1/kubevirts") => serde_json::json!({
            "apiVersion":"kubevirt.io/v1","kind":"KubeVirtList","metadata":{},
            "items":[{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt",
                      "metadata":{"name":"kubevirt","namespace":"kubevirt"},
                      "status":{"observedKubeVirtVersion":"v1.5.2"}}]
        }),
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") => serde_json::json!({
            "apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","metadata":{},
            "spec":{"resourceAttributes":{"verb":"create","group":"apiextensions.k8s.io","resource":"customresourcedefinitions"}},
            "status":{"allowed":true}
        }),
        _ => {
            return Ok(json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"kind":"Status","apiVersion":"v1","status":"Failure","code":404}),
            ));
        }
    };
    Ok(json(StatusCode::OK, body))
}

/// Starts an HTTPS server on 127.0.0.1 with the PKI's server certificate.
pub async fn start_https(pki: &Pki, token: &str) -> FakeApiServer {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pki.server_cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pki.server_key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let token = Arc::new(token.to_string());
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req| answer(req, token.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    FakeApiServer { url, task }
}

/// A TCP listener that accepts connections and never answers (for timeouts).
pub async fn start_silent() -> FakeApiServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    FakeApiServer { url, task }
}

/// A single-context kubeconfig with a token user.
pub fn token_kubeconfig(server: &str, ca_pem: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: test-cluster\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\nusers:\n- name: test-user\n  user:\n    token: {token}\ncontexts:\n- name: test\n  context:\n    cluster: test-cluster\n    user: test-user\n",
        b64(ca_pem)
    )
}

/// Writes an executable script.
pub fn write_script(path: &std::path::Path, body: &str) {
    std::fs::write(path, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
