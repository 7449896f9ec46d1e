//! A real lock manager as statmon's client: NFS-Ganesha (Debian's
//! `nfs-ganesha` with FSAL MEM, NFSv3 + NLM v4, no grace period, config
//! `compat/ganesha/ganesha.conf`) runs on a lab host with statmon as its
//! statd (see `tests/common/lab.rs` for the lab and reference-observed §13
//! for what Ganesha expects of its statd).
//!
//! Lab: `server` (rpcbind, statmon, ganesha.nfsd), `client1` (rpcbind,
//! statmon with a record for `server`, as a Linux NFS client's statd has once
//! its lockd took a lock there) and `client2` (rpcbind only). The NFS clients
//! are `compat/c/nlmclient.c` (MOUNT3 MNT of /mem, NFS3 CREATE of one file,
//! one NLM4 call), see `tests/common/nlmclient.rs`.
//!
//! 1. Ganesha starts: statmon answers its SM_UNMON_ALL.
//! 2. client1 locks the file: granted; statmon holds Ganesha's SM_MON of
//!    client1 (mon_name 10.77.0.2, as `NSM_Use_Caller_Name = false` makes
//!    Ganesha name a client by its address; callback 100021/4/16).
//! 3. client2's lock is denied; NLM4_TEST names client1's lock as holder.
//! 4. client1 reboots for real: its statmon restarts with another boot id,
//!    takes a new state and sends SM_NOTIFY(client1, new state) to `server`.
//!    statmon on `server` matches it to the record filed under 10.77.0.2 and
//!    calls Ganesha back (NLM v4 procedure 16 to 127.0.0.1, the only source
//!    Ganesha takes it from), Ganesha unmonitors client1 in the middle of
//!    the callback and drops client1's lock.
//! 5. client2's lock is then granted, and statmon still answers.
//!
//! With `NSM_Use_Caller_Name = true`, before step 2 a lock whose
//! `caller_name` does not resolve (`ghost-client`, in no lab /etc/hosts) is
//! denied `nlm4_denied_nolocks`: the statd answers Ganesha's SM_MON of it
//! `stat_fail` (a host that cannot be found could never be told of a
//! reboot), and no record of it is created.
//!
//! The scenario runs four times: statmon with Ganesha's default naming (by
//! address), statmon with `NSM_Use_Caller_Name = true` (mon_name `client1`),
//! and Debian's rpc.statd in statmon's place with either naming, the
//! reference the harness is checked against (statd-specific log checks are
//! then left out).
//! Ganesha's log (NLM at debug level) shows the callback it got; both logs
//! are printed when a step fails.
//!
//! As root with the tools and packages installed this runs for real;
//! otherwise it prints why it skipped and passes.
#![allow(clippy::unwrap_used)]

mod common;

use common::lab::{Flavour, Host, Lab, DEBIAN_STATD, STATD_PORT};
use common::nlmclient::{
    NlmClient, Op, Outcome, Owner, Run, NLM4_DENIED, NLM4_DENIED_NOLOCKS, NLM4_GRANTED,
};
use common::smclient::{priv_hex, Reply, SmClient};
use std::time::{Duration, Instant};

/// Debian's Ganesha daemon.
const GANESHA: &str = "/usr/bin/ganesha.nfsd";
/// The configuration template; `@DIR@` becomes Ganesha's scratch directory.
const CONF_TEMPLATE: &str = include_str!("../compat/ganesha/ganesha.conf");
/// The export's path (MOUNT3) and the file locked in its root.
const EXPORT: &str = "/mem";
const FILE: &str = "lockfile";
/// How long the release of client1's lock may take after its reboot.
const RELEASE_WAIT: Duration = Duration::from_secs(20);
/// A caller_name no lab host resolves.
const GHOST: &str = "ghost-client";

/// What the scenario needs (see `common::prereq`).
fn needs(statd: Flavour) -> Vec<common::prereq::Need> {
    use common::prereq::Need;
    let mut v = Lab::NEEDS.to_vec();
    v.push(Need::Ganesha);
    if statd == Flavour::Debian {
        v.push(Need::File(DEBIAN_STATD));
    }
    v
}

/// The host name Ganesha gives as `my_name` (its uname nodename; the lab
/// shares the machine's UTS namespace).
fn nodename() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// Text of every statmon log of `host`.
fn statmon_log(host: &Host) -> String {
    let names = host.sb.log_names("-statmon.log");
    names.iter().map(|n| host.sb.log(n)).collect()
}

