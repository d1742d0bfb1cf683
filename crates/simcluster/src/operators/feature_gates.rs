//! KubeVirt feature gates by release: the stage of every gate at v1.8.x and v1.9.0 (from the
//! project's fact sheet, KV pkg/virt-config/featuregate) and what virt-api's webhook says about a
//! KubeVirt CR's `featureGates` / `disabledFeatureGates`.

/// The life-cycle stage of a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Alpha,
    Beta,
    Ga,
    Deprecated,
    Discontinued,
}

/// A gate and the minor release (of 1.x) from which each stage holds, oldest first.
type Gate = (&'static str, &'static [(u32, Stage)]);

use Stage::{Alpha, Beta, Deprecated, Discontinued, Ga};

/// Minor releases before 8 are treated as 8 (the simulator deploys 1.8 and 1.9).
const GATES: &[Gate] = &[
    // Alpha at v1.9.0.
    ("CPUManager", &[(0, Alpha)]),
    ("HostDisk", &[(0, Alpha)]),
    ("HostDevices", &[(0, Alpha)]),
    ("Sidecar", &[(0, Alpha)]),
    ("DownwardMetrics", &[(0, Alpha)]),
    ("Root", &[(0, Alpha)]),
    ("VSOCK", &[(0, Alpha)]),
    ("AlignCPUs", &[(0, Alpha)]),
    ("EnableVirtioFsStorageVolumes", &[(0, Alpha)]),
    ("ExperimentalIgnitionSupport", &[(0, Alpha)]),
    ("HypervStrictCheck", &[(0, Alpha)]),
    ("WorkloadEncryptionTDX", &[(0, Alpha)]),
    ("UtilityVolumes", &[(7, Alpha)]),
    ("IncrementalBackup", &[(6, Alpha)]),
    ("PCINUMAAwareTopology", &[(6, Alpha)]),
    ("DecentralizedLiveMigration", &[(6, Alpha)]),
    ("ObjectGraph", &[(6, Alpha)]),
    ("ConfigurableHypervisor", &[(8, Alpha)]),
    ("ContainerPathVolumes", &[(8, Alpha)]),
    ("ReservedOverheadMemlock", &[(8, Alpha)]),
    ("VGPULiveMigration", &[(8, Alpha)]),
    ("NetworkDevicesWithDRA", &[(0, Alpha)]),
    ("VMStatsCollector", &[(0, Alpha)]),
    ("OCIExport", &[(0, Alpha)]),
    ("Plugins", &[(0, Alpha)]),
    ("GraceIOVirtualization", &[(0, Alpha)]),
    ("IOMMUFD", &[(0, Alpha)]),
    ("FirmwareAutoSelection", &[(0, Alpha)]),
    ("MigrationStallDetection", &[(0, Alpha)]),
    ("CrossArchitectureVirtualization", &[(0, Alpha)]),
    ("PortRangesSpec", &[(9, Alpha)]),
    // Beta at v1.9.0.
    ("Snapshot", &[(3, Beta)]),
    ("ImageVolume", &[(7, Beta)]),
    ("WorkloadEncryptionSEV", &[(0, Alpha), (9, Beta)]),
    ("KubevirtSeccompProfile", &[(7, Beta)]),
    ("NodeRestriction", &[(6, Beta)]),
    ("GPUsWithDRA", &[(0, Beta)]),
    ("HostDevicesWithDRA", &[(0, Beta)]),
    ("DeclarativeHotplugVolumes", &[(0, Beta)]),
    ("RebootPolicy", &[(0, Beta)]),
    ("Template", &[(0, Beta)]),
    ("OptOutRoleAggregation", &[(9, Beta)]),
    ("PasstBinding", &[(0, Beta)]),
    ("PodSecondaryInterfaceNamingUpgrade", &[(0, Beta)]),
    ("ExternalNetResourceInjection", &[(8, Beta)]),
    ("VmiMemoryOverheadReport", &[(0, Beta)]),
    ("LibvirtHooksServerAndClient", &[(0, Alpha), (9, Beta)]),
    // GA at v1.9.0.
    ("LiveMigration", &[(0, Ga)]),
    ("SRIOVLiveMigration", &[(0, Ga)]),
    ("NonRoot", &[(0, Ga)]),
    ("PSA", &[(0, Ga)]),
    ("CPUNodeDiscovery", &[(0, Ga)]),
    ("NUMA", &[(0, Ga)]),
    ("GPU", &[(0, Ga)]),
    ("VolumesUpdateStrategy", &[(0, Ga)]),
    ("VolumeMigration", &[(0, Ga)]),
    ("DisableCustomSELinuxPolicy", &[(0, Ga)]),
    ("ClusterProfiler", &[(0, Ga)]),
    ("VMPersistentState", &[(0, Ga)]),
    ("CommonInstancetypesDeploymentGate", &[(0, Ga)]),
    ("HotplugNICs", &[(0, Ga)]),
    ("BochsDisplayForEFIGuests", &[(4, Ga)]),
    ("VMLiveUpdateFeatures", &[(0, Ga)]),
    ("AutoResourceLimitsGate", &[(0, Ga)]),
    ("NetworkBindingPlugins", &[(0, Ga)]),
    ("DynamicPodInterfaceNaming", &[(5, Ga)]),
    ("InstancetypeReferencePolicy", &[(6, Ga)]),
    ("EnableVirtioFsConfigVolumes", &[(0, Ga)]),
    ("ExpandDisks", &[(0, Beta), (8, Ga)]),
    ("VMExport", &[(0, Ga)]),
    ("PersistentReservation", &[(0, Ga)]),
    ("VideoConfig", &[(0, Ga)]),
    ("PanicDevices", &[(0, Ga)]),
    ("LiveUpdateNADRef", &[(0, Ga)]),
    ("SecureExecution", &[(0, Ga)]),
    ("MigrationPriorityQueue", &[(0, Beta), (9, Ga)]),
    // Deprecated at v1.9.0.
    ("DockerSELinuxMCSWorkaround", &[(4, Deprecated)]),
    ("MultiArchitecture", &[(0, Ga), (8, Deprecated)]),
    ("DisableMDEVConfiguration", &[(0, Alpha), (8, Deprecated)]),
    ("HotplugVolumes", &[(0, Beta), (9, Deprecated)]),
    // Discontinued at v1.9.0.
    ("ExperimentalVirtiofsSupport", &[(7, Discontinued)]),
    ("Passt", &[(0, Discontinued)]),
    ("Macvtap", &[(0, Discontinued)]),
    ("PasstIPStackMigration", &[(0, Discontinued)]),
];

