//! Where the reactor gets the time: the real monotonic clock, or a manual one
//! that tests move by hand so timers fire in virtual time without sleeping.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The longest a reactor on a [`ManualClock`] waits for I/O while a timer is
/// pending: virtual time only moves when a test moves it, so the reactor
/// re-reads the clock this often instead of sleeping until the deadline.
const MANUAL_POLL: Duration = Duration::from_millis(10);

/// A monotonic time source.
pub trait Clock {
    /// The current instant.
    fn now(&self) -> Instant;

    /// How long the reactor may block in `poll` before the timer due at
    /// `deadline` must fire. The default is the real time left until it.
    fn wait_until(&self, deadline: Instant) -> Duration {
        deadline.saturating_duration_since(self.now())
    }
}

/// The operating system's monotonic clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to. Clones share one time, so a test
/// keeps a handle after giving one to the reactor.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Instant>>,
}

impl ManualClock {
    /// A manual clock reading `start`.
    pub fn new(start: Instant) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock to `to`; a monotonic clock should only be set forward.
    pub fn set(&self, to: Instant) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new(Instant::now())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Never sleeps toward a virtual deadline: a due timer gives zero, a
    /// future one a short real wait so I/O keeps flowing meanwhile.
    fn wait_until(&self, deadline: Instant) -> Duration {
        if deadline <= self.now() {
            Duration::ZERO
        } else {
            MANUAL_POLL
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_time() {
        let start = Instant::now();
        let clock = ManualClock::new(start);
        let handle = clock.clone();
        assert_eq!(clock.now(), start);
        handle.advance(Duration::from_secs(15));
        assert_eq!(clock.now(), start + Duration::from_secs(15));
        handle.set(start + Duration::from_secs(90));
        assert_eq!(clock.now(), start + Duration::from_secs(90));
    }

    #[test]
    fn manual_clock_never_waits_for_virtual_time() {
        let clock = ManualClock::new(Instant::now());
        let now = clock.now();
        assert_eq!(clock.wait_until(now), Duration::ZERO);
        assert_eq!(
            clock.wait_until(now + Duration::from_secs(3600)),
            MANUAL_POLL
        );
    }

    #[test]
    fn system_clock_waits_for_the_remaining_time() {
        let clock = SystemClock;
        let wait = clock.wait_until(clock.now() + Duration::from_secs(10));
        assert!(wait <= Duration::from_secs(10) && wait > Duration::from_secs(9));
        assert_eq!(clock.wait_until(clock.now()), Duration::ZERO);
    }
}
