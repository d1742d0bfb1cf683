//! The secret store interface: one JSON blob per saved cluster, keyed by the cluster's id.

use serde::Serialize;

use crate::sensitive::Sensitive;

/// Where secrets live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
    OsKeyring,
    /// Process memory only; gone when the app exits.
    SessionOnly,
}

/// Stores secret blobs. Implementations never write a secret to disk in plaintext.
pub trait SecretStore: Send + Sync {
    fn kind(&self) -> StoreKind;
    /// Creates or replaces the blob for `id`.
    fn put(&self, id: &str, blob: &Sensitive<String>) -> Result<(), SecretStoreError>;
    /// Reads the blob for `id`; `Ok(None)` when there is none.
    fn get(&self, id: &str) -> Result<Option<Sensitive<String>>, SecretStoreError>;
    /// Deletes the blob for `id`; deleting a missing blob is not an error.
    fn delete(&self, id: &str) -> Result<(), SecretStoreError>;
}

/// Why the secret store cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretStoreError {
    #[error(
        "the OS keyring is unavailable: no D-Bus session bus ({detail}). Start the app inside a desktop session, or choose session-only mode (secrets kept in memory until exit)"
    )]
    NoSessionBus { detail: String },
    #[error(
        "the OS keyring is unavailable: no Secret Service provider is running ({detail}). Install and start gnome-keyring or KeePassXC with Secret Service, or choose session-only mode"
    )]
    NoSecretService { detail: String },
    #[error(
        "the OS keyring is locked or has no default collection ({detail}). Unlock your keyring (e.g. in Passwords and Keys) and retry, or choose session-only mode"
    )]
    Locked { detail: String },
    #[error("the OS keyring refused the operation: {detail}")]
    Failed { detail: String },
}

impl SecretStoreError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSessionBus { .. } => "keyring_no_session_bus",
            Self::NoSecretService { .. } => "keyring_no_secret_service",
            Self::Locked { .. } => "keyring_locked",
            Self::Failed { .. } => "keyring_failed",
        }
    }

    /// True when switching to session-only mode is the way forward.
    pub fn is_unavailable(&self) -> bool {
        !matches!(self, Self::Failed { .. })
    }
}
