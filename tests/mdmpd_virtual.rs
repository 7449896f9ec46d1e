//! mdmpd's module on a reactor in virtual time ([`ManualClock`]): the
//! probes of a failed path come exactly every 15 seconds of the clock, a
//! path that reads again is re-added through the actuator, and a member
//! the administrator removes is no longer probed. The stand-in system is
//! a temporary directory: mdstat a regular file, devices files. And the
//! event source is a real kernel POLLPRI where the file raises one.
#![allow(clippy::unwrap_used)]

mod common;

use statmon::mdmpd::actuator::Actuator;
use statmon::mdmpd::core::CoreConfig;
use statmon::mdmpd::module::{MdmpdModule, Paths, Settings};
use statmon::reactor::{ManualClock, ModuleId, Reactor};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const FAILED: &str = "Personalities : [multipath]\n\
    md0 : active multipath sdc[1] sdb[0](F)\n      1048512 blocks [2/1] [_U]\n\n";
const REMOVED: &str = "Personalities : [multipath]\n\
    md0 : active multipath sdc[1]\n      1048512 blocks [2/1] [_U]\n\n";

struct Rig {
    dir: tempfile::TempDir,
    clock: ManualClock,
    reactor: Reactor,
    id: ModuleId,
}

impl Rig {
    fn new(rescan: Duration) -> Rig {
        Rig::watching(rescan, None)
    }

    /// A rig whose "mdstat" is `mdstat` when given.
    fn watching(rescan: Duration, mdstat: Option<PathBuf>) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        for d in ["proc", "sys/block/md0/md", "dev"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("proc/mdstat"), FAILED).unwrap();
        std::fs::write(dir.path().join("dev/sdc"), [1u8; 4096]).unwrap();
        let paths = Paths {
            mdstat: mdstat.unwrap_or_else(|| dir.path().join("proc/mdstat")),
            sys: dir.path().join("sys"),
            dev: dir.path().join("dev"),
            socket: None,
        };
        let settings = Settings {
            core: CoreConfig::default(),
            actuator: Actuator::DryRun,
            program: None,
            probe_timeout: Duration::from_secs(10),
            readd_timeout: Duration::from_secs(60),
            rescan,
        };
        let clock = ManualClock::new(Instant::now());
        let mut reactor = Reactor::new(Box::new(clock.clone())).unwrap();
        let id = reactor
            .add_module(Box::new(MdmpdModule::new(paths, settings, None)))
            .unwrap();
        Rig {
            dir,
            clock,
            reactor,
            id,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn module(&mut self) -> &mut MdmpdModule {
        self.reactor.module::<MdmpdModule>(self.id).unwrap()
    }

    fn probes(&mut self) -> u64 {
        self.module().core().stats().probes
    }

    /// Turns the reactor until the work out on the pool is answered (real
    /// time passes for the threads; the clock does not move).
    fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            self.reactor.turn(Some(Duration::from_millis(5))).unwrap();
            if self.module().core().outstanding() == 0 || Instant::now() > deadline {
                break;
            }
        }
        self.reactor.turn(Some(Duration::ZERO)).unwrap();
    }

    /// Moves the clock one second at a time for `secs` seconds, returning
    /// the probe count after each second.
    fn run_seconds(&mut self, secs: u64) -> Vec<u64> {
        (0..secs)
            .map(|_| {
                self.clock.advance(Duration::from_secs(1));
                self.settle();
                self.probes()
            })
            .collect()
    }
}

#[test]
fn probes_come_every_15_seconds_of_the_clock_until_the_path_reads() {
    let mut rig = Rig::new(Duration::from_secs(3600));
    rig.settle();
    assert_eq!(rig.probes(), 0, "no probe at the failure itself");
    let counts = rig.run_seconds(45);
    // Seconds 1..=45 after the failure: a probe at 15, 30 and 45.
    for (i, n) in counts.iter().enumerate() {
        let second = i as u64 + 1;
        assert_eq!(*n, second / 15, "after {second} s: {counts:?}");
    }
    let s = rig.module().core().stats();
    assert_eq!((s.probes, s.probe_failures, s.readds), (3, 3, 0));

    // The device reads again: the next probe succeeds and the re-add runs.
    std::fs::write(rig.path("dev/sdb"), [2u8; 4096]).unwrap();
    let counts = rig.run_seconds(15);
    assert_eq!(counts[13], 3);
    assert_eq!(counts[14], 4);
    rig.settle();
    let s = rig.module().core().stats();
    assert_eq!((s.probe_failures, s.readds), (3, 1), "{s:?}");
}

#[test]
fn a_member_the_administrator_removes_is_not_probed_again() {
    let mut rig = Rig::new(Duration::from_secs(5));
    rig.settle();
    assert_eq!(rig.run_seconds(15).last(), Some(&1));
    std::fs::write(rig.path("proc/mdstat"), REMOVED).unwrap();
    // The rescan at 20 s sees it gone; no probe at 30, 45 or 60.
    let counts = rig.run_seconds(45);
    assert!(counts.iter().all(|n| *n == 1), "{counts:?}");
    let status = rig.module().core().render_status(Instant::now());
    assert!(!status.contains("sdb"), "{status}");
}

#[test]
fn a_real_pollpri_wakes_a_scan_without_the_timer() {
    use common::prereq::{self, Need};
    if !prereq::require(&[Need::Sandbox, Need::Tool("mount")]) {
        return;
    }
    // /proc/PID/mounts raises POLLPRI when its mount table changes, as
    // /proc/mdstat does on md events; a sandbox has a mount table of its
    // own to change.
    let sb = common::sandbox::Sandbox::new();
    let mounts = PathBuf::from(format!("/proc/{}/mounts", sb.holder_pid()));
    let mut rig = Rig::watching(Duration::from_secs(3600), Some(mounts));
    rig.settle();
    let before = rig.module().core().stats().scans;
    assert_eq!(before, 1, "the start's scan");
    let target = sb.dir.path().join("mnt");
    std::fs::create_dir_all(&target).unwrap();
    let out = sb.run("mount", &["-t", "tmpfs", "tmpfs", target.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while rig.module().core().stats().scans == before && Instant::now() < deadline {
        rig.reactor.turn(Some(Duration::from_millis(20))).unwrap();
    }
    assert!(
        rig.module().core().stats().scans > before,
        "no scan after the kernel's POLLPRI (the clock never moved)"
    );
}