/// Ganesha's own log (`-L`), in the host's scratch directory.
fn ganesha_log(host: &Host) -> String {
    host.sb.log("ganesha.log")
}

/// Writes `template` with `@DIR@` filled in as host `name`'s Ganesha
/// configuration and starts `ganesha.nfsd -F` there; returns its pid once it is registered
/// with rpcbind for NLM v4 over TCP. Panics (with the logs) if that takes
/// over 20 s.
fn start_ganesha(lab: &mut Lab, name: &str, template: &str) -> u32 {
    let host = lab.host_mut(name);
    let dir = host.sb.dir.path().join("ganesha");
    std::fs::create_dir_all(dir.join("recovery")).expect("ganesha dir");
    let conf = dir.join("ganesha.conf");
    std::fs::write(&conf, template.replace("@DIR@", &dir.to_string_lossy())).expect("ganesha.conf");
    let mut cmd = host.sb.command(GANESHA);
    cmd.arg("-F")
        .arg("-f")
        .arg(&conf)
        .arg("-L")
        .arg(host.sb.dir.path().join("ganesha.log"))
        .arg("-p")
        .arg(dir.join("ganesha.pid"))
        .args(["-N", "NIV_EVENT"]);
    let pid = host.sb.spawn(cmd, "ganesha-stderr.log");
    let host = lab.host(name);
    let up = host.sb.wait_until(20, || {
        common::rpcinfo(&host.sb, &["-p"])
            .lines()
            .any(|l| l.split_whitespace().take(3).eq(["100021", "4", "tcp"]))
    });
    assert!(
        up,
        "ganesha did not register NLM v4 with rpcbind\n{}",
        lab.logs()
    );
    pid
}

/// One NLM4 call from `client` on the shared file.
fn nlm(lab: &Lab, nlmc: &NlmClient, client: &str, op: Op, owner: Owner<'_>) -> Run {
    let r = nlmc.run(&lab.host(client).sb, "server", EXPORT, FILE, op, owner);
    println!("{client}: {op:?} as {owner:?}: {r:?}");
    r
}

/// The record lines in `host`'s `sm/` whose mon_name is `mon_name`.
fn record_lines(host: &Host, mon_name: &str) -> Vec<String> {
    host.records("sm")
        .iter()
        .flat_map(|(_, text)| text.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.split(' ').nth(5) == Some(mon_name))
        .collect()
}

/// One run of the scenario.
struct Scenario {
    test: &'static str,
    /// The statd on `server`: statmon, or Debian's rpc.statd as the
    /// reference the harness is checked against.
    statd: Flavour,
    /// Ganesha's `NSM_Use_Caller_Name`: whether it monitors a client under
    /// its NLM caller_name (true) or its address (false, the default).
    use_caller_name: bool,
}

/// The configuration for `sc`: the template, with `NSM_Use_Caller_Name`
/// rewritten when the scenario wants `true`.
fn config(sc: &Scenario) -> String {
    const DEFAULT: &str = "NSM_Use_Caller_Name = false;";
    assert!(CONF_TEMPLATE.contains(DEFAULT), "template lost {DEFAULT}");
    if sc.use_caller_name {
        CONF_TEMPLATE.replace(DEFAULT, "NSM_Use_Caller_Name = true;")
    } else {
        CONF_TEMPLATE.to_string()
    }
}

