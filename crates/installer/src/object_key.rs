//! Which object an object is: apiVersion, kind, namespace and name, as the inventory records it
//! and as errors and progress name it.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An object's identity in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectKey {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    /// The key of a JSON object (`None` when apiVersion, kind or metadata.name is missing).
    pub fn of(object: &Value) -> Option<ObjectKey> {
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_string);
        Some(ObjectKey {
            api_version: text(object.get("apiVersion"))?,
            kind: text(object.get("kind"))?,
            namespace: text(object.pointer("/metadata/namespace")),
            name: text(object.pointer("/metadata/name"))?,
        })
    }

    /// `(group, version)`: `("", "v1")` for the core group.
    pub fn group_version(&self) -> (&str, &str) {
        match self.api_version.split_once('/') {
            Some((group, version)) => (group, version),
            None => ("", self.api_version.as_str()),
        }
    }

    pub fn gvk(&self) -> kube::api::GroupVersionKind {
        let (group, version) = self.group_version();
        kube::api::GroupVersionKind::gvk(group, version, &self.kind)
    }
}

impl From<&vmdeck_packs::manifest::ObjectRef> for ObjectKey {
    fn from(object: &vmdeck_packs::manifest::ObjectRef) -> Self {
        ObjectKey {
            api_version: object.api_version.clone(),
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
        }
    }
}

impl fmt::Display for ObjectKey {
    /// `Deployment kubevirt/virt-operator`, `CustomResourceDefinition kubevirts.kubevirt.io`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} {namespace}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_name_the_object_and_split_the_group() {
        let key = ObjectKey::of(&json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "virt-operator", "namespace": "kubevirt"}
        }))
        .unwrap();
        assert_eq!(key.to_string(), "Deployment kubevirt/virt-operator");
        assert_eq!(key.group_version(), ("apps", "v1"));
        let core = ObjectKey::of(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubevirt"}}),
        )
        .unwrap();
        assert_eq!(
            (core.group_version(), core.to_string().as_str()),
            (("", "v1"), "Namespace kubevirt")
        );
        assert_eq!(ObjectKey::of(&json!({"kind": "Namespace"})), None);
    }
}
