//! rpc.statd's command line: the seed man page's flags first, then the
//! nfs-utils short flags that do not collide with them.

use crate::cli::{self, Arg, Opt};
use std::ffi::OsString;
use std::path::PathBuf;

/// Default state directory of the nfs-utils layout on Linux.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/nfs";

/// The option table; the usage text and the man page follow it.
pub const OPTIONS: &[Opt] = &[
    Opt {
        short: "d",
        long: "debug",
        arg: Arg::None,
        help: "log at the maximum level (debug)",
    },
    Opt {
        short: "F",
        long: "foreground",
        arg: Arg::None,
        help: "stay in the foreground, log to stderr",
    },
    Opt {
        short: "p",
        long: "port",
        arg: Arg::Required("PORT"),
        help: "listen on PORT (udp, tcp, udp6, tcp6)",
    },
    Opt {
        short: "P",
        long: "state-directory-path",
        arg: Arg::Required("DIR"),
        help: "state directory (default /var/lib/nfs)",
    },
    Opt {
        short: "",
        long: "no-embedded-portmap",
        arg: Arg::None,
        help: "never serve a portmapper of our own",
    },
    Opt {
        short: "V",
        long: "version",
        arg: Arg::None,
        help: "print the version and exit",
    },
    Opt {
        short: "h",
        long: "help",
        arg: Arg::None,
        help: "print this help and exit",
    },
    Opt {
        short: "?",
        long: "",
        arg: Arg::None,
        help: "same as -h",
    },
];

const SYNOPSIS: &str = "[-dF] [-p port] [-P dir] [--no-embedded-portmap]";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the daemon.
    Run(Config),
    /// Print the version.
    Version,
    /// Print the help.
    Help,
}

/// Daemon settings taken from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `-F`: do not daemonize; log to stderr.
    pub foreground: bool,
    /// Man-page verbosity (0 = warnings; `-d` = 3, the maximum).
    pub verbosity: u32,
    /// `-p`: the listening port for all four transports; `None` = any free port.
    pub port: Option<u16>,
    /// `-P`: the state directory.
    pub state_dir: PathBuf,
    /// Serve an embedded portmapper when no rpcbind answers.
    pub embedded_portmap: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            foreground: false,
            verbosity: 0,
            port: None,
            state_dir: PathBuf::from(DEFAULT_STATE_DIR),
            embedded_portmap: true,
        }
    }
}

/// The help text.
pub fn usage(prog: &str) -> String {
    cli::usage(prog, SYNOPSIS, OPTIONS)
}

/// Parses the arguments after the program name. An error carries the message
/// to print (before the usage text).
pub fn parse(prog: &str, args: &[OsString]) -> Result<Command, String> {
    let m = cli::parse(prog, OPTIONS, args).map_err(|e| e.0)?;
    if m.opt_present("h") || m.opt_present("?") {
        return Ok(Command::Help);
    }
    if m.opt_present("V") {
        return Ok(Command::Version);
    }
    if let Some(extra) = m.free.first() {
        return Err(format!("{prog}: unexpected argument '{extra}'"));
    }
    let mut c = Config {
        foreground: m.opt_present("F"),
        verbosity: if m.opt_present("d") { 3 } else { 0 },
        port: cli::port(&m, "p").map_err(|e| format!("{prog}: {e}"))?,
        embedded_portmap: !m.opt_present("no-embedded-portmap"),
        ..Config::default()
    };
    if let Some(dir) = m.opt_strs("P").last() {
        if dir.is_empty() {
            return Err(format!("{prog}: empty state directory path"));
        }
        c.state_dir = PathBuf::from(dir);
    }
    Ok(Command::Run(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: &[&str]) -> Result<Command, String> {
        let args: Vec<OsString> = v.iter().map(OsString::from).collect();
        parse("rpc.statd", &args)
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[]), Ok(Command::Run(Config::default())));
    }

    #[test]
    fn flags_combine() {
        let Ok(Command::Run(c)) = run(&["-dF", "-p", "20024", "-P/tmp/x"]) else {
            panic!()
        };
        assert!(c.foreground);
        assert_eq!(c.verbosity, 3);
        assert_eq!(c.port, Some(20024));
        assert_eq!(c.state_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn help_and_version() {
        assert_eq!(run(&["-h"]), Ok(Command::Help));
        assert_eq!(run(&["-?"]), Ok(Command::Help));
        assert_eq!(run(&["-V"]), Ok(Command::Version));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(run(&["-x"]).is_err());
        assert!(run(&["-p", "70000"]).is_err());
        assert!(run(&["stray"]).is_err());
        assert!(run(&["-P", ""]).is_err());
    }
}
