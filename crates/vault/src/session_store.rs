//! In-memory secret store for session-only mode: secrets vanish when the process exits.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::secret_store::{SecretStore, SecretStoreError, StoreKind};
use crate::sensitive::Sensitive;

/// Keeps blobs in process memory only.
#[derive(Default)]
pub struct SessionStore {
    blobs: Mutex<HashMap<String, Sensitive<String>>>,
}

impl SessionStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Sensitive<String>>> {
        // A poisoned map still holds valid data: keep using it.
        self.blobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SecretStore for SessionStore {
    fn kind(&self) -> StoreKind {
        StoreKind::SessionOnly
    }

    fn put(&self, id: &str, blob: &Sensitive<String>) -> Result<(), SecretStoreError> {
        self.lock().insert(id.to_string(), blob.clone());
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<Sensitive<String>>, SecretStoreError> {
        Ok(self.lock().get(id).cloned())
    }

    fn delete(&self, id: &str) -> Result<(), SecretStoreError> {
        self.lock().remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_round_trip() {
        let store = SessionStore::new();
        assert!(store.get("a").unwrap().is_none());
        store.put("a", &Sensitive::new("blob".into())).unwrap();
        assert_eq!(store.get("a").unwrap().unwrap().expose(), "blob");
        store.delete("a").unwrap();
        store.delete("a").unwrap();
        assert!(store.get("a").unwrap().is_none());
    }
}
