//! rpc.statd's start, as `rpcinfo` and a second statd see it:
//! - the first SM_NULL answer comes only once NSM is registered: at that
//!   moment `rpcinfo -p` lists 100024 and `rpcinfo -u` reaches it, with
//!   rpcbind running and with none (the embedded portmapper serves);
//! - SIGTERM right after start ends the daemon promptly, with or without
//!   a portmapper;
//! - a statd registered and answering in another process (statmon's or
//!   Debian's) is not replaced: the second start exits 1, naming its port
//!   and pid.
#![allow(clippy::unwrap_used)]

mod common;

use common::nsmraw::{self, Answer};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use common::{daemon, rpcinfo};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const PORT: u16 = 20_124;
const SECOND_PORT: u16 = 20_126;
const DEBIAN_STATD: &str = "/sbin/rpc.statd";

/// A sandbox, or `None` when a prerequisite is missing (skipped and
/// counted, or a failure under CI: see `common::prereq`). `needs` comes
/// after the sandbox's own.
fn sandbox(needs: &[Need]) -> Option<Sandbox> {
    let all: Vec<Need> = [Need::Sandbox].iter().chain(needs).copied().collect();
    prereq::require(&all).then(Sandbox::new)
}

/// Starts rpcbind and waits until it lists itself on port 111 (rpcinfo's
/// "can't contact portmapper" also names the portmapper, so
/// `common::start_rpcbind`'s check alone can pass before rpcbind listens,
/// and statd would then find port 111 refused).
fn start_rpcbind(sb: &mut Sandbox) {
    common::start_rpcbind(sb);
    assert!(
        sb.wait_until(10, || rpcinfo(sb, &["-p"]).contains("111  portmapper")),
        "rpcbind does not list itself on port 111: {}",
        sb.log("rpcbind.log")
    );
}

fn state_dir(sb: &Sandbox, name: &str) -> PathBuf {
    let dir = sb.dir.path().join(name);
    for sub in ["sm", "sm.bak"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    dir
}

/// Starts statmon's rpc.statd on `port` with state directory `dir` (the
/// test defaults; with no rpcbind it may serve its embedded portmapper).
fn spawn_statd(
    sb: &mut Sandbox,
    dir: &std::path::Path,
    port: u16,
    extra: &[&str],
    log: &str,
) -> u32 {
    let cmd = daemon::statd_may_embed(sb, dir, port, extra);
    sb.spawn(cmd, log)
}

/// Sends SM_NULL to `to` every 2 ms until the first answer (or `within`
/// passes); the calling thread must be in the sandbox's network.
fn first_answer(to: SocketAddr, within: Duration) -> bool {
    let s = nsmraw::udp_from("127.0.0.1:0");
    s.set_read_timeout(Some(Duration::from_millis(2))).unwrap();
    let deadline = Instant::now() + within;
    let mut xid = 0x5354_0000u32;
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        xid += 1;
        let _ = s.send_to(&nsmraw::call(xid, 0, &[]), to);
        // Any answer counts, even to an earlier xid: it is the first one.
        while let Ok((n, _)) = s.recv_from(&mut buf) {
            if nsmraw::decode(0, &buf[..n]).is_some_and(|(_, a)| a == Answer::Void) {
                return true;
            }
        }
    }
    false
}

/// At the first SM_NULL answer, `rpcinfo -p` and `rpcinfo -u` already see
/// program 100024.
fn registered_at_first_answer(test: &str, with_rpcbind: bool) {
    let needs: &[Need] = if with_rpcbind {
        &[Need::Tool("rpcinfo"), Need::Tool("rpcbind")]
    } else {
        &[Need::Tool("rpcinfo")]
    };
    let Some(mut sb) = sandbox(needs) else {
        return;
    };
    if with_rpcbind {
        start_rpcbind(&mut sb);
    }
    let dir = state_dir(&sb, "state");
    let pid = spawn_statd(&mut sb, &dir, PORT, &[], "statd.log");
    sb.enter_net();
    assert!(
        first_answer(nsmraw::local(PORT), Duration::from_secs(10)),
        "{test}: statd never answered SM_NULL\n{}",
        sb.log("statd.log")
    );
    let dump = rpcinfo(&sb, &["-p", "127.0.0.1"]);
    let ping = rpcinfo(&sb, &["-u", "127.0.0.1", "100024", "1"]);
    let log = sb.log("statd.log");
    assert!(
        dump.lines()
            .any(|l| l.split_whitespace().take(2).eq(["100024", "1"])),
        "{test}: SM_NULL answered before rpcinfo -p lists 100024:\n{dump}\n{log}"
    );
    assert!(
        ping.contains("ready and waiting"),
        "{test}: SM_NULL answered before rpcinfo -u reaches 100024:\n{ping}\n{log}"
    );
    if !with_rpcbind {
        assert!(
            log.contains("no rpcbind") && log.contains("embedded portmapper"),
            "{test}: the log says why it serves a portmapper:\n{log}"
        );
    }
    let status = sb.stop(pid, libc::SIGTERM).expect("statd did not stop");
    assert!(
        status.success(),
        "{test}: {status:?}\n{}",
        sb.log("statd.log")
    );
}

