//! virt-api's power actions (PUT `.../virtualmachines/{name}/{start,stop,restart,migrate}` and
//! `.../virtualmachineinstances/{name}/{pause,unpause,softreboot}` under `subresources.kubevirt.io`)
//! with KubeVirt's status codes, and the discovery documents of that aggregated group.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::vm_controller::{finished, has_condition, run_strategy, vmi_phase, vmis, vms};
use super::vmi_lifecycle::migrations;
use super::{GUEST_AGENT_ANNOTATION, annotation, deployment_available, get, is_deleting};
use crate::cluster::Cluster;
use crate::controllers::modify;
use crate::extensions::{SubresourceCall, SubresourceHandler};
use crate::objects::WriteContext;
use crate::resources::ResourceType;
use crate::status::ApiError;
use crate::store::ObjectKey;

pub const GROUP: &str = "subresources.kubevirt.io";
const VERSIONS: &[&str] = &["v1", "v1alpha3"];
const MANAGER: &str = "virt-api";
pub const VM_ACTIONS: &[&str] = &["start", "stop", "restart", "migrate"];
pub const VMI_ACTIONS: &[&str] = &["pause", "unpause", "softreboot"];
/// Subresources other parts of the simulator may serve (consoles); listed in discovery when registered.
const OTHER_VMI_SUBRESOURCES: &[&str] =
    &["console", "vnc", "usbredir", "portforward", "guestosinfo"];

/// Register the power action handlers.
pub fn install(cluster: &Cluster) {
    for action in VM_ACTIONS {
        cluster.objects.extensions.add_subresource(
            GROUP,
            "virtualmachines",
            action,
            handler(action),
        );
    }
    for action in VMI_ACTIONS {
        cluster.objects.extensions.add_subresource(
            GROUP,
            "virtualmachineinstances",
            action,
            handler(action),
        );
    }
}

fn handler(action: &'static str) -> SubresourceHandler {
    Arc::new(move |call: SubresourceCall| {
        Box::pin(async move {
            let code = act(&call, action)?;
            Ok(Response::builder()
                .status(code)
                .body(Body::empty())
                .expect("a status and an empty body make a response"))
        })
    })
}

fn conflict(resource: &str, name: &str, why: &str) -> ApiError {
    ApiError::conflict("kubevirt.io", resource, name, why)
}

/// Check and carry out one action; the status code to answer on success.
fn act(call: &SubresourceCall, action: &str) -> Result<StatusCode, ApiError> {
    let cluster = &call.cluster;
    if get(
        cluster,
        "apiregistration.k8s.io",
        "apiservices",
        "",
        "v1.subresources.kubevirt.io",
    )
    .is_none()
        || !VERSIONS.contains(&call.request.version.as_str())
    {
        return Err(ApiError::no_route(call.parts.uri.path()));
    }
    let virt_api_up = get(cluster, "apps", "deployments", "kubevirt", "virt-api")
        .is_some_and(|d| deployment_available(cluster, &d.value));
    if !virt_api_up {
        return Err(ApiError::service_unavailable(
            "the server is currently unable to handle the request",
        ));
    }
    if call.parts.method != Method::PUT {
        return Err(ApiError::method_not_allowed(format!(
            "{} is not supported on {action}; use PUT",
            call.parts.method
        )));
    }
    let body: Value = if call.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&call.body)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| ApiError::bad_request(format!("Can not unmarshal Request body to struct, error: the {action} options must be a JSON object")))?
    };
    let (Some(ns), Some(name)) = (
        call.request.namespace.as_deref(),
        call.request.name.as_deref(),
    ) else {
        return Err(ApiError::no_route(call.parts.uri.path()));
    };
    let key = ObjectKey::new(ns, name);
    if VMI_ACTIONS.contains(&action) {
        vmi_action(cluster, &key, action)?;
        return Ok(StatusCode::OK);
    }
    vm_action(cluster, &key, action, &body)?;
    Ok(StatusCode::ACCEPTED)
}

