//! rpc.statd's configuration: the command line in one of two dialects, the
//! `[statd]` and `[lockd]` sections of `/etc/nfs.conf`, and the
//! environment. A flag beats the file; the file beats the default.
//!
//! The two dialects ([`Dialect`]) give some letters different meanings:
//!
//! | letter | nfs-utils (default on Linux) | seed (default on macOS, BSD) |
//! |---|---|---|
//! | `-d` | `--no-syslog`: with `-F`, log to stderr at the debug level | `--debug`: log at the maximum level |
//! | `-F` | foreground, log to syslog (stderr with `-d`) | foreground, log to stderr |
//! | `-n name` / `-n` | `--name name` | `--notify-only`: notify, then exit |
//! | `-L` | `--no-notify` | `--watch`: list the store, then watch it |
//! | `-N` / `-N host` | `--notify-mode`: notify (as sm-notify), then exit | `--forget host`: clear its needs-notification status |
//! | `-l` | (none) | `--list` |
//! | `-T`, `-U`, `-v` | `--nlm-port`, `--nlm-udp-port`, `--version` | (none) |
//!
//! Every long option exists in both dialects with one meaning (`--list`,
//! `--watch`, `--forget HOST`, `--notify-only`, `--name`, `--no-notify`,
//! `--nlm-port`, ...), except `--no-syslog` and `--notify-mode`, which are
//! nfs-utils' only. The dialect is chosen by [`select_dialect`]:
//! `--dialect=seed|nfs-utils` as the first argument, else
//! [`DIALECT_ENV`], else the platform's ([`Dialect::platform`]). The store
//! commands (`--list`, `--watch`, `--forget`) never start a daemon
//! ([`Command::Admin`]).
//!
//! Reading is split so that [`parse`] stays pure:
//!
//! 1. [`select_dialect`] takes the dialect off the arguments;
//! 2. [`conf_source`] looks at the arguments for `--config FILE`;
//! 3. [`Sources::load`] reads that configuration and the environment (the
//!    only I/O here besides [`check_state_dir`]);
//! 4. [`parse`] combines the arguments with the [`Sources`].
//!
//! Bad values on the command line are errors (the caller prints the message
//! and one [`cli::hint`] line, and exits 1). Bad values in the file are
//! warnings in [`Config::conf_warnings`] and the key is ignored, as if unset
//! (nfs-utils reads numbers with `atoi` and keeps going; we do not guess);
//! so are keys of `[statd]` and `[lockd]` that neither nfs-utils nor we
//! know. One exception, as in nfs-utils: equal listening and outgoing ports
//! are an error wherever they come from.

pub mod sm_notify;

use crate::daemon::args::{self as cli, Arg, Opt};
use crate::daemon::nfsconf::{self, ConfWarning, NfsConf};
use crate::statd::glue::kernel::NlmPorts;
use crate::statd::notify::schedule::{self, Schedule};
use crate::statd::store::StoreFormat;
use getopts::Matches;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The nfs.conf section rpc.statd reads.
pub const CONF_SECTION: &str = "statd";

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

/// Set to a number > 0, it means `--no-notify` (as in nfs-utils).
pub const NO_NOTIFY_ENV: &str = "RPC_STATD_NO_NOTIFY";

/// `seed` or `nfs-utils`: the dialect, unless `--dialect` says otherwise.
pub const DIALECT_ENV: &str = "STATMON_DIALECT";

/// Peers notified concurrently unless configured.
pub const DEFAULT_NOTIFY_WINDOW: usize = 1024;

/// Largest `--notify-window`.
pub const MAX_NOTIFY_WINDOW: usize = 65536;

/// Which meanings the command line's letters have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// nfs-utils 2.6's rpc.statd(8): what Linux unit files and scripts pass.
    NfsUtils,
    /// The seed man page's rpc.statd(8) (macOS): `-d -n -l -L -N host`.
    Seed,
}

