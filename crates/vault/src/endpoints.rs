//! A saved cluster's endpoints: `direct` (the imported server) and `proxied` (through the
//! Spectro-style reverse proxy: `https://cluster-<clusterUid>.<proxy host>:<port>`, routed by SNI
//! to the API server with TLS passed through), and which one is in use. Nothing here is secret
//! (a CA certificate is public; a proxy-url carrying a password is refused), so it lives in the
//! index; the credentials stay in the connection blob in the keyring, shared by both endpoints.

use serde::{Deserialize, Serialize};

use crate::connection::ClusterConnection;

/// Which endpoint a saved cluster's clients use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    #[default]
    Direct,
    Proxied,
}

impl EndpointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Proxied => "proxied",
        }
    }
}

/// The proxied endpoint as saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxiedEndpoint {
    /// `https://cluster-<uid>.<proxy host>:<port>`.
    pub server: String,
    /// PEM of the CA that signed the API server's certificate (the proxy does not terminate TLS,
    /// so it is the cluster's own CA); `None` trusts the direct endpoint's CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// Dial the proxy at `server` but verify (and send as SNI) this name, e.g. when the proxy
    /// host name does not resolve from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    /// An HTTP CONNECT proxy to get out (two hops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
}

/// What "Add proxied access" asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxiedAccess {
    /// The frp server's host, e.g. `proxy.example.com` (the pack's `server.address`).
    pub proxy_host: String,
    /// The port the proxy serves HTTPS on (443 by default).
    pub port: u16,
    /// The cluster's id (the pack's `clusterId`): the host is `cluster-<id>.<proxy host>`.
    pub cluster_uid: String,
    /// Dial `address` (host or host:port) instead of the proxied host name, verifying that name
    /// (sent as `tls-server-name`); `None` dials the proxied host name itself.
    pub address: Option<String>,
    pub ca_pem: Option<String>,
    pub proxy_url: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("{field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
}

impl EndpointError {
    pub fn code(&self) -> &'static str {
        "invalid_endpoint"
    }

    pub fn field(&self) -> &'static str {
        match self {
            Self::Invalid { field, .. } => field,
        }
    }
}

fn invalid(field: &'static str, problem: impl Into<String>) -> EndpointError {
    EndpointError::Invalid {
        field,
        problem: problem.into(),
    }
}

/// A DNS label or dotted name: letters, digits, `-` and `.`, not starting or ending with `-`/`.`.
fn check_host(field: &'static str, value: &str) -> Result<String, EndpointError> {
    let value = value.trim().trim_end_matches('.').to_ascii_lowercase();
    if value.is_empty() {
        return Err(invalid(field, "empty; give the proxy's host name"));
    }
    let ok = value.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if !ok || value.contains("://") {
        return Err(invalid(
            field,
            format!(
                "\"{value}\" is not a host name (letters, digits, '-' and '.'; no scheme or port)"
            ),
        ));
    }
    Ok(value)
}

impl ProxiedAccess {
    /// The proxied host name, `cluster-<uid>.<proxy host>`.
    pub fn host_name(&self) -> Result<String, EndpointError> {
        let host = check_host("proxy_host", &self.proxy_host)?;
        let uid = self.cluster_uid.trim().to_ascii_lowercase();
        if uid.is_empty() {
            return Err(invalid(
                "cluster_uid",
                "empty; give the cluster's id (the spectro-proxy pack's clusterId)",
            ));
        }
        check_host("cluster_uid", &uid)?;
        if uid.contains('.') {
            return Err(invalid("cluster_uid", "must be one DNS label (no '.')"));
        }
        Ok(format!("cluster-{uid}.{host}"))
    }

