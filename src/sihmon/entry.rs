//! The `sihmon` program: the start-up of the manual, one step per exit
//! code, then the module on a reactor of its own (or beside other daemons
//! in `statmon run`).
//!
//! sac starts a port monitor in `/etc/saf/<pmtag>` with `PMTAG` and
//! `ISTATE` in its environment. In that order:
//! 1. options (1, 2; `-v` and `-h` end here);
//! 2. root (3);
//! 3. `_pid` in the working directory, locked with a POSIX record lock
//!    as `lockf` takes it: locked already 4, not creatable 5;
//! 4. `PMTAG` (6), then `/var/saf/<pmtag>/log` unless `-s 0` (7); from
//!    here every failure is a FATAL line in the log;
//! 5. `ISTATE` (8), `_pmpipe` (9), `../_sacpipe` (10);
//! 6. descriptors: 15 and one per pmtab entry, the soft limit raised to
//!    that if it is lower (11 if the hard limit is lower still);
//! 7. the tables (12–19), and every enabled link's loader executable
//!    (21);
//! 8. serve. Waiting on `_pmpipe` failing is 20; the event loop failing
//!    50; a panic (standalone only) a FATAL line and 99. The test hook
//!    of [`super::fault`] injects each of the three.
//!
//! Every system path (`/var/saf`, `/etc/ttydefs`, ...) is under
//! `STATMON_ROOT` when it is set; the working directory is sac's.

use super::argv;
use super::core::{Config, Engine, MAX_LINKS};
use super::ctl;
use super::exit::Exit;
use super::fault::Fault;
use super::logfile::{self, Logs, RotatingFile, Type};
use super::module::{Setup, SihmonModule};
use super::opts::{self, Command, Options, USAGE};
use super::tables::{pmtab, TableFiles};
use super::wire::{PmState, MAX_TAG};
use crate::daemon::host::{Hosting, Opened, Plan};
use crate::daemon::root;
use crate::reactor::{Reactor, SystemClock};
use rustix::fs::FlockOperation;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The version `-v` prints (the package's).
pub const VERSION_ID: &str = concat!("statmon-", env!("CARGO_PKG_VERSION"));

/// Descriptors the monitor needs besides one per link.
pub const BASE_FDS: u64 = 15;

/// The log a panic writes its FATAL line to.
static PANIC_LOG: OnceLock<PathBuf> = OnceLock::new();

/// Entry point for `sihmon`: returns the exit status.
pub fn main(_prog: &'static str, args: Vec<OsString>) -> i32 {
    let opts = match command(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    install_panic_hook();
    crate::sys::open_syslog("sihmon");
    match prepare(opts) {
        Ok((module, pid)) => serve(module, pid),
        Err(code) => code,
    }
}

/// `sihmon` for `statmon run`.
pub fn plan(_prog: &'static str, args: Vec<OsString>) -> Result<Box<dyn Plan>, i32> {
    let opts = command(&args)?;
    Ok(Box::new(SihmonPlan { opts }))
}

/// The options, or the exit status after `-v`, `-h` or a refusal.
fn command(args: &[OsString]) -> Result<Options, i32> {
    match opts::parse(args) {
        Ok(Command::Run(o)) => Ok(o),
        Ok(Command::Version) => {
            print!("{VERSION_ID}");
            let _ = std::io::stdout().flush();
            Err(Exit::OK.0)
        }
        Ok(Command::Help) => {
            let _ = writeln!(std::io::stderr(), "{USAGE}");
            Err(Exit::OK.0)
        }
        Err(r) => {
            say(&format!("{}\n{USAGE}", r.text));
            Err(r.exit.0)
        }
    }
}

/// A panic: a FATAL line in the log and on stderr, exit 99. Nothing in
/// the hook may panic again (that would abort with a core instead), so
/// stderr is written without `eprintln!`.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let text = format!("internal program error: {info}");
        say(&text);
        if let Some(path) = PANIC_LOG.get() {
            let t = crate::sys::local_time(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
            );
            let line = logfile::format_line(Type::Fatal, &t, std::process::id(), &text);
            if let Ok(mut f) = OpenOptions::new().append(true).open(path) {
                let _ = f.write_all(line.as_bytes());
            }
        }
        std::process::exit(Exit::INTERNAL2.0);
    }));
}

/// `sihmon: text` on stderr; a stderr that cannot be written to (a pipe
/// whose reader is gone) is no reason to fail.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "sihmon: {text}");
}

