//! Differential test: Debian's rpc.statd (the reference) and statmon's
//! rpc.statd run side by side in one sandbox, with one rpcbind and one
//! Linux-style fake lock manager, and get the same table of calls from the
//! rpcgen/libtirpc NSM client. Replies, the callbacks each call caused and
//! the record lines on disk are normalised and compared; every divergence
//! must be one the case table names by its `compat/KNOWN-DIFFS.md` id.
//!
//! Both daemons register 100024 with the same rpcbind (the second one loses
//! or replaces the first); nothing here asks rpcbind for 100024: smclient is
//! given each daemon's port. Callbacks are told apart by time: each case runs
//! against the reference first, its callbacks are collected, then statmon.
//!
//! Both daemons run on the distribution's layout; prerequisites are
//! decided by `common::prereq`.
#![allow(clippy::unwrap_used)]

mod common;

use common::fake_lockd::{Callback, FakeLockd, Options, Style};
use common::layout::{self, StateFile};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use common::smclient::{Reply, SmClient};
use common::wire::{self, Capture, RpcPorts};
use common::{daemon, start_rpcbind};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const DEBIAN_STATD: &str = "/usr/sbin/rpc.statd";
const DEBIAN_PORT: &str = "20024";
const STATMON_PORT: &str = "20034";
/// The `priv` of most registrations, and the one a later SM_MON replaces it with.
const P1: &str = "00112233445566778899aabbccddeeff";
const P2: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
/// How long a case that can cause callbacks waits for them.
const CALLBACK_WAIT: Duration = Duration::from_millis(1500);

/// Where smclient sends a case.
#[derive(Debug, Clone, Copy)]
enum Dest {
    V4,
    V6,
}