impl Dialect {
    /// The platform's dialect: the seed on macOS and the BSDs, nfs-utils
    /// elsewhere.
    pub fn platform() -> Dialect {
        if cfg!(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        )) {
            Dialect::Seed
        } else {
            Dialect::NfsUtils
        }
    }

    /// `seed` or `nfs-utils` (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<Dialect> {
        if name.eq_ignore_ascii_case("nfs-utils") {
            Some(Dialect::NfsUtils)
        } else if name.eq_ignore_ascii_case("seed") {
            Some(Dialect::Seed)
        } else {
            None
        }
    }

    /// The name [`Dialect::from_name`] takes.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::NfsUtils => "nfs-utils",
            Dialect::Seed => "seed",
        }
    }

    fn other(self) -> Dialect {
        match self {
            Dialect::NfsUtils => Dialect::Seed,
            Dialect::Seed => Dialect::NfsUtils,
        }
    }

    /// The letters only this dialect has, or that mean something else in
    /// the other.
    fn letters(self) -> &'static [Opt] {
        match self {
            Dialect::NfsUtils => NFS_UTILS_LETTERS,
            Dialect::Seed => SEED_LETTERS,
        }
    }

    /// The long options of the other dialect's letters that this one
    /// takes in long form only.
    fn long_only(self) -> &'static [Opt] {
        match self {
            Dialect::NfsUtils => NFS_UTILS_LONG,
            Dialect::Seed => SEED_LONG,
        }
    }

    /// Every option of this dialect: the usage text follows this order.
    pub fn options(self) -> Vec<Opt> {
        let mut all = self.letters().to_vec();
        all.extend_from_slice(SHARED);
        all.extend_from_slice(self.long_only());
        all
    }

    fn synopsis(self) -> &'static str {
        match self {
            Dialect::NfsUtils => NFS_UTILS_SYNOPSIS,
            Dialect::Seed => SEED_SYNOPSIS,
        }
    }
}

const fn flag(short: &'static str, long: &'static str, help: &'static str) -> Opt {
    Opt {
        short,
        long,
        arg: Arg::None,
        help,
    }
}

const fn with_arg(
    short: &'static str,
    long: &'static str,
    hint: &'static str,
    help: &'static str,
) -> Opt {
    Opt {
        short,
        long,
        arg: Arg::Required(hint),
        help,
    }
}

/// The seed's letters (and the long names of their functions).
const SEED_LETTERS: &[Opt] = &[
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
    flag("h", "help", "print this help and exit"),
    flag("?", "", "same as -h"),
];

