//! The Spectro Proxy pack's frpc config against frp's own format: the pack's key list equals the
//! keys of frp v0.70.1's full example (read from ../shared/upstream, sha256 checked against
//! SOURCES.md, active and commented-out options); the rendered frpc.toml parses and sets only
//! known keys; a misspelt values key and a template writing an unknown frpc key fail rendering,
//! naming the key.

mod common;

use std::collections::BTreeSet;

use common::*;
use vmdeck_packs::config_keys::{KeyList, toml_keys};
use vmdeck_packs::{Catalog, PackFiles, Profile, ProfilePack, RenderError, render, sha256_hex};

const EXAMPLE: &str = "frp/v0.70.1/frpc_full_example.toml";

/// The full example, after checking its digest against the row SOURCES.md gives it.
fn full_example() -> String {
    let sources = std::fs::read_to_string(mirror_root().join("SOURCES.md")).unwrap();
    let row = sources
        .lines()
        .find(|l| l.starts_with("| frpc_full_example.toml |"))
        .expect("SOURCES.md lists frpc_full_example.toml");
    let pinned = row
        .split('|')
        .map(str::trim)
        .find(|cell| cell.len() == 64 && cell.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("the row has a sha256");
    let bytes = std::fs::read(mirror_root().join(EXAMPLE)).unwrap();
    assert_eq!(
        sha256_hex(&bytes),
        pinned,
        "{EXAMPLE} differs from SOURCES.md"
    );
    String::from_utf8(bytes).unwrap()
}

/// `[[proxies]]` -> `proxies[]`, `[proxies.plugin]` -> `proxies[].plugin` (arrays seen so far).
fn header_prefix(header: &str, arrays: &BTreeSet<String>) -> String {
    let mut so_far = Vec::new();
    let mut out = Vec::new();
    for segment in header.split('.') {
        so_far.push(segment);
        let marker = if arrays.contains(&so_far.join(".")) {
            "[]"
        } else {
            ""
        };
        out.push(format!("{segment}{marker}"));
    }
    out.join(".")
}

/// Every key the example sets, plus every option it shows commented out (`# key = value`, in the
/// table it sits in; parsed as TOML when it is, else its key as written).
fn example_keys(text: &str) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = toml_keys(text)
        .expect("the full example parses")
        .into_iter()
        .map(|k| k.path)
        .collect();
    let mut arrays = BTreeSet::new();
    let mut prefix = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            arrays.insert(name.to_string());
            prefix = format!("{name}[]");
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            prefix = header_prefix(name, &arrays);
            continue;
        }
        let Some(body) = line.strip_prefix('#').map(str::trim) else {
            continue;
        };
        let Some((key, _)) = body.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let looks_like_a_key = key.starts_with(|c: char| c.is_ascii_alphabetic())
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        if !looks_like_a_key {
            continue;
        }
        let join = |path: &str| {
            if prefix.is_empty() {
                path.to_string()
            } else {
                format!("{prefix}.{path}")
            }
        };
        match toml_keys(body) {
            Ok(found) => keys.extend(found.into_iter().map(|k| join(&k.path))),
            Err(_) => {
                keys.insert(join(key));
            }
        }
    }
    keys
}

fn pack_key_list(catalog: &Catalog) -> KeyList {
    catalog
        .get("spectro-proxy")
        .unwrap()
        .config_keys
        .get("frpc-keys.txt")
        .expect("spectro-proxy loads frpc-keys.txt")
        .clone()
}

#[test]
fn the_key_list_equals_the_keys_of_frps_full_example() {
    let derived = example_keys(&full_example());
    let listed = pack_key_list(&catalog()).keys().clone();
    let missing: Vec<_> = derived.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&derived).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "packs/spectro-proxy/frpc-keys.txt drifted from {EXAMPLE}: missing {missing:?}, not in the example {extra:?}"
    );
    // Options only shown commented out are part of it (the template uses one).
    assert!(listed.contains("transport.tls.serverName"));
    assert!(listed.contains("proxies[].subdomain"));
    assert!(listed.contains("proxies[].plugin.type"));
    assert!(!listed.contains("oidc.clientID"), "prose is not an option");
}

fn rendered_frpc_toml(profile: &Profile) -> Result<String, RenderError> {
    let catalog = catalog();
    let fetched = fetch_from_mirror(&catalog, profile);
    let rendered = render(&catalog, profile, &secrets(), &fetched)?;
    let config = rendered
        .objects
        .iter()
        .find(|o| o.kind() == "ConfigMap" && o.name() == "frpc-config")
        .expect("frpc-config rendered");
    Ok(config.object["data"]["frpc.toml"]
        .as_str()
        .unwrap()
        .to_string())
}

fn proxy_values(profile: &mut Profile) -> &mut serde_json::Value {
    let pack = profile
        .packs
        .iter_mut()
        .find(|p| p.name == "spectro-proxy")
        .unwrap();
    &mut pack.values
}

