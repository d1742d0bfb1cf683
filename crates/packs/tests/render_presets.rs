//! Rendering both presets against the upstream mirror: upstream documents byte for byte, templates snapshot-tested.

mod common;

use common::*;
use vmdeck_packs::documents;
use vmdeck_packs::render::{MANAGED_BY_LABEL, PACK_ANNOTATION};
use vmdeck_packs::{ObjectOrigin, RenderError, plan_sources, render, sha256_hex};

const PRESETS: [&str; 2] = ["vm-dashboard-proxied", "vm-dashboard-direct"];

#[test]
fn presets_resolve_to_the_expected_packs() {
    let catalog = catalog();
    let proxied = preset_profile(&catalog, "vm-dashboard-proxied");
    let names: Vec<&str> = proxied.packs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    let direct = preset_profile(&catalog, "vm-dashboard-direct");
    let names: Vec<&str> = direct.packs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 5);
    assert!(!names.contains(&"spectro-proxy"));
    let dashboard = names.iter().position(|n| *n == "vm-dashboard").unwrap();
    for dep in [
        "kubevirt",
        "kubevirt-cdi",
        "volume-snapshot-controller",
        "multus",
    ] {
        assert!(
            names.iter().position(|n| *n == dep).unwrap() < dashboard,
            "{dep} before vm-dashboard"
        );
    }
}

#[test]
fn upstream_documents_are_byte_for_byte_and_pinned() {
    let catalog = catalog();
    for preset in PRESETS {
        let profile = preset_profile(&catalog, preset);
        let fetched = fetch_from_mirror(&catalog, &profile);
        let rendered = render(&catalog, &profile, &secrets(), &fetched).expect("render");
        let plan = plan_sources(&catalog, &profile).unwrap();
        assert!(
            plan.len() >= 10,
            "{preset}: expected the operator, CRD and multus files, got {}",
            plan.len()
        );
        for request in &plan {
            let bytes = &fetched[&request.source.url];
            let text = std::str::from_utf8(bytes).unwrap();
            // The mirror file is the pinned upstream file.
            assert_eq!(
                Some(sha256_hex(bytes)),
                request.source.sha256,
                "{}",
                request.source.url
            );
            // Splitting loses nothing.
            let docs = documents::split(text);
            assert_eq!(documents::join(&docs), text);
            // Every non-blank document is rendered once, with its original bytes, in file order.
            let rendered_docs: Vec<_> = rendered
                .objects
                .iter()
                .filter_map(|o| match &o.origin {
                    ObjectOrigin::Upstream {
                        url,
                        document,
                        raw,
                        patches,
                        sha256,
                        ..
                    } if *url == request.source.url => {
                        Some((*document, raw.clone(), patches.clone(), sha256.clone(), o))
                    }
                    _ => None,
                })
                .collect();
            let expected: Vec<(usize, &str)> = docs
                .iter()
                .enumerate()
                .filter(|(_, d)| !d.is_blank())
                .map(|(i, d)| (i, d.text.as_str()))
                .collect();
            assert_eq!(
                rendered_docs.len(),
                expected.len(),
                "{}",
                request.source.url
            );
            for ((index, raw, patches, sha, object), (want_index, want_raw)) in
                rendered_docs.iter().zip(&expected)
            {
                assert_eq!(index, want_index);
                assert_eq!(
                    raw, want_raw,
                    "document {index} of {} differs",
                    request.source.url
                );
                assert_eq!(Some(sha), request.source.sha256.as_ref());
                // Labels and annotation on the applied object.
                let metadata = &object.object["metadata"];
                assert_eq!(
                    metadata["labels"][MANAGED_BY_LABEL].as_str(),
                    Some("vmdeck")
                );
                assert_eq!(
                    metadata["annotations"][PACK_ANNOTATION].as_str(),
                    Some(object.pack.as_str())
                );
                // Unpatched documents: the applied object is the parsed original plus our metadata only.
                if patches.is_empty() {
                    let mut original: serde_yaml_ng::Value = serde_yaml_ng::from_str(raw).unwrap();
                    let mut applied = object.object.clone();
                    strip_ours(&mut applied);
                    strip_ours(&mut original);
                    assert_eq!(
                        applied, original,
                        "document {index} of {}",
                        request.source.url
                    );
                }
            }
        }
    }
}

/// Remove what rendering adds, so objects compare with the original.
fn strip_ours(object: &mut serde_yaml_ng::Value) {
    let Some(metadata) = object.get_mut("metadata").and_then(|m| m.as_mapping_mut()) else {
        return;
    };
    for section in ["labels", "annotations"] {
        if let Some(map) = metadata.get_mut(section).and_then(|m| m.as_mapping_mut()) {
            map.retain(|k, _| {
                !k.as_str()
                    .is_some_and(|k| k.starts_with("vmdeck.io/") || k == MANAGED_BY_LABEL)
            });
            if map.is_empty() {
                metadata.remove(section);
            }
        }
    }
}

