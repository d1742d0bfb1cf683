//! What the server does to an object on its way in: defaults of built-in kinds, CRD bookkeeping,
//! schema validation of custom resources and of the built-in kinds an install applies, and the
//! checks every write gets.

use serde_json::{Value, json};

use crate::builtin_schemas::{self, REF_PREFIX};
use crate::resources::ResourceType;
use crate::schema::{self, Dialect};
use crate::status::{ApiError, Cause};

/// How strictly unknown fields are treated (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None | Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}, must be one of Ignore, Warn or Strict"
            ))),
        }
    }
}

/// Checks every write gets: name rules, kind and apiVersion matching the endpoint.
pub fn check_identity(rt: &ResourceType, object: &Value) -> Result<(), ApiError> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !kind.is_empty() && kind != rt.kind {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): kind \"{kind}\" does not match resource \"{}\"",
            rt.kind, rt.plural
        )));
    }
    if !api_version.is_empty() {
        let (group, _) = crate::registry::split_api_version(api_version);
        if group != rt.group {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({api_version}) does not match the expected API version ({})",
                rt.api_version()
            )));
        }
    }
    if let Some(name) = object.pointer("/metadata/name").and_then(Value::as_str) {
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == ':'
            })
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid {
            return Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                name,
                vec![Cause {
                    reason: "FieldValueInvalid",
                    message: format!(
                        "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                    ),
                    field: "metadata.name".into(),
                }],
            ));
        }
    }
    Ok(())
}

/// Validate a custom object against its schema; unknown fields are pruned (Strict: rejected).
/// Returns warnings for the `Warning` header.
pub fn validate_custom(
    rt: &ResourceType,
    object: &mut Value,
    validation: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let Some(schema) = rt.schema.as_deref() else {
        return Ok(Vec::new());
    };
    let findings = schema::validate(object, schema);
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !findings.errors.is_empty() {
        return Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            &name,
            findings.errors,
        ));
    }
    match validation {
        FieldValidation::Strict if !findings.unknown.is_empty() => {
            let fields: Vec<String> = findings
                .unknown
                .iter()
                .map(|f| format!("unknown field \"{f}\""))
                .collect();
            Err(ApiError::bad_request(format!(
                "strict decoding error: {}",
                fields.join(", ")
            )))
        }
        FieldValidation::Warn => Ok(findings
            .unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect()),
        _ => Ok(Vec::new()),
    }
}

/// Built-in kinds validated against their OpenAPI schemas: those an install applies.
const VALIDATED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "ServiceAccount"),
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "Service"),
    ("apps", "Deployment"),
    ("apps", "DaemonSet"),
    ("apps", "StatefulSet"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
];

/// Validate a built-in object as kube-apiserver does: decoding first (a wrong type, or an unknown
/// field under `Strict`, is a 400 naming the field), then required fields and enums (422).
/// Unknown fields are dropped; under `Warn` they come back as warnings. The status is not checked.
pub fn validate_builtin(
    rt: &ResourceType,
    object: &mut Value,
    validation: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    if !VALIDATED.contains(&(rt.group.as_str(), rt.kind.as_str())) {
        return Ok(Vec::new());
    }
    let schemas = builtin_schemas::schemas();
    let Some(root) = schemas.root(&rt.group, &rt.version, &rt.kind) else {
        return Ok(Vec::new());
    };
    let root = json!({"$ref": format!("{REF_PREFIX}{root}")});
    let status = object.as_object_mut().and_then(|m| m.remove("status"));
    let findings = schema::validate_as(object, &root, Dialect::OpenApi(schemas.definitions()));
    if let Some(status) = status {
        object["status"] = status;
    }
    let undecodable = |detail: &str| {
        ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: {detail}",
            kind = rt.kind,
            version = rt.version
        ))
    };
    if let Some(cause) = findings
        .errors
        .iter()
        .find(|c| c.reason == "FieldValueTypeInvalid")
    {
        return Err(undecodable(&cause.message));
    }
    let unknown: Vec<String> = findings
        .unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    if validation == FieldValidation::Strict && !unknown.is_empty() {
        return Err(undecodable(&format!(
            "strict decoding error: {}",
            unknown.join(", ")
        )));
    }
    if !findings.errors.is_empty() {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        return Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            name,
            findings.errors,
        ));
    }
    Ok(match validation {
        FieldValidation::Warn => unknown,
        _ => Vec::new(),
    })
}

/// Defaults the real server (or its built-in controllers, at once) give new objects.
pub fn default_on_create(
    rt: &ResourceType,
    object: &mut Value,
    cluster_ip: impl FnOnce() -> String,
) {
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Namespace") => {
            object["spec"] = json!({"finalizers": ["kubernetes"]});
            object["status"] = json!({"phase": "Active"});
            let name = object
                .pointer("/metadata/name")
                .cloned()
                .unwrap_or_default();
            ensure_label(object, "kubernetes.io/metadata.name", name);
        }
        ("", "Service") => {
            let spec = object.get_mut("spec").and_then(Value::as_object_mut);
            if let Some(spec) = spec {
                spec.entry("type").or_insert(json!("ClusterIP"));
                if !spec.contains_key("clusterIP") {
                    let ip = cluster_ip();
                    spec.insert("clusterIP".into(), json!(ip));
                    spec.insert("clusterIPs".into(), json!([ip]));
                }
                spec.entry("sessionAffinity").or_insert(json!("None"));
            }
        }
        ("", "Secret") if object.get("type").is_none() => {
            object["type"] = json!("Opaque");
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            add_finalizer(object, "customresourcecleanup.apiextensions.k8s.io");
        }
        ("apps", "Deployment") | ("apps", "StatefulSet") | ("apps", "ReplicaSet") => {
            if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("replicas").or_insert(json!(1));
            }
        }
        _ => {}
    }
}

