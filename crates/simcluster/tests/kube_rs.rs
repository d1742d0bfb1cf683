//! kube-rs, unchanged, against simcluster: dynamic discovery and applies of every upstream
//! manifest, server-side apply conflicts, watchers that survive 410 Gone, ordered change delivery.

mod support;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::discovery::{Discovery, Scope};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

async fn namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn dynamic_objects_after_discovery_apply_every_upstream_manifest() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    let params = PatchParams::apply("vmdeck-test").force();
    let (first, custom): (Vec<_>, Vec<_>) = support::upstream_manifests()
        .into_iter()
        .partition(|p| !p.to_string_lossy().ends_with("-cr.yaml"));
    let mut applied = 0;
    for batch in [first, custom] {
        // Discovery is run again per batch, as CRDs from the first batch serve the second one's kinds.
        let discovery = Discovery::new(client.clone()).run().await.unwrap();
        for file in batch {
            for document in support::documents(&std::fs::read_to_string(&file).unwrap()) {
                let object: DynamicObject = serde_json::from_value(document.clone()).unwrap();
                let gvk =
                    kube::core::GroupVersionKind::try_from(object.types.as_ref().unwrap()).unwrap();
                let (resource, capabilities) = discovery
                    .resolve_gvk(&gvk)
                    .unwrap_or_else(|| panic!("{gvk:?} discovered"));
                let api: Api<DynamicObject> = match capabilities.scope {
                    Scope::Namespaced => Api::namespaced_with(
                        client.clone(),
                        object.metadata.namespace.as_deref().unwrap_or("default"),
                        &resource,
                    ),
                    Scope::Cluster => Api::all_with(client.clone(), &resource),
                };
                let name = object.metadata.name.clone().unwrap();
                let stored = api
                    .patch(&name, &params, &Patch::Apply(&document))
                    .await
                    .unwrap_or_else(|e| panic!("{} {name}: {e}", file.display()));
                assert_eq!(stored.metadata.name.as_deref(), Some(name.as_str()));
                let managed = stored.metadata.managed_fields.unwrap_or_default();
                assert!(
                    managed
                        .iter()
                        .any(|m| m.manager.as_deref() == Some("vmdeck-test")
                            && m.operation.as_deref() == Some("Apply"))
                );
                applied += 1;
            }
        }
    }
    assert!(applied > 40, "applied {applied} upstream objects");
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let kubevirt = discovery
        .groups()
        .find(|g| g.name() == "kubevirt.io")
        .expect("kubevirt.io is served once its CRD exists");
    assert!(
        kubevirt
            .recommended_resources()
            .iter()
            .any(|(r, _)| r.kind == "KubeVirt")
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_second_field_manager_conflicts_and_force_wins() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let body = |value: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"mode": value}});
    api.patch(
        "shared",
        &PatchParams::apply("alice"),
        &Patch::Apply(&body("a")),
    )
    .await
    .unwrap();
    let error = api
        .patch(
            "shared",
            &PatchParams::apply("bob"),
            &Patch::Apply(&body("b")),
        )
        .await
        .unwrap_err();
    match error {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 409);
            assert_eq!(status.reason, "Conflict");
            assert!(
                status.message.contains("conflict with \"alice\"")
                    && status.message.contains(".data.mode"),
                "{}",
                status.message
            );
        }
        other => panic!("expected a 409, got {other}"),
    }
    let forced = api
        .patch(
            "shared",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(&body("b")),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["mode"], "b");
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"bob".to_string()));
    assert!(
        !managers.contains(&"alice".to_string()),
        "alice lost her only field: {managers:?}"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_watch_from_a_compacted_resource_version_gets_410_and_a_watcher_recovers() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    namespace(&client, "w").await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "w");
    let cm = |name: &str| {
        serde_json::from_value::<ConfigMap>(json!({"metadata": {"name": name}})).unwrap()
    };
    api.create(&PostParams::default(), &cm("before"))
        .await
        .unwrap();
    let old_rv = api
        .get("before")
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();

    let mut seen = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(10), seen.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("before"));

    // Compaction drops the history and ends every watch, as an API server restart would.
    api.create(&PostParams::default(), &cm("during"))
        .await
        .unwrap();
    let compact = http::Request::post("/simcluster/v1/compact")
        .body(Vec::new())
        .unwrap();
    client.request_text(compact).await.unwrap();

    let mut raw = api
        .watch(&WatchParams::default(), &old_rv)
        .await
        .unwrap()
        .boxed();
    match tokio::time::timeout(Duration::from_secs(10), raw.try_next())
        .await
        .unwrap()
        .unwrap()
    {
        Some(WatchEvent::Error(status)) => assert_eq!(status.code, 410),
        other => panic!("expected a 410 error event, got {other:?}"),
    }

    api.create(&PostParams::default(), &cm("after"))
        .await
        .unwrap();
    let mut names = Vec::new();
    let mut gone = 0;
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(item) = seen.next().await {
            match item {
                Ok(object) => names.push(object.metadata.name.unwrap()),
                // The watcher reports the 410 and lists again on its next poll.
                Err(watcher::Error::WatchError(status)) if status.code == 410 => gone += 1,
                Err(other) => panic!("unexpected watcher error {other}"),
            }
            if names.iter().any(|n| n == "after") && names.iter().any(|n| n == "during") {
                break;
            }
        }
    })
    .await
    .expect("the watcher delivers changes made around the compaction");
    assert_eq!(
        gone, 1,
        "the watcher resumed from its old resourceVersion and was told 410 Gone"
    );
    assert!(
        names.contains(&"during".to_string()) && names.contains(&"after".to_string()),
        "{names:?}"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_watch_sees_every_change_in_order() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    namespace(&client, "order").await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "order");
    let created = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "counter"}, "data": {"n": "0"}}))
                .unwrap(),
        )
        .await
        .unwrap();
    let rv = created.metadata.resource_version.unwrap();
    let mut events = api
        .watch(&WatchParams::default().timeout(60), &rv)
        .await
        .unwrap()
        .boxed();
    const CHANGES: usize = 300;
    let writer = {
        let api = api.clone();
        tokio::spawn(async move {
            for n in 1..=CHANGES {
                api.patch(
                    "counter",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"data": {"n": n.to_string()}})),
                )
                .await
                .unwrap();
            }
        })
    };
    let mut values = Vec::new();
    let mut versions = Vec::new();
    while values.len() < CHANGES {
        match tokio::time::timeout(Duration::from_secs(20), events.try_next())
            .await
            .unwrap()
            .unwrap()
        {
            Some(WatchEvent::Modified(cm)) => {
                values.push(cm.data.unwrap()["n"].parse::<usize>().unwrap());
                versions.push(
                    cm.metadata
                        .resource_version
                        .unwrap()
                        .parse::<u64>()
                        .unwrap(),
                );
            }
            Some(WatchEvent::Bookmark(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    writer.await.unwrap();
    assert_eq!(
        values,
        (1..=CHANGES).collect::<Vec<_>>(),
        "every change, in order, none twice"
    );
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "resourceVersions increase"
    );

    // A reflector's store ends up with the final state.
    let (reader, writer) = kube::runtime::reflector::store();
    let stream = kube::runtime::reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .applied_objects()
        .boxed();
    let drive = tokio::spawn(stream.for_each(|_| async {}));
    reader.wait_until_ready().await.unwrap();
    let state = reader.state();
    assert_eq!(state.len(), 1);
    assert_eq!(state[0].data.as_ref().unwrap()["n"], CHANGES.to_string());
    drive.abort();
    cluster.shutdown().await;
}

#[tokio::test]
async fn watches_get_bookmarks_and_streaming_lists_work() {
    let cluster = support::start_with(simcluster::Options {
        bookmark_interval: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let client = cluster.client().await;
    let api: Api<Namespace> = Api::all(client.clone());
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut events = api
        .watch(
            &WatchParams {
                bookmarks: true,
                ..WatchParams::default()
            },
            &rv,
        )
        .await
        .unwrap()
        .boxed();
    let bookmark = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(WatchEvent::Bookmark(b)) = events.try_next().await.unwrap() {
                return b;
            }
        }
    })
    .await
    .expect("a bookmark arrives");
    assert!(!bookmark.metadata.resource_version.is_empty());

    // kube-runtime's streaming list (sendInitialEvents) ends its initial state with a bookmark.
    let mut stream = watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut initial = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = stream.try_next().await.unwrap() {
            match event {
                watcher::Event::InitApply(ns) => initial.push(ns.metadata.name.unwrap()),
                watcher::Event::InitDone => break,
                _ => {}
            }
        }
    })
    .await
    .expect("the initial state completes");
    assert!(initial.contains(&"kube-system".to_string()), "{initial:?}");
    cluster.shutdown().await;
}

#[tokio::test]
async fn lists_page_with_limit_and_continue_and_filter_by_selectors() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    namespace(&client, "pages").await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "pages");
    for i in 0..25 {
        let tier = if i % 5 == 0 { "gold" } else { "plain" };
        api.create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": format!("cm-{i:02}"), "labels": {"tier": tier}}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    }
    let mut names = Vec::new();
    let mut params = ListParams::default().limit(10);
    let mut pages = 0;
    loop {
        let page = api.list(&params).await.unwrap();
        pages += 1;
        names.extend(page.items.into_iter().map(|c| c.metadata.name.unwrap()));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        names,
        (0..25).map(|i| format!("cm-{i:02}")).collect::<Vec<_>>()
    );
    let gold = api
        .list(&ListParams::default().labels("tier=gold"))
        .await
        .unwrap();
    assert_eq!(gold.items.len(), 5);
    let one = api
        .list(&ListParams::default().fields("metadata.name=cm-07"))
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);
    cluster.shutdown().await;
}
