//! Power actions through `subresources.kubevirt.io` (PUT on the VM's start/stop/restart/migrate,
//! the VMI's pause/unpause/softreboot), KubeVirt's answers turned into plain typed errors.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::kinds::subresource_path;

/// A power action on a VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerAction {
    Start,
    /// Graceful: the VMI's termination grace period.
    Stop,
    /// Grace period 0.
    ForceStop,
    Restart,
    /// Restart with grace period 0.
    ForceRestart,
    Pause,
    Unpause,
    Migrate,
    SoftReboot,
}

impl PowerAction {
    pub const ALL: [PowerAction; 9] = [
        Self::Start,
        Self::Stop,
        Self::ForceStop,
        Self::Restart,
        Self::ForceRestart,
        Self::Pause,
        Self::Unpause,
        Self::Migrate,
        Self::SoftReboot,
    ];

    /// The resource (plural) the action is a subresource of.
    pub fn resource(self) -> &'static str {
        match self {
            Self::Pause | Self::Unpause | Self::SoftReboot => "virtualmachineinstances",
            _ => "virtualmachines",
        }
    }

    /// The subresource's name.
    pub fn subresource(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop | Self::ForceStop => "stop",
            Self::Restart | Self::ForceRestart => "restart",
            Self::Pause => "pause",
            Self::Unpause => "unpause",
            Self::Migrate => "migrate",
            Self::SoftReboot => "softreboot",
        }
    }

    fn body(self) -> Value {
        match self {
            Self::ForceStop => json!({"gracePeriod": 0}),
            Self::ForceRestart => json!({"gracePeriodSeconds": 0}),
            _ => json!({}),
        }
    }
}

/// Why an action failed, in the words a user reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("{name} is already running")]
    AlreadyRunning { name: String },
    #[error("{name} is not running")]
    NotRunning { name: String },
    #[error("{name} is paused")]
    Paused { name: String },
    #[error("{name} is already paused")]
    AlreadyPaused { name: String },
    #[error("{name} is not paused")]
    NotPaused { name: String },
    #[error("{name} is already being migrated")]
    AlreadyMigrating { name: String },
    /// The run strategy refuses the action (e.g. start on `Always`); KubeVirt's words.
    #[error("{name}: {message}")]
    Refused { name: String, message: String },
    #[error("not allowed: {message}")]
    NotAllowed { message: String },
    #[error("{name} not found")]
    NotFound { name: String },
    #[error("KubeVirt's API is not available (HTTP {code}): {message}")]
    Unavailable { code: u16, message: String },
    #[error("HTTP {code}: {message}")]
    Api { code: u16, message: String },
    #[error("the cluster could not be reached: {0}")]
    Transport(String),
}

impl ActionError {
    /// A stable code for the UI to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyRunning { .. } => "already_running",
            Self::NotRunning { .. } => "not_running",
            Self::Paused { .. } => "paused",
            Self::AlreadyPaused { .. } => "already_paused",
            Self::NotPaused { .. } => "not_paused",
            Self::AlreadyMigrating { .. } => "already_migrating",
            Self::Refused { .. } => "refused",
            Self::NotAllowed { .. } => "not_allowed",
            Self::NotFound { .. } => "not_found",
            Self::Unavailable { .. } => "unavailable",
            Self::Api { .. } => "api_error",
            Self::Transport(_) => "unreachable",
        }
    }

    /// KubeVirt's answer (status code and message) as a typed error.
    pub fn from_status(name: &str, code: u16, message: &str) -> Self {
        let name = name.to_string();
        let lower = message.to_lowercase();
        match code {
            409 | 400 if lower.contains("already running") => Self::AlreadyRunning { name },
            409 | 400 if lower.contains("already paused") => Self::AlreadyPaused { name },
            409 | 400 if lower.contains("not paused") => Self::NotPaused { name },
            409 | 400 if lower.contains("not running") => Self::NotRunning { name },
            409 | 400 if lower.contains("is paused") => Self::Paused { name },
            409 | 400 if lower.contains("being migrated") || lower.contains("in progress") => {
                Self::AlreadyMigrating { name }
            }
            409 | 400 => Self::Refused {
                name,
                message: last_clause(message).to_string(),
            },
            401 | 403 => Self::NotAllowed {
                message: message.to_string(),
            },
            404 => Self::NotFound { name },
            502..=504 => Self::Unavailable {
                code,
                message: message.to_string(),
            },
            _ => Self::Api {
                code,
                message: message.to_string(),
            },
        }
    }
}

/// Conflict messages read `Operation cannot be fulfilled on ... "name": why`: keep the why.
fn last_clause(message: &str) -> &str {
    message.rsplit_once(": ").map_or(message, |(_, why)| why)
}

/// Carry out `action` on the VM `namespace/name`.
pub async fn act(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    action: PowerAction,
) -> Result<(), ActionError> {
    let path = subresource_path(action.resource(), namespace, name, action.subresource());
    let body = serde_json::to_vec(&action.body()).unwrap_or_default();
    let request = http::Request::put(path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| ActionError::Transport(e.to_string()))?;
    match client.request_text(request).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) => {
            Err(ActionError::from_status(name, status.code, &status.message))
        }
        Err(other) => Err(ActionError::Transport(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubevirt_answers_become_plain_errors() {
        let conflict = |why: &str| {
            ActionError::from_status(
                "web-01",
                409,
                &format!(
                    "Operation cannot be fulfilled on virtualmachine.kubevirt.io \"web-01\": {why}"
                ),
            )
        };
        assert_eq!(
            conflict("VM is already running").to_string(),
            "web-01 is already running"
        );
        assert_eq!(conflict("VM is not running").code(), "not_running");
        assert_eq!(conflict("VMI is paused").code(), "paused");
        assert_eq!(conflict("VMI is already paused").code(), "already_paused");
        assert_eq!(conflict("VMI is not paused").code(), "not_paused");
        assert_eq!(
            conflict("VM web-01 is already being migrated").code(),
            "already_migrating"
        );
        assert_eq!(
            conflict("Always does not support manual start requests").to_string(),
            "web-01: Always does not support manual start requests"
        );
        assert_eq!(
            ActionError::from_status("x", 403, "forbidden").code(),
            "not_allowed"
        );
        assert_eq!(
            ActionError::from_status("x", 404, "gone").to_string(),
            "x not found"
        );
        assert_eq!(
            ActionError::from_status("x", 503, "down").code(),
            "unavailable"
        );
    }

    #[test]
    fn forced_actions_have_no_grace() {
        assert_eq!(PowerAction::ForceStop.body(), json!({"gracePeriod": 0}));
        assert_eq!(
            PowerAction::ForceRestart.body(),
            json!({"gracePeriodSeconds": 0})
        );
        assert_eq!(PowerAction::Stop.body(), json!({}));
        assert_eq!(
            PowerAction::SoftReboot.resource(),
            "virtualmachineinstances"
        );
        assert_eq!(PowerAction::ForceStop.subresource(), "stop");
    }
}
