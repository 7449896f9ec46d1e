//! Crash consistency: statmon's rpc.statd (both store formats) and its
//! notifier are SIGKILLed at random moments under load, restarted, and what
//! is on disk is checked against what the clients were told.
//!
//! - `monitor_store_survives_sigkill_under_load`: a raw UDP client on
//!   127.0.0.1 keeps a window of SM_MON/SM_UNMON calls in flight (one per
//!   name at a time, each SM_MON with a fresh cookie) and logs every call as
//!   sent, then as acknowledged when the reply comes. The daemon is killed
//!   at a random moment; after the restart each name's registration must be
//!   what its last acknowledged call left, or what a call sent after that
//!   one (unacknowledged) would leave; a name with no acknowledged call this
//!   round may also keep what the previous check found. So: every
//!   acknowledged SM_MON is there (unless a later call for the name may have
//!   landed), every acknowledged SM_UNMON holds, no cookie that was never
//!   sent appears, the state never goes back, the store parses without
//!   damage (no `.corrupt-` files, no damage lines in the log). The daemon
//!   answers a name's calls in the order they arrive from one socket, which
//!   is what makes "later" meaningful.
//! - `notifier_survives_sigkill`: fake peers on 127.0.1.x answer SM_NOTIFY;
//!   `statmon sm-notify` and a rebooting rpc.statd are killed at random
//!   moments in turn. A host cleared from the store (no `sm/` or `sm.bak/`
//!   file) must never be notified again, a cleared host must have been
//!   notified, a host not cleared stays pending, the state never goes back;
//!   a last run to completion notifies everyone and empties the store.
//!
//! The stores start from the distribution's layout (`common::layout`);
//! prerequisites are decided by `common::prereq`. The seed of the random
//! moments is printed; set `ROBUST_SEED` to repeat a run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::daemon;
use common::fake_peer::FakePeer;
use common::layout::{self, StateFile};
use common::nsmraw::{self, Answer, Rng, MON, NLM, UNMON};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use statmon::statd::store::peek::peek;
use statmon::statd::store::StoreFormat;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const MY_NAME: &[u8] = b"crashclient";
/// Names the client works on.
const NAMES: usize = 300;
/// Calls in flight at once.
const WINDOW: usize = 200;
/// A call with no reply after this long is given up (stays "sent").
const ABANDON: Duration = Duration::from_secs(3);

/// What a call does to its name's registration: `Some(cookie)` for SM_MON,
/// `None` for SM_UNMON.
type Effect = Option<[u8; 16]>;

/// One call of the client log.
#[derive(Debug, Clone)]
struct Sent {
    effect: Effect,
    acked: bool,
}

/// The client log of one name for one round.
#[derive(Debug, Clone, Default)]
struct NameLog {
    /// What the last check found (or nothing, at the start).
    baseline: Effect,
    calls: Vec<Sent>,
}

impl NameLog {
    /// The registrations the store may hold for this name now.
    fn allowed(&self) -> Vec<Effect> {
        match self.calls.iter().rposition(|c| c.acked) {
            Some(last) => self.calls[last..].iter().map(|c| c.effect).collect(),
            None => std::iter::once(self.baseline)
                .chain(self.calls.iter().map(|c| c.effect))
                .collect(),
        }
    }
}

fn name(i: usize) -> String {
    format!("crash-h{i:03}")
}

fn cookie(seq: u64) -> [u8; 16] {
    let mut c = *b"ck--------------";
    c[8..].copy_from_slice(&seq.to_be_bytes());
    c
}

/// Figures of one round.
#[derive(Debug, Default, Clone, Copy)]
struct RoundStats {
    sent: usize,
    acked: usize,
    failed: usize,
    ran_ms: u128,
}

