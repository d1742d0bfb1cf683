//! Errors of kubeconfig loading, validation and resolution, each naming the field at fault.

use std::path::PathBuf;

/// Why a kubeconfig (or a part of it) cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A field has a bad value. `field` is a kubeconfig path such as `users[0].user.client-key-data`.
    #[error("{}{field}: {problem}", source_prefix(.source_file))]
    InvalidField {
        source_file: Option<PathBuf>,
        field: String,
        problem: String,
    },
    /// A kubeconfig file could not be read.
    #[error("cannot read kubeconfig {}: {reason}; check the path and its permissions", .path.display())]
    Unreadable { path: PathBuf, reason: String },
    /// Discovery found no file to read.
    #[error("no kubeconfig found: {searched}; set KUBECONFIG or create ~/.kube/config")]
    NothingDiscovered { searched: String },
    /// The requested context is not in the kubeconfig.
    #[error("context \"{name}\" not found; available contexts: {available}")]
    UnknownContext { name: String, available: String },
    /// No context was chosen and the kubeconfig has no usable current-context.
    #[error(
        "no context chosen and current-context is not set; pass a context name (available: {available})"
    )]
    NoContextChosen { available: String },
}

fn source_prefix(file: &Option<PathBuf>) -> String {
    match file {
        Some(path) => format!("{}: ", path.display()),
        None => String::new(),
    }
}

impl ImportError {
    pub(crate) fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::InvalidField {
            source_file: None,
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// Attaches the file the error came from (used when several files are merged).
    pub(crate) fn in_file(self, file: Option<&std::path::Path>) -> Self {
        match self {
            Self::InvalidField {
                source_file: None,
                field,
                problem,
            } => Self::InvalidField {
                source_file: file.map(|f| f.to_path_buf()),
                field,
                problem,
            },
            other => other,
        }
    }

    /// The kubeconfig field at fault, when the error is about one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Stable machine code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidField { .. } => "kubeconfig_invalid_field",
            Self::Unreadable { .. } => "kubeconfig_unreadable",
            Self::NothingDiscovered { .. } => "kubeconfig_not_found",
            Self::UnknownContext { .. } => "kubeconfig_unknown_context",
            Self::NoContextChosen { .. } => "kubeconfig_no_context",
        }
    }
}
