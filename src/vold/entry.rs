//! The `vold` program: `vold [-dkf] [-r reset] [-x debug] [-R file]
//! [-D file] [-b backend]`, with the exit codes of vold(1M):
//!
//! | code | when |
//! |---|---|
//! | 0 | the background vold reached the mode asked for (never with `-f`) |
//! | 1 | a bad option or argument |
//! | 2 | the background vold was forced into disabled mode (never with `-f`) |
//! | 3 | a vold runs (with `-k`: it did not exit within 30 s) |
//! | 4 | a system error before either mode |
//! | 5 | the background vold was killed by a signal before either mode |
//! | 6 | the kernel's copy has another revision |
//! | 7 | `-r reset` failed (a node is open) |
//! | 8 | a rendezvous point cannot be served |
//! | 9 | the event loop failed after start-up |
//!
//! Without `-f` the process forks; the child starts a session, reaches a
//! mode and writes its code (one byte) on a pipe; the parent exits with
//! it, or with 5 when the child died of a signal first.

use super::backend::{self, Backend};
use super::engine::{Engine, KernelError, Mode, Paths};
use super::module::{Settings, VoldModule, TX_IDLE};
use super::store::FileStore;
use crate::daemon::args::{self, Arg, Opt};
use crate::daemon::host::{Hosting, Opened, Plan};
use crate::daemon::run::{self, write_pid_files};
use crate::daemon::{lock, root};
use crate::log::{self as logging, Sink};
use crate::sys::{self, Forked};
use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The voldesc file.
pub const VOLDESC: &str = "/usr/lib/VxVM/voldesc";
/// The default request rendezvous point.
pub const REQUEST: &str = "/usr/lib/VxVM/voldrequest";
/// The default diagnostic rendezvous point.
pub const DIAG: &str = "/usr/lib/VxVM/volddiag";
/// The run directory: lock, pid file, the kernel's copy.
pub const RUN_DIR: &str = "/run/vold";
/// The kernel's copy, in [`RUN_DIR`].
pub const KERNEL_DB: &str = "kernel.db";
/// How long `-k` waits for the old vold.
pub const KILL_WAIT: Duration = Duration::from_secs(30);
/// Overrides [`KILL_WAIT`] (seconds), for tests.
pub const KILL_WAIT_ENV: &str = "STATMON_VOLD_KILL_WAIT";
/// Overrides [`TX_IDLE`] (seconds), for tests.
pub const TX_IDLE_ENV: &str = "STATMON_VOLD_TX_IDLE";
/// The test hook naming a crash point (`start`, `payload:K`,
/// `header:K`, `kernel`) where vold kills itself, or `loop`: the event
/// loop fails as soon as vold serves (exit 9).
pub const CRASH_ENV: &str = "STATMON_VOLD_CRASH_AT";

/// Exit codes of vold(1M).
pub mod code {
    /// Started in the requested mode.
    pub const OK: i32 = 0;
    /// Bad option or argument.
    pub const USAGE: i32 = 1;
    /// Forced into disabled mode.
    pub const DISABLED: i32 = 2;
    /// Already running.
    pub const RUNNING: i32 = 3;
    /// System error before a mode.
    pub const SYSTEM: i32 = 4;
    /// Killed by a signal before a mode.
    pub const KILLED: i32 = 5;
    /// Kernel revision mismatch.
    pub const REVISION: i32 = 6;
    /// Reset failed.
    pub const RESET: i32 = 7;
    /// IPC failure.
    pub const IPC: i32 = 8;
    /// Failure after start-up.
    pub const LATER: i32 = 9;
}

const SYNOPSIS: &str = "[-dkf] [-r reset] [-x debug] [-R file] [-D file] [-b backend]";

