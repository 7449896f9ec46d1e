//! The program names as scripts see them: what `statmon install-links`
//! installs, what `pgrep` finds, what the HA agent that stops sm-notify
//! ends, that a daemon keeps no descriptor it inherited, and that the
//! install recipe of `compat/systemd/README.md` diverts the paths dpkg
//! really owns.
//!
//! The agent is resource-agents' own `nfsnotify`, run as a cluster manager
//! runs it (`stop`), with `HA_SBIN_DIR` naming a directory of this test's:
//! its stop signals every process whose executable is
//! `$HA_SBIN_DIR/sm-notify`, by psmisc's rule (the inode of
//! `/proc/PID/exe`), so nothing but the processes started here from that
//! copy can match, and when all the names are one inode, rpc.statd too.
#![allow(clippy::unwrap_used)]

mod common;

use common::fake_peer::FakePeer;
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use common::{rpcinfo, start_rpcbind, STATMON};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// resource-agents' nfsnotify agent (start, stop and monitor of
/// sm-notify in Pacemaker clusters).
const NFSNOTIFY_AGENT: &str = "/usr/lib/ocf/resource.d/heartbeat/nfsnotify";

/// What its log says when its stop found sm-notify processes to end.
const AGENT_ENDED_SM_NOTIFY: &str = "previous sm-notify processes terminated";

fn statmon(args: &[&str]) -> Output {
    Command::new(STATMON).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `statmon install-links` (copies) into `dir`, asserting success.
fn install(dir: &Path) {
    let out = statmon(&["install-links", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
}

fn program_names() -> Vec<&'static str> {
    statmon::multicall::DAEMONS.iter().map(|d| d.name).collect()
}

#[test]
fn install_links_installs_a_copy_per_name_with_its_own_inode() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sbin");
    install(&dir);
    let statmon_ino = std::fs::metadata(STATMON).unwrap().ino();
    let mut inodes = Vec::new();
    for name in program_names() {
        let path = dir.join(name);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(
            meta.file_type().is_file(),
            "{} is not a regular file",
            path.display()
        );
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o755,
            "{}",
            path.display()
        );
        assert_eq!(meta.nlink(), 1, "{} is a hard link", path.display());
        assert_ne!(meta.ino(), statmon_ino);
        inodes.push(meta.ino());
        // Each copy runs as the program it is named after: its version,
        // or (mdmpd, which takes no options) its usage.
        if name == "mdmpd" {
            let out = Command::new(&path).arg("-V").output().unwrap();
            assert!(
                String::from_utf8_lossy(&out.stderr).starts_with("Usage: mdmpd\n"),
                "{}",
                text(&out)
            );
            continue;
        }
        // sihmon and sihadm print their version with their manuals' -v
        // (sihadm's takes a type).
        if name == "sihmon" || name == "sihadm" {
            let args: &[&str] = if name == "sihmon" {
                &["-v"]
            } else {
                &["-v", "sihadm"]
            };
            let out = Command::new(&path).args(args).output().unwrap();
            assert!(
                String::from_utf8_lossy(&out.stdout).starts_with("statmon-"),
                "{}",
                text(&out)
            );
            continue;
        }
        let out = Command::new(&path).arg("-V").output().unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with(&format!("{name} (statmon)")),
            "{}",
            text(&out)
        );
    }
    let (statd, notify) = (dir.join("rpc.statd"), dir.join("sm-notify"));
    assert_ne!(
        std::fs::metadata(&statd).unwrap().ino(),
        std::fs::metadata(&notify).unwrap().ino()
    );
    inodes.sort_unstable();
    inodes.dedup();
    assert_eq!(inodes.len(), program_names().len());
    // Our own copies are replaced without asking.
    let again = statmon(&["install-links", dir.to_str().unwrap()]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains(&statd.display().to_string()),
        "{}",
        text(&again)
    );
}

#[test]
fn install_links_symlink_makes_symbolic_links_to_statmon() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bin");
    let out = statmon(&["install-links", "--symlink", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let exe = std::fs::canonicalize(STATMON).unwrap();
    for name in program_names() {
        let path = dir.join(name);
        assert!(std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_link(&path).unwrap(), exe);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!(
                "{} -> {}",
                path.display(),
                exe.display()
            )),
            "{}",
            text(&out)
        );
    }
    // Copies may replace our own links.
    install(&dir);
    assert!(std::fs::symlink_metadata(dir.join("rpc.statd"))
        .unwrap()
        .is_file());
}

#[test]
fn install_links_refuses_a_regular_file_in_the_way_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let theirs = dir.join("sm-notify");
    std::fs::write(&theirs, b"#!/bin/sh\necho theirs\n").unwrap();
    let out = statmon(&["install-links", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&theirs.display().to_string()), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&theirs).unwrap(), b"#!/bin/sh\necho theirs\n");
    assert!(
        !dir.join("rpc.statd").exists(),
        "nothing is installed unless every name can be"
    );
    let out = statmon(&["install-links", "--force", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(&theirs).unwrap(),
        std::fs::read(STATMON).unwrap()
    );
}

