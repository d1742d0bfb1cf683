//! A VM's disk imports followed live: its DataVolumes (from `dataVolumeTemplates`) watched until
//! every one Succeeded (the VM can boot) or one fails; CDI's phases and `status.progress` as
//! events, failures in plain words.

use std::collections::BTreeMap;

use futures::{Stream, StreamExt};
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::Serialize;
use serde_json::Value;

use super::resources::data_volume;
use crate::kinds::vm_resource;

/// One step of a disk's import.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DiskEvent {
    /// A disk's phase (`Pending`, `ImportScheduled`, `ImportInProgress`, `CloneInProgress`,
    /// `Succeeded`, ...) and percent done when CDI says.
    Progress {
        disk: String,
        phase: String,
        percent: Option<f64>,
    },
    /// A disk cannot be made; why, in plain words.
    Failed { disk: String, reason: String },
    /// Every disk is ready: the VM can boot.
    Ready,
}

/// Why the disks cannot be followed.
#[derive(Debug, thiserror::Error)]
pub enum DiskProgressError {
    #[error("there is no VM {0}")]
    NoVm(String),
    #[error("reading the VM: {0}")]
    Kube(#[from] kube::Error),
}

/// `"45.20%"` as 45.2.
fn percent(dv: &Value) -> Option<f64> {
    dv.pointer("/status/progress")?
        .as_str()?
        .trim_end_matches('%')
        .parse()
        .ok()
}

/// A DataVolume's trouble in plain words, from its phase, conditions and restarts.
pub fn plain_failure(dv: &Value) -> Option<String> {
    let phase = dv
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    let conditions: Vec<&Value> = dv
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    let said = |c: &&Value| {
        format!(
            "{} {}",
            c["reason"].as_str().unwrap_or(""),
            c["message"].as_str().unwrap_or("")
        )
        .to_lowercase()
    };
    let words: Vec<String> = conditions.iter().map(said).collect();
    let any = |needle: &str| words.iter().any(|w| w.contains(needle));
    if any("exceeded quota") || any("forbidden: exceeded") {
        return Some(
            "the namespace's quota has no room for the disk: ask for a larger quota or free some"
                .into(),
        );
    }
    if any("imagepull") || any("image pull") || any("manifest unknown") || any("unauthorized") {
        return Some("the image could not be pulled: check the image name and that the registry is reachable (and its pull secret)".into());
    }
    if any("no such host") || any("connection refused") {
        return Some("the image's server could not be reached: check the URL or image name (and the cluster's DNS or proxy)".into());
    }
    if any("no default storageclass")
        || any("no storage class")
        || any("storageclass") && any("not found")
    {
        return Some("there is no StorageClass for the disk: pick one, or mark one default".into());
    }
    if phase == "Failed" {
        let detail = conditions
            .iter()
            .find_map(|c| c["message"].as_str().filter(|m| !m.is_empty()))
            .unwrap_or("CDI gave no reason");
        return Some(format!("the disk import failed: {detail}"));
    }
    None
}

fn disk_names(vm: &Value) -> Vec<String> {
    vm.pointer("/spec/dataVolumeTemplates")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(|d| d.pointer("/metadata/name")?.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Follow the VM `namespace/name`'s disks: a `Progress` per change, then `Ready` (every disk
/// Succeeded) or `Failed`, after which the stream ends.
pub async fn watch_disks(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<impl Stream<Item = DiskEvent> + Send + 'static, DiskProgressError> {
    let vms: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &vm_resource());
    let vm = vms
        .get_opt(name)
        .await?
        .ok_or_else(|| DiskProgressError::NoVm(format!("{namespace}/{name}")))?;
    let disks = disk_names(&serde_json::to_value(&vm).unwrap_or_default());
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &data_volume());
    let events = watcher::watcher(api, watcher::Config::default()).default_backoff();
    let mut phases: BTreeMap<String, String> =
        disks.iter().map(|d| (d.clone(), String::new())).collect();
    let mut done = disks.is_empty();
    let first = if done {
        vec![DiskEvent::Ready]
    } else {
        Vec::new()
    };
    let stream = futures::stream::iter(first).chain(
        events
            .take_while(move |_| std::future::ready(!disks.is_empty()))
            .filter_map(move |event| {
                let out = match event {
                    Ok(Event::Apply(dv) | Event::InitApply(dv)) if !done => {
                        let dv = serde_json::to_value(dv).unwrap_or_default();
                        let disk = dv
                            .pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        match phases.get_mut(&disk) {
                            None => Vec::new(),
                            Some(seen) => {
                                let phase = dv
                                    .pointer("/status/phase")
                                    .and_then(Value::as_str)
                                    .unwrap_or("Pending")
                                    .to_string();
                                *seen = phase.clone();
                                let mut out = vec![DiskEvent::Progress {
                                    disk: disk.clone(),
                                    phase,
                                    percent: percent(&dv),
                                }];
                                if let Some(reason) = plain_failure(&dv) {
                                    done = true;
                                    out.push(DiskEvent::Failed { disk, reason });
                                } else if phases.values().all(|p| p == "Succeeded") {
                                    done = true;
                                    out.push(DiskEvent::Ready);
                                }
                                out
                            }
                        }
                    }
                    Ok(_) => Vec::new(),
                    Err(error) => {
                        tracing::debug!("DataVolume watch: {error}");
                        Vec::new()
                    }
                };
                std::future::ready(Some(futures::stream::iter(out)))
            })
            .flatten(),
    );
    // End right after Ready or Failed, without waiting for another change.
    let stream =
        futures::stream::unfold((stream.boxed(), false), |(mut inner, ended)| async move {
            if ended {
                return None;
            }
            let event = inner.next().await?;
            let last = matches!(event, DiskEvent::Ready | DiskEvent::Failed { .. });
            Some((event, (inner, last)))
        });
    Ok(stream.boxed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failures_in_plain_words() {
        let dv = |phase: &str, reason: &str, message: &str| json!({"status": {"phase": phase, "conditions": [{"type": "Running", "status": "False", "reason": reason, "message": message}]}});
        assert!(plain_failure(&dv("ImportInProgress", "Pod is running", "")).is_none());
        assert!(
            plain_failure(&dv("ImportInProgress", "ImagePullFailed", "Unable to pull"))
                .unwrap()
                .contains("could not be pulled")
        );
        assert!(
            plain_failure(&dv(
                "Pending",
                "",
                "persistentvolumeclaims \"x\" is forbidden: exceeded quota: team"
            ))
            .unwrap()
            .contains("quota")
        );
        assert!(
            plain_failure(&dv("Pending", "Pending", "no default StorageClass"))
                .unwrap()
                .contains("StorageClass")
        );
        assert!(
            plain_failure(&dv("Failed", "Error", "disk too small"))
                .unwrap()
                .contains("disk too small")
        );
        assert_eq!(
            percent(&json!({"status": {"progress": "45.20%"}})),
            Some(45.2)
        );
        assert_eq!(percent(&json!({"status": {"progress": "N/A"}})), None);
    }
}
