//! The draft checked on its own (no cluster): names are DNS-1123 labels, the size is a
//! Kubernetes quantity, a boot source and an instancetype are picked, cloud-init is complete.
//! Every problem is returned at once, each at its field with the fix.

use super::draft::{BootSource, FieldError, VmDraft};
use super::quantity::{QuantityError, parse_bytes};

/// Why `text` is not a DNS-1123 label (lower case letters, digits, `-`; 63 at most; a letter
/// or digit at each end), if it is not.
pub fn dns_label_problem(text: &str) -> Option<String> {
    if text.is_empty() {
        return Some("is empty".into());
    }
    if text.len() > 63 {
        return Some(format!("is {} characters long, 63 at most", text.len()));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "{text:?} has {bad:?}; only a-z, 0-9 and '-' are allowed"
        ));
    }
    if text.starts_with('-') || text.ends_with('-') {
        return Some(format!("{text:?} starts or ends with '-'"));
    }
    None
}

/// Why `text` is not a DNS-1123 subdomain (labels joined by dots, 253 at most), if it is not.
pub fn dns_subdomain_problem(text: &str) -> Option<String> {
    if text.len() > 253 {
        return Some(format!("is {} characters long, 253 at most", text.len()));
    }
    text.split('.').find_map(dns_label_problem)
}

fn label_at(errors: &mut Vec<FieldError>, field: &str, value: &str, what: &str) {
    if let Some(problem) = dns_label_problem(value) {
        errors.push(FieldError::new(
            field,
            format!("the {what} {problem}"),
            "use lower case letters, digits and '-', starting and ending with a letter or digit (e.g. web-01)",
        ));
    }
}

/// Instancetypes and preferences are named like `u1.small`: DNS-1123 subdomains.
fn subdomain_at(errors: &mut Vec<FieldError>, field: &str, value: &str, what: &str) {
    if let Some(problem) = dns_subdomain_problem(value) {
        errors.push(FieldError::new(
            field,
            format!("the {what}'s name {problem}"),
            "pick one the cluster has (lower case, digits, '-' and '.', e.g. u1.small)",
        ));
    }
}

