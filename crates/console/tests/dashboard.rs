//! The dashboard engine against simcluster with KubeVirt, through kube-rs: bad drafts refused
//! at the field with nothing created, the reviewed YAML is what gets created (the Secret owned
//! by the VM, the password only there), and the snapshot action says what is missing.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use vmdeck_console::dashboard::create::{CreateError, create, review};
use vmdeck_console::dashboard::snapshots::capability;
use vmdeck_console::dashboard::{BootSource, CloudInit, TypeRef, VmDraft, resources};
use vmdeck_console::kinds::vm_resource;
use vmdeck_test_support::eventually;

mod support;

async fn apply(
    client: &kube::Client,
    resource: &kube::api::ApiResource,
    namespace: Option<&str>,
    object: Value,
) {
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    };
    let name = object["metadata"]["name"].as_str().unwrap().to_string();
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    eventually(&format!("{name} created"), async || {
        api.create(&PostParams::default(), &object).await.ok()
    })
    .await;
}

/// KubeVirt's API served, an instancetype and a golden-image DataSource like the pack's.
async fn cluster(snapshot_controller: bool) -> (simcluster::SimCluster, kube::Client) {
    let cluster = simcluster::SimCluster::start(simcluster::Options {
        with_kubevirt: true,
        with_snapshot_controller: snapshot_controller,
        ..simcluster::Options::default()
    })
    .await
    .expect("simcluster starts");
    let client = cluster.client().await;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for ns in ["dev", "vm-dashboard"] {
        let object = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        let _ = namespaces.create(&PostParams::default(), &object).await;
    }
    apply(
        &client,
        &resources::instancetype(true),
        None,
        json!({"apiVersion": "instancetype.kubevirt.io/v1beta1", "kind": "VirtualMachineClusterInstancetype",
               "metadata": {"name": "vmdeck-small"}, "spec": {"cpu": {"guest": 1}, "memory": {"guest": "2Gi"}}}),
    )
    .await;
    apply(
        &client,
        &resources::data_source(),
        Some("vm-dashboard"),
        json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataSource",
               "metadata": {"name": "fedora", "namespace": "vm-dashboard"},
               "spec": {"source": {"pvc": {"name": "fedora", "namespace": "vm-dashboard"}}}}),
    )
    .await;
    (cluster, client)
}

fn draft() -> VmDraft {
    VmDraft {
        namespace: "dev".into(),
        name: "web".into(),
        instancetype: Some(TypeRef::cluster("vmdeck-small")),
        boot_source: Some(BootSource::DataSource {
            namespace: "vm-dashboard".into(),
            name: "fedora".into(),
        }),
        disk_size: "10Gi".into(),
        cloud_init: Some(CloudInit {
            user: "fedora".into(),
            ssh_key: None,
            password: Some("pa55-word".into()),
        }),
        ..VmDraft::default()
    }
}

async fn names(client: &kube::Client, resource: &kube::api::ApiResource, ns: &str) -> Vec<String> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, resource);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect()
}

