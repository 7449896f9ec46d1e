//! `mdmpd`: no options, as the seed says. `mdmpd` starts the daemon
//! (detached unless `MDMPD_FOREGROUND=1` or systemd's `NOTIFY_SOCKET`),
//! `mdmpd status` asks the running one; anything else prints the usage and
//! exits 1. Settings come from `/etc/mdmpd.conf` ([`super::conf`]).
//!
//! Start: read the configuration, detach (the parent waits until the
//! daemon has read and saved the arrays' state), take the single-instance
//! lock in `/run/mdmpd`, write `/run/mdmpd/mdmpd.pid`, then run the
//! module. Every path is under `STATMON_ROOT` when it is set.

use super::actuator::Actuator;
use super::conf::{self, MdmpdConf};
use super::core::CoreConfig;
use super::module::{MdmpdModule, Paths, Settings};
use crate::daemon::detach::ReadyPipe;
use crate::daemon::host::{Hosting, Opened, Plan};
use crate::daemon::run::{self, write_pid_files};
use crate::daemon::{lock, root, sd_notify};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The configuration file.
pub const CONF_FILE: &str = "/etc/mdmpd.conf";
/// The run directory: lock, pid file, status socket.
pub const RUN_DIR: &str = "/run/mdmpd";
/// The pid file, in [`RUN_DIR`].
pub const PID_FILE: &str = "mdmpd.pid";
/// The status socket, in [`RUN_DIR`].
pub const SOCKET: &str = "mdmpd.sock";
/// The variable that keeps mdmpd in the foreground, logging to stderr.
pub const FOREGROUND_ENV: &str = "MDMPD_FOREGROUND";
/// How long a re-add may take.
pub const READD_TIMEOUT: Duration = Duration::from_secs(60);
/// mdmpd's log verbosity: its events at notice level are logged.
const VERBOSITY: u32 = 1;
/// Most bytes of the configuration file read.
const MAX_CONF: u64 = 1 << 20;

const USAGE: &str = "Usage: mdmpd\n       mdmpd status\n\
    mdmpd takes no options; its settings are in /etc/mdmpd.conf (see mdmpd(8)).";

/// Entry point for `mdmpd`: returns the exit status.
pub fn main(prog: &'static str, args: Vec<OsString>) -> i32 {
    match args.as_slice() {
        [] => {}
        [word] if word == "status" => return status(),
        _ => {
            eprintln!("{USAGE}");
            return 1;
        }
    }
    let Ok((settings, warnings)) = settings(prog) else {
        return 1;
    };
    let foreground = foreground_env() || sd_notify::expected();
    let Ok(ready) = run::detach_and_log(prog, foreground, foreground_env(), VERBOSITY) else {
        return 1;
    };
    log::info!("statmon {} starting as {prog}", env!("CARGO_PKG_VERSION"));
    for w in &warnings {
        log::warn!("{w}");
    }
    run::run_alone(open(settings, ready))
}

/// `mdmpd` for `statmon run` (only the daemon: no arguments).
pub fn plan(prog: &'static str, args: Vec<OsString>) -> Result<Box<dyn Plan>, i32> {
    if !args.is_empty() {
        eprintln!("statmon run: {prog} takes no arguments\n{USAGE}");
        return Err(1);
    }
    let (settings, warnings) = settings(prog).map_err(|()| 1)?;
    Ok(Box::new(MdmpdPlan {
        prog,
        settings,
        warnings,
    }))
}

fn foreground_env() -> bool {
    std::env::var(FOREGROUND_ENV).is_ok_and(|v| v == "1")
}