/// Before the log is open: stderr and the console.
fn early(exit: Exit, text: &str) -> i32 {
    say(text);
    if let Ok(mut console) = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(root::path("/dev/console"))
    {
        let _ = writeln!(console, "sihmon: {text}");
    }
    exit.0
}

/// Once the log is open: a FATAL line (and stderr).
fn fatal(logs: &mut Logs, exit: Exit, text: &str) -> i32 {
    logs.log(Type::Fatal, text);
    say(text);
    exit.0
}

/// Start-up steps 2 to 7: the module and the locked `_pid`.
fn prepare(opts: Options) -> Result<(SihmonModule, File), i32> {
    if !rustix::process::geteuid().is_root() {
        return Err(early(Exit::NOROOT, "only root may start the SIH monitor"));
    }
    let pid = lock_pid().map_err(|(exit, text)| early(exit, &text))?;
    let tag = match std::env::var("PMTAG") {
        Ok(t) if valid_tag(&t) => t,
        Ok(t) => {
            return Err(early(
                Exit::PMTAG,
                &format!("PMTAG \"{t}\" is not a port monitor tag"),
            ))
        }
        Err(_) => return Err(early(Exit::PMTAG, "PMTAG is not in the environment")),
    };
    let var = root::path("/var/saf").join(&tag);
    let _ = std::fs::create_dir_all(&var);
    let log = if opts.size == 0 {
        None
    } else {
        let path = var.join("log");
        match RotatingFile::open(&path, opts.size) {
            Ok(f) => Some(f),
            Err(e) => {
                return Err(early(
                    Exit::NOLOG,
                    &format!("cannot open {}: {e}", path.display()),
                ))
            }
        }
    };
    if log.is_some() {
        let _ = PANIC_LOG.set(var.join("log"));
    }
    let trace = opts.trace.clone().unwrap_or_else(|| var.join("trace"));
    let mut logs = Logs::new(log, trace, var.join("state"), opts.level, true);
    let state = match std::env::var("ISTATE").as_deref() {
        Ok("enabled") => PmState::ENABLED,
        Ok("disabled") => PmState::DISABLED,
        Ok(other) => {
            let text = format!("ISTATE \"{other}\" is neither enabled nor disabled");
            return Err(fatal(&mut logs, Exit::ISTATE, &text));
        }
        Err(_) => {
            return Err(fatal(
                &mut logs,
                Exit::ISTATE,
                "ISTATE is not in the environment",
            ))
        }
    };
    let pmpipe = cwd().join("_pmpipe");
    match std::fs::metadata(&pmpipe) {
        Ok(m) if m.file_type().is_fifo() => {}
        Ok(_) => {
            let text = format!("cannot open {}: not a FIFO", pmpipe.display());
            return Err(fatal(&mut logs, Exit::PMPIPE, &text));
        }
        Err(e) => {
            let text = format!("cannot open {}: {e}", pmpipe.display());
            return Err(fatal(&mut logs, Exit::PMPIPE, &text));
        }
    }
    let sacpipe = open_sacpipe().map_err(|text| fatal(&mut logs, Exit::SACPIPE, &text))?;
    let files = TableFiles::system(cwd());
    fd_budget(&files).map_err(|text| fatal(&mut logs, Exit::TOOFEWFDS, &text))?;
    let tables = files
        .read()
        .map_err(|e| fatal(&mut logs, e.exit, &e.text))?;
    check_loaders(&tables.0.pmtab).map_err(|text| fatal(&mut logs, Exit::CLDEXEC, &text))?;
    let fault = Fault::from_env();
    let setup = Setup {
        tag: tag.clone(),
        pmpipe,
        sacpipe,
        tables: files,
        dev: root::path("/dev"),
        socket: Some(var.join(ctl::SOCKET)),
        fault,
    };
    let engine = Engine::new(Config::new(opts.timeout, opts.retry), &tag, state);
    if fault == Some(Fault::Panic) {
        panic!("{}", Fault::Panic.reason());
    }
    Ok((SihmonModule::new(setup, engine, logs, tables), pid))
}

/// The monitor alone on a reactor, until it exits.
fn serve(mut module: SihmonModule, pid: File) -> i32 {
    let internal = |what: &str, e: std::io::Error| {
        let text = format!("{what}: {e}");
        say(&text);
        crate::sys::syslog(Type::Fatal.priority(), &text);
        Exit::INTERNAL1.0
    };
    let created = match module.fault() {
        Some(Fault::EventLoop) => Err(std::io::Error::other(Fault::EventLoop.reason())),
        _ => Reactor::new(Box::new(SystemClock)),
    };
    let mut reactor = match created {
        Ok(r) => r,
        Err(e) => {
            // The module (and so the log) is still ours: a FATAL line.
            let text = format!("cannot create the event loop: {e}");
            module.log_fatal(&text);
            say(&text);
            return Exit::INTERNAL1.0;
        }
    };
    if let Err(e) = reactor.add_module(Box::new(module)) {
        return internal("cannot start", e);
    }
    let code = match reactor.run() {
        Ok(code) => code,
        Err(e) => internal("event loop failed", e),
    };
    drop(reactor);
    drop(pid);
    code
}

