//! Entry points of the standalone notifier: the seed's `rpc.statd -n`
//! (statd.notify) and nfs-utils' `sm-notify`.

use crate::daemon::detach::ReadyPipe;
use crate::daemon::lock::{self, DirLock};
use crate::daemon::pidfile::PidFiles;
use crate::daemon::{root, run};
use crate::log as logging;
use crate::statd::config::sm_notify::{self as smnotify_cli, SmCommand, SmNotifyConfig};
use crate::statd::config::{self as cli, Config};
use crate::statd::glue::notify_io::SourceConfig;
use crate::statd::glue::notify_module::{NotifyModule, StandaloneConfig};
use crate::statd::glue::startup::{RebootStep, ROLE_DAEMON, ROLE_NOTIFIER, SM_NOTIFY_MARKER};
use crate::statd::notify::schedule::Schedule;
use crate::statd::store::StoreFormat;
use std::ffi::OsString;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

/// The seed's pid file of the statd.notify service.
pub const NOTIFY_PID_FILE: &str = "/var/run/statd.notify.pid";

/// `rpc.statd -n`: notify every host owed a notice, then exit (0: all
/// notified; 1: some given up or an error).
pub fn run_notify_only(prog: &'static str, cfg: Config) -> i32 {
    logging::init(
        prog,
        cfg.verbosity,
        run::sink(cfg.foreground, cfg.log_stderr),
    );
    for w in &cfg.conf_warnings {
        log::warn!("{w}");
    }
    let Some(_lock) = lock_or_explain(&cfg.state_dir) else {
        return 0;
    };
    let mut pid_files = PidFiles::new();
    if let Err(e) = pid_files.write(&root::path(NOTIFY_PID_FILE)) {
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
            eprintln!("{}", crate::daemon::args::hint(prog));
            1
        }
    }
}

fn run_sm_notify(prog: &'static str, cfg: SmNotifyConfig) -> i32 {
    let default_dir = cfg.state_dir == StoreFormat::NfsUtils.default_state_dir();
    if default_dir && !cfg.force && !claim_boot_marker() {
        eprintln!("{prog}: Already notifying clients; Exiting!");
        return 0;
    }
    let Ok(ready) = run::detach_and_log(prog, cfg.debug, cfg.debug, cfg.verbosity) else {
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

/// Takes the state directory's lock; `None` (after saying why) when a
/// running rpc.statd holds it: that daemon is asked (SIGUSR1) to take the
/// reboot step if it left it for us, and notifies by itself.
fn lock_or_explain(dir: &Path) -> Option<DirLock> {
    match lock::lock_dir_as(dir, ROLE_NOTIFIER) {
        Ok(lock) => Some(lock),
        Err(e) => {
            match lock::lock_holder(dir) {
                Some((pid, role)) if role == ROLE_DAEMON => {
                    match lock::signal(pid, rustix::process::Signal::USR1) {
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

/// Creates nfs-utils' boot marker; `false` if it exists (already run).
fn claim_boot_marker() -> bool {
    let marker = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(root::path(SM_NOTIFY_MARKER));
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
    let reactor = match run::bootstrap(vec![Box::new(NotifyModule::new(cfg))]) {
        Ok(r) => r,
        Err(e) => {
            log::error!("cannot start notifying: {e}");
            if let Some(r) = ready {
                r.failed(&e.to_string());
            }
            return run::EXIT_FAILURE;
        }
    };
    if let Some(r) = ready {
        r.ready();
    }
    run::run_to_exit(reactor)
}
