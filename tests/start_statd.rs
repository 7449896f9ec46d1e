//! nfs-common's own `/usr/sbin/start-statd`, which `mount.nfs` runs when
//! statd seems down, run twice against statmon's rpc.statd.
//!
//! `start-statd` takes a `flock` on `/run/rpc.statd.lock` as fd 9, then,
//! unless `/run/rpc.statd.pid` names a live process, execs
//! `rpc.statd --no-notify`. A daemon that kept fd 9 would hold the lock for
//! ever and every later `start-statd` would wait on it. Here, in a sandbox
//! (its own network and mount namespaces, a tmpfs `/run` without
//! `/run/systemd/system`), statmon's `rpc.statd` copy is bind-mounted over
//! the file start-statd's PATH finds, and a private stock layout over
//! `/var/lib/nfs` (the default state directory), so the host's programs and
//! records are untouched. The daemon detaches, so it is not our child: it
//! is stopped by the pid in the sandbox's `/run/rpc.statd.pid`, after
//! checking that this pid lives in the sandbox's network namespace.
#![allow(clippy::unwrap_used)]

mod common;

use common::layout::{self, StateFile};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use common::{rpcinfo, start_rpcbind, STATMON};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const START_STATD: &str = "/usr/sbin/start-statd";

/// start-statd's own PATH.
const START_STATD_PATH: &str = "/sbin:/usr/sbin:/bin:/usr/bin";

/// What the test needs: a sandbox, the tools start-statd and the test use,
/// nfs-common's start-statd and an rpc.statd on its PATH, and the `statd`
/// user. Missing ones are skipped and counted, or fail under CI.
fn can_run() -> bool {
    prereq::require(&[
        Need::Sandbox,
        Need::Tool("rpcbind"),
        Need::Tool("rpcinfo"),
        Need::Tool("flock"),
        Need::Tool("mount"),
        Need::File(START_STATD),
        Need::DebianDaemons,
        Need::StatdUser,
    ]) && {
        assert!(
            rpc_statd_on_path().is_some(),
            "no rpc.statd on start-statd's PATH {START_STATD_PATH} though nfs-common is installed"
        );
        true
    }
}

/// The file start-statd's `exec rpc.statd` runs (symlinks resolved, so the
/// bind mount lands on the file itself).
fn rpc_statd_on_path() -> Option<PathBuf> {
    START_STATD_PATH
        .split(':')
        .map(|d| Path::new(d).join("rpc.statd"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// The daemon start-statd left running, stopped when dropped.
struct Detached {
    pid: u32,
}

impl Drop for Detached {
    fn drop(&mut self) {
        for sig in [rustix::process::Signal::TERM, rustix::process::Signal::KILL] {
            let Some(pid) = rustix::process::Pid::from_raw(self.pid as i32) else {
                return;
            };
            let _ = rustix::process::kill_process(pid, sig);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if !Path::new(&format!("/proc/{}", self.pid)).exists() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Runs start-statd inside `sb`; its exit code, or `None` if it had not
/// exited after `secs` (it is then killed when the sandbox is dropped).
fn start_statd(sb: &mut Sandbox, log: &str, secs: u64) -> Option<i32> {
    let cmd = sb.command(START_STATD);
    let pid = sb.spawn(cmd, log);
    sb.wait_exit(pid, secs).map(|s| s.code().unwrap_or(-1))
}

/// The pid in the sandbox's `/run/rpc.statd.pid`.
fn pid_in_pid_file(sb: &Sandbox) -> Option<u32> {
    let out = sb.run("cat", &["/run/rpc.statd.pid"]);
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn net_ns(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()
}

#[test]
fn start_statd_twice_starts_one_daemon_and_then_returns_at_once() {
    if !can_run() {
        return;
    }
    let mut sb = Sandbox::new();
    start_rpcbind(&mut sb);

    let bin = sb.dir.path().join("sbin");
    let out = Command::new(STATMON)
        .args(["install-links", bin.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let target = rpc_statd_on_path().unwrap();
    let copy = bin.join("rpc.statd");
    let out = sb.run(
        "mount",
        &["--bind", copy.to_str().unwrap(), target.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "bind over {}: {out:?}",
        target.display()
    );

    let nfs = layout::stock(&sb.dir.path().join("var-lib-nfs"), StateFile::Empty);
    let nfs_dir = nfs.dir.to_str().unwrap().to_string();
    let out = sb.run("mkdir", &["-p", "/var/lib/nfs"]);
    assert!(out.status.success(), "{out:?}");
    let out = sb.run("mount", &["--bind", &nfs_dir, "/var/lib/nfs"]);
    assert!(out.status.success(), "bind over /var/lib/nfs: {out:?}");
    let out = sb.run("test", &["!", "-e", "/run/systemd/system"]);
    assert!(out.status.success(), "the sandbox's /run has systemd in it");

    // First run: nothing runs, so it execs rpc.statd --no-notify, whose
    // parent exits 0 once the daemon serves.
    let first = start_statd(&mut sb, "first.log", 20);
    let pid = pid_in_pid_file(&sb);
    let daemon = pid
        .filter(|&p| net_ns(p).is_some() && net_ns(p) == net_ns(sb.holder_pid()))
        .map(|pid| Detached { pid });
    assert_eq!(first, Some(0), "first start-statd: {}", sb.log("first.log"));
    let daemon = daemon.expect("/run/rpc.statd.pid names no process of the sandbox");
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", daemon.pid)).unwrap();
    assert_eq!(comm.trim(), "rpc.statd");
    let dump = rpcinfo(&sb, &["-u", "127.0.0.1", "100024", "1"]);
    assert!(dump.contains("ready and waiting"), "{dump}");
    let lock_fds: Vec<String> = std::fs::read_dir(format!("/proc/{}/fd", daemon.pid))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|t| t == Path::new("/run/rpc.statd.lock"))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        lock_fds.is_empty(),
        "the daemon holds the lock file as fd {lock_fds:?}"
    );

    // Second run: the lock is free and the pid file names a live process.
    let second = start_statd(&mut sb, "second.log", 10);
    assert_eq!(
        second,
        Some(0),
        "second start-statd (None: it waited on /run/rpc.statd.lock): {}",
        sb.log("second.log")
    );
    assert_eq!(
        pid_in_pid_file(&sb),
        Some(daemon.pid),
        "a second daemon started"
    );
    drop(daemon);
}
