//! The NSM service as an I/O-free state machine (quinn-proto style).
//! (About 600 lines: the machine's state and its driving API in one
//! place; the procedures are in `procs/`, the monitor table in
//! `monitors.rs`.)
//!
//! The RPC server hands calls to [`NsmCore`] through the [`Program`] trait.
//! Whatever needs the outside world comes back out of
//! [`NsmCore::poll_output`] and [`NsmCore::poll_store_job`]; the daemon
//! performs it and feeds the result in ([`NsmCore::store_done`],
//! [`NsmCore::resolved`]). The core never touches a socket, a file or the
//! clock.
//!
//! Durability: SM_MON, SM_UNMON, SM_UNMON_ALL and SM_SIMU_CRASH are
//! answered only once the store reports their change durable. The
//! changes queued since the last store job go out as one job; the store
//! runs jobs in order and merges those waiting for it into one commit
//! (group commit): one round of `fsync`s for any number of concurrent
//! requests, and the next round starts as soon as one ends, without
//! waiting for the daemon. The in-memory [`Monitors`] list changes only
//! after the store succeeded, with the same rules the store applied.
//!
//! Name resolution: SM_MON of a host name answers `stat_fail` when the name
//! does not resolve (as nfs-utils' `statd_canonical_name`); the lookup runs
//! off the request path ([`Output::Resolve`]). While it runs, the SM_MON
//! waits in `pending`, and so does every later change of the same host (or
//! any SM_UNMON_ALL), so that changes of one host reach the store in the
//! order they arrived.
//!
//! - [`procs`]: what each procedure does.
//! - [`monitors`]: the indexed monitor list and SM_NOTIFY matching.

pub mod monitors;
mod procs;

use crate::proto::nlm::CallbackTarget;
use crate::proto::sm_inter::{SmProc, Status, SM_PROG, SM_VERS};
use crate::rpc::{Call, Dispatch, Program, ReplyTo};
use crate::statd::record::{Change, Effect, HostEntry};
use monitors::Monitors;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::ops::RangeInclusive;

/// Most changes handed to the store in one job.
pub const MAX_BATCH: usize = 4096;

/// Most store jobs given out and not yet done; past that, changes wait in
/// the core's queue.
pub const MAX_JOBS_IN_FLIGHT: usize = 64;

/// Work for the store, run by the daemon off the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreJob {
    /// Commit these changes as one batch ([`crate::statd::store::Store::commit`]).
    Commit(Vec<Change>),
    /// Reboot processing for SM_SIMU_CRASH or a reboot step owed since
    /// start ([`crate::statd::store::Store::begin_reboot`]), recording this
    /// boot id if given.
    Reboot(Option<Vec<u8>>),
}

/// How a [`StoreJob`] ended; errors are already logged by the daemon and
/// carried as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreDone {
    /// The commit's effects, in batch order, or why it failed.
    Committed(Result<Vec<Effect>, String>),
    /// The new state after reboot processing and the hosts that now need
    /// notification, or why it failed.
    Rebooted(Result<(i32, Vec<HostEntry>), String>),
}

/// Names one pending name lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResolveId(u64);

/// A call to the local lock manager: "this host rebooted".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// Program, version and procedure, always on the allow-list.
    pub target: CallbackTarget,
    /// `status{mon_name as registered, the notifier's state, priv}`.
    pub status: Status,
    /// The registration's `my_name` (not sent): with `status.mon_name` and
    /// `target` it tells registrations apart.
    pub my_name: Vec<u8>,
}

/// An HA callout invocation (nfs-utils `-H`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callout {
    /// A host was monitored for `my_name`.
    AddClient {
        /// The monitored host.
        mon_name: Vec<u8>,
        /// The lock manager's name.
        my_name: Vec<u8>,
    },
    /// A registration was removed.
    DelClient {
        /// The monitored host.
        mon_name: Vec<u8>,
        /// The lock manager's name.
        my_name: Vec<u8>,
    },
    /// An SM_NOTIFY arrived (matched or not).
    Notify {
        /// The name the notifier gave.
        mon_name: Vec<u8>,
        /// The sender's address.
        addr: IpAddr,
        /// The notifier's state.
        state: i32,
    },
}

