//! The test peers against the reference: `tests/common/smclient.rs` (the
//! rpcgen/libtirpc NSM client) and `tests/common/fake_lockd.rs` (the fake
//! lock manager) drive Debian's rpc.statd in a sandbox with a private
//! resolver, and the fake lock manager answers handcrafted calls the way
//! Linux and BSD lock managers do.
//!
//! Prerequisites are decided by `common::prereq`. `--nocapture` shows every reply and
//! every logged callback.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::fake_lockd::{Answer, Callback, FakeLockd, Options, Style};
use common::layout::{self, StateFile};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use common::smclient::{priv_hex, Reply, SmClient, RPC_PROGUNAVAIL, RPC_TIMEDOUT};
use common::{rpcinfo, start_rpcbind};
use socket2::{Domain, SockAddr, Socket, Type};
use statmon::proto::nlm::{NLM4_VERS, NLMPROC_NSM_NOTIFY, NLM_PROG, NLM_SM, NLM_SM_NOTIFY};
use statmon::proto::sm_inter::{SmString, Status};
use statmon::rpc::message::{decode_reply, encode_call, ReplyKind};
use statmon::rpc::{frame, Credential, Transport};
use statmon::xdr::{FixedOpaque, Xdr};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

const DEBIAN_STATD: &str = "/usr/sbin/rpc.statd";
const COOKIE: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];

/// A sandbox, if it and `needs` are here (see `common::prereq`).
fn sandbox_or_skip(needs: &[Need], hosts: &[(&str, &str)]) -> Option<Sandbox> {
    let mut all = vec![Need::Sandbox];
    all.extend_from_slice(needs);
    prereq::require(&all).then(|| Sandbox::with_hosts(hosts))
}

/// `(vers, proto, port)` of every 100021 line of `rpcinfo -p`.
fn nlm_listing(sb: &Sandbox) -> Vec<(u32, String, u16)> {
    let mut v: Vec<(u32, String, u16)> = rpcinfo(sb, &["-p"])
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && f[0] == "100021").then(|| {
                (
                    f[1].parse().unwrap(),
                    f[2].to_string(),
                    f[3].parse().unwrap(),
                )
            })
        })
        .collect();
    v.sort();
    v
}

fn status(mon_name: &str, state: i32) -> Status {
    Status {
        mon_name: SmString::new(mon_name.as_bytes().to_vec()).unwrap(),
        state,
        cookie: FixedOpaque(COOKIE),
    }
}

/// A UDP socket on `ip` with a free port below 1024.
fn reserved_udp(ip: Ipv4Addr) -> UdpSocket {
    (600..1024)
        .rev()
        .find_map(|port| UdpSocket::bind((ip, port)).ok())
        .expect("a free reserved port")
}

/// A TCP connection to `to` from 127.0.0.1 and a free port below 1024.
fn reserved_tcp(to: SocketAddr) -> TcpStream {
    for port in (600..1024).rev() {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        if s.bind(&SockAddr::from(local)).is_ok() {
            s.connect(&SockAddr::from(to)).unwrap();
            return s.into();
        }
    }
    panic!("no free reserved port");
}

/// Sends `msg` from `sock` and waits up to `wait` for a datagram back.
fn udp_exchange(sock: &UdpSocket, to: SocketAddr, msg: &[u8], wait: Duration) -> Option<Vec<u8>> {
    sock.set_read_timeout(Some(wait)).unwrap();
    sock.send_to(msg, to).unwrap();
    let mut buf = vec![0u8; 65536];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// One record-marked call and its reply on `stream`.
fn tcp_exchange(stream: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    stream.write_all(&frame(msg)).unwrap();
    let mut mark = [0u8; 4];
    stream.read_exact(&mut mark).unwrap();
    let len = (u32::from_be_bytes(mark) & 0x7fff_ffff) as usize;
    let mut body = vec![0u8; len.min(1 << 16)];
    stream.read_exact(&mut body).unwrap();
    body
}

fn kind(reply: &[u8]) -> ReplyKind<'_> {
    decode_reply(reply).unwrap().1
}

