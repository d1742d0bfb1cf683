//! The cluster a simulator starts with: system namespaces, Ready nodes with realistic labels
//! and capacity, and (unless bare) a default StorageClass and a running default CNI.

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::objects::{WriteContext, now};
use crate::status::ApiError;

/// What to seed.
#[derive(Debug, Clone)]
pub struct Topology {
    pub nodes: usize,
    /// Nodes have hardware virtualization (`/dev/kvm`).
    pub kvm: bool,
    /// Only namespaces and nodes: no StorageClass, no CNI.
    pub bare: bool,
}

/// Label marking whether a node offers hardware virtualization.
pub const KVM_LABEL: &str = "simcluster.vmdeck.io/kvm";
pub const CNI_DAEMONSET: &str = "kindnet";

fn create(
    cluster: &Cluster,
    group: &str,
    plural: &str,
    namespace: Option<&str>,
    object: Value,
) -> Result<(), ApiError> {
    let rt = cluster
        .registry()
        .get(group, "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} not served")))?;
    match cluster.objects.create(
        &rt,
        namespace,
        object,
        &WriteContext::system("simcluster-bootstrap"),
    ) {
        Ok(_) => Ok(()),
        Err(error) if error.code == 409 => Ok(()),
        Err(error) => Err(error),
    }
}

pub fn node(index: usize, kvm: bool, version: &str) -> Value {
    let name = format!("sim-node-{}", index + 1);
    let zone = ["a", "b", "c"][index % 3];
    let mut labels = json!({
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/region": "sim-region-1",
        "topology.kubernetes.io/zone": format!("sim-region-1{zone}"),
        "node.kubernetes.io/instance-type": "sim.xlarge",
        KVM_LABEL: kvm.to_string(),
    });
    if index == 0 {
        labels["node-role.kubernetes.io/control-plane"] = json!("");
    }
    let resources = json!({"cpu": "16", "memory": "65843012Ki", "pods": "110", "ephemeral-storage": "514937088Ki", "hugepages-2Mi": "0"});
    let now = now();
    let condition = |kind: &str, status: &str, reason: &str, message: &str| json!({"type": kind, "status": status, "reason": reason, "message": message, "lastHeartbeatTime": now, "lastTransitionTime": now});
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"podCIDR": format!("10.244.{index}.0/24"), "podCIDRs": [format!("10.244.{index}.0/24")]},
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": format!("172.18.0.{}", index + 2)}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": format!("{:032x}", index + 1),
                "systemUUID": format!("{:08x}-0000-4000-8000-{:012x}", index + 1, index + 1),
                "bootID": format!("{:08x}-b007-4000-8000-000000000000", index + 1),
                "kernelVersion": "6.12.48-amd64",
                "osImage": "Debian GNU/Linux 13 (trixie)",
                "containerRuntimeVersion": "containerd://2.1.4",
                "kubeletVersion": version,
                "kubeProxyVersion": version,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    })
}

/// Seed a fresh cluster.
pub fn seed(cluster: &Cluster, topology: &Topology) -> Result<(), ApiError> {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        create(
            cluster,
            "",
            "namespaces",
            None,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )?;
    }
    create(
        cluster,
        "",
        "services",
        Some("default"),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
        }),
    )?;
    for i in 0..topology.nodes {
        create(
            cluster,
            "",
            "nodes",
            None,
            node(i, topology.kvm, &cluster.server_version),
        )?;
    }
    if topology.bare {
        return Ok(());
    }
    create(
        cluster,
        "storage.k8s.io",
        "storageclasses",
        None,
        json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": crate::CSI_DRIVER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
            "allowVolumeExpansion": true,
        }),
    )?;
    create(
        cluster,
        "storage.k8s.io",
        "csidrivers",
        None,
        json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
            "metadata": {"name": crate::CSI_DRIVER},
            "spec": {"attachRequired": false, "podInfoOnMount": true, "volumeLifecycleModes": ["Persistent"]},
        }),
    )?;
    let n = topology.nodes;
    create(
        cluster,
        "apps",
        "daemonsets",
        Some("kube-system"),
        json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": CNI_DAEMONSET, "namespace": "kube-system", "labels": {"app": CNI_DAEMONSET, "k8s-app": CNI_DAEMONSET, "tier": "node"}},
            "spec": {
                "selector": {"matchLabels": {"app": CNI_DAEMONSET}},
                "template": {"metadata": {"labels": {"app": CNI_DAEMONSET, "k8s-app": CNI_DAEMONSET, "tier": "node"}},
                    "spec": {"hostNetwork": true, "containers": [{"name": "kindnet-cni", "image": "docker.io/kindest/kindnetd:v20250512-df8de77b",
                        "volumeMounts": [{"name": "cni-cfg", "mountPath": "/etc/cni/net.d"}]}],
                        "volumes": [{"name": "cni-cfg", "hostPath": {"path": "/etc/cni/net.d"}}]}},
            },
            "status": {"currentNumberScheduled": n, "desiredNumberScheduled": n, "numberAvailable": n, "numberMisscheduled": 0,
                "numberReady": n, "updatedNumberScheduled": n, "observedGeneration": 1},
        }),
    )?;
    Ok(())
}
