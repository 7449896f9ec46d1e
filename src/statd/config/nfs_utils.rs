//! The nfs-utils dialect's letters (nfs-utils 2.6's rpc.statd(8), what
//! Linux unit files and scripts pass: `-d -F -L -n -N -T -U -v`), the long
//! names it gives the seed's functions, and its synopsis.
//! [`Dialect::NfsUtils`](super::Dialect::NfsUtils) takes these with the
//! shared options of `options.rs`.

use super::options::{flag, with_arg, HELP};
use crate::daemon::args::Opt;

/// nfs-utils' letters, with nfs-utils' long names.
pub(super) const LETTERS: &[Opt] = &[
    flag(
        "d",
        "no-syslog",
        "with -F: log to stderr, at the debug level",
    ),
    flag(
        "F",
        "foreground",
        "stay in the foreground (log to syslog unless -d)",
    ),
    HELP,
    flag("?", "", "same as -h"),
    flag("L", "no-notify", "do not notify peers at start"),
    with_arg(
        "n",
        "name",
        "NAME",
        "identify this host as NAME in reboot notifications",
    ),
    flag(
        "N",
        "notify-mode",
        "notify peers (as sm-notify does), then exit",
    ),
    with_arg(
        "T",
        "nlm-port",
        "PORT",
        "set lockd's NLM port (TCP, and UDP unless -U)",
    ),
    with_arg("U", "nlm-udp-port", "PORT", "set lockd's NLM UDP port"),
    flag("v", "version", "print the version and exit"),
    flag("V", "", "same as -v"),
];

/// In the nfs-utils dialect: the seed's functions, long form only.
pub(super) const LONG: &[Opt] = &[
    flag("", "debug", "log at the maximum level (debug)"),
    flag(
        "",
        "notify-only",
        "notify the hosts owed a notice, then exit",
    ),
    flag("", "list", "list the hosts in the status file and exit"),
    flag("", "watch", "list the hosts, then watch and report changes"),
    with_arg(
        "",
        "forget",
        "HOST",
        "clear the needs-notification status of HOST",
    ),
];

/// The synopsis; `SHARED` stands for the shared options'.
pub(super) const SYNOPSIS: &str =
    "[-dFhLNvV?] [-H prog] [-n name] [-o port] [-p port] [-P dir]\n       \
    [-T port] [-U port] [--debug] [--notify-only]\n       \
    SHARED\n       \
    rpc.statd [--debug] [-P dir] [--store-format format]\n       \
    --list | --watch | --forget hostname";

#[cfg(test)]
mod tests {
    use crate::statd::config::testutil::{nfs, run_in, NFS};
    use crate::statd::config::{AdminOp, Command, Config};
    use crate::statd::glue::kernel::NlmPorts;
    use std::path::PathBuf;

