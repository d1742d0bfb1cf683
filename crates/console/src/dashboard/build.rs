//! A checked draft turned into the objects KubeVirt and CDI read: a VirtualMachine with one
//! `dataVolumeTemplates` root disk, instancetype and preference references, networks and
//! cloud-init, plus (when a password is set) the Secret holding the user data, so the password
//! never sits in the VM object. The review is those exact objects as YAML.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::{Value, json};

use super::draft::{BootSource, VmDraft};

/// The label on every object the dashboard creates.
pub const CREATED_BY: &str = "vmdeck.io/created-by";

/// The objects to create, the Secret (if any) first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Built {
    pub vm: Value,
    pub secret: Option<Value>,
}

/// Why the objects could not be shown as YAML.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("writing the review as YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
}

fn kind_of(cluster_wide: bool, cluster: &str, namespaced: &str) -> String {
    if cluster_wide { cluster } else { namespaced }.to_string()
}

fn user_data(draft: &VmDraft) -> Option<String> {
    let init = draft.cloud_init.as_ref()?;
    let mut user = serde_json::Map::new();
    user.insert("name".into(), json!(init.user));
    user.insert("sudo".into(), json!("ALL=(ALL) NOPASSWD:ALL"));
    user.insert("shell".into(), json!("/bin/bash"));
    if let Some(key) = init.ssh_key.as_deref().filter(|k| !k.trim().is_empty()) {
        user.insert("ssh_authorized_keys".into(), json!([key.trim()]));
    }
    let mut config = serde_json::Map::new();
    config.insert("users".into(), json!([Value::Object(user)]));
    if let Some(password) = init.password.as_deref().filter(|p| !p.is_empty()) {
        config.insert(
            "chpasswd".into(),
            json!({"expire": false, "users": [{"name": init.user, "password": password, "type": "text"}]}),
        );
        config.insert("ssh_pwauth".into(), json!(true));
    }
    let yaml = serde_yaml_ng::to_string(&Value::Object(config)).ok()?;
    Some(format!("#cloud-config\n{yaml}"))
}

fn has_password(draft: &VmDraft) -> bool {
    draft
        .cloud_init
        .as_ref()
        .and_then(|c| c.password.as_deref())
        .is_some_and(|p| !p.is_empty())
}

fn disk_source(draft: &VmDraft) -> (Option<Value>, Option<Value>) {
    match &draft.boot_source {
        Some(BootSource::DataSource { namespace, name }) => (
            Some(json!({"kind": "DataSource", "name": name, "namespace": namespace})),
            None,
        ),
        Some(BootSource::ContainerDisk { image }) => (
            None,
            Some(json!({"registry": {"url": format!("docker://{image}")}})),
        ),
        Some(BootSource::Url { url }) => (None, Some(json!({"http": {"url": url}}))),
        Some(BootSource::Pvc { namespace, name }) => (
            None,
            Some(json!({"pvc": {"namespace": namespace, "name": name}})),
        ),
        None => (None, None),
    }
}

