//! The order objects go in: Namespaces first (CRDs beside everything that does not need their
//! kinds), then RBAC and service accounts, config and services (these three at once: none needs
//! another), workloads, webhooks, and the packs' custom resources last. Objects of one phase are independent and applied concurrently; stages run one
//! after another, each pack's after the packs it depends on (the renderer lists packs
//! dependencies first).

use crate::object_key::ObjectKey;

/// A step of the apply order; lower goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Namespaces: everything namespaced needs its namespace.
    Namespaces,
    /// CustomResourceDefinitions (waited Established before the objects of their kinds).
    Definitions,
    /// Roles, bindings, ServiceAccounts, PriorityClasses, PodSecurity.
    Access,
    /// ConfigMaps and Secrets.
    Config,
    /// Services and the like: endpoints workloads and webhooks point at.
    Network,
    /// Deployments, DaemonSets, StatefulSets, Jobs.
    Workloads,
    /// Admission webhooks and APIServices: they point at the workloads' services.
    Hooks,
    /// Everything else: the packs' own custom resources (KubeVirt, CDI, ...).
    CustomResources,
}

impl Phase {
    /// The phase of an object, from its kind (and group, for CRDs).
    pub fn of(key: &ObjectKey) -> Phase {
        let (group, _) = key.group_version();
        match (group, key.kind.as_str()) {
            ("", "Namespace") => Phase::Namespaces,
            ("apiextensions.k8s.io", "CustomResourceDefinition") => Phase::Definitions,
            ("rbac.authorization.k8s.io", _)
            | ("", "ServiceAccount")
            | ("scheduling.k8s.io", "PriorityClass")
            | ("policy", _) => Phase::Access,
            ("", "ConfigMap" | "Secret") => Phase::Config,
            ("", "Service" | "Endpoints") | ("networking.k8s.io", _) => Phase::Network,
            ("apps", _) | ("batch", _) | ("", "Pod") => Phase::Workloads,
            ("admissionregistration.k8s.io", _) | ("apiregistration.k8s.io", _) => Phase::Hooks,
            ("storage.k8s.io", _) | ("snapshot.storage.k8s.io", "VolumeSnapshotClass") => {
                Phase::Network
            }
            _ => Phase::CustomResources,
        }
    }

    /// The step of the apply order this phase goes in: phases of one stage need nothing of each
    /// other (RBAC, config and services only need their namespace), so they go at once.
    pub fn stage(self) -> u8 {
        match self {
            Phase::Namespaces | Phase::Definitions => 0,
            Phase::Access | Phase::Config | Phase::Network => 1,
            Phase::Workloads => 2,
            Phase::Hooks => 3,
            Phase::CustomResources => 4,
        }
    }

    /// Whether objects of this phase may need what another pack provides (its CRDs' kinds, its
    /// running services): namespaces, CRDs, access and config need nothing of other packs.
    pub fn needs_dependencies(self) -> bool {
        !matches!(
            self,
            Phase::Namespaces | Phase::Definitions | Phase::Access | Phase::Config
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Phase::Namespaces => "namespaces",
            Phase::Definitions => "CRDs",
            Phase::Access => "access (RBAC, service accounts)",
            Phase::Config => "config maps and secrets",
            Phase::Network => "services and storage classes",
            Phase::Workloads => "workloads",
            Phase::Hooks => "webhooks and API services",
            Phase::CustomResources => "custom resources",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(api_version: &str, kind: &str) -> ObjectKey {
        ObjectKey {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: None,
            name: "x".into(),
        }
    }

    #[test]
    fn foundations_first_custom_resources_last() {
        let mut kinds = [
            key("kubevirt.io/v1", "KubeVirt"),
            key("apps/v1", "Deployment"),
            key("v1", "Secret"),
            key("rbac.authorization.k8s.io/v1", "ClusterRole"),
            key("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
            key("v1", "Service"),
            key(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
            ),
            key("v1", "Namespace"),
        ];
        kinds.sort_by_key(Phase::of);
        let order: Vec<&str> = kinds.iter().map(|k| k.kind.as_str()).collect();
        assert_eq!(
            order,
            [
                "Namespace",
                "CustomResourceDefinition",
                "ClusterRole",
                "Secret",
                "Service",
                "Deployment",
                "ValidatingWebhookConfiguration",
                "KubeVirt"
            ]
        );
    }
}
