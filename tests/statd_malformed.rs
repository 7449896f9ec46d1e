//! Malformed and hostile input over UDP and TCP: the daemon answers as a
//! libtirpc server does (or drops), and keeps serving. Runs in a sandbox;
//! the test thread joins its network namespace to talk to the daemon.

mod common;

use common::daemon;
use common::layout::{self, StateFile};
use common::prereq::{self, Need};
use common::raw::{self, decode_reply, encode_call, ReplyKind};
use common::sandbox::Sandbox;
use std::net::SocketAddr;
use std::time::Duration;

const WAIT: Duration = Duration::from_millis(700);

fn call(xid: u32, vers: u32, proc: u32, cred: &raw::Credential, args: &[u8]) -> Vec<u8> {
    encode_call(xid, 100024, vers, proc, cred, args)
}

/// The decoded reply kind's debug text, or "no reply".
fn udp_kind(to: SocketAddr, msg: &[u8]) -> String {
    match raw::udp(to, msg, WAIT) {
        None => "no reply".into(),
        Some(r) => match decode_reply(&r) {
            Ok((_, kind)) => format!("{kind:?}"),
            Err(e) => format!("undecodable {e:?}"),
        },
    }
}

fn alive(to: SocketAddr) {
    let r = raw::udp(to, &raw::nsm_null(0x5151), Duration::from_secs(2))
        .expect("daemon stopped answering");
    assert!(matches!(decode_reply(&r), Ok((0x5151, ReplyKind::Success(b))) if b.is_empty()));
}

fn auth_sys(gids: usize) -> raw::Credential {
    raw::Credential::Sys {
        stamp: 1,
        machine: b"client".to_vec(),
        uid: 0,
        gid: 0,
        gids: vec![7; gids],
    }
}

/// An AUTH_SYS credential body with `gids` gids, built by hand (the library
/// encoder clamps to 16, so a 17-gid body needs this).
fn call_with_raw_cred(flavor: u32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    for w in [9u32, 0, 2, 100024, 1, 0, flavor, body.len() as u32] {
        m.extend_from_slice(&w.to_be_bytes());
    }
    m.extend_from_slice(body);
    m.resize(m.len() + (4 - body.len() % 4) % 4, 0);
    m.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    m
}

fn sys_body(gids: u32) -> Vec<u8> {
    let mut b = Vec::new();
    for w in [1u32, 6] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b.extend_from_slice(b"client\0\0");
    for w in [0u32, 0, gids] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    for _ in 0..gids {
        b.extend_from_slice(&7u32.to_be_bytes());
    }
    b
}

/// statmon's rpc.statd on the stock layout at `<scratch>/state`, serving
/// on port 20024 (no portmapper here: unregistered), once its log says
/// `ready`; returns its pid.
fn start_statd(sb: &mut Sandbox, ready: &str) -> u32 {
    let state = sb.dir.path().join("state");
    layout::stock(&state, StateFile::Empty);
    let pid = sb.spawn(daemon::statd(sb, &state, 20024, &[]), "statd.log");
    assert!(sb.wait_until(10, || sb.log("statd.log").contains(ready)));
    pid
}

