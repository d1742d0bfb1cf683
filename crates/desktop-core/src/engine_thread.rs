//! Runs the installer engine's work on a blocking thread of the current runtime. The engine's
//! futures hold borrows inside stream combinators whose `Send` rustc cannot prove for the
//! higher-ranked lifetimes the transports need, so they are built and driven there; dropping the
//! returned future cancels the work at its next await (requests in flight are dropped with it).

use std::future::Future;

use tokio::sync::oneshot;

use crate::ui_error::UiError;

/// Builds the future with `work` on a blocking thread and drives it there to its end, or until
/// the caller's future is dropped.
pub(crate) async fn on_engine_thread<T, F, Fut>(work: F) -> Result<T, UiError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    let (cancel, cancelled) = oneshot::channel::<()>();
    let task = tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            tokio::select! {
                out = work() => Some(out),
                _ = cancelled => None,
            }
        })
    });
    // Dropped with this future: the engine thread then stops the work.
    let _cancel = cancel;
    match task.await {
        Ok(Some(out)) => Ok(out),
        Ok(None) => Err(UiError::new("cancelled", "the work was cancelled")),
        Err(err) => Err(UiError::internal(err)),
    }
}