/// nfs-utils' letters, with nfs-utils' long names.
const NFS_UTILS_LETTERS: &[Opt] = &[
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
    flag("h", "help", "print this help and exit"),
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

/// Options with one meaning in both dialects.
const SHARED: &[Opt] = &[
    with_arg("p", "port", "PORT", "listen on PORT (udp, tcp, udp6, tcp6)"),
    with_arg(
        "o",
        "outgoing-port",
        "PORT",
        "send reboot notifications from source PORT",
    ),
    with_arg(
        "P",
        "state-directory-path",
        "DIR",
        "state directory (default /var/lib/nfs; apple: /var/db)",
    ),
    with_arg(
        "H",
        "ha-callout",
        "PROG",
        "run PROG on every monitor change and reboot notice",
    ),
    with_arg(
        "",
        "store-format",
        "FORMAT",
        "nfs-utils (default) or apple (DIR/statd.status)",
    ),
    with_arg(
        "",
        "config",
        "FILE",
        "read FILE, not /etc/nfs.conf and /etc/nfs.conf.d",
    ),
    flag(
        "",
        "no-embedded-portmap",
        "never serve a portmapper of our own",
    ),
    with_arg(
        "",
        "notify-schedule",
        "SPEC",
        "reboot notification retries (default 10x5s,10x60s,*x1h)",
    ),
    with_arg(
        "",
        "notify-give-up",
        "TIME",
        "stop notifying a host after TIME (default 24h; never)",
    ),
    with_arg(
        "",
        "notify-window",
        "N",
        "notify at most N hosts at once (default 1024)",
    ),
    with_arg(
        "",
        "max-connections",
        "N",
        "keep at most N TCP connections per listener (default 1024)",
    ),
    with_arg(
        "",
        "max-record-size",
        "BYTES",
        "refuse TCP records longer than BYTES (default 9000)",
    ),
    with_arg(
        "",
        "idle-timeout",
        "TIME",
        "close TCP connections idle for TIME (default 5m)",
    ),
];

/// In the seed dialect: nfs-utils' functions, long form only.
const SEED_LONG: &[Opt] = &[
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

/// In the nfs-utils dialect: the seed's functions, long form only.
const NFS_UTILS_LONG: &[Opt] = &[
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

const SHARED_SYNOPSIS: &str = "[--store-format nfs-utils|apple] [--config file]\n       \
    [--no-embedded-portmap] [--notify-schedule spec]\n       \
    [--notify-give-up time|never] [--notify-window n]\n       \
    [--max-connections n] [--max-record-size bytes] [--idle-timeout time]";

const SEED_SYNOPSIS: &str = "[-dFn] [-p port] [-o port] [-P dir] [-H prog] [--name name]\n       \
    [--no-notify] [--nlm-port port] [--nlm-udp-port port]\n       \
    SHARED\n       \
    rpc.statd [-d] [-P dir] [--store-format format] -l | -L | -N hostname";

const NFS_UTILS_SYNOPSIS: &str =
    "[-dFhLNvV?] [-H prog] [-n name] [-o port] [-p port] [-P dir]\n       \
    [-T port] [-U port] [--debug] [--notify-only]\n       \
    SHARED\n       \
    rpc.statd [--debug] [-P dir] [--store-format format]\n       \
    --list | --watch | --forget hostname";

/// Takes the dialect off the front of `args`: `--dialect=NAME` or
/// `--dialect NAME` as the first argument, else `env` (the value of
/// [`DIALECT_ENV`]; empty counts as unset), else [`Dialect::platform`].
/// Returns it with the arguments that follow. `--dialect` anywhere else,
/// or an unknown name, is an error (a message to print).
pub fn select_dialect<'a>(
    prog: &str,
    args: &'a [OsString],
    env: Option<&str>,
) -> Result<(Dialect, &'a [OsString]), String> {
    let known = |name: &str, from: &str| {
        Dialect::from_name(name)
            .ok_or_else(|| format!("{prog}: {from}: unknown dialect '{name}' (seed or nfs-utils)"))
    };
    let first = args.first().map(|a| a.to_string_lossy());
    let (dialect, rest) = match first.as_deref() {
        Some("--dialect") => match args.get(1) {
            Some(name) => (known(&name.to_string_lossy(), "--dialect")?, &args[2..]),
            None => return Err(format!("{prog}: option '--dialect' requires an argument")),
        },
        Some(a) if a.starts_with("--dialect=") => {
            (known(&a["--dialect=".len()..], "--dialect")?, &args[1..])
        }
        _ => match env.filter(|v| !v.is_empty()) {
            Some(v) => (known(v, DIALECT_ENV)?, args),
            None => (Dialect::platform(), args),
        },
    };
    let later = rest.iter().take_while(|a| *a != "--").any(|a| {
        let a = a.to_string_lossy();
        a == "--dialect" || a.starts_with("--dialect=")
    });
    if later {
        return Err(format!("{prog}: --dialect must be the first argument"));
    }
    Ok((dialect, rest))
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the daemon.
    Run(Config),
    /// `--list`, `--watch`, `--forget host` (the seed's `-l`, `-L`,
    /// `-N host`): look at or change the store, no daemon.
    Admin(Admin),
    /// Print the version.
    Version,
    /// Print the help.
    Help,
}

/// An administration command (`--list`, `--watch`, `--forget`) and the
/// store it works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// What to do.
    pub op: AdminOp,
    /// The state directory, as the daemon would use it.
    pub state_dir: PathBuf,
    /// The store's layout, as the daemon would use it.
    pub store: StoreFormat,
    /// 3 with `--debug` (the seed's `-d`; nfs-utils' `-d` too) or `debug`
    /// in nfs.conf: more detail; else 0.
    pub verbosity: u32,
}

/// The administration commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOp {
    /// `--list`: list each host and its status.
    List,
    /// `--watch`: list, then report changes until killed.
    Watch,
    /// `--forget host`: clear the host's needs-notification status.
    Clear(Vec<u8>),
}

