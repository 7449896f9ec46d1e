//! Reboot notification end to end, in one sandbox: statmon's rpc.statd
//! notifies fake remote hosts (a portmapper and statd on `ADDR:111` each,
//! on loopback addresses of the sandbox), after a simulated reboot and
//! after SM_SIMU_CRASH. The multi-host tests with real peers are in
//! `multihost_notify.rs`.
//!
//! statd runs on the distribution's layout (`common::layout::stock`).
//! Prerequisites are decided by `common::prereq`.
#![allow(clippy::unwrap_used)]

mod common;

use common::daemon;
use common::fake_peer::FakePeer;
use common::layout::{self, StateFile};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use common::smclient::{priv_hex, Reply, SmClient};
use std::path::{Path, PathBuf};
use std::time::Duration;

const PORT: &str = "20044";
const COOKIE: [u8; 16] = *b"notify-cookie-01";

struct Fixture {
    sb: Sandbox,
    smc: &'static SmClient,
    statd: Option<u32>,
    dir: PathBuf,
}

impl Fixture {
    /// A sandbox with the stock layout at `DIR` (statd not started).
    fn new() -> Option<Fixture> {
        if !prereq::require(&[Need::Sandbox, Need::StatdUser]) {
            return None;
        }
        let smc = SmClient::build()?;
        let sb = Sandbox::with_hosts(&[
            ("127.0.0.20", "peerb.lab peerb"),
            ("127.0.0.21", "silentc.lab silentc"),
        ]);
        let dir = sb.dir.path().join("state");
        layout::stock(&dir, StateFile::Empty);
        Some(Fixture {
            sb,
            smc,
            statd: None,
            dir,
        })
    }

    /// Starts statmon (no portmapper here: it serves unregistered) and
    /// waits until it answers.
    fn start(&mut self, extra: &[&str]) {
        self.start_env(extra, &[]);
    }

    fn start_env(&mut self, extra: &[&str], env: &[(&str, &str)]) {
        let mut cmd = daemon::statd(&self.sb, &self.dir, PORT, extra);
        cmd.envs(env.iter().copied());
        let pid = daemon::spawn_answering_smclient(&mut self.sb, self.smc, cmd, PORT, "statd.log");
        self.statd = Some(pid);
    }

    fn stop(&mut self) {
        let pid = self.statd.take().unwrap();
        daemon::stop_cleanly(&mut self.sb, pid, "statd.log");
    }

    fn log(&self) -> String {
        self.sb.log("statd.log")
    }

    fn call(&self, opts: &[&str], rest: &[&str]) -> Reply {
        self.smc.local_udp(&self.sb, PORT, opts, rest)
    }

    fn mon(&self, mon: &str, my: &str) {
        let cookie = priv_hex(&COOKIE);
        let r = self.call(&[], &["mon", mon, my, "100021", "4", "16", &cookie]);
        assert!(
            matches!(r, Reply::StatRes { res_stat: 0, .. }),
            "SM_MON {mon}: {r:?}\n{}",
            self.log()
        );
    }

    fn state(&self) -> i32 {
        read_state(&self.dir)
    }

    fn files(&self, sub: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.join(sub))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(pid) = self.statd.take() {
            self.sb.stop(pid, libc::SIGKILL);
        }
    }
}

fn read_state(dir: &Path) -> i32 {
    let b = std::fs::read(dir.join("state")).unwrap();
    i32::from_ne_bytes(b[..4].try_into().unwrap())
}

