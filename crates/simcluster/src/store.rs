//! The object store: objects per group/resource, one global resourceVersion, a bounded history
//! of changes for watches, and the uid and owner indexes the garbage collector needs.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use serde_json::Value;
use tokio::sync::{Notify, broadcast, watch};

use crate::resources::GroupResource;
use crate::status::ApiError;

/// Where an object lives inside its resource: namespace ("" for cluster-scoped) and name.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

/// A stored object with its serialized form (lists and watches send these bytes as they are).
#[derive(Debug)]
pub struct StoredObject {
    pub value: Value,
    pub json: Bytes,
    pub rv: u64,
}

impl StoredObject {
    fn new(mut value: Value, rv: u64) -> Self {
        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let json = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        Self { value, json, rv }
    }

    pub fn meta_str(&self, field: &str) -> Option<&str> {
        self.value.get("metadata")?.get(field)?.as_str()
    }

    pub fn uid(&self) -> &str {
        self.meta_str("uid").unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as watches see it.
#[derive(Debug)]
pub struct Change {
    pub kind: EventType,
    pub gr: GroupResource,
    pub key: ObjectKey,
    pub object: Arc<StoredObject>,
    /// The object before the change (for selector transitions), if it existed.
    pub previous: Option<Arc<StoredObject>>,
}

/// What a write decided to do.
pub enum Write {
    Put(Value),
    Delete,
    /// Nothing changed: no new resourceVersion, no event.
    Unchanged,
}

/// The outcome of a write.
#[derive(Debug, Clone)]
pub enum Written {
    Stored(Arc<StoredObject>),
    Deleted(Arc<StoredObject>),
    /// A dry run: the object as it would have been (or was).
    DryRun(Value),
}

impl Written {
    pub fn value(&self) -> &Value {
        match self {
            Written::Stored(o) | Written::Deleted(o) => &o.value,
            Written::DryRun(v) => v,
        }
    }
}

struct Inner {
    rv: u64,
    tables: HashMap<GroupResource, BTreeMap<ObjectKey, Arc<StoredObject>>>,
    history: VecDeque<Arc<Change>>,
    /// Watches may start at any resourceVersion >= this one.
    oldest_watchable: u64,
    by_uid: HashMap<String, (GroupResource, ObjectKey)>,
    dependents: HashMap<String, BTreeSet<(GroupResource, ObjectKey)>>,
}

/// The cluster's state.
pub struct Store {
    inner: RwLock<Inner>,
    history_limit: usize,
    changes: broadcast::Sender<Arc<Change>>,
    /// Bumped by `compact`: open watches end, as when an API server restarts.
    epoch: watch::Sender<u64>,
    /// Woken on every committed write (persistence listens).
    pub committed: Notify,
}

/// The data persisted across restarts.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub resource_version: u64,
    pub objects: Vec<(GroupResource, Value)>,
}

impl Store {
    pub fn new(history_limit: usize) -> Self {
        let (changes, _) = broadcast::channel(65_536);
        let (epoch, _) = watch::channel(0);
        Self {
            inner: RwLock::new(Inner {
                rv: 1,
                tables: HashMap::new(),
                history: VecDeque::new(),
                oldest_watchable: 1,
                by_uid: HashMap::new(),
                dependents: HashMap::new(),
            }),
            history_limit: history_limit.max(16),
            changes,
            epoch,
            committed: Notify::new(),
        }
    }

    pub fn current_rv(&self) -> u64 {
        self.inner.read().rv
    }

    pub fn get(&self, gr: &GroupResource, key: &ObjectKey) -> Option<Arc<StoredObject>> {
        self.inner.read().tables.get(gr)?.get(key).cloned()
    }

    /// All objects of a resource (in one namespace when given), in key order, and the list's resourceVersion.
    pub fn list(
        &self,
        gr: &GroupResource,
        namespace: Option<&str>,
    ) -> (Vec<Arc<StoredObject>>, u64) {
        self.list_page(gr, namespace, None, usize::MAX, |_| true).0
    }

