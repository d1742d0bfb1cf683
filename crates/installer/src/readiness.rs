//! Waiting until what was applied works, by watching (never polling): CRDs Established,
//! Deployments available at their observed generation, DaemonSets and StatefulSets rolled out,
//! KubeVirt and CDI Available, not Progressing, not Degraded and at the target version. While
//! waiting, each change of the object's state is reported as live status text. Objects of one
//! kind in one namespace share one watch.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::try_join_all;
use futures::{StreamExt, pin_mut};
use kube::runtime::watcher::{self, Event, watch_object, watcher};
use serde_json::Value;

use crate::error::InstallError;
use crate::events::{Progress, ProgressSink};
use crate::object_key::ObjectKey;
use crate::resources::Resources;

/// What "ready" means for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// `status.conditions[type]` is True.
    Condition(String),
    /// A Deployment, DaemonSet or StatefulSet has rolled out its current generation.
    RolledOut,
    /// A KubeVirt or CDI CR: Available, not Progressing, not Degraded, at `version`.
    Operator { version: String },
}

/// One object to wait for.
#[derive(Debug, Clone)]
pub struct Wait {
    pub pack: String,
    pub object: ObjectKey,
    pub readiness: Readiness,
}

impl Readiness {
    /// The rule for a rendered readiness condition (`Available` on KubeVirt/CDI means the operator
    /// rule, at the pack's version).
    pub fn from_rule(kind: &str, condition: &str, pack_version: &str) -> Readiness {
        match (kind, condition) {
            ("KubeVirt" | "CDI", "Available") => Readiness::Operator {
                version: pack_version.to_string(),
            },
            (_, "RolledOut") => Readiness::RolledOut,
            (_, other) => Readiness::Condition(other.to_string()),
        }
    }

    /// Whether `object` (None: absent) is ready, and a line saying how far it is.
    pub fn judge(&self, kind: &str, object: Option<&Value>) -> (bool, String) {
        let Some(object) = object else {
            return (false, "not created yet".into());
        };
        match self {
            Readiness::Condition(name) => match condition(object, name) {
                Some("True") => (true, name.to_string()),
                Some(other) => (false, format!("{name}={other}")),
                None => (false, format!("waiting for condition {name}")),
            },
            Readiness::RolledOut => rolled_out(kind, object),
            Readiness::Operator { version } => operator_ready(object, version),
        }
    }
}

fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a str> {
    object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?
        .get("status")?
        .as_str()
}

