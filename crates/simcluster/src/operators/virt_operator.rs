//! virt-operator, simulated: once its Deployment is available, a KubeVirt CR gets the KubeVirt
//! APIs, webhooks and components, goes Deploying -> Deployed (and again on upgrade), labels
//! schedulable nodes, and on deletion removes what it installed and drops its finalizer.

use std::sync::Arc;

use serde_json::{Value, json};

use super::kubevirt_webhooks::{
    API_MUTATOR, API_VALIDATOR, KubeVirtWebhooks, OPERATOR_VALIDATOR, WebhookState,
};
use super::{
    Controller, Failures, Key, Requeue, WRITE_FAILED, crd_catalog, deployment_available, get,
    is_deleting, label, meta, operator_version, set_status, short_hash,
};
use crate::admission::{add_finalizer, remove_finalizer};
use crate::cluster::Cluster;
use crate::controllers::{describe, modify};
use crate::resources::GroupResource;
use crate::store::{Change, ObjectKey};
use crate::topology::KVM_LABEL;

const MANAGER: &str = "virt-operator";
pub const FINALIZER: &str = "kubevirt.io/foregroundDeleteKubeVirt";
pub const SCHEDULABLE_LABEL: &str = "kubevirt.io/schedulable";
pub const KVM_RESOURCE: &str = "devices.kubevirt.io/kvm";
/// The aggregated APIs virt-api serves.
pub const API_SERVICES: &[&str] = &[
    "v1.subresources.kubevirt.io",
    "v1alpha3.subresources.kubevirt.io",
];
const COMPONENTS: &[(&str, &str)] = &[
    ("deployments", "virt-api"),
    ("deployments", "virt-controller"),
    ("daemonsets", "virt-handler"),
];

fn kubevirts() -> GroupResource {
    GroupResource::new("kubevirt.io", "kubevirts")
}

/// The simulated virt-operator.
pub struct VirtOperator {
    webhooks: Arc<KubeVirtWebhooks>,
}

impl VirtOperator {
    pub fn new(webhooks: Arc<KubeVirtWebhooks>) -> Self {
        Self { webhooks }
    }
}

impl Controller for VirtOperator {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key> {
        let gr = &change.gr;
        let concerns = *gr == kubevirts()
            || (gr.group == "apps"
                && (change.key.name == "virt-operator"
                    || COMPONENTS.iter().any(|(_, n)| *n == change.key.name)))
            || gr.resource == "apiservices"
            || gr.resource.ends_with("webhookconfigurations")
            // A CRD of ours going lets a deleted CR drop its finalizer.
            || (gr.resource == "customresourcedefinitions"
                && crd_catalog::names(crd_catalog::KUBEVIRT).contains(&change.key.name));
        if concerns {
            self.all_keys(cluster)
        } else {
            Vec::new()
        }
    }

    fn reconcile(&mut self, cluster: &Cluster, key: &Key, _requeue: &Requeue) {
        reconcile(cluster, &key.1, &self.webhooks);
    }

    fn all_keys(&self, cluster: &Cluster) -> Vec<Key> {
        let (all, _) = cluster.store().list(&kubevirts(), None);
        let mut keys: Vec<Key> = all
            .iter()
            .map(|o| {
                (
                    kubevirts(),
                    ObjectKey::new(
                        o.meta_str("namespace").unwrap_or(""),
                        o.meta_str("name").unwrap_or(""),
                    ),
                )
            })
            .collect();
        if keys.is_empty() {
            // Nothing to deploy, but webhooks and aggregated discovery still follow their objects.
            keys.push((kubevirts(), ObjectKey::new("", "")));
        }
        keys
    }
}

