//! The progress an install or uninstall reports as it goes: what the CLI's progress bars and the
//! app's screens draw. Sent through a bounded channel, so a slow reader slows the work instead
//! of growing memory.

use serde::Serialize;
use tokio::sync::mpsc;

use crate::object_key::ObjectKey;

/// One step of progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Progress {
    /// The inventory is in the cluster; what follows can always be uninstalled.
    InventoryWritten {
        objects: usize,
    },
    PhaseStarted {
        pack: String,
        phase: String,
        objects: usize,
    },
    Applied {
        pack: String,
        object: ObjectKey,
    },
    Retrying {
        pack: String,
        object: ObjectKey,
        attempt: u32,
        reason: String,
    },
    /// Live status while waiting ("virt-handler 2/3 ready").
    Waiting {
        pack: String,
        what: String,
        status: String,
    },
    PackReady {
        pack: String,
    },
    Deleting {
        object: ObjectKey,
    },
    Deleted {
        object: ObjectKey,
    },
    Done {
        applied: usize,
        deleted: usize,
    },
}

/// Where progress goes; `None` discards it.
#[derive(Debug, Clone, Default)]
pub struct ProgressSink(Option<mpsc::Sender<Progress>>);

impl ProgressSink {
    pub fn new(sender: mpsc::Sender<Progress>) -> Self {
        Self(Some(sender))
    }

    pub fn discard() -> Self {
        Self(None)
    }

    /// Sends, waiting while the reader is behind. A reader that went away does not stop the work:
    /// an install half-done because a window closed would be worse than one finished unseen.
    pub async fn send(&self, progress: Progress) {
        if let Some(sender) = &self.0
            && sender.send(progress).await.is_err()
        {
            tracing::debug!("progress receiver closed; going on");
        }
    }
}
