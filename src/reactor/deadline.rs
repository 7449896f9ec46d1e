//! [`Deadline`]: one timer that follows a sans-IO engine's `poll_timeout`.
//! Glue code asks the engine when it next needs the clock after every
//! event, and keeps exactly one reactor timer at that instant: re-armed
//! only when the instant changes, gone when the engine needs none.

use super::{Context, TimerId};
use std::time::Instant;

/// One re-armable timer; empty until [`Deadline::follow`] arms it.
#[derive(Debug, Default)]
pub struct Deadline {
    armed: Option<(TimerId, Instant)>,
}

impl Deadline {
    /// Makes the timer fire at `at` (`None`: not at all). Nothing changes
    /// when it is already armed for `at`; otherwise the old timer is
    /// cancelled and a new one set.
    pub fn follow(&mut self, cx: &mut Context<'_>, at: Option<Instant>) {
        if self.armed.map(|(_, when)| when) == at {
            return;
        }
        if let Some((id, _)) = self.armed.take() {
            cx.cancel_timer(id);
        }
        if let Some(at) = at {
            self.armed = Some((cx.set_timer(at), at));
        }
    }

    /// Whether `timer` is this deadline firing; if it is, the deadline is
    /// disarmed (call [`Deadline::follow`] again after handling it).
    pub fn fired(&mut self, timer: TimerId) -> bool {
        let ours = self.armed.is_some_and(|(id, _)| id == timer);
        if ours {
            self.armed = None;
        }
        ours
    }
}
