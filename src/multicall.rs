//! The multi-call front door: one binary, many daemons.
//!
//! The program is chosen by the basename of `argv[0]` (`rpc.statd`, ...) so
//! the binary can be installed under the programs' names ([`install_links`]:
//! a copy per name by default), or by the first argument
//! (`statmon rpc.statd -F`). Whichever way a daemon is selected, it starts
//! with [`detach::start_as`]; `statmon`'s own commands do not.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::daemon::{detach, host};

/// One daemon the binary can become.
#[derive(Debug, Clone, Copy)]
pub struct Daemon {
    /// The installed name (and `argv[0]` basename).
    pub name: &'static str,
    /// Other names that select it (`statd` for `rpc.statd`).
    pub aliases: &'static [&'static str],
    /// One line for `statmon --list`.
    pub summary: &'static str,
    /// Entry point: takes the arguments after the name, returns the exit status.
    pub main: fn(&'static str, Vec<OsString>) -> i32,
    /// For `statmon run`: parses the arguments into what the host runs
    /// (`Err`: the exit status, the error said); `None` for a program that
    /// cannot share a process (it runs once and exits).
    pub plan: Option<PlanFn>,
}

/// Parses a daemon's arguments for [`host::run`].
pub type PlanFn = fn(&'static str, Vec<OsString>) -> Result<Box<dyn host::Plan>, i32>;

/// Every daemon this build contains.
pub const DAEMONS: &[Daemon] = &[
    Daemon {
        name: "rpc.statd",
        aliases: &["statd"],
        summary: "NSM host status monitor (ONC RPC program 100024 v1)",
        main: crate::statd::entry::statd::main,
        plan: Some(crate::statd::entry::statd::plan),
    },
    Daemon {
        name: "sm-notify",
        aliases: &[],
        summary: "send reboot notifications (SM_NOTIFY) to monitored peers",
        main: crate::statd::entry::notify::sm_notify_main,
        plan: None,
    },
    Daemon {
        name: "mdmpd",
        aliases: &[],
        summary: "md multipath path monitor: re-adds failed paths of md arrays once they work",
        main: crate::mdmpd::entry::main,
        plan: Some(crate::mdmpd::entry::plan),
    },
    Daemon {
        name: "vold",
        aliases: &[],
        summary: "volume configuration daemon: replicated databases, /dev/vol nodes",
        main: crate::vold::entry::main,
        plan: Some(crate::vold::entry::plan),
    },
    Daemon {
        name: "voladm",
        aliases: &[],
        summary: "administer vold and its configuration databases",
        main: crate::vold::util::voladm::main,
        plan: None,
    },
    Daemon {
        name: "volmake",
        aliases: &[],
        summary: "create volume, plex and subdisk records through vold",
        main: crate::vold::util::volmake::main,
        plan: None,
    },
    Daemon {
        name: "voledit",
        aliases: &[],
        summary: "change and remove volume, plex and subdisk records through vold",
        main: crate::vold::util::voledit::main,
        plan: None,
    },
    Daemon {
        name: "volprint",
        aliases: &[],
        summary: "print volume, plex and subdisk records",
        main: crate::vold::util::volprint::main,
        plan: None,
    },
    Daemon {
        name: "ltid",
        aliases: &[],
        summary: "NetBackup-style device daemon with vmd: shared tape-drive status and scan hosts",
        main: crate::ltid::entry::ltid_main,
        plan: Some(crate::ltid::entry::ltid_plan),
    },
    Daemon {
        name: "rdevmi",
        aliases: &[],
        summary: "remote device management interface (started by ltid's vmd per media server)",
        main: crate::ltid::entry::rdevmi_main,
        plan: None,
    },
    Daemon {
        name: "vmoprcmd",
        aliases: &[],
        summary: "show ltid's shared drives, set them UP or DOWN, reserve or release them",
        main: crate::ltid::entry::vmoprcmd_main,
        plan: None,
    },
    Daemon {
        name: "sihmon",
        aliases: &[],
        summary: "SAF port monitor of SIH/HDLC links: loading mode, line parameters, loaders",
        main: crate::sihmon::entry::main,
        plan: Some(crate::sihmon::entry::plan),
    },
    Daemon {
        name: "sihadm",
        aliases: &[],
        summary: "administration of sihmon: pmtab fields, loading mode, link status, trace level",
        main: crate::sihmon::adm::main,
        plan: None,
    },
    Daemon {
        name: "portmap",
        aliases: &[],
        summary: "portmapper (ONC RPC program 100000 v2-4) for hosts without rpcbind",
        main: crate::service::portmap_daemon::main,
        plan: Some(crate::service::portmap_daemon::plan),
    },
];

fn find(name: &str) -> Option<&'static Daemon> {
    DAEMONS
        .iter()
        .find(|d| d.name == name || d.aliases.contains(&name))
}

