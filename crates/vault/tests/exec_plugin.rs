//! Exec credential plugins: found through the login shell's PATH, token accepted by a server,
//! cached until expiry, clear errors for missing and interactive plugins.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use support::{b64, pki, start_https, write_script};
use vmdeck_vault::login_path::login_shell_path;
use vmdeck_vault::{AppDirs, ExecEnvironment, ImportRequest, SessionStore, Vault, VaultError};

const API: &str = "client.authentication.k8s.io/v1";

/// A plugin that answers with `token` only when its secret env and exec info arrive.
fn write_plugin(dir: &Path, counter: &Path, token: &str) {
    write_script(
        &dir.join("vmdeck-test-auth"),
        &format!(
            "#!/bin/sh\necho run >> {}\n[ \"$PLUGIN_SECRET\" = \"env-secret-value\" ] || {{ echo 'missing env' >&2; exit 3; }}\ncase \"$KUBERNETES_EXEC_INFO\" in *ExecCredential*) ;; *) echo 'no exec info' >&2; exit 4;; esac\nprintf '%s' '{{\"apiVersion\":\"{API}\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}}}'\n",
            counter.display()
        ),
    );
}

fn exec_kubeconfig(server: &str, ca_pem: &str, command: &str, mode: &str) -> String {
    format!(
        "current-context: exec\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: {API}\n      command: {command}\n      args: [\"--flag\"]\n      interactiveMode: {mode}\n      env:\n      - name: PLUGIN_SECRET\n        value: env-secret-value\ncontexts:\n- name: exec\n  context: {{cluster: c, user: u}}\n",
        b64(ca_pem)
    )
}

/// A fake login shell: bash -l with a throwaway HOME whose .bash_profile adds `plugin_dir` to PATH.
fn fake_login_shell(home: &Path, plugin_dir: &Path) -> std::path::PathBuf {
    std::fs::write(
        home.join(".bash_profile"),
        format!("export PATH=\"{}:$PATH\"\n", plugin_dir.display()),
    )
    .unwrap();
    let shell = home.join("login-bash");
    write_script(
        &shell,
        &format!("#!/bin/sh\nHOME={} exec /bin/bash \"$@\"\n", home.display()),
    );
    shell
}

#[tokio::test]
async fn plugin_on_login_path_only_yields_a_token_simcluster_accepts() {
    let cluster = simcluster::SimCluster::start(simcluster::Options::default())
        .await
        .unwrap();
    let ca_pem = cluster.cluster().pki.ca_cert_pem.clone();
    let work = tempfile::tempdir().unwrap();
    let plugin_dir = work.path().join("plugin-bin");
    std::fs::create_dir(&plugin_dir).unwrap();
    let counter = work.path().join("runs");
    write_plugin(&plugin_dir, &counter, cluster.admin_token());
    let home = work.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let shell = fake_login_shell(&home, &plugin_dir);

    let process_path = std::env::var_os("PATH").unwrap_or_default();
    assert!(
        !process_path
            .to_string_lossy()
            .contains(&*plugin_dir.to_string_lossy()),
        "process PATH must lack the plugin"
    );
    let login_path =
        login_shell_path(&shell, Duration::from_secs(10)).expect("login shell prints PATH");
    assert!(
        login_path
            .to_string_lossy()
            .contains(&*plugin_dir.to_string_lossy())
    );

    let dirs = AppDirs::under(&work.path().join("app"));
    let config = exec_kubeconfig(cluster.url(), &ca_pem, "vmdeck-test-auth", "Never");

    // With the process PATH the plugin cannot be found, and the error names it.
    let plain = Vault::new(
        &dirs,
        Arc::new(SessionStore::new()),
        ExecEnvironment::with_path(process_path),
    );
    plain
        .import_from_text(&config, &ImportRequest::default())
        .unwrap();
    let Err(err) = plain.client("exec").await else {
        panic!("the plugin must not be found")
    };
    assert_eq!(err.code(), "exec_plugin_not_found");
    assert!(err.to_string().contains("\"vmdeck-test-auth\""), "{err}");
    let report = plain.check("exec").await.unwrap();
    assert_eq!(report.failure.unwrap().code, "exec_plugin_not_found");

    // With the login shell's PATH it runs, and the server accepts the token.
    let store = Arc::new(SessionStore::new());
    let dirs = AppDirs::under(&work.path().join("app2"));
    let vault = Vault::new(&dirs, store, ExecEnvironment::with_path(login_path));
    vault
        .import_from_text(&config, &ImportRequest::default())
        .unwrap();
    let report = vault.check("exec").await.unwrap();
    assert!(report.reachable, "{report:?}");
    assert_eq!(
        report.kubernetes_version.as_deref(),
        Some(simcluster::KUBERNETES_VERSION)
    );
    assert_eq!(report.node_count, Some(3), "{report:?}");
    let again = vault.check("exec").await.unwrap();
    assert!(again.reachable);
    let runs = std::fs::read_to_string(&counter).unwrap();
    assert_eq!(
        runs.lines().count(),
        1,
        "the credential is cached until it expires"
    );
}

