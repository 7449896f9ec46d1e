//! The ltid engine, sans I/O: this host's shared drives, what it knows of
//! the other registered media servers, the scan-host election of every
//! drive and what follows from it. Time comes in as an argument; the glue
//! ([`super::module`]) carries out the [`Action`]s and asks
//! [`LtidCore::upstreams`] which scan hosts it must hold an rdevmi
//! connection to.
//!
//! Reservations go through each drive's arbiter ([`elect::arbiter`], see
//! `arbiter.rs`): one host decides, the others ask it.
//!
//! A peer is online while a connection carries its news (an rdevmi link
//! either way) or while its last answer to a query is younger than three
//! poll intervals. A link that drops takes the peer offline at once
//! (re-election); the next answer brings it back.

mod arbiter;
mod operate;
mod table;

pub use arbiter::{Reply, CLAIM_WAIT};

use super::conf::VmConf;
use super::elect::{self, elect, Election};
use super::wire::{DriveRow, HostInfo, LocalDrive};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

/// What `shared_drive_notify` is told happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyOp {
    /// This host reserved the drive (a mount): it needs SCSI access.
    Reserved,
    /// The drive is assigned to this host's mount.
    Assigned,
    /// This host released it: only the scan host needs access.
    Released,
    /// This host just became the drive's scan host.
    ScanHost,
}

impl NotifyOp {
    /// The word given to the script.
    pub fn word(self) -> &'static str {
        match self {
            NotifyOp::Reserved => "RESERVED",
            NotifyOp::Assigned => "ASSIGNED",
            NotifyOp::Released => "RELEASED",
            NotifyOp::ScanHost => "SCANHOST",
        }
    }
}

/// What the glue must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run `shared_drive_notify DRIVE SCAN_HOST OP`.
    Notify {
        drive: String,
        scan_host: String,
        op: NotifyOp,
    },
    /// This host's [`HostInfo`] changed: send it on every link.
    InfoChanged,
    /// A row of the drive table changed: send it to every attached rdevmi.
    RowChanged(DriveRow),
    /// A line for the daemon log (level 4 or 8), function and text.
    Log(u8, &'static str, String),
    /// Ask `arbiter` to grant (`reserve`) or free this host's
    /// reservation of `drive` (its answer goes to
    /// [`LtidCore::handle_verdict`]).
    Ask {
        arbiter: String,
        drive: String,
        reserve: bool,
    },
    /// The answer for the operator waiting on a reservation of `drive`
    /// ([`Reply::Pending`]).
    Answer {
        drive: String,
        result: Result<String, String>,
    },
    /// The drives this host holds ([`LtidCore::held`]) changed: write
    /// them down.
    HeldChanged,
}

/// Result of a drive probe (the scan host polls its drives).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Probed {
    pub ready: bool,
    pub write_protect: bool,
    pub vsn: String,
}

#[derive(Debug, Clone)]
struct Drive {
    name: String,
    robot: Option<String>,
    up: bool,
    path_ok: bool,
    /// This host holds the drive: its arbiter granted it.
    reserved: bool,
    /// Asked of the arbiter, not granted yet.
    claim: Option<arbiter::Claim>,
    probed: Probed,
    /// The scan host's row, as its rdevmi sent it.
    remote: Option<DriveRow>,
}

#[derive(Debug, Clone, Default)]
struct Peer {
    info: Option<HostInfo>,
    heard: Option<Instant>,
    links: u32,
}

/// The engine.
#[derive(Debug)]
pub struct LtidCore {
    me: String,
    online_since_ms: u64,
    scan_ability: u32,
    drives: Vec<Drive>,
    peers: BTreeMap<String, Peer>,
    /// Peers heard by query stay online this long.
    fresh_for: Duration,
    elections: BTreeMap<String, Election>,
    /// Each drive's arbiter in this host's view (drives with none left out).
    arbiters: BTreeMap<String, String>,
    /// While this host arbitrates a drive: who holds it. Only drives
    /// arbitrated here have an entry.
    grants: BTreeMap<String, arbiter::Grant>,
    rows: BTreeMap<String, DriveRow>,
    actions: VecDeque<Action>,
    /// Until the first round of queries has ended, elections are kept
    /// but not announced: a host that starts must not call itself the
    /// scan host before it has heard who came online first.
    discovering: bool,
    /// This host's view as last announced ([`Action::InfoChanged`]).
    announced: HostInfo,
}