/// Becomes daemon `d`: the process setup every daemon needs before it does
/// anything ([`detach::start_as`]), then its entry point.
fn become_daemon(d: &'static Daemon, args: Vec<OsString>) -> i32 {
    detach::start_as(d.name);
    (d.main)(d.name, args)
}

const USAGE: &str = "\
Usage: statmon PROGRAM [ARGS...]    run PROGRAM (see --list)
       statmon run 'PROGRAM ARGS...' ...
                                    run several daemons in this process,
                                    each from its own command line
       statmon --list               name the programs in this binary
       statmon install-links [--symlink] [--force] DIR
                                    install DIR/<program> for every program:
                                    a copy of this binary (default) or a
                                    symbolic link to it (--symlink)
       statmon --version
Installed under a program's name (e.g. as rpc.statd), it runs that program.";

/// The one usage line of `run`, printed after its errors.
const RUN_USAGE: &str = "usage: statmon run 'PROGRAM [ARGS...]' ['PROGRAM [ARGS...]' ...]";

/// The one usage line of `install-links`, printed after its errors.
const INSTALL_USAGE: &str = "usage: statmon install-links [--symlink] [--force] DIR";

/// Runs the program as `argv0` with `args`; returns the process exit status.
pub fn run(argv0: &OsStr, mut args: Vec<OsString>) -> i32 {
    let base = Path::new(argv0)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(d) = find(&base) {
        return become_daemon(d, args);
    }
    if args.is_empty() {
        eprintln!("{USAGE}");
        return 2;
    }
    let first = args.remove(0).to_string_lossy().into_owned();
    match first.as_str() {
        "--list" | "-l" => {
            for d in DAEMONS {
                let also = if d.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" (also as {})", d.aliases.join(", "))
                };
                println!("{:<12} {}{also}", d.name, d.summary);
            }
            0
        }
        "--version" | "-V" => {
            println!("statmon {}", env!("CARGO_PKG_VERSION"));
            0
        }
        "--help" | "-h" => {
            println!("{USAGE}");
            0
        }
        "install-links" => install_links_main(&args),
        "run" => run_main(&args),
        name => match find(name) {
            Some(d) => become_daemon(d, args),
            None => {
                eprintln!("statmon: unknown daemon '{name}' (try statmon --list)");
                2
            }
        },
    }
}

