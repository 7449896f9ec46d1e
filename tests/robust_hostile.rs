//! Hostile peers: statmon's rpc.statd on the distribution's layout
//! (running as `statd`, the owner of `sm/`, after binding) gets control procedures from a
//! non-loopback address (10.99.0.1 on a dummy interface inside the
//! sandbox's own network namespace; a veth pair where the kernel has no
//! dummy driver), SM_SIMU_CRASH from an unprivileged
//! port, "statd bounce" callbacks, hostile mon_names (`../`, `%n%s`, NUL,
//! newline, 1,024 and 1,025 bytes), spoofed SM_NOTIFY, and names that try
//! to inject log lines. None may change the store or the state, crash or
//! hang the daemon; the log shows escaped forms only; records are 0600 and
//! the state 0644.
//!
//! Prerequisites are decided by `common::prereq`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::daemon;
use common::layout::{self, StateFile};
use common::nsmraw::{self, Answer, MON, NLM, NOTIFY, SIMU_CRASH, STAT, UNMON, UNMON_ALL};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

const PORT: u16 = 20091;
const FAIL: Answer = Answer::StatRes { res: 1, state: -1 };

/// `(name, bytes)` of every file under the state directory (dot files too,
/// the lock and boot id excepted), for before/after comparisons.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for sub in ["", "sm", "sm.bak"] {
        let d = dir.join(sub);
        for n in nsmraw::file_names(&d, true) {
            let p = d.join(&n);
            if p.is_file() && n != ".statmon.lock" {
                v.push((format!("{sub}/{n}"), std::fs::read(&p).unwrap()));
            }
        }
    }
    v
}

