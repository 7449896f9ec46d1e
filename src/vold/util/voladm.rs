//! `voladm`: operates on vold and its configuration databases, through
//! the diagnostic rendezvous point (served in both modes).
//!
//! ```text
//! voladm init database-spec ...     a new configuration (new id, empty)
//! voladm add database-spec          voladm rm database-spec
//! voladm cp kernel|database-spec database-spec
//! voladm -l | list                  the copies: spec, state, generation
//! voladm enable | disable | sync | check | halt | mode
//! voladm debug 0|1|2
//! ```
//!
//! Relative paths in a database-spec are taken from the current
//! directory. `-D file` names another diagnostic rendezvous point.

use super::{EXIT_FAILED, EXIT_NO_VOLD, EXIT_OK, EXIT_USAGE};
use crate::daemon::root;
use crate::vold::client::{random_id, Client};
use crate::vold::entry::DIAG;
use crate::vold::spec::{hex, DbSpec};
use crate::vold::wire::Opcode;
use std::ffi::OsString;
use std::path::PathBuf;

const USAGE: &str = "\
Usage: voladm [-D file] init database-spec ...
       voladm [-D file] add|rm database-spec
       voladm [-D file] cp kernel|database-spec database-spec
       voladm [-D file] -l|list
       voladm [-D file] enable|disable|sync|check|halt|mode
       voladm [-D file] debug 0|1|2";

fn usage(msg: &str) -> i32 {
    eprintln!("voladm: {msg}");
    eprintln!("{USAGE}");
    EXIT_USAGE
}

/// A database-spec made absolute (against the current directory).
fn spec(s: &str) -> Result<String, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("current directory: {e}"))?;
    DbSpec::parse(s, Some(&cwd)).map(|d| d.to_string())
}

/// Entry point for `voladm`.
pub fn main(prog: &'static str, argv: Vec<OsString>) -> i32 {
    if super::version(prog, &argv) {
        return EXIT_OK;
    }
    let mut args: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut diag = root::path(DIAG);
    if args.first().map(String::as_str) == Some("-D") {
        if args.len() < 2 {
            return usage("-D needs a file");
        }
        diag = PathBuf::from(args.remove(1));
        args.remove(0);
    }
    let Some(cmd) = args.first().cloned() else {
        return usage("name a command");
    };
    let rest = &args[1..];
    let request = match (cmd.as_str(), rest) {
        ("init", specs) if !specs.is_empty() => {
            let id = match random_id() {
                Ok(id) => id,
                Err(e) => return fail(EXIT_FAILED, &format!("/dev/urandom: {e}")),
            };
            let mut body = format!("configid={}", hex(&id));
            for s in specs {
                match spec(s) {
                    Ok(s) => body.push_str(&format!("\n{s}")),
                    Err(e) => return usage(&e),
                }
            }
            (Opcode::INIT, body)
        }
        ("add" | "rm", [s]) => match spec(s) {
            Ok(s) => (
                if cmd == "add" {
                    Opcode::DB_ADD
                } else {
                    Opcode::DB_RM
                },
                s,
            ),
            Err(e) => return usage(&e),
        },
        ("cp", [from, to]) => {
            let from = if from == "kernel" {
                Ok(from.clone())
            } else {
                spec(from)
            };
            match (from, spec(to)) {
                (Ok(f), Ok(t)) => (Opcode::DB_CP, format!("{f}\n{t}")),
                (Err(e), _) | (_, Err(e)) => return usage(&e),
            }
        }
        ("-l" | "list", []) => (Opcode::DB_LIST, String::new()),
        ("enable", []) => (Opcode::ENABLE, String::new()),
        ("disable", []) => (Opcode::DISABLE, String::new()),
        ("sync", []) => (Opcode::SYNC, String::new()),
        ("check", []) => (Opcode::CHECK, String::new()),
        ("halt", []) => (Opcode::HALT, String::new()),
        ("mode", []) => (Opcode::HELLO, "voladm".to_string()),
        ("debug", [level]) => (Opcode::DEBUG, level.clone()),
        _ => return usage(&format!("bad command or arguments: {}", args.join(" "))),
    };
    let mut c = match Client::connect(&diag) {
        Ok(c) => c,
        Err(e) => return fail(EXIT_NO_VOLD, &format!("vold is not running: {e}")),
    };
    match c.call(request.0, &request.1) {
        Ok(m) if m.opcode == Opcode::OK => {
            print!("{}", m.body);
            EXIT_OK
        }
        Ok(m) => fail(EXIT_FAILED, m.body.trim_end()),
        Err(e) => fail(EXIT_NO_VOLD, &format!("vold does not answer: {e}")),
    }
}

fn fail(code: i32, msg: &str) -> i32 {
    eprintln!("voladm: {msg}");
    code
}
