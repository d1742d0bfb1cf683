//! What can go wrong installing or uninstalling, each naming the object and carrying the server's
//! message, with a stable code for the UI and the CLI.

use std::time::Duration;

use crate::object_key::ObjectKey;

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{object}: the cluster does not serve kind {} of {}", object.kind, object.api_version)]
    KindNotServed { object: ObjectKey },
    #[error("applying {object} failed after {attempts} attempt(s): {source}")]
    Apply {
        object: ObjectKey,
        attempts: u32,
        #[source]
        source: Box<kube::Error>,
    },
    #[error(
        "{object}: fields are owned by {}; review them in the plan and add --force-conflicts to take them over",
        managers.join(", ")
    )]
    Conflicts {
        object: ObjectKey,
        managers: Vec<String>,
    },
    #[error(
        "{pack} {from} cannot go straight to {to}: it upgrades one minor version at a time; install the newest {next} release first, then {to}"
    )]
    SkipsMinor {
        pack: String,
        from: String,
        to: String,
        next: String,
    },
    #[error(
        "{pack} {from} cannot be downgraded to {to}; uninstall it first, or keep {from} or newer"
    )]
    Downgrade {
        pack: String,
        from: String,
        to: String,
    },
    #[error("deleting {object} failed: {source}")]
    Delete {
        object: ObjectKey,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("reading {what} failed: {source}")]
    Read {
        what: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("{what} was not ready after {waited:?}: {last_seen}")]
    NotReady {
        what: String,
        waited: Duration,
        last_seen: String,
    },
    #[error("{object} has no usable metadata.name")]
    Unnamed { object: String },
    #[error("the inventory {namespace}/{name} cannot be read: {reason}")]
    InventoryCorrupt {
        namespace: String,
        name: String,
        reason: serde_json::Error,
    },
    #[error("nothing of VMDeck is installed on this cluster (no inventory {namespace}/{name})")]
    NotInstalled { namespace: String, name: String },
}

impl InstallError {
    pub fn code(&self) -> &'static str {
        match self {
            InstallError::KindNotServed { .. } => "kind_not_served",
            InstallError::Apply { source, .. } => match source.as_ref() {
                kube::Error::Api(status) if status.code == 403 => "forbidden",
                kube::Error::Api(status) if status.code == 409 => "field_conflict",
                kube::Error::Api(status) if status.code == 422 || status.code == 400 => {
                    "object_invalid"
                }
                _ => "apply_failed",
            },
            InstallError::Conflicts { .. } => "field_conflict",
            InstallError::SkipsMinor { .. } => "upgrade_skips_minor",
            InstallError::Downgrade { .. } => "downgrade",
            InstallError::Delete { .. } => "delete_failed",
            InstallError::Read { .. } => "read_failed",
            InstallError::NotReady { .. } => "not_ready",
            InstallError::Unnamed { .. } => "object_unnamed",
            InstallError::InventoryCorrupt { .. } => "inventory_corrupt",
            InstallError::NotInstalled { .. } => "not_installed",
        }
    }
}
