//! VMs that provision their disks and take their size from instancetypes, through kube-rs: a VM
//! with `dataVolumeTemplates` is Provisioning until its DataVolume succeeds, then runs with the
//! instancetype's CPU and memory and the preference's devices; a missing instancetype is a
//! Failure condition in words.

mod support;

use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};
use simcluster::Options;
use support::eventually;

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: format!("{group}/{version}"),
        kind: kind.into(),
        plural: plural.into(),
    }
}

async fn create(api: &Api<DynamicObject>, object: Value) {
    api.create(
        &PostParams::default(),
        &serde_json::from_value(object).unwrap(),
    )
    .await
    .unwrap();
}

async fn get(api: &Api<DynamicObject>, name: &str) -> Option<Value> {
    api.get_opt(name)
        .await
        .unwrap()
        .map(|o| serde_json::to_value(o).unwrap())
}

fn condition<'v>(object: &'v Value, kind: &str) -> Option<&'v Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn new_vm(name: &str, instancetype: &str) -> Value {
    json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
        "spec": {"runStrategy": "Always",
            "instancetype": {"kind": "VirtualMachineClusterInstancetype", "name": instancetype},
            "preference": {"kind": "VirtualMachineClusterPreference", "name": "vmdeck-linux"},
            "dataVolumeTemplates": [{"metadata": {"name": format!("{name}-root")},
                "spec": {"source": {"registry": {"url": "docker://quay.io/containerdisks/fedora:41"}},
                    "storage": {"resources": {"requests": {"storage": "10Gi"}}}}}],
            "template": {"spec": {"domain": {"devices": {"disks": [{"name": "rootdisk", "disk": {}}],
                    "interfaces": [{"name": "default", "masquerade": {}}]}},
                "networks": [{"name": "default", "pod": {}}],
                "volumes": [{"name": "rootdisk", "dataVolume": {"name": format!("{name}-root")}}]}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_provisions_its_disk_then_runs_with_its_instancetype() {
    let cluster = support::start_with(Options {
        with_kubevirt: true,
        ready_delay: Duration::from_millis(400),
        ..Options::default()
    })
    .await;
    let client = cluster.client().await;
    let ar =
        |kind: &str, plural: &str| resource("instancetype.kubevirt.io", "v1beta1", kind, plural);
    let types = Api::<DynamicObject>::all_with(
        client.clone(),
        &ar(
            "VirtualMachineClusterInstancetype",
            "virtualmachineclusterinstancetypes",
        ),
    );
    let prefs = Api::<DynamicObject>::all_with(
        client.clone(),
        &ar(
            "VirtualMachineClusterPreference",
            "virtualmachineclusterpreferences",
        ),
    );
    // As the vm-dashboard pack's templates/instancetypes.yaml.j2 renders them.
    create(&types, json!({"apiVersion": "instancetype.kubevirt.io/v1beta1", "kind": "VirtualMachineClusterInstancetype",
        "metadata": {"name": "vmdeck-medium"}, "spec": {"cpu": {"guest": 2}, "memory": {"guest": "4Gi"}}})).await;
    create(&prefs, json!({"apiVersion": "instancetype.kubevirt.io/v1beta1", "kind": "VirtualMachineClusterPreference",
        "metadata": {"name": "vmdeck-linux"}, "spec": {"devices": {"preferredDiskBus": "virtio", "preferredInterfaceModel": "virtio", "preferredRng": {}},
            "features": {"preferredSmm": {}}, "firmware": {"preferredUseEfi": true, "preferredUseSecureBoot": false}}})).await;
    let vms = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines"),
    );
    let vmis = Api::namespaced_with(
        client.clone(),
        "default",
        &resource(
            "kubevirt.io",
            "v1",
            "VirtualMachineInstance",
            "virtualmachineinstances",
        ),
    );
    create(&vms, new_vm("web", "vmdeck-medium")).await;
    let mut seen = Vec::<String>::new();
    let vmi = eventually("the VM runs", async || {
        if let Some(vm) = get(&vms, "web").await
            && let Some(s) = vm["status"]["printableStatus"].as_str()
            && seen.last().map(String::as_str) != Some(s)
        {
            seen.push(s.to_string());
        }
        get(&vmis, "web")
            .await
            .filter(|v| v["status"]["phase"] == "Running")
    })
    .await;
    assert_eq!(
        seen.first().map(String::as_str),
        Some("Provisioning"),
        "{seen:?}"
    );
    let dv = get(
        &Api::namespaced_with(
            client.clone(),
            "default",
            &resource("cdi.kubevirt.io", "v1beta1", "DataVolume", "datavolumes"),
        ),
        "web-root",
    )
    .await
    .unwrap();
    assert_eq!(
        dv["status"]["phase"], "Succeeded",
        "the VM started only after its disk imported"
    );
    assert_eq!(
        dv["metadata"]["ownerReferences"][0]["kind"],
        "VirtualMachine"
    );
    let domain = &vmi["spec"]["domain"];
    assert_eq!(domain["cpu"]["sockets"], 2, "{domain}");
    assert_eq!(domain["memory"]["guest"], "4Gi");
    assert_eq!(domain["devices"]["disks"][0]["disk"]["bus"], "virtio");
    assert_eq!(domain["devices"]["interfaces"][0]["model"], "virtio");
    assert_eq!(domain["firmware"]["bootloader"]["efi"]["secureBoot"], false);
    assert_eq!(
        vmi["metadata"]["annotations"]["kubevirt.io/cluster-instancetype-name"],
        "vmdeck-medium"
    );
    assert_eq!(vmi["status"]["currentCPUTopology"]["sockets"], 2);
    let vm = eventually("the VM reports its refs", async || {
        get(&vms, "web")
            .await
            .filter(|v| v["status"]["printableStatus"] == "Running")
    })
    .await;
    assert_eq!(vm["status"]["instancetypeRef"]["name"], "vmdeck-medium");
    assert_eq!(vm["status"]["preferenceRef"]["name"], "vmdeck-linux");
    assert_eq!(
        condition(&vm, "DataVolumesReady").unwrap()["status"],
        "True"
    );
    // No VolumeSnapshotClass on this cluster: the VM says why its disk cannot be snapshotted.
    let snapshot = &vm["status"]["volumeSnapshotStatuses"][0];
    assert_eq!(snapshot["enabled"], false);
    assert!(
        snapshot["reason"]
            .as_str()
            .unwrap()
            .starts_with("No VolumeSnapshotClass"),
        "{snapshot}"
    );

    create(&vms, new_vm("lost", "no-such-type")).await;
    let vm = eventually("the VM says its instancetype is missing", async || {
        get(&vms, "lost")
            .await
            .filter(|v| condition(v, "Failure").is_some())
    })
    .await;
    let message = condition(&vm, "Failure").unwrap()["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("\"no-such-type\" not found"), "{message}");
    assert!(
        get(&vmis, "lost").await.is_none(),
        "no VMI without its instancetype"
    );
}
