//! What goes into and comes out of the reboot notifier
//! ([`super::notifier::Notifier`]), as plain values: its configuration, the
//! hosts it is given, the events it reports, where each host stands and its
//! counters. Re-exported from [`super::notifier`], their public path.

use super::schedule::Schedule;
use std::net::SocketAddr;

/// How the notifier runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// This host's state, sent in every SM_NOTIFY.
    pub state: i32,
    /// The name sent for hosts whose records name no identity.
    pub default_name: Vec<u8>,
    /// A name sent instead of the records' identities.
    pub identity: Option<Vec<u8>>,
    /// When to try again and when to give up.
    pub schedule: Schedule,
    /// Most hosts in a round at once (at least 1).
    pub window: usize,
}

/// A host to notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The store's name for the host (a name or an address literal).
    pub host: Vec<u8>,
    /// The identities its records were made for (`my_name`s); may be empty.
    pub my_names: Vec<Vec<u8>>,
    /// When notification of this host began (Unix seconds), if it did
    /// before (a restarted notifier); `None`: now.
    pub since_unix: Option<u64>,
}

/// Names one name lookup of the notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(pub(super) u64);

/// Something for the daemon to do or know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyEvent {
    /// Resolve `name` and call [`Notifier::resolved`].
    Resolve(LookupId, Vec<u8>),
    /// `host` acknowledged: clear its notify entry durably, only the lines
    /// of `my_name` if given, else all.
    Notified {
        /// The store's name for the host.
        host: Vec<u8>,
        /// The identity whose entries to clear.
        my_name: Option<Vec<u8>>,
        /// Where the acknowledgement came from.
        from: SocketAddr,
    },
    /// The schedule ran out for `host`; it stays in the store.
    GaveUp {
        /// The store's name for the host.
        host: Vec<u8>,
        /// When notification of it began (Unix seconds).
        since_unix: u64,
        /// Rounds tried.
        rounds: u32,
    },
}

/// Where one host stands, for the progress file and `-l`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostStatus {
    /// The store's name for the host.
    pub host: Vec<u8>,
    /// When notification of it began (Unix seconds).
    pub since_unix: u64,
    /// Rounds finished without an answer.
    pub rounds: u32,
    /// When the next round starts (Unix seconds); `None` while one runs.
    pub next_unix: Option<u64>,
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifyStats {
    /// Hosts that acknowledged every identity.
    pub notified: u64,
    /// Hosts given up.
    pub given_up: u64,
    /// Rounds that ended without an answer.
    pub failed_rounds: u64,
    /// Datagrams handed out.
    pub datagrams: u64,
    /// Datagrams ignored (wrong sender, unknown xid, not a reply).
    pub ignored: u64,
}
