//! Instancetypes and preferences, expanded as virt-controller expands them into a VM's VMI:
//! the instancetype's `cpu.guest` and `memory.guest` become the domain's CPU topology (by the
//! preference's `preferredCPUTopology`, sockets by default) and guest memory; the preference
//! fills what the VM leaves open (disk bus, NIC model, firmware, features, clock, TPM).

use serde_json::{Value, json};

use super::{get, meta};
use crate::cluster::Cluster;

const GROUP: &str = "instancetype.kubevirt.io";

/// What a VM's instancetype and preference give its VMI.
#[derive(Debug, Default)]
pub struct Expansion {
    pub instancetype: Option<Value>,
    pub preference: Option<Value>,
    /// `status.instancetypeRef` / `status.preferenceRef` for the VM.
    pub instancetype_ref: Option<Value>,
    pub preference_ref: Option<Value>,
}

/// Why a VM cannot be expanded, in words (the VM's Failure condition).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotFound(pub String);

fn lookup(
    cluster: &Cluster,
    vm: &Value,
    field: &str,
    cluster_kind: &str,
    namespaced_kind: &str,
) -> Result<Option<(Value, Value)>, NotFound> {
    let Some(matcher) = vm
        .pointer(&format!("/spec/{field}"))
        .filter(|m| m.is_object())
    else {
        return Ok(None);
    };
    let name = matcher["name"].as_str().unwrap_or("");
    let kind = matcher["kind"].as_str().unwrap_or(cluster_kind);
    let (resource, ns) = if kind == namespaced_kind {
        (
            format!("{}s", namespaced_kind.to_lowercase()),
            meta(vm, "namespace"),
        )
    } else {
        (format!("{}s", cluster_kind.to_lowercase()), "")
    };
    let Some(found) = get(cluster, GROUP, &resource, ns, name) else {
        return Err(NotFound(format!(
            "Failure to find {field}: {resource}.{GROUP} \"{name}\" not found"
        )));
    };
    let reference = json!({"kind": kind, "name": name,
        "controllerRevisionRef": {"name": format!("{}-{}-{}-1", meta(vm, "name"), name, &meta(&found.value, "uid").get(..8).unwrap_or(""))}});
    Ok(Some((found.value.clone(), reference)))
}

/// Look up the VM's instancetype and preference.
pub fn resolve(cluster: &Cluster, vm: &Value) -> Result<Expansion, NotFound> {
    let instancetype = lookup(
        cluster,
        vm,
        "instancetype",
        "VirtualMachineClusterInstancetype",
        "VirtualMachineInstancetype",
    )?;
    let preference = lookup(
        cluster,
        vm,
        "preference",
        "VirtualMachineClusterPreference",
        "VirtualMachinePreference",
    )?;
    Ok(Expansion {
        instancetype_ref: instancetype.as_ref().map(|(_, r)| r.clone()),
        preference_ref: preference.as_ref().map(|(_, r)| r.clone()),
        instancetype: instancetype.map(|(v, _)| v),
        preference: preference.map(|(v, _)| v),
    })
}

fn set_if_missing(target: &mut Value, key: &str, value: Value) {
    if target.get(key).is_none_or(Value::is_null) {
        target[key] = value;
    }
}

/// Apply the expansion to a VMI (its spec and annotations).
pub fn apply(expansion: &Expansion, vmi: &mut Value) {
    let preference = expansion
        .preference
        .as_ref()
        .and_then(|p| p.get("spec"))
        .cloned()
        .unwrap_or_default();
    let domain = &mut vmi["spec"]["domain"];
    if !domain.is_object() {
        *domain = json!({});
    }
    if let Some(spec) = expansion.instancetype.as_ref().and_then(|i| i.get("spec")) {
        if let Some(guest) = spec.pointer("/cpu/guest").and_then(Value::as_i64) {
            let topology = preference
                .pointer("/cpu/preferredCPUTopology")
                .and_then(Value::as_str)
                .unwrap_or("preferSockets");
            let (sockets, cores, threads) = match topology {
                "preferCores" => (1, guest, 1),
                "preferThreads" => (1, 1, guest),
                _ => (guest, 1, 1),
            };
            domain["cpu"] = json!({"sockets": sockets, "cores": cores, "threads": threads});
            if let Some(model) = spec.pointer("/cpu/model") {
                domain["cpu"]["model"] = model.clone();
            }
        }
        if let Some(memory) = spec.pointer("/memory/guest") {
            domain["memory"] = json!({"guest": memory});
        }
    }
    let devices = &mut domain["devices"];
    if !devices.is_object() {
        *devices = json!({});
    }
    if let Some(bus) = preference.pointer("/devices/preferredDiskBus")
        && let Some(disks) = devices["disks"].as_array_mut()
    {
        for disk in disks {
            if disk.get("cdrom").is_some() || disk.get("lun").is_some() {
                continue;
            }
            if !disk["disk"].is_object() {
                disk["disk"] = json!({});
            }
            set_if_missing(&mut disk["disk"], "bus", bus.clone());
        }
    }
    if let Some(model) = preference.pointer("/devices/preferredInterfaceModel")
        && let Some(interfaces) = devices["interfaces"].as_array_mut()
    {
        for interface in interfaces {
            set_if_missing(interface, "model", model.clone());
        }
    }
    if let Some(rng) = preference.pointer("/devices/preferredRng") {
        set_if_missing(devices, "rng", rng.clone());
    }
    if let Some(tpm) = preference.pointer("/devices/preferredTPM") {
        set_if_missing(devices, "tpm", tpm.clone());
    }
    if preference.pointer("/firmware/preferredUseEfi") == Some(&json!(true))
        && domain.pointer("/firmware/bootloader").is_none()
    {
        let secure = preference
            .pointer("/firmware/preferredUseSecureBoot")
            .cloned()
            .unwrap_or(json!(false));
        if !domain["firmware"].is_object() {
            domain["firmware"] = json!({});
        }
        domain["firmware"]["bootloader"] = json!({"efi": {"secureBoot": secure}});
    }
    if let Some(features) = preference.get("features").and_then(Value::as_object) {
        if !domain["features"].is_object() {
            domain["features"] = json!({});
        }
        for (key, value) in features {
            let plain = key.strip_prefix("preferred").map(|k| {
                let mut chars = k.chars();
                chars
                    .next()
                    .map(|c| c.to_lowercase().collect::<String>() + chars.as_str())
                    .unwrap_or_default()
            });
            if let Some(plain) = plain {
                set_if_missing(&mut domain["features"], &plain, value.clone());
            }
        }
    }
    if let Some(offset) = preference.pointer("/clock/preferredClockOffset") {
        set_if_missing(domain, "clock", offset.clone());
    }
    let annotations = &mut vmi["metadata"]["annotations"];
    if !annotations.is_object() {
        *annotations = json!({});
    }
    for (object, reference, cluster_key, namespaced_key) in [
        (
            &expansion.instancetype,
            &expansion.instancetype_ref,
            "kubevirt.io/cluster-instancetype-name",
            "kubevirt.io/instancetype-name",
        ),
        (
            &expansion.preference,
            &expansion.preference_ref,
            "kubevirt.io/cluster-preference-name",
            "kubevirt.io/preference-name",
        ),
    ] {
        if let (Some(object), Some(reference)) = (object, reference) {
            let key = if meta(object, "namespace").is_empty() {
                cluster_key
            } else {
                namespaced_key
            };
            annotations[key] = reference["name"].clone();
        }
    }
}