/// Drives calls until `kill_at`, SIGKILLs the daemon, collects the replies
/// it had sent before dying. `logs` gets every call.
#[allow(clippy::too_many_arguments)]
fn drive(
    sb: &mut Sandbox,
    pid: u32,
    to: SocketAddr,
    rng: &mut Rng,
    seq: &mut u64,
    logs: &mut [NameLog],
    state_seen: &mut i32,
    kill_after: Duration,
) -> RoundStats {
    let sock = nsmraw::udp_from("127.0.0.1:0");
    sock.set_read_timeout(Some(Duration::from_millis(2)))
        .unwrap();
    // xid -> (name index, call index, procedure, sent at)
    let mut flight: HashMap<u32, (usize, usize, u32, Instant)> = HashMap::new();
    let mut busy = vec![false; NAMES];
    let mut stats = RoundStats::default();
    let start = Instant::now();
    let kill_at = start + kill_after;
    let mut buf = vec![0u8; 2048];
    let take = |flight: &mut HashMap<u32, (usize, usize, u32, Instant)>,
                busy: &mut [bool],
                logs: &mut [NameLog],
                stats: &mut RoundStats,
                state_seen: &mut i32,
                msg: &[u8]| {
        let Some(xid) = msg
            .get(..4)
            .map(|b| u32::from_be_bytes(b.try_into().unwrap()))
        else {
            return;
        };
        let Some((n, c, proc, _)) = flight.remove(&xid) else {
            return;
        };
        busy[n] = false;
        let answer = nsmraw::decode(proc, msg).map(|(_, a)| a);
        let state = match answer {
            Some(Answer::StatRes { res: 0, state }) if proc == MON => state,
            Some(Answer::State(state)) if proc == UNMON => state,
            other => {
                stats.failed += 1;
                println!("call for {} failed: {other:?}", name(n));
                return;
            }
        };
        assert!(
            state >= *state_seen && state % 2 == 1,
            "reply state {state} after {state_seen}"
        );
        *state_seen = state;
        logs[n].calls[c].acked = true;
        stats.acked += 1;
    };
    while Instant::now() < kill_at {
        while flight.len() < WINDOW {
            let n = rng.range(0, NAMES as u64) as usize;
            if busy[n] {
                if flight.len() + 1 >= NAMES {
                    break;
                }
                continue;
            }
            *seq += 1;
            let xid = 0x1000_0000u32.wrapping_add(*seq as u32);
            let mon = rng.range(0, 100) < 60;
            let nm = name(n);
            let (proc, args, effect) = if mon {
                let ck = cookie(*seq);
                (
                    MON,
                    nsmraw::mon_args(nm.as_bytes(), MY_NAME, NLM, ck),
                    Some(ck),
                )
            } else {
                (UNMON, nsmraw::unmon_args(nm.as_bytes(), MY_NAME, NLM), None)
            };
            logs[n].calls.push(Sent {
                effect,
                acked: false,
            });
            busy[n] = true;
            flight.insert(xid, (n, logs[n].calls.len() - 1, proc, Instant::now()));
            stats.sent += 1;
            let _ = sock.send_to(&nsmraw::call(xid, proc, &args), to);
        }
        if let Ok((len, _)) = sock.recv_from(&mut buf) {
            take(
                &mut flight,
                &mut busy,
                logs,
                &mut stats,
                state_seen,
                &buf[..len],
            );
        }
        let now = Instant::now();
        flight.retain(|_, (n, _, _, at)| {
            let keep = now.duration_since(*at) < ABANDON;
            if !keep {
                busy[*n] = false;
            }
            keep
        });
    }
    assert!(
        sb.stop(pid, libc::SIGKILL).is_some(),
        "daemon did not die on SIGKILL"
    );
    stats.ran_ms = start.elapsed().as_millis();
    // Replies sent before the kill are already queued on our socket.
    while let Ok((len, _)) = sock.recv_from(&mut buf) {
        take(
            &mut flight,
            &mut busy,
            logs,
            &mut stats,
            state_seen,
            &buf[..len],
        );
    }
    stats
}

/// The registrations of `MY_NAME` in the store (name -> cookie), checking
/// that the store reads without problems.
fn stored(format: StoreFormat, dir: &Path) -> BTreeMap<String, [u8; 16]> {
    let p = peek(format, dir).expect("store readable");
    assert!(p.problems.is_empty(), "store problems: {:?}", p.problems);
    let mut out = BTreeMap::new();
    for h in p.hosts {
        for r in h.registrations {
            assert_eq!(r.my_name, MY_NAME, "foreign registration {r:?}");
            let key = String::from_utf8_lossy(&r.mon_name).into_owned();
            assert!(
                out.insert(key.clone(), r.cookie).is_none(),
                "two registrations for {key}"
            );
        }
    }
    out
}

