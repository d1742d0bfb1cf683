//! Subscribers of the inventory: each gets a snapshot, then batches of row changes through a
//! bounded channel. Between flushes only the keys that changed are remembered (coalesced), so a
//! flood of changes or a slow subscriber costs at most one entry per row, never one per event.

use std::collections::HashSet;

use serde::Serialize;
use tokio::sync::mpsc;

use super::row::{RowKey, VmRow};
use super::state::State;

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "rows", rename_all = "snake_case")]
pub enum Update {
    /// Every row, sorted by namespace and name; first, once both kinds were listed.
    Snapshot(Vec<VmRow>),
    /// What changed since the last update.
    Changes(Vec<RowChange>),
}

/// One row's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum RowChange {
    Added(VmRow),
    Changed(VmRow),
    Removed(RowKey),
}

struct Subscriber {
    tx: mpsc::Sender<Update>,
    snapshot_sent: bool,
    /// Rows the subscriber has.
    known: HashSet<RowKey>,
    /// Rows changed since its last update.
    dirty: HashSet<RowKey>,
}

/// All subscribers.
#[derive(Default)]
pub struct Hub {
    subscribers: Vec<Subscriber>,
}

impl Hub {
    pub fn add(&mut self, tx: mpsc::Sender<Update>) {
        self.subscribers.push(Subscriber {
            tx,
            snapshot_sent: false,
            known: HashSet::new(),
            dirty: HashSet::new(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.subscribers.is_empty()
    }

    /// Remember that `keys` changed.
    pub fn mark(&mut self, keys: &[RowKey]) {
        for subscriber in &mut self.subscribers {
            if subscriber.snapshot_sent {
                subscriber.dirty.extend(keys.iter().cloned());
            }
        }
    }

    /// Something waits to be sent.
    pub fn pending(&self, state: &State) -> bool {
        self.subscribers
            .iter()
            .any(|s| !s.dirty.is_empty() || (!s.snapshot_sent && state.synced()))
    }

    /// The largest number of keys remembered for one subscriber (for tests and figures).
    pub fn max_dirty(&self) -> usize {
        self.subscribers
            .iter()
            .map(|s| s.dirty.len())
            .max()
            .unwrap_or(0)
    }

    /// Send what is pending to every subscriber with room; full ones keep it for the next flush,
    /// closed ones are dropped.
    pub fn flush(&mut self, state: &State) {
        self.subscribers.retain_mut(|subscriber| {
            if subscriber.tx.is_closed() {
                return false;
            }
            if !subscriber.snapshot_sent {
                if !state.synced() {
                    return true;
                }
                let mut rows: Vec<VmRow> = state.rows().values().cloned().collect();
                rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
                return match subscriber.tx.try_send(Update::Snapshot(rows)) {
                    Ok(()) => {
                        subscriber.snapshot_sent = true;
                        subscriber.known = state.rows().keys().cloned().collect();
                        subscriber.dirty.clear();
                        true
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => true,
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                };
            }
            if subscriber.dirty.is_empty() {
                return true;
            }
            let mut keys: Vec<&RowKey> = subscriber.dirty.iter().collect();
            keys.sort();
            let changes: Vec<RowChange> = keys
                .into_iter()
                .filter_map(
                    |key| match (state.rows().get(key), subscriber.known.contains(key)) {
                        (Some(row), false) => Some(RowChange::Added(row.clone())),
                        (Some(row), true) => Some(RowChange::Changed(row.clone())),
                        (None, true) => Some(RowChange::Removed(key.clone())),
                        (None, false) => None,
                    },
                )
                .collect();
            if changes.is_empty() {
                subscriber.dirty.clear();
                return true;
            }
            match subscriber.tx.try_send(Update::Changes(changes)) {
                Ok(()) => {
                    for key in subscriber.dirty.drain() {
                        if state.rows().contains_key(&key) {
                            subscriber.known.insert(key);
                        } else {
                            subscriber.known.remove(&key);
                        }
                    }
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }
}
