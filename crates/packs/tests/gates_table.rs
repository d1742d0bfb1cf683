//! Table tests of feature gate rendering for KubeVirt 1.8.x and 1.9.0 and CDI.

mod common;

use std::collections::BTreeMap;

use vmdeck_packs::{GateChoice, Maturity};

fn choices(list: &[(&str, GateChoice)]) -> BTreeMap<String, GateChoice> {
    list.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

use GateChoice::{Off, On};

#[test]
fn kubevirt_gate_rendering_table() {
    let catalog = common::catalog();
    let gates = catalog.gates("kubevirt").expect("kubevirt has gates");
    // (version, choices, expected featureGates, expected disabledFeatureGates)
    type Row<'a> = (
        &'a str,
        Vec<(&'a str, GateChoice)>,
        Vec<&'a str>,
        Vec<&'a str>,
    );
    let table: Vec<Row> = vec![
        // A Beta gate turned off: 1.9.0 lists it as disabled, 1.8.x simply leaves it out.
        ("1.9.0", vec![("Snapshot", Off)], vec![], vec!["Snapshot"]),
        ("1.8.4", vec![("Snapshot", Off)], vec![], vec![]),
        ("1.8.2", vec![("Snapshot", Off)], vec![], vec![]),
        // A Beta gate turned on: on by default in 1.9 (nothing written), listed before.
        ("1.9.0", vec![("Snapshot", On)], vec![], vec![]),
        ("1.8.4", vec![("Snapshot", On)], vec!["Snapshot"], vec![]),
        // GA gates never appear, whatever the version.
        (
            "1.9.0",
            vec![("LiveMigration", On), ("VMExport", On)],
            vec![],
            vec![],
        ),
        (
            "1.8.4",
            vec![("LiveMigration", On), ("ExpandDisks", On)],
            vec![],
            vec![],
        ),
        // Alpha gates: listed when on, absent when off.
        (
            "1.9.0",
            vec![("HostDisk", On), ("CPUManager", Off)],
            vec!["HostDisk"],
            vec![],
        ),
        ("1.8.2", vec![("HostDisk", On)], vec!["HostDisk"], vec![]),
        // Beta in 1.9 but Alpha in 1.8 (derived): on writes it in 1.8, nothing in 1.9.
        (
            "1.8.4",
            vec![("WorkloadEncryptionSEV", On)],
            vec!["WorkloadEncryptionSEV"],
            vec![],
        ),
        ("1.9.0", vec![("WorkloadEncryptionSEV", On)], vec![], vec![]),
        // GA in 1.9, Beta in 1.8.
        (
            "1.8.4",
            vec![("MigrationPriorityQueue", On)],
            vec!["MigrationPriorityQueue"],
            vec![],
        ),
        (
            "1.9.0",
            vec![("MigrationPriorityQueue", On)],
            vec![],
            vec![],
        ),
        // Deprecated gate: still written when on (with a warning).
        (
            "1.9.0",
            vec![("HotplugVolumes", On)],
            vec!["HotplugVolumes"],
            vec![],
        ),
        // Mixed: sorted, never in both lists.
        (
            "1.9.0",
            vec![("Snapshot", Off), ("ImageVolume", Off), ("Sidecar", On)],
            vec!["Sidecar"],
            vec!["ImageVolume", "Snapshot"],
        ),
    ];
    for (version, chosen, enabled, disabled) in table {
        let rendered = gates
            .render(version, &choices(&chosen))
            .unwrap_or_else(|e| panic!("{version} {chosen:?}: {e:?}"));
        assert_eq!(
            rendered.enabled, enabled,
            "featureGates for {version} {chosen:?}"
        );
        assert_eq!(
            rendered.disabled, disabled,
            "disabledFeatureGates for {version} {chosen:?}"
        );
        assert!(
            rendered
                .enabled
                .iter()
                .all(|g| !rendered.disabled.contains(g))
        );
    }
}

#[test]
fn deprecated_gate_warns() {
    let gates = common::catalog().gates("kubevirt").cloned().unwrap();
    let rendered = gates
        .render("1.9.0", &choices(&[("HotplugVolumes", On)]))
        .unwrap();
    assert_eq!(rendered.warnings.len(), 1);
    assert!(
        rendered.warnings[0].contains("DeclarativeHotplugVolumes"),
        "{:?}",
        rendered.warnings
    );
    let rendered = gates
        .render("1.8.4", &choices(&[("HotplugVolumes", On)]))
        .unwrap();
    assert!(
        rendered.warnings.is_empty(),
        "HotplugVolumes is not deprecated in 1.8"
    );
}

#[test]
fn refused_choices_have_codes_and_messages() {
    let gates = common::catalog().gates("kubevirt").cloned().unwrap();
    let cases = [
        (
            "1.9.0",
            "ExperimentalVirtiofsSupport",
            On,
            "gate_discontinued",
            "discontinued",
        ),
        ("1.8.4", "Passt", On, "gate_discontinued", "discontinued"),
        ("1.9.0", "LiveMigration", Off, "gate_always_on", "always on"),
        (
            "1.8.4",
            "PortRangesSpec",
            On,
            "gate_unknown",
            "exists in 1.9",
        ),
        ("1.9.0", "NoSuchGate", On, "gate_unknown", "no such"),
    ];
    for (version, gate, choice, code, text) in cases {
        let errors = gates
            .render(version, &choices(&[(gate, choice)]))
            .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code(), code, "{gate} in {version}");
        let message = errors[0].to_string();
        assert!(
            message.contains(gate) && message.contains(text),
            "{message}"
        );
    }
    let errors = gates.render("1.7.0", &BTreeMap::new()).unwrap_err();
    assert_eq!(errors[0].code(), "gate_version_unsupported");
}

