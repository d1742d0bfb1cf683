//! A read-only TLS handshake: dial an address, say a host name by SNI, and read the names (SANs)
//! of the certificate the other end presents. Nothing is sent after the handshake. The
//! certificate is not verified here (its names are what the checks look at); a connection the
//! other end closes during the handshake (haproxy's or frps's answer to a name it does not route)
//! is told apart from other failures.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

/// Where a client connects, as its kubeconfig says: the server URL's host and port, and the
/// `tls-server-name` it verifies instead of the host, if any.
#[derive(Clone, PartialEq, Eq)]
pub struct TargetEndpoint {
    pub host: String,
    pub port: u16,
    pub tls_server_name: Option<String>,
    /// An HTTP proxy (`proxy-url`) the client reaches the server through (CONNECT).
    pub proxy_url: Option<String>,
}

/// The proxy URL is left out: it may carry credentials.
impl std::fmt::Debug for TargetEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetEndpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls_server_name", &self.tls_server_name)
            .field("proxy_url", &self.proxy_url.as_ref().map(|_| "(set)"))
            .finish()
    }
}

impl TargetEndpoint {
    /// From a server URL (`https://127.0.0.1:6443`; port 443 when none) and a `tls-server-name`.
    pub fn from_url(url: &str, tls_server_name: Option<String>) -> Option<TargetEndpoint> {
        let uri: http::Uri = url.parse().ok()?;
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
        Some(TargetEndpoint {
            host: host.to_string(),
            port: uri.port_u16().unwrap_or(443),
            tls_server_name: tls_server_name.filter(|name| !name.is_empty()),
            proxy_url: None,
        })
    }

    /// The same endpoint reached through the HTTP proxy `proxy_url` (when given).
    pub fn with_proxy_url(mut self, proxy_url: Option<String>) -> TargetEndpoint {
        self.proxy_url = proxy_url.filter(|url| !url.is_empty());
        self
    }

    /// The endpoint a kube-rs configuration connects to.
    pub fn from_config(config: &kube::Config) -> Option<TargetEndpoint> {
        Self::from_url(
            &config.cluster_url.to_string(),
            config.tls_server_name.clone(),
        )
        .map(|e| e.with_proxy_url(config.proxy_url.as_ref().map(ToString::to_string)))
    }

    /// The name the client verifies the certificate against.
    pub fn server_name(&self) -> &str {
        self.tls_server_name.as_deref().unwrap_or(&self.host)
    }

    /// `host:port` (`tls-server-name NAME` added when set).
    pub fn describe(&self) -> String {
        match &self.tls_server_name {
            Some(name) => format!("{}:{} (tls-server-name {name})", self.host, self.port),
            None => format!("{}:{}", self.host, self.port),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{host}:{port} did not accept TCP within {limit:?}")]
    ConnectTimeout {
        host: String,
        port: u16,
        limit: Duration,
    },
    #[error("{host}:{port} refuses TCP: {source}")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    /// The other end closed the connection (or said `unrecognized_name`) during the handshake.
    #[error("{host}:{port} closed the connection when asked for {name} ({detail})")]
    NameRefused {
        host: String,
        port: u16,
        name: String,
        detail: String,
    },
    #[error("{host}:{port} did not finish the TLS handshake for {name} within {limit:?}")]
    HandshakeTimeout {
        host: String,
        port: u16,
        name: String,
        limit: Duration,
    },
    #[error("{host}:{port}: TLS handshake for {name} failed: {detail}")]
    Handshake {
        host: String,
        port: u16,
        name: String,
        detail: String,
    },
    #[error("`{name}` is not a valid TLS server name")]
    BadName { name: String },
    #[error("the HTTP proxy {proxy} would not CONNECT to {host}:{port}: {detail}")]
    Proxy {
        proxy: String,
        host: String,
        port: u16,
        detail: String,
    },
}

/// A TCP connection to `host:port`: directly, or through the HTTP proxy `via` (CONNECT).
async fn dial(
    host: &str,
    port: u16,
    via: Option<&str>,
    limit: Duration,
) -> Result<TcpStream, ProbeError> {
    let Some(proxy) = via else {
        return tcp(host, port, limit).await;
    };
    let fail = |proxy: &str, detail: String| ProbeError::Proxy {
        proxy: proxy.to_string(),
        host: host.to_string(),
        port,
        detail,
    };
    let uri: http::Uri = proxy
        .parse()
        .map_err(|_| fail("(proxy-url)", "proxy-url is not a URL".into()))?;
    let (Some(proxy_host), Some("http")) = (uri.host(), uri.scheme_str()) else {
        return Err(fail(
            "(proxy-url)",
            "only http:// proxies are supported".into(),
        ));
    };
    let proxy_host = proxy_host.trim_start_matches('[').trim_end_matches(']');
    let proxy_port = uri.port_u16().unwrap_or(80);
    // Named without any credentials the URL may carry.
    let shown = format!("{proxy_host}:{proxy_port}");
    let mut stream = tcp(proxy_host, proxy_port, limit).await?;
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    let exchange = async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(request.as_bytes()).await?;
        // Byte by byte up to the blank line: nothing of the tunnel is read here.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
            head.push(stream.read_u8().await?);
        }
        Ok::<_, std::io::Error>(head)
    };
    let head = match timeout(limit, exchange).await {
        Ok(Ok(head)) => head,
        Ok(Err(error)) => return Err(fail(&shown, error.to_string())),
        Err(_) => return Err(fail(&shown, format!("no answer within {limit:?}"))),
    };
    let status = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(stream)
    } else {
        Err(fail(&shown, format!("it answered `{status}`")))
    }
}

