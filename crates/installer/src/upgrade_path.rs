//! Which version changes an installed pack may take: an operator-managed pack (KubeVirt, CDI)
//! upgrades N-1 -> N only and never back, so it moves to the next minor release the catalog
//! offers and no further; anything else may change freely.

use vmdeck_packs::RenderedPack;
use vmdeck_packs::manifest::ReadinessRule;

use crate::error::InstallError;
use crate::inventory::InstalledPack;
use crate::readiness::Readiness;

fn major_minor(version: &str) -> Option<(u64, u64, u64)> {
    let mut parts = version.trim_start_matches('v').split(['.', '-', '+']);
    let mut next = || parts.next().and_then(|p| p.parse::<u64>().ok());
    Some((next()?, next()?, next().unwrap_or(0)))
}

fn operator_managed(rules: &[ReadinessRule], version: &str) -> bool {
    rules.iter().any(|rule| {
        matches!(
            Readiness::from_rule(&rule.kind, &rule.condition, version),
            Readiness::Operator { .. }
        )
    })
}

/// The next minor release after `from` among `catalog_versions`.
fn next_minor(catalog_versions: &[String], from: (u64, u64, u64)) -> Option<(u64, u64)> {
    catalog_versions
        .iter()
        .filter_map(|v| major_minor(v))
        .map(|(major, minor, _)| (major, minor))
        .filter(|minor| *minor > (from.0, from.1))
        .min()
}

/// The versions an installed pack may change to, in the catalog's order (newest first): for an
/// operator-managed pack the newer releases up to the next minor, for the others every other
/// version.
pub fn offered_versions(installed: &InstalledPack, catalog_versions: &[String]) -> Vec<String> {
    let others = catalog_versions
        .iter()
        .filter(|v| v.trim_start_matches('v') != installed.version.trim_start_matches('v'));
    if !operator_managed(&installed.readiness, &installed.version) {
        return others.cloned().collect();
    }
    let Some(from) = major_minor(&installed.version) else {
        return Vec::new();
    };
    let next = next_minor(catalog_versions, from);
    others
        .filter(|v| {
            major_minor(v)
                .is_some_and(|to| to > from && next.is_none_or(|next| (to.0, to.1) <= next))
        })
        .cloned()
        .collect()
}

/// Refuses a change from `installed` to `rendered` that skips a minor release of the catalog or
/// goes back.
pub fn check(installed: &[InstalledPack], rendered: &[RenderedPack]) -> Result<(), InstallError> {
    for pack in rendered
        .iter()
        .filter(|p| operator_managed(&p.readiness, &p.version))
    {
        let Some(before) = installed.iter().find(|i| i.name == pack.name) else {
            continue;
        };
        let (Some(from), Some(to)) = (major_minor(&before.version), major_minor(&pack.version))
        else {
            continue;
        };
        if to < from {
            return Err(InstallError::Downgrade {
                pack: pack.name.clone(),
                from: before.version.clone(),
                to: pack.version.clone(),
            });
        }
        if let Some(next) = next_minor(&pack.catalog_versions, from)
            && (to.0, to.1) > next
        {
            return Err(InstallError::SkipsMinor {
                pack: pack.name.clone(),
                from: before.version.clone(),
                to: pack.version.clone(),
                next: format!("{}.{}", next.0, next.1),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(name: &str, version: &str, kind: &str) -> RenderedPack {
        let catalog = ["1.9.0", "1.8.4", "1.8.2", "1.7.1"];
        let rule: ReadinessRule = serde_yaml_ng::from_str(&format!(
            "{{apiVersion: x.io/v1, kind: {kind}, name: {name}, condition: Available}}"
        ))
        .unwrap();
        RenderedPack {
            name: name.into(),
            version: version.into(),
            readiness: vec![rule],
            uninstall: Vec::new(),
            preflight: Vec::new(),
            warnings: Vec::new(),
            catalog_versions: catalog.iter().map(|v| v.to_string()).collect(),
            dependencies: Vec::new(),
        }
    }

    fn installed(name: &str, version: &str) -> InstalledPack {
        InstalledPack {
            name: name.into(),
            version: version.into(),
            uninstall: Vec::new(),
            readiness: Vec::new(),
        }
    }

    #[test]
    fn operators_move_to_the_next_minor_release_of_the_catalog_at_most() {
        let kubevirt = |v| rendered("kubevirt", v, "KubeVirt");
        let was = [installed("kubevirt", "1.8.2")];
        assert!(check(&was, &[kubevirt("1.8.4")]).is_ok());
        assert!(check(&was, &[kubevirt("1.9.0")]).is_ok());
        assert!(check(&[], &[kubevirt("1.9.0")]).is_ok());
        // Releases the catalog does not offer are no step: 1.61 -> 1.64 is the next one it has.
        let cdi = |v| RenderedPack {
            catalog_versions: vec!["1.64.0".into(), "1.61.0".into()],
            ..rendered("kubevirt-cdi", v, "CDI")
        };
        assert!(check(&[installed("kubevirt-cdi", "1.61.0")], &[cdi("1.64.0")]).is_ok());
        let error = check(&[installed("kubevirt", "1.7.1")], &[kubevirt("1.9.0")]).unwrap_err();
        assert_eq!(error.code(), "upgrade_skips_minor");
        assert!(error.to_string().contains("1.8"), "{error}");
        let error = check(&[installed("kubevirt", "1.9.0")], &[kubevirt("1.8.4")]).unwrap_err();
        assert_eq!(error.code(), "downgrade");
    }

    #[test]
    fn an_operator_pack_is_offered_the_newer_releases_up_to_the_next_minor() {
        let catalog: Vec<String> = ["1.9.0", "1.8.4", "1.8.2", "1.7.1"]
            .iter()
            .map(|v| v.to_string())
            .collect();
        let rules = rendered("kubevirt", "1.8.2", "KubeVirt").readiness;
        let at = |version: &str| InstalledPack {
            readiness: rules.clone(),
            ..installed("kubevirt", version)
        };
        assert_eq!(offered_versions(&at("1.8.2"), &catalog), ["1.9.0", "1.8.4"]);
        assert_eq!(offered_versions(&at("1.7.1"), &catalog), ["1.8.4", "1.8.2"]);
        assert!(offered_versions(&at("1.9.0"), &catalog).is_empty());
        // Every offered version passes the check the install makes.
        for version in offered_versions(&at("1.7.1"), &catalog) {
            let target = rendered("kubevirt", &version, "KubeVirt");
            assert!(check(&[at("1.7.1")], &[target]).is_ok(), "{version}");
        }
        let plain = installed("volume-snapshot-controller", "8.2.0");
        let snapshot_catalog = vec!["8.6.0".to_string(), "8.2.0".into(), "6.3.0".into()];
        assert_eq!(
            offered_versions(&plain, &snapshot_catalog),
            ["8.6.0", "6.3.0"]
        );
    }

    #[test]
    fn other_packs_change_freely() {
        let snapshots = rendered("volume-snapshot-controller", "8.6.0", "Deployment");
        let snapshots = RenderedPack {
            readiness: Vec::new(),
            ..snapshots
        };
        assert!(
            check(
                &[installed("volume-snapshot-controller", "6.0.0")],
                &[snapshots]
            )
            .is_ok()
        );
    }
}