/// `127.0.0.1 20024 PROTO REST...`: statd's port, given explicitly.
fn at<'a>(proto: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["127.0.0.1", "20024", proto];
    v.extend_from_slice(rest);
    v
}

/// `(name, contents)` of every record file in `DIR/sm` (dot files, which
/// are not records, left out), sorted.
fn sm_files(state_dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(state_dir.join("sm"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    v.retain(|(name, _)| !name.starts_with('.'));
    v.sort();
    v
}

fn print_calls(calls: &[Callback]) {
    for c in calls {
        println!("  lockd got: {c}");
    }
}

#[test]
fn reply_lines_parse() {
    assert_eq!(Reply::parse("ok void\n"), Some(Reply::Void));
    assert_eq!(
        Reply::parse("ok res_stat=1 state=-1"),
        Some(Reply::StatRes {
            res_stat: 1,
            state: -1
        })
    );
    assert_eq!(Reply::parse("ok state=3"), Some(Reply::State(3)));
    let timeout = Reply::parse("rpcerr 5 smclient: RPC: Timed out").unwrap();
    assert_eq!(
        timeout,
        Reply::RpcErr {
            stat: RPC_TIMEDOUT,
            text: "smclient: RPC: Timed out".into()
        }
    );
    assert!(timeout.is_timeout());
    assert!(!Reply::Void.is_timeout());
    for bad in [
        "",
        "ok",
        "ok state=x",
        "ok a=1 b=2",
        "rpcerr x y",
        "ok res_stat=0",
    ] {
        assert_eq!(Reply::parse(bad), None, "{bad:?}");
    }
    assert_eq!(priv_hex(&COOKIE), "00112233445566778899aabbccddeeff");
}

#[test]
fn sandbox_resolver_is_private() {
    let Some(sb) = sandbox_or_skip(&[Need::Tool("getent")], &[("127.0.0.20", "peerhost")]) else {
        return;
    };
    let text = |args: &[&str]| {
        let out = sb.run(args[0], &args[1..]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(
        text(&["getent", "hosts", "peerhost"]),
        (Some(0), "127.0.0.20      peerhost\n".into())
    );
    assert_eq!(
        text(&["getent", "hosts", "127.0.0.1"]),
        (Some(0), "127.0.0.1       localhost\n".into())
    );
    // Not in /etc/hosts: fails at once, without asking any DNS server.
    let started = Instant::now();
    assert_eq!(text(&["getent", "hosts", "example.com"]).0, Some(2));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        text(&["cat", "/etc/resolv.conf"]).1,
        "nameserver 127.0.0.1\n"
    );
    assert!(text(&["cat", "/etc/nsswitch.conf"])
        .1
        .lines()
        .any(|l| l == "hosts: files"));

    sb.set_hosts(&[("127.0.0.21", "otherhost other")]);
    assert_eq!(text(&["getent", "hosts", "peerhost"]).0, Some(2));
    assert_eq!(
        text(&["getent", "hosts", "other"]),
        (Some(0), "127.0.0.21      otherhost other\n".into())
    );
    // The machine's own /etc/hosts is untouched.
    let host_hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    assert!(!host_hosts.contains("otherhost"));
}

/// smclient and the Linux-style fake lockd against Debian's rpc.statd.
#[test]
fn debian_statd_with_smclient_and_fake_lockd() {
    let needs = [
        Need::Tool("rpcbind"),
        Need::Tool("rpcinfo"),
        Need::DebianDaemons,
        Need::StatdUser,
    ];
    let Some(mut sb) = sandbox_or_skip(&needs, &[("127.0.0.20", "peerhost")]) else {
        return;
    };
    let Some(smc) = SmClient::build() else {
        return;
    };
    let rpcbind = start_rpcbind(&mut sb);
    let state_dir = sb.dir.path().join("statd");
    layout::stock(&state_dir, StateFile::Empty);
    let mut cmd = sb.command(DEBIAN_STATD);
    cmd.args(["-F", "-d", "-L", "-P"])
        .arg(&state_dir)
        .args(["-p", "20024", "-o", "20025"]);
    let statd = sb.spawn(cmd, "statd.log");
    let run = |args: &[&str]| {
        let r = smc.run(&sb, args);
        println!("smclient {}: {r:?}", args.join(" "));
        r
    };
    assert!(
        sb.wait_until(10, || smc.answers_null(&sb, "20024")),
        "statd did not answer: {}",
        sb.log("statd.log")
    );

    sb.enter_net();
    let lockd = FakeLockd::start(Style::Linux, Options::default());
    let ports = lockd.ports();
    let mut want = Vec::new();
    for v in [1, 3, 4] {
        want.push((v, "tcp".to_string(), ports.tcp));
        want.push((v, "udp".to_string(), ports.udp));
    }
    assert_eq!(nlm_listing(&sb), want);

    assert_eq!(run(&at("udp", &["null"])), Reply::Void);
    assert_eq!(run(&at("tcp", &["null"])), Reply::Void);
    let Reply::StatRes { res_stat: 0, state } = run(&at("udp", &["stat", "127.0.0.20"])) else {
        panic!("SM_STAT 127.0.0.20 failed; log:\n{}", sb.log("statd.log"));
    };
    assert_eq!(state, 3, "a fresh state directory starts at 3");
    assert_eq!(
        run(&at("tcp", &["stat", "peerhost"])),
        Reply::StatRes { res_stat: 0, state }
    );
    assert_eq!(
        run(&at("udp", &["stat", "nosuchhost.invalid"])),
        Reply::StatRes { res_stat: 1, state }
    );

    // Over IPv6: SM_STAT is served, SM_MON refused (::1 is not 127.0.0.1).
    assert_eq!(
        run(&["::1", "20024", "udp", "stat", "peerhost"]),
        Reply::StatRes { res_stat: 0, state }
    );
    let cookie = priv_hex(&COOKIE);
    assert_eq!(
        run(&[
            "::1",
            "20024",
            "tcp",
            "mon",
            "127.0.0.20",
            "labclient",
            "100021",
            "4",
            "16",
            cookie.as_str()
        ]),
        Reply::StatRes {
            res_stat: 1,
            state: -1
        }
    );
    let mon = [
        "mon",
        "127.0.0.20",
        "labclient",
        "100021",
        "4",
        "16",
        cookie.as_str(),
    ];
    assert_eq!(run(&at("tcp", &mon)), Reply::StatRes { res_stat: 0, state });
    let files = sm_files(&state_dir);
    println!("sm/: {files:?}");
    // An IP literal with a reverse map is filed under the canonical name.
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].0, "peerhost");
    assert!(files[0].1.ends_with(
        " 000186b5 00000004 00000010 00112233445566778899aabbccddeeff 127.0.0.20 labclient\n"
    ));

    // SM_NOTIFY: exactly one callback, NLM v4 procedure 16 over UDP from a
    // reserved port on 127.0.0.1, carrying the SM_MON priv.
    assert_eq!(run(&at("udp", &["notify", "127.0.0.20", "7"])), Reply::Void);
    let calls = lockd.wait_calls(1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(1500));
    let calls_later = lockd.calls();
    print_calls(&calls_later);
    assert_eq!(calls_later.len(), 1);
    let c = &calls[0];
    assert_eq!(
        (c.prog, c.vers, c.proc, c.transport),
        (NLM_PROG, NLM4_VERS, NLMPROC_NSM_NOTIFY, Transport::Udp)
    );
    assert_eq!(c.from.ip(), Ipv4Addr::LOCALHOST);
    assert!(c.privileged(), "{c}");
    assert_eq!(c.cred, Credential::None);
    assert_eq!(c.status, Some(status("127.0.0.20", 7)));
    assert_eq!(c.answer, Answer::Void);

    // SM_MON from another loopback address is refused.
    let refused = smc.run_full(
        &sb,
        &[
            "-b",
            "127.0.0.2",
            "127.0.0.1",
            "20024",
            "udp",
            "mon",
            "127.0.0.20",
            "labclient",
            "100021",
            "4",
            "16",
            cookie.as_str(),
        ],
    );
    println!("smclient -b 127.0.0.2 mon: {refused:?}");
    assert_eq!(
        refused.reply,
        Reply::StatRes {
            res_stat: 1,
            state: -1
        }
    );
    assert_eq!(refused.src.unwrap().ip(), Ipv4Addr::new(127, 0, 0, 2));

    // SM_SIMU_CRASH from an unprivileged port: a void reply and no effect,
    // so the next SM_NOTIFY is still forwarded.
    let crash = smc.run_full(&sb, &at("udp", &["simu_crash"]));
    println!("smclient simu_crash: {crash:?}");
    assert_eq!(crash.reply, Reply::Void);
    assert!(crash.src.unwrap().port() >= 1024);
    assert!(
        sb.log("statd.log").contains("unprivileged port"),
        "{}",
        sb.log("statd.log")
    );
    assert_eq!(run(&at("udp", &["notify", "127.0.0.20", "9"])), Reply::Void);
    let calls = lockd.wait_calls(2, Duration::from_secs(10));
    print_calls(&calls[1..]);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].status, Some(status("127.0.0.20", 9)));

    // -r takes a reserved source port.
    let reserved = smc.run_full(&sb, &["-r", "127.0.0.1", "20024", "tcp", "null"]);
    println!("smclient -r null: {reserved:?}");
    assert_eq!(reserved.reply, Reply::Void);
    let src = reserved.src.unwrap();
    assert!(src.port() < 1024, "{src}");

    // SM_UNMON and SM_UNMON_ALL report the local state; after SM_UNMON the
    // host is no longer forwarded.
    let id = ["labclient", "100021", "4", "16"];
    let mut unmon = vec!["unmon", "127.0.0.20"];
    unmon.extend_from_slice(&id);
    assert_eq!(run(&at("udp", &unmon)), Reply::State(state));
    assert_eq!(sm_files(&state_dir), []);
    let mut unmon_all = vec!["unmon_all"];
    unmon_all.extend_from_slice(&id);
    assert_eq!(run(&at("tcp", &unmon_all)), Reply::State(state));
    assert_eq!(
        run(&at("udp", &["notify", "127.0.0.20", "11"])),
        Reply::Void
    );
    assert_eq!(lockd.wait_calls(3, Duration::from_millis(1500)).len(), 2);

    drop(lockd);
    assert!(
        nlm_listing(&sb).is_empty(),
        "fake lockd still registered:\n{}",
        rpcinfo(&sb, &["-p"])
    );
    assert!(
        sb.stop(statd, libc::SIGTERM).is_some(),
        "statd did not stop"
    );
    assert!(
        sb.stop(rpcbind, libc::SIGTERM).is_some(),
        "rpcbind did not stop"
    );
    println!("statd log:\n{}", sb.log("statd.log"));
}

