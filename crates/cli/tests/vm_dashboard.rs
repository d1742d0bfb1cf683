//! vmdeckctl's dashboard verbs against simcluster after installing `vm-dashboard-direct`, one
//! install walking the whole story: bad input refused at the field (exit 2, nothing created),
//! the review YAML, a VM from the fedora golden image with the pack's vmdeck-small instancetype
//! (import to 100%, running, a serial console that answers, the VMI sized by the instancetype),
//! snapshots refused without a VolumeSnapshotClass then taken and listed, a change undone by a
//! restore that stops the VM first, a clone that runs, delete keeping and with disks.

use std::process::Stdio;

use kube::api::{Api, DynamicObject, ListParams};
use simcluster::SimCluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vmdeck_test_support::{WAIT_LIMIT, eventually};

mod support;
use support::{args, install_preset, text, vmdeckctl};

fn resource(group: &str, kind: &str, plural: &str) -> kube::api::ApiResource {
    kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk(group, "v1", kind),
        plural,
    )
}

/// The serial console of `vm` answers with a login prompt.
async fn console_answers(kubeconfig: &str, vm: &str) {
    let mut child = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("vmdeckctl"))
        .args(["console", "--kubeconfig", kubeconfig, vm])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    stdin.write_all(b"\r").await.unwrap();
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT_LIMIT, async {
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("login: ") {
            let n = stdout.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "the console ended: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no login prompt: {}", String::from_utf8_lossy(&seen)));
    stdin.write_all(&[0x1d]).await.unwrap();
    assert!(child.wait().await.unwrap().success());
}

/// `vmdeckctl ARGS --kubeconfig K`.
async fn ctl(dir: &std::path::Path, kubeconfig: &str, list: &[&str]) -> std::process::Output {
    let mut a = list.to_vec();
    a.extend_from_slice(&["--kubeconfig", kubeconfig]);
    vmdeckctl(dir, args(&a)).await
}

/// `vmdeckctl ARGS --kubeconfig K -o json`, which must succeed: its JSON.
async fn ctl_json(dir: &std::path::Path, kubeconfig: &str, list: &[&str]) -> serde_json::Value {
    let out = ctl(dir, kubeconfig, &[list, &["-o", "json"]].concat()).await;
    assert!(
        out.status.success(),
        "{list:?}: {}{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{list:?}: {e}: {}", text(&out.stdout)))
}

/// The VMI's vCPUs and guest memory.
fn size_of(vmi: &DynamicObject) -> (u64, String) {
    let domain = &vmi.data["spec"]["domain"];
    let count = |k: &str| domain["cpu"][k].as_u64().unwrap_or(1);
    (
        count("sockets") * count("cores") * count("threads"),
        domain["memory"]["guest"].as_str().unwrap_or("").to_string(),
    )
}

