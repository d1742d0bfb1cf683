//! `vmdeckctl clusters` end to end. Runs against a real Secret Service: wrap the test command in
//! `scripts/with-keyring.sh` (without it, `add` fails with a keyring_* error and these tests fail).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use assert_cmd::Command;
use predicates::str::contains;

fn vmdeckctl(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("vmdeckctl").unwrap();
    cmd.env("VMDECK_HOME", home)
        .env_remove("VMDECK_SESSION_ONLY")
        .env("SHELL", "/bin/sh");
    cmd
}

fn kubeconfig(dir: &Path, server: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "current-context: dev\nclusters:\n- name: c\n  cluster: {{server: '{server}'}}\nusers:\n- name: u\n  user: {{token: cli-SECRET-token}}\ncontexts:\n- name: dev\n  context: {{cluster: c, user: u}}\n- name: other\n  context: {{cluster: c, user: u}}\n"
        ),
    )
    .unwrap();
    path
}

/// A plain-HTTP server that answers every request with a Kubernetes /version body.
fn version_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let body = r#"{"major":"1","minor":"33","gitVersion":"v1.33.7","gitCommit":"x","gitTreeState":"clean","buildDate":"2025-01-01T00:00:00Z","goVersion":"go","compiler":"gc","platform":"linux/amd64"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn add_list_check_remove_round_trip() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("app");
    let config = kubeconfig(work.path(), &version_server());

    vmdeckctl(&home)
        .args(["clusters", "add", "--from"])
        .arg(&config)
        .args(["--name", "lab"])
        .assert()
        .success()
        .stdout(contains("added cluster \"lab\""));
    vmdeckctl(&home)
        .args(["clusters", "add", "--from"])
        .arg(&config)
        .args(["--name", "lab"])
        .assert()
        .failure()
        .stderr(contains("[name_exists]"));
    vmdeckctl(&home)
        .args(["clusters", "add", "--from"])
        .arg(&config)
        .args(["--context", "other"])
        .assert()
        .success();

    let out = vmdeckctl(&home)
        .args(["clusters", "list", "-o", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["lab", "other"]);
    assert_eq!(list[0]["secret_store"], "os_keyring");
    assert!(!String::from_utf8_lossy(&out).contains("cli-SECRET-token"));

    vmdeckctl(&home)
        .args(["clusters", "check", "lab"])
        .assert()
        .success()
        .stdout(contains("v1.33.7"));
    vmdeckctl(&home)
        .args(["clusters", "remove", "lab"])
        .assert()
        .success();
    vmdeckctl(&home)
        .args(["clusters", "remove", "other"])
        .assert()
        .success();
    vmdeckctl(&home)
        .args(["clusters", "list"])
        .assert()
        .success()
        .stdout(contains("no clusters saved"));
}

#[test]
fn check_of_an_unreachable_cluster_exits_non_zero_with_a_code() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("app");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = kubeconfig(work.path(), &format!("http://127.0.0.1:{port}"));
    vmdeckctl(&home)
        .args(["clusters", "add", "--from"])
        .arg(&config)
        .assert()
        .success();
    vmdeckctl(&home)
        .args(["clusters", "check", "dev", "--timeout", "3"])
        .assert()
        .failure()
        .stderr(contains("[connection_refused]"));
    vmdeckctl(&home)
        .args(["clusters", "check", "missing"])
        .assert()
        .failure()
        .stderr(contains("[cluster_not_found]"));
    vmdeckctl(&home)
        .args(["clusters", "remove", "dev"])
        .assert()
        .success();
}

#[test]
fn session_only_mode_keeps_secrets_out_of_the_keyring() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("app");
    let config = kubeconfig(work.path(), "http://127.0.0.1:1");
    vmdeckctl(&home)
        .env("VMDECK_SESSION_ONLY", "1")
        .args(["clusters", "add", "--from"])
        .arg(&config)
        .assert()
        .success()
        .stderr(contains("session-only"));
    vmdeckctl(&home)
        .args(["clusters", "list", "-o", "json"])
        .assert()
        .success()
        .stdout(contains("\"session_only\""));
    // A later process has no session secrets: the check says so instead of pretending.
    vmdeckctl(&home)
        .args(["clusters", "check", "dev"])
        .assert()
        .failure()
        .stderr(contains("[secret_missing]"));
}
