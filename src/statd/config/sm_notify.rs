//! sm-notify's configuration, as nfs-utils' `sm-notify` takes it: the
//! command line `-d -f -m minutes -n -p port -P dir -v addr` (`-P` also as
//! `--state-directory-path`, as sm-notify(8) writes it; plus `-h`/`--help`,
//! `-V` and `--config FILE` as for rpc.statd), the `[sm-notify]` section of
//! nfs.conf (`retry-time`, `outgoing-port`, `outgoing-addr`, `lift-grace`,
//! `update-state`, `force`, `debug`; other keys are warned about, naming
//! their file and line) and `[statd] state-directory-path`. A flag beats
//! the file; the file beats the default. sm-notify has one dialect: its
//! letters mean the same in nfs-utils and here.
//!
//! The configuration files are read by [`Sources::load`] from the source
//! [`conf_source`] names (`--config FILE` or the system's); [`parse`] is
//! pure. Bad values on the command line are
//! errors (the caller prints the message and one [`cli::hint`] line, and
//! exits 1); bad values in the file are warnings
//! ([`SmNotifyConfig::conf_warnings`]) and the key is ignored.

use super::{self as statd_cli, ConfSource, Sources};
use crate::daemon::args::{self as cli, Arg, Opt};
use crate::daemon::nfsconf;
use crate::statd::store::StoreFormat;
use getopts::Matches;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The nfs.conf section sm-notify reads.
pub const CONF_SECTION: &str = "sm-notify";

/// `-m` when not configured: 15 minutes.
pub const DEFAULT_RETRY_MINUTES: u64 = 15;

/// The option table (nfs-utils' letters; long names only for ours).
pub const OPTIONS: &[Opt] = &[
    Opt {
        short: "d",
        long: "",
        arg: Arg::None,
        help: "stay in the foreground, log debug messages to stderr",
    },
    Opt {
        short: "f",
        long: "",
        arg: Arg::None,
        help: "notify even if already done since boot",
    },
    Opt {
        short: "m",
        long: "",
        arg: Arg::Required("MINUTES"),
        help: "give up after MINUTES (default 15; 0 = never)",
    },
    Opt {
        short: "n",
        long: "",
        arg: Arg::None,
        help: "do not update the state number",
    },
    Opt {
        short: "p",
        long: "",
        arg: Arg::Required("PORT"),
        help: "send from source PORT",
    },
    Opt {
        short: "P",
        long: "state-directory-path",
        arg: Arg::Required("DIR"),
        help: "state directory (default /var/lib/nfs)",
    },
    Opt {
        short: "v",
        long: "",
        arg: Arg::Required("ADDR"),
        help: "send from ADDR, and as its name",
    },
    Opt {
        short: "",
        long: "config",
        arg: Arg::Required("FILE"),
        help: "read FILE, not /etc/nfs.conf and /etc/nfs.conf.d",
    },
    Opt {
        short: "V",
        long: "",
        arg: Arg::None,
        help: "print the version and exit",
    },
    Opt {
        short: "h",
        long: "help",
        arg: Arg::None,
        help: "print this help and exit",
    },
];

const SYNOPSIS: &str = "[-dfhnV] [-m minutes] [-p port] [-P dir] [-v addr] [--config file]";

/// The keys of `[sm-notify]` nfs-utils knows, and ours (`update-state`).
pub const SM_NOTIFY_KEYS: &[&str] = &[
    "debug",
    "force",
    "retry-time",
    "outgoing-port",
    "outgoing-addr",
    "lift-grace",
    "update-state",
];

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmCommand {
    /// Notify.
    Run(SmNotifyConfig),
    /// Print the help.
    Help,
    /// Print the version.
    Version,
}

/// sm-notify's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmNotifyConfig {
    /// `-d`: stay in the foreground, log to stderr at the debug level.
    pub debug: bool,
    /// Log verbosity: 3 with `-d` or a `debug` facility in nfs.conf, else 0
    /// (the file's `debug` does not keep sm-notify in the foreground).
    pub verbosity: u32,
    /// `-f`, `force`: notify even if this boot's notification already ran.
    pub force: bool,
    /// `-m minutes`, `retry-time`: stop trying after this long (default 15
    /// minutes); `None` (`-m 0`) never gives up.
    pub give_up: Option<Duration>,
    /// Advance the state number (false with `-n` or `update-state = no`).
    pub update_state: bool,
    /// `-p`, `outgoing-port`: the source port; `None` = a reserved port.
    pub port: Option<u16>,
    /// `-P`, `[statd] state-directory-path`: the state directory
    /// (default `/var/lib/nfs`).
    pub state_dir: PathBuf,
    /// `-v`, `outgoing-addr`: this host's identity, sent as given; an IP
    /// address is also the source address. Never empty.
    pub outgoing_addr: Option<String>,
    /// `lift-grace`: end lockd's grace period when nobody needs notifying
    /// (default true).
    pub lift_grace: bool,
    /// Problems found in the configuration files, to log once logging is up.
    pub conf_warnings: Vec<String>,
}