#[test]
fn after_a_reboot_every_host_is_notified_and_cleared_as_it_answers() {
    let Some(mut f) = Fixture::new() else {
        return;
    };
    f.sb.enter_net();
    let peer_b = FakePeer::start("127.0.0.20", true);
    let silent = FakePeer::start("127.0.0.21", false);
    let before = monitor_two(&mut f);
    assert!(peer_b.notices().is_empty(), "a plain start notifies nobody");
    fake_reboot(&f);
    f.start(&[]);
    let state = f.state();
    assert_eq!(state, before + 2);
    let got = peer_b.wait_notices(2, Duration::from_secs(10));
    println!("peer b got {got:?}");
    assert_eq!(
        names(&got),
        [("hosta.lab", state), ("hosta", state)],
        "{}",
        f.log()
    );
    assert!(
        got.iter().all(|(from, _, _)| from.port() < 1024),
        "not from a reserved port: {got:?}"
    );
    // The answering host is cleared at once; the silent one stays.
    assert!(
        f.sb.wait_until(5, || f.files("sm.bak") == ["127.0.0.21"]),
        "sm.bak: {:?}\n{}",
        f.files("sm.bak"),
        f.log()
    );
    assert!(f.files("sm").is_empty());
    assert!(silent
        .got()
        .iter()
        .any(|g| matches!(g, common::fake_peer::Got::Lookup { vers: 2, .. })));
    assert!(silent.notices().is_empty());
    // Once it answers, a retransmission or the next round reaches it.
    silent.set_answer(true);
    let late = silent.wait_notices(2, Duration::from_secs(15));
    assert_eq!(
        names(&late),
        [("hosta.lab", state), ("hosta", state)],
        "{}",
        f.log()
    );
    assert!(
        f.sb.wait_until(5, || f.files("sm.bak").is_empty()),
        "{:?}",
        f.files("sm.bak")
    );
    f.stop();
    // A restart does not notify again.
    let seen = peer_b.notices().len();
    f.start(&[]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(peer_b.notices().len(), seen);
    assert_eq!(f.state(), state);
}

#[test]
fn simu_crash_notifies_with_the_new_state_from_the_outgoing_port_as_the_given_name() {
    let Some(mut f) = Fixture::new() else {
        return;
    };
    f.sb.enter_net();
    let peer_b = FakePeer::start("127.0.0.20", true);
    f.start(&["--name", "alias.example", "-o", "20198"]);
    f.mon("peerb", "hosta.lab");
    let before = f.state();
    assert_eq!(f.call(&["-r"], &["simu_crash"]), Reply::Void);
    let got = peer_b.wait_notices(2, Duration::from_secs(10));
    assert_eq!(
        names(&got),
        [("alias.example", before + 2), ("alias", before + 2)],
        "{}",
        f.log()
    );
    assert!(
        got.iter().all(|(from, _, _)| from.port() == 20198),
        "{got:?}"
    );
    assert!(
        f.sb.wait_until(5, || f.files("sm.bak").is_empty()),
        "{:?}",
        f.files("sm.bak")
    );
}

/// Monitors `peerb.lab` and `127.0.0.21` for `hosta.lab`, stops statmon and
/// fakes a reboot; returns the state before.
fn prepare_reboot(f: &mut Fixture) -> i32 {
    let before = monitor_two(f);
    fake_reboot(f);
    before
}

/// Monitors `peerb.lab` and `127.0.0.21` for `hosta.lab` and stops
/// statmon; returns the state.
fn monitor_two(f: &mut Fixture) -> i32 {
    f.start(&[]);
    f.mon("peerb.lab", "hosta.lab");
    f.mon("127.0.0.21", "hosta.lab");
    let state = f.state();
    f.stop();
    state
}

/// Makes the next start a reboot: another boot id is on record.
fn fake_reboot(f: &Fixture) {
    layout::Stock::of(&f.dir).put(layout::BOOT_ID, "an-earlier-boot\n");
}

/// (mon_name, state) of each notice.
fn names(got: &[(std::net::SocketAddr, String, i32)]) -> Vec<(&str, i32)> {
    got.iter().map(|(_, n, s)| (n.as_str(), *s)).collect()
}

/// Runs `statmon ARGS` inside the sandbox to completion (at most `secs`).
fn run_to_end(f: &mut Fixture, args: &[&str], log: &str, secs: u64) -> Option<i32> {
    let mut cmd = f.sb.command(common::STATMON);
    cmd.args(args);
    let pid = f.sb.spawn(cmd, log);
    f.sb.wait_exit(pid, secs).and_then(|s| s.code())
}

#[test]
fn notify_only_mode_notifies_everyone_and_exits() {
    let Some(mut f) = Fixture::new() else {
        return;
    };
    f.sb.enter_net();
    let peer_b = FakePeer::start("127.0.0.20", true);
    let peer_c = FakePeer::start("127.0.0.21", true);
    let before = prepare_reboot(&mut f);
    let dir = f.dir.to_str().unwrap().to_string();
    let code = run_to_end(
        &mut f,
        &[
            "rpc.statd",
            "--notify-only",
            "-F",
            "-d",
            "--config",
            "/dev/null",
            "-P",
            &dir,
        ],
        "notify.log",
        20,
    );
    assert_eq!(code, Some(0), "{}", f.sb.log("notify.log"));
    assert_eq!(f.state(), before + 2);
    assert!(f.files("sm").is_empty() && f.files("sm.bak").is_empty());
    for p in [&peer_b, &peer_c] {
        let got: Vec<String> = p.notices().into_iter().map(|n| n.1).collect();
        assert_eq!(got, ["hosta.lab", "hosta"], "{}", f.sb.log("notify.log"));
    }
}

#[test]
fn sm_notify_personality_retires_records_notifies_and_exits() {
    let Some(mut f) = Fixture::new() else {
        return;
    };
    f.sb.enter_net();
    let peer_b = FakePeer::start("127.0.0.20", true);
    let peer_c = FakePeer::start("127.0.0.21", true);
    let before = monitor_two(&mut f);
    let dir = f.dir.to_str().unwrap().to_string();
    // sm-notify is run once per boot by the boot scripts: it retires every
    // record whatever the boot id says.
    let code = run_to_end(
        &mut f,
        &["sm-notify", "-d", "-P", &dir, "-p", "20199"],
        "sm-notify.log",
        20,
    );
    assert_eq!(code, Some(0), "{}", f.sb.log("sm-notify.log"));
    assert_eq!(f.state(), before + 2);
    assert!(f.files("sm").is_empty() && f.files("sm.bak").is_empty());
    for p in [&peer_b, &peer_c] {
        let got = p.notices();
        assert_eq!(got.len(), 2, "{got:?}\n{}", f.sb.log("sm-notify.log"));
        assert!(got
            .iter()
            .all(|(from, _, s)| from.port() == 20199 && *s == before + 2));
    }
    // Nothing left: a second run changes nothing and exits 0.
    let code = run_to_end(&mut f, &["sm-notify", "-d", "-P", &dir], "again.log", 10);
    assert_eq!(code, Some(0), "{}", f.sb.log("again.log"));
    assert_eq!(f.state(), before + 2);
}

#[test]
fn list_shows_retries_and_clearing_a_host_stops_them() {
    let Some(mut f) = Fixture::new() else {
        return;
    };
    f.sb.enter_net();
    let _peer_b = FakePeer::start("127.0.0.20", true);
    let silent = FakePeer::start("127.0.0.21", false);
    prepare_reboot(&mut f);
    let dir = f.dir.to_str().unwrap().to_string();
    let admin = |args: &[&str]| {
        let mut all = vec!["rpc.statd", "--config", "/dev/null", "-P", dir.as_str()];
        all.extend_from_slice(args);
        std::process::Command::new(common::STATMON)
            .args(&all)
            .output()
            .unwrap()
    };
    let watch_out = f.dir.join("watch.out");
    let mut watch = std::process::Command::new(common::STATMON)
        .args(["rpc.statd", "--config", "/dev/null", "-P", &dir, "--watch"])
        .stdout(std::fs::File::create(&watch_out).unwrap())
        .spawn()
        .unwrap();
    f.start(&[]);
    // The first round (three GETPORTs, 1 + 2 + 2 s) fails; the next is due
    // 5 s after the start.
    let listed = f.sb.wait_until(10, || {
        let out = String::from_utf8_lossy(&admin(&["--list"]).stdout).into_owned();
        out.contains("127.0.0.21: needs notification") && out.contains("1 round(s) tried")
    });
    let out = admin(&["--list"]);
    println!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        listed,
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        f.log()
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("peerb.lab: needs"));

    let cleared = admin(&["--forget", "127.0.0.21"]);
    assert_eq!(cleared.status.code(), Some(0), "{cleared:?}");
    assert!(
        f.sb.wait_until(5, || f.files("sm.bak").is_empty()),
        "{:?}\n{}",
        f.files("sm.bak"),
        f.log()
    );
    let asked = silent.got().len();
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(silent.got().len(), asked, "retries went on after -N");
    let out = String::from_utf8_lossy(&admin(&["--list"]).stdout).into_owned();
    assert!(!out.contains("127.0.0.21"), "{out}");
    // Clearing it again: nothing to clear.
    assert_eq!(admin(&["--forget", "127.0.0.21"]).status.code(), Some(1));

    let _ = watch.kill();
    let _ = watch.wait();
    let watched = std::fs::read_to_string(&watch_out).unwrap();
    println!("-L printed:\n{watched}");
    assert!(watched.contains("127.0.0.21"), "{watched}");
    assert!(
        watched.lines().any(|l| l.starts_with("- 127.0.0.21")),
        "{watched}"
    );
}