#[test]
fn install_links_explains_a_missing_directory() {
    let out = statmon(&["install-links"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].contains("missing DIR"), "{err}");
    assert!(
        lines[1].starts_with("usage: statmon install-links [--symlink] [--force] DIR"),
        "{err}"
    );
    let out = statmon(&["install-links", "--symlink"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = statmon(&["install-links", "--bogus", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--bogus"), "{}", text(&out));
}

#[test]
fn list_names_every_program() {
    let out = statmon(&["--list"]);
    assert!(out.status.success());
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert_eq!(listed, program_names());
    assert!(listed.iter().any(|n| n == "rpc.statd"));
    assert!(listed.iter().any(|n| n == "sm-notify"));
}

/// Pids of processes named exactly `name` (`pgrep -x`).
fn pgrep(name: &str) -> Vec<u32> {
    let out = Command::new("pgrep").args(["-x", name]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Runs the nfsnotify agent's `stop` with `bin` as its sbin directory
/// (and a private `HA_RSCTMP`): whether it said it ended sm-notify
/// processes, and all it printed.
fn agent_stop(bin: &Path, rsctmp: &Path) -> (bool, String) {
    let out = Command::new(NFSNOTIFY_AGENT)
        .arg("stop")
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RESOURCE_INSTANCE", "statmon-test")
        .env("HA_RSCTMP", rsctmp)
        .env("HA_SBIN_DIR", bin)
        .output()
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "nfsnotify stop failed: {said}");
    (said.contains(AGENT_ENDED_SM_NOTIFY), said)
}

/// Whether statd in `sb` answers a null call on 127.0.0.1:`port` (UDP).
fn answers(sb: &Sandbox, port: u16) -> bool {
    rpcinfo(
        sb,
        &["-n", &port.to_string(), "-u", "127.0.0.1", "100024", "1"],
    )
    .contains("ready and waiting")
}

/// Which of `pid`'s descriptors name `file`.
fn fds_naming(pid: u32, file: &Path) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == file))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A command running `program ARGS` inside `sb` with fd 9 open for writing
/// on `held` (as start-statd's `exec 9> /run/rpc.statd.lock` leaves it).
fn with_fd9(sb: &Sandbox, held: &Path, program: &Path, args: &[&str]) -> Command {
    let mut c = sb.command("sh");
    c.args(["-c", "exec 9>\"$0\"; exec \"$@\""])
        .arg(held)
        .arg(program)
        .args(args);
    c
}

/// A plain state directory for a test about process names (the layout's
/// own behaviour is tested elsewhere).
fn state_dir(sb: &Sandbox, name: &str) -> PathBuf {
    let d = sb.dir.path().join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const STATD_PORT: u16 = 20061;

#[test]
fn pgrep_finds_each_program_and_the_ha_agents_stop_ends_only_sm_notify() {
    // psmisc's fuser stands for the psmisc tool the agent's stop runs.
    if !prereq::require(&[
        Need::Sandbox,
        Need::Tool("rpcbind"),
        Need::Tool("rpcinfo"),
        Need::Tool("pgrep"),
        Need::Tool("fuser"),
        Need::File(NFSNOTIFY_AGENT),
    ]) {
        return;
    }
    let mut sb = Sandbox::new();
    start_rpcbind(&mut sb);
    let bin = sb.dir.path().join("sbin");
    install(&bin);
    let held = sb.dir.path().join("held-by-the-parent");
    let rsctmp = sb.dir.path().join("rsctmp");
    std::fs::create_dir_all(&rsctmp).unwrap();

    let statd_dir = state_dir(&sb, "statd");
    let port = STATD_PORT.to_string();
    let cmd = with_fd9(
        &sb,
        &held,
        &bin.join("rpc.statd"),
        &["-F", "-d", "-p", &port, "-P", statd_dir.to_str().unwrap()],
    );
    let statd = sb.spawn(cmd, "statd.log");
    assert!(
        sb.wait_until(10, || answers(&sb, STATD_PORT)),
        "statd did not answer:\n{}",
        sb.log("statd.log")
    );
    assert_eq!(
        fds_naming(statd, &held),
        Vec::<String>::new(),
        "rpc.statd kept fd 9"
    );
    assert!(
        pgrep("rpc.statd").contains(&statd),
        "{:?}",
        pgrep("rpc.statd")
    );
    assert!(!pgrep("sm-notify").contains(&statd));

    // No sm-notify runs: the agent's stop ends nothing, and statd keeps
    // serving.
    let (hit, said) = agent_stop(&bin, &rsctmp);
    assert!(!hit, "the agent's stop signalled something: {said}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(answers(&sb, STATD_PORT), "{}", sb.log("statd.log"));

    // An sm-notify run that keeps retrying a peer that never answers, in a
    // sandbox of its own (rpcbind listens on every address of the first).
    let mut nsb = Sandbox::with_hosts(&[("127.0.0.21", "silent.lab silent")]);
    nsb.enter_net();
    let silent = FakePeer::start("127.0.0.21", false);
    let notify_dir = state_dir(&nsb, "notify");
    std::fs::create_dir_all(notify_dir.join("sm")).unwrap();
    std::fs::write(
        notify_dir.join("sm/silent.lab"),
        format!(
            "{:08x} {:08x} {:08x} {:08x} {} silent.lab client.lab\n",
            u32::from_ne_bytes([127, 0, 0, 1]),
            100_021,
            4,
            16,
            "0".repeat(32)
        ),
    )
    .unwrap();
    let cmd = with_fd9(
        &nsb,
        &held,
        &bin.join("sm-notify"),
        &["-d", "-P", notify_dir.to_str().unwrap()],
    );
    let notifier = nsb.spawn(cmd, "sm-notify.log");
    assert!(
        nsb.wait_until(10, || !silent.got().is_empty()),
        "sm-notify sent nothing:\n{}",
        nsb.log("sm-notify.log")
    );
    assert_eq!(
        fds_naming(notifier, &held),
        Vec::<String>::new(),
        "sm-notify kept fd 9"
    );
    assert!(pgrep("sm-notify").contains(&notifier));
    assert!(!pgrep("rpc.statd").contains(&notifier));
    assert!(!pgrep("sm-notify").contains(&statd));

    let (hit, said) = agent_stop(&bin, &rsctmp);
    assert!(hit, "the agent's stop found no sm-notify: {said}");
    let status = nsb
        .wait_exit(notifier, 10)
        .expect("sm-notify survived the agent's stop (SIGTERM)");
    println!("sm-notify after SIGTERM: {status:?}");
    assert!(
        answers(&sb, STATD_PORT),
        "rpc.statd stopped serving:\n{}",
        sb.log("statd.log")
    );
    let status = sb.stop(statd, libc::SIGTERM).expect("statd did not stop");
    assert_eq!(status.code(), Some(0), "{}", sb.log("statd.log"));
}

#[test]
fn statmon_run_as_statmon_rpc_statd_is_named_rpc_statd() {
    if !prereq::require(&[
        Need::Sandbox,
        Need::Tool("rpcbind"),
        Need::Tool("rpcinfo"),
        Need::Tool("pgrep"),
    ]) {
        return;
    }
    let mut sb = Sandbox::new();
    start_rpcbind(&mut sb);
    let dir = state_dir(&sb, "state");
    let held = sb.dir.path().join("held");
    let port = (STATD_PORT + 1).to_string();
    let cmd = with_fd9(
        &sb,
        &held,
        Path::new(STATMON),
        &[
            "rpc.statd",
            "-F",
            "-d",
            "-p",
            &port,
            "-P",
            dir.to_str().unwrap(),
        ],
    );
    let statd = sb.spawn(cmd, "statd.log");
    assert!(
        sb.wait_until(10, || answers(&sb, STATD_PORT + 1)),
        "statd did not answer:\n{}",
        sb.log("statd.log")
    );
    let comm = std::fs::read_to_string(format!("/proc/{statd}/comm")).unwrap();
    assert_eq!(comm.trim(), "rpc.statd");
    assert!(pgrep("rpc.statd").contains(&statd));
    assert_eq!(fds_naming(statd, &held), Vec::<String>::new(), "kept fd 9");
    let status = sb.stop(statd, libc::SIGTERM).expect("statd did not stop");
    assert_eq!(status.code(), Some(0), "{}", sb.log("statd.log"));
}

/// The paths `compat/systemd/README.md`'s recipe diverts: the last word of
/// each `dpkg-divert --add` line.
fn diverted_in_readme() -> Vec<String> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/systemd/README.md");
    std::fs::read_to_string(&readme)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("dpkg-divert --add"))
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect()
}

#[test]
fn the_readme_recipe_diverts_the_paths_dpkg_owns() {
    let diverted = diverted_in_readme();
    assert_eq!(diverted, ["/sbin/rpc.statd", "/sbin/sm-notify"]);
    if !prereq::require(&[Need::Tool("dpkg"), Need::DebianDaemons]) {
        return;
    }
    let out = Command::new("dpkg")
        .arg("-S")
        .args(&diverted)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let owned: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(_, p)| p.trim().to_string()))
        .collect();
    for path in &diverted {
        assert!(owned.contains(path), "dpkg -S: {owned:?} lacks {path}");
    }
}
