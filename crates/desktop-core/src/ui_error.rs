//! The error every UI call returns: a stable machine `code`, a plain-words `message` with the fix, and the field at fault.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use vmdeck_vault::{ImportError, SecretStoreError, VaultError};

/// An error as the UI sees it. The UI branches on `code` only, never on `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[ts(export_to = "UiError.ts")]
#[error("{message}")]
pub struct UiError {
    /// Stable snake_case code, e.g. `kubeconfig_invalid_field` or `keyring_locked`.
    pub code: String,
    /// What went wrong and how to fix it, in plain words.
    pub message: String,
    /// The kubeconfig field at fault (e.g. `users[0].user.client-key-data`), when there is one.
    pub field: Option<String>,
    /// The saved cluster the error is about, when there is one: the taken name of `name_exists`,
    /// so the UI can ask "replace it?" without reading the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

impl UiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            field: None,
            cluster: None,
        }
    }

    /// A request the core could not decode (only the HTTP dev server can send one).
    pub fn bad_request(detail: impl std::fmt::Display) -> Self {
        Self::new(
            "bad_request",
            format!("the request could not be read: {detail}"),
        )
    }

    /// A background task that died (a bug, not user input).
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(
            "internal",
            format!("an internal task failed: {detail}; restart the app"),
        )
    }
}

impl From<ImportError> for UiError {
    fn from(err: ImportError) -> Self {
        Self {
            code: err.code().to_string(),
            field: err.field().map(str::to_string),
            message: err.to_string(),
            cluster: None,
        }
    }
}

impl From<SecretStoreError> for UiError {
    fn from(err: SecretStoreError) -> Self {
        Self::new(err.code(), err.to_string())
    }
}

impl From<VaultError> for UiError {
    fn from(err: VaultError) -> Self {
        match err {
            VaultError::Import(import) => import.into(),
            VaultError::NameExists { ref name } => Self {
                cluster: Some(name.clone()),
                ..Self::new(err.code(), err.to_string())
            },
            VaultError::Endpoint(ref endpoint) => Self {
                field: Some(endpoint.field().to_string()),
                ..Self::new(err.code(), err.to_string())
            },
            other => Self::new(other.code(), other.to_string()),
        }
    }
}

/// The installer's errors each carry a stable code; the message says what to do.
macro_rules! coded_errors {
    ($($error:ty),* $(,)?) => {
        $(
            impl From<$error> for UiError {
                fn from(err: $error) -> Self {
                    Self::new(err.code(), err.to_string())
                }
            }
        )*
    };
}

coded_errors!(
    vmdeck_installer::InstallError,
    vmdeck_installer::JournalError,
    vmdeck_installer::JournaledError,
    vmdeck_installer::PreflightError,
    vmdeck_installer::UninstallError,
    vmdeck_installer::preflight::ProfileChangeError,
);
