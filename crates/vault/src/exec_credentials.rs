//! Runs exec credential plugins (client.authentication.k8s.io) with the login PATH, and caches the result.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use jiff::Timestamp;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::connection::{ClusterConnection, InteractiveMode, StoredExec};
use crate::login_path::ExecEnvironment;
use crate::sensitive::Sensitive;

/// Credentials are refreshed this long before they expire.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// What a plugin returned.
#[derive(Debug, Clone)]
pub struct ExecCredential {
    pub token: Option<Sensitive<String>>,
    pub client_certificate_pem: Option<Sensitive<String>>,
    pub client_key_pem: Option<Sensitive<String>>,
    pub expires: Option<Timestamp>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("exec plugin \"{command}\" was not found on your login shell's PATH; install it{}", hint_suffix(.install_hint))]
    NotFound {
        command: String,
        install_hint: Option<String>,
    },
    #[error(
        "exec plugin \"{command}\" needs an interactive terminal (interactiveMode: {mode}), which is not supported yet; log in with the plugin in a terminal first or use a plugin setting with interactiveMode: Never"
    )]
    InteractiveUnsupported { command: String, mode: &'static str },
    #[error("exec plugin \"{command}\" could not be started: {reason}")]
    Spawn { command: String, reason: String },
    #[error("exec plugin \"{command}\" did not answer within {} s; check that it works in a terminal", .timeout.as_secs())]
    Timeout { command: String, timeout: Duration },
    #[error("exec plugin \"{command}\" failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("exec plugin \"{command}\" printed something that is not an ExecCredential: {reason}")]
    BadOutput { command: String, reason: String },
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_deref()
        .map(|h| format!(" ({})", h.trim()))
        .unwrap_or_else(|| " or add its directory to PATH in your shell profile".into())
}

