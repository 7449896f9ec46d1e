//! Child processes a daemon runs for others (the HA callout, helper
//! scripts), with bounds: at most [`MAX_RUNNING`] run at once and at most
//! [`MAX_QUEUED`] wait; more are dropped with a warning, so that a flood
//! of requests from the network never forks without bound. The reactor
//! reaps them and reports each exit (`Event::ChildExited`); pass it on to
//! [`ChildQueue::exited`].

use crate::reactor::Context;
use std::collections::VecDeque;
use std::process::Command;

/// Most children running at once.
pub const MAX_RUNNING: usize = 16;

/// Most children waiting to run.
pub const MAX_QUEUED: usize = 1024;

/// Runs commands with a bound on how many run and wait.
#[derive(Debug)]
pub struct ChildQueue {
    /// What the children are, for the log (`"HA callout"`).
    what: &'static str,
    running: usize,
    queue: VecDeque<Command>,
    dropped: u64,
}

impl ChildQueue {
    /// An empty queue of children that the log calls `what`.
    pub fn new(what: &'static str) -> ChildQueue {
        ChildQueue {
            what,
            running: 0,
            queue: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Runs `cmd` now if fewer than [`MAX_RUNNING`] run, else queues it
    /// (or drops it when [`MAX_QUEUED`] wait already).
    pub fn submit(&mut self, cx: &mut Context<'_>, cmd: Command) {
        if self.running < MAX_RUNNING {
            self.spawn(cx, cmd);
        } else if self.queue.len() < MAX_QUEUED {
            self.queue.push_back(cmd);
        } else {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                log::warn!(
                    "{} queue full ({MAX_QUEUED} waiting); {} dropped",
                    self.what,
                    self.dropped
                );
            }
        }
    }

    /// One of our children exited: start the next one waiting.
    pub fn exited(&mut self, cx: &mut Context<'_>) {
        self.running = self.running.saturating_sub(1);
        if let Some(cmd) = self.queue.pop_front() {
            self.spawn(cx, cmd);
        }
    }

    /// Commands dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn spawn(&mut self, cx: &mut Context<'_>, cmd: Command) {
        match cx.spawn(cmd) {
            Ok(_) => self.running += 1,
            Err(e) => log::warn!("cannot run the {}: {e}", self.what),
        }
    }
}
