//! The install wizard's calls against the embedded catalog: cards and presets, resolution reasons, gate tables
//! by version, draft checks naming fields, profile files saved atomically and loaded back, pack secrets.

mod support;

use support::session_app;

use std::collections::BTreeMap;

use serde_json::json;
use vmdeck_desktop_core::{
    App, DraftPack, FieldKind, FormField, GateControl, GateRowView, GateSetting, GateTableQuery,
    GateTableView, MaturityView, PackSecretInput, PackSecretQuery, PackSelection, ProfileDraft,
    ProfileLocation, SaveProfileInput, StoreMode, Via, call,
};
use vmdeck_vault::Sensitive;

fn field<'f>(fields: &'f [FormField], path: &str) -> &'f FormField {
    vmdeck_desktop_core::value_form::find_field(fields, path)
        .unwrap_or_else(|| panic!("no field {path}"))
}

/// The draft the wizard starts with for a preset: resolved packs at default versions and values.
fn preset_draft(app: &App, preset: &str) -> ProfileDraft {
    let catalog = app.wizard_catalog().unwrap();
    let picked = catalog
        .presets
        .iter()
        .find(|p| p.name == preset)
        .unwrap()
        .packs
        .clone();
    let selection = app.resolve_packs(PackSelection { packs: picked }).unwrap();
    ProfileDraft {
        name: "lab".into(),
        description: None,
        preset: Some(preset.into()),
        packs: selection
            .packs
            .iter()
            .map(|p| {
                let card = catalog.packs.iter().find(|c| c.name == p.name).unwrap();
                DraftPack {
                    name: p.name.clone(),
                    version: card.default_version.clone(),
                    values: card.default_values.clone(),
                    gates: BTreeMap::new(),
                }
            })
            .collect(),
    }
}

fn pack<'d>(draft: &'d mut ProfileDraft, name: &str) -> &'d mut DraftPack {
    draft.packs.iter_mut().find(|p| p.name == name).unwrap()
}

/// The acceptance draft: proxied preset, KubeVirt 1.9.0 with Snapshot off, the proxy server filled in.
fn proxied_draft(app: &App) -> ProfileDraft {
    let mut draft = preset_draft(app, "vm-dashboard-proxied");
    let kubevirt = pack(&mut draft, "kubevirt");
    kubevirt.version = "1.9.0".into();
    kubevirt.gates.insert("Snapshot".into(), GateSetting::Off);
    let proxy = pack(&mut draft, "spectro-proxy");
    proxy.values["server"]["address"] = json!("proxy.example.com");
    proxy.values["clusterId"] = json!("lab1");
    draft
}

#[tokio::test]
async fn catalog_view_has_presets_cards_and_forms_from_the_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let catalog = app.wizard_catalog().unwrap();
    let presets: Vec<&str> = catalog.presets.iter().map(|p| p.name.as_str()).collect();
    assert!(presets.contains(&"vm-dashboard-proxied") && presets.contains(&"vm-dashboard-direct"));
    let card = |name: &str| catalog.packs.iter().find(|p| p.name == name).unwrap();
    assert_eq!(card("kubevirt").gate_component.as_deref(), Some("KubeVirt"));
    assert_eq!(card("kubevirt-cdi").gate_component.as_deref(), Some("CDI"));
    assert_eq!(card("multus").gate_component, None);
    assert!(card("kubevirt").versions.contains(&"1.9.0".to_string()));
    let proxy = &card("spectro-proxy").form;
    let token = field(proxy, "token");
    assert!(token.secret && token.required);
    assert_eq!(field(proxy, "server").kind, FieldKind::Group);
    let address = field(proxy, "server.address");
    assert!(address.required);
    assert_eq!(address.kind, FieldKind::Text);
    assert_eq!(field(proxy, "server.port").kind, FieldKind::Integer);
    assert_eq!(field(proxy, "tls.enabled").kind, FieldKind::Boolean);
    assert_eq!(field(proxy, "server.protocol").kind, FieldKind::Choice);
    let dashboard = &card("vm-dashboard").form;
    assert_eq!(field(dashboard, "goldenImages").kind, FieldKind::Json);
}

