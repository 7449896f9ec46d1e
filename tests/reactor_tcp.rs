//! TCP sources: accept and echo over v4 and v6, buffered output to a slow
//! reader, connection limit, idle timeout, outgoing connects (reserved
//! port, refused), send limit, and a reset connection not disturbing others.

mod common;
#[path = "common/reactor.rs"]
mod util;

use common::prereq::{self, Need};

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use statmon::reactor::{Context, Event, ManualClock, Reactor, TcpOpts};
use util::{add, reactor, rec, run_for, run_until, Rec, Recorder};

fn echo_reply(cx: &mut Context<'_>, _: &mut Recorder, ev: &Event<'_>) {
    if let Event::Stream { conn, data } = ev {
        cx.send(*conn, data).expect("echo");
    }
}

fn listen(addr: &'static str, opts: TcpOpts) -> Box<Recorder> {
    Recorder::new(move |cx, me| {
        let (id, a) = cx.tcp_listen(addr.parse().expect("addr"), opts)?;
        me.ids.push(id);
        me.addrs.push(a);
        Ok(())
    })
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    s
}

fn closed(m: &Recorder) -> Vec<Option<ErrorKind>> {
    m.events
        .iter()
        .filter_map(|e| match e {
            Rec::Closed { error, .. } => Some(*error),
            _ => None,
        })
        .collect()
}

#[test]
fn accepts_and_echoes_on_v4_and_v6() {
    for addr in ["127.0.0.1:0", "[::1]:0"] {
        let mut r = reactor();
        let m = listen(addr, TcpOpts::default()).reacting(|cx, me, ev| {
            if let Event::Accepted { listener, conn, .. } = ev {
                let found = [
                    cx.local_addr(*listener),
                    cx.local_addr(*conn),
                    cx.peer_addr(*conn),
                ];
                me.addrs.extend(found.into_iter().flatten());
                assert_eq!(cx.peer_addr(*listener), None);
            }
            echo_reply(cx, me, ev);
        });
        let id = add(&mut r, m);
        let local = rec(&mut r, id).addrs[0];
        assert_ne!(local.port(), 0);
        let mut c = connect(local);
        run_until(&mut r, id, |m| m.accepted().is_some());
        let m = rec(&mut r, id);
        let Rec::Accepted { listener, peer, .. } = &m.events[0] else {
            panic!("first event is not Accepted");
        };
        assert_eq!(*listener, m.ids[0]);
        assert_eq!(*peer, Some(c.local_addr().expect("addr")));
        // The accessors agree: addrs = [listener's, conn's local, conn's peer].
        assert_eq!(
            m.addrs[1..],
            [
                local,
                c.peer_addr().expect("server"),
                c.local_addr().expect("client")
            ]
        );
        c.write_all(b"hello").expect("write");
        run_until(&mut r, id, |m| {
            m.accepted().is_some_and(|c| m.stream_bytes(c).len() == 5)
        });
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).expect("echo");
        assert_eq!(&buf, b"hello");
        let conn = rec(&mut r, id).accepted().expect("conn");
        drop(c);
        run_until(&mut r, id, |m| !closed(m).is_empty());
        assert!(
            matches!(rec(&mut r, id).events.last(), Some(Rec::Closed { conn: c, error: None }) if *c == conn)
        );
    }
}