fn vm_action(
    cluster: &Cluster,
    key: &ObjectKey,
    action: &str,
    body: &Value,
) -> Result<(), ApiError> {
    let name = key.name.as_str();
    let vm = cluster
        .store()
        .get(&vms(), key)
        .ok_or_else(|| ApiError::not_found("kubevirt.io", "virtualmachines", name))?;
    let vm_rt = cluster
        .registry()
        .any_version(&vms())
        .ok_or_else(|| ApiError::service_unavailable("virtualmachines are not served"))?;
    let vmi = cluster.store().get(&vmis(), key);
    let vmi_active = vmi
        .as_ref()
        .is_some_and(|v| !finished(&v.value) && !is_deleting(&v.value));
    let strategy = run_strategy(&vm.value);
    let uses_running = vm
        .value
        .pointer("/spec/running")
        .is_some_and(|r| !r.is_null());
    let set_strategy = |to: &str| {
        let to = to.to_string();
        modify(cluster, &vm_rt, key, MANAGER, None, move |vm| {
            if uses_running {
                vm["spec"]["running"] = json!(to == "Always");
            } else {
                vm["spec"]["runStrategy"] = json!(to);
            }
            true
        })
    };
    let request = |requests: Vec<Value>| {
        modify(cluster, &vm_rt, key, MANAGER, Some("status"), move |vm| {
            let mut list = vm
                .pointer("/status/stateChangeRequests")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            list.extend(requests.iter().cloned());
            vm["status"]["stateChangeRequests"] = json!(list);
            true
        })
    };
    let stop_request = || {
        let uid = vmi
            .as_ref()
            .map(|v| v.uid().to_string())
            .unwrap_or_default();
        json!({"action": "Stop", "uid": uid})
    };
    match action {
        "start" => match strategy.as_str() {
            "Always" | "Once" | "WaitAsReceiver" => Err(conflict(
                "virtualmachine",
                name,
                &format!("{strategy} does not support manual start requests"),
            )),
            _ if vmi_active => Err(conflict("virtualmachine", name, "VM is already running")),
            "Halted" => set_strategy("Always"),
            _ => {
                let mut start = json!({"action": "Start"});
                if body.get("paused") == Some(&json!(true)) {
                    start["data"] = json!({"paused": "true"});
                }
                request(vec![start])
            }
        },
        "stop" => match strategy.as_str() {
            "Halted" | "Manual" if !vmi_active => {
                Err(conflict("virtualmachine", name, "VM is not running"))
            }
            "Manual" => request(vec![stop_request()]),
            _ => set_strategy("Halted"),
        },
        "restart" => {
            if strategy == "Halted" {
                return Err(conflict(
                    "virtualmachine",
                    name,
                    "Halted does not support manual restart requests",
                ));
            }
            if !vmi_active {
                return Err(conflict("virtualmachine", name, "VM is not running"));
            }
            request(vec![stop_request(), json!({"action": "Start"})])
        }
        "migrate" => {
            let running = vmi
                .as_ref()
                .filter(|v| vmi_phase(&v.value) == "Running" && !is_deleting(&v.value));
            let Some(vmi) = running else {
                return Err(conflict("virtualmachine", name, "VM is not running"));
            };
            let in_flight = vmi
                .value
                .pointer("/status/migrationState")
                .is_some_and(|m| {
                    m.get("completed") != Some(&json!(true))
                        && m.get("failed") != Some(&json!(true))
                });
            if in_flight {
                return Err(conflict(
                    "virtualmachine",
                    name,
                    &format!("VM {name} is already being migrated"),
                ));
            }
            let rt = cluster
                .registry()
                .any_version(&migrations())
                .ok_or_else(|| ApiError::service_unavailable("migrations are not served"))?;
            let mut spec = json!({"vmiName": name});
            if let Some(selector) = body.get("addedNodeSelector") {
                spec["addedNodeSelector"] = selector.clone();
            }
            cluster
                .objects
                .create(
                    &rt,
                    Some(&key.namespace),
                    json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
                        "metadata": {"generateName": format!("kubevirt-migrate-vm-"), "namespace": key.namespace,
                            "labels": {"kubevirt.io/vmi-name": name}},
                        "spec": spec}),
                    &WriteContext::system(MANAGER),
                )
                .map(|_| ())
        }
        _ => Err(ApiError::no_route(action)),
    }
}