fn cwd() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// A tag as sac allows: 1 to 14 letters, digits, `_` or `-`.
fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_TAG
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `_pid` created, locked and holding our pid.
fn lock_pid() -> Result<File, (Exit, String)> {
    let path = cwd().join("_pid");
    let cannot = |e: std::io::Error| (Exit::CPID, format!("cannot create {}: {e}", path.display()));
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&path)
        .map_err(cannot)?;
    if let Err(e) = rustix::fs::fcntl_lock(&f, FlockOperation::NonBlockingLockExclusive) {
        return Err((
            Exit::PIDLOCK,
            format!(
                "{} is locked ({e}): this SIH monitor incarnation runs already",
                path.display()
            ),
        ));
    }
    f.set_len(0).map_err(cannot)?;
    write!(f, "{}", std::process::id()).map_err(cannot)?;
    Ok(f)
}

fn open_sacpipe() -> Result<File, String> {
    let path = cwd().join("../_sacpipe");
    let f = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match f.metadata() {
        Ok(m) if m.file_type().is_fifo() => Ok(f),
        _ => Err(format!("cannot open {}: not a FIFO", path.display())),
    }
}

/// 15 descriptors and one per pmtab entry: the soft limit is raised to
/// that if need be; `Err` if the hard limit is lower.
fn fd_budget(files: &TableFiles) -> Result<(), String> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let links = std::fs::read_to_string(files.pmtab())
        .map(|t| pmtab::parse(&t).0.len())
        .unwrap_or(0);
    let need = BASE_FDS + links as u64;
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current.is_none_or(|c| c >= need) {
        return Ok(());
    }
    if lim.maximum.is_some_and(|m| m < need) {
        return Err(format!(
            "too few file descriptors: {need} needed ({BASE_FDS} and one for each of {links} links), {} allowed",
            lim.maximum.unwrap_or(0)
        ));
    }
    lim.current = Some(need);
    setrlimit(Resource::Nofile, lim)
        .map_err(|e| format!("too few file descriptors: cannot raise the limit to {need}: {e}"))
}

/// Every monitored enabled link's loader can be executed.
fn check_loaders(entries: &[pmtab::PmtabEntry]) -> Result<(), String> {
    for e in entries.iter().filter(|e| !e.disabled).take(MAX_LINKS) {
        let words = argv::split(&e.specific.cmd)
            .map_err(|why| format!("link {}: loader command: {why}", e.svctag))?;
        let Some(program) = words.first() else {
            continue;
        };
        if !executable(program) {
            return Err(format!(
                "link {}: loader {program} cannot be executed",
                e.svctag
            ));
        }
    }
    Ok(())
}

/// Whether `program` (a path, or a name looked up in `PATH`) is an
/// executable file.
pub fn executable(program: &str) -> bool {
    let runs = |p: &Path| p.is_file() && rustix::fs::access(p, rustix::fs::Access::EXEC_OK).is_ok();
    if program.contains('/') {
        return runs(Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| runs(&dir.join(program))))
}

/// sihmon, parsed, waiting to be opened on a shared reactor.
struct SihmonPlan {
    opts: Options,
}

impl Plan for SihmonPlan {
    fn name(&self) -> &'static str {
        "sihmon"
    }
    fn verbosity(&self) -> u32 {
        0
    }
    fn log_stderr(&self) -> bool {
        false
    }
    fn needs_root(&self) -> bool {
        true
    }
    fn open(self: Box<Self>, _hosting: Hosting) -> Result<Opened, i32> {
        let (module, pid) = prepare(self.opts)?;
        Ok(Opened {
            modules: vec![Box::new(module)],
            keep: vec![Box::new(pid)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_executables() {
        assert!(valid_tag("sih1"));
        assert!(!valid_tag(""));
        assert!(!valid_tag("abcdefghijklmno"));
        assert!(!valid_tag("a b"));
        assert!(executable("/bin/sh"));
        assert!(executable("sh"));
        assert!(!executable("/etc/passwd"));
        assert!(!executable("/nonexistent/loader"));
    }
}