impl Default for SmNotifyConfig {
    fn default() -> Self {
        SmNotifyConfig {
            debug: false,
            verbosity: 0,
            force: false,
            give_up: Some(Duration::from_secs(DEFAULT_RETRY_MINUTES * 60)),
            update_state: true,
            port: None,
            state_dir: StoreFormat::NfsUtils.default_state_dir(),
            outgoing_addr: None,
            lift_grace: true,
            conf_warnings: Vec::new(),
        }
    }
}

/// The configuration files the arguments ask for (`--config FILE`, else the
/// system's; also when the arguments are bad: [`parse`] reports that).
pub fn conf_source(prog: &str, args: &[OsString]) -> ConfSource {
    match cli::parse(prog, OPTIONS, args) {
        Ok(m) => match m.opt_strs("config").pop() {
            Some(f) if !f.is_empty() => ConfSource::File(PathBuf::from(f)),
            _ => ConfSource::System,
        },
        Err(_) => ConfSource::System,
    }
}

/// The help text.
pub fn usage(prog: &str) -> String {
    cli::usage(prog, SYNOPSIS, OPTIONS)
}

/// `-m`/`retry-time` minutes as a give-up time: 0 is never.
fn minutes(text: &str) -> Result<Option<Duration>, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(m) => m
            .checked_mul(60)
            .map(|s| Some(Duration::from_secs(s)))
            .ok_or_else(|| format!("'{text}' minutes is too long")),
        Err(_) => Err(format!(
            "'{}' is not a number of minutes",
            text.escape_debug()
        )),
    }
}

/// The last value of `opt`; an empty one is an error about `what`.
fn nonempty(m: &Matches, opt: &str, what: &str) -> Result<Option<String>, String> {
    match m.opt_strs(opt).pop() {
        Some(v) if v.is_empty() => Err(format!("empty {what}")),
        v => Ok(v),
    }
}

/// Parses the arguments after the program name and combines them with
/// `src`. An error carries the message to print (before the usage text).
pub fn parse(prog: &str, args: &[OsString], src: &Sources) -> Result<SmCommand, String> {
    let m = cli::parse(prog, OPTIONS, args).map_err(|e| e.0)?;
    if m.opt_present("h") {
        return Ok(SmCommand::Help);
    }
    if m.opt_present("V") {
        return Ok(SmCommand::Version);
    }
    if let Some(extra) = m.free.first() {
        return Err(format!("{prog}: unexpected argument '{extra}'"));
    }
    let err = |e: String| format!("{prog}: {e}");
    nonempty(&m, "config", "config file path").map_err(err)?;

    let mut cfg = SmNotifyConfig {
        conf_warnings: src.conf_warnings.iter().map(|w| w.to_string()).collect(),
        ..SmNotifyConfig::default()
    };
    read_conf(src, &mut cfg);

    if let Some(v) = m.opt_strs("m").pop() {
        cfg.give_up = minutes(&v).map_err(|e| err(format!("-m: {e}")))?;
    }
    if let Some(p) = cli::port(&m, "p").map_err(err)? {
        cfg.port = Some(p);
    }
    if let Some(dir) = nonempty(&m, "P", "state directory path").map_err(err)? {
        cfg.state_dir = PathBuf::from(dir);
    }
    if let Some(addr) = nonempty(&m, "v", "outgoing address").map_err(err)? {
        cfg.outgoing_addr = Some(addr);
    }
    if m.opt_present("d") {
        cfg.debug = true;
        cfg.verbosity = 3;
    }
    cfg.force |= m.opt_present("f");
    if m.opt_present("n") {
        cfg.update_state = false;
    }
    Ok(SmCommand::Run(cfg))
}

