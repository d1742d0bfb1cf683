//! Hardware virtualization on schedulable nodes: `devices.kubevirt.io/kvm` allocatable (virt-handler's
//! device plugin, once KubeVirt runs), or a node label that says so (simcluster's
//! `simcluster.vmdeck.io/kvm`, the CPU flags node-feature-discovery or KubeVirt label). None: warn, and offer
//! `useEmulation: true` on the kubevirt pack, with what it costs.

use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use serde_json::json;

use super::change::ProfileChange;
use super::context::{Context, some_of};
use super::error::PreflightError;
use super::report::{AutoFix, Check, CheckId, FixAction, Verdict};

pub const KVM_RESOURCE: &str = "devices.kubevirt.io/kvm";
/// simcluster's label (true or false) for nodes with `/dev/kvm`.
pub const SIMCLUSTER_KVM_LABEL: &str = "simcluster.vmdeck.io/kvm";
/// CPU flags for Intel VT-x and AMD-V as node-feature-discovery and KubeVirt's node labeller
/// publish them. (`kubevirt.io/schedulable=true` is not evidence: virt-handler sets it on nodes
/// without KVM too when emulation is on.)
const CPU_FLAG_LABELS: [&str; 4] = [
    "feature.node.kubernetes.io/cpu-cpuid.VMX",
    "feature.node.kubernetes.io/cpu-cpuid.SVM",
    "cpu-feature.node.kubevirt.io/vmx",
    "cpu-feature.node.kubevirt.io/svm",
];
pub const KUBEVIRT_PACK: &str = "kubevirt";
pub const EMULATION_VALUE: &str = "useEmulation";
pub const EMULATION_COST: &str = "VMs run under software emulation (QEMU TCG) instead of KVM: many times slower, \
     fine for labs and CI, not for real workloads";

/// What a node says about KVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kvm {
    Yes,
    No,
    Unknown,
}

/// Whether a quantity (`110`, `1k`: the device plugin advertises 1000) is above zero.
fn positive(quantity: &str) -> bool {
    let number: String = quantity
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse::<f64>().is_ok_and(|n| n > 0.0)
}

fn kvm_of(node: &Node) -> Kvm {
    let allocatable = node
        .status
        .as_ref()
        .and_then(|s| s.allocatable.as_ref())
        .and_then(|a| a.get(KVM_RESOURCE))
        .map(|q| positive(&q.0));
    if allocatable == Some(true) {
        return Kvm::Yes;
    }
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if CPU_FLAG_LABELS
        .iter()
        .any(|l| labels.get(*l).map(String::as_str) == Some("true"))
    {
        return Kvm::Yes;
    }
    match labels.get(SIMCLUSTER_KVM_LABEL).map(String::as_str) {
        Some("true") => Kvm::Yes,
        Some("false") => Kvm::No,
        // The device plugin advertises 0 when /dev/kvm is missing.
        _ if allocatable == Some(false) => Kvm::No,
        _ => Kvm::Unknown,
    }
}

/// Ready, not cordoned, and not tainted against ordinary pods.
fn schedulable(node: &Node) -> bool {
    let spec = node.spec.clone().unwrap_or_default();
    if spec.unschedulable == Some(true) {
        return false;
    }
    let tainted = spec
        .taints
        .unwrap_or_default()
        .iter()
        .any(|t| t.effect == "NoSchedule" || t.effect == "NoExecute");
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    ready && !tainted
}

