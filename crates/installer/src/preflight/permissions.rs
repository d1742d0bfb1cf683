//! Whether the caller may do the install: each verb the installer uses (create, patch, get, list,
//! watch, delete) on each distinct group, resource and namespace it is about to write, the
//! inventory's included; fails naming the first missing permission. One SelfSubjectRulesReview per
//! namespace answers what its rules grant; everything else (cluster-wide resources, what the rules
//! do not grant, incomplete rules) is asked with a SelfSubjectAccessReview, which has the last word.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, ResourceRule, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    SelfSubjectRulesReview, SelfSubjectRulesReviewSpec,
};
use kube::api::{Api, PostParams};

use super::context::Context;
use super::error::PreflightError;
use super::report::{Check, CheckId, Verdict};
use crate::error::InstallError;
use crate::inventory::{INVENTORY_NAME, INVENTORY_NAMESPACE};
use crate::object_key::ObjectKey;
use crate::resources::Resources;

/// The verbs an install, its readiness waits and its uninstall use.
pub const VERBS: [&str; 6] = ["create", "patch", "get", "list", "watch", "delete"];

/// A resource the install writes, in one namespace (or cluster-wide).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Target {
    pub group: String,
    pub resource: String,
    pub namespace: Option<String>,
    /// The first object that needs it, for the message.
    pub example: String,
}

impl Target {
    fn describe(&self) -> String {
        let resource = if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        };
        match &self.namespace {
            Some(namespace) => format!("{resource} in namespace {namespace}"),
            None => format!("{resource} (cluster-wide)"),
        }
    }
}

/// Kubernetes' default plural of a kind (`DataSource` -> `datasources`, `Policy` -> `policies`).
fn guess_plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if let Some(stem) = lower.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        return format!("{stem}ies");
    }
    if lower.ends_with(['s', 'x', 'z']) || lower.ends_with("ch") || lower.ends_with("sh") {
        return format!("{lower}es");
    }
    format!("{lower}s")
}

/// The distinct targets of the rendered objects, in apply order, then the inventory's.
async fn targets(ctx: &Context<'_>) -> Result<Vec<Target>, PreflightError> {
    // Kinds defined by CRDs of the profile are not served yet: their CRD says plural and scope.
    let mut defined: BTreeMap<(String, String), (String, bool)> = BTreeMap::new();
    for desired in ctx
        .desired
        .iter()
        .filter(|d| d.key.kind == "CustomResourceDefinition")
    {
        let spec = &desired.object["spec"];
        if let (Some(group), Some(kind), Some(plural)) = (
            spec["group"].as_str(),
            spec["names"]["kind"].as_str(),
            spec["names"]["plural"].as_str(),
        ) {
            defined.insert(
                (group.to_string(), kind.to_string()),
                (
                    plural.to_string(),
                    spec["scope"].as_str() != Some("Cluster"),
                ),
            );
        }
    }
    // One reading: a kind found not served (made later by an operator) is not asked again.
    let resources = Resources::for_one_reading(ctx.client.clone(), ctx.options.retry);
    let inventory = [
        ObjectKey {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: INVENTORY_NAMESPACE.into(),
        },
        ObjectKey {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some(INVENTORY_NAMESPACE.into()),
            name: INVENTORY_NAME.into(),
        },
    ];
    let keys = ctx.desired.iter().map(|d| &d.key).chain(inventory.iter());
    // One discovery per kind, all at once; the loop below then reads the cache.
    resources
        .prefetch(
            keys.clone().filter(|k| {
                !defined.contains_key(&(k.group_version().0.to_string(), k.kind.clone()))
            }),
            ctx.options.concurrency,
        )
        .await;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for key in keys {
        let (group, _) = key.group_version();
        let (resource, namespaced) = match defined.get(&(group.to_string(), key.kind.clone())) {
            Some((plural, namespaced)) => (plural.clone(), *namespaced),
            None => match resources.resolve(key).await {
                Ok(found) => (found.api.plural, found.namespaced),
                // Made at runtime by an operator of the profile (KubeVirt's instancetypes, CDI's
                // DataSources): the default plural, namespaced when the object names a namespace.
                Err(InstallError::KindNotServed { .. }) => {
                    (guess_plural(&key.kind), key.namespace.is_some())
                }
                Err(InstallError::Read { source, .. }) => {
                    return Err(PreflightError::read(
                        format!("discover {}", key.api_version),
                        *source,
                    ));
                }
                Err(other) => return Err(other.into()),
            },
        };
        let namespace = if namespaced {
            Some(key.namespace.clone().unwrap_or_else(|| "default".into()))
        } else {
            None
        };
        if seen.insert((group.to_string(), resource.clone(), namespace.clone())) {
            out.push(Target {
                group: group.to_string(),
                resource,
                namespace,
                example: key.to_string(),
            });
        }
    }
    Ok(out)
}

