//! Re-import over taken names: only the names confirmed in `replace` are replaced; all or nothing.

mod support;

use std::sync::Arc;

use support::{pki, token_kubeconfig};
use vmdeck_vault::{
    AppDirs, ContextPick, ExecEnvironment, ImportRequest, SessionStore, Vault, VaultError,
    load_text,
};

fn pick(name: &str) -> ContextPick {
    ContextPick {
        context: Some("test".into()),
        name: Some(name.into()),
    }
}

fn servers(vault: &Vault) -> Vec<(String, String)> {
    let mut listed: Vec<_> = vault
        .list()
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.server))
        .collect();
    listed.sort();
    listed
}

#[test]
fn only_confirmed_names_are_replaced() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::new(
        &AppDirs::under(dir.path()),
        Arc::new(SessionStore::new()),
        ExecEnvironment::with_path(""),
    );
    let first = load_text(&token_kubeconfig(
        "https://127.0.0.1:1111",
        &pki.ca_pem,
        "t1",
    ))
    .unwrap();
    let second = load_text(&token_kubeconfig(
        "https://127.0.0.1:2222",
        &pki.ca_pem,
        "t2",
    ))
    .unwrap();
    let both = ImportRequest {
        picks: vec![pick("a"), pick("b")],
        overwrite: false,
    };
    vault.import(&first, &both).unwrap();
    let before = servers(&vault);

    // "b" is taken and not confirmed: refused by name, and "a" is not replaced either.
    match vault.import_replacing(&second, &both, &["a".into()]) {
        Err(VaultError::NameExists { name }) => assert_eq!(name, "b"),
        other => panic!("expected name_exists for b, got {other:?}"),
    }
    assert_eq!(servers(&vault), before);

    let only_a = ImportRequest {
        picks: vec![pick("a")],
        overwrite: false,
    };
    let saved = vault
        .import_replacing(&second, &only_a, &["a".into()])
        .unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(
        servers(&vault),
        [
            ("a".into(), "https://127.0.0.1:2222".into()),
            ("b".into(), "https://127.0.0.1:1111".into()),
        ]
    );
    // A free name needs no confirmation; a confirmed name that is free is simply saved.
    let fresh = ImportRequest {
        picks: vec![pick("c")],
        overwrite: false,
    };
    vault
        .import_replacing(&second, &fresh, &["c".into()])
        .unwrap();
    assert_eq!(servers(&vault).len(), 3);
}
