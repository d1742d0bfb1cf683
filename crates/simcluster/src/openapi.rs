//! OpenAPI documents, as far as kubectl needs them: the v3 index and per group/version documents
//! whose PATCH operations declare `fieldValidation` (so kubectl validates on the server), the
//! built-in kinds' schemas (from k8s-openapi, for `kubectl explain`) and CRD schemas as
//! components, and a minimal v2 document in protobuf or JSON.

use serde_json::{Map, Value, json};

use crate::builtin_schemas::{self, REF_PREFIX};
use crate::registry::Registry;
use crate::resources::ResourceType;

/// The v3 index: one entry per served group/version.
pub fn v3_index(registry: &Registry) -> Value {
    let mut paths = Map::new();
    let generation = registry.generation();
    for group in registry.groups() {
        for version in &group.versions {
            let key = if group.name.is_empty() {
                format!("api/{version}")
            } else {
                format!("apis/{}/{version}", group.name)
            };
            paths.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={generation:016X}")}),
            );
        }
    }
    json!({"paths": paths})
}

fn schema_name(rt: &ResourceType) -> String {
    if !rt.is_custom()
        && let Some(name) = builtin_schemas::schemas().root(&rt.group, &rt.version, &rt.kind)
    {
        return name.to_string();
    }
    let reversed: Vec<&str> = if rt.group.is_empty() {
        vec!["io", "k8s", "api", "core"]
    } else {
        rt.group.split('.').rev().collect()
    };
    format!("{}.{}.{}", reversed.join("."), rt.version, rt.kind)
}

fn parameter(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

/// The document of one group/version, or None when nothing is served there.
pub fn v3_group_version(
    registry: &Registry,
    group: &str,
    version: &str,
    server_version: &str,
) -> Option<Value> {
    let types = registry.in_group_version(group, version);
    if types.is_empty() {
        return None;
    }
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    let mut paths = Map::new();
    let builtin_roots: Vec<&str> = types
        .iter()
        .filter(|rt| !rt.is_custom())
        .filter_map(|rt| builtin_schemas::schemas().root(&rt.group, &rt.version, &rt.kind))
        .collect();
    let mut schemas = builtin_schemas::schemas().reachable(&builtin_roots);
    for rt in &types {
        let gvk = json!({"group": rt.group, "version": rt.version, "kind": rt.kind});
        let reference = json!({"$ref": format!("{REF_PREFIX}{}", schema_name(rt))});
        let body = |types: &[&str]| {
            let content: Map<String, Value> = types
                .iter()
                .map(|t| (t.to_string(), json!({"schema": reference.clone()})))
                .collect();
            json!({"content": content, "required": true})
        };
        let response = json!({"200": {"description": "OK", "content": {"application/json": {"schema": reference.clone()}}}});
        let op = |action: &str, id: &str, params: Vec<Value>, request: Option<Value>| {
            let mut op = json!({
                "operationId": format!("{id}{}", rt.kind),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk.clone(),
                "parameters": params,
                "responses": response.clone(),
            });
            if let Some(request) = request {
                op["requestBody"] = request;
            }
            op
        };
        let write_params = || {
            vec![
                parameter("dryRun"),
                parameter("fieldManager"),
                parameter("fieldValidation"),
            ]
        };
        let scope = if rt.namespaced {
            "/namespaces/{namespace}"
        } else {
            ""
        };
        let collection = format!("{prefix}{scope}/{}", rt.plural);
        let item = format!("{collection}/{{name}}");
        let mut patch_params = write_params();
        patch_params.push(parameter("force"));
        paths.insert(
            collection,
            json!({
                "get": op("list", "list", vec![parameter("labelSelector"), parameter("fieldSelector"), parameter("limit")], None),
                "post": op("post", "create", write_params(), Some(body(&["application/json", "application/yaml"]))),
            }),
        );
        paths.insert(
            item,
            json!({
                "get": op("get", "read", vec![], None),
                "put": op("put", "replace", write_params(), Some(body(&["application/json", "application/yaml"]))),
                "patch": op("patch", "patch", patch_params, Some(body(&[
                    "application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]))),
                "delete": op("delete", "delete", vec![parameter("dryRun"), parameter("propagationPolicy")], None),
            }),
        );
        let mut schema = match (rt.schema.as_deref(), schemas.get(&schema_name(rt))) {
            (Some(custom), _) => custom.clone(),
            (None, Some(builtin)) if !rt.is_custom() => builtin.clone(),
            _ => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        };
        schema["x-kubernetes-group-version-kind"] = json!([gvk]);
        schemas.insert(schema_name(rt), schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": server_version},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// A v2 document kubectl can decode: `swagger` and `info` only (gnostic's protobuf `Document`).
/// kubectl then computes client-side apply patches from its built-in types, as it does for kinds
/// a real server's document does not describe.
pub fn v2_protobuf(server_version: &str) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, number: u8, bytes: &[u8]) {
        out.push(number << 3 | 2);
        let mut len = bytes.len();
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out.extend_from_slice(bytes);
    }
    let mut info = Vec::new();
    field(&mut info, 1, b"Kubernetes");
    field(&mut info, 2, server_version.as_bytes());
    let mut document = Vec::new();
    field(&mut document, 1, b"2.0");
    field(&mut document, 2, &info);
    document
}

pub fn v2_json(server_version: &str) -> Value {
    json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": server_version}, "paths": {}, "definitions": {}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_operations_declare_field_validation() {
        let registry = Registry::with_builtins();
        let doc = v3_group_version(&registry, "apps", "v1", "v1.34.1").unwrap();
        let path =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            path["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        assert!(
            path["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        let deployment = &doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "version": "v1", "kind": "Deployment"}])
        );
        assert!(
            deployment["description"]
                .as_str()
                .unwrap()
                .starts_with("Deployment enables")
        );
        assert!(doc["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"].is_object());
        let index = v3_index(&registry);
        assert!(
            index["paths"]["apis/apps/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/apis/apps/v1?hash=")
        );
    }

    #[test]
    fn v2_protobuf_is_well_formed() {
        let bytes = v2_protobuf("v1.34.1");
        assert_eq!(&bytes[..5], &[0x0a, 3, b'2', b'.', b'0']);
        assert_eq!(bytes[5], 0x12);
        assert_eq!(bytes[6] as usize, bytes.len() - 7);
    }
}
