//! rpc.statd's sections of nfs.conf: `[statd]` (all of its keys) and
//! `[lockd]` (lockd's ports), read into [`FromFile`] for
//! [`parse`](fn@super::parse) to put under the flags.

use super::conf_reader::ConfSection;
use super::sources::Sources;
use super::state_dir;
use super::values::{parse_connections, parse_give_up, parse_idle, parse_record, parse_window};
use crate::statd::notify::schedule::Schedule;
use crate::statd::store::StoreFormat;
use std::path::PathBuf;
use std::time::Duration;

/// rpc.statd's nfs.conf section.
pub use super::conf_reader::STATD_SECTION as CONF_SECTION;

/// The nfs.conf section with lockd's ports (`port`, `udp-port`).
pub const LOCKD_SECTION: &str = "lockd";

/// The keys of `[statd]` we read, or that nfs-utils knows (none is
/// ignored: `debug` sets the verbosity).
pub const STATD_KEYS: &[&str] = &[
    "debug",
    "port",
    "outgoing-port",
    "name",
    "state-directory-path",
    "ha-callout",
    "no-notify",
    "store-format",
    "notify-schedule",
    "notify-give-up",
    "notify-window",
    "max-connections",
    "max-record-size",
    "idle-timeout",
];

/// The keys of `[lockd]` nfs-utils knows (rpc.statd reads both).
pub const LOCKD_KEYS: &[&str] = &["port", "udp-port"];

/// The `[statd]` and `[lockd]` settings that passed their checks.
#[derive(Debug)]
pub(super) struct FromFile {
    pub(super) port: Option<u16>,
    pub(super) outgoing_port: Option<u16>,
    pub(super) name: Option<String>,
    pub(super) state_dir: Option<PathBuf>,
    pub(super) ha_callout: Option<PathBuf>,
    pub(super) no_notify: bool,
    pub(super) store: Option<StoreFormat>,
    pub(super) debug: bool,
    pub(super) schedule: Option<Schedule>,
    pub(super) give_up: Option<Option<Duration>>,
    pub(super) window: Option<usize>,
    pub(super) max_connections: Option<usize>,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) max_record: Option<usize>,
    pub(super) nlm_tcp: Option<u16>,
    pub(super) nlm_udp: Option<u16>,
}

impl FromFile {
    /// Reads `[statd]` and `[lockd]`; each bad value is a warning and is
    /// left unset, and so is each unknown key.
    pub(super) fn read(src: &Sources, warnings: &mut Vec<String>) -> FromFile {
        let mut statd = ConfSection::new(src, CONF_SECTION, warnings);
        let port = statd.port("port");
        let outgoing_port = statd.port("outgoing-port");
        let mut lockd = statd.other(LOCKD_SECTION);
        let (nlm_tcp, nlm_udp) = (lockd.port("port"), lockd.port("udp-port"));
        // Read in this order, so that the warnings come in it.
        let f = FromFile {
            port,
            outgoing_port,
            nlm_tcp,
            nlm_udp,
            name: statd.get("name"),
            state_dir: state_dir::from_conf(src),
            ha_callout: statd.get("ha-callout").map(PathBuf::from),
            no_notify: statd.bool("no-notify").unwrap_or(false),
            store: statd.checked("store-format", |v| {
                StoreFormat::from_name(v).ok_or("not nfs-utils or apple")
            }),
            debug: statd.debug(),
            give_up: statd.checked("notify-give-up", parse_give_up),
            // The give-up time is set by the caller.
            schedule: statd.checked("notify-schedule", |v| Schedule::parse(v, None)),
            window: statd.checked("notify-window", parse_window),
            max_connections: statd.checked("max-connections", parse_connections),
            max_record: statd.checked("max-record-size", parse_record),
            idle_timeout: statd.checked("idle-timeout", parse_idle),
        };
        statd.unknown_keys(STATD_KEYS);
        statd.other(LOCKD_SECTION).unknown_keys(LOCKD_KEYS);
        f
    }
}

#[cfg(test)]
mod tests {
    use crate::statd::config::testutil::{config_in, config_with, NFS};
    use crate::statd::config::DEFAULT_NOTIFY_WINDOW;
    use crate::statd::glue::kernel::NlmPorts;
    use crate::statd::notify::schedule::Schedule;
    use crate::statd::store::StoreFormat;
    use std::path::PathBuf;
    use std::time::Duration;