/// The objects for a draft that passed `check_form`.
pub fn build(draft: &VmDraft) -> Built {
    let labels = json!({CREATED_BY: "vmdeck"});
    let disk = draft.root_disk_name();
    let (source_ref, source) = disk_source(draft);
    let mut storage = json!({"resources": {"requests": {"storage": draft.disk_size}}});
    if let Some(class) = &draft.storage_class {
        storage["storageClassName"] = json!(class);
    }
    let mut dv_spec = json!({"storage": storage});
    if let Some(source_ref) = source_ref {
        dv_spec["sourceRef"] = source_ref;
    }
    if let Some(source) = source {
        dv_spec["source"] = source;
    }
    let mut disks = vec![json!({"name": "rootdisk", "disk": {}})];
    let mut volumes = vec![json!({"name": "rootdisk", "dataVolume": {"name": disk}})];
    let secret = has_password(draft).then(|| draft.cloud_init_secret_name());
    if let Some(data) = user_data(draft) {
        disks.push(json!({"name": "cloudinitdisk", "disk": {}}));
        let cloud_init = match &secret {
            Some(name) => json!({"secretRef": {"name": name}}),
            None => json!({"userData": data}),
        };
        volumes.push(json!({"name": "cloudinitdisk", "cloudInitNoCloud": cloud_init}));
    }
    let mut interfaces = Vec::new();
    let mut networks = Vec::new();
    if draft.networks.pod {
        interfaces.push(json!({"name": "default", "masquerade": {}}));
        networks.push(json!({"name": "default", "pod": {}}));
    }
    for (i, network) in draft.networks.multus.iter().enumerate() {
        let (namespace, name) = draft.network_ref(network);
        let iface = format!("net{}", i + 1);
        interfaces.push(json!({"name": iface, "bridge": {}}));
        networks
            .push(json!({"name": iface, "multus": {"networkName": format!("{namespace}/{name}")}}));
    }
    let mut spec = json!({
        "runStrategy": if draft.start { "Always" } else { "Halted" },
        "dataVolumeTemplates": [{"metadata": {"name": disk}, "spec": dv_spec}],
        "template": {
            "metadata": {"labels": {"kubevirt.io/domain": draft.name}},
            "spec": {
                "domain": {"devices": {"disks": disks, "interfaces": interfaces}},
                "networks": networks,
                "volumes": volumes,
            }
        }
    });
    if let Some(t) = &draft.instancetype {
        spec["instancetype"] = json!({
            "kind": kind_of(t.cluster_wide, "VirtualMachineClusterInstancetype", "VirtualMachineInstancetype"),
            "name": t.name,
        });
    }
    if let Some(p) = &draft.preference {
        spec["preference"] = json!({
            "kind": kind_of(p.cluster_wide, "VirtualMachineClusterPreference", "VirtualMachinePreference"),
            "name": p.name,
        });
    }
    let vm = json!({
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": draft.name, "namespace": draft.namespace, "labels": labels},
        "spec": spec,
    });
    let secret = secret.map(|name| {
        let data = user_data(draft).unwrap_or_default();
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(draft.namespace.clone()),
                labels: Some(BTreeMap::from([(
                    CREATED_BY.to_string(),
                    "vmdeck".to_string(),
                )])),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".into()),
            data: Some(BTreeMap::from([(
                "userdata".to_string(),
                ByteString(data.into_bytes()),
            )])),
            ..Secret::default()
        };
        let mut value = serde_json::to_value(secret).unwrap_or_default();
        value["apiVersion"] = json!("v1");
        value["kind"] = json!("Secret");
        value
    });
    Built { vm, secret }
}

/// What a Secret's values are shown as in a review.
pub const MASKED: &str = "(hidden)";

impl Built {
    /// The objects in the order they are created.
    pub fn objects(&self) -> Vec<&Value> {
        self.secret.iter().chain([&self.vm]).collect()
    }

