//! `portmap`: the embedded portmapper as a daemon of its own (program
//! 100000 versions 2, 3 and 4 on port 111 and rpcbind's local socket), for
//! hosts without rpcbind and for `statmon run`, where it serves the
//! daemons beside it: started before them, ended after the last of them,
//! so that each can unregister on its way out.

use super::portmapper::{OnSignal, PortmapModule, LOCAL_SOCKET};
use crate::daemon::args::{self, Arg, Opt};
use crate::daemon::host::{Hosting, Opened, Plan};
use crate::daemon::{root, run};
use crate::proto::pmap::PMAP_PORT;
use std::ffi::OsString;
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

const SYNOPSIS: &str = "[-f] [-d] [-v] [-p port] [-l path | -L]";

const OPTIONS: &[Opt] = &[
    Opt {
        short: "f",
        long: "foreground",
        arg: Arg::None,
        help: "stay in the foreground (log to syslog, errors to stderr too)",
    },
    Opt {
        short: "d",
        long: "debug",
        arg: Arg::None,
        help: "stay in the foreground and log everything to stderr",
    },
    Opt {
        short: "v",
        long: "verbose",
        arg: Arg::None,
        help: "log more (repeat for more)",
    },
    Opt {
        short: "p",
        long: "port",
        arg: Arg::Required("port"),
        help: "listen on this port instead of 111",
    },
    Opt {
        short: "l",
        long: "local-socket",
        arg: Arg::Required("path"),
        help: "the local socket (default /run/rpcbind.sock)",
    },
    Opt {
        short: "L",
        long: "no-local-socket",
        arg: Arg::None,
        help: "serve no local socket",
    },
    Opt {
        short: "h",
        long: "help",
        arg: Arg::None,
        help: "print this help and exit",
    },
    Opt {
        short: "V",
        long: "version",
        arg: Arg::None,
        help: "print the version and exit",
    },
];

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    Run(Config),
}

/// The portmapper's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `-f` or `-d`: do not detach.
    pub foreground: bool,
    /// `-d`: every line on stderr.
    pub log_stderr: bool,
    /// 3 with `-d`, else one per `-v`.
    pub verbosity: u32,
    /// `-p`: the port (111 by default).
    pub port: u16,
    /// `-l`, or rpcbind's socket; `None` with `-L`.
    pub local: Option<PathBuf>,
}

/// Parses `portmap`'s arguments; `Err` is the message for stderr.
pub fn parse(prog: &str, argv: &[OsString]) -> Result<Command, String> {
    let m = args::parse(prog, OPTIONS, argv).map_err(|e| e.0)?;
    if let Some(extra) = m.free.first() {
        return Err(format!("{prog}: unexpected argument '{extra}'"));
    }
    if m.opt_present("h") {
        return Ok(Command::Help);
    }
    if m.opt_present("V") {
        return Ok(Command::Version);
    }
    if m.opt_present("l") && m.opt_present("L") {
        return Err(format!("{prog}: -l and -L exclude each other"));
    }
    let debug = m.opt_present("d");
    let local = match m.opt_strs("l").last() {
        Some(path) => Some(PathBuf::from(path)),
        None if m.opt_present("L") => None,
        None => Some(root::path(LOCAL_SOCKET)),
    };
    Ok(Command::Run(Config {
        foreground: debug || m.opt_present("f"),
        log_stderr: debug,
        verbosity: if debug { 3 } else { m.opt_count("v") as u32 },
        port: args::port(&m, "p")
            .map_err(|e| format!("{prog}: -p: {e}"))?
            .unwrap_or(PMAP_PORT),
        local,
    }))
}

