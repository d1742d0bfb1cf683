//! cdi-operator, simulated: once its Deployment is available, the CDI CR (cluster-scoped) gets
//! the CDI APIs and components (with the `cdi-uploadproxy` Service), goes Deploying -> Deployed,
//! and on deletion goes Deleting, removes what it installed and drops its finalizer.

use serde_json::{Value, json};

use super::{
    Controller, Failures, Key, Requeue, WRITE_FAILED, crd_catalog, deployment_available, get,
    is_deleting, meta, operator_version, set_status,
};
use crate::admission::{add_finalizer, remove_finalizer};
use crate::cluster::Cluster;
use crate::controllers::{describe, modify};
use crate::resources::GroupResource;
use crate::store::{Change, ObjectKey, StoredObject};

const MANAGER: &str = "cdi-operator";
pub const FINALIZER: &str = "operator.cdi.kubevirt.io";
pub const UPLOAD_API_SERVICE: &str = "v1beta1.upload.cdi.kubevirt.io";
const COMPONENTS: &[&str] = &["cdi-apiserver", "cdi-deployment", "cdi-uploadproxy"];
const SERVICES: &[&str] = &["cdi-api", "cdi-uploadproxy", "cdi-prometheus-metrics"];
const VALIDATING: &str = "cdi-api-datavolume-validate";
const MUTATING: &str = "cdi-api-datavolume-mutate";

fn cdis() -> GroupResource {
    GroupResource::new("cdi.kubevirt.io", "cdis")
}

/// The simulated cdi-operator.
pub struct CdiOperator;

impl Controller for CdiOperator {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key> {
        let concerns = change.gr == cdis()
            || (change.gr.group == "apps"
                && (change.key.name == "cdi-operator"
                    || COMPONENTS.contains(&change.key.name.as_str())));
        if concerns {
            self.all_keys(cluster)
        } else {
            Vec::new()
        }
    }

    fn reconcile(&mut self, cluster: &Cluster, key: &Key, _requeue: &Requeue) {
        reconcile(cluster, &key.1);
    }

    fn all_keys(&self, cluster: &Cluster) -> Vec<Key> {
        let (all, _) = cluster.store().list(&cdis(), None);
        all.iter()
            .map(|o| (cdis(), ObjectKey::new("", o.meta_str("name").unwrap_or(""))))
            .collect()
    }
}

/// The cdi-operator Deployment, wherever it was installed.
fn operator(cluster: &Cluster) -> Option<std::sync::Arc<StoredObject>> {
    let (deployments, _) = cluster
        .store()
        .list(&GroupResource::new("apps", "deployments"), None);
    deployments
        .into_iter()
        .find(|d| d.meta_str("name") == Some("cdi-operator"))
}

pub fn reconcile(cluster: &Cluster, key: &ObjectKey) {
    let (Some(cr), Some(operator)) = (cluster.store().get(&cdis(), key), operator(cluster)) else {
        return;
    };
    if !deployment_available(cluster, &operator.value) {
        return;
    }
    let Some(rt) = cluster.registry().any_version(&cdis()) else {
        return;
    };
    let ns = meta(&operator.value, "namespace").to_string();
    let version =
        operator_version(&operator.value, "OPERATOR_VERSION").unwrap_or_else(|| "v1.64.0".into());
    let registry = super::image_registry(&operator.value);
    let mut failures = Failures::new(MANAGER);
    if is_deleting(&cr.value) {
        uninstall(cluster, &ns, &mut failures);
        let degraded = (!failures.is_empty()).then(|| failures.message());
        set_status(cluster, &rt, key, MANAGER, |cr| {
            super::deleting_status(cr.get("status"), degraded.as_deref())
        });
        if degraded.is_none() {
            // Everything it installed is gone: let the CR go.
            crate::controllers::logged(
                MANAGER,
                &describe(&cdis(), key),
                modify(cluster, &rt, key, MANAGER, None, |cr| {
                    remove_finalizer(cr, FINALIZER)
                }),
            );
        }
        return;
    }
    failures.check(
        &describe(&cdis(), key),
        modify(cluster, &rt, key, MANAGER, None, |cr| {
            add_finalizer(cr, FINALIZER)
        }),
    );
    install(cluster, &ns, &version, &registry, &mut failures);
    let degraded = (!failures.is_empty()).then(|| failures.message());
    let ready = COMPONENTS.iter().all(|name| {
        get(cluster, "apps", "deployments", &ns, name).is_some_and(|d| {
            deployment_available(cluster, &d.value)
                && d.value
                    .pointer("/spec/template/spec/containers/0/image")
                    .and_then(Value::as_str)
                    .is_some_and(|i| i.ends_with(&format!(":{version}")))
        })
    });
    set_status(cluster, &rt, key, MANAGER, |cr| {
        let old = cr.get("status");
        let mut status = old.cloned().unwrap_or(json!({}));
        status["operatorVersion"] = json!(version);
        status["targetVersion"] = json!(version);
        let condition = |kind: &str, on: bool, reason: &str, message: &str| {
            let mut c = super::condition(old, kind, on, reason, message);
            c["lastHeartbeatTime"] = c["lastTransitionTime"].clone();
            c
        };
        if let Some(failed) = &degraded {
            // Some of what CDI consists of could not be written: say so, never Deployed.
            status["phase"] = json!("Deploying");
            status["conditions"] = json!([
                condition("Available", false, WRITE_FAILED, failed),
                condition("Progressing", true, WRITE_FAILED, failed),
                condition("Degraded", true, WRITE_FAILED, failed),
            ]);
        } else if ready {
            status["phase"] = json!("Deployed");
            status["observedVersion"] = json!(version);
            status["conditions"] = json!([
                condition("Available", true, "DeployCompleted", "Deployment Completed"),
                condition(
                    "Progressing",
                    false,
                    "DeployCompleted",
                    "Deployment Completed"
                ),
                condition("Degraded", false, "DeployCompleted", "Deployment Completed"),
            ]);
        } else {
            let upgrading = old
                .and_then(|s| s.get("observedVersion"))
                .is_some_and(|o| *o != json!(version));
            status["phase"] = json!(if upgrading { "Upgrading" } else { "Deploying" });
            status["conditions"] = json!([
                condition(
                    "Available",
                    upgrading,
                    "DeployStarted",
                    "Started Deployment"
                ),
                condition("Progressing", true, "DeployStarted", "Started Deployment"),
                condition("Degraded", false, "DeployStarted", "Started Deployment"),
            ]);
        }
        status
    });
}

