//! Which saved clusters the UI checks when the app starts: the demo cluster and the recently used ones.

use std::time::{Duration, SystemTime};

/// How recent a cluster's last successful check must be for it to be checked at start: 7 days.
pub const RECENT_USE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Should the UI check this cluster's connection as soon as the app starts?
///
/// Yes for the demo cluster (it runs inside the app) and for a cluster whose last successful
/// check (`last_used`) is at most [`RECENT_USE`] old. Any other cluster waits for the user's
/// "Check", so starting VMDeck does not reach out to (and wait on) clusters nobody uses any more.
/// A `last_used` later than `now` (the clock was set back) counts as recent.
pub fn check_at_start(last_used: Option<SystemTime>, simulated: bool, now: SystemTime) -> bool {
    if simulated {
        return true;
    }
    last_used.is_some_and(|used| {
        now.duration_since(used)
            .map_or(true, |age| age <= RECENT_USE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 60 * 60);

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
    }

    #[test]
    fn a_cluster_used_yesterday_is_checked() {
        assert!(check_at_start(Some(now() - DAY), false, now()));
    }

    #[test]
    fn a_cluster_used_30_days_ago_is_not_checked() {
        assert!(!check_at_start(Some(now() - 30 * DAY), false, now()));
    }

    #[test]
    fn a_cluster_never_used_is_not_checked() {
        assert!(!check_at_start(None, false, now()));
    }

    #[test]
    fn the_limit_is_seven_days_inclusive() {
        assert!(check_at_start(Some(now() - RECENT_USE), false, now()));
        assert!(!check_at_start(
            Some(now() - RECENT_USE - Duration::from_secs(1)),
            false,
            now()
        ));
    }

    #[test]
    fn the_demo_cluster_is_always_checked() {
        assert!(check_at_start(None, true, now()));
        assert!(check_at_start(Some(now() - 30 * DAY), true, now()));
    }

    #[test]
    fn a_last_use_after_now_counts_as_recent() {
        assert!(check_at_start(Some(now() + DAY), false, now()));
    }
}