/// Reconcile one KubeVirt CR (and the webhook/discovery state around it).
pub fn reconcile(cluster: &Cluster, key: &ObjectKey, webhooks: &KubeVirtWebhooks) {
    let kv = cluster.store().get(&kubevirts(), key);
    let operator = kv.as_ref().and_then(|_| {
        get(
            cluster,
            "apps",
            "deployments",
            &key.namespace,
            "virt-operator",
        )
    });
    let version = operator
        .as_ref()
        .and_then(|o| operator_version(&o.value, "KUBEVIRT_VERSION"))
        .unwrap_or_else(|| webhooks.state().version);
    refresh_surroundings(cluster, webhooks, &version);
    let (Some(kv), Some(operator)) = (kv, operator) else {
        return;
    };
    if !deployment_available(cluster, &operator.value) {
        return; // nobody acts on the CR: it keeps its status (and, when deleted, its finalizer)
    }
    let Some(kv_rt) = cluster.registry().any_version(&kubevirts()) else {
        return;
    };
    let registry = super::image_registry(&operator.value);
    let mut failures = Failures::new(MANAGER);
    if is_deleting(&kv.value) {
        uninstall(cluster, &kv_rt, key, &mut failures);
        return;
    }
    failures.check(
        &describe(&kubevirts(), key),
        modify(cluster, &kv_rt, key, MANAGER, None, |cr| {
            add_finalizer(cr, FINALIZER)
        }),
    );
    let ns = key.namespace.as_str();
    install(cluster, ns, &version, &registry, &mut failures);
    let ready = components_ready(cluster, ns, &version);
    let emulation = kv
        .value
        .pointer("/spec/configuration/developerConfiguration/useEmulation")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if ready {
        label_nodes(cluster, Some(emulation), &mut failures);
    }
    let degraded = (!failures.is_empty()).then(|| failures.message());
    let deployment_id = short_hash(&format!("{registry}/{version}"));
    set_status(cluster, &kv_rt, key, MANAGER, |cr| {
        let old = cr.get("status");
        let observed = old
            .and_then(|s| s.get("observedKubeVirtVersion"))
            .and_then(Value::as_str);
        let upgrading = observed.is_some_and(|o| o != version);
        let message = format!("Deploying version {version} with registry {registry}");
        let condition = |kind: &str, status: bool, reason: &str, message: &str| {
            let mut c = super::condition(old, kind, status, reason, message);
            c["lastProbeTime"] = c["lastTransitionTime"].clone();
            c
        };
        let mut status = old.cloned().unwrap_or(json!({}));
        status["targetKubeVirtVersion"] = json!(version);
        status["targetKubeVirtRegistry"] = json!(registry);
        status["targetDeploymentID"] = json!(deployment_id);
        status["operatorVersion"] = json!(version);
        status["defaultArchitecture"] = json!("amd64");
        status["outdatedVirtualMachineInstanceWorkloads"] = json!(0);
        status["targetDeploymentConfig"] = json!(json!({"id": deployment_id, "namespace": ns, "registry": registry, "kubeVirtVersion": version}).to_string());
        if let Some(failed) = &degraded {
            // Some of what KubeVirt consists of could not be written: say so, never Deployed.
            status["phase"] = json!("Deploying");
            status["conditions"] = json!([
                condition("Available", upgrading && ready, WRITE_FAILED, failed),
                condition("Progressing", true, WRITE_FAILED, failed),
                condition("Degraded", true, WRITE_FAILED, failed),
                condition("Created", false, WRITE_FAILED, failed),
            ]);
        } else if ready {
            status["phase"] = json!("Deployed");
            status["observedKubeVirtVersion"] = json!(version);
            status["observedKubeVirtRegistry"] = json!(registry);
            status["observedDeploymentID"] = json!(deployment_id);
            status["observedDeploymentConfig"] = status["targetDeploymentConfig"].clone();
            status["observedGeneration"] = cr["metadata"]["generation"].clone();
            status["conditions"] = json!([
                condition(
                    "Available",
                    true,
                    "AllComponentsReady",
                    "All components are ready."
                ),
                condition(
                    "Progressing",
                    false,
                    "AllComponentsReady",
                    "All components are ready."
                ),
                condition(
                    "Degraded",
                    false,
                    "AllComponentsReady",
                    "All components are ready."
                ),
                condition(
                    "Created",
                    true,
                    "AllResourcesCreated",
                    "All resources were created."
                ),
            ]);
        } else {
            status["phase"] = json!("Deploying");
            status["conditions"] = json!([
                if upgrading {
                    condition("Available", true, "DeploymentInProgress", &message)
                } else {
                    condition("Available", false, "DeploymentInProgress", &message)
                },
                condition("Progressing", true, "DeploymentInProgress", &message),
                condition("Degraded", false, "DeploymentInProgress", &message),
                condition(
                    "Created",
                    true,
                    "AllResourcesCreated",
                    "All resources were created."
                ),
            ]);
        }
        status
    });
}

