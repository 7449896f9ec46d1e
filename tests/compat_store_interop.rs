//! Store interoperability with Debian's nfs-utils 2.6.2: a monitor list
//! written by one implementation is served or notified by the other.
//!
//! 1. Debian's rpc.statd writes the records, statmon's rpc.statd reads them:
//!    SM_NOTIFY of each host calls the lock manager back exactly as
//!    registered, statmon's state is Debian's (or a later odd one), SM_UNMON
//!    removes the records.
//! 2. The reverse: statmon writes, Debian's rpc.statd serves the callbacks.
//! 3. statmon writes, Debian's sm-notify notifies every host with the
//!    record's my_name and the state it wrote, and empties `sm.bak/`.
//! 4. Debian writes, statmon's `sm-notify` personality notifies.
//!
//! Each test runs in its own sandbox (tests/common/sandbox.rs) with a
//! Linux-style fake lock manager or fake remote hosts, drives the daemons
//! with the rpcgen/libtirpc client and prints every log when it fails. The
//! state directory is the distribution's layout (`common::layout::stock`);
//! prerequisites are decided by `common::prereq`.
#![allow(clippy::unwrap_used)]

mod common;

use common::fake_lockd::{Callback, FakeLockd, Options, Style};
use common::fake_peer::FakePeer;
use common::layout::{self, StateFile};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use common::smclient::{priv_hex, Reply, SmClient};
use common::{daemon, start_rpcbind, STATMON};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

const DEBIAN_STATD: &str = "/usr/sbin/rpc.statd";
const DEBIAN_SM_NOTIFY: &str = "/usr/sbin/sm-notify";
/// The NSM port of whichever statd runs.
const PORT: &str = "20054";
/// How long a statd may take to call the lock manager back.
const CALLBACK_WAIT: Duration = Duration::from_secs(10);
/// How long the lock manager is then watched for extra callbacks.
const QUIET_WAIT: Duration = Duration::from_millis(700);

/// The sandbox's /etc/hosts (besides localhost). The lab peers of tests 3
/// and 4 live on these addresses.
const HOSTS: &[(&str, &str)] = &[
    ("127.0.0.20", "peer20"),
    ("127.0.0.21", "peerhost"),
    ("127.0.0.22", "client.lab client"),
];

/// One SM_MON: the monitored host, who asks, the callback version, the priv.
#[derive(Debug, Clone, Copy)]
struct Reg {
    mon: &'static str,
    my: &'static str,
    vers: u32,
    cookie: [u8; 16],
}

/// The registrations of tests 1 and 2: an address literal, a name from
/// /etc/hosts registered twice (two my_names, two versions), a dotted
/// name; four different privs.
const REGS: &[Reg] = &[
    Reg {
        mon: "127.0.0.20",
        my: "srv-a",
        vers: 4,
        cookie: *b"interop-literal1",
    },
    Reg {
        mon: "peerhost",
        my: "srv-a",
        vers: 4,
        cookie: *b"interop-peerhst1",
    },
    Reg {
        mon: "peerhost",
        my: "srv-b",
        vers: 3,
        cookie: *b"interop-peerhst2",
    },
    Reg {
        mon: "client.lab",
        my: "srv-b",
        vers: 4,
        cookie: *b"interop-dotted-1",
    },
];

/// Which rpc.statd runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Statd {
    Debian,
    Statmon,
}

/// A sandbox with one state directory, at most one statd at a time, and
/// the logs printed if the test fails.
struct Bench {
    sb: Sandbox,
    smc: &'static SmClient,
    dir: PathBuf,
    statd: Option<u32>,
    /// Programs started so far (numbers the log files).
    started: usize,
}

impl Bench {
    /// The bench on the stock layout (`common::layout::stock`), or `None`
    /// when the test cannot run here (see `common::prereq`).
    fn new(needs: &[Need]) -> Option<Bench> {
        let mut all = vec![Need::Sandbox, Need::StatdUser];
        all.extend_from_slice(needs);
        if !prereq::require(&all) {
            return None;
        }
        let smc = SmClient::build()?;
        let sb = Sandbox::with_hosts(HOSTS);
        let dir = sb.dir.path().join("state");
        layout::stock(&dir, StateFile::Empty);
        Some(Bench {
            sb,
            smc,
            dir,
            statd: None,
            started: 0,
        })
    }