/// Daemon settings: command line over `[statd]` in nfs.conf over defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `-F`: do not daemonize.
    pub foreground: bool,
    /// Log to stderr instead of syslog; only ever set with `foreground`
    /// (seed: `-F`; nfs-utils: `-F -d`).
    pub log_stderr: bool,
    /// Man-page verbosity (0 = warnings; 3, the maximum, for `--debug`
    /// (the seed's `-d`), nfs-utils' `-F -d`, or a non-zero `debug` in
    /// nfs.conf).
    pub verbosity: u32,
    /// `-p`, `port`: the listening port for all four transports; `None` =
    /// any free port.
    pub port: Option<u16>,
    /// `-o`, `outgoing-port`: the source port of outbound SM_NOTIFY; `None`
    /// = a reserved port chosen at send time. Never equal to `port`.
    pub outgoing_port: Option<u16>,
    /// `-P`, `state-directory-path`: the state directory; by default
    /// [`StoreFormat::default_state_dir`].
    pub state_dir: PathBuf,
    /// `--name` (nfs-utils' `-n`), `name`: this host's identity (name or address) in reboot
    /// notifications; `None` = the node name. Never empty.
    pub name: Option<String>,
    /// `--no-notify` (nfs-utils' `-L`), `no-notify`, or
    /// `RPC_STATD_NO_NOTIFY` > 0: do not notify peers at start.
    pub no_notify: bool,
    /// `-H`, `ha-callout`: the program told of monitor changes and reboot
    /// notices. Never empty.
    pub ha_callout: Option<PathBuf>,
    /// `--store-format`, `store-format`: the store's on-disk layout.
    pub store: StoreFormat,
    /// Serve an embedded portmapper when no rpcbind answers.
    pub embedded_portmap: bool,
    /// `--notify-only` (the seed's `-n`, nfs-utils' `-N`): run only the
    /// notification service (the seed's statd.notify, nfs-utils'
    /// sm-notify), then exit.
    pub notify_only: bool,
    /// `--nlm-port`, `--nlm-udp-port` (nfs-utils' `-T`, `-U`), nfs.conf
    /// `[lockd] port`, `udp-port`: lockd's ports, written to the kernel at
    /// start. The UDP port follows the TCP one unless set itself.
    pub nlm_ports: NlmPorts,
    /// `--notify-schedule`, `--notify-give-up` (and nfs.conf's
    /// `notify-schedule`, `notify-give-up`): when to retry a host.
    pub notify_schedule: Schedule,
    /// `--max-connections`, `max-connections`: TCP connections kept per
    /// listener (1 to [`MAX_CONNECTIONS`]).
    pub max_connections: usize,
    /// `--idle-timeout`, `idle-timeout`: an idle TCP connection is closed
    /// after this long.
    pub idle_timeout: Duration,
    /// `--max-record-size`, `max-record-size`: longest TCP record taken
    /// (512 to [`MAX_RECORD_LIMIT`]).
    pub max_record: usize,
    /// `--notify-window`, `notify-window`: hosts notified concurrently,
    /// 1..=[`MAX_NOTIFY_WINDOW`].
    pub notify_window: usize,
    /// Problems found in the configuration files, to log once logging is up.
    pub conf_warnings: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            foreground: false,
            log_stderr: false,
            verbosity: 0,
            port: None,
            outgoing_port: None,
            state_dir: StoreFormat::NfsUtils.default_state_dir(),
            name: None,
            no_notify: false,
            ha_callout: None,
            store: StoreFormat::NfsUtils,
            embedded_portmap: true,
            notify_only: false,
            nlm_ports: NlmPorts::default(),
            notify_schedule: Schedule::seed(),
            notify_window: DEFAULT_NOTIFY_WINDOW,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_record: crate::service::endpoint::MAX_RECORD,
            conf_warnings: Vec::new(),
        }
    }
}

impl Config {
    /// The Apple layout's status file, `<state_dir>/statd.status`
    /// (`/var/db/statd.status` by default).
    pub fn status_file(&self) -> PathBuf {
        self.state_dir.join(crate::statd::store::APPLE_STATUS_FILE)
    }
}

/// Which configuration files to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfSource {
    /// nfs-utils' files: `/etc/nfs.conf` and `/etc/nfs.conf.d/*.conf`
    /// (see [`nfsconf::load_system`]); none needs to exist.
    System,
    /// `--config FILE`: only that file (it must exist), no `.d` directory.
    File(PathBuf),
}

/// Everything besides the arguments that [`parse`] combines them with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// The environment: [`NO_NOTIFY_ENV`] and the targets of `$NAME` values.
    pub env: BTreeMap<String, String>,
    /// The configuration files' assignments.
    pub conf: NfsConf,
    /// What was wrong in the files (unreadable includes, bad lines).
    pub conf_warnings: Vec<ConfWarning>,
}

impl Sources {
    /// Reads the process environment and the configuration `src` names.
    /// This is the module's only I/O. An error is a message to print.
    pub fn load(prog: &str, src: &ConfSource) -> Result<Sources, String> {
        let loaded = match src {
            ConfSource::System => nfsconf::load_system(Path::new(nfsconf::SYSTEM_FILE)),
            ConfSource::File(f) => nfsconf::load_files(f, None),
        };
        let (conf, conf_warnings) = loaded.map_err(|e| format!("{prog}: config file: {e}"))?;
        let env = std::env::vars_os()
            .map(|(k, v)| (lossy(k), lossy(v)))
            .collect();
        Ok(Sources {
            env,
            conf,
            conf_warnings,
        })
    }
}

fn lossy(s: OsString) -> String {
    s.to_string_lossy().into_owned()
}

/// Refuses a state directory that exists but is not a directory, naming
/// it (a missing one is left for the daemon or the store to report, with
/// what it was doing). A message to print on error.
pub fn check_state_dir(prog: &str, dir: &Path) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Err(format!(
            "{prog}: state directory {}: not a directory",
            dir.display()
        )),
        _ => Ok(()),
    }
}

