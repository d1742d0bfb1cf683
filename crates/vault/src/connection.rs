//! The per-cluster connection blob kept in the secret store, and the warnings shown with a cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sensitive::Sensitive;

/// Everything needed to reach one cluster. Stored as ONE JSON blob in the secret store, never on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterConnection {
    pub server: String,
    /// PEM bundle of the certificate authorities to trust (read at import, even if given by path).
    pub ca_pem: Option<String>,
    pub insecure_skip_tls_verify: bool,
    pub tls_server_name: Option<String>,
    pub proxy_url: Option<Sensitive<String>>,
    pub namespace: Option<String>,
    pub credentials: Credentials,
}

/// The user half of a kubeconfig context, with every file already read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Credentials {
    pub token: Option<Sensitive<String>>,
    pub client_certificate_pem: Option<Sensitive<String>>,
    pub client_key_pem: Option<Sensitive<String>>,
    pub username: Option<String>,
    pub password: Option<Sensitive<String>>,
    pub exec: Option<StoredExec>,
    pub auth_provider: Option<StoredAuthProvider>,
}

/// An exec credential plugin as imported. `command` is absolute when the kubeconfig gave a
/// relative path with a separator; a bare name is looked up on the login shell's PATH.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredExec {
    pub api_version: String,
    pub command: String,
    pub args: Vec<Sensitive<String>>,
    pub env: Vec<StoredEnvVar>,
    pub interactive_mode: InteractiveMode,
    pub provide_cluster_info: bool,
    pub install_hint: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEnvVar {
    pub name: String,
    pub value: Sensitive<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InteractiveMode {
    Never,
    IfAvailable,
    Always,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAuthProvider {
    pub name: String,
    pub config: Sensitive<BTreeMap<String, String>>,
}

/// How a cluster authenticates (non-secret summary for lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    None,
    Token,
    ClientCertificate,
    BasicAuth,
    Exec,
    AuthProvider,
}

impl Credentials {
    pub fn kind(&self) -> AuthKind {
        if self.exec.is_some() {
            AuthKind::Exec
        } else if self.auth_provider.is_some() {
            AuthKind::AuthProvider
        } else if self.client_certificate_pem.is_some() {
            AuthKind::ClientCertificate
        } else if self.token.is_some() {
            AuthKind::Token
        } else if self.password.is_some() {
            AuthKind::BasicAuth
        } else {
            AuthKind::None
        }
    }
}

/// Something about a saved cluster the user should see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterWarning {
    /// `insecure-skip-tls-verify: true`: the server's identity is not checked.
    InsecureSkipTlsVerify,
    /// The server URL is plain http: traffic and credentials are not encrypted.
    PlainHttp,
}

impl ClusterWarning {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InsecureSkipTlsVerify => "insecure_skip_tls_verify",
            Self::PlainHttp => "plain_http",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            Self::InsecureSkipTlsVerify => {
                "TLS verification is off (insecure-skip-tls-verify): anyone on the network path could impersonate this cluster; add the cluster's CA to the kubeconfig"
            }
            Self::PlainHttp => {
                "the server URL is plain http: credentials travel unencrypted; use https"
            }
        }
    }
}