async fn allowed(ctx: &Context<'_>, target: &Target, verb: &str) -> Result<bool, PreflightError> {
    let api: Api<SelfSubjectAccessReview> = Api::all(ctx.client.clone());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some(target.group.clone()),
                resource: Some(target.resource.clone()),
                namespace: target.namespace.clone(),
                verb: Some(verb.to_string()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let params = PostParams::default();
    let answer = ctx
        .options
        .retry
        .run(|| api.create(&params, &review), |_, _| {})
        .await
        .map_err(|(source, _)| {
            PreflightError::read(
                "create selfsubjectaccessreviews.authorization.k8s.io",
                source,
            )
        })?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// What a SelfSubjectRulesReview says the caller may do in one namespace. Rules limited to
/// resource names grant nothing here (an install creates and lists).
#[derive(Debug, Default)]
struct Rules(Vec<ResourceRule>);

impl Rules {
    fn grant(&self, target: &Target, verb: &str) -> bool {
        let has = |list: &[String], wanted: &str| list.iter().any(|v| v == "*" || v == wanted);
        self.0.iter().any(|rule| {
            rule.resource_names.as_ref().is_none_or(Vec::is_empty)
                && has(&rule.verbs, verb)
                && has(
                    rule.api_groups.as_deref().unwrap_or_default(),
                    &target.group,
                )
                && has(
                    rule.resources.as_deref().unwrap_or_default(),
                    &target.resource,
                )
        })
    }
}

/// The rules of `namespace`; none (ask each question) when the review fails or is incomplete.
async fn rules_in(ctx: &Context<'_>, namespace: &str) -> Rules {
    let api: Api<SelfSubjectRulesReview> = Api::all(ctx.client.clone());
    let review = SelfSubjectRulesReview {
        spec: SelfSubjectRulesReviewSpec {
            namespace: Some(namespace.to_string()),
        },
        ..SelfSubjectRulesReview::default()
    };
    let params = PostParams::default();
    match ctx
        .options
        .retry
        .run(|| api.create(&params, &review), |_, _| {})
        .await
    {
        Ok(SelfSubjectRulesReview {
            status: Some(status),
            ..
        }) if !status.incomplete => Rules(status.resource_rules),
        _ => Rules::default(),
    }
}

pub(super) async fn check(ctx: &Context<'_>) -> Result<Vec<Check>, PreflightError> {
    // The namespaces the objects name are known before discovery says which kinds are
    // namespaced: their rules are read meanwhile (a namespaced object without a namespace goes
    // to `default`, which has no rules here and is asked question by question).
    let named: BTreeSet<&str> = ctx
        .desired
        .iter()
        .filter_map(|d| d.key.namespace.as_deref())
        .chain([INVENTORY_NAMESPACE])
        .collect();
    let rules_reviews = futures::stream::iter(named)
        .map(|namespace| async move { (namespace, rules_in(ctx, namespace).await) })
        .buffer_unordered(ctx.options.concurrency.max(1))
        .collect::<BTreeMap<&str, Rules>>();
    let (targets, rules) = futures::join!(targets(ctx), rules_reviews);
    let targets = targets?;
    let granted = |target: &Target, verb: &str| {
        target
            .namespace
            .as_deref()
            .and_then(|namespace| rules.get(namespace))
            .is_some_and(|rules| rules.grant(target, verb))
    };
    let questions: Vec<(&Target, &str)> = targets
        .iter()
        .flat_map(|t| VERBS.iter().map(move |verb| (t, *verb)))
        .collect();
    // Only what the rules reviews did not grant is asked, all of it at once (a rules-granted
    // question would hold a slot of an in-order stream); answers keep the questions' order, so
    // the first missing permission is the first the install would hit.
    let asked: Vec<(&Target, &str)> = questions
        .iter()
        .filter(|(target, verb)| !granted(target, verb))
        .copied()
        .collect();
    let answers: Vec<Result<bool, PreflightError>> = futures::stream::iter(asked.iter())
        .map(|(target, verb)| allowed(ctx, target, verb))
        .buffered(ctx.options.concurrency.max(1))
        .collect()
        .await;
    let mut missing = Vec::new();
    for ((target, verb), answer) in asked.iter().zip(answers) {
        if !answer? {
            missing.push((*target, *verb));
        }
    }
    let checked = format!("{} verbs on {} resources", VERBS.len(), targets.len());
    let check = match missing.first() {
        None => Check {
            id: CheckId::Permissions,
            pack: None,
            verdict: Verdict::Pass,
            saw: format!("allowed: {checked} ({})", VERBS.join(", ")),
            fix: None,
            auto_fix: None,
        },
        Some((target, verb)) => {
            let resources: BTreeSet<&str> =
                missing.iter().map(|(t, _)| t.example.as_str()).collect();
            Check {
                id: CheckId::Permissions,
                pack: None,
                verdict: Verdict::Fail,
                saw: format!(
                    "not allowed to {verb} {} (needed for {}); {} of {checked} missing, on {} resources",
                    target.describe(),
                    target.example,
                    missing.len(),
                    resources.len()
                ),
                fix: Some(format!(
                    "Use credentials that may {} what the profile installs (cluster-admin, or a role granting at least `{verb}` on {}).",
                    VERBS.join(", "),
                    target.describe()
                )),
                auto_fix: None,
            }
        }
    };
    Ok(vec![check])
}

#[cfg(test)]
mod tests {
    use super::{ResourceRule, Rules, Target, guess_plural};

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> ResourceRule {
        let strings = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ResourceRule {
            verbs: strings(verbs),
            api_groups: Some(strings(groups)),
            resources: Some(strings(resources)),
            resource_names: (!names.is_empty()).then(|| strings(names)),
        }
    }

    fn target(group: &str, resource: &str) -> Target {
        Target {
            group: group.into(),
            resource: resource.into(),
            namespace: Some("kubevirt".into()),
            example: String::new(),
        }
    }

    #[test]
    fn rules_grant_by_verb_group_and_resource_with_wildcards() {
        let rules = Rules(vec![
            rule(&["get", "list", "watch"], &["*"], &["*"], &[]),
            rule(&["*"], &["apps"], &["deployments"], &[]),
            rule(
                &["create", "patch"],
                &[""],
                &["configmaps"],
                &["only-this-one"],
            ),
        ]);
        assert!(rules.grant(&target("", "secrets"), "list"));
        assert!(!rules.grant(&target("", "secrets"), "create"));
        assert!(rules.grant(&target("apps", "deployments"), "delete"));
        assert!(!rules.grant(&target("apps", "daemonsets"), "delete"));
        assert!(!rules.grant(&target("", "configmaps"), "create"));
        assert!(!Rules::default().grant(&target("", "configmaps"), "get"));
    }

    #[test]
    fn plurals_follow_the_default_rules() {
        assert_eq!(guess_plural("DataSource"), "datasources");
        assert_eq!(guess_plural("DataImportCron"), "dataimportcrons");
        assert_eq!(
            guess_plural("VirtualMachineClusterInstancetype"),
            "virtualmachineclusterinstancetypes"
        );
        assert_eq!(guess_plural("NetworkPolicy"), "networkpolicies");
        assert_eq!(guess_plural("Gateway"), "gateways");
        assert_eq!(guess_plural("Ingress"), "ingresses");
    }
}
