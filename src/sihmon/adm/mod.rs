//! `sihadm`, sihmon's administration command (sihadm(1M)): formats the
//! port-monitor-specific part of a pmtab entry for `pmadm -m`, sets or
//! resets loading mode without the monitor, asks a running monitor for
//! its links' states or changes its trace level over the control socket
//! ([`super::ctl`]), and prints the table versions sihmon expects.
//!
//! Exit codes (SAF's `Saferrno` set, as pmadm and sacadm use it): 0 done;
//! 1 bad arguments; 2 not root (`-I`, `-R`, `-S`, `-T`); 3 a table
//! cannot be read; 4 a system call failed (an admin device); 5 no such
//! port monitor or service; 8 the monitor is not running (no control
//! socket answers).

pub mod args;

use self::args::{Request, USAGE};
use super::backend;
use super::ctl;
use super::entry::VERSION_ID;
use super::tables::pmtab::Specific;
use super::tables::{fields, Kind, TableFiles, VERSION};
use crate::daemon::root;
use socket2::{Domain, SockAddr, Socket, Type};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// Bad arguments.
pub const BADARGS: i32 = 1;
/// Not root.
pub const NOPRIV: i32 = 2;
/// A table cannot be read.
pub const SAFERR: i32 = 3;
/// A system call failed.
pub const SYSERR: i32 = 4;
/// No such port monitor or service.
pub const NOEXIST: i32 = 5;
/// The monitor is not running.
pub const PMNOTRUN: i32 = 8;

/// How long a running monitor may take to answer.
const WAIT: Duration = Duration::from_secs(10);

/// Entry point for `sihadm`: returns the exit status.
pub fn main(_prog: &'static str, args: Vec<OsString>) -> i32 {
    let request = match args::parse(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sihadm: {e}\n{USAGE}");
            return BADARGS;
        }
    };
    let needs_root = matches!(
        request,
        Request::LoadMode { .. } | Request::Status { .. } | Request::Trace { .. }
    );
    if needs_root && !rustix::process::geteuid().is_root() {
        eprintln!("sihadm: -I, -R, -S and -T need root");
        return NOPRIV;
    }
    match run(request) {
        Ok(()) => 0,
        Err((code, text)) => {
            eprintln!("sihadm: {text}");
            code
        }
    }
}

type Failed = (i32, String);

fn run(request: Request) -> Result<(), Failed> {
    match request {
        Request::Help => {
            eprintln!("{USAGE}");
            Ok(())
        }
        Request::Versions => {
            println!("sihmon {VERSION_ID}");
            println!("sihadm {VERSION_ID}");
            for k in Kind::ALL {
                println!("{} {VERSION}", k.name());
            }
            Ok(())
        }
        Request::Version(kind) => match (kind.as_str(), Kind::by_name(&kind)) {
            (_, Some(_)) => {
                println!("{VERSION}");
                Ok(())
            }
            ("sihmon" | "sihadm", None) => {
                println!("{VERSION_ID}");
                Ok(())
            }
            _ => Err((
                BADARGS,
                format!(
                    "unknown type \"{kind}\" (pmtab, hdlclabs, hdlcdefs, ttydefs, sihmon, sihadm)"
                ),
            )),
        },
        Request::Format {
            admdev,
            adjust,
            ttylab,
            linklab,
            cmd,
        } => format(&admdev, &adjust, &ttylab, &linklab, &cmd),
        Request::LoadMode { on, svctag, pmtag } => load_mode(on, svctag.as_deref(), &pmtag),
        Request::Status { svctag, pmtag } => {
            let answer = ask(&pmtag, &ctl::Request::Status(svctag))?;
            print!("{answer}");
            Ok(())
        }
        Request::Trace { level, pmtag } => {
            let answer = ask(&pmtag, &ctl::Request::Trace(level))?;
            print!("{answer}");
            Ok(())
        }
    }
}

