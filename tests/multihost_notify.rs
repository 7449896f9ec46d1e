//! Reboot notification between hosts (NSM): two lab hosts (see
//! `tests/common/lab.rs`), A an NFS server that monitors client B, B a
//! client whose statd has a record for A. B reboots and notifies A; A's
//! statd must call A's lock manager back exactly once per registration, with
//! the registered mon_name and priv and B's new state.
//!
//! Each side is Debian's rpc.statd (with Debian's sm-notify as B's reboot
//! notifier) or statmon's, on the distribution's layout (`Lab` makes it).
//! Prerequisites are decided by `common::prereq`.
//!
//! Registration identity: an SM_MON that differs from an earlier one only in
//! `my_vers` or `priv` replaces it (reference-observed §4, §12) in statmon
//! and in Debian's record file. Debian's rpc.statd nevertheless keeps both in
//! memory until it restarts and calls both back; the tests therefore make
//! their second registration with another `my_name`, where both agree.
#![allow(clippy::unwrap_used)]

mod common;

use common::fake_lockd::{Callback, FakeLockd, Style};
use common::lab::{Flavour, Lab, LAB_IF, STATD_PORT};
use common::prereq::{self, Need};
use common::smclient::{priv_hex, Reply, SmClient};
use common::wire::{self, Capture, RpcPorts};
use statmon::proto::nlm::{NLMPROC_NSM_NOTIFY, NLM_PROG};
use std::path::Path;
use std::time::Duration;

/// How long A may take to call its lock manager after B's reboot.
const CALLBACK_WAIT: Duration = Duration::from_secs(20);
/// How long A is watched afterwards for duplicate callbacks.
const QUIET_WAIT: Duration = Duration::from_secs(3);

/// One SM_MON at A for `hostb`: who asks, the NLM version to call, the priv.
#[derive(Debug, Clone, Copy)]
struct Reg {
    my_name: &'static str,
    vers: u32,
    cookie: [u8; 16],
}

/// The lock manager's registration for B on A.
const A_V4: Reg = Reg {
    my_name: "hosta",
    vers: 4,
    cookie: *b"A:lockd-v4/hostb",
};
/// A second registration for B on A: another my_name (a name that does not
/// resolve, so Debian's statd does not canonicalise it to `hosta`), NLM
/// version 3, another priv. (A registration differing only in version or
/// priv is not a second one: it replaces the first, see the module doc.)
const A_HA: Reg = Reg {
    my_name: "hosta-ha",
    vers: 3,
    cookie: *b"A:lockd-v3/hostb",
};
/// The priv of B's registration for A (B runs no lock manager).
const B_COOKIE: [u8; 16] = *b"B:lockd-v4/hosta";

/// One test's set-up.
struct Scenario {
    test: &'static str,
    a: Flavour,
    b: Flavour,
    /// Registrations for `hostb` at A.
    a_regs: &'static [Reg],
    /// B's my_name in its SM_MON of `hosta`: the name B's reboot notifier
    /// announces itself with.
    b_my_name: &'static str,
}

/// The lab after steps 1 and 2: A monitors B with a fake lock manager
/// listening, B monitors A.
struct World {
    lab: Lab,
    smc: &'static SmClient,
    lockd: FakeLockd,
    /// B's state before the reboot.
    b_state: i32,
    /// dumpcap on A's `lab0` and `lo`, unless captures are unavailable.
    capture: Option<Capture>,
}