/// `statmon run 'PROGRAM ARGS...' ...`: each argument is one daemon's
/// command line, split into words as the shell would ([`host::split_words`])
/// and parsed by that daemon's own parser; then [`host::run`] runs them
/// all. Exit 2 for a bad `statmon run` line, the daemon's status for a bad
/// daemon line, else what [`host::run`] returns.
fn run_main(args: &[OsString]) -> i32 {
    let usage_error = |msg: String| {
        eprintln!("statmon: run: {msg}");
        eprintln!("{RUN_USAGE}");
        2
    };
    if args.is_empty() {
        return usage_error("name at least one daemon".into());
    }
    detach::start_as("statmon");
    let mut plans = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for line in args {
        let Some(line) = line.to_str() else {
            return usage_error(format!("'{}' is not UTF-8", line.to_string_lossy()));
        };
        let mut words = match host::split_words(line) {
            Ok(w) if !w.is_empty() => w.into_iter(),
            Ok(_) => return usage_error("an empty daemon command line".into()),
            Err(e) => return usage_error(e),
        };
        let name = words.next().unwrap_or_default();
        let Some(d) = find(&name) else {
            return usage_error(format!("unknown daemon '{name}' (try statmon --list)"));
        };
        let Some(plan) = d.plan else {
            return usage_error(format!(
                "{} runs once and exits; run it on its own, not beside others",
                d.name
            ));
        };
        if seen.contains(&d.name) {
            return usage_error(format!("{} given twice (one of each daemon)", d.name));
        }
        seen.push(d.name);
        match plan(d.name, words.map(OsString::from).collect()) {
            Ok(p) => plans.push(p),
            Err(code) => return code,
        }
    }
    host::run(plans)
}

/// How `install-links` installs each program name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallOptions {
    /// Symbolic links to this executable instead of copies.
    pub symlink: bool,
    /// Replace whatever is in the way (a file that is not ours).
    pub force: bool,
}

/// `statmon install-links [--symlink] [--force] DIR`: exit 0 after naming
/// what it installed, 1 after naming what it could not.
fn install_links_main(args: &[OsString]) -> i32 {
    let mut opts = InstallOptions {
        symlink: false,
        force: false,
    };
    let mut dir = None;
    for a in args {
        match a.to_str() {
            Some("--symlink") => opts.symlink = true,
            Some("--force") => opts.force = true,
            Some(o) if o.starts_with('-') && o.len() > 1 => {
                eprintln!("statmon: install-links: unknown option '{o}'");
                eprintln!("{INSTALL_USAGE}");
                return 1;
            }
            _ if dir.is_some() => {
                eprintln!(
                    "statmon: install-links: one directory only ('{}' is extra)",
                    a.to_string_lossy()
                );
                eprintln!("{INSTALL_USAGE}");
                return 1;
            }
            _ => dir = Some(Path::new(a)),
        }
    }
    let Some(dir) = dir else {
        let names: Vec<&str> = DAEMONS.iter().map(|d| d.name).collect();
        eprintln!(
            "statmon: install-links: missing DIR, the directory to install {} into",
            names.join(", ")
        );
        eprintln!("{INSTALL_USAGE}");
        return 1;
    };
    match install_links(dir, opts) {
        Ok(made) => {
            for m in made {
                println!("{m}");
            }
            0
        }
        Err(e) => {
            eprintln!("statmon: install-links: {e}");
            1
        }
    }
}

