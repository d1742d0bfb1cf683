//! The VM inventory: VirtualMachines and VirtualMachineInstances watched (kube-runtime's watcher)
//! and joined into rows; subscribers get a snapshot and then batched row changes, at most one
//! batch per [`BATCH_INTERVAL`], never the raw watch stream.

pub mod hub;
pub mod row;
pub mod state;

use std::time::Duration;

use futures::{FutureExt, Stream, StreamExt};
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use hub::{RowChange, Update};
pub use row::{RowKey, VmRow};
pub use state::{Input, Source};

use crate::kinds::{vm_resource, vmi_resource};
use hub::Hub;
use state::State;

/// Row changes are sent at most this often.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(100);
/// Updates queued per subscriber; past this, changes are coalesced until it reads.
pub const SUBSCRIBER_QUEUE: usize = 4;

/// Inputs already waiting that are applied together before the next flush may run.
const DRAIN: usize = 1024;

/// Which namespaces to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Namespace(String),
}

/// Why subscribing failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InventoryError {
    #[error("the inventory has stopped")]
    Stopped,
}

/// A running inventory; dropping it stops its watches.
pub struct Inventory {
    subscribe: mpsc::Sender<mpsc::Sender<Update>>,
    task: JoinHandle<()>,
}

/// One subscriber's updates.
pub struct Subscription {
    rx: mpsc::Receiver<Update>,
}

impl Subscription {
    /// The next update; `None` when the inventory stopped.
    pub async fn next(&mut self) -> Option<Update> {
        self.rx.recv().await
    }

    /// Updates waiting to be read: never more than [`SUBSCRIBER_QUEUE`], however many changes
    /// arrived (the rest is coalesced in the inventory, one entry per row).
    pub fn queued(&self) -> usize {
        self.rx.len()
    }
}

fn to_input(source: Source, event: Event<DynamicObject>) -> Option<Input> {
    let value = |object: DynamicObject| serde_json::to_value(object).ok();
    Some(match event {
        Event::Init => Input::Init(source),
        Event::InitApply(object) => Input::InitApply(source, value(object)?),
        Event::InitDone => Input::InitDone(source),
        Event::Apply(object) => Input::Apply(source, value(object)?),
        Event::Delete(object) => Input::Delete(source, value(object)?),
    })
}

fn watch(
    client: kube::Client,
    scope: &Scope,
    source: Source,
) -> impl Stream<Item = Input> + Send + use<> {
    let resource = match source {
        Source::Vm => vm_resource(),
        Source::Vmi => vmi_resource(),
    };
    let api: Api<DynamicObject> = match scope {
        Scope::All => Api::all_with(client, &resource),
        Scope::Namespace(ns) => Api::namespaced_with(client, ns, &resource),
    };
    watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .filter_map(move |event| {
            futures::future::ready(match event {
                Ok(event) => to_input(source, event),
                Err(error) => {
                    tracing::debug!(?source, "inventory watch: {error}");
                    None
                }
            })
        })
}

impl Inventory {
    /// Watch VMs and VMIs in `scope` through `client`.
    pub fn start(client: kube::Client, scope: Scope) -> Self {
        let events = futures::stream::select(
            watch(client.clone(), &scope, Source::Vm),
            watch(client, &scope, Source::Vmi),
        );
        Self::from_inputs(events, BATCH_INTERVAL)
    }

    /// An inventory over any stream of watch events (tests feed channels).
    pub fn from_inputs(
        inputs: impl Stream<Item = Input> + Send + 'static,
        batch: Duration,
    ) -> Self {
        let (subscribe, requests) = mpsc::channel(16);
        let task = tokio::spawn(run(Box::pin(inputs), requests, batch));
        Self { subscribe, task }
    }

    /// Subscribe: a snapshot (once both kinds are listed), then batched changes.
    pub async fn subscribe(&self) -> Result<Subscription, InventoryError> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
        self.subscribe
            .send(tx)
            .await
            .map_err(|_| InventoryError::Stopped)?;
        Ok(Subscription { rx })
    }
}

