//! The wall clock, read in one place. Daemon cores never read it: they get
//! the time as an argument (tests drive virtual time), and the reactor's
//! monotonic clock times everything that waits. The wall clock is only for
//! what is stored or shown: state numbers derived from the date, progress
//! records, log lines, portmapper uptime.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch (zero if the clock reads earlier).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Whole seconds since the Unix epoch (0 if the clock reads earlier).
pub fn unix_now() -> u64 {
    since_epoch().as_secs()
}