#[test]
fn malformed_input_gets_libtirpc_replies_and_the_daemon_keeps_serving() {
    if !prereq::require(&[Need::Sandbox, Need::StatdUser]) {
        return;
    }
    let mut sb = Sandbox::new();
    let pid = start_statd(&mut sb, "listening on port");
    sb.enter_net();
    let v4: SocketAddr = "127.0.0.1:20024".parse().unwrap();
    let v6: SocketAddr = "[::1]:20024".parse().unwrap();
    let none = raw::Credential::None;
    let cases = std::cell::Cell::new(0);
    let check = |what: &str, got: String, want: &str| {
        cases.set(cases.get() + 1);
        assert_eq!(got, want, "{what}");
    };

    for to in [v4, v6] {
        check("null", udp_kind(to, &raw::nsm_null(1)), "Success([])");
        check(
            "AUTH_SYS null",
            udp_kind(to, &call(2, 1, 0, &auth_sys(16), &[])),
            "Success([])",
        );
        check(
            "proc 99",
            udp_kind(to, &call(3, 1, 99, &none, &[])),
            "ProcUnavail",
        );
        check(
            "vers 2",
            udp_kind(to, &call(4, 2, 0, &none, &[])),
            "ProgMismatch { low: 1, high: 1 }",
        );
        let wrong_prog = encode_call(5, 100021, 4, 0, &none, &[]);
        check("prog 100021", udp_kind(to, &wrong_prog), "ProgUnavail");
    }
    check(
        "17 gids",
        udp_kind(v4, &call_with_raw_cred(1, &sys_body(17))),
        "AuthError(BadCred)",
    );
    check(
        "flavour 99",
        udp_kind(v4, &call_with_raw_cred(99, b"abcd")),
        "AuthError(RejectedCred)",
    );
    check(
        "RPCSEC_GSS junk",
        udp_kind(v4, &call_with_raw_cred(6, b"junkjunk")),
        "AuthError(BadCred)",
    );
    let mut v3 = raw::nsm_null(6);
    v3[8..12].copy_from_slice(&3u32.to_be_bytes());
    check("rpcvers 3", udp_kind(v4, &v3), "no reply");
    let mut reply_msg = raw::nsm_null(7);
    reply_msg[4..8].copy_from_slice(&1u32.to_be_bytes());
    check("REPLY to server", udp_kind(v4, &reply_msg), "no reply");
    for n in [0usize, 1, 4, 20] {
        check(
            "short datagram",
            udp_kind(v4, &raw::nsm_null(8)[..n]),
            "no reply",
        );
    }
    let mut trailing = raw::nsm_null(9);
    trailing.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    check("trailing bytes", udp_kind(v4, &trailing), "Success([])");
    // Random garbage over UDP: never a crash.
    let mut seed = 0x1234_5678u32;
    for len in [7usize, 64, 512, 1000, 9000] {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        let _ = raw::udp(v4, &junk, Duration::from_millis(100));
        cases.set(cases.get() + 1);
    }
    alive(v4);

    // TCP: one fragment, two fragments (libtirpc resets; we reassemble),
    // a 100 MB and a 2 GB record mark (closed at once), random bytes.
    let null = raw::nsm_null(10);
    let one = raw::tcp(v4, &raw::fragment(&null, true), WAIT)
        .unwrap()
        .expect("reply");
    check(
        "tcp null",
        format!("{:?}", decode_reply(&one).unwrap().1),
        "Success([])",
    );
    let mut two = raw::fragment(&null[..13], false);
    two.extend(raw::fragment(&null[13..], true));
    let r = raw::tcp(v6, &two, WAIT)
        .unwrap()
        .expect("reply to a 2-fragment record");
    check(
        "tcp 2 fragments",
        format!("{:?}", decode_reply(&r).unwrap().1),
        "Success([])",
    );
    for mark in [100_000_000u32, 0x7fff_ffff] {
        let got = raw::tcp(v4, &(mark | 0x8000_0000).to_be_bytes(), WAIT).unwrap();
        check("huge record mark", format!("{got:?}"), "None");
    }
    let _ = raw::tcp(
        v4,
        b"GET / HTTP/1.0\r\n\r\n\x00\x01\x02garbage",
        Duration::from_millis(300),
    );
    cases.set(cases.get() + 1);
    alive(v4);
    alive(v6);

    assert_eq!(
        sb.stop(pid, libc::SIGTERM).and_then(|s| s.code()),
        Some(0),
        "{}",
        sb.log("statd.log")
    );
    println!(
        "malformed input: {} cases checked, daemon kept serving",
        cases.get()
    );
}

#[test]
fn unregistered_daemon_still_answers_on_its_port() {
    if !prereq::require(&[Need::Sandbox, Need::StatdUser]) {
        return;
    }
    let mut sb = Sandbox::new();
    let pid = start_statd(&mut sb, "served unregistered");
    sb.enter_net();
    alive("127.0.0.1:20024".parse().unwrap());
    assert_eq!(sb.stop(pid, libc::SIGTERM).and_then(|s| s.code()), Some(0));
}