#[tokio::test]
async fn dependencies_are_added_with_the_reason_and_unknown_packs_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let selection = app
        .resolve_packs(PackSelection {
            packs: vec!["spectro-proxy".into(), "vm-dashboard".into()],
        })
        .unwrap();
    assert!(selection.problems.is_empty());
    let names: Vec<&str> = selection.packs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    let position = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(position("kubevirt") < position("vm-dashboard"));
    let kubevirt = &selection.packs[position("kubevirt")];
    assert!(!kubevirt.chosen);
    assert_eq!(kubevirt.required_by, vec!["vm-dashboard"]);
    assert_eq!(kubevirt.reason, "needed by VM Dashboard");
    assert!(selection.packs[position("spectro-proxy")].chosen);
    // The picks are exactly a preset's (in another order): the core names it.
    assert_eq!(selection.preset.as_deref(), Some("vm-dashboard-proxied"));
    let more = app
        .resolve_packs(PackSelection {
            packs: vec!["vm-dashboard".into(), "kubevirt".into()],
        })
        .unwrap();
    assert_eq!(more.preset, None, "a dependency picked too is no preset");

    let unknown = app
        .resolve_packs(PackSelection {
            packs: vec!["no-such-pack".into()],
        })
        .unwrap();
    assert!(unknown.packs.is_empty());
    assert_eq!(unknown.problems[0].code, "pack_unknown");
}

fn gate_query(pack: &str, version: &str) -> GateTableQuery {
    GateTableQuery {
        pack: pack.into(),
        version: version.into(),
        choices: None,
        version_changed: false,
    }
}

fn row<'a>(table: &'a GateTableView, name: &str) -> &'a GateRowView {
    table.rows.iter().find(|r| r.name == name).unwrap()
}

#[tokio::test]
async fn gate_tables_follow_the_version_rules() {
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let table = |version: &str| app.gate_table(gate_query("kubevirt", version)).unwrap();
    let nine = table("1.9.0");
    assert_eq!(nine.component, "KubeVirt");
    // A new pack starts from the profile defaults: Snapshot chosen on.
    assert_eq!(
        nine.choices,
        BTreeMap::from([("Snapshot".to_string(), GateSetting::On)])
    );
    let snapshot = row(&nine, "Snapshot");
    assert_eq!(snapshot.maturity, MaturityView::Beta);
    assert_eq!(snapshot.control, GateControl::Choosable);
    assert!(snapshot.on_by_default && snapshot.on);
    assert_eq!(snapshot.choice, Some(GateSetting::On));
    assert_eq!(snapshot.choice_effect, "on by default: nothing to write");
    assert_eq!(snapshot.requires_packs, vec!["volume-snapshot-controller"]);
    let eight = table("1.8.4");
    let snapshot = row(&eight, "Snapshot");
    assert!(!snapshot.on_by_default && snapshot.on);
    assert_eq!(snapshot.choice_effect, "listed in featureGates");
    let ga = nine
        .rows
        .iter()
        .find(|r| r.maturity == MaturityView::Ga)
        .unwrap();
    assert_eq!(ga.control, GateControl::AlwaysOn);
    assert!(ga.on && ga.choice.is_none() && ga.choice_effect.is_empty());
    let gone = nine
        .rows
        .iter()
        .find(|r| r.maturity == MaturityView::Discontinued)
        .unwrap();
    assert_eq!(gone.control, GateControl::Unavailable);
    assert!(!gone.on);

    let bad = app.gate_table(gate_query("kubevirt", "0.1.0")).unwrap_err();
    assert_eq!(bad.code, "gate_version_unsupported");
    assert_eq!(bad.field.as_deref(), Some("version"));
    let none = app.gate_table(gate_query("multus", "4.3.0")).unwrap_err();
    assert_eq!(none.code, "gates_unsupported");
}

#[tokio::test]
async fn gate_tables_apply_the_choices_and_carry_them_over_a_version_change() {
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let picked = BTreeMap::from([
        ("Snapshot".to_string(), GateSetting::Off),
        ("CPUManager".to_string(), GateSetting::On),
        ("MigrationPriorityQueue".to_string(), GateSetting::Off), // Beta in 1.8, GA in 1.9
        ("LiveMigration".to_string(), GateSetting::Off),          // GA: the check reports it
    ]);
    let asked = |version: &str, version_changed: bool| {
        app.gate_table(GateTableQuery {
            choices: Some(picked.clone()),
            version_changed,
            ..gate_query("kubevirt", version)
        })
        .unwrap()
    };
    // The same version: the choices stay as asked (a GA gate turned off stays, for the check to name it),
    // and each row is on or off by them.
    let kept = asked("1.9.0", false);
    assert_eq!(kept.choices, picked);
    let snapshot = row(&kept, "Snapshot");
    assert!(!snapshot.on);
    assert_eq!(snapshot.choice_effect, "listed in disabledFeatureGates");
    assert!(row(&kept, "CPUManager").on);
    assert!(
        row(&kept, "LiveMigration").on,
        "GA is on whatever is chosen"
    );
    assert!(
        row(&kept, "LiveMigration")
            .choice_effect
            .starts_with("not allowed"),
        "{}",
        row(&kept, "LiveMigration").choice_effect
    );
    // Moving to 1.9.0 from another version drops what cannot be chosen there.
    let moved = asked("1.9.0", true);
    assert_eq!(
        moved.choices,
        BTreeMap::from([
            ("CPUManager".to_string(), GateSetting::On),
            ("Snapshot".to_string(), GateSetting::Off),
        ])
    );
    assert_eq!(row(&moved, "MigrationPriorityQueue").choice, None);
    let back = asked("1.8.4", true);
    assert_eq!(
        back.choices.get("MigrationPriorityQueue"),
        Some(&GateSetting::Off)
    );
    assert!(!row(&back, "MigrationPriorityQueue").on);
}

