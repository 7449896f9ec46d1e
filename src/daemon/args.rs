//! Command-line parsing shared by every daemon: a thin wrapper over `getopts`
//! that speaks like getopt(3) and builds the usage text from one option table.

use getopts::{Matches, Options};
use std::ffi::OsString;

/// How an option takes its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A flag (`-F`); may repeat.
    None,
    /// A required argument (`-p port`), written `-p 20024`, `-p20024` or `--port=20024`.
    Required(&'static str),
}

/// One option of a program: its short letter (or none), long name (or none),
/// argument and help text. The table is the single source of the usage text.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub short: &'static str,
    pub long: &'static str,
    pub arg: Arg,
    pub help: &'static str,
}

/// A parse failure, rendered the way getopt(3) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

/// Parses `args` (without the program name) against `table`.
pub fn parse(prog: &str, table: &[Opt], args: &[OsString]) -> Result<Matches, UsageError> {
    let mut opts = Options::new();
    for o in table {
        match o.arg {
            Arg::None => opts.optflagmulti(o.short, o.long, o.help),
            Arg::Required(hint) => opts.optmulti(o.short, o.long, o.help, hint),
        };
    }
    opts.parse(args)
        .map_err(|e| UsageError(getopt_message(prog, &e)))
}

fn getopt_message(prog: &str, e: &getopts::Fail) -> String {
    use getopts::Fail;
    let strip = |s: &str| s.trim_start_matches('-').to_string();
    match e {
        Fail::UnrecognizedOption(o) if strip(o).chars().count() > 1 => {
            format!("{prog}: unrecognized option '--{}'", strip(o))
        }
        Fail::UnrecognizedOption(o) => format!("{prog}: invalid option -- '{}'", strip(o)),
        Fail::ArgumentMissing(o) if strip(o).chars().count() > 1 => {
            format!("{prog}: option '--{}' requires an argument", strip(o))
        }
        Fail::ArgumentMissing(o) => {
            format!("{prog}: option requires an argument -- '{}'", strip(o))
        }
        Fail::OptionDuplicated(o) => format!("{prog}: option '{o}' given twice"),
        Fail::OptionMissing(o) => format!("{prog}: option '{o}' is required"),
        Fail::UnexpectedArgument(o) => {
            format!("{prog}: option '--{}' doesn't allow an argument", strip(o))
        }
    }
}

/// The usage text: a synopsis line, then one line per option.
pub fn usage(prog: &str, synopsis: &str, table: &[Opt]) -> String {
    format!("Usage: {prog} {synopsis}\n{}", options_text(table))
}

/// The one line printed after a command-line error, instead of the usage.
pub fn hint(prog: &str) -> String {
    format!("Try '{prog} --help' for more information.")
}

/// One line per option of `table`: its names, argument and help.
pub fn options_text(table: &[Opt]) -> String {
    let mut out = String::new();
    for o in table {
        let mut names = Vec::new();
        if !o.short.is_empty() {
            names.push(format!("-{}", o.short));
        }
        if !o.long.is_empty() {
            names.push(format!("--{}", o.long));
        }
        let mut left = names.join(", ");
        if let Arg::Required(hint) = o.arg {
            left.push(' ');
            left.push_str(hint);
        }
        out.push_str(&format!("  {left:<34} {}\n", o.help));
    }
    out
}

/// The last value of a repeatable option, parsed as a port number (1..=65535).
pub fn port(m: &Matches, name: &str) -> Result<Option<u16>, String> {
    match m.opt_strs(name).last() {
        None => Ok(None),
        Some(s) => match s.parse::<u16>() {
            Ok(p) if p > 0 => Ok(Some(p)),
            _ => Err(format!("invalid port number '{s}'")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[Opt] = &[
        Opt {
            short: "F",
            long: "foreground",
            arg: Arg::None,
            help: "stay in the foreground",
        },
        Opt {
            short: "p",
            long: "port",
            arg: Arg::Required("PORT"),
            help: "listen port",
        },
    ];

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn short_long_and_attached_forms() {
        let m = parse("x", TABLE, &args(&["-Fp20024"])).unwrap();
        assert!(m.opt_present("F"));
        assert_eq!(port(&m, "p"), Ok(Some(20024)));
        let m = parse("x", TABLE, &args(&["--port=7", "--foreground"])).unwrap();
        assert_eq!(port(&m, "p"), Ok(Some(7)));
    }

    #[test]
    fn errors_read_like_getopt() {
        let e = parse("rpc.statd", TABLE, &args(&["-z"])).unwrap_err();
        assert_eq!(e.0, "rpc.statd: invalid option -- 'z'");
        let e = parse("rpc.statd", TABLE, &args(&["-p"])).unwrap_err();
        assert_eq!(e.0, "rpc.statd: option requires an argument -- 'p'");
        let e = parse("rpc.statd", TABLE, &args(&["--bogus"])).unwrap_err();
        assert_eq!(e.0, "rpc.statd: unrecognized option '--bogus'");
    }

    #[test]
    fn bad_ports_are_refused() {
        for bad in ["0", "65536", "x", "-1"] {
            let m = parse("x", TABLE, &args(&["-p", bad])).unwrap();
            assert!(port(&m, "p").is_err(), "{bad}");
        }
    }

    #[test]
    fn hint_is_one_line() {
        assert_eq!(
            hint("rpc.statd"),
            "Try 'rpc.statd --help' for more information."
        );
    }

    #[test]
    fn usage_lists_every_option() {
        let u = usage("rpc.statd", "[-F] [-p port]", TABLE);
        assert!(u.contains("-F, --foreground"));
        assert!(u.contains("-p, --port PORT"));
    }
}
