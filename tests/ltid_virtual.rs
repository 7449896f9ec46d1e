//! ltid's module on a reactor in virtual time ([`ManualClock`]), in one
//! process, on loopback and a temporary volmgr directory: the queue's
//! `LtidProcCmd` lines follow `VM_MQ_DEBUG` message by message; a vmd
//! client that stalls mid-frame is dropped after exactly three heartbeats
//! (300 s of the clock, no waiting); a process attached to the drive
//! table counts in `shm_nattch`, gets the table and every change, and is
//! never dropped for being quiet; as its drive's arbiter it grants a
//! peer's claim over vmd and refuses the next, naming the holder; the
//! drives held are written down, claimed again by the next ltid, and a
//! damaged file is logged and kept aside.
//!
//! The only peer registered is `localhost` (nothing listens on its port
//! 0, so its queries fail at once): no name is looked up beyond
//! /etc/hosts and no packet leaves loopback.
#![allow(clippy::unwrap_used)]

use statmon::ltid::conf::{SharedDrive, VmConf};
use statmon::ltid::module::{LtidModule, Settings};
use statmon::ltid::mq::{LtidMsg, MsgType};
use statmon::ltid::probe::FileProbe;
use statmon::ltid::wire::{Deframer, HostInfo, LocalDrive, Message, Op};
use statmon::ltid::Paths;
use statmon::reactor::{ManualClock, ModuleId, Reactor};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::time::{Duration, Instant};

struct Rig {
    dir: tempfile::TempDir,
    paths: Paths,
    clock: ManualClock,
    reactor: Reactor,
    id: ModuleId,
}

impl Rig {
    fn new() -> Rig {
        Rig::with_notify(None)
    }

    /// A rig whose `shared_drive_notify` is the shell `script`, if given.
    fn with_notify(script: Option<&str>) -> Rig {
        Rig::build(script, None)
    }

    /// A rig whose ltid finds `held` as its reservations file at start.
    fn with_reservations(held: &[u8]) -> Rig {
        Rig::build(None, Some(held))
    }

    fn build(script: Option<&str>, held: Option<&[u8]>) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths {
            volmgr: dir.path().join("volmgr"),
        };
        std::fs::create_dir_all(paths.log_dir()).unwrap();
        if let Some(bytes) = held {
            std::fs::create_dir_all(paths.misc()).unwrap();
            std::fs::write(paths.reservations(), bytes).unwrap();
        }
        if let Some(body) = script {
            let path = paths.notify_script();
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            let mut perms = std::fs::metadata(&path).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(&path, perms).unwrap();
        }
        let drive = dir.path().join("nst0");
        std::fs::write(&drive, "ready A00001\n").unwrap();
        let conf = VmConf {
            servers: vec!["hosta".into(), "localhost".into()],
            scan_ability: 5,
            drives: vec![SharedDrive {
                name: "drv0".into(),
                path: drive,
                robot: Some("TLD".into()),
                down: false,
            }],
            vmd_port: 0,
            ..VmConf::default()
        };
        let mut settings = Settings::new(conf, "hosta".into());
        settings.vmd_addr = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let start = Instant::now();
        let clock = ManualClock::new(start);
        let mut reactor = Reactor::new(Box::new(clock.clone())).unwrap();
        let module = LtidModule::new(paths.clone(), settings, Box::new(FileProbe), start, None);
        let id = reactor.add_module(Box::new(module)).unwrap();
        let mut rig = Rig {
            dir,
            paths,
            clock,
            reactor,
            id,
        };
        rig.turns(5);
        rig
    }

    fn module(&mut self) -> &mut LtidModule {
        self.reactor.module::<LtidModule>(self.id).unwrap()
    }

    fn turns(&mut self, n: usize) {
        for _ in 0..n {
            self.reactor.turn(Some(Duration::from_millis(10))).unwrap();
        }
    }

    /// Moves the clock on by `by` in steps of 5 s, turning each time.
    fn advance(&mut self, by: Duration) {
        let step = Duration::from_secs(5);
        let mut gone = Duration::ZERO;
        while gone < by {
            self.clock.advance(step);
            gone += step;
            self.turns(2);
        }
    }

    fn log(&self) -> String {
        let mut text = String::new();
        for e in std::fs::read_dir(self.paths.log_dir()).unwrap() {
            text.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
        text
    }

    fn queue(&mut self, bytes: &[u8]) {
        UnixDatagram::unbound()
            .unwrap()
            .send_to(bytes, self.paths.queue())
            .unwrap();
        self.turns(3);
    }

    /// A request on the local socket, answered within the turns.
    fn ask(&mut self, m: &Message) -> Message {
        let mut s = UnixStream::connect(self.paths.socket()).unwrap();
        s.write_all(&m.encode()).unwrap();
        s.set_nonblocking(true).unwrap();
        let mut de = Deframer::default();
        for _ in 0..100 {
            self.turns(1);
            let mut buf = [0u8; 65536];
            if let Ok(n) = s.read(&mut buf) {
                de.push(&buf[..n]);
            }
            if let Some(f) = de.next_frame() {
                return f.unwrap().decode().unwrap();
            }
        }
        panic!("no answer to {m:?}");
    }
}