/// A Linux-style fake lockd in the calling thread's network, not
/// registered with any rpcbind, that ignores the first call.
fn unregistered_linux_lockd() -> FakeLockd {
    FakeLockd::start(
        Style::Linux,
        Options {
            ignore_first: 1,
            register: false,
        },
    )
}

/// The Linux-style lockd's answers, over UDP and TCP, without rpcbind.
#[test]
fn linux_style_lockd_answers_like_the_kernel() {
    let Some(sb) = sandbox_or_skip(&[], &[]) else {
        return;
    };
    sb.enter_net();
    let lockd = unregistered_linux_lockd();
    let udp = SocketAddr::from((Ipv4Addr::LOCALHOST, lockd.ports().udp));
    let tcp = SocketAddr::from((Ipv4Addr::LOCALHOST, lockd.ports().tcp));
    let args = status("peer", 5).to_xdr();
    let notify = |xid, vers| {
        encode_call(
            xid,
            NLM_PROG,
            vers,
            NLMPROC_NSM_NOTIFY,
            &Credential::None,
            &args,
        )
    };
    let wait = Duration::from_millis(500);

    // The first call is ignored; its retransmission is answered.
    let privileged = reserved_udp(Ipv4Addr::LOCALHOST);
    assert_eq!(udp_exchange(&privileged, udp, &notify(1, 3), wait), None);
    let reply = udp_exchange(&privileged, udp, &notify(1, 3), wait).unwrap();
    assert_eq!(decode_reply(&reply).unwrap(), (1, ReplyKind::Success(&[])));

    // Unprivileged port: SYSTEM_ERR. Another loopback address: accepted.
    let unprivileged = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let reply = udp_exchange(&unprivileged, udp, &notify(2, 4), wait).unwrap();
    assert_eq!(kind(&reply), ReplyKind::SystemErr);
    let other = reserved_udp(Ipv4Addr::new(127, 0, 0, 2));
    let reply = udp_exchange(&other, udp, &notify(3, 1), wait).unwrap();
    assert_eq!(kind(&reply), ReplyKind::Success(&[]));

    // Procedure 0, other procedures, versions, programs; bad arguments.
    let call = |xid, prog, vers, proc, args: &[u8]| {
        let msg = encode_call(xid, prog, vers, proc, &Credential::None, args);
        udp_exchange(&privileged, udp, &msg, wait).unwrap()
    };
    assert_eq!(kind(&call(4, NLM_PROG, 4, 0, &[])), ReplyKind::Success(&[]));
    assert_eq!(kind(&call(5, NLM_PROG, 4, 2, &[])), ReplyKind::ProcUnavail);
    assert_eq!(
        kind(&call(6, NLM_PROG, 2, 16, &args)),
        ReplyKind::ProgMismatch { low: 1, high: 4 }
    );
    assert_eq!(
        kind(&call(7, 100_024, 1, 16, &args)),
        ReplyKind::ProgUnavail
    );
    assert_eq!(
        kind(&call(8, NLM_PROG, 3, 16, &args[..10])),
        ReplyKind::GarbageArgs
    );

    // TCP from a reserved port, then from an ephemeral one.
    let mut stream = reserved_tcp(tcp);
    assert_eq!(
        kind(&tcp_exchange(&mut stream, &notify(9, 4))),
        ReplyKind::Success(&[])
    );
    let mut stream = TcpStream::connect(tcp).unwrap();
    assert_eq!(
        kind(&tcp_exchange(&mut stream, &notify(10, 4))),
        ReplyKind::SystemErr
    );

    // Not a call at all: logged apart, no reply.
    assert_eq!(udp_exchange(&privileged, udp, &[1, 2, 3], wait), None);

    let calls = lockd.wait_calls(11, Duration::from_secs(2));
    print_calls(&calls);
    let answers: Vec<(u32, Answer)> = calls.iter().map(|c| (c.xid, c.answer)).collect();
    assert_eq!(
        answers,
        [
            (1, Answer::Ignored),
            (1, Answer::Void),
            (2, Answer::SystemErr),
            (3, Answer::Void),
            (4, Answer::Void),
            (5, Answer::ProcUnavail),
            (6, Answer::ProgMismatch { low: 1, high: 4 }),
            (7, Answer::ProgUnavail),
            (8, Answer::GarbageArgs),
            (9, Answer::Void),
            (10, Answer::SystemErr),
        ]
    );
    assert_eq!(calls[1].status, Some(status("peer", 5)));
    assert_eq!(calls[3].from.ip(), Ipv4Addr::new(127, 0, 0, 2));
    assert!(calls[3].privileged() && !calls[2].privileged());
    assert_eq!(calls[4].status, None);
    assert_eq!(calls[8].status, None);
    assert_eq!(calls[8].args, &args[..10]);
    assert_eq!(calls[9].transport, Transport::Tcp);
    let junk = lockd.junk();
    assert_eq!(junk.len(), 1);
    assert_eq!(junk[0].bytes, [1, 2, 3]);
    assert!(junk[0].why.starts_with("dropped"), "{}", junk[0].why);
}

