//! Retrying a request the server may answer better next time: 5xx, 429 (after `Retry-After`
//! when the server says), connection resets and timeouts; with exponential backoff and jitter.
//! A 4xx (validation, forbidden, conflict) is never retried: it names a problem to fix.

use std::time::Duration;

/// How often and how patiently a request is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 10,
            first_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(3),
        }
    }
}

/// Whether an error is worth another try, and how long the server asked to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Retry { after: Option<Duration> },
    GiveUp,
}

/// Judges a kube error.
pub fn verdict(error: &kube::Error) -> Verdict {
    match error {
        kube::Error::Api(status) => match status.code {
            429 | 500..=599 => Verdict::Retry {
                after: status
                    .details
                    .as_ref()
                    .map(|d| d.retry_after_seconds)
                    .filter(|s| *s > 0)
                    .map(|s| Duration::from_secs(u64::from(s))),
            },
            _ => Verdict::GiveUp,
        },
        // The connection failed or dropped, or the response could not be read whole.
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
            Verdict::Retry { after: None }
        }
        // A body cut short reads as invalid JSON.
        kube::Error::SerdeError(_) => Verdict::Retry { after: None },
        _ => Verdict::GiveUp,
    }
}

impl RetryPolicy {
    /// The pause before retry number `attempt` (1-based): doubling from `first_delay`, capped, with
    /// full jitter so that concurrent retries spread out; the server's `Retry-After` wins when longer.
    pub fn delay(&self, attempt: u32, server_asked: Option<Duration>) -> Duration {
        let doubled = self
            .first_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = doubled.min(self.max_delay);
        let jittered = cap.mul_f64(0.5 + fastrand::f64() * 0.5);
        server_asked.map_or(jittered, |asked| asked.max(jittered))
    }

    /// Runs `attempt` until it succeeds, fails with an error not worth retrying, or runs out of
    /// attempts; `on_retry` hears of each retry (for progress). Returns the last error and the
    /// number of attempts made.
    pub async fn run<T, F, Fut>(
        &self,
        mut attempt: F,
        mut on_retry: impl FnMut(u32, &kube::Error),
    ) -> Result<T, (kube::Error, u32)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let mut made = 0;
        loop {
            made += 1;
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) => match verdict(&error) {
                    Verdict::Retry { after } if made < self.attempts => {
                        on_retry(made, &error);
                        tokio::time::sleep(self.delay(made, after)).await;
                    }
                    _ => return Err((error, made)),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(Status::failure("nope", "Reason").with_code(code)))
    }

    #[test]
    fn server_errors_and_throttling_are_retried_validation_never() {
        assert!(matches!(verdict(&api(500)), Verdict::Retry { .. }));
        assert!(matches!(verdict(&api(503)), Verdict::Retry { .. }));
        assert!(matches!(verdict(&api(429)), Verdict::Retry { .. }));
        for code in [400, 403, 404, 409, 422] {
            assert_eq!(verdict(&api(code)), Verdict::GiveUp, "{code}");
        }
    }

    #[test]
    fn delays_double_up_to_the_cap_and_respect_retry_after() {
        let policy = RetryPolicy::default();
        for attempt in 1..12 {
            let delay = policy.delay(attempt, None);
            assert!(delay <= policy.max_delay, "{attempt}: {delay:?}");
            assert!(delay >= policy.first_delay / 2, "{attempt}: {delay:?}");
        }
        assert!(policy.delay(6, None) >= Duration::from_millis(800));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn run_retries_until_success_and_stops_at_a_4xx() {
        let policy = RetryPolicy::default();
        let mut calls = 0;
        let mut retries = Vec::new();
        let answer = policy
            .run(
                || {
                    calls += 1;
                    let now = calls;
                    async move { if now < 3 { Err(api(503)) } else { Ok(now) } }
                },
                |n, _| retries.push(n),
            )
            .await
            .unwrap();
        assert_eq!((answer, retries), (3, vec![1, 2]));
        let mut calls = 0;
        let (error, made) = policy
            .run(
                || {
                    calls += 1;
                    async { Err::<(), _>(api(422)) }
                },
                |_, _| {},
            )
            .await
            .unwrap_err();
        assert_eq!((made, calls), (1, 1));
        assert!(matches!(error, kube::Error::Api(s) if s.code == 422));
    }
}