fn run(sc: &Scenario) {
    let test = sc.test;
    if !common::prereq::require(&needs(sc.statd)) {
        return;
    }
    let (Some(smc), Some(nlmc)) = (SmClient::build(), NlmClient::build()) else {
        return;
    };
    let started = Instant::now();
    let mut lab = Lab::new(&["server", "client1", "client2"]);
    let me = nodename();
    let statmon = sc.statd == Flavour::Statmon;
    // How Ganesha names each client to statd.
    let (c1_name, c2_name) = if sc.use_caller_name {
        ("client1".to_string(), "client2".to_string())
    } else {
        (
            lab.host("client1").v4.to_string(),
            lab.host("client2").v4.to_string(),
        )
    };

    // 1. server: the statd, then Ganesha, whose first act is SM_UNMON_ALL.
    lab.host_mut("server").start_statd(sc.statd);
    let ganesha = start_ganesha(&mut lab, "server", &config(sc));
    if statmon {
        let unmon_all = format!("SM_UNMON_ALL for {me}");
        let server = lab.host("server");
        let seen = server
            .sb
            .wait_until(10, || statmon_log(server).contains(&unmon_all));
        assert!(seen, "no SM_UNMON_ALL from Ganesha\n{}", lab.logs());
    }
    println!("ganesha pid {ganesha} up after {:?}", started.elapsed());

    // client1's statd monitors the server, as after its first NFS lock.
    lab.host_mut("client1").start_statd(Flavour::Statmon);
    let cookie = priv_hex(b"client1-lockd/sv");
    let r = smc.run(
        &lab.host("client1").sb,
        &[
            "127.0.0.1",
            STATD_PORT,
            "tcp",
            "mon",
            "server",
            "client1",
            "100021",
            "4",
            "16",
            &cookie,
        ],
    );
    assert!(
        matches!(r, Reply::StatRes { res_stat: 0, .. }),
        "client1: SM_MON server: {r:?}\n{}",
        lab.logs()
    );
    let c1_state = lab.host("client1").state().expect("client1 state");
    let c1 = Owner {
        caller: "client1",
        svid: 101,
        state: c1_state,
    };
    let c2 = Owner {
        caller: "client2",
        svid: 202,
        state: 1,
    };

    // An unresolvable caller_name: the statd refuses to monitor it, so
    // Ganesha denies the lock rather than grant one nobody could recover.
    if sc.use_caller_name {
        let ghost = Owner {
            caller: GHOST,
            svid: 303,
            state: 1,
        };
        let r = nlm(&lab, nlmc, "client2", Op::Lock, ghost);
        assert_eq!(
            r.outcome.stat(),
            Some(NLM4_DENIED_NOLOCKS),
            "a lock for {GHOST}, which does not resolve\n{}",
            lab.logs()
        );
        let server = lab.host("server");
        assert!(
            record_lines(server, GHOST).is_empty()
                && !server.records("sm").iter().any(|(f, _)| f.contains(GHOST)),
            "no record of {GHOST}: {:?}\n{}",
            server.records("sm"),
            lab.logs()
        );
        if statmon {
            assert!(
                statmon_log(server).contains(&format!("no canonical host name found for {GHOST}")),
                "statmon logs why SM_MON of {GHOST} failed\n{}",
                lab.logs()
            );
        }
    }

    // 2. client1 locks; Ganesha has statd monitor client1 first.
    let r = nlm(&lab, nlmc, "client1", Op::Lock, c1);
    assert_eq!(
        r.outcome.stat(),
        Some(NLM4_GRANTED),
        "client1's lock\n{}",
        lab.logs()
    );
    let server = lab.host("server");
    let mon = record_lines(server, &c1_name);
    println!("server sm/: {:?}", server.records("sm"));
    let want_fields = ["0100007f", "000186b5", "00000004", "00000010"];
    let zero_priv = "0".repeat(32);
    assert!(
        mon.len() == 1
            && mon[0].split(' ').take(4).eq(want_fields)
            && mon[0].split(' ').nth(4) == Some(zero_priv.as_str())
            && mon[0].split(' ').nth(6) == Some(me.as_str()),
        "want one record of Ganesha's SM_MON of {c1_name} for {me} (100021/4/16, zero priv): \
         {mon:?}\n{}",
        lab.logs()
    );

    // 3. client2 is refused while client1 holds the lock.
    let r = nlm(&lab, nlmc, "client2", Op::Lock, c2);
    assert_eq!(
        r.outcome.stat(),
        Some(NLM4_DENIED),
        "client2's lock\n{}",
        lab.logs()
    );
    let r = nlm(&lab, nlmc, "client2", Op::Test, c2);
    assert!(
        matches!(&r.outcome, Outcome::Nlm4 { stat: NLM4_DENIED, holder: Some((101, oh)), .. }
            if oh == "client1/101"),
        "client2's test should name client1's lock\n{}",
        lab.logs()
    );

    // 4. client1 reboots: statmon there restarts with a new boot id, takes
    // a new state and notifies the server.
    lab.host_mut("client1").reboot_statmon();
    let c1_new = lab.host("client1").state().expect("client1 state");
    println!("client1 rebooted: state {c1_state} -> {c1_new}");
    assert_ne!(c1_new, c1_state, "{}", lab.logs());

    // 5. Ganesha drops client1's lock: client2's test, then lock, succeed.
    let deadline = Instant::now() + RELEASE_WAIT;
    let released = loop {
        let r = nlm(&lab, nlmc, "client2", Op::Test, c2);
        if r.outcome.stat() == Some(NLM4_GRANTED) {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(
        released,
        "client1's lock was not released within {RELEASE_WAIT:?} of its reboot\n{}",
        lab.logs()
    );
    let r = nlm(&lab, nlmc, "client2", Op::Lock, c2);
    assert_eq!(
        r.outcome.stat(),
        Some(NLM4_GRANTED),
        "client2's lock after client1's reboot\n{}",
        lab.logs()
    );

    // What the statd and Ganesha saw: the callback named client1 as
    // registered, with its new state; Ganesha unmonitored client1 (during
    // the callback) and monitors client2 now.
    let server = lab.host("server");
    let glog = ganesha_log(server);
    let callback = format!("nlm4_sm_notify for {c1_name} state {c1_new}");
    assert!(
        glog.contains(&callback),
        "Ganesha's log lacks {callback:?}\n{}",
        lab.logs()
    );
    for bad in [
        "connect to statd",
        "Unmonitor all",
        "SM_MON failed",
        "SM_UNMON failed",
    ] {
        // The SM_MON of the unresolvable name fails by design (twice: Ganesha
        // retries once).
        let unexpected = glog
            .lines()
            .filter(|l| l.contains(bad) && !l.contains(&format!("Monitor {GHOST} ")))
            .count();
        assert_eq!(unexpected, 0, "Ganesha's log: {bad:?}\n{}", lab.logs());
    }
    if sc.use_caller_name {
        let failed = format!("Monitor {GHOST} SM_MON failed");
        assert_eq!(
            glog.matches(&failed).count(),
            2,
            "Ganesha tries the SM_MON of {GHOST} twice, then denies\n{}",
            lab.logs()
        );
    }
    assert!(
        record_lines(server, &c1_name).is_empty() && record_lines(server, &c2_name).len() == 1,
        "server sm/ should hold {c2_name} only: {:?}\n{}",
        server.records("sm"),
        lab.logs()
    );
    let slog = statmon_log(server);
    if statmon {
        let notify = format!("SM_NOTIFY from {}:", lab.host("client1").v4);
        let unmon = format!("SM_UNMON {c1_name} for {me}");
        for (what, ok) in [
            ("statmon got client1's SM_NOTIFY", slog.contains(&notify)),
            (
                "statmon got Ganesha's SM_UNMON of client1",
                slog.contains(&unmon),
            ),
        ] {
            assert!(ok, "{what}\n{}", lab.logs());
        }
    }

    // The statd still answers.
    let r = smc.run(&server.sb, &["127.0.0.1", STATD_PORT, "udp", "null"]);
    assert_eq!(r, Reply::Void, "{}", lab.logs());
    let r = smc.run(
        &server.sb,
        &["127.0.0.1", STATD_PORT, "tcp", "stat", "client2"],
    );
    assert!(
        matches!(r, Reply::StatRes { res_stat: 0, .. }),
        "SM_STAT: {r:?}\n{}",
        lab.logs()
    );

    if statmon {
        println!("--- statmon on server\n{slog}");
    }
    println!(
        "--- ganesha NLM lines\n{}",
        glog.lines()
            .filter(|l| l.contains(":NLM :"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    // Ganesha's SIGTERM shutdown waits out an SM_UNMON it never gets onto
    // the wire (about 12 s), so it is killed; dropping the lab stops the
    // statds and rpcbinds.
    let status = lab.host_mut("server").sb.stop(ganesha, libc::SIGKILL);
    assert!(status.is_some(), "ganesha did not stop");
    println!("{test}: ok in {:?}", started.elapsed());
}

/// statmon as Ganesha's statd, Ganesha's default naming (client address).
#[test]
fn ganesha_with_statmon_releases_locks_of_a_rebooted_client() {
    run(&Scenario {
        test: "ganesha_with_statmon_releases_locks_of_a_rebooted_client",
        statd: Flavour::Statmon,
        use_caller_name: false,
    });
}

/// statmon as Ganesha's statd, clients monitored under their caller_name.
#[test]
fn ganesha_with_statmon_by_caller_name() {
    run(&Scenario {
        test: "ganesha_with_statmon_by_caller_name",
        statd: Flavour::Statmon,
        use_caller_name: true,
    });
}

/// The same scenario with Debian's rpc.statd: the reference passes it too.
#[test]
fn ganesha_with_debian_statd_reference() {
    run(&Scenario {
        test: "ganesha_with_debian_statd_reference",
        statd: Flavour::Debian,
        use_caller_name: false,
    });
}

/// Debian's rpc.statd with clients monitored under their caller_name: the
/// reference for the unresolvable caller_name as well.
#[test]
fn ganesha_with_debian_statd_by_caller_name_reference() {
    run(&Scenario {
        test: "ganesha_with_debian_statd_by_caller_name_reference",
        statd: Flavour::Debian,
        use_caller_name: true,
    });
}
