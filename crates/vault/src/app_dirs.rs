//! The app's config, data, cache and log directories (platform defaults, overridable for tests).

use std::path::{Path, PathBuf};

/// Environment variable that puts every app directory under one base (tests, portable installs).
pub const DIRS_OVERRIDE_ENV: &str = "VMDECK_HOME";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDirs {
    pub config: PathBuf,
    pub data: PathBuf,
    pub cache: PathBuf,
    pub logs: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot find a home directory for the app's settings; set HOME or {DIRS_OVERRIDE_ENV}")]
pub struct NoHomeDirectory;

impl NoHomeDirectory {
    pub fn code(&self) -> &'static str {
        "no_home_directory"
    }
}

impl AppDirs {
    /// `$VMDECK_HOME/{config,data,cache,logs}` when set, else the platform's directories
    /// for qualifier "io", organisation "vmdeck", application "VMDeck".
    pub fn from_env_or_system() -> Result<Self, NoHomeDirectory> {
        match std::env::var_os(DIRS_OVERRIDE_ENV).filter(|v| !v.is_empty()) {
            Some(base) => Ok(Self::under(Path::new(&base))),
            None => Self::system(),
        }
    }

    /// The platform's directories.
    pub fn system() -> Result<Self, NoHomeDirectory> {
        let dirs =
            directories::ProjectDirs::from("io", "vmdeck", "VMDeck").ok_or(NoHomeDirectory)?;
        let logs = dirs
            .state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .join("logs");
        Ok(Self {
            config: dirs.config_dir().to_path_buf(),
            data: dirs.data_dir().to_path_buf(),
            cache: dirs.cache_dir().to_path_buf(),
            logs,
        })
    }

    /// Every directory under one base (tests point this at a tempdir).
    pub fn under(base: &Path) -> Self {
        Self {
            config: base.join("config"),
            data: base.join("data"),
            cache: base.join("cache"),
            logs: base.join("logs"),
        }
    }
}
