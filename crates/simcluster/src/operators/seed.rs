//! What a simulated cluster can start with: KubeVirt and CDI already installed and Deployed, a
//! snapshot controller installed by someone else, and N virtual machines across namespaces.

use std::sync::Arc;

use serde_json::{Value, json};

use super::kubevirt_webhooks::KubeVirtWebhooks;
use super::vm_controller::{vmis, vms};
use super::{FirstSeen, Requeue, Timing, crd_catalog, ensure, workloads};
use crate::cluster::Cluster;
use crate::objects::WriteContext;
use crate::resources::GroupResource;
use crate::status::ApiError;
use crate::store::ObjectKey;

const MANAGER: &str = "simcluster-seed";
pub const KUBEVIRT_VERSION: &str = "v1.8.4";
pub const CDI_VERSION: &str = "v1.64.0";
/// Namespaces seeded VMs are spread over.
pub const VM_NAMESPACES: &[&str] = &["dev", "staging", "prod"];
const ROLES: &[(&str, &str)] = &[
    ("web", "quay.io/containerdisks/fedora:41"),
    ("db", "quay.io/containerdisks/ubuntu:24.04"),
    ("cache", "quay.io/containerdisks/fedora:41"),
    ("win11", "registry.example.com/containerdisks/windows:11"),
    ("build", "quay.io/containerdisks/ubuntu:24.04"),
    ("gitlab", "quay.io/containerdisks/ubuntu:24.04"),
];

/// Bring every workload to its final state now (no delay).
pub fn settle_workloads(cluster: &Cluster) {
    let mut first_seen = FirstSeen::default();
    for resource in ["deployments", "daemonsets", "statefulsets"] {
        let gr = GroupResource::new("apps", resource);
        let (all, _) = cluster.store().list(&gr, None);
        for object in all {
            let key = ObjectKey::new(
                object.meta_str("namespace").unwrap_or(""),
                object.meta_str("name").unwrap_or(""),
            );
            workloads::reconcile(
                cluster,
                &(gr.clone(), key),
                Timing::default(),
                &mut first_seen,
                &Requeue::none(),
            );
        }
    }
}

fn namespace(cluster: &Cluster, name: &str, labels: Value) -> Result<(), ApiError> {
    ensure(cluster, MANAGER, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})).map(|_| ())
}

fn operator_deployment(
    ns: &str,
    name: &str,
    image: &str,
    env: (&str, &str),
    labels: Value,
) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"replicas": if name == "virt-operator" { 2 } else { 1 },
            "selector": {"matchLabels": {"name": name}},
            "template": {"metadata": {"labels": {"name": name}},
                "spec": {"serviceAccountName": name, "containers": [{"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
                    "env": [{"name": env.0, "value": env.1}]}]}}},
    })
}

/// KubeVirt and CDI operators with their CRs, deployed: what `--with-kubevirt` starts with.
pub fn install_kubevirt(cluster: &Cluster, webhooks: &KubeVirtWebhooks) -> Result<(), ApiError> {
    namespace(
        cluster,
        "kubevirt",
        json!({"kubevirt.io": "", "pod-security.kubernetes.io/enforce": "privileged"}),
    )?;
    namespace(cluster, "cdi", json!({"cdi.kubevirt.io": ""}))?;
    for spec in crd_catalog::OPERATOR_CRS {
        ensure(
            cluster,
            MANAGER,
            crd_catalog::crd(spec, &json!({"operator.kubevirt.io": ""})),
        )?;
    }
    ensure(
        cluster,
        MANAGER,
        operator_deployment(
            "kubevirt",
            "virt-operator",
            &format!("quay.io/kubevirt/virt-operator:{KUBEVIRT_VERSION}"),
            ("KUBEVIRT_VERSION", KUBEVIRT_VERSION),
            json!({"kubevirt.io": "virt-operator"}),
        ),
    )?;
    ensure(
        cluster,
        MANAGER,
        operator_deployment(
            "cdi",
            "cdi-operator",
            &format!("quay.io/kubevirt/cdi-operator:{CDI_VERSION}"),
            ("OPERATOR_VERSION", CDI_VERSION),
            json!({"cdi.kubevirt.io": "cdi-operator", "operator.cdi.kubevirt.io": ""}),
        ),
    )?;
    ensure(
        cluster,
        MANAGER,
        json!({"apiVersion": "kubevirt.io/v1", "kind": "KubeVirt", "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
            "spec": {"certificateRotateStrategy": {}, "configuration": {"developerConfiguration": {"featureGates": []}},
                "customizeComponents": {}, "imagePullPolicy": "IfNotPresent", "workloadUpdateStrategy": {}}}),
    )?;
    ensure(
        cluster,
        MANAGER,
        json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "CDI", "metadata": {"name": "cdi"},
            "spec": {"config": {"featureGates": ["HonorWaitForFirstConsumer"]}, "imagePullPolicy": "IfNotPresent",
                "infra": {"nodeSelector": {"kubernetes.io/os": "linux"}}, "workload": {"nodeSelector": {"kubernetes.io/os": "linux"}}}}),
    )?;
    // Operator up, components created, components up, CR Deployed.
    for _ in 0..3 {
        settle_workloads(cluster);
        super::virt_operator::reconcile(cluster, &ObjectKey::new("kubevirt", "kubevirt"), webhooks);
        super::cdi_operator::reconcile(cluster, &ObjectKey::new("", "cdi"));
    }
    Ok(())
}