impl Drop for Inventory {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    mut inputs: std::pin::Pin<Box<dyn Stream<Item = Input> + Send>>,
    mut requests: mpsc::Receiver<mpsc::Sender<Update>>,
    batch: Duration,
) {
    let mut state = State::default();
    let mut hub = Hub::default();
    let mut tick = tokio::time::interval(batch);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut inputs_open = true;
    loop {
        let pending = hub.pending(&state);
        tokio::select! {
            input = inputs.next(), if inputs_open => match input {
                Some(input) => {
                    let mut changed = state.apply(input);
                    // Take what else has arrived already (bounded, so flushes still get their turn).
                    for _ in 0..DRAIN {
                        match inputs.next().now_or_never() {
                            Some(Some(input)) => changed.extend(state.apply(input)),
                            Some(None) => {
                                inputs_open = false;
                                break;
                            }
                            None => break,
                        }
                    }
                    if !changed.is_empty() {
                        hub.mark(&changed);
                    }
                }
                None => inputs_open = false,
            },
            request = requests.recv() => match request {
                Some(tx) => {
                    hub.add(tx);
                    // A new subscriber's snapshot does not wait for the next tick.
                    hub.flush(&state);
                }
                None => return,
            },
            _ = tick.tick(), if pending => hub.flush(&state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn vm(name: &str, generation: u64) -> Value {
        json!({"metadata": {"namespace": "dev", "name": name, "labels": {"generation": generation.to_string()}},
            "spec": {"runStrategy": "Halted"}, "status": {"printableStatus": "Stopped"}})
    }

    fn synced(tx: &futures::channel::mpsc::UnboundedSender<Input>, names: &[&str]) {
        tx.unbounded_send(Input::Init(Source::Vm)).unwrap();
        for name in names {
            tx.unbounded_send(Input::InitApply(Source::Vm, vm(name, 0)))
                .unwrap();
        }
        tx.unbounded_send(Input::InitDone(Source::Vm)).unwrap();
        tx.unbounded_send(Input::Init(Source::Vmi)).unwrap();
        tx.unbounded_send(Input::InitDone(Source::Vmi)).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn snapshot_then_batched_changes() {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let inventory = Inventory::from_inputs(rx, BATCH_INTERVAL);
        let mut sub = inventory.subscribe().await.unwrap();
        synced(&tx, &["b", "a"]);
        let Some(Update::Snapshot(rows)) = sub.next().await else {
            panic!("a snapshot first")
        };
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b"], "sorted");

        let started = tokio::time::Instant::now();
        tx.unbounded_send(Input::Apply(Source::Vm, vm("c", 1)))
            .unwrap();
        tx.unbounded_send(Input::Delete(Source::Vm, vm("a", 0)))
            .unwrap();
        tx.unbounded_send(Input::Apply(Source::Vm, vm("b", 1)))
            .unwrap();
        let Some(Update::Changes(changes)) = sub.next().await else {
            panic!("changes")
        };
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert!(matches!(&changes[0], RowChange::Removed(k) if k.name == "a"));
        assert!(matches!(&changes[1], RowChange::Changed(r) if r.name == "b"));
        assert!(matches!(&changes[2], RowChange::Added(r) if r.name == "c"));
        tx.unbounded_send(Input::Apply(Source::Vm, vm("c", 2)))
            .unwrap();
        let Some(Update::Changes(changes)) = sub.next().await else {
            panic!("changes")
        };
        assert!(matches!(&changes[..], [RowChange::Changed(r)] if r.labels["generation"] == "2"));
        assert!(
            started.elapsed() >= BATCH_INTERVAL,
            "two batches are at least one interval apart ({:?})",
            started.elapsed()
        );
        // An added-then-removed row is no change at all.
        tx.unbounded_send(Input::Apply(Source::Vm, vm("d", 0)))
            .unwrap();
        tx.unbounded_send(Input::Delete(Source::Vm, vm("d", 0)))
            .unwrap();
        tx.unbounded_send(Input::Apply(Source::Vm, vm("e", 0)))
            .unwrap();
        let Some(Update::Changes(changes)) = sub.next().await else {
            panic!("changes")
        };
        assert!(
            matches!(&changes[..], [RowChange::Added(r)] if r.name == "e"),
            "{changes:?}"
        );
    }

    /// A subscriber that does not read while 100,000 changes to 50 rows arrive: what waits for it
    /// is at most its queue plus one entry per row; when it reads, it gets the latest rows.
    #[tokio::test(start_paused = true)]
    async fn a_flood_to_a_slow_subscriber_stays_bounded() {
        let (tx, rx) = futures::channel::mpsc::channel(64);
        let inventory = Inventory::from_inputs(rx, BATCH_INTERVAL);
        let mut sub = inventory.subscribe().await.unwrap();
        let names: Vec<String> = (0..50).map(|i| format!("vm-{i}")).collect();
        let mut feed = tx.clone();
        use futures::SinkExt;
        feed.send(Input::Init(Source::Vm)).await.unwrap();
        feed.send(Input::InitDone(Source::Vm)).await.unwrap();
        feed.send(Input::Init(Source::Vmi)).await.unwrap();
        feed.send(Input::InitDone(Source::Vmi)).await.unwrap();
        assert_eq!(sub.next().await, Some(Update::Snapshot(Vec::new())));
        // 2,000 rounds of one change per row, a batch interval apart: the queue fills after
        // SUBSCRIBER_QUEUE rounds and the rest is coalesced.
        let total = 100_000u64;
        for i in 0..total {
            let name = &names[(i % 50) as usize];
            feed.send(Input::Apply(Source::Vm, vm(name, i)))
                .await
                .unwrap();
            if i % 50 == 49 {
                tokio::time::sleep(BATCH_INTERVAL).await;
            }
        }
        let mut updates = Vec::new();
        while let Ok(update) = sub.rx.try_recv() {
            updates.push(update);
        }
        assert_eq!(
            updates.len(),
            SUBSCRIBER_QUEUE,
            "only the queue's worth waits as updates"
        );
        // One more flush delivers the coalesced remainder: the latest generation of every row.
        let last = sub.next().await.expect("the coalesced changes");
        updates.push(last);
        let mut latest = std::collections::HashMap::new();
        for update in &updates {
            let Update::Changes(changes) = update else {
                panic!("{update:?}")
            };
            assert!(changes.len() <= 50, "one entry per row at most");
            for change in changes {
                match change {
                    RowChange::Added(r) | RowChange::Changed(r) => {
                        latest.insert(
                            r.name.clone(),
                            r.labels["generation"].parse::<u64>().unwrap(),
                        );
                    }
                    RowChange::Removed(_) => panic!("nothing was removed"),
                }
            }
        }
        assert_eq!(latest.len(), 50);
        for (name, generation) in &latest {
            let index: u64 = name.trim_start_matches("vm-").parse().unwrap();
            assert_eq!(
                *generation,
                total - 50 + index,
                "{name} is at its last generation"
            );
        }
    }
}