    fn next_log(&mut self, what: &str) -> String {
        self.started += 1;
        format!("{:02}-{what}.log", self.started)
    }

    /// Starts a statd on the state directory (registering with the
    /// sandbox's rpcbind, which must be running) and waits until it
    /// answers; returns its log file name.
    fn start(&mut self, which: Statd) -> String {
        assert!(self.statd.is_none(), "a statd is running");
        let dir = self.dir.to_str().unwrap().to_string();
        let cmd = match which {
            Statd::Debian => {
                let mut c = self.sb.command(DEBIAN_STATD);
                c.args(["-F", "-d", "-L", "-P", &dir, "-p", PORT]);
                c
            }
            Statd::Statmon => daemon::statd_may_embed(&self.sb, &dir, PORT, &[]),
        };
        let log = self.next_log(match which {
            Statd::Debian => "debian-statd",
            Statd::Statmon => "statmon",
        });
        self.statd = Some(self.sb.spawn(cmd, &log));
        let up = self
            .sb
            .wait_until(15, || self.smc.answers_null(&self.sb, PORT));
        assert!(up, "{which:?} statd did not answer\n{}", self.logs());
        log
    }

    /// Stops the statd with SIGTERM and waits for it.
    fn stop(&mut self) {
        let pid = self.statd.take().expect("no statd running");
        let status = self.sb.stop(pid, libc::SIGTERM);
        assert!(status.is_some(), "statd did not stop\n{}", self.logs());
    }

    /// Runs `program ARGS` inside to its end (up to `secs`); its exit code.
    fn run_to_end(&mut self, program: &str, args: &[&str], what: &str, secs: u64) -> Option<i32> {
        let mut cmd = self.sb.command(program);
        cmd.args(args);
        let log = self.next_log(what);
        let pid = self.sb.spawn(cmd, &log);
        let status = self.sb.wait_exit(pid, secs);
        if status.is_none() {
            self.sb.stop(pid, libc::SIGKILL);
        }
        status.and_then(|s| s.code())
    }

    fn call(&self, args: &[&str]) -> Reply {
        let mut all = vec!["127.0.0.1", PORT, "tcp"];
        all.extend_from_slice(args);
        self.smc.run(&self.sb, &all)
    }

    /// SM_MON of every registration; panics unless each succeeds.
    fn mon_all(&self, regs: &[Reg]) {
        for r in regs {
            let vers = r.vers.to_string();
            let cookie = priv_hex(&r.cookie);
            let reply = self.call(&["mon", r.mon, r.my, "100021", &vers, "16", &cookie]);
            assert!(
                matches!(reply, Reply::StatRes { res_stat: 0, .. }),
                "SM_MON {r:?}: {reply:?}\n{}",
                self.logs()
            );
        }
    }

    /// SM_UNMON of every registration; panics unless each is answered.
    fn unmon_all(&self, regs: &[Reg]) {
        for r in regs {
            let vers = r.vers.to_string();
            let reply = self.call(&["unmon", r.mon, r.my, "100021", &vers, "16"]);
            assert!(
                matches!(reply, Reply::State(_)),
                "SM_UNMON {r:?}: {reply:?}\n{}",
                self.logs()
            );
        }
    }

    /// The running statd's state (SM_STAT of 127.0.0.1).
    fn local_state(&self) -> i32 {
        match self.call(&["stat", "127.0.0.1"]) {
            Reply::StatRes { res_stat: 0, state } => state,
            other => panic!("SM_STAT 127.0.0.1: {other:?}\n{}", self.logs()),
        }
    }

    /// The state file (4 bytes, native endian).
    fn disk_state(&self) -> i32 {
        let b = std::fs::read(self.dir.join("state")).unwrap();
        i32::from_ne_bytes(b[..4].try_into().unwrap())
    }

