//! The endpoint calls through the call table (as the dev server runs them) against simcluster
//! behind a real haproxy routing `cluster-<uid>.proxy.test` by SNI: add proxied access, both
//! endpoints answer, the proxied one in use carries the connection check, switch back; bad input
//! names its field.

mod support;

use serde_json::json;
use support::session_app;
use vmdeck_desktop_core::{Via, call};
use vmdeck_test_support::proxy_rig::Haproxy;

const NAME: &str = "cluster-9d1e77aa.proxy.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_proxied_access_check_both_and_switch() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simcluster::SimCluster::start(simcluster::Options {
        tls_sans: vec![NAME.to_string()],
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let backend = sim.url().trim_start_matches("https://").parse().unwrap();
    let haproxy = Haproxy::start(dir.path(), &[(NAME, backend)]).await;
    let app = session_app(&dir).await;
    call(
        &app,
        Via::Http,
        "import_clusters",
        json!({
            "source": {"kind": "text", "text": sim.kubeconfig()},
            "choices": [{"context": "admin", "name": "lab"}],
            "overwrite": false,
            "replace": [],
        }),
    )
    .await
    .unwrap();

    // Without the pack installed, the proxy host must be given: the field is named.
    let missing = call(
        &app,
        Via::Http,
        "add_proxied_access",
        json!({"cluster": "lab", "proxy_host": null, "port": null, "cluster_uid": "9d1e77aa",
               "address": null, "ca_pem": null, "proxy_url": null, "use_it": true}),
    )
    .await
    .unwrap_err();
    assert_eq!(missing.code, "proxy_value_missing");
    assert_eq!(missing.field.as_deref(), Some("proxy_host"));
    let bad = call(
        &app,
        Via::Http,
        "add_proxied_access",
        json!({"cluster": "lab", "proxy_host": "proxy.test", "port": null, "cluster_uid": "a.b",
               "address": null, "ca_pem": null, "proxy_url": null, "use_it": true}),
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code, "invalid_endpoint");
    assert_eq!(bad.field.as_deref(), Some("cluster_uid"));

    let view = call(
        &app,
        Via::Http,
        "add_proxied_access",
        json!({"cluster": "lab", "proxy_host": "proxy.test", "port": null,
               "cluster_uid": "9d1e77aa", "address": haproxy.address().to_string(),
               "ca_pem": null, "proxy_url": null, "use_it": true}),
    )
    .await
    .unwrap();
    assert_eq!(view["in_use"], "proxied", "{view}");
    let endpoints = view["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2, "{view}");
    assert_eq!(endpoints[0]["kind"], "direct");
    assert_eq!(endpoints[0]["answers"], true, "{view}");
    assert_eq!(endpoints[1]["kind"], "proxied");
    assert_eq!(endpoints[1]["tls_server_name"], NAME);
    assert_eq!(endpoints[1]["answers"], true, "{view}");
    assert_eq!(endpoints[1]["in_use"], true);

    let before = haproxy.routed_to(NAME);
    let check = call(&app, Via::Http, "check_cluster", json!({"name": "lab"}))
        .await
        .unwrap();
    assert_eq!(check["reachable"], true, "{check}");
    let after = haproxy.routed_to(NAME);
    assert!(after > before, "the check went through haproxy");

    let switched = call(
        &app,
        Via::Http,
        "use_endpoint",
        json!({"cluster": "lab", "endpoint": "direct"}),
    )
    .await
    .unwrap();
    assert_eq!(switched["name"], "lab");
    call(&app, Via::Http, "check_cluster", json!({"name": "lab"}))
        .await
        .unwrap();
    assert_eq!(
        haproxy.routed_to(NAME),
        after,
        "direct: not through haproxy"
    );
    let shown = call(&app, Via::Http, "cluster_endpoints", json!({"name": "lab"}))
        .await
        .unwrap();
    assert_eq!(shown["in_use"], "direct", "{shown}");
}
