//! The test suites' one way to wait: poll a condition until it holds (or fail naming it after
//! [`WAIT_LIMIT`]), and retry an operation only while it fails with the error the test expects.
//! Used by dev-dependencies only; nothing here sleeps for a fixed time as synchronisation.
//! [`ws::Bytes`] reads a console websocket's binary frames as one stream of bytes;
//! [`proxy_rig`] starts real haproxy (SNI router) and tinyproxy (CONNECT proxy) on loopback.

pub mod proxy_rig;
pub mod ws;

use std::fmt::Debug;
use std::time::Duration;

use tokio::time::Instant;

/// The upper bound of every wait: generous for a loaded 2-core CI machine. A wait returns as soon
/// as its condition holds, so the limit costs nothing when things work.
pub const WAIT_LIMIT: Duration = Duration::from_secs(20);

/// How often a condition is looked at again.
const POLL_EVERY: Duration = Duration::from_millis(25);

/// Polls `check` until it yields a value; panics naming `what` after [`WAIT_LIMIT`].
pub async fn eventually<T>(what: &str, check: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_within(WAIT_LIMIT, what, check).await
}

/// [`eventually`] with its own limit, for conditions known to take long (a VM booting in qemu).
pub async fn eventually_within<T>(
    limit: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// [`eventually`] for a yes/no condition.
pub async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    eventually(what, async || check().await.then_some(())).await
}

/// Runs `attempt` until it succeeds, retrying only while its error is one `expected` accepts (say a
/// 404 while a CRD is being established); any other error, or the expected one after
/// [`WAIT_LIMIT`], panics naming `what` and the error.
pub async fn retry_expected<T, E: Debug>(
    what: &str,
    expected: impl Fn(&E) -> bool,
    attempt: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    retry_expected_within(WAIT_LIMIT, what, expected, attempt).await
}

/// [`retry_expected`] with its own limit.
pub async fn retry_expected_within<T, E: Debug>(
    limit: Duration,
    what: &str,
    expected: impl Fn(&E) -> bool,
    mut attempt: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(error) if expected(&error) && Instant::now() < deadline => {
                tokio::time::sleep(POLL_EVERY).await;
            }
            Err(error) if expected(&error) => {
                panic!("{what}: still failing after {limit:?}: {error:?}")
            }
            Err(error) => panic!("{what}: {error:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn eventually_returns_what_the_condition_found() {
        let mut polls = 0;
        let found = eventually("the third poll", async || {
            polls += 1;
            (polls == 3).then_some(polls)
        })
        .await;
        assert_eq!(found, 3);
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "timed out after 20s waiting for a condition that never holds")]
    async fn eventually_fails_naming_the_condition() {
        eventually("a condition that never holds", async || None::<()>).await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_expected_error_is_retried() {
        let mut attempts = 0;
        let value = retry_expected(
            "creating",
            |code: &u16| *code == 404,
            async || {
                attempts += 1;
                if attempts < 3 {
                    Err(404)
                } else {
                    Ok("created")
                }
            },
        )
        .await;
        assert_eq!((value, attempts), ("created", 3));
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "creating: 500")]
    async fn any_other_error_fails_at_once() {
        retry_expected(
            "creating",
            |code: &u16| *code == 404,
            async || Err::<(), u16>(500),
        )
        .await;
    }
}