/// Make sure a label is set.
pub fn ensure_label(object: &mut Value, key: &str, value: Value) {
    if !object["metadata"]["labels"].is_object() {
        object["metadata"]["labels"] = json!({});
    }
    object["metadata"]["labels"][key] = value;
}

/// Add a finalizer unless it is there; returns whether the object changed.
pub fn add_finalizer(object: &mut Value, finalizer: &str) -> bool {
    let list = &mut object["metadata"]["finalizers"];
    if !list.is_array() {
        *list = json!([]);
    }
    let items = list.as_array_mut().expect("made an array above");
    if items.iter().any(|f| f == finalizer) {
        return false;
    }
    items.push(json!(finalizer));
    true
}

pub fn remove_finalizer(object: &mut Value, finalizer: &str) -> bool {
    let Some(items) = object
        .pointer_mut("/metadata/finalizers")
        .and_then(Value::as_array_mut)
    else {
        return false;
    };
    let before = items.len();
    items.retain(|f| f != finalizer);
    let removed = items.len() != before;
    if items.is_empty()
        && let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.remove("finalizers");
    }
    removed
}

/// Does the object still wait on any finalizer (metadata, or a namespace's spec finalizers)?
pub fn has_finalizers(object: &Value) -> bool {
    let meta = object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    let spec = object.get("kind").and_then(Value::as_str) == Some("Namespace")
        && object
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
    meta || spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn check(
        api_version: &str,
        object: Value,
        validation: FieldValidation,
    ) -> Result<(Value, Vec<String>), ApiError> {
        let kind = object["kind"].as_str().unwrap().to_string();
        let rt = Registry::with_builtins()
            .by_kind(api_version, &kind)
            .expect("a built-in kind");
        let mut object = object;
        let warnings = validate_builtin(&rt, &mut object, validation)?;
        Ok((object, warnings))
    }

    #[test]
    fn required_fields_of_rbac_rules_are_named() {
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]});
        let err = check(
            "rbac.authorization.k8s.io/v1",
            role,
            FieldValidation::Strict,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "ClusterRole.rbac.authorization.k8s.io \"r\" is invalid: rules[0].verbs: Required value"
        );
    }

    #[test]
    fn a_wrong_type_is_the_decoders_400() {
        let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": "http"}]}});
        let err = check("v1", service, FieldValidation::Ignore).unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(
            err.message,
            "Service in version \"v1\" cannot be handled as a Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"
        );
    }

    #[test]
    fn webhook_enums_are_checked() {
        let config = json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "w"},
            "webhooks": [{"name": "w.example.com", "clientConfig": {"url": "https://x"},
                "sideEffects": "Some", "admissionReviewVersions": ["v1"]}]});
        let err = check(
            "admissionregistration.k8s.io/v1",
            config,
            FieldValidation::Warn,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
        assert!(
            err.message.ends_with(
                "webhooks[0].sideEffects: Unsupported value: \"Some\": supported values: \"None\", \"NoneOnDryRun\""
            ),
            "{}",
            err.message
        );
    }

    #[test]
    fn unknown_fields_follow_field_validation_and_any_json_stays() {
        let crd = || {
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "widgets.example.com"},
                "spec": {"group": "example.com", "scope": "Namespaced", "bogus": true,
                    "names": {"plural": "widgets", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                            "size": {"type": "integer", "default": 3, "enum": [1, 3]}}}}}]}})
        };
        let strict = check("apiextensions.k8s.io/v1", crd(), FieldValidation::Strict).unwrap_err();
        assert_eq!(strict.code, 400);
        assert!(
            strict
                .message
                .ends_with("strict decoding error: unknown field \"spec.bogus\""),
            "{}",
            strict.message
        );
        let (kept, warnings) =
            check("apiextensions.k8s.io/v1", crd(), FieldValidation::Warn).unwrap();
        assert_eq!(warnings, vec!["unknown field \"spec.bogus\"".to_string()]);
        assert!(kept["spec"].get("bogus").is_none());
        let size = &kept["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["size"];
        assert_eq!(size["default"], 3);
        let (_, ignored) =
            check("apiextensions.k8s.io/v1", crd(), FieldValidation::Ignore).unwrap();
        assert!(ignored.is_empty());
    }

    #[test]
    fn kinds_an_install_does_not_apply_are_not_checked() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"image": "x"}]}});
        assert!(check("v1", pod, FieldValidation::Strict).is_ok());
    }
}