/// A snapshot controller and its CRDs installed by a backup tool (preflight must not install another).
pub fn snapshot_controller(cluster: &Cluster) -> Result<(), ApiError> {
    let labels =
        json!({"app.kubernetes.io/managed-by": "velero", "app.kubernetes.io/part-of": "velero"});
    for spec in crd_catalog::SNAPSHOTS {
        let mut crd = crd_catalog::crd(spec, &labels);
        crd["metadata"]["annotations"] = json!({"api-approved.kubernetes.io": "https://github.com/kubernetes-csi/external-snapshotter/pull/814"});
        ensure(cluster, MANAGER, crd)?;
    }
    let mut deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "snapshot-controller", "namespace": "kube-system", "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app.kubernetes.io/name": "snapshot-controller"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": "snapshot-controller"}},
                "spec": {"serviceAccountName": "snapshot-controller", "containers": [{"name": "snapshot-controller",
                    "image": "registry.k8s.io/sig-storage/snapshot-controller:v8.2.0", "args": ["--v=5", "--leader-election=true"]}]}}},
    });
    deployment["metadata"]["labels"]["app.kubernetes.io/name"] = json!("snapshot-controller");
    ensure(cluster, MANAGER, deployment)?;
    ensure(
        cluster,
        MANAGER,
        json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
            "metadata": {"name": "csi-hostpath-snapclass", "labels": labels,
                "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"}},
            "driver": crate::CSI_DRIVER, "deletionPolicy": "Delete"}),
    )?;
    settle_workloads(cluster);
    Ok(())
}

/// The i-th seeded VM: namespace, and the object.
pub fn vm(i: usize) -> (&'static str, Value) {
    let ns = VM_NAMESPACES[i % VM_NAMESPACES.len()];
    let n = i / VM_NAMESPACES.len();
    let (role, image) = ROLES[n % ROLES.len()];
    let name = format!("{role}-{:02}", n + 1);
    let strategy = match i % 8 {
        3 | 7 => "Halted",
        5 => "Manual",
        _ => "Always",
    };
    let mut annotations = json!({"kubevirt.io/latest-observed-api-version": "v1", "kubevirt.io/storage-observed-api-version": "v1"});
    if i.is_multiple_of(2) {
        annotations[super::GUEST_AGENT_ANNOTATION] = json!("true");
    }
    let cores = 1 + (i % 4);
    let memory = if role == "win11" {
        "8Gi"
    } else {
        ["1Gi", "2Gi", "4Gi"][i % 3]
    };
    let vm = json!({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations,
            "labels": {"app": role, "simcluster.vmdeck.io/seeded": "true"}},
        "spec": {
            "runStrategy": strategy,
            "template": {
                "metadata": {"labels": {"kubevirt.io/domain": name, "kubevirt.io/size": "small", "app": role}},
                "spec": {
                    "domain": {
                        "cpu": {"cores": cores, "sockets": 1, "threads": 1},
                        "memory": {"guest": memory},
                        "devices": {
                            "disks": [{"name": "rootdisk", "disk": {"bus": "virtio"}}, {"name": "cloudinitdisk", "disk": {"bus": "virtio"}}],
                            "interfaces": [{"name": "default", "masquerade": {}}],
                        },
                        "features": {"acpi": {}},
                        "machine": {"type": "q35"},
                        "resources": {"requests": {"memory": memory}},
                    },
                    "networks": [{"name": "default", "pod": {}}],
                    "terminationGracePeriodSeconds": 180,
                    "volumes": [
                        {"name": "rootdisk", "containerDisk": {"image": image}},
                        {"name": "cloudinitdisk", "cloudInitNoCloud": {"userData": format!("#cloud-config\nhostname: {name}\nssh_pwauth: false\n")}},
                    ],
                },
            },
        },
    });
    (ns, vm)
}

/// Create `count` VMs (and their namespaces); existing ones are left alone.
pub fn create_vms(cluster: &Cluster, count: usize) -> Result<(), ApiError> {
    let rt = cluster
        .registry()
        .any_version(&vms())
        .ok_or_else(|| ApiError::internal("virtualmachines.kubevirt.io is not served yet"))?;
    for ns in VM_NAMESPACES.iter().take(count) {
        namespace(cluster, ns, json!({"simcluster.vmdeck.io/seeded": "true"}))?;
    }
    let ctx = WriteContext::system(MANAGER);
    for i in 0..count {
        let (ns, object) = vm(i);
        match cluster.objects.create(&rt, Some(ns), object, &ctx) {
            Err(error) if error.code != 409 => return Err(error),
            _ => {}
        }
    }
    Ok(())
}

/// Bring every VM and VMI to its final state now (no delay).
pub fn settle_vms(cluster: &Cluster) {
    let (all, _) = cluster.store().list(&vms(), None);
    let mut first_seen = FirstSeen::default();
    for vm in all {
        let key = ObjectKey::new(
            vm.meta_str("namespace").unwrap_or(""),
            vm.meta_str("name").unwrap_or(""),
        );
        super::vm_controller::reconcile(cluster, &key);
        if cluster.store().get(&vmis(), &key).is_some() {
            super::vmi_lifecycle::reconcile(
                cluster,
                &key,
                Timing::default(),
                &mut first_seen,
                &Requeue::none(),
            );
            super::vm_controller::reconcile(cluster, &key);
        }
    }
}

/// Wait until KubeVirt's API is served (someone installs KubeVirt), then create the VMs.
pub async fn vms_when_served(
    cluster: Arc<Cluster>,
    count: usize,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if cluster.registry().any_version(&vms()).is_some() {
            if let Err(error) = create_vms(&cluster, count) {
                tracing::warn!("seeding {count} VMs: {error}");
            }
            return;
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
        }
    }
}
