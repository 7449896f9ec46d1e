//! What rpc.statd's command line comes to ([`Command`]): the daemon's
//! settings ([`Config`]) with their defaults and limits, or a store command
//! ([`Admin`]).

use crate::statd::glue::kernel::NlmPorts;
use crate::statd::notify::schedule::Schedule;
use crate::statd::store::StoreFormat;
use std::path::PathBuf;
use std::time::Duration;

/// Peers notified concurrently unless configured.
pub const DEFAULT_NOTIFY_WINDOW: usize = 1024;

/// Largest `--notify-window`.
pub const MAX_NOTIFY_WINDOW: usize = 65536;

/// Default `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Largest `--max-connections`.
pub const MAX_CONNECTIONS: usize = 1 << 20;

/// Default `--idle-timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Largest `--max-record-size`.
pub const MAX_RECORD_LIMIT: usize = 1 << 20;

/// The verbosity that debugging asks for (rpc.statd's `--debug`, sm-notify's
/// `-d`, a `debug` facility in nfs.conf): the maximum; 0 is warnings only.
pub const DEBUG_VERBOSITY: u32 = 3;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statd::config::testutil::{config, run};

    #[test]
    fn defaults() {
        assert_eq!(run(&[]), Ok(Command::Run(Config::default())));
        let c = Config::default();
        assert_eq!(c.state_dir, PathBuf::from("/var/lib/nfs"));
        assert_eq!(c.store, StoreFormat::NfsUtils);
        assert!(!c.no_notify && c.embedded_portmap);
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
}