fn corrupt_files(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for d in [dir.to_path_buf(), dir.join("sm"), dir.join("sm.bak")] {
        v.extend(
            nsmraw::file_names(&d, true)
                .into_iter()
                .filter(|n| n.contains(".corrupt-")),
        );
    }
    v
}

/// Runs `rounds` kill/restart rounds of one store format.
fn rounds(sb: &mut Sandbox, format: StoreFormat, rounds: usize, port: u16, rng: &mut Rng) {
    let label = match format {
        StoreFormat::NfsUtils => "nfs-utils",
        StoreFormat::Apple => "apple",
    };
    let dir = sb.dir.path().join(format!("state-{label}"));
    match format {
        // `state` empty, as nfs-common's postinst leaves it: that is no
        // state yet (as sm-notify reads it), not damage, so every damage
        // line this test counts is one the crashes caused.
        StoreFormat::NfsUtils => drop(layout::stock(&dir, StateFile::Empty)),
        StoreFormat::Apple => drop(layout::apple_stock(&dir)),
    }
    let extra: &[&str] = match format {
        StoreFormat::NfsUtils => &[],
        StoreFormat::Apple => &["--store-format", "apple"],
    };
    let to = nsmraw::local(port);
    let state_of = |dir: &Path| match format {
        StoreFormat::NfsUtils => nsmraw::nfs_state(dir),
        StoreFormat::Apple => nsmraw::apple_state(dir),
    };
    let mut logs: Vec<NameLog> = vec![NameLog::default(); NAMES];
    let mut seq = rng.next() >> 16;
    let mut state_seen = 0;
    let (mut total_sent, mut total_acked, mut total_failed) = (0, 0, 0);
    let mut present_max = 0;
    for round in 0..rounds {
        let log = format!("{label}-{round:02}.log");
        let pid = daemon::start_statd(sb, &dir, port, extra, &log)
            .unwrap_or_else(|| panic!("{label} round {round}: no answer\n{}", sb.log(&log)));
        let text = sb.log(&log);
        let damage = nsmraw::damage_lines(&text);
        assert!(damage.is_empty(), "{label} round {round}: {damage:?}");
        let state = state_of(&dir).expect("state on disk");
        assert!(
            state >= state_seen,
            "{label} round {round}: state went back {state_seen} -> {state}"
        );
        state_seen = state;
        let kill_after = Duration::from_millis(rng.range(30, 700));
        let stats = drive(
            sb,
            pid,
            to,
            rng,
            &mut seq,
            &mut logs,
            &mut state_seen,
            kill_after,
        );
        // The store as the crash left it, before any repair by a restart.
        let found = stored(format, &dir);
        let corrupt = corrupt_files(&dir);
        assert!(corrupt.is_empty(), "{label} round {round}: {corrupt:?}");
        let after = state_of(&dir).expect("state on disk after the kill");
        assert!(after >= state_seen, "state on disk {after} < {state_seen}");
        let mut bad = Vec::new();
        for (i, l) in logs.iter_mut().enumerate() {
            let now = found.get(&name(i)).copied();
            let allowed = l.allowed();
            if !allowed.contains(&now) {
                bad.push(format!(
                    "{}: found {now:?}, allowed {allowed:?}, calls {:?}",
                    name(i),
                    l.calls
                ));
            }
            l.baseline = now;
            l.calls.clear();
        }
        let unknown: Vec<&String> = found
            .keys()
            .filter(|k| !(0..NAMES).any(|i| name(i) == **k))
            .collect();
        assert!(unknown.is_empty(), "never sent: {unknown:?}");
        present_max = present_max.max(found.len());
        println!(
            "{label} round {round:02}: killed after {} ms: {} sent, {} acknowledged, {} failed; {} registered; state {after}",
            stats.ran_ms,
            stats.sent,
            stats.acked,
            stats.failed,
            found.len()
        );
        assert!(
            bad.is_empty(),
            "{label} round {round}: store disagrees with the client log:\n{}\n{}",
            bad.join("\n"),
            sb.log(&log)
        );
        total_sent += stats.sent;
        total_acked += stats.acked;
        total_failed += stats.failed;
    }
    // A last start must read the store whole.
    let log = format!("{label}-final.log");
    let pid = daemon::start_statd(sb, &dir, port, extra, &log).expect("final start");
    assert!(nsmraw::damage_lines(&sb.log(&log)).is_empty());
    assert!(sb.stop(pid, libc::SIGTERM).is_some());
    println!(
        "{label}: {rounds} rounds, {total_sent} calls sent, {total_acked} acknowledged, \
         {total_failed} failed, up to {present_max} names registered, state {state_seen}"
    );
    assert!(total_acked > 1000, "too little load to mean anything");
    assert_eq!(total_failed, 0, "calls refused");
}

