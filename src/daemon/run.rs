//! The run skeleton every daemon shares, in the order they take it: detach
//! with a ready pipe and start logging ([`detach_and_log`]), write pid
//! files ([`write_pid_files`]), then bootstrap the reactor with the
//! daemon's modules ([`bootstrap`]) and run it to its exit code
//! ([`run_to_exit`]). Parsing the
//! command line, taking locks and dropping privileges are the daemon's,
//! with the pieces in [`super::lock`] and [`super::privs`].
//!
//! Exit codes: [`EXIT_OK`] after an orderly stop, [`EXIT_FAILURE`] when
//! the daemon cannot start or its event loop fails (what each man page
//! documents as 1).

use super::detach::{self, ReadyPipe};
use super::pidfile::PidFiles;
use super::privs;
use crate::log::{self as logging, Sink};
use crate::reactor::{Module, Reactor, SystemClock};
use std::any::Any;
use std::io;
use std::path::Path;

/// An orderly stop.
pub const EXIT_OK: i32 = 0;
/// The daemon could not start, or its event loop failed.
pub const EXIT_FAILURE: i32 = 1;

/// Where the log goes: stderr when `log_stderr` in the foreground, syslog
/// and (for errors) stderr in the foreground otherwise, syslog only once
/// detached.
pub fn sink(foreground: bool, log_stderr: bool) -> Sink {
    match (foreground, log_stderr) {
        (true, true) => Sink::Stderr,
        (true, false) => Sink::Both,
        (false, _) => Sink::Syslog,
    }
}

/// Detaches (unless `foreground`) and starts logging as `prog` ([`sink`]).
/// `Err` when detaching fails, already said on stderr; `Ok(Some(pipe))` in
/// the detached child, to tell the waiting parent it serves.
pub fn detach_and_log(
    prog: &'static str,
    foreground: bool,
    log_stderr: bool,
    verbosity: u32,
) -> io::Result<Option<ReadyPipe>> {
    let ready = if foreground {
        None
    } else {
        match detach::detach(prog) {
            Ok(pipe) => Some(pipe),
            Err(e) => {
                eprintln!("{prog}: cannot detach: {e}");
                return Err(e);
            }
        }
    };
    logging::init(prog, verbosity, sink(foreground, log_stderr));
    Ok(ready)
}

/// Writes our pid to each of `paths` and gives the files to the owner of
/// `owned_by` (nfs-utils does this before dropping root). A file naming
/// another live process is left alone (a second daemon on another state
/// directory must not hide the first); failures are warnings: a daemon
/// serves without its pid file.
pub fn write_pid_files(paths: &[&Path], owned_by: &Path) -> PidFiles {
    let mut files = PidFiles::new();
    for path in paths {
        if let Some(pid) = live_pid_in(path) {
            log::warn!(
                "{} names running process {pid}; not replacing it",
                path.display()
            );
            continue;
        }
        if let Err(e) = files.write(path) {
            log::warn!("cannot write {}: {e}", path.display());
        }
    }
    if let Ok(owner) = privs::owner_of(owned_by) {
        if let Err(e) = files.chown(owner) {
            log::warn!("cannot hand the pid files to uid {}: {e}", owner.uid);
        }
    }
    files
}

/// The pid in `path` if it names a running process other than this one.
pub fn live_pid_in(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    (pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists()).then_some(pid)
}

/// A reactor on the system clock with `modules` added (each started), or
/// an error: the event loop could not be created (logged here) or a module
/// could not start (for the caller to report, who knows what it means;
/// the modules added before are dropped).
pub fn bootstrap(modules: Vec<Box<dyn Module>>) -> io::Result<Reactor> {
    let mut reactor = Reactor::new(Box::new(SystemClock)).inspect_err(|e| {
        log::error!("cannot create the event loop: {e}");
    })?;
    for module in modules {
        reactor.add_module(module)?;
    }
    Ok(reactor)
}

/// An opened daemon: its modules, and what must live while it runs.
pub struct Opened {
    /// Modules to add to the reactor, in order.
    pub modules: Vec<Box<dyn Module>>,
    /// Locks, pid files and the like, dropped when the daemon ends.
    pub keep: Vec<Box<dyn Any>>,
}

/// Runs an opened daemon alone: its modules on a reactor of their own
/// until one asks to exit, then drops what it kept (locks, pid files) and
/// logs the exit. `Err` (a start that failed, said already) is returned
/// as the exit status; so is a module that could not start.
pub fn run_alone(opened: Result<Opened, i32>) -> i32 {
    let Opened { modules, keep } = match opened {
        Ok(o) => o,
        Err(code) => return code,
    };
    let Ok(reactor) = bootstrap(modules) else {
        // Said already: by the module (and to the ready pipe), or the loop.
        return EXIT_FAILURE;
    };
    let code = run_to_exit(reactor);
    drop(keep);
    log::info!("exiting");
    code
}

/// Runs `reactor` until a module asks to exit; returns that code, or
/// [`EXIT_FAILURE`] (logged) when the event loop fails.
pub fn run_to_exit(mut reactor: Reactor) -> i32 {
    match reactor.run() {
        Ok(code) => code,
        Err(e) => {
            log::error!("event loop failed: {e}");
            EXIT_FAILURE
        }
    }
}