/// Webhook switches and the aggregated `subresources.kubevirt.io` discovery follow their objects.
fn refresh_surroundings(cluster: &Cluster, webhooks: &KubeVirtWebhooks, version: &str) {
    let exists = |resource: &str, name: &str| {
        get(cluster, "admissionregistration.k8s.io", resource, "", name)
            .is_some_and(|o| !is_deleting(&o.value))
    };
    let virt_api_up = get(cluster, "apps", "deployments", "kubevirt", "virt-api")
        .is_some_and(|d| deployment_available(cluster, &d.value));
    let state = WebhookState {
        operator_validator: exists("validatingwebhookconfigurations", OPERATOR_VALIDATOR),
        api_validator: exists("validatingwebhookconfigurations", API_VALIDATOR) && virt_api_up,
        version: version.to_string(),
    };
    webhooks.set(state);
    let api_service = get(
        cluster,
        "apiregistration.k8s.io",
        "apiservices",
        "",
        API_SERVICES[0],
    );
    match api_service {
        Some(service) if !is_deleting(&service.value) => super::power::serve_discovery(cluster),
        _ => super::power::withdraw_discovery(cluster),
    }
    for name in API_SERVICES {
        if let Some(rt) = super::served(cluster, "apiregistration.k8s.io", "apiservices") {
            set_status(cluster, &rt, &ObjectKey::new("", name), MANAGER, |svc| {
                let old = svc.get("status");
                json!({"conditions": [if virt_api_up {
                    super::condition(old, "Available", true, "Passed", "all checks passed")
                } else {
                    super::condition(old, "Available", false, "MissingEndpoints", "endpoints for service/virt-api in \"kubevirt\" have no addresses with port name \"\"")
                }]})
            });
        }
    }
}

fn labels(version: &str) -> Value {
    json!({"app.kubernetes.io/managed-by": "virt-operator", "app.kubernetes.io/component": "kubevirt",
        "app.kubernetes.io/version": version, "kubevirt.io": ""})
}

fn component(kind: &str, ns: &str, name: &str, image: &str, replicas: i64, version: &str) -> Value {
    let mut object = json!({
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "namespace": ns, "labels": labels(version)},
        "spec": {
            "selector": {"matchLabels": {"kubevirt.io": name}},
            "template": {
                "metadata": {"labels": {"kubevirt.io": name, "prometheus.kubevirt.io": "true", "app.kubernetes.io/version": version}},
                "spec": {"serviceAccountName": format!("kubevirt-{}", name.trim_start_matches("virt-")),
                    "priorityClassName": "kubevirt-cluster-critical",
                    "containers": [{"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
                        "ports": [{"containerPort": 8443, "name": "metrics", "protocol": "TCP"}]}]},
            },
        },
    });
    if kind == "Deployment" {
        object["spec"]["replicas"] = json!(replicas);
    }
    object
}

fn webhook(
    name: &str,
    path: &str,
    service: &str,
    resources: &[&str],
    operations: &[&str],
) -> Value {
    json!({
        "name": name, "admissionReviewVersions": ["v1", "v1beta1"], "sideEffects": "None", "failurePolicy": "Fail",
        "matchPolicy": "Equivalent", "timeoutSeconds": 10,
        "clientConfig": {"service": {"name": service, "namespace": "kubevirt", "path": path, "port": 443}},
        "rules": [{"apiGroups": ["kubevirt.io"], "apiVersions": ["v1", "v1alpha3"], "operations": operations, "resources": resources, "scope": "*"}],
    })
}