/// The minor release of a version string (`v1.8.4` -> 8).
pub fn minor_of(version: &str) -> Option<u32> {
    version
        .trim_start_matches('v')
        .split('.')
        .nth(1)?
        .parse()
        .ok()
}

/// The stage of `gate` in `version` (None: the release does not know the gate).
pub fn stage(gate: &str, version: &str) -> Option<Stage> {
    let minor = minor_of(version).unwrap_or(9).max(8);
    let (_, history) = GATES.iter().find(|(name, _)| *name == gate)?;
    history
        .iter()
        .rev()
        .find(|(since, _)| *since <= minor)
        .map(|(_, stage)| *stage)
}

/// What the webhook concludes about the gate lists of a KubeVirt CR.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// (field path, message) of each refusal.
    pub errors: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

/// Judge `featureGates` and `disabledFeatureGates` as virt-api's webhook does for `version`.
pub fn judge(enabled: &[String], disabled: &[String], version: &str) -> Verdict {
    let base = "spec.configuration.developerConfiguration";
    let mut verdict = Verdict::default();
    for (i, gate) in enabled.iter().enumerate() {
        let field = format!("{base}.featureGates[{i}]");
        if disabled.contains(gate) {
            verdict.errors.push((
                field.clone(),
                format!("feature gate {gate} is listed in both featureGates and disabledFeatureGates; remove it from one of them"),
            ));
        }
        match stage(gate, version) {
            Some(Stage::Discontinued) => verdict.errors.push((
                field,
                format!("feature gate {gate} is discontinued in KubeVirt {version} and can no longer be enabled; remove it"),
            )),
            Some(Stage::Ga) => verdict.warnings.push(format!(
                "feature gate {gate} is GA in KubeVirt {version} and always enabled; listing it has no effect"
            )),
            Some(Stage::Deprecated) => verdict.warnings.push(format!(
                "feature gate {gate} is deprecated in KubeVirt {version} and will be removed in a future release"
            )),
            _ => {}
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn stages_follow_the_release() {
        assert_eq!(stage("MigrationPriorityQueue", "v1.9.0"), Some(Stage::Ga));
        assert_eq!(stage("MigrationPriorityQueue", "v1.8.4"), Some(Stage::Beta));
        assert_eq!(stage("HotplugVolumes", "v1.9.0"), Some(Stage::Deprecated));
        assert_eq!(stage("HotplugVolumes", "v1.8.2"), Some(Stage::Beta));
        assert_eq!(stage("PortRangesSpec", "v1.8.4"), None);
        assert_eq!(stage("PortRangesSpec", "v1.9.0"), Some(Stage::Alpha));
        assert_eq!(stage("NoSuchGate", "v1.9.0"), None);
    }

    #[test]
    fn webhook_verdicts() {
        let v = judge(&names(&["ExperimentalVirtiofsSupport"]), &[], "v1.8.4");
        assert_eq!(v.errors.len(), 1);
        assert!(v.errors[0].1.contains("discontinued"));
        let v = judge(&names(&["LiveMigration", "Snapshot"]), &[], "v1.8.4");
        assert!(v.errors.is_empty());
        assert_eq!(v.warnings.len(), 1);
        assert!(v.warnings[0].contains("LiveMigration"));
        let v = judge(&names(&["Snapshot"]), &names(&["Snapshot"]), "v1.9.0");
        assert_eq!(
            v.errors[0].0,
            "spec.configuration.developerConfiguration.featureGates[0]"
        );
    }
}
