//! `statmon run`: rpc.statd and the portmapper in one process, on one
//! reactor, in a private network + mount namespace on the distribution's
//! layout. Checked with `rpcinfo`, the pid file and the process's log;
//! then the per-daemon exit rules and the command-line errors.

#![allow(clippy::unwrap_used)]

mod common;

use common::layout::{self, StateFile};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use common::{nsm_registered_everywhere, rpcinfo, STATMON};
use std::net::UdpSocket;
use std::process::Command;

const PORT: &str = "20424";

/// A sandbox with the stock layout at `<scratch>/state`, if what it needs
/// is here.
fn sandbox() -> Option<Sandbox> {
    if !prereq::require(&[Need::Sandbox, Need::StatdUser, Need::Tool("rpcinfo")]) {
        return None;
    }
    let sb = Sandbox::new();
    layout::stock(&sb.dir.path().join("state"), StateFile::Empty);
    Some(sb)
}

/// `statmon run "portmap -v" "rpc.statd -F -d -p PORT -P <state>"` inside
/// `sb` (`-v`: the portmapper logs its notices).
fn run_both(sb: &Sandbox, statd_extra: &str) -> Command {
    let state = sb.dir.path().join("state");
    let mut c = sb.command(STATMON);
    c.arg("run").arg("portmap -v").arg(format!(
        "rpc.statd -F -d -p {PORT} -P '{}' {statd_extra}",
        state.display()
    ));
    c
}

/// The log lines of `program` (the name the host gives each line).
fn lines_of<'a>(log: &'a str, program: &str, pid: u32) -> Vec<&'a str> {
    let tag = format!(" {program}[{pid}] ");
    log.lines().filter(|l| l.contains(&tag)).collect()
}

#[test]
fn rpc_statd_and_the_portmapper_share_one_process() {
    let Some(mut sb) = sandbox() else {
        return;
    };
    let pid = sb.spawn(run_both(&sb, ""), "run.log");
    assert!(
        sb.wait_until(10, || nsm_registered_everywhere(&rpcinfo(&sb, &[]))),
        "not registered; log:\n{}",
        sb.log("run.log")
    );
    let listing = rpcinfo(&sb, &["-p"]);
    assert!(
        listing.contains("100000    2   udp    111  portmapper"),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("100024    1   udp  {PORT}  status")),
        "{listing}"
    );
    for (flag, host) in [("-u", "127.0.0.1"), ("-t", "::1")] {
        let out = rpcinfo(&sb, &[flag, host, "100024", "1"]);
        assert!(out.contains("ready and waiting"), "{flag} {host}: {out}");
    }
    // One process: both daemons log under their names with its pid, and
    // rpc.statd's pid file names it.
    let log = sb.log("run.log");
    assert!(
        !lines_of(&log, "portmap", pid).is_empty(),
        "no portmap line:\n{log}"
    );
    assert!(
        lines_of(&log, "rpc.statd", pid)
            .iter()
            .any(|l| l.contains("registered program 100024 version 1 with rpcbind v4")),
        "rpc.statd registered with the hosted portmapper, not an embedded one:\n{log}"
    );
    assert!(!log.contains("serving an embedded portmapper"), "{log}");
    let pid_file = sb.run("cat", &["/run/rpc.statd.pid"]);
    assert_eq!(
        String::from_utf8_lossy(&pid_file.stdout).trim(),
        pid.to_string()
    );
    assert!(sb
        .run("test", &["-S", "/run/rpcbind.sock"])
        .status
        .success());

    // SIGTERM: rpc.statd unregisters from the portmapper beside it, which
    // ends after it; the process exits 0.
    let status = sb.stop(pid, libc::SIGTERM).expect("no exit after SIGTERM");
    let log = sb.log("run.log");
    assert_eq!(status.code(), Some(0), "{log}");
    let statd = lines_of(&log, "rpc.statd", pid);
    assert!(
        statd
            .iter()
            .any(|l| l.contains("unregistered from the portmapper")),
        "{log}"
    );
    assert!(
        statd.iter().any(|l| l.contains("exited with status 0")),
        "{log}"
    );
    let portmap = lines_of(&log, "portmap", pid);
    assert!(
        portmap
            .last()
            .is_some_and(|l| l.contains("the daemons it served have ended")),
        "{log}"
    );
    // rpc.statd gave up root for the whole process, so the socket stays
    // behind; the next start replaces it, as rpcbind does.
    let again = sb.spawn(run_both(&sb, ""), "again.log");
    assert!(
        sb.wait_until(10, || rpcinfo(&sb, &["-p"]).contains("100024")),
        "a second start failed:\n{}",
        sb.log("again.log")
    );
    assert_eq!(
        sb.stop(again, libc::SIGTERM).and_then(|s| s.code()),
        Some(0),
        "{}",
        sb.log("again.log")
    );
}

#[test]
fn a_daemon_that_fails_stops_the_process_with_its_status() {
    let Some(mut sb) = sandbox() else {
        return;
    };
    // rpc.statd's port is taken: it cannot start, so nothing runs.
    sb.enter_net();
    let _taken = UdpSocket::bind(format!("0.0.0.0:{PORT}")).unwrap();
    let pid = sb.spawn(run_both(&sb, ""), "fail.log");
    let status = sb.wait_exit(pid, 10).expect("still running");
    let log = sb.log("fail.log");
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains(&format!(":{PORT}")), "names the port:\n{log}");
    assert!(
        !sb.run("test", &["-e", "/run/rpcbind.sock"])
            .status
            .success(),
        "{log}"
    );
}