const OPTIONS: &[Opt] = &[
    Opt {
        short: "d",
        long: "",
        arg: Arg::None,
        help: "start in disabled mode",
    },
    Opt {
        short: "k",
        long: "",
        arg: Arg::None,
        help: "kill the running vold first (waits up to 30 s)",
    },
    Opt {
        short: "f",
        long: "",
        arg: Arg::None,
        help: "stay in the foreground",
    },
    Opt {
        short: "r",
        long: "",
        arg: Arg::Required("reset"),
        help: "reset the kernel's configuration",
    },
    Opt {
        short: "x",
        long: "",
        arg: Arg::Required("debug"),
        help: "trace level: 0, 1 or 2",
    },
    Opt {
        short: "R",
        long: "",
        arg: Arg::Required("file"),
        help: "request rendezvous point",
    },
    Opt {
        short: "D",
        long: "",
        arg: Arg::Required("file"),
        help: "diagnostic rendezvous point",
    },
    Opt {
        short: "b",
        long: "",
        arg: Arg::Required("backend"),
        help: "device nodes: nodes (default), loop or dm",
    },
    Opt {
        short: "V",
        long: "version",
        arg: Arg::None,
        help: "print the version",
    },
    Opt {
        short: "h",
        long: "help",
        arg: Arg::None,
        help: "print this help",
    },
];

/// The parsed command line.
#[derive(Debug, Clone)]
struct Options {
    disabled: bool,
    kill: bool,
    foreground: bool,
    reset: bool,
    debug: u8,
    settings: Settings,
}

fn parse(prog: &str, argv: &[OsString]) -> Result<Options, i32> {
    let bad = |msg: String| {
        eprintln!("{msg}");
        eprintln!("Usage: {prog} {SYNOPSIS}");
        code::USAGE
    };
    let m = args::parse(prog, OPTIONS, argv).map_err(|e| bad(e.0))?;
    if m.opt_present("V") {
        println!("{prog} (statmon) version {}", env!("CARGO_PKG_VERSION"));
        return Err(code::OK);
    }
    if m.opt_present("h") {
        print!("{}", args::usage(prog, SYNOPSIS, OPTIONS));
        return Err(code::OK);
    }
    if let Some(extra) = m.free.first() {
        return Err(bad(format!("{prog}: unexpected argument '{extra}'")));
    }
    let last = |o: &str| m.opt_strs(o).last().cloned();
    let reset = match last("r").as_deref() {
        None => false,
        Some("reset") => true,
        Some(w) => return Err(bad(format!("{prog}: -r needs the word reset, not '{w}'"))),
    };
    let debug = match last("x").map(|x| x.parse::<u8>()) {
        None => 0,
        Some(Ok(d @ 0..=2)) => d,
        Some(_) => return Err(bad(format!("{prog}: -x takes 0, 1 or 2"))),
    };
    let backend = match last("b") {
        None => Backend::Nodes,
        Some(b) => Backend::from_name(&b)
            .ok_or_else(|| bad(format!("{prog}: -b takes nodes, loop or dm, not '{b}'")))?,
    };
    Ok(Options {
        disabled: m.opt_present("d"),
        kill: m.opt_present("k"),
        foreground: m.opt_present("f"),
        reset,
        debug,
        settings: Settings {
            request: last("R").map_or_else(|| root::path(REQUEST), absolute),
            diag: last("D").map_or_else(|| root::path(DIAG), absolute),
            dev: root::path("/dev"),
            backend,
            start_disabled: m.opt_present("d"),
            tx_idle: std::env::var(TX_IDLE_ENV)
                .ok()
                .and_then(|s| s.parse().ok())
                .map_or(TX_IDLE, Duration::from_secs),
        },
    })
}

/// `path` from the current directory (the background vold works from
/// `/`).
fn absolute(path: String) -> PathBuf {
    let path = PathBuf::from(path);
    match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => cwd.join(path),
        _ => path,
    }
}

/// The background child's end of the status pipe.
struct StatusPipe(File);

