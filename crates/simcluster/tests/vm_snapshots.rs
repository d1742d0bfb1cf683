//! VM snapshots, restores and clones through kube-rs: a snapshot keeps the VM spec and its
//! disks' VolumeSnapshots, a restore onto a running VM is refused by the webhook and onto a
//! stopped one puts the old spec back with restored disks, a clone makes a new VM; without a
//! VolumeSnapshotClass the snapshot fails saying what is missing.

mod support;

use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use simcluster::{Options, SimCluster};
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

fn api(
    client: &kube::Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        "default",
        &resource(group, version, kind, plural),
    )
}

async fn create(api: &Api<DynamicObject>, object: Value) -> Result<(), kube::Error> {
    api.create(
        &PostParams::default(),
        &serde_json::from_value(object).unwrap(),
    )
    .await
    .map(|_| ())
}

async fn get(api: &Api<DynamicObject>, name: &str) -> Option<Value> {
    api.get_opt(name)
        .await
        .unwrap()
        .map(|o| serde_json::to_value(o).unwrap())
}

async fn cluster(snapshot_controller: bool) -> SimCluster {
    support::start_with(Options {
        with_kubevirt: true,
        with_snapshot_controller: snapshot_controller,
        ready_delay: Duration::from_millis(300),
        ..Options::default()
    })
    .await
}

