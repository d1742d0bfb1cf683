//! Built-in controllers that make the simulated cluster behave like a real one: CRDs become
//! Established, namespaces empty out and go away, owners' dependents are garbage collected.

pub mod crd;
pub mod garbage_collector;
pub mod namespace;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{broadcast, watch};

use crate::cluster::Cluster;
use crate::objects::WriteContext;
use crate::resources::{GroupResource, ResourceType};
use crate::status::ApiError;
use crate::store::{Change, ObjectKey};

/// Read-modify-write of one object as a controller, retried on conflicts.
/// `change` returns false when there is nothing to do.
pub fn modify(
    cluster: &Cluster,
    rt: &ResourceType,
    key: &ObjectKey,
    manager: &str,
    subresource: Option<&str>,
    change: impl Fn(&mut Value) -> bool,
) -> Result<(), ApiError> {
    for _ in 0..5 {
        let Some(current) = cluster.store().get(&rt.group_resource(), key) else {
            return Ok(());
        };
        let mut next = current.value.clone();
        if !change(&mut next) {
            return Ok(());
        }
        match cluster.objects.update(
            rt,
            &key.namespace,
            &key.name,
            next,
            subresource,
            &WriteContext::system(manager),
        ) {
            Err(error) if error.code == 409 => continue,
            Err(error) if error.code == 404 => return Ok(()),
            other => return other.map(|_| ()),
        }
    }
    Ok(())
}

/// `resource namespace/name`, for log lines about one object.
pub fn describe(gr: &GroupResource, key: &ObjectKey) -> String {
    let resource = if gr.group.is_empty() {
        gr.resource.clone()
    } else {
        format!("{}.{}", gr.resource, gr.group)
    };
    if key.namespace.is_empty() {
        format!("{resource} {}", key.name)
    } else {
        format!("{resource} {}/{}", key.namespace, key.name)
    }
}

/// A controller's write that failed is logged (who, which object, why); the next change or
/// resync tries again. Returns the value when the write succeeded.
pub fn logged<T>(manager: &str, object: &str, result: Result<T, ApiError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(manager, object, %error, "controller write failed");
            None
        }
    }
}

/// A delete that finds nothing has nothing left to do.
pub fn ignore_missing<T>(result: Result<T, ApiError>) -> Result<(), ApiError> {
    match result {
        Err(error) if error.code == 404 => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Run `reconcile` for every change that `relevant` picks, and for everything every `resync`.
pub async fn run_loop(
    cluster: Arc<Cluster>,
    mut shutdown: watch::Receiver<bool>,
    resync: Duration,
    relevant: impl Fn(&Change) -> bool,
    mut reconcile_change: impl FnMut(&Cluster, &Change),
    mut reconcile_all: impl FnMut(&Cluster),
) {
    let mut changes = cluster.store().subscribe();
    let mut ticker = tokio::time::interval(resync);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = ticker.tick() => reconcile_all(&cluster),
            received = changes.recv() => match received {
                Ok(change) => if relevant(&change) { reconcile_change(&cluster, &change) },
                Err(broadcast::error::RecvError::Lagged(_)) => reconcile_all(&cluster),
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

/// The served type of a stored group/resource.
pub fn resource_type(cluster: &Cluster, gr: &GroupResource) -> Option<Arc<ResourceType>> {
    cluster.registry().any_version(gr)
}

/// Start every built-in controller.
pub fn spawn_all(
    cluster: &Arc<Cluster>,
    shutdown: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(crd::run(cluster.clone(), shutdown.clone())),
        tokio::spawn(namespace::run(cluster.clone(), shutdown.clone())),
        tokio::spawn(garbage_collector::run(cluster.clone(), shutdown.clone())),
    ]
}