/// Something for the daemon to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Complete a deferred call.
    Reply(ReplyTo, Dispatch),
    /// Look up `name`'s addresses and call [`NsmCore::resolved`].
    Resolve(ResolveId, Vec<u8>),
    /// Call the local lock manager.
    Callback(Callback),
    /// Run the HA callout.
    Callout(Callout),
    /// The local state changed (tell the kernel).
    StateChanged(i32),
    /// The host "rebooted" (SM_SIMU_CRASH): these hosts now need
    /// notification, with the new state.
    Rebooted(Vec<HostEntry>),
}

/// Who waits for a queued change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiter {
    /// SM_MON: `sm_stat_res`.
    Mon(ReplyTo),
    /// SM_UNMON / SM_UNMON_ALL: `sm_stat`.
    Unmon(ReplyTo),
}

/// Why a name is being looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lookup {
    /// An SM_STAT for a host name waits for the answer.
    Stat(ReplyTo),
    /// An SM_MON of a host name (its entry in `pending`) waits for it.
    Mon,
    /// A monitored host name, for matching SM_NOTIFY by address.
    Host(Vec<u8>),
    /// An SM_NOTIFY whose name matched nothing: match by its addresses.
    Notify { state: i32 },
}

/// A list change not yet queued for the store: an SM_MON whose name is
/// being looked up, or a change of the same host that arrived after one.
#[derive(Debug)]
struct Pending {
    change: Change,
    waiter: Waiter,
    /// The lookup this entry waits for; `None` once it may go ahead.
    lookup: Option<ResolveId>,
}

/// Whether the order of `a` and `b` matters: they concern the same host,
/// or one is an SM_UNMON_ALL.
fn conflicts(a: &Change, b: &Change) -> bool {
    fn host(c: &Change) -> Option<&[u8]> {
        match c {
            Change::Monitor(reg) => Some(&reg.mon_name),
            Change::Unmonitor(k) => Some(&k.mon_name),
            _ => None,
        }
    }
    match (host(a), host(b)) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => true,
    }
}

/// A store job given out and not yet done.
#[derive(Debug)]
enum InFlight {
    Commit {
        changes: Vec<Change>,
        waiters: Vec<Option<Waiter>>,
    },
    Reboot {
        waiters: Vec<ReplyTo>,
    },
}

/// Counters for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Calls answered, by procedure 0..=6.
    pub calls: [u64; 7],
    /// Control calls refused (caller not local, bad names, bounce attempts).
    pub refused: u64,
    /// Store jobs run.
    pub store_jobs: u64,
    /// Callbacks issued.
    pub callbacks: u64,
}

/// The NSM v1 service core.
#[derive(Debug)]
pub struct NsmCore {
    state: i32,
    monitors: Monitors,
    /// Changes waiting for the next store job, each with its waiter.
    queued: Vec<(Change, Option<Waiter>)>,
    /// Changes waiting for a name lookup, in arrival order.
    pending: VecDeque<Pending>,
    /// SM_SIMU_CRASH callers waiting for the next reboot job.
    crash_waiters: Vec<ReplyTo>,
    /// A reboot step asked for by the daemon (with the boot id to record).
    reboot_asked: Option<Option<Vec<u8>>>,
    /// Store jobs given out, oldest first (the store finishes them in
    /// order).
    in_flight: VecDeque<InFlight>,
    lookups: HashMap<ResolveId, Lookup>,
    next_lookup: u64,
    out: VecDeque<Output>,
    counters: Counters,
}

impl NsmCore {
    /// A core running with local state `state` and the hosts the store
    /// loaded; asks the resolver for the addresses of monitored names.
    pub fn new(state: i32, hosts: &[HostEntry]) -> NsmCore {
        let mut core = NsmCore {
            state,
            monitors: Monitors::from_hosts(hosts),
            queued: Vec::new(),
            pending: VecDeque::new(),
            crash_waiters: Vec::new(),
            reboot_asked: None,
            in_flight: VecDeque::new(),
            lookups: HashMap::new(),
            next_lookup: 0,
            out: VecDeque::new(),
            counters: Counters::default(),
        };
        for key in core.monitors.unresolved() {
            core.resolve(key.clone(), Lookup::Host(key));
        }
        core
    }