/// The BSD-style lockd registers version 0 and takes NLM_SM_NOTIFY from
/// anyone.
#[test]
fn bsd_style_lockd_takes_nlm_sm_notify() {
    let Some(mut sb) = sandbox_or_skip(&[Need::Tool("rpcbind"), Need::Tool("rpcinfo")], &[]) else {
        return;
    };
    let rpcbind = start_rpcbind(&mut sb);
    sb.enter_net();
    let lockd = FakeLockd::start(Style::Bsd, Options::default());
    let ports = lockd.ports();
    assert_eq!(
        nlm_listing(&sb),
        [
            (0, "tcp".to_string(), ports.tcp),
            (0, "udp".to_string(), ports.udp)
        ]
    );
    let udp = SocketAddr::from((Ipv4Addr::LOCALHOST, ports.udp));
    let args = status("127.0.0.20", 7).to_xdr();
    let call = |xid, vers, proc| encode_call(xid, NLM_PROG, vers, proc, &Credential::None, &args);
    let wait = Duration::from_secs(1);

    let privileged = reserved_udp(Ipv4Addr::LOCALHOST);
    let reply = udp_exchange(&privileged, udp, &call(1, NLM_SM, NLM_SM_NOTIFY), wait).unwrap();
    assert_eq!(decode_reply(&reply).unwrap(), (1, ReplyKind::Success(&[])));
    let unprivileged = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let reply = udp_exchange(&unprivileged, udp, &call(2, NLM_SM, NLM_SM_NOTIFY), wait).unwrap();
    assert_eq!(kind(&reply), ReplyKind::Success(&[]));
    let reply = udp_exchange(&privileged, udp, &call(3, NLM_SM, NLMPROC_NSM_NOTIFY), wait).unwrap();
    assert_eq!(kind(&reply), ReplyKind::ProcUnavail);
    let reply = udp_exchange(
        &privileged,
        udp,
        &call(4, NLM4_VERS, NLMPROC_NSM_NOTIFY),
        wait,
    )
    .unwrap();
    assert_eq!(kind(&reply), ReplyKind::ProgMismatch { low: 0, high: 0 });
    let mut stream = reserved_tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, ports.tcp)));
    let reply = tcp_exchange(&mut stream, &call(5, NLM_SM, NLM_SM_NOTIFY));
    assert_eq!(kind(&reply), ReplyKind::Success(&[]));

    let calls = lockd.wait_calls(5, wait);
    print_calls(&calls);
    assert_eq!(calls.len(), 5);
    for i in [0, 1, 4] {
        assert_eq!(calls[i].status, Some(status("127.0.0.20", 7)));
        assert_eq!(calls[i].answer, Answer::Void);
    }
    assert_eq!(calls[2].status, None);

    drop(lockd);
    assert!(nlm_listing(&sb).is_empty());
    assert!(sb.stop(rpcbind, libc::SIGTERM).is_some());
}

