//! The seed dialect's letters (the seed man page's rpc.statd(8), macOS:
//! `-d -F -n -l -L -N host -V`), the long names it gives nfs-utils'
//! functions, and its synopsis. [`Dialect::Seed`](super::Dialect::Seed)
//! takes these with the shared options of `options.rs`.

use super::options::{flag, with_arg, HELP};
use crate::daemon::args::Opt;

/// The seed's letters (and the long names of their functions).
pub(super) const LETTERS: &[Opt] = &[
    flag("d", "debug", "log at the maximum level (debug)"),
    flag(
        "n",
        "notify-only",
        "notify the hosts owed a notice, then exit",
    ),
    flag("l", "list", "list the hosts in the status file and exit"),
    flag(
        "L",
        "watch",
        "list the hosts, then watch and report changes",
    ),
    with_arg(
        "N",
        "forget",
        "HOST",
        "clear the needs-notification status of HOST",
    ),
    flag("F", "foreground", "stay in the foreground, log to stderr"),
    flag("V", "version", "print the version and exit"),
    HELP,
    flag("?", "", "same as -h"),
];

/// In the seed dialect: nfs-utils' functions, long form only.
pub(super) const LONG: &[Opt] = &[
    with_arg(
        "",
        "name",
        "NAME",
        "identify this host as NAME in reboot notifications",
    ),
    flag("", "no-notify", "do not notify peers at start"),
    with_arg(
        "",
        "nlm-port",
        "PORT",
        "set lockd's NLM port (TCP, and UDP unless --nlm-udp-port)",
    ),
    with_arg("", "nlm-udp-port", "PORT", "set lockd's NLM UDP port"),
];

/// The synopsis; `SHARED` stands for the shared options'.
pub(super) const SYNOPSIS: &str =
    "[-dFn] [-p port] [-o port] [-P dir] [-H prog] [--name name]\n       \
    [--no-notify] [--nlm-port port] [--nlm-udp-port port]\n       \
    SHARED\n       \
    rpc.statd [-d] [-P dir] [--store-format format] -l | -L | -N hostname";

#[cfg(test)]
mod tests {
    use crate::statd::config::testutil::{admin, config, run};
    use crate::statd::config::{Admin, AdminOp, Command};
    use crate::statd::glue::kernel::NlmPorts;
    use crate::statd::store::StoreFormat;
    use std::path::PathBuf;

    #[test]
    fn seed_letters() {
        let c = config(&["-n"]);
        assert!(c.notify_only && !c.no_notify);
        assert!(!config(&[]).notify_only);
        assert_eq!(admin(&["-l"]).op, AdminOp::List);
        assert_eq!(admin(&["-L"]).op, AdminOp::Watch);
        assert_eq!(admin(&["-l", "-l"]).op, AdminOp::List);
        assert_eq!(
            admin(&["-N", "HostB"]).op,
            AdminOp::Clear(b"HostB".to_vec())
        );
        assert_eq!(admin(&["-NhostB"]).op, AdminOp::Clear(b"hostB".to_vec()));
        let a = admin(&["-d", "-l", "-P", "/srv/x", "--store-format=apple"]);
        assert_eq!(
            a,
            Admin {
                op: AdminOp::List,
                state_dir: "/srv/x".into(),
                store: StoreFormat::Apple,
                verbosity: 3,
            }
        );
        assert_eq!(admin(&["-L"]).state_dir, PathBuf::from("/var/lib/nfs"));
        // nfs-utils' long forms stay.
        let c = config(&["--name", "me", "--no-notify"]);
        assert_eq!((c.name.as_deref(), c.no_notify), (Some("me"), true));
        for letter in ["-v", "-T", "-U"] {
            assert!(run(&[letter, "x"]).is_err(), "{letter}");
        }
    }

    #[test]
    fn seed_letters_one_by_one() {
        let c = config(&["-F"]);
        assert!(
            c.foreground && c.log_stderr,
            "the seed logs to stderr with -F"
        );
        assert_eq!(config(&["-d"]).verbosity, 3);
        assert_eq!(config(&["--debug"]).verbosity, 3);
        assert!(config(&["-n"]).notify_only);
        assert!(config(&["--notify-only"]).notify_only);
        assert_eq!(admin(&["-l"]).op, AdminOp::List);
        assert_eq!(admin(&["--list"]).op, AdminOp::List);
        assert_eq!(admin(&["-L"]).op, AdminOp::Watch);
        assert_eq!(admin(&["--watch"]).op, AdminOp::Watch);
        assert_eq!(admin(&["-N", "h"]).op, AdminOp::Clear(b"h".to_vec()));
        assert_eq!(admin(&["--forget=h"]).op, AdminOp::Clear(b"h".to_vec()));
        assert_eq!(run(&["-V"]), Ok(Command::Version));
        assert_eq!(run(&["--version"]), Ok(Command::Version));
        // nfs-utils' functions by their long names.
        assert_eq!(
            config(&["--nlm-port", "4045"]).nlm_ports,
            NlmPorts {
                tcp: Some(4045),
                udp: Some(4045)
            }
        );
        assert_eq!(config(&["--nlm-udp-port", "9"]).nlm_ports.udp, Some(9));
        for bad in ["--no-syslog", "--notify-mode", "-v"] {
            assert!(run(&[bad]).is_err(), "{bad}");
        }
    }
}