/// The lab with both statds running and monitoring each other, or `None`
/// (printed) when the test cannot run here.
fn prepare(sc: &Scenario) -> Option<World> {
    let mut needs = Lab::NEEDS.to_vec();
    if sc.a == Flavour::Debian || sc.b == Flavour::Debian {
        needs.push(Need::DebianDaemons);
    }
    if !prereq::require(&needs) {
        return None;
    }
    let smc = SmClient::build()?;
    let mut lab = Lab::new(&["hosta", "hostb"]);
    // A's side of the whole exchange: B's lookups and SM_NOTIFY on lab0,
    // A's statd calling its lock manager on lo.
    // Without the capture tools the rest still runs; the skip of the wire
    // check is recorded.
    let capture = prereq::require(&wire::NEEDS)
        .then(|| Capture::start(&mut lab.host_mut("hosta").sb, "hosta", &[LAB_IF, "lo"]));

    // 1. A: lock manager, statd, SM_MON of hostb per registration.
    let lockd = lab.host("hosta").start_fake_lockd(Style::Linux);
    lab.host_mut("hosta").start_statd(sc.a);
    for reg in sc.a_regs {
        let vers = reg.vers.to_string();
        mon(&lab, smc, "hosta", "hostb", reg.my_name, &vers, &reg.cookie);
    }
    // 2. B: statd, SM_MON of hosta.
    lab.host_mut("hostb").start_statd(sc.b);
    mon(&lab, smc, "hostb", "hosta", sc.b_my_name, "4", &B_COOKIE);
    let b = lab.host("hostb");
    let b_records = b.records("sm");
    println!("hostb sm/: {b_records:?}");
    assert_eq!(b_records.len(), 1, "{}", lab.logs());
    println!("hosta sm/: {:?}", lab.host("hosta").records("sm"));
    let b_state = b
        .state()
        .unwrap_or_else(|| panic!("no state file\n{}", lab.logs()));
    Some(World {
        lab,
        smc,
        lockd,
        b_state,
        capture,
    })
}

/// SM_MON over TCP to `host`'s statd on 127.0.0.1, with callback
/// 100021/`vers`/16; panics (with the logs) unless it succeeds.
fn mon(
    lab: &Lab,
    smc: &SmClient,
    host: &str,
    mon_name: &str,
    my_name: &str,
    vers: &str,
    cookie: &[u8; 16],
) {
    let cookie = priv_hex(cookie);
    let args = [
        "127.0.0.1",
        STATD_PORT,
        "tcp",
        "mon",
        mon_name,
        my_name,
        "100021",
        vers,
        "16",
        cookie.as_str(),
    ];
    let h = lab.host(host);
    let r = smc.run(&h.sb, &args);
    println!("{host}: smclient {}: {r:?}", args.join(" "));
    assert!(
        matches!(r, Reply::StatRes { res_stat: 0, .. }),
        "{host}: SM_MON {mon_name} refused: {r:?}\n{}",
        lab.logs()
    );
}

/// Step 3, B reboots: its statd goes, the reboot notifier runs. For Debian,
/// the returned pid is sm-notify's.
fn reboot_b(w: &mut World) -> Option<u32> {
    let b = w.lab.host_mut("hostb");
    let flavour = b.statd().map(|r| r.flavour);
    match flavour {
        Some(Flavour::Debian) => {
            let status = b.stop_statd();
            println!("hostb: rpc.statd stopped: {status}");
            Some(b.sm_notify())
        }
        Some(Flavour::Statmon) => {
            b.reboot_statmon();
            // The reboot step ran: state advanced, the record is retired to
            // sm.bak/ (unless it was already notified and dropped).
            let state = b.state();
            let sm = b.records("sm");
            println!(
                "hostb after reboot: state {state:?}, sm/ {sm:?}, sm.bak/ {:?}",
                b.records("sm.bak")
            );
            assert!(
                state.is_some_and(|s| s != w.b_state) && sm.is_empty(),
                "statmon did not do the reboot step\n{}",
                report(w)
            );
            None
        }
        None => panic!("hostb runs no statd"),
    }
}

/// The logs of both hosts and every call A's lock manager got.
fn report(w: &World) -> String {
    let calls: String = w
        .lockd
        .calls()
        .iter()
        .map(|c| format!("  lockd got: {c}\n"))
        .collect();
    format!(
        "hostb state before {} after {:?}\nhosta lock manager calls:\n{calls}{}",
        w.b_state,
        w.lab.host("hostb").state(),
        w.lab.logs()
    )
}