    /// `(file, text)` of every record file in `sm/` or `sm.bak/`.
    fn records(&self, sub: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = std::fs::read_dir(self.dir.join(sub))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read_to_string(e.path()).unwrap_or_default(),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// Every record line in `sub`, sorted.
    fn lines(&self, sub: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .records(sub)
            .iter()
            .flat_map(|(_, t)| t.lines().map(str::to_string).collect::<Vec<_>>())
            .collect();
        v.sort();
        v
    }

    /// Every log so far, oldest first, with headers.
    fn logs(&self) -> String {
        let names = self.sb.log_names(".log");
        names
            .iter()
            .map(|n| format!("----- {n} -----\n{}", self.sb.log(n)))
            .collect()
    }

    /// A fake lock manager in the sandbox, registered with its rpcbind.
    fn fake_lockd(&self) -> FakeLockd {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.sb.enter_net();
                FakeLockd::start(Style::Linux, Options::default())
            })
            .join()
            .expect("fake lockd start")
        })
    }

    /// Fake remote hosts (portmapper + statd on `ADDR:111`), answering.
    fn fake_peers(&self, addrs: &[&str]) -> Vec<FakePeer> {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.sb.enter_net();
                addrs.iter().map(|a| FakePeer::start(a, true)).collect()
            })
            .join()
            .expect("fake peers start")
        })
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "state dir: sm/ {:?} sm.bak/ {:?}\n{}",
                self.records("sm"),
                self.records("sm.bak"),
                self.logs()
            );
        }
        if let Some(pid) = self.statd.take() {
            self.sb.stop(pid, libc::SIGKILL);
        }
    }
}

/// Lines of a reference daemon's log that say it could not use the store
/// (any failure or error, except the absent kernel lockd's
/// `/proc/sys/fs/nfs/nsm_local_state`, which the sandbox does not have).
fn store_complaints(log: &str) -> Vec<&str> {
    const WORDS: [&str; 7] = [
        "fail", "bad ", "invalid", "corrupt", "unable", "error", "cannot",
    ];
    log.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.contains("nsm_local_state") && WORDS.iter().any(|w| l.contains(w))
        })
        .collect()
}

/// SM_NOTIFY of each monitored host (a distinct odd state each) to the
/// running statd: the lock manager gets exactly one callback per
/// registration of that host, as registered.
fn notify_each_host(b: &Bench, lockd: &FakeLockd, regs: &[Reg]) {
    let hosts: Vec<&str> = regs
        .iter()
        .map(|r| r.mon)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for (i, host) in hosts.iter().enumerate() {
        let state = 101 + 2 * i as i32;
        let want: Vec<&Reg> = regs.iter().filter(|r| r.mon == *host).collect();
        let before = lockd.calls().len();
        let reply = b.call(&["notify", host, &state.to_string()]);
        assert_eq!(reply, Reply::Void, "SM_NOTIFY {host}\n{}", b.logs());
        lockd.wait_calls(before + want.len(), CALLBACK_WAIT);
        std::thread::sleep(QUIET_WAIT);
        let got: Vec<Callback> = lockd.calls()[before..].to_vec();
        for c in &got {
            println!("  SM_NOTIFY {host} {state}: lockd got {c}");
        }
        assert_eq!(
            got.len(),
            want.len(),
            "SM_NOTIFY {host}: want one callback per registration {want:?}\n{}",
            b.logs()
        );
        for r in want {
            let m: Vec<&Callback> = got
                .iter()
                .filter(|c| c.status.as_ref().is_some_and(|s| s.cookie.0 == r.cookie))
                .collect();
            assert_eq!(m.len(), 1, "callbacks for {r:?}: {m:?}\n{}", b.logs());
            let c = m[0];
            let st = c.status.as_ref().unwrap();
            assert_eq!(
                (c.prog, c.vers, c.proc),
                (100_021, r.vers, 16),
                "{c}\n{}",
                b.logs()
            );
            assert_eq!(st.mon_name.as_bytes(), r.mon.as_bytes(), "{c}");
            assert_eq!(st.state, state, "{c}");
            assert!(c.privileged(), "callback not from a reserved port: {c}");
        }
    }
}

