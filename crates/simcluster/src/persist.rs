//! `--state PATH`: the store and credentials saved across restarts, written atomically
//! (temp file, fsync, rename) shortly after changes and at shutdown. Taking the snapshot,
//! serialising it and writing it run on Tokio's blocking pool, never on an async worker.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::cluster::Cluster;
use crate::pki::Pki;
use crate::store::Snapshot;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("reading state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "state file {path} is not a simcluster state ({source}); move it away or pass another --state path"
    )]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("serialising the state for {path}: {source}")]
    Serialize {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path}: the blocking task that handles it did not finish: {source}")]
    Task {
        path: PathBuf,
        source: tokio::task::JoinError,
    },
}

/// What the state file holds.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SavedState {
    pub version: u32,
    pub pki: Pki,
    pub store: Snapshot,
}

/// Read the state file, if there is one (on the blocking pool).
pub async fn load(path: &Path) -> Result<Option<SavedState>, StateError> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || load_blocking(&owned))
        .await
        .map_err(|source| StateError::Task {
            path: path.into(),
            source,
        })?
}

/// Read the state file, if there is one (synchronously).
pub fn load_blocking(path: &Path) -> Result<Option<SavedState>, StateError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Read {
                path: path.into(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| StateError::Parse {
            path: path.into(),
            source,
        })
}

/// Snapshot, serialise and write the state atomically, on the blocking pool.
pub async fn save(path: &Path, cluster: &Arc<Cluster>) -> Result<(), StateError> {
    let owned = path.to_path_buf();
    let cluster = cluster.clone();
    tokio::task::spawn_blocking(move || save_blocking(&owned, &cluster))
        .await
        .map_err(|source| StateError::Task {
            path: path.into(),
            source,
        })?
}

/// Snapshot, serialise and write the state atomically (synchronously: call it off async threads).
pub fn save_blocking(path: &Path, cluster: &Cluster) -> Result<(), StateError> {
    let state = SavedState {
        version: 1,
        pki: cluster.pki.clone(),
        store: cluster.store().snapshot(),
    };
    let bytes = serde_json::to_vec(&state).map_err(|source| StateError::Serialize {
        path: path.into(),
        source,
    })?;
    crate::write_private(path, &bytes).map_err(|source| StateError::Write {
        path: path.into(),
        source,
    })
}

/// Save after changes (at most every `debounce`) until shutdown, then once more.
pub async fn run(
    cluster: Arc<Cluster>,
    path: PathBuf,
    mut shutdown: watch::Receiver<bool>,
    debounce: Duration,
) {
    loop {
        tokio::select! {
            _ = cluster.store().committed.notified() => {
                tokio::time::sleep(debounce).await;
                if let Err(error) = save(&path, &cluster).await {
                    tracing::error!(%error, "could not save state");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    if let Err(error) = save(&path, &cluster).await {
        tracing::error!(%error, "could not save state at shutdown");
    }
}
