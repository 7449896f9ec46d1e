//! `rpc.statd`: reads the configuration, then runs the daemon, a
//! notify-only run ([`super::notify::run_notify_only`]) or a store command
//! ([`super::admin`]).

use crate::daemon::run::{self, write_pid_files};
use crate::daemon::{lock, root};
use crate::statd::config::{self as cli, Command};
use crate::statd::glue::kernel;
use crate::statd::glue::startup::{self, ROLE_DAEMON, ROLE_NOTIFIER};
use crate::statd::glue::statd_module::{StatdModule, NFS_UTILS_PID_FILE};
use std::ffi::OsString;

/// Entry point for `rpc.statd`: returns the process exit status. A
/// command-line error prints its message and one hint line, and exits 1.
pub fn main(prog: &'static str, args: Vec<OsString>) -> i32 {
    let usage_error = |msg: &str| {
        eprintln!("{msg}");
        eprintln!("{}", crate::daemon::args::hint(prog));
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
        Command::Run(cfg) if cfg.notify_only => super::notify::run_notify_only(prog, cfg),
        Command::Run(cfg) => run(prog, cfg),
        Command::Admin(a) => super::admin::run(&a),
    }
}

fn run(prog: &'static str, cfg: cli::Config) -> i32 {
    let Ok(ready) = run::detach_and_log(prog, cfg.foreground, cfg.log_stderr, cfg.verbosity) else {
        return 1;
    };
    log::info!("statmon {} starting as {prog}", env!("CARGO_PKG_VERSION"));
    // As nfs-utils: lockd's ports are set at start, as root (privileges
    // are dropped later, in the module); a failure is a warning.
    for failure in kernel::set_nlm_ports(
        &root::path(kernel::NLM_PORTS_DIR),
        cfg.nlm_ports,
        &mut kernel::modprobe_lockd,
    ) {
        log::warn!("{failure}");
    }

    let (_lock, took_over) =
        match lock::lock_taking_over(&cfg.state_dir, ROLE_DAEMON, ROLE_NOTIFIER) {
            Ok(held) => held,
            Err(e) => {
                // Logged once: on stderr in the foreground (Sink::Stderr or
                // Sink::Both), and through the ready pipe by the parent.
                log::error!("state directory: {e}");
                if let Some(r) = ready {
                    r.failed(&format!("state directory: {e}"));
                }
                return 1;
            }
        };
    for w in &cfg.conf_warnings {
        log::warn!("{w}");
    }
    let (seed, nfs_utils) = (root::path(SEED_PID_FILE), root::path(NFS_UTILS_PID_FILE));
    let _pid_files = write_pid_files(&[&seed, &nfs_utils], &startup::records_owner(&cfg));
    let module = StatdModule::new(cfg, ready).taking_over(took_over);
    let Ok(reactor) = run::bootstrap(vec![Box::new(module)]) else {
        // Said already: by the module (and to the ready pipe), or the loop.
        return run::EXIT_FAILURE;
    };
    let code = run::run_to_exit(reactor);
    log::info!("exiting");
    code
}

/// The seed's pid file.
pub const SEED_PID_FILE: &str = "/var/run/statd.pid";