/// What tests 1 to 4 need beyond the bench: rpcbind, rpcinfo and Debian's
/// daemons.
const NEEDS: [Need; 3] = [
    Need::Tool("rpcbind"),
    Need::Tool("rpcinfo"),
    Need::DebianDaemons,
];

/// Tests 1 and 2: `writer` makes the records, `reader` serves them.
fn served_by_the_other(test: &str, writer: Statd, reader: Statd) {
    let Some(mut b) = Bench::new(&NEEDS) else {
        return;
    };
    let rpcbind = start_rpcbind(&mut b.sb);
    let lockd = b.fake_lockd();

    b.start(writer);
    b.mon_all(REGS);
    let writer_state = b.local_state();
    b.stop();
    let written = b.records("sm");
    println!("{test}: {writer:?} wrote state {writer_state}, sm/ {written:?}");
    assert_eq!(b.lines("sm").len(), REGS.len(), "{}", b.logs());
    assert_eq!(b.disk_state(), writer_state, "{}", b.logs());

    if reader == Statd::Statmon {
        // As on a Debian host where nfs-utils' sm-notify ran this boot:
        // swapping in statmon is then not a reboot, although statmon has no
        // boot id on record yet.
        let marked = b.sb.run("sh", &["-c", "echo 1 > /run/sm-notify.pid"]);
        assert!(marked.status.success());
    }
    let log = b.start(reader);
    let reader_state = b.local_state();
    if reader == Statd::Statmon {
        assert_eq!(reader_state, writer_state, "not a reboot\n{}", b.logs());
    }
    println!("{test}: {reader:?} reads state {reader_state}");
    assert!(
        reader_state >= writer_state && reader_state % 2 == 1,
        "{reader:?} state {reader_state} after {writer:?}'s {writer_state}\n{}",
        b.logs()
    );
    notify_each_host(&b, &lockd, REGS);
    // Notification does not unmonitor; the files are as written.
    assert_eq!(b.records("sm"), written, "{}", b.logs());
    b.unmon_all(REGS);
    let left = b.records("sm");
    assert!(left.is_empty(), "records left after SM_UNMON: {left:?}");
    // Nothing monitored any more: no callback for a new SM_NOTIFY.
    let before = lockd.calls().len();
    assert_eq!(b.call(&["notify", "peerhost", "201"]), Reply::Void);
    std::thread::sleep(QUIET_WAIT);
    assert_eq!(lockd.calls().len(), before, "callback after SM_UNMON");
    b.stop();
    if reader == Statd::Debian {
        let text = b.sb.log(&log);
        let loaded = format!("Loaded {} previously monitored hosts", REGS.len());
        assert!(
            text.contains(&loaded),
            "Debian's statd did not say {loaded:?}"
        );
        let complaints = store_complaints(&text).join("\n");
        assert!(
            complaints.is_empty(),
            "Debian's statd complained:\n{complaints}"
        );
    }
    drop(lockd);
    b.sb.stop(rpcbind, libc::SIGTERM);
    println!("{test}: ok");
}

#[test]
fn debian_writes_statmon_serves() {
    served_by_the_other(
        "debian_writes_statmon_serves",
        Statd::Debian,
        Statd::Statmon,
    );
}

#[test]
fn statmon_writes_debian_serves() {
    served_by_the_other(
        "statmon_writes_debian_serves",
        Statd::Statmon,
        Statd::Debian,
    );
}