    /// The local state number.
    pub fn state(&self) -> i32 {
        self.state
    }

    /// The monitor list in force.
    pub fn monitors(&self) -> &Monitors {
        &self.monitors
    }

    /// Counters so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Whether requests wait for the store (or for an SM_MON's lookup).
    pub fn store_busy(&self) -> bool {
        !self.in_flight.is_empty()
            || !self.queued.is_empty()
            || !self.pending.is_empty()
            || !self.crash_waiters.is_empty()
            || self.reboot_asked.is_some()
    }

    /// Takes the reboot step with the next store job (the step was left
    /// for a separate notifier that handed it back), recording `boot_id`.
    pub fn reboot(&mut self, boot_id: Option<Vec<u8>>) {
        self.reboot_asked = Some(boot_id);
    }

    /// The notifier reached `host`: clear its notify entry (only the lines
    /// of `my_name` if given) with the next store job. Nobody waits for it.
    pub fn notify_done(&mut self, host: Vec<u8>, my_name: Option<Vec<u8>>) {
        self.queued
            .push((Change::NotifyDone { host, my_name }, None));
    }

    /// The next thing for the daemon to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The next store job, if work is queued and fewer than
    /// [`MAX_JOBS_IN_FLIGHT`] are out. The daemon runs jobs in the order
    /// given and reports each with [`NsmCore::store_done`], in that order.
    pub fn poll_store_job(&mut self) -> Option<StoreJob> {
        if self.in_flight.len() >= MAX_JOBS_IN_FLIGHT {
            return None;
        }
        if !self.queued.is_empty() {
            let take = self.queued.len().min(MAX_BATCH);
            let (changes, waiters): (Vec<Change>, Vec<Option<Waiter>>) =
                self.queued.drain(..take).unzip();
            self.in_flight.push_back(InFlight::Commit {
                changes: changes.clone(),
                waiters,
            });
            self.counters.store_jobs += 1;
            return Some(StoreJob::Commit(changes));
        }
        if !self.crash_waiters.is_empty() || self.reboot_asked.is_some() {
            let waiters = std::mem::take(&mut self.crash_waiters);
            let boot_id = self.reboot_asked.take().flatten();
            self.in_flight.push_back(InFlight::Reboot { waiters });
            self.counters.store_jobs += 1;
            return Some(StoreJob::Reboot(boot_id));
        }
        None
    }

    /// The store can no longer run jobs (its thread is gone): every job
    /// given out fails, as if the store had reported `why` for each.
    pub fn store_gone(&mut self, why: &str) {
        while let Some(job) = self.in_flight.front() {
            let done = match job {
                InFlight::Commit { .. } => StoreDone::Committed(Err(why.into())),
                InFlight::Reboot { .. } => StoreDone::Rebooted(Err(why.into())),
            };
            self.store_done(done);
        }
    }

    /// The store finished the oldest job [`NsmCore::poll_store_job`] gave
    /// out: applies it and releases the replies that waited for it.
    pub fn store_done(&mut self, done: StoreDone) {
        match (self.in_flight.pop_front(), done) {
            (Some(InFlight::Commit { changes, waiters }), StoreDone::Committed(result)) => {
                self.committed(&changes, &waiters, result)
            }
            (Some(InFlight::Reboot { waiters }), StoreDone::Rebooted(result)) => {
                self.rebooted(&waiters, result)
            }
            (job, done) => {
                log::error!("store result {done:?} does not match the job in flight {job:?}");
            }
        }
    }

    fn committed(
        &mut self,
        changes: &[Change],
        waiters: &[Option<Waiter>],
        result: Result<Vec<Effect>, String>,
    ) {
        let ok = result.is_ok();
        if let Ok(effects) = result {
            for (change, effect) in changes.iter().zip(effects) {
                let removed = self.monitors.apply(change);
                self.after_change(change, effect, removed);
            }
        }
        for waiter in waiters.iter().flatten() {
            let (to, reply) = match *waiter {
                Waiter::Mon(to) => (to, procs::mon_reply(ok, self.state)),
                Waiter::Unmon(to) if ok => (to, procs::stat_reply(self.state)),
                // The change is not durable: no acknowledgement.
                Waiter::Unmon(to) => (to, Dispatch::SystemErr),
            };
            self.out.push_back(Output::Reply(to, reply));
        }
    }

