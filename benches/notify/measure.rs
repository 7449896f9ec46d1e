//! One measured run: a fresh farm, a daemon started in the sandbox on a
//! fresh state directory, the directory polled every 10 ms until every
//! record is gone, the daemon exits, or the time cap passes; then the
//! daemon is stopped by its pid.

use crate::farm::{Farm, Tally};
use crate::records;
use crate::sandbox::Sandbox;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How often the state directory is looked at.
const POLL: Duration = Duration::from_millis(10);

/// When a run ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stop {
    /// End as soon as every record is gone (statmon keeps running as a
    /// daemon; sm-notify is given up to 5 s more to exit by itself).
    pub(crate) when_clear: bool,
    /// The daemon exits by itself (sm-notify): after the last record is
    /// gone, wait for that. A run always ends when the daemon exits.
    pub(crate) exits: bool,
    /// End after this long in any case.
    pub(crate) cap: Duration,
}

/// What one run measured; times are from the daemon's start.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    /// When the last record was removed.
    pub(crate) clear_at: Option<Duration>,
    /// When the daemon exited by itself, and its exit code.
    pub(crate) exited: Option<(Duration, Option<i32>)>,
    /// How long the run lasted.
    pub(crate) ran: Duration,
    /// Records left at the end.
    pub(crate) remaining: usize,
    /// Hosts whose record was removed.
    pub(crate) cleared: usize,
    /// What the farm received.
    pub(crate) tally: Tally,
    /// The daemon's start.
    pub(crate) t0: Instant,
    /// What the daemon logged.
    pub(crate) log: String,
    /// UDP datagrams the sandbox's kernel dropped for a full receive
    /// buffer during the run (`RcvbufErrors` of `/proc/net/snmp`).
    pub(crate) rcvbuf_drops: Option<u64>,
}

impl Measured {
    /// Time of the last SM_NOTIFY the farm received.
    pub(crate) fn last_notify(&self) -> Option<Duration> {
        self.tally.last_notify.map(|t| t.duration_since(self.t0))
    }

    /// Lookups received in the first `d`.
    pub(crate) fn lookups_within(&self, d: Duration) -> usize {
        self.tally
            .lookups_at
            .iter()
            .filter(|t| t.duration_since(self.t0) < d)
            .count()
    }
}

/// Runs `cmd` (a command made by `sb.command`) against `peers` on the
/// state directory `dir`, which must not exist yet.
pub(crate) fn run(
    sb: &mut Sandbox,
    peers: &[Ipv4Addr],
    answer: bool,
    dir: &Path,
    cmd: Command,
    log: &str,
    stop: Stop,
) -> Measured {
    records::create(dir, peers).expect("state directory");
    let farm = Farm::start(peers, answer).expect("farm");
    let drops_before = udp_rcvbuf_errors();
    let t0 = Instant::now();
    let pid = sb.spawn(cmd, log);
    let mut clear_at = None;
    let mut exited = None;
    let mut grace_end = None;
    loop {
        std::thread::sleep(POLL);
        let now = t0.elapsed();
        if clear_at.is_none() && records::remaining(dir) == Some(0) {
            clear_at = Some(now);
        }
        if exited.is_none() {
            if let Some(status) = sb.wait_exit(pid, 0) {
                exited = Some((now, status.code()));
            }
        }
        if exited.is_some() {
            break;
        }
        if stop.when_clear && clear_at.is_some() {
            if !stop.exits {
                break;
            }
            let end = *grace_end.get_or_insert(now + Duration::from_secs(5));
            if now >= end {
                break;
            }
        }
        if now >= stop.cap {
            break;
        }
    }
    let ran = t0.elapsed();
    if exited.is_none() {
        let _ = sb.stop(pid, libc::SIGTERM);
    }
    // Replies still in flight land before the farm is read.
    std::thread::sleep(Duration::from_millis(50));
    let tally = farm.tally();
    let rcvbuf_drops = udp_rcvbuf_errors()
        .zip(drops_before)
        .map(|(a, b)| a.saturating_sub(b));
    drop(farm);
    let remaining = records::remaining(dir).unwrap_or(peers.len());
    Measured {
        clear_at,
        exited,
        ran,
        remaining,
        cleared: peers.len().saturating_sub(remaining),
        tally,
        t0,
        log: sb.log(log),
        rcvbuf_drops,
    }
}

/// `Udp: RcvbufErrors` of the calling thread's network namespace.
fn udp_rcvbuf_errors() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/net/snmp").ok()?;
    let mut udp = text.lines().filter(|l| l.starts_with("Udp:"));
    let names = udp.next()?.split_whitespace();
    let values = udp.next()?.split_whitespace();
    names
        .zip(values)
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
}