impl StatusPipe {
    /// Tells the parent `code` and lets go of the terminal: stdout and
    /// stderr (kept until now for start-up errors) become /dev/null.
    fn tell(mut self, code: i32) {
        let _ = self.0.write_all(&[code as u8]);
        if let Ok(null) = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDWR,
            rustix::fs::Mode::empty(),
        ) {
            let _ = rustix::stdio::dup2_stdout(&null);
            let _ = rustix::stdio::dup2_stderr(&null);
        }
    }
}

/// Forks; returns in the child only. The parent exits with the child's
/// status byte; if the child ends without writing one, with the child's
/// exit status (a start-up failure), or 5 if a signal killed it.
fn background() -> std::io::Result<StatusPipe> {
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    match sys::fork()? {
        Forked::Parent(pid) => {
            drop(wr);
            let mut byte = [0u8; 1];
            let got = File::from(rd).read(&mut byte).unwrap_or(0);
            if got == 1 {
                std::process::exit(i32::from(byte[0]));
            }
            let status = rustix::process::Pid::from_raw(pid as i32).and_then(|p| {
                rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty())
                    .ok()
                    .flatten()
            });
            let code = match status {
                Some((_, s)) if s.terminating_signal().is_some() => code::KILLED,
                Some((_, s)) => s.exit_status().filter(|c| *c != 0).unwrap_or(code::SYSTEM),
                None => code::SYSTEM,
            };
            std::process::exit(code);
        }
        Forked::Child => {
            drop(rd);
            rustix::process::setsid()?;
            let null = rustix::fs::open(
                "/dev/null",
                rustix::fs::OFlags::RDWR,
                rustix::fs::Mode::empty(),
            )?;
            rustix::stdio::dup2_stdin(&null)?;
            std::env::set_current_dir("/")?;
            Ok(StatusPipe(File::from(wr)))
        }
    }
}

/// Entry point for `vold`.
pub fn main(prog: &'static str, argv: Vec<OsString>) -> i32 {
    let opts = match parse(prog, &argv) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut pipe = if opts.foreground {
        None
    } else {
        match background() {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("{prog}: cannot fork: {e}");
                return code::SYSTEM;
            }
        }
    };
    logging::init(
        prog,
        1,
        if opts.foreground {
            Sink::Stderr
        } else {
            Sink::Both
        },
    );
    log::info!("statmon {} starting as {prog}", env!("CARGO_PKG_VERSION"));
    let requested_disabled = opts.disabled;
    let report = pipe.take().map(|p| {
        Box::new(move |mode: &Mode| {
            p.tell(match (mode, requested_disabled) {
                (Mode::Enabled, _) | (Mode::Disabled(_), true) => code::OK,
                (Mode::Disabled(_), false) => code::DISABLED,
            })
        }) as super::module::ModeReport
    });
    let Opened { modules, keep } = match open(opts, report) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut reactor = match run::bootstrap(modules) {
        Ok(r) => r,
        Err(e) => {
            log::error!("cannot serve the rendezvous points: {e}");
            return code::IPC;
        }
    };
    let ran = if std::env::var(CRASH_ENV).as_deref() == Ok("loop") {
        Err(std::io::Error::other(
            "crash point loop reached (test hook)",
        ))
    } else {
        reactor.run()
    };
    let status = match ran {
        Ok(c) => c,
        Err(e) => {
            log::error!("event loop failed: {e}");
            code::LATER
        }
    };
    drop(reactor);
    drop(keep);
    log::info!("exiting");
    status
}