    /// Follow-up of one durable change: HA callouts and address lookups.
    fn after_change(
        &mut self,
        change: &Change,
        effect: Effect,
        removed: Vec<crate::statd::record::Registration>,
    ) {
        if let (Change::Monitor(reg), Effect::Added) = (change, effect) {
            self.out.push_back(Output::Callout(Callout::AddClient {
                mon_name: reg.mon_name.clone(),
                my_name: reg.my_name.clone(),
            }));
            let key = reg.mon_name.to_ascii_lowercase();
            if self.monitors.needs_addresses(&key) {
                self.resolve(key.clone(), Lookup::Host(key));
            }
        }
        for reg in removed {
            self.out.push_back(Output::Callout(Callout::DelClient {
                mon_name: reg.mon_name,
                my_name: reg.my_name,
            }));
        }
    }

    fn rebooted(&mut self, waiters: &[ReplyTo], result: Result<(i32, Vec<HostEntry>), String>) {
        match result {
            Ok((state, to_notify)) => {
                log::warn!(
                    "reboot step: state {} -> {state}; {} monitored host(s) now need notification",
                    self.state,
                    self.monitors.host_count()
                );
                self.state = state;
                self.monitors.clear();
                self.out.push_back(Output::StateChanged(state));
                self.out.push_back(Output::Rebooted(to_notify));
                for to in waiters {
                    self.out
                        .push_back(Output::Reply(*to, Dispatch::Reply(Vec::new())));
                }
            }
            Err(e) => {
                log::error!("reboot step failed: {e}");
                for to in waiters {
                    self.out.push_back(Output::Reply(*to, Dispatch::SystemErr));
                }
            }
        }
    }

    /// Whether someone waits on lookup `id`: an SM_MON's (the lock manager
    /// holds a lock request until it is answered). Run those first, so a
    /// flood of lookups the network asks for (SM_STAT, SM_NOTIFY) never
    /// delays or refuses them.
    pub fn lookup_is_urgent(&self, id: ResolveId) -> bool {
        matches!(self.lookups.get(&id), Some(Lookup::Mon))
    }

    /// The resolver's answer for `id`: the addresses found, or `None` if
    /// the name does not resolve.
    pub fn resolved(&mut self, id: ResolveId, addrs: Option<Vec<IpAddr>>) {
        let Some(lookup) = self.lookups.remove(&id) else {
            return;
        };
        match lookup {
            Lookup::Stat(to) => {
                let found = addrs.is_some_and(|a| !a.is_empty());
                self.out
                    .push_back(Output::Reply(to, procs::stat_res(found, self.state)));
            }
            Lookup::Mon => self.mon_resolved(id, addrs.is_some_and(|a| !a.is_empty())),
            Lookup::Host(key) => {
                if let Some(addrs) = addrs.filter(|a| !a.is_empty()) {
                    self.monitors.set_addrs(&key, &addrs);
                }
            }
            Lookup::Notify { state } => {
                let keys: Vec<Vec<u8>> = addrs
                    .unwrap_or_default()
                    .into_iter()
                    .flat_map(|a| self.monitors.matching(b"", Some(a)))
                    .collect();
                self.forward(&keys, state);
            }
        }
    }

    fn resolve(&mut self, name: Vec<u8>, why: Lookup) -> ResolveId {
        let id = ResolveId(self.next_lookup);
        self.next_lookup += 1;
        self.lookups.insert(id, why);
        self.out.push_back(Output::Resolve(id, name));
        id
    }