fn show(rig: &mut Rig) -> String {
    match rig.ask(&Message::Show) {
        Message::ShowText(t) => t,
        other => panic!("{other:?}"),
    }
}

fn operate(rig: &mut Rig, op: Op) -> Message {
    rig.ask(&Message::Operate {
        op,
        drive: "drv0".into(),
    })
}

#[test]
fn reservations_are_written_down_and_claimed_again_at_start() {
    let mut rig = Rig::new();
    let file = rig.paths.reservations();
    assert!(!file.exists(), "nothing held, nothing written");
    // hosta arbitrates its drive itself (no other host answers).
    let answer = operate(&mut rig, Op::RESERVE);
    assert_eq!(
        answer,
        Message::Operated {
            ok: true,
            text: "drv0 reserved by hosta".into()
        }
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "statmon ltid reservations 1\ndrv0\n"
    );
    assert!(rig.log().contains("arbiter: drv0: reserved for hosta"));
    let held = std::fs::read(&file).unwrap();
    operate(&mut rig, Op::RELEASE);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "statmon ltid reservations 1\n"
    );

    // A new ltid on the file as it was while held holds the drive again.
    let mut rig = Rig::with_reservations(&held);
    let text = show(&mut rig);
    assert!(text.contains("scanhost=hosta reserved=hosta"), "{text}");
    assert!(text.contains("  hosta UP path=ok reserved"), "{text}");
    assert!(
        rig.log()
            .contains("reserve: drv0: held before the restart; asking its arbiter again"),
        "{}",
        rig.log()
    );
    let again = operate(&mut rig, Op::RESERVE);
    assert!(
        matches!(&again, Message::Operated { ok: false, text } if text == "drv0 is already reserved by hosta"),
        "{again:?}"
    );
}

/// One request to the rig's vmd from a peer, and its answer.
fn to_vmd(rig: &mut Rig, m: &Message) -> Message {
    let vmd: SocketAddr = rig.module().vmd_addr().unwrap();
    let mut s = TcpStream::connect(vmd).unwrap();
    s.write_all(&m.encode()).unwrap();
    s.set_nonblocking(true).unwrap();
    let mut de = Deframer::default();
    for _ in 0..100 {
        rig.turns(1);
        let mut buf = [0u8; 4096];
        if let Ok(n) = s.read(&mut buf) {
            de.push(&buf[..n]);
        }
        if let Some(f) = de.next_frame() {
            return f.unwrap().decode().unwrap();
        }
    }
    panic!("no answer to {m:?}");
}

/// `localhost`'s RESERVE_DRIVE for drv0, from a host online since
/// `online_since_ms` with `scan_ability`, its one drive up and unreserved.
fn claim_by_localhost(online_since_ms: u64, scan_ability: u32) -> Message {
    Message::ReserveDrive {
        info: HostInfo {
            name: "localhost".into(),
            online_since_ms,
            scan_ability,
            drives: vec![LocalDrive {
                name: "drv0".into(),
                up: true,
                path_ok: true,
                reserved: false,
            }],
        },
        drive: "drv0".into(),
    }
}

