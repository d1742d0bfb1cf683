//! Field-by-field validation of one kubeconfig document (base64, PEM, URLs, required fields).

use std::collections::HashSet;

use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::import_error::ImportError;
use crate::kubeconfig::{ClusterFields, ExecConfig, Kubeconfig, UserFields};

/// Exec credential API versions this vault speaks.
pub const EXEC_API_VERSIONS: [&str; 2] = [
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
];

/// Proxy URL schemes the kube client can use.
pub const PROXY_SCHEMES: [&str; 3] = ["http", "https", "socks5"];

/// Returns the first problem in the document, naming its field.
pub fn check_document(config: &Kubeconfig) -> Result<(), ImportError> {
    let mut seen = HashSet::new();
    for (i, named) in config.clusters.iter().enumerate() {
        check_name(&format!("clusters[{i}].name"), &named.name, &mut seen)?;
        check_cluster(&format!("clusters[{i}].cluster"), &named.cluster)?;
    }
    let mut seen = HashSet::new();
    for (i, named) in config.users.iter().enumerate() {
        check_name(&format!("users[{i}].name"), &named.name, &mut seen)?;
        check_user(&format!("users[{i}].user"), &named.user)?;
    }
    let mut seen = HashSet::new();
    for (i, named) in config.contexts.iter().enumerate() {
        check_name(&format!("contexts[{i}].name"), &named.name, &mut seen)?;
        if named.context.cluster.trim().is_empty() {
            return Err(ImportError::invalid(
                format!("contexts[{i}].context.cluster"),
                "missing: name the cluster this context uses",
            ));
        }
    }
    Ok(())
}

/// A non-empty value of an optional string field.
pub fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

fn check_name(field: &str, name: &str, seen: &mut HashSet<String>) -> Result<(), ImportError> {
    if name.trim().is_empty() {
        return Err(ImportError::invalid(
            field,
            "missing: every entry needs a name",
        ));
    }
    if !seen.insert(name.to_string()) {
        return Err(ImportError::invalid(
            field,
            format!("duplicate name \"{name}\"; names must be unique"),
        ));
    }
    Ok(())
}

fn check_cluster(base: &str, cluster: &ClusterFields) -> Result<(), ImportError> {
    let server = present(&cluster.server).ok_or_else(|| {
        ImportError::invalid(
            format!("{base}.server"),
            "missing: set the API server URL (https://host:port)",
        )
    })?;
    check_server_url(&format!("{base}.server"), server)?;
    if present(&cluster.certificate_authority).is_some()
        && present(&cluster.certificate_authority_data).is_some()
    {
        return Err(ImportError::invalid(
            format!("{base}.certificate-authority-data"),
            "both certificate-authority and certificate-authority-data are set; keep one",
        ));
    }
    if let Some(data) = present(&cluster.certificate_authority_data) {
        let field = format!("{base}.certificate-authority-data");
        certificates_from_pem(&field, &decode_base64(&field, data)?)?;
        if cluster.insecure_skip_tls_verify == Some(true) {
            return Err(ImportError::invalid(
                format!("{base}.insecure-skip-tls-verify"),
                "cannot be combined with a certificate authority; remove one of them",
            ));
        }
    }
    if let Some(proxy) = cluster
        .proxy_url
        .as_ref()
        .map(|p| p.expose().as_str())
        .filter(|p| !p.is_empty())
    {
        check_proxy_url(&format!("{base}.proxy-url"), proxy)?;
    }
    if matches!(&cluster.tls_server_name, Some(name) if name.trim().is_empty()) {
        return Err(ImportError::invalid(
            format!("{base}.tls-server-name"),
            "empty: remove it or set a host name",
        ));
    }
    Ok(())
}