/// Create or update everything a deployed KubeVirt consists of.
fn install(cluster: &Cluster, ns: &str, version: &str, registry: &str, failures: &mut Failures) {
    let labels = labels(version);
    for spec in crd_catalog::KUBEVIRT {
        failures.ensure(cluster, crd_catalog::crd(spec, &labels));
    }
    for service in API_SERVICES {
        let version_name = service.split('.').next().unwrap_or("v1");
        failures.ensure(cluster, json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                "metadata": {"name": service, "labels": labels},
                "spec": {"group": "subresources.kubevirt.io", "version": version_name, "groupPriorityMinimum": 1000, "versionPriority": 15,
                    "service": {"name": "virt-api", "namespace": ns, "port": 443}}}),
        );
    }
    failures.ensure(cluster, json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": API_VALIDATOR, "labels": labels},
        "webhooks": [
            webhook("virtualmachineinstances-create-validator.kubevirt.io", "/virtualmachineinstances-validate-create", "virt-api", &["virtualmachineinstances"], &["CREATE"]),
            webhook("virtualmachineinstances-update-validator.kubevirt.io", "/virtualmachineinstances-validate-update", "virt-api", &["virtualmachineinstances"], &["UPDATE"]),
            webhook("virtualmachine-validator.kubevirt.io", "/virtualmachines-validate", "virt-api", &["virtualmachines"], &["CREATE", "UPDATE"]),
            webhook("migration-create-validator.kubevirt.io", "/migration-validate-create", "virt-api", &["virtualmachineinstancemigrations"], &["CREATE"]),
        ]}),
    );
    failures.ensure(cluster, json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": API_MUTATOR, "labels": labels},
        "webhooks": [
            webhook("virtualmachines-mutator.kubevirt.io", "/virtualmachines-mutate", "virt-api", &["virtualmachines"], &["CREATE", "UPDATE"]),
            webhook("virtualmachineinstances-mutator.kubevirt.io", "/virtualmachineinstances-mutate", "virt-api", &["virtualmachineinstances"], &["CREATE"]),
            webhook("migrations-mutator.kubevirt.io", "/migration-mutate-create", "virt-api", &["virtualmachineinstancemigrations"], &["CREATE"]),
        ]}),
    );
    failures.ensure(cluster, json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": OPERATOR_VALIDATOR, "labels": labels},
        "webhooks": [
            webhook("kubevirt-validator.kubevirt.io", "/kubevirt-validate-delete", "kubevirt-operator-webhook", &["kubevirts"], &["DELETE"]),
            webhook("kubevirt-update-validator.kubevirt.io", "/kubevirt-validate-update", "kubevirt-operator-webhook", &["kubevirts"], &["UPDATE"]),
        ]}),
    );
    for (service, port) in [
        ("virt-api", 443),
        ("kubevirt-prometheus-metrics", 443),
        ("kubevirt-operator-webhook", 443),
    ] {
        let selector = if service == "virt-api" {
            json!({"kubevirt.io": "virt-api"})
        } else {
            json!({"prometheus.kubevirt.io": "true"})
        };
        failures.ensure(cluster, json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": service, "namespace": ns, "labels": labels},
                "spec": {"selector": selector, "ports": [{"port": port, "targetPort": 8443, "protocol": "TCP"}]}}),
        );
    }
    let image = |name: &str| format!("{registry}/{name}:{version}");
    failures.ensure(
        cluster,
        component("Deployment", ns, "virt-api", &image("virt-api"), 2, version),
    );
    failures.ensure(
        cluster,
        component(
            "Deployment",
            ns,
            "virt-controller",
            &image("virt-controller"),
            2,
            version,
        ),
    );
    failures.ensure(
        cluster,
        component(
            "DaemonSet",
            ns,
            "virt-handler",
            &image("virt-handler"),
            0,
            version,
        ),
    );
}

/// virt-api, virt-controller and virt-handler run `version` and are ready.
fn components_ready(cluster: &Cluster, ns: &str, version: &str) -> bool {
    COMPONENTS.iter().all(|(resource, name)| {
        let Some(object) = get(cluster, "apps", resource, ns, name) else {
            return false;
        };
        let v = &object.value;
        let image_ok = v
            .pointer("/spec/template/spec/containers/0/image")
            .and_then(Value::as_str)
            .is_some_and(|i| i.ends_with(&format!(":{version}")));
        let current = v.pointer("/status/observedGeneration") == v.pointer("/metadata/generation");
        let ready = if *resource == "daemonsets" {
            let desired = v
                .pointer("/status/desiredNumberScheduled")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            desired > 0 && v.pointer("/status/numberReady").and_then(Value::as_i64) == Some(desired)
        } else {
            deployment_available(cluster, v)
        };
        image_ok && current && ready
    })
}

