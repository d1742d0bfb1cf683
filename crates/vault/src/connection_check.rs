//! Connection check: reachability, Kubernetes version, nodes, KubeVirt, install permission; failures in plain words.

use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, PostParams};
use serde::Serialize;

use crate::kube_client::ClientError;

/// Default time allowed for each step of a check.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub cluster: String,
    pub reachable: bool,
    pub kubernetes_version: Option<String>,
    /// `None` when the user may not list nodes.
    pub node_count: Option<usize>,
    /// `None` when it could not be determined.
    pub kubevirt: Option<KubevirtStatus>,
    /// May the user create CustomResourceDefinitions (needed to install KubeVirt)?
    pub can_install: Option<bool>,
    pub failure: Option<CheckFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KubevirtStatus {
    pub installed: bool,
    /// `status.observedKubeVirtVersion` of the KubeVirt CR, when one exists.
    pub version: Option<String>,
}

/// Why a cluster cannot be reached: stable code plus a message with the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckFailure {
    pub code: String,
    pub message: String,
}

impl CheckReport {
    pub fn failed(cluster: &str, failure: CheckFailure) -> Self {
        Self {
            cluster: cluster.to_string(),
            reachable: false,
            kubernetes_version: None,
            node_count: None,
            kubevirt: None,
            can_install: None,
            failure: Some(failure),
        }
    }
}

impl From<&ClientError> for CheckFailure {
    fn from(err: &ClientError) -> Self {
        Self {
            code: err.code().to_string(),
            message: err.to_string(),
        }
    }
}

async fn within<T>(
    timeout: Duration,
    step: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, CheckFailure> {
    match tokio::time::timeout(timeout, step).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(classify_kube_error(&err, timeout)),
        Err(_) => Err(timeout_failure(timeout)),
    }
}

fn timeout_failure(timeout: Duration) -> CheckFailure {
    CheckFailure {
        code: "timeout".into(),
        message: format!(
            "the cluster did not answer within {} s; check that the server address is right, that you are on the right network or VPN, and any proxy settings",
            timeout.as_secs_f32()
        ),
    }
}

/// The code of a connection closed during the TLS handshake, as an SNI-routing proxy does for a
/// server name it does not know.
pub const PROXY_UNKNOWN_CLUSTER: &str = "proxy_unknown_cluster";
const PROXY_UNKNOWN_CLUSTER_FIX: &str = "the proxy does not know this cluster: it closed the connection during the TLS handshake; check the cluster uid in the proxied server name (tls-server-name) and that the cluster's frp client is connected";

/// Names the cluster in a failure that is about it.
pub fn name_cluster(mut failure: CheckFailure, name: &str) -> CheckFailure {
    if failure.code == PROXY_UNKNOWN_CLUSTER {
        failure.message = failure.message.replacen(
            "the proxy does not know this cluster",
            &format!("the proxy does not know this cluster ({name})"),
            1,
        );
    }
    failure
}

/// Runs the whole check against a client.
pub async fn check_cluster(name: &str, client: &kube::Client, timeout: Duration) -> CheckReport {
    let version = match within(timeout, client.apiserver_version()).await {
        Ok(info) => info.git_version,
        Err(failure) => return CheckReport::failed(name, name_cluster(failure, name)),
    };
    let mut report = CheckReport {
        cluster: name.to_string(),
        reachable: true,
        kubernetes_version: Some(version),
        node_count: None,
        kubevirt: None,
        can_install: None,
        failure: None,
    };
    let nodes: Api<Node> = Api::all(client.clone());
    match within(timeout, nodes.list_metadata(&ListParams::default())).await {
        Ok(list) => report.node_count = Some(list.items.len()),
        Err(failure) => tracing::debug!(code = %failure.code, "node count unavailable"),
    }
    report.kubevirt = kubevirt_status(client, timeout).await;
    report.can_install = may_create_crds(client, timeout).await;
    report
}

