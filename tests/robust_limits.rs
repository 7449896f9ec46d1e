//! Resource limits: statmon's rpc.statd under 10,000 idle TCP connections,
//! slow-loris partial records, 2 GB record marks and a UDP flood of
//! SM_NOTIFY (spoofed names, changing states of a monitored host).
//!
//! During each, a probe thread plays the local lock manager: SM_MON of a
//! fresh name from 127.0.0.1 over UDP and over TCP (from a reserved port,
//! as the kernel's lockd and Ganesha connect) every 100 ms; every probe
//! must be answered stat_succ within 5 s (a liveness bound, not a
//! performance one). The daemon's VmRSS is read before and after each; it
//! must stay under a fixed bound. The limits must be logged when hit.
//!
//! The attackers use 127.0.0.50 and unreserved ports as their source: the
//! connection limit is per listener, and only loopback peers on reserved
//! ports may go past it (`LOCAL_RESERVE`); SM_NOTIFY is taken from anyone.
//!
//! Runs on the distribution's layout (`common::layout::stock`);
//! prerequisites are decided by `common::prereq`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::daemon;
use common::layout::{self, StateFile};
use common::nsmraw::{self, Answer, MON, NLM, NOTIFY};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const PORT: u16 = 20081;
const MAX_CONNS: usize = 1024;
/// Liveness bound for a probe SM_MON (not a performance figure: under a
/// UDP flood the probe's datagram may be dropped with the flood's and
/// resent after 500 ms, and the machine has 2 cores).
const LIVE: Duration = Duration::from_secs(5);
/// VmRSS may grow by at most this much over the whole test.
const RSS_GROWTH_KIB: u64 = 64 * 1024;

/// Latencies of the probe's SM_MONs, per transport, and failures.
#[derive(Default)]
struct Probe {
    udp: Vec<Duration>,
    tcp: Vec<Duration>,
    failures: Vec<String>,
}

impl Probe {
    fn summary(&self) -> String {
        let max = |v: &[Duration]| v.iter().max().copied().unwrap_or_default();
        format!(
            "{} UDP SM_MON (max {:?}), {} TCP SM_MON (max {:?}), {} failed",
            self.udp.len(),
            max(&self.udp),
            self.tcp.len(),
            max(&self.tcp),
            self.failures.len()
        )
    }
}

