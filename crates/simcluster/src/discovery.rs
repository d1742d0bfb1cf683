//! API discovery documents: the legacy per-group lists and the aggregated
//! (`apidiscovery.k8s.io` v2 and v2beta1) form that newer kubectl asks for.

use serde_json::{Value, json};

use crate::registry::Registry;
use crate::resources::ResourceType;

/// Which aggregated discovery version the client accepts, if any.
pub fn aggregated_version(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        if part.contains("as=APIGroupDiscoveryList") && part.contains("g=apidiscovery.k8s.io") {
            if part.contains("v=v2beta1") {
                return Some("v2beta1");
            }
            if part.contains("v=v2") {
                return Some("v2");
            }
        }
    }
    None
}

/// The content type of an aggregated discovery answer.
pub fn aggregated_content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": versions, "preferredVersion": versions[0].clone()})
}

pub fn api_group_list(registry: &Registry) -> Value {
    let groups: Vec<Value> = registry
        .groups()
        .iter()
        .filter(|g| !g.name.is_empty())
        .map(|g| group_json(&g.name, &g.versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(registry: &Registry, name: &str) -> Option<Value> {
    let group = registry
        .groups()
        .into_iter()
        .find(|g| g.name == name && !name.is_empty())?;
    let mut value = group_json(&group.name, &group.versions);
    value["kind"] = json!("APIGroup");
    value["apiVersion"] = json!("v1");
    Some(value)
}

fn subresource_names(rt: &ResourceType) -> Vec<&str> {
    let mut names = Vec::new();
    if rt.status_subresource {
        names.push("status");
    }
    if rt.scale_subresource {
        names.push("scale");
    }
    names.extend(rt.extra_subresources.iter().copied());
    names
}

/// The verbs of a subresource as the real servers list them: status and scale are read and
/// written, a namespace's finalize is replaced, KubeVirt's streams are opened with GET and its
/// actions are PUT.
fn subresource_verbs(rt: &ResourceType, sub: &str) -> Value {
    match sub {
        "status" | "scale" => json!(["get", "patch", "update"]),
        "finalize" => json!(["update"]),
        "console" | "vnc" | "vnc/screenshot" | "usbredir" | "portforward" | "guestosinfo" => {
            json!(["get"])
        }
        _ if rt.group == "subresources.kubevirt.io" => json!(["update"]),
        _ => json!(["get", "patch", "update"]),
    }
}

/// `APIResourceList` of one group/version, or None when nothing is served there.
pub fn api_resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let types = registry.in_group_version(group, version);
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for rt in &types {
        let mut entry = json!({
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": rt.verbs,
        });
        if !rt.short_names.is_empty() {
            entry["shortNames"] = json!(rt.short_names);
        }
        if !rt.categories.is_empty() {
            entry["categories"] = json!(rt.categories);
        }
        resources.push(entry);
        for sub in subresource_names(rt) {
            let (kind, group, version) = if sub == "scale" {
                ("Scale", "autoscaling", "v1")
            } else {
                (rt.kind.as_str(), "", "")
            };
            let mut sub_entry = json!({
                "name": format!("{}/{sub}", rt.plural),
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": kind,
                "verbs": subresource_verbs(rt, sub),
            });
            if !group.is_empty() {
                sub_entry["group"] = json!(group);
                sub_entry["version"] = json!(version);
            }
            resources.push(sub_entry);
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}

/// Aggregated discovery for `/api` (core only) or `/apis` (every other group).
pub fn aggregated(registry: &Registry, legacy: bool, version: &str) -> Value {
    let items: Vec<Value> = registry
        .groups()
        .into_iter()
        .filter(|g| g.name.is_empty() == legacy)
        .map(|g| {
            let versions: Vec<Value> = g
                .versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = registry
                        .in_group_version(&g.name, v)
                        .iter()
                        .map(|rt| {
                            let mut entry = json!({
                                "resource": rt.plural,
                                "responseKind": {"group": "", "version": "", "kind": rt.kind},
                                "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": rt.singular,
                                "verbs": rt.verbs,
                            });
                            if !rt.short_names.is_empty() {
                                entry["shortNames"] = json!(rt.short_names);
                            }
                            if !rt.categories.is_empty() {
                                entry["categories"] = json!(rt.categories);
                            }
                            let subs: Vec<Value> = subresource_names(rt)
                                .into_iter()
                                .map(|sub| {
                                    let kind = if sub == "scale" {
                                        json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
                                    } else {
                                        json!({"group": "", "version": "", "kind": rt.kind})
                                    };
                                    json!({"subresource": sub, "responseKind": kind,
                                        "verbs": subresource_verbs(rt, sub)})
                                })
                                .collect();
                            if !subs.is_empty() {
                                entry["subresources"] = json!(subs);
                            }
                            entry
                        })
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": g.name, "creationTimestamp": null}, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accept_headers_pick_the_aggregated_version() {
        let kubectl_133 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(kubectl_133), Some("v2"));
        assert_eq!(
            aggregated_version(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
            ),
            Some("v2beta1")
        );
        assert_eq!(aggregated_version("application/json"), None);
    }

    #[test]
    fn kubevirt_actions_are_put_and_streams_are_get() {
        let registry = Registry::with_builtins();
        let mut vm = crate::resources::builtins().remove(0);
        vm.group = "subresources.kubevirt.io".into();
        vm.plural = "virtualmachineinstances".into();
        vm.status_subresource = false;
        vm.extra_subresources = vec!["pause", "vnc"];
        registry.serve(vm);
        let list = api_resource_list(&registry, "subresources.kubevirt.io", "v1").unwrap();
        let verbs = |name: &str| {
            list["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == name)
                .unwrap()["verbs"]
                .clone()
        };
        assert_eq!(verbs("virtualmachineinstances/pause"), json!(["update"]));
        assert_eq!(verbs("virtualmachineinstances/vnc"), json!(["get"]));
        let namespaces = api_resource_list(&registry, "", "v1").unwrap();
        let finalize = namespaces["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "namespaces/finalize")
            .unwrap();
        assert_eq!(finalize["verbs"], json!(["update"]));
    }

    #[test]
    fn resource_lists_include_subresources() {
        let registry = Registry::with_builtins();
        let apps = api_resource_list(&registry, "apps", "v1").unwrap();
        let names: Vec<&str> = apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"deployments")
                && names.contains(&"deployments/status")
                && names.contains(&"deployments/scale")
        );
        let core = aggregated(&registry, true, "v2");
        assert_eq!(core["items"].as_array().unwrap().len(), 1);
        assert!(api_resource_list(&registry, "nope", "v1").is_none());
    }
}
