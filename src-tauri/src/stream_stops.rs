//! Streams the page may stop: a stream started with a `stopKey` is registered here until it
//! ends, and `stop_stream {stopKey}` ends its forwarding, which closes the core's event queue so
//! the core's work (a watch) stops as it would when the window closes.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::oneshot;

#[derive(Default)]
pub struct StreamStops {
    running: Mutex<HashMap<u64, oneshot::Sender<()>>>,
}

/// A registered stream: `stopped` resolves when the page asks it to stop; dropping it
/// deregisters the key.
pub struct Registration<'a> {
    stops: &'a StreamStops,
    key: u64,
    stopped: oneshot::Receiver<()>,
}

impl Registration<'_> {
    /// Resolves when the page asks the stream to stop (`true`), or when its key was taken
    /// over by a newer stream (`false`).
    pub async fn stopped(&mut self) -> bool {
        (&mut self.stopped).await.is_ok()
    }
}

impl StreamStops {
    /// Registers a stream under the page's key (a key in use is taken over: its old stream can
    /// no longer be stopped by key, only by the window closing).
    pub fn register(&self, key: u64) -> Registration<'_> {
        let (stop, stopped) = oneshot::channel();
        self.lock().insert(key, stop);
        Registration {
            stops: self,
            key,
            stopped,
        }
    }

    /// Stops the stream registered under `key`; `false` when none runs.
    pub fn stop(&self, key: u64) -> bool {
        match self.lock().remove(&key) {
            Some(stop) => stop.send(()).is_ok(),
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<()>>> {
        // A panic while holding the lock leaves the map itself intact.
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.stopped.close();
        let mut running = self.stops.lock();
        // Only our own entry: a later stream may have taken the key over.
        if running.get(&self.key).is_some_and(|stop| stop.is_closed()) {
            running.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_registered_stream_is_stopped_by_its_key_once() {
        let stops = StreamStops::default();
        let mut registration = stops.register(7);
        assert!(!stops.stop(8), "no stream has key 8");
        assert!(stops.stop(7));
        assert!(registration.stopped().await, "the stop reaches the stream");
        assert!(!stops.stop(7), "a stopped stream is no longer registered");
    }

    #[test]
    fn a_stream_that_ends_is_forgotten() {
        let stops = StreamStops::default();
        drop(stops.register(3));
        assert!(!stops.stop(3));
        assert!(stops.lock().is_empty());
    }

    #[test]
    fn a_key_taken_over_stays_with_the_newer_stream() {
        let stops = StreamStops::default();
        let older = stops.register(5);
        let newer = stops.register(5);
        drop(older);
        assert!(stops.stop(5), "the newer stream is still registered");
        drop(newer);
    }
}
