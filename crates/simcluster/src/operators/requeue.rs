//! A controller's requeues: one timer queue per controller, each object at most once (at its
//! earliest requested time), with a bound on how many wait; the resync covers anything dropped.

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;
use tokio_util::time::{DelayQueue, delay_queue};

use super::Key;

/// Objects that may wait in one controller's queue at once.
pub const MAX_PENDING: usize = 10_000;

#[derive(Default)]
struct Pending {
    queue: DelayQueue<Key>,
    index: HashMap<Key, (delay_queue::Key, Instant)>,
}

/// Asks a controller to look at an object again later.
#[derive(Clone)]
pub struct Requeue {
    pending: Option<Arc<Mutex<Pending>>>,
}

impl Requeue {
    /// A requeue that drops requests (synchronous settling needs none).
    pub fn none() -> Self {
        Self { pending: None }
    }

    /// A queue that `next_due` drains.
    pub fn queue() -> Self {
        Self {
            pending: Some(Arc::default()),
        }
    }

    /// Look at `key` again after `delay`; a key already waiting keeps the earlier of both times.
    pub fn after(&self, delay: Duration, key: Key) {
        let Some(pending) = &self.pending else {
            return;
        };
        let mut pending = pending.lock();
        let Pending { queue, index } = &mut *pending;
        let due = Instant::now() + delay;
        let full = index.len() >= MAX_PENDING;
        match index.get_mut(&key) {
            Some((_, at)) if *at <= due => {}
            Some((entry, at)) => {
                queue.reset_at(entry, due);
                *at = due;
            }
            None if full => {
                tracing::warn!(
                    object = ?key,
                    "requeue queue full ({MAX_PENDING}); the next resync covers the object"
                );
            }
            None => {
                let entry = queue.insert_at(key.clone(), due);
                index.insert(key, (entry, due));
            }
        }
    }

    /// How many objects wait.
    pub fn len(&self) -> usize {
        self.pending.as_ref().map_or(0, |p| p.lock().index.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn poll_due(&self, cx: &mut Context<'_>) -> Poll<Key> {
        let Some(pending) = &self.pending else {
            return Poll::Pending;
        };
        let mut pending = pending.lock();
        match pending.queue.poll_expired(cx) {
            Poll::Ready(Some(expired)) => {
                let key = expired.into_inner();
                pending.index.remove(&key);
                Poll::Ready(key)
            }
            // An empty queue answers Ready(None) without registering: wait for the next call.
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }

    /// The next object that is due (never resolves for `none()` or while nothing is due).
    pub async fn next_due(&self) -> Key {
        std::future::poll_fn(|cx| self.poll_due(cx)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::GroupResource;
    use crate::store::ObjectKey;

    fn key(name: &str) -> Key {
        (
            GroupResource::new("", "pods"),
            ObjectKey::new("default", name),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_waits_once_at_its_earliest_time() {
        let requeue = Requeue::queue();
        requeue.after(Duration::from_secs(5), key("a"));
        requeue.after(Duration::from_secs(1), key("a"));
        requeue.after(Duration::from_secs(9), key("a"));
        requeue.after(Duration::from_secs(2), key("b"));
        assert_eq!(requeue.len(), 2);
        let start = Instant::now();
        assert_eq!(requeue.next_due().await, key("a"));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        assert_eq!(requeue.next_due().await, key("b"));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert!(requeue.is_empty());
        let nothing = tokio::time::timeout(Duration::from_secs(60), requeue.next_due()).await;
        assert!(nothing.is_err(), "nothing else is due");
    }

    #[tokio::test(start_paused = true)]
    async fn the_queue_is_bounded() {
        let requeue = Requeue::queue();
        for i in 0..MAX_PENDING + 50 {
            requeue.after(Duration::from_secs(1), key(&format!("p{i}")));
        }
        assert_eq!(requeue.len(), MAX_PENDING);
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_added_while_waiting_wakes_the_waiter() {
        let requeue = Requeue::queue();
        let waiter = requeue.clone();
        let task = tokio::spawn(async move { waiter.next_due().await });
        tokio::task::yield_now().await;
        requeue.after(Duration::from_millis(10), key("late"));
        assert_eq!(task.await.unwrap(), key("late"));
    }

    #[tokio::test(start_paused = true)]
    async fn none_drops_requests() {
        let requeue = Requeue::none();
        requeue.after(Duration::ZERO, key("a"));
        assert!(requeue.is_empty());
    }
}