#[test]
fn the_arbiter_grants_a_peer_over_vmd_and_refuses_the_next_claim_naming_the_holder() {
    let mut rig = Rig::new();
    // `localhost` is registered and resolves to the address it calls from.
    let claim = claim_by_localhost(99, 0);
    let verdict = |holder: &str, text: &str| Message::Verdict {
        drive: "drv0".into(),
        holder: holder.into(),
        text: text.into(),
    };
    assert_eq!(
        to_vmd(&mut rig, &claim),
        verdict("localhost", "drv0 reserved by localhost")
    );
    // Its view does not say it holds the drive yet: the arbiter refuses.
    assert_eq!(
        operate(&mut rig, Op::RESERVE),
        Message::Operated {
            ok: false,
            text: "drv0 is reserved by localhost".into()
        }
    );
    let release = Message::ReleaseDrive {
        host: "localhost".into(),
        drive: "drv0".into(),
    };
    assert_eq!(
        to_vmd(&mut rig, &release),
        verdict("", "drv0 released by localhost")
    );
    assert!(matches!(
        operate(&mut rig, Op::RESERVE),
        Message::Operated { ok: true, .. }
    ));
    assert_eq!(
        to_vmd(&mut rig, &claim),
        verdict("hosta", "drv0 is reserved by hosta")
    );
    assert!(show(&mut rig).contains("reserved=hosta"));
}

#[test]
fn a_claim_whose_arbiter_cannot_be_reached_is_refused_at_once() {
    let mut rig = Rig::new();
    // `localhost` came online first and may scan: its claim makes it the
    // arbiter in hosta's view, and hosta says so instead of deciding.
    let claim = claim_by_localhost(1, 5);
    let Message::Verdict { holder, text, .. } = to_vmd(&mut rig, &claim) else {
        panic!("no verdict");
    };
    assert_eq!(
        (holder.as_str(), text.as_str()),
        (
            "",
            "hosta does not arbitrate drv0 now (its arbiter: localhost)"
        )
    );
    // Nothing listens on its vmd port: the operator hears so at once.
    let answer = operate(&mut rig, Op::RESERVE);
    let Message::Operated { ok: false, text } = answer else {
        panic!("{answer:?}");
    };
    assert!(
        text.starts_with("drv0: no verdict from its arbiter localhost: "),
        "{text}"
    );
    assert!(show(&mut rig).contains("reserved=-"));
    assert!(!rig.paths.reservations().exists());
}

#[test]
fn a_corrupt_reservations_file_is_logged_and_kept_aside() {
    let bad = b"statmon ltid reservations 1\ndrv0\ndrv0\n";
    let mut rig = Rig::with_reservations(bad);
    let text = show(&mut rig);
    assert!(text.contains("reserved=-"), "{text}");
    let aside = rig.paths.misc().join(".ltid.reservations.corrupt-1");
    assert_eq!(std::fs::read(&aside).unwrap(), bad);
    assert!(!rig.paths.reservations().exists());
    let log = rig.log();
    assert!(
        log.contains(&format!(
            "reserve: {} is corrupt (line 3: drv0 again); moved aside to {}; no reservation claimed again",
            rig.paths.reservations().display(),
            aside.display()
        )),
        "{log}"
    );
    // A held drive writes a new file; the damaged one stays aside.
    operate(&mut rig, Op::RESERVE);
    assert_eq!(
        std::fs::read_to_string(rig.paths.reservations()).unwrap(),
        "statmon ltid reservations 1\ndrv0\n"
    );
    assert_eq!(std::fs::read(&aside).unwrap(), bad);
}

/// Every whole frame readable on `s` now.
fn frames(s: &mut UnixStream, de: &mut Deframer) -> Vec<Message> {
    let mut buf = [0u8; 65536];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        de.push(&buf[..n]);
    }
    std::iter::from_fn(|| de.next_frame())
        .map(|f| f.unwrap().decode().unwrap())
        .collect()
}

