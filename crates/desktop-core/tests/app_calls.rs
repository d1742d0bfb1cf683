//! The App service against a real simulated cluster: inspect, import, list, check, rename, remove, demo mode.

mod support;

use support::session_app;

use serde_json::json;
use vmdeck_desktop_core::{
    App, AppConfig, ClusterRef, ContextChoice, ImportInput, KubeconfigSource, RenameInput,
    SecretsChoice, StoreMode, Via, call,
};

fn text(kubeconfig: &str) -> KubeconfigSource {
    KubeconfigSource::Text {
        text: kubeconfig.to_string(),
    }
}

#[tokio::test]
async fn pasted_kubeconfig_is_imported_checked_renamed_and_removed() {
    let sim = vmdeck_desktop_core::start_demo_cluster().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    assert_eq!(app.status().store, Some(StoreMode::SessionOnly));
    assert!(app.list_clusters().await.unwrap().is_empty());

    let contexts = app
        .inspect_kubeconfig(text(sim.kubeconfig()))
        .await
        .unwrap();
    let names: Vec<&str> = contexts.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.contains(&"admin") && names.contains(&"viewer"),
        "{names:?}"
    );
    assert!(contexts.iter().all(|c| c.server == sim.url()));

    let saved = app
        .import_clusters(ImportInput {
            source: text(sim.kubeconfig()),
            choices: vec![ContextChoice {
                context: "admin".into(),
                name: Some("lab".into()),
            }],
            overwrite: false,
            replace: vec![],
        })
        .await
        .unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].name, "lab");
    assert!(!saved[0].simulated);
    assert!(
        !saved[0].check_at_start,
        "never used yet: not checked at start"
    );

    let check = app
        .check_cluster(ClusterRef { name: "lab".into() })
        .await
        .unwrap();
    assert!(check.reachable, "{check:?}");
    assert_eq!(
        check.kubernetes_version.as_deref(),
        Some(simcluster::KUBERNETES_VERSION)
    );
    assert_eq!(check.node_count, Some(3));
    let listed = app.list_clusters().await.unwrap();
    assert!(listed[0].last_used.is_some(), "{listed:?}");
    assert!(
        listed[0].check_at_start,
        "used just now: checked at the next start"
    );

    let again = app
        .import_clusters(ImportInput {
            source: text(sim.kubeconfig()),
            choices: vec![ContextChoice {
                context: "viewer".into(),
                name: Some("lab".into()),
            }],
            overwrite: false,
            replace: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(again.code, "name_exists");
    assert_eq!(again.cluster.as_deref(), Some("lab"));

    let renamed = app
        .rename_cluster(RenameInput {
            from: "lab".into(),
            to: "lab two".into(),
        })
        .await
        .unwrap();
    assert_eq!(renamed.name, "lab two");
    app.remove_cluster(ClusterRef {
        name: "lab two".into(),
    })
    .await
    .unwrap();
    assert!(app.list_clusters().await.unwrap().is_empty());
    let gone = app
        .remove_cluster(ClusterRef {
            name: "lab two".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code, "cluster_not_found");
    sim.shutdown().await;
}

#[tokio::test]
async fn broken_kubeconfig_names_the_field() {
    let sim = vmdeck_desktop_core::start_demo_cluster().await.unwrap();
    // The simulator's second user (`viewer`) authenticates with a client certificate.
    assert!(sim.kubeconfig().contains("client-key-data: "));
    let broken = sim
        .kubeconfig()
        .replace("client-key-data: ", "client-key-data: not*base64");
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let err = app.inspect_kubeconfig(text(&broken)).await.unwrap_err();
    assert_eq!(err.code, "kubeconfig_invalid_field", "{err:?}");
    assert_eq!(err.field.as_deref(), Some("users[1].user.client-key-data"));
    assert!(
        err.message.contains("users[1].user.client-key-data"),
        "{}",
        err.message
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn demo_mode_lists_a_simulated_connected_cluster_kept_in_session_memory() {
    // Demo mode keeps its folder under the data dir: a throwaway one here, never the user's.
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(AppConfig {
        dirs: Some(vmdeck_vault::AppDirs::under(dir.path())),
        demo: true,
        secrets: SecretsChoice::OsKeyring,
        ..AppConfig::default()
    })
    .await;
    let status = app.status();
    assert!(status.demo);
    assert_eq!(status.demo_problem, None);
    assert_eq!(status.store, Some(StoreMode::SessionOnly));
    let clusters = app.list_clusters().await.unwrap();
    assert_eq!(clusters.len(), 1);
    let demo = &clusters[0];
    assert_eq!(demo.name, vmdeck_desktop_core::DEMO_CLUSTER_NAME);
    assert!(demo.simulated);
    assert_eq!(demo.store, StoreMode::SessionOnly);
    let check = app
        .check_cluster(ClusterRef {
            name: demo.name.clone(),
        })
        .await
        .unwrap();
    assert!(check.reachable, "{check:?}");
    assert!(check.kubevirt.is_some(), "{check:?}");
    app.remove_cluster(ClusterRef {
        name: demo.name.clone(),
    })
    .await
    .unwrap();
    assert!(app.list_clusters().await.unwrap().is_empty());
    assert!(
        dir.path().join("data/demo/simcluster-state.json").is_file(),
        "the demo cluster's state is kept in the demo folder"
    );
}

#[tokio::test]
async fn calls_route_by_name_and_reports_bad_requests_with_codes() {
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let listed = call(&app, Via::Http, "list_clusters", json!(null))
        .await
        .unwrap();
    assert_eq!(listed, json!([]));
    let unknown = call(&app, Via::Http, "format_disk", json!(null))
        .await
        .unwrap_err();
    assert_eq!(unknown.code, "unknown_method");
    let bad = call(&app, Via::Http, "check_cluster", json!({"nom": "x"}))
        .await
        .unwrap_err();
    assert_eq!(bad.code, "bad_request");
    let missing = call(&app, Via::Http, "check_cluster", json!({"name": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(missing.code, "cluster_not_found");
    // Over HTTP no call reads or writes a file by path (the browser build pastes and names).
    let by_path = call(
        &app,
        Via::Http,
        "inspect_kubeconfig",
        json!({"kind": "path", "path": "/etc/passwd"}),
    )
    .await
    .unwrap_err();
    assert_eq!(by_path.code, "path_not_allowed");
    let load = call(
        &app,
        Via::Http,
        "load_profile",
        json!({"kind": "path", "path": "/etc/passwd"}),
    )
    .await
    .unwrap_err();
    assert_eq!(load.code, "path_not_allowed");
    let unreadable = app
        .inspect_kubeconfig(vmdeck_desktop_core::KubeconfigSource::Path {
            path: "/nonexistent/kubeconfig".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        unreadable.code, "kubeconfig_unreadable",
        "the desktop app still reads chosen files"
    );
}

fn choice(context: &str, name: &str) -> ContextChoice {
    ContextChoice {
        context: context.into(),
        name: Some(name.into()),
    }
}

#[tokio::test]
async fn re_import_replaces_only_the_names_the_user_confirmed() {
    let sim = vmdeck_desktop_core::start_demo_cluster().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let import = |choices: Vec<ContextChoice>, replace: Vec<&str>| ImportInput {
        source: text(sim.kubeconfig()),
        choices,
        overwrite: false,
        replace: replace.into_iter().map(str::to_string).collect(),
    };
    app.import_clusters(import(
        vec![choice("admin", "lab"), choice("admin", "other")],
        vec![],
    ))
    .await
    .unwrap();

    // Both names are taken; confirming "lab" alone still refuses "other", and nothing changes.
    let swapped = vec![choice("viewer", "lab"), choice("viewer", "other")];
    let first = app
        .import_clusters(import(swapped.clone(), vec![]))
        .await
        .unwrap_err();
    assert_eq!(first.code, "name_exists");
    assert_eq!(first.cluster.as_deref(), Some("lab"));
    let second = app
        .import_clusters(import(swapped.clone(), vec!["lab"]))
        .await
        .unwrap_err();
    assert_eq!(second.code, "name_exists");
    assert_eq!(second.cluster.as_deref(), Some("other"));
    let contexts = |clusters: &[vmdeck_desktop_core::ClusterView]| {
        clusters
            .iter()
            .map(|c| (c.name.clone(), c.context.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        contexts(&app.list_clusters().await.unwrap()),
        [
            ("lab".into(), "admin".into()),
            ("other".into(), "admin".into())
        ]
    );

    // A confirmed name is replaced; an unrelated cluster stays as it was.
    let replaced = app
        .import_clusters(import(vec![choice("viewer", "lab")], vec!["lab"]))
        .await
        .unwrap();
    assert_eq!(contexts(&replaced), [("lab".into(), "viewer".into())]);
    let mut listed = contexts(&app.list_clusters().await.unwrap());
    listed.sort();
    assert_eq!(
        listed,
        [
            ("lab".into(), "viewer".into()),
            ("other".into(), "admin".into())
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn name_exists_names_the_cluster_over_the_call_table_too() {
    let sim = vmdeck_desktop_core::start_demo_cluster().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = session_app(&dir).await;
    let request = json!({
        "source": {"kind": "text", "text": sim.kubeconfig()},
        "choices": [{"context": "admin", "name": "lab"}],
        "overwrite": false,
    });
    call(&app, Via::Http, "import_clusters", request.clone())
        .await
        .unwrap();
    let err = call(&app, Via::Http, "import_clusters", request)
        .await
        .unwrap_err();
    let wire = serde_json::to_value(&err).unwrap();
    assert_eq!(wire["code"], "name_exists");
    assert_eq!(wire["cluster"], "lab");
    // Errors about no cluster leave the field out (the UI's literals omit it too).
    let other = serde_json::to_value(vmdeck_desktop_core::UiError::new("x", "y")).unwrap();
    assert!(other.get("cluster").is_none(), "{other}");
    sim.shutdown().await;
}