#[tokio::test]
async fn relative_command_resolves_against_the_kubeconfig_directory() {
    let pki = pki();
    let server = start_https(&pki, "exec-token-42").await;
    let work = tempfile::tempdir().unwrap();
    let bin = work.path().join("kube").join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    write_plugin(&bin, &work.path().join("runs"), "exec-token-42");
    let kubeconfig = work.path().join("kube").join("config");
    std::fs::write(
        &kubeconfig,
        exec_kubeconfig(&server.url, &pki.ca_pem, "./bin/vmdeck-test-auth", "Never"),
    )
    .unwrap();

    let vault = Vault::new(
        &AppDirs::under(&work.path().join("app")),
        Arc::new(SessionStore::new()),
        ExecEnvironment::with_path("/usr/bin:/bin"),
    );
    vault
        .import_from_path(&kubeconfig, &ImportRequest::default())
        .unwrap();
    let report = vault.check("exec").await.unwrap();
    assert!(report.reachable, "{report:?}");
}

#[tokio::test]
async fn if_available_plugins_run_without_a_terminal_like_kubectl_runs_them() {
    // GKE's gke-gcloud-auth-plugin kubeconfigs say interactiveMode: IfAvailable. A GUI has no
    // terminal, so the plugin runs with stdin closed and `interactive: false`, as kubectl does.
    let cluster = simcluster::SimCluster::start(simcluster::Options::default())
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let plugin = work.path().join("gke-style-auth");
    write_script(
        &plugin,
        &format!(
            "#!/bin/sh\ncase \"$KUBERNETES_EXEC_INFO\" in *'\"interactive\":false'*) ;; *) echo 'expected interactive false' >&2; exit 5;; esac\n[ -t 0 ] && {{ echo 'stdin must not be a terminal' >&2; exit 6; }}\ncat >/dev/null\nprintf '%s' '{{\"apiVersion\":\"{API}\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{}\"}}}}'\n",
            cluster.admin_token()
        ),
    );
    let config = exec_kubeconfig(
        cluster.url(),
        &cluster.cluster().pki.ca_cert_pem,
        &plugin.to_string_lossy(),
        "IfAvailable",
    )
    .replace(
        "      env:\n      - name: PLUGIN_SECRET\n        value: env-secret-value\n",
        "",
    );
    let vault = Vault::new(
        &AppDirs::under(&work.path().join("app")),
        Arc::new(SessionStore::new()),
        ExecEnvironment::with_path("/usr/bin:/bin"),
    );
    vault
        .import_from_text(&config, &ImportRequest::default())
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(20), vault.check("exec"))
        .await
        .expect("no hang")
        .unwrap();
    assert!(report.reachable, "{report:?}");
}

#[tokio::test]
async fn interactive_plugins_get_a_clear_error_instead_of_a_hang() {
    let pki = pki();
    let work = tempfile::tempdir().unwrap();
    write_plugin(work.path(), &work.path().join("runs"), "exec-token-42");
    let command = work.path().join("vmdeck-test-auth");
    for mode in ["Always"] {
        let vault = Vault::new(
            &AppDirs::under(&work.path().join(mode)),
            Arc::new(SessionStore::new()),
            ExecEnvironment::with_path("/usr/bin:/bin"),
        );
        let config = exec_kubeconfig(
            "https://127.0.0.1:1",
            &pki.ca_pem,
            &command.to_string_lossy(),
            mode,
        );
        vault
            .import_from_text(&config, &ImportRequest::default())
            .unwrap();
        let Err(err) = tokio::time::timeout(Duration::from_secs(5), vault.client("exec"))
            .await
            .expect("no hang")
        else {
            panic!("interactive mode {mode} must be refused")
        };
        assert!(matches!(err, VaultError::Client(_)));
        assert_eq!(err.code(), "exec_plugin_interactive", "{err}");
        assert!(err.to_string().contains("not supported yet"), "{err}");
    }
    assert!(
        !work.path().join("runs").exists(),
        "an interactive plugin is never started"
    );
}
