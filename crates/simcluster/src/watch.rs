//! Watch streams: the changes of one resource after a resourceVersion, filtered by namespace and
//! selectors, as newline-delimited JSON events, with bookmarks and a timeout.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::cluster::Cluster;
use crate::resources::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{Change, EventType, StoredObject};
use crate::table::{self, IncludeObject};

/// What a watch asked for.
pub struct WatchRequest {
    pub rt: Arc<ResourceType>,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// None: start now, sending the current objects first.
    pub resource_version: Option<u64>,
    pub bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Duration,
    pub table: Option<IncludeObject>,
}

impl WatchRequest {
    fn matches(&self, object: &StoredObject) -> bool {
        if let Some(ns) = &self.namespace
            && object.meta_str("namespace") != Some(ns.as_str())
        {
            return false;
        }
        self.labels.matches(&object.value) && self.fields.matches(&object.value)
    }

    fn encode(&self, kind: &str, object: &StoredObject) -> Bytes {
        let mut line = BytesMut::with_capacity(object.json.len() + 32);
        line.put_slice(b"{\"type\":\"");
        line.put_slice(kind.as_bytes());
        line.put_slice(b"\",\"object\":");
        match self.table {
            Some(include) => {
                let table =
                    table::table(&self.rt, &[&object.value], include, &object.rv.to_string());
                line.put_slice(&serde_json::to_vec(&table).unwrap_or_default());
            }
            None if object.value.get("apiVersion").and_then(Value::as_str)
                != Some(&self.rt.api_version()) =>
            {
                let mut value = object.value.clone();
                value["apiVersion"] = json!(self.rt.api_version());
                line.put_slice(&serde_json::to_vec(&value).unwrap_or_default());
            }
            None => line.put_slice(&object.json),
        }
        line.put_slice(b"}\n");
        line.freeze()
    }

    fn bookmark(&self, rv: u64, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let event = json!({"type": "BOOKMARK", "object": {"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": metadata}});
        let mut bytes = serde_json::to_vec(&event).unwrap_or_default();
        bytes.push(b'\n');
        Bytes::from(bytes)
    }

    /// The event a change means to this watch (selector transitions become ADDED or DELETED).
    fn translate(&self, change: &Change) -> Option<Bytes> {
        if change.gr != self.rt.group_resource() {
            return None;
        }
        let now = self.matches(&change.object);
        let before = change.previous.as_deref().is_some_and(|p| self.matches(p));
        let kind = match (change.kind, before, now) {
            (EventType::Deleted, true, _) => "DELETED",
            (EventType::Deleted, false, _) => return None,
            (EventType::Added, _, true) => "ADDED",
            (EventType::Modified, true, true) => "MODIFIED",
            (EventType::Modified, false, true) => "ADDED",
            (EventType::Modified, true, false) => "DELETED",
            _ => return None,
        };
        Some(self.encode(kind, &change.object))
    }
}

fn error_event(error: &ApiError) -> Bytes {
    let mut bytes = serde_json::to_vec(&json!({"type": "ERROR", "object": error.to_status()}))
        .unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// Start a watch; the stream's lines arrive on the returned channel, which closes when the watch ends.
pub fn start(cluster: Arc<Cluster>, request: WatchRequest) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel::<Bytes>(1024);
    tokio::spawn(async move {
        let store = cluster.store().clone();
        let gr = request.rt.group_resource();
        let subscription = match request.resource_version {
            Some(rv) if !request.send_initial_events => store
                .watch_from(rv)
                .map(|(backlog, rx, epoch)| (Vec::new(), backlog, rx, epoch, rv)),
            _ => {
                let (objects, rv, rx, epoch) =
                    store.list_and_subscribe(&gr, request.namespace.as_deref());
                Ok((objects, Vec::new(), rx, epoch, rv))
            }
        };
        let (initial, backlog, mut changes, mut epoch, mut last_rv) = match subscription {
            Ok(parts) => parts,
            Err(error) => {
                let _ = tx.send(error_event(&error)).await;
                return;
            }
        };
        for object in initial.iter().filter(|o| request.matches(o)) {
            if tx.send(request.encode("ADDED", object)).await.is_err() {
                return;
            }
        }
        if request.send_initial_events
            && request.bookmarks
            && tx.send(request.bookmark(last_rv, true)).await.is_err()
        {
            return;
        }
        for change in backlog {
            last_rv = last_rv.max(change.object.rv);
            if let Some(line) = request.translate(&change)
                && tx.send(line).await.is_err()
            {
                return;
            }
        }
        let deadline = tokio::time::sleep(request.timeout);
        tokio::pin!(deadline);
        let mut bookmark_timer = tokio::time::interval(cluster.bookmark_interval);
        bookmark_timer.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = epoch.changed() => return,
                _ = bookmark_timer.tick(), if request.bookmarks => {
                    if tx.send(request.bookmark(last_rv, false)).await.is_err() {
                        return;
                    }
                }
                received = changes.recv() => match received {
                    Ok(change) => {
                        if change.object.rv <= last_rv {
                            continue;
                        }
                        last_rv = change.object.rv;
                        if let Some(line) = request.translate(&change)
                            && tx.send(line).await.is_err()
                        {
                            return;
                        }
                    }
                    // Fell too far behind or the store is gone: end the watch; the client resumes from its last event.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                },
                _ = tx.closed() => return,
            }
        }
    });
    rx
}