fn ip(sb: &Sandbox, args: &[&str]) -> bool {
    let out = sb.run("ip", args);
    if !out.status.success() {
        println!("ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

#[test]
fn hostile_peers_change_nothing_and_logs_are_escaped() {
    if !prereq::require(&[Need::Sandbox, Need::StatdUser]) {
        return;
    }
    let mut sb = Sandbox::new();
    // A dummy interface if the kernel has them, else a veth pair, both
    // ends inside the sandbox's own network namespace.
    let link = ip(&sb, &["link", "add", "d0", "type", "dummy"])
        || ip(
            &sb,
            &["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
        ) && ip(&sb, &["link", "set", "d1", "up"]);
    let present = link
        && ip(&sb, &["addr", "add", "10.99.0.1/24", "dev", "d0"])
        && ip(&sb, &["link", "set", "d0", "up"]);
    let kernel = Need::Kernel {
        feature: "dummy or veth links",
        present,
    };
    if !prereq::require(&[kernel]) {
        return;
    }
    sb.enter_net();
    let dir = sb.dir.path().join("state");
    let statd = layout::stock(&dir, StateFile::Empty).user.uid;
    let pid = daemon::start_statd(&mut sb, &dir, PORT, &["-d"], "statd.log").expect("started");
    let uid = nsmraw::proc_status(pid, "Uid").unwrap();
    let want = statd.to_string();
    assert_eq!(
        uid.split_whitespace().collect::<Vec<_>>(),
        [want.as_str(); 4],
        "not running as the records' owner"
    );
    let local = nsmraw::local(PORT);
    let remote = SocketAddr::from(([10, 99, 0, 1], PORT));
    // A legitimate registration to protect.
    let mon = nsmraw::mon_args(b"127.0.0.20", b"lockd", NLM, [7; 16]);
    let state = match nsmraw::local_call(local, 1, MON, &mon) {
        Some(Answer::StatRes { res: 0, state }) => state,
        other => panic!("SM_MON: {other:?}\n{}", sb.log("statd.log")),
    };
    let rec = std::fs::metadata(dir.join("sm/127.0.0.20")).unwrap();
    let st = std::fs::metadata(dir.join("state")).unwrap();
    println!(
        "uid {uid}; record mode {:o} uid {}, state mode {:o} uid {}",
        rec.permissions().mode() & 0o777,
        rec.uid(),
        st.permissions().mode() & 0o777,
        st.uid()
    );
    assert_eq!(
        (rec.permissions().mode() & 0o777, rec.uid()),
        (0o600, statd)
    );
    assert_eq!(st.permissions().mode() & 0o777, 0o644);
    let before = snapshot(&dir);

    // From the network: every control procedure refused.
    let net = nsmraw::udp_from("10.99.0.1:0");
    let net_priv = nsmraw::udp_from("10.99.0.1:999");
    let wait = Duration::from_secs(3);
    let mut xid = 100;
    let mut ask = |sock: &std::net::UdpSocket, to: SocketAddr, proc: u32, args: &[u8]| {
        xid += 1;
        nsmraw::udp_call(sock, to, xid, proc, args, wait)
    };
    let unmon = nsmraw::unmon_args(b"127.0.0.20", b"lockd", NLM);
    let unmon_all = nsmraw::unmon_all_args(b"lockd", NLM);
    let other = nsmraw::mon_args(b"evil.lab", b"lockd", NLM, [9; 16]);
    assert_eq!(ask(&net, remote, MON, &other), Some(FAIL), "remote SM_MON");
    assert_eq!(
        ask(&net_priv, remote, MON, &other),
        Some(FAIL),
        "remote SM_MON, port 999"
    );
    let r = ask(&net, remote, UNMON, &unmon);
    assert!(
        matches!(r, Some(Answer::State(_))),
        "remote SM_UNMON: {r:?}"
    );
    let r = ask(&net_priv, remote, UNMON_ALL, &unmon_all);
    assert!(
        matches!(r, Some(Answer::State(_))),
        "remote SM_UNMON_ALL: {r:?}"
    );
    assert_eq!(ask(&net_priv, remote, SIMU_CRASH, &[]), Some(Answer::Void));
    // Local, but from an unprivileged port: SM_SIMU_CRASH ignored.
    let loc = nsmraw::udp_from("127.0.0.1:0");
    assert_eq!(ask(&loc, local, SIMU_CRASH, &[]), Some(Answer::Void));
    // Statd bounce: callbacks to other programs or procedures.
    for cb in [
        (100_005, 1, 1),
        (100_003, 3, 0),
        (100_021, 4, 17),
        (100_021, 99, 16),
        (100_000, 2, 5),
    ] {
        let a = nsmraw::mon_args(b"bounce.lab", b"lockd", cb, [3; 16]);
        assert_eq!(ask(&loc, local, MON, &a), Some(FAIL), "callback {cb:?}");
    }
    // Hostile names, locally: refused, or (for a harmless name) stored as
    // exactly that name. Through the store's own rules.
    let long1024 = vec![b'a'; 1024];
    let long1025 = vec![b'a'; 1025];
    let refused: [&[u8]; 7] = [
        b"../../etc/passwd",
        b"..",
        b"a/../b",
        b"nul\0byte",
        b"new\nline",
        b"tab\there",
        &long1024,
    ];
    for name in refused {
        let a = nsmraw::raw_mon_args(name, b"lockd", NLM);
        assert_eq!(
            ask(&loc, local, MON, &a),
            Some(FAIL),
            "{:?}",
            name.escape_ascii().to_string()
        );
    }
    // 1,025 bytes is over the protocol's limit: not even decoded.
    let r = ask(
        &loc,
        local,
        MON,
        &nsmraw::raw_mon_args(&long1025, b"lockd", NLM),
    );
    println!("1025-byte mon_name: {r:?}");
    assert!(!matches!(r, Some(Answer::StatRes { res: 0, .. })), "{r:?}");
    // my_name with a newline: stored with '_' (nfs-utils), never as two lines.
    let r = ask(
        &loc,
        local,
        MON,
        &nsmraw::raw_mon_args(b"127.0.0.21", b"me\nINJECTED-MY", NLM),
    );
    println!("my_name with a newline: {r:?}");
    // '%n%s' is a legal file name: stored under exactly that name.
    let r = ask(
        &loc,
        local,
        MON,
        &nsmraw::raw_mon_args(b"%n%s%x", b"lockd", NLM),
    );
    println!("%n%s%x: {r:?}");
    // Log injection through SM_STAT and SM_NOTIFY.
    let inject = b"x\nINJECTED-STAT 00:00:00 rpc.statd[1] <error> fake\x1b[31m";
    let _ = ask(&net, remote, STAT, &nsmraw::xdr_string(inject));
    let inject_n = b"y\nINJECTED-NOTIFY\r\x00";
    let mut n_args = nsmraw::xdr_string(inject_n);
    n_args.extend_from_slice(&5i32.to_be_bytes());
    assert_eq!(ask(&net, remote, NOTIFY, &n_args), Some(Answer::Void));
    // SM_NOTIFY spoofed for the monitored host, from the network: a
    // callback may follow (that is the protocol), but nothing is unmonitored
    // and our state does not move.
    assert_eq!(
        ask(
            &net,
            remote,
            NOTIFY,
            &nsmraw::notify_args(b"127.0.0.20", 77)
        ),
        Some(Answer::Void)
    );
    std::thread::sleep(Duration::from_millis(300));

    // Still alive and serving; same state; the protected record unchanged.
    assert!(
        nsmraw::wait_answer(local, Duration::from_secs(2)),
        "daemon not answering"
    );
    assert_eq!(
        nsmraw::local_call(local, 9000, STAT, &nsmraw::stat_args(b"127.0.0.9")),
        Some(Answer::StatRes { res: 0, state })
    );
    assert_eq!(nsmraw::nfs_state(&dir), Some(state), "state changed");
    let after = snapshot(&dir);
    let changed: Vec<&String> = after
        .iter()
        .filter(|f| !before.contains(f))
        .map(|(n, _)| n)
        .collect();
    let gone: Vec<&String> = before
        .iter()
        .filter(|f| !after.contains(f))
        .map(|(n, _)| n)
        .collect();
    println!("files added or changed: {changed:?}; gone: {gone:?}");
    assert!(gone.is_empty(), "files changed or removed: {gone:?}");
    for name in &changed {
        assert!(
            ["sm/127.0.0.21", "sm/%n%s%x"].contains(&name.as_str()),
            "unexpected file {name}"
        );
    }
    for (n, bytes) in &after {
        if n.starts_with("sm") {
            assert_eq!(
                bytes.iter().filter(|&&b| b == b'\n').count(),
                1,
                "{n}: {bytes:?}"
            );
        }
    }
    let r21 = after
        .iter()
        .find(|(n, _)| n == "sm/127.0.0.21")
        .map(|(_, b)| b.clone());
    if let Some(b) = r21 {
        assert!(
            b.ends_with(b" 127.0.0.21 me_INJECTED-MY\n"),
            "{:?}",
            b.escape_ascii().to_string()
        );
    }
    assert!(nsmraw::file_names(&dir.join("sm.bak"), false).is_empty());
    // The log: refusals said, network text escaped, no injected line.
    let log = sb.log("statd.log");
    let refusals = log.lines().filter(|l| l.contains("refused")).count();
    println!("{refusals} refusal lines; sample:");
    for l in log
        .lines()
        .filter(|l| l.contains("refused") || l.contains("INJECTED"))
        .take(12)
    {
        println!("  {}", l.chars().take(220).collect::<String>());
    }
    assert!(refusals >= 8, "refusals not logged:\n{log}");
    assert!(log.contains("10.99.0.1"), "the remote caller is not named");
    for l in log.lines() {
        assert!(!l.starts_with("INJECTED"), "injected log line: {l:?}");
        assert!(
            !l.contains('\u{1b}') && !l.contains('\r') && !l.contains('\0'),
            "raw control bytes: {l:?}"
        );
    }
    assert!(
        log.contains("\\nINJECTED-NOTIFY") || !log.contains("INJECTED-NOTIFY"),
        "SM_NOTIFY name not escaped"
    );
    assert!(sb.stop(pid, libc::SIGTERM).is_some_and(|s| s.success()));
}
