//! What the vmdeckctl suites share: the upstream mirror beside the checkout, running vmdeckctl
//! off the async threads with its own home and cache, reading its output, a preset's profile
//! written out and installed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// `../shared/upstream`, the mirror of the upstream release files.
pub fn mirror() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/upstream")
        .display()
        .to_string()
}

/// Runs vmdeckctl off the async threads (simcluster serves on them meanwhile).
pub async fn vmdeckctl(home: &Path, args: Vec<String>) -> std::process::Output {
    let home = home.to_path_buf();
    tokio::task::spawn_blocking(move || {
        Command::cargo_bin("vmdeckctl")
            .unwrap()
            .env_remove("VMDECK_PACKS_DIR")
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("VMDECK_HOME", home.join("vmdeck"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `vmdeckctl profile init --preset PRESET` written to `dir/profile.yaml`; its path.
pub async fn init_profile(dir: &Path, preset: &str) -> String {
    let init = vmdeckctl(dir, args(&["profile", "init", "--preset", preset])).await;
    assert!(init.status.success(), "{}", text(&init.stderr));
    let profile = dir.join("profile.yaml");
    std::fs::write(&profile, &init.stdout).unwrap();
    profile.display().to_string()
}

/// `vmdeckctl install` of `preset` from the mirror onto the kubeconfig's cluster, which must succeed.
pub async fn install_preset(dir: &Path, preset: &str, kubeconfig: &str) -> std::process::Output {
    let profile = init_profile(dir, preset).await;
    let installed = vmdeckctl(
        dir,
        args(&[
            "install",
            &profile,
            "--kubeconfig",
            kubeconfig,
            "--mirror",
            &mirror(),
            "--yes",
        ]),
    )
    .await;
    assert!(installed.status.success(), "{}", text(&installed.stderr));
    installed
}