impl LtidCore {
    /// The engine of host `me` (a name in `conf.servers`, or not: then no
    /// peer is ever accepted), online since `online_since_ms`.
    pub fn new(conf: &VmConf, me: &str, online_since_ms: u64, now: Instant) -> LtidCore {
        let drives = conf
            .drives
            .iter()
            .map(|d| Drive {
                name: d.name.clone(),
                robot: d.robot.clone(),
                up: !d.down,
                path_ok: true,
                reserved: false,
                claim: None,
                probed: Probed::default(),
                remote: None,
            })
            .collect();
        let peers = conf
            .servers
            .iter()
            .filter(|s| *s != me)
            .map(|s| (s.clone(), Peer::default()))
            .collect();
        let mut core = LtidCore {
            me: me.to_string(),
            online_since_ms,
            scan_ability: conf.scan_ability,
            drives,
            peers,
            fresh_for: conf.poll * 3,
            elections: BTreeMap::new(),
            arbiters: BTreeMap::new(),
            grants: BTreeMap::new(),
            rows: BTreeMap::new(),
            actions: VecDeque::new(),
            discovering: true,
            announced: HostInfo::default(),
        };
        core.announced = core.host_info();
        core.recompute(now);
        core
    }

    /// The first round of queries has ended: the elections are announced
    /// (and `SCANHOST` run for the drives this host scans).
    pub fn discovered(&mut self, now: Instant) {
        if self.discovering {
            self.discovering = false;
            self.elections.clear();
            self.arbiters.clear();
            self.recompute(now);
            self.renew(now);
        }
    }

    /// This host's name.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// The registered peers (every `SERVER` but this host).
    pub fn peers(&self) -> impl Iterator<Item = &str> {
        self.peers.keys().map(String::as_str)
    }

    /// Whether `host` is a registered peer.
    pub fn is_peer(&self, host: &str) -> bool {
        self.peers.contains_key(host)
    }

    /// This host's own view.
    pub fn host_info(&self) -> HostInfo {
        HostInfo {
            name: self.me.clone(),
            online_since_ms: self.online_since_ms,
            scan_ability: self.scan_ability,
            drives: self
                .drives
                .iter()
                .map(|d| LocalDrive {
                    name: d.name.clone(),
                    up: d.up,
                    path_ok: d.path_ok,
                    reserved: d.reserved,
                })
                .collect(),
        }
    }

