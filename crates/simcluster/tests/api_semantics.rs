//! The real server's answers to bad requests, authentication and authorization, finalizers and
//! garbage collection, namespace termination, CRD lifecycle, dry runs, faults, topology and state.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, PropagationPolicy,
};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use simcluster::Options;

fn status_of(error: kube::Error) -> (u16, String, String) {
    match error {
        kube::Error::Api(s) => (s.code, s.reason, s.message),
        other => panic!("expected an API error, got {other}"),
    }
}

async fn raw(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.as_bytes().to_vec())
        .unwrap();
    let response = client
        .send(request.map(kube::client::Body::from))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

use support::wait_until;

const WIDGET_CRD: &str = r#"{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.example.io"},
  "spec": {"group": "example.io", "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
    "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
          "size": {"type": "integer"}, "mode": {"type": "string", "enum": ["Always", "Halted"]}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}}"#;

fn widgets(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.io", "v1", "Widget"),
        "widgets",
    );
    Api::namespaced_with(client.clone(), ns, &resource)
}

#[tokio::test]
async fn bad_requests_get_the_real_answers() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    let (code, body) = raw(
        &client,
        "GET",
        "/apis/nothing.example.io/v1/gizmos",
        "application/json",
        "",
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (404, Some("NotFound")));
    let (code, body) = raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        "{not json",
    )
    .await;
    assert_eq!(
        (code, body["reason"].as_str(), body["kind"].as_str()),
        (400, Some("BadRequest"), Some("Status"))
    );
    let (code, body) = raw(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/x",
        "application/apply-patch+yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    .await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["details"]["causes"][0]["field"], "fieldManager");

    // Schema violations name the field path.
    let (code, _) = raw(
        &client,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "application/json",
        WIDGET_CRD,
    )
    .await;
    assert_eq!(code, 201);
    let api = widgets(&client, "default");
    wait_until("the Widget API is served", async || {
        api.list(&Default::default()).await.is_ok()
    })
    .await;
    let bad: DynamicObject = serde_json::from_value(json!({"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": "big", "mode": "Sometimes"}})).unwrap();
    let (code, reason, message) =
        status_of(api.create(&PostParams::default(), &bad).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert!(
        message.contains("spec.size")
            && message.contains("spec.mode")
            && message.contains("Unsupported value: \"Sometimes\""),
        "{message}"
    );
    let missing: DynamicObject = serde_json::from_value(json!({"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}})).unwrap();
    let (_, _, message) = status_of(
        api.create(&PostParams::default(), &missing)
            .await
            .unwrap_err(),
    );
    assert!(message.contains("spec.size: Required value"), "{message}");

    // Stale update: 409.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let created = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "stale"}, "data": {"a": "1"}}))
                .unwrap(),
        )
        .await
        .unwrap();
    cms.patch(
        "stale",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"a": "2"}})),
    )
    .await
    .unwrap();
    let (code, reason, message) = status_of(
        cms.replace("stale", &PostParams::default(), &created)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert!(
        message.contains("the object has been modified"),
        "{message}"
    );
    let (code, reason, _) = status_of(
        cms.create(&PostParams::default(), &created)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code, reason.as_str()),
        (500, "InternalError"),
        "resourceVersion set on create"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn credentials_are_checked_and_viewers_only_read() {
    let cluster = support::start().await;
    let mut anonymous = cluster.client_config("admin").await;
    anonymous.auth_info = Default::default();
    let anonymous = kube::Client::try_from(anonymous).unwrap();
    let (code, body) = raw(
        &anonymous,
        "GET",
        "/api/v1/namespaces",
        "application/json",
        "",
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (401, Some("Unauthorized")));
    let mut wrong = cluster.client_config("admin").await;
    wrong.auth_info.token = Some("not-the-token".to_string().into());
    let (code, _) = raw(
        &kube::Client::try_from(wrong).unwrap(),
        "GET",
        "/api/v1/namespaces",
        "application/json",
        "",
    )
    .await;
    assert_eq!(code, 401);

    let viewer = kube::Client::try_from(cluster.client_config("viewer").await).unwrap();
    let namespaces: Api<Namespace> = Api::all(viewer.clone());
    assert!(
        namespaces
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .len()
            >= 4
    );
    let (code, reason, message) = status_of(
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap(),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert!(
        message.contains("User \"viewer\" cannot create resource \"namespaces\""),
        "{message}"
    );

    let review = |verb: &str| json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "default"}, "verb": verb});
    let (code, rules) = raw(
        &viewer,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        "application/json",
        &review("x").to_string(),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(
        rules["status"]["resourceRules"][0]["verbs"],
        json!(["get", "list", "watch"])
    );
    let (_, admin_rules) = raw(
        &cluster.client().await,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        "application/json",
        &review("x").to_string(),
    )
    .await;
    assert_eq!(
        admin_rules["status"]["resourceRules"][0]["verbs"],
        json!(["*"])
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn deletion_follows_finalizers_and_propagation_policies() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let make = async |name: &str, owner: Option<&ConfigMap>| {
        let mut body = json!({"metadata": {"name": name}});
        if let Some(owner) = owner {
            body["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name, "uid": owner.metadata.uid, "blockOwnerDeletion": true}]);
        }
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(body).unwrap(),
        )
        .await
        .unwrap()
    };
    // Background: the owner goes at once, the dependent soon after.
    let owner = make("bg-owner", None).await;
    make("bg-child", Some(&owner)).await;
    cms.delete("bg-owner", &DeleteParams::background())
        .await
        .unwrap();
    wait_until("the background dependent is collected", async || {
        cms.get_opt("bg-child").await.unwrap().is_none()
    })
    .await;

    // Foreground: the owner waits (deletionTimestamp + finalizer) until its dependents are gone.
    let owner = make("fg-owner", None).await;
    make("fg-child", Some(&owner)).await;
    cms.delete("fg-owner", &DeleteParams::foreground())
        .await
        .unwrap();
    wait_until("foreground deletion finishes", async || {
        cms.get_opt("fg-owner").await.unwrap().is_none()
    })
    .await;
    assert!(cms.get_opt("fg-child").await.unwrap().is_none());

    // Orphan: the dependent stays, released from its owner.
    let owner = make("or-owner", None).await;
    make("or-child", Some(&owner)).await;
    cms.delete(
        "or-owner",
        &DeleteParams {
            propagation_policy: Some(PropagationPolicy::Orphan),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    wait_until("the orphaned owner is gone", async || {
        cms.get_opt("or-owner").await.unwrap().is_none()
    })
    .await;
    let child = cms.get("or-child").await.unwrap();
    assert!(
        child
            .metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );

    // A custom finalizer holds deletion until removed.
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(
            json!({"metadata": {"name": "held", "finalizers": ["example.io/hold"]}}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    cms.delete("held", &DeleteParams::default()).await.unwrap();
    let held = cms.get("held").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(cms.get_opt("held").await.unwrap().is_none());
    cluster.shutdown().await;
}

#[tokio::test]
async fn namespaces_terminate_until_empty_and_crds_take_their_objects_along() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "doomed"}})).unwrap(),
        )
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(
            json!({"metadata": {"name": "sticky", "finalizers": ["example.io/hold"]}}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    wait_until("the namespace reports Terminating", async || {
        namespaces
            .get("doomed")
            .await
            .unwrap()
            .status
            .and_then(|s| s.phase)
            .as_deref()
            == Some("Terminating")
    })
    .await;
    let (code, reason, message) = status_of(
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "late"}})).unwrap(),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert!(message.contains("being terminated"), "{message}");
    // The namespace controller has seen the leftover once it says why it waits.
    wait_until(
        "the namespace reports the content that remains",
        async || {
            namespaces
                .get_opt("doomed")
                .await
                .unwrap()
                .and_then(|ns| ns.status)
                .and_then(|s| s.conditions)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.type_ == "NamespaceContentRemaining" && c.status == "True")
                })
        },
    )
    .await;
    assert!(
        namespaces.get_opt("doomed").await.unwrap().is_some(),
        "held by the ConfigMap's finalizer"
    );
    cms.patch(
        "sticky",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    wait_until("the namespace is gone", async || {
        namespaces.get_opt("doomed").await.unwrap().is_none()
    })
    .await;

    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        ),
    );
    let crd: DynamicObject = serde_json::from_str(WIDGET_CRD).unwrap();
    crds.create(&PostParams::default(), &crd).await.unwrap();
    wait_until("the CRD is Established", async || {
        let crd = crds.get("widgets.example.io").await.unwrap();
        crd.data["status"]["conditions"]
            .as_array()
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Established" && c["status"] == "True")
            })
    })
    .await;
    let api = widgets(&client, "default");
    let widget: DynamicObject = serde_json::from_value(json!({"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3, "extra": "pruned"}})).unwrap();
    let stored = api.create(&PostParams::default(), &widget).await.unwrap();
    assert!(
        stored.data["spec"].get("extra").is_none(),
        "unknown fields are pruned"
    );
    crds.delete("widgets.example.io", &DeleteParams::default())
        .await
        .unwrap();
    wait_until("the CRD is gone", async || {
        crds.get_opt("widgets.example.io").await.unwrap().is_none()
    })
    .await;
    let (code, _) = raw(
        &client,
        "GET",
        "/apis/example.io/v1/namespaces/default/widgets",
        "application/json",
        "",
    )
    .await;
    assert_eq!(code, 404, "the API is no longer served");
    cluster.shutdown().await;
}

#[tokio::test]
async fn dry_runs_change_nothing() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let body: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "dry"}})).unwrap();
    let answer = cms
        .create(
            &PostParams {
                dry_run: true,
                ..Default::default()
            },
            &body,
        )
        .await
        .unwrap();
    assert_eq!(answer.metadata.name.as_deref(), Some("dry"));
    assert!(cms.get_opt("dry").await.unwrap().is_none());
    let apply = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}, "data": {"a": "1"}});
    cms.patch(
        "dry",
        &PatchParams {
            dry_run: true,
            ..PatchParams::apply("t")
        },
        &Patch::Apply(&apply),
    )
    .await
    .unwrap();
    assert!(cms.get_opt("dry").await.unwrap().is_none());
    cluster.shutdown().await;
}