/// smclient's error lines: a call left unanswered, then a wrong program.
#[test]
fn smclient_reports_rpc_errors() {
    let Some(sb) = sandbox_or_skip(&[], &[]) else {
        return;
    };
    let Some(smc) = SmClient::build() else {
        return;
    };
    sb.enter_net();
    let lockd = unregistered_linux_lockd();
    let udp = lockd.ports().udp.to_string();
    let tcp = lockd.ports().tcp.to_string();
    let started = Instant::now();
    let r = smc.run(&sb, &["-t", "1", "127.0.0.1", &udp, "udp", "null"]);
    println!("unanswered: {r:?}");
    assert!(r.is_timeout(), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let r = smc.run(&sb, &["127.0.0.1", &tcp, "tcp", "stat", "x"]);
    println!("wrong program: {r:?}");
    assert!(
        matches!(&r, Reply::RpcErr { stat, text } if *stat == RPC_PROGUNAVAIL && text.contains("Program unavailable")),
        "{r:?}"
    );
    let answers: Vec<(Transport, u32, Answer)> = lockd
        .calls()
        .iter()
        .map(|c| (c.transport, c.prog, c.answer))
        .collect();
    assert_eq!(
        answers,
        [
            (Transport::Udp, 100_024, Answer::Ignored),
            (Transport::Tcp, 100_024, Answer::ProgUnavail)
        ]
    );
}
