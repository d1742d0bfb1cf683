//! The set of served resources: built-ins plus whatever established CRDs add, looked up by
//! group/version/plural or by kind.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use serde_json::Value;

use crate::resources::{self, ALL_VERBS, GroupResource, PrinterColumn, ResourceType};

/// Served resources, keyed by (group, version, plural).
#[derive(Default)]
pub struct Registry {
    types: RwLock<Types>,
    generation: AtomicU64,
}

/// One API group as discovery shows it.
#[derive(Debug, Clone)]
pub struct GroupInfo {
    pub name: String,
    /// Served versions, preferred first.
    pub versions: Vec<String>,
}

impl Registry {
    pub fn with_builtins() -> Self {
        let registry = Self::default();
        for rt in resources::builtins() {
            registry.serve(rt);
        }
        registry
    }

    /// Serve one more resource type (simulated aggregated APIs use this for discovery).
    pub fn serve(&self, rt: ResourceType) {
        insert(&mut self.types.write(), rt);
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Changes whenever the served set changes (discovery and OpenAPI caches key on it).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .read()
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// Any served version of a group/resource (the storage version when there is one).
    pub fn any_version(&self, gr: &GroupResource) -> Option<Arc<ResourceType>> {
        let types = self.types.read();
        let mut found = None;
        for ((group, _, plural), rt) in types.iter() {
            if *group == gr.group && *plural == gr.resource {
                if rt.version == rt.storage_version {
                    return Some(rt.clone());
                }
                found.get_or_insert_with(|| rt.clone());
            }
        }
        found
    }

    /// The resource serving `kind` in `apiVersion` (`group/version` or `v1`).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        let (group, version) = split_api_version(api_version);
        self.types
            .read()
            .values()
            .find(|rt| rt.group == group && rt.version == version && rt.kind == kind)
            .cloned()
    }

    pub fn all(&self) -> Vec<Arc<ResourceType>> {
        self.types.read().values().cloned().collect()
    }