/// virt-handler's node labels and device capacity (`Some(use_emulation)`), or their removal (None).
fn label_nodes(cluster: &Cluster, emulation: Option<bool>, failures: &mut Failures) {
    let Some(node_rt) = super::served(cluster, "", "nodes") else {
        return;
    };
    let (nodes, _) = cluster.store().list(&GroupResource::new("", "nodes"), None);
    for node in nodes {
        let kvm = label(&node.value, KVM_LABEL) != Some("false");
        let key = ObjectKey::new("", meta(&node.value, "name"));
        let wanted_label = emulation.map(|e| if kvm || e { "true" } else { "false" });
        let labelled = modify(cluster, &node_rt, &key, MANAGER, None, |n| {
            let current = label(n, SCHEDULABLE_LABEL).map(String::from);
            if current.as_deref() == wanted_label {
                return false;
            }
            match wanted_label {
                Some(l) => crate::admission::ensure_label(n, SCHEDULABLE_LABEL, json!(l)),
                None => {
                    if let Some(labels) = n
                        .pointer_mut("/metadata/labels")
                        .and_then(Value::as_object_mut)
                    {
                        labels.remove(SCHEDULABLE_LABEL);
                    }
                }
            }
            true
        });
        failures.check(&describe(&node_rt.group_resource(), &key), labelled);
        let devices = emulation.is_some() && kvm;
        let capacity = modify(cluster, &node_rt, &key, MANAGER, Some("status"), |n| {
            let has = n
                .pointer(&format!(
                    "/status/capacity/{}",
                    KVM_RESOURCE.replace('/', "~1")
                ))
                .is_some();
            if has == devices {
                return false;
            }
            for field in ["capacity", "allocatable"] {
                let Some(map) = n["status"][field].as_object_mut() else {
                    continue;
                };
                for resource in [
                    KVM_RESOURCE,
                    "devices.kubevirt.io/tun",
                    "devices.kubevirt.io/vhost-net",
                ] {
                    if devices {
                        map.insert(resource.into(), json!("1k"));
                    } else {
                        map.remove(resource);
                    }
                }
            }
            true
        });
        failures.check(&describe(&node_rt.group_resource(), &key), capacity);
    }
}

/// The CR is being deleted: phase Deleting, remove components and APIs, drop the finalizer once
/// all of that succeeded and its CRDs are gone, not just deleting (else Degraded says what could
/// not be removed; the next pass retries), so the kubevirt.io API is no longer served when the
/// CR is gone.
/// The APIService and webhook configurations stay behind, as the real operator leaves them.
fn uninstall(
    cluster: &Cluster,
    kv_rt: &crate::resources::ResourceType,
    key: &ObjectKey,
    failures: &mut Failures,
) {
    let ns = key.namespace.as_str();
    for (resource, name) in COMPONENTS {
        failures.remove(cluster, "apps", resource, ns, name);
    }
    for service in [
        "virt-api",
        "kubevirt-prometheus-metrics",
        "kubevirt-operator-webhook",
    ] {
        failures.remove(cluster, "", "services", ns, service);
    }
    for crd in crd_catalog::names(crd_catalog::KUBEVIRT) {
        failures.remove(
            cluster,
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            &crd,
        );
    }
    label_nodes(cluster, None, failures);
    let degraded = (!failures.is_empty()).then(|| failures.message());
    set_status(cluster, kv_rt, key, MANAGER, |cr| {
        super::deleting_status(cr.get("status"), degraded.as_deref())
    });
    let crds_remain = crd_catalog::names(crd_catalog::KUBEVIRT).iter().any(|crd| {
        get(
            cluster,
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            crd,
        )
        .is_some()
    });
    if degraded.is_some() || crds_remain {
        return;
    }
    crate::controllers::logged(
        MANAGER,
        &describe(&kubevirts(), key),
        modify(cluster, kv_rt, key, MANAGER, None, |cr| {
            remove_finalizer(cr, FINALIZER)
        }),
    );
}