/// What is at a path `install-links` would install.
enum InTheWay {
    Nothing,
    /// A file or link this statmon installed (a symbolic link to this
    /// executable, or a byte-identical copy of it): replaced without asking.
    Ours,
    /// A directory: never replaced.
    Directory,
    /// Anything else: replaced only with `--force`.
    Other(&'static str),
}

fn in_the_way(path: &Path, exe: &Path) -> io::Result<InTheWay> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(InTheWay::Nothing),
        Err(e) => return Err(named(path, e)),
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        let ours = std::fs::canonicalize(path).is_ok_and(|t| t == exe);
        return Ok(if ours {
            InTheWay::Ours
        } else {
            InTheWay::Other("a symbolic link to another file")
        });
    }
    if ft.is_file() {
        let ours = std::fs::metadata(exe).is_ok_and(|m| m.len() == meta.len())
            && std::fs::read(path).ok() == std::fs::read(exe).ok();
        return Ok(if ours {
            InTheWay::Ours
        } else {
            InTheWay::Other("a regular file")
        });
    }
    Ok(if ft.is_dir() {
        InTheWay::Directory
    } else {
        InTheWay::Other("not a regular file")
    })
}

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Installs `dir/<name>` for every program of this binary: by default a copy
/// of this executable (its own inode, so `killall /path/sm-notify`, which
/// selects by the executable's inode, never matches `rpc.statd`), or with
/// `symlink` a symbolic link to it. Returns one line per name installed.
///
/// Nothing is installed unless every name can be: a path holding anything
/// but this statmon's own link or copy is an error naming it, unless
/// `force`. A directory in the way is never replaced. Each copy is written
/// beside its target and renamed over it, so a running program of that name
/// keeps its old executable.
pub fn install_links(dir: &Path, opts: InstallOptions) -> io::Result<Vec<String>> {
    let exe = std::fs::canonicalize(std::env::current_exe()?)?;
    std::fs::create_dir_all(dir).map_err(|e| named(dir, e))?;
    for d in DAEMONS {
        let path = dir.join(d.name);
        match in_the_way(&path, &exe)? {
            InTheWay::Directory => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} is a directory; not replacing it", path.display()),
                ))
            }
            InTheWay::Other(what) if !opts.force => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is {what}, not installed by this statmon; \
                         not replacing it (use --force to)",
                        path.display()
                    ),
                ))
            }
            _ => {}
        }
    }
    let mut made = Vec::new();
    for d in DAEMONS {
        let path = dir.join(d.name);
        let tmp = dir.join(format!(".{}.statmon-new", d.name));
        let _ = std::fs::remove_file(&tmp);
        if opts.symlink {
            std::os::unix::fs::symlink(&exe, &tmp).map_err(|e| named(&tmp, e))?;
        } else {
            std::fs::copy(&exe, &tmp).map_err(|e| named(&tmp, e))?;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| named(&tmp, e))?;
        }
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(named(&path, e));
        }
        made.push(if opts.symlink {
            format!("{} -> {}", path.display(), exe.display())
        } else {
            format!("{} (a copy of {})", path.display(), exe.display())
        });
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve() {
        assert_eq!(find("rpc.statd").map(|d| d.name), Some("rpc.statd"));
        assert_eq!(find("statd").map(|d| d.name), Some("rpc.statd"));
        assert!(find("nosuch").is_none());
    }

    #[test]
    fn unknown_daemon_is_a_usage_error() {
        assert_eq!(
            run(OsStr::new("/usr/bin/statmon"), vec!["nosuch".into()]),
            2
        );
        assert_eq!(run(OsStr::new("statmon"), vec![]), 2);
        assert_eq!(run(OsStr::new("statmon"), vec!["--list".into()]), 0);
    }

    const COPY: InstallOptions = InstallOptions {
        symlink: false,
        force: false,
    };

    #[test]
    fn install_links_replaces_its_own_links_and_copies_only() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("rpc.statd");
        let symlinks = InstallOptions {
            symlink: true,
            ..COPY
        };
        install_links(dir.path(), symlinks).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        install_links(dir.path(), COPY).unwrap();
        install_links(dir.path(), COPY).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
        std::fs::write(&link, b"#!/bin/sh\n").unwrap();
        let err = install_links(dir.path(), COPY).unwrap_err().to_string();
        assert!(err.contains(&link.display().to_string()), "{err}");
        assert_eq!(std::fs::read(&link).unwrap(), b"#!/bin/sh\n");
        install_links(
            dir.path(),
            InstallOptions {
                force: true,
                ..COPY
            },
        )
        .unwrap();
        assert_ne!(std::fs::read(&link).unwrap(), b"#!/bin/sh\n");
    }

    #[test]
    fn install_links_never_replaces_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sm-notify")).unwrap();
        let force = InstallOptions {
            force: true,
            ..COPY
        };
        let err = install_links(dir.path(), force).unwrap_err().to_string();
        assert!(err.contains("sm-notify is a directory"), "{err}");
        assert!(!dir.path().join("rpc.statd").exists());
    }
}
