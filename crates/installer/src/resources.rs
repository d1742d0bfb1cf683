//! Finding the API resource (plural, scope) of each kind to apply: one discovery request per
//! kind however many objects ask at once, cached; a kind not yet served (its CRD just created) is
//! looked up again, unless the caller only reads a moment of the cluster (a plan).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
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

/// What discovery said about one kind.
#[derive(Debug, Clone)]
enum Lookup {
    Served(Resource),
    NotServed,
}

/// One kind's answer; the first asker looks it up while the others wait for it.
type Slot = Arc<tokio::sync::Mutex<Option<Lookup>>>;

/// The kinds seen so far.
pub struct Resources {
    client: kube::Client,
    retry: RetryPolicy,
    known: Mutex<HashMap<GroupVersionKind, Slot>>,
    remember_unserved: bool,
}

impl Resources {
    pub fn new(client: kube::Client, retry: RetryPolicy) -> Self {
        Self {
            client,
            retry,
            known: Mutex::new(HashMap::new()),
            remember_unserved: false,
        }
    }

    /// For one look at the cluster (a plan): a kind found not served stays not served, so the
    /// custom resources of a CRD still to be created cost one lookup, not one each.
    pub fn for_one_reading(client: kube::Client, retry: RetryPolicy) -> Self {
        Self {
            remember_unserved: true,
            ..Self::new(client, retry)
        }
    }

    /// The resource of `key`'s kind; `KindNotServed` when the cluster does not serve it.
    pub async fn resolve(&self, key: &ObjectKey) -> Result<Resource, InstallError> {
        let gvk = key.gvk();
        let slot = self
            .known
            .lock()
            .expect("not poisoned")
            .entry(gvk.clone())
            .or_default()
            .clone();
        let mut slot = slot.lock().await;
        match &*slot {
            Some(Lookup::Served(resource)) => return Ok(resource.clone()),
            Some(Lookup::NotServed) => {
                return Err(InstallError::KindNotServed {
                    object: key.clone(),
                });
            }
            None => {}
        }
        let looked_up = self
            .retry
            .run(|| pinned_kind(&self.client, &gvk), |_, _| {})
            .await;
        let not_served = |slot: &mut Option<Lookup>| {
            if self.remember_unserved {
                *slot = Some(Lookup::NotServed);
            }
            Err(InstallError::KindNotServed {
                object: key.clone(),
            })
        };
        match looked_up {
            Ok((api, capabilities)) => {
                let resource = Resource {
                    api,
                    namespaced: capabilities.scope == Scope::Namespaced,
                };
                *slot = Some(Lookup::Served(resource.clone()));
                Ok(resource)
            }
            Err((kube::Error::Api(status), _)) if status.code == 404 => not_served(&mut slot),
            // Discovery answers "not found" for a group that exists but lacks the kind.
            Err((kube::Error::Discovery(_), _)) => not_served(&mut slot),
            Err((source, _)) => Err(InstallError::Read {
                what: format!("the API resource of {}", key.api_version),
                source: Box::new(source),
            }),
        }
    }

    /// Looks up every distinct kind of `keys` at once (at most `concurrency` requests in flight),
    /// so later `resolve` calls read the cache; what each lookup found is left to them.
    pub async fn prefetch<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k ObjectKey>,
        concurrency: usize,
    ) {
        let mut seen = std::collections::HashSet::new();
        let kinds: Vec<&ObjectKey> = keys.into_iter().filter(|k| seen.insert(k.gvk())).collect();
        futures::stream::iter(kinds)
            .map(|key| self.resolve(key))
            .buffer_unordered(concurrency.max(1))
            .for_each(|_| async {})
            .await;
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