#[tokio::test]
async fn draft_checks_name_the_pack_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let fresh = app
        .validate_profile(preset_draft(&app, "vm-dashboard-proxied"))
        .unwrap();
    let address = fresh
        .issues
        .iter()
        .find(|i| i.field.as_deref() == Some("server.address"))
        .unwrap_or_else(|| panic!("{:?}", fresh.issues));
    assert_eq!(address.pack.as_deref(), Some("spectro-proxy"));
    assert!(address.path.ends_with(".values.server.address"));

    let filled = app.validate_profile(proxied_draft(&app)).unwrap();
    assert!(filled.issues.is_empty(), "{:?}", filled.issues);
    assert!(filled.yaml.contains("apiVersion: vmdeck.io/v1alpha1"));

    let mut bad_port = proxied_draft(&app);
    pack(&mut bad_port, "spectro-proxy").values["server"]["port"] = json!(70000);
    let issues = app.validate_profile(bad_port).unwrap().issues;
    assert!(
        issues
            .iter()
            .any(|i| i.field.as_deref() == Some("server.port") && i.code == "value_invalid"),
        "{issues:?}"
    );

    let mut discontinued = proxied_draft(&app);
    let table = app.gate_table(gate_query("kubevirt", "1.9.0")).unwrap();
    let gone = table
        .rows
        .iter()
        .find(|r| r.maturity == MaturityView::Discontinued)
        .unwrap();
    pack(&mut discontinued, "kubevirt")
        .gates
        .insert(gone.name.clone(), GateSetting::On);
    let issues = app.validate_profile(discontinued).unwrap().issues;
    let issue = issues
        .iter()
        .find(|i| i.gate.as_deref() == Some(gone.name.as_str()))
        .unwrap();
    assert_eq!(issue.code, "gate_discontinued");
}

#[tokio::test]
async fn a_saved_profile_loads_back_with_the_same_choices_and_only_overrides_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let draft = proxied_draft(&app);
    let saved = app
        .save_profile(SaveProfileInput {
            draft: draft.clone(),
            location: ProfileLocation::Named { name: "lab".into() },
        })
        .await
        .unwrap();
    assert_eq!(saved.file_name, "lab.yaml");
    assert!(saved.issues.is_empty(), "{:?}", saved.issues);
    let text = std::fs::read_to_string(&saved.location).unwrap();
    assert!(
        text.starts_with("apiVersion: vmdeck.io/v1alpha1\nkind: Profile\n"),
        "{text}"
    );
    assert!(text.contains("preset: vm-dashboard-proxied"), "{text}");
    assert!(text.contains("Snapshot: off"), "{text}");
    assert!(text.contains("address: proxy.example.com"), "{text}");
    // Defaults are not repeated in the file.
    assert!(!text.contains("imagePullPolicy"), "{text}");
    assert!(!text.contains("token"), "{text}");

    let listed = app.list_profiles().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "lab.yaml");

    let loaded = app
        .load_profile(ProfileLocation::Named {
            name: "lab.yaml".into(),
        })
        .await
        .unwrap();
    assert!(loaded.issues.is_empty(), "{:?}", loaded.issues);
    assert_eq!(loaded.draft.as_ref(), Some(&draft));
    assert_eq!(loaded.chosen, vec!["vm-dashboard", "spectro-proxy"]);

    // The same file through an absolute path (what the native dialogs give).
    let by_path = app
        .load_profile(ProfileLocation::Path {
            path: saved.location.clone(),
        })
        .await
        .unwrap();
    assert_eq!(by_path.draft, loaded.draft);
}

