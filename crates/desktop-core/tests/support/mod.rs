//! Shared test scaffolding: an App in a throwaway home with session-only secrets.

use std::time::Duration;

use vmdeck_desktop_core::{App, AppConfig, SecretsChoice, SourcesConfig};
use vmdeck_vault::AppDirs;

pub async fn session_app(dir: &tempfile::TempDir) -> App {
    App::open(AppConfig {
        dirs: Some(AppDirs::under(dir.path())),
        secrets: SecretsChoice::SessionOnly,
        demo: false,
        check_timeout: Some(Duration::from_secs(5)),
        sources: SourcesConfig::default(),
    })
    .await
}
