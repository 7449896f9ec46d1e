//! `volprint`: prints records, as a table or (`-m`) in the description
//! format that `volmake -d -` reads back.
//!
//! ```text
//! volprint [-m] [-v|-p|-s] [name ...]
//! ```
//!
//! `-v`, `-p`, `-s`: only volumes, plexes or subdisks; names select
//! records of any type.

use super::{EXIT_FAILED, EXIT_NO_VOLD, EXIT_OK, EXIT_USAGE};
use crate::daemon::root;
use crate::vold::client::{connect_enabled, get_config, GetError};
use crate::vold::entry::REQUEST;
use crate::vold::record::{Config, Kind};
use crate::vold::text;
use std::ffi::OsString;

const USAGE: &str = "Usage: volprint [-m] [-v|-p|-s] [name ...]";

/// Entry point for `volprint`.
pub fn main(prog: &'static str, argv: Vec<OsString>) -> i32 {
    if super::version(prog, &argv) {
        return EXIT_OK;
    }
    let mut desc = false;
    let mut kind = None;
    let mut names = Vec::new();
    for a in argv.iter().map(|a| a.to_string_lossy().into_owned()) {
        match a.as_str() {
            "-m" => desc = true,
            "-v" => kind = Some(Kind::Volume),
            "-p" => kind = Some(Kind::Plex),
            "-s" => kind = Some(Kind::Subdisk),
            o if o.starts_with('-') => {
                eprintln!("volprint: unknown option '{o}'\n{USAGE}");
                return EXIT_USAGE;
            }
            _ => names.push(a),
        }
    }
    let mut c = match connect_enabled(&root::path(REQUEST), "volprint") {
        Ok(c) => c,
        Err(e) => {
            eprintln!("volprint: {e}");
            return EXIT_NO_VOLD;
        }
    };
    let config = match get_config(&mut c) {
        Ok(c) => c,
        Err(GetError::Failed(e)) => {
            eprintln!("volprint: {e}");
            return EXIT_FAILED;
        }
        Err(GetError::Gone(e)) => {
            eprintln!("volprint: {e}");
            return EXIT_NO_VOLD;
        }
    };
    let mut missing = false;
    let selected: Vec<(Kind, String)> = selection(&config, kind, &names, &mut missing);
    if desc {
        for (k, n) in &selected {
            print!("{}", text::print_record(&config, *k, n).unwrap_or_default());
        }
    } else {
        println!(
            "{:<4} {:<20} {:<20} {:>10} STATE",
            "TY", "NAME", "ASSOC", "LENGTH"
        );
        for (k, n) in &selected {
            println!("{}", row(&config, *k, n));
        }
    }
    if missing {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// The records to print, subdisks first (so that the description reads
/// back in one pass); a name with no record is said on stderr.
fn selection(
    c: &Config,
    kind: Option<Kind>,
    names: &[String],
    missing: &mut bool,
) -> Vec<(Kind, String)> {
    let mut out = Vec::new();
    for k in [Kind::Subdisk, Kind::Plex, Kind::Volume] {
        if kind.is_some_and(|want| want != k) {
            continue;
        }
        let all: Vec<&String> = match k {
            Kind::Subdisk => c.sd.keys().collect(),
            Kind::Plex => c.plex.keys().collect(),
            Kind::Volume => c.vol.keys().collect(),
        };
        out.extend(
            all.into_iter()
                .filter(|n| names.is_empty() || names.contains(n))
                .map(|n| (k, n.clone())),
        );
    }
    for n in names {
        if !out.iter().any(|(_, m)| m == n) {
            eprintln!("volprint: no record named {n}");
            *missing = true;
        }
    }
    out
}

fn row(c: &Config, k: Kind, n: &str) -> String {
    let (assoc, len, state) = match k {
        Kind::Subdisk => {
            let s = &c.sd[n];
            (s.plex.clone().unwrap_or("-".into()), s.len, "-".to_string())
        }
        Kind::Plex => {
            let p = &c.plex[n];
            (
                p.vol.clone().unwrap_or("-".into()),
                c.plex_len(n),
                p.state.clone(),
            )
        }
        Kind::Volume => {
            let v = &c.vol[n];
            (v.usetype.clone(), v.len, v.state.clone())
        }
    };
    format!("{:<4} {n:<20} {assoc:<20} {len:>10} {state}", k.keyword())
}