#[test]
fn sm_notify_hands_the_reboot_step_to_a_daemon_left_without_it() {
    let Some(mut f) = Fixture::new() else {
        return;
    };
    f.sb.enter_net();
    let peer_b = FakePeer::start("127.0.0.20", true);
    let before = prepare_reboot(&mut f);
    // As the systemd unit starts it: the reboot step is sm-notify's.
    f.start_env(&[], &[("RPC_STATD_NO_NOTIFY", "1")]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(peer_b.notices().is_empty());
    assert_eq!(f.state(), before);
    let dir = f.dir.to_str().unwrap().to_string();
    let code = run_to_end(
        &mut f,
        &["sm-notify", "-d", "-P", &dir],
        "sm-notify.log",
        10,
    );
    assert_eq!(code, Some(0), "{}", f.sb.log("sm-notify.log"));
    let got = peer_b.wait_notices(2, Duration::from_secs(10));
    assert_eq!(got.len(), 2, "{}\n{}", f.log(), f.sb.log("sm-notify.log"));
    assert!(got.iter().all(|(_, _, s)| *s == before + 2), "{got:?}");
    assert_eq!(f.state(), before + 2);
    assert!(
        f.sb.wait_until(5, || f.files("sm.bak") == ["127.0.0.21"]),
        "{:?}",
        f.files("sm.bak")
    );
}

#[test]
fn a_starting_daemon_takes_over_from_a_running_notifier() {
    let Some(mut f) = Fixture::new() else {
        return;
    };
    f.sb.enter_net();
    let _peer_b = FakePeer::start("127.0.0.20", true);
    let silent = FakePeer::start("127.0.0.21", false);
    let before = prepare_reboot(&mut f);
    let dir = f.dir.to_str().unwrap().to_string();
    let mut cmd = f.sb.command(common::STATMON);
    cmd.args(["sm-notify", "-d", "-P", &dir]);
    let notifier = f.sb.spawn(cmd, "sm-notify.log");
    assert!(
        f.sb.wait_until(10, || f.files("sm.bak") == ["127.0.0.21"]),
        "{:?}\n{}",
        f.files("sm.bak"),
        f.sb.log("sm-notify.log")
    );
    assert!(!silent.got().is_empty());
    f.start_env(&[], &[("RPC_STATD_NO_NOTIFY", "1")]);
    let status =
        f.sb.wait_exit(notifier, 5)
            .expect("the notifier did not stop");
    println!("notifier exited: {status:?}");
    assert_eq!(f.state(), before + 2, "one reboot step only");
    silent.set_answer(true);
    let got = silent.wait_notices(1, Duration::from_secs(15));
    assert!(
        !got.is_empty(),
        "{}\n{}",
        f.log(),
        f.sb.log("sm-notify.log")
    );
    assert_eq!(got[0].2, before + 2);
    assert!(
        f.sb.wait_until(5, || f.files("sm.bak").is_empty()),
        "{:?}\n{}",
        f.files("sm.bak"),
        f.log()
    );
}
