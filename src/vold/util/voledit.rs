//! `voledit`: changes and removes records through vold, each command one
//! transaction.
//!
//! ```text
//! voledit set field=value ... name     change fields of a record
//! voledit rm [-r] name ...             remove records (-r: with what is
//!                                      under them)
//! voledit assoc plex|sd name to        voledit dissoc plex|sd name
//! ```
//!
//! A name alone is looked up among every record type (volumes first).

use super::{EXIT_FAILED, EXIT_NO_VOLD, EXIT_OK, EXIT_USAGE};
use crate::daemon::root;
use crate::vold::client::{connect_enabled, get_config, transact, GetError, Outcome};
use crate::vold::entry::REQUEST;
use crate::vold::ops::Op;
use crate::vold::record::{Config, Kind};
use std::ffi::OsString;
use std::path::Path;

const USAGE: &str = "\
Usage: voledit set field=value ... name
       voledit rm [-r] name ...
       voledit assoc plex|sd name to
       voledit dissoc plex|sd name";

fn usage(msg: &str) -> i32 {
    eprintln!("voledit: {msg}");
    eprintln!("{USAGE}");
    EXIT_USAGE
}

/// The configuration as vold has it now.
fn current(request: &Path) -> Result<Config, (i32, String)> {
    let mut c = connect_enabled(request, "voledit").map_err(|e| (EXIT_NO_VOLD, e))?;
    get_config(&mut c).map_err(|e| match e {
        GetError::Gone(e) => (EXIT_NO_VOLD, e),
        GetError::Failed(e) => (EXIT_FAILED, e),
    })
}

/// The type of the record named `name`.
fn kind_of(c: &Config, name: &str) -> Option<Kind> {
    [Kind::Volume, Kind::Plex, Kind::Subdisk]
        .into_iter()
        .find(|k| c.has(*k, name))
}

/// Entry point for `voledit`.
pub fn main(prog: &'static str, argv: Vec<OsString>) -> i32 {
    if super::version(prog, &argv) {
        return EXIT_OK;
    }
    let args: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let request = root::path(REQUEST);
    let needs_lookup = matches!(args.first().map(String::as_str), Some("set" | "rm"));
    let config = if needs_lookup {
        match current(&request) {
            Ok(c) => c,
            Err((code, e)) => {
                eprintln!("voledit: {e}");
                return code;
            }
        }
    } else {
        Config::default()
    };
    let lookup =
        |name: &str| kind_of(&config, name).ok_or_else(|| format!("no record named {name}"));
    let ops: Result<Vec<Op>, String> = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["set", fields @ .., name] if !fields.is_empty() => fields
            .iter()
            .map(|f| {
                f.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or(format!("{f:?} is not field=value"))
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|fields| {
                Ok(vec![Op::Modify {
                    kind: lookup(name)?,
                    name: name.to_string(),
                    fields,
                }])
            }),
        ["rm", rest @ ..] => {
            let (recursive, names) = match rest {
                ["-r", names @ ..] => (true, names),
                names => (false, names),
            };
            if names.is_empty() {
                return usage("rm needs a name");
            }
            names
                .iter()
                .map(|n| {
                    Ok(Op::Delete {
                        kind: lookup(n)?,
                        name: n.to_string(),
                        recursive,
                    })
                })
                .collect()
        }
        ["assoc", kind, name, to] => match Kind::from_keyword(kind) {
            Some(kind) => Ok(vec![Op::Assoc {
                kind,
                name: name.to_string(),
                to: to.to_string(),
            }]),
            None => return usage(&format!("assoc: {kind:?} is not plex or sd")),
        },
        ["dissoc", kind, name] => match Kind::from_keyword(kind) {
            Some(kind) => Ok(vec![Op::Dissoc {
                kind,
                name: name.to_string(),
            }]),
            None => return usage(&format!("dissoc: {kind:?} is not plex or sd")),
        },
        _ => return usage("bad command or arguments"),
    };
    let ops = match ops {
        Ok(o) => o,
        Err(e) => {
            eprintln!("voledit: {e}");
            return EXIT_FAILED;
        }
    };
    match transact(&request, "voledit", &ops) {
        Ok(Outcome::Committed(_)) | Ok(Outcome::Already(_)) => EXIT_OK,
        Err(e) => {
            eprintln!("voledit: {e}");
            EXIT_FAILED
        }
    }
}
