//! What KubeVirt's admission webhooks say, while their configurations exist: feature gates of the
//! KubeVirt CR (virt-operator-validator), `running` vs `runStrategy` of VMs (virt-api-validator),
//! and `BlockUninstallIfWorkloadsExist` on CR deletion.

use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::Value;

use super::feature_gates;
use crate::cluster::Cluster;
use crate::extensions::{AdmissionHook, Operation};
use crate::resources::{GroupResource, ResourceType};
use crate::status::{ApiError, Cause};
use crate::store::ObjectKey;

pub const OPERATOR_VALIDATOR: &str = "virt-operator-validator";
pub const API_VALIDATOR: &str = "virt-api-validator";
pub const API_MUTATOR: &str = "virt-api-mutator";
pub const RUN_STRATEGIES: &[&str] = &[
    "Always",
    "Halted",
    "Manual",
    "RerunOnFailure",
    "Once",
    "WaitAsReceiver",
];

/// What the webhooks know, kept up to date by the simulated virt-operator (the admission hook
/// runs under the store's lock and may not read it).
#[derive(Debug, Clone, Default)]
pub struct WebhookState {
    /// The virt-operator-validator configuration exists.
    pub operator_validator: bool,
    /// The virt-api-validator configuration exists and virt-api serves.
    pub api_validator: bool,
    /// The KubeVirt version deployed (its feature gate table applies).
    pub version: String,
}

/// The simulated KubeVirt webhooks.
#[derive(Default)]
pub struct KubeVirtWebhooks {
    state: RwLock<WebhookState>,
}

impl KubeVirtWebhooks {
    pub fn set(&self, state: WebhookState) {
        *self.state.write() = state;
    }

    pub fn state(&self) -> WebhookState {
        self.state.read().clone()
    }
}

/// Register the hooks; the returned handle lets virt-operator switch them on and off.
pub fn install(cluster: &Cluster) -> Arc<KubeVirtWebhooks> {
    let hooks = Arc::new(KubeVirtWebhooks::default());
    cluster.objects.extensions.add_admission(hooks.clone());
    hooks
}

fn denied(webhook: &str, mut error: ApiError) -> ApiError {
    error.message = format!(
        "admission webhook \"{webhook}\" denied the request: {}",
        error.message
    );
    error
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl KubeVirtWebhooks {
    fn admit_kubevirt(
        &self,
        operation: Operation,
        old: Option<&Value>,
        new: &Value,
    ) -> Result<Vec<String>, ApiError> {
        let state = self.state.read().clone();
        if !state.operator_validator {
            return Ok(Vec::new());
        }
        if operation == Operation::Update && old.and_then(|o| o.get("spec")) == new.get("spec") {
            return Ok(Vec::new());
        }
        let dev = new.pointer("/spec/configuration/developerConfiguration");
        let enabled = strings(dev.and_then(|d| d.get("featureGates")));
        let disabled = strings(dev.and_then(|d| d.get("disabledFeatureGates")));
        let verdict = feature_gates::judge(&enabled, &disabled, &state.version);
        if verdict.errors.is_empty() {
            return Ok(verdict.warnings);
        }
        let causes = verdict
            .errors
            .into_iter()
            .map(|(field, message)| Cause {
                reason: "FieldValueInvalid",
                message,
                field,
            })
            .collect();
        let name = new
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        Err(denied(
            "kubevirt-update-validator.kubevirt.io",
            ApiError::invalid("kubevirt.io", "KubeVirt", name, causes),
        ))
    }

    fn admit_vm(&self, new: &Value) -> Result<Vec<String>, ApiError> {
        if !self.state.read().api_validator {
            return Ok(Vec::new());
        }
        let name = new
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let running = new.pointer("/spec/running");
        let strategy = new.pointer("/spec/runStrategy").and_then(Value::as_str);
        let refuse = |field: &str, message: String| {
            Err(denied(
                "virtualmachine-validator.kubevirt.io",
                ApiError::invalid(
                    "kubevirt.io",
                    "VirtualMachine",
                    name,
                    vec![Cause {
                        reason: "FieldValueInvalid",
                        message,
                        field: field.to_string(),
                    }],
                ),
            ))
        };
        if running.is_some_and(|r| !r.is_null()) && strategy.is_some() {
            return refuse(
                "spec.running",
                "Running and RunStrategy are mutually exclusive. Note that Running is deprecated, please use RunStrategy".into(),
            );
        }
        if let Some(s) = strategy
            && !RUN_STRATEGIES.contains(&s)
        {
            return refuse(
                "spec.runStrategy",
                format!(
                    "Invalid RunStrategy ({s}); supported values: {}",
                    RUN_STRATEGIES.join(", ")
                ),
            );
        }
        if running.is_some_and(|r| !r.is_null()) {
            return Ok(vec![
                "spec.running is deprecated, please use spec.runStrategy instead.".into(),
            ]);
        }
        Ok(Vec::new())
    }
}

impl AdmissionHook for KubeVirtWebhooks {
    fn admit(
        &self,
        operation: Operation,
        rt: &ResourceType,
        old: Option<&Value>,
        new: &mut Value,
    ) -> Result<Vec<String>, ApiError> {
        match (rt.group.as_str(), rt.kind.as_str()) {
            ("kubevirt.io", "KubeVirt") => self.admit_kubevirt(operation, old, new),
            ("kubevirt.io", "VirtualMachine")
                if operation == Operation::Create
                    || old.and_then(|o| o.get("spec")) != new.get("spec") =>
            {
                self.admit_vm(new)
            }
            _ => Ok(Vec::new()),
        }
    }

    fn admit_delete(
        &self,
        cluster: &Cluster,
        rt: &ResourceType,
        object: &Value,
    ) -> Result<(), ApiError> {
        if rt.group != "kubevirt.io" || rt.kind != "KubeVirt" {
            return Ok(());
        }
        if object
            .pointer("/spec/uninstallStrategy")
            .and_then(Value::as_str)
            != Some("BlockUninstallIfWorkloadsExist")
        {
            return Ok(());
        }
        let validator = cluster.store().get(
            &GroupResource::new(
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
            ),
            &ObjectKey::new("", OPERATOR_VALIDATOR),
        );
        if validator.is_none() {
            return Ok(());
        }
        let count = |resource: &str| {
            cluster
                .store()
                .list(&GroupResource::new("kubevirt.io", resource), None)
                .0
                .len()
        };
        let (vms, vmis) = (count("virtualmachines"), count("virtualmachineinstances"));
        if vms + vmis == 0 {
            return Ok(());
        }
        Err(ApiError {
            code: 422,
            reason: "Invalid",
            message: format!(
                "admission webhook \"kubevirt-validator.kubevirt.io\" denied the request: can't delete the KubeVirt CR while workloads exist ({vms} VirtualMachines, {vmis} VirtualMachineInstances) and spec.uninstallStrategy is BlockUninstallIfWorkloadsExist; delete the workloads first or change spec.uninstallStrategy"
            ),
            details: None,
            retry_after: None,
        })
    }
}
