//! Serde types for the kubeconfig format and parsing with field-path errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::import_error::ImportError;
use crate::sensitive::Sensitive;

/// One kubeconfig document. Unknown keys (preferences, extensions, ...) are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Kubeconfig {
    #[serde(default, deserialize_with = "null_as_default")]
    pub clusters: Vec<NamedCluster>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub users: Vec<NamedUser>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub contexts: Vec<NamedContext>,
    #[serde(default, rename = "current-context")]
    pub current_context: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NamedCluster {
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster: ClusterFields,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ClusterFields {
    pub server: Option<String>,
    pub certificate_authority: Option<String>,
    pub certificate_authority_data: Option<String>,
    #[serde(default)]
    pub insecure_skip_tls_verify: Option<bool>,
    pub tls_server_name: Option<String>,
    /// May carry proxy credentials (`http://user:pass@proxy`), so it is treated as a secret.
    pub proxy_url: Option<Sensitive<String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NamedUser {
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub user: UserFields,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct UserFields {
    pub token: Option<Sensitive<String>>,
    #[serde(rename = "tokenFile")]
    pub token_file: Option<String>,
    pub client_certificate: Option<String>,
    pub client_certificate_data: Option<Sensitive<String>>,
    pub client_key: Option<String>,
    pub client_key_data: Option<Sensitive<String>>,
    pub username: Option<String>,
    pub password: Option<Sensitive<String>>,
    pub exec: Option<ExecConfig>,
    pub auth_provider: Option<AuthProviderConfig>,
}

/// `users[].user.exec` (client.authentication.k8s.io ExecConfig).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecConfig {
    pub api_version: Option<String>,
    pub command: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub args: Vec<Sensitive<String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub env: Vec<ExecEnvVar>,
    pub interactive_mode: Option<String>,
    #[serde(default)]
    pub provide_cluster_info: bool,
    pub install_hint: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExecEnvVar {
    pub name: String,
    pub value: Sensitive<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthProviderConfig {
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: Sensitive<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NamedContext {
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub context: ContextFields,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContextFields {
    #[serde(default)]
    pub cluster: String,
    #[serde(default)]
    pub user: String,
    pub namespace: Option<String>,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Parses kubeconfig YAML (JSON is YAML too). A type or syntax error names the field path
/// where it happened, e.g. `users[0].user.token: invalid type: sequence, expected a string`.
pub fn parse_kubeconfig(text: &str) -> Result<Kubeconfig, ImportError> {
    if text.trim().is_empty() {
        return Err(ImportError::invalid(
            "(document)",
            "empty: paste or choose a kubeconfig file",
        ));
    }
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, Kubeconfig>(deserializer) {
        Ok(config) => Ok(config),
        Err(err) => {
            let path = err.path().to_string();
            let field = if path == "." || path.is_empty() {
                "(document)".to_string()
            } else {
                path
            };
            Err(ImportError::invalid(
                field,
                describe_yaml_error(err.inner()),
            ))
        }
    }
}

/// serde_yaml_ng messages sometimes repeat the path ("users[0]: ..."); keep only the problem.
fn describe_yaml_error(err: &serde_yaml_ng::Error) -> String {
    let text = err.to_string();
    match text.split_once(": ") {
        Some((head, rest)) if !head.contains(' ') && !rest.is_empty() => rest.to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_error_names_the_field_path() {
        let err = parse_kubeconfig("users:\n- name: a\n  user:\n    token: [1, 2]\n").unwrap_err();
        assert_eq!(err.field(), Some("users[0].user.token"), "{err}");
    }

    #[test]
    fn non_mapping_document_names_the_document() {
        let err = parse_kubeconfig("just a string").unwrap_err();
        assert_eq!(err.field(), Some("(document)"), "{err}");
    }

    #[test]
    fn nulls_are_treated_as_empty() {
        let cfg = parse_kubeconfig("clusters: null\nusers:\n- name: u\n  user: null\n").unwrap();
        assert!(cfg.clusters.is_empty());
        assert_eq!(cfg.users.len(), 1);
        assert!(cfg.users[0].user.token.is_none());
    }
}
