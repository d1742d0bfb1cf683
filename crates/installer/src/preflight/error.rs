//! What stops a preflight from running at all (a check that merely may not read what it needs
//! reports that as its own failure instead).

use crate::error::InstallError;

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("cannot reach the cluster's API server: {source}")]
    Unreachable {
        #[source]
        source: Box<kube::Error>,
    },
    #[error("reading {what} failed: {source}")]
    Read {
        what: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// Turned into the check's failure by the runner, never returned by [`super::preflight`].
    #[error("not allowed to {what}: {message}")]
    Forbidden { what: String, message: String },
    #[error(transparent)]
    Install(#[from] InstallError),
}

impl PreflightError {
    pub fn code(&self) -> &'static str {
        match self {
            PreflightError::Unreachable { .. } => "cluster_unreachable",
            PreflightError::Read { .. } => "read_failed",
            PreflightError::Forbidden { .. } => "forbidden",
            PreflightError::Install(error) => error.code(),
        }
    }

    /// A read of `what` failed: 403 is `Forbidden`, anything else `Read`.
    pub(super) fn read(what: impl Into<String>, source: kube::Error) -> PreflightError {
        match source {
            kube::Error::Api(status) if status.code == 403 => PreflightError::Forbidden {
                what: what.into(),
                message: status.message,
            },
            source => PreflightError::Read {
                what: what.into(),
                source: Box::new(source),
            },
        }
    }
}