/// `-d … -a …`: the fields, checked, on stdout without a newline.
fn format(
    admdev: &str,
    adjust: &str,
    ttylab: &str,
    linklab: &str,
    cmd: &str,
) -> Result<(), Failed> {
    let spec = Specific::new(admdev, adjust, ttylab, linklab, cmd).map_err(|e| (BADARGS, e))?;
    let path = backend::resolve(admdev, &root::path("/dev"));
    if !path.exists() {
        return Err((
            BADARGS,
            format!("admin device {} does not exist", path.display()),
        ));
    }
    let system = TableFiles::system(root::path("/etc/saf"));
    let lookups = [
        (ttylab, &system.ttydefs, "ttydefs"),
        (linklab, &system.hdlclabs, "hdlclabs"),
    ];
    for (label, file, what) in lookups {
        if label.is_empty() {
            continue;
        }
        let text = std::fs::read_to_string(file)
            .map_err(|e| (SAFERR, format!("cannot read {}: {e}", file.display())))?;
        let known = fields::lines(&text)
            .iter()
            .any(|l| l.fields.first().is_some_and(|f| f == label));
        if !known {
            return Err((
                BADARGS,
                format!("label \"{label}\" is not in {what} ({})", file.display()),
            ));
        }
    }
    if !cmd.is_empty() {
        super::argv::split(cmd).map_err(|e| (BADARGS, format!("-p: {e}")))?;
    }
    print!("{}", spec.pmspecific());
    let _ = std::io::stdout().flush();
    Ok(())
}

/// `-I` / `-R`: loading mode of the links of `pmtag` (or one of them).
fn load_mode(on: bool, svctag: Option<&str>, pmtag: &str) -> Result<(), Failed> {
    let pm_dir = root::path("/etc/saf").join(pmtag);
    if !pm_dir.is_dir() {
        return Err((
            NOEXIST,
            format!("no port monitor {pmtag} ({} missing)", pm_dir.display()),
        ));
    }
    let files = TableFiles::system(pm_dir);
    let path = files.pmtab();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| (SAFERR, format!("cannot read {}: {e}", path.display())))?;
    let (entries, _) = super::tables::pmtab::parse(&text);
    let chosen: Vec<_> = entries
        .iter()
        .filter(|e| svctag.is_none_or(|s| s == e.svctag))
        .collect();
    if let (Some(s), true) = (svctag, chosen.is_empty()) {
        return Err((NOEXIST, format!("no service {s} in {}", path.display())));
    }
    let dev = root::path("/dev");
    let mut failed = None;
    for e in chosen {
        let admdev = backend::resolve(&e.specific.admdev, &dev);
        let done = backend::open(&admdev).and_then(|mut d| d.set_loading_mode(on));
        match done {
            Ok(()) => println!(
                "{}: loading mode {}",
                e.svctag,
                if on { "set" } else { "reset" }
            ),
            Err(err) => {
                eprintln!("sihadm: {}: {err}", e.svctag);
                failed = Some((SYSERR, "not every link could be changed".to_string()));
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// One request to the monitor `pmtag`; its answer (an `ERROR` answer is
/// an error).
fn ask(pmtag: &str, request: &ctl::Request) -> Result<String, Failed> {
    let path = root::path("/var/saf").join(pmtag).join(ctl::SOCKET);
    let answer = exchange(&path, request.encode().as_bytes()).map_err(|e| {
        (
            PMNOTRUN,
            format!("no SIH monitor {pmtag} answers on {}: {e}", path.display()),
        )
    })?;
    match answer.strip_prefix("ERROR ") {
        Some(text) if text.starts_with("no link") => Err((NOEXIST, text.trim().to_string())),
        Some(text) => Err((SAFERR, text.trim().to_string())),
        None => Ok(answer),
    }
}

fn exchange(socket: &Path, packet: &[u8]) -> std::io::Result<String> {
    let s = Socket::new(Domain::UNIX, Type::SEQPACKET, None)?;
    s.set_read_timeout(Some(WAIT))?;
    s.connect(&SockAddr::unix(socket)?)?;
    s.send(packet)?;
    let mut buf = vec![0u8; ctl::MAX_ANSWER];
    let n = (&s).read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}
