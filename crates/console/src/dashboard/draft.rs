//! The create-a-VM form as data (`VmDraft`, serde both ways for the app and `vmdeckctl`), and
//! the error a field carries (`FieldError`: field path, message, fix).

use serde::{Deserialize, Serialize};

/// What a person fills in to create a VM.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VmDraft {
    pub namespace: String,
    pub name: String,
    /// CPU and memory from an instancetype (cluster-wide or in the VM's namespace).
    pub instancetype: Option<TypeRef>,
    /// Devices and firmware from a preference (cluster-wide or in the VM's namespace).
    pub preference: Option<TypeRef>,
    pub boot_source: Option<BootSource>,
    /// The root disk's size, a Kubernetes quantity (`30Gi`).
    pub disk_size: String,
    /// The StorageClass of the root disk; `None`: the cluster's default.
    pub storage_class: Option<String>,
    pub networks: Networks,
    pub cloud_init: Option<CloudInit>,
    /// Start the VM once created (run strategy Always), else Halted.
    pub start: bool,
}

/// An instancetype or preference by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeRef {
    pub name: String,
    /// `VirtualMachineCluster*` (true) or namespaced `VirtualMachine*` in the VM's namespace.
    #[serde(default = "yes")]
    pub cluster_wide: bool,
}

fn yes() -> bool {
    true
}

impl TypeRef {
    pub fn cluster(name: &str) -> Self {
        Self {
            name: name.to_string(),
            cluster_wide: true,
        }
    }
}

/// Where the root disk comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BootSource {
    /// A golden image: a CDI DataSource (e.g. the VM Dashboard pack's `vm-dashboard/fedora`).
    DataSource { namespace: String, name: String },
    /// A container disk image imported from a registry (`quay.io/containerdisks/fedora:41`).
    ContainerDisk { image: String },
    /// A disk image imported over HTTP(S).
    Url { url: String },
    /// A clone of an existing PersistentVolumeClaim.
    Pvc { namespace: String, name: String },
}

/// The VM's networks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Networks {
    /// The pod network (masquerade), the usual first interface.
    pub pod: bool,
    /// Multus NetworkAttachmentDefinitions: `name` (the VM's namespace) or `namespace/name`.
    pub multus: Vec<String>,
}

impl Default for Networks {
    fn default() -> Self {
        Self {
            pod: true,
            multus: Vec::new(),
        }
    }
}

/// A cloud-init user with an SSH key and/or a password (the password goes into a Secret).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CloudInit {
    pub user: String,
    pub ssh_key: Option<String>,
    pub password: Option<String>,
}

/// A problem with one field of the draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The draft's field: `name`, `disk_size`, `boot_source.name`, `networks.multus[1]`, ...
    pub field: String,
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.fix)
    }
}

/// Several field errors, shown together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct FieldErrors(pub Vec<FieldError>);

impl VmDraft {
    /// The root disk's DataVolume (and volume) name.
    pub fn root_disk_name(&self) -> String {
        format!("{}-rootdisk", self.name)
    }

    /// The Secret holding the cloud-init user data when a password is set.
    pub fn cloud_init_secret_name(&self) -> String {
        format!("{}-cloudinit", self.name)
    }

    /// `namespace/name` of a Multus network as given (`name` alone: the VM's namespace).
    pub fn network_ref(&self, network: &str) -> (String, String) {
        match network.split_once('/') {
            Some((ns, name)) => (ns.to_string(), name.to_string()),
            None => (self.namespace.clone(), network.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_travel_as_json() {
        let json = serde_json::json!({
            "namespace": "dev", "name": "web",
            "instancetype": {"name": "vmdeck-small"},
            "boot_source": {"kind": "data_source", "namespace": "vm-dashboard", "name": "fedora"},
            "disk_size": "30Gi", "networks": {"multus": ["lan"]}, "start": true
        });
        let draft: VmDraft = serde_json::from_value(json).unwrap();
        assert_eq!(draft.instancetype, Some(TypeRef::cluster("vmdeck-small")));
        assert!(draft.networks.pod, "the pod network unless turned off");
        assert_eq!(draft.network_ref("lan"), ("dev".into(), "lan".into()));
        assert_eq!(
            draft.network_ref("infra/vlan10"),
            ("infra".into(), "vlan10".into())
        );
        assert_eq!(
            draft.boot_source,
            Some(BootSource::DataSource {
                namespace: "vm-dashboard".into(),
                name: "fedora".into()
            })
        );
        let back: VmDraft = serde_json::from_value(serde_json::to_value(&draft).unwrap()).unwrap();
        assert_eq!(back, draft);
    }
}