/// Runs `attack` while a probe thread SM_MONs every 100 ms; returns the
/// probe's figures.
fn with_probe(sb: &Sandbox, name: &str, attack: impl FnOnce()) -> Probe {
    let stop = AtomicBool::new(false);
    let probe = Mutex::new(Probe::default());
    static SEQ: AtomicU32 = AtomicU32::new(1);
    std::thread::scope(|s| {
        s.spawn(|| {
            sb.enter_net();
            let to = nsmraw::local(PORT);
            while !stop.load(Ordering::Relaxed) {
                let n = SEQ.fetch_add(1, Ordering::Relaxed);
                let host = format!("probe{n}.lab");
                let args = nsmraw::mon_args(host.as_bytes(), b"lockd", NLM, [1; 16]);
                for tcp in [false, true] {
                    let t = Instant::now();
                    let r = if tcp {
                        nsmraw::tcp_call_reserved(to, 0x5000_0000 + n * 2 + 1, MON, &args)
                    } else {
                        // As an RPC client does: the same call again every
                        // 500 ms (a flood may fill the socket buffer for
                        // as long as it lasts), until the liveness bound.
                        let sock = nsmraw::udp_from("127.0.0.1:0");
                        let wait = Duration::from_millis(500);
                        std::iter::from_fn(|| (t.elapsed() + wait <= LIVE).then_some(())).find_map(
                            |()| nsmraw::udp_call(&sock, to, 0x5000_0000 + n * 2, MON, &args, wait),
                        )
                    };
                    let took = t.elapsed();
                    let mut p = probe.lock().unwrap();
                    match r {
                        Some(Answer::StatRes { res: 0, .. }) if took < LIVE => {
                            if tcp {
                                p.tcp.push(took)
                            } else {
                                p.udp.push(took)
                            }
                        }
                        other => p.failures.push(format!(
                            "{name}: {} SM_MON {host}: {other:?} after {took:?}",
                            if tcp { "TCP" } else { "UDP" }
                        )),
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        attack();
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
    });
    probe.into_inner().unwrap()
}

/// A TCP connection from 127.0.0.50 to the daemon.
fn attacker_conn(to: SocketAddr) -> Option<TcpStream> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    sock.bind(&SocketAddr::from(([127, 0, 0, 50], 0)).into())
        .ok()?;
    sock.connect_timeout(&to.into(), Duration::from_millis(300))
        .ok()?;
    Some(sock.into())
}

/// Whether the daemon closed `s` (EOF or reset) within `wait`.
fn closed_by_peer(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
    }
}

fn report(what: &str, probe: &Probe, rss: (u64, u64)) {
    println!(
        "{what}: {}; VmRSS {} KiB -> {} KiB",
        probe.summary(),
        rss.0,
        rss.1
    );
}

#[test]
fn limits_hold_and_the_lock_manager_is_served() {
    if !prereq::require(&[Need::Sandbox, Need::StatdUser]) {
        return;
    }
    // The probes' names resolve (30 names a line), as a lock manager's do.
    let lines: Vec<(String, String)> = (0..200)
        .map(|k| {
            let names: Vec<String> = (1..=30)
                .map(|j| format!("probe{}.lab", k * 30 + j))
                .collect();
            (
                format!("127.0.{}.{}", 2 + k / 200, 1 + k % 200),
                names.join(" "),
            )
        })
        .collect();
    let hosts: Vec<(&str, &str)> = lines
        .iter()
        .map(|(a, n)| (a.as_str(), n.as_str()))
        .collect();
    let mut sb = Sandbox::with_hosts(&hosts);
    sb.enter_net();
    let dir = sb.dir.path().join("state");
    layout::stock(&dir, StateFile::Empty);
    let pid = daemon::start_statd(
        &mut sb,
        &dir,
        PORT,
        // -d: a refused record is logged at info level only.
        &["-d", "--max-connections", "1024", "--idle-timeout", "4s"],
        "statd.log",
    )
    .expect("statd started");
    let to = nsmraw::local(PORT);
    let nofile = nsmraw::proc_status(pid, "Pid").map(|_| {
        std::fs::read_to_string(format!("/proc/{pid}/limits"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap_or("")
            .to_string()
    });
    println!("daemon: {}", nofile.unwrap_or_default());
    let rss0 = nsmraw::rss_kib(pid).unwrap();
    // What went wrong, phase by phase: every phase runs and is measured,
    // then the test fails listing these.
    let mut problems: Vec<String> = Vec::new();
    let failed = |probe: &Probe, what: &str, problems: &mut Vec<String>| {
        if !probe.failures.is_empty() {
            problems.push(format!(
                "{what}: {} probe SM_MON(s) not served within {LIVE:?}, first: {}",
                probe.failures.len(),
                probe.failures[0]
            ));
        }
    };
    // A monitored host for the notify flood.
    assert!(matches!(
        nsmraw::local_call(
            to,
            1,
            MON,
            &nsmraw::mon_args(b"127.0.0.20", b"lockd", NLM, [2; 16])
        ),
        Some(Answer::StatRes { res: 0, .. })
    ));

    // 1. 10,000 idle TCP connections.
    let mut conns = Vec::new();
    let mut failed_connects = 0;
    let t = Instant::now();
    let probe = with_probe(&sb, "idle", || {
        for _ in 0..10_000 {
            match attacker_conn(to) {
                Some(c) => conns.push(c),
                None => failed_connects += 1,
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    });
    let rss1 = nsmraw::rss_kib(pid).unwrap();
    // The daemon closed those beyond its limit; count the ones still open.
    let mut refused = 0;
    for c in conns.iter_mut() {
        c.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        match c.read(&mut b) {
            Ok(0) => refused += 1,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            _ => refused += 1,
        }
    }
    let open = conns.len() - refused;
    println!(
        "idle: {} connected ({failed_connects} connects failed) in {:?}; {open} kept open, {refused} closed by the daemon",
        conns.len(),
        t.elapsed()
    );
    report("idle", &probe, (rss0, rss1));
    failed(&probe, "10,000 idle connections", &mut problems);
    assert!(open <= MAX_CONNS, "{open} connections kept over the limit");
    let log = sb.log("statd.log");
    assert!(
        log.contains("refused: ") && log.contains("(limit 1024)"),
        "limit not logged:\n{log}"
    );
    // The idle timeout closes the rest.
    let t = Instant::now();
    let mut still = 0;
    for c in conns.iter_mut() {
        c.set_nonblocking(false).unwrap();
    }
    for c in conns.iter_mut().take(50) {
        if !closed_by_peer(c, Duration::from_secs(8).saturating_sub(t.elapsed())) {
            still += 1;
        }
    }
    println!(
        "idle timeout: sample of 50 closed after {:?}, {still} still open",
        t.elapsed()
    );
    assert_eq!(still, 0, "idle connections not closed by --idle-timeout 4s");
    drop(conns);

    // 2. Slow loris: 1,200 connections (over the limit) each trickling a
    // record mark and a few body bytes, one byte per connection every
    // 300 ms, for 3 s.
    let rss2a = nsmraw::rss_kib(pid).unwrap();
    let probe = with_probe(&sb, "slow loris", || {
        let mut loris: Vec<TcpStream> = (0..1200).filter_map(|_| attacker_conn(to)).collect();
        let mark = 200u32.to_be_bytes();
        let trickle = mark.iter().copied().chain(std::iter::repeat(0x41)).take(10);
        for byte in trickle {
            loris.retain_mut(|c| c.write_all(&[byte]).is_ok());
            std::thread::sleep(Duration::from_millis(300));
        }
        println!(
            "slow loris: {} connections still writable after 3 s",
            loris.len()
        );
    });
    let rss2 = nsmraw::rss_kib(pid).unwrap();
    report("slow loris", &probe, (rss2a, rss2));
    failed(&probe, "slow loris", &mut problems);

    // 3. Record marks of 2 GB (and 2 GB - 1 with the last-fragment bit).
    let probe = with_probe(&sb, "2 GB marks", || {
        for i in 0..20u32 {
            let mut c = attacker_conn(to).expect("connect");
            let mark: u32 = if i % 2 == 0 { 0x7fff_ffff } else { 0xffff_ffff };
            let _ = c.write_all(&mark.to_be_bytes());
            let _ = c.write_all(&[0u8; 4096]);
            let t = Instant::now();
            assert!(
                closed_by_peer(&mut c, Duration::from_secs(2)),
                "a 2 GB record mark was not refused"
            );
            if i == 0 {
                println!("2 GB mark: connection closed after {:?}", t.elapsed());
            }
        }
    });
    let rss3 = nsmraw::rss_kib(pid).unwrap();
    report("2 GB marks", &probe, (rss2, rss3));
    failed(&probe, "2 GB record marks", &mut problems);
    let log = sb.log("statd.log");
    let line = log.lines().find(|l| l.contains("over the limit"));
    println!("2 GB mark logged as: {line:?}");
    assert!(line.is_some(), "no log line for the 2 GB mark");

    // 4. A UDP flood of SM_NOTIFY: spoofed names and ever-changing states
    // of the monitored host, 200,000 datagrams.
    let mut sent = 0u32;
    let t = Instant::now();
    let probe = with_probe(&sb, "notify flood", || {
        let s = nsmraw::udp_from("127.0.0.50:0");
        for i in 0..200_000u32 {
            let args = if i % 2 == 0 {
                nsmraw::notify_args(b"127.0.0.20", (i as i32) | 1)
            } else {
                nsmraw::notify_args(format!("spoof{i}.example").as_bytes(), 3)
            };
            if s.send_to(&nsmraw::call(0x7000_0000 + i, NOTIFY, &args), to)
                .is_ok()
            {
                sent += 1;
            }
            if i % 2000 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    });
    let flood_time = t.elapsed();
    let rss4 = nsmraw::rss_kib(pid).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let rss5 = nsmraw::rss_kib(pid).unwrap();
    println!("notify flood: {sent} datagrams in {flood_time:?}; VmRSS 2 s later {rss5} KiB");
    report("notify flood", &probe, (rss3, rss4));
    failed(&probe, "SM_NOTIFY flood", &mut problems);
    assert!(nsmraw::wait_answer(to, LIVE), "no answer after the flood");
    let log = sb.log("statd.log");
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("<warning>")).collect();
    println!("{} warning lines; last ones:", warnings.len());
    for l in warnings.iter().rev().take(6).rev() {
        println!("  {}", l.chars().take(200).collect::<String>());
    }
    let peak = [rss1, rss2, rss3, rss4, rss5].into_iter().max().unwrap();
    println!("VmRSS: start {rss0} KiB, peak {peak} KiB, end {rss5} KiB");
    assert!(
        peak < rss0 + RSS_GROWTH_KIB,
        "memory grew from {rss0} KiB to {peak} KiB"
    );
    assert!(
        sb.stop(pid, libc::SIGTERM).is_some_and(|s| s.success()),
        "{}",
        sb.log("statd.log")
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
