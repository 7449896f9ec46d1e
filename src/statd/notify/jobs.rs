//! What the [`super::notifier::Notifier`] keeps for each host it notifies
//! and each call it has in flight; `rounds.rs` runs them.

use super::api::LookupId;
use crate::rpc::client::CallId;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// Names one job (one host being notified).
pub(super) type JobId = u64;

/// A name to send in SM_NOTIFY, and the records its acknowledgement
/// clears (`None`: all of the host's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    pub(super) send: Vec<u8>,
    pub(super) clears: Option<Vec<u8>>,
}

/// Where a job's round stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for its round to be due (and a window slot).
    Waiting(Instant),
    /// Its name is being resolved.
    Resolving(LookupId),
    /// Asking the portmapper of `addrs[addr]`, stage `stage`.
    Lookup { addr: usize, stage: usize },
    /// Notifying `to`, the statd of `addrs[addr]`.
    Notifying { addr: usize, to: SocketAddr },
}

/// One host to notify.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) host: Vec<u8>,
    pub(super) identities: Vec<Identity>,
    pub(super) since_unix: u64,
    /// The round running or next.
    pub(super) round: u32,
    pub(super) addrs: Vec<IpAddr>,
    pub(super) phase: Phase,
    /// The call in flight, if any.
    pub(super) call: Option<CallId>,
}

/// What a call in flight is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// The job's current step.
    Step(JobId),
    /// A short-name copy; its answer does not matter.
    Courtesy,
}

/// A call in flight: what for, where to, and its xid once sent.
#[derive(Debug)]
pub(super) struct InFlight {
    pub(super) purpose: Purpose,
    pub(super) to: SocketAddr,
    pub(super) xid: Option<u32>,
}

/// The Unix time of `at`, given that `epoch.0` was `epoch.1`.
pub(super) fn unix_at(epoch: (Instant, u64), at: Instant) -> u64 {
    epoch
        .1
        .saturating_add(at.saturating_duration_since(epoch.0).as_secs())
}
