//! rpc.statd's command line ([`parse`]): the arguments, in either
//! dialect, over the `[statd]` and `[lockd]` settings over the defaults,
//! into a [`Command`].

use super::dialect::Dialect;
use super::model::{
    Admin, AdminOp, Command, Config, DEBUG_VERBOSITY, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_NOTIFY_WINDOW,
};
use super::sources::Sources;
use super::statd_conf::FromFile;
use super::state_dir;
use super::values::{
    atoi_positive, check_rest, nonempty, parse_connections, parse_give_up, parse_idle,
    parse_record, parse_window,
};
use crate::daemon::args as cli;
use crate::statd::glue::kernel::NlmPorts;
use crate::statd::notify::schedule::Schedule;
use crate::statd::store::StoreFormat;
use getopts::Matches;
use std::ffi::OsString;
use std::path::PathBuf;

#[cfg(doc)]
use super::select_dialect;

/// Set to a number > 0, it means `--no-notify` (as in nfs-utils).
pub const NO_NOTIFY_ENV: &str = "RPC_STATD_NO_NOTIFY";

/// The options the parsed arguments name, whatever the dialect's letters.
struct Asked<'m> {
    m: &'m Matches,
    dialect: Dialect,
}

impl Asked<'_> {
    fn has(&self, name: &str) -> bool {
        self.m.opt_present(name)
    }

    /// nfs-utils' `-d`/`--no-syslog` (always false in the seed dialect).
    fn no_syslog(&self) -> bool {
        self.dialect == Dialect::NfsUtils && self.has("no-syslog")
    }

    /// `--notify-only`, or nfs-utils' `-N`/`--notify-mode`.
    fn notify_only(&self) -> bool {
        self.has("notify-only") || (self.dialect == Dialect::NfsUtils && self.has("notify-mode"))
    }

    /// What this dialect calls `--list`, `--watch` and `--forget`.
    fn admin_names(&self) -> (&'static str, &'static str) {
        match self.dialect {
            Dialect::Seed => ("-l, -L and -N", "-N"),
            Dialect::NfsUtils => ("--list, --watch and --forget", "--forget"),
        }
    }

    fn notify_only_name(&self) -> &'static str {
        match self.dialect {
            Dialect::Seed => "-n",
            Dialect::NfsUtils => "--notify-only (-N)",
        }
    }
}

