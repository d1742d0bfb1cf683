//! Profile parsing and validation: property tests (no panic, every error names its path) and examples.

mod common;

use proptest::prelude::*;
use vmdeck_packs::{Profile, validate};

fn valid_text() -> String {
    let catalog = common::catalog();
    common::preset_profile(&catalog, "vm-dashboard-direct").to_yaml()
}

fn check_issues(text: &str) -> Result<(), TestCaseError> {
    let catalog = common::catalog();
    let result = Profile::from_yaml(text)
        .and_then(|profile| validate(&catalog, &profile, Some(text)).map(|_| profile));
    if let Err(error) = result {
        prop_assert!(!error.issues.is_empty());
        for issue in &error.issues {
            let shown = issue.to_string();
            // "<path>: <message>" where the path is a profile path or `(profile)` for the whole file.
            let (path, message) = shown.split_once(": ").unwrap_or(("", ""));
            prop_assert!(!path.is_empty() && !message.is_empty(), "{}", shown);
            prop_assert!(issue.path.is_empty() || path == issue.path);
            prop_assert!(!issue.code.is_empty());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        check_issues(&text)?;
    }

    #[test]
    fn yaml_like_text_never_panics(text in "(apiVersion|kind|packs|metadata|name|version|values|gates|- |: |\\[|\\]|\\{|\\}|\n|  |on|off|1\\.8\\.4|kubevirt|x){0,60}") {
        check_issues(&text)?;
    }

    #[test]
    fn mutated_valid_profiles_never_panic(cut in 0usize..2000, insert in "[a-z: \\-\\n\\[\\]{}0-9]{0,12}") {
        let text = valid_text();
        let at = cut.min(text.len());
        let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let mutated = format!("{}{}{}", &text[..at], insert, &text[at..]);
        check_issues(&mutated)?;
    }
}

#[test]
fn errors_name_path_and_line() {
    let catalog = common::catalog();
    let text = "apiVersion: vmdeck.io/v1alpha1
kind: Profile
metadata:
  name: lab
packs:
  - name: kubevirt
    version: 1.8.4
  - name: multus
    version: 4.3.0
    values:
      flavor: fat
  - name: spectro-proxy
    version: 0.70.1
    values:
      token: hunter2
";
    let profile = Profile::from_yaml(text).unwrap();
    let error = validate(&catalog, &profile, Some(text)).unwrap_err();
    let find = |path: &str| {
        error
            .issues
            .iter()
            .find(|i| i.path == path)
            .unwrap_or_else(|| panic!("no issue at {path}: {error}"))
    };
    assert_eq!(find("packs[1].values.flavor").line, Some(11));
    let secret = find("packs[2].values.token");
    assert_eq!((secret.code, secret.line), ("secret_in_profile", Some(15)));
    let missing = find("packs[2].values.server.address");
    assert_eq!(missing.code, "value_invalid");
    assert!(error.to_string().contains("(line 11)"));
    let required = error
        .issues
        .iter()
        .find(|i| i.path == "packs[2].values" && i.code == "value_invalid");
    assert!(
        required.is_some()
            || error
                .issues
                .iter()
                .any(|i| i.path.starts_with("packs[2].values.")),
        "{error}"
    );
}

#[test]
fn required_value_is_named() {
    let catalog = common::catalog();
    let text = "apiVersion: vmdeck.io/v1alpha1
kind: Profile
metadata: {name: lab}
packs:
  - name: kubevirt
    version: 1.8.4
    values:
      imagePullPolicy: null
";
    let profile = Profile::from_yaml(text).unwrap();
    let error = validate(&catalog, &profile, Some(text)).unwrap_err();
    assert!(
        error
            .issues
            .iter()
            .any(|i| i.path == "packs[0].values.imagePullPolicy" && i.line == Some(8)),
        "{error}"
    );
}

#[test]
fn syntax_errors_carry_path_and_line() {
    let text = "apiVersion: vmdeck.io/v1alpha1\nkind: Profile\nmetadata:\n  name: lab\npacks:\n  - name: kubevirt\n    version: [1]\n";
    let error = Profile::from_yaml(text).unwrap_err();
    assert_eq!(error.issues[0].path, "packs[0].version");
    assert_eq!(error.issues[0].line, Some(7));
}

#[test]
fn profiles_round_trip() {
    let catalog = common::catalog();
    let profile = common::preset_profile(&catalog, "vm-dashboard-proxied");
    let again = Profile::from_yaml(&profile.to_yaml()).unwrap();
    assert_eq!(profile, again);
    validate(&catalog, &again, None).unwrap();
}