#[test]
fn monitor_store_survives_sigkill_under_load() {
    if !prereq::require(&[Need::Sandbox, Need::StatdUser]) {
        return;
    }
    let (mut rng, seed) = Rng::new();
    println!("seed {seed}");
    let names: Vec<String> = (0..NAMES).map(name).collect();
    let mut sb = Sandbox::with_hosts(&[("127.0.0.30", &names.join(" "))]);
    sb.enter_net();
    let started = Instant::now();
    rounds(&mut sb, StoreFormat::NfsUtils, 20, 20061, &mut rng);
    rounds(&mut sb, StoreFormat::Apple, 10, 20062, &mut rng);
    println!("took {:?}", started.elapsed());
}

/// Hosts the notifier works on: 127.0.1.1 to 127.0.1.HOSTS.
const HOSTS: usize = 100;
/// Times every host is monitored and notified again.
const EPOCHS: usize = 12;
/// Killed runs per epoch before one runs to the end.
const ROUNDS_PER_EPOCH: usize = 5;

fn host(i: usize) -> String {
    format!("127.0.1.{}", i + 1)
}

/// Hosts with an `sm/` or `sm.bak/` file.
fn pending(dir: &Path) -> Vec<String> {
    let mut v = nsmraw::file_names(&dir.join("sm"), false);
    v.extend(nsmraw::file_names(&dir.join("sm.bak"), false));
    v.sort();
    v.dedup();
    v
}

