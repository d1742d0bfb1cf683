//! KubeVirt or CDI installed by someone else: their CRD exists and is not ours (not in our
//! inventory, not carrying our inventory annotation). The install stops; adoption (taking them
//! into the inventory without changing them) is the way on, offered as the `adopt` fix.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use kube::core::{DynamicObject, GroupVersionKind};

use super::context::Context;
use super::error::PreflightError;
use super::report::{AutoFix, Check, CheckId, FixAction, Verdict};
use crate::object_key::ObjectKey;

/// One operator VMDeck installs and must not install twice.
struct Operator {
    id: CheckId,
    pack: &'static str,
    label: &'static str,
    crd: &'static str,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    /// Where the CR reports the version it runs.
    version_field: &'static str,
}

const OPERATORS: [Operator; 2] = [
    Operator {
        id: CheckId::ExistingKubevirt,
        pack: "kubevirt",
        label: "KubeVirt",
        crd: "kubevirts.kubevirt.io",
        group: "kubevirt.io",
        version: "v1",
        kind: "KubeVirt",
        plural: "kubevirts",
        version_field: "observedKubeVirtVersion",
    },
    Operator {
        id: CheckId::ExistingCdi,
        pack: "kubevirt-cdi",
        label: "CDI",
        crd: "cdis.cdi.kubevirt.io",
        group: "cdi.kubevirt.io",
        version: "v1beta1",
        kind: "CDI",
        plural: "cdis",
        version_field: "observedVersion",
    },
];

/// `KubeVirt kubevirt/kubevirt (Deployed, v1.8.4)`.
fn describe(operator: &Operator, cr: &DynamicObject) -> String {
    let name = match &cr.metadata.namespace {
        Some(ns) => format!("{ns}/{}", cr.metadata.name.clone().unwrap_or_default()),
        None => cr.metadata.name.clone().unwrap_or_default(),
    };
    let status = &cr.data["status"];
    let facts: Vec<&str> = [
        status["phase"].as_str(),
        status[operator.version_field].as_str(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if facts.is_empty() {
        format!("{} {name}", operator.kind)
    } else {
        format!("{} {name} ({})", operator.kind, facts.join(", "))
    }
}

async fn check_one(
    ctx: &Context<'_>,
    operator: &Operator,
) -> Result<Option<Check>, PreflightError> {
    if ctx.chosen(operator.pack).is_none() {
        return Ok(None);
    }
    let crds: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    let crd = ctx
        .get(
            &crds,
            operator.crd,
            &format!("customresourcedefinition {}", operator.crd),
        )
        .await?;
    let mut check = Check {
        id: operator.id,
        pack: Some(operator.pack.into()),
        verdict: Verdict::Pass,
        saw: format!("{} is not installed", operator.label),
        fix: None,
        auto_fix: None,
    };
    let Some(crd) = crd else {
        return Ok(Some(check));
    };
    let key = ObjectKey {
        api_version: "apiextensions.k8s.io/v1".into(),
        kind: "CustomResourceDefinition".into(),
        namespace: None,
        name: operator.crd.into(),
    };
    if ctx.ours(&key, &crd.metadata) {
        check.saw = format!(
            "{} is installed by VMDeck (in this cluster's inventory)",
            operator.label
        );
        return Ok(Some(check));
    }
    let gvk = GroupVersionKind::gvk(operator.group, operator.version, operator.kind);
    let crs = ctx
        .list_custom(&gvk, operator.plural)
        .await?
        .unwrap_or_default();
    let found = if crs.is_empty() {
        format!("CRD {} but no {} CR", operator.crd, operator.kind)
    } else {
        crs.iter()
            .map(|cr| describe(operator, cr))
            .collect::<Vec<_>>()
            .join("; ")
    };
    check.verdict = Verdict::Fail;
    check.saw = format!(
        "{} is already installed by someone else (not in VMDeck's inventory): {found}",
        operator.label
    );
    check.fix = Some(format!(
        "VMDeck does not install over another {label}. Adopt it (take it into the inventory without changing it \
         unless you choose to), uninstall it first, or drop pack {pack} from the profile.",
        label = operator.label,
        pack = operator.pack
    ));
    check.auto_fix = Some(AutoFix {
        id: "adopt".into(),
        summary: format!(
            "adopt the existing {} into VMDeck's inventory without changing it",
            operator.label
        ),
        cost: None,
        default: false,
        action: FixAction::Adopt {
            pack: operator.pack.into(),
        },
    });
    Ok(Some(check))
}

pub(super) async fn check(ctx: &Context<'_>) -> Result<Vec<Check>, PreflightError> {
    let (kubevirt, cdi) =
        futures::try_join!(check_one(ctx, &OPERATORS[0]), check_one(ctx, &OPERATORS[1]))?;
    Ok(kubevirt.into_iter().chain(cdi).collect())
}
