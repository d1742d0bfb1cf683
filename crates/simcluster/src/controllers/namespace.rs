//! Namespaces being deleted: everything in them is deleted, and once nothing is left the
//! `kubernetes` finalizer is dropped and the namespace goes away.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use super::{describe, logged, modify, resource_type, run_loop};
use crate::cluster::Cluster;
use crate::objects::{DeleteOptions, WriteContext, now};
use crate::resources::GroupResource;
use crate::store::ObjectKey;

const MANAGER: &str = "simcluster-namespace-controller";

fn namespaces() -> GroupResource {
    GroupResource::new("", "namespaces")
}

pub async fn run(cluster: Arc<Cluster>, shutdown: watch::Receiver<bool>) {
    run_loop(
        cluster,
        shutdown,
        Duration::from_millis(250),
        |change| {
            // A namespace marked for deletion, or a deletion inside a terminating namespace.
            change.gr == namespaces()
                && change
                    .object
                    .value
                    .pointer("/metadata/deletionTimestamp")
                    .is_some()
        },
        |cluster, change| reconcile(cluster, &change.key.name),
        |cluster| {
            let (all, _) = cluster.store().list(&namespaces(), None);
            for ns in all
                .iter()
                .filter(|n| n.value.pointer("/metadata/deletionTimestamp").is_some())
            {
                reconcile(cluster, ns.meta_str("name").unwrap_or_default());
            }
        },
    )
    .await;
}

fn reconcile(cluster: &Cluster, name: &str) {
    let Some(ns_rt) = cluster.registry().any_version(&namespaces()) else {
        return;
    };
    let key = ObjectKey::new("", name);
    let Some(namespace) = cluster.store().get(&namespaces(), &key) else {
        return;
    };
    if namespace
        .value
        .pointer("/metadata/deletionTimestamp")
        .is_none()
    {
        return;
    }
    let content = cluster.store().namespaced_content(name);
    let mut waiting_on_finalizers = Vec::new();
    for (gr, object_key) in &content {
        let Some(rt) = resource_type(cluster, gr) else {
            continue;
        };
        let Some(object) = cluster.store().get(gr, object_key) else {
            continue;
        };
        if object
            .value
            .pointer("/metadata/deletionTimestamp")
            .is_some()
        {
            if let Some(finalizers) = object
                .value
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
            {
                waiting_on_finalizers.extend(finalizers.iter().filter_map(|f| {
                    f.as_str()
                        .map(|f| format!("{f} in {} {}", rt.plural, object_key.name))
                }));
            }
            continue;
        }
        logged(
            MANAGER,
            &describe(gr, object_key),
            crate::controllers::ignore_missing(cluster.objects.delete(
                &rt,
                &object_key.namespace,
                &object_key.name,
                &DeleteOptions::default(),
                &WriteContext::system(MANAGER),
                Some(cluster),
            )),
        );
    }
    let remaining = cluster.store().namespaced_content(name);
    if remaining.is_empty() {
        logged(
            MANAGER,
            &describe(&ns_rt.group_resource(), &key),
            modify(cluster, &ns_rt, &key, MANAGER, Some("finalize"), |ns| {
                let has = ns
                    .pointer("/spec/finalizers")
                    .and_then(Value::as_array)
                    .is_some_and(|f| !f.is_empty());
                if has {
                    ns["spec"]["finalizers"] = json!([]);
                }
                has
            }),
        );
        return;
    }
    let message = if waiting_on_finalizers.is_empty() {
        format!("Some resources are remaining: {} objects", remaining.len())
    } else {
        format!(
            "Some content in the namespace has finalizers remaining: {}",
            waiting_on_finalizers.join(", ")
        )
    };
    logged(
        MANAGER,
        &describe(&ns_rt.group_resource(), &key),
        modify(cluster, &ns_rt, &key, MANAGER, Some("status"), |ns| {
            let condition = json!({"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain", "message": message, "lastTransitionTime": now()});
            let existing = ns
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|c| c.iter().find(|c| c["type"] == "NamespaceContentRemaining"))
                .cloned();
            if existing.is_some_and(|e| e["message"] == condition["message"]) {
                return false;
            }
            ns["status"]["conditions"] = json!([condition]);
            true
        }),
    );
}