#[tokio::test]
async fn faults_are_injected_reproducibly_and_latency_delays_requests() {
    async fn outcomes(seed: u64) -> Vec<u16> {
        let cluster = support::start_with(Options {
            fault_rate: 0.5,
            seed,
            nodes: 1,
            ..Default::default()
        })
        .await;
        let mut config = cluster.client_config("admin").await;
        config.default_retry = false; // see every answer, including 429s kube-rs would retry
        let client = kube::Client::try_from(config).unwrap();
        let mut codes = Vec::new();
        for i in 0..40 {
            let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("f{i}")}}).to_string();
            let request = http::Request::post("/api/v1/namespaces/default/configmaps")
                .header("content-type", "application/json")
                .body(body.into_bytes())
                .unwrap();
            codes.push(
                match client.send(request.map(kube::client::Body::from)).await {
                    Ok(response) if response.status() == 429 => {
                        assert_eq!(
                            response
                                .headers()
                                .get("retry-after")
                                .and_then(|v| v.to_str().ok()),
                            Some("1")
                        );
                        429
                    }
                    Ok(response) => response.status().as_u16(),
                    Err(_) => 0, // dropped connection
                },
            );
        }
        cluster.shutdown().await;
        codes
    }
    let first = outcomes(42).await;
    assert_eq!(first, outcomes(42).await, "same seed, same faults");
    for code in [201, 500, 429, 0] {
        assert!(first.contains(&code), "{code} occurs in {first:?}");
    }

    let cluster = support::start().await;
    let client = cluster.client().await;
    let set = json!({"latencyMs": 150, "faultRate": 0.0}).to_string();
    let (code, _) = raw(
        &client,
        "PUT",
        "/simcluster/v1/faults",
        "application/json",
        &set,
    )
    .await;
    assert_eq!(code, 200);
    let started = std::time::Instant::now();
    let (code, _) = raw(
        &client,
        "GET",
        "/api/v1/namespaces/default",
        "application/json",
        "",
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "latency applies"
    );
    let viewer = kube::Client::try_from(cluster.client_config("viewer").await).unwrap();
    let (code, _) = raw(
        &viewer,
        "PUT",
        "/simcluster/v1/faults",
        "application/json",
        &set,
    )
    .await;
    assert_eq!(code, 403, "only admin changes faults");
    cluster.shutdown().await;
}

