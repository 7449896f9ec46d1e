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
//!
//! What rpc.statd reads the same way is read by rpc.statd's code, used
//! here: the `--config` and `-h` options, the configuration's source and
//! loading, the checks of stray arguments and empty values, the state
//! directory (`-P`, `[statd] state-directory-path`), and the reading of an
//! nfs.conf section (ports, booleans, `debug`, the warnings for bad values
//! and unknown keys).

use super::conf_reader::{port_value, ConfSection};
use super::model::DEBUG_VERBOSITY;
use super::options::{flag, with_arg, CONFIG, HELP};
use super::sources::conf_source_in;
use super::values::{check_rest, nonempty};
use super::{state_dir, ConfSource, Sources};
use crate::daemon::args::{self as cli, Opt};
use crate::statd::store::StoreFormat;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The nfs.conf section sm-notify reads.
pub const CONF_SECTION: &str = "sm-notify";

/// `-m` when not configured: 15 minutes.
pub const DEFAULT_RETRY_MINUTES: u64 = 15;

/// The option table (nfs-utils' letters; long names only for ours).
pub const OPTIONS: &[Opt] = &[
    flag(
        "d",
        "",
        "stay in the foreground, log debug messages to stderr",
    ),
    flag("f", "", "notify even if already done since boot"),
    with_arg(
        "m",
        "",
        "MINUTES",
        "give up after MINUTES (default 15; 0 = never)",
    ),
    flag("n", "", "do not update the state number"),
    with_arg("p", "", "PORT", "send from source PORT"),
    with_arg(
        "P",
        "state-directory-path",
        "DIR",
        "state directory (default /var/lib/nfs)",
    ),
    with_arg("v", "", "ADDR", "send from ADDR, and as its name"),
    CONFIG,
    flag("V", "", "print the version and exit"),
    HELP,
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
    conf_source_in(prog, OPTIONS, args)
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
    check_rest(prog, &m)?;
    let err = |e: String| format!("{prog}: {e}");

    let mut cfg = SmNotifyConfig {
        conf_warnings: src.load_warnings(),
        ..SmNotifyConfig::default()
    };
    read_conf(src, &mut cfg);

    if let Some(v) = m.opt_strs("m").pop() {
        cfg.give_up = minutes(&v).map_err(|e| err(format!("-m: {e}")))?;
    }
    if let Some(p) = cli::port(&m, "p").map_err(err)? {
        cfg.port = Some(p);
    }
    if let Some(dir) = state_dir::from_flag(&m).map_err(err)? {
        cfg.state_dir = dir;
    }
    if let Some(addr) = nonempty(&m, "v", "outgoing address").map_err(err)? {
        cfg.outgoing_addr = Some(addr);
    }
    if m.opt_present("d") {
        cfg.debug = true;
        cfg.verbosity = DEBUG_VERBOSITY;
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
    let mut sm = ConfSection::new(src, CONF_SECTION, &mut cfg.conf_warnings);
    if let Some(g) = sm.checked("retry-time", minutes) {
        cfg.give_up = g;
    }
    // Blanks around the number are taken here (not in rpc.statd's ports).
    if let Some(p) = sm
        .checked("outgoing-port", |v| port_value(v.trim()))
        .flatten()
    {
        cfg.port = Some(p);
    }
    if let Some(v) = sm.get("outgoing-addr") {
        cfg.outgoing_addr = Some(v);
    }
    for (key, slot) in [
        ("lift-grace", &mut cfg.lift_grace),
        ("update-state", &mut cfg.update_state),
        ("force", &mut cfg.force),
    ] {
        if let Some(b) = sm.bool(key) {
            *slot = b;
        }
    }
    if sm.debug() {
        cfg.verbosity = DEBUG_VERBOSITY;
    }
    if let Some(dir) = state_dir::from_conf(src) {
        cfg.state_dir = dir;
    }
    sm.unknown_keys(SM_NOTIFY_KEYS);
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