    /// A page of objects after `start_after` (exclusive) that pass `keep`, at most `limit` of them.
    /// Returns ((items, rv), the key of the last item when more remain, how many more remain).
    #[allow(clippy::type_complexity)]
    pub fn list_page(
        &self,
        gr: &GroupResource,
        namespace: Option<&str>,
        start_after: Option<&ObjectKey>,
        limit: usize,
        keep: impl Fn(&StoredObject) -> bool,
    ) -> ((Vec<Arc<StoredObject>>, u64), Option<ObjectKey>, usize) {
        use std::ops::Bound;
        let inner = self.inner.read();
        let rv = inner.rv;
        let Some(table) = inner.tables.get(gr) else {
            return ((Vec::new(), rv), None, 0);
        };
        let lower = match (start_after, namespace) {
            (Some(key), _) => Bound::Excluded(key.clone()),
            (None, Some(ns)) => Bound::Included(ObjectKey::new(ns, "")),
            (None, None) => Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut last_key = None;
        let mut remaining = 0usize;
        for (key, object) in table.range((lower, Bound::Unbounded)) {
            if let Some(ns) = namespace
                && key.namespace != ns
            {
                break;
            }
            if !keep(object) {
                continue;
            }
            if items.len() < limit {
                items.push(object.clone());
                last_key = Some(key.clone());
            } else {
                remaining += 1;
            }
        }
        let next = if remaining > 0 { last_key } else { None };
        ((items, rv), next, remaining)
    }

    /// Names of the resources that hold at least one object in `namespace`.
    pub fn namespaced_content(&self, namespace: &str) -> Vec<(GroupResource, ObjectKey)> {
        let inner = self.inner.read();
        let mut out = Vec::new();
        for (gr, table) in &inner.tables {
            for key in table.range(ObjectKey::new(namespace, "")..).map(|(k, _)| k) {
                if key.namespace != namespace {
                    break;
                }
                out.push((gr.clone(), key.clone()));
            }
        }
        out
    }

    pub fn by_uid(&self, uid: &str) -> Option<(GroupResource, ObjectKey)> {
        self.inner.read().by_uid.get(uid).cloned()
    }

    /// Objects whose ownerReferences name `owner_uid`.
    pub fn dependents_of(&self, owner_uid: &str) -> Vec<(GroupResource, ObjectKey)> {
        self.inner
            .read()
            .dependents
            .get(owner_uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Objects the garbage collector should look at: owners that still exist (they may be
    /// deleting in the foreground or orphaning) and dependents of owners that are gone.
    pub fn pending_gc(&self) -> Vec<(GroupResource, ObjectKey)> {
        let inner = self.inner.read();
        let mut out = Vec::new();
        for (owner, dependents) in &inner.dependents {
            match inner.by_uid.get(owner) {
                Some(found) => out.push(found.clone()),
                None => out.extend(dependents.iter().cloned()),
            }
        }
        out
    }

    /// Read-modify-write of one object under the store's lock. `decide` sees the current object and the
    /// resourceVersion the write will get.
    pub fn write(
        &self,
        gr: &GroupResource,
        key: &ObjectKey,
        dry_run: bool,
        decide: impl FnOnce(Option<&Arc<StoredObject>>) -> Result<Write, ApiError>,
    ) -> Result<Option<Written>, ApiError> {
        let mut inner = self.inner.write();
        let current = inner.tables.get(gr).and_then(|t| t.get(key)).cloned();
        let decision = decide(current.as_ref())?;
        if dry_run {
            return Ok(match decision {
                Write::Put(value) => Some(Written::DryRun(value)),
                Write::Delete => current.map(|c| Written::DryRun(c.value.clone())),
                Write::Unchanged => current.map(|c| Written::DryRun(c.value.clone())),
            });
        }
        let written = match decision {
            Write::Unchanged => return Ok(current.map(Written::Stored)),
            Write::Put(value) => {
                inner.rv += 1;
                let object = Arc::new(StoredObject::new(value, inner.rv));
                inner.index(gr, key, current.as_deref(), Some(&object));
                inner
                    .tables
                    .entry(gr.clone())
                    .or_default()
                    .insert(key.clone(), object.clone());
                let kind = if current.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                };
                self.publish(&mut inner, kind, gr, key, object.clone(), current);
                Written::Stored(object)
            }
            Write::Delete => {
                let Some(existing) = current else {
                    return Ok(None);
                };
                inner.rv += 1;
                let object = Arc::new(StoredObject::new(existing.value.clone(), inner.rv));
                inner.index(gr, key, Some(&existing), None);
                if let Some(table) = inner.tables.get_mut(gr) {
                    table.remove(key);
                }
                self.publish(
                    &mut inner,
                    EventType::Deleted,
                    gr,
                    key,
                    object.clone(),
                    Some(existing),
                );
                Written::Deleted(object)
            }
        };
        drop(inner);
        self.committed.notify_one();
        Ok(Some(written))
    }

    fn publish(
        &self,
        inner: &mut Inner,
        kind: EventType,
        gr: &GroupResource,
        key: &ObjectKey,
        object: Arc<StoredObject>,
        previous: Option<Arc<StoredObject>>,
    ) {
        let change = Arc::new(Change {
            kind,
            gr: gr.clone(),
            key: key.clone(),
            object,
            previous,
        });
        inner.history.push_back(change.clone());
        while inner.history.len() > self.history_limit {
            if let Some(old) = inner.history.pop_front() {
                inner.oldest_watchable = old.object.rv + 1;
            }
        }
        let _ = self.changes.send(change);
    }

    /// Start watching after `rv`: the changes since then (all resources) plus a live receiver.
    /// `Err` when `rv` is older than the history kept (the client must list again: 410 Gone).
    #[allow(clippy::type_complexity)]
    pub fn watch_from(
        &self,
        rv: u64,
    ) -> Result<
        (
            Vec<Arc<Change>>,
            broadcast::Receiver<Arc<Change>>,
            watch::Receiver<u64>,
        ),
        ApiError,
    > {
        let inner = self.inner.read();
        if rv + 1 < inner.oldest_watchable {
            return Err(ApiError::gone(format!(
                "too old resource version: {rv} ({})",
                inner.oldest_watchable.saturating_sub(1)
            )));
        }
        let backlog: Vec<Arc<Change>> = inner
            .history
            .iter()
            .filter(|c| c.object.rv > rv)
            .cloned()
            .collect();
        let receiver = self.changes.subscribe();
        Ok((backlog, receiver, self.epoch.subscribe()))
    }

    /// The objects of a resource and a subscription to every later change, taken atomically.
    #[allow(clippy::type_complexity)]
    pub fn list_and_subscribe(
        &self,
        gr: &GroupResource,
        namespace: Option<&str>,
    ) -> (
        Vec<Arc<StoredObject>>,
        u64,
        broadcast::Receiver<Arc<Change>>,
        watch::Receiver<u64>,
    ) {
        let inner = self.inner.read();
        let objects: Vec<Arc<StoredObject>> = inner
            .tables
            .get(gr)
            .map(|t| {
                t.iter()
                    .filter(|(k, _)| namespace.is_none_or(|ns| k.namespace == ns))
                    .map(|(_, o)| o.clone())
                    .collect()
            })
            .unwrap_or_default();
        (
            objects,
            inner.rv,
            self.changes.subscribe(),
            self.epoch.subscribe(),
        )
    }

    /// Subscribe to every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    /// Forget the watch history and end every open watch (as an etcd compaction plus API server restart would).
    pub fn compact(&self) {
        let mut inner = self.inner.write();
        inner.history.clear();
        inner.oldest_watchable = inner.rv + 1;
        drop(inner);
        self.epoch.send_modify(|e| *e += 1);
    }

    pub fn snapshot(&self) -> Snapshot {
        let inner = self.inner.read();
        let mut objects = Vec::new();
        let mut grs: Vec<&GroupResource> = inner.tables.keys().collect();
        grs.sort();
        for gr in grs {
            for object in inner.tables[gr].values() {
                objects.push((gr.clone(), object.value.clone()));
            }
        }
        Snapshot {
            resource_version: inner.rv,
            objects,
        }
    }

    /// Load a snapshot into an empty store (no events are sent).
    pub fn restore(&self, snapshot: Snapshot) {
        let mut inner = self.inner.write();
        inner.rv = snapshot.resource_version.max(1);
        inner.oldest_watchable = inner.rv + 1;
        for (gr, value) in snapshot.objects {
            let namespace = value
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            let name = value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let key = ObjectKey::new(namespace, name);
            let rv = value
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or(inner.rv);
            let object = Arc::new(StoredObject::new(value, rv));
            inner.index(&gr, &key, None, Some(&object));
            inner.tables.entry(gr).or_default().insert(key, object);
        }
    }
}

impl StoredObject {
    /// The uids its ownerReferences name.
    pub fn owner_uids(&self) -> Vec<String> {
        owner_uids(self)
    }
}

fn owner_uids(object: &StoredObject) -> Vec<String> {
    object
        .value
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid")?.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl Inner {
    fn index(
        &mut self,
        gr: &GroupResource,
        key: &ObjectKey,
        old: Option<&StoredObject>,
        new: Option<&StoredObject>,
    ) {
        if let Some(old) = old {
            self.by_uid.remove(old.uid());
            for owner in owner_uids(old) {
                if let Some(set) = self.dependents.get_mut(&owner) {
                    set.remove(&(gr.clone(), key.clone()));
                    if set.is_empty() {
                        self.dependents.remove(&owner);
                    }
                }
            }
        }
        if let Some(new) = new {
            if !new.uid().is_empty() {
                self.by_uid
                    .insert(new.uid().to_string(), (gr.clone(), key.clone()));
            }
            for owner in owner_uids(new) {
                self.dependents
                    .entry(owner)
                    .or_default()
                    .insert((gr.clone(), key.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default", "uid": name}})
    }

    #[test]
    fn writes_bump_the_resource_version_and_history_expires() {
        let store = Store::new(16);
        let gr = GroupResource::new("", "configmaps");
        for i in 0..40 {
            let key = ObjectKey::new("default", &format!("c{i}"));
            store
                .write(&gr, &key, false, |_| Ok(Write::Put(cm(&key.name))))
                .unwrap();
        }
        assert_eq!(store.current_rv(), 41);
        assert!(
            store.watch_from(2).is_err(),
            "history of 16 cannot serve rv 2"
        );
        let (backlog, _, _) = store.watch_from(35).unwrap();
        assert_eq!(backlog.len(), 6);
        let (items, rv) = store.list(&gr, Some("default"));
        assert_eq!((items.len(), rv), (40, 41));
    }

    #[test]
    fn pages_continue_where_they_stopped() {
        let store = Store::new(100);
        let gr = GroupResource::new("", "configmaps");
        for i in 0..10 {
            let key = ObjectKey::new("default", &format!("c{i}"));
            store
                .write(&gr, &key, false, |_| Ok(Write::Put(cm(&key.name))))
                .unwrap();
        }
        let ((page, _), next, remaining) = store.list_page(&gr, None, None, 4, |_| true);
        assert_eq!((page.len(), remaining), (4, 6));
        let ((page2, _), next2, _) = store.list_page(&gr, None, next.as_ref(), 100, |_| true);
        assert_eq!(page2.len(), 6);
        assert!(next2.is_none());
        assert_eq!(page2[0].meta_str("name"), Some("c4"));
    }

    #[test]
    fn owner_index_follows_owner_references() {
        let store = Store::new(100);
        let gr = GroupResource::new("", "configmaps");
        let key = ObjectKey::new("default", "child");
        let mut child = cm("child");
        child["metadata"]["ownerReferences"] =
            json!([{"uid": "parent-uid", "name": "p", "kind": "X", "apiVersion": "v1"}]);
        store
            .write(&gr, &key, false, |_| Ok(Write::Put(child)))
            .unwrap();
        assert_eq!(
            store.dependents_of("parent-uid"),
            vec![(gr.clone(), key.clone())]
        );
        store
            .write(&gr, &key, false, |_| Ok(Write::Delete))
            .unwrap();
        assert!(store.dependents_of("parent-uid").is_empty());
        assert!(store.by_uid("child").is_none());
    }
}