/// Applies `[sm-notify]` and `[statd] state-directory-path` to `cfg`; each
/// bad value is a warning and leaves the default.
fn read_conf(src: &Sources, cfg: &mut SmNotifyConfig) {
    let env = |name: &str| src.env.get(name).cloned();
    let get = |key: &str| src.conf.get_expanded(CONF_SECTION, key, &env);
    let mut warnings = Vec::new();
    let mut bad = |key: &str, value: &str, why: &str| {
        warnings.push(format!(
            "nfs.conf [{CONF_SECTION}] {key} = '{value}': {why}, ignored"
        ));
    };
    if let Some(v) = get("retry-time") {
        match minutes(&v) {
            Ok(g) => cfg.give_up = g,
            Err(e) => bad("retry-time", &v, &e),
        }
    }
    if let Some(v) = get("outgoing-port") {
        match v.trim().parse::<u16>() {
            Ok(0) => {}
            Ok(p) => cfg.port = Some(p),
            Err(_) => bad("outgoing-port", &v, "not a port number"),
        }
    }
    if let Some(v) = get("outgoing-addr") {
        cfg.outgoing_addr = Some(v);
    }
    for (key, slot) in [
        ("lift-grace", &mut cfg.lift_grace),
        ("update-state", &mut cfg.update_state),
        ("force", &mut cfg.force),
    ] {
        if let Some(v) = get(key) {
            match nfsconf::parse_bool(&v) {
                Some(b) => *slot = b,
                None => bad(key, &v, "not a boolean"),
            }
        }
    }
    if let Some(v) = get("debug") {
        if statd_cli::debug_list(&v, &mut |kind| bad("debug", kind, "unknown debug facility")) {
            cfg.verbosity = 3;
        }
    }
    if let Some(dir) = src
        .conf
        .get_expanded(statd_cli::CONF_SECTION, "state-directory-path", &env)
    {
        cfg.state_dir = PathBuf::from(dir);
    }
    cfg.conf_warnings.extend(warnings);
    let unknown = src.conf.unknown_keys(CONF_SECTION, SM_NOTIFY_KEYS);
    cfg.conf_warnings
        .extend(unknown.iter().map(|w| w.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::nfsconf::NfsConf;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn sources(conf: &str) -> Sources {
        let (conf, conf_warnings) = NfsConf::parse(conf);
        Sources {
            env: Default::default(),
            conf,
            conf_warnings,
        }
    }

    fn run(v: &[&str]) -> Result<SmCommand, String> {
        parse("sm-notify", &args(v), &Sources::default())
    }

    fn config_with(v: &[&str], conf: &str) -> SmNotifyConfig {
        match parse("sm-notify", &args(v), &sources(conf)) {
            Ok(SmCommand::Run(c)) => c,
            other => panic!("{v:?}: {other:?}"),
        }
    }

    fn config(v: &[&str]) -> SmNotifyConfig {
        config_with(v, "")
    }

    #[test]
    fn defaults() {
        let c = config(&[]);
        assert_eq!(c, SmNotifyConfig::default());
        assert_eq!(c.give_up, Some(Duration::from_secs(900)));
        assert!(c.update_state && c.lift_grace && !c.force && !c.debug);
        assert_eq!(c.state_dir, PathBuf::from("/var/lib/nfs"));
    }

    #[test]
    fn every_flag() {
        let c = config(&[
            "-d",
            "-f",
            "-m",
            "5",
            "-n",
            "-p",
            "1111",
            "-P",
            "/srv/st",
            "-v",
            "127.0.0.21",
        ]);
        assert_eq!(
            c,
            SmNotifyConfig {
                debug: true,
                verbosity: 3,
                force: true,
                give_up: Some(Duration::from_secs(300)),
                update_state: false,
                port: Some(1111),
                state_dir: "/srv/st".into(),
                outgoing_addr: Some("127.0.0.21".into()),
                lift_grace: true,
                conf_warnings: Vec::new(),
            }
        );
        assert_eq!(config(&["-m0"]).give_up, None);
        assert!(!config(&["-dfn"]).update_state);
        assert_eq!(run(&["-h"]), Ok(SmCommand::Help));
        assert_eq!(run(&["--help"]), Ok(SmCommand::Help));
        assert_eq!(
            config(&["--state-directory-path", "/srv/x"]).state_dir,
            PathBuf::from("/srv/x")
        );
        assert_eq!(config(&["-P/srv/y"]).state_dir, PathBuf::from("/srv/y"));
        assert_eq!(run(&["-V"]), Ok(SmCommand::Version));
        assert_eq!(run(&["-m", "x", "-h"]), Ok(SmCommand::Help));
    }

    #[test]
    fn bad_flags_are_errors() {
        for bad in [
            &["-x"][..],
            &["-m", "-1"],
            &["-m", "ten"],
            &["-m"],
            &["-p", "0"],
            &["-p", "70000"],
            &["-P", ""],
            &["-v", ""],
            &["--config="],
            &["stray"],
            &["-L"],
        ] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            run(&["-m", "ten"]),
            Err("sm-notify: -m: 'ten' is not a number of minutes".into())
        );
    }

    #[test]
    fn conf_keys() {
        let c = config_with(
            &[],
            "[sm-notify]\nretry-time = 2\noutgoing-port = 2020\noutgoing-addr = 127.0.0.5\n\
             lift-grace = n\nupdate-state = no\nforce = yes\ndebug = all\n\
             [statd]\nstate-directory-path = /srv/nfs\n",
        );
        assert_eq!(c.give_up, Some(Duration::from_secs(120)));
        assert_eq!(c.port, Some(2020));
        assert_eq!(c.outgoing_addr.as_deref(), Some("127.0.0.5"));
        assert!(!c.lift_grace && !c.update_state && c.force);
        assert_eq!((c.debug, c.verbosity), (false, 3));
        assert_eq!(c.state_dir, PathBuf::from("/srv/nfs"));
        assert!(c.conf_warnings.is_empty(), "{:?}", c.conf_warnings);
        assert_eq!(
            config_with(&[], "[sm-notify]\nretry-time = 0\n").give_up,
            None
        );
    }

    #[test]
    fn flags_beat_conf() {
        let conf = "[sm-notify]\nretry-time = 2\noutgoing-port = 2020\noutgoing-addr = a\n\
                    [statd]\nstate-directory-path = /file\n";
        let c = config_with(&["-m", "0", "-p", "7", "-v", "b", "-P", "/flag"], conf);
        assert_eq!(c.give_up, None);
        assert_eq!(c.port, Some(7));
        assert_eq!(c.outgoing_addr.as_deref(), Some("b"));
        assert_eq!(c.state_dir, PathBuf::from("/flag"));
        // -n beats update-state = yes; -f adds to force = no.
        let c = config_with(
            &["-n", "-f"],
            "[sm-notify]\nupdate-state = yes\nforce = no\n",
        );
        assert!(!c.update_state && c.force);
    }

    #[test]
    fn bad_conf_values_are_warnings() {
        let c = config_with(
            &[],
            "[sm-notify]\nretry-time = soon\noutgoing-port = 70000\nlift-grace = maybe\n\
             debug = loud\nbroken\n",
        );
        assert_eq!(c.give_up, Some(Duration::from_secs(900)));
        assert_eq!(c.port, None);
        assert!(c.lift_grace);
        assert_eq!(c.verbosity, 0);
        assert_eq!(c.conf_warnings.len(), 5, "{:?}", c.conf_warnings);
        assert!(c.conf_warnings[0].starts_with("line 6:"));
        assert!(c.conf_warnings.contains(
            &"nfs.conf [sm-notify] outgoing-port = '70000': not a port number, ignored".into()
        ));
    }

    #[test]
    fn conf_source_and_usage() {
        assert_eq!(
            conf_source("sm-notify", &args(&["--config", "/a"])),
            ConfSource::File("/a".into())
        );
        assert_eq!(conf_source("sm-notify", &args(&["-z"])), ConfSource::System);
        let u = usage("sm-notify");
        for o in OPTIONS {
            assert!(u.contains(o.help), "{}", o.help);
        }
        assert!(u.contains("-m MINUTES"));
    }

    #[test]
    fn each_nfs_utils_letter_alone() {
        assert!(config(&["-d"]).debug);
        assert_eq!(config(&["-d"]).verbosity, 3);
        assert!(config(&["-f"]).force);
        assert_eq!(config(&["-m", "1"]).give_up, Some(Duration::from_secs(60)));
        assert!(!config(&["-n"]).update_state);
        assert_eq!(config(&["-p", "999"]).port, Some(999));
        assert_eq!(config(&["-P", "/d"]).state_dir, PathBuf::from("/d"));
        assert_eq!(
            config(&["-v", "h.example"]).outgoing_addr.as_deref(),
            Some("h.example")
        );
        assert_eq!(run(&["-V"]), Ok(SmCommand::Version));
    }

    #[test]
    fn unknown_keys_are_warned_about_known_ones_not() {
        let c = config_with(
            &[],
            "[sm-notify]\nretry-time = 1\nbogus = 1\n[statd]\nport = 5\n[lockd]\nx = 1\n",
        );
        assert_eq!(
            c.conf_warnings,
            vec!["line 3: unknown key 'bogus' in [sm-notify], ignored".to_string()]
        );
        let all_known = "[sm-notify]\ndebug = 0\nforce = 0\nretry-time = 1\noutgoing-port = 1\n\
                         outgoing-addr = a\nlift-grace = y\nupdate-state = y\n";
        assert!(config_with(&[], all_known).conf_warnings.is_empty());
    }
}
