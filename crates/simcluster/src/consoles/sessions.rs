//! One console session per VMI and stream, as virt-handler keeps them: a new connection closes
//! the one before it, unless the new one asked to `preserveSession`, which is then refused.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::watch;

/// Which stream of a VMI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Vnc,
    Serial,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Vnc => "vnc",
            Stream::Serial => "console",
        }
    }
}

/// A live session exists and the caller asked to preserve it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Active {} connection. Request denied.", if *.0 == Stream::Vnc { "VNC" } else { "console" })]
pub struct SessionActive(pub Stream);

type Key = (String, Stream);

struct Live {
    id: u64,
    close: watch::Sender<bool>,
}

/// The live sessions of every VMI (keyed by VMI uid).
#[derive(Default, Clone)]
pub struct Sessions {
    live: Arc<Mutex<HashMap<Key, Live>>>,
    next_id: Arc<AtomicU64>,
}

/// A live session; dropping it ends its registration.
pub struct Session {
    sessions: Sessions,
    key: Key,
    id: u64,
    /// Turns true when a newer session took over.
    pub replaced: watch::Receiver<bool>,
}

impl Sessions {
    /// Open a session for `vmi_uid`'s `stream`: closes the live one, or refuses when `preserve`.
    pub fn open(
        &self,
        vmi_uid: &str,
        stream: Stream,
        preserve: bool,
    ) -> Result<Session, SessionActive> {
        let key = (vmi_uid.to_string(), stream);
        let mut live = self.live.lock();
        if let Some(existing) = live.get(&key) {
            if preserve && !existing.close.is_closed() {
                return Err(SessionActive(stream));
            }
            let _ = existing.close.send(true);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (close, replaced) = watch::channel(false);
        live.insert(key.clone(), Live { id, close });
        Ok(Session {
            sessions: self.clone(),
            key,
            id,
            replaced,
        })
    }

    /// Is a session of `stream` live for `vmi_uid`?
    pub fn is_live(&self, vmi_uid: &str, stream: Stream) -> bool {
        self.live
            .lock()
            .get(&(vmi_uid.to_string(), stream))
            .is_some_and(|l| !l.close.is_closed())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let mut live = self.sessions.live.lock();
        if live.get(&self.key).is_some_and(|l| l.id == self.id) {
            live.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_session_replaces_the_old_unless_preserving() {
        let sessions = Sessions::default();
        let first = sessions.open("uid", Stream::Vnc, false).unwrap();
        assert_eq!(
            sessions.open("uid", Stream::Vnc, true).err(),
            Some(SessionActive(Stream::Vnc))
        );
        assert_eq!(
            SessionActive(Stream::Vnc).to_string(),
            "Active VNC connection. Request denied."
        );
        let serial = sessions.open("uid", Stream::Serial, true);
        assert!(serial.is_ok(), "streams are independent");
        let second = sessions.open("uid", Stream::Vnc, false).unwrap();
        assert!(*first.replaced.borrow());
        drop(first);
        assert!(
            sessions.is_live("uid", Stream::Vnc),
            "the old one's drop leaves the new one"
        );
        drop(second);
        assert!(!sessions.is_live("uid", Stream::Vnc));
        assert!(sessions.open("uid", Stream::Vnc, true).is_ok());
    }
}
