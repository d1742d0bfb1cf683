//! "Cancel" on a running install: each journaled run registers under its cluster while it runs;
//! `cancel_install` wakes it, the run's work is dropped (with the requests in flight) and the
//! journal keeps the run as unfinished, so it can be resumed (or discarded) later.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::ui_error::UiError;

/// The runs that can be cancelled now, by cluster.
#[derive(Default)]
pub(crate) struct RunningInstalls {
    runs: Mutex<HashMap<String, (u64, Arc<Notify>)>>,
    next: AtomicU64,
}

/// A run's place in [`RunningInstalls`]; dropped when the run ends.
pub(crate) struct Registration<'a> {
    owner: &'a RunningInstalls,
    cluster: String,
    id: u64,
    notify: Arc<Notify>,
}

impl RunningInstalls {
    /// Registers a run on `cluster` (a newer run on the same cluster takes the place).
    pub(crate) fn register(&self, cluster: &str) -> Registration<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let notify = Arc::new(Notify::new());
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cluster.to_string(), (id, notify.clone()));
        Registration {
            owner: self,
            cluster: cluster.to_string(),
            id,
            notify,
        }
    }

    /// Whether a run on `cluster` is going on now.
    pub(crate) fn is_running(&self, cluster: &str) -> bool {
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(cluster)
    }

    /// Asks the cluster's run to stop; `false` when none runs.
    pub(crate) fn cancel(&self, cluster: &str) -> bool {
        let runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        match runs.get(cluster) {
            Some((_, notify)) => {
                // A stored permit: a cancel that comes before the run waits is not lost.
                notify.notify_one();
                true
            }
            None => false,
        }
    }
}

impl Registration<'_> {
    /// Ends when the run was cancelled.
    pub(crate) async fn cancelled(&self) {
        self.notify.notified().await;
    }

    /// The error the cancelled run ends with.
    pub(crate) fn error(&self) -> UiError {
        UiError::new(
            "install_cancelled",
            format!(
                "the install on {} was cancelled; what was applied stays: resume it to finish, or uninstall",
                self.cluster
            ),
        )
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut runs = self.owner.runs.lock().unwrap_or_else(|p| p.into_inner());
        if runs
            .get(&self.cluster)
            .is_some_and(|(id, _)| *id == self.id)
        {
            runs.remove(&self.cluster);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancel_reaches_the_registered_run_only_while_it_runs() {
        let running = RunningInstalls::default();
        assert!(!running.cancel("lab"), "nothing runs yet");
        let run = running.register("lab");
        assert!(running.is_running("lab") && !running.is_running("other"));
        assert!(running.cancel("lab"));
        // The permit was stored before anyone waited.
        run.cancelled().await;
        assert_eq!(run.error().code, "install_cancelled");
        drop(run);
        assert!(!running.cancel("lab"), "the run ended");
        assert!(!running.is_running("lab"));
    }

    #[test]
    fn an_older_run_ending_leaves_the_newer_registered() {
        let running = RunningInstalls::default();
        let older = running.register("lab");
        let _newer = running.register("lab");
        drop(older);
        assert!(running.cancel("lab"));
    }
}
