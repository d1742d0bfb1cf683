//! KubeVirt's kinds as kube `ApiResource`s (read as `DynamicObject`s) and their subresource paths.

use kube::api::{ApiResource, GroupVersionKind};

/// The API group of VirtualMachines and VirtualMachineInstances.
pub const GROUP: &str = "kubevirt.io";
/// The aggregated group serving power actions and consoles.
pub const SUBRESOURCES_GROUP: &str = "subresources.kubevirt.io";

/// `kubevirt.io/v1` VirtualMachine.
pub fn vm_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(GROUP, "v1", "VirtualMachine"),
        "virtualmachines",
    )
}

/// `kubevirt.io/v1` VirtualMachineInstance.
pub fn vmi_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(GROUP, "v1", "VirtualMachineInstance"),
        "virtualmachineinstances",
    )
}

/// `/apis/subresources.kubevirt.io/v1/namespaces/{ns}/{plural}/{name}/{subresource}`.
pub fn subresource_path(plural: &str, namespace: &str, name: &str, subresource: &str) -> String {
    format!(
        "/apis/{SUBRESOURCES_GROUP}/v1/namespaces/{}/{plural}/{}/{subresource}",
        encode(namespace),
        encode(name)
    )
}

/// Names are DNS labels/subdomains; anything else is percent-encoded so it cannot leave its segment.
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_names_in_their_segment() {
        assert_eq!(
            subresource_path("virtualmachines", "dev", "web-01", "start"),
            "/apis/subresources.kubevirt.io/v1/namespaces/dev/virtualmachines/web-01/start"
        );
        assert_eq!(
            subresource_path("virtualmachineinstances", "a/b", "x?y", "vnc"),
            "/apis/subresources.kubevirt.io/v1/namespaces/a%2Fb/virtualmachineinstances/x%3Fy/vnc"
        );
    }
}
