//! The inventory, power actions and access reviews against simcluster's simulated KubeVirt.

mod support;

use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use serde_json::json;
use support::{Rows, kubevirt};
use vmdeck_console::access::access;
use vmdeck_console::actions::{ActionError, PowerAction, act};
use vmdeck_console::inventory::{Inventory, Scope};
use vmdeck_console::kinds::vm_resource;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_join_vms_and_vmis_and_follow_changes() {
    let cluster = kubevirt(6).await;
    let client = cluster.client().await;
    let inventory = Inventory::start(client.clone(), Scope::All);
    let mut rows = Rows::new(inventory.subscribe().await.unwrap()).await;
    rows.until("six rows", |rows| rows.len() == 6).await;
    rows.until("dev/web-01 running with node, IPs and guest OS", |rows| {
        rows.values().any(|r| {
            r.namespace == "dev"
                && r.name == "web-01"
                && r.status == "Running"
                && r.node.is_some()
                && !r.ips.is_empty()
                && r.guest_os.is_some()
        })
    })
    .await;
    let web = rows.get("dev", "web-01").unwrap();
    assert!(web.consoles);
    assert!(web.cpus.is_some() && web.memory.is_some(), "{web:?}");
    assert_eq!(web.labels.get("app").map(String::as_str), Some("web"));
    assert!(web.created.is_some());
    assert!(web.actions.contains(&PowerAction::Stop));
    assert!(!web.actions.contains(&PowerAction::Start));
    let db = rows.get("dev", "db-02").unwrap();
    assert_eq!(db.status, "Stopped");
    assert_eq!(db.actions, [PowerAction::Start]);
    assert!(!db.consoles && db.node.is_none());

    // A new VM is added, then removed.
    let vms: Api<DynamicObject> = Api::namespaced_with(client.clone(), "dev", &vm_resource());
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": "fresh", "namespace": "dev"},
        "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}}
    }))
    .unwrap();
    vms.create(&PostParams::default(), &object).await.unwrap();
    rows.until("fresh added", |rows| {
        rows.values().any(|r| r.name == "fresh")
    })
    .await;
    vms.delete("fresh", &DeleteParams::default()).await.unwrap();
    rows.until("fresh removed", |rows| {
        !rows.values().any(|r| r.name == "fresh")
    })
    .await;

    // A second subscriber gets a snapshot of the current rows.
    let again = Rows::new(inventory.subscribe().await.unwrap()).await;
    assert!(again.rows.len() >= 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_actions_and_their_plain_errors() {
    let cluster = kubevirt(6).await;
    let client = cluster.client().await;
    let inventory = Inventory::start(client.clone(), Scope::Namespace("dev".into()));
    let mut rows = Rows::new(inventory.subscribe().await.unwrap()).await;
    rows.until("dev/web-01 running", |rows| {
        rows.values()
            .any(|r| r.name == "web-01" && r.status == "Running")
    })
    .await;
    assert!(
        rows.rows.values().all(|r| r.namespace == "dev"),
        "the scope holds"
    );

    // Halted dev/db-02: stop says "not running", start starts it.
    let error = act(&client, "dev", "db-02", PowerAction::Stop)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ActionError::NotRunning {
            name: "db-02".into()
        }
    );
    assert_eq!(error.to_string(), "db-02 is not running");
    act(&client, "dev", "db-02", PowerAction::Start)
        .await
        .unwrap();
    rows.until("db-02 running", |rows| {
        rows.values()
            .any(|r| r.name == "db-02" && r.status == "Running")
    })
    .await;

    // Always dev/web-01: start is refused by its run strategy.
    let error = act(&client, "dev", "web-01", PowerAction::Start)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "refused", "{error}");
    assert!(error.to_string().contains("Always"), "{error}");

    // Pause, pause again, soft reboot while paused, unpause.
    act(&client, "dev", "web-01", PowerAction::Pause)
        .await
        .unwrap();
    rows.until("web-01 paused", |rows| {
        rows.values().any(|r| {
            r.name == "web-01" && r.status == "Paused" && r.actions.contains(&PowerAction::Unpause)
        })
    })
    .await;
    let again = act(&client, "dev", "web-01", PowerAction::Pause)
        .await
        .unwrap_err();
    assert_eq!(again.code(), "already_paused", "{again}");
    let reboot = act(&client, "dev", "web-01", PowerAction::SoftReboot)
        .await
        .unwrap_err();
    assert_eq!(
        reboot,
        ActionError::Paused {
            name: "web-01".into()
        }
    );
    assert_eq!(reboot.to_string(), "web-01 is paused");
    act(&client, "dev", "web-01", PowerAction::Unpause)
        .await
        .unwrap();
    rows.until("web-01 running again", |rows| {
        rows.values()
            .any(|r| r.name == "web-01" && r.status == "Running")
    })
    .await;
    act(&client, "dev", "web-01", PowerAction::SoftReboot)
        .await
        .unwrap();
    act(&client, "dev", "web-01", PowerAction::Migrate)
        .await
        .unwrap();

    // Forced stop of db-02 (grace period 0), then "not running".
    act(&client, "dev", "db-02", PowerAction::ForceStop)
        .await
        .unwrap();
    rows.until("db-02 stopped", |rows| {
        rows.values()
            .any(|r| r.name == "db-02" && r.status == "Stopped")
    })
    .await;
    let error = act(&client, "dev", "db-02", PowerAction::Restart)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "refused", "Halted refuses restart: {error}");

    let missing = act(&client, "dev", "nowhere", PowerAction::Start)
        .await
        .unwrap_err();
    assert_eq!(
        missing,
        ActionError::NotFound {
            name: "nowhere".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_actions_as_not_allowed() {
    let cluster = kubevirt(3).await;
    let admin = cluster.client().await;
    let viewer = kube::Client::try_from(cluster.client_config("viewer").await).unwrap();

    let theirs = access(&viewer, "dev").await.unwrap();
    assert!(
        PowerAction::ALL.iter().all(|a| !theirs.may(*a)),
        "{theirs:?}"
    );
    assert!(
        theirs.vnc && theirs.serial,
        "viewers may open consoles (a GET)"
    );
    let ours = access(&admin, "dev").await.unwrap();
    assert!(PowerAction::ALL.iter().all(|a| ours.may(*a)), "{ours:?}");

    // The viewer lists VMs but cannot act.
    let inventory = Inventory::start(viewer.clone(), Scope::All);
    let rows = Rows::new(inventory.subscribe().await.unwrap()).await;
    assert_eq!(rows.rows.len(), 3);
    let error = act(&viewer, "dev", "web-01", PowerAction::Stop)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "not_allowed", "{error}");
    assert!(error.to_string().starts_with("not allowed"), "{error}");
}

/// Many VMs: the first snapshot carries every one of them, in one update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_inventory_arrives_as_one_snapshot() {
    let cluster = kubevirt(3000).await;
    let started = std::time::Instant::now();
    let inventory = Inventory::start(cluster.client().await, Scope::All);
    let rows = Rows::new(inventory.subscribe().await.unwrap()).await;
    println!(
        "3,000 VMs: first snapshot in {:.2} s (debug build)",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(rows.rows.len(), 3000);
    assert_eq!(rows.updates, 1);
}
