//! The install calls through the call table against simcluster, with upstream files from the
//! mirror in `../shared/upstream`: preflight, plan, install streaming progress per pack, status,
//! a live gate change, uninstall; a cut-short run listed, resumed and discarded; a bare cluster's
//! preflight failure naming the fix (and the install refused); an automatic fix applied to a
//! draft; an uninstall refused with `vms_exist` while VMs exist, then with them removed; the
//! versions an installed pack is offered and an upgrade to one; health pushed as it changes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use simcluster::SimCluster;
use vmdeck_desktop_core::profile_draft::draft_from_profile;
use vmdeck_desktop_core::{
    App, AppConfig, ContextChoice, ImportInput, InstallDoneView, InstallEvent, InstalledStatusView,
    KubeconfigSource, LiveGatesView, PlanActionView, PlanView, PreflightView, ProfileDraft,
    SecretsChoice, SourcesConfig, UiError, UnfinishedRunView, UninstallDoneView, VerdictView, Via,
    call, event_queue, stream,
};
use vmdeck_packs::{Catalog, ProfileRequest, profile_from_preset};
use vmdeck_vault::AppDirs;

const CLUSTER: &str = "lab";

fn mirror() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/upstream")
        .display()
        .to_string()
}

async fn sim(options: simcluster::Options) -> SimCluster {
    SimCluster::start(simcluster::Options {
        ready_delay: Duration::from_millis(50),
        ..options
    })
    .await
    .unwrap()
}

/// An app in `dir` reading sources from the mirror, with the simulator's admin saved as `lab`.
async fn app_with(dir: &tempfile::TempDir, sim: &SimCluster) -> App {
    let app = App::open(AppConfig {
        dirs: Some(AppDirs::under(dir.path())),
        secrets: SecretsChoice::SessionOnly,
        demo: false,
        check_timeout: Some(Duration::from_secs(5)),
        sources: SourcesConfig {
            mirror: Some(mirror()),
            cache_dir: Some(dir.path().join("cache")),
        },
    })
    .await;
    app.import_clusters(ImportInput {
        source: KubeconfigSource::Text {
            text: sim.kubeconfig().to_string(),
        },
        choices: vec![ContextChoice {
            context: "admin".into(),
            name: Some(CLUSTER.into()),
        }],
        overwrite: false,
        replace: vec![],
    })
    .await
    .unwrap();
    app
}

fn preset_draft(preset: &str) -> ProfileDraft {
    let catalog = Catalog::embedded().unwrap();
    let profile = profile_from_preset(
        &catalog,
        &ProfileRequest {
            preset: preset.into(),
            versions: BTreeMap::new(),
            gates: BTreeMap::new(),
            values: BTreeMap::new(),
        },
    )
    .unwrap();
    draft_from_profile(&catalog, &profile)
}

async fn call_as<T: DeserializeOwned>(app: &App, method: &str, request: Value) -> T {
    let answer = call(app, Via::Http, method, request)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e:?}"));
    serde_json::from_value(answer).unwrap()
}

/// Runs a stream call to its end, reading every event as it comes.
async fn run_stream(
    app: &App,
    method: &str,
    request: Value,
) -> (Result<Value, UiError>, Vec<InstallEvent>) {
    let (sender, mut receiver) = event_queue();
    let reader = async {
        let mut seen = Vec::new();
        while let Some(event) = receiver.recv().await {
            seen.push(serde_json::from_value::<InstallEvent>(event).unwrap());
        }
        seen
    };
    tokio::join!(stream(app, Via::Http, method, request, sender), reader)
}

async fn status(app: &App) -> InstalledStatusView {
    call_as(app, "installed_status", json!({ "name": CLUSTER })).await
}

