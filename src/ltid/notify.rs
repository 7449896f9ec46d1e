//! `shared_drive_notify DRIVE SCAN_HOST OPERATION`, run on each
//! transition when it is installed: one run at a time, in the order of
//! the transitions, each killed after `NOTIFY_TIMEOUT`.

use super::dlog::Level;
use super::module::LtidModule;
use crate::reactor::{ChildId, Context, TimerId};
use std::process::{Command, ExitStatus, Stdio};

/// Most `shared_drive_notify` runs waiting.
pub const MAX_NOTIFY_QUEUE: usize = 256;

impl LtidModule {
    /// Queues `shared_drive_notify DRIVE SCAN_HOST OP` (if it is
    /// installed): the runs go one at a time, in the order of the
    /// transitions, at most [`MAX_NOTIFY_QUEUE`] waiting.
    pub(super) fn notify(&mut self, cx: &mut Context<'_>, drive: &str, scan_host: &str, op: &str) {
        if !self.paths.notify_script().is_file() {
            return;
        }
        if self.notify_queue.len() >= MAX_NOTIFY_QUEUE {
            self.dlog.line(
                Level::WARN,
                "shared_drive_notify",
                &format!("{MAX_NOTIFY_QUEUE} runs waiting; {drive} {scan_host} {op} dropped"),
            );
            return;
        }
        self.notify_queue
            .push_back([drive.to_string(), scan_host.to_string(), op.to_string()]);
        self.next_notify(cx);
    }

    /// Starts the next queued `shared_drive_notify` unless one runs.
    fn next_notify(&mut self, cx: &mut Context<'_>) {
        while self.notifying.is_empty() {
            let Some(args) = self.notify_queue.pop_front() else {
                return;
            };
            let mut cmd = Command::new(self.paths.notify_script());
            cmd.args(&args).stdin(Stdio::null());
            let what = format!("shared_drive_notify {}", args.join(" "));
            match cx.spawn(cmd) {
                Ok((child, pid)) => {
                    self.dlog.line(
                        Level::INFO,
                        "shared_drive_notify",
                        &format!("{what}: pid {pid}"),
                    );
                    let timer = cx.set_timer(cx.now() + self.settings.conf.notify_timeout);
                    self.notifying.insert(child, (timer, what));
                }
                Err(e) => self.dlog.line(
                    Level::WARN,
                    "shared_drive_notify",
                    &format!("cannot run {what}: {e}"),
                ),
            }
        }
    }

    /// A timer of a run fired: it is killed (its exit follows).
    pub(super) fn notify_timed_out(&mut self, cx: &mut Context<'_>, t: TimerId) {
        let late: Vec<ChildId> = self
            .notifying
            .iter()
            .filter(|(_, (timer, _))| *timer == t)
            .map(|(c, _)| *c)
            .collect();
        for child in late {
            if let Some((_, what)) = self.notifying.get(&child) {
                let limit = self.settings.conf.notify_timeout.as_secs();
                self.dlog.line(
                    Level::WARN,
                    "shared_drive_notify",
                    &format!("{what}: still running after {limit} s, killed"),
                );
            }
            let _ = cx.kill_child(child);
        }
    }

    /// Whether `child` was a run: its status is logged and the next starts.
    pub(super) fn notify_exited(
        &mut self,
        cx: &mut Context<'_>,
        child: ChildId,
        status: &ExitStatus,
    ) -> bool {
        let Some((timer, what)) = self.notifying.remove(&child) else {
            return false;
        };
        cx.cancel_timer(timer);
        let level = if status.success() {
            Level::INFO
        } else {
            Level::WARN
        };
        self.dlog
            .line(level, "shared_drive_notify", &format!("{what}: {status}"));
        self.next_notify(cx);
        true
    }
}
