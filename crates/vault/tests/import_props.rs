//! Property tests of kubeconfig import: never a panic; every rejection names the field.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Value, json};
use vmdeck_vault::{
    AppDirs, ContextPick, ExecEnvironment, ImportError, ImportRequest, SessionStore, Vault,
    VaultError, load_text,
};

fn assert_names_a_field(err: &ImportError) {
    let field = err
        .field()
        .unwrap_or_else(|| panic!("rejection without a field: {err}"));
    assert!(!field.is_empty());
    assert!(err.to_string().starts_with(&format!("{field}: ")), "{err}");
}

/// A field path of the kubeconfig structure, e.g. `users[3].user.exec.env[0].name`.
fn is_structured_path(field: &str) -> bool {
    [
        "clusters[",
        "users[",
        "contexts[",
        "current-context",
        "apiVersion",
        "kind",
    ]
    .iter()
    .any(|p| field.starts_with(p))
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => "[a-z]{1,8}".prop_map(Value::from),
        2 => Just(Value::from("https://127.0.0.1:6443")),
        1 => Just(Value::from("aGVsbG8=")),
        1 => Just(Value::from("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==")),
        1 => Just(Value::from("client.authentication.k8s.io/v1")),
        1 => ".{0,20}".prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => Just(Value::Null),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z-]{1,6}", inner, 0..3).prop_map(|m| json!(m)),
        ]
    })
}

fn maybe(
    key: &'static str,
    v: impl Strategy<Value = Value>,
) -> impl Strategy<Value = Option<(&'static str, Value)>> {
    prop::option::weighted(0.3, v.prop_map(move |v| (key, v)))
}

/// Mostly a valid value, sometimes anything.
fn mostly(valid: impl Strategy<Value = Value> + 'static) -> impl Strategy<Value = Value> {
    prop_oneof![8 => valid, 1 => scalar()]
}

static CA_DATA: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use base64::Engine;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    base64::engine::general_purpose::STANDARD.encode(cert.cert.pem())
});

