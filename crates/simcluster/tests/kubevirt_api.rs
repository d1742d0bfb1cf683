//! Simulated operators and KubeVirt through kube-rs: workload readiness and failures, the KubeVirt
//! webhooks (feature gates, BlockUninstallIfWorkloadsExist), VM lifecycle, power action status
//! codes and the `subresources.kubevirt.io` discovery.

mod support;

use std::time::Duration;

use http_body_util::BodyExt;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};
use simcluster::{Options, SimCluster};

async fn with_kubevirt(vms: usize) -> SimCluster {
    support::start_with(Options {
        with_kubevirt: true,
        vms,
        ..Options::default()
    })
    .await
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: if group.is_empty() {
            version.into()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.into(),
        plural: plural.into(),
    }
}

fn vm_api(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines"),
    )
}

fn vmi_api(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &resource(
            "kubevirt.io",
            "v1",
            "VirtualMachineInstance",
            "virtualmachineinstances",
        ),
    )
}

fn kv_api(client: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        "kubevirt",
        &resource("kubevirt.io", "v1", "KubeVirt", "kubevirts"),
    )
}

/// Send a raw request; (status, Warning headers, body).
async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Value,
) -> (u16, Vec<String>, Value) {
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(kube::client::Body::from(bytes))
        .unwrap();
    let response = client.send(request).await.unwrap();
    let status = response.status().as_u16();
    let warnings = response
        .headers()
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().unwrap_or("").to_string())
        .collect();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        warnings,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

use support::eventually;

