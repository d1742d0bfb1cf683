//! Resource types: what one served API resource is (kind, plural, scope, verbs, subresources)
//! and the table of built-in kinds the simulator serves from the start.

use std::sync::Arc;

use serde_json::Value;

/// The storage identity of a resource: objects are stored per group and plural, whatever version they are read at.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

impl GroupResource {
    pub fn new(group: &str, resource: &str) -> Self {
        Self {
            group: group.to_string(),
            resource: resource.to_string(),
        }
    }
}

impl std::fmt::Display for GroupResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::status::qualified(&self.group, &self.resource))
    }
}

/// A printer column of a custom resource (`additionalPrinterColumns`).
#[derive(Debug, Clone)]
pub struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub json_path: String,
    pub description: String,
    pub priority: i64,
}

/// One resource as served at one group/version.
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub verbs: Vec<&'static str>,
    pub status_subresource: bool,
    pub scale_subresource: bool,
    /// Extra subresources answered by controllers (e.g. `finalize` on namespaces).
    pub extra_subresources: Vec<&'static str>,
    /// The openAPIV3Schema of a custom resource at this version.
    pub schema: Option<Arc<Value>>,
    pub printer_columns: Vec<PrinterColumn>,
    /// The CRD that serves this resource, if any.
    pub crd_name: Option<String>,
    /// The version objects are stored at (for multi-version custom resources).
    pub storage_version: String,
}

/// Verbs of an ordinary resource.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Verbs of the create-only review resources.
pub const CREATE_ONLY: &[&str] = &["create"];

impl ResourceType {
    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.plural)
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn group_version(&self) -> String {
        self.api_version()
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Is this a custom resource (defined by a CRD)?
    pub fn is_custom(&self) -> bool {
        self.crd_name.is_some()
    }

    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    status: bool,
    scale: bool,
    create_only: bool,
}

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> Builtin {
    Builtin {
        group,
        version,
        kind,
        plural,
        namespaced,
        short_names: &[],
        categories: &[],
        status: false,
        scale: false,
        create_only: false,
    }
}

impl Builtin {
    const fn short(mut self, names: &'static [&'static str]) -> Self {
        self.short_names = names;
        self
    }
    const fn all(mut self) -> Self {
        self.categories = &["all"];
        self
    }
    const fn status(mut self) -> Self {
        self.status = true;
        self
    }
    const fn scale(mut self) -> Self {
        self.scale = true;
        self
    }
    const fn create_only(mut self) -> Self {
        self.create_only = true;
        self
    }
}

const RBAC: &str = "rbac.authorization.k8s.io";
const BUILTINS: &[Builtin] = &[
    kind("", "v1", "Namespace", "namespaces", false)
        .short(&["ns"])
        .status(),
    kind("", "v1", "ConfigMap", "configmaps", true).short(&["cm"]),
    kind("", "v1", "Secret", "secrets", true),
    kind("", "v1", "ServiceAccount", "serviceaccounts", true).short(&["sa"]),
    kind("", "v1", "Service", "services", true)
        .short(&["svc"])
        .all()
        .status(),
    kind("", "v1", "Endpoints", "endpoints", true).short(&["ep"]),
    kind("", "v1", "Node", "nodes", false)
        .short(&["no"])
        .status(),
    kind("", "v1", "Pod", "pods", true)
        .short(&["po"])
        .all()
        .status(),
    kind(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    )
    .short(&["pvc"])
    .status(),
    kind("", "v1", "PersistentVolume", "persistentvolumes", false)
        .short(&["pv"])
        .status(),
    kind("", "v1", "Event", "events", true).short(&["ev"]),
    kind("", "v1", "ResourceQuota", "resourcequotas", true)
        .short(&["quota"])
        .status(),
    kind("", "v1", "LimitRange", "limitranges", true).short(&["limits"]),
    kind("apps", "v1", "Deployment", "deployments", true)
        .short(&["deploy"])
        .all()
        .status()
        .scale(),
    kind("apps", "v1", "DaemonSet", "daemonsets", true)
        .short(&["ds"])
        .all()
        .status(),
    kind("apps", "v1", "StatefulSet", "statefulsets", true)
        .short(&["sts"])
        .all()
        .status()
        .scale(),
    kind("apps", "v1", "ReplicaSet", "replicasets", true)
        .short(&["rs"])
        .all()
        .status()
        .scale(),
    kind(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
    ),
    kind("batch", "v1", "Job", "jobs", true).all().status(),
    kind("batch", "v1", "CronJob", "cronjobs", true)
        .short(&["cj"])
        .all()
        .status(),
    kind(RBAC, "v1", "ClusterRole", "clusterroles", false),
    kind(
        RBAC,
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    kind(RBAC, "v1", "Role", "roles", true),
    kind(RBAC, "v1", "RoleBinding", "rolebindings", true),
    kind(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        false,
    )
    .short(&["pc"]),
    kind(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    )
    .short(&["crd", "crds"])
    .status(),
    kind(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        false,
    )
    .status(),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ),
    kind(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    )
    .short(&["pdb"])
    .status(),
    kind(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
    )
    .short(&["sc"]),
    kind("storage.k8s.io", "v1", "CSIDriver", "csidrivers", false),
    kind("storage.k8s.io", "v1", "CSINode", "csinodes", false),
    kind("coordination.k8s.io", "v1", "Lease", "leases", true),
    kind("events.k8s.io", "v1", "Event", "events", true).short(&["ev"]),
    kind(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    )
    .short(&["netpol"]),
    kind(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
    ),
    kind(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        false,
    )
    .create_only(),
    kind(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        false,
    )
    .create_only(),
    kind(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        false,
    )
    .create_only(),
    kind(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        false,
    )
    .create_only(),
];

/// The built-in resource types, in discovery order.
pub fn builtins() -> Vec<ResourceType> {
    BUILTINS
        .iter()
        .map(|b| ResourceType {
            group: b.group.to_string(),
            version: b.version.to_string(),
            kind: b.kind.to_string(),
            plural: b.plural.to_string(),
            singular: b.kind.to_lowercase(),
            namespaced: b.namespaced,
            short_names: b.short_names.iter().map(|s| s.to_string()).collect(),
            categories: b.categories.iter().map(|s| s.to_string()).collect(),
            verbs: if b.create_only {
                CREATE_ONLY.to_vec()
            } else {
                ALL_VERBS.to_vec()
            },
            status_subresource: b.status,
            scale_subresource: b.scale,
            extra_subresources: if b.plural == "namespaces" {
                vec!["finalize"]
            } else {
                Vec::new()
            },
            schema: None,
            printer_columns: Vec::new(),
            crd_name: None,
            storage_version: b.version.to_string(),
        })
        .collect()
}

/// The preferred order of built-in groups in discovery (as the real server lists them).
pub const GROUP_ORDER: &[&str] = &[
    "",
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "batch",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
];