    /// The endpoint to save.
    pub fn endpoint(&self) -> Result<ProxiedEndpoint, EndpointError> {
        let name = self.host_name()?;
        if self.port == 0 {
            return Err(invalid(
                "port",
                "must be 1-65535 (the proxy's HTTPS port, usually 443)",
            ));
        }
        if let Some(ca) = &self.ca_pem
            && !ca.contains("-----BEGIN CERTIFICATE-----")
        {
            return Err(invalid(
                "ca",
                "not a PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        }
        let proxy_url = match self.proxy_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => Some(check_proxy_url(url)?),
        };
        let (server, tls_server_name) = match self.address.as_deref().map(str::trim) {
            None | Some("") => (format!("https://{name}:{}", self.port), None),
            Some(address) => {
                let with_port = if address
                    .rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                {
                    address.to_string()
                } else {
                    format!("{address}:{}", self.port)
                };
                let server = format!("https://{with_port}");
                server
                    .parse::<http::Uri>()
                    .map_err(|e| invalid("address", format!("\"{address}\": {e}")))?;
                (server, Some(name))
            }
        };
        Ok(ProxiedEndpoint {
            server,
            ca_pem: self.ca_pem.clone(),
            tls_server_name,
            proxy_url,
        })
    }
}

/// What an installed profile (YAML, as the cluster's VMDeck inventory keeps it) says about the
/// spectro-proxy pack: its `server.address`, `server.port` and `clusterId`, each when set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackProxyValues {
    pub proxy_host: Option<String>,
    pub port: Option<u16>,
    pub cluster_uid: Option<String>,
}

impl PackProxyValues {
    /// Reads them from a profile; a profile without the pack (or not YAML) gives none.
    pub fn from_profile(profile_yaml: &str) -> Self {
        let Ok(profile) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(profile_yaml) else {
            return Self::default();
        };
        let Some(values) = profile["packs"].as_sequence().and_then(|packs| {
            packs
                .iter()
                .find(|pack| pack["name"].as_str() == Some("spectro-proxy"))
                .map(|pack| pack["values"].clone())
        }) else {
            return Self::default();
        };
        let text = |v: &serde_yaml_ng::Value| {
            v.as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        Self {
            proxy_host: text(&values["server"]["address"]),
            port: values["server"]["port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok()),
            cluster_uid: text(&values["clusterId"]),
        }
    }
}

/// An `http://` or `https://` proxy without credentials (the index is not secret).
fn check_proxy_url(url: &str) -> Result<String, EndpointError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| invalid("proxy_url", format!("\"{url}\" is not a URL: {e}")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(invalid("proxy_url", "must start with http:// or https://"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(invalid(
            "proxy_url",
            "a proxy-url with a user or password is not supported for proxied access (it would be saved in plain text); use a proxy without credentials",
        ));
    }
    Ok(url.to_string())
}

/// The connection through `endpoint`: its server, CA (or the direct one's), server name and
/// proxy, with the same credentials.
pub fn through(mut connection: ClusterConnection, endpoint: &ProxiedEndpoint) -> ClusterConnection {
    connection.server = endpoint.server.clone();
    if let Some(ca) = &endpoint.ca_pem {
        connection.ca_pem = Some(ca.clone());
    }
    connection.tls_server_name = endpoint.tls_server_name.clone();
    connection.proxy_url = endpoint
        .proxy_url
        .clone()
        .map(crate::sensitive::Sensitive::new);
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> ProxiedAccess {
        ProxiedAccess {
            proxy_host: "Proxy.Example.com".into(),
            port: 443,
            cluster_uid: "5f3a9c0e".into(),
            ..ProxiedAccess::default()
        }
    }

    #[test]
    fn the_server_is_the_cluster_name_under_the_proxy_host() {
        let endpoint = access().endpoint().unwrap();
        assert_eq!(
            endpoint.server,
            "https://cluster-5f3a9c0e.proxy.example.com:443"
        );
        assert_eq!(endpoint.tls_server_name, None);
    }

    #[test]
    fn an_address_is_dialled_and_the_proxied_name_verified() {
        let endpoint = ProxiedAccess {
            address: Some("127.0.0.1:8443".into()),
            proxy_url: Some("http://127.0.0.1:3128".into()),
            ..access()
        }
        .endpoint()
        .unwrap();
        assert_eq!(endpoint.server, "https://127.0.0.1:8443");
        assert_eq!(
            endpoint.tls_server_name.as_deref(),
            Some("cluster-5f3a9c0e.proxy.example.com")
        );
        assert_eq!(endpoint.proxy_url.as_deref(), Some("http://127.0.0.1:3128"));
    }

    #[test]
    fn pack_values_are_read_from_an_installed_profile() {
        let profile = "packs:\n- name: kubevirt\n- name: spectro-proxy\n  values:\n    clusterId: c-42\n    server:\n      address: proxy.example.com\n      port: 8443\n";
        assert_eq!(
            PackProxyValues::from_profile(profile),
            PackProxyValues {
                proxy_host: Some("proxy.example.com".into()),
                port: Some(8443),
                cluster_uid: Some("c-42".into()),
            }
        );
        assert_eq!(
            PackProxyValues::from_profile("packs:\n- name: kubevirt\n"),
            PackProxyValues::default()
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let field = |access: ProxiedAccess| access.endpoint().unwrap_err().field();
        assert_eq!(
            field(ProxiedAccess {
                proxy_host: "https://x".into(),
                ..access()
            }),
            "proxy_host"
        );
        assert_eq!(
            field(ProxiedAccess {
                cluster_uid: "".into(),
                ..access()
            }),
            "cluster_uid"
        );
        assert_eq!(
            field(ProxiedAccess {
                cluster_uid: "a.b".into(),
                ..access()
            }),
            "cluster_uid"
        );
        assert_eq!(
            field(ProxiedAccess {
                port: 0,
                ..access()
            }),
            "port"
        );
        assert_eq!(
            field(ProxiedAccess {
                proxy_url: Some("http://u:secret@p:3128".into()),
                ..access()
            }),
            "proxy_url"
        );
        assert_eq!(
            field(ProxiedAccess {
                ca_pem: Some("nope".into()),
                ..access()
            }),
            "ca"
        );
    }
}