#[test]
fn queue_lines_follow_vm_mq_debug_message_by_message() {
    let mut rig = Rig::new();
    let stop = LtidMsg {
        pid: 14833,
        data_pid: 14833,
        kind: MsgType::OPRD_TERMINATE,
        param1: 1,
        param2: 3,
        long_param: 1_229_870_405,
    };
    let seed = "<4> LtidProcCmd: Pid=14833, Data.Pid=14833, Type=101, Param1=1, Param2=3, LongParam=1229870405";
    rig.queue(&stop.encode());
    assert!(!rig.log().contains("LtidProcCmd: Pid"), "{}", rig.log());
    std::fs::write(rig.paths.mq_debug(), "").unwrap();
    rig.queue(&stop.encode());
    assert_eq!(rig.log().matches(seed).count(), 1, "{}", rig.log());
    let line = rig
        .log()
        .lines()
        .find(|l| l.contains(seed))
        .unwrap()
        .to_string();
    let pid = std::process::id();
    println!("{line}");
    assert!(line.ends_with(&format!("[{pid}] {seed}")), "{line}");
    std::fs::remove_file(rig.paths.mq_debug()).unwrap();
    rig.queue(&stop.encode());
    assert_eq!(rig.log().matches(seed).count(), 1, "{}", rig.log());
    rig.queue(b"short");
    assert!(
        rig.log().contains("dropped a message of 5 bytes (not 28)"),
        "{}",
        rig.log()
    );
    drop(rig.dir);
}

#[test]
fn a_stalled_vmd_client_is_dropped_after_three_heartbeats_of_the_clock() {
    let mut rig = Rig::new();
    let vmd: SocketAddr = rig.module().vmd_addr().unwrap();
    let mut s = TcpStream::connect(vmd).unwrap();
    s.write_all(&[0, 0, 0]).unwrap();
    s.set_nonblocking(true).unwrap();
    rig.turns(3);
    let closed = |s: &mut TcpStream| matches!(s.read(&mut [0u8; 16]), Ok(0));
    rig.advance(Duration::from_secs(295));
    assert!(!closed(&mut s), "dropped before 300 s");
    rig.advance(Duration::from_secs(10));
    rig.turns(3);
    assert!(closed(&mut s), "still open after 305 s\n{}", rig.log());
    assert!(rig.log().contains("dropping a connection silent for 300 s"));
}

#[test]
fn an_attached_process_gets_the_table_and_its_changes_and_counts() {
    let mut rig = Rig::new();
    let mut a = UnixStream::connect(rig.paths.socket()).unwrap();
    a.write_all(
        &Message::Attach {
            pid: 4242,
            peer: "localhost".into(),
        }
        .encode(),
    )
    .unwrap();
    a.set_nonblocking(true).unwrap();
    rig.turns(3);
    let mut de = Deframer::default();
    let got = frames(&mut a, &mut de);
    println!("on attach: {got:?}");
    assert!(
        matches!(&got[0], Message::HostInfo(h) if h.name == "hosta"),
        "{got:?}"
    );
    let Message::Snapshot(rows) = &got[1] else {
        panic!("{got:?}");
    };
    assert_eq!(
        (rows[0].scan_host.as_str(), rows[0].control.as_str()),
        ("hosta", "TLD")
    );
    let Message::ShowText(text) = rig.ask(&Message::Show) else {
        panic!("not a status text");
    };
    assert!(text.contains("DriveStatId shm_nattch = 2"), "{text}");
    // Quiet for longer than three heartbeats: still attached.
    rig.advance(Duration::from_secs(400));
    let Message::ShowText(text) = rig.ask(&Message::Show) else {
        panic!("not a status text");
    };
    assert!(text.contains("DriveStatId shm_nattch = 2"), "{text}");
    let answer = rig.ask(&Message::Operate {
        op: Op::DOWN,
        drive: "drv0".into(),
    });
    assert_eq!(
        answer,
        Message::Operated {
            ok: true,
            text: "drv0 set DOWN on hosta".into()
        }
    );
    let changes = frames(&mut a, &mut de);
    println!("after DOWN: {changes:?}");
    assert!(changes.iter().any(
        |m| matches!(m, Message::Status(r) if r.control == "DOWN-TLD" && r.scan_host.is_empty())
    ));
    assert!(changes
        .iter()
        .any(|m| matches!(m, Message::HostInfo(h) if !h.drives[0].up)));
    let refused = rig.ask(&Message::Operate {
        op: Op::RELEASE,
        drive: "drv0".into(),
    });
    assert!(
        matches!(refused, Message::Operated { ok: false, .. }),
        "{refused:?}"
    );
    drop(a);
    rig.turns(3);
    let Message::ShowText(text) = rig.ask(&Message::Show) else {
        panic!("not a status text");
    };
    assert!(text.contains("DriveStatId shm_nattch = 1"), "{text}");
}