/// The settings from the configuration file (if there is one), and the
/// warnings it gave (`FILE:LINE: ...`). `Err` when it exists but cannot be
/// read, said on stderr.
fn settings(prog: &str) -> Result<(Settings, Vec<String>), ()> {
    let file = root::path(CONF_FILE);
    let (conf, warnings) = match read_conf(&file) {
        Ok(Some(text)) => MdmpdConf::parse(&text),
        Ok(None) => (MdmpdConf::default(), Vec::new()),
        Err(e) => {
            eprintln!("{prog}: cannot read {}: {e}", file.display());
            return Err(());
        }
    };
    let warnings = warnings
        .iter()
        .map(|w| format!("{}:{}: {}", file.display(), w.line, w.text))
        .collect();
    let actuator = match conf.actuator {
        conf::Actuator::Sysfs => Actuator::Sysfs,
        conf::Actuator::Ioctl => Actuator::Ioctl,
        conf::Actuator::Mdadm => Actuator::Mdadm(conf.mdadm.clone()),
        conf::Actuator::DryRun => Actuator::DryRun,
    };
    let settings = Settings {
        core: CoreConfig {
            levels: conf.levels.iter().map(|l| l.as_str().to_string()).collect(),
            probe_interval: conf.probe_interval,
        },
        actuator,
        program: conf.program,
        probe_timeout: conf.probe_timeout,
        readd_timeout: READD_TIMEOUT,
        rescan: conf.rescan_interval,
    };
    Ok((settings, warnings))
}

/// The file's text; `None` when there is no file.
fn read_conf(file: &Path) -> std::io::Result<Option<String>> {
    match std::fs::File::open(file) {
        Ok(f) => {
            let mut bytes = Vec::new();
            f.take(MAX_CONF).read_to_end(&mut bytes)?;
            Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Where the daemon finds the system.
fn paths() -> Paths {
    Paths {
        mdstat: root::path("/proc/mdstat"),
        sys: root::path("/sys"),
        dev: root::path("/dev"),
        socket: Some(root::path(RUN_DIR).join(SOCKET)),
    }
}

/// The single-instance lock, the pid file and the module. A failure is
/// logged (and told to the waiting parent); `Err` is the exit status.
fn open(settings: Settings, ready: Option<ReadyPipe>) -> Result<Opened, i32> {
    let run_dir = root::path(RUN_DIR);
    let fail = |ready: Option<ReadyPipe>, msg: String| {
        log::error!("{msg}");
        if let Some(r) = ready {
            r.failed(&msg);
        }
        1
    };
    if let Err(e) = std::fs::create_dir_all(&run_dir) {
        return Err(fail(
            ready,
            format!("cannot create {}: {e}", run_dir.display()),
        ));
    }
    let lock = match lock::lock_dir_as(&run_dir, "mdmpd") {
        Ok(l) => l,
        Err(e) => return Err(fail(ready, format!("not starting a second mdmpd: {e}"))),
    };
    let pid_file: PathBuf = run_dir.join(PID_FILE);
    let pid_files = write_pid_files(&[&pid_file], &run_dir);
    let module = MdmpdModule::new(paths(), settings, ready);
    Ok(Opened {
        modules: vec![Box::new(module)],
        keep: vec![Box::new(lock), Box::new(pid_files)],
    })
}

/// mdmpd, parsed, waiting to be opened on a shared reactor.
struct MdmpdPlan {
    prog: &'static str,
    settings: Settings,
    warnings: Vec<String>,
}

impl Plan for MdmpdPlan {
    fn name(&self) -> &'static str {
        self.prog
    }
    fn verbosity(&self) -> u32 {
        VERBOSITY
    }
    fn log_stderr(&self) -> bool {
        foreground_env()
    }
    fn needs_root(&self) -> bool {
        // Re-adding writes sysfs and runs mdadm.
        true
    }
    fn open(self: Box<Self>, _hosting: Hosting) -> Result<Opened, i32> {
        for w in &self.warnings {
            log::warn!("{w}");
        }
        open(self.settings, None)
    }
}

/// `mdmpd status`: the running daemon's answer on its socket.
fn status() -> i32 {
    let path = root::path(RUN_DIR).join(SOCKET);
    match super::status::ask(&path) {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("mdmpd: no mdmpd answers on {}: {e}", path.display());
            1
        }
    }
}
