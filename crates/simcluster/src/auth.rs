//! Who is calling (bearer token or client certificate) and what they may do: `admin` may do
//! everything, `viewer` may only read. Also answers SelfSubjectAccessReview and SelfSubjectRulesReview.

use serde_json::{Value, json};

use crate::pki::VIEWER_GROUP;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

const READ_VERBS: &[&str] = &["get", "list", "watch"];

impl Identity {
    pub fn admin() -> Self {
        Self {
            user: "admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }

    fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }

    fn is_viewer(&self) -> bool {
        self.groups.iter().any(|g| g == VIEWER_GROUP)
    }

    /// May this caller do `verb` on `group`/`resource` (with `subresource`)?
    pub fn may(&self, verb: &str, group: &str, resource: &str, subresource: Option<&str>) -> bool {
        if self.is_admin() {
            return true;
        }
        if group == "authorization.k8s.io"
            && matches!(
                resource,
                "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
            )
            || group == "authentication.k8s.io" && resource == "selfsubjectreviews"
        {
            return verb == "create";
        }
        // Viewers read everything, including console streams (a GET), but change nothing.
        let _ = subresource;
        self.is_viewer() && READ_VERBS.contains(&verb)
    }

    /// May this caller fetch a non-resource URL (discovery, /version, /openapi)?
    pub fn may_read_path(&self) -> bool {
        true
    }

    /// The resource rules a SelfSubjectRulesReview reports.
    pub fn rules(&self) -> (Value, Value) {
        let reviews = json!({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]});
        if self.is_admin() {
            (
                json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, reviews]),
                json!([{"verbs": ["*"], "nonResourceURLs": ["*"]}]),
            )
        } else if self.is_viewer() {
            (
                json!([{"verbs": READ_VERBS, "apiGroups": ["*"], "resources": ["*"]}, reviews]),
                json!([{"verbs": ["get"], "nonResourceURLs": ["*"]}]),
            )
        } else {
            (
                json!([reviews]),
                json!([{"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/version", "/healthz", "/readyz", "/livez", "/openapi", "/openapi/*"]}]),
            )
        }
    }

    /// Answer a SelfSubjectAccessReview: the review with `status` filled in.
    pub fn review_access(&self, review: &Value) -> Value {
        let spec = review.get("spec").cloned().unwrap_or_default();
        let allowed = if let Some(attrs) = spec.get("resourceAttributes") {
            let field = |name: &str| attrs.get(name).and_then(Value::as_str).unwrap_or("");
            let verb = field("verb");
            let resource = field("resource");
            let group = field("group");
            let subresource = Some(field("subresource")).filter(|s| !s.is_empty());
            let verb = if verb == "*" { "create" } else { verb };
            self.is_admin() || (resource != "*" && self.may(verb, group, resource, subresource))
        } else if let Some(attrs) = spec.get("nonResourceAttributes") {
            let verb = attrs.get("verb").and_then(Value::as_str).unwrap_or("get");
            self.is_admin() || verb == "get"
        } else {
            false
        };
        let mut out = json!({
            "kind": "SelfSubjectAccessReview",
            "apiVersion": review.get("apiVersion").cloned().unwrap_or(json!("authorization.k8s.io/v1")),
            "metadata": {"creationTimestamp": null},
            "spec": spec,
            "status": {"allowed": allowed},
        });
        if allowed {
            out["status"]["reason"] = json!(if self.is_admin() {
                "simcluster: admin may do everything"
            } else {
                "simcluster: viewers may read"
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer() -> Identity {
        Identity {
            user: "viewer".into(),
            groups: vec![VIEWER_GROUP.into(), "system:authenticated".into()],
        }
    }

    #[test]
    fn viewer_reads_but_does_not_write() {
        assert!(viewer().may("list", "apps", "deployments", None));
        assert!(!viewer().may("create", "", "namespaces", None));
        assert!(!viewer().may("delete", "", "configmaps", None));
        assert!(viewer().may(
            "create",
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            None
        ));
        assert!(Identity::admin().may("delete", "", "namespaces", None));
    }

    #[test]
    fn access_review_answers_truthfully() {
        let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "create", "resource": "deployments", "group": "apps", "namespace": "default"}}});
        assert_eq!(viewer().review_access(&review)["status"]["allowed"], false);
        assert_eq!(
            Identity::admin().review_access(&review)["status"]["allowed"],
            true
        );
        let read = json!({"spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}});
        assert_eq!(viewer().review_access(&read)["status"]["allowed"], true);
    }
}