/// The registrations of tests 3 and 4, one per fake peer (mon_name: an
/// address literal, a name, a dotted name; my_names without a dot, so one
/// SM_NOTIFY each).
const PEER_REGS: &[Reg] = &[
    Reg {
        mon: "127.0.0.20",
        my: "srv-a",
        vers: 4,
        cookie: *b"peer-literal-001",
    },
    Reg {
        mon: "peerhost",
        my: "srv-b",
        vers: 4,
        cookie: *b"peer-name-000002",
    },
    Reg {
        mon: "client.lab",
        my: "srv-c",
        vers: 3,
        cookie: *b"peer-dotted-0003",
    },
];
/// The fake peers' addresses, in the order of [`PEER_REGS`].
const PEER_ADDRS: &[&str] = &["127.0.0.20", "127.0.0.21", "127.0.0.22"];

/// Tests 3 and 4: `writer`'s statd makes the records, then the other
/// implementation's sm-notify notifies every peer.
fn notified_by_the_other(test: &str, writer: Statd) {
    let Some(mut b) = Bench::new(&NEEDS) else {
        return;
    };
    // rpcbind only while the records are made: the peers need port 111.
    let rpcbind = start_rpcbind(&mut b.sb);
    b.start(writer);
    b.mon_all(PEER_REGS);
    let before = b.local_state();
    b.stop();
    b.sb.stop(rpcbind, libc::SIGTERM);
    let written = b.lines("sm");
    println!(
        "{test}: {writer:?} wrote state {before}, sm/ {:?}",
        b.records("sm")
    );
    assert_eq!(written.len(), PEER_REGS.len(), "{}", b.logs());

    let peers = b.fake_peers(PEER_ADDRS);
    let dir = b.dir.to_str().unwrap().to_string();
    let (program, args, what) = match writer {
        Statd::Statmon => (
            DEBIAN_SM_NOTIFY,
            vec!["-f", "-d", "-P", &dir],
            "debian-sm-notify",
        ),
        Statd::Debian => (
            STATMON,
            vec!["sm-notify", "-d", "-P", &dir],
            "statmon-sm-notify",
        ),
    };
    let code = b.run_to_end(program, &args, what, 30);
    assert_eq!(code, Some(0), "{what} did not finish\n{}", b.logs());
    let after = b.disk_state();
    println!("{test}: {what} state {before} -> {after}");
    assert!(
        after > before && after % 2 == 1,
        "state {before} -> {after}\n{}",
        b.logs()
    );
    for (reg, peer) in PEER_REGS.iter().zip(&peers) {
        let got = peer.wait_notices(1, Duration::from_secs(5));
        println!("{test}: {} ({}) got {got:?}", peer.addr(), reg.mon);
        let names: Vec<&str> = got.iter().map(|n| n.1.as_str()).collect();
        assert!(
            !got.is_empty() && names.iter().all(|n| *n == reg.my),
            "{}: SM_NOTIFY {got:?}, want my_name {}\n{}",
            peer.addr(),
            reg.my,
            b.logs()
        );
        assert!(
            got.iter().all(|n| n.2 == after),
            "{}: SM_NOTIFY state {got:?}, want {after}\n{}",
            peer.addr(),
            b.logs()
        );
    }
    let (sm, bak) = (b.records("sm"), b.records("sm.bak"));
    assert!(
        sm.is_empty() && bak.is_empty(),
        "records left: sm/ {sm:?} sm.bak/ {bak:?}\n{}",
        b.logs()
    );
    let text = b.sb.log(&format!("{:02}-{what}.log", b.started));
    if writer == Statd::Statmon {
        let retired = text.matches("Retired record for mon_name").count();
        assert_eq!(
            retired,
            PEER_REGS.len(),
            "Debian's sm-notify retired {retired}"
        );
        let complaints = store_complaints(&text).join("\n");
        assert!(complaints.is_empty(), "sm-notify complained:\n{complaints}");
    } else {
        println!("{test}: {what} log:\n{text}");
    }
    println!("{test}: ok");
}

#[test]
fn statmon_writes_debian_sm_notify_notifies() {
    notified_by_the_other("statmon_writes_debian_sm_notify_notifies", Statd::Statmon);
}

#[test]
fn debian_writes_statmon_sm_notify_notifies() {
    notified_by_the_other("debian_writes_statmon_sm_notify_notifies", Statd::Debian);
}