    /// The objects as YAML documents, exactly as they are sent, except that the Secret's values
    /// read `(hidden)` (the password is never shown).
    pub fn review_yaml(&self) -> Result<String, ReviewError> {
        let mut out = String::new();
        for object in self.objects() {
            let mut shown = object.clone();
            if let Some(data) = shown.get_mut("data").and_then(Value::as_object_mut) {
                for value in data.values_mut() {
                    *value = json!(MASKED);
                }
            }
            out.push_str("---\n");
            out.push_str(&serde_yaml_ng::to_string(&shown)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::draft::{CloudInit, TypeRef};

    fn draft() -> VmDraft {
        VmDraft {
            namespace: "dev".into(),
            name: "web".into(),
            instancetype: Some(TypeRef::cluster("vmdeck-small")),
            preference: Some(TypeRef {
                name: "mine".into(),
                cluster_wide: false,
            }),
            boot_source: Some(BootSource::DataSource {
                namespace: "vm-dashboard".into(),
                name: "fedora".into(),
            }),
            disk_size: "30Gi".into(),
            storage_class: Some("fast".into()),
            cloud_init: Some(CloudInit {
                user: "fedora".into(),
                ssh_key: Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@host".into()),
                password: None,
            }),
            start: true,
            ..VmDraft::default()
        }
    }

    #[test]
    fn a_golden_image_vm() {
        let mut d = draft();
        d.networks.multus = vec!["lan".into()];
        let built = build(&d);
        let vm = &built.vm;
        assert_eq!(vm["spec"]["runStrategy"], "Always");
        assert_eq!(
            vm["spec"]["instancetype"],
            json!({"kind": "VirtualMachineClusterInstancetype", "name": "vmdeck-small"})
        );
        assert_eq!(vm["spec"]["preference"]["kind"], "VirtualMachinePreference");
        let dv = &vm["spec"]["dataVolumeTemplates"][0];
        assert_eq!(dv["metadata"]["name"], "web-rootdisk");
        assert_eq!(
            dv["spec"]["sourceRef"],
            json!({"kind": "DataSource", "name": "fedora", "namespace": "vm-dashboard"})
        );
        assert_eq!(
            dv["spec"]["storage"]["resources"]["requests"]["storage"],
            "30Gi"
        );
        assert_eq!(dv["spec"]["storage"]["storageClassName"], "fast");
        let tpl = &vm["spec"]["template"]["spec"];
        assert_eq!(tpl["networks"][1]["multus"]["networkName"], "dev/lan");
        assert_eq!(
            tpl["domain"]["devices"]["interfaces"][1],
            json!({"name": "net1", "bridge": {}})
        );
        let user_data = tpl["volumes"][1]["cloudInitNoCloud"]["userData"]
            .as_str()
            .unwrap();
        assert!(user_data.starts_with("#cloud-config\n"), "{user_data}");
        assert!(user_data.contains("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@host"));
        assert!(built.secret.is_none());
        assert!(
            tpl["domain"].get("resources").is_none(),
            "CPU and memory come from the instancetype"
        );
    }

    #[test]
    fn the_password_lives_in_a_secret_only() {
        let mut d = draft();
        d.start = false;
        d.cloud_init.as_mut().unwrap().password = Some("s3cret-pw".into());
        let built = build(&d);
        assert_eq!(built.vm["spec"]["runStrategy"], "Halted");
        assert!(!built.vm.to_string().contains("s3cret-pw"));
        assert_eq!(
            built.vm["spec"]["template"]["spec"]["volumes"][1]["cloudInitNoCloud"],
            json!({"secretRef": {"name": "web-cloudinit"}})
        );
        let secret = built.secret.as_ref().unwrap();
        let data: ByteString = serde_json::from_value(secret["data"]["userdata"].clone()).unwrap();
        let text = String::from_utf8(data.0).unwrap();
        assert!(
            text.contains("s3cret-pw") && text.starts_with("#cloud-config"),
            "{text}"
        );
        let review = built.review_yaml().unwrap();
        assert!(!review.contains("s3cret-pw"));
        assert!(review.contains(MASKED));
        let docs: Vec<Value> = review
            .split("---\n")
            .filter(|d| !d.trim().is_empty())
            .map(|d| serde_yaml_ng::from_str(d).unwrap())
            .collect();
        assert_eq!(docs[0]["kind"], "Secret");
        assert_eq!(docs[1], built.vm, "the VM shown is the VM sent");
    }

    #[test]
    fn other_boot_sources() {
        let with = |source: BootSource| {
            let mut d = draft();
            d.boot_source = Some(source);
            build(&d).vm["spec"]["dataVolumeTemplates"][0]["spec"].clone()
        };
        let image = with(BootSource::ContainerDisk {
            image: "quay.io/containerdisks/fedora:41".into(),
        });
        assert_eq!(
            image["source"],
            json!({"registry": {"url": "docker://quay.io/containerdisks/fedora:41"}})
        );
        assert!(image.get("sourceRef").is_none());
        let url = with(BootSource::Url {
            url: "https://x/d.qcow2".into(),
        });
        assert_eq!(url["source"], json!({"http": {"url": "https://x/d.qcow2"}}));
        let pvc = with(BootSource::Pvc {
            namespace: "dev".into(),
            name: "old".into(),
        });
        assert_eq!(
            pvc["source"],
            json!({"pvc": {"namespace": "dev", "name": "old"}})
        );
    }
}