fn edited_lines(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preset_is_preflighted_planned_installed_gated_and_uninstalled() {
    let cluster = sim(simcluster::Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(&dir, &cluster).await;
    let draft = preset_draft("vm-dashboard-direct");
    let target = json!({ "cluster": CLUSTER, "draft": draft });

    let preflight: PreflightView = call_as(&app, "preflight_install", target.clone()).await;
    assert!(!preflight.blocks, "{preflight:?}");
    assert_ne!(preflight.verdict, VerdictView::Fail);
    assert!(preflight.checks.iter().any(|c| c.id == "kvm"));

    let plan: PlanView = call_as(&app, "plan_install", target.clone()).await;
    assert!(
        !plan.upgrade && plan.changes && !plan.has_conflicts,
        "{plan:?}"
    );
    let packs: Vec<&str> = plan.packs.iter().map(|p| p.pack.as_str()).collect();
    assert!(
        packs.contains(&"kubevirt") && packs.contains(&"vm-dashboard"),
        "{packs:?}"
    );
    assert!(
        plan.packs.iter().all(|p| p.create > 0 && p.update == 0),
        "{plan:?}"
    );
    assert!(
        plan.objects
            .iter()
            .all(|o| o.action == PlanActionView::Create)
    );

    let install = json!({ "cluster": CLUSTER, "draft": draft, "force_conflicts": false });
    let (answer, events) = run_stream(&app, "install_profile", install.clone()).await;
    let done: InstallDoneView = serde_json::from_value(answer.unwrap()).unwrap();
    assert!(done.applied > 0, "{done:?}");
    assert!(
        matches!(events.first(), Some(InstallEvent::InventoryWritten { .. })),
        "{:?}",
        events.first()
    );
    assert!(
        matches!(events.last(), Some(InstallEvent::Done { .. })),
        "{:?}",
        events.last()
    );
    for pack in &packs {
        assert!(
            events
                .iter()
                .any(|e| matches!(e, InstallEvent::PhaseStarted { pack: p, .. } if p == pack)),
            "no phase of {pack}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, InstallEvent::PackReady { pack: p } if p == pack)),
            "{pack} never ready"
        );
    }
    let unfinished: Vec<UnfinishedRunView> =
        call_as(&app, "unfinished_installs", json!(null)).await;
    assert!(unfinished.is_empty(), "{unfinished:?}");

    let installed = status(&app).await;
    assert!(installed.installed && installed.healthy, "{installed:?}");
    assert!(installed.user_data.is_empty(), "{installed:?}");
    let kubevirt = installed
        .packs
        .iter()
        .find(|p| p.name == "kubevirt")
        .unwrap();
    assert!(kubevirt.objects > 0);
    let installed_draft = installed
        .draft
        .as_ref()
        .expect("the installed profile as a draft");
    assert_eq!(installed_draft.name, draft.name);
    assert_eq!(
        installed_draft
            .packs
            .iter()
            .map(|p| &p.name)
            .collect::<Vec<_>>(),
        draft.packs.iter().map(|p| &p.name).collect::<Vec<_>>()
    );
    let gates = kubevirt.gates.as_ref().expect("KubeVirt's live gates");
    assert!(
        !gates.enabled.contains(&"HostDisk".to_string()),
        "{gates:?}"
    );
    assert_eq!(gates.owned_by, None);

    // HostDisk on: the plan changes one object by one line; applied, the gate is on.
    let change = json!({ "cluster": CLUSTER, "gates": [{ "gate": "HostDisk", "setting": "on" }] });
    let gate_plan: PlanView = call_as(&app, "plan_gate_change", change.clone()).await;
    let changed: Vec<_> = gate_plan
        .objects
        .iter()
        .filter(|o| o.action != PlanActionView::Unchanged)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].action, PlanActionView::Update);
    assert_eq!(changed[0].object.label, "KubeVirt kubevirt/kubevirt");
    assert_eq!(edited_lines(&changed[0].diff), ["+      - HostDisk"]);
    let (answer, events) = run_stream(&app, "apply_gate_change", change).await;
    let live: Vec<LiveGatesView> = serde_json::from_value(answer.unwrap()).unwrap();
    assert!(
        matches!(events.last(), Some(InstallEvent::Done { .. })),
        "{:?}",
        events.last()
    );
    let kubevirt = live.iter().find(|g| g.pack == "kubevirt").unwrap();
    assert!(
        kubevirt.enabled.contains(&"HostDisk".to_string()),
        "{live:?}"
    );
    let installed = status(&app).await;
    assert!(installed.healthy, "{installed:?}");

    let (answer, events) = run_stream(
        &app,
        "uninstall_packs",
        json!({ "cluster": CLUSTER, "remove_vms": false }),
    )
    .await;
    let removed: UninstallDoneView = serde_json::from_value(answer.unwrap()).unwrap();
    assert!(removed.deleted > 0 && removed.packs.contains(&"kubevirt".to_string()));
    assert!(removed.leftovers.is_empty(), "{removed:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, InstallEvent::Deleted { .. }))
    );
    assert!(
        matches!(events.last(), Some(InstallEvent::Done { .. })),
        "{:?}",
        events.last()
    );
    let gone = status(&app).await;
    assert!(!gone.installed && gone.packs.is_empty(), "{gone:?}");

    // A run cut short (the window went away once the inventory was written) is listed,
    // resumed to a clean install, and then no longer listed.
    let (sender, mut receiver) = event_queue();
    let mut work = Box::pin(stream(&app, Via::Http, "install_profile", install, sender));
    loop {
        tokio::select! {
            outcome = &mut work => panic!("the install ended before it was cut short: {outcome:?}"),
            Some(event) = receiver.recv() => {
                if event["event"] == "inventory_written" {
                    break;
                }
            }
        }
    }
    drop(work);
    drop(receiver);
    let unfinished: Vec<UnfinishedRunView> =
        call_as(&app, "unfinished_installs", json!(null)).await;
    assert_eq!(unfinished.len(), 1, "{unfinished:?}");
    assert_eq!(unfinished[0].cluster, CLUSTER);
    assert_eq!(unfinished[0].failed, None);
    assert_eq!(
        unfinished[0].profile_name.as_deref(),
        Some(draft.name.as_str())
    );
    let (answer, events) = run_stream(
        &app,
        "resume_install",
        json!({ "cluster": CLUSTER, "force_conflicts": false }),
    )
    .await;
    answer.unwrap();
    assert!(
        matches!(events.last(), Some(InstallEvent::Done { .. })),
        "{:?}",
        events.last()
    );
    let unfinished: Vec<UnfinishedRunView> =
        call_as(&app, "unfinished_installs", json!(null)).await;
    assert!(unfinished.is_empty(), "{unfinished:?}");
    assert!(status(&app).await.healthy);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_cluster_fails_preflight_naming_the_fix_and_the_install_is_refused() {
    let cluster = sim(simcluster::Options {
        bare: true,
        ..simcluster::Options::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(&dir, &cluster).await;
    let draft = preset_draft("vm-dashboard-direct");
    let preflight: PreflightView = call_as(
        &app,
        "preflight_install",
        json!({ "cluster": CLUSTER, "draft": draft }),
    )
    .await;
    assert!(preflight.blocks);
    assert_eq!(preflight.verdict, VerdictView::Fail);
    let storage = preflight
        .checks
        .iter()
        .find(|c| c.id == "default_storage_class")
        .unwrap();
    assert_eq!(storage.verdict, VerdictView::Fail);
    assert_eq!(storage.pack.as_deref(), Some("kubevirt-cdi"));
    assert!(
        storage.fix.as_deref().unwrap_or_default().contains(
            "kubectl annotate storageclass NAME storageclass.kubernetes.io/is-default-class=true"
        ),
        "{storage:?}"
    );

    let (answer, events) = run_stream(
        &app,
        "install_profile",
        json!({ "cluster": CLUSTER, "draft": draft }),
    )
    .await;
    let refused = answer.unwrap_err();
    assert_eq!(refused.code, "preflight_failed", "{refused:?}");
    assert!(
        refused.message.contains("default_storage_class"),
        "{}",
        refused.message
    );
    assert!(
        matches!(events.as_slice(), [InstallEvent::Failed { error }] if error == &refused),
        "{events:?}"
    );
    assert!(!status(&app).await.installed, "nothing was installed");

    // A journaled run is listed, and discarded.
    let journal = vmdeck_installer::Journal::new(AppDirs::under(dir.path()).data.join("runs"));
    journal
        .write(&vmdeck_installer::RunRecord {
            cluster: CLUSTER.into(),
            profile: String::new(),
            started: 1,
            state: vmdeck_installer::RunState::Failed {
                code: "not_ready".into(),
                message: "virt-api was not ready".into(),
            },
            inventory_written: true,
            packs_ready: vec!["multus".into()],
        })
        .unwrap();
    let unfinished: Vec<UnfinishedRunView> =
        call_as(&app, "unfinished_installs", json!(null)).await;
    assert_eq!(unfinished.len(), 1, "{unfinished:?}");
    assert_eq!(
        unfinished[0].failed.as_ref().map(|e| e.code.as_str()),
        Some("not_ready")
    );
    assert_eq!(unfinished[0].packs_ready, ["multus"]);
    let () = call_as(&app, "discard_install", json!({ "name": CLUSTER })).await;
    let unfinished: Vec<UnfinishedRunView> =
        call_as(&app, "unfinished_installs", json!(null)).await;
    assert!(unfinished.is_empty(), "{unfinished:?}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automatic_fix_applied_to_the_draft_passes_its_check() {
    let cluster = sim(simcluster::Options {
        kvm: false,
        ..simcluster::Options::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(&dir, &cluster).await;
    let draft = preset_draft("vm-dashboard-direct");
    let preflight: PreflightView = call_as(
        &app,
        "preflight_install",
        json!({ "cluster": CLUSTER, "draft": draft }),
    )
    .await;
    let kvm = preflight.checks.iter().find(|c| c.id == "kvm").unwrap();
    assert_eq!(kvm.verdict, VerdictView::Warn, "{kvm:?}");
    let fix = kvm.auto_fix.as_ref().expect("the use_emulation fix");
    assert_eq!(fix.id, "use_emulation");
    let vmdeck_desktop_core::FixActionView::Profile { changes } = &fix.action else {
        panic!("{fix:?}");
    };
    let fixed: ProfileDraft = call_as(
        &app,
        "apply_profile_changes",
        json!({ "draft": draft, "changes": changes }),
    )
    .await;
    let kubevirt = fixed.packs.iter().find(|p| p.name == "kubevirt").unwrap();
    assert_eq!(kubevirt.values["useEmulation"], json!(true));
    let again: PreflightView = call_as(
        &app,
        "preflight_install",
        json!({ "cluster": CLUSTER, "draft": fixed }),
    )
    .await;
    let kvm = again.checks.iter().find(|c| c.id == "kvm").unwrap();
    assert_eq!(kvm.verdict, VerdictView::Pass, "{kvm:?}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_refuses_while_vms_exist_unless_they_are_removed() {
    let cluster = sim(simcluster::Options {
        vms: 2,
        ..simcluster::Options::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(&dir, &cluster).await;
    let install = json!({ "cluster": CLUSTER, "draft": preset_draft("vm-dashboard-direct") });
    let (answer, _) = run_stream(&app, "install_profile", install).await;
    answer.unwrap();
    assert!(status(&app).await.installed);
    // The simulator seeds its VMs once KubeVirt serves them.
    let client = kube::Client::try_from(cluster.client_config("admin").await).unwrap();
    let vms: kube::Api<kube::api::DynamicObject> = kube::Api::all_with(
        client,
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "kubevirt.io",
            "v1",
            "VirtualMachine",
        )),
    );
    vmdeck_test_support::wait_until("the seeded VMs exist", async || {
        vms.list(&Default::default())
            .await
            .is_ok_and(|list| list.items.len() == 2)
    })
    .await;

    // The Installed view names what blocks the uninstall.
    let blockers = status(&app).await.user_data;
    assert_eq!(blockers.len(), 2, "{blockers:?}");
    assert!(
        blockers.iter().all(|o| o.kind == "VirtualMachine"),
        "{blockers:?}"
    );
    let (answer, events) = run_stream(&app, "uninstall_packs", json!({ "cluster": CLUSTER })).await;
    let refused = answer.unwrap_err();
    assert_eq!(refused.code, "vms_exist", "{refused:?}");
    assert!(
        matches!(events.last(), Some(InstallEvent::Failed { error }) if error == &refused),
        "{events:?}"
    );
    assert!(status(&app).await.installed, "nothing was removed");

    let (answer, events) = run_stream(
        &app,
        "uninstall_packs",
        json!({ "cluster": CLUSTER, "remove_vms": true }),
    )
    .await;
    let removed: UninstallDoneView = serde_json::from_value(answer.unwrap()).unwrap();
    assert!(removed.leftovers.is_empty(), "{removed:?}");
    assert!(
        matches!(events.last(), Some(InstallEvent::Done { .. })),
        "{:?}",
        events.last()
    );
    let gone = status(&app).await;
    assert!(!gone.installed && gone.user_data.is_empty(), "{gone:?}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_install_stops_and_is_left_to_resume() {
    let cluster = sim(simcluster::Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(&dir, &cluster).await;
    let not_running: bool = call_as(&app, "cancel_install", json!({ "name": CLUSTER })).await;
    assert!(!not_running, "nothing runs yet");
    let install = json!({ "cluster": CLUSTER, "draft": preset_draft("vm-dashboard-direct") });
    let (sender, mut receiver) = event_queue();
    let mut work = Box::pin(stream(&app, Via::Http, "install_profile", install, sender));
    loop {
        tokio::select! {
            outcome = &mut work => panic!("the install ended before it was cancelled: {outcome:?}"),
            Some(event) = receiver.recv() => {
                if event["event"] == "inventory_written" {
                    break;
                }
            }
        }
    }
    // Going on, the run is not offered to resume.
    let unfinished: Vec<UnfinishedRunView> =
        call_as(&app, "unfinished_installs", json!(null)).await;
    assert!(unfinished.is_empty(), "{unfinished:?}");
    let cancelled: bool = call_as(&app, "cancel_install", json!({ "name": CLUSTER })).await;
    assert!(cancelled);
    let reader = async {
        let mut seen = Vec::new();
        while let Some(event) = receiver.recv().await {
            seen.push(serde_json::from_value::<InstallEvent>(event).unwrap());
        }
        seen
    };
    let (answer, events) = tokio::join!(work, reader);
    let error = answer.unwrap_err();
    assert_eq!(error.code, "install_cancelled", "{error:?}");
    assert!(
        matches!(events.last(), Some(InstallEvent::Failed { error: e }) if e == &error),
        "{events:?}"
    );
    let unfinished: Vec<UnfinishedRunView> =
        call_as(&app, "unfinished_installs", json!(null)).await;
    assert_eq!(unfinished.len(), 1, "{unfinished:?}");
    assert_eq!(unfinished[0].failed, None, "cut short, not failed");
    let again: bool = call_as(&app, "cancel_install", json!({ "name": CLUSTER })).await;
    assert!(!again, "the run ended");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installed_packs_offer_their_next_versions_and_their_health_is_pushed_as_it_changes() {
    let cluster = sim(simcluster::Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let app = std::sync::Arc::new(app_with(&dir, &cluster).await);
    let mut draft = preset_draft("vm-dashboard-direct");
    draft
        .packs
        .iter_mut()
        .find(|p| p.name == "kubevirt")
        .unwrap()
        .version = "1.8.2".into();
    let install = json!({ "cluster": CLUSTER, "draft": draft });
    let (answer, _) = run_stream(&app, "install_profile", install).await;
    answer.unwrap();
    let offered = |status: &InstalledStatusView, pack: &str| {
        status
            .packs
            .iter()
            .find(|p| p.name == pack)
            .unwrap_or_else(|| panic!("{pack} installed"))
            .upgrades
            .clone()
    };
    let installed = status(&app).await;
    // KubeVirt's operator upgrades one minor at a time; 1.8.2 may go to 1.8.4 or 1.9.0.
    assert_eq!(offered(&installed, "kubevirt"), ["1.9.0", "1.8.4"]);
    assert!(
        offered(&installed, "kubevirt-cdi").is_empty(),
        "CDI is at its newest"
    );

    // The upgrade is the installed draft with the new version, installed the same way.
    let mut upgraded = installed.draft.clone().unwrap();
    upgraded
        .packs
        .iter_mut()
        .find(|p| p.name == "kubevirt")
        .unwrap()
        .version = "1.8.4".into();
    let upgrade = json!({ "cluster": CLUSTER, "draft": upgraded });
    let (answer, _) = run_stream(&app, "install_profile", upgrade).await;
    answer.unwrap();
    let after = status(&app).await;
    let kubevirt = after.packs.iter().find(|p| p.name == "kubevirt").unwrap();
    assert_eq!(
        (kubevirt.version.as_str(), kubevirt.healthy),
        ("1.8.4", true)
    );
    assert_eq!(offered(&after, "kubevirt"), ["1.9.0"]);

    // Health is pushed: the status now, then a new one when a workload goes.
    let (sender, mut receiver) = event_queue();
    let watch = tokio::spawn({
        let app = app.clone();
        async move {
            stream(
                &app,
                Via::Http,
                "watch_installed",
                json!({ "name": CLUSTER }),
                sender,
            )
            .await
        }
    });
    let mut next = async || -> InstalledStatusView {
        serde_json::from_value(receiver.recv().await.expect("a status")).unwrap()
    };
    let first = next().await;
    assert!(first.healthy, "{first:?}");
    let client = kube::Client::try_from(cluster.client_config("admin").await).unwrap();
    let deployments: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client,
        "cdi",
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "apps",
            "v1",
            "Deployment",
        )),
    );
    deployments
        .delete("cdi-operator", &Default::default())
        .await
        .unwrap();
    let broken = next().await;
    assert!(!broken.healthy, "{broken:?}");
    let cdi = broken
        .packs
        .iter()
        .find(|p| p.name == "kubevirt-cdi")
        .unwrap();
    assert!(
        cdi.reasons.iter().any(|r| r.contains("cdi-operator")),
        "{cdi:?}"
    );
    // The window stops listening: the watch ends.
    drop(receiver);
    watch.await.unwrap().unwrap();
    cluster.shutdown().await;
}

/// The proxied preset's preflight in the app: the API server's certificate is read with the proxy
/// host (`cluster-lab1.proxy.test`) as SNI from the saved cluster's server; without that SAN the
/// check says which to add; frpc not installed yet is said as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxied_preflight_reads_the_certificate_for_the_proxy_host() {
    let proxy_host = "cluster-lab1.proxy.test";
    for (sans, verdict) in [
        (vec![proxy_host.to_string()], VerdictView::Pass),
        (vec![], VerdictView::Warn),
    ] {
        let cluster = sim(simcluster::Options {
            tls_sans: sans,
            ..simcluster::Options::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let app = app_with(&dir, &cluster).await;
        app.store_pack_secret(vmdeck_desktop_core::PackSecretInput {
            cluster: Some(CLUSTER.into()),
            pack: "spectro-proxy".into(),
            key: "token".into(),
            value: vmdeck_vault::Sensitive::new("frp-test-token".into()),
        })
        .await
        .unwrap();
        let mut draft = preset_draft("vm-dashboard-proxied");
        let proxy = draft
            .packs
            .iter_mut()
            .find(|p| p.name == "spectro-proxy")
            .unwrap();
        proxy.values["server"]["address"] = json!("proxy.test");
        proxy.values["clusterId"] = json!("lab1");
        let preflight: PreflightView = call_as(
            &app,
            "preflight_install",
            json!({ "cluster": CLUSTER, "draft": draft }),
        )
        .await;
        let check = |id: &str| {
            preflight
                .checks
                .iter()
                .find(|c| c.id == id)
                .unwrap_or_else(|| panic!("no {id}: {preflight:#?}"))
        };
        let certificate = check("proxy_certificate");
        assert_eq!(certificate.verdict, verdict, "{certificate:#?}");
        assert!(
            certificate.saw.contains(&format!("with SNI {proxy_host}")),
            "{}",
            certificate.saw
        );
        if verdict == VerdictView::Warn {
            assert!(
                certificate
                    .fix
                    .as_deref()
                    .unwrap()
                    .starts_with(&format!("Add the SAN {proxy_host}")),
                "{certificate:#?}"
            );
        }
        assert!(
            check("proxy_agent")
                .saw
                .starts_with("not checked yet: frpc is not installed"),
            "{preflight:#?}"
        );
        cluster.shutdown().await;
    }
}
