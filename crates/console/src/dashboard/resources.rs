//! The kinds the dashboard reads and writes (CDI, instancetypes, snapshots, clones, Multus,
//! volume snapshots) as kube `ApiResource`s, read as `DynamicObject`s.

use kube::api::{ApiResource, GroupVersionKind};

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

pub fn data_volume() -> ApiResource {
    resource("cdi.kubevirt.io", "v1beta1", "DataVolume", "datavolumes")
}

pub fn data_source() -> ApiResource {
    resource("cdi.kubevirt.io", "v1beta1", "DataSource", "datasources")
}

/// The instancetype kind: cluster-wide or namespaced.
pub fn instancetype(cluster_wide: bool) -> ApiResource {
    if cluster_wide {
        resource(
            "instancetype.kubevirt.io",
            "v1beta1",
            "VirtualMachineClusterInstancetype",
            "virtualmachineclusterinstancetypes",
        )
    } else {
        resource(
            "instancetype.kubevirt.io",
            "v1beta1",
            "VirtualMachineInstancetype",
            "virtualmachineinstancetypes",
        )
    }
}

/// The preference kind: cluster-wide or namespaced.
pub fn preference(cluster_wide: bool) -> ApiResource {
    if cluster_wide {
        resource(
            "instancetype.kubevirt.io",
            "v1beta1",
            "VirtualMachineClusterPreference",
            "virtualmachineclusterpreferences",
        )
    } else {
        resource(
            "instancetype.kubevirt.io",
            "v1beta1",
            "VirtualMachinePreference",
            "virtualmachinepreferences",
        )
    }
}

pub fn network_attachment_definition() -> ApiResource {
    resource(
        "k8s.cni.cncf.io",
        "v1",
        "NetworkAttachmentDefinition",
        "network-attachment-definitions",
    )
}

pub fn vm_snapshot() -> ApiResource {
    resource(
        "snapshot.kubevirt.io",
        "v1beta1",
        "VirtualMachineSnapshot",
        "virtualmachinesnapshots",
    )
}

pub fn vm_snapshot_content() -> ApiResource {
    resource(
        "snapshot.kubevirt.io",
        "v1beta1",
        "VirtualMachineSnapshotContent",
        "virtualmachinesnapshotcontents",
    )
}

pub fn vm_restore() -> ApiResource {
    resource(
        "snapshot.kubevirt.io",
        "v1beta1",
        "VirtualMachineRestore",
        "virtualmachinerestores",
    )
}

pub fn vm_clone() -> ApiResource {
    resource(
        "clone.kubevirt.io",
        "v1beta1",
        "VirtualMachineClone",
        "virtualmachineclones",
    )
}

pub fn volume_snapshot() -> ApiResource {
    resource(
        "snapshot.storage.k8s.io",
        "v1",
        "VolumeSnapshot",
        "volumesnapshots",
    )
}

pub fn volume_snapshot_class() -> ApiResource {
    resource(
        "snapshot.storage.k8s.io",
        "v1",
        "VolumeSnapshotClass",
        "volumesnapshotclasses",
    )
}

pub fn kubevirt() -> ApiResource {
    resource("kubevirt.io", "v1", "KubeVirt", "kubevirts")
}