#[test]
fn registered_at_the_first_answer_with_rpcbind() {
    registered_at_first_answer("startup-rpcbind", true);
}

#[test]
fn registered_at_the_first_answer_without_rpcbind() {
    registered_at_first_answer("startup-no-rpcbind", false);
}

/// SIGTERM at once after the spawn and right after the first answer: the
/// daemon is gone within 5 s (a liveness bound, not a benchmark).
fn sigterm_right_after_start(test: &str, with_rpcbind: bool, extra: &[&str]) {
    let needs: &[Need] = if with_rpcbind {
        &[Need::Tool("rpcbind")]
    } else {
        &[]
    };
    let Some(mut sb) = sandbox(needs) else {
        return;
    };
    if with_rpcbind {
        start_rpcbind(&mut sb);
    }
    let dir = state_dir(&sb, "state");
    let pid = spawn_statd(&mut sb, &dir, PORT, extra, "early.log");
    std::thread::sleep(Duration::from_millis(5));
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::TERM,
    );
    assert!(
        sb.wait_exit(pid, 5).is_some(),
        "{test}: statd still runs 5 s after an early SIGTERM\n{}",
        sb.log("early.log")
    );
    let pid = spawn_statd(&mut sb, &dir, PORT, extra, "statd.log");
    sb.enter_net();
    assert!(
        first_answer(nsmraw::local(PORT), Duration::from_secs(10)),
        "{test}: statd never answered\n{}",
        sb.log("statd.log")
    );
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::TERM,
    );
    let status = sb.wait_exit(pid, 5);
    assert!(
        status.is_some_and(|s| s.success()),
        "{test}: statd did not exit cleanly within 5 s of SIGTERM: {status:?}\n{}",
        sb.log("statd.log")
    );
}

#[test]
fn sigterm_right_after_start_exits_promptly() {
    sigterm_right_after_start("sigterm-rpcbind", true, &[]);
    sigterm_right_after_start("sigterm-embedded", false, &[]);
    sigterm_right_after_start("sigterm-unregistered", false, &["--no-embedded-portmap"]);
}

/// A second statmon on another directory and port exits 1 naming the
/// first statd's port and pid; the first goes on serving.
fn second_statd_is_refused(test: &str, first_is_debian: bool) {
    let needs: &[Need] = if first_is_debian {
        &[
            Need::Tool("rpcinfo"),
            Need::Tool("rpcbind"),
            Need::DebianDaemons,
        ]
    } else {
        &[Need::Tool("rpcinfo"), Need::Tool("rpcbind")]
    };
    let Some(mut sb) = sandbox(needs) else {
        return;
    };
    start_rpcbind(&mut sb);
    let first_dir = state_dir(&sb, "first");
    let first = if first_is_debian {
        let mut cmd = sb.command(DEBIAN_STATD);
        cmd.args(["-F", "-d", "--no-notify", "-P"])
            .arg(&first_dir)
            .args(["-p", &PORT.to_string()]);
        sb.spawn(cmd, "first.log")
    } else {
        spawn_statd(&mut sb, &first_dir, PORT, &[], "first.log")
    };
    assert!(
        sb.wait_until(10, || rpcinfo(&sb, &["-u", "127.0.0.1", "100024", "1"])
            .contains("ready and waiting")),
        "{test}: the first statd did not register\n{}",
        sb.log("first.log")
    );
    let second_dir = state_dir(&sb, "second");
    let second = spawn_statd(&mut sb, &second_dir, SECOND_PORT, &[], "second.log");
    let status = sb.wait_exit(second, 10);
    let log = sb.log("second.log");
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "{test}: the second statd must exit 1\n{log}"
    );
    assert!(
        log.contains("already running")
            && log.contains(&format!("port {PORT}"))
            && log.contains(&format!("pid {first}")),
        "{test}: the message names the running statd's port {PORT} and pid {first}:\n{log}"
    );
    sb.enter_net();
    assert!(
        nsmraw::wait_answer(nsmraw::local(PORT), Duration::from_secs(2)),
        "{test}: the first statd stopped serving\n{}",
        sb.log("first.log")
    );
    let dump = rpcinfo(&sb, &["-p", "127.0.0.1"]);
    assert!(
        dump.contains(&format!("100024    1   udp  {PORT}")),
        "{test}: 100024 still names the first statd:\n{dump}"
    );
    assert!(
        std::fs::read_dir(second_dir.join("sm"))
            .unwrap()
            .next()
            .is_none(),
        "{test}: the refused statd wrote no record"
    );
}

#[test]
fn a_running_statmon_is_not_replaced() {
    second_statd_is_refused("second-after-statmon", false);
}

#[test]
fn a_running_debian_statd_is_not_replaced() {
    second_statd_is_refused("second-after-debian", true);
}
