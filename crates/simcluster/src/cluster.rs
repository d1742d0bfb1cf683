//! The shared state of one simulated cluster: objects, served APIs, credentials and faults.

use std::sync::Arc;
use std::time::Duration;

use crate::faults::Faults;
use crate::objects::Objects;
use crate::pki::Pki;
use crate::registry::Registry;
use crate::store::Store;

/// Everything request handlers and controllers share.
pub struct Cluster {
    pub objects: Objects,
    pub pki: Pki,
    pub faults: Faults,
    /// `gitVersion` reported by `/version`.
    pub server_version: String,
    /// `host:port` the server listens on (for discovery's serverAddressByClientCIDRs).
    pub address: String,
    /// How often watches that asked for bookmarks get one.
    pub bookmark_interval: Duration,
}

impl Cluster {
    pub fn store(&self) -> &Arc<Store> {
        &self.objects.store
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.objects.registry
    }
}