#[test]
fn table_shows_what_holds_for_the_version() {
    let gates = common::catalog().gates("kubevirt").cloned().unwrap();
    for version in ["1.8.2", "1.8.4", "1.9.0"] {
        let table = gates.table(version).unwrap();
        let live = table.iter().find(|r| r.name == "LiveMigration").unwrap();
        assert_eq!(
            (live.maturity, live.on_by_default, live.choosable),
            (Maturity::Ga, true, false)
        );
        let snapshot = table.iter().find(|r| r.name == "Snapshot").unwrap();
        assert_eq!(snapshot.on_by_default, version == "1.9.0");
        assert_eq!(snapshot.requires_packs, vec!["volume-snapshot-controller"]);
        // Every profile default is a gate that still means something: Alpha or Beta in that version.
        for row in table.iter().filter(|r| r.profile_default) {
            assert!(
                matches!(row.maturity, Maturity::Alpha | Maturity::Beta),
                "{version}: {} is {:?}",
                row.name,
                row.maturity
            );
        }
    }
    assert!(
        gates
            .table("1.8.4")
            .unwrap()
            .iter()
            .all(|r| r.name != "PortRangesSpec")
    );
    let defaults_18: Vec<String> = gates
        .profile_defaults("1.8.4")
        .unwrap()
        .into_keys()
        .collect();
    assert_eq!(defaults_18, vec!["HotplugVolumes", "Snapshot"]);
    let defaults_19: Vec<String> = gates
        .profile_defaults("1.9.0")
        .unwrap()
        .into_keys()
        .collect();
    assert_eq!(defaults_19, vec!["Snapshot"]);
}

#[test]
fn cdi_gates_follow_the_release_defaults() {
    let gates = common::catalog().gates("kubevirt-cdi").cloned().unwrap();
    let defaults = gates.profile_defaults("1.61.0").unwrap();
    let rendered = gates.render("1.61.0", &defaults).unwrap();
    assert_eq!(rendered.enabled, vec!["HonorWaitForFirstConsumer"]);
    let defaults = gates.profile_defaults("1.64.0").unwrap();
    let rendered = gates.render("1.64.0", &defaults).unwrap();
    assert_eq!(
        rendered.enabled,
        vec!["HonorWaitForFirstConsumer", "WebhookPvcRendering"]
    );
    assert!(
        gates
            .render("1.61.0", &choices(&[("BootcImageImport", On)]))
            .is_err()
    );
}

#[test]
fn snapshot_gate_needs_the_snapshot_pack_in_a_profile() {
    let catalog = common::catalog();
    let mut profile = common::preset_profile(&catalog, "vm-dashboard-direct");
    // Drop vm-dashboard (which depends on the snapshot pack) and the snapshot pack itself.
    profile
        .packs
        .retain(|p| p.name != "vm-dashboard" && p.name != "volume-snapshot-controller");
    let error = vmdeck_packs::validate(&catalog, &profile, None).unwrap_err();
    let issue = error
        .issues
        .iter()
        .find(|i| i.code == "gate_needs_pack")
        .expect("gate_needs_pack");
    assert!(issue.path.ends_with("gates.Snapshot"), "{issue}");
    // Turning the gate off resolves it.
    let kubevirt = profile
        .packs
        .iter_mut()
        .find(|p| p.name == "kubevirt")
        .unwrap();
    kubevirt.gates.insert("Snapshot".into(), Off);
    vmdeck_packs::validate(&catalog, &profile, None).unwrap();
}

#[test]
fn a_gate_ends_up_on_by_maturity_then_choice_then_default() {
    let gates = common::catalog().gates("kubevirt").cloned().unwrap();
    let table = gates.table("1.9.0").unwrap();
    let row = |name: &str| table.iter().find(|r| r.name == name).unwrap();
    // Beta is on by default from 1.9; a choice wins over the default.
    assert!(row("Snapshot").is_on(None));
    assert!(!row("Snapshot").is_on(Some(Off)));
    assert!(!row("CPUManager").is_on(None));
    assert!(row("CPUManager").is_on(Some(On)));
    // GA is on and discontinued is off, whatever the profile says.
    assert!(row("LiveMigration").is_on(Some(Off)));
    assert!(!row("Passt").is_on(Some(On)));
}

#[test]
fn a_version_change_keeps_only_choices_still_choosable() {
    let gates = common::catalog().gates("kubevirt").cloned().unwrap();
    let picked = choices(&[
        ("MigrationPriorityQueue", On), // Beta in 1.8, GA in 1.9
        ("Passt", On),                  // discontinued in both
        ("Snapshot", Off),
        ("PortRangesSpec", On), // only in 1.9
        ("NoSuchGate", On),
    ]);
    assert_eq!(
        gates.carry_over("1.9.0", &picked).unwrap(),
        choices(&[("PortRangesSpec", On), ("Snapshot", Off)])
    );
    assert_eq!(
        gates.carry_over("1.8.4", &picked).unwrap(),
        choices(&[("MigrationPriorityQueue", On), ("Snapshot", Off)])
    );
    assert_eq!(
        gates.carry_over("0.1.0", &picked).unwrap_err().code(),
        "gate_version_unsupported"
    );
}
