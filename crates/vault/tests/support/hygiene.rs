//! Secret hygiene scenario shared by the session-store and keyring test binaries.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{Pki, b64, write_script};
use vmdeck_vault::{ContextPick, ImportRequest, Vault};

pub const CONTEXTS: [&str; 5] = [
    "token-ctx",
    "cert-inline-ctx",
    "cert-file-ctx",
    "basic-ctx",
    "exec-ctx",
];

/// Writes a kubeconfig (plus the files it references and an exec plugin) carrying every kind
/// of secret; returns its path and the secrets to look for.
pub fn write_secret_kubeconfig(
    dir: &Path,
    server: &str,
    pki: &Pki,
    token: &str,
) -> (PathBuf, Vec<(String, String)>) {
    let file_token = "tok-SECRET-from-file-456";
    let password = "pw-SECRET-789";
    let env_secret = "env-SECRET-abc";
    let arg_secret = "arg-SECRET-def";
    let proxy_password = "proxy-SECRET-pw";
    let exec_token = "exec-token-SECRET-xyz";
    std::fs::write(dir.join("client.crt"), &pki.client_cert_pem).unwrap();
    std::fs::write(dir.join("client.key"), &pki.client_key_pem).unwrap();
    std::fs::write(dir.join("token"), format!("{file_token}\n")).unwrap();
    write_script(
        &dir.join("auth-plugin"),
        &format!(
            "#!/bin/sh\nprintf '%s' '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{exec_token}\"}}}}'\n"
        ),
    );
    let ca = b64(&pki.ca_pem);
    let text = format!(
        "current-context: token-ctx
clusters:
- name: main
  cluster: {{server: '{server}', certificate-authority-data: '{ca}'}}
- name: proxied
  cluster: {{server: '{server}', certificate-authority-data: '{ca}', proxy-url: 'http://proxyuser:{proxy_password}@127.0.0.1:9'}}
users:
- name: token-user
  user: {{token: '{token}'}}
- name: cert-inline-user
  user: {{client-certificate-data: '{}', client-key-data: '{}'}}
- name: cert-file-user
  user: {{client-certificate: client.crt, client-key: client.key, tokenFile: token}}
- name: basic-user
  user: {{username: admin, password: '{password}'}}
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ./auth-plugin
      args: ['--secret={arg_secret}']
      env: [{{name: PLUGIN_SECRET, value: '{env_secret}'}}]
      interactiveMode: Never
contexts:
- name: token-ctx
  context: {{cluster: main, user: token-user}}
- name: cert-inline-ctx
  context: {{cluster: main, user: cert-inline-user}}
- name: cert-file-ctx
  context: {{cluster: main, user: cert-file-user}}
- name: basic-ctx
  context: {{cluster: proxied, user: basic-user}}
- name: exec-ctx
  context: {{cluster: main, user: exec-user}}
",
        b64(&pki.client_cert_pem),
        b64(&pki.client_key_pem),
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    let secrets = vec![
        ("inline token".into(), token.to_string()),
        ("token file".into(), file_token.into()),
        ("password".into(), password.into()),
        ("exec env value".into(), env_secret.into()),
        ("exec arg".into(), arg_secret.into()),
        ("proxy password".into(), proxy_password.into()),
        ("exec-issued token".into(), exec_token.into()),
        ("client key".into(), pki.client_key_pem.clone()),
        (
            "client key body".into(),
            pem_body_fragment(&pki.client_key_pem),
        ),
        ("client certificate".into(), pki.client_cert_pem.clone()),
        (
            "client certificate body".into(),
            pem_body_fragment(&pki.client_cert_pem),
        ),
    ];
    (path, secrets)
}

fn pem_body_fragment(pem: &str) -> String {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    body[body.len() / 2..body.len() / 2 + 40].to_string()
}

/// Imports every context, checks two of them with TRACE logging into the logs dir.
pub async fn import_and_use(vault: &Vault, kubeconfig: &Path, logs_dir: &Path) {
    std::fs::create_dir_all(logs_dir).unwrap();
    let log = std::fs::File::create(logs_dir.join("vmdeck.log")).unwrap();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(Mutex::new(log))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let picks = CONTEXTS
        .iter()
        .map(|c| ContextPick {
            context: Some(c.to_string()),
            name: None,
        })
        .collect();
    let saved = vault
        .import_from_path(
            kubeconfig,
            &ImportRequest {
                picks,
                overwrite: false,
            },
        )
        .unwrap();
    assert_eq!(saved.len(), CONTEXTS.len());
    let report = vault.check("token-ctx").await.unwrap();
    assert!(report.reachable, "{report:?}");
    let report = vault.check("exec-ctx").await.unwrap();
    assert_eq!(
        report.failure.map(|f| f.code),
        Some("unauthorized".to_string()),
        "exec token reached the server"
    );
    let _ = vault.check("cert-file-ctx").await.unwrap();
    // A careless log line of a whole connection must still show no secret (Sensitive redacts).
    let connection = vault.connection("basic-ctx").unwrap();
    tracing::error!(?connection, "end of scenario");
}

/// Every (file, secret label, form) where a secret shows up under `root`.
pub fn find_secrets(root: &Path, secrets: &[(String, String)]) -> (usize, Vec<String>) {
    let mut found = Vec::new();
    let mut files = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            for (label, secret) in secrets {
                for (form, needle) in [("raw", secret.clone()), ("base64", b64(secret))] {
                    if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                        found.push(format!("{}: {label} ({form})", path.display()));
                    }
                }
            }
        }
    }
    (files, found)
}