    #[test]
    fn nfs_utils_letters_one_by_one() {
        // -F: foreground, logging to syslog (nfs-utils).
        let c = nfs(&["-F"]);
        assert!(c.foreground && !c.log_stderr);
        assert_eq!(c.verbosity, 0);
        assert_eq!(c, nfs(&["--foreground"]));
        // -d: with -F, stderr at the debug level; alone, nothing.
        let c = nfs(&["-F", "-d"]);
        assert!(c.foreground && c.log_stderr);
        assert_eq!(c.verbosity, 3);
        assert_eq!(c, nfs(&["--foreground", "--no-syslog"]));
        assert_eq!(c, nfs(&["-Fd"]));
        assert_eq!(nfs(&["-d"]), Config::default());
        assert_eq!(nfs(&["--debug"]).verbosity, 3, "statmon's --debug");
        assert!(!nfs(&["--debug"]).log_stderr);
        // -h, -?, --help; -v, -V, --version.
        for h in ["-h", "-?", "--help"] {
            assert_eq!(run_in(NFS, &[h]), Ok(Command::Help), "{h}");
        }
        for v in ["-v", "-V", "--version"] {
            assert_eq!(run_in(NFS, &[v]), Ok(Command::Version), "{v}");
        }
        // -H, --ha-callout.
        assert_eq!(nfs(&["-H", "/bin/ha"]).ha_callout, Some("/bin/ha".into()));
        assert_eq!(nfs(&["--ha-callout=/h"]).ha_callout, Some("/h".into()));
        // -L, --no-notify.
        assert!(nfs(&["-L"]).no_notify);
        assert!(nfs(&["--no-notify"]).no_notify);
        assert!(!nfs(&["-L"]).notify_only);
        // -n, --name.
        assert_eq!(
            nfs(&["-n", "me.example"]).name.as_deref(),
            Some("me.example")
        );
        assert_eq!(nfs(&["-n192.0.2.7"]).name.as_deref(), Some("192.0.2.7"));
        assert_eq!(nfs(&["--name", "x"]).name.as_deref(), Some("x"));
        // -N, --notify-mode: notify, then exit.
        assert!(nfs(&["-N"]).notify_only);
        assert!(nfs(&["--notify-mode"]).notify_only);
        // -o, --outgoing-port; -p, --port.
        assert_eq!(nfs(&["-o", "2020"]).outgoing_port, Some(2020));
        assert_eq!(nfs(&["--outgoing-port=2021"]).outgoing_port, Some(2021));
        assert_eq!(nfs(&["-p", "662"]).port, Some(662));
        assert_eq!(nfs(&["--port", "663"]).port, Some(663));
        // -P, --state-directory-path.
        assert_eq!(nfs(&["-P", "/srv/st"]).state_dir, PathBuf::from("/srv/st"));
        assert_eq!(
            nfs(&["--state-directory-path", "/s"]).state_dir,
            PathBuf::from("/s")
        );
        // -T, --nlm-port: TCP and UDP unless -U; -U, --nlm-udp-port.
        let both = NlmPorts {
            tcp: Some(4045),
            udp: Some(4045),
        };
        assert_eq!(nfs(&["-T", "4045"]).nlm_ports, both);
        assert_eq!(nfs(&["--nlm-port=4045"]).nlm_ports, both);
        let udp = NlmPorts {
            tcp: None,
            udp: Some(4046),
        };
        assert_eq!(nfs(&["-U", "4046"]).nlm_ports, udp);
        assert_eq!(nfs(&["--nlm-udp-port", "4046"]).nlm_ports, udp);
        let split = NlmPorts {
            tcp: Some(4045),
            udp: Some(4046),
        };
        assert_eq!(nfs(&["-U", "4046", "-T", "4045"]).nlm_ports, split);
        assert_eq!(nfs(&["-T", "4045", "-U", "4046"]).nlm_ports, split);
        // The seed's functions, by their long names.
        assert!(nfs(&["--notify-only"]).notify_only);
        let admin_nfs = |v: &[&str]| match run_in(NFS, v) {
            Ok(Command::Admin(a)) => a,
            other => panic!("{v:?}: {other:?}"),
        };
        assert_eq!(admin_nfs(&["--list"]).op, AdminOp::List);
        assert_eq!(admin_nfs(&["--watch"]).op, AdminOp::Watch);
        assert_eq!(
            admin_nfs(&["--forget", "hostB"]).op,
            AdminOp::Clear(b"hostB".to_vec())
        );
        assert_eq!(admin_nfs(&["-d", "--list"]).verbosity, 3);
        // Not nfs-utils letters.
        for bad in [
            &["-l"][..],
            &["-n"],
            &["-T", "0"],
            &["-U", "65536"],
            &["-T"],
            &["-P", ""],
        ] {
            assert!(run_in(NFS, bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            run_in(NFS, &["-T", "x"]),
            Err("rpc.statd: --nlm-port: invalid port number 'x'".into())
        );
        assert_eq!(
            run_in(NFS, &["--list", "--forget", "x"]),
            Err(
                "rpc.statd: --list, --watch and --forget exclude each other \
                 (and --forget takes one host)"
                    .into()
            )
        );
        assert_eq!(
            run_in(NFS, &["-N", "--list"]),
            Err("rpc.statd: --notify-only (-N) cannot be combined with \
                 --list, --watch or --forget"
                .into())
        );
    }
}
