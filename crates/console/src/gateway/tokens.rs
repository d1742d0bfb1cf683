//! Console tokens: 256 bits from the OS's CSPRNG, hex-encoded, single use, expiring unused after
//! a configurable time. Presented by the client as a websocket subprotocol
//! `vmdeck-console.<token>`, never in the URL.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// The subprotocol prefix that carries a token.
pub const TOKEN_PROTOCOL_PREFIX: &str = "vmdeck-console.";

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no console token was presented (subprotocol {TOKEN_PROTOCOL_PREFIX}<token>)")]
    Missing,
    /// Unknown, already used, or expired and swept: not told apart on purpose.
    #[error("the console token is unknown, used or expired")]
    Unknown,
    #[error("the console token expired")]
    Expired,
    #[error("the system's random source failed")]
    Random,
}

struct Entry<T> {
    value: T,
    issued: Instant,
}

/// Outstanding tokens and what each opens.
pub struct Tickets<T> {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry<T>>>,
}

impl<T> Tickets<T> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A fresh token for `value`.
    pub fn issue(&self, value: T) -> Result<String, TokenError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| TokenError::Random)?;
        let token = hex::encode(bytes);
        self.entries.lock().insert(
            token.clone(),
            Entry {
                value,
                issued: Instant::now(),
            },
        );
        Ok(token)
    }

    /// Take the value of `token` (it cannot be used again).
    pub fn redeem(&self, token: &str) -> Result<T, TokenError> {
        let entry = self
            .entries
            .lock()
            .remove(token)
            .ok_or(TokenError::Unknown)?;
        if entry.issued.elapsed() >= self.ttl {
            return Err(TokenError::Expired);
        }
        Ok(entry.value)
    }

    /// Drop `token` if still unused (its time is up); true when it was.
    pub fn expire(&self, token: &str) -> bool {
        self.entries.lock().remove(token).is_some()
    }

    pub fn outstanding(&self) -> usize {
        self.entries.lock().len()
    }
}

/// The token among the offered subprotocols.
pub fn token_from_protocols<'a>(offered: &[&'a str]) -> Result<&'a str, TokenError> {
    offered
        .iter()
        .find_map(|p| p.strip_prefix(TOKEN_PROTOCOL_PREFIX))
        .ok_or(TokenError::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_single_use_and_unguessable() {
        let tickets = Tickets::new(Duration::from_secs(60));
        let a = tickets.issue(1).unwrap();
        let b = tickets.issue(2).unwrap();
        assert_eq!(a.len(), 64, "256 bits in hex");
        assert_ne!(a, b);
        assert_eq!(tickets.redeem(&b), Ok(2));
        assert_eq!(tickets.redeem(&b), Err(TokenError::Unknown), "single use");
        assert_eq!(tickets.redeem("00"), Err(TokenError::Unknown));
        assert!(tickets.expire(&a));
        assert_eq!(tickets.redeem(&a), Err(TokenError::Unknown));
        assert_eq!(tickets.outstanding(), 0);
    }

    #[test]
    fn an_unused_token_expires() {
        let tickets = Tickets::new(Duration::ZERO);
        let token = tickets.issue(()).unwrap();
        assert_eq!(tickets.redeem(&token), Err(TokenError::Expired));
    }

    #[test]
    fn the_token_travels_as_a_subprotocol() {
        assert_eq!(
            token_from_protocols(&["binary", "vmdeck-console.abc"]),
            Ok("abc")
        );
        assert_eq!(token_from_protocols(&["binary"]), Err(TokenError::Missing));
    }
}
