//! rpc.statd, the NSM host status monitor (program 100024 version 1).
//!
//! - [`cli`]: the command line in two dialects (nfs-utils, the seed).
//! - [`core`]: the NSM service as an I/O-free state machine.
//! - [`callback`]: lock-manager callbacks, I/O-free; [`callback_io`] puts
//!   them on the reactor.
//! - [`daemon`]: the reactor module (listeners, registration, shutdown);
//!   [`startup`] loads the store; [`workers`] are its store and resolver
//!   threads.
//! - [`store`]: the durable monitor store (nfs-utils and Apple formats).
//! - Process plumbing: [`privs`] (privilege drop), [`pidfile`], [`kernel`]
//!   (`/proc` knobs), [`callout`] (the HA callout).

pub mod admin;
pub mod callback;
pub mod callback_io;
pub mod callout;
pub mod cli;
pub mod core;
pub mod daemon;
pub mod kernel;
pub mod notify;
pub mod notify_io;
pub mod notify_main;
pub mod notify_module;
pub mod pidfile;
pub mod privs;
pub mod progress;
pub mod smnotify_cli;
pub mod startup;
pub mod store;
pub mod workers;

use crate::daemonize;
use crate::log::{self as logging, Sink};
use crate::reactor::{Reactor, SystemClock};
use cli::Command;
use daemon::StatdModule;
use std::ffi::OsString;

/// Entry point for `rpc.statd`: returns the process exit status. A
/// command-line error prints its message and one hint line, and exits 1.
pub fn main(prog: &'static str, args: Vec<OsString>) -> i32 {
    let usage_error = |msg: &str| {
        eprintln!("{msg}");
        eprintln!("{}", crate::cli::hint(prog));
        1
    };
    let env = std::env::var(cli::DIALECT_ENV).ok();
    let (dialect, args) = match cli::select_dialect(prog, &args, env.as_deref()) {
        Ok(chosen) => chosen,
        Err(msg) => return usage_error(&msg),
    };
    let sources = match cli::Sources::load(prog, &cli::conf_source(prog, dialect, args)) {
        Ok(s) => s,
        Err(msg) => {
            eprintln!("{msg}");
            return 1;
        }
    };
    let command = match cli::parse(prog, dialect, args, &sources) {
        Ok(c) => c,
        Err(msg) => return usage_error(&msg),
    };
    let state_dir = match &command {
        Command::Run(cfg) => Some(&cfg.state_dir),
        Command::Admin(a) => Some(&a.state_dir),
        Command::Help | Command::Version => None,
    };
    if let Some(Err(msg)) = state_dir.map(|d| cli::check_state_dir(prog, d)) {
        eprintln!("{msg}");
        return 1;
    }
    match command {
        Command::Help => {
            print!("{}", cli::usage(prog, dialect));
            0
        }
        Command::Version => {
            println!("{prog} (statmon) version {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Command::Run(cfg) if cfg.notify_only => notify_main::run_notify_only(prog, cfg),
        Command::Run(cfg) => run(prog, cfg),
        Command::Admin(a) => admin::run(&a),
    }
}

/// Detaches (unless `foreground`) and starts logging: to stderr when
/// `log_stderr` (only honoured in the foreground), else to syslog. `Err`
/// after saying why when detaching fails; `Ok(Some(pipe))` in the detached
/// child, to tell the parent it serves.
fn detach_and_log(
    prog: &'static str,
    foreground: bool,
    log_stderr: bool,
    verbosity: u32,
) -> Result<Option<daemonize::ReadyPipe>, ()> {
    let ready = if foreground {
        None
    } else {
        match daemonize::detach(prog) {
            Ok(pipe) => Some(pipe),
            Err(e) => {
                eprintln!("{prog}: cannot detach: {e}");
                return Err(());
            }
        }
    };
    let sink = if foreground && log_stderr {
        Sink::Stderr
    } else {
        Sink::Syslog
    };
    logging::init(prog, verbosity, sink);
    Ok(ready)
}

fn run(prog: &'static str, cfg: cli::Config) -> i32 {
    let Ok(ready) = detach_and_log(prog, cfg.foreground, cfg.log_stderr, cfg.verbosity) else {
        return 1;
    };
    log::info!("statmon {} starting as {prog}", env!("CARGO_PKG_VERSION"));
    // As nfs-utils: lockd's ports are set at start, as root (privileges
    // are dropped later, in the module); a failure is a warning.
    for failure in kernel::set_nlm_ports(
        std::path::Path::new(kernel::NLM_PORTS_DIR),
        cfg.nlm_ports,
        &mut kernel::modprobe_lockd,
    ) {
        log::warn!("{failure}");
    }

    let (_lock, took_over) = match notify_main::lock_for_daemon(&cfg.state_dir) {
        Ok(held) => held,
        Err(e) => {
            log::error!("state directory: {e}");
            if let Some(r) = ready {
                r.failed(&format!("state directory: {e}"));
            } else {
                eprintln!("{prog}: state directory: {e}");
            }
            return 1;
        }
    };
    for w in &cfg.conf_warnings {
        log::warn!("{w}");
    }
    let _pid_files = write_pid_files(&startup::records_owner(&cfg));
    let mut reactor = match Reactor::new(Box::new(SystemClock)) {
        Ok(r) => r,
        Err(e) => {
            log::error!("cannot create the event loop: {e}");
            return 1;
        }
    };
    if reactor
        .add_module(Box::new(
            StatdModule::new(cfg, ready).taking_over(took_over),
        ))
        .is_err()
    {
        return 1;
    }
    match reactor.run() {
        Ok(code) => {
            log::info!("exiting");
            code
        }
        Err(e) => {
            log::error!("event loop failed: {e}");
            1
        }
    }
}

/// The pid files: the seed's and, on Linux, nfs-utils' (systemd's
/// `PIDFile=`). Written before privileges are dropped and given to the
/// records' owner, as nfs-utils does. A file naming another live process is
/// left alone (a second daemon on another state directory must not hide the
/// first); failures are warnings.
fn write_pid_files(owned_by: &std::path::Path) -> pidfile::PidFiles {
    let mut files = pidfile::PidFiles::new();
    for path in [SEED_PID_FILE, pidfile::NFS_UTILS_PATH] {
        let path = std::path::Path::new(path);
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

/// The seed's pid file.
pub const SEED_PID_FILE: &str = "/var/run/statd.pid";

/// The pid in `path` if it names a running process other than this one.
pub(super) fn live_pid_in(path: &std::path::Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    (pid != std::process::id() && std::path::Path::new(&format!("/proc/{pid}")).exists())
        .then_some(pid)
}
