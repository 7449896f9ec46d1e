//! rpc.statd on the distribution's own layout (`common::layout::stock`: a
//! root-owned state directory, `sm/` and `sm.bak/` owned by `statd`,
//! `state` owned by `statd` or absent), in a sandbox of its own: every start
//! path works there, the daemon runs as `statd` once its ports are bound,
//! nothing is written into the root-owned directory after the drop, and
//! Debian's rpc.statd started afterwards on the same directory loads the
//! same records and state.
#![allow(clippy::unwrap_used)]

mod common;

use common::fake_peer::FakePeer;
use common::layout::{self, StateFile, Stock};
use common::prereq::{self, Need};
use common::sandbox::{which, Sandbox};
use common::smclient::{priv_hex, Reply, SmClient};
use common::{daemon, nsmraw};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

const PORT: &str = "20064";
const COOKIE: [u8; 16] = *b"stock-layout-001";

/// What every test here needs: a sandbox, the `statd` user, Debian's
/// daemons (the layout is nfs-common's), and rpcgen with libtirpc for the
/// SM client. Missing ones are skipped and counted, or fail under CI.
fn can_run() -> bool {
    prereq::require(&[
        Need::Sandbox,
        Need::StatdUser,
        Need::DebianDaemons,
        Need::Tool("rpcgen"),
        Need::TirpcHeaders,
    ])
}

struct Fixture {
    sb: Sandbox,
    smc: &'static SmClient,
    statd: Option<u32>,
    stock: Stock,
}

impl Fixture {
    fn new(state: StateFile) -> Option<Fixture> {
        if !can_run() {
            return None;
        }
        let smc = SmClient::build().expect("smclient builds (rpcgen, libtirpc)");
        let sb = Sandbox::with_hosts(&[
            ("127.0.0.20", "peerb.lab peerb"),
            ("127.0.0.21", "silentc.lab silentc"),
        ]);
        let stock = layout::stock(&sb.dir.path().join("nfs"), state);
        Some(Fixture {
            sb,
            smc,
            statd: None,
            stock,
        })
    }

    fn dir(&self) -> String {
        self.stock.dir.to_str().unwrap().to_string()
    }