/// One call made to both daemons.
struct Case {
    id: &'static str,
    what: &'static str,
    /// smclient options before the address (`-r`, `-b SRC`, `-t SECS`).
    opts: &'static [&'static str],
    dest: Dest,
    proto: &'static str,
    /// The procedure and its arguments.
    args: &'static [&'static str],
    /// The reference's normalised reply (documents what was observed; the
    /// reference is checked against it).
    reference: &'static str,
    /// The KNOWN-DIFFS id that explains statmon differing here (reply,
    /// callbacks or, for SM_MON, the record line), if it does.
    known: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let c = |id, what, opts, dest, proto, args, reference, known| Case {
        id,
        what,
        opts,
        dest,
        proto,
        args,
        reference,
        known,
    };
    use Dest::{V4, V6};
    vec![
        c(
            "null-udp",
            "SM_NULL over UDP",
            &[],
            V4,
            "udp",
            &["null"],
            "void",
            None,
        ),
        c(
            "null-tcp",
            "SM_NULL over TCP",
            &[],
            V4,
            "tcp",
            &["null"],
            "void",
            None,
        ),
        c(
            "stat-literal",
            "SM_STAT of an address literal",
            &[],
            V4,
            "udp",
            &["stat", "127.0.0.20"],
            "res_stat=0 state=S",
            None,
        ),
        c(
            "stat-name",
            "SM_STAT of a name in /etc/hosts",
            &[],
            V4,
            "tcp",
            &["stat", "peerhost"],
            "res_stat=0 state=S",
            None,
        ),
        c(
            "stat-unknown",
            "SM_STAT of a name that does not resolve",
            &[],
            V4,
            "udp",
            &["stat", "nosuchhost.invalid"],
            "res_stat=1 state=S",
            None,
        ),
        c(
            "stat-empty",
            "SM_STAT of the empty name",
            &[],
            V4,
            "udp",
            &["stat", ""],
            "res_stat=1 state=S",
            None,
        ),
        c(
            "stat-slash",
            "SM_STAT of a/b",
            &[],
            V4,
            "udp",
            &["stat", "a/b"],
            "res_stat=1 state=S",
            None,
        ),
        c(
            "mon-valid",
            "SM_MON of a literal, NLM v4 proc 16",
            &[],
            V4,
            "tcp",
            &["mon", "127.0.0.20", "labclient", "100021", "4", "16", P1],
            "res_stat=0 state=S",
            None,
        ),
        c(
            "mon-second-client",
            "SM_MON of the same host for another my_name",
            &[],
            V4,
            "tcp",
            &["mon", "127.0.0.20", "otherclient", "100021", "4", "16", P1],
            "res_stat=0 state=S",
            None,
        ),
        c(
            "mon-name",
            "SM_MON of a name with an alias",
            &[],
            V4,
            "udp",
            &["mon", "otherhost", "labclient", "100021", "4", "16", P1],
            "res_stat=0 state=S",
            None,
        ),
        c(
            "mon-bad-prog",
            "SM_MON with callback program 100099",
            &[],
            V4,
            "tcp",
            &["mon", "127.0.0.30", "labclient", "100099", "4", "16", P1],
            "res_stat=1 state=-1",
            None,
        ),
        c(
            "mon-vers-99",
            "SM_MON with callback version 99",
            &[],
            V4,
            "tcp",
            &["mon", "127.0.0.31", "labclient", "100021", "99", "16", P1],
            "res_stat=0 state=S",
            Some("N3"),
        ),
        c(
            "mon-proc-17",
            "SM_MON with callback procedure 17",
            &[],
            V4,
            "tcp",
            &["mon", "127.0.0.32", "labclient", "100021", "4", "17", P1],
            "res_stat=1 state=-1",
            None,
        ),
        c(
            "mon-dotdot",
            "SM_MON of ../x",
            &[],
            V4,
            "tcp",
            &["mon", "../x", "labclient", "100021", "4", "16", P1],
            "res_stat=1 state=-1",
            None,
        ),
        c(
            "mon-hidden",
            "SM_MON of .hidden",
            &[],
            V4,
            "tcp",
            &["mon", ".hidden", "labclient", "100021", "4", "16", P1],
            "res_stat=1 state=-1",
            None,
        ),
        c(
            "mon-from-127.0.0.2",
            "SM_MON from source 127.0.0.2",
            &["-b", "127.0.0.2"],
            V4,
            "tcp",
            &["mon", "127.0.0.33", "labclient", "100021", "4", "16", P1],
            "res_stat=1 state=-1",
            Some("N1"),
        ),
        c(
            "mon-over-v6",
            "SM_MON over TCP from ::1",
            &[],
            V6,
            "tcp",
            &["mon", "127.0.0.34", "labclient", "100021", "4", "16", P1],
            "res_stat=1 state=-1",
            Some("N1"),
        ),
        c(
            "mon-duplicate",
            "the same SM_MON again",
            &[],
            V4,
            "tcp",
            &["mon", "127.0.0.20", "labclient", "100021", "4", "16", P1],
            "res_stat=0 state=S",
            None,
        ),
        c(
            "mon-new-priv",
            "the same registration with a new priv",
            &[],
            V4,
            "tcp",
            &["mon", "127.0.0.20", "labclient", "100021", "4", "16", P2],
            "res_stat=0 state=S",
            None,
        ),
        c(
            "mon-to-unmon",
            "SM_MON of a host unmonitored next",
            &[],
            V4,
            "tcp",
            &["mon", "127.0.0.35", "labclient", "100021", "4", "16", P1],
            "res_stat=0 state=S",
            None,
        ),
        c(
            "mon-to-keep",
            "SM_MON of a host a remote SM_UNMON names",
            &[],
            V4,
            "tcp",
            &["mon", "127.0.0.36", "labclient", "100021", "4", "16", P1],
            "res_stat=0 state=S",
            None,
        ),
        c(
            "mon-zero",
            "SM_MON of a host notified with state 0",
            &[],
            V4,
            "tcp",
            &["mon", "127.0.0.37", "labclient", "100021", "4", "16", P1],
            "res_stat=0 state=S",
            None,
        ),
        c(
            "unmon-existing",
            "SM_UNMON of a monitored host",
            &[],
            V4,
            "tcp",
            &["unmon", "127.0.0.35", "labclient", "100021", "4", "16"],
            "state=S",
            None,
        ),
        c(
            "unmon-absent",
            "SM_UNMON of a host not monitored",
            &[],
            V4,
            "udp",
            &["unmon", "127.0.0.99", "labclient", "100021", "4", "16"],
            "state=S",
            None,
        ),
        c(
            "unmon-from-127.0.0.2",
            "SM_UNMON from source 127.0.0.2",
            &["-b", "127.0.0.2"],
            V4,
            "tcp",
            &["unmon", "127.0.0.36", "labclient", "100021", "4", "16"],
            "state=S",
            Some("N1"),
        ),
        c(
            "unmon-all",
            "SM_UNMON_ALL of otherclient",
            &[],
            V4,
            "tcp",
            &["unmon_all", "otherclient", "100021", "4", "16"],
            "state=S",
            None,
        ),
        c(
            "simu-crash-unprivileged",
            "SM_SIMU_CRASH from an unreserved port",
            &["-t", "2"],
            V4,
            "udp",
            &["simu_crash"],
            "void",
            None,
        ),
        c(
            "notify-match",
            "SM_NOTIFY of a monitored literal",
            &[],
            V4,
            "udp",
            &["notify", "127.0.0.20", "7"],
            "void",
            None,
        ),
        c(
            "notify-same-state",
            "the same SM_NOTIFY again",
            &[],
            V4,
            "udp",
            &["notify", "127.0.0.20", "7"],
            "void",
            None,
        ),
        c(
            "notify-unknown",
            "SM_NOTIFY of a name that does not resolve",
            &[],
            V4,
            "udp",
            &["notify", "nosuchhost.invalid", "9"],
            "void",
            None,
        ),
        c(
            "notify-from-monitored",
            "SM_NOTIFY of another name sent from a monitored address",
            &["-b", "127.0.0.20"],
            V4,
            "udp",
            &["notify", "renamed.invalid", "9"],
            "void",
            None,
        ),
        c(
            "notify-state-zero",
            "first SM_NOTIFY of a record with state 0",
            &[],
            V4,
            "udp",
            &["notify", "127.0.0.37", "0"],
            "void",
            Some("N10"),
        ),
    ]
}

