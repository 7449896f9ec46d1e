//! The multi-call front door: one binary, many daemons.
//!
//! The daemon is chosen by the basename of `argv[0]` (`rpc.statd`, ...) so the
//! binary can be installed as drop-in symlinks, or by the first argument
//! (`statmon rpc.statd -F`).

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;

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
}

/// Every daemon this build contains.
pub const DAEMONS: &[Daemon] = &[
    Daemon {
        name: "rpc.statd",
        aliases: &["statd"],
        summary: "NSM host status monitor (ONC RPC program 100024 v1)",
        main: crate::statd::main,
    },
    Daemon {
        name: "sm-notify",
        aliases: &[],
        summary: "send reboot notifications (SM_NOTIFY) to monitored peers",
        main: crate::statd::notify_main::sm_notify_main,
    },
];

fn find(name: &str) -> Option<&'static Daemon> {
    DAEMONS
        .iter()
        .find(|d| d.name == name || d.aliases.contains(&name))
}

const USAGE: &str = "\
Usage: statmon DAEMON [ARGS...]     run DAEMON (see --list)
       statmon --list               name the daemons in this binary
       statmon install-links DIR    create DIR/<daemon> symlinks to this binary
       statmon --version
Installed under a daemon's name (e.g. as a symlink rpc.statd), it runs that daemon.";

/// Runs the program as `argv0` with `args`; returns the process exit status.
pub fn run(argv0: &OsStr, mut args: Vec<OsString>) -> i32 {
    let base = Path::new(argv0)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(d) = find(&base) {
        return (d.main)(d.name, args);
    }
    if args.is_empty() {
        eprintln!("{USAGE}");
        return 2;
    }
    let first = args.remove(0).to_string_lossy().into_owned();
    match first.as_str() {
        "--list" | "-l" => {
            for d in DAEMONS {
                println!("{:<12} {}", d.name, d.summary);
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
        "install-links" => match args.as_slice() {
            [dir] => match install_links(Path::new(dir)) {
                Ok(made) => {
                    for m in made {
                        println!("{m}");
                    }
                    0
                }
                Err(e) => {
                    eprintln!("statmon: install-links {}: {e}", dir.to_string_lossy());
                    1
                }
            },
            _ => {
                eprintln!("{USAGE}");
                2
            }
        },
        name => match find(name) {
            Some(d) => (d.main)(d.name, args),
            None => {
                eprintln!("statmon: unknown daemon '{name}' (try statmon --list)");
                2
            }
        },
    }
}

/// Creates `dir/<name>` → this executable for every daemon; an existing link
/// is replaced, any other existing file is left alone and reported.
pub fn install_links(dir: &Path) -> io::Result<Vec<String>> {
    let exe = std::env::current_exe()?;
    std::fs::create_dir_all(dir)?;
    let mut made = Vec::new();
    for d in DAEMONS {
        let link = dir.join(d.name);
        match std::fs::symlink_metadata(&link) {
            Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(&link)?,
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a symlink", link.display()),
                ))
            }
            Err(_) => {}
        }
        std::os::unix::fs::symlink(&exe, &link)?;
        made.push(format!("{} -> {}", link.display(), exe.display()));
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

    #[test]
    fn install_links_creates_and_replaces_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        install_links(dir.path()).unwrap();
        install_links(dir.path()).unwrap();
        let link = dir.path().join("rpc.statd");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
