//! The desktop app's core: what the UI calls (clusters, kubeconfig inspection, checks, demo
//! cluster, the install wizard's packs, gates, values and profile files, and installing packs:
//! preflight, plan, install, status, uninstall, live gates) as serde types with generated
//! TypeScript, shared by the Tauri app and the HTTP dev server.

pub mod app;
pub mod app_status;
pub mod call_table;
pub mod calls;
mod console_calls;
pub mod console_requests;
pub mod console_views;
mod dashboard_calls;
pub mod dashboard_views;
pub mod demo;
pub mod devserver;
mod endpoint_calls;
pub mod endpoint_views;
mod engine_thread;
mod install_calls;
mod install_cancel;
pub mod install_events;
pub mod install_render;
pub mod install_requests;
pub mod install_views;
pub mod keystroke_calls;
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
pub use console_calls::{TAURI_DEV_ORIGINS, TAURI_ORIGINS, default_console_origins};
pub use console_requests::{
    NamespaceRef, OpenConsoleInput, PowerActionInput, SaveScreenshotInput, StartViewerInput, VmRef,
    VmScope,
};
pub use console_views::{
    ConsoleKindView, ConsoleTicketView, InstalledViewerView, PowerActionView, SavedScreenshotView,
    ScreenshotView, ViewerView, VmAccessView, VmChangeView, VmRowView, VmUpdateEvent,
};
pub use demo::{DEMO_CLUSTER_NAME, DemoCluster, start_demo_cluster, start_demo_cluster_with_state};
pub use install_events::{
    InstallDoneView, InstallEvent, InstalledPackView, InstalledStatusView, LeftoverView,
    LiveGatesView, UnfinishedRunView, UninstallDoneView,
};
pub use install_render::SourcesConfig;
pub use install_requests::{
    DraftOnCluster, GateChange, GateChangeInput, InstallInput, ProfileChangesInput, ResumeInput,
    UninstallInput,
};
pub use install_views::{
    AutoFixView, ConflictView, FixActionView, ObjectRefView, PackCountsView, PlanActionView,
    PlanView, PlannedObjectView, PreflightCheckView, PreflightView, ProfileChangeView, VerdictView,
};
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