#[test]
fn large_payload_is_queued_and_flushed_to_a_slow_reader() {
    const LEN: usize = 8 << 20;
    let payload: Vec<u8> = (0..LEN).map(|i| (i % 253) as u8).collect();
    let sent = payload.clone();
    let mut r = reactor();
    let id = add(
        &mut r,
        listen("127.0.0.1:0", TcpOpts::default()).reacting(move |cx, _, ev| {
            if let Event::Accepted { conn, .. } = ev {
                cx.set_send_limit(*conn, 2 * LEN).expect("limit");
                cx.send(*conn, &sent).expect("send");
                assert!(
                    cx.queued(*conn).expect("queued") > 0,
                    "8 MB cannot fit at once"
                );
            }
        }),
    );
    let mut c = connect(rec(&mut r, id).addrs[0]);
    c.set_nonblocking(true).expect("nonblocking");
    let mut got = Vec::with_capacity(LEN);
    let mut buf = vec![0u8; 256 * 1024];
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < LEN {
        assert!(
            Instant::now() < deadline,
            "only {} bytes arrived",
            got.len()
        );
        r.turn(Some(Duration::from_millis(1))).expect("turn");
        match c.read(&mut buf) {
            Ok(0) => panic!("early EOF"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(got == payload, "bytes differ");
}

#[test]
fn connections_past_the_limit_are_closed_at_once() {
    let mut r = reactor();
    let opts = TcpOpts {
        max_conns: 2,
        idle_timeout: None,
        local_reserve: 0,
    };
    let id = add(&mut r, listen("127.0.0.1:0", opts));
    let addr = rec(&mut r, id).addrs[0];
    let a = connect(addr);
    let b = connect(addr);
    run_until(&mut r, id, |m| {
        m.count(|e| matches!(e, Rec::Accepted { .. })) == 2
    });
    let mut third = connect(addr);
    run_for(&mut r, Duration::from_millis(50));
    let mut buf = [0u8; 1];
    match third.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("third connection still open: {other:?}"),
    }
    assert_eq!(
        rec(&mut r, id).count(|e| matches!(e, Rec::Accepted { .. })),
        2
    );
    // Closing one makes room again.
    drop(a);
    run_until(&mut r, id, |m| closed(m).len() == 1);
    let _d = connect(addr);
    run_until(&mut r, id, |m| {
        m.count(|e| matches!(e, Rec::Accepted { .. })) == 3
    });
    drop(b);
}

/// A connection to `addr` from a reserved port on 127.0.0.1; `None`
/// without the privilege to bind one.
fn connect_reserved(addr: SocketAddr) -> Option<TcpStream> {
    use socket2::{Domain, Socket, Type};
    (600u16..1024).rev().find_map(|port| {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
        s.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())
            .ok()?;
        s.connect(&addr.into()).ok()?;
        Some(s.into())
    })
}

fn is_refused(mut c: TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(c.read(&mut buf), Ok(0))
        || matches!(c.read(&mut buf), Err(e) if e.kind() == ErrorKind::ConnectionReset)
}

#[test]
fn reserved_loopback_peers_may_use_the_local_reserve() {
    let mut r = reactor();
    let opts = TcpOpts {
        max_conns: 1,
        idle_timeout: None,
        local_reserve: 2,
    };
    let id = add(&mut r, listen("127.0.0.1:0", opts));
    let addr = rec(&mut r, id).addrs[0];
    let _first = connect(addr);
    run_until(&mut r, id, |m| {
        m.count(|e| matches!(e, Rec::Accepted { .. })) == 1
    });
    // The limit is reached for ordinary peers...
    let unprivileged = connect(addr);
    run_for(&mut r, Duration::from_millis(50));
    assert!(
        is_refused(unprivileged),
        "unprivileged peer past the limit kept"
    );
    // ...but not for loopback peers on reserved ports, up to the reserve.
    // Binding a reserved port needs root.
    if !prereq::require(&[Need::Root]) {
        return;
    }
    let a = connect_reserved(addr).expect("first reserved port");
    let b = connect_reserved(addr).expect("second reserved port");
    run_until(&mut r, id, |m| {
        m.count(|e| matches!(e, Rec::Accepted { .. })) == 3
    });
    let c = connect_reserved(addr).expect("third reserved port");
    run_for(&mut r, Duration::from_millis(50));
    assert!(is_refused(c), "past the reserve kept");
    drop((a, b));
}

#[test]
fn idle_connections_are_closed_in_virtual_time() {
    let clock = ManualClock::new(Instant::now());
    let mut r = Reactor::new(Box::new(clock.clone())).expect("reactor");
    let opts = TcpOpts {
        max_conns: 10,
        idle_timeout: Some(Duration::from_secs(60)),
        local_reserve: 0,
    };
    let id = add(&mut r, listen("127.0.0.1:0", opts).reacting(echo_reply));
    let mut c = connect(rec(&mut r, id).addrs[0]);
    run_until(&mut r, id, |m| m.accepted().is_some());
    // Traffic at 40 s moves the deadline to 100 s.
    clock.advance(Duration::from_secs(40));
    c.write_all(b"x").expect("write");
    run_until(&mut r, id, |m| {
        m.count(|e| matches!(e, Rec::Stream { .. })) == 1
    });
    clock.advance(Duration::from_secs(30));
    run_for(&mut r, Duration::from_millis(30));
    assert!(closed(rec(&mut r, id)).is_empty(), "closed at 70 s");
    clock.advance(Duration::from_secs(31));
    run_until(&mut r, id, |m| !closed(m).is_empty());
    assert_eq!(closed(rec(&mut r, id)), [Some(ErrorKind::TimedOut)]);
    let mut buf = [0u8; 4];
    assert_eq!(c.read(&mut buf).expect("echo of x"), 1);
    assert_eq!(c.read(&mut buf).expect("eof"), 0);
}

#[test]
fn connect_from_a_reserved_port_queues_early_data() {
    let server = TcpListener::bind("127.0.0.1:0").expect("listener");
    let to = server.local_addr().expect("addr");
    let mut r = reactor();
    let id = add(
        &mut r,
        Recorder::new(move |cx, me| {
            let conn = cx.tcp_connect(to, true)?;
            cx.send(conn, b"early")?;
            me.ids.push(conn);
            Ok(())
        }),
    );
    run_until(&mut r, id, |m| {
        m.count(|e| matches!(e, Rec::Connected { .. })) == 1
    });
    let (mut s, peer) = server.accept().expect("accept");
    assert!(peer.port() < 1024, "source port {peer}");
    s.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).expect("early data");
    assert_eq!(&buf, b"early");
    s.write_all(b"reply").expect("write");
    let conn = rec(&mut r, id).ids[0];
    run_until(&mut r, id, move |m| m.stream_bytes(conn) == b"reply");
    assert!(matches!(rec(&mut r, id).events[0], Rec::Connected { conn: c } if c == conn));
}