/// Step 4, at A: one callback per registration, `hostb` as registered, B's
/// new state, the registration's priv; nothing else after a quiet spell.
fn check_callbacks(w: &World, regs: &[Reg]) {
    let first = w.lockd.wait_calls(regs.len(), CALLBACK_WAIT);
    assert!(
        first.len() >= regs.len(),
        "A's lock manager got {} of {} callbacks in {CALLBACK_WAIT:?}\n{}",
        first.len(),
        regs.len(),
        report(w)
    );
    std::thread::sleep(QUIET_WAIT);
    let calls = w.lockd.calls();
    for c in &calls {
        println!("  hosta lockd got: {c}");
    }
    let new_state = w.lab.host("hostb").state().unwrap();
    assert!(
        new_state != w.b_state && new_state % 2 == 1,
        "B's state went from {} to {new_state}\n{}",
        w.b_state,
        report(w)
    );
    assert_eq!(
        calls.len(),
        regs.len(),
        "want exactly one callback per registration\n{}",
        report(w)
    );
    for reg in regs {
        let matching: Vec<&Callback> = calls
            .iter()
            .filter(|c| c.status.as_ref().is_some_and(|s| s.cookie.0 == reg.cookie))
            .collect();
        assert_eq!(matching.len(), 1, "callbacks for {reg:?}\n{}", report(w));
        let c = matching[0];
        let st = c.status.as_ref().unwrap();
        assert_eq!(
            (c.prog, c.vers, c.proc),
            (NLM_PROG, reg.vers, NLMPROC_NSM_NOTIFY),
            "{c}\n{}",
            report(w)
        );
        assert_eq!(st.mon_name.as_bytes(), b"hostb", "{c}\n{}", report(w));
        assert_eq!(st.state, new_state, "{c}\n{}", report(w));
        assert!(
            c.privileged(),
            "callback not from a reserved loopback port: {c}"
        );
    }
}

/// B's notifier is done with A: Debian's sm-notify exits 0 (`notifier` is
/// its pid), statmon keeps running; either way `sm/` and `sm.bak/` end up
/// empty (a record is deleted once its SM_NOTIFY was answered).
fn check_b_done(w: &mut World, notifier: Option<u32>) {
    if let Some(pid) = notifier {
        let status = w.lab.host_mut("hostb").sb.wait_exit(pid, 10);
        assert!(
            status.is_some_and(|s| s.success()),
            "sm-notify: {status:?}\n{}",
            report(w)
        );
    }
    let b = w.lab.host("hostb");
    let emptied = b.sb.wait_until(10, || {
        b.records("sm").is_empty() && b.records("sm.bak").is_empty()
    });
    assert!(emptied, "records left on B\n{}", report(w));
}

/// The whole scenario.
fn run(sc: &Scenario) {
    let Some(mut w) = prepare(sc) else {
        return;
    };
    let notifier = reboot_b(&mut w);
    check_callbacks(&w, sc.a_regs);
    check_b_done(&mut w, notifier);
    // A's statd still serves after the notification; its records stay.
    let a = w.lab.host("hosta");
    let r = w.smc.run(&a.sb, &["127.0.0.1", STATD_PORT, "udp", "null"]);
    assert_eq!(r, Reply::Void, "{}", report(&w));
    assert_eq!(a.records("sm").len(), 1, "{}", report(&w));
    check_wire(&mut w, sc);
    println!("{}: ok\n{}", sc.test, w.lab.logs());
}

