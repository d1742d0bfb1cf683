//! Events the simulated controllers record about objects (`kubectl describe` shows them), the
//! way the real ones do: one Event per object and reason, its count raised when it happens again.

use serde_json::{Value, json};

use super::{ensure, meta, short_hash};
use crate::cluster::Cluster;

/// Record (or refresh) a `Normal`/`Warning` Event about `object` from `component`.
pub fn record(
    cluster: &Cluster,
    component: &str,
    object: &Value,
    warning: bool,
    reason: &str,
    message: &str,
) {
    let ns = meta(object, "namespace");
    let ns = if ns.is_empty() { "default" } else { ns };
    let name = format!(
        "{}.{}",
        meta(object, "name"),
        short_hash(&format!("{}/{reason}", meta(object, "uid")))
    );
    let existing = super::get(cluster, "", "events", ns, &name);
    if existing
        .as_ref()
        .is_some_and(|e| e.value["message"] == json!(message))
    {
        return;
    }
    let count = existing
        .as_ref()
        .and_then(|e| e.value["count"].as_i64())
        .unwrap_or(0)
        + 1;
    let now = crate::objects::now();
    let first = existing
        .as_ref()
        .and_then(|e| e.value.get("firstTimestamp").cloned())
        .unwrap_or_else(|| json!(now));
    let event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"apiVersion": object["apiVersion"], "kind": object["kind"], "name": meta(object, "name"),
            "namespace": meta(object, "namespace"), "uid": meta(object, "uid"),
            "resourceVersion": meta(object, "resourceVersion")},
        "reason": reason, "message": message, "type": if warning { "Warning" } else { "Normal" },
        "source": {"component": component}, "reportingComponent": component,
        "count": count, "firstTimestamp": first, "lastTimestamp": now,
    });
    crate::controllers::logged(
        component,
        &format!("events {ns}/{name}"),
        ensure(cluster, component, event),
    );
}