    fn start(&mut self, extra: &[&str]) -> u32 {
        let mut cmd = daemon::statd(&self.sb, &self.stock.dir, PORT, extra);
        cmd.env("STATMON_DIALECT", "seed");
        let pid = daemon::spawn_answering_smclient(&mut self.sb, self.smc, cmd, PORT, "statd.log");
        self.statd = Some(pid);
        pid
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

    fn mon(&self, mon: &str) {
        let cookie = priv_hex(&COOKIE);
        let r = self.call(
            &[],
            &["mon", mon, "hosta.lab", "100021", "4", "16", &cookie],
        );
        assert!(
            matches!(r, Reply::StatRes { res_stat: 0, .. }),
            "SM_MON {mon}: {r:?}\n{}",
            self.log()
        );
    }

    fn state(&self) -> i32 {
        let b = std::fs::read(self.stock.dir.join("state")).unwrap();
        i32::from_ne_bytes(b[..4].try_into().unwrap())
    }

    fn records(&self, sub: &str) -> Vec<String> {
        nsmraw::file_names(&self.stock.dir.join(sub), false)
    }

    /// Makes the next start a reboot: another boot id is on record.
    fn fake_reboot(&self) {
        let path = self.stock.sm().join(".statmon-boot-id");
        std::fs::write(&path, "an-earlier-boot\n").unwrap();
        std::os::unix::fs::chown(&path, Some(self.stock.user.uid), None).unwrap();
    }

    /// Runs `statmon ARGS` (seed dialect) in the sandbox to its end.
    fn run_to_end(&mut self, args: &[&str], log: &str, secs: u64) -> Option<i32> {
        let mut cmd = self.sb.command(common::STATMON);
        cmd.args(args).env("STATMON_DIALECT", "seed");
        let pid = self.sb.spawn(cmd, log);
        self.sb.wait_exit(pid, secs).and_then(|s| s.code())
    }

    /// The names in the root-owned state directory.
    fn top_level(&self) -> Vec<String> {
        nsmraw::file_names(&self.stock.dir, true)
    }

    /// The daemon's effective uid.
    fn euid(pid: u32) -> u32 {
        nsmraw::proc_status(pid, "Uid")
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Every file under `sm/` and `sm.bak/` belongs to `statd`, and the
    /// state directory is still root's.
    fn assert_ownership(&self) {
        let uid = self.stock.user.uid;
        assert_eq!(std::fs::metadata(&self.stock.dir).unwrap().uid(), 0);
        for sub in [self.stock.sm(), self.stock.bak()] {
            for e in std::fs::read_dir(&sub).unwrap() {
                let e = e.unwrap();
                assert_eq!(
                    e.metadata().unwrap().uid(),
                    uid,
                    "{} is not statd's",
                    e.path().display()
                );
            }
        }
        assert_eq!(
            std::fs::metadata(self.stock.dir.join("state"))
                .unwrap()
                .uid(),
            uid,
            "state is not statd's"
        );
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(pid) = self.statd.take() {
            self.sb.stop(pid, libc::SIGKILL);
        }
    }
}

fn names(got: &[(std::net::SocketAddr, String, i32)]) -> Vec<(&str, i32)> {
    got.iter().map(|(_, n, s)| (n.as_str(), *s)).collect()
}

#[test]
fn quiet_start_reboot_start_and_simu_crash_run_as_statd() {
    for state in [StateFile::Empty, StateFile::Absent] {
        let Some(mut f) = Fixture::new(state) else {
            return;
        };
        f.sb.enter_net();
        let peer = FakePeer::start("127.0.0.20", true);
        // Quiet start: binds its ports as root, then runs as statd.
        let pid = f.start(&[]);
        assert_eq!(Fixture::euid(pid), f.stock.user.uid, "{}", f.log());
        f.mon("peerb.lab");
        let first = f.state();
        assert_eq!(first % 2, 1);
        assert_eq!(f.records("sm"), ["peerb.lab"]);
        f.assert_ownership();
        f.stop();
        let top = f.top_level();

        // A notifying start after a reboot: the record moves to sm.bak/
        // file by file, the state advances, the peer is told.
        f.fake_reboot();
        let pid = f.start(&[]);
        assert_eq!(Fixture::euid(pid), f.stock.user.uid);
        let got = peer.wait_notices(2, Duration::from_secs(10));
        assert_eq!(
            names(&got),
            [("hosta.lab", first + 2), ("hosta", first + 2)],
            "{}",
            f.log()
        );
        assert_eq!(f.state(), first + 2);
        assert!(
            f.sb.wait_until(5, || f.records("sm.bak").is_empty()),
            "{:?}\n{}",
            f.records("sm.bak"),
            f.log()
        );

        // SM_SIMU_CRASH as statd: the state is rewritten in place.
        f.mon("peerb.lab");
        let ino = std::fs::metadata(f.stock.dir.join("state")).unwrap().ino();
        assert_eq!(f.call(&["-r"], &["simu_crash"]), Reply::Void);
        let got = peer.wait_notices(4, Duration::from_secs(10));
        assert_eq!(got.len(), 4, "{got:?}\n{}", f.log());
        assert_eq!(got[2].2, first + 4);
        assert_eq!(f.state(), first + 4);
        assert_eq!(
            std::fs::metadata(f.stock.dir.join("state")).unwrap().ino(),
            ino
        );
        f.assert_ownership();
        f.stop();
        assert!(!f.log().contains("Permission denied"), "{}", f.log());
        // Nothing new in the root-owned directory after the first start.
        assert_eq!(f.top_level(), top);
    }
}

#[test]
fn notifier_paths_work_on_the_stock_layout() {
    let Some(mut f) = Fixture::new(StateFile::Value(7)) else {
        return;
    };
    f.sb.enter_net();
    let peer = FakePeer::start("127.0.0.20", true);
    let silent = FakePeer::start("127.0.0.21", false);
    let dir = f.dir();
    let line = |host: &str, addr: u32| {
        format!(
            "{addr:08x} 000186a5 00000004 00000010 {} {host} hosta.lab\n",
            "00".repeat(16)
        )
    };
    // sm-notify retires each record and notifies.
    f.stock
        .put_record("sm", "peerb.lab", &line("peerb.lab", 0x7f000001));
    let code = f.run_to_end(&["sm-notify", "-d", "-P", &dir], "sm-notify.log", 20);
    assert_eq!(code, Some(0), "{}", f.sb.log("sm-notify.log"));
    assert_eq!(f.state(), 9);
    assert_eq!(peer.notices().len(), 2, "{}", f.sb.log("sm-notify.log"));
    assert!(f.records("sm").is_empty() && f.records("sm.bak").is_empty());
    f.assert_ownership();

    // Notify-only (the seed's -n) after a reboot.
    f.stock
        .put_record("sm", "peerb.lab", &line("peerb.lab", 0x7f000001));
    f.fake_reboot();
    let code = f.run_to_end(
        &[
            "rpc.statd",
            "-n",
            "-F",
            "-d",
            "--config",
            "/dev/null",
            "-P",
            &dir,
        ],
        "notify-only.log",
        20,
    );
    assert_eq!(code, Some(0), "{}", f.sb.log("notify-only.log"));
    assert_eq!(f.state(), 11);
    assert_eq!(peer.notices().len(), 4);

    // A restart in the middle of notifying a silent host resumes it, and
    // -N clears it through the running daemon.
    f.stock
        .put_record("sm", "silentc.lab", &line("silentc.lab", 0x7f000015));
    f.fake_reboot();
    f.start(&[]);
    assert!(
        f.sb.wait_until(5, || !silent.got().is_empty()),
        "{}",
        f.log()
    );
    assert_eq!(f.records("sm.bak"), ["silentc.lab"]);
    assert!(f
        .sb
        .wait_until(5, || f.stock.sm().join(".statmon-notify").exists()));
    f.stop();
    f.start(&[]);
    assert_eq!(f.state(), 13, "a restart is not a reboot");
    let listed =
        f.sb.run(common::STATMON, &["rpc.statd", "--list", "-P", &dir]);
    let text = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(text.contains("silentc.lab: needs notification"), "{text}");
    let cleared = f.run_to_end(
        &["rpc.statd", "--forget", "silentc.lab", "-P", &dir],
        "clear.log",
        10,
    );
    assert_eq!(cleared, Some(0), "{}", f.sb.log("clear.log"));
    assert!(
        f.sb.wait_until(5, || f.records("sm.bak").is_empty()),
        "{}\n{}",
        f.sb.log("clear.log"),
        f.log()
    );
    f.assert_ownership();
    f.stop();
    assert!(!f.log().contains("Permission denied"), "{}", f.log());
}

#[test]
fn debian_statd_loads_what_statmon_left() {
    let Some(mut f) = Fixture::new(StateFile::Empty) else {
        return;
    };
    f.sb.enter_net();
    let _peer = FakePeer::start("127.0.0.20", true);
    f.start(&[]);
    f.mon("peerb.lab");
    f.mon("127.0.0.21");
    let state = f.state();
    f.stop();
    let rpcbind = f.sb.command("rpcbind");
    let mut rpcbind = rpcbind;
    rpcbind.arg("-f");
    let rpcbind_pid = f.sb.spawn(rpcbind, "rpcbind.log");
    assert!(f.sb.wait_until(10, || common::rpcinfo(&f.sb, &["-p"])
        .contains("111  portmapper")));
    let dir = f.dir();
    let mut debian = f.sb.command(which("rpc.statd").unwrap());
    debian.args(["-F", "-d", "-L", "-P", &dir, "-p", PORT]);
    let pid = f.sb.spawn(debian, "debian.log");
    let up =
        f.sb.wait_until(10, || f.sb.log("debian.log").contains("Waiting for client"));
    let log = f.sb.log("debian.log");
    assert!(up, "{log}");
    assert!(log.contains("Loaded 2 previously monitored hosts"), "{log}");
    assert!(
        log.contains(&format!("Local NSM state number: {state}")),
        "{log}"
    );
    assert_eq!(Fixture::euid(pid), f.stock.user.uid, "{log}");
    f.sb.stop(pid, libc::SIGTERM);
    f.sb.stop(rpcbind_pid, libc::SIGTERM);
}

#[test]
fn apple_store_in_a_root_owned_directory() {
    if !can_run() {
        return;
    }
    let smc = SmClient::build().expect("smclient builds");
    let sb = Sandbox::with_hosts(&[("127.0.0.20", "peerb.lab peerb")]);
    let db = layout::apple_stock(&sb.dir.path().join("db"));
    let mut f = Fixture {
        sb,
        smc,
        statd: None,
        stock: Stock {
            dir: db.clone(),
            user: layout::statd_user().unwrap(),
        },
    };
    f.sb.enter_net();
    let peer = FakePeer::start("127.0.0.20", true);
    f.start(&["--store-format", "apple"]);
    f.mon("peerb.lab");
    let r = f.call(&["-r"], &["simu_crash"]);
    assert_eq!(r, Reply::Void);
    let got = peer.wait_notices(1, Duration::from_secs(10));
    assert!(!got.is_empty(), "{}", f.log());
    assert!(got[0].2 % 2 == 1, "{got:?}");
    f.stop();
    assert!(db.join("statd.status").is_file());
    assert!(!f.log().contains("Permission denied"), "{}", f.log());
    assert!(Path::new(&db).is_dir());
}