fn check_server_url(field: &str, server: &str) -> Result<(), ImportError> {
    let uri: http::Uri = server
        .parse()
        .map_err(|_| ImportError::invalid(field, "not a URL: use https://host:port"))?;
    match uri.scheme_str() {
        Some("https") | Some("http") => {}
        _ => {
            return Err(ImportError::invalid(
                field,
                "must start with https:// (or http://)",
            ));
        }
    }
    let authority = uri
        .authority()
        .ok_or_else(|| ImportError::invalid(field, "has no host"))?;
    if authority.as_str().contains('@') {
        return Err(ImportError::invalid(
            field,
            "must not carry credentials; move them to the user entry",
        ));
    }
    if authority.host().is_empty() {
        return Err(ImportError::invalid(field, "has no host"));
    }
    Ok(())
}

fn check_proxy_url(field: &str, proxy: &str) -> Result<(), ImportError> {
    let uri: http::Uri = proxy.parse().map_err(|_| {
        ImportError::invalid(
            field,
            "not a URL: use http://, https:// or socks5://host:port",
        )
    })?;
    let scheme = uri.scheme_str().unwrap_or("");
    if !PROXY_SCHEMES.contains(&scheme) {
        return Err(ImportError::invalid(
            field,
            "unsupported scheme: use http://, https:// or socks5://",
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(ImportError::invalid(field, "has no host"));
    }
    Ok(())
}

fn check_user(base: &str, user: &UserFields) -> Result<(), ImportError> {
    let cert_data = user
        .client_certificate_data
        .as_ref()
        .map(|d| d.expose().as_str())
        .filter(|d| !d.is_empty());
    let key_data = user
        .client_key_data
        .as_ref()
        .map(|d| d.expose().as_str())
        .filter(|d| !d.is_empty());
    let has_cert = cert_data.is_some() || present(&user.client_certificate).is_some();
    let has_key = key_data.is_some() || present(&user.client_key).is_some();
    if cert_data.is_some() && present(&user.client_certificate).is_some() {
        return Err(ImportError::invalid(
            format!("{base}.client-certificate-data"),
            "both client-certificate and client-certificate-data are set; keep one",
        ));
    }
    if key_data.is_some() && present(&user.client_key).is_some() {
        return Err(ImportError::invalid(
            format!("{base}.client-key-data"),
            "both client-key and client-key-data are set; keep one",
        ));
    }
    if let Some(data) = cert_data {
        let field = format!("{base}.client-certificate-data");
        certificates_from_pem(&field, &decode_base64(&field, data)?)?;
    }
    if let Some(data) = key_data {
        let field = format!("{base}.client-key-data");
        private_key_from_pem(&field, &decode_base64(&field, data)?)?;
    }
    if has_cert && !has_key {
        return Err(ImportError::invalid(
            format!("{base}.client-key-data"),
            "missing: a client certificate needs its key",
        ));
    }
    if has_key && !has_cert {
        return Err(ImportError::invalid(
            format!("{base}.client-certificate-data"),
            "missing: a client key needs its certificate",
        ));
    }
    let has_password = user
        .password
        .as_ref()
        .is_some_and(|p| !p.expose().is_empty());
    if present(&user.username).is_some() && !has_password {
        return Err(ImportError::invalid(
            format!("{base}.password"),
            "missing: basic auth needs username and password",
        ));
    }
    if has_password && present(&user.username).is_none() {
        return Err(ImportError::invalid(
            format!("{base}.username"),
            "missing: basic auth needs username and password",
        ));
    }
    if user.exec.is_some() && user.auth_provider.is_some() {
        return Err(ImportError::invalid(
            format!("{base}.auth-provider"),
            "cannot be combined with exec; keep one",
        ));
    }
    if let Some(exec) = &user.exec {
        check_exec(&format!("{base}.exec"), exec)?;
    }
    if let Some(provider) = &user.auth_provider
        && provider.name.trim().is_empty()
    {
        return Err(ImportError::invalid(
            format!("{base}.auth-provider.name"),
            "missing",
        ));
    }
    Ok(())
}

fn check_exec(base: &str, exec: &ExecConfig) -> Result<(), ImportError> {
    if present(&exec.command).is_none() {
        return Err(ImportError::invalid(
            format!("{base}.command"),
            "missing: name the credential plugin to run",
        ));
    }
    let api_version = present(&exec.api_version).ok_or_else(|| {
        ImportError::invalid(
            format!("{base}.apiVersion"),
            "missing: use client.authentication.k8s.io/v1",
        )
    })?;
    if !EXEC_API_VERSIONS.contains(&api_version) {
        return Err(ImportError::invalid(
            format!("{base}.apiVersion"),
            format!(
                "unsupported \"{api_version}\": use client.authentication.k8s.io/v1 or v1beta1"
            ),
        ));
    }
    match exec.interactive_mode.as_deref() {
        None | Some("Never") | Some("IfAvailable") | Some("Always") => {}
        Some(other) => {
            return Err(ImportError::invalid(
                format!("{base}.interactiveMode"),
                format!("unknown value \"{other}\": use Never, IfAvailable or Always"),
            ));
        }
    }
    for (j, var) in exec.env.iter().enumerate() {
        if var.name.trim().is_empty() {
            return Err(ImportError::invalid(
                format!("{base}.env[{j}].name"),
                "missing",
            ));
        }
    }
    Ok(())
}

/// Decodes a `*-data` field (standard base64, whitespace tolerated).
pub fn decode_base64(field: &str, data: &str) -> Result<Vec<u8>, ImportError> {
    let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| ImportError::invalid(field, "not base64: paste the base64 of the PEM file"))
}

/// Parses PEM certificates; at least one must be present.
pub fn certificates_from_pem(
    field: &str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, ImportError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|_| ImportError::invalid(field, "not a PEM certificate"))?;
    if certs.is_empty() {
        return Err(ImportError::invalid(
            field,
            "no PEM certificate found (expected -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certs)
}

/// Checks that the bytes hold a PEM private key.
pub fn private_key_from_pem(field: &str, pem: &[u8]) -> Result<(), ImportError> {
    PrivateKeyDer::from_pem_slice(pem).map(|_| ()).map_err(|_| {
        ImportError::invalid(
            field,
            "no PEM private key found (expected -----BEGIN ... PRIVATE KEY-----)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubeconfig::parse_kubeconfig;

    fn field_of(yaml: &str) -> String {
        let cfg = parse_kubeconfig(yaml).unwrap();
        check_document(&cfg)
            .unwrap_err()
            .field()
            .unwrap()
            .to_string()
    }

    #[test]
    fn bad_base64_names_the_field() {
        let yaml = "users:\n- name: a\n  user: {}\n- name: b\n  user:\n    client-certificate-data: '!!!'\n    client-key-data: 'x'\n";
        assert_eq!(field_of(yaml), "users[1].user.client-certificate-data");
    }

    #[test]
    fn missing_server_and_bad_scheme_are_named() {
        assert_eq!(
            field_of("clusters:\n- name: a\n  cluster: {}\n"),
            "clusters[0].cluster.server"
        );
        assert_eq!(
            field_of("clusters:\n- name: a\n  cluster: {server: 'ftp://x'}\n"),
            "clusters[0].cluster.server"
        );
        assert_eq!(
            field_of(
                "clusters:\n- name: a\n  cluster: {server: 'https://x', proxy-url: 'gopher://p'}\n"
            ),
            "clusters[0].cluster.proxy-url"
        );
    }

    #[test]
    fn exec_without_api_version_and_bad_mode_are_named() {
        assert_eq!(
            field_of("users:\n- name: a\n  user:\n    exec: {command: x}\n"),
            "users[0].user.exec.apiVersion"
        );
        assert_eq!(
            field_of(
                "users:\n- name: a\n  user:\n    exec: {command: x, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Sometimes}\n"
            ),
            "users[0].user.exec.interactiveMode"
        );
    }

    #[test]
    fn basic_auth_needs_both_halves() {
        assert_eq!(
            field_of("users:\n- name: a\n  user: {username: bob}\n"),
            "users[0].user.password"
        );
    }

    #[test]
    fn duplicate_names_are_rejected() {
        assert_eq!(
            field_of(
                "contexts:\n- name: a\n  context: {cluster: c}\n- name: a\n  context: {cluster: c}\n"
            ),
            "contexts[1].name"
        );
    }
}