async fn kubevirt_status(client: &kube::Client, timeout: Duration) -> Option<KubevirtStatus> {
    let groups = within(timeout, client.list_api_groups()).await.ok()?;
    let group = groups.groups.iter().find(|g| g.name == "kubevirt.io");
    let Some(group) = group else {
        return Some(KubevirtStatus {
            installed: false,
            version: None,
        });
    };
    let version = group
        .preferred_version
        .as_ref()
        .map(|v| v.version.clone())
        .unwrap_or_else(|| "v1".into());
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kubevirt.io", &version, "KubeVirt"),
        "kubevirts",
    );
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let observed = match within(timeout, api.list(&ListParams::default())).await {
        Ok(list) => list.items.iter().find_map(|kv| {
            kv.data
                .get("status")?
                .get("observedKubeVirtVersion")?
                .as_str()
                .map(str::to_string)
        }),
        Err(_) => None,
    };
    Some(KubevirtStatus {
        installed: true,
        version: observed,
    })
}

async fn may_create_crds(client: &kube::Client, timeout: Duration) -> Option<bool> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some("apiextensions.k8s.io".into()),
                resource: Some("customresourcedefinitions".into()),
                verb: Some("create".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let answer = within(timeout, api.create(&PostParams::default(), &review))
        .await
        .ok()?;
    answer.status.map(|s| s.allowed)
}

/// Puts a kube error into plain words with a fix and a stable code, by the error's types (status
/// code, TLS error, I/O error kind, timeout) found along its `source()` chain, never by its text.
pub fn classify_kube_error(err: &kube::Error, timeout: Duration) -> CheckFailure {
    let failure = |code: &str, message: String| CheckFailure {
        code: code.to_string(),
        message,
    };
    if let kube::Error::Api(status) = err {
        return match status.code {
            401 => failure(
                "unauthorized",
                "the cluster rejected your credentials (401 Unauthorized): the token or certificate is wrong or expired; re-import the cluster with fresh credentials".into(),
            ),
            403 => failure(
                "forbidden",
                "the cluster knows you but denies access (403 Forbidden); ask the cluster admin for read access".into(),
            ),
            code => failure("api_error", format!("the cluster answered with an error ({code}): {}", status.message)),
        };
    }
    for cause in causes(err) {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return classify_tls(tls);
        }
    }
    for cause in causes(err) {
        let timed_out = cause.is::<tokio::time::error::Elapsed>()
            || cause
                .downcast_ref::<hyper::Error>()
                .is_some_and(hyper::Error::is_timeout)
            || cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
        if timed_out {
            return timeout_failure(timeout);
        }
    }
    for cause in causes(err) {
        let Some(io) = cause.downcast_ref::<std::io::Error>() else {
            continue;
        };
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                return failure(
                    "connection_refused",
                    "nothing is listening at the server address; check the address and port, and that the cluster is running".into(),
                );
            }
            std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => {
                return failure(
                    "unreachable",
                    format!(
                        "the server's network cannot be reached ({io}); check your network or VPN"
                    ),
                );
            }
            // A reverse proxy routing by SNI (the Spectro proxy's frp server) closes the
            // connection during the TLS handshake for a name it does not route.
            std::io::ErrorKind::UnexpectedEof => {
                return failure(PROXY_UNKNOWN_CLUSTER, PROXY_UNKNOWN_CLUSTER_FIX.into());
            }
            _ if is_lookup_failure(io) => {
                return failure(
                    "dns_failure",
                    "the server's host name could not be resolved (DNS); check the server address and your network or VPN".into(),
                );
            }
            _ => {}
        }
    }
    failure(
        "unreachable",
        format!("the cluster could not be reached: {err}; check the server address and network"),
    )
}

/// The error and its causes, looking inside `io::Error`s (whose `source()` skips the error they
/// wrap, such as a `rustls::Error` from the TLS handshake).
fn causes<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out: Vec<&'a (dyn StdError + 'static)> = Vec::new();
    let mut next = Some(err);
    while let Some(cause) = next {
        out.push(cause);
        next = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => cause.source(),
        };
    }
    out
}