/// The two daemons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Daemon {
    Debian,
    Statmon,
}

impl Daemon {
    fn port(self) -> &'static str {
        match self {
            Daemon::Debian => DEBIAN_PORT,
            Daemon::Statmon => STATMON_PORT,
        }
    }
}

/// A reply with the daemon's own state shown as `S`.
fn normalise(reply: &Reply, own_state: i32) -> String {
    let st = |s: i32| {
        if s == own_state {
            "S".to_string()
        } else {
            s.to_string()
        }
    };
    match reply {
        Reply::Void => "void".into(),
        Reply::StatRes { res_stat, state } => format!("res_stat={res_stat} state={}", st(*state)),
        Reply::State(s) => format!("state={}", st(*s)),
        Reply::RpcErr { stat, .. } => format!("rpcerr {stat}"),
    }
}

/// A callback without its xid, time or exact source port.
fn describe(c: &Callback) -> String {
    let status = match &c.status {
        Some(st) => format!(
            "mon_name={} state={} priv={}",
            st.mon_name.to_string_lossy(),
            st.state,
            st.cookie
                .0
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
        None => format!("args={} bytes", c.args.len()),
    };
    format!(
        "{:?} prog={} vers={} proc={} {status} loopback={} reserved={} answer={:?}",
        c.transport,
        c.prog,
        c.vers,
        c.proc,
        c.from.ip().is_loopback(),
        c.from.port() < 1024,
        c.answer
    )
}

/// Every record line in `DIR/sm`, grouped by mon_name (field 6).
fn record_lines(state_dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in std::fs::read_dir(state_dir.join("sm")).unwrap() {
        let e = e.unwrap();
        // Dot files are not records (nfs-utils skips them too).
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for line in text.lines() {
            let mon = line.split(' ').nth(5).unwrap_or_default().to_string();
            map.entry(mon).or_default().push(line.to_string());
        }
    }
    for v in map.values_mut() {
        v.sort();
    }
    map
}

struct Lab {
    sb: Sandbox,
    smc: &'static SmClient,
    lockd: FakeLockd,
}

impl Lab {
    fn call(&self, d: Daemon, case: &Case) -> Reply {
        let host = match case.dest {
            Dest::V4 => "127.0.0.1",
            Dest::V6 => "::1",
        };
        let mut args: Vec<&str> = case.opts.to_vec();
        args.extend([host, d.port(), case.proto]);
        args.extend_from_slice(case.args);
        self.smc.run(&self.sb, &args)
    }

    /// Runs `case` against `d`; the normalised reply and the callbacks caused.
    fn run(&self, d: Daemon, case: &Case, own_state: i32) -> (String, Vec<String>) {
        let before = self.lockd.calls().len();
        let reply = self.call(d, case);
        if case.args[0] == "notify" {
            std::thread::sleep(CALLBACK_WAIT);
        }
        let calls = self.lockd.calls()[before..].iter().map(describe).collect();
        (normalise(&reply, own_state), calls)
    }

    fn local_state(&self, d: Daemon) -> i32 {
        let args = ["127.0.0.1", d.port(), "udp", "stat", "127.0.0.1"];
        match self.smc.run(&self.sb, &args) {
            Reply::StatRes { res_stat: 0, state } => state,
            other => panic!("{d:?}: SM_STAT 127.0.0.1 failed: {other:?}"),
        }
    }
}

/// One difference found, and the id that explains it (if any).
struct Divergence {
    case: &'static str,
    detail: String,
    known: Option<&'static str>,
}

#[test]
fn debian_and_statmon_answer_alike() {
    let test = "differential";
    let needs = [
        Need::Sandbox,
        Need::StatdUser,
        Need::Tool("rpcbind"),
        Need::Tool("rpcinfo"),
        Need::DebianDaemons,
    ];
    if !prereq::require(&needs) {
        return;
    }
    let Some(smc) = SmClient::build() else {
        return;
    };
    let mut sb = Sandbox::with_hosts(&[
        ("127.0.0.20", "peerhost"),
        ("127.0.0.21", "otherhost.lab otherhost"),
    ]);
    // The whole run is captured on lo and checked at the end.
    // Without the capture tools the rest still runs; the skip of the wire
    // check is recorded.
    let capture =
        prereq::require(&wire::NEEDS).then(|| Capture::start(&mut sb, "differential", &["lo"]));
    let rpcbind = start_rpcbind(&mut sb);

    // Both daemons run on the distribution's layout.
    let debian_dir = sb.dir.path().join("debian");
    layout::stock(&debian_dir, StateFile::Empty);
    let mut cmd = sb.command(DEBIAN_STATD);
    cmd.args(["-F", "-d", "-L", "-P"])
        .arg(&debian_dir)
        .args(["-p", DEBIAN_PORT, "-o", "20025"]);
    let debian = sb.spawn(cmd, "debian.log");
    assert!(
        sb.wait_until(20, || smc.answers_null(&sb, DEBIAN_PORT)),
        "Debian's statd did not answer: {}",
        sb.log("debian.log")
    );

    // Debian's statd leaves rpcbind, or statmon refuses to start beside it.
    sb.run("rpcinfo", &["-d", "100024", "1"]);
    let statmon_dir = sb.dir.path().join("statmon");
    layout::stock(&statmon_dir, StateFile::Empty);
    let cmd = daemon::statd_may_embed(&sb, &statmon_dir, STATMON_PORT, &["--no-notify"]);
    let statmon = sb.spawn(cmd, "statmon.log");
    assert!(
        sb.wait_until(20, || smc.answers_null(&sb, STATMON_PORT)),
        "statmon's statd did not answer: {}",
        sb.log("statmon.log")
    );

    sb.enter_net();
    let lockd = FakeLockd::start(Style::Linux, Options::default());
    let logs = sb.dir.path().to_path_buf();
    let lab = Lab { sb, smc, lockd };
    // Declared after `lab`, so it runs while the sandbox's files still exist.
    let _logs = LogsOnPanic(logs);
    let debian_state = lab.local_state(Daemon::Debian);
    let statmon_state = lab.local_state(Daemon::Statmon);
    println!("local state: Debian {debian_state}, statmon {statmon_state}");

    let table = cases();
    let mut divergences: Vec<Divergence> = Vec::new();
    let mut in_mon_block = false;
    for case in &table {
        let is_mon = case.args[0] == "mon";
        if in_mon_block && !is_mon {
            compare_records(&table, &debian_dir, &statmon_dir, &mut divergences);
        }
        in_mon_block = is_mon;
        let (ref_reply, ref_calls) = lab.run(Daemon::Debian, case, debian_state);
        let (sm_reply, sm_calls) = lab.run(Daemon::Statmon, case, statmon_state);
        println!(
            "{}: {} | Debian {ref_reply} {ref_calls:?} | statmon {sm_reply} {sm_calls:?}",
            case.id, case.what
        );
        assert_eq!(
            ref_reply,
            case.reference,
            "{}: the reference answered unlike the table; log:\n{}",
            case.id,
            lab.sb.log("debian.log")
        );
        if ref_reply != sm_reply {
            divergences.push(Divergence {
                case: case.id,
                detail: format!("reply: Debian {ref_reply}, statmon {sm_reply}"),
                known: case.known,
            });
        }
        if ref_calls != sm_calls {
            divergences.push(Divergence {
                case: case.id,
                detail: format!("callbacks: Debian {ref_calls:?}, statmon {sm_calls:?}"),
                known: case.known,
            });
        }
    }

    compare_records(&table, &debian_dir, &statmon_dir, &mut divergences);

    let mut cases_diverging: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for d in &divergences {
        println!(
            "divergence {} [{}]: {}",
            d.case,
            d.known.unwrap_or("UNEXPLAINED"),
            d.detail
        );
        let entry = cases_diverging.entry(d.case).or_insert(d.known);
        if d.known.is_none() {
            *entry = None;
        }
    }
    let unexplained = cases_diverging.values().filter(|k| k.is_none()).count();
    let mut ids: Vec<&str> = cases_diverging.values().flatten().copied().collect();
    ids.sort();
    ids.dedup();
    let known = cases_diverging.len() - unexplained;
    println!(
        "differential: {} cases compared, {} identical, {known} known differences ({}), {unexplained} unexplained",
        table.len(),
        table.len() - cases_diverging.len(),
        ids.join(", ")
    );

    let Lab { mut sb, lockd, .. } = lab;
    let lockd_ports = lockd.ports();
    drop(lockd);
    for pid in [statmon, debian, rpcbind] {
        sb.stop(pid, libc::SIGKILL);
    }
    let report = capture.map(|cap| {
        let file = cap.stop(&mut sb);
        let mut ports = RpcPorts::both(&[111, 20024, 20025, 20034]);
        ports.udp.push(lockd_ports.udp);
        ports.tcp.push(lockd_ports.tcp);
        let report = wire::analyse(&file, &ports);
        report.print(test);
        report
    });
    assert_eq!(unexplained, 0, "unexplained divergences, see above");
    if let Some(report) = report {
        check_wire(&report, table.len());
    }
}

/// The capture of the whole run: nothing malformed or undecodable, every
/// case's call and reply seen for both daemons, and the lock manager
/// callbacks the SM_NOTIFY cases caused.
fn check_wire(report: &wire::Report, cases: usize) {
    report.assert_clean("differential");
    let nsm = report.count("NSM v1 ");
    assert!(
        nsm >= 4 * cases,
        "differential: {nsm} NSM messages for {cases} cases run against two daemons"
    );
    assert!(
        report.count("NSM v1 NOTIFY call") >= 10 && report.count("NSM v1 NOTIFY reply") >= 10,
        "differential: SM_NOTIFY calls or replies missing from the capture"
    );
    let callbacks = report.count("NLM v4 NSM_NOTIFY call");
    assert!(
        callbacks >= 2 && report.count("NLM v4 NSM_NOTIFY reply") >= 2,
        "differential: {callbacks} NLM callbacks in the capture"
    );
    assert_eq!(
        report.count("unmatched"),
        0,
        "differential: replies without calls"
    );
}

/// Prints every log of the sandbox when the test fails, so a failure in CI
/// says which daemon did what.
struct LogsOnPanic(std::path::PathBuf);

impl Drop for LogsOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for log in ["rpcbind.log", "debian.log", "statmon.log"] {
            let text = std::fs::read_to_string(self.0.join(log)).unwrap_or_default();
            eprintln!("----- {log} -----\n{text}");
        }
    }
}

/// Compares the record lines of both state directories after the SM_MON
/// cases and at the end. A mon_name whose lines differ is charged to the
/// last case naming it (SM_MON or SM_UNMON), which must carry a known id
/// (file names differ by design, N5, and are not compared).
fn compare_records(table: &[Case], debian: &Path, statmon: &Path, out: &mut Vec<Divergence>) {
    let d = record_lines(debian);
    let s = record_lines(statmon);
    println!("records: Debian {d:?}");
    println!("records: statmon {s:?}");
    let mut names: Vec<&String> = d.keys().chain(s.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let (dl, sl) = (d.get(name), s.get(name));
        if dl == sl {
            continue;
        }
        let case = table.iter().rev().find(|c| {
            matches!(c.args[0], "mon" | "unmon") && c.args.get(1) == Some(&name.as_str())
        });
        out.push(Divergence {
            case: case.map_or("records", |c| c.id),
            detail: format!("record lines for {name}: Debian {dl:?}, statmon {sl:?}"),
            known: case.and_then(|c| c.known),
        });
    }
}
