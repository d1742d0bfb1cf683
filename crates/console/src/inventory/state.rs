//! The joined state: the latest VMs and VMIs by namespace/name, the rows they make, and which
//! rows a watch event changed. Re-lists (a watcher's `Init` .. `InitDone`) replace a kind whole.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::row::{RowKey, VmRow, join};

/// Which watch an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Vm,
    Vmi,
}

/// One watch event, objects as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A (re-)list begins.
    Init(Source),
    /// An object of the list in progress.
    InitApply(Source, Value),
    /// The list is complete: it replaces what was known of that kind.
    InitDone(Source),
    Apply(Source, Value),
    Delete(Source, Value),
}

#[derive(Default)]
struct Kind {
    objects: HashMap<RowKey, Value>,
    /// Objects of a list in progress.
    listing: Option<HashMap<RowKey, Value>>,
    synced: bool,
}

/// VMs, VMIs and the rows they join into.
#[derive(Default)]
pub struct State {
    vms: Kind,
    vmis: Kind,
    rows: HashMap<RowKey, VmRow>,
}

fn key_of(object: &Value) -> RowKey {
    let field = |name: &str| {
        object
            .pointer(&format!("/metadata/{name}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    RowKey::new(field("namespace"), field("name"))
}

impl State {
    /// Both kinds have been listed once: a snapshot means something.
    pub fn synced(&self) -> bool {
        self.vms.synced && self.vmis.synced
    }

    pub fn rows(&self) -> &HashMap<RowKey, VmRow> {
        &self.rows
    }

    fn kind(&mut self, source: Source) -> &mut Kind {
        match source {
            Source::Vm => &mut self.vms,
            Source::Vmi => &mut self.vmis,
        }
    }

    /// Apply one event; returns the keys whose row changed.
    pub fn apply(&mut self, input: Input) -> Vec<RowKey> {
        let touched: Vec<RowKey> = match input {
            Input::Init(source) => {
                self.kind(source).listing = Some(HashMap::new());
                Vec::new()
            }
            Input::InitApply(source, object) => {
                let key = key_of(&object);
                let kind = self.kind(source);
                kind.listing
                    .get_or_insert_with(HashMap::new)
                    .insert(key, object);
                Vec::new()
            }
            Input::InitDone(source) => {
                let kind = self.kind(source);
                let listed = kind.listing.take().unwrap_or_default();
                let old = std::mem::replace(&mut kind.objects, listed);
                kind.synced = true;
                let mut keys: HashSet<RowKey> = old.into_keys().collect();
                keys.extend(kind.objects.keys().cloned());
                keys.into_iter().collect()
            }
            Input::Apply(source, object) => {
                let key = key_of(&object);
                self.kind(source).objects.insert(key.clone(), object);
                vec![key]
            }
            Input::Delete(source, object) => {
                let key = key_of(&object);
                self.kind(source).objects.remove(&key);
                vec![key]
            }
        };
        touched
            .into_iter()
            .filter(|key| self.refresh(key))
            .collect()
    }

    /// Recompute one row; true when it changed.
    fn refresh(&mut self, key: &RowKey) -> bool {
        let row = join(self.vms.objects.get(key), self.vmis.objects.get(key));
        match row {
            Some(row) => {
                if self.rows.get(key) == Some(&row) {
                    return false;
                }
                self.rows.insert(key.clone(), row);
                true
            }
            None => self.rows.remove(key).is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(name: &str, status: &str) -> Value {
        json!({"metadata": {"namespace": "dev", "name": name}, "spec": {"runStrategy": "Halted"},
            "status": {"printableStatus": status}})
    }

    #[test]
    fn rows_appear_change_and_go() {
        let mut state = State::default();
        assert!(state.apply(Input::Init(Source::Vm)).is_empty());
        assert!(
            state
                .apply(Input::InitApply(Source::Vm, object("a", "Stopped")))
                .is_empty()
        );
        assert_eq!(
            state.apply(Input::InitDone(Source::Vm)),
            [RowKey::new("dev", "a")]
        );
        assert!(!state.synced(), "VMIs not listed yet");
        state.apply(Input::InitDone(Source::Vmi));
        assert!(state.synced());
        assert!(
            state
                .apply(Input::Apply(Source::Vm, object("a", "Stopped")))
                .is_empty(),
            "an unchanged row is no change"
        );
        assert_eq!(
            state
                .apply(Input::Apply(Source::Vm, object("a", "Starting")))
                .len(),
            1
        );
        assert_eq!(state.rows()[&RowKey::new("dev", "a")].status, "Starting");
        // A re-list without "a" removes it.
        state.apply(Input::Init(Source::Vm));
        state.apply(Input::InitApply(Source::Vm, object("b", "Stopped")));
        let mut changed = state.apply(Input::InitDone(Source::Vm));
        changed.sort();
        assert_eq!(changed, [RowKey::new("dev", "a"), RowKey::new("dev", "b")]);
        assert!(!state.rows().contains_key(&RowKey::new("dev", "a")));
        assert_eq!(
            state
                .apply(Input::Delete(Source::Vm, object("b", "")))
                .len(),
            1
        );
        assert!(state.rows().is_empty());
    }
}