fn vmi_action(cluster: &Cluster, key: &ObjectKey, action: &str) -> Result<(), ApiError> {
    let name = key.name.as_str();
    let vmi = cluster
        .store()
        .get(&vmis(), key)
        .ok_or_else(|| ApiError::not_found("kubevirt.io", "virtualmachineinstances", name))?;
    let rt = cluster
        .registry()
        .any_version(&vmis())
        .ok_or_else(|| ApiError::service_unavailable("virtualmachineinstances are not served"))?;
    let v = &vmi.value;
    if vmi_phase(v) != "Running" || is_deleting(v) {
        return Err(conflict(
            "virtualmachineinstance",
            name,
            "VMI is not running",
        ));
    }
    let paused = has_condition(v, "Paused");
    match action {
        "pause" if paused => Err(conflict(
            "virtualmachineinstance",
            name,
            "VMI is already paused",
        )),
        "unpause" if !paused => Err(conflict(
            "virtualmachineinstance",
            name,
            "VMI is not paused",
        )),
        "softreboot" if paused => Err(conflict("virtualmachineinstance", name, "VMI is paused")),
        "softreboot" => {
            let agent = annotation(v, GUEST_AGENT_ANNOTATION) == Some("true");
            let acpi = v.pointer("/spec/domain/features/acpi/enabled") != Some(&json!(false));
            if agent || acpi {
                Ok(())
            } else {
                Err(conflict(
                    "virtualmachineinstance",
                    name,
                    "VMI neither have the agent connected nor the ACPI feature enabled",
                ))
            }
        }
        _ => modify(cluster, &rt, key, MANAGER, Some("status"), |vmi| {
            let mut conditions: Vec<Value> = vmi
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            conditions.retain(|c| c["type"] != "Paused");
            if action == "pause" {
                conditions.push(json!({"type": "Paused", "status": "True", "reason": "PausedByUser",
                    "message": "VMI was paused by user", "lastProbeTime": null, "lastTransitionTime": crate::objects::now()}));
            }
            vmi["status"]["conditions"] = json!(conditions);
            true
        }),
    }
}

fn discovery_types(cluster: &Cluster, version: &str) -> Vec<ResourceType> {
    let extensions = &cluster.objects.extensions;
    let served = |resource: &str, names: &[&'static str]| -> Vec<&'static str> {
        names
            .iter()
            .copied()
            .filter(|sub| extensions.subresource(GROUP, resource, sub).is_some())
            .collect()
    };
    let vmi_subs: Vec<&'static str> = VMI_ACTIONS
        .iter()
        .chain(OTHER_VMI_SUBRESOURCES)
        .copied()
        .collect();
    [
        (
            "VirtualMachine",
            "virtualmachines",
            served("virtualmachines", VM_ACTIONS),
        ),
        (
            "VirtualMachineInstance",
            "virtualmachineinstances",
            served("virtualmachineinstances", &vmi_subs),
        ),
    ]
    .into_iter()
    .map(|(kind, plural, subs)| ResourceType {
        group: GROUP.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: String::new(),
        namespaced: true,
        short_names: Vec::new(),
        categories: Vec::new(),
        verbs: Vec::new(),
        status_subresource: false,
        scale_subresource: false,
        extra_subresources: subs,
        schema: None,
        printer_columns: Vec::new(),
        crd_name: None,
        storage_version: "v1".into(),
    })
    .collect()
}

/// Serve discovery for `subresources.kubevirt.io` (v1 and v1alpha3), if not served as it should be.
pub fn serve_discovery(cluster: &Cluster) {
    let registry = cluster.registry();
    for version in VERSIONS {
        for rt in discovery_types(cluster, version) {
            let current = registry.get(GROUP, version, &rt.plural);
            if current.is_none_or(|c| c.extra_subresources != rt.extra_subresources) {
                registry.serve(rt);
            }
        }
    }
}

/// Stop serving `subresources.kubevirt.io` discovery (its APIService is gone).
pub fn withdraw_discovery(cluster: &Cluster) {
    if cluster
        .registry()
        .get(GROUP, "v1", "virtualmachines")
        .is_some()
    {
        cluster.registry().withdraw_group(GROUP);
    }
}