    #[test]
    fn notify_keys_in_conf() {
        let conf = "[statd]\nnotify-schedule = 2x1s,*x1m\nnotify-give-up = 1h\nnotify-window = 8\n";
        let c = config_with(&[], conf, &[]);
        assert_eq!(
            c.notify_schedule,
            Schedule::parse("2x1s,*x1m", Some(Duration::from_secs(3600))).unwrap()
        );
        assert_eq!(c.notify_window, 8);
        assert!(c.conf_warnings.is_empty(), "{:?}", c.conf_warnings);
        // Flags beat the file, key by key.
        let c = config_with(&["--notify-give-up=never", "--notify-window=9"], conf, &[]);
        assert_eq!(
            c.notify_schedule,
            Schedule::parse("2x1s,*x1m", None).unwrap()
        );
        assert_eq!(c.notify_window, 9);
        let c = config_with(&["--notify-schedule=*x7s"], conf, &[]);
        assert_eq!(
            c.notify_schedule,
            Schedule::parse("*x7s", Some(Duration::from_secs(3600))).unwrap()
        );
        let c = config_with(
            &[],
            "[statd]\nnotify-schedule = bad\nnotify-give-up = 0\nnotify-window = 0\n",
            &[],
        );
        assert_eq!(c.notify_schedule, Schedule::seed());
        assert_eq!(c.notify_window, DEFAULT_NOTIFY_WINDOW);
        assert_eq!(c.conf_warnings.len(), 3, "{:?}", c.conf_warnings);
    }

    #[test]
    fn conf_supplies_every_key() {
        let c = config_with(
            &[],
            "[statd]\nport = 662\noutgoing-port = 2020\nname = 192.0.2.1\n\
             state-directory-path = /srv/nfs\nha-callout = /usr/sbin/ha\nno-notify = yes\n\
             store-format = apple\ndebug = call,auth\n",
            &[],
        );
        assert_eq!(c.port, Some(662));
        assert_eq!(c.outgoing_port, Some(2020));
        assert_eq!(c.name.as_deref(), Some("192.0.2.1"));
        assert_eq!(c.state_dir, PathBuf::from("/srv/nfs"));
        assert_eq!(c.ha_callout, Some(PathBuf::from("/usr/sbin/ha")));
        assert!(c.no_notify);
        assert_eq!(c.store, StoreFormat::Apple);
        assert_eq!(c.verbosity, 3);
        assert!(c.conf_warnings.is_empty(), "{:?}", c.conf_warnings);
    }

    #[test]
    fn flags_beat_conf_beats_defaults() {
        let conf = "[statd]\nport = 662\noutgoing-port = 2020\nname = file\n\
                    state-directory-path = /file\nha-callout = /file-ha\nstore-format = apple\n";
        let c = config_with(
            &[
                "-p1",
                "-o2",
                "--name=flag",
                "-P/flag",
                "-H/flag-ha",
                "--store-format=nfs-utils",
            ],
            conf,
            &[],
        );
        assert_eq!((c.port, c.outgoing_port), (Some(1), Some(2)));
        assert_eq!(c.name.as_deref(), Some("flag"));
        assert_eq!(c.state_dir, PathBuf::from("/flag"));
        assert_eq!(c.ha_callout, Some(PathBuf::from("/flag-ha")));
        assert_eq!(c.store, StoreFormat::NfsUtils);
        // The store format from the file picks the default directory.
        let c = config_with(&[], "[statd]\nstore-format = apple\n", &[]);
        assert_eq!(c.state_dir, PathBuf::from("/var/db"));
        // Other sections and subsections are not ours.
        let c = config_with(
            &[],
            "[sm-notify]\noutgoing-port=5\n[statd \"x\"]\nport=6\n",
            &[],
        );
        assert_eq!((c.port, c.outgoing_port), (None, None));
    }

    #[test]
    fn bad_conf_values_are_warnings_and_ignored() {
        let c = config_with(
            &[],
            "[statd]\nport = 70000\noutgoing-port = 66x\nno-notify = maybe\n\
             store-format = bsd\ndebug = all,loud\njunk line\n",
            &[],
        );
        assert_eq!((c.port, c.outgoing_port), (None, None));
        assert!(!c.no_notify);
        assert_eq!(c.store, StoreFormat::NfsUtils);
        assert_eq!(c.verbosity, 3, "'all' still counts");
        assert_eq!(c.conf_warnings.len(), 6, "{:#?}", c.conf_warnings);
        assert_eq!(
            c.conf_warnings[0],
            "line 7: line not empty and not an assignment"
        );
        assert!(c
            .conf_warnings
            .contains(&"nfs.conf [statd] port = '70000': not a port number, ignored".into()));
        let c = config_with(&[], "[statd]\nport = 0\ndebug = 0\n", &[]);
        assert_eq!((c.port, c.verbosity, c.conf_warnings.len()), (None, 0, 0));
    }