fn object(fields: Vec<Option<(&'static str, Value)>>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn name() -> impl Strategy<Value = Value> {
    prop_oneof![4 => "[abc]".prop_map(Value::from), 1 => scalar()]
}

/// Mostly `{prefix}{index}` (unique), sometimes a clashing or odd name.
fn indexed_names(doc: &mut Value, list: &str, prefix: &str, odd: &[bool]) {
    if let Some(items) = doc.get_mut(list).and_then(Value::as_array_mut) {
        for (i, item) in items.iter_mut().enumerate() {
            if !odd.get(i).copied().unwrap_or(false) {
                item["name"] = Value::from(format!("{prefix}{i}"));
            }
        }
    }
}

fn reference(prefix: &'static str) -> impl Strategy<Value = Value> {
    mostly((0..2usize).prop_map(move |i| Value::from(format!("{prefix}{i}"))))
}

fn cluster() -> impl Strategy<Value = Value> {
    (
        name(),
        mostly(prop_oneof![
            Just(Value::from("https://127.0.0.1:6443")),
            Just(Value::from("http://h:8080"))
        ])
        .prop_map(|v| Some(("server", v))),
        maybe(
            "certificate-authority-data",
            mostly(Just(Value::from(CA_DATA.clone()))),
        ),
        maybe("certificate-authority", scalar()),
        prop::option::weighted(
            0.1,
            mostly(Just(Value::from(true))).prop_map(|v| ("insecure-skip-tls-verify", v)),
        ),
        maybe(
            "proxy-url",
            mostly(prop_oneof![
                Just(Value::from("socks5://127.0.0.1:1080")),
                Just(Value::from("http://u:p@proxy:3128"))
            ]),
        ),
        maybe(
            "tls-server-name",
            mostly("[a-z]{1,8}".prop_map(Value::from)),
        ),
    )
        .prop_map(
            |(n, a, b, c, d, e, f)| json!({"name": n, "cluster": object(vec![a, b, c, d, e, f])}),
        )
}

fn exec() -> impl Strategy<Value = Value> {
    (
        mostly(Just(Value::from("client.authentication.k8s.io/v1")))
            .prop_map(|v| Some(("apiVersion", v))),
        mostly("[a-z]{1,8}".prop_map(Value::from)).prop_map(|v| Some(("command", v))),
        maybe("args", value()),
        maybe(
            "env",
            prop::collection::vec(
                (name(), scalar()).prop_map(|(n, v)| json!({"name": n, "value": v})),
                0..2,
            )
            .prop_map(Value::from),
        ),
        maybe(
            "interactiveMode",
            prop_oneof![
                Just(Value::from("Never")),
                Just(Value::from("Always")),
                scalar()
            ],
        ),
    )
        .prop_map(|(a, b, c, d, e)| object(vec![a, b, c, d, e]))
}

fn user() -> impl Strategy<Value = Value> {
    (
        name(),
        maybe("token", mostly("[a-z0-9]{1,12}".prop_map(Value::from))),
        prop::option::weighted(0.05, scalar().prop_map(|v| ("tokenFile", v))),
        prop::option::weighted(0.1, scalar().prop_map(|v| ("client-certificate-data", v))),
        prop::option::weighted(0.1, scalar().prop_map(|v| ("client-key-data", v))),
        maybe("username", mostly("[a-z]{1,8}".prop_map(Value::from))),
        maybe("password", mostly("[a-z]{1,8}".prop_map(Value::from))),
        maybe("exec", exec()),
        prop::option::weighted(0.1, mostly(Just(json!({"name": "oidc", "config": {"id-token": "x"}}))).prop_map(|v| ("auth-provider", v))),
    )
        .prop_map(|(n, a, b, c, d, e, f, g, h)| json!({"name": n, "user": object(vec![a, b, c, d, e, f, g, h])}))
}

fn context() -> impl Strategy<Value = Value> {
    (
        name(),
        reference("c").prop_map(|v| Some(("cluster", v))),
        maybe("user", reference("u")),
        maybe("namespace", scalar()),
    )
        .prop_map(|(n, a, b, c)| json!({"name": n, "context": object(vec![a, b, c])}))
}

fn kubeconfig() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(cluster(), 1..4).prop_map(|v| Some(("clusters", Value::from(v)))),
        maybe(
            "users",
            prop::collection::vec(user(), 0..3).prop_map(Value::from),
        ),
        prop::collection::vec(context(), 0..3).prop_map(|v| Some(("contexts", Value::from(v)))),
        maybe("current-context", name()),
        prop::collection::vec(prop::bool::weighted(0.1), 9),
    )
        .prop_map(|(a, b, c, d, odd)| {
            let mut doc = object(vec![a, b, c, d]);
            indexed_names(&mut doc, "clusters", "c", &odd[0..3]);
            indexed_names(&mut doc, "users", "u", &odd[3..6]);
            indexed_names(&mut doc, "contexts", "x", &odd[6..9]);
            doc
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_never_panics_and_rejections_name_a_field(text in ".{0,300}") {
        if let Err(err) = load_text(&text) {
            assert_names_a_field(&err);
        }
    }

    #[test]
    fn plausible_kubeconfigs_never_panic_and_rejections_name_the_field(doc in kubeconfig()) {
        let yaml = serde_yaml_ng::to_string(&doc).unwrap();
        match load_text(&yaml) {
            Err(err) => {
                assert_names_a_field(&err);
                let field = err.field().unwrap();
                prop_assert!(is_structured_path(field), "field {field} for\n{yaml}");
            }
            Ok(loaded) => {
                let dir = tempfile::tempdir().unwrap();
                let vault = Vault::new(&AppDirs::under(dir.path()), Arc::new(SessionStore::new()), ExecEnvironment::with_path("/usr/bin"));
                for summary in loaded.context_summaries() {
                    let request = ImportRequest { picks: vec![ContextPick { context: Some(summary.name.clone()), name: None }], overwrite: true };
                    match vault.import(&loaded, &request) {
                        Ok(saved) => prop_assert_eq!(&saved[0].context, &summary.name),
                        Err(VaultError::Import(err)) => assert_names_a_field(&err),
                        Err(VaultError::InvalidName { .. }) => {}
                        Err(other) => prop_assert!(false, "unexpected error {other} for\n{yaml}"),
                    }
                }
            }
        }
    }
}