#[test]
fn notifier_survives_sigkill() {
    if !prereq::require(&[Need::Sandbox, Need::StatdUser]) {
        return;
    }
    let (mut rng, seed) = Rng::new();
    println!("seed {seed}");
    let mut sb = Sandbox::new();
    sb.enter_net();
    let peers: Vec<FakePeer> = (0..HOSTS)
        .map(|i| FakePeer::start(&host(i), true))
        .collect();
    let dir = sb.dir.path().join("state");
    let stock = layout::stock(&dir, StateFile::Empty);
    let dir_s = dir.to_str().unwrap().to_string();
    let counts =
        |peers: &[FakePeer]| -> Vec<usize> { peers.iter().map(|p| p.notices().len()).collect() };
    let mut state_seen = 0;
    let mut kills = 0;
    let mut cleared_rounds = Vec::new();
    let mut round = 0;
    let (mut hi_daemon, mut hi_notify) = (80u64, 40u64);
    let mut mid_way = 0;
    // Each epoch monitors every host again (as a lock manager would after
    // the reboot), then notifies them through kills until none is left.
    for epoch in 0..EPOCHS {
        for i in 0..HOSTS {
            let line = nsmraw::record_line(&host(i), "hosta", *b"notify-crash-000");
            stock.put_record("sm", &host(i), &line);
        }
        let at_start = counts(&peers);
        let mut before = pending(&dir);
        let mut seen = at_start.clone();
        for step in 0..=ROUNDS_PER_EPOCH {
            // Once nobody is pending, one run to the end checks the exit.
            let last = step == ROUNDS_PER_EPOCH || (step > 0 && before.is_empty());
            round += 1;
            let log = format!("notify-{round:03}.log");
            let daemon = step % 2 == 1 && !last;
            let cmd = if daemon {
                // A reboot as the daemon sees it: another boot id on record.
                stock.put(layout::BOOT_ID, &format!("boot-{round}\n"));
                daemon::statd(&sb, &dir, 20063, &[])
            } else {
                let mut cmd = sb.command(common::STATMON);
                cmd.args(["sm-notify", "-d", "-P", &dir_s]);
                cmd
            };
            let pid = sb.spawn(cmd, &log);
            let mut killed_at = None;
            if last {
                let status = sb
                    .wait_exit(pid, 30)
                    .expect("the last sm-notify did not finish");
                assert_eq!(status.code(), Some(0), "{}", sb.log(&log));
            } else {
                // Aim at the few milliseconds in which the notices go out:
                // each kind of run's window shrinks while kills come late.
                let hi = if daemon {
                    &mut hi_daemon
                } else {
                    &mut hi_notify
                };
                let wait = rng.range(1, *hi);
                killed_at = Some((daemon, wait));
                std::thread::sleep(Duration::from_millis(wait));
                assert!(sb.stop(pid, libc::SIGKILL).is_some(), "no exit on SIGKILL");
                kills += 1;
            }
            // Datagrams sent before the kill are in the peers' queues.
            std::thread::sleep(Duration::from_millis(120));
            let after = pending(&dir);
            let now = counts(&peers);
            let state = nsmraw::nfs_state(&dir).unwrap_or(0);
            assert!(
                state >= state_seen,
                "state went back {state_seen} -> {state}"
            );
            state_seen = state;
            let mut bad = Vec::new();
            for i in 0..HOSTS {
                let h = host(i);
                let was = before.contains(&h);
                let is = after.contains(&h);
                if !was && now[i] != seen[i] {
                    bad.push(format!(
                        "{h}: cleared earlier, notified again ({} -> {})",
                        seen[i], now[i]
                    ));
                }
                if !was && is {
                    bad.push(format!("{h}: cleared earlier, pending again"));
                }
                if !is && now[i] == at_start[i] {
                    bad.push(format!("{h}: cleared but not notified"));
                }
            }
            let notified: usize = now.iter().zip(&seen).map(|(a, b)| a - b).sum();
            println!(
                "epoch {epoch} round {step} ({}): {} pending -> {}, {notified} notices, state {state}",
                if last { "to the end" } else if daemon { "rpc.statd, killed" } else { "sm-notify, killed" },
                before.len(),
                after.len()
            );
            assert!(
                bad.is_empty(),
                "round {round}:\n{}\n{}",
                bad.join("\n"),
                sb.log(&log)
            );
            if let Some((daemon, wait)) = killed_at {
                let hi = if daemon {
                    &mut hi_daemon
                } else {
                    &mut hi_notify
                };
                if after.is_empty() {
                    *hi = (*hi * 3 / 4).max(3);
                } else if after.len() == before.len() {
                    *hi += 2;
                } else {
                    mid_way += 1;
                }
                println!("  killed after {wait} ms");
            }
            cleared_rounds.push(before.len() - after.len());
            before = after;
            seen = now;
            if last {
                break;
            }
        }
        assert!(
            before.is_empty(),
            "still pending after the last run: {before:?}"
        );
        let missed: Vec<String> = (0..HOSTS)
            .filter(|&i| seen[i] == at_start[i])
            .map(host)
            .collect();
        assert!(missed.is_empty(), "epoch {epoch}: not notified: {missed:?}");
    }
    for p in &peers {
        let states: Vec<i32> = p.notices().iter().map(|n| n.2).collect();
        assert!(
            states.windows(2).all(|w| w[0] <= w[1]),
            "{}: states {states:?}",
            p.addr()
        );
        assert!(p.notices().iter().all(|n| n.1 == "hosta"));
    }
    let seen = counts(&peers);
    println!(
        "{EPOCHS} epochs, {kills} kills ({mid_way} with some hosts cleared and some pending); hosts cleared per round {cleared_rounds:?}; \
         notices per host min {} max {}",
        seen.iter().min().unwrap(),
        seen.iter().max().unwrap()
    );
}
