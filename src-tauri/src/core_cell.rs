//! The core `App`, opened once (keyring probe, demo cluster) on a background task at start, and
//! the registry of the streams the page may stop.

use std::sync::Arc;

use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::OnceCell;
use vmdeck_desktop_core::{App, AppConfig};

use crate::stream_stops::StreamStops;

pub struct CoreCell {
    config: AppConfig,
    app: OnceCell<App>,
    /// The streams the page may stop.
    pub stream_stops: StreamStops,
}

impl CoreCell {
    pub fn new(config: AppConfig) -> Self {
        Self {
            config,
            app: OnceCell::new(),
            stream_stops: StreamStops::default(),
        }
    }

    /// The core, waiting for it to open on first use.
    pub async fn get(&self) -> &App {
        self.app
            .get_or_init(|| App::open(self.config.clone()))
            .await
    }
}

/// Starts opening the core while the window loads, so the first call finds it ready.
pub fn open_early<R: Runtime>(handle: &AppHandle<R>) {
    let core = handle.state::<Arc<CoreCell>>().inner().clone();
    tauri::async_runtime::spawn(async move {
        core.get().await;
    });
}
