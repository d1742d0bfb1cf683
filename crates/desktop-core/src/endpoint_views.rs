//! What the UI sends and gets for a cluster's endpoints: direct and proxied (the Spectro-style
//! reverse proxy), which answers, which is in use; adding proxied access; switching.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use vmdeck_vault::EndpointKind;

use crate::ui_error::UiError;

/// One of a cluster's two endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "EndpointKindView.ts")]
pub enum EndpointKindView {
    Direct,
    Proxied,
}

impl From<EndpointKind> for EndpointKindView {
    fn from(kind: EndpointKind) -> Self {
        match kind {
            EndpointKind::Direct => Self::Direct,
            EndpointKind::Proxied => Self::Proxied,
        }
    }
}

impl From<EndpointKindView> for EndpointKind {
    fn from(kind: EndpointKindView) -> Self {
        match kind {
            EndpointKindView::Direct => Self::Direct,
            EndpointKindView::Proxied => Self::Proxied,
        }
    }
}

/// An endpoint as checked just now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "EndpointView.ts")]
pub struct EndpointView {
    pub kind: EndpointKindView,
    pub server: String,
    pub tls_server_name: Option<String>,
    pub proxy_url: Option<String>,
    /// Did it answer the connection check?
    pub answers: bool,
    pub in_use: bool,
    /// Why it did not answer, with the fix.
    pub failure: Option<UiError>,
}

/// A cluster's endpoints (the proxied one only when added).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "EndpointsView.ts")]
pub struct EndpointsView {
    pub cluster: String,
    pub in_use: EndpointKindView,
    pub endpoints: Vec<EndpointView>,
}

/// "Add proxied access": what is left out comes from the installed spectro-proxy values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "AddProxiedInput.ts")]
pub struct AddProxiedInput {
    pub cluster: String,
    /// The frp server's host (the pack's server.address).
    pub proxy_host: Option<String>,
    /// The proxy's HTTPS port (default: the pack's server.port, else 443).
    pub port: Option<u16>,
    /// The cluster's id (the pack's clusterId).
    pub cluster_uid: Option<String>,
    /// Dial this host[:port] and verify the proxied name as tls-server-name.
    pub address: Option<String>,
    /// PEM of the CA to trust (default: the direct endpoint's).
    pub ca_pem: Option<String>,
    /// An HTTP CONNECT proxy to go through (no credentials).
    pub proxy_url: Option<String>,
    /// Switch to the proxied endpoint once saved.
    pub use_it: bool,
}

/// Switch the endpoint a cluster uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "UseEndpointInput.ts")]
pub struct UseEndpointInput {
    pub cluster: String,
    pub endpoint: EndpointKindView,
}
