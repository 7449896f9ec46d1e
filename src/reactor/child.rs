//! Child processes watched through a pidfd: the pidfd turns readable when
//! the child exits, so no SIGCHLD handler is needed. The `Child` stays here
//! and is reaped with `try_wait` when that happens.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::process::{Child, Command, ExitStatus};

use rustix::process::{pidfd_open, Pid, PidfdFlags};

/// A running child and its pidfd.
#[derive(Debug)]
pub(crate) struct ChildProc {
    child: Child,
    pidfd: OwnedFd,
}

impl ChildProc {
    /// Spawns `cmd` and opens its pidfd. If the pidfd cannot be opened the
    /// child is killed and reaped before the error is returned.
    pub(crate) fn spawn(mut cmd: Command) -> io::Result<ChildProc> {
        let mut child = cmd.spawn()?;
        match pidfd_open(Pid::from_child(&child), PidfdFlags::NONBLOCK) {
            Ok(pidfd) => Ok(ChildProc { child, pidfd }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e.into())
            }
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.pidfd.as_raw_fd()
    }

    /// The exit status once the child has exited (reaping it).
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Sends SIGKILL.
    pub(crate) fn kill(&mut self) -> io::Result<()> {
        self.child.kill()
    }
}
