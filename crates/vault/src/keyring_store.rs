//! OS keyring secret store (`keyring` crate; Secret Service on Linux), with clear unavailability errors.

use crate::secret_store::{SecretStore, SecretStoreError, StoreKind};
use crate::sensitive::Sensitive;

/// Keyring service name under which every VMDeck entry is filed.
pub const KEYRING_SERVICE: &str = "io.vmdeck.VMDeck";

/// Id of the throwaway entry written by [`KeyringStore::connect`] to prove the keyring works.
const PROBE_ID: &str = "vmdeck-keyring-probe";

/// Secrets in the OS keyring, one entry per cluster id.
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// Opens the keyring and proves it can store, read and delete an entry. Fails with a
    /// coded error (no session bus, no Secret Service, locked) when it cannot.
    pub fn connect() -> Result<Self, SecretStoreError> {
        Self::connect_with_service(KEYRING_SERVICE)
    }

    /// Like [`connect`](Self::connect) with another service name (tests use their own).
    pub fn connect_with_service(service: &str) -> Result<Self, SecretStoreError> {
        let store = Self {
            service: service.to_string(),
        };
        // Unique per call: several processes may probe the same keyring at once.
        let probe_id = format!(
            "{PROBE_ID}-{}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond()
        );
        let probe = Sensitive::new("probe".to_string());
        store.put(&probe_id, &probe)?;
        let read = store.get(&probe_id)?;
        store.delete(&probe_id)?;
        if read.as_ref().map(|r| r.expose()) != Some(probe.expose()) {
            return Err(SecretStoreError::Failed {
                detail: "a test entry could not be read back".to_string(),
            });
        }
        Ok(store)
    }

    fn entry(&self, id: &str) -> Result<keyring::Entry, SecretStoreError> {
        keyring::Entry::new(&self.service, id).map_err(translate)
    }
}

impl SecretStore for KeyringStore {
    fn kind(&self) -> StoreKind {
        StoreKind::OsKeyring
    }

    fn put(&self, id: &str, blob: &Sensitive<String>) -> Result<(), SecretStoreError> {
        self.entry(id)?
            .set_password(blob.expose())
            .map_err(translate)
    }

    fn get(&self, id: &str) -> Result<Option<Sensitive<String>>, SecretStoreError> {
        match self.entry(id)?.get_password() {
            Ok(secret) => Ok(Some(Sensitive::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(translate(err)),
        }
    }

    fn delete(&self, id: &str) -> Result<(), SecretStoreError> {
        match self.entry(id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(err) => Err(translate(err)),
        }
    }
}

/// Maps keyring errors to causes the user can act on. The keyring's messages carry no secrets.
pub fn translate(err: keyring::Error) -> SecretStoreError {
    let detail = format!("{err:?}");
    classify(&detail, matches!(err, keyring::Error::NoStorageAccess(_)))
}

fn classify(detail: &str, no_storage_access: bool) -> SecretStoreError {
    let lower = detail.to_lowercase();
    let detail = detail.chars().take(300).collect::<String>();
    if lower.contains("autolaunch")
        || lower.contains("dbus_session_bus_address")
        || lower.contains("session bus")
    {
        SecretStoreError::NoSessionBus { detail }
    } else if lower.contains("org.freedesktop.secrets")
        || lower.contains("serviceunknown")
        || lower.contains("service unknown")
    {
        SecretStoreError::NoSecretService { detail }
    } else if no_storage_access
        || lower.contains("islocked")
        || lower.contains("locked")
        || lower.contains("no default collection")
    {
        SecretStoreError::Locked { detail }
    } else {
        SecretStoreError::Failed { detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_messages_map_to_their_causes() {
        let bus = classify(
            "PlatformFailure(Dbus(D-Bus error: Unable to autolaunch a dbus-daemon without a $DISPLAY for X11))",
            false,
        );
        assert_eq!(bus.code(), "keyring_no_session_bus");
        let svc = classify(
            "PlatformFailure(Dbus(D-Bus error: The name org.freedesktop.secrets was not provided by any .service files))",
            false,
        );
        assert_eq!(svc.code(), "keyring_no_secret_service");
        assert_eq!(
            classify("NoStorageAccess(..)", true).code(),
            "keyring_locked"
        );
        assert_eq!(
            classify("PlatformFailure(IsLocked)", false).code(),
            "keyring_locked"
        );
        assert!(
            classify("PlatformFailure(IsLocked)", false)
                .to_string()
                .contains("session-only")
        );
        assert_eq!(classify("something else", false).code(), "keyring_failed");
    }
}