    /// Resources of one group/version, in a stable order.
    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        self.types
            .read()
            .values()
            .filter(|rt| rt.group == group && rt.version == version)
            .cloned()
            .collect()
    }

    /// API groups (excluding the core group), built-ins in the real server's order, then custom groups by name.
    pub fn groups(&self) -> Vec<GroupInfo> {
        let types = self.types.read();
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut preferred: BTreeMap<String, String> = BTreeMap::new();
        for rt in types.values() {
            let versions = groups.entry(rt.group.clone()).or_default();
            if !versions.contains(&rt.version) {
                versions.push(rt.version.clone());
            }
            if rt.version == rt.storage_version {
                preferred.insert(rt.group.clone(), rt.version.clone());
            }
        }
        let mut out: Vec<GroupInfo> = groups
            .into_iter()
            .map(|(name, mut versions)| {
                versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
                if let Some(p) = preferred.get(&name)
                    && let Some(i) = versions.iter().position(|v| v == p)
                {
                    let v = versions.remove(i);
                    versions.insert(0, v);
                }
                GroupInfo { name, versions }
            })
            .collect();
        out.sort_by_key(|g| {
            let rank = resources::GROUP_ORDER
                .iter()
                .position(|n| *n == g.name)
                .unwrap_or(usize::MAX);
            (rank, g.name.clone())
        });
        out
    }

    /// Serve the versions of a CRD object (in place of what it served before, in one step: a
    /// reader never sees the kind missing while its CRD is rewritten). Returns the
    /// group/resource it serves.
    pub fn register_crd(&self, crd: &Value) -> Option<GroupResource> {
        let defs = crd_resource_types(crd)?;
        let gr = defs.first()?.group_resource();
        let mut types = self.types.write();
        remove_custom(&mut types, &gr);
        for rt in defs {
            insert(&mut types, rt);
        }
        self.generation.fetch_add(1, Ordering::Relaxed);
        Some(gr)
    }

    /// Stop serving every resource of a group (a simulated aggregated API whose APIService went away).
    pub fn withdraw_group(&self, group: &str) {
        let mut types = self.types.write();
        let before = types.len();
        types.retain(|(g, _, _), _| g != group);
        if types.len() != before {
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Stop serving a group/resource.
    pub fn unregister(&self, gr: &GroupResource) {
        let mut types = self.types.write();
        let before = types.len();
        remove_custom(&mut types, gr);
        if types.len() != before {
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The served types, by group, version and plural.
type Types = BTreeMap<(String, String, String), Arc<ResourceType>>;

fn insert(types: &mut Types, rt: ResourceType) {
    types.insert(
        (rt.group.clone(), rt.version.clone(), rt.plural.clone()),
        Arc::new(rt),
    );
}

/// Drops every version of the custom resource `gr` (built-ins stay).
fn remove_custom(types: &mut Types, gr: &GroupResource) {
    types.retain(|(group, _, plural), rt| {
        !(*group == gr.group && *plural == gr.resource && rt.is_custom())
    });
}

/// `apps/v1` -> (`apps`, `v1`); `v1` -> (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// Kubernetes version priority: GA > beta > alpha, higher numbers first.
pub fn version_priority(version: &str) -> (u8, u64, u64) {
    let rest = version.strip_prefix('v').unwrap_or(version);
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let major: u64 = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    let minor = |prefix: &str| {
        tail.strip_prefix(prefix)
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    if tail.starts_with("beta") {
        (2, major, minor("beta"))
    } else if tail.starts_with("alpha") {
        (1, major, minor("alpha"))
    } else {
        (0, major, 0)
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The resource types a CRD object describes (one per served version).
pub fn crd_resource_types(crd: &Value) -> Option<Vec<ResourceType>> {
    let spec = crd.get("spec")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let names = spec.get("names")?;
    let plural = names.get("plural")?.as_str()?.to_string();
    let kind = names.get("kind")?.as_str()?.to_string();
    let singular = names
        .get("singular")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| kind.to_lowercase());
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    let versions = spec.get("versions")?.as_array()?;
    let storage_version = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .or_else(|| versions.first())
        .and_then(|v| v.get("name")?.as_str())?
        .to_string();
    let crd_name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut out = Vec::new();
    for version in versions {
        if version.get("served").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let Some(name) = version.get("name").and_then(Value::as_str) else {
            continue;
        };
        let subresources = version
            .get("subresources")
            .or_else(|| spec.get("subresources"));
        let schema = version
            .pointer("/schema/openAPIV3Schema")
            .or_else(|| spec.pointer("/validation/openAPIV3Schema"))
            .cloned()
            .map(Arc::new);
        let printer_columns = version
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .filter_map(|c| {
                        Some(PrinterColumn {
                            name: c.get("name")?.as_str()?.to_string(),
                            type_: c
                                .get("type")
                                .and_then(Value::as_str)
                                .unwrap_or("string")
                                .to_string(),
                            json_path: c.get("jsonPath")?.as_str()?.to_string(),
                            description: c
                                .get("description")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                            priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(ResourceType {
            group: group.clone(),
            version: name.to_string(),
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            namespaced,
            short_names: strings(names.get("shortNames").unwrap_or(&Value::Null)),
            categories: strings(names.get("categories").unwrap_or(&Value::Null)),
            verbs: ALL_VERBS.to_vec(),
            status_subresource: subresources.and_then(|s| s.get("status")).is_some(),
            scale_subresource: subresources.and_then(|s| s.get("scale")).is_some(),
            extra_subresources: Vec::new(),
            schema,
            printer_columns,
            crd_name: Some(crd_name.clone()),
            storage_version: storage_version.clone(),
        });
    }
    if out.is_empty() { None } else { Some(out) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widgets_crd() -> Value {
        serde_json::json!({
            "metadata": {"name": "widgets.aaa.io"},
            "spec": {"group": "aaa.io", "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [{"name": "v1", "served": true, "storage": true}]}
        })
    }

    #[test]
    fn version_priority_orders_like_kubernetes() {
        let mut versions = vec![
            "v1alpha1", "v1beta1", "v1", "v2beta2", "v2", "v1alpha3", "foo",
        ];
        versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(
            versions,
            vec![
                "v2", "v1", "v2beta2", "v1beta1", "v1alpha3", "v1alpha1", "foo"
            ]
        );
    }

    #[test]
    fn core_group_comes_first_and_crd_groups_after_builtins() {
        let registry = Registry::with_builtins();
        let crd = widgets_crd();
        registry.register_crd(&crd).unwrap();
        let groups = registry.groups();
        assert_eq!(groups[0].name, "");
        assert_eq!(groups.last().unwrap().name, "aaa.io");
        assert!(registry.get("aaa.io", "v1", "widgets").unwrap().namespaced);
    }

    #[test]
    fn a_crd_rewritten_stays_served_throughout() {
        let registry = Registry::with_builtins();
        let crd = widgets_crd();
        registry.register_crd(&crd).unwrap();
        let widgets = GroupResource::new("aaa.io", "widgets");
        let rewriting = std::sync::atomic::AtomicBool::new(true);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..20_000 {
                    registry.register_crd(&crd).unwrap();
                }
                rewriting.store(false, Ordering::Release);
            });
            let mut looks = 0u64;
            while rewriting.load(Ordering::Acquire) || looks == 0 {
                assert!(
                    registry.any_version(&widgets).is_some(),
                    "widgets went unserved while its CRD was rewritten (look {looks})"
                );
                looks += 1;
            }
        });
    }
}
