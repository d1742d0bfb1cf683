//! A running default CNI under Multus: a DaemonSet (not Multus, not ours) of a known CNI, or one
//! that mounts the CNI config folder `/etc/cni/net.d`, rolled out on every node it targets.

use k8s_openapi::api::apps::v1::DaemonSet;
use kube::api::Api;

use super::context::Context;
use super::error::PreflightError;
use super::report::{Check, CheckId, Verdict};
use crate::object_key::ObjectKey;

pub const MULTUS_PACK: &str = "multus";
const CNI_CONFIG_DIR: &str = "/etc/cni/net.d";
/// DaemonSet names of common default CNIs.
const KNOWN: [&str; 14] = [
    "kindnet",
    "calico-node",
    "cilium",
    "kube-flannel-ds",
    "kube-flannel",
    "canal",
    "weave-net",
    "antrea-agent",
    "kube-router",
    "aws-node",
    "azure-cni",
    "ovnkube-node",
    "kube-ovn-cni",
    "anetd",
];

fn is_cni(ds: &DaemonSet) -> bool {
    let name = ds.metadata.name.as_deref().unwrap_or_default();
    if name.contains("multus") {
        return false;
    }
    if KNOWN.contains(&name) {
        return true;
    }
    ds.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|volumes| {
            volumes.iter().any(|v| {
                v.host_path
                    .as_ref()
                    .is_some_and(|h| h.path.trim_end_matches('/') == CNI_CONFIG_DIR)
            })
        })
}

pub(super) async fn check(ctx: &Context<'_>) -> Result<Vec<Check>, PreflightError> {
    if ctx.chosen(MULTUS_PACK).is_none() {
        return Ok(Vec::new());
    }
    let all = ctx
        .list(
            &Api::<DaemonSet>::all(ctx.client.clone()),
            "daemonsets.apps",
        )
        .await?;
    let cnis: Vec<(String, i32, i32)> = all
        .iter()
        .filter(|ds| is_cni(ds))
        .filter(|ds| {
            let key = ObjectKey {
                api_version: "apps/v1".into(),
                kind: "DaemonSet".into(),
                namespace: ds.metadata.namespace.clone(),
                name: ds.metadata.name.clone().unwrap_or_default(),
            };
            !ctx.ours(&key, &ds.metadata)
        })
        .map(|ds| {
            let status = ds.status.clone().unwrap_or_default();
            (
                format!(
                    "{}/{}",
                    ds.metadata.namespace.clone().unwrap_or_default(),
                    ds.metadata.name.clone().unwrap_or_default()
                ),
                status.number_ready,
                status.desired_number_scheduled,
            )
        })
        .collect();
    let line = |(name, ready, desired): &(String, i32, i32)| {
        format!("DaemonSet {name} ({ready}/{desired} ready)")
    };
    let running: Vec<String> = cnis
        .iter()
        .filter(|(_, ready, desired)| *ready > 0 && ready >= desired)
        .map(line)
        .collect();
    let mut check = Check {
        id: CheckId::DefaultCni,
        pack: Some(MULTUS_PACK.into()),
        verdict: Verdict::Pass,
        saw: String::new(),
        fix: None,
        auto_fix: None,
    };
    if !running.is_empty() {
        check.saw = format!("default CNI running: {}", running.join("; "));
        return Ok(vec![check]);
    }
    check.verdict = Verdict::Fail;
    check.saw = if cnis.is_empty() {
        format!(
            "no default CNI: no DaemonSet of a known CNI ({}, ...) or one writing {CNI_CONFIG_DIR}",
            KNOWN[..4].join(", ")
        )
    } else {
        format!(
            "the default CNI is not running on every node: {}",
            cnis.iter().map(line).collect::<Vec<_>>().join("; ")
        )
    };
    check.fix = Some(
        "Multus only adds networks on top of the cluster's default CNI: install one (Calico, Cilium, Flannel, ...) \
         and wait until it runs on every node, then run preflight again."
            .into(),
    );
    Ok(vec![check])
}
