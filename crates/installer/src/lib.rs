//! The installer: rendered packs onto a cluster and back off again. An inventory in the cluster
//! written before anything else, server-side apply in dependency order with bounded concurrency
//! and retries, readiness by watching, and an uninstall that removes what we installed and
//! nothing else. Progress streams through a bounded channel; no Tauri, used by desktop-core,
//! `vmdeckctl` and tests.

pub mod apply;
pub mod delete;
pub mod diff;
pub mod error;
pub mod events;
pub mod health;
pub mod health_watch;
pub mod install;
pub mod inventory;
pub mod journal;
pub mod live_gates;
pub mod object_key;
pub mod order;
pub mod plan;
pub mod preflight;
pub mod readiness;
pub mod resources;
pub mod retry;
pub mod uninstall;
pub mod upgrade_path;

pub use error::InstallError;
pub use events::{Progress, ProgressSink};
pub use health::{PackHealth, health};
pub use health_watch::health_changes;
pub use install::{InstallOptions, InstallReport, install};
pub use inventory::{
    INVENTORY_ANNOTATION, INVENTORY_NAME, INVENTORY_NAMESPACE, Inventory, InventoryStore,
};
pub use journal::{Journal, JournalError, JournaledError, RunRecord, RunState, install_journaled};
pub use live_gates::{LiveGates, live_gates};
pub use object_key::ObjectKey;
pub use plan::{Action, Conflict, PackCounts, Plan, PlanOptions, PlannedObject, plan};
pub use preflight::{
    Check, CheckId, PreflightError, PreflightOptions, PreflightReport, ProfileChange, Verdict,
    preflight,
};
pub use uninstall::{UninstallError, UninstallOptions, UninstallReport, uninstall};