/// The whole story through vmdeckctl on one install of `vm-dashboard-direct`: bad input refused
/// at the field; the review; a VM from the fedora golden image with vmdeck-small (import to
/// 100%, running, a console that answers, the VMI sized by the instancetype); snapshots refused
/// without a VolumeSnapshotClass, saying what is missing, then taken and listed with phase and
/// size; a change (another instancetype while stopped), a restore that stops the VM first and says
/// so, the change gone; a clone that runs; deletes keeping the disks and with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_golden_image_vm_from_create_to_delete() {
    let cluster = SimCluster::start(simcluster::Options {
        ready_delay: std::time::Duration::from_millis(50),
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kubeconfig = d.join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let k = kubeconfig.display().to_string();
    install_preset(d, "vm-dashboard-direct", &k).await;
    let client = cluster.client().await;
    let api = |resource: kube::api::ApiResource| -> Api<DynamicObject> {
        Api::namespaced_with(client.clone(), "default", &resource)
    };
    let vm_api = api(resource("kubevirt.io", "VirtualMachine", "virtualmachines"));
    let vmi_api = api(resource(
        "kubevirt.io",
        "VirtualMachineInstance",
        "virtualmachineinstances",
    ));
    let pvcs = api(resource(
        "",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
    ));
    let dvs = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        "default",
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("cdi.kubevirt.io", "v1beta1", "DataVolume"),
            "datavolumes",
        ),
    );
    let running = async |name: &str| -> DynamicObject {
        eventually(&format!("{name} running"), async || {
            let vmi = vmi_api.get_opt(name).await.ok()??;
            (vmi.data.pointer("/status/phase")?.as_str()? == "Running").then_some(vmi)
        })
        .await
    };
    let golden = [
        "--instancetype",
        "vmdeck-small",
        "--preference",
        "vmdeck-linux",
        "--image",
        "vm-dashboard/fedora",
        "--size",
        "10Gi",
    ];
    let create = |name: &'static str, more: &[&'static str]| {
        [&["vms", "create", name][..], &golden[..], more].concat()
    };

    // Bad input: refused at the field with the fix (exit 2), nothing created.
    let bad = ctl(
        d,
        &k,
        &[
            "vms",
            "create",
            "default/Web_01",
            "--instancetype",
            "vmdeck-small",
            "--size",
            "10 gigs",
        ],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    let said = text(&bad.stderr);
    for (field, fix) in [
        ("name:", "fix: "),
        ("boot_source:", "fix: "),
        ("disk_size:", "fix: "),
    ] {
        let at = said
            .find(&format!("\n{field}"))
            .map(|i| i + 1)
            .or_else(|| said.starts_with(field).then_some(0))
            .unwrap_or_else(|| panic!("{field} named: {said}"));
        let next = &said[at..];
        let line_end = next.find('\n').unwrap_or(next.len());
        assert!(
            next[line_end..].trim_start().starts_with(fix),
            "{field} with its fix on the next line: {said}"
        );
    }
    assert!(said.contains("10 gigs"), "the bad size quoted: {said}");
    let bad = ctl(
        d,
        &k,
        &[
            "vms",
            "create",
            "default/Web_01",
            "--instancetype",
            "vmdeck-small",
            "--size",
            "10 gigs",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    let errors: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    let fields: Vec<&str> = errors["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "boot_source", "disk_size"], "{errors}");
    assert!(
        errors["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["fix"].as_str().unwrap().is_empty())
    );
    let missing = ctl(
        d,
        &k,
        &[
            "vms",
            "create",
            "default/web",
            "--instancetype",
            "u1.nope",
            "--image",
            "vm-dashboard/fedora",
        ],
    )
    .await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("instancetype: there is no instancetype u1.nope"),
        "{}",
        text(&missing.stderr)
    );
    let nothing = async || {
        for api in [&vm_api, &dvs, &pvcs] {
            let items = api.list(&ListParams::default()).await.unwrap().items;
            assert!(items.is_empty(), "nothing created: {items:?}");
        }
    };
    nothing().await;

    // The review shows the objects and creates nothing.
    let reviewed = ctl(d, &k, &create("default/web", &["--start", "--review"])).await;
    assert!(reviewed.status.success(), "{}", text(&reviewed.stderr));
    let yaml = text(&reviewed.stdout);
    assert!(
        yaml.contains("kind: VirtualMachine") && yaml.contains("sourceRef:"),
        "{yaml}"
    );
    nothing().await;

    // Created from the golden image, followed to 100%.
    let report = ctl_json(d, &k, &create("default/web", &["--start", "--wait"])).await;
    let events = report["disk_events"].as_array().unwrap();
    assert_eq!(events.last().unwrap()["event"], "ready", "{events:?}");
    assert!(
        events.iter().any(|e| e["percent"].as_f64() == Some(100.0)),
        "the import reached 100%: {events:?}"
    );
    let yaml_vm: serde_json::Value = serde_yaml_ng::from_str(
        yaml.split("---\n")
            .find(|d| d.contains("kind: VirtualMachine"))
            .unwrap(),
    )
    .unwrap();
    let live = serde_json::to_value(vm_api.get("web").await.unwrap()).unwrap();
    assert_eq!(
        yaml_vm["spec"]["dataVolumeTemplates"], live["spec"]["dataVolumeTemplates"],
        "the review is what was created"
    );
    assert_eq!(
        size_of(&running("web").await),
        (1, "2Gi".into()),
        "vmdeck-small's 1 vCPU and 2Gi"
    );
    console_answers(&k, "default/web").await;

    // No VolumeSnapshotClass for the disk's driver: the snapshot action says what is missing.
    let check = ctl(d, &k, &["vms", "snapshot", "check", "default/web"]).await;
    assert!(!check.status.success());
    let said = text(&check.stderr);
    assert!(
        said.contains("no VolumeSnapshotClass for the driver hostpath.csi.simcluster.vmdeck.io")
            && said.contains("create one with driver: hostpath.csi.simcluster.vmdeck.io"),
        "{said}"
    );
    let refused = ctl(d, &k, &["vms", "snapshot", "take", "default/web", "s1"]).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("no VolumeSnapshotClass for the driver"),
        "{}",
        text(&refused.stderr)
    );
    let none = ctl_json(d, &k, &["vms", "snapshot", "list", "default/web"]).await;
    assert_eq!(none, serde_json::json!([]), "no snapshot was made");

    // The fix it names: a VolumeSnapshotClass for that driver.
    let class = serde_json::json!({
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
        "metadata": {"name": "hostpath-snapshots"},
        "driver": "hostpath.csi.simcluster.vmdeck.io", "deletionPolicy": "Delete",
    });
    Api::<DynamicObject>::all_with(
        client.clone(),
        &resource(
            "snapshot.storage.k8s.io",
            "VolumeSnapshotClass",
            "volumesnapshotclasses",
        ),
    )
    .create(
        &kube::api::PostParams::default(),
        &serde_json::from_value(class).unwrap(),
    )
    .await
    .unwrap();
    let can = ctl_json(d, &k, &["vms", "snapshot", "check", "default/web"]).await;
    assert_eq!(can["available"], true, "{can}");

    // Snapshot it, listed with its phase and size.
    let taken = ctl_json(
        d,
        &k,
        &["vms", "snapshot", "take", "default/web", "s1", "--wait"],
    )
    .await;
    assert_eq!(taken["ready"], true, "{taken}");
    let listed = ctl_json(d, &k, &["vms", "snapshot", "list", "default/web"]).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        (
            &listed[0]["name"],
            &listed[0]["phase"],
            &listed[0]["ready"],
            &listed[0]["size"]
        ),
        (
            &serde_json::json!("s1"),
            &serde_json::json!("Succeeded"),
            &serde_json::json!(true),
            &serde_json::json!("10Gi")
        ),
        "{listed}"
    );
    let table = ctl(d, &k, &["vms", "snapshot", "list", "default/web"]).await;
    let table = text(&table.stdout);
    assert!(
        table.contains("PHASE") && table.contains("SIZE") && table.contains("Succeeded"),
        "{table}"
    );

    // Change it: its CPUs come from the instancetype, so a bigger one, while stopped.
    let cpus = ctl(d, &k, &["vms", "edit", "default/web", "--cpus", "2"]).await;
    assert!(!cpus.status.success());
    assert!(
        text(&cpus.stderr).contains("pick another instancetype"),
        "{}",
        text(&cpus.stderr)
    );
    let stop = ctl(d, &k, &["vms", "stop", "default/web"]).await;
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    eventually("web stopped", async || {
        vmi_api.get_opt("web").await.ok()?.is_none().then_some(())
    })
    .await;
    let edited = ctl_json(
        d,
        &k,
        &[
            "vms",
            "edit",
            "default/web",
            "--instancetype",
            "vmdeck-medium",
        ],
    )
    .await;
    assert_eq!(edited["restart_needed"], false, "stopped: {edited}");
    let start = ctl(d, &k, &["vms", "start", "default/web"]).await;
    assert!(start.status.success(), "{}", text(&start.stderr));
    assert_eq!(
        size_of(&running("web").await),
        (2, "4Gi".into()),
        "the change took: vmdeck-medium"
    );

    // Restore the snapshot: the running VM is stopped first and the user told; the change gone.
    let restored = ctl(d, &k, &["vms", "restore", "default/web", "s1"]).await;
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let said = text(&restored.stderr);
    assert!(
        said.contains("web is running: stopping it first") && said.contains("restored from s1"),
        "{said}"
    );
    let vm = vm_api.get("web").await.unwrap();
    assert_eq!(
        vm.data["spec"]["instancetype"]["name"], "vmdeck-small",
        "the change is gone"
    );
    assert!(
        vmi_api.get_opt("web").await.unwrap().is_none(),
        "the restore leaves it stopped"
    );
    eventually("the disk of before the restore deleted", async || {
        pvcs.get_opt("web-rootdisk")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    let start = ctl(d, &k, &["vms", "start", "default/web"]).await;
    assert!(start.status.success(), "{}", text(&start.stderr));
    assert_eq!(size_of(&running("web").await), (1, "2Gi".into()));

    // Clone it: the clone exists and runs.
    let cloned = ctl_json(d, &k, &["vms", "clone", "default/web", "web-copy"]).await;
    assert!(cloned["method"].is_string(), "{cloned}");
    assert!(vm_api.get_opt("web-copy").await.unwrap().is_some());
    if vmi_api.get_opt("web-copy").await.unwrap().is_none() {
        let start = ctl(d, &k, &["vms", "start", "default/web-copy"]).await;
        assert!(start.status.success(), "{}", text(&start.stderr));
    }
    assert_eq!(size_of(&running("web-copy").await), (1, "2Gi".into()));

    // Delete keeping the disk (since the restore, the restored PVC): it stays. A typo is refused.
    let disks_of = async |name: &str| {
        vmdeck_console::dashboard::snapshots::disk_claims(
            &serde_json::to_value(vm_api.get(name).await.unwrap()).unwrap(),
        )
    };
    let web_disks = disks_of("web").await;
    assert_eq!(web_disks.len(), 1, "{web_disks:?}");
    let typo = ctl(
        d,
        &k,
        &["vms", "delete", "default/web", "--confirm", "webb"],
    )
    .await;
    assert!(!typo.status.success());
    assert!(
        text(&typo.stderr).contains("not the VM's"),
        "{}",
        text(&typo.stderr)
    );
    let kept = ctl_json(
        d,
        &k,
        &[
            "vms",
            "delete",
            "default/web",
            "--keep-disks",
            "--confirm",
            "web",
        ],
    )
    .await;
    assert_eq!(kept["disks_kept"], serde_json::json!(web_disks), "{kept}");
    assert!(vm_api.get_opt("web").await.unwrap().is_none());
    eventually("the VMI gone", async || {
        vmi_api.get_opt("web").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(
        pvcs.get_opt(&web_disks[0]).await.unwrap().is_some(),
        "the kept disk stays"
    );

    // The clone deleted with its disks: its PVCs go, the kept one stays.
    let copy_disks = disks_of("web-copy").await;
    assert!(!copy_disks.is_empty());
    for disk in &copy_disks {
        assert!(pvcs.get_opt(disk).await.unwrap().is_some(), "{disk} there");
    }
    let gone = ctl_json(
        d,
        &k,
        &[
            "vms",
            "delete",
            "default/web-copy",
            "--yes-i-typed",
            "web-copy",
        ],
    )
    .await;
    assert_eq!(
        gone["disks_deleted"],
        serde_json::json!(copy_disks),
        "{gone}"
    );
    eventually("web-copy's disks gone", async || {
        for disk in &copy_disks {
            pvcs.get_opt(disk).await.ok()?.is_none().then_some(())?;
        }
        Some(())
    })
    .await;
    assert!(
        pvcs.get_opt(&web_disks[0]).await.unwrap().is_some(),
        "the other kept disk still there"
    );
    let deleted = ctl(d, &k, &["vms", "snapshot", "delete", "default/s1"]).await;
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let none = ctl_json(d, &k, &["vms", "snapshot", "list", "default/web"]).await;
    assert_eq!(none, serde_json::json!([]));
    cluster.shutdown().await;
}
