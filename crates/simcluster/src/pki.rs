//! The simulated cluster's credentials: its own CA, a serving certificate, the admin bearer
//! token and the viewer's client certificate; and the rustls server configuration built from them.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use x509_parser::extensions::GeneralName;

/// Everything that authenticates the cluster and its two users.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Pki {
    pub ca_cert_pem: String,
    pub ca_key_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub viewer_cert_pem: String,
    pub viewer_key_pem: String,
    pub admin_token: String,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("ca_cert_pem", &self.ca_cert_pem)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("loading certificates: {0}")]
    Load(String),
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// The user name and group of the read-only client certificate.
pub const VIEWER_USER: &str = "viewer";
pub const VIEWER_GROUP: &str = "vmdeck:viewers";

impl Pki {
    /// New CA, serving certificate for `hosts` (names or IPs), admin token and viewer certificate.
    pub fn generate(hosts: &[String]) -> Result<Self, PkiError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "simcluster-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let (server_cert_pem, server_key_pem) = serving_certificate(hosts, &issuer)?;

        let viewer_key = KeyPair::generate()?;
        let mut viewer_params = CertificateParams::new(Vec::<String>::new())?;
        viewer_params
            .distinguished_name
            .push(DnType::CommonName, VIEWER_USER);
        viewer_params
            .distinguished_name
            .push(DnType::OrganizationName, VIEWER_GROUP);
        viewer_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let viewer_cert = viewer_params.signed_by(&viewer_key, &issuer)?;

        let mut token_bytes = [0u8; 24];
        rand::fill(&mut token_bytes);
        Ok(Self {
            ca_cert_pem: ca_cert.pem(),
            ca_key_pem: issuer.key().serialize_pem(),
            server_cert_pem,
            server_key_pem,
            viewer_cert_pem: viewer_cert.pem(),
            viewer_key_pem: viewer_key.serialize_pem(),
            admin_token: format!("simcluster-admin-{}", hex::encode(token_bytes)),
        })
    }

    /// The names (DNS names lowercased, IPs in their usual form) the serving certificate carries.
    pub fn server_names(&self) -> Result<BTreeSet<String>, PkiError> {
        let der = CertificateDer::from_pem_slice(self.server_cert_pem.as_bytes())
            .map_err(|e| PkiError::Load(e.to_string()))?;
        let (_, cert) =
            x509_parser::parse_x509_certificate(&der).map_err(|e| PkiError::Load(e.to_string()))?;
        let mut names = BTreeSet::new();
        if let Ok(Some(sans)) = cert.subject_alternative_name() {
            for name in &sans.value.general_names {
                match name {
                    GeneralName::DNSName(dns) => {
                        names.insert(dns.to_ascii_lowercase());
                    }
                    GeneralName::IPAddress(bytes) => {
                        if let Some(ip) = ip_from_bytes(bytes) {
                            names.insert(ip.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(names)
    }

    /// Make the serving certificate carry exactly `hosts`: when its names differ (e.g. a state
    /// file saved before `--tls-san` was given), issue a new one from the same CA. Returns whether
    /// it did; the CA, token and viewer certificate stay, so saved kubeconfigs keep working.
    pub fn ensure_server_names(&mut self, hosts: &[String]) -> Result<bool, PkiError> {
        if self.server_names()? == normalized_names(hosts) {
            return Ok(false);
        }
        let ca_key = KeyPair::from_pem(&self.ca_key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&self.ca_cert_pem, ca_key)?;
        let (cert, key) = serving_certificate(hosts, &issuer)?;
        self.server_cert_pem = cert;
        self.server_key_pem = key;
        Ok(true)
    }

    /// The TLS server configuration: our serving certificate, ALPN h2 and http/1.1, and client
    /// certificates optional (bearer tokens work without one) but verified against our CA when sent.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, PkiError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = vec![
            CertificateDer::from_pem_slice(self.server_cert_pem.as_bytes())
                .map_err(|e| PkiError::Load(e.to_string()))?,
        ];
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes())
            .map_err(|e| PkiError::Load(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(
            CertificateDer::from_pem_slice(self.ca_cert_pem.as_bytes())
                .map_err(|e| PkiError::Load(e.to_string()))?,
        )?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()
        .map_err(|e| PkiError::Load(e.to_string()))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A serving certificate (PEM, key PEM) for `hosts`, signed by `issuer`.
fn serving_certificate(
    hosts: &[String],
    issuer: &Issuer<'_, KeyPair>,
) -> Result<(String, String), PkiError> {
    let server_key = KeyPair::generate()?;
    let mut server_params = CertificateParams::new(hosts.to_vec())?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, issuer)?;
    Ok((server_cert.pem(), server_key.serialize_pem()))
}

/// `hosts` as `server_names` reports them.
fn normalized_names(hosts: &[String]) -> BTreeSet<String> {
    hosts
        .iter()
        .map(|host| match host.parse::<IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => host.to_ascii_lowercase(),
        })
        .collect()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

/// The user (CN) and groups (O) of a verified client certificate.
pub fn certificate_identity(der: &[u8]) -> Option<(String, Vec<String>)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let user = subject
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(String::from))
        .collect();
    Some((user, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_certificate_carries_user_and_group() {
        let pki = Pki::generate(&["127.0.0.1".into(), "localhost".into()]).unwrap();
        let der = CertificateDer::from_pem_slice(pki.viewer_cert_pem.as_bytes()).unwrap();
        assert_eq!(
            certificate_identity(&der),
            Some((VIEWER_USER.to_string(), vec![VIEWER_GROUP.to_string()]))
        );
        assert!(pki.server_config().is_ok());
        assert!(
            format!("{pki:?}").find(&pki.admin_token).is_none(),
            "Debug must not print the token"
        );
    }
}
