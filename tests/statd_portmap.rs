//! rpc.statd against a real rpcbind, and with the embedded portmapper, in a
//! private network + mount namespace, on the distribution's layout
//! (`common::layout::stock`). Checked with `rpcinfo`.

mod common;

use common::layout::{self, StateFile};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use common::{daemon, nsm_registered_everywhere, rpcinfo, start_rpcbind, statd_command};

/// A sandbox with the stock layout at `<scratch>/state`, if `tools` and
/// what a sandbox and the layout need are here.
fn sandbox_or_skip(tools: &[&'static str]) -> Option<Sandbox> {
    let mut needs = vec![Need::Sandbox, Need::StatdUser];
    needs.extend(tools.iter().map(|t| Need::Tool(t)));
    if !prereq::require(&needs) {
        return None;
    }
    let sb = Sandbox::new();
    layout::stock(&sb.dir.path().join("state"), StateFile::Empty);
    Some(sb)
}

/// Every way `rpcinfo` reaches NSM: UDP and TCP over 127.0.0.1 and ::1.
fn ping_all_transports(sb: &Sandbox) {
    for (flag, host) in [
        ("-u", "127.0.0.1"),
        ("-t", "127.0.0.1"),
        ("-u", "::1"),
        ("-t", "::1"),
    ] {
        let out = rpcinfo(sb, &[flag, host, "100024", "1"]);
        assert!(
            out.contains("program 100024 version 1 ready and waiting"),
            "{flag} {host}: {out}"
        );
    }
}

fn check_listing(sb: &Sandbox, port: &str) {
    let p = rpcinfo(sb, &["-p"]);
    for proto in ["udp", "tcp"] {
        assert!(
            p.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["100024", "1", proto, port, "status"]),
            "rpcinfo -p lacks {proto}:\n{p}"
        );
    }
    let all = rpcinfo(sb, &[]);
    assert!(
        nsm_registered_everywhere(&all),
        "rpcinfo lacks a netid:\n{all}"
    );
}

/// Starts statmon's rpc.statd on `<scratch>/state`, port 20024, and waits
/// (up to `secs`) until `rpcinfo` lists NSM on every netid; returns its pid.
fn start_registered(sb: &mut Sandbox, secs: u64) -> u32 {
    let state = sb.dir.path().join("state");
    let cmd = daemon::statd_may_embed(sb, &state, 20024, &[]);
    let pid = sb.spawn(cmd, "statd.log");
    assert!(
        sb.wait_until(secs, || nsm_registered_everywhere(&rpcinfo(sb, &[]))),
        "not registered; log:\n{}",
        sb.log("statd.log")
    );
    pid
}

#[test]
fn registers_with_real_rpcbind_and_unregisters_on_sigterm() {
    let Some(mut sb) = sandbox_or_skip(&["rpcbind", "rpcinfo"]) else {
        return;
    };
    start_rpcbind(&mut sb);

    let pid = start_registered(&mut sb, 10);
    check_listing(&sb, "20024");
    ping_all_transports(&sb);

    let status = sb
        .stop(pid, libc::SIGTERM)
        .expect("statd did not exit on SIGTERM");
    assert_eq!(status.code(), Some(0), "log:\n{}", sb.log("statd.log"));
    let after = rpcinfo(&sb, &[]);
    assert!(
        !after.contains("100024"),
        "still registered after SIGTERM:\n{after}"
    );
    assert!(after.contains("portmapper"), "rpcbind gone:\n{after}");
    assert!(sb
        .log("statd.log")
        .contains("registered program 100024 version 1 with rpcbind v4"));
}

#[test]
fn serves_an_embedded_portmapper_when_no_rpcbind_answers() {
    let Some(mut sb) = sandbox_or_skip(&["rpcinfo"]) else {
        return;
    };
    let pid = start_registered(&mut sb, 15);
    let log = sb.log("statd.log");
    assert_eq!(
        log.matches("no rpcbind answered on 127.0.0.1:111; serving an embedded portmapper")
            .count(),
        1,
        "{log}"
    );
    check_listing(&sb, "20024");
    // The portmapper's own entries are there too, as rpcbind lists them.
    assert!(rpcinfo(&sb, &["-p"]).contains("100000    2   udp    111  portmapper"));
    ping_all_transports(&sb);
    assert_eq!(sb.stop(pid, libc::SIGTERM).and_then(|s| s.code()), Some(0));
}

#[test]
fn a_second_daemon_on_the_same_state_directory_exits_1() {
    let Some(mut sb) = sandbox_or_skip(&[]) else {
        return;
    };
    let state = sb.dir.path().join("state");
    let pid = sb.spawn(
        daemon::statd_may_embed(&sb, &state, 20024, &[]),
        "first.log",
    );
    assert!(sb.wait_until(10, || sb.log("first.log").contains("listening on port")));
    let second = daemon::statd_may_embed(&sb, &state, 20026, &[])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains(&format!("in use by pid {pid}")), "{err}");
    assert_eq!(sb.stop(pid, libc::SIGTERM).and_then(|s| s.code()), Some(0));
}

#[test]
fn daemon_mode_parent_exits_0_once_serving() {
    let Some(sb) = sandbox_or_skip(&["rpcinfo"]) else {
        return;
    };
    let state = sb.dir.path().join("state");
    let out = statd_command(&sb, &["-p", "20024", "-P", state.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The parent only returns once the child serves: no wait needed.
    let ping = rpcinfo(&sb, &["-u", "127.0.0.1", "100024", "1"]);
    assert!(ping.contains("ready and waiting"), "{ping}");
    // The lock file says "PID ROLE".
    let lock = std::fs::read_to_string(state.join(".statmon.lock")).unwrap();
    assert!(lock.ends_with(" rpc.statd\n"), "{lock:?}");
    let pid: i32 = lock.split_whitespace().next().unwrap().parse().unwrap();
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::TERM,
    );
    assert!(
        sb.wait_until(10, || !std::path::Path::new(&format!("/proc/{pid}"))
            .exists())
    );
}
