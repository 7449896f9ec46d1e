//! sihmon's command line, exactly the manual's:
//!
//! ```text
//! sihmon [-d level] [-f file] [-t timeout] [-r retry] [-s size]
//! sihmon -v
//! sihmon -h|-?
//! ```
//!
//! Options may be clustered and their arguments attached (`-d2`, `-s0`).
//! An unknown option, a missing argument or an operand is exit 1
//! (EILLOPT, as getopt's `?`); a bad argument is exit 2 (EWRARG). The
//! values are clamped as the manual says: `-t` below 10 is 10, `-s` from
//! 1 to 1023 is 1024.

use super::exit::Exit;
use super::logfile::{LOG_MAX, LOG_MIN};
use std::ffi::OsString;
use std::path::PathBuf;

/// The syntax, as `-h` prints it.
pub const USAGE: &str =
    "usage: sihmon [-d level] [-f file] [-t timeout] [-r retry] [-s size]\n       \
    sihmon -v\n       sihmon -h|-?";

/// The default retry interval in seconds.
pub const DEFAULT_TIMEOUT: u64 = 90;

/// The monitor's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Trace level 0–2.
    pub level: u8,
    /// The trace file (`None`: `/var/saf/<pmtag>/trace`).
    pub trace: Option<PathBuf>,
    /// Seconds before a failed operation is repeated (at least 10).
    pub timeout: u64,
    /// Failures in a row before a link is disabled (0: never).
    pub retry: u32,
    /// The log's cap in bytes (0: no log file).
    pub size: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            level: 0,
            trace: None,
            timeout: DEFAULT_TIMEOUT,
            retry: 0,
            size: LOG_MAX,
        }
    }
}

/// What the command line asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the monitor.
    Run(Options),
    /// `-v`.
    Version,
    /// `-h` or `-?`.
    Help,
}

/// A command line refused: the exit code and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// 1 or 2.
    pub exit: Exit,
    /// The message (without the usage).
    pub text: String,
}

fn refuse(exit: Exit, text: String) -> Refused {
    Refused { exit, text }
}

/// Parses the arguments after the program name.
pub fn parse(args: &[OsString]) -> Result<Command, Refused> {
    let mut opts = Options::default();
    let mut args = args.iter().map(|a| a.to_string_lossy().into_owned());
    let mut version = false;
    let mut help = false;
    while let Some(arg) = args.next() {
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) else {
            return Err(refuse(
                Exit::ILLOPT,
                format!("unexpected operand \"{arg}\""),
            ));
        };
        for (at, c) in cluster.char_indices() {
            match c {
                'v' => version = true,
                'h' | '?' => help = true,
                'd' | 'f' | 't' | 'r' | 's' => {
                    let rest = &cluster[at + c.len_utf8()..];
                    let value = if rest.is_empty() {
                        args.next().ok_or_else(|| {
                            refuse(Exit::ILLOPT, format!("option -{c} requires an argument"))
                        })?
                    } else {
                        rest.to_string()
                    };
                    set(&mut opts, c, &value)?;
                    break;
                }
                c => return Err(refuse(Exit::ILLOPT, format!("illegal option -- {c}"))),
            }
        }
    }
    Ok(if help {
        Command::Help
    } else if version {
        Command::Version
    } else {
        Command::Run(opts)
    })
}

fn set(opts: &mut Options, c: char, value: &str) -> Result<(), Refused> {
    let bad = |what: &str| {
        refuse(
            Exit::WRARG,
            format!("wrong argument \"{value}\" for -{c}: {what} expected"),
        )
    };
    match c {
        'd' => {
            opts.level = value
                .parse()
                .ok()
                .filter(|l| *l <= 2)
                .ok_or_else(|| bad("a trace level 0, 1 or 2"))?;
        }
        'f' => {
            let p = PathBuf::from(value);
            if !p.is_absolute() {
                return Err(bad("an absolute path name"));
            }
            opts.trace = Some(p);
        }
        't' => opts.timeout = value.parse().map_err(|_| bad("a number of seconds"))?,
        'r' => opts.retry = value.parse().map_err(|_| bad("0 or a positive number"))?,
        _ => {
            let size: u64 = value.parse().map_err(|_| bad("a size in bytes"))?;
            opts.size = if size == 0 { 0 } else { size.max(LOG_MIN) };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, Refused> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    fn opts(args: &[&str]) -> Options {
        match run(args) {
            Ok(Command::Run(o)) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(opts(&[]), Options::default());
        assert_eq!(Options::default().size, 1_048_576);
        let o = opts(&["-d2", "-f", "/tmp/t", "-t", "3", "-r5", "-s", "5"]);
        assert_eq!((o.level, o.timeout, o.retry, o.size), (2, 3, 5, 1024));
        assert_eq!(o.trace.as_deref(), Some(std::path::Path::new("/tmp/t")));
        assert_eq!(opts(&["-s0"]).size, 0);
        assert_eq!(opts(&["-s", "1023"]).size, 1024);
        assert_eq!(opts(&["-s", "1025"]).size, 1025);
    }

    #[test]
    fn version_help_and_refusals() {
        assert_eq!(run(&["-v"]), Ok(Command::Version));
        assert_eq!(run(&["-?"]), Ok(Command::Help));
        assert_eq!(run(&["-vh"]), Ok(Command::Help));
        let code = |a: &[&str]| run(a).unwrap_err().exit;
        assert_eq!(code(&["-x"]), Exit::ILLOPT);
        assert_eq!(code(&["-d"]), Exit::ILLOPT);
        assert_eq!(code(&["word"]), Exit::ILLOPT);
        assert_eq!(code(&["-d", "3"]), Exit::WRARG);
        assert_eq!(code(&["-t", "abc"]), Exit::WRARG);
        assert_eq!(code(&["-r", "-1"]), Exit::WRARG);
        assert_eq!(code(&["-s", "x"]), Exit::WRARG);
        assert_eq!(code(&["-f", "rel/trace"]), Exit::WRARG);
    }
}
