//! The app's logs: `tracing` events go to a daily file in the logs directory (and warnings to
//! stderr). Secrets never reach a log: they are `Sensitive<T>` in the vault and print `<redacted>`.

use std::path::Path;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Keeps the background log writer alive; drop it at exit to flush.
pub struct LogGuard(#[allow(dead_code)] Option<tracing_appender::non_blocking::WorkerGuard>);

/// Warnings and errors on stderr too.
fn stderr_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr.with_max_level(tracing::Level::WARN))
}

/// Log to the app's logs folder (`$VMDECK_HOME/logs` or the platform's), or stderr only
/// when there is no home directory.
pub fn init_default() -> LogGuard {
    match vmdeck_vault::AppDirs::from_env_or_system() {
        Ok(dirs) => init(&dirs.logs),
        Err(error) => {
            let _ = tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .try_init();
            tracing::warn!(%error, "logging to stderr only");
            LogGuard(None)
        }
    }
}

/// Log to `<logs>/vmdeck.log.<date>` at `VMDECK_LOG` (default `info`) and to stderr at warn.
/// When the folder cannot be created, logs go to stderr only (the app still runs).
pub fn init(logs: &Path) -> LogGuard {
    let filter =
        || EnvFilter::try_from_env("VMDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    match std::fs::create_dir_all(logs) {
        Ok(()) => {
            let (file, guard) = tracing_appender::non_blocking(tracing_appender::rolling::daily(
                logs,
                "vmdeck.log",
            ));
            let file_layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(file);
            let _ = tracing_subscriber::registry()
                .with(filter())
                .with(file_layer)
                .with(stderr_layer())
                .try_init();
            LogGuard(Some(guard))
        }
        Err(error) => {
            let _ = tracing_subscriber::registry()
                .with(filter())
                .with(stderr_layer())
                .try_init();
            tracing::warn!(%error, path = %logs.display(), "cannot create the log folder; logging to stderr only");
            LogGuard(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_land_in_the_log_folder() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let guard = init(&logs);
        tracing::info!(cluster = "demo", "checked a cluster");
        drop(guard);
        let written: String = std::fs::read_dir(&logs)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        assert!(written.contains("checked a cluster"), "{written}");
    }
}
