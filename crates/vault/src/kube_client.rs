//! Builds a `kube::Client` from a stored connection (CA, TLS name, proxy, token/cert/basic/exec auth).

use std::time::Duration;

use base64::Engine;
use kube::config::AuthInfo;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use secrecy::SecretString;

use crate::connection::ClusterConnection;
use crate::exec_credentials::{ExecCredentialSource, ExecError};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the saved server URL \"{server}\" is not valid; re-import the cluster")]
    BadServer { server: String },
    #[error(
        "the saved proxy-url is not valid; re-import the cluster with a proxy-url like http://host:port"
    )]
    BadProxy,
    #[error("the saved certificate authority is not valid PEM; re-import the cluster")]
    BadCa,
    #[error(
        "auth-provider \"{name}\" is not supported yet; switch the kubeconfig user to an exec plugin (e.g. kubelogin)"
    )]
    AuthProviderUnsupported { name: String },
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("cannot set up the connection: {0}")]
    Setup(String),
}

impl ClientError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadServer { .. } => "stored_server_invalid",
            Self::BadProxy => "stored_proxy_invalid",
            Self::BadCa => "stored_ca_invalid",
            Self::AuthProviderUnsupported { .. } => "auth_provider_unsupported",
            Self::Exec(e) => e.code(),
            Self::Setup(_) => "client_setup_failed",
        }
    }
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The `kube::Config` for a connection, with `timeout` as connect/read/write timeout. Exec
/// credentials are fetched (or taken from the cache) now; the returned expiry, if any, is when
/// the client must be rebuilt.
pub async fn kube_config(
    connection: &ClusterConnection,
    exec: Option<&ExecCredentialSource>,
    timeout: Duration,
) -> Result<(kube::Config, Option<jiff::Timestamp>), ClientError> {
    let uri: http::Uri = connection
        .server
        .parse()
        .map_err(|_| ClientError::BadServer {
            server: connection.server.clone(),
        })?;
    let mut config = kube::Config::new(uri);
    if let Some(pem) = &connection.ca_pem {
        let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem.as_bytes())
            .map(|c| c.map(|c| c.as_ref().to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|_| ClientError::BadCa)?;
        if certs.is_empty() {
            return Err(ClientError::BadCa);
        }
        config.root_cert = Some(certs);
    }
    config.accept_invalid_certs = connection.insecure_skip_tls_verify;
    config.tls_server_name = connection.tls_server_name.clone();
    if let Some(proxy) = &connection.proxy_url {
        config.proxy_url = Some(proxy.expose().parse().map_err(|_| ClientError::BadProxy)?);
    }
    if let Some(ns) = &connection.namespace {
        config.default_namespace = ns.clone();
    }
    config.connect_timeout = Some(timeout);
    config.read_timeout = Some(timeout);
    config.write_timeout = Some(timeout);

    let creds = &connection.credentials;
    let mut auth = AuthInfo {
        username: creds.username.clone(),
        password: creds
            .password
            .as_ref()
            .map(|p| SecretString::from(p.expose().clone())),
        token: creds
            .token
            .as_ref()
            .map(|t| SecretString::from(t.expose().clone())),
        client_certificate_data: creds
            .client_certificate_pem
            .as_ref()
            .map(|c| b64(c.expose())),
        client_key_data: creds
            .client_key_pem
            .as_ref()
            .map(|k| SecretString::from(b64(k.expose()))),
        ..AuthInfo::default()
    };
    let mut expires = None;
    if let Some(source) = exec {
        let credential = source.credential().await?;
        expires = credential.expires;
        if let Some(token) = credential.token {
            auth.token = Some(SecretString::from(token.into_inner()));
        }
        if let (Some(cert), Some(key)) =
            (credential.client_certificate_pem, credential.client_key_pem)
        {
            auth.client_certificate_data = Some(b64(cert.expose()));
            auth.client_key_data = Some(SecretString::from(b64(key.expose())));
        }
    } else if let Some(provider) = &creds.auth_provider {
        let config_map = provider.config.expose();
        match config_map
            .get("access-token")
            .or_else(|| config_map.get("id-token"))
        {
            Some(token) => auth.token = Some(SecretString::from(token.clone())),
            None => {
                return Err(ClientError::AuthProviderUnsupported {
                    name: provider.name.clone(),
                });
            }
        }
    }
    config.auth_info = auth;
    Ok((config, expires))
}

/// A client for the connection. When exec credentials expire, [`kube::Client::valid_until`]
/// says so and the caller builds a new one (the exec source caches in between).
pub async fn build_client(
    connection: &ClusterConnection,
    exec: Option<&ExecCredentialSource>,
    timeout: Duration,
) -> Result<kube::Client, ClientError> {
    let (config, expires) = kube_config(connection, exec, timeout).await?;
    let builder = kube::client::ClientBuilder::try_from(config)
        .map_err(|e| ClientError::Setup(e.to_string()))?;
    Ok(builder.with_valid_until(expires).build())
}