/// Entry point for `portmap`: returns the exit status.
pub fn main(prog: &'static str, argv: Vec<OsString>) -> i32 {
    match parse_command(prog, &argv) {
        Ok(Command::Help) => {
            print!("{}", args::usage(prog, SYNOPSIS, OPTIONS));
            0
        }
        Ok(Command::Version) => {
            println!("{prog} (statmon) version {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Ok(Command::Run(cfg)) => run(prog, cfg),
        Err(code) => code,
    }
}

/// `portmap ARGS` as one of the daemons of `statmon run`.
pub fn plan(prog: &'static str, argv: Vec<OsString>) -> Result<Box<dyn Plan>, i32> {
    match parse_command(prog, &argv)? {
        Command::Run(cfg) => Ok(Box::new(PortmapPlan { prog, cfg })),
        Command::Help | Command::Version => {
            eprintln!("statmon run: {prog}: only the daemon can run beside others");
            Err(1)
        }
    }
}

/// [`parse`], printing an error and the hint; `Err` is the exit status 1.
fn parse_command(prog: &str, argv: &[OsString]) -> Result<Command, i32> {
    parse(prog, argv).map_err(|msg| {
        eprintln!("{msg}");
        eprintln!("{}", args::hint(prog));
        1
    })
}

fn run(prog: &'static str, cfg: Config) -> i32 {
    let Ok(ready) = run::detach_and_log(prog, cfg.foreground, cfg.log_stderr, cfg.verbosity) else {
        return run::EXIT_FAILURE;
    };
    log::info!("statmon {} starting as {prog}", env!("CARGO_PKG_VERSION"));
    let module = module(&cfg, OnSignal::StopAndExit);
    match run::bootstrap(vec![Box::new(module)]) {
        Ok(reactor) => {
            if let Some(r) = ready {
                r.ready();
            }
            let code = run::run_to_exit(reactor);
            log::info!("exiting");
            code
        }
        Err(e) => {
            // Logged by the reactor already; the waiting parent says it too.
            if let Some(r) = ready {
                r.failed(&format!("cannot serve the portmapper: {e}"));
            }
            run::EXIT_FAILURE
        }
    }
}

/// The module for `cfg`, after clearing a stale local socket: as rpcbind
/// does, a socket left by a portmapper that is gone (one that gave up
/// root, or was killed, cannot remove its own) is replaced, but never one
/// that a live portmapper accepts on.
fn module(cfg: &Config, on_signal: OnSignal) -> PortmapModule {
    if let Some(path) = &cfg.local {
        clear_stale_socket(path);
    }
    PortmapModule::new(cfg.port, cfg.local.clone()).on_signal(on_signal)
}

/// Removes `path` if it is a socket that refuses connections.
fn clear_stale_socket(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    if !is_socket {
        return;
    }
    match UnixStream::connect(path) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            match std::fs::remove_file(path) {
                Ok(()) => log::info!("removed the stale socket {}", path.display()),
                Err(e) => log::warn!("cannot remove the stale socket {}: {e}", path.display()),
            }
        }
        Err(_) => {}
    }
}

/// The portmapper, parsed, waiting to be opened on a shared reactor.
struct PortmapPlan {
    prog: &'static str,
    cfg: Config,
}

impl Plan for PortmapPlan {
    fn name(&self) -> &'static str {
        self.prog
    }
    fn verbosity(&self) -> u32 {
        self.cfg.verbosity
    }
    fn log_stderr(&self) -> bool {
        self.cfg.log_stderr
    }
    fn serves_others(&self) -> bool {
        true
    }
    fn open(self: Box<Self>, hosting: Hosting) -> Result<Opened, i32> {
        let on_signal = if hosting.shared {
            OnSignal::Ignore
        } else {
            OnSignal::StopAndExit
        };
        Ok(Opened {
            modules: vec![Box::new(module(&self.cfg, on_signal))],
            keep: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> Result<Command, String> {
        let argv: Vec<OsString> = words.iter().map(OsString::from).collect();
        parse("portmap", &argv)
    }

    fn cfg(words: &[&str]) -> Config {
        match parse_words(words) {
            Ok(Command::Run(cfg)) => cfg,
            other => panic!("{words:?}: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_port_111_and_rpcbinds_socket_detached() {
        let c = cfg(&[]);
        assert_eq!(c.port, 111);
        assert_eq!(c.local, Some(root::path(LOCAL_SOCKET)));
        assert!(!c.foreground && !c.log_stderr);
        assert_eq!(c.verbosity, 0);
    }

    #[test]
    fn each_option_does_what_its_help_says() {
        let c = cfg(&["-d", "-p", "20111", "-L"]);
        assert!(c.foreground && c.log_stderr);
        assert_eq!((c.port, c.local, c.verbosity), (20111, None, 3));
        let c = cfg(&["-f", "-v", "-v", "--local-socket", "/tmp/pm.sock"]);
        assert!(c.foreground && !c.log_stderr);
        assert_eq!(c.verbosity, 2);
        assert_eq!(c.local, Some(PathBuf::from("/tmp/pm.sock")));
        assert_eq!(parse_words(&["-h"]), Ok(Command::Help));
        assert_eq!(parse_words(&["--version"]), Ok(Command::Version));
    }

    #[test]
    fn bad_input_names_what_is_wrong() {
        let err = |w: &[&str]| parse_words(w).unwrap_err();
        assert!(err(&["-p", "0"]).contains("-p: invalid port number '0'"));
        assert!(err(&["-x"]).contains("invalid option -- 'x'"));
        assert!(err(&["extra"]).contains("unexpected argument 'extra'"));
        assert!(err(&["-l", "/a", "-L"]).contains("exclude each other"));
    }

    #[test]
    fn a_stale_socket_is_cleared_and_a_live_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rpcbind.sock");
        let live = std::os::unix::net::UnixListener::bind(&path).unwrap();
        clear_stale_socket(&path);
        assert!(path.exists(), "a live socket is kept");
        drop(live);
        clear_stale_socket(&path);
        assert!(!path.exists(), "a socket nobody accepts on is removed");
        std::fs::write(&path, b"not a socket").unwrap();
        clear_stale_socket(&path);
        assert!(path.exists(), "only sockets are removed");
    }
}
