//! `volmake`: creates records through vold, all of them in one
//! transaction (all or nothing).
//!
//! ```text
//! volmake [-p] -d description-file|-      records from a description
//! volmake [-p] sd|plex|vol name [field=value ...]
//! ```
//!
//! `-p` prints the description instead of making it. The description
//! format is volmake(4) ([`crate::vold::text`]).

use super::{EXIT_FAILED, EXIT_NO_VOLD, EXIT_OK, EXIT_USAGE};
use crate::daemon::root;
use crate::vold::client::{connect_enabled, transact, Outcome};
use crate::vold::entry::REQUEST;
use crate::vold::ops::Op;
use crate::vold::record::Kind;
use crate::vold::text;
use std::ffi::OsString;
use std::io::Read;

/// Bytes of description per `create` operation: a long description is
/// sent as several operations of one transaction, each fitting in a
/// message.
const CHUNK: usize = 48 * 1024;

/// The records as `create` operations of at most [`CHUNK`] bytes each
/// (a record longer than that alone in its own).
fn chunks(records: &[text::Described]) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut chunk = String::new();
    for d in records {
        let line = text::describe(d);
        if !chunk.is_empty() && chunk.len() + line.len() > CHUNK {
            ops.push(Op::Create(std::mem::take(&mut chunk)));
        }
        chunk.push_str(&line);
    }
    if !chunk.is_empty() {
        ops.push(Op::Create(chunk));
    }
    ops
}

const USAGE: &str = "\
Usage: volmake [-p] -d description-file|-
       volmake [-p] sd|plex|vol name [field=value ...]";

fn usage(msg: &str) -> i32 {
    eprintln!("volmake: {msg}");
    eprintln!("{USAGE}");
    EXIT_USAGE
}

/// Entry point for `volmake`.
pub fn main(prog: &'static str, argv: Vec<OsString>) -> i32 {
    if super::version(prog, &argv) {
        return EXIT_OK;
    }
    let mut args: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let print_only = args.first().map(String::as_str) == Some("-p");
    if print_only {
        args.remove(0);
    }
    let desc = match args.as_slice() {
        [d, file] if d == "-d" => {
            let mut text = String::new();
            let read = if file == "-" {
                std::io::stdin().read_to_string(&mut text).map(|_| ())
            } else {
                std::fs::read_to_string(file).map(|t| text = t)
            };
            if let Err(e) = read {
                return usage(&format!("{file}: {e}"));
            }
            text
        }
        [kind, name, fields @ ..] if Kind::from_keyword(kind).is_some() => {
            let mut line = format!("{kind} {}", text::quote(name));
            for f in fields {
                match f.split_once('=') {
                    Some((k, v)) => line.push_str(&format!(" {k}={}", text::quote(v))),
                    None => return usage(&format!("{f:?} is not field=value")),
                }
            }
            line.push('\n');
            line
        }
        _ => return usage("give -d FILE, or a record type and name"),
    };
    let parsed = match text::parse(&desc) {
        Ok(p) => p,
        Err(e) => return usage(&format!("description: {e}")),
    };
    if parsed.is_empty() {
        return usage("the description holds no records");
    }
    if print_only {
        print!("{desc}");
        return EXIT_OK;
    }
    let request = root::path(REQUEST);
    if let Err(e) = connect_enabled(&request, "volmake") {
        eprintln!("volmake: {e}");
        return EXIT_NO_VOLD;
    }
    match transact(&request, "volmake", &chunks(&parsed)) {
        Ok(Outcome::Committed(g)) | Ok(Outcome::Already(g)) => {
            eprintln!("volmake: {} records made (generation {g})", parsed.len());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("volmake: {e}");
            EXIT_FAILED
        }
    }
}