    /// An SM_MON's lookup ended: it fails (nothing recorded) or may go
    /// ahead; then releases what waited for it.
    fn mon_resolved(&mut self, id: ResolveId, found: bool) {
        let Some(at) = self.pending.iter().position(|p| p.lookup == Some(id)) else {
            return;
        };
        if found {
            self.pending[at].lookup = None;
        } else if let Some(p) = self.pending.remove(at) {
            if let (Change::Monitor(reg), Waiter::Mon(to)) = (&p.change, p.waiter) {
                log::warn!(
                    "no canonical host name found for {}: SM_MON for {} fails",
                    crate::log::escape(&reg.mon_name),
                    crate::log::escape(&reg.my_name)
                );
                self.out
                    .push_back(Output::Reply(to, procs::mon_reply(false, self.state)));
            }
        }
        self.release();
    }

    /// Queues every pending change that waits for no lookup and follows no
    /// waiting change it conflicts with, in arrival order.
    fn release(&mut self) {
        let mut at = 0;
        while at < self.pending.len() {
            let p = &self.pending[at];
            let blocked = p.lookup.is_some()
                || self
                    .pending
                    .iter()
                    .take(at)
                    .any(|earlier| conflicts(&earlier.change, &p.change));
            if blocked {
                at += 1;
                continue;
            }
            if let Some(p) = self.pending.remove(at) {
                if let Some(reply) = self.admit(p.change, p.waiter) {
                    let to = match p.waiter {
                        Waiter::Mon(to) | Waiter::Unmon(to) => to,
                    };
                    self.out.push_back(Output::Reply(to, reply));
                }
            }
        }
    }

    /// A list change that may go ahead: waits behind a conflicting pending
    /// change, else see [`NsmCore::admit`].
    fn submit(&mut self, change: Change, waiter: Waiter) -> Dispatch {
        if self.pending.iter().any(|p| conflicts(&p.change, &change)) {
            self.pending.push_back(Pending {
                change,
                waiter,
                lookup: None,
            });
            return Dispatch::Deferred;
        }
        self.admit(change, waiter).unwrap_or(Dispatch::Deferred)
    }

    /// Queues `change` for the store, or returns the answer at once when it
    /// changes nothing and nothing queued could change that (a repeated
    /// SM_MON, an SM_UNMON of nothing).
    fn admit(&mut self, change: Change, waiter: Waiter) -> Option<Dispatch> {
        let changes_nothing = !self.store_busy()
            && match &change {
                Change::Monitor(reg) => self.monitors.contains_exactly(reg),
                other => !self.monitors.would_remove(other),
            };
        if changes_nothing {
            return Some(match waiter {
                Waiter::Mon(_) => procs::mon_reply(true, self.state),
                Waiter::Unmon(_) => procs::stat_reply(self.state),
            });
        }
        self.queued.push((change, Some(waiter)));
        None
    }

    /// Queues a callback for every registration of `keys` not yet told
    /// about `state`.
    fn forward(&mut self, keys: &[Vec<u8>], state: i32) {
        for reg in self.monitors.take_callbacks(keys, state) {
            let target = CallbackTarget {
                prog: reg.my_prog,
                vers: reg.my_vers,
                proc: reg.my_proc,
            };
            if !target.is_allowed() {
                log::warn!(
                    "not calling back {}/{}/{} for {}: not an NSM callback procedure",
                    target.prog,
                    target.vers,
                    target.proc,
                    crate::log::escape(&reg.mon_name)
                );
                continue;
            }
            let Ok(mon_name) = crate::proto::sm_inter::SmString::new(reg.mon_name) else {
                continue;
            };
            self.counters.callbacks += 1;
            self.out.push_back(Output::Callback(Callback {
                target,
                status: Status {
                    mon_name,
                    state,
                    cookie: crate::xdr::FixedOpaque(reg.cookie),
                },
                my_name: reg.my_name,
            }));
        }
    }
}

impl Program for NsmCore {
    fn program(&self) -> u32 {
        SM_PROG
    }

    fn versions(&self) -> RangeInclusive<u32> {
        SM_VERS..=SM_VERS
    }

    /// SM_NULL and SM_STAT change nothing: a retransmission may run again.
    fn idempotent(&self, _vers: u32, proc: u32) -> bool {
        matches!(SmProc(proc), SmProc::NULL | SmProc::STAT)
    }

    fn call(&mut self, call: &Call<'_>) -> Dispatch {
        if let Some(n) = self.counters.calls.get_mut(call.proc as usize) {
            *n += 1;
        }
        self.dispatch(call)
    }
}