#[tokio::test]
async fn topology_and_state_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let options = Options {
        state: Some(state.clone()),
        nodes: 5,
        kvm: false,
        ..Default::default()
    };
    let cluster = support::start_with(options.clone()).await;
    let client = cluster.client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let listed = nodes.list(&Default::default()).await.unwrap();
    assert_eq!(listed.items.len(), 5);
    assert!(
        listed
            .items
            .iter()
            .all(|n| n.metadata.labels.as_ref().unwrap()["simcluster.vmdeck.io/kvm"] == "false")
    );
    let classes: Api<StorageClass> = Api::all(client.clone());
    assert_eq!(
        classes.list(&Default::default()).await.unwrap().items.len(),
        1
    );
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "kept"}, "data": {"a": "1"}})).unwrap(),
    )
    .await
    .unwrap();
    let kubeconfig = cluster.kubeconfig().to_string();
    cluster.shutdown().await;

    let restarted = support::start_with(options).await;
    assert_eq!(
        restarted.kubeconfig().lines().find(|l| l.contains("token")),
        kubeconfig.lines().find(|l| l.contains("token"))
    );
    let cms: Api<ConfigMap> = Api::namespaced(restarted.client().await, "default");
    assert_eq!(cms.get("kept").await.unwrap().data.unwrap()["a"], "1");
    restarted.shutdown().await;

    let bare = support::start_with(Options {
        bare: true,
        ..Default::default()
    })
    .await;
    let classes: Api<StorageClass> = Api::all(bare.client().await);
    assert!(
        classes
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    bare.shutdown().await;
}

