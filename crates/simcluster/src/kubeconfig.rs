//! The kubeconfig simcluster writes: its CA, and the `admin` (token) and `viewer` (client
//! certificate) users with one context each.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::pki::Pki;

/// The kubeconfig YAML for a server at `url`.
pub fn render(url: &str, pki: &Pki) -> String {
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "simcluster", "cluster": {
            "server": url,
            "certificate-authority-data": STANDARD.encode(&pki.ca_cert_pem),
        }}],
        "users": [
            {"name": "admin", "user": {"token": pki.admin_token}},
            {"name": "viewer", "user": {
                "client-certificate-data": STANDARD.encode(&pki.viewer_cert_pem),
                "client-key-data": STANDARD.encode(&pki.viewer_key_pem),
            }},
        ],
        "contexts": [
            {"name": "admin", "context": {"cluster": "simcluster", "user": "admin", "namespace": "default"}},
            {"name": "viewer", "context": {"cluster": "simcluster", "user": "viewer", "namespace": "default"}},
        ],
        "current-context": "admin",
        "preferences": {},
    });
    serde_yaml_ng::to_string(&config).unwrap_or_default()
}