#[test]
fn the_rendered_frpc_toml_parses_and_every_key_is_known() {
    let catalog = catalog();
    let known = pack_key_list(&catalog);
    let mut profile = preset_profile(&catalog, "vm-dashboard-proxied");
    proxy_values(&mut profile)["tls"] =
        serde_json::json!({"enabled": true, "serverName": "frps.example.com"});
    let text = rendered_frpc_toml(&profile).unwrap();
    let keys = toml_keys(&text).unwrap();
    let paths: BTreeSet<&str> = keys.iter().map(|k| k.path.as_str()).collect();
    for expected in [
        "serverAddr",
        "serverPort",
        "auth.token",
        "transport.protocol",
        "transport.tls.enable",
        "transport.tls.serverName",
        "proxies[].type",
        "proxies[].subdomain",
    ] {
        assert!(paths.contains(expected), "{expected} not in\n{text}");
    }
    for key in &keys {
        assert!(
            known.contains(&key.path),
            "{} (line {})",
            key.path,
            key.line
        );
    }
}

#[test]
fn a_misspelt_values_key_fails_rendering_naming_it() {
    let catalog = catalog();
    for (section, typo, hint) in [
        ("server", "adress", "did you mean `address`?"),
        ("tls", "verify", "remove it or check the spelling"),
    ] {
        let mut profile = preset_profile(&catalog, "vm-dashboard-proxied");
        let fetched = fetch_from_mirror(&catalog, &profile);
        let values = proxy_values(&mut profile);
        values[section][typo] = serde_json::json!("x");
        let error = render(&catalog, &profile, &secrets(), &fetched).unwrap_err();
        let RenderError::Invalid(invalid) = &error else {
            panic!("{error}");
        };
        let issue = invalid
            .issues
            .iter()
            .find(|i| i.path.ends_with(&format!("values.{section}.{typo}")))
            .unwrap_or_else(|| panic!("no issue at {section}.{typo}: {error}"));
        assert_eq!(issue.code, "value_unknown");
        assert!(issue.message.contains(hint), "{}", issue.message);
        assert!(
            error.to_string().contains(&format!("{section}.{typo}")),
            "{error}"
        );
    }
}

/// The spectro-proxy pack folder as a user pack `frpc-typo` whose ConfigMap template is changed.
fn pack_with_template_change(from: &str, to: &str) -> PackFiles {
    let root =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../packs/spectro-proxy");
    let mut files = std::collections::BTreeMap::new();
    for entry in [
        "pack.yaml",
        "values.yaml",
        "values.schema.json",
        "frpc-keys.txt",
    ] {
        files.insert(entry.to_string(), std::fs::read(root.join(entry)).unwrap());
    }
    for entry in std::fs::read_dir(root.join("templates")).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("templates/{}", path.file_name().unwrap().to_string_lossy());
        files.insert(name, std::fs::read(&path).unwrap());
    }
    let manifest = String::from_utf8(files["pack.yaml"].clone()).unwrap();
    files.insert(
        "pack.yaml".into(),
        manifest
            .replacen("name: spectro-proxy", "name: frpc-typo", 1)
            .into_bytes(),
    );
    let template = String::from_utf8(files["templates/configmap.yaml.j2"].clone()).unwrap();
    assert!(template.contains(from), "{from}");
    files.insert(
        "templates/configmap.yaml.j2".into(),
        template.replacen(from, to, 1).into_bytes(),
    );
    PackFiles {
        folder: "frpc-typo".into(),
        files,
    }
}

#[test]
fn a_template_writing_an_unknown_frpc_key_fails_naming_it() {
    let catalog = catalog()
        .with_user_packs(&[pack_with_template_change(
            "transport.tls.enable =",
            "transport.tls.enabled =",
        )])
        .unwrap();
    let profile = Profile {
        api_version: "vmdeck.io/v1alpha1".into(),
        kind: "Profile".into(),
        metadata: vmdeck_packs::profile::ProfileMetadata {
            name: "typo".into(),
            description: None,
        },
        preset: None,
        packs: vec![ProfilePack {
            name: "frpc-typo".into(),
            version: "0.70.1".into(),
            values: serde_json::json!({
                "server": {"address": "proxy.example.com", "port": 443},
                "clusterId": "c0ffee",
            }),
            gates: Default::default(),
        }],
    };
    let mut secrets = vmdeck_packs::Secrets::new();
    secrets
        .entry("frpc-typo".into())
        .or_default()
        .insert("token".into(), "test-token-not-real".into());
    let error = render(&catalog, &profile, &secrets, &Default::default()).unwrap_err();
    assert_eq!(error.code(), "config_key_unknown", "{error}");
    assert_eq!(
        error.to_string(),
        "pack frpc-typo: ConfigMap frpc-config, frpc.toml line 6: `transport.tls.enabled` is not a key of \
         frp v0.70.1 conf/frpc_full_example.toml; did you mean `transport.tls.enable`?"
    );
}
