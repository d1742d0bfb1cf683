//! Finding the API resource (plural, scope) of each kind to apply, one discovery request per
//! group version and cached; a kind not yet served (its CRD just created) is looked up again.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::discovery::{Scope, pinned_kind};

use crate::error::InstallError;
use crate::object_key::ObjectKey;
use crate::retry::RetryPolicy;

/// A kind's resource and whether it lives in namespaces.
#[derive(Debug, Clone)]
pub struct Resource {
    pub api: ApiResource,
    pub namespaced: bool,
}

/// The kinds seen so far.
pub struct Resources {
    client: kube::Client,
    retry: RetryPolicy,
    known: Mutex<HashMap<GroupVersionKind, Resource>>,
}

impl Resources {
    pub fn new(client: kube::Client, retry: RetryPolicy) -> Self {
        Self {
            client,
            retry,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The resource of `key`'s kind; `KindNotServed` when the cluster does not serve it.
    pub async fn resolve(&self, key: &ObjectKey) -> Result<Resource, InstallError> {
        let gvk = key.gvk();
        if let Some(found) = self.known.lock().expect("not poisoned").get(&gvk) {
            return Ok(found.clone());
        }
        let looked_up = self
            .retry
            .run(|| pinned_kind(&self.client, &gvk), |_, _| {})
            .await;
        match looked_up {
            Ok((api, capabilities)) => {
                let resource = Resource {
                    api,
                    namespaced: capabilities.scope == Scope::Namespaced,
                };
                self.known
                    .lock()
                    .expect("not poisoned")
                    .insert(gvk, resource.clone());
                Ok(resource)
            }
            Err((kube::Error::Api(status), _)) if status.code == 404 => {
                Err(InstallError::KindNotServed {
                    object: key.clone(),
                })
            }
            // Discovery answers "not found" for a group that exists but lacks the kind.
            Err((kube::Error::Discovery(_), _)) => Err(InstallError::KindNotServed {
                object: key.clone(),
            }),
            Err((source, _)) => Err(InstallError::Read {
                what: format!("the API resource of {}", key.api_version),
                source: Box::new(source),
            }),
        }
    }

    /// The client-side handle for `key`'s object (in its namespace when the kind is namespaced).
    pub async fn api_for(&self, key: &ObjectKey) -> Result<Api<DynamicObject>, InstallError> {
        let resource = self.resolve(key).await?;
        Ok(match (&key.namespace, resource.namespaced) {
            (Some(namespace), true) => {
                Api::namespaced_with(self.client.clone(), namespace, &resource.api)
            }
            (None, true) => Api::default_namespaced_with(self.client.clone(), &resource.api),
            (_, false) => Api::all_with(self.client.clone(), &resource.api),
        })
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }
}