#[test]
fn multus_image_is_pinned_by_the_named_patch() {
    let catalog = catalog();
    let profile = preset_profile(&catalog, "vm-dashboard-direct");
    let rendered = render(
        &catalog,
        &profile,
        &secrets(),
        &fetch_from_mirror(&catalog, &profile),
    )
    .unwrap();
    let ds = rendered
        .objects
        .iter()
        .find(|o| o.kind() == "DaemonSet" && o.name() == "kube-multus-ds")
        .expect("multus daemonset");
    let ObjectOrigin::Upstream { patches, raw, .. } = &ds.origin else {
        panic!("upstream expected")
    };
    assert_eq!(patches, &["pin-image", "raise-memory-limit"]);
    assert!(
        raw.contains(":snapshot-thick"),
        "raw bytes keep upstream's floating tag"
    );
    let yaml = serde_yaml_ng::to_string(&ds.object).unwrap();
    assert!(
        !yaml.contains(":snapshot"),
        "floating tag left in applied object"
    );
    assert_eq!(
        yaml.matches("ghcr.io/k8snetworkplumbingwg/multus-cni:v4.3.0-thick")
            .count(),
        2
    );
    let container = &ds.object["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["resources"]["limits"]["memory"].as_str(),
        Some("300Mi")
    );
}

#[test]
fn corrupted_upstream_bytes_fail_with_the_digest_error() {
    let catalog = catalog();
    let profile = preset_profile(&catalog, "vm-dashboard-direct");
    let mut fetched = fetch_from_mirror(&catalog, &profile);
    let url =
        "https://github.com/kubevirt/kubevirt/releases/download/v1.8.4/kubevirt-operator.yaml";
    fetched.get_mut(url).unwrap()[100] ^= 0x01;
    let error = render(&catalog, &profile, &secrets(), &fetched).unwrap_err();
    assert_eq!(error.code(), "digest_mismatch");
    let RenderError::Digest(mismatch) = &error else {
        panic!("{error}")
    };
    assert_eq!(mismatch.url, url);
    assert_eq!(
        mismatch.expected,
        "d1d8264eec5b802c122bec6c54d8c3b11e119ee2a5c75602aaa8b53ea3857eda"
    );
    let text = error.to_string();
    assert!(
        text.contains(url) && text.contains(&mismatch.expected) && text.contains(&mismatch.actual),
        "{text}"
    );
}

#[test]
fn rendering_is_deterministic() {
    let catalog = catalog();
    let profile = preset_profile(&catalog, "vm-dashboard-proxied");
    let fetched = fetch_from_mirror(&catalog, &profile);
    let a = render(&catalog, &profile, &secrets(), &fetched).unwrap();
    let b = render(&catalog, &profile, &secrets(), &fetched).unwrap();
    assert_eq!(
        vmdeck_packs::output::to_yaml_stream(&a, true),
        vmdeck_packs::output::to_yaml_stream(&b, true)
    );
}

#[test]
fn template_objects_match_snapshots() {
    let catalog = catalog();
    for preset in PRESETS {
        let profile = preset_profile(&catalog, preset);
        let rendered = render(
            &catalog,
            &profile,
            &secrets(),
            &fetch_from_mirror(&catalog, &profile),
        )
        .unwrap();
        let templates: Vec<&serde_yaml_ng::Value> = rendered
            .objects
            .iter()
            .filter(|o| matches!(o.origin, ObjectOrigin::Template { .. }))
            .map(|o| &o.object)
            .collect();
        assert!(!templates.is_empty());
        insta::assert_yaml_snapshot!(format!("{preset}-templates"), templates);
        insta::assert_yaml_snapshot!(format!("{preset}-packs"), rendered.packs);
    }
}

#[test]
fn proxy_token_appears_only_in_the_secret_and_is_redacted_in_output() {
    let catalog = catalog();
    let profile = preset_profile(&catalog, "vm-dashboard-proxied");
    assert!(!profile.to_yaml().contains("test-token-not-real"));
    let rendered = render(
        &catalog,
        &profile,
        &secrets(),
        &fetch_from_mirror(&catalog, &profile),
    )
    .unwrap();
    let holders: Vec<_> = rendered
        .objects
        .iter()
        .filter(|o| {
            serde_yaml_ng::to_string(&o.object)
                .unwrap()
                .contains("test-token-not-real")
        })
        .map(|o| (o.kind().to_string(), o.name().to_string()))
        .collect();
    assert_eq!(
        holders,
        vec![("Secret".to_string(), "frpc-env".to_string())]
    );
    let redacted = vmdeck_packs::output::to_yaml_stream(&rendered, false);
    assert!(!redacted.contains("test-token-not-real"));
    assert!(redacted.contains(vmdeck_packs::output::REDACTED));
}

#[test]
fn missing_secret_is_reported_with_its_path() {
    let catalog = catalog();
    let profile = preset_profile(&catalog, "vm-dashboard-proxied");
    let fetched = fetch_from_mirror(&catalog, &profile);
    let error = render(&catalog, &profile, &Default::default(), &fetched).unwrap_err();
    let index = profile
        .packs
        .iter()
        .position(|p| p.name == "spectro-proxy")
        .unwrap();
    assert!(
        error
            .to_string()
            .contains(&format!("packs[{index}].values.token")),
        "{error}"
    );
}
