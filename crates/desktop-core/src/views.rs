//! What the UI shows: saved clusters, kubeconfig contexts and connection check results.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use vmdeck_vault::{
    AuthKind, CheckReport, ClusterWarning, ContextSummary, SavedCluster, StoreKind,
};

use crate::start_checks::check_at_start;
use crate::ui_error::UiError;

/// Where a cluster's secrets live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "StoreMode.ts")]
pub enum StoreMode {
    /// The OS keyring: kept across restarts.
    OsKeyring,
    /// Process memory: gone when the app exits.
    SessionOnly,
}

impl From<StoreKind> for StoreMode {
    fn from(kind: StoreKind) -> Self {
        match kind {
            StoreKind::OsKeyring => Self::OsKeyring,
            StoreKind::SessionOnly => Self::SessionOnly,
        }
    }
}

/// How a cluster authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "AuthMethod.ts")]
pub enum AuthMethod {
    None,
    Token,
    ClientCertificate,
    BasicAuth,
    Exec,
    AuthProvider,
}

impl From<AuthKind> for AuthMethod {
    fn from(kind: AuthKind) -> Self {
        match kind {
            AuthKind::None => Self::None,
            AuthKind::Token => Self::Token,
            AuthKind::ClientCertificate => Self::ClientCertificate,
            AuthKind::BasicAuth => Self::BasicAuth,
            AuthKind::Exec => Self::Exec,
            AuthKind::AuthProvider => Self::AuthProvider,
        }
    }
}

/// Something about a cluster the user should know (e.g. TLS verification is off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "WarningView.ts")]
pub struct WarningView {
    pub code: String,
    pub message: String,
}

impl From<&ClusterWarning> for WarningView {
    fn from(warning: &ClusterWarning) -> Self {
        Self {
            code: warning.code().to_string(),
            message: warning.message().to_string(),
        }
    }
}

/// A saved cluster as listed (nothing secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ClusterView.ts")]
pub struct ClusterView {
    pub name: String,
    pub server: String,
    pub context: String,
    pub auth: AuthMethod,
    pub store: StoreMode,
    pub warnings: Vec<WarningView>,
    /// True for the embedded simulated cluster of demo mode.
    pub simulated: bool,
    /// RFC 3339 time of import.
    pub added: String,
    /// RFC 3339 time of the last successful check.
    pub last_used: Option<String>,
    /// Check the connection as soon as the app starts (the demo cluster, or used in the last
    /// 7 days: `start_checks::RECENT_USE`); otherwise the UI waits for the user's "Check".
    pub check_at_start: bool,
}

impl ClusterView {
    pub fn from_saved(saved: &SavedCluster, simulated: bool) -> Self {
        Self::from_saved_at(saved, simulated, SystemTime::now())
    }

    /// The view as of `now` (which decides `check_at_start`).
    pub fn from_saved_at(saved: &SavedCluster, simulated: bool, now: SystemTime) -> Self {
        Self {
            name: saved.name.clone(),
            server: saved.server.clone(),
            context: saved.context.clone(),
            auth: saved.auth.into(),
            store: saved.secret_store.into(),
            warnings: saved.warnings().iter().map(WarningView::from).collect(),
            simulated,
            added: saved.added.to_string(),
            last_used: saved.last_used.map(|t| t.to_string()),
            check_at_start: check_at_start(saved.last_used.map(SystemTime::from), simulated, now),
        }
    }
}

/// One context of a kubeconfig, offered for import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ContextView.ts")]
pub struct ContextView {
    pub name: String,
    pub cluster: String,
    pub user: String,
    pub namespace: Option<String>,
    pub server: String,
    pub is_current: bool,
}

impl From<ContextSummary> for ContextView {
    fn from(summary: ContextSummary) -> Self {
        Self {
            name: summary.name,
            cluster: summary.cluster,
            user: summary.user,
            namespace: summary.namespace,
            server: summary.server,
            is_current: summary.is_current,
        }
    }
}

/// KubeVirt on a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "KubevirtView.ts")]
pub struct KubevirtView {
    pub installed: bool,
    pub version: Option<String>,
}

/// The result of a connection check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "CheckView.ts")]
pub struct CheckView {
    pub cluster: String,
    pub reachable: bool,
    pub kubernetes_version: Option<String>,
    /// `null` when the user may not list nodes.
    pub node_count: Option<u32>,
    /// `null` when it could not be determined.
    pub kubevirt: Option<KubevirtView>,
    /// May the user install KubeVirt (create CustomResourceDefinitions)?
    pub can_install: Option<bool>,
    /// Why the cluster is unreachable, with the fix.
    pub failure: Option<UiError>,
}

/// One cluster's result in a `check_clusters` stream: its check, or why it could not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ClusterCheckEvent.ts")]
pub struct ClusterCheckEvent {
    pub cluster: String,
    pub check: Option<CheckView>,
    pub error: Option<UiError>,
}

impl From<CheckReport> for CheckView {
    fn from(report: CheckReport) -> Self {
        Self {
            cluster: report.cluster,
            reachable: report.reachable,
            kubernetes_version: report.kubernetes_version,
            node_count: report
                .node_count
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            kubevirt: report.kubevirt.map(|k| KubevirtView {
                installed: k.installed,
                version: k.version,
            }),
            can_install: report.can_install,
            failure: report.failure.map(|f| UiError::new(&f.code, f.message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// 2025-06-15T15:06:40Z.
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
    }

    /// A saved cluster as the index stores it, last used at `last_used` (RFC 3339) or never.
    fn saved(last_used: Option<&str>) -> SavedCluster {
        serde_json::from_value(serde_json::json!({
            "name": "lab",
            "id": "id-lab",
            "server": "https://h:6443",
            "context": "ctx",
            "ca_fingerprint": null,
            "auth": "token",
            "secret_store": "session_only",
            "added": "2025-01-01T00:00:00Z",
            "last_used": last_used,
        }))
        .expect("a valid index entry")
    }

    #[test]
    fn only_recently_used_clusters_are_checked_at_start() {
        let yesterday = saved(Some("2025-06-14T15:06:40Z"));
        let month_ago = saved(Some("2025-05-16T15:06:40Z"));
        let never = saved(None);
        assert!(ClusterView::from_saved_at(&yesterday, false, now()).check_at_start);
        assert!(!ClusterView::from_saved_at(&month_ago, false, now()).check_at_start);
        assert!(!ClusterView::from_saved_at(&never, false, now()).check_at_start);
        assert!(ClusterView::from_saved_at(&never, true, now()).check_at_start);
    }
}
