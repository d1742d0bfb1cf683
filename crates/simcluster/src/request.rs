//! Parse an API request's path and query into what it asks for (verb, group, version, namespace,
//! resource, name, subresource), the way the real server's RequestInfoFactory does.

use std::collections::HashMap;

/// A resource request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceRequest {
    pub verb: &'static str,
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// Path segments after the subresource (e.g. `portforward/22`).
    pub subpath: Vec<String>,
}

/// What a request is.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Resource(ResourceRequest),
    /// `/api`, `/apis`, `/apis/<group>`, `/api/v1`, `/apis/<group>/<version>`.
    Discovery {
        group: Option<String>,
        version: Option<String>,
        legacy: bool,
    },
    NonResource(String),
}

/// Parsed query parameters (the last value wins, as in Go's `Get`).
#[derive(Debug, Clone, Default)]
pub struct Query(pub HashMap<String, String>);

impl Query {
    pub fn parse(query: Option<&str>) -> Self {
        let mut map = HashMap::new();
        if let Some(q) = query {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                map.insert(k.into_owned(), v.into_owned());
            }
        }
        Self(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    pub fn dry_run(&self) -> bool {
        self.get("dryRun") == Some("All")
    }
}

/// Classify `method path`.
pub fn classify(method: &str, path: &str, query: &Query) -> Target {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let (group, version, rest, legacy) = match segments.first().map(String::as_str) {
        Some("api") => match segments.get(1) {
            None => {
                return Target::Discovery {
                    group: None,
                    version: None,
                    legacy: true,
                };
            }
            Some(v) => (String::new(), v.clone(), &segments[2..], true),
        },
        Some("apis") => match (segments.get(1), segments.get(2)) {
            (None, _) => {
                return Target::Discovery {
                    group: None,
                    version: None,
                    legacy: false,
                };
            }
            (Some(g), None) => {
                return Target::Discovery {
                    group: Some(g.clone()),
                    version: None,
                    legacy: false,
                };
            }
            (Some(g), Some(v)) => (g.clone(), v.clone(), &segments[3..], false),
        },
        _ => return Target::NonResource(path.to_string()),
    };
    if rest.is_empty() {
        return Target::Discovery {
            group: Some(group),
            version: Some(version),
            legacy,
        };
    }
    let mut rest: Vec<String> = rest.to_vec();
    let mut watch = query.flag("watch");
    if rest.first().map(String::as_str) == Some("watch") {
        watch = true;
        rest.remove(0);
    }
    let mut request = ResourceRequest {
        group,
        version,
        ..Default::default()
    };
    // namespaces/{ns}/{resource}... except when the namespace itself is the object.
    if rest.first().map(String::as_str) == Some("namespaces") && rest.len() >= 3 {
        request.namespace = Some(rest[1].clone());
        rest.drain(0..2);
    } else if rest.first().map(String::as_str) == Some("namespaces") && rest.len() == 2 {
        request.resource = "namespaces".into();
        request.name = Some(rest[1].clone());
        rest.clear();
    }
    if !rest.is_empty() {
        request.resource = rest[0].clone();
        request.name = rest.get(1).cloned();
        request.subresource = rest.get(2).cloned();
        request.subpath = rest.iter().skip(3).cloned().collect();
    }
    // namespaces/{name}/status|finalize: the namespace is the object, not the scope.
    if request.resource != "namespaces"
        && request.namespace.is_some()
        && matches!(request.resource.as_str(), "status" | "finalize")
        && request.name.is_none()
    {
        request.subresource = Some(request.resource.clone());
        request.name = request.namespace.take();
        request.resource = "namespaces".into();
    }
    request.verb = match (method, request.name.is_some()) {
        ("GET" | "HEAD", _) if watch => "watch",
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    };
    Target::Resource(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(method: &str, path: &str, query: &str) -> ResourceRequest {
        match classify(method, path, &Query::parse(Some(query))) {
            Target::Resource(r) => r,
            other => panic!("not a resource request: {other:?}"),
        }
    }

    #[test]
    fn namespaced_and_cluster_scoped_paths() {
        let r = resource(
            "GET",
            "/apis/apps/v1/namespaces/kube-system/deployments/coredns",
            "",
        );
        assert_eq!(
            (r.verb, r.group.as_str(), r.namespace.as_deref()),
            ("get", "apps", Some("kube-system"))
        );
        assert_eq!(r.name.as_deref(), Some("coredns"));
        let r = resource("GET", "/api/v1/namespaces/default", "");
        assert_eq!(
            (r.resource.as_str(), r.name.as_deref(), r.namespace),
            ("namespaces", Some("default"), None)
        );
        let r = resource("PUT", "/api/v1/namespaces/default/finalize", "");
        assert_eq!(
            (r.resource.as_str(), r.name.as_deref()),
            ("namespaces", Some("default"))
        );
        assert_eq!(r.subresource.as_deref(), Some("finalize"));
        let r = resource("GET", "/api/v1/namespaces", "watch=true");
        assert_eq!((r.verb, r.name), ("watch", None));
        let r = resource("GET", "/api/v1/watch/namespaces/default/configmaps", "");
        assert_eq!((r.verb, r.resource.as_str()), ("watch", "configmaps"));
        let r = resource("DELETE", "/api/v1/namespaces/default/configmaps", "");
        assert_eq!(r.verb, "deletecollection");
        let r = resource(
            "PUT",
            "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm1/start",
            "",
        );
        assert_eq!(
            (r.resource.as_str(), r.subresource.as_deref()),
            ("virtualmachines", Some("start"))
        );
    }

    #[test]
    fn discovery_paths() {
        assert!(matches!(
            classify("GET", "/apis", &Query::default()),
            Target::Discovery { group: None, .. }
        ));
        assert!(matches!(
            classify("GET", "/apis/apps/v1", &Query::default()),
            Target::Discovery {
                version: Some(_),
                ..
            }
        ));
        assert!(matches!(
            classify("GET", "/version", &Query::default()),
            Target::NonResource(_)
        ));
    }
}
