//! The loader contract in virtual time: sihmon's module on a reactor with
//! a [`ManualClock`], real loader scripts (exit 0, exit 3, a hang, a file
//! that cannot be executed) run as real processes. Retries come exactly
//! every `max(10, -t)` seconds of the clock; `-r` failures in a row
//! disable the link until SC_READDB; `-r 0` retries for ever; a hung
//! loader is killed after twice the interval.
#![allow(clippy::unwrap_used)]

#[path = "common/sihmon_sac.rs"]
mod sac;

use sac::{Sac, PATIENCE, TAG};
use statmon::reactor::{ManualClock, ModuleId, Reactor};
use statmon::sihmon::core::link::{LinkState, LoaderEnd};
use statmon::sihmon::core::{Config, Engine, LinkStatus};
use statmon::sihmon::logfile::{Logs, RotatingFile};
use statmon::sihmon::module::{Setup, SihmonModule};
use statmon::sihmon::tables::TableFiles;
use statmon::sihmon::wire::{PmState, SacMsg, ScType};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

struct Rig {
    sac: Sac,
    clock: ManualClock,
    reactor: Reactor,
    id: ModuleId,
    pmpipe: std::fs::File,
}

impl Rig {
    /// One link `l1` whose loader is `bin/load` running `body` (`RUNS`
    /// in it names the file counting the runs).
    fn new(body: &str, timeout: u64, retries: u32) -> Rig {
        Rig::capped(body, timeout, retries, statmon::sihmon::logfile::TRACE_MAX)
    }

    /// As [`Rig::new`], the trace and state files capped at `cap` bytes.
    fn capped(body: &str, timeout: u64, retries: u32, cap: u64) -> Rig {
        let sac = Sac::new();
        let count = sac.path("runs");
        let runs = count.display().to_string();
        sac.script(
            "load",
            &format!("echo run >> {runs}\n{}", body.replace("RUNS", &runs)),
        );
        sac.device("l1");
        let load = sac.path("bin/load");
        sac.pmtab(&Sac::link("l1", "", load.to_str().unwrap()));
        Rig::on(sac, timeout, retries, cap)
    }

    fn on(sac: Sac, timeout: u64, retries: u32, cap: u64) -> Rig {
        let rw = |p: &std::path::Path| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(p)
                .unwrap()
        };
        let tables = TableFiles {
            pm_dir: sac.pm(""),
            hdlclabs: sac.path("var/sadm/terms/hdlclabs"),
            hdlcdefs: sac.path("etc/hdlcdefs"),
            ttydefs: sac.path("etc/ttydefs"),
        };
        let first = tables.read().unwrap();
        std::fs::create_dir_all(sac.var("")).unwrap();
        let setup = Setup {
            tag: TAG.into(),
            pmpipe: sac.pm("_pmpipe"),
            sacpipe: rw(&sac.path("etc/saf/_sacpipe")),
            tables,
            dev: sac.path("dev"),
            socket: None,
            fault: None,
        };
        let log = RotatingFile::open(&sac.var("log"), 1 << 20).unwrap();
        let logs = Logs::new(Some(log), sac.var("trace"), sac.var("state"), 2, false).capped(cap);
        let engine = Engine::new(Config::new(timeout, retries), TAG, PmState::ENABLED);
        let clock = ManualClock::new(Instant::now());
        let mut reactor = Reactor::new(Box::new(clock.clone())).unwrap();
        let module = SihmonModule::new(setup, engine, logs, first);
        let id = reactor.add_module(Box::new(module)).unwrap();
        let pmpipe = rw(&sac.pm("_pmpipe"));
        Rig {
            sac,
            clock,
            reactor,
            id,
            pmpipe,
        }
    }

    fn status(&mut self) -> LinkStatus {
        let m = self.reactor.module::<SihmonModule>(self.id).unwrap();
        m.engine().status(Some("l1"))[0].clone()
    }

    fn runs(&self) -> usize {
        self.sac.read(&self.sac.path("runs")).lines().count()
    }

    /// Turns the reactor until `cond` (real time bounded by PATIENCE).
    fn until(&mut self, what: &str, mut cond: impl FnMut(&mut Rig) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !cond(self) {
            assert!(
                Instant::now() < deadline,
                "never {what}: {:?}\n{}",
                self.status(),
                self.sac.log()
            );
            self.reactor.turn(Some(Duration::from_millis(10))).unwrap();
        }
    }

    /// Moves the clock and lets due timers fire.
    fn advance(&mut self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
        for _ in 0..3 {
            self.reactor.turn(Some(Duration::from_millis(5))).unwrap();
        }
    }

    fn settled(&mut self, state: LinkState) {
        self.until(state.name(), |r| r.status().state == state);
    }
}