fn fields(error: CreateError) -> Vec<(String, String)> {
    match error {
        CreateError::Invalid(errors) => errors.0.into_iter().map(|e| (e.field, e.fix)).collect(),
        other => panic!("not a field error: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_drafts_are_refused_at_the_field_and_nothing_is_created() {
    let (_cluster, client) = cluster(false).await;
    let bad = VmDraft {
        name: "Web_01".into(),
        disk_size: "10 gigs".into(),
        boot_source: None,
        ..draft()
    };
    let at = fields(create(&client, &bad).await.unwrap_err());
    let at_fields: Vec<&str> = at.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(at_fields, ["name", "boot_source", "disk_size"]);
    assert!(at.iter().all(|(_, fix)| !fix.is_empty()));

    // Well-formed, but naming what the cluster lacks: all said at once.
    let missing = VmDraft {
        instancetype: Some(TypeRef::cluster("u1.nope")),
        boot_source: Some(BootSource::DataSource {
            namespace: "vm-dashboard".into(),
            name: "arch".into(),
        }),
        storage_class: Some("gold".into()),
        networks: vmdeck_console::dashboard::Networks {
            pod: true,
            multus: vec!["lan".into()],
        },
        ..draft()
    };
    let at = fields(create(&client, &missing).await.unwrap_err());
    let at_fields: Vec<&str> = at.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        at_fields,
        [
            "instancetype",
            "boot_source.name",
            "storage_class",
            "networks.multus[0]"
        ],
        "{at:?}"
    );
    assert!(
        at[2].1.contains("standard"),
        "the fix names the classes there are: {}",
        at[2].1
    );

    assert!(
        names(&client, &vm_resource(), "dev").await.is_empty(),
        "no VM created"
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "dev");
    assert!(
        secrets.get_opt("web-cloudinit").await.unwrap().is_none(),
        "no Secret created"
    );
}

/// The server's additions stripped, to compare with what was sent.
fn as_sent(mut object: Value) -> Value {
    let meta = object["metadata"].as_object_mut().unwrap();
    for key in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "generation",
        "managedFields",
        "ownerReferences",
        "finalizers",
        "annotations",
    ] {
        meta.remove(key);
    }
    object.as_object_mut().unwrap().remove("status");
    object
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_is_what_gets_created() {
    let (_cluster, client) = cluster(false).await;
    let reviewed = review(&client, &draft()).await.unwrap();
    assert!(
        !reviewed.yaml.contains("pa55-word"),
        "the password is not shown"
    );
    let docs: Vec<Value> = reviewed
        .yaml
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml_ng::from_str(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert!(
        names(&client, &vm_resource(), "dev").await.is_empty(),
        "a review creates nothing"
    );

    let created = create(&client, &draft()).await.unwrap();
    assert_eq!(created.secret.as_deref(), Some("web-cloudinit"));
    let vms: Api<DynamicObject> = Api::namespaced_with(client.clone(), "dev", &vm_resource());
    let vm = serde_json::to_value(vms.get("web").await.unwrap()).unwrap();
    assert!(
        !vm.to_string().contains("pa55-word"),
        "the password is not in the VM"
    );
    let vm_doc = docs.iter().find(|d| d["kind"] == "VirtualMachine").unwrap();
    assert_eq!(
        vm_doc["spec"], vm["spec"],
        "the reviewed VM spec is the created one"
    );
    assert_eq!(as_sent(vm.clone())["metadata"], vm_doc["metadata"]);

    let secrets: Api<Secret> = Api::namespaced(client.clone(), "dev");
    let secret = secrets.get("web-cloudinit").await.unwrap();
    let owner = &secret.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
        ("VirtualMachine", "web", created.uid.as_str())
    );
    let user_data = String::from_utf8(secret.data.as_ref().unwrap()["userdata"].0.clone()).unwrap();
    assert!(
        user_data.contains("pa55-word"),
        "the password is in the Secret"
    );
    let secret_doc = docs.iter().find(|d| d["kind"] == "Secret").unwrap();
    assert_eq!(secret_doc["data"]["userdata"], "(hidden)");
    assert_eq!(secret_doc["metadata"]["name"], "web-cloudinit");

    // The name is now taken.
    let at = fields(create(&client, &draft()).await.unwrap_err());
    assert_eq!(at[0].0, "name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_action_says_what_is_missing() {
    let (_cluster, client) = cluster(true).await;
    create(
        &client,
        &VmDraft {
            cloud_init: None,
            ..draft()
        },
    )
    .await
    .unwrap();
    // Turn the Snapshot gate on: only the VolumeSnapshotClass is missing then.
    let kubevirts: Api<DynamicObject> = Api::all_with(client.clone(), &resources::kubevirt());
    let kv = kubevirts
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let ns = kv.metadata.namespace.clone().unwrap();
    let name = kv.metadata.name.clone().unwrap();
    let off = capability(&client, "dev", "web").await.unwrap();
    assert!(!off.available);
    let gate = json!({"spec": {"configuration": {"developerConfiguration": {"featureGates": ["Snapshot"]}}}});
    Api::<DynamicObject>::namespaced_with(client.clone(), &ns, &resources::kubevirt())
        .patch(&name, &PatchParams::default(), &Patch::Merge(&gate))
        .await
        .unwrap();
    // The snapshot controller's class is for another driver: remove it, the disk's has none.
    let classes: Api<DynamicObject> =
        Api::all_with(client.clone(), &resources::volume_snapshot_class());
    let installed = classes.list(&ListParams::default()).await.unwrap().items;
    for class in &installed {
        let name = class.metadata.name.clone().unwrap();
        if class.data["driver"] == "hostpath.csi.simcluster.vmdeck.io" {
            classes.delete(&name, &Default::default()).await.unwrap();
        }
    }
    let can = capability(&client, "dev", "web").await.unwrap();
    assert!(!can.available, "{can:?}");
    let reason = can.reason.unwrap();
    assert!(
        reason.contains("no VolumeSnapshotClass for the driver hostpath.csi.simcluster.vmdeck.io"),
        "{reason}"
    );
    let taken = vmdeck_console::dashboard::snapshots::take(&client, "dev", "web", "s1")
        .await
        .unwrap_err();
    assert!(taken.to_string().contains("VolumeSnapshotClass"), "{taken}");
    assert!(
        names(&client, &resources::vm_snapshot(), "dev")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_change_restore_and_clone() {
    let (_cluster, client) = cluster(true).await;
    let gate = json!({"spec": {"configuration": {"developerConfiguration": {"featureGates": ["Snapshot"]}}}});
    let kubevirts: Api<DynamicObject> = Api::all_with(client.clone(), &resources::kubevirt());
    let kv = kubevirts
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .remove(0);
    Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &kv.metadata.namespace.unwrap(),
        &resources::kubevirt(),
    )
    .patch(
        &kv.metadata.name.unwrap(),
        &PatchParams::default(),
        &Patch::Merge(&gate),
    )
    .await
    .unwrap();
    let draft = VmDraft {
        boot_source: Some(BootSource::ContainerDisk {
            image: "quay.io/containerdisks/fedora:41".into(),
        }),
        cloud_init: None,
        start: true,
        ..draft()
    };
    create(&client, &draft).await.unwrap();
    let vmis: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "dev",
        &vmdeck_console::kinds::vmi_resource(),
    );
    eventually("web running", async || {
        (vmis
            .get_opt("web")
            .await
            .ok()??
            .data
            .pointer("/status/phase")?
            .as_str()?
            == "Running")
            .then_some(())
    })
    .await;
    let can = capability(&client, "dev", "web").await.unwrap();
    assert_eq!(can.reason, None);
    use vmdeck_console::dashboard::snapshots;
    snapshots::take(&client, "dev", "web", "s1").await.unwrap();
    snapshots::wait_ready(&client, "dev", "s1").await.unwrap();
    let listed = snapshots::list(&client, "dev", Some("web")).await.unwrap();
    assert_eq!(
        (listed[0].name.as_str(), listed[0].ready),
        ("s1", true),
        "{listed:?}"
    );

    let vms: Api<DynamicObject> = Api::namespaced_with(client.clone(), "dev", &vm_resource());
    let change = json!({"spec": {"template": {"metadata": {"labels": {"changed": "yes"}}}}});
    vms.patch("web", &PatchParams::default(), &Patch::Merge(&change))
        .await
        .unwrap();
    let mut steps = Vec::new();
    let stopped = snapshots::restore(&client, "dev", "web", "s1", |s| steps.push(s.clone()))
        .await
        .unwrap();
    assert!(stopped, "the running VM was stopped first");
    assert!(
        matches!(steps[0], snapshots::RestoreStep::Stopping { .. }),
        "{steps:?}"
    );
    let vm = vms.get("web").await.unwrap();
    assert!(
        vm.data
            .pointer("/spec/template/metadata/labels/changed")
            .is_none(),
        "the change is gone"
    );

    let method = vmdeck_console::dashboard::clone::clone_vm(&client, "dev", "web", "web-copy")
        .await
        .unwrap();
    assert!(
        vms.get_opt("web-copy").await.unwrap().is_some(),
        "cloned by {method:?}"
    );
}