fn number(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

fn rolled_out(kind: &str, object: &Value) -> (bool, String) {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let generation = number(object, "/metadata/generation").unwrap_or(0);
    let observed = number(object, "/status/observedGeneration").unwrap_or(0);
    if observed < generation {
        return (
            false,
            format!("{name}: generation {generation} not observed yet"),
        );
    }
    let (want, have, updated) = match kind {
        "DaemonSet" => (
            number(object, "/status/desiredNumberScheduled").unwrap_or(0),
            number(object, "/status/numberAvailable").unwrap_or(0),
            number(object, "/status/updatedNumberScheduled").unwrap_or(0),
        ),
        "StatefulSet" => (
            number(object, "/spec/replicas").unwrap_or(1),
            number(object, "/status/readyReplicas").unwrap_or(0),
            number(object, "/status/updatedReplicas").unwrap_or(0),
        ),
        _ => (
            number(object, "/spec/replicas").unwrap_or(1),
            number(object, "/status/availableReplicas").unwrap_or(0),
            number(object, "/status/updatedReplicas").unwrap_or(0),
        ),
    };
    let observed_any = object.pointer("/status/observedGeneration").is_some();
    let ready = observed_any && have >= want && updated >= want;
    (ready, format!("{name} {have}/{want} ready"))
}

fn operator_ready(object: &Value, version: &str) -> (bool, String) {
    let observed = object
        .pointer("/status/observedKubeVirtVersion")
        .or_else(|| object.pointer("/status/observedVersion"))
        .and_then(Value::as_str);
    let phase = object
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("no phase yet");
    let available = condition(object, "Available") == Some("True");
    let progressing = condition(object, "Progressing") == Some("True");
    let degraded = condition(object, "Degraded") == Some("True");
    let at_version = observed.is_some_and(|v| vmdeck_packs::version_name::same(v, version));
    let ready = available && !progressing && !degraded && at_version;
    let mut status = format!("phase {phase}");
    if degraded {
        status.push_str(", Degraded");
    } else if progressing {
        status.push_str(", Progressing");
    }
    if !at_version {
        status.push_str(&format!(
            ", version {} of {version}",
            observed.unwrap_or("none yet")
        ));
    }
    (ready, status)
}

/// Waits until every one of `waits` is ready (each within `limit`): several objects of one kind
/// in one namespace (a pack's Deployments, a bundle's hundreds) through one watch of that
/// namespace, the others (and cluster-wide kinds, whose lists can be large) one watch each.
pub async fn wait_all(
    resources: &Resources,
    waits: Vec<Wait>,
    limit: Duration,
    progress: &ProgressSink,
) -> Result<(), InstallError> {
    let mut groups: BTreeMap<(String, String, String), Vec<&Wait>> = BTreeMap::new();
    let mut singles = Vec::new();
    for wait in &waits {
        match &wait.object.namespace {
            Some(namespace) => groups
                .entry((
                    wait.object.api_version.clone(),
                    wait.object.kind.clone(),
                    namespace.clone(),
                ))
                .or_default()
                .push(wait),
            None => singles.push(wait),
        }
    }
    for group in groups.values_mut() {
        if group.len() == 1 {
            singles.append(group);
        }
    }
    let shared = groups
        .values()
        .filter(|g| !g.is_empty())
        .map(|group| wait_group(resources, group, limit, progress));
    let single = singles
        .into_iter()
        .map(|wait| wait_ready(resources, wait, limit, progress));
    let (shared, single) = tokio::join!(try_join_all(shared), try_join_all(single));
    shared.and(single).map(|_| ())
}

/// Objects of one kind in one namespace, through one watch of the namespace.
async fn wait_group(
    resources: &Resources,
    group: &[&Wait],
    limit: Duration,
    progress: &ProgressSink,
) -> Result<(), InstallError> {
    let api = resources.api_for(&group[0].object).await?;
    let mut pending: BTreeMap<&str, (&Wait, String)> = group
        .iter()
        .map(|w| {
            (
                w.object.name.as_str(),
                (*w, String::from("nothing seen yet")),
            )
        })
        .collect();
    let watched = async {
        let stream = watcher(api, watcher::Config::default());
        pin_mut!(stream);
        while let Some(event) = stream.next().await {
            let (object, present) = match event {
                Ok(Event::Apply(o) | Event::InitApply(o)) => (o, true),
                Ok(Event::Delete(o)) => (o, false),
                Ok(Event::Init | Event::InitDone) => continue,
                // The watcher re-establishes itself; a failed request is only logged.
                Err(error) => {
                    tracing::debug!(%error, "watch failed; retrying");
                    continue;
                }
            };
            let Some(name) = object.metadata.name.as_deref() else {
                continue;
            };
            let Some((wait, last)) = pending.get_mut(name) else {
                continue;
            };
            let value = present.then(|| serde_json::to_value(&object).expect("objects serialise"));
            let (ready, status) = wait.readiness.judge(&wait.object.kind, value.as_ref());
            if status != *last {
                *last = status.clone();
                progress
                    .send(Progress::Waiting {
                        pack: wait.pack.clone(),
                        what: wait.object.to_string(),
                        status,
                    })
                    .await;
            }
            if ready {
                let name = name.to_string();
                pending.remove(name.as_str());
                if pending.is_empty() {
                    return true;
                }
            }
        }
        false
    };
    if tokio::time::timeout(limit, watched).await == Ok(true) {
        return Ok(());
    }
    let (wait, last) = pending
        .into_values()
        .next()
        .expect("a group that timed out still waits for something");
    Err(InstallError::NotReady {
        what: wait.object.to_string(),
        waited: limit,
        last_seen: last,
    })
}

/// Watches `wait.object` until it is ready, reporting each new status; fails after `limit`.
pub async fn wait_ready(
    resources: &Resources,
    wait: &Wait,
    limit: Duration,
    progress: &ProgressSink,
) -> Result<(), InstallError> {
    let api = resources.api_for(&wait.object).await?;
    let what = wait.object.to_string();
    let mut last = String::from("nothing seen yet");
    let watched = async {
        let stream = watch_object(api, &wait.object.name);
        pin_mut!(stream);
        while let Some(event) = stream.next().await {
            let object = match event {
                Ok(object) => object.map(|o| serde_json::to_value(o).expect("objects serialise")),
                // The watcher re-establishes itself; a failed request is only logged.
                Err(error) => {
                    tracing::debug!(%error, object = %what, "watch failed; retrying");
                    continue;
                }
            };
            let (ready, status) = wait.readiness.judge(&wait.object.kind, object.as_ref());
            if status != last {
                last = status.clone();
                progress
                    .send(Progress::Waiting {
                        pack: wait.pack.clone(),
                        what: what.clone(),
                        status,
                    })
                    .await;
            }
            if ready {
                return true;
            }
        }
        false
    };
    match tokio::time::timeout(limit, watched).await {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(InstallError::NotReady {
            what,
            waited: limit,
            last_seen: last,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_deployment_is_ready_at_its_generation_with_every_replica_available() {
        let rule = Readiness::RolledOut;
        let mut d = json!({"metadata": {"name": "virt-operator", "generation": 2},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "availableReplicas": 2, "updatedReplicas": 2}});
        assert!(!rule.judge("Deployment", Some(&d)).0, "old generation");
        d["status"]["observedGeneration"] = json!(2);
        d["status"]["availableReplicas"] = json!(1);
        assert_eq!(
            rule.judge("Deployment", Some(&d)),
            (false, "virt-operator 1/2 ready".into())
        );
        d["status"]["availableReplicas"] = json!(2);
        assert!(rule.judge("Deployment", Some(&d)).0);
        assert!(!rule.judge("Deployment", None).0);
    }

    #[test]
    fn kubevirt_is_ready_only_available_settled_and_at_the_target_version() {
        let rule = Readiness::from_rule("KubeVirt", "Available", "1.8.4");
        let cr = |available: &str, progressing: &str, version: &str| {
            json!({"status": {"phase": "Deployed", "observedKubeVirtVersion": version, "conditions": [
                {"type": "Available", "status": available},
                {"type": "Progressing", "status": progressing},
                {"type": "Degraded", "status": "False"}]}})
        };
        // Available while still progressing is what kstatus calls done too early.
        assert!(
            !rule
                .judge("KubeVirt", Some(&cr("True", "True", "v1.8.4")))
                .0
        );
        assert!(
            !rule
                .judge("KubeVirt", Some(&cr("True", "False", "v1.8.2")))
                .0
        );
        assert!(
            !rule
                .judge("KubeVirt", Some(&cr("False", "False", "v1.8.4")))
                .0
        );
        assert!(
            rule.judge("KubeVirt", Some(&cr("True", "False", "v1.8.4")))
                .0
        );
    }

    #[test]
    fn other_rules_wait_for_their_condition() {
        let rule = Readiness::from_rule("CustomResourceDefinition", "Established", "1");
        let crd = json!({"status": {"conditions": [{"type": "Established", "status": "False"}]}});
        assert_eq!(
            rule.judge("CustomResourceDefinition", Some(&crd)),
            (false, "Established=False".into())
        );
    }
}