#[test]
fn a_loader_exiting_0_loads_the_link_once() {
    let mut r = Rig::new("exit 0", 10, 0);
    r.settled(LinkState::Loaded);
    assert_eq!(r.status().last, Some(LoaderEnd::Code(0)));
    for _ in 0..10 {
        r.advance(100);
    }
    assert_eq!(r.runs(), 1);
    let dev = r.sac.read(&r.sac.path("dev/l1"));
    assert!(dev.contains("loadmode 1"), "{dev}");
    assert!(dev.contains("hdlc address=3 window=7"), "{dev}");
    assert!(dev.contains("tty 9600 cs8 cread hupcl"), "{dev}");
    let state = r.sac.read(&r.sac.var("state"));
    assert!(state.contains("l1 LOADING->LOADED rc=0"), "{state}");
}

#[test]
fn failures_retry_every_ten_seconds_for_ever_with_r_0() {
    // -t 3 is raised to 10.
    let mut r = Rig::new("exit 3", 3, 0);
    for n in 1..=20 {
        r.settled(LinkState::Retry);
        assert_eq!(r.runs(), n);
        assert_eq!(r.status().failures, n as u32);
        assert_eq!(r.status().last, Some(LoaderEnd::Code(3)));
        r.advance(9);
        assert_eq!(r.runs(), n, "not before 10 s");
        r.advance(1);
        r.until("the next run", |r| r.runs() == n + 1);
    }
}

#[test]
fn r_failures_disable_the_link_and_readdb_enables_it() {
    let mut r = Rig::new("exit 3", 25, 3);
    for n in 1..=2 {
        r.settled(LinkState::Retry);
        assert_eq!(r.runs(), n);
        r.advance(24);
        assert_eq!(r.runs(), n);
        r.advance(1);
    }
    r.settled(LinkState::Disabled);
    assert_eq!(r.runs(), 3);
    r.advance(1000);
    assert_eq!(r.runs(), 3, "a disabled link is left alone");
    assert!(r.sac.log().contains("internally DISABLED after 3"));
    r.pmpipe
        .write_all(&SacMsg::new(ScType::READDB).encode())
        .unwrap();
    r.until("a run after SC_READDB", |r| r.runs() == 4);
    r.settled(LinkState::Retry);
    assert_eq!(r.status().failures, 1, "the count starts again");
}

#[test]
fn a_hung_loader_is_killed_after_twice_the_interval() {
    // The first run hangs; the second loads.
    let mut r = Rig::new(
        "[ \"$(wc -l < RUNS)\" -gt 1 ] && exit 0\nexec sleep 1000",
        10,
        0,
    );
    r.until("the loader running", |r| r.runs() == 1);
    r.settled(LinkState::Loading);
    r.advance(19);
    assert_eq!(r.status().state, LinkState::Loading);
    r.advance(1);
    r.settled(LinkState::Retry);
    assert_eq!(r.status().last, Some(LoaderEnd::Signal(9)));
    assert!(r.sac.log().contains("still running after 20 s, killed"));
    r.advance(10);
    r.until("the next run", |r| r.runs() == 2);
    r.settled(LinkState::Loaded);
}

#[test]
fn a_loader_that_cannot_be_executed_is_a_failure() {
    let sac = Sac::new();
    sac.device("l1");
    let plain = sac.path("bin/plain");
    std::fs::write(&plain, "not a program").unwrap();
    sac.pmtab(&Sac::link("l1", "", plain.to_str().unwrap()));
    let mut r = Rig::on(sac, 10, 2, statmon::sihmon::logfile::TRACE_MAX);
    r.settled(LinkState::Retry);
    assert_eq!(r.status().last, Some(LoaderEnd::NotStarted));
    r.advance(10);
    r.settled(LinkState::Disabled);
    assert!(r.sac.log().contains("cannot execute"), "{}", r.sac.log());
}

#[test]
fn switching_the_device_off_and_on_loads_it_again() {
    let mut r = Rig::new("exit 0", 10, 0);
    r.settled(LinkState::Loaded);
    let dev = r.sac.path("dev/l1");
    let text = r.sac.read(&dev);
    std::fs::write(&dev, text.replace("power on", "power off")).unwrap();
    r.settled(LinkState::Off);
    let text = r.sac.read(&dev);
    std::fs::write(&dev, text.replace("power off", "power on")).unwrap();
    r.until("a second run", |r| r.runs() == 2);
    r.settled(LinkState::Loaded);
}

#[test]
fn trace_and_state_rotate_to_alt_at_their_cap() {
    let mut r = Rig::capped("exit 3", 10, 0, 600);
    for n in 1..=8 {
        r.settled(LinkState::Retry);
        r.advance(10);
        r.until("the next run", |r| r.runs() == n + 1);
    }
    for name in ["trace", "state"] {
        let alt = r.sac.read(&r.sac.var(&format!("{name}.alt")));
        let now = r.sac.read(&r.sac.var(name));
        assert!(
            !alt.is_empty() && alt.len() <= 600,
            "{name}.alt: {} bytes",
            alt.len()
        );
        assert!(now.len() <= 600, "{name}: {} bytes", now.len());
        assert!(alt
            .lines()
            .chain(now.lines())
            .all(|l| l.starts_with("INFO ") || l.starts_with("WARN ")));
    }
}
