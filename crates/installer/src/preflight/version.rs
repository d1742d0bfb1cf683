//! The cluster's Kubernetes minor against each chosen pack version's supported range (from its
//! `pack.yaml`): older than the range fails (the APIs it needs may be missing), newer warns
//! (untested upstream); either offers the newest catalog version of the pack that fits.

use vmdeck_packs::Catalog;
use vmdeck_packs::manifest::{KubernetesMinor, KubernetesRange, RangeFit};

use super::change::ProfileChange;
use super::context::Context;
use super::error::PreflightError;
use super::report::{AutoFix, Check, CheckId, FixAction, Verdict};

pub(super) async fn check(ctx: &Context<'_>) -> Result<Vec<Check>, PreflightError> {
    Ok(ctx
        .rendered
        .packs
        .iter()
        .map(|pack| {
            judge(
                ctx.catalog,
                &pack.name,
                &pack.version,
                &ctx.git_version,
                ctx.version,
            )
        })
        .collect())
}

/// The range `pack`'s version declares, if the catalog knows it.
fn range_of(catalog: &Catalog, pack: &str, version: &str) -> Option<KubernetesRange> {
    catalog.get(pack)?.manifest.version(version)?.kubernetes
}

/// The newest version of `pack` whose range holds `cluster`, other than `current`.
fn fitting_version(
    catalog: &Catalog,
    pack: &str,
    current: &str,
    cluster: KubernetesMinor,
) -> Option<String> {
    let manifest = &catalog.get(pack)?.manifest;
    manifest
        .versions
        .iter()
        .filter(|v| v.version != current)
        .filter(|v| {
            v.kubernetes
                .is_some_and(|r| r.fit(cluster) == RangeFit::Within)
        })
        .max_by(|a, b| numeric(&a.version).cmp(&numeric(&b.version)))
        .map(|v| v.version.clone())
}

fn numeric(version: &str) -> Vec<u64> {
    version
        .trim_start_matches('v')
        .split(['.', '-', '+'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// The verdict for one pack.
pub(super) fn judge(
    catalog: &Catalog,
    pack: &str,
    version: &str,
    git_version: &str,
    cluster: Option<KubernetesMinor>,
) -> Check {
    let name = format!("{pack} {version}");
    let mut check = Check {
        id: CheckId::KubernetesVersion,
        pack: Some(pack.to_string()),
        verdict: Verdict::Pass,
        saw: String::new(),
        fix: None,
        auto_fix: None,
    };
    let Some(range) = range_of(catalog, pack, version) else {
        check.saw = format!(
            "{name} declares no supported Kubernetes range; the cluster runs {git_version}"
        );
        return check;
    };
    let Some(cluster) = cluster else {
        check.verdict = Verdict::Warn;
        check.saw = format!(
            "the cluster reports version `{git_version}`, which is not MAJOR.MINOR; {name} supports {range}"
        );
        check.fix = Some("Check the cluster's Kubernetes version by hand.".into());
        return check;
    };
    let fit = range.fit(cluster);
    check.saw = match fit {
        RangeFit::Within => {
            format!("Kubernetes {cluster} ({git_version}) is within {name}'s supported {range}")
        }
        RangeFit::Older => {
            format!("Kubernetes {cluster} ({git_version}) is older than {name} supports ({range})")
        }
        RangeFit::Newer => format!(
            "Kubernetes {cluster} ({git_version}) is newer than {name} was released for ({range}); upstream has not tested it"
        ),
    };
    if fit == RangeFit::Within {
        return check;
    }
    check.verdict = if fit == RangeFit::Older {
        Verdict::Fail
    } else {
        Verdict::Warn
    };
    let other = fitting_version(catalog, pack, version, cluster);
    let direction = if fit == RangeFit::Older {
        "upgrade"
    } else {
        "move"
    };
    check.fix = Some(match &other {
        Some(other) => format!(
            "Use {pack} {other}, which supports Kubernetes {cluster}, or {direction} the cluster to {range}."
        ),
        None => format!(
            "{} the cluster to Kubernetes {range}; no version of {} in the catalog supports {cluster}.",
            if fit == RangeFit::Older {
                "Upgrade"
            } else {
                "Move"
            },
            pack
        ),
    });
    check.auto_fix = other.map(|other| {
        let change = ProfileChange::SetVersion {
            pack: pack.to_string(),
            version: other,
        };
        AutoFix {
            id: "change_version".into(),
            summary: change.describe(),
            cost: None,
            default: false,
            action: FixAction::Profile {
                changes: vec![change],
            },
        }
    });
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(git_version: &str, name: &str, version: &str) -> Check {
        let catalog = Catalog::embedded().unwrap();
        judge(
            &catalog,
            name,
            version,
            git_version,
            KubernetesMinor::parse(git_version),
        )
    }

    #[test]
    fn within_the_range_passes() {
        let check = at("v1.34.1", "kubevirt", "1.8.4");
        assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
        assert_eq!(
            check.saw,
            "Kubernetes 1.34 (v1.34.1) is within kubevirt 1.8.4's supported 1.33-1.35"
        );
        assert_eq!(at("v1.35.0", "kubevirt", "1.8.4").verdict, Verdict::Pass);
        assert_eq!(at("v1.33.0", "kubevirt", "1.8.4").verdict, Verdict::Pass);
    }

    #[test]
    fn older_than_the_range_fails_and_offers_a_version_that_fits() {
        let check = at("v1.33.5", "kubevirt", "1.9.0");
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check
                .saw
                .contains("older than kubevirt 1.9.0 supports (1.34-1.36)"),
            "{}",
            check.saw
        );
        let fix = check.auto_fix.unwrap();
        assert_eq!(fix.id, "change_version");
        assert_eq!(
            fix.action,
            FixAction::Profile {
                changes: vec![ProfileChange::SetVersion {
                    pack: "kubevirt".into(),
                    version: "1.8.4".into()
                }]
            }
        );
        // Nothing in the catalog supports 1.30: the fix is the cluster.
        let check = at("v1.30.4", "kubevirt", "1.8.4");
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(check.auto_fix.is_none());
        assert!(
            check
                .fix
                .unwrap()
                .starts_with("Upgrade the cluster to Kubernetes 1.33-1.35")
        );
    }

    #[test]
    fn newer_than_the_range_warns() {
        let check = at("v1.36.2", "kubevirt", "1.8.4");
        assert_eq!(check.verdict, Verdict::Warn);
        assert!(
            check
                .saw
                .contains("newer than kubevirt 1.8.4 was released for (1.33-1.35)")
        );
        assert_eq!(
            check.auto_fix.unwrap().summary,
            "change pack kubevirt to version 1.9.0"
        );
        let cdi = at("v1.34.1", "kubevirt-cdi", "1.61.0");
        assert_eq!(cdi.verdict, Verdict::Warn);
        assert!(cdi.fix.unwrap().starts_with("Use kubevirt-cdi 1.64.0"));
    }

    #[test]
    fn open_ranges_and_odd_versions() {
        assert_eq!(at("v1.99.0", "multus", "4.3.0").verdict, Verdict::Pass);
        assert_eq!(at("v1.15.0", "multus", "4.3.0").verdict, Verdict::Fail);
        let odd = at("weird", "multus", "4.3.0");
        assert_eq!(odd.verdict, Verdict::Warn);
        let unknown = at("v1.34.1", "user-pack", "0.1.0");
        assert_eq!(unknown.verdict, Verdict::Pass);
        assert!(
            unknown
                .saw
                .contains("declares no supported Kubernetes range")
        );
    }
}
