//! Garbage collection by ownerReferences: dependents of deleted owners are deleted (background),
//! foreground deletions wait for their dependents, orphaning deletions release them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use super::{describe, logged, modify, resource_type, run_loop};
use crate::admission::remove_finalizer;
use crate::cluster::Cluster;
use crate::objects::{DeleteOptions, Propagation, WriteContext};
use crate::store::{EventType, StoredObject};

const MANAGER: &str = "simcluster-garbage-collector";

pub async fn run(cluster: Arc<Cluster>, shutdown: watch::Receiver<bool>) {
    run_loop(
        cluster,
        shutdown,
        Duration::from_millis(500),
        |change| {
            change.kind == EventType::Deleted
                || change
                    .object
                    .value
                    .pointer("/metadata/deletionTimestamp")
                    .is_some()
                || change
                    .object
                    .value
                    .pointer("/metadata/ownerReferences")
                    .is_some()
        },
        |cluster, change| {
            if change.kind == EventType::Deleted {
                collect_dependents(cluster, change.object.uid());
                wake_owners(cluster, &change.object);
            } else if change
                .object
                .value
                .pointer("/metadata/deletionTimestamp")
                .is_some()
            {
                process_finalizers(cluster, &change.object);
            }
            if change.kind != EventType::Deleted {
                collect_if_orphaned(cluster, &change.object);
            }
        },
        sweep,
    )
    .await;
}

/// Delete an object whose every owner is gone.
fn collect_if_orphaned(cluster: &Cluster, object: &StoredObject) {
    let owners = object.owner_uids();
    if owners.is_empty()
        || owners
            .iter()
            .any(|uid| cluster.store().by_uid(uid).is_some())
    {
        return;
    }
    if object
        .value
        .pointer("/metadata/deletionTimestamp")
        .is_some()
    {
        return;
    }
    let Some((gr, key)) = cluster.store().by_uid(object.uid()) else {
        return;
    };
    let Some(rt) = resource_type(cluster, &gr) else {
        return;
    };
    logged(
        MANAGER,
        &describe(&gr, &key),
        crate::controllers::ignore_missing(cluster.objects.delete(
            &rt,
            &key.namespace,
            &key.name,
            &DeleteOptions::default(),
            &WriteContext::system(MANAGER),
            Some(cluster),
        )),
    );
}

/// A dependent went away: an owner waiting in foreground deletion may now finish.
fn wake_owners(cluster: &Cluster, dependent: &StoredObject) {
    for uid in dependent.owner_uids() {
        if let Some((gr, key)) = cluster.store().by_uid(&uid)
            && let Some(owner) = cluster.store().get(&gr, &key)
            && owner.value.pointer("/metadata/deletionTimestamp").is_some()
        {
            process_finalizers(cluster, &owner);
        }
    }
}

fn collect_dependents(cluster: &Cluster, owner_uid: &str) {
    for (gr, key) in cluster.store().dependents_of(owner_uid) {
        if let Some(object) = cluster.store().get(&gr, &key) {
            collect_if_orphaned(cluster, &object);
        }
    }
}

/// Foreground: delete dependents, then drop `foregroundDeletion`. Orphan: release dependents, then drop `orphan`.
fn process_finalizers(cluster: &Cluster, object: &StoredObject) {
    let finalizers: Vec<String> = object
        .value
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let Some((gr, key)) = cluster.store().by_uid(object.uid()) else {
        return;
    };
    let Some(rt) = resource_type(cluster, &gr) else {
        return;
    };
    let uid = object.uid().to_string();
    if finalizers.iter().any(|f| f == "orphan") {
        for (dep_gr, dep_key) in cluster.store().dependents_of(&uid) {
            let Some(dep_rt) = resource_type(cluster, &dep_gr) else {
                continue;
            };
            logged(
                MANAGER,
                &describe(&dep_gr, &dep_key),
                modify(cluster, &dep_rt, &dep_key, MANAGER, None, |dep| {
                    let Some(refs) = dep
                        .pointer_mut("/metadata/ownerReferences")
                        .and_then(Value::as_array_mut)
                    else {
                        return false;
                    };
                    let before = refs.len();
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid.as_str()));
                    if refs.is_empty()
                        && let Some(meta) = dep["metadata"].as_object_mut()
                    {
                        meta.remove("ownerReferences");
                    }
                    before
                        != dep
                            .pointer("/metadata/ownerReferences")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len)
                }),
            );
        }
        logged(
            MANAGER,
            &describe(&rt.group_resource(), &key),
            modify(cluster, &rt, &key, MANAGER, None, |o| {
                remove_finalizer(o, "orphan")
            }),
        );
    }
    if finalizers.iter().any(|f| f == "foregroundDeletion") {
        let dependents = cluster.store().dependents_of(&uid);
        for (dep_gr, dep_key) in &dependents {
            let Some(dep_rt) = resource_type(cluster, dep_gr) else {
                continue;
            };
            let options = DeleteOptions {
                propagation: Propagation::Foreground,
                ..Default::default()
            };
            logged(
                MANAGER,
                &describe(dep_gr, dep_key),
                crate::controllers::ignore_missing(cluster.objects.delete(
                    &dep_rt,
                    &dep_key.namespace,
                    &dep_key.name,
                    &options,
                    &WriteContext::system(MANAGER),
                    Some(cluster),
                )),
            );
        }
        if cluster.store().dependents_of(&uid).is_empty() {
            logged(
                MANAGER,
                &describe(&rt.group_resource(), &key),
                modify(cluster, &rt, &key, MANAGER, None, |o| {
                    remove_finalizer(o, "foregroundDeletion")
                }),
            );
        }
    }
}

/// Periodic pass: pending foreground/orphan deletions and dependents whose owners are all gone.
fn sweep(cluster: &Cluster) {
    for (gr, key) in cluster.store().pending_gc() {
        if let Some(object) = cluster.store().get(&gr, &key) {
            if object
                .value
                .pointer("/metadata/deletionTimestamp")
                .is_some()
            {
                process_finalizers(cluster, &object);
            } else {
                collect_if_orphaned(cluster, &object);
            }
        }
    }
}
