//! The desktop app's core: what the UI calls (clusters, kubeconfig inspection, checks, demo
//! cluster, the install wizard's packs, gates, values and profile files) as serde types with
//! generated TypeScript, shared by the Tauri app and the HTTP dev server.

pub mod app;
pub mod app_status;
pub mod call_table;
pub mod calls;
pub mod demo;
pub mod devserver;
pub mod logging;
pub mod pack_secrets;
pub mod profile_draft;
pub mod profile_files;
pub mod requests;
pub mod start_checks;
pub mod typescript;
pub mod ui_error;
pub mod value_form;
pub mod views;
pub mod wizard;
mod wizard_calls;
pub mod wizard_requests;
pub mod wizard_views;

pub use app::{App, AppConfig, SecretsChoice};
pub use app_status::AppStatus;
pub use call_table::{CALL_NAMES, call, call_specs, kind_of, stream};
pub use calls::{CallKind, CallSpec, EventSender, Events, Via, event_queue};
pub use demo::{DEMO_CLUSTER_NAME, DemoCluster, start_demo_cluster};
pub use requests::{
    ClusterNames, ClusterRef, ContextChoice, ImportInput, KubeconfigSource, RenameInput,
};
pub use start_checks::{RECENT_USE, check_at_start};
pub use ui_error::UiError;
pub use value_form::{FieldKind, FormField};
pub use views::{
    AuthMethod, CheckView, ClusterCheckEvent, ClusterView, ContextView, KubevirtView, StoreMode,
    WarningView,
};
pub use wizard::Wizard;
pub use wizard_requests::{
    DraftPack, GateSetting, GateTableQuery, PackSecretInput, PackSecretQuery, PackSelection,
    ProfileDraft, ProfileLocation, SaveProfileInput,
};
pub use wizard_views::{
    DraftCheckView, GateControl, GateRowView, GateTableView, LoadedProfileView, MaturityView,
    PackCardView, PackConflictView, PackSecretView, PresetView, ProfileFileView, ProfileIssueView,
    SavedProfileView, SelectedPackView, SelectionView, WizardCatalogView,
};