fn json_of(object: &DynamicObject) -> Value {
    serde_json::to_value(object).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workloads_become_ready_and_failing_ones_say_why() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    let deployments =
        Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(client.clone(), "default");
    let deployment = |name: &str, fail: Option<&str>| {
        let mut d = json!({"metadata": {"name": name}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}});
        if let Some(reason) = fail {
            d["metadata"]["annotations"] = json!({"simcluster.vmdeck.io/fail": reason});
        }
        serde_json::from_value(d).unwrap()
    };
    deployments
        .create(&PostParams::default(), &deployment("good", None))
        .await
        .unwrap();
    deployments
        .create(
            &PostParams::default(),
            &deployment("bad", Some("image pull back-off: registry unreachable")),
        )
        .await
        .unwrap();
    let good = eventually("good Available", async || {
        let d = deployments.get("good").await.unwrap();
        let status = d.status.clone()?;
        (status.available_replicas == Some(2)).then_some(status)
    })
    .await;
    let available = good
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Available")
        .unwrap();
    assert_eq!(available.status, "True");
    let pods = Api::<k8s_openapi::api::core::v1::Pod>::namespaced(client.clone(), "default")
        .list(&ListParams::default().labels("app=good"))
        .await
        .unwrap();
    assert_eq!(pods.items.len(), 2);
    for pod in &pods.items {
        let owner = &pod.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(owner.kind, "ReplicaSet");
        assert_eq!(
            pod.status.as_ref().unwrap().phase.as_deref(),
            Some("Running")
        );
    }
    let bad = eventually("bad reports failure", async || {
        deployments
            .get("bad")
            .await
            .unwrap()
            .status
            .and_then(|s| s.conditions)
    })
    .await;
    let progressing = bad.iter().find(|c| c.type_ == "Progressing").unwrap();
    assert_eq!(progressing.status, "False");
    assert!(
        progressing
            .message
            .as_deref()
            .unwrap()
            .contains("registry unreachable"),
        "{progressing:?}"
    );
    assert!(
        bad.iter()
            .any(|c| c.type_ == "Available" && c.status == "False")
    );
    // Deleting the Deployment garbage-collects its ReplicaSet and pods.
    deployments
        .delete("good", &DeleteParams::default())
        .await
        .unwrap();
    eventually("pods collected", async || {
        let pods = Api::<k8s_openapi::api::core::v1::Pod>::namespaced(client.clone(), "default")
            .list(&ListParams::default().labels("app=good"))
            .await
            .unwrap();
        pods.items.is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_kubevirt_starts_deployed_with_running_vms() {
    let cluster = with_kubevirt(9).await;
    let client = cluster.client().await;
    let kv = json_of(&kv_api(&client).get("kubevirt").await.unwrap());
    assert_eq!(kv["status"]["phase"], "Deployed");
    assert_eq!(kv["status"]["observedKubeVirtVersion"], "v1.8.4");
    assert!(
        kv["metadata"]["finalizers"]
            .as_array()
            .unwrap()
            .contains(&json!("kubevirt.io/foregroundDeleteKubeVirt"))
    );
    let cdi = Api::<DynamicObject>::all_with(
        client.clone(),
        &resource("cdi.kubevirt.io", "v1beta1", "CDI", "cdis"),
    );
    assert_eq!(
        json_of(&cdi.get("cdi").await.unwrap())["status"]["phase"],
        "Deployed"
    );
    let nodes = Api::<k8s_openapi::api::core::v1::Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    for node in &nodes.items {
        assert_eq!(
            node.metadata.labels.as_ref().unwrap()["kubevirt.io/schedulable"],
            "true"
        );
        assert!(
            node.status
                .as_ref()
                .unwrap()
                .capacity
                .as_ref()
                .unwrap()
                .contains_key("devices.kubevirt.io/kvm")
        );
    }
    let all_vms = Api::<DynamicObject>::all_with(
        client.clone(),
        &resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines"),
    )
    .list(&ListParams::default())
    .await
    .unwrap();
    assert_eq!(all_vms.items.len(), 9);
    let mut running = 0;
    for vm in &all_vms.items {
        let vm = json_of(vm);
        match vm["status"]["printableStatus"].as_str().unwrap() {
            "Running" => running += 1,
            "Stopped" => assert_ne!(vm["spec"]["runStrategy"], "Always"),
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        (3..9).contains(&running),
        "mixed running and stopped: {running}"
    );
    // A running VM's VMI: owned by the VM, on a node, with an IP; guest agent data when annotated.
    let vmi = json_of(&vmi_api(&client, "dev").get("web-01").await.unwrap());
    assert_eq!(vmi["status"]["phase"], "Running");
    assert!(
        vmi["status"]["nodeName"]
            .as_str()
            .unwrap()
            .starts_with("sim-node-")
    );
    assert!(
        vmi["status"]["interfaces"][0]["ipAddress"]
            .as_str()
            .unwrap()
            .starts_with("10.244.")
    );
    assert_eq!(
        vmi["metadata"]["ownerReferences"][0]["kind"],
        "VirtualMachine"
    );
    assert_eq!(vmi["status"]["guestOSInfo"]["id"], "fedora");
    let conditions = vmi["status"]["conditions"].as_array().unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c["type"] == "AgentConnected" && c["status"] == "True")
    );
    // Discovery of the aggregated subresources group.
    let (status, _, discovery) = send(
        &client,
        "GET",
        "/apis/subresources.kubevirt.io/v1",
        "application/json",
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = discovery["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for expected in [
        "virtualmachines/start",
        "virtualmachines/stop",
        "virtualmachines/migrate",
        "virtualmachineinstances/pause",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feature_gates_are_judged_by_the_deployed_version() {
    let cluster = with_kubevirt(0).await;
    let client = cluster.client().await;
    let path = "/apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts/kubevirt";
    let merge = "application/merge-patch+json";
    let gates = |enabled: Value, disabled: Value| json!({"spec": {"configuration": {"developerConfiguration": {"featureGates": enabled, "disabledFeatureGates": disabled}}}});
    let (status, _, body) = send(
        &client,
        "PATCH",
        path,
        merge,
        gates(json!(["ExperimentalVirtiofsSupport"]), json!([])),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("discontinued"),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("denied the request"),
        "{body}"
    );
    let (status, warnings, _) = send(
        &client,
        "PATCH",
        path,
        merge,
        gates(json!(["LiveMigration", "Snapshot"]), json!([])),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("LiveMigration") && w.contains("GA")),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("Snapshot")),
        "{warnings:?}"
    );
    let (status, _, body) = send(
        &client,
        "PATCH",
        path,
        merge,
        gates(json!(["Snapshot"]), json!(["Snapshot"])),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("both"), "{body}");
    let kv = json_of(&kv_api(&client).get("kubevirt").await.unwrap());
    assert_eq!(
        kv["spec"]["configuration"]["developerConfiguration"]["featureGates"],
        json!(["LiveMigration", "Snapshot"]),
        "refused changes were not stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_uninstall_while_vms_exist() {
    let cluster = with_kubevirt(2).await;
    let client = cluster.client().await;
    let kvs = kv_api(&client);
    kvs.patch(
        "kubevirt",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"uninstallStrategy": "BlockUninstallIfWorkloadsExist"}})),
    )
    .await
    .unwrap();
    let error = kvs
        .delete("kubevirt", &DeleteParams::default())
        .await
        .unwrap_err();
    match error {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 422);
            assert!(
                status.message.contains("BlockUninstallIfWorkloadsExist"),
                "{}",
                status.message
            );
        }
        other => panic!("unexpected {other}"),
    }
    for (ns, name) in [("dev", "web-01"), ("staging", "web-01")] {
        vm_api(&client, ns)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }
    eventually("VMIs gone", async || {
        let all = Api::<DynamicObject>::all_with(
            client.clone(),
            &resource(
                "kubevirt.io",
                "v1",
                "VirtualMachineInstance",
                "virtualmachineinstances",
            ),
        )
        .list(&ListParams::default())
        .await
        .unwrap();
        all.items.is_empty().then_some(())
    })
    .await;
    kvs.delete("kubevirt", &DeleteParams::default())
        .await
        .unwrap();
    eventually("KubeVirt CR gone", async || {
        kvs.get_opt("kubevirt")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let crds = Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::all(client.clone());
    eventually("VM CRD removed", async || {
        crds.get_opt("virtualmachines.kubevirt.io")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_actions_answer_with_kubevirt_status_codes() {
    let cluster = with_kubevirt(0).await;
    let client = cluster.client().await;
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "vms"}})).unwrap(),
        )
        .await
        .unwrap();
    let vms = vm_api(&client, "vms");
    let vmis = vmi_api(&client, "vms");
    let vm = |name: &str, strategy: &str| -> DynamicObject {
        serde_json::from_value(json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
            "spec": {"runStrategy": strategy, "template": {"spec": {"domain": {"devices": {}}}}}}))
        .unwrap()
    };
    vms.create(&PostParams::default(), &vm("always", "Always"))
        .await
        .unwrap();
    vms.create(&PostParams::default(), &vm("halted", "Halted"))
        .await
        .unwrap();
    vms.create(&PostParams::default(), &vm("manual", "Manual"))
        .await
        .unwrap();
    let base = "/apis/subresources.kubevirt.io/v1/namespaces/vms";
    let put = async |path: String| {
        send(&client, "PUT", &path, "application/json", json!({}))
            .await
            .0
    };
    let phase = async |name: &str| {
        vmis.get_opt(name).await.unwrap().map(|v| {
            json_of(&v)["status"]["phase"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
    };
    eventually("always running", async || {
        (phase("always").await.as_deref() == Some("Running")).then_some(())
    })
    .await;

    assert_eq!(
        put(format!("{base}/virtualmachines/always/start")).await,
        409,
        "start on Always"
    );
    assert_eq!(
        put(format!("{base}/virtualmachines/halted/stop")).await,
        409,
        "stop on a stopped VM"
    );
    assert_eq!(
        put(format!("{base}/virtualmachines/halted/restart")).await,
        409,
        "restart on Halted"
    );
    assert_eq!(
        put(format!("{base}/virtualmachines/manual/migrate")).await,
        409,
        "migrate a stopped VM"
    );
    assert_eq!(put(format!("{base}/virtualmachines/nope/start")).await, 404);
    assert_eq!(
        put(format!("{base}/virtualmachineinstances/halted/pause")).await,
        404
    );
    let (status, _, _) = send(
        &client,
        "GET",
        &format!("{base}/virtualmachines/halted/start"),
        "application/json",
        Value::Null,
    )
    .await;
    assert_eq!(status, 405, "power actions are PUT only");

    // Halted -> start flips the run strategy to Always and the VM runs.
    assert_eq!(
        put(format!("{base}/virtualmachines/halted/start")).await,
        202
    );
    assert_eq!(
        json_of(&vms.get("halted").await.unwrap())["spec"]["runStrategy"],
        "Always"
    );
    eventually("halted now running", async || {
        (phase("halted").await.as_deref() == Some("Running")).then_some(())
    })
    .await;
    // Manual start/stop go through state change requests.
    assert_eq!(
        put(format!("{base}/virtualmachines/manual/start")).await,
        202
    );
    eventually("manual running", async || {
        (phase("manual").await.as_deref() == Some("Running")).then_some(())
    })
    .await;
    assert_eq!(
        put(format!("{base}/virtualmachines/manual/start")).await,
        409,
        "already running"
    );
    // Pause / unpause / softreboot on the VMI.
    assert_eq!(
        put(format!("{base}/virtualmachineinstances/always/unpause")).await,
        409,
        "not paused"
    );
    assert_eq!(
        put(format!("{base}/virtualmachineinstances/always/pause")).await,
        200
    );
    assert_eq!(
        put(format!("{base}/virtualmachineinstances/always/pause")).await,
        409,
        "already paused"
    );
    assert_eq!(
        put(format!("{base}/virtualmachineinstances/always/softreboot")).await,
        409,
        "paused"
    );
    eventually("VM shows Paused", async || {
        (json_of(&vms.get("always").await.unwrap())["status"]["printableStatus"] == "Paused")
            .then_some(())
    })
    .await;
    assert_eq!(
        put(format!("{base}/virtualmachineinstances/always/unpause")).await,
        200
    );
    assert_eq!(
        put(format!("{base}/virtualmachineinstances/always/softreboot")).await,
        200
    );
    // Restart replaces the VMI; migrate moves it to another node.
    let uid = vmis.get("always").await.unwrap().metadata.uid.unwrap();
    assert_eq!(
        put(format!("{base}/virtualmachines/always/restart")).await,
        202
    );
    eventually("new VMI after restart", async || {
        let vmi = vmis.get_opt("always").await.unwrap()?;
        (vmi.metadata.uid.as_deref() != Some(uid.as_str())
            && json_of(&vmi)["status"]["phase"] == "Running")
            .then_some(())
    })
    .await;
    let node = json_of(&vmis.get("always").await.unwrap())["status"]["nodeName"].clone();
    assert_eq!(
        put(format!("{base}/virtualmachines/always/migrate")).await,
        202
    );
    eventually("migrated", async || {
        let vmi = json_of(&vmis.get("always").await.unwrap());
        (vmi["status"]["migrationState"]["completed"] == true && vmi["status"]["nodeName"] != node)
            .then_some(())
    })
    .await;
    // Stop on Always flips to Halted and the VMI goes away.
    assert_eq!(
        put(format!("{base}/virtualmachines/always/stop")).await,
        202
    );
    eventually("stopped", async || {
        vmis.get_opt("always")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    eventually("VM shows Stopped", async || {
        (json_of(&vms.get("always").await.unwrap())["status"]["printableStatus"] == "Stopped")
            .then_some(())
    })
    .await;
    // spec.running and runStrategy together are refused by virt-api's webhook.
    let both: DynamicObject = serde_json::from_value(json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": "both"}, "spec": {"running": true, "runStrategy": "Always", "template": {"spec": {}}}}))
    .unwrap();
    match vms.create(&PostParams::default(), &both).await.unwrap_err() {
        kube::Error::Api(status) => assert_eq!(status.code, 422),
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_vms_wait_for_kubevirt_then_start_with_delays() {
    let cluster = support::start_with(Options {
        vms: 3,
        with_snapshot_controller: true,
        ready_delay: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let client = cluster.client().await;
    let snapshot =
        Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(client.clone(), "kube-system")
            .get("snapshot-controller")
            .await
            .unwrap();
    assert_eq!(
        snapshot.metadata.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
        "velero"
    );
    assert_eq!(
        snapshot.status.unwrap().ready_replicas,
        Some(2),
        "already running at start"
    );
    install_kubevirt(&cluster, &client).await;
    let kv = eventually("Deploying seen", async || {
        let kv = json_of(&kv_api(&client).get("kubevirt").await.unwrap());
        kv["status"]["phase"].as_str().map(String::from)
    })
    .await;
    assert_eq!(kv, "Deploying", "the operator takes its delay");
    eventually("Deployed", async || {
        (json_of(&kv_api(&client).get("kubevirt").await.unwrap())["status"]["phase"] == "Deployed")
            .then_some(())
    })
    .await;
    let vm = eventually("seeded VM appears", async || {
        vm_api(&client, "dev").get_opt("web-01").await.unwrap()
    })
    .await;
    assert_eq!(json_of(&vm)["metadata"]["namespace"], "dev");
    let vmi = eventually("seeded VM runs", async || {
        let vmi = json_of(&vmi_api(&client, "dev").get_opt("web-01").await.unwrap()?);
        (vmi["status"]["phase"] == "Running").then_some(vmi)
    })
    .await;
    let phases: Vec<&str> = vmi["status"]["phaseTransitionTimestamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases.first(), Some(&"Pending"), "{phases:?}");
    assert_eq!(phases.last(), Some(&"Running"), "{phases:?}");
    assert!(phases.len() >= 3, "the VMI went through phases: {phases:?}");
}

/// Installs KubeVirt the way a user does: the upstream operator manifest, then the CR.
async fn install_kubevirt(cluster: &SimCluster, client: &kube::Client) {
    let operator =
        std::fs::read_to_string(support::upstream().join("kubevirt/v1.8.4/kubevirt-operator.yaml"))
            .unwrap();
    let cr = std::fs::read_to_string(support::upstream().join("kubevirt/v1.8.4/kubevirt-cr.yaml"))
        .unwrap();
    let apply = PatchParams::apply("test").force();
    for document in support::documents(&operator)
        .into_iter()
        .chain(support::documents(&cr))
    {
        let api_version = document["apiVersion"].as_str().unwrap();
        let kind = document["kind"].as_str().unwrap();
        let rt = eventually("kind served", async || {
            cluster.cluster().registry().by_kind(api_version, kind)
        })
        .await;
        let ar = resource(&rt.group, &rt.version, &rt.kind, &rt.plural);
        let name = document["metadata"]["name"].as_str().unwrap();
        let api: Api<DynamicObject> = match document["metadata"]["namespace"].as_str() {
            Some(ns) if rt.namespaced => Api::namespaced_with(client.clone(), ns, &ar),
            _ => Api::all_with(client.clone(), &ar),
        };
        api.patch(name, &apply, &Patch::Apply(&document))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_restarted_from_its_state_before_kubevirt_still_seeds_its_vms_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        state: Some(dir.path().join("state.json")),
        vms: 3,
        ready_delay: Duration::from_millis(50),
        ..Options::default()
    };
    support::start_with(options.clone()).await.shutdown().await;
    let cluster = support::start_with(options).await;
    let client = cluster.client().await;
    install_kubevirt(&cluster, &client).await;
    eventually("seeded VM appears after the restart", async || {
        vm_api(&client, "dev").get_opt("web-01").await.unwrap()
    })
    .await;
    cluster.shutdown().await;
}

/// Refuses creating one named Service while `refusing` is set: a write the operator must report.
struct RefuseService {
    name: &'static str,
    refusing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl simcluster::extensions::AdmissionHook for RefuseService {
    fn admit(
        &self,
        operation: simcluster::extensions::Operation,
        rt: &simcluster::resources::ResourceType,
        _old: Option<&Value>,
        new: &mut Value,
    ) -> Result<Vec<String>, simcluster::status::ApiError> {
        let refused = operation == simcluster::extensions::Operation::Create
            && rt.kind == "Service"
            && new["metadata"]["name"] == self.name
            && self.refusing.load(std::sync::atomic::Ordering::SeqCst);
        if refused {
            return Err(simcluster::status::ApiError::forbidden(
                "refused by the test's webhook",
            ));
        }
        Ok(Vec::new())
    }
}

/// The KubeVirt CR's condition of `type`, as (status, reason, message).
async fn kubevirt_condition(
    client: &kube::Client,
    type_: &str,
) -> Option<(String, String, String)> {
    let kubevirts = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        "kubevirt",
        &resource("kubevirt.io", "v1", "KubeVirt", "kubevirts"),
    );
    let kv = json_of(&kubevirts.get("kubevirt").await.ok()?);
    let condition = kv["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)?
        .clone();
    let text = |key: &str| condition[key].as_str().unwrap_or_default().to_string();
    Some((text("status"), text("reason"), text("message")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_operand_write_shows_as_degraded_until_it_succeeds() {
    let cluster = with_kubevirt(0).await;
    let client = cluster.client().await;
    eventually("KubeVirt Available", async || {
        kubevirt_condition(&client, "Available")
            .await
            .filter(|c| c.0 == "True")
    })
    .await;
    let refusing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    cluster
        .cluster()
        .objects
        .extensions
        .add_admission(std::sync::Arc::new(RefuseService {
            name: "kubevirt-prometheus-metrics",
            refusing: refusing.clone(),
        }));
    let services =
        Api::<k8s_openapi::api::core::v1::Service>::namespaced(client.clone(), "kubevirt");
    services
        .delete("kubevirt-prometheus-metrics", &Default::default())
        .await
        .unwrap();
    let kubevirts = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        "kubevirt",
        &resource("kubevirt.io", "v1", "KubeVirt", "kubevirts"),
    );
    let nudge = async |n: u32| {
        // A change to the CR makes the operator reconcile now.
        kubevirts
            .patch(
                "kubevirt",
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"metadata": {"annotations": {"test.vmdeck.io/nudge": n.to_string()}}}),
                ),
            )
            .await
            .unwrap();
    };
    nudge(1).await;
    let (_, reason, message) = eventually("KubeVirt Degraded=True", async || {
        kubevirt_condition(&client, "Degraded")
            .await
            .filter(|c| c.0 == "True")
    })
    .await;
    assert_eq!(reason, "ResourceWriteFailed");
    assert!(message.contains("kubevirt-prometheus-metrics"), "{message}");

    refusing.store(false, std::sync::atomic::Ordering::SeqCst);
    nudge(2).await;
    eventually("KubeVirt Degraded=False again", async || {
        kubevirt_condition(&client, "Degraded")
            .await
            .filter(|c| c.0 == "False")
    })
    .await;
    assert!(
        services
            .get_opt("kubevirt-prometheus-metrics")
            .await
            .unwrap()
            .is_some()
    );
}