/// A failed host name lookup: the standard library reports `getaddrinfo` failures with this
/// fixed text (there is no `ErrorKind` for them), which never contains the host name.
fn is_lookup_failure(io: &std::io::Error) -> bool {
    io.to_string()
        .starts_with("failed to lookup address information")
}

fn classify_tls(err: &rustls::Error) -> CheckFailure {
    use rustls::CertificateError as Cert;
    let failure = |code: &str, message: &str| CheckFailure {
        code: code.to_string(),
        message: message.to_string(),
    };
    match err {
        rustls::Error::InvalidCertificate(Cert::UnknownIssuer | Cert::BadSignature) => failure(
            "untrusted_certificate",
            "the server's certificate is not signed by the certificate authority saved for this cluster; if the cluster's CA changed, re-import its kubeconfig",
        ),
        rustls::Error::InvalidCertificate(
            Cert::NotValidForName | Cert::NotValidForNameContext { .. },
        ) => failure(
            "certificate_name_mismatch",
            "the server's certificate does not match its address; set tls-server-name in the kubeconfig to the name in the certificate and re-import",
        ),
        rustls::Error::InvalidCertificate(_) => failure(
            "invalid_certificate",
            "the server's certificate is invalid (expired or malformed); ask the cluster admin to renew it",
        ),
        other => CheckFailure {
            code: "unreachable".into(),
            message: format!(
                "the TLS handshake with the server failed ({other}); check that the address points at the cluster's API server"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    const T: Duration = Duration::from_secs(3);

    fn service(err: impl StdError + Send + Sync + 'static) -> kube::Error {
        kube::Error::Service(Box::new(err))
    }

    fn code(err: &kube::Error) -> String {
        classify_kube_error(err, T).code
    }

    #[test]
    fn tls_errors_inside_io_errors_are_found() {
        let tls = |cert| {
            service(io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(cert),
            ))
        };
        assert_eq!(
            code(&tls(rustls::CertificateError::UnknownIssuer)),
            "untrusted_certificate"
        );
        assert_eq!(
            code(&tls(rustls::CertificateError::NotValidForName)),
            "certificate_name_mismatch"
        );
        assert_eq!(
            code(&tls(rustls::CertificateError::Expired)),
            "invalid_certificate"
        );
    }

    #[test]
    fn io_kinds_and_timeouts_decide_not_words_in_messages() {
        let io = |kind, text: &str| service(io::Error::new(kind, text.to_string()));
        assert_eq!(
            code(&io(io::ErrorKind::ConnectionRefused, "401 expired")),
            "connection_refused"
        );
        assert_eq!(code(&io(io::ErrorKind::TimedOut, "401")), "timeout");
        // Words that used to decide: now only the types do.
        assert_eq!(
            code(&io(
                io::ErrorKind::Other,
                "unauthorized 401 expired timeout"
            )),
            "unreachable"
        );
        assert_eq!(
            code(&io(
                io::ErrorKind::Other,
                "failed to lookup address information: Name or service not known"
            )),
            "dns_failure"
        );
    }

    #[test]
    fn a_connection_closed_at_the_handshake_is_an_unknown_cluster_at_the_proxy() {
        let eof = service(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "tls handshake eof",
        ));
        let failure = name_cluster(classify_kube_error(&eof, T), "lab");
        assert_eq!(failure.code, PROXY_UNKNOWN_CLUSTER);
        assert!(
            failure
                .message
                .starts_with("the proxy does not know this cluster (lab)"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn status_codes_decide_api_errors() {
        let status = |code: u16| {
            kube::Error::Api(Box::new(
                kube::core::Status::failure("401 timeout", "x").with_code(code),
            ))
        };
        assert_eq!(code(&status(401)), "unauthorized");
        assert_eq!(code(&status(403)), "forbidden");
        assert_eq!(code(&status(500)), "api_error");
    }
}