/// `statmon run ARGS` (outside any sandbox: it fails before opening
/// anything): exit status and stderr.
fn run_args(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(STATMON)
        .arg("run")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_run_lines_name_what_is_wrong_and_open_nothing() {
    let (code, err) = run_args(&[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("name at least one daemon"), "{err}");
    assert!(err.contains("usage: statmon run"), "{err}");

    let (code, err) = run_args(&["portmap", "sm-notify -d"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("sm-notify runs once and exits"), "{err}");

    let (code, err) = run_args(&["portmap -p 20111", "portmap"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("portmap given twice"), "{err}");

    let (code, err) = run_args(&["nosuchd"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unknown daemon 'nosuchd'"), "{err}");

    let (code, err) = run_args(&["rpc.statd -P '/tmp/unterminated"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unterminated '"), "{err}");

    // A daemon's own error, with its own hint and exit status.
    let (code, err) = run_args(&["portmap", "rpc.statd --bogus"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("rpc.statd: unrecognized option '--bogus'"),
        "{err}"
    );
    assert!(err.contains("Try 'rpc.statd --help'"), "{err}");

    let (code, err) = run_args(&["rpc.statd --help"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("only the daemon can run beside others"),
        "{err}"
    );
}

#[test]
fn portmap_alone_serves_rpcbinds_place_and_exits_0_on_sigterm() {
    let Some(mut sb) = sandbox() else {
        return;
    };
    let mut cmd = sb.command(STATMON);
    cmd.args(["portmap", "-d"]);
    let pid = sb.spawn(cmd, "portmap.log");
    assert!(
        sb.wait_until(10, || rpcinfo(&sb, &["-p"]).contains("111  portmapper")),
        "{}",
        sb.log("portmap.log")
    );
    // A separate rpc.statd registers with it as with rpcbind.
    let state = sb.dir.path().join("state");
    let statd = sb.spawn(
        common::statd_command(
            &sb,
            &["-F", "-d", "-p", PORT, "-P", state.to_str().unwrap()],
        ),
        "statd.log",
    );
    assert!(
        sb.wait_until(10, || nsm_registered_everywhere(&rpcinfo(&sb, &[]))),
        "{}",
        sb.log("statd.log")
    );
    assert!(!sb.log("statd.log").contains("embedded portmapper"));
    assert_eq!(
        sb.stop(statd, libc::SIGTERM).and_then(|s| s.code()),
        Some(0)
    );
    assert!(!rpcinfo(&sb, &["-p"]).contains("100024"), "unregistered");
    let status = sb.stop(pid, libc::SIGTERM).expect("portmap did not exit");
    assert_eq!(status.code(), Some(0), "{}", sb.log("portmap.log"));
    assert!(
        !sb.run("test", &["-e", "/run/rpcbind.sock"])
            .status
            .success(),
        "portmap (root throughout) removes its socket"
    );
}

#[test]
fn mdmpd_beside_rpc_statd_keeps_root_and_both_serve() {
    let Some(mut sb) = sandbox() else {
        return;
    };
    // A stand-in system for mdmpd under STATMON_ROOT (the whole process's).
    let root = sb.dir.path().join("root");
    for d in ["proc", "sys/block/md0/md", "dev", "etc", "run", "var/run"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(
        root.join("proc/mdstat"),
        "Personalities : [multipath]\nmd0 : active multipath sdc[1] sdb[0](F)\n      \
         1048512 blocks [2/1] [_U]\n\nunused devices: <none>\n",
    )
    .unwrap();
    std::fs::write(root.join("etc/mdmpd.conf"), "ACTUATOR dry-run\n").unwrap();
    let mut cmd = run_both(&sb, "");
    cmd.arg("mdmpd").env("STATMON_ROOT", &root);
    let pid = sb.spawn(cmd, "three.log");
    // The portmapper's local socket is under STATMON_ROOT: ask over UDP.
    assert!(
        sb.wait_until(10, || rpcinfo(&sb, &["-u", "127.0.0.1", "100024", "1"])
            .contains("ready and waiting")),
        "{}",
        sb.log("three.log")
    );
    assert!(
        sb.wait_until(10, || lines_of(&sb.log("three.log"), "mdmpd", pid)
            .iter()
            .any(|l| l.contains("Fail event detected on md device /dev/md0"))),
        "{}",
        sb.log("three.log")
    );
    let log = sb.log("three.log");
    assert!(
        lines_of(&log, "rpc.statd", pid)
            .iter()
            .any(|l| l.contains("keeping root")),
        "{log}"
    );
    assert!(
        !log.contains("running as uid"),
        "rpc.statd gave up root:\n{log}"
    );
    let status = Command::new(STATMON)
        .args(["mdmpd", "status"])
        .env("STATMON_ROOT", &root)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    assert!(String::from_utf8_lossy(&status.stdout).contains("sdb"));
    let code = sb.stop(pid, libc::SIGTERM).and_then(|s| s.code());
    assert_eq!(code, Some(0), "{}", sb.log("three.log"));
}