pub(super) async fn check(ctx: &Context<'_>) -> Result<Vec<Check>, PreflightError> {
    if ctx.chosen(KUBEVIRT_PACK).is_none() {
        return Ok(Vec::new());
    }
    let pass = |saw: String| Check {
        id: CheckId::Kvm,
        pack: Some(KUBEVIRT_PACK.into()),
        verdict: Verdict::Pass,
        saw,
        fix: None,
        auto_fix: None,
    };
    let emulating = ctx
        .rendered_object(KUBEVIRT_PACK, "KubeVirt", None)
        .and_then(|cr| cr.pointer("/spec/configuration/developerConfiguration/useEmulation"))
        .and_then(serde_json::Value::as_bool)
        == Some(true);
    let nodes = ctx
        .list(&Api::<Node>::all(ctx.client.clone()), "nodes")
        .await?;
    let usable: Vec<&Node> = nodes.iter().filter(|n| schedulable(n)).collect();
    let name = |n: &&Node| n.metadata.name.clone().unwrap_or_default();
    let with: Vec<String> = usable
        .iter()
        .filter(|n| kvm_of(n) == Kvm::Yes)
        .map(name)
        .collect();
    let without: Vec<String> = usable
        .iter()
        .filter(|n| kvm_of(n) == Kvm::No)
        .map(name)
        .collect();
    if emulating {
        return Ok(vec![pass(format!(
            "software emulation chosen (useEmulation: true), so KVM is not needed; {} of {} schedulable nodes offer KVM",
            with.len(),
            usable.len()
        ))]);
    }
    if !with.is_empty() {
        return Ok(vec![pass(format!(
            "KVM on {} of {} schedulable nodes ({})",
            with.len(),
            usable.len(),
            some_of(&with, 3)
        ))]);
    }
    let saw = if usable.is_empty() {
        format!(
            "no schedulable node ({} nodes, none Ready and untainted)",
            nodes.len()
        )
    } else if without.len() == usable.len() {
        format!(
            "no schedulable node offers KVM: {} of {} report no /dev/kvm ({})",
            without.len(),
            usable.len(),
            some_of(&without, 3)
        )
    } else {
        format!(
            "cannot tell whether {} of {} schedulable nodes offer KVM: none advertises {KVM_RESOURCE} \
             (virt-handler does once KubeVirt runs) or a CPU virtualization label",
            usable.len() - without.len(),
            usable.len()
        )
    };
    let change = ProfileChange::SetValue {
        pack: KUBEVIRT_PACK.into(),
        path: EMULATION_VALUE.into(),
        value: json!(true),
    };
    Ok(vec![Check {
        id: CheckId::Kvm,
        pack: Some(KUBEVIRT_PACK.into()),
        verdict: Verdict::Warn,
        saw,
        fix: Some(format!(
            "Run VMs on nodes with /dev/kvm (bare metal, or VMs with nested virtualization), or {} \
             (VMs otherwise stay Pending on Insufficient {KVM_RESOURCE}).",
            change.describe()
        )),
        auto_fix: Some(AutoFix {
            id: "use_emulation".into(),
            summary: change.describe(),
            cost: Some(EMULATION_COST.into()),
            default: false,
            action: FixAction::Profile {
                changes: vec![change],
            },
        }),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(labels: serde_json::Value, allocatable: serde_json::Value) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": "n", "labels": labels},
            "status": {"allocatable": allocatable},
        }))
        .unwrap()
    }

    #[test]
    fn kvm_evidence_from_the_device_plugin_and_labels() {
        assert_eq!(
            kvm_of(&node(json!({}), json!({KVM_RESOURCE: "1k"}))),
            Kvm::Yes
        );
        assert_eq!(
            kvm_of(&node(json!({}), json!({KVM_RESOURCE: "0"}))),
            Kvm::No
        );
        assert_eq!(
            kvm_of(&node(
                json!({"cpu-feature.node.kubevirt.io/vmx": "true"}),
                json!({})
            )),
            Kvm::Yes
        );
        assert_eq!(
            kvm_of(&node(json!({SIMCLUSTER_KVM_LABEL: "false"}), json!({}))),
            Kvm::No
        );
        assert_eq!(
            kvm_of(&node(json!({"kubevirt.io/schedulable": "true"}), json!({}))),
            Kvm::Unknown
        );
    }
}
