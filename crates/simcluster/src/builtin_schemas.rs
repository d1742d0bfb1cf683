//! The OpenAPI v3 schemas of built-in kinds, from k8s-openapi's types (descriptions, types,
//! required fields), with what the real server's documents add: enums, list types and patch keys.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use k8s_openapi::Resource;
use k8s_openapi::api::{
    admissionregistration::v1 as admission, apps::v1 as apps, batch::v1 as batch,
    coordination::v1 as coordination, core::v1 as core, discovery::v1 as discovery,
    events::v1 as events, networking::v1 as networking, policy::v1 as policy, rbac::v1 as rbac,
    scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;
use k8s_openapi::schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::list_types::{ListSemantics, ListType};

/// Where definitions live in an OpenAPI v3 document, as `$ref`s name them.
pub const REF_PREFIX: &str = "#/components/schemas/";

/// Every built-in schema, and which definition is the root of each kind.
pub struct BuiltinSchemas {
    definitions: Map<String, Value>,
    /// (group, version, kind) -> definition name.
    roots: BTreeMap<(String, String, String), String>,
}

static SCHEMAS: LazyLock<BuiltinSchemas> = LazyLock::new(BuiltinSchemas::generate);

/// The schemas, generated once.
pub fn schemas() -> &'static BuiltinSchemas {
    &SCHEMAS
}

macro_rules! roots {
    ($generator:ident; $($ty:ty),* $(,)?) => {
        vec![$((
            (<$ty as Resource>::GROUP.to_string(), <$ty as Resource>::VERSION.to_string(), <$ty as Resource>::KIND.to_string()),
            reference_name(&$generator.subschema_for::<$ty>()),
        )),*]
    };
}

fn reference_name(schema: &k8s_openapi::schemars::Schema) -> String {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(REF_PREFIX))
        .expect("k8s-openapi types are referenced by name")
        .to_string()
}

impl BuiltinSchemas {
    fn generate() -> Self {
        let mut generator = SchemaSettings::openapi3().into_generator();
        let roots = roots!(generator;
            core::Namespace, core::ConfigMap, core::Secret, core::ServiceAccount, core::Service,
            core::Endpoints, core::Node, core::Pod, core::PersistentVolumeClaim,
            core::PersistentVolume, core::Event, core::ResourceQuota, core::LimitRange,
            apps::Deployment, apps::DaemonSet, apps::StatefulSet, apps::ReplicaSet,
            apps::ControllerRevision, batch::Job, batch::CronJob,
            rbac::ClusterRole, rbac::ClusterRoleBinding, rbac::Role, rbac::RoleBinding,
            scheduling::PriorityClass, apiextensions::CustomResourceDefinition,
            apiregistration::APIService, admission::MutatingWebhookConfiguration,
            admission::ValidatingWebhookConfiguration, policy::PodDisruptionBudget,
            storage::StorageClass, storage::CSIDriver, storage::CSINode, coordination::Lease,
            events::Event, networking::NetworkPolicy, discovery::EndpointSlice,
        );
        let mut definitions = generator.take_definitions(true);
        for (name, definition) in definitions.iter_mut() {
            refine(name, definition);
        }
        Self {
            definitions,
            roots: roots.into_iter().collect(),
        }
    }

    /// The definition name of a kind's schema, e.g. `io.k8s.api.apps.v1.Deployment`.
    pub fn root(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.roots
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .map(String::as_str)
    }

    pub fn definitions(&self) -> &Map<String, Value> {
        &self.definitions
    }

    /// The definitions `names` refer to, directly or through others (an OpenAPI document's
    /// `components.schemas`).
    pub fn reachable(&self, names: &[&str]) -> Map<String, Value> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        while let Some(name) = stack.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(definition) = self.definitions.get(&name) {
                references(definition, &mut stack);
            }
        }
        seen.into_iter()
            .filter_map(|n| self.definitions.get(&n).map(|d| (n, d.clone())))
            .collect()
    }
}

fn references(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(REF_PREFIX))
            {
                out.push(name.to_string());
            }
            map.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// Enums the real server validates (and its v3 documents list), by definition and property.