    #[test]
    fn conf_values_expand_dollar_names() {
        let conf =
            "[environment]\nSTATD_PORT = 662\n[statd]\nport = $STATD_PORT\nname = $MY_NAME\n";
        let c = config_with(&[], conf, &[("MY_NAME", "nfs1")]);
        assert_eq!(c.port, Some(662));
        assert_eq!(c.name.as_deref(), Some("nfs1"));
        let c = config_with(&[], conf, &[("STATD_PORT", "700")]);
        assert_eq!((c.port, c.name), (Some(700), None));
    }

    #[test]
    fn load_warnings_come_first() {
        let c = config_with(&[], "[statd]\nport = x\nbad\n", &[]);
        assert_eq!(c.conf_warnings.len(), 2, "{:?}", c.conf_warnings);
        assert!(c.conf_warnings[0].starts_with("line 3:"));
    }

    #[test]
    fn lockd_ports_from_the_file() {
        let c = config_in(NFS, &[], "[lockd]\nport = 4045\n", &[]);
        assert_eq!(
            c.nlm_ports,
            NlmPorts {
                tcp: Some(4045),
                udp: Some(4045)
            },
            "udp-port defaults to port"
        );
        let c = config_in(NFS, &[], "[lockd]\nport = 4045\nudp-port = 4046\n", &[]);
        assert_eq!(
            c.nlm_ports,
            NlmPorts {
                tcp: Some(4045),
                udp: Some(4046)
            }
        );
        let c = config_in(NFS, &[], "[lockd]\nudp-port = 4046\n", &[]);
        assert_eq!(
            c.nlm_ports,
            NlmPorts {
                tcp: None,
                udp: Some(4046)
            }
        );
        // Flags beat the file, port by port.
        let c = config_in(NFS, &["-T", "1"], "[lockd]\nport = 2\nudp-port = 3\n", &[]);
        assert_eq!(
            c.nlm_ports,
            NlmPorts {
                tcp: Some(1),
                udp: Some(3)
            }
        );
        let c = config_in(NFS, &["-T", "1"], "[lockd]\nport = 2\n", &[]);
        assert_eq!(c.nlm_ports.udp, Some(1), "-T sets UDP unless set itself");
        // 0 is unset; a bad value is a warning.
        let c = config_in(NFS, &[], "[lockd]\nport = 0\nudp-port = x\n", &[]);
        assert_eq!(c.nlm_ports, NlmPorts::default());
        assert_eq!(
            c.conf_warnings,
            vec!["nfs.conf [lockd] udp-port = 'x': not a port number, ignored".to_string()]
        );
    }

    #[test]
    fn unknown_keys_are_warned_about_once_with_file_and_line() {
        let conf = "[statd]\nport = 662\nfoo = 1\n[lockd]\nport = 1\nbar = 2\n\
                    [sm-notify]\nbaz = 1\n[statd \"sub\"]\nqux = 1\n";
        let c = config_in(NFS, &[], conf, &[]);
        assert_eq!(
            c.conf_warnings,
            vec![
                "line 3: unknown key 'foo' in [statd], ignored".to_string(),
                "line 6: unknown key 'bar' in [lockd], ignored".to_string(),
            ]
        );
        // Every key nfs.conf(5) and Debian's /etc/nfs.conf name, and ours.
        let known = "[statd]\ndebug = 0\nport = 1\noutgoing-port = 2\nname = n\n\
                     state-directory-path = /s\nha-callout = /h\nno-notify = 0\n\
                     store-format = nfs-utils\nnotify-schedule = *x1h\nnotify-give-up = 1h\n\
                     notify-window = 5\nmax-connections = 5\nmax-record-size = 1024\n\
                     idle-timeout = 1m\n[lockd]\nport = 3\nudp-port = 4\n";
        let c = config_in(NFS, &[], known, &[]);
        assert!(c.conf_warnings.is_empty(), "{:?}", c.conf_warnings);
    }
}
