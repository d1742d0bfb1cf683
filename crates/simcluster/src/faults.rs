//! Injected trouble for tests and benchmarks: a delay on every request and a reproducible share
//! of writes answered with 500, 429 (with Retry-After) or a dropped connection.

use std::time::Duration;

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::status::ApiError;

/// The settings that can change at run time (through the admin endpoint).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultSettings {
    pub latency_ms: u64,
    pub fault_rate: f64,
}

/// Settings that cannot be used (the message is the admin endpoint's answer).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    #[error("faultRate must be between 0 and 1, got {0}")]
    RateOutOfRange(f64),
}

/// What happens to one write.
#[derive(Debug)]
pub enum Fault {
    None,
    Answer(ApiError),
    DropConnection,
}

pub struct Faults {
    settings: Mutex<FaultSettings>,
    rng: Mutex<ChaCha8Rng>,
    /// Requests answered so far (benchmarks count what each client sends).
    requests: std::sync::atomic::AtomicU64,
}

impl Faults {
    pub fn new(settings: FaultSettings, seed: u64) -> Self {
        Self {
            settings: Mutex::new(settings),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            requests: Default::default(),
        }
    }

    pub fn settings(&self) -> FaultSettings {
        *self.settings.lock()
    }

    /// Change the settings; out-of-range rates are refused with the reason.
    pub fn set(&self, settings: FaultSettings) -> Result<(), FaultError> {
        if !(0.0..=1.0).contains(&settings.fault_rate) {
            return Err(FaultError::RateOutOfRange(settings.fault_rate));
        }
        *self.settings.lock() = settings;
        Ok(())
    }

    /// Counts one authenticated request and answers the delay it gets.
    pub fn admit(&self) -> Duration {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.latency()
    }

    /// Authenticated requests seen so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.settings.lock().latency_ms)
    }

    /// Decide the fate of one write. The sequence of decisions is fixed by the seed.
    pub fn draw(&self) -> Fault {
        let rate = self.settings.lock().fault_rate;
        if rate <= 0.0 {
            return Fault::None;
        }
        let mut rng = self.rng.lock();
        if rng.random::<f64>() >= rate {
            return Fault::None;
        }
        match rng.random_range(0..3) {
            0 => Fault::Answer(ApiError::internal("simcluster: injected fault")),
            1 => Fault::Answer(ApiError::too_many_requests(1)),
            _ => Fault::DropConnection,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcomes(seed: u64) -> Vec<String> {
        let faults = Faults::new(
            FaultSettings {
                latency_ms: 0,
                fault_rate: 0.5,
            },
            seed,
        );
        (0..200)
            .map(|_| match faults.draw() {
                Fault::None => "ok".to_string(),
                Fault::Answer(e) => e.code.to_string(),
                Fault::DropConnection => "drop".to_string(),
            })
            .collect()
    }

    #[test]
    fn same_seed_same_faults_and_the_rate_holds() {
        assert_eq!(outcomes(7), outcomes(7));
        assert_ne!(outcomes(7), outcomes(8));
        let faulty = outcomes(7).iter().filter(|o| *o != "ok").count();
        assert!(
            (70..=130).contains(&faulty),
            "about half of 200 writes fail, got {faulty}"
        );
        for kind in ["500", "429", "drop"] {
            assert!(outcomes(7).iter().any(|o| o == kind), "{kind} occurs");
        }
    }

    #[test]
    fn rates_outside_zero_to_one_are_refused() {
        let faults = Faults::new(
            FaultSettings {
                latency_ms: 0,
                fault_rate: 0.0,
            },
            1,
        );
        let refused = faults.set(FaultSettings {
            latency_ms: 0,
            fault_rate: 1.5,
        });
        assert_eq!(refused, Err(FaultError::RateOutOfRange(1.5)));
        assert_eq!(
            refused.unwrap_err().to_string(),
            "faultRate must be between 0 and 1, got 1.5"
        );
        assert!(matches!(faults.draw(), Fault::None));
    }
}