async fn tcp(host: &str, port: u16, limit: Duration) -> Result<TcpStream, ProbeError> {
    match timeout(limit, TcpStream::connect((host, port))).await {
        Ok(Ok(tcp)) => Ok(tcp),
        Ok(Err(source)) => Err(ProbeError::Connect {
            host: host.to_string(),
            port,
            source,
        }),
        Err(_) => Err(ProbeError::ConnectTimeout {
            host: host.to_string(),
            port,
            limit,
        }),
    }
}

/// Accepts any certificate: the probe only reads its names and sends nothing afterwards.
#[derive(Debug)]
struct ReadOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for ReadOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn connector() -> Result<TlsConnector, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ReadOnly(provider)))
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The DNS names and IP addresses among a DER certificate's subject alternative names.
pub fn certificate_names(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            x509_parser::extensions::GeneralName::DNSName(dns) => Some(dns.to_string()),
            x509_parser::extensions::GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => <[u8; 4]>::try_from(*bytes)
                    .ok()
                    .map(|b| std::net::Ipv4Addr::from(b).to_string()),
                16 => <[u8; 16]>::try_from(*bytes)
                    .ok()
                    .map(|b| std::net::Ipv6Addr::from(b).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Whether a certificate name (`api.example.com`, `*.example.com`) covers `host`.
pub fn name_covers(pattern: &str, host: &str) -> bool {
    let (pattern, host) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

/// Dial `host:port` (through the HTTP proxy `via`, when given), say `name` by SNI and return the
/// names of the certificate presented; each of the connect and the handshake may take `limit`.
pub async fn peer_names(
    host: &str,
    port: u16,
    via: Option<&str>,
    name: &str,
    limit: Duration,
) -> Result<Vec<String>, ProbeError> {
    let server_name = ServerName::try_from(name.to_string()).map_err(|_| ProbeError::BadName {
        name: name.to_string(),
    })?;
    let tcp = dial(host, port, via, limit).await?;
    let connector = connector().map_err(|e| ProbeError::Handshake {
        host: host.to_string(),
        port,
        name: name.to_string(),
        detail: e.to_string(),
    })?;
    let stream = match timeout(limit, connector.connect(server_name, tcp)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            let closed = matches!(
                error.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            ) || error.to_string().contains("UnrecognisedName");
            let (host, name, detail) = (host.to_string(), name.to_string(), error.to_string());
            return Err(if closed {
                ProbeError::NameRefused {
                    host,
                    port,
                    name,
                    detail,
                }
            } else {
                ProbeError::Handshake {
                    host,
                    port,
                    name,
                    detail,
                }
            });
        }
        Err(_) => {
            return Err(ProbeError::HandshakeTimeout {
                host: host.to_string(),
                port,
                name: name.to_string(),
                limit,
            });
        }
    };
    let (_, session) = stream.get_ref();
    Ok(session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| certificate_names(leaf.as_ref()))
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_covers("cluster-a.proxy.test", "CLUSTER-A.proxy.test"));
        assert!(name_covers("*.proxy.test", "cluster-a.proxy.test"));
        assert!(!name_covers("*.proxy.test", "a.b.proxy.test"));
        assert!(!name_covers("*.proxy.test", "proxy.test"));
        assert!(!name_covers("cluster-b.proxy.test", "cluster-a.proxy.test"));
    }

    #[test]
    fn endpoints_come_from_the_server_url() {
        let endpoint = TargetEndpoint::from_url(
            "https://127.0.0.1:8443",
            Some("cluster-a.proxy.test".into()),
        )
        .unwrap();
        assert_eq!(endpoint.port, 8443);
        assert_eq!(endpoint.server_name(), "cluster-a.proxy.test");
        let proxied = endpoint.with_proxy_url(Some("http://user:secret@127.0.0.1:3128".into()));
        assert!(!format!("{proxied:?}").contains("secret"));
        let plain = TargetEndpoint::from_url("https://api.example.com", None).unwrap();
        assert_eq!((plain.port, plain.server_name()), (443, "api.example.com"));
    }

    /// A TLS server (rcgen certificate with `names`) on loopback: the probe reads those names.
    async fn serve(names: &[&str]) -> u16 {
        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.self_signed(&key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = acceptor.accept(tcp).await;
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn the_probe_reads_the_presented_names() {
        let port = serve(&["localhost", "cluster-a.proxy.test"]).await;
        let names = peer_names(
            "127.0.0.1",
            port,
            None,
            "cluster-a.proxy.test",
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(names, ["localhost", "cluster-a.proxy.test"]);
    }

    #[tokio::test]
    async fn a_close_during_the_handshake_is_a_refused_name() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                drop(tcp);
            }
        });
        let error = peer_names(
            "127.0.0.1",
            port,
            None,
            "cluster-x.proxy.test",
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, ProbeError::NameRefused { .. }), "{error}");
        assert!(
            error.to_string().contains("cluster-x.proxy.test"),
            "{error}"
        );
    }
}