fn is_ssh_public_key(key: &str) -> bool {
    let mut parts = key.split_whitespace();
    let (Some(kind), Some(body)) = (parts.next(), parts.next()) else {
        return false;
    };
    let known = kind.starts_with("ssh-")
        || kind.starts_with("ecdsa-sha2-")
        || kind.starts_with("sk-ssh-")
        || kind.starts_with("sk-ecdsa-");
    known
        && body.len() >= 16
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

fn is_linux_user(user: &str) -> bool {
    let mut chars = user.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && user.len() <= 32
}

/// Every problem of the draft that needs no cluster to see.
pub fn check_form(draft: &VmDraft) -> Vec<FieldError> {
    let mut errors = Vec::new();
    label_at(&mut errors, "namespace", &draft.namespace, "namespace");
    label_at(&mut errors, "name", &draft.name, "name");
    match &draft.instancetype {
        None => errors.push(FieldError::new(
            "instancetype",
            "no instancetype picked",
            "pick an instancetype (it gives the VM its CPUs and memory), e.g. vmdeck-small",
        )),
        Some(t) => subdomain_at(&mut errors, "instancetype.name", &t.name, "instancetype"),
    }
    if let Some(p) = &draft.preference {
        subdomain_at(&mut errors, "preference.name", &p.name, "preference");
    }
    match &draft.boot_source {
        None => errors.push(FieldError::new(
            "boot_source",
            "no boot source: the VM would have no disk to boot",
            "pick a golden image, a container disk, a URL to import or an existing PVC",
        )),
        Some(BootSource::DataSource { namespace, name }) => {
            label_at(
                &mut errors,
                "boot_source.namespace",
                namespace,
                "golden image's namespace",
            );
            label_at(&mut errors, "boot_source.name", name, "golden image's name");
        }
        Some(BootSource::Pvc { namespace, name }) => {
            label_at(
                &mut errors,
                "boot_source.namespace",
                namespace,
                "PVC's namespace",
            );
            if let Some(problem) = dns_subdomain_problem(name) {
                errors.push(FieldError::new(
                    "boot_source.name",
                    format!("the PVC's name {problem}"),
                    "name an existing PersistentVolumeClaim",
                ));
            }
        }
        Some(BootSource::ContainerDisk { image }) => {
            if image.is_empty() || image.chars().any(char::is_whitespace) || image.contains("://") {
                errors.push(FieldError::new(
                    "boot_source.image",
                    format!("{image:?} is not a container image reference"),
                    "write an image such as quay.io/containerdisks/fedora:41 (no scheme, no spaces)",
                ));
            }
        }
        Some(BootSource::Url { url }) => {
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            let host = url.split_once("://").map_or("", |(_, rest)| rest);
            if !scheme_ok
                || host.is_empty()
                || host.starts_with('/')
                || url.chars().any(char::is_whitespace)
            {
                errors.push(FieldError::new(
                    "boot_source.url",
                    format!("{url:?} is not an http(s) URL"),
                    "write the disk image's address, e.g. https://example.com/images/disk.qcow2",
                ));
            }
        }
    }
    match parse_bytes(&draft.disk_size) {
        Ok(size) if size.0 == 0 => errors.push(FieldError::new(
            "disk_size",
            "the disk size is zero",
            "give a size such as 30Gi",
        )),
        Ok(_) => {}
        Err(QuantityError::Empty) => errors.push(FieldError::new(
            "disk_size",
            "no disk size",
            "give a size such as 30Gi",
        )),
        Err(error) => errors.push(FieldError::new(
            "disk_size",
            error.to_string(),
            "write a Kubernetes quantity: a number and a unit, no space (30Gi, 500Mi, 100G)",
        )),
    }
    if let Some(class) = &draft.storage_class
        && let Some(problem) = dns_subdomain_problem(class)
    {
        errors.push(FieldError::new(
            "storage_class",
            format!("the StorageClass name {problem}"),
            "pick a StorageClass of the cluster, or none for its default",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, network) in draft.networks.multus.iter().enumerate() {
        let field = format!("networks.multus[{i}]");
        let (namespace, name) = draft.network_ref(network);
        if dns_label_problem(&namespace).is_some()
            || dns_label_problem(&name).is_some()
            || network.matches('/').count() > 1
        {
            errors.push(FieldError::new(
                &field,
                format!("{network:?} is not a NetworkAttachmentDefinition name"),
                "write NAME (in the VM's namespace) or NAMESPACE/NAME",
            ));
        } else if !seen.insert((namespace, name)) {
            errors.push(FieldError::new(
                &field,
                format!("{network} is listed twice"),
                "attach each network once",
            ));
        }
    }
    if let Some(init) = &draft.cloud_init {
        if !is_linux_user(&init.user) {
            errors.push(FieldError::new(
                "cloud_init.user",
                format!("{:?} is not a user name", init.user),
                "lower case letters, digits, '_' and '-', starting with a letter (e.g. fedora)",
            ));
        }
        let key = init.ssh_key.as_deref().filter(|k| !k.trim().is_empty());
        let password = init.password.as_deref().filter(|p| !p.is_empty());
        if key.is_none() && password.is_none() {
            errors.push(FieldError::new(
                "cloud_init",
                "the user has neither an SSH key nor a password: nobody could log in",
                "give an SSH public key, a password, or both",
            ));
        }
        if let Some(key) = key
            && !is_ssh_public_key(key)
        {
            errors.push(FieldError::new(
                "cloud_init.ssh_key",
                "this is not an SSH public key",
                "paste the one line of your .pub file (ssh-ed25519 AAAA... you@host)",
            ));
        }
        if password.is_some_and(|p| p.contains(['\n', '\r'])) {
            errors.push(FieldError::new(
                "cloud_init.password",
                "the password spans lines",
                "use a password on one line",
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::draft::{CloudInit, TypeRef};

    pub fn good() -> VmDraft {
        VmDraft {
            namespace: "dev".into(),
            name: "web-01".into(),
            instancetype: Some(TypeRef::cluster("vmdeck-small")),
            preference: Some(TypeRef::cluster("vmdeck-linux")),
            boot_source: Some(BootSource::DataSource {
                namespace: "vm-dashboard".into(),
                name: "fedora".into(),
            }),
            disk_size: "30Gi".into(),
            cloud_init: Some(CloudInit {
                user: "fedora".into(),
                ssh_key: Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx me@host".into()),
                password: None,
            }),
            ..VmDraft::default()
        }
    }

    fn fields(draft: &VmDraft) -> Vec<String> {
        check_form(draft).into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_complete_draft_passes() {
        assert_eq!(check_form(&good()), vec![]);
    }

    #[test]
    fn every_problem_at_its_field_at_once() {
        let draft = VmDraft {
            name: "Web_01".into(),
            disk_size: "10 gigs".into(),
            boot_source: None,
            ..good()
        };
        let errors = check_form(&draft);
        let at: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(at, ["name", "boot_source", "disk_size"], "{errors:#?}");
        assert!(errors[0].message.contains("'W'"), "{}", errors[0].message);
        assert!(errors[0].fix.contains("lower case"));
        assert!(
            errors[2].message.contains("not a Kubernetes quantity"),
            "{}",
            errors[2].message
        );
        assert!(errors[2].fix.contains("30Gi"));
    }

    #[test]
    fn names_sizes_sources_networks_and_logins() {
        let long = "a".repeat(64);
        assert_eq!(
            fields(&VmDraft {
                name: long,
                ..good()
            }),
            ["name"]
        );
        assert_eq!(
            fields(&VmDraft {
                name: "-web".into(),
                ..good()
            }),
            ["name"]
        );
        assert_eq!(
            fields(&VmDraft {
                disk_size: "0".into(),
                ..good()
            }),
            ["disk_size"]
        );
        assert_eq!(
            fields(&VmDraft {
                disk_size: "".into(),
                ..good()
            }),
            ["disk_size"]
        );
        assert_eq!(
            fields(&VmDraft {
                instancetype: None,
                ..good()
            }),
            ["instancetype"]
        );
        let url = |u: &str| VmDraft {
            boot_source: Some(BootSource::Url { url: u.into() }),
            ..good()
        };
        assert_eq!(fields(&url("ftp://x/disk.img")), ["boot_source.url"]);
        assert_eq!(fields(&url("https://")), ["boot_source.url"]);
        assert!(fields(&url("https://example.com/disk.qcow2")).is_empty());
        let image = |i: &str| VmDraft {
            boot_source: Some(BootSource::ContainerDisk { image: i.into() }),
            ..good()
        };
        assert_eq!(fields(&image("docker://quay.io/x")), ["boot_source.image"]);
        assert!(fields(&image("quay.io/containerdisks/fedora:41")).is_empty());
        let mut nets = good();
        nets.networks.multus = vec!["lan".into(), "dev/lan".into(), "Bad".into(), "a/b/c".into()];
        assert_eq!(
            fields(&nets),
            [
                "networks.multus[1]",
                "networks.multus[2]",
                "networks.multus[3]"
            ]
        );
        let login = |key: Option<&str>, password: Option<&str>| VmDraft {
            cloud_init: Some(CloudInit {
                user: "fedora".into(),
                ssh_key: key.map(Into::into),
                password: password.map(Into::into),
            }),
            ..good()
        };
        assert_eq!(fields(&login(None, None)), ["cloud_init"]);
        assert_eq!(fields(&login(Some("hello"), None)), ["cloud_init.ssh_key"]);
        assert!(fields(&login(None, Some("s3cret"))).is_empty());
        assert_eq!(fields(&login(None, Some("a\nb"))), ["cloud_init.password"]);
        let mut user = good();
        user.cloud_init.as_mut().unwrap().user = "Root User".into();
        assert_eq!(fields(&user), ["cloud_init.user"]);
    }
}
