//! CRDs: accepted names and Established once created; on deletion their custom objects are
//! deleted, the API stops being served, and the cleanup finalizer is dropped.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use super::{describe, logged, modify, run_loop};
use crate::admission::remove_finalizer;
use crate::cluster::Cluster;
use crate::objects::{DeleteOptions, WriteContext, now};
use crate::registry::crd_resource_types;
use crate::resources::GroupResource;
use crate::store::{EventType, ObjectKey};

const MANAGER: &str = "simcluster-apiextensions-controller";
const CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";

fn crds() -> GroupResource {
    GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions")
}

pub async fn run(cluster: Arc<Cluster>, shutdown: watch::Receiver<bool>) {
    run_loop(
        cluster,
        shutdown,
        Duration::from_millis(500),
        |change| change.gr == crds() && change.kind != EventType::Deleted,
        |cluster, change| reconcile(cluster, &change.key.name),
        |cluster| {
            let (all, _) = cluster.store().list(&crds(), None);
            for crd in all {
                reconcile(cluster, crd.meta_str("name").unwrap_or_default());
            }
        },
    )
    .await;
}

fn condition(kind: &str, status: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": kind, "status": status, "lastTransitionTime": now, "reason": reason, "message": message})
}

fn reconcile(cluster: &Cluster, name: &str) {
    let Some(rt) = cluster.registry().any_version(&crds()) else {
        return;
    };
    let key = ObjectKey::new("", name);
    let Some(crd) = cluster.store().get(&crds(), &key) else {
        return;
    };
    if crd.value.pointer("/metadata/deletionTimestamp").is_some() {
        finalize(cluster, &crd.value, &key);
        return;
    }
    logged(
        MANAGER,
        &describe(&crds(), &key),
        modify(cluster, &rt, &key, MANAGER, Some("status"), |crd| {
            let established = crd
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Established" && c["status"] == "True")
                });
            let names = crd.pointer("/spec/names").cloned().unwrap_or_default();
            let storage = crd
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .and_then(|v| v.iter().find(|v| v["storage"] == true))
                .and_then(|v| v["name"].as_str())
                .unwrap_or("")
                .to_string();
            let mut stored: Vec<Value> = crd
                .pointer("/status/storedVersions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !storage.is_empty() && !stored.contains(&json!(storage)) {
                stored.push(json!(storage));
            }
            let mut accepted = names.clone();
            if accepted.get("singular").is_none() {
                let kind = names
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_lowercase();
                accepted["singular"] = json!(kind);
            }
            if accepted.get("listKind").is_none() {
                let list = format!(
                    "{}List",
                    names.get("kind").and_then(Value::as_str).unwrap_or("")
                );
                accepted["listKind"] = json!(list);
            }
            if established
                && crd.pointer("/status/acceptedNames") == Some(&accepted)
                && crd.pointer("/status/storedVersions") == Some(&json!(stored))
            {
                return false;
            }
            let now = now();
            crd["status"] = json!({
                "conditions": [
                    condition("NamesAccepted", "True", "NoConflicts", "no conflicts found", &now),
                    condition("Established", "True", "InitialNamesAccepted", "the initial names have been accepted", &now),
                ],
                "acceptedNames": accepted,
                "storedVersions": stored,
            });
            true
        }),
    );
}

/// A CRD being deleted: delete its objects; once none remain, stop serving and drop the finalizer.
fn finalize(cluster: &Cluster, crd: &Value, key: &ObjectKey) {
    let Some(crd_rt) = cluster.registry().any_version(&crds()) else {
        return;
    };
    let Some(types) = crd_resource_types(crd) else {
        logged(
            MANAGER,
            &describe(&crds(), key),
            modify(cluster, &crd_rt, key, MANAGER, None, |c| {
                remove_finalizer(c, CLEANUP)
            }),
        );
        return;
    };
    let gr = types[0].group_resource();
    let (remaining, _) = cluster.store().list(&gr, None);
    if let Some(rt) = cluster.registry().any_version(&gr) {
        for object in remaining
            .iter()
            .filter(|o| o.value.pointer("/metadata/deletionTimestamp").is_none())
        {
            logged(
                MANAGER,
                &format!("{} {}", rt.plural, object.meta_str("name").unwrap_or("")),
                crate::controllers::ignore_missing(cluster.objects.delete(
                    &rt,
                    object.meta_str("namespace").unwrap_or(""),
                    object.meta_str("name").unwrap_or(""),
                    &DeleteOptions::default(),
                    &WriteContext::system(MANAGER),
                    Some(cluster),
                )),
            );
        }
    }
    logged(
        MANAGER,
        &describe(&crds(), key),
        modify(cluster, &crd_rt, key, MANAGER, Some("status"), |c| {
            let terminating = c
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|x| x["type"] == "Terminating"));
            if terminating {
                return false;
            }
            let conditions = c["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut conditions: Vec<Value> = conditions
                .into_iter()
                .filter(|x| x["type"] != "Established")
                .collect();
            conditions.push(condition(
                "Terminating",
                "True",
                "InstanceDeletionInProgress",
                "CustomResource deletion is in progress",
                &now(),
            ));
            c["status"]["conditions"] = json!(conditions);
            true
        }),
    );
    if cluster.store().list(&gr, None).0.is_empty() {
        cluster.registry().unregister(&gr);
        logged(
            MANAGER,
            &describe(&crds(), key),
            modify(cluster, &crd_rt, key, MANAGER, None, |c| {
                remove_finalizer(c, CLEANUP)
            }),
        );
    }
}

/// Used on restore: serve every stored CRD again.
pub fn register_stored(cluster: &Cluster) {
    let (all, _) = cluster.store().list(&crds(), None);
    for crd in all {
        cluster.registry().register_crd(&crd.value);
    }
}