/// Takes the lock (killing the old vold with `-k`), checks the kernel's
/// revision, resets, and builds the module; `report` hears the mode it
/// reaches. `Err`: the exit code, the reason logged.
fn open(opts: Options, report: Option<super::module::ModeReport>) -> Result<Opened, i32> {
    let fail = |code: i32, msg: String| {
        log::error!("{msg}");
        code
    };
    let run_dir = root::path(RUN_DIR);
    if let Err(e) = std::fs::create_dir_all(&run_dir) {
        return Err(fail(
            code::SYSTEM,
            format!("cannot create {}: {e}", run_dir.display()),
        ));
    }
    let lock = match take_lock(&run_dir, opts.kill) {
        Ok(l) => l,
        Err((code, msg)) => return Err(fail(code, msg)),
    };
    let pid_files = write_pid_files(&[&run_dir.join("vold.pid")], &run_dir);
    let store = FileStore {
        crash_at: std::env::var(CRASH_ENV).ok(),
    };
    let paths = Paths {
        voldesc: root::path(VOLDESC),
        kernel: run_dir.join(KERNEL_DB),
    };
    let mut engine = Engine::new(store, paths);
    engine.debug = opts.debug;
    engine.backend = opts.settings.backend;
    match engine.read_kernel() {
        Err(e @ KernelError::Revision(_)) => return Err(fail(code::REVISION, e.to_string())),
        Err(e) => return Err(fail(code::SYSTEM, e.to_string())),
        Ok(_) => {}
    }
    if opts.reset {
        let open = backend::open_nodes(&opts.settings.dev);
        if !open.is_empty() {
            return Err(fail(
                code::RESET,
                format!(
                    "reset refused: volume or plex nodes are open ({})",
                    open.join(", ")
                ),
            ));
        }
        let mut errs = opts.settings.backend.clear(&opts.settings.dev);
        errs.extend(engine.reset_kernel().err());
        if !errs.is_empty() {
            return Err(fail(
                code::RESET,
                format!("reset failed: {}", errs.join("; ")),
            ));
        }
        log::info!("the kernel's configuration is reset");
    }
    if std::env::var(CRASH_ENV).as_deref() == Ok("start") {
        log::warn!("crash point start reached: killing myself (test hook)");
        let _ = lock::signal(std::process::id() as i32, rustix::process::Signal::KILL);
    }
    let module = VoldModule::new(engine, opts.settings, report);
    Ok(Opened {
        modules: vec![Box::new(module)],
        keep: vec![Box::new(lock), Box::new(pid_files)],
    })
}

/// The single-instance lock in `run_dir`; with `kill`, a holder is sent
/// SIGTERM and waited for (up to [`KILL_WAIT`]).
fn take_lock(run_dir: &std::path::Path, kill: bool) -> Result<lock::DirLock, (i32, String)> {
    let err = match lock::lock_dir_as(run_dir, "vold") {
        Ok(l) => return Ok(l),
        Err(e) => e,
    };
    let Some((pid, _)) = lock::lock_holder(run_dir).filter(|_| kill) else {
        return Err((code::RUNNING, format!("a vold is already running: {err}")));
    };
    let wait = std::env::var(KILL_WAIT_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(KILL_WAIT, Duration::from_secs);
    log::info!(
        "-k: sending SIGTERM to vold pid {pid}, waiting up to {} s",
        wait.as_secs()
    );
    let _ = lock::signal(pid, rustix::process::Signal::TERM);
    let deadline = Instant::now() + wait;
    loop {
        if let Ok(l) = lock::lock_dir_as(run_dir, "vold") {
            return Ok(l);
        }
        if Instant::now() >= deadline {
            return Err((
                code::RUNNING,
                format!("vold pid {pid} did not exit within {} s", wait.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `vold` for `statmon run` (in the foreground, as `-f`).
pub fn plan(prog: &'static str, argv: Vec<OsString>) -> Result<Box<dyn Plan>, i32> {
    let mut opts = parse(prog, &argv)?;
    opts.foreground = true;
    Ok(Box::new(VoldPlan { prog, opts }))
}

struct VoldPlan {
    prog: &'static str,
    opts: Options,
}

impl Plan for VoldPlan {
    fn name(&self) -> &'static str {
        self.prog
    }
    fn verbosity(&self) -> u32 {
        1
    }
    fn log_stderr(&self) -> bool {
        false
    }
    fn needs_root(&self) -> bool {
        true
    }
    fn open(self: Box<Self>, _hosting: Hosting) -> Result<Opened, i32> {
        open(self.opts, None)
    }
}