    /// The next action, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`LtidCore::handle_timeout`] must next run (a peer heard only
    /// by query goes stale, an operator's claim has waited too long).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let stale = self
            .peers
            .values()
            .filter(|p| p.links == 0 && p.info.is_some())
            .filter_map(|p| p.heard)
            .map(|t| t + self.fresh_for);
        stale.chain(self.claim_deadlines()).min()
    }

    /// Time passed: stale peers go offline, claims unanswered for
    /// [`CLAIM_WAIT`] are refused.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.recompute(now);
        self.expire_claims(now);
    }

    /// The scan hosts this host needs an rdevmi connection to: the home
    /// scan host of each drive, when it is another host.
    pub fn upstreams(&self) -> BTreeSet<String> {
        self.elections
            .values()
            .filter_map(|e| e.home.clone())
            .filter(|h| *h != self.me)
            .collect()
    }

    /// Drives whose scan host is this host.
    pub fn scanned_here(&self) -> Vec<String> {
        self.elections
            .iter()
            .filter(|(_, e)| e.scan.as_deref() == Some(self.me.as_str()))
            .map(|(d, _)| d.clone())
            .collect()
    }

    /// Drives to probe each poll: those scanned here, and those whose path
    /// from here is down (so that its return is noticed; such a host is no
    /// candidate, and no scan host would ever probe for it).
    pub fn probe_due(&self) -> Vec<String> {
        let mut due = self.scanned_here();
        for d in &self.drives {
            if !d.path_ok && !due.contains(&d.name) {
                due.push(d.name.clone());
            }
        }
        due
    }

    /// A peer's view arrived (an answer to a query, or over a link).
    /// Ignored (`false`) unless it comes from a registered peer.
    pub fn handle_peer_info(&mut self, now: Instant, info: HostInfo) -> bool {
        let Some(peer) = self.peers.get_mut(&info.name) else {
            return false;
        };
        peer.info = Some(info);
        peer.heard = Some(now);
        self.recompute(now);
        true
    }

    /// A query's answer: news of a peer (true if it is one), applied only
    /// while no link carries that peer's news. A link pushes the peer's
    /// view on every change; an answer travels on a connection of its
    /// own and may be overtaken by a newer push, so applying it then would
    /// put an older view back (a drive seen DOWN again after its UP).
    pub fn handle_query_answer(&mut self, now: Instant, info: HostInfo) -> bool {
        match self.peers.get(&info.name) {
            None => false,
            Some(p) if p.links > 0 => true,
            Some(_) => self.handle_peer_info(now, info),
        }
    }

    /// A link that carries `host`'s news is up.
    pub fn link_up(&mut self, host: &str) {
        if let Some(p) = self.peers.get_mut(host) {
            p.links += 1;
        }
    }

    /// A link carrying `host`'s news closed. Unless another link carries
    /// it: after a failure (`orderly` false: the connection broke, or
    /// `host` said it is leaving) `host` is offline until heard again;
    /// after an orderly end (the link was no longer needed) it counts as
    /// heard now, and queries keep it online.
    pub fn link_down(&mut self, now: Instant, host: &str, orderly: bool) {
        if let Some(p) = self.peers.get_mut(host) {
            p.links = p.links.saturating_sub(1);
            if p.links == 0 {
                p.heard = orderly.then_some(now);
            }
        }
        self.recompute(now);
    }

    /// A query of `host` failed: offline unless a link carries it.
    pub fn unreachable(&mut self, now: Instant, host: &str) {
        if let Some(p) = self.peers.get_mut(host) {
            if p.links == 0 {
                p.heard = None;
            }
        }
        self.recompute(now);
    }

    /// The scan host's row for a drive, from its rdevmi.
    pub fn handle_remote_row(&mut self, now: Instant, row: DriveRow) {
        if let Some(d) = self.drives.iter_mut().find(|d| d.name == row.drive) {
            d.remote = Some(row);
        }
        self.recompute(now);
    }

    /// A probe of `drive`'s path: `Err` means the path is down.
    pub fn handle_probe(&mut self, now: Instant, drive: &str, result: Result<Probed, String>) {
        let Some(d) = self.drives.iter_mut().find(|d| d.name == drive) else {
            return;
        };
        match result {
            Ok(p) => {
                if !d.path_ok {
                    self.actions.push_back(Action::Log(
                        4,
                        "drive_path",
                        format!("{drive}: path works again"),
                    ));
                }
                d.path_ok = true;
                d.probed = p;
            }
            Err(e) => {
                if d.path_ok {
                    self.actions.push_back(Action::Log(
                        8,
                        "drive_path",
                        format!("{drive}: path down: {e}"),
                    ));
                }
                d.path_ok = false;
                d.probed = Probed::default();
            }
        }
        self.recompute(now);
    }

    /// The hosts online now: this one first, then the peers heard from.
    fn online(&self, now: Instant) -> Vec<HostInfo> {
        let mut hosts = vec![self.host_info()];
        for p in self.peers.values() {
            let fresh = p.links > 0 || p.heard.is_some_and(|t| now < t + self.fresh_for);
            if let (true, Some(info)) = (fresh, &p.info) {
                hosts.push(info.clone());
            }
        }
        hosts
    }

    /// Re-runs every election and queues what changed.
    fn recompute(&mut self, now: Instant) {
        let online = self.online(now);
        let refs: Vec<&HostInfo> = online.iter().collect();
        for i in 0..self.drives.len() {
            let name = self.drives[i].name.clone();
            let e = elect(&name, &refs);
            let before = self.elections.insert(name.clone(), e.clone());
            let was_scan = before.as_ref().and_then(|b| b.scan.clone());
            if e.scan != was_scan && !self.discovering {
                let text = match &e.scan {
                    Some(h) => format!("{name}: scan host is {h}"),
                    None => format!("{name}: no scan host (no host online with a non-zero scan ability and the drive UP)"),
                };
                self.actions.push_back(Action::Log(4, "scan_host", text));
                let reserved_here = e.reserved_by.as_deref() == Some(self.me.as_str());
                if e.scan.as_deref() == Some(self.me.as_str()) && !reserved_here {
                    self.actions.push_back(Action::Notify {
                        drive: name.clone(),
                        scan_host: self.me.clone(),
                        op: NotifyOp::ScanHost,
                    });
                }
            }
            self.follow_arbiter(&name, elect::arbiter(&name, &refs), &e, &refs);
            let row = self.row(i, &e, &refs);
            if self.rows.get(&name) != Some(&row) {
                self.rows.insert(name, row.clone());
                self.actions.push_back(Action::RowChanged(row));
            }
        }
        let info = self.host_info();
        if info != self.announced {
            self.announced = info;
            self.actions.push_back(Action::InfoChanged);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ltid::conf::SharedDrive;

    pub(super) fn conf(ability: u32) -> VmConf {
        VmConf {
            servers: vec!["hosta".into(), "hostb".into(), "hostc".into()],
            scan_ability: ability,
            drives: vec![SharedDrive {
                name: "drv0".into(),
                path: "/dev/nst0".into(),
                robot: Some("TLD".into()),
                down: false,
            }],
            poll: Duration::from_secs(1),
            ..VmConf::default()
        }
    }

    pub(super) fn drain(c: &mut LtidCore) -> Vec<Action> {
        std::iter::from_fn(|| c.poll_action()).collect()
    }

    pub(super) fn notifies(actions: &[Action]) -> Vec<(String, &'static str)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Notify { scan_host, op, .. } => Some((scan_host.clone(), op.word())),
                _ => None,
            })
            .collect()
    }

    pub(super) fn info(name: &str, since: u64, ability: u32, up: bool, reserved: bool) -> HostInfo {
        HostInfo {
            name: name.into(),
            online_since_ms: since,
            scan_ability: ability,
            drives: vec![LocalDrive {
                name: "drv0".into(),
                up,
                path_ok: true,
                reserved,
            }],
        }
    }

    #[test]
    fn alone_it_is_the_scan_host_and_says_so() {
        let t = Instant::now();
        let mut b = LtidCore::new(&conf(5), "hostb", 20, t);
        assert!(notifies(&drain(&mut b)).is_empty());
        b.discovered(t);
        let acts = drain(&mut b);
        assert_eq!(notifies(&acts), [("hostb".to_string(), "SCANHOST")]);
        assert!(b.upstreams().is_empty());
        assert_eq!(b.rows()[0].control, "TLD");
    }

    #[test]
    fn an_earlier_host_takes_over_and_its_loss_gives_it_back() {
        let t = Instant::now();
        let mut b = LtidCore::new(&conf(5), "hostb", 20, t);
        b.discovered(t);
        drain(&mut b);
        assert!(b.handle_peer_info(t, info("hosta", 10, 5, true, false)));
        b.link_up("hosta");
        assert_eq!(b.upstreams(), BTreeSet::from(["hosta".to_string()]));
        assert_eq!(b.rows()[0].scan_host, "hosta");
        drain(&mut b);
        b.link_down(t, "hosta", true);
        assert_eq!(
            b.rows()[0].scan_host,
            "hosta",
            "an orderly end keeps it online"
        );
        b.link_up("hosta");
        b.link_down(t, "hosta", false);
        assert!(b.upstreams().is_empty());
        assert_eq!(
            notifies(&drain(&mut b)),
            [("hostb".to_string(), "SCANHOST")]
        );
    }

    #[test]
    fn a_query_answer_overtaken_by_a_link_changes_nothing() {
        let t = Instant::now();
        let mut b = LtidCore::new(&conf(5), "hostb", 20, t);
        b.discovered(t);
        b.link_up("hosta");
        assert!(b.handle_peer_info(t, info("hosta", 10, 5, true, false)));
        assert_eq!(b.rows()[0].scan_host, "hosta");
        drain(&mut b);
        // An answer sent before hosta's drive came UP, read after the push.
        assert!(b.handle_query_answer(t, info("hosta", 10, 5, false, false)));
        assert_eq!(b.rows()[0].scan_host, "hosta");
        assert!(notifies(&drain(&mut b)).is_empty());
        assert!(!b.handle_query_answer(t, info("nobody", 10, 5, true, false)));
        // Without a link the answer is the news.
        b.link_down(t, "hosta", true);
        assert!(b.handle_query_answer(t, info("hosta", 10, 5, false, false)));
        assert_eq!(b.rows()[0].scan_host, "hostb");
    }

    #[test]
    fn a_query_answer_goes_stale_after_three_polls() {
        let t = Instant::now();
        let mut b = LtidCore::new(&conf(5), "hostb", 20, t);
        b.handle_peer_info(t, info("hosta", 10, 5, true, false));
        assert_eq!(b.poll_timeout(), Some(t + Duration::from_secs(3)));
        b.handle_timeout(t + Duration::from_secs(3));
        assert_eq!(b.rows()[0].scan_host, "hostb");
    }

    #[test]
    fn down_on_the_scan_host_re_elects_and_shows_mix() {
        let t = Instant::now();
        let mut c = LtidCore::new(&conf(1), "hostc", 30, t);
        c.handle_peer_info(t, info("hosta", 10, 5, true, false));
        c.handle_peer_info(t, info("hostb", 20, 5, true, false));
        assert_eq!(c.rows()[0].scan_host, "hosta");
        c.handle_peer_info(t, info("hosta", 10, 5, false, false));
        let r = &c.rows()[0];
        assert_eq!((r.scan_host.as_str(), r.control.as_str()), ("hostb", "MIX"));
        assert!(c.render_status(t).contains("  hosta DOWN path=ok"));
    }

    #[test]
    fn no_ability_anywhere_is_scan_mode() {
        let t = Instant::now();
        let mut a = LtidCore::new(&conf(0), "hosta", 10, t);
        a.discovered(t);
        a.handle_peer_info(t, info("hostb", 20, 0, true, false));
        assert_eq!(a.rows()[0].control, "SCAN-TLD");
        assert!(notifies(&drain(&mut a)).is_empty());
    }

    #[test]
    fn a_path_that_fails_its_probe_re_elects_and_comes_back() {
        let t = Instant::now();
        let mut a = LtidCore::new(&conf(5), "hosta", 10, t);
        a.handle_peer_info(t, info("hostb", 20, 5, true, false));
        a.discovered(t);
        assert_eq!(a.scanned_here(), ["drv0"]);
        drain(&mut a);
        a.handle_probe(t, "drv0", Err("/dev/nst0: No such device".into()));
        let acts = drain(&mut a);
        assert!(acts.contains(&Action::InfoChanged), "{acts:?}");
        assert_eq!(a.rows()[0].scan_host, "hostb");
        assert_eq!(a.upstreams(), BTreeSet::from(["hostb".to_string()]));
        assert!(a.render_status(t).contains("  hosta UP path=down"));
        assert_eq!(
            a.probe_due(),
            ["drv0"],
            "a path down is probed for its return"
        );
        let ready = Probed {
            ready: true,
            write_protect: true,
            vsn: "A00001".into(),
        };
        a.handle_probe(t, "drv0", Ok(ready));
        assert_eq!(
            notifies(&drain(&mut a)),
            [("hosta".to_string(), "SCANHOST")]
        );
        let row = &a.rows()[0];
        assert!(
            row.ready && row.write_protect && row.vsn == "A00001",
            "{row:?}"
        );
    }
}