/// Parses the arguments after the program name (and after `--dialect`,
/// see [`select_dialect`]) in `dialect`, and combines them with `src`. An
/// error carries the message to print (before the usage hint).
pub fn parse(
    prog: &str,
    dialect: Dialect,
    args: &[OsString],
    src: &Sources,
) -> Result<Command, String> {
    let m = cli::parse(prog, &dialect.options(), args).map_err(|e| e.0)?;
    let asked = Asked { m: &m, dialect };
    if asked.has("h") || asked.has("?") {
        return Ok(Command::Help);
    }
    if asked.has("version") || asked.has("V") {
        return Ok(Command::Version);
    }
    check_rest(prog, &m)?;
    let err = |e: String| format!("{prog}: {e}");

    let mut conf_warnings = src.load_warnings();
    let file = FromFile::read(src, &mut conf_warnings);
    let port = cli::port(&m, "p").map_err(err)?.or(file.port);
    let outgoing_port = cli::port(&m, "o").map_err(err)?.or(file.outgoing_port);
    if let (Some(p), Some(o)) = (port, outgoing_port) {
        if p == o {
            return Err(err(format!(
                "listening and outgoing ports cannot be the same ({p})"
            )));
        }
    }
    let store = match m.opt_strs("store-format").pop() {
        Some(s) => StoreFormat::from_name(&s)
            .ok_or_else(|| err(format!("unknown store format '{s}' (nfs-utils or apple)")))?,
        None => file.store.unwrap_or(StoreFormat::NfsUtils),
    };
    let state_dir = match state_dir::from_flag(&m).map_err(err)? {
        Some(dir) => dir,
        None => file.state_dir.unwrap_or_else(|| store.default_state_dir()),
    };
    let ha_callout = nonempty(&m, "H", "ha-callout program")
        .map_err(err)?
        .map(PathBuf::from)
        .or(file.ha_callout);
    let name = nonempty(&m, "name", "name").map_err(err)?.or(file.name);
    let env_no_notify = src.env.get(NO_NOTIFY_ENV).is_some_and(|v| atoi_positive(v));
    let give_up = match m.opt_strs("notify-give-up").pop() {
        Some(v) => parse_give_up(&v).map_err(|e| err(format!("--notify-give-up: {e}")))?,
        None => file.give_up.unwrap_or_else(|| Schedule::seed().give_up()),
    };
    let notify_schedule = match m.opt_strs("notify-schedule").pop() {
        Some(v) => {
            Schedule::parse(&v, give_up).map_err(|e| err(format!("--notify-schedule: {e}")))?
        }
        None => file
            .schedule
            .unwrap_or_else(Schedule::seed)
            .with_give_up(give_up),
    };
    let notify_window = match m.opt_strs("notify-window").pop() {
        Some(v) => parse_window(&v).map_err(|e| err(format!("--notify-window: {e}")))?,
        None => file.window.unwrap_or(DEFAULT_NOTIFY_WINDOW),
    };
    let max_connections = match m.opt_strs("max-connections").pop() {
        Some(v) => parse_connections(&v).map_err(|e| err(format!("--max-connections: {e}")))?,
        None => file.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
    };
    let idle_timeout = match m.opt_strs("idle-timeout").pop() {
        Some(v) => parse_idle(&v).map_err(|e| err(format!("--idle-timeout: {e}")))?,
        None => file.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT),
    };
    let max_record = match m.opt_strs("max-record-size").pop() {
        Some(v) => parse_record(&v).map_err(|e| err(format!("--max-record-size: {e}")))?,
        None => file
            .max_record
            .unwrap_or(crate::service::endpoint::MAX_RECORD),
    };
    let tcp = cli::port(&m, "nlm-port")
        .map_err(|e| err(format!("--nlm-port: {e}")))?
        .or(file.nlm_tcp);
    let udp = cli::port(&m, "nlm-udp-port")
        .map_err(|e| err(format!("--nlm-udp-port: {e}")))?
        .or(file.nlm_udp)
        .or(tcp);
    let nlm_ports = NlmPorts { tcp, udp };
    let foreground = asked.has("F");
    // nfs-utils' -d counts only in the foreground (it never logs to a
    // console in daemon mode).
    let stderr_debug = asked.no_syslog() && foreground;
    let log_stderr = match dialect {
        Dialect::Seed => foreground,
        Dialect::NfsUtils => stderr_debug,
    };
    let verbosity = if asked.has("debug") || stderr_debug || file.debug {
        DEBUG_VERBOSITY
    } else {
        0
    };
    let admin = admin_op(&asked).map_err(err)?;
    if admin.is_some() && asked.notify_only() {
        let (names, _) = asked.admin_names();
        return Err(err(format!(
            "{} cannot be combined with {}",
            asked.notify_only_name(),
            names.replace(" and ", " or ")
        )));
    }
    if let Some(op) = admin {
        return Ok(Command::Admin(Admin {
            op,
            state_dir,
            store,
            // A listing has no log: nfs-utils' -d asks for detail too.
            verbosity: if asked.no_syslog() {
                DEBUG_VERBOSITY
            } else {
                verbosity
            },
        }));
    }
    Ok(Command::Run(Config {
        foreground,
        log_stderr,
        verbosity,
        port,
        outgoing_port,
        state_dir,
        name,
        no_notify: m.opt_present("no-notify") || file.no_notify || env_no_notify,
        ha_callout,
        store,
        embedded_portmap: !m.opt_present("no-embedded-portmap"),
        notify_only: asked.notify_only(),
        nlm_ports,
        notify_schedule,
        notify_window,
        max_connections,
        idle_timeout,
        max_record,
        conf_warnings,
    }))
}

