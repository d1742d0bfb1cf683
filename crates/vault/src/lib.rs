//! VMDeck cluster vault: kubeconfig import and validation, secrets in the OS keyring (or an
//! in-memory session store), the non-secret cluster index, kube clients and connection checks.

pub mod app_dirs;
pub mod cluster_index;
pub mod connection;
pub mod connection_check;
pub mod endpoints;
pub mod exec_credentials;
pub mod import_error;
pub mod keyring_store;
pub mod kube_client;
pub mod kubeconfig;
pub mod kubeconfig_check;
pub mod kubeconfig_merge;
pub mod login_path;
pub mod resolve;
pub mod secret_store;
pub mod sensitive;
pub mod session_store;
pub mod vault;

pub use app_dirs::AppDirs;
pub use cluster_index::SavedCluster;
pub use connection::{AuthKind, ClusterWarning};
pub use connection_check::{CheckFailure, CheckReport, DEFAULT_CHECK_TIMEOUT, KubevirtStatus};
pub use endpoints::{EndpointKind, PackProxyValues, ProxiedAccess, ProxiedEndpoint};
pub use import_error::ImportError;
pub use keyring_store::KeyringStore;
pub use kubeconfig_merge::{
    ContextSummary, LoadedKubeconfig, discover, discover_in, load_path, load_text,
};
pub use login_path::ExecEnvironment;
pub use secret_store::{SecretStore, SecretStoreError, StoreKind};
pub use sensitive::Sensitive;
pub use session_store::SessionStore;
pub use vault::{ContextPick, ImportRequest, Vault, VaultError};
