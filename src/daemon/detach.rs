//! Detaching from the terminal with a readiness handshake, and the first
//! steps of every daemon process ([`start_as`]).
//!
//! [`detach`] forks once. The parent waits on a pipe and exits 0 only when the
//! child reports that it serves (init systems use `Type=forking` and take the
//! parent's exit as "started"), or prints the child's error and exits 1. The
//! child starts a new session and points its standard streams at /dev/null.

use crate::sys::{self, Forked};
use rustix::fs::{Mode, OFlags};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;

/// The child's end of the readiness pipe.
#[derive(Debug)]
pub struct ReadyPipe(File);

impl ReadyPipe {
    /// Tells the waiting parent that the daemon serves; the parent exits 0.
    pub fn ready(mut self) {
        let _ = self.0.write_all(b"ready\n");
    }

    /// Tells the waiting parent why the daemon could not start; the parent
    /// prints `msg` and exits 1.
    pub fn failed(mut self, msg: &str) {
        let _ = self.0.write_all(format!("error: {msg}\n").as_bytes());
    }
}

/// A module's start result, told to the waiting parent (taking `ready`)
/// when it is an error; returned as it is.
pub fn report_start(ready: &mut Option<ReadyPipe>, started: io::Result<()>) -> io::Result<()> {
    if let Err(e) = &started {
        if let Some(pipe) = ready.take() {
            pipe.failed(&e.to_string());
        }
    }
    started
}

/// Forks into the background. Returns in the child only; the parent waits for
/// the child's report and exits the process.
///
/// Call while the process is single-threaded (before the reactor starts).
pub fn detach(prog: &str) -> io::Result<ReadyPipe> {
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    match sys::fork()? {
        Forked::Parent(pid) => {
            drop(wr);
            std::process::exit(wait_for_child(prog, pid, rd));
        }
        Forked::Child => {
            drop(rd);
            rustix::process::setsid()?;
            let null = rustix::fs::open("/dev/null", OFlags::RDWR, Mode::empty())?;
            rustix::stdio::dup2_stdin(&null)?;
            rustix::stdio::dup2_stdout(&null)?;
            rustix::stdio::dup2_stderr(&null)?;
            std::env::set_current_dir("/")?;
            Ok(ReadyPipe(File::from(wr)))
        }
    }
}

fn wait_for_child(prog: &str, pid: u32, rd: OwnedFd) -> i32 {
    let mut report = String::new();
    let _ = File::from(rd).read_to_string(&mut report);
    match report.lines().next() {
        Some("ready") => 0,
        Some(line) => {
            eprintln!("{prog}: {}", line.trim_start_matches("error: "));
            1
        }
        None => {
            eprintln!("{prog}: the daemon (pid {pid}) exited before it was ready");
            1
        }
    }
}

/// Makes a freshly started process look and behave like the daemon `name`
/// to the scripts around it, before it does anything else:
///
/// - every descriptor above 2 it inherited is closed: nfs-common's
///   `start-statd` execs `rpc.statd` holding its `flock` on
///   `/run/rpc.statd.lock` as fd 9, and a daemon that kept it would make
///   every later `start-statd` wait for ever;
/// - its command name (`/proc/PID/comm`, what `pgrep` and `ps -o comm`
///   show) becomes `name` (the kernel keeps its first 15 bytes), so that
///   `statmon rpc.statd ...` is found by `pgrep -x rpc.statd` as the
///   installed `rpc.statd` is.
///
/// Call it first thing in `main`, while the process has one thread and
/// owns no descriptor above 2. A failure is reported on stderr and the
/// daemon starts anyway: neither step is needed to serve.
pub fn start_as(name: &str) {
    if let Err(e) = sys::close_fds_from(3) {
        eprintln!("{name}: cannot close inherited descriptors: {e}");
    }
    let Ok(comm) = std::ffi::CString::new(name) else {
        return;
    };
    if let Err(e) = rustix::thread::set_name(&comm) {
        eprintln!("{name}: cannot set the process name: {e}");
    }
}