#[test]
fn refused_connect_is_reported_as_closed() {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut r = reactor();
    let id = add(
        &mut r,
        Recorder::new(move |cx, _| {
            cx.tcp_connect(SocketAddr::from(([127, 0, 0, 1], port)), false)?;
            Ok(())
        }),
    );
    run_until(&mut r, id, |m| !closed(m).is_empty());
    assert_eq!(
        closed(rec(&mut r, id)),
        [Some(ErrorKind::ConnectionRefused)]
    );
}

#[test]
fn a_peer_that_never_reads_is_closed_at_the_send_limit() {
    let mut r = reactor();
    let id = add(
        &mut r,
        listen("127.0.0.1:0", TcpOpts::default()).reacting(|cx, me, ev| {
            if let Event::Accepted { conn, .. } = ev {
                cx.set_send_limit(*conn, 64 * 1024).expect("limit");
                let chunk = vec![0u8; 64 * 1024];
                let mut sends = 0;
                while cx.send(*conn, &chunk).is_ok() {
                    sends += 1;
                    assert!(sends < 10_000, "send never failed");
                }
                me.ids.push(*conn);
            }
        }),
    );
    let _c = connect(rec(&mut r, id).addrs[0]);
    run_until(&mut r, id, |m| !closed(m).is_empty());
    assert_eq!(closed(rec(&mut r, id)), [Some(ErrorKind::OutOfMemory)]);
}

#[test]
fn a_reset_connection_does_not_disturb_the_others() {
    let mut r = reactor();
    let id = add(
        &mut r,
        listen("127.0.0.1:0", TcpOpts::default()).reacting(echo_reply),
    );
    let addr = rec(&mut r, id).addrs[0];
    let bad = socket2::Socket::from(connect(addr));
    let mut good = connect(addr);
    run_until(&mut r, id, |m| {
        m.count(|e| matches!(e, Rec::Accepted { .. })) == 2
    });
    bad.set_linger(Some(Duration::ZERO)).expect("linger");
    drop(bad); // sends RST
    run_until(&mut r, id, |m| !closed(m).is_empty());
    assert_eq!(closed(rec(&mut r, id)), [Some(ErrorKind::ConnectionReset)]);
    good.write_all(b"still here").expect("write");
    let mut buf = [0u8; 10];
    run_until(&mut r, id, |m| {
        m.count(|e| matches!(e, Rec::Stream { .. })) == 1
    });
    good.read_exact(&mut buf).expect("echo");
    assert_eq!(&buf, b"still here");
}
