//! The desktop app's core: what the UI calls (clusters, kubeconfig inspection, checks, demo
//! cluster) as serde types with generated TypeScript, shared by the Tauri app and the HTTP dev server.

pub mod app;
pub mod app_status;
pub mod demo;
pub mod dispatch;
pub mod logging;
pub mod requests;
pub mod typescript;
pub mod ui_error;
pub mod views;

pub use app::{App, AppConfig, SecretsChoice};
pub use app_status::AppStatus;
pub use demo::{DEMO_CLUSTER_NAME, DemoCluster, start_demo_cluster};
pub use dispatch::{METHODS, dispatch};
pub use requests::{ClusterRef, ContextChoice, ImportInput, KubeconfigSource, RenameInput};
pub use ui_error::UiError;
pub use views::{
    AuthMethod, CheckView, ClusterView, ContextView, KubevirtView, StoreMode, WarningView,
};