fn vm(name: &str) -> Value {
    json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
        "spec": {"runStrategy": "Always",
            "dataVolumeTemplates": [{"metadata": {"name": format!("{name}-root")},
                "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "2Gi"}}}}}],
            "template": {"metadata": {"labels": {"tier": "before"}},
                "spec": {"domain": {"devices": {"disks": [{"name": "rootdisk", "disk": {"bus": "virtio"}}],
                    "interfaces": [{"name": "default", "masquerade": {}, "macAddress": "02:00:00:00:00:01"}]},
                    "memory": {"guest": "1Gi"}},
                "networks": [{"name": "default", "pod": {}}],
                "volumes": [{"name": "rootdisk", "dataVolume": {"name": format!("{name}-root")}}]}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_refused_restore_restore_and_clone() {
    let cluster = cluster(true).await;
    let client = cluster.client().await;
    let vms = api(
        &client,
        "kubevirt.io",
        "v1",
        "VirtualMachine",
        "virtualmachines",
    );
    let vmis = api(
        &client,
        "kubevirt.io",
        "v1",
        "VirtualMachineInstance",
        "virtualmachineinstances",
    );
    let snapshots = api(
        &client,
        "snapshot.kubevirt.io",
        "v1beta1",
        "VirtualMachineSnapshot",
        "virtualmachinesnapshots",
    );
    let contents = api(
        &client,
        "snapshot.kubevirt.io",
        "v1beta1",
        "VirtualMachineSnapshotContent",
        "virtualmachinesnapshotcontents",
    );
    let restores = api(
        &client,
        "snapshot.kubevirt.io",
        "v1beta1",
        "VirtualMachineRestore",
        "virtualmachinerestores",
    );
    let clones = api(
        &client,
        "clone.kubevirt.io",
        "v1beta1",
        "VirtualMachineClone",
        "virtualmachineclones",
    );
    let dvs = api(
        &client,
        "cdi.kubevirt.io",
        "v1beta1",
        "DataVolume",
        "datavolumes",
    );
    let volume_snapshots = api(
        &client,
        "snapshot.storage.k8s.io",
        "v1",
        "VolumeSnapshot",
        "volumesnapshots",
    );
    create(&vms, vm("db")).await.unwrap();
    eventually("the VM runs", async || {
        get(&vmis, "db")
            .await
            .filter(|v| v["status"]["phase"] == "Running")
    })
    .await;
    let vm = get(&vms, "db").await.unwrap();
    assert_eq!(
        vm["status"]["volumeSnapshotStatuses"][0]["enabled"], true,
        "{}",
        vm["status"]
    );

    create(&snapshots, json!({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
        "metadata": {"name": "before"}, "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"}}}))
    .await
    .unwrap();
    let snapshot = eventually("the snapshot succeeds", async || {
        get(&snapshots, "before")
            .await
            .filter(|s| s["status"]["phase"] == "Succeeded")
    })
    .await;
    assert_eq!(snapshot["status"]["readyToUse"], true);
    assert_eq!(snapshot["status"]["sourceUID"], vm["metadata"]["uid"]);
    assert_eq!(snapshot["status"]["indications"][0], "Online");
    let content = get(
        &contents,
        snapshot["status"]["virtualMachineSnapshotContentName"]
            .as_str()
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        content["spec"]["source"]["virtualMachine"]["spec"]["template"]["metadata"]["labels"]["tier"],
        "before"
    );
    let backup = &content["spec"]["volumeBackups"][0];
    assert_eq!(backup["volumeName"], "rootdisk");
    let vs = get(
        &volume_snapshots,
        backup["volumeSnapshotName"].as_str().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(vs["status"]["readyToUse"], true);
    assert_eq!(vs["status"]["restoreSize"], "2Gi");

    // The VM changes; a restore while it runs is refused as KubeVirt's webhook refuses it.
    let patch = PatchParams::default();
    vms.patch(
        "db",
        &patch,
        &Patch::Merge(json!({"spec": {"template": {"metadata": {"labels": {"tier": "after"}}}}})),
    )
    .await
    .unwrap();
    let restore = json!({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineRestore",
        "metadata": {"name": "back"}, "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"},
            "virtualMachineSnapshotName": "before"}});
    match create(&restores, restore.clone()).await.unwrap_err() {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 422);
            assert!(
                status
                    .message
                    .contains("VirtualMachine \"db\" is not stopped"),
                "{}",
                status.message
            );
        }
        other => panic!("unexpected {other}"),
    }
    vms.patch(
        "db",
        &patch,
        &Patch::Merge(json!({"spec": {"runStrategy": "Halted"}})),
    )
    .await
    .unwrap();
    eventually("the VM stops", async || {
        get(&vmis, "db").await.is_none().then_some(())
    })
    .await;
    create(&restores, restore).await.unwrap();
    let done = eventually("the restore completes", async || {
        get(&restores, "back")
            .await
            .filter(|r| r["status"]["complete"] == true)
    })
    .await;
    assert!(done["status"]["restoreTime"].is_string());
    let restored_claim = done["status"]["restores"][0]["persistentVolumeClaim"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(restored_claim.starts_with("restore-"), "{restored_claim}");
    let vm = get(&vms, "db").await.unwrap();
    assert_eq!(
        vm["spec"]["template"]["metadata"]["labels"]["tier"], "before",
        "the change is gone"
    );
    assert_eq!(vm["spec"]["runStrategy"], "Halted", "the VM stays stopped");
    assert_eq!(
        vm["spec"]["template"]["spec"]["volumes"][0]["dataVolume"]["name"],
        restored_claim.as_str()
    );
    eventually("the restored disk's DataVolume is adopted", async || {
        get(&dvs, &restored_claim)
            .await
            .filter(|d| d["status"]["phase"] == "Succeeded")
    })
    .await;
    eventually("the old disk goes", async || {
        get(&dvs, "db-root").await.is_none().then_some(())
    })
    .await;

    create(&clones, json!({"apiVersion": "clone.kubevirt.io/v1beta1", "kind": "VirtualMachineClone",
        "metadata": {"name": "copy"}, "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"},
            "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db-copy"}}}))
    .await
    .unwrap();
    let mut phases = Vec::<String>::new();
    eventually("the clone succeeds", async || {
        let clone = get(&clones, "copy").await?;
        let phase = clone["status"]["phase"].as_str()?.to_string();
        if phases.last() != Some(&phase) {
            phases.push(phase.clone());
        }
        (phase == "Succeeded").then_some(())
    })
    .await;
    assert_eq!(
        phases.first().map(String::as_str),
        Some("SnapshotInProgress"),
        "{phases:?}"
    );
    let copy = get(&vms, "db-copy").await.expect("the clone's VM exists");
    assert_eq!(
        copy["spec"]["template"]["metadata"]["labels"]["tier"],
        "before"
    );
    assert!(
        copy["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]
            .get("macAddress")
            .is_none(),
        "a new MAC"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_volume_snapshot_class_the_snapshot_fails_saying_so() {
    let cluster = cluster(false).await;
    let client = cluster.client().await;
    let vms = api(
        &client,
        "kubevirt.io",
        "v1",
        "VirtualMachine",
        "virtualmachines",
    );
    let snapshots = api(
        &client,
        "snapshot.kubevirt.io",
        "v1beta1",
        "VirtualMachineSnapshot",
        "virtualmachinesnapshots",
    );
    create(&vms, vm("db")).await.unwrap();
    create(&snapshots, json!({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
        "metadata": {"name": "snap"}, "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"}}}))
    .await
    .unwrap();
    let snapshot = eventually("the snapshot fails", async || {
        get(&snapshots, "snap")
            .await
            .filter(|s| s["status"]["phase"] == "Failed")
    })
    .await;
    let message = snapshot["status"]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("No VolumeSnapshotClass") && message.contains("[standard] [rootdisk]"),
        "{message}"
    );
    assert_eq!(snapshot["status"]["readyToUse"], false);
}