#[tokio::test]
async fn status_and_spec_are_written_separately_and_collections_delete_by_selector() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    let (code, _) = raw(
        &client,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "application/json",
        WIDGET_CRD,
    )
    .await;
    assert_eq!(code, 201);
    let api = widgets(&client, "default");
    wait_until("the Widget API is served", async || {
        api.list(&Default::default()).await.is_ok()
    })
    .await;
    let widget: DynamicObject = serde_json::from_value(
        json!({"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"size": 1}, "status": {"phase": "ignored on create"}}),
    )
    .unwrap();
    let created = api.create(&PostParams::default(), &widget).await.unwrap();
    assert!(
        created.data.get("status").is_none(),
        "status is dropped on create"
    );
    assert_eq!(created.metadata.generation, Some(1));

    let status = json!({"status": {"phase": "Ready"}, "spec": {"size": 99}});
    let after_status = api
        .patch_status("w", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    assert_eq!(after_status.data["status"]["phase"], "Ready");
    assert_eq!(
        after_status.data["spec"]["size"], 1,
        "the status subresource ignores spec"
    );
    assert_eq!(
        after_status.metadata.generation,
        Some(1),
        "status writes keep the generation"
    );

    let spec = json!({"spec": {"size": 2}, "status": {"phase": "Overwritten?"}});
    let after_spec = api
        .patch("w", &PatchParams::default(), &Patch::Merge(&spec))
        .await
        .unwrap();
    assert_eq!(after_spec.data["spec"]["size"], 2);
    assert_eq!(
        after_spec.data["status"]["phase"], "Ready",
        "the main resource ignores status"
    );
    assert_eq!(
        after_spec.metadata.generation,
        Some(2),
        "spec changes bump the generation"
    );

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for (name, tier) in [("a", "x"), ("b", "x"), ("c", "y")] {
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name, "labels": {"tier": tier}}}))
                .unwrap(),
        )
        .await
        .unwrap();
    }
    cms.delete_collection(
        &DeleteParams::default(),
        &kube::api::ListParams::default().labels("tier=x"),
    )
    .await
    .unwrap();
    let left: Vec<String> = cms
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert!(
        left.contains(&"c".to_string())
            && !left.contains(&"a".to_string())
            && !left.contains(&"b".to_string()),
        "{left:?}"
    );
    cluster.shutdown().await;
}
