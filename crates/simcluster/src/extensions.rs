//! Extension points for simulated operators: admission hooks (what a webhook would say about a
//! write) and subresource handlers (aggregated APIs such as `subresources.kubevirt.io`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::Response;
use parking_lot::RwLock;
use serde_json::Value;

use crate::auth::Identity;
use crate::cluster::Cluster;
use crate::request::{Query, ResourceRequest};
use crate::resources::ResourceType;
use crate::status::ApiError;

/// What a write is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
}

/// A validating/mutating webhook, simulated.
pub trait AdmissionHook: Send + Sync {
    /// Called while the write is decided, under the store's lock: it must not read or write the
    /// store. May change `new`, return warnings (sent as `Warning` headers) or refuse.
    fn admit(
        &self,
        operation: Operation,
        rt: &ResourceType,
        old: Option<&Value>,
        new: &mut Value,
    ) -> Result<Vec<String>, ApiError>;

    /// Called before a delete, outside the lock (it may read the store). May refuse.
    fn admit_delete(
        &self,
        _cluster: &Cluster,
        _rt: &ResourceType,
        _object: &Value,
    ) -> Result<(), ApiError> {
        Ok(())
    }
}

/// One call of a subresource handler.
pub struct SubresourceCall {
    pub cluster: Arc<Cluster>,
    pub identity: Identity,
    pub request: ResourceRequest,
    pub query: Query,
    /// The request head, with hyper's upgrade handle in its extensions (for websockets).
    pub parts: http::request::Parts,
    pub body: Bytes,
}

pub type SubresourceHandler = Arc<
    dyn Fn(SubresourceCall) -> BoxFuture<'static, Result<Response<Body>, ApiError>> + Send + Sync,
>;

/// Registered hooks and handlers.
#[derive(Default)]
pub struct Extensions {
    admission: RwLock<Vec<Arc<dyn AdmissionHook>>>,
    subresources: RwLock<HashMap<(String, String, String), SubresourceHandler>>,
}

impl Extensions {
    pub fn add_admission(&self, hook: Arc<dyn AdmissionHook>) {
        self.admission.write().push(hook);
    }

    pub fn admission(&self) -> Vec<Arc<dyn AdmissionHook>> {
        self.admission.read().clone()
    }

    /// Serve `group` / `resource` / `subresource` (e.g. `subresources.kubevirt.io`, `virtualmachineinstances`, `vnc`).
    pub fn add_subresource(
        &self,
        group: &str,
        resource: &str,
        subresource: &str,
        handler: SubresourceHandler,
    ) {
        self.subresources
            .write()
            .insert((group.into(), resource.into(), subresource.into()), handler);
    }

    pub fn subresource(
        &self,
        group: &str,
        resource: &str,
        subresource: &str,
    ) -> Option<SubresourceHandler> {
        self.subresources
            .read()
            .get(&(
                group.to_string(),
                resource.to_string(),
                subresource.to_string(),
            ))
            .cloned()
    }

    /// Run every admission hook on a create or update; collects warnings.
    pub fn admit(
        &self,
        operation: Operation,
        rt: &ResourceType,
        old: Option<&Value>,
        new: &mut Value,
    ) -> Result<Vec<String>, ApiError> {
        let mut warnings = Vec::new();
        for hook in self.admission.read().iter() {
            warnings.extend(hook.admit(operation, rt, old, new)?);
        }
        Ok(warnings)
    }
}
