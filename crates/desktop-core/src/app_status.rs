//! The app's mode as the UI needs it on start: demo or not, where secrets go, and what blocks the keyring.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ui_error::UiError;
use crate::views::StoreMode;

/// How the app is running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "AppStatus.ts")]
pub struct AppStatus {
    /// Started with `--demo`: everything is throwaway, the Demo cluster is simulated.
    pub demo: bool,
    /// Where new clusters' secrets go; `null` while the keyring is unavailable and
    /// session-only mode has not been chosen.
    pub store: Option<StoreMode>,
    /// Why the OS keyring cannot be used (offer session-only mode).
    pub keyring_problem: Option<UiError>,
    /// Why the demo cluster could not start.
    pub demo_problem: Option<UiError>,
}