const ENUMS: &[(&str, &str, &[&str])] = &[
    (
        "io.k8s.api.core.v1.ContainerPort",
        "protocol",
        &["SCTP", "TCP", "UDP"],
    ),
    (
        "io.k8s.api.core.v1.ServicePort",
        "protocol",
        &["SCTP", "TCP", "UDP"],
    ),
    (
        "io.k8s.api.core.v1.EndpointPort",
        "protocol",
        &["SCTP", "TCP", "UDP"],
    ),
    (
        "io.k8s.api.core.v1.Container",
        "imagePullPolicy",
        &["Always", "IfNotPresent", "Never"],
    ),
    (
        "io.k8s.api.core.v1.Container",
        "terminationMessagePolicy",
        &["FallbackToLogsOnError", "File"],
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "restartPolicy",
        &["Always", "Never", "OnFailure"],
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "dnsPolicy",
        &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "type",
        &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "sessionAffinity",
        &["ClientIP", "None"],
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "externalTrafficPolicy",
        &["Cluster", "Local"],
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "internalTrafficPolicy",
        &["Cluster", "Local"],
    ),
    (
        "io.k8s.api.core.v1.Toleration",
        "operator",
        &["Equal", "Exists"],
    ),
    (
        "io.k8s.api.core.v1.Toleration",
        "effect",
        &["NoExecute", "NoSchedule", "PreferNoSchedule"],
    ),
    (
        "io.k8s.api.core.v1.HTTPGetAction",
        "scheme",
        &["HTTP", "HTTPS"],
    ),
    (
        "io.k8s.api.core.v1.SeccompProfile",
        "type",
        &["Localhost", "RuntimeDefault", "Unconfined"],
    ),
    (
        "io.k8s.api.apps.v1.DeploymentStrategy",
        "type",
        &["Recreate", "RollingUpdate"],
    ),
    (
        "io.k8s.api.apps.v1.DaemonSetUpdateStrategy",
        "type",
        &["OnDelete", "RollingUpdate"],
    ),
    (
        "io.k8s.api.apps.v1.StatefulSetUpdateStrategy",
        "type",
        &["OnDelete", "RollingUpdate"],
    ),
    (
        "io.k8s.api.apps.v1.StatefulSetSpec",
        "podManagementPolicy",
        &["OrderedReady", "Parallel"],
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec",
        "scope",
        &["Cluster", "Namespaced"],
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingWebhook",
        "sideEffects",
        &["None", "NoneOnDryRun"],
    ),
    (
        "io.k8s.api.admissionregistration.v1.MutatingWebhook",
        "sideEffects",
        &["None", "NoneOnDryRun"],
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingWebhook",
        "failurePolicy",
        &["Fail", "Ignore"],
    ),
    (
        "io.k8s.api.admissionregistration.v1.MutatingWebhook",
        "failurePolicy",
        &["Fail", "Ignore"],
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingWebhook",
        "matchPolicy",
        &["Equivalent", "Exact"],
    ),
    (
        "io.k8s.api.admissionregistration.v1.MutatingWebhook",
        "matchPolicy",
        &["Equivalent", "Exact"],
    ),
    (
        "io.k8s.api.admissionregistration.v1.MutatingWebhook",
        "reinvocationPolicy",
        &["IfNeeded", "Never"],
    ),
];

/// What the real server's definition says beyond k8s-openapi's: enums, list types and patch
/// keys, and which "required" fields it does not in fact require.
fn refine(name: &str, definition: &mut Value) {
    // apiextensions' JSON is any JSON value, not an object.
    if name.ends_with("apiextensions.v1.JSON") {
        if let Some(map) = definition.as_object_mut() {
            map.remove("type");
        }
        return;
    }
    let short = name.rsplit('.').next().unwrap_or(name).to_string();
    let Some(properties) = definition
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut optional = Vec::new();
    for (property, schema) in properties.iter_mut() {
        if let Some((_, _, values)) = ENUMS
            .iter()
            .find(|(def, prop, _)| *def == name && prop == property)
        {
            schema["enum"] = json!(values);
        }
        // Zero is a value for booleans, and names "allowed to be empty" default to "".
        let description = schema.get("description").and_then(Value::as_str);
        if schema.get("type").and_then(Value::as_str) == Some("boolean")
            || description.is_some_and(|d| d.contains("allowed to be empty"))
        {
            optional.push(property.clone());
        }
        if schema.get("type").and_then(Value::as_str) == Some("array") {
            let context = if short.ends_with("Container") {
                vec!["containers", property.as_str()]
            } else {
                vec![property.as_str()]
            };
            match ListSemantics::builtin().list_type(&context) {
                ListType::Map(keys) => {
                    schema["x-kubernetes-list-type"] = json!("map");
                    schema["x-kubernetes-list-map-keys"] = json!(keys);
                    schema["x-kubernetes-patch-strategy"] = json!("merge");
                    schema["x-kubernetes-patch-merge-key"] = json!(keys[0]);
                }
                ListType::Set => {
                    schema["x-kubernetes-list-type"] = json!("set");
                    schema["x-kubernetes-patch-strategy"] = json!("merge");
                }
                ListType::Atomic => {}
            }
        }
    }
    if let Some(required) = definition.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|r| !r.as_str().is_some_and(|r| optional.iter().any(|o| o == r)));
        if required.is_empty()
            && let Some(map) = definition.as_object_mut()
        {
            map.remove("required");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_their_schemas_with_references_resolved() {
        let schemas = schemas();
        let root = schemas.root("apps", "v1", "Deployment").unwrap();
        assert_eq!(root, "io.k8s.api.apps.v1.Deployment");
        let reachable = schemas.reachable(&[root]);
        let port = &reachable["io.k8s.api.core.v1.ContainerPort"];
        assert_eq!(port["required"], json!(["containerPort"]));
        assert_eq!(
            port["properties"]["protocol"]["enum"],
            json!(["SCTP", "TCP", "UDP"])
        );
        let containers = &reachable["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        let ports = &reachable["io.k8s.api.core.v1.Container"]["properties"]["ports"];
        assert_eq!(
            ports["x-kubernetes-list-map-keys"],
            json!(["containerPort", "protocol"])
        );
        assert!(reachable.contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
        assert!(!reachable.contains_key("io.k8s.api.core.v1.ServiceSpec"));
        // Names that are "allowed to be empty" and booleans are not required.
        let reference = &schemas.definitions()["io.k8s.api.core.v1.LocalObjectReference"];
        assert!(reference.get("required").is_none(), "{reference}");
        assert!(
            schemas
                .root("apiregistration.k8s.io", "v1", "APIService")
                .is_some()
        );
    }
}