/// The configuration the arguments ask for: [`ConfSource::File`] for the
/// last `--config FILE`, else [`ConfSource::System`] (also when the
/// arguments are bad: [`parse`] reports that).
pub fn conf_source(prog: &str, dialect: Dialect, args: &[OsString]) -> ConfSource {
    match cli::parse(prog, &dialect.options(), args) {
        Ok(m) => match m.opt_strs("config").pop() {
            Some(f) if !f.is_empty() => ConfSource::File(PathBuf::from(f)),
            _ => ConfSource::System,
        },
        Err(_) => ConfSource::System,
    }
}

/// The help text of `dialect`: its synopsis and options, then which
/// dialect this is, how to choose the other, and what the other's letters
/// mean.
pub fn usage(prog: &str, dialect: Dialect) -> String {
    let synopsis = dialect.synopsis().replace("SHARED", SHARED_SYNOPSIS);
    let mut out = cli::usage(prog, &synopsis, &dialect.options());
    let platform = Dialect::platform();
    let other = dialect.other();
    out.push_str(&format!(
        "\nDialect: {} ({}).\n\
         Choose with --dialect=seed|nfs-utils as the first argument,\n\
         or {DIALECT_ENV}=seed|nfs-utils in the environment.\n\
         In the {} dialect, these letters mean (the long forms, but\n\
         --no-syslog and --notify-mode, work in both):\n",
        dialect.name(),
        if dialect == platform {
            "the default here".to_string()
        } else {
            format!("the default here is {}", platform.name())
        },
        other.name(),
    ));
    out.push_str(&cli::options_text(other.letters()));
    out
}

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
    if let Some(extra) = m.free.first() {
        return Err(format!("{prog}: unexpected argument '{extra}'"));
    }
    let err = |e: String| format!("{prog}: {e}");
    nonempty(&m, "config", "config file path").map_err(err)?;

    let mut conf_warnings: Vec<String> = src.conf_warnings.iter().map(|w| w.to_string()).collect();
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
    let state_dir = match nonempty(&m, "P", "state directory path").map_err(err)? {
        Some(dir) => PathBuf::from(dir),
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
        3
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
            verbosity: if asked.no_syslog() { 3 } else { verbosity },
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

/// `never`, or a duration ([`schedule::parse_duration`]) above zero.
fn parse_give_up(text: &str) -> Result<Option<Duration>, String> {
    if text.trim().eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    match schedule::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be above 0 (or never)".into()),
        Ok(d) => Ok(Some(d)),
        Err(e) => Err(e.to_string()),
    }
}

/// A number in 1..=[`MAX_NOTIFY_WINDOW`].
/// Default `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Largest `--max-connections`.
pub const MAX_CONNECTIONS: usize = 1 << 20;

/// Default `--idle-timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

fn parse_connections(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONNECTIONS).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{}' is not a number from 1 to {MAX_CONNECTIONS}",
            text.escape_debug()
        )),
    }
}

/// Largest `--max-record-size`.
pub const MAX_RECORD_LIMIT: usize = 1 << 20;

fn parse_record(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (512..=MAX_RECORD_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{}' is not a number from 512 to {MAX_RECORD_LIMIT}",
            text.escape_debug()
        )),
    }
}

