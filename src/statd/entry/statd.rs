//! `rpc.statd`: reads the configuration, then runs the daemon, a
//! notify-only run ([`super::notify::run_notify_only`]) or a store command
//! ([`super::admin`]); or, for `statmon run`, hands the daemon to the host
//! ([`plan`]).

use crate::daemon::detach::ReadyPipe;
use crate::daemon::host::{Hosting, Opened, Plan};
use crate::daemon::run::{self, write_pid_files};
use crate::daemon::{lock, root};
use crate::statd::config::{self as cli, Command, Dialect};
use crate::statd::glue::kernel;
use crate::statd::glue::startup::{
    self, refuse_second_statd, NFS_UTILS_PID_FILE, ROLE_DAEMON, ROLE_NOTIFIER,
};
use crate::statd::glue::statd_module::StatdModule;
use std::ffi::OsString;

/// Entry point for `rpc.statd`: returns the process exit status. A
/// command-line error prints its message and one hint line, and exits 1.
pub fn main(prog: &'static str, args: Vec<OsString>) -> i32 {
    let (command, dialect) = match parse_command(prog, args) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
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

/// `rpc.statd ARGS` as one of the daemons of `statmon run`: only a daemon
/// run can be hosted (not help, a store command or a notify-only run,
/// which end by themselves).
pub fn plan(prog: &'static str, args: Vec<OsString>) -> Result<Box<dyn Plan>, i32> {
    match parse_command(prog, args)?.0 {
        Command::Run(cfg) if !cfg.notify_only => Ok(Box::new(StatdPlan { prog, cfg })),
        _ => {
            eprintln!(
                "statmon run: {prog}: only the daemon can run beside others \
                 (not help, version, a store command or --notify-only)"
            );
            Err(1)
        }
    }
}

/// Reads the dialect, nfs.conf and the command line, and checks the state
/// directory; an error is printed here and `Err` is the exit status.
fn parse_command(prog: &'static str, args: Vec<OsString>) -> Result<(Command, Dialect), i32> {
    let usage_error = |msg: &str| {
        eprintln!("{msg}");
        eprintln!("{}", crate::daemon::args::hint(prog));
        1
    };
    let env = std::env::var(cli::DIALECT_ENV).ok();
    let (dialect, args) =
        cli::select_dialect(prog, &args, env.as_deref()).map_err(|m| usage_error(&m))?;
    let sources =
        cli::Sources::load(prog, &cli::conf_source(prog, dialect, args)).map_err(|msg| {
            eprintln!("{msg}");
            1
        })?;
    let command = cli::parse(prog, dialect, args, &sources).map_err(|m| usage_error(&m))?;
    let state_dir = match &command {
        Command::Run(cfg) => Some(&cfg.state_dir),
        Command::Admin(a) => Some(&a.state_dir),
        Command::Help | Command::Version => None,
    };
    if let Some(Err(msg)) = state_dir.map(|d| cli::check_state_dir(prog, d)) {
        eprintln!("{msg}");
        return Err(1);
    }
    Ok((command, dialect))
}

/// rpc.statd, parsed, waiting to be opened on a shared reactor.
struct StatdPlan {
    prog: &'static str,
    cfg: cli::Config,
}

impl Plan for StatdPlan {
    fn name(&self) -> &'static str {
        self.prog
    }
    fn verbosity(&self) -> u32 {
        self.cfg.verbosity
    }
    fn log_stderr(&self) -> bool {
        self.cfg.log_stderr
    }
    fn open(self: Box<Self>, hosting: Hosting) -> Result<Opened, i32> {
        if hosting.others_need_root {
            log::warn!(
                "keeping root: a daemon beside it in this process needs root, \
                 and privileges are the process's"
            );
        }
        open(self.cfg, None, hosting.others_need_root)
    }
}

fn run(prog: &'static str, cfg: cli::Config) -> i32 {
    let Ok(ready) = run::detach_and_log(prog, cfg.foreground, cfg.log_stderr, cfg.verbosity) else {
        return 1;
    };
    log::info!("statmon {} starting as {prog}", env!("CARGO_PKG_VERSION"));
    run::run_alone(open(cfg, ready, false))
}

/// What rpc.statd does before its event loop, in nfs-utils' order:
/// lockd's ports, the state directory's lock, the check for a statd
/// already serving, the pid files; then its module (which keeps root when
/// `keep_root`). A failure is logged
/// (and told to the waiting parent); `Err` is the exit status.
fn open(cfg: cli::Config, ready: Option<ReadyPipe>, keep_root: bool) -> Result<Opened, i32> {
    let fail = |ready: Option<ReadyPipe>, msg: String| {
        // Logged once: on stderr in the foreground (Sink::Stderr or
        // Sink::Both), and through the ready pipe by the parent.
        log::error!("{msg}");
        if let Some(r) = ready {
            r.failed(&msg);
        }
        1
    };
    // As nfs-utils: lockd's ports are set at start, as root (privileges
    // are dropped later, in the module); a failure is a warning.
    for failure in kernel::set_nlm_ports(
        &root::path(kernel::NLM_PORTS_DIR),
        cfg.nlm_ports,
        &mut kernel::modprobe_lockd,
    ) {
        log::warn!("{failure}");
    }
    let (lock, took_over) = match lock::lock_taking_over(&cfg.state_dir, ROLE_DAEMON, ROLE_NOTIFIER)
    {
        Ok(held) => held,
        Err(e) => return Err(fail(ready, format!("state directory: {e}"))),
    };
    for w in &cfg.conf_warnings {
        log::warn!("{w}");
    }
    if let Err(e) = refuse_second_statd() {
        return Err(fail(ready, e.to_string()));
    }
    let (seed, nfs_utils) = (root::path(SEED_PID_FILE), root::path(NFS_UTILS_PID_FILE));
    let pid_files = write_pid_files(&[&seed, &nfs_utils], &startup::records_owner(&cfg));
    let module = StatdModule::new(cfg, ready)
        .taking_over(took_over)
        .keeping_root(keep_root);
    Ok(Opened {
        modules: vec![Box::new(module)],
        keep: vec![Box::new(lock), Box::new(pid_files)],
    })
}

/// The seed's pid file.
pub const SEED_PID_FILE: &str = "/var/run/statd.pid";
