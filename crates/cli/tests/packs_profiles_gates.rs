//! vmdeckctl packs / profile / gates: output and exit codes, including bad input.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

fn vmdeckctl() -> Command {
    let mut cmd = Command::cargo_bin("vmdeckctl").unwrap();
    cmd.env_remove("VMDECK_PACKS_DIR");
    cmd
}

fn mirror() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/upstream")
        .display()
        .to_string()
}

fn init(args: &[&str]) -> String {
    let output = vmdeckctl()
        .args(["profile", "init"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn packs_list_table_and_json() {
    vmdeckctl()
        .args(["packs", "list"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("kubevirt-cdi")
                .and(predicate::str::contains("preset vm-dashboard-direct")),
        );
    let output = vmdeckctl()
        .args(["packs", "list", "-o", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let packs: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = packs
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    let kubevirt = packs
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "kubevirt")
        .unwrap();
    assert_eq!(kubevirt["displayName"], "KubeVirt");
    assert_eq!(
        kubevirt["versions"],
        serde_json::json!(["1.9.0", "1.8.4", "1.8.2"])
    );
    vmdeckctl()
        .args(["packs", "list", "-o", "xml"])
        .assert()
        .code(2);
}

#[test]
fn gates_list_shows_version_rules() {
    let output = vmdeckctl()
        .args([
            "gates",
            "list",
            "--pack",
            "kubevirt",
            "--version",
            "1.9.0",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let row = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(row("LiveMigration")["maturity"], "ga");
    assert_eq!(row("LiveMigration")["onByDefault"], true);
    assert_eq!(row("Snapshot")["onByDefault"], true);
    assert!(
        row("Snapshot")["description"]
            .as_str()
            .unwrap()
            .contains("snapshot")
    );
    let output = vmdeckctl()
        .args([
            "gates",
            "list",
            "--pack",
            "kubevirt",
            "--version",
            "1.8.4",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let snapshot = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Snapshot")
        .unwrap();
    assert_eq!(snapshot["onByDefault"], false);
    vmdeckctl()
        .args([
            "gates",
            "list",
            "--pack",
            "kubevirt-cdi",
            "--version",
            "1.64.0",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("HonorWaitForFirstConsumer"));
    vmdeckctl()
        .args(["gates", "list", "--pack", "kubevirt", "--version", "1.7.0"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("1.7.0"));
    vmdeckctl()
        .args(["gates", "list", "--pack", "multus", "--version", "4.3.0"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no feature gates"));
    vmdeckctl()
        .args(["gates", "list", "--version", "1.9.0"])
        .assert()
        .code(2);
}

#[test]
fn profile_init_applies_versions_and_gates() {
    let text = init(&[
        "--preset",
        "vm-dashboard-direct",
        "--version",
        "kubevirt=1.9.0",
        "--gate",
        "Snapshot=off",
        "--gate",
        "HostDisk=on",
    ]);
    let profile: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(profile["kind"], "Profile");
    let packs = profile["packs"].as_sequence().unwrap();
    assert_eq!(packs.len(), 5);
    let kubevirt = packs.iter().find(|p| p["name"] == "kubevirt").unwrap();
    assert_eq!(kubevirt["version"], "1.9.0");
    assert_eq!(kubevirt["gates"]["Snapshot"], "off");
    assert_eq!(kubevirt["gates"]["HostDisk"], "on");
    vmdeckctl()
        .args(["profile", "init", "--preset", "nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown preset"));
    vmdeckctl()
        .args([
            "profile",
            "init",
            "--preset",
            "vm-dashboard-direct",
            "--version",
            "kubevirt=0.1",
        ])
        .assert()
        .code(1);
    vmdeckctl()
        .args([
            "profile",
            "init",
            "--preset",
            "vm-dashboard-direct",
            "--gate",
            "Passt=on",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("discontinued"));
    vmdeckctl()
        .args([
            "profile",
            "init",
            "--preset",
            "vm-dashboard-direct",
            "--gate",
            "Snapshot=maybe",
        ])
        .assert()
        .code(2);
    vmdeckctl()
        .args([
            "profile",
            "init",
            "--preset",
            "vm-dashboard-proxied",
            "--set",
            "spectro-proxy.token=x",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("secret"));
}

#[test]
fn profile_validate_reports_path_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, init(&["--preset", "vm-dashboard-direct"])).unwrap();
    vmdeckctl()
        .args(["profile", "validate"])
        .arg(&good)
        .assert()
        .success()
        .stdout(predicate::str::contains("valid (5 packs)"));

    let bad = dir.path().join("bad.yaml");
    let text = init(&["--preset", "vm-dashboard-direct"]).replace(
        "- name: multus\n  version: 4.3.0\n",
        "- name: multus\n  version: 4.3.0\n  values:\n    flavor: fat\n",
    );
    std::fs::write(&bad, &text).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("flavor: fat"))
        .unwrap()
        + 1;
    vmdeckctl()
        .args(["profile", "validate"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "bad.yaml:{line}: packs[3].values.flavor:"
        )));
    vmdeckctl()
        .args(["profile", "validate"])
        .arg(dir.path().join("missing.yaml"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing.yaml"));
    let proxied = dir.path().join("proxied.yaml");
    std::fs::write(&proxied, init(&["--preset", "vm-dashboard-proxied"])).unwrap();
    vmdeckctl()
        .args(["profile", "validate"])
        .arg(&proxied)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("server.address"));
}

#[test]
fn profile_render_from_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.yaml");
    std::fs::write(
        &file,
        init(&[
            "--preset",
            "vm-dashboard-proxied",
            "--set",
            "spectro-proxy.server.address=proxy.example.com",
            "--set",
            "spectro-proxy.clusterId=abc",
        ]),
    )
    .unwrap();
    let render = |extra: &[&str]| {
        let mut cmd = vmdeckctl();
        cmd.args(["profile", "render"])
            .arg(&file)
            .args(["--mirror", &mirror(), "--cache-dir"])
            .arg(dir.path().join("cache"))
            .args(extra);
        cmd.env("VMDECK_TEST_TOKEN", "tok-123");
        cmd
    };
    render(&["--secret", "spectro-proxy.token=env:VMDECK_TEST_TOKEN"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("KubeVirt")
                .and(predicate::str::contains("objects from 6 packs")),
        );
    let output = render(&[
        "--secret",
        "spectro-proxy.token=env:VMDECK_TEST_TOKEN",
        "-o",
        "yaml",
    ])
    .output()
    .unwrap();
    assert!(output.status.success());
    let yaml = String::from_utf8(output.stdout).unwrap();
    assert!(
        yaml.contains("# sha256: d1d8264eec5b802c122bec6c54d8c3b11e119ee2a5c75602aaa8b53ea3857eda")
    );
    assert!(yaml.contains("# patched: pin-image, raise-memory-limit"));
    assert!(!yaml.contains("tok-123"), "secret redacted");
    let docs: Vec<serde_yaml_ng::Value> = serde_yaml_ng::Deserializer::from_str(&yaml)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    assert!(
        docs.iter()
            .all(|d| d["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "vmdeck")
    );
    // Missing secret, missing mirror file, bad secret syntax.
    render(&[])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("values.token"));
    vmdeckctl()
        .args(["profile", "render"])
        .arg(&file)
        .args(["--mirror"])
        .arg(dir.path().join("empty-mirror"))
        .args(["--secret", "spectro-proxy.token=env:VMDECK_TEST_TOKEN"])
        .env("VMDECK_TEST_TOKEN", "x")
        .env("XDG_CACHE_HOME", dir.path().join("other-cache"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("kubevirt-operator.yaml"));
    render(&["--secret", "spectro-proxy.token=tok-123"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("env:NAME or file:PATH"));
}

#[test]
fn profile_render_refuses_a_corrupted_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("mirror");
    let source = PathBuf::from(mirror());
    let rel = "kubevirt/v1.8.4/kubevirt-operator.yaml";
    std::fs::create_dir_all(copy.join(rel).parent().unwrap()).unwrap();
    let mut bytes = std::fs::read(source.join(rel)).unwrap();
    bytes[42] ^= 0x01;
    std::fs::write(copy.join(rel), bytes).unwrap();
    let file = dir.path().join("p.yaml");
    std::fs::write(&file, init(&["--preset", "vm-dashboard-direct"])).unwrap();
    vmdeckctl()
        .args(["profile", "render"])
        .arg(&file)
        .arg("--mirror")
        .arg(&copy)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("https://github.com/kubevirt/kubevirt/releases/download/v1.8.4/kubevirt-operator.yaml")
                .and(predicate::str::contains("expected d1d8264eec5b802c122bec6c54d8c3b11e119ee2a5c75602aaa8b53ea3857eda")),
        );
}

#[test]
fn user_packs_folder_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("extra")).unwrap();
    std::fs::write(dir.path().join("extra/pack.yaml"), "name: extra\ndisplayName: Extra Pack\ndescription: d\ncategory: misc\ndefaultVersion: 1.0.0\nversions: [{version: 1.0.0}]\n").unwrap();
    vmdeckctl()
        .args(["packs", "list", "--packs-dir"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("Extra Pack"));
    std::fs::write(dir.path().join("extra/pack.yaml"), "name: other\n").unwrap();
    vmdeckctl()
        .args(["packs", "list", "--packs-dir"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("extra"));
}

#[test]
fn upstream_version_tags_mean_the_same_version() {
    let tagged = init(&[
        "--preset",
        "vm-dashboard-direct",
        "--version",
        "kubevirt=v1.8.4",
        "--version",
        "kubevirt-cdi=v1.64.0",
    ]);
    let bare = init(&[
        "--preset",
        "vm-dashboard-direct",
        "--version",
        "kubevirt=1.8.4",
        "--version",
        "kubevirt-cdi=1.64.0",
    ]);
    assert_eq!(tagged, bare, "v1.8.4 writes the same profile as 1.8.4");
    assert!(bare.contains("version: 1.8.4"), "{bare}");
    assert!(!bare.contains("version: v1.8.4"), "{bare}");

    let gates = |version: &str| {
        let output = vmdeckctl()
            .args(["gates", "list", "--pack", "kubevirt", "--version", version])
            .args(["-o", "json"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    assert_eq!(gates("v1.8.4"), gates("1.8.4"));

    // A profile written with upstream's tags validates and renders as the catalog's spelling does
    // (multus's image tag is built as "v" ~ pack.version: no "vv").
    let dir = tempfile::tempdir().unwrap();
    let bare_file = dir.path().join("bare.yaml");
    let tagged_file = dir.path().join("tagged.yaml");
    std::fs::write(&bare_file, &bare).unwrap();
    let tagged_text = bare
        .replace("version: 1.8.4", "version: v1.8.4")
        .replace("version: 1.64.0", "version: v1.64.0")
        .replace("version: 4.3.0", "version: v4.3.0");
    assert_ne!(tagged_text, bare);
    std::fs::write(&tagged_file, &tagged_text).unwrap();
    vmdeckctl()
        .args(["profile", "validate"])
        .arg(&tagged_file)
        .assert()
        .success();
    let render = |file: &PathBuf| {
        let output = vmdeckctl()
            .args(["profile", "render"])
            .arg(file)
            .args(["--mirror", &mirror(), "--cache-dir"])
            .arg(dir.path().join("cache"))
            .args(["-o", "yaml"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let rendered = render(&tagged_file);
    assert_eq!(rendered, render(&bare_file));
    assert!(rendered.contains("multus-cni:v4.3.0"), "multus image tag");
    assert!(!rendered.contains(":vv"), "no doubled v");
}