fn parse_idle(text: &str) -> Result<Duration, String> {
    match crate::statd::notify::schedule::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be above 0".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_window(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_NOTIFY_WINDOW).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{}' is not a number from 1 to {MAX_NOTIFY_WINDOW}",
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

/// C `atoi(s) > 0`: blanks, an optional sign, then the digits up to the
/// first non-digit. A number too big for an `int` counts as positive (glibc
/// would truncate it).
fn atoi_positive(s: &str) -> bool {
    let s = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    !negative
        && digits
            .bytes()
            .take_while(u8::is_ascii_digit)
            .any(|d| d != b'0')
}

/// The `[statd]` settings that passed their checks.
#[derive(Debug, Default)]
struct FromFile {
    port: Option<u16>,
    outgoing_port: Option<u16>,
    name: Option<String>,
    state_dir: Option<PathBuf>,
    ha_callout: Option<PathBuf>,
    no_notify: bool,
    store: Option<StoreFormat>,
    debug: bool,
    schedule: Option<Schedule>,
    give_up: Option<Option<Duration>>,
    window: Option<usize>,
    max_connections: Option<usize>,
    idle_timeout: Option<Duration>,
    max_record: Option<usize>,
    nlm_tcp: Option<u16>,
    nlm_udp: Option<u16>,
}

impl FromFile {
    /// Reads `[statd]` and `[lockd]`; each bad value is a warning and is
    /// left unset, and so is each unknown key.
    fn read(src: &Sources, warnings: &mut Vec<String>) -> FromFile {
        let env = |name: &str| src.env.get(name).cloned();
        let get = |key: &str| src.conf.get_expanded(CONF_SECTION, key, &env);
        let unknown: Vec<String> = [(CONF_SECTION, STATD_KEYS), (LOCKD_SECTION, LOCKD_KEYS)]
            .iter()
            .flat_map(|(section, known)| src.conf.unknown_keys(section, known))
            .map(|w| w.to_string())
            .collect();
        let mut bad_in = |section: &str, key: &str, value: &str, why: &str| {
            warnings.push(format!(
                "nfs.conf [{section}] {key} = '{value}': {why}, ignored"
            ));
        };
        let mut port = |section: &str, key: &str| {
            let value = src.conf.get_expanded(section, key, &env)?;
            match value.parse::<u16>() {
                Ok(0) => None,
                Ok(p) => Some(p),
                Err(_) => {
                    bad_in(section, key, &value, "not a port number");
                    None
                }
            }
        };
        let ports = (
            port(CONF_SECTION, "port"),
            port(CONF_SECTION, "outgoing-port"),
            port(LOCKD_SECTION, "port"),
            port(LOCKD_SECTION, "udp-port"),
        );
        let mut bad = |key: &str, value: &str, why: &str| bad_in(CONF_SECTION, key, value, why);
        let mut f = FromFile {
            port: ports.0,
            outgoing_port: ports.1,
            nlm_tcp: ports.2,
            nlm_udp: ports.3,
            name: get("name"),
            state_dir: get("state-directory-path").map(PathBuf::from),
            ha_callout: get("ha-callout").map(PathBuf::from),
            ..FromFile::default()
        };
        if let Some(v) = get("no-notify") {
            match nfsconf::parse_bool(&v) {
                Some(b) => f.no_notify = b,
                None => bad("no-notify", &v, "not a boolean"),
            }
        }
        if let Some(v) = get("store-format") {
            f.store = StoreFormat::from_name(&v);
            if f.store.is_none() {
                bad("store-format", &v, "not nfs-utils or apple");
            }
        }
        if let Some(v) = get("debug") {
            f.debug = debug_list(&v, &mut |kind| bad("debug", kind, "unknown debug facility"));
        }
        if let Some(v) = get("notify-give-up") {
            match parse_give_up(&v) {
                Ok(g) => f.give_up = Some(g),
                Err(e) => bad("notify-give-up", &v, &e),
            }
        }
        if let Some(v) = get("notify-schedule") {
            // The give-up time is set by the caller.
            match Schedule::parse(&v, None) {
                Ok(s) => f.schedule = Some(s),
                Err(e) => bad("notify-schedule", &v, &e.to_string()),
            }
        }
        if let Some(v) = get("notify-window") {
            match parse_window(&v) {
                Ok(n) => f.window = Some(n),
                Err(e) => bad("notify-window", &v, &e),
            }
        }
        if let Some(v) = get("max-connections") {
            match parse_connections(&v) {
                Ok(n) => f.max_connections = Some(n),
                Err(e) => bad("max-connections", &v, &e),
            }
        }
        if let Some(v) = get("max-record-size") {
            match parse_record(&v) {
                Ok(n) => f.max_record = Some(n),
                Err(e) => bad("max-record-size", &v, &e),
            }
        }
        if let Some(v) = get("idle-timeout") {
            match parse_idle(&v) {
                Ok(d) => f.idle_timeout = Some(d),
                Err(e) => bad("idle-timeout", &v, &e),
            }
        }
        warnings.extend(unknown);
        f
    }
}

/// An nfs.conf `debug` value (comma-separated facilities): whether it turns
/// debugging on; each unknown facility is passed to `unknown`.
pub(crate) fn debug_list(value: &str, unknown: &mut dyn FnMut(&str)) -> bool {
    let mut on = false;
    for kind in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        match debug_facility(kind) {
            Some(b) => on |= b,
            None => unknown(kind),
        }
    }
    on
}

