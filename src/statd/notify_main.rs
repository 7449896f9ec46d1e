//! Entry points of the standalone notifier: the seed's `rpc.statd -n`
//! (statd.notify) and nfs-utils' `sm-notify`.

use super::cli::{self, Config, StoreFormat};
use super::notify::schedule::Schedule;
use super::notify_io::SourceConfig;
use super::notify_module::{NotifyModule, StandaloneConfig};
use super::smnotify_cli::{self, SmCommand, SmNotifyConfig};
use super::startup::RebootStep;
use crate::daemonize::{self, ReadyPipe};
use crate::log::{self as logging, Sink};
use crate::reactor::{Reactor, SystemClock};
use std::ffi::OsString;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

/// The seed's pid file of the statd.notify service.
pub const NOTIFY_PID_FILE: &str = "/var/run/statd.notify.pid";

/// nfs-utils' once-per-boot marker of sm-notify (on a tmpfs /run).
pub const SM_NOTIFY_MARKER: &str = "/run/sm-notify.pid";

/// `rpc.statd -n`: notify every host owed a notice, then exit (0: all
/// notified; 1: some given up or an error).
pub fn run_notify_only(prog: &'static str, cfg: Config) -> i32 {
    let sink = if cfg.foreground && cfg.log_stderr {
        Sink::Stderr
    } else {
        Sink::Syslog
    };
    logging::init(prog, cfg.verbosity, sink);
    for w in &cfg.conf_warnings {
        log::warn!("{w}");
    }
    let Some(_lock) = lock_or_explain(&cfg.state_dir) else {
        return 0;
    };
    let mut pid_files = super::pidfile::PidFiles::new();
    if let Err(e) = pid_files.write(Path::new(NOTIFY_PID_FILE)) {
        log::warn!("cannot write {NOTIFY_PID_FILE}: {e}");
    }
    let standalone = StandaloneConfig {
        state_dir: cfg.state_dir.clone(),
        store: cfg.store,
        step: if cfg.no_notify {
            RebootStep::Never
        } else {
            RebootStep::OnNewBoot
        },
        source: SourceConfig {
            port: cfg.outgoing_port,
            addr: None,
        },
        identity: cfg.name.as_ref().map(|n| n.as_bytes().to_vec()),
        schedule: cfg.notify_schedule.clone(),
        window: cfg.notify_window,
        lift_grace: true,
        tell_kernel: true,
    };
    run_module(standalone, None)
}