#[tokio::test]
async fn a_secret_in_the_draft_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let mut draft = proxied_draft(&app);
    pack(&mut draft, "spectro-proxy").values["token"] = json!("hunter2");
    let check = app.validate_profile(draft.clone()).unwrap();
    assert!(check.yaml.is_empty());
    let issue = check
        .issues
        .iter()
        .find(|i| i.code == "secret_in_profile")
        .unwrap();
    assert_eq!(
        (issue.pack.as_deref(), issue.field.as_deref()),
        (Some("spectro-proxy"), Some("token"))
    );
    let err = app
        .save_profile(SaveProfileInput {
            draft,
            location: ProfileLocation::Named { name: "lab".into() },
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, "secret_in_profile");
    assert_eq!(err.field.as_deref(), Some("token"));
    assert!(app.list_profiles().await.unwrap().is_empty());
}

#[tokio::test]
async fn broken_profile_files_show_issues_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let folder = dir.path().join("data").join("profiles");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("typo.yaml"),
        "apiVersion: vmdeck.io/v1alpha1\nkind: Profile\nmetadata:\n  name: x\npackz: []\n",
    )
    .unwrap();
    let typo = app
        .load_profile(ProfileLocation::Named {
            name: "typo.yaml".into(),
        })
        .await
        .unwrap();
    assert!(typo.draft.is_none());
    assert_eq!(typo.issues[0].code, "profile_syntax");
    assert_eq!(typo.issues[0].line, Some(5));

    std::fs::write(
        folder.join("bad-values.yaml"),
        "apiVersion: vmdeck.io/v1alpha1\nkind: Profile\nmetadata:\n  name: x\npacks:\n  - name: multus\n    version: 4.3.0\n    values:\n      flavor: thin\n      resources:\n        requestsMemory: lots\n",
    )
    .unwrap();
    let bad = app
        .load_profile(ProfileLocation::Named {
            name: "bad-values.yaml".into(),
        })
        .await
        .unwrap();
    assert!(bad.draft.is_some());
    let issue = &bad.issues[0];
    assert_eq!(issue.path, "packs[0].values.resources.requestsMemory");
    assert_eq!(issue.line, Some(11));
    assert_eq!(issue.field.as_deref(), Some("resources.requestsMemory"));

    let missing = app
        .load_profile(ProfileLocation::Named {
            name: "none".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code, "profile_unreadable");
}

#[tokio::test]
async fn pack_secrets_go_to_the_secret_store_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let query = PackSecretQuery {
        cluster: None,
        packs: vec!["spectro-proxy".into(), "multus".into()],
    };
    let before = app.pack_secret_status(query.clone()).await.unwrap();
    assert_eq!(before.len(), 1);
    assert!(!before[0].stored);
    let input = |key: &str, value: &str| PackSecretInput {
        cluster: None,
        pack: "spectro-proxy".into(),
        key: key.into(),
        value: Sensitive::new(value.into()),
    };
    let stored = app
        .store_pack_secret(input("token", "frp-token-123"))
        .await
        .unwrap();
    assert!(stored.stored);
    assert_eq!(stored.store, StoreMode::SessionOnly);
    let after = app.pack_secret_status(query).await.unwrap();
    assert_eq!((after[0].key.as_str(), after[0].stored), ("token", true));
    assert!(!format!("{:?}", input("token", "frp-token-123")).contains("frp-token-123"));

    let unknown = app
        .store_pack_secret(input("server.address", "x"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code, "secret_unknown");
    let empty = app
        .store_pack_secret(input("token", " "))
        .await
        .unwrap_err();
    assert_eq!(empty.code, "value_required");

    // Saving afterwards writes no secret anywhere under the app's folders.
    app.save_profile(SaveProfileInput {
        draft: proxied_draft(&app),
        location: ProfileLocation::Named { name: "lab".into() },
    })
    .await
    .unwrap();
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("frp-token-123"),
            "{}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn wizard_calls_are_routed_by_the_call_table() {
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let table = call(
        &app,
        Via::Http,
        "gate_table",
        json!({"pack": "kubevirt", "version": "1.9.0", "choices": null, "version_changed": false}),
    )
    .await
    .unwrap();
    assert_eq!(table["component"], "KubeVirt");
    let bad_name = call(
        &app,
        Via::Http,
        "save_profile",
        json!({"draft": {"name": "x", "description": null, "preset": null, "packs": []},
               "location": {"kind": "named", "name": "../escape"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(bad_name.code, "profile_file_name_invalid");
    assert_eq!(bad_name.field.as_deref(), Some("file_name"));
    let listed = call(&app, Via::Http, "list_profiles", json!(null))
        .await
        .unwrap();
    assert_eq!(listed, json!([]));
}