/// A's capture: nothing malformed or undecodable; B's portmapper lookup,
/// B's SM_NOTIFY and A's answer, and one answered lock manager callback per
/// registration are on the wire.
fn check_wire(w: &mut World, sc: &Scenario) {
    let Some(cap) = w.capture.take() else {
        return;
    };
    let file = cap.stop(&mut w.lab.host_mut("hosta").sb);
    let statd: u16 = STATD_PORT.parse().unwrap();
    let lockd = w.lockd.ports();
    let ports = RpcPorts {
        udp: vec![111, statd, lockd.udp],
        tcp: vec![111, statd, lockd.tcp],
    };
    let r = wire::analyse(&file, &ports);
    r.print(sc.test);
    r.assert_clean(sc.test);
    let lookups = r.count("PMAP v2 GETPORT call")
        + r.count("RPCB v3 GETADDR call")
        + r.count("RPCB v4 GETADDR call");
    assert!(
        lookups >= 1,
        "{}: no portmapper lookup on the wire",
        sc.test
    );
    assert!(
        r.count("NSM v1 NOTIFY call") >= 1 && r.count("NSM v1 NOTIFY reply") >= 1,
        "{}: no answered SM_NOTIFY on the wire",
        sc.test
    );
    let callbacks = r.count("NLM v3 NSM_NOTIFY call") + r.count("NLM v4 NSM_NOTIFY call");
    let answered = r.count("NLM v3 NSM_NOTIFY reply") + r.count("NLM v4 NSM_NOTIFY reply");
    assert!(
        callbacks >= sc.a_regs.len() && answered >= sc.a_regs.len(),
        "{}: {callbacks} callbacks, {answered} answered on the wire, want {}",
        sc.test,
        sc.a_regs.len()
    );
    assert_eq!(
        r.count("unmatched"),
        0,
        "{}: replies without calls",
        sc.test
    );
}

#[test]
fn debian_b_notifies_debian_a() {
    run(&Scenario {
        test: "debian_b_notifies_debian_a",
        a: Flavour::Debian,
        b: Flavour::Debian,
        a_regs: &[A_V4, A_HA],
        b_my_name: "hostb",
    });
}

/// sm-notify announces `hostb.lab` and then `hostb` with the same state:
/// A forwards once per registration.
#[test]
fn debian_b_dotted_name_notifies_debian_a() {
    run(&Scenario {
        test: "debian_b_dotted_name_notifies_debian_a",
        a: Flavour::Debian,
        b: Flavour::Debian,
        a_regs: &[A_V4],
        b_my_name: "hostb.lab",
    });
}

#[test]
fn debian_b_notifies_statmon_a() {
    run(&Scenario {
        test: "debian_b_notifies_statmon_a",
        a: Flavour::Statmon,
        b: Flavour::Debian,
        a_regs: &[A_V4, A_HA],
        b_my_name: "hostb",
    });
}

/// As above, statmon as A gets both names from sm-notify.
#[test]
fn debian_b_dotted_name_notifies_statmon_a() {
    run(&Scenario {
        test: "debian_b_dotted_name_notifies_statmon_a",
        a: Flavour::Statmon,
        b: Flavour::Debian,
        a_regs: &[A_V4, A_HA],
        b_my_name: "hostb.lab",
    });
}

#[test]
fn statmon_b_notifies_statmon_a() {
    run(&Scenario {
        test: "statmon_b_notifies_statmon_a",
        a: Flavour::Statmon,
        b: Flavour::Statmon,
        a_regs: &[A_V4, A_HA],
        b_my_name: "hostb",
    });
}

#[test]
fn statmon_b_notifies_debian_a() {
    run(&Scenario {
        test: "statmon_b_notifies_debian_a",
        a: Flavour::Debian,
        b: Flavour::Statmon,
        a_regs: &[A_V4],
        b_my_name: "hostb",
    });
}

/// The lab itself with three hosts: every pair is linked over IPv4 and IPv6
/// (checked by `Lab::new`), names resolve, a remote rpcbind answers, and
/// dropping the lab ends every namespace.
#[test]
fn three_host_lab_links_every_pair() {
    if !prereq::require(&Lab::NEEDS) {
        return;
    }
    let lab = Lab::new(&["hosta", "hostb", "hostc"]);
    for (from, to) in [("hosta", "hostc"), ("hostc", "hostb"), ("hostb", "hosta")] {
        let out = common::rpcinfo(&lab.host(from).sb, &["-p", to]);
        assert!(out.contains("portmapper"), "{from} -> {to}: {out}");
    }
    let c = lab.host("hostc");
    assert_eq!(
        (c.v4.to_string(), c.v6.to_string()),
        ("10.77.0.3".to_string(), "fd77::3".to_string())
    );
    let holders: Vec<u32> = lab.hosts.iter().map(|h| h.sb.holder_pid()).collect();
    drop(lab);
    for pid in holders {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "holder {pid} still running"
        );
    }
}