/// Entry point for `sm-notify`: returns the process exit status. A
/// command-line error prints its message and one hint line, and exits 1.
pub fn sm_notify_main(prog: &'static str, args: Vec<OsString>) -> i32 {
    let sources = match cli::Sources::load(prog, &smnotify_cli::conf_source(prog, &args)) {
        Ok(s) => s,
        Err(msg) => {
            eprintln!("{msg}");
            return 1;
        }
    };
    match smnotify_cli::parse(prog, &args, &sources) {
        Ok(SmCommand::Help) => {
            print!("{}", smnotify_cli::usage(prog));
            0
        }
        Ok(SmCommand::Version) => {
            println!("{prog} (statmon) version {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Ok(SmCommand::Run(cfg)) => match cli::check_state_dir(prog, &cfg.state_dir) {
            Ok(()) => run_sm_notify(prog, cfg),
            Err(msg) => {
                eprintln!("{msg}");
                1
            }
        },
        Err(msg) => {
            eprintln!("{msg}");
            eprintln!("{}", crate::cli::hint(prog));
            1
        }
    }
}

fn run_sm_notify(prog: &'static str, cfg: SmNotifyConfig) -> i32 {
    let default_dir = cfg.state_dir == Path::new(cli::DEFAULT_STATE_DIR);
    if default_dir && !cfg.force && !claim_boot_marker() {
        eprintln!("{prog}: Already notifying clients; Exiting!");
        return 0;
    }
    let Ok(ready) = super::detach_and_log(prog, cfg.debug, cfg.debug, cfg.verbosity) else {
        return 1;
    };
    for w in &cfg.conf_warnings {
        log::warn!("{w}");
    }
    let Some(_lock) = lock_or_explain(&cfg.state_dir) else {
        if let Some(r) = ready {
            r.ready();
        }
        return 0;
    };
    let bind: Option<IpAddr> = cfg.outgoing_addr.as_deref().and_then(|a| a.parse().ok());
    let standalone = StandaloneConfig {
        state_dir: cfg.state_dir.clone(),
        store: StoreFormat::NfsUtils,
        step: if cfg.update_state {
            RebootStep::Always
        } else {
            RebootStep::Never
        },
        source: SourceConfig {
            port: cfg.port,
            addr: bind,
        },
        identity: cfg.outgoing_addr.as_ref().map(|a| a.as_bytes().to_vec()),
        schedule: Schedule::backoff(cfg.give_up),
        window: cli::DEFAULT_NOTIFY_WINDOW,
        lift_grace: cfg.lift_grace,
        tell_kernel: true,
    };
    run_module(standalone, ready)
}

/// The role a standalone notifier writes in the state directory's lock.
pub const ROLE_NOTIFIER: &str = "notifier";

/// The role rpc.statd writes in the state directory's lock.
pub const ROLE_DAEMON: &str = "rpc.statd";

/// Takes the state directory's lock; `None` (after saying why) when a
/// running rpc.statd holds it: that daemon is asked (SIGUSR1) to take the
/// reboot step if it left it for us, and notifies by itself.
fn lock_or_explain(dir: &Path) -> Option<daemonize::DirLock> {
    match daemonize::lock_dir_as(dir, ROLE_NOTIFIER) {
        Ok(lock) => Some(lock),
        Err(e) => {
            match daemonize::lock_holder(dir) {
                Some((pid, role)) if role == ROLE_DAEMON => {
                    match signal(pid, rustix::process::Signal::USR1) {
                        Ok(()) => log::info!(
                            "rpc.statd (pid {pid}) holds {}; asked it to notify peers",
                            dir.display()
                        ),
                        Err(err) => log::warn!("{e}; cannot signal pid {pid}: {err}"),
                    }
                }
                _ => log::warn!("{e}"),
            }
            None
        }
    }
}

fn signal(pid: i32, sig: rustix::process::Signal) -> std::io::Result<()> {
    let pid =
        rustix::process::Pid::from_raw(pid).ok_or_else(|| std::io::Error::other("bad pid"))?;
    rustix::process::kill_process(pid, sig).map_err(std::io::Error::from)
}

/// Takes the state directory's lock for rpc.statd. A standalone notifier
/// holding it is asked to stop (SIGTERM: it saves its progress) and the
/// daemon carries on its work; `Ok(true)` then. Anyone else holding it is
/// an error.
pub fn lock_for_daemon(dir: &Path) -> std::io::Result<(daemonize::DirLock, bool)> {
    let err = match daemonize::lock_dir_as(dir, ROLE_DAEMON) {
        Ok(lock) => return Ok((lock, false)),
        Err(e) => e,
    };
    let Some((pid, role)) = daemonize::lock_holder(dir) else {
        return Err(err);
    };
    if role != ROLE_NOTIFIER {
        return Err(err);
    }
    log::info!(
        "a notifier (pid {pid}) holds {}; taking over",
        dir.display()
    );
    signal(pid, rustix::process::Signal::TERM)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match daemonize::lock_dir_as(dir, ROLE_DAEMON) {
            Ok(lock) => return Ok((lock, true)),
            Err(e) if std::time::Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

/// Creates nfs-utils' boot marker; `false` if it exists (already run).
fn claim_boot_marker() -> bool {
    let marker = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(SM_NOTIFY_MARKER);
    match marker {
        Ok(mut f) => {
            let _ = writeln!(f, "{}", std::process::id());
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        // No /run to mark: notify anyway.
        Err(_) => true,
    }
}

fn run_module(cfg: StandaloneConfig, ready: Option<ReadyPipe>) -> i32 {
    let mut reactor = match Reactor::new(Box::new(SystemClock)) {
        Ok(r) => r,
        Err(e) => {
            log::error!("cannot create the event loop: {e}");
            return 1;
        }
    };
    if let Err(e) = reactor.add_module(Box::new(NotifyModule::new(cfg))) {
        log::error!("cannot start notifying: {e}");
        if let Some(r) = ready {
            r.failed(&e.to_string());
        }
        return 1;
    }
    if let Some(r) = ready {
        r.ready();
    }
    match reactor.run() {
        Ok(code) => code,
        Err(e) => {
            log::error!("event loop failed: {e}");
            1
        }
    }
}