/// The administration command the flags ask for; more than one is an error.
fn admin_op(asked: &Asked<'_>) -> Result<Option<AdminOp>, String> {
    let hosts = asked.m.opt_strs("forget");
    let (list, watch) = (asked.has("list"), asked.has("watch"));
    let given = usize::from(list) + usize::from(watch) + hosts.len();
    if given > 1 {
        let (names, forget) = asked.admin_names();
        return Err(format!(
            "{names} exclude each other (and {forget} takes one host)"
        ));
    }
    if list {
        return Ok(Some(AdminOp::List));
    }
    if watch {
        return Ok(Some(AdminOp::Watch));
    }
    match hosts.into_iter().next() {
        Some(h) if h.is_empty() => Err("empty host name".into()),
        Some(h) => Ok(Some(AdminOp::Clear(h.into_bytes()))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statd::config::testutil::{args, config, config_with, run, sources, SEED};
    use std::time::Duration;

    #[test]
    fn flags_combine() {
        let c = config(&["-dF", "-p", "20024", "-P/tmp/x", "-o20025", "-H", "/bin/ha"]);
        assert!(c.foreground);
        assert_eq!(c.verbosity, 3);
        assert_eq!(c.port, Some(20024));
        assert_eq!(c.outgoing_port, Some(20025));
        assert_eq!(c.state_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.ha_callout, Some(PathBuf::from("/bin/ha")));
    }

    #[test]
    fn long_forms() {
        let c = config(&[
            "--debug",
            "--foreground",
            "--port=700",
            "--outgoing-port",
            "701",
            "--state-directory-path=/s",
            "--ha-callout=/h",
            "--name",
            "host.example",
            "--no-notify",
            "--store-format=apple",
            "--config=/dev/null",
            "--no-embedded-portmap",
            "--max-connections=64",
            "--idle-timeout=30s",
            "--max-record-size=4096",
        ]);
        let want = Config {
            foreground: true,
            log_stderr: true,
            verbosity: 3,
            port: Some(700),
            outgoing_port: Some(701),
            state_dir: PathBuf::from("/s"),
            name: Some("host.example".into()),
            no_notify: true,
            ha_callout: Some(PathBuf::from("/h")),
            store: StoreFormat::Apple,
            embedded_portmap: false,
            notify_only: false,
            nlm_ports: NlmPorts::default(),
            notify_schedule: Schedule::seed(),
            notify_window: DEFAULT_NOTIFY_WINDOW,
            max_connections: 64,
            idle_timeout: Duration::from_secs(30),
            max_record: 4096,
            conf_warnings: Vec::new(),
        };
        assert_eq!(c, want);
        for bad in [
            &["--max-connections=0"][..],
            &["--max-connections=x"],
            &["--idle-timeout=0"],
            &["--idle-timeout=9d"],
            &["--max-record-size=100"],
            &["--max-record-size=2000000"],
        ] {
            assert!(run(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(run(&["--help"]), Ok(Command::Help));
        assert_eq!(run(&["--version"]), Ok(Command::Version));
    }

    #[test]
    fn help_and_version() {
        assert_eq!(run(&["-h"]), Ok(Command::Help));
        assert_eq!(run(&["-?"]), Ok(Command::Help));
        assert_eq!(run(&["-V"]), Ok(Command::Version));
        assert_eq!(run(&["-p", "0", "-h"]), Ok(Command::Help));
    }

    #[test]
    fn later_flag_wins() {
        let c = config(&[
            "-p1",
            "-p2",
            "--name=a",
            "--name=b",
            "--store-format=apple",
            "--store-format=nfs-utils",
        ]);
        assert_eq!(c.port, Some(2));
        assert_eq!(c.name.as_deref(), Some("b"));
        assert_eq!(c.store, StoreFormat::NfsUtils);
    }

    #[test]
    fn bad_input_is_an_error() {
        for bad in [
            &["-x"][..],
            &["-p", "70000"],
            &["-p", "0"],
            &["-p", "port"],
            &["-o", "0"],
            &["-o", "65536"],
            &["-o"],
            &["stray"],
            &["-P", ""],
            &["-H", ""],
            &["--name="],
            &["--config="],
            &["--store-format=bsd"],
            &["--store-format"],
            &["--no-notify=1"],
        ] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            run(&["--store-format", "x"]),
            Err("rpc.statd: unknown store format 'x' (nfs-utils or apple)".into())
        );
    }

    #[test]
    fn admin_follows_the_config_file() {
        let conf = "[statd]\nstate-directory-path = /file\nstore-format = apple\ndebug = 1\n";
        match parse("rpc.statd", SEED, &args(&["-l"]), &sources(conf, &[])) {
            Ok(Command::Admin(a)) => {
                assert_eq!(a.state_dir, PathBuf::from("/file"));
                assert_eq!((a.store, a.verbosity), (StoreFormat::Apple, 3));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn admin_modes_exclude_each_other_and_n() {
        for bad in [
            &["-l", "-L"][..],
            &["-l", "-N", "x"],
            &["-L", "-N", "x"],
            &["-N", "x", "-N", "y"],
            &["-n", "-l"],
            &["-n", "-L"],
            &["-n", "-N", "x"],
            &["-N", ""],
            &["-N"],
            &["-l", "stray"],
            &["-l", "-p", "0"],
        ] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            run(&["-l", "-N", "x"]),
            Err("rpc.statd: -l, -L and -N exclude each other (and -N takes one host)".into())
        );
        assert_eq!(run(&["-l", "-h"]), Ok(Command::Help));
    }

    #[test]
    fn notify_schedule_give_up_and_window() {
        let c = config(&[]);
        assert_eq!(c.notify_schedule, Schedule::seed());
        assert_eq!(c.notify_window, 1024);
        let c = config(&["--notify-schedule", "3x1s,*x10s"]);
        assert_eq!(
            c.notify_schedule,
            Schedule::parse("3x1s,*x10s", Some(Duration::from_secs(86_400))).unwrap()
        );
        let c = config(&["--notify-give-up=never"]);
        assert_eq!(c.notify_schedule, Schedule::seed().with_give_up(None));
        let c = config(&["--notify-give-up=2h", "--notify-schedule=*x5m"]);
        assert_eq!(
            c.notify_schedule,
            Schedule::parse("*x5m", Some(Duration::from_secs(7200))).unwrap()
        );
        assert_eq!(config(&["--notify-window=1"]).notify_window, 1);
        assert_eq!(config(&["--notify-window", "65536"]).notify_window, 65536);
        for bad in [
            &["--notify-window=0"][..],
            &["--notify-window=65537"],
            &["--notify-window=x"],
            &["--notify-give-up=0"],
            &["--notify-give-up=soon"],
            &["--notify-schedule=5"],
            &["--notify-schedule=*x5s,1x5s"],
        ] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn equal_ports_are_refused_wherever_they_come_from() {
        let e = run(&["-p", "662", "-o", "662"]).unwrap_err();
        assert_eq!(
            e,
            "rpc.statd: listening and outgoing ports cannot be the same (662)"
        );
        let both = "[statd]\nport = 662\noutgoing-port = 662\n";
        let flag_and_file = "[statd]\noutgoing-port = 662\n";
        for (v, conf) in [(&[][..], both), (&["-p", "662"], flag_and_file)] {
            assert!(parse("rpc.statd", SEED, &args(v), &sources(conf, &[])).is_err());
        }
        let c = config_with(&["-o", "663"], both, &[]);
        assert_eq!((c.port, c.outgoing_port), (Some(662), Some(663)));
    }

    #[test]
    fn no_notify_from_env_conf_or_flag() {
        for (v, conf, env, want) in [
            (&[][..], "", &[][..], false),
            (&["--no-notify"], "", &[], true),
            (&[], "[statd]\nno-notify = 1\n", &[], true),
            (&[], "[statd]\nno-notify = off\n", &[], false),
            (&[], "", &[("RPC_STATD_NO_NOTIFY", "1")], true),
            (
                &[],
                "[statd]\nno-notify = no\n",
                &[("RPC_STATD_NO_NOTIFY", "1")],
                true,
            ),
            (&[], "", &[("RPC_STATD_NO_NOTIFY", "0")], false),
            (&[], "", &[("RPC_STATD_NO_NOTIFY", "")], false),
            (&[], "", &[("RPC_STATD_NO_NOTIFY", "yes")], false),
        ] {
            assert_eq!(
                config_with(v, conf, env).no_notify,
                want,
                "{v:?} {conf:?} {env:?}"
            );
        }
    }
}