#[test]
fn the_scan_host_probes_its_drive_every_poll_and_a_lost_path_is_watched_for_its_return() {
    let mut rig = Rig::new();
    let show = |rig: &mut Rig| match rig.ask(&Message::Show) {
        Message::ShowText(t) => t,
        other => panic!("{other:?}"),
    };
    assert!(show(&mut rig).contains("control=TLD scanhost=hosta reserved=- ready=yes vsn=A00001"));
    std::fs::write(rig.dir.path().join("nst0"), "ready B00002 wp\n").unwrap();
    rig.advance(Duration::from_secs(5));
    assert!(
        show(&mut rig).contains("ready=yes vsn=B00002"),
        "{}",
        show(&mut rig)
    );
    std::fs::remove_file(rig.dir.path().join("nst0")).unwrap();
    rig.advance(Duration::from_secs(5));
    let text = show(&mut rig);
    println!("{text}");
    assert!(text.contains("control=SCAN-TLD scanhost=-"), "{text}");
    assert!(text.contains("  hosta UP path=down"), "{text}");
    assert!(rig.log().contains("drv0: path down: "), "{}", rig.log());
    std::fs::write(rig.dir.path().join("nst0"), "empty\n").unwrap();
    rig.advance(Duration::from_secs(5));
    let text = show(&mut rig);
    assert!(
        text.contains("control=TLD scanhost=hosta reserved=- ready=no vsn=-"),
        "{text}"
    );
    assert!(
        rig.log().contains("drv0: path works again"),
        "{}",
        rig.log()
    );
}

#[test]
fn idle_local_clients_are_bounded_and_dropped_so_the_status_stays_available() {
    let mut rig = Rig::new();
    let mut idle: Vec<UnixStream> = (0..70)
        .map(|_| {
            let s = UnixStream::connect(rig.paths.socket()).unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    rig.turns(5);
    let refused = idle.iter_mut().map(closed).filter(|c| *c).count();
    println!("of 70 idle clients, {refused} refused at once");
    assert_eq!(refused, 70 - statmon::ltid::module::MAX_LOCAL_WAITING);
    rig.advance(Duration::from_secs(15));
    assert!(idle.iter_mut().all(closed), "idle clients kept past 10 s");
    assert!(matches!(rig.ask(&Message::Show), Message::ShowText(_)));
    assert!(rig
        .log()
        .contains("64 local clients wait already; one refused"));
}

/// Whether the other end closed `s` (non-blocking).
fn closed(s: &mut UnixStream) -> bool {
    matches!(s.read(&mut [0u8; 16]), Ok(0))
}

#[test]
fn a_shared_drive_notify_that_hangs_is_killed_after_its_timeout_and_the_next_runs() {
    let mut rig = Rig::with_notify(Some(
        "echo \"$3\" >> \"$0.ran\"; [ \"$3\" = SCANHOST ] && exec sleep 600; exit 0",
    ));
    let ran = rig.paths.volmgr.join("bin/shared_drive_notify.ran");
    let started = (0..200).any(|_| {
        rig.turns(1);
        std::fs::read_to_string(&ran).is_ok_and(|t| t.contains("SCANHOST"))
    });
    assert!(started, "SCANHOST never ran\n{}", rig.log());
    // Queued behind the hanging run: it starts only once that one ends.
    let answer = rig.ask(&Message::Operate {
        op: Op::RESERVE,
        drive: "drv0".into(),
    });
    assert!(
        matches!(answer, Message::Operated { ok: true, .. }),
        "{answer:?}"
    );
    rig.turns(20);
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "SCANHOST\n");
    rig.advance(Duration::from_secs(30));
    let done = (0..200).any(|_| {
        rig.turns(1);
        std::fs::read_to_string(&ran).is_ok_and(|t| t == "SCANHOST\nRESERVED\nASSIGNED\n")
    });
    assert!(done, "{:?}\n{}", std::fs::read_to_string(&ran), rig.log());
    let log = rig.log();
    assert!(
        log.contains("shared_drive_notify drv0 hosta SCANHOST: still running after 30 s, killed"),
        "{log}"
    );
    assert!(
        log.contains("shared_drive_notify drv0 hosta SCANHOST: signal: 9"),
        "{log}"
    );
}