/// nfs-utils' debug facilities: whether `kind` turns debugging on (all but
/// `0` do; we have one debug level), `None` if unknown.
fn debug_facility(kind: &str) -> Option<bool> {
    const ON: &[&str] = &["general", "call", "auth", "parse", "all", "1"];
    if kind == "0" {
        Some(false)
    } else if ON.iter().any(|k| k.eq_ignore_ascii_case(kind)) {
        Some(true)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn sources(conf: &str, env: &[(&str, &str)]) -> Sources {
        let (conf, conf_warnings) = NfsConf::parse(conf);
        Sources {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            conf,
            conf_warnings,
        }
    }

    const SEED: Dialect = Dialect::Seed;
    const NFS: Dialect = Dialect::NfsUtils;

    fn run_in(d: Dialect, v: &[&str]) -> Result<Command, String> {
        parse("rpc.statd", d, &args(v), &Sources::default())
    }

    /// The seed dialect, explicitly: most older tests use its letters.
    fn run(v: &[&str]) -> Result<Command, String> {
        run_in(SEED, v)
    }

    fn config_in(d: Dialect, v: &[&str], conf: &str, env: &[(&str, &str)]) -> Config {
        match parse("rpc.statd", d, &args(v), &sources(conf, env)) {
            Ok(Command::Run(c)) => c,
            other => panic!("{d:?} {v:?}: {other:?}"),
        }
    }

    fn config_with(v: &[&str], conf: &str, env: &[(&str, &str)]) -> Config {
        config_in(SEED, v, conf, env)
    }

    fn config(v: &[&str]) -> Config {
        config_with(v, "", &[])
    }

    fn nfs(v: &[&str]) -> Config {
        config_in(NFS, v, "", &[])
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[]), Ok(Command::Run(Config::default())));
        let c = Config::default();
        assert_eq!(c.state_dir, PathBuf::from("/var/lib/nfs"));
        assert_eq!(c.store, StoreFormat::NfsUtils);
        assert!(!c.no_notify && c.embedded_portmap);
    }

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
    fn store_format_and_status_file() {
        let c = config(&["--store-format", "apple"]);
        assert_eq!(c.store, StoreFormat::Apple);
        assert_eq!(c.state_dir, PathBuf::from("/var/db"));
        assert_eq!(c.status_file(), PathBuf::from("/var/db/statd.status"));
        let c = config(&["--store-format=Apple", "-P", "/srv/st"]);
        assert_eq!(c.status_file(), PathBuf::from("/srv/st/statd.status"));
        let c = config(&["--store-format", "nfs-utils"]);
        assert_eq!(
            (c.store, c.state_dir),
            (StoreFormat::NfsUtils, "/var/lib/nfs".into())
        );
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

    fn admin(v: &[&str]) -> Admin {
        match run(v) {
            Ok(Command::Admin(a)) => a,
            other => panic!("{v:?}: {other:?}"),
        }
    }

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
    fn debug_list_reports_unknown_facilities() {
        let mut unknown = Vec::new();
        assert!(debug_list("call, loud,0", &mut |k| unknown.push(k.to_string())));
        assert_eq!(unknown, vec!["loud".to_string()]);
        assert!(!debug_list("0", &mut |_| {}));
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

    #[test]
    fn atoi_like_nfs_utils() {
        for yes in ["1", " 2", "+3", "007", "12abc", "99999999999"] {
            assert!(atoi_positive(yes), "{yes}");
        }
        for no in ["", "0", "-1", "000", "abc", "+", " -5", "0x10"] {
            assert!(!atoi_positive(no), "{no}");
        }
    }

    #[test]
    fn load_warnings_come_first() {
        let c = config_with(&[], "[statd]\nport = x\nbad\n", &[]);
        assert_eq!(c.conf_warnings.len(), 2, "{:?}", c.conf_warnings);
        assert!(c.conf_warnings[0].starts_with("line 3:"));
    }

    #[test]
    fn conf_source_follows_config_flag() {
        let src = |v: &[&str]| conf_source("rpc.statd", SEED, &args(v));
        assert_eq!(src(&[]), ConfSource::System);
        assert_eq!(src(&["--config", "/a"]), ConfSource::File("/a".into()));
        assert_eq!(
            src(&["--config=/a", "--config=/b"]),
            ConfSource::File("/b".into())
        );
        assert_eq!(
            src(&["-P", "--config"]),
            ConfSource::System,
            "-P's argument"
        );
        assert_eq!(src(&["--config="]), ConfSource::System);
        assert_eq!(
            src(&["--config=/a", "-z"]),
            ConfSource::System,
            "bad arguments"
        );
    }

    #[test]
    fn sources_load_reads_the_named_file() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("statd.conf");
        std::fs::write(&file, "[statd]\nport = 662\nnope\n").unwrap();
        std::fs::create_dir(tmp.path().join("statd.conf.d")).unwrap();
        std::fs::write(tmp.path().join("statd.conf.d/a.conf"), "[statd]\nport=1\n").unwrap();
        let s = Sources::load("rpc.statd", &ConfSource::File(file.clone())).unwrap();
        assert_eq!(s.conf.get("statd", "port"), Some("662"), "no .d directory");
        assert_eq!(s.conf_warnings.len(), 1);
        let missing = ConfSource::File(tmp.path().join("absent"));
        let e = Sources::load("rpc.statd", &missing).unwrap_err();
        assert!(e.starts_with("rpc.statd: config file: "), "{e}");
    }

    #[test]
    fn usage_names_every_option() {
        let u = usage("rpc.statd", SEED);
        for o in SEED.options() {
            assert!(u.contains(o.help), "{}", o.help);
        }
        assert!(u.contains("-o, --outgoing-port PORT"));
        assert!(u.contains("--store-format nfs-utils|apple"));
        assert!(u.contains("-N, --forget HOST"));
        assert!(u.contains("-l | -L | -N hostname"));
        let u = usage("rpc.statd", NFS);
        for o in NFS.options() {
            assert!(u.contains(o.help), "{}", o.help);
        }
        assert!(u.contains("-T, --nlm-port PORT"));
        assert!(u.contains("--list | --watch | --forget hostname"));
    }

    #[test]
    fn usage_shows_both_dialects_and_how_to_switch() {
        for d in [SEED, NFS] {
            let u = usage("rpc.statd", d);
            assert!(u.contains(&format!("Dialect: {}", d.name())), "{u}");
            assert!(u.contains("--dialect=seed|nfs-utils"), "{u}");
            assert!(u.contains("STATMON_DIALECT=seed|nfs-utils"), "{u}");
            assert!(u.contains(&format!("In the {} dialect", d.other().name())));
            // The other dialect's letters are listed too.
            for o in d.other().letters() {
                assert!(u.contains(o.help), "{d:?}: {}", o.help);
            }
        }
        assert!(usage("rpc.statd", Dialect::platform()).contains("(the default here)"));
        let other = Dialect::platform().other();
        assert!(usage("rpc.statd", other).contains("the default here is"));
    }

    fn pick(v: &[&str], env: Option<&str>) -> Result<(Dialect, Vec<String>), String> {
        let a = args(v);
        select_dialect("rpc.statd", &a, env).map(|(d, rest)| {
            (
                d,
                rest.iter()
                    .map(|s| s.to_string_lossy().into_owned())
                    .collect(),
            )
        })
    }

    #[test]
    fn dialect_by_flag_env_or_platform() {
        let plain = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            pick(&["--dialect=seed", "-l"], None),
            Ok((SEED, plain(&["-l"])))
        );
        assert_eq!(
            pick(&["--dialect", "nfs-utils", "-n", "x"], None),
            Ok((NFS, plain(&["-n", "x"])))
        );
        assert_eq!(pick(&["--dialect=Seed"], None), Ok((SEED, vec![])));
        assert_eq!(pick(&["-F"], Some("seed")), Ok((SEED, plain(&["-F"]))));
        assert_eq!(pick(&[], Some("nfs-utils")), Ok((NFS, vec![])));
        // The flag beats the environment; an empty variable is unset.
        assert_eq!(
            pick(&["--dialect=nfs-utils"], Some("seed")),
            Ok((NFS, vec![]))
        );
        assert_eq!(pick(&[], Some("")), Ok((Dialect::platform(), vec![])));
        assert_eq!(pick(&[], None), Ok((Dialect::platform(), vec![])));
        if cfg!(target_os = "linux") {
            assert_eq!(Dialect::platform(), NFS);
        }
        assert_eq!(
            pick(&["--dialect=bsd"], None),
            Err("rpc.statd: --dialect: unknown dialect 'bsd' (seed or nfs-utils)".into())
        );
        assert_eq!(
            pick(&[], Some("x")),
            Err("rpc.statd: STATMON_DIALECT: unknown dialect 'x' (seed or nfs-utils)".into())
        );
        assert_eq!(
            pick(&["--dialect"], None),
            Err("rpc.statd: option '--dialect' requires an argument".into())
        );
        assert_eq!(
            pick(&["-F", "--dialect=seed"], None),
            Err("rpc.statd: --dialect must be the first argument".into())
        );
        assert!(pick(&["--dialect=seed", "--dialect", "seed"], None).is_err());
        assert!(
            pick(&["-H", "--", "--dialect=seed"], None).is_ok(),
            "after --"
        );
    }

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

    #[test]
    fn a_state_directory_that_is_a_file_is_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("state");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(
            check_state_dir("rpc.statd", &file),
            Err(format!(
                "rpc.statd: state directory {}: not a directory",
                file.display()
            ))
        );
        assert_eq!(check_state_dir("rpc.statd", tmp.path()), Ok(()));
        assert_eq!(
            check_state_dir("rpc.statd", &tmp.path().join("absent")),
            Ok(())
        );
    }
}