fn install(cluster: &Cluster, ns: &str, version: &str, registry: &str, failures: &mut Failures) {
    let labels = json!({"cdi.kubevirt.io": "", "app.kubernetes.io/managed-by": "cdi-operator",
        "app.kubernetes.io/component": "storage", "app.kubernetes.io/version": version});
    for spec in crd_catalog::CDI {
        failures.ensure(cluster, crd_catalog::crd(spec, &labels));
    }
    for name in COMPONENTS {
        let image = format!(
            "{registry}/{}:{version}",
            name.replace("cdi-deployment", "cdi-controller")
        );
        failures.ensure(cluster, json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"cdi.kubevirt.io": name}},
                    "template": {"metadata": {"labels": {"cdi.kubevirt.io": name, "app.kubernetes.io/version": version}},
                        "spec": {"containers": [{"name": name, "image": image, "imagePullPolicy": "IfNotPresent"}]}}}}),
        );
    }
    for name in SERVICES {
        let target = if *name == "cdi-api" {
            "cdi-apiserver"
        } else {
            name
        };
        failures.ensure(cluster, json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns, "labels": labels},
                "spec": {"selector": {"cdi.kubevirt.io": target}, "ports": [{"port": 443, "targetPort": 8443, "protocol": "TCP"}]}}),
        );
    }
    failures.ensure(cluster, json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": UPLOAD_API_SERVICE, "labels": labels},
            "spec": {"group": "upload.cdi.kubevirt.io", "version": "v1beta1", "groupPriorityMinimum": 1000, "versionPriority": 15,
                "service": {"name": "cdi-api", "namespace": ns, "port": 443}}}),
    );
    let hook = |name: &str, path: &str| {
        json!({"name": format!("{name}.cdi.kubevirt.io"), "admissionReviewVersions": ["v1", "v1beta1"], "sideEffects": "None",
            "failurePolicy": "Fail", "clientConfig": {"service": {"name": "cdi-api", "namespace": ns, "path": path, "port": 443}},
            "rules": [{"apiGroups": ["cdi.kubevirt.io"], "apiVersions": ["v1beta1"], "operations": ["CREATE", "UPDATE"], "resources": ["datavolumes"], "scope": "*"}]})
    };
    failures.ensure(cluster, json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": VALIDATING, "labels": labels}, "webhooks": [hook("datavolume-validate", "/datavolume-validate")]}),
    );
    failures.ensure(cluster, json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": MUTATING, "labels": labels}, "webhooks": [hook("datavolume-mutate", "/datavolume-mutate")]}),
    );
    if let Some(config) = failures.ensure(cluster, json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "CDIConfig", "metadata": {"name": "config", "labels": labels}, "spec": {}}),
    ) && config.value.get("status").is_none()
        && let Some(rt) = super::served(cluster, "cdi.kubevirt.io", "cdiconfigs")
    {
        set_status(cluster, &rt, &ObjectKey::new("", "config"), MANAGER, |_| {
            json!({"uploadProxyURL": format!("cdi-uploadproxy.{ns}.svc"), "scratchSpaceStorageClass": "standard",
                "defaultPodResourceRequirements": {"limits": {"cpu": "750m", "memory": "600M"}, "requests": {"cpu": "100m", "memory": "60M"}},
                "filesystemOverhead": {"global": "0.06"}, "importProxy": {}})
        });
    }
}

fn uninstall(cluster: &Cluster, ns: &str, failures: &mut Failures) {
    for name in COMPONENTS {
        failures.remove(cluster, "apps", "deployments", ns, name);
    }
    for name in SERVICES {
        failures.remove(cluster, "", "services", ns, name);
    }
    failures.remove(
        cluster,
        "apiregistration.k8s.io",
        "apiservices",
        "",
        UPLOAD_API_SERVICE,
    );
    failures.remove(
        cluster,
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        "",
        VALIDATING,
    );
    failures.remove(
        cluster,
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        "",
        MUTATING,
    );
    for crd in crd_catalog::names(crd_catalog::CDI) {
        failures.remove(
            cluster,
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            &crd,
        );
    }
}