impl ExecError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "exec_plugin_not_found",
            Self::InteractiveUnsupported { .. } => "exec_plugin_interactive",
            Self::Spawn { .. } => "exec_plugin_spawn_failed",
            Self::Timeout { .. } => "exec_plugin_timeout",
            Self::Failed { .. } => "exec_plugin_failed",
            Self::BadOutput { .. } => "exec_plugin_bad_output",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredentialOutput {
    api_version: Option<String>,
    kind: Option<String>,
    status: Option<ExecCredentialStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredentialStatus {
    token: Option<Sensitive<String>>,
    client_certificate_data: Option<Sensitive<String>>,
    client_key_data: Option<Sensitive<String>>,
    expiration_timestamp: Option<String>,
}

/// Runs one cluster's plugin and caches its credential until it expires.
pub struct ExecCredentialSource {
    exec: StoredExec,
    cluster_info: Option<serde_json::Value>,
    environment: ExecEnvironment,
    timeout: Duration,
    cached: Mutex<Option<ExecCredential>>,
}

impl ExecCredentialSource {
    pub fn new(
        exec: StoredExec,
        connection: &ClusterConnection,
        environment: ExecEnvironment,
        timeout: Duration,
    ) -> Self {
        let cluster_info = exec.provide_cluster_info.then(|| {
            serde_json::json!({
                "server": connection.server,
                "certificate-authority-data": connection.ca_pem.as_ref().map(|pem| base64::engine::general_purpose::STANDARD.encode(pem)),
                "tls-server-name": connection.tls_server_name,
                "insecure-skip-tls-verify": connection.insecure_skip_tls_verify,
            })
        });
        Self {
            exec,
            cluster_info,
            environment,
            timeout,
            cached: Mutex::new(None),
        }
    }

    /// The cached credential, or a fresh one when there is none or it is about to expire.
    pub async fn credential(&self) -> Result<ExecCredential, ExecError> {
        let mut cached = self.cached.lock().await;
        if let Some(credential) = cached.as_ref() {
            let fresh = match credential.expires {
                Some(expires) => Timestamp::now() + EXPIRY_MARGIN < expires,
                None => true,
            };
            if fresh {
                return Ok(credential.clone());
            }
        }
        let credential = self.run().await?;
        *cached = Some(credential.clone());
        Ok(credential)
    }

    /// Forgets the cached credential (after the server answered 401).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    fn resolve_command(&self) -> Result<PathBuf, ExecError> {
        let command = &self.exec.command;
        let not_found = || ExecError::NotFound {
            command: command.clone(),
            install_hint: self.exec.install_hint.clone(),
        };
        if command.contains('/') || command.contains(std::path::MAIN_SEPARATOR) {
            let path = PathBuf::from(command);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(not_found())
            };
        }
        self.environment.find_on_path(command).ok_or_else(not_found)
    }

    async fn run(&self) -> Result<ExecCredential, ExecError> {
        let command = self.exec.command.clone();
        let interactive = match self.exec.interactive_mode {
            InteractiveMode::Always => {
                return Err(ExecError::InteractiveUnsupported {
                    command,
                    mode: "Always",
                });
            }
            // As kubectl does: with no terminal an IfAvailable plugin runs non-interactively
            // (stdin closed, `interactive: false`). GKE's gke-gcloud-auth-plugin is such a plugin.
            InteractiveMode::IfAvailable => self.environment.has_terminal,
            InteractiveMode::Never => false,
        };
        let program = self.resolve_command()?;
        let mut spec = serde_json::json!({ "interactive": interactive });
        if let Some(info) = &self.cluster_info {
            spec["cluster"] = info.clone();
        }
        let exec_info = serde_json::json!({
            "apiVersion": self.exec.api_version,
            "kind": "ExecCredential",
            "spec": spec,
        });
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(self.exec.args.iter().map(|a| a.expose()))
            .env("PATH", &self.environment.path)
            .env("KUBERNETES_EXEC_INFO", exec_info.to_string())
            .stdin(if interactive {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for var in &self.exec.env {
            cmd.env(&var.name, var.value.expose());
        }
        tracing::debug!(command = %command, program = %program.display(), "running exec credential plugin");
        let child = cmd.spawn().map_err(|e| ExecError::Spawn {
            command: command.clone(),
            reason: e.to_string(),
        })?;
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| ExecError::Timeout {
                command: command.clone(),
                timeout: self.timeout,
            })?
            .map_err(|e| ExecError::Spawn {
                command: command.clone(),
                reason: e.to_string(),
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stderr: String = stderr
                .trim()
                .chars()
                .rev()
                .take(500)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(ExecError::Failed {
                command,
                status: output.status.to_string(),
                stderr,
            });
        }
        self.parse_output(&command, &output.stdout)
    }

    fn parse_output(&self, command: &str, stdout: &[u8]) -> Result<ExecCredential, ExecError> {
        // Never echo stdout in errors: it holds the credential.
        let bad = |reason: &str| ExecError::BadOutput {
            command: command.to_string(),
            reason: reason.to_string(),
        };
        let parsed: ExecCredentialOutput =
            serde_json::from_slice(stdout).map_err(|_| bad("not valid ExecCredential JSON"))?;
        if parsed.kind.as_deref() != Some("ExecCredential") {
            return Err(bad("kind is not ExecCredential"));
        }
        if parsed.api_version.as_deref() != Some(self.exec.api_version.as_str()) {
            return Err(bad("apiVersion differs from the one in the kubeconfig"));
        }
        let status = parsed.status.ok_or_else(|| bad("status is missing"))?;
        let expires = match status.expiration_timestamp.as_deref() {
            Some(text) => Some(
                text.parse::<Timestamp>()
                    .map_err(|_| bad("status.expirationTimestamp is not RFC 3339"))?,
            ),
            None => None,
        };
        let credential = ExecCredential {
            token: status.token.filter(|t| !t.expose().is_empty()),
            client_certificate_pem: status
                .client_certificate_data
                .filter(|t| !t.expose().is_empty()),
            client_key_pem: status.client_key_data.filter(|t| !t.expose().is_empty()),
            expires,
        };
        if credential.token.is_none() && credential.client_certificate_pem.is_none() {
            return Err(bad("status has neither token nor clientCertificateData"));
        }
        if credential.client_certificate_pem.is_some() != credential.client_key_pem.is_some() {
            return Err(bad(
                "status.clientCertificateData and status.clientKeyData must come together",
            ));
        }
        Ok(credential)
    }
}
