//! UDP sources: v4 and v6 echo, V6ONLY sharing of one port, draining a
//! burst in one readiness, reserved-port binding, errors on one socket.

#[path = "common/reactor.rs"]
mod util;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use statmon::reactor::{Context, Event};
use util::{add, reactor, rec, run_until, Rec, Recorder};

fn echo_reply(cx: &mut Context<'_>, _: &mut Recorder, ev: &Event<'_>) {
    if let Event::Datagram { sock, from, data } = ev {
        cx.send_to(*sock, *from, data).expect("echo");
    }
}

fn client(addr: SocketAddr) -> UdpSocket {
    let bind: SocketAddr = if addr.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    }
    .parse()
    .expect("addr");
    let c = UdpSocket::bind(bind).expect("client");
    c.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    c
}

#[test]
fn echo_on_v4_and_v6_sharing_one_port() {
    let mut r = reactor();
    let start = Recorder::new(|cx, me| {
        // Retry in the unlikely case the v6 side of a fresh v4 port is taken.
        for _ in 0..20 {
            let (s4, a4) = cx.udp_bind("127.0.0.1:0".parse().expect("addr"))?;
            match cx.udp_bind(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), a4.port())) {
                Ok((_, a6)) => {
                    me.addrs.extend([a4, a6]);
                    return Ok(());
                }
                Err(_) => cx.close(s4)?,
            }
        }
        Err(std::io::Error::other("no port free on both families"))
    });
    let id = add(&mut r, start.reacting(echo_reply));
    let addrs = rec(&mut r, id).addrs.clone();
    assert_eq!(addrs[0].port(), addrs[1].port());
    for (i, addr) in addrs.iter().enumerate() {
        let c = client(*addr);
        c.send_to(b"ping", addr).expect("send");
        run_until(&mut r, id, |m| {
            m.count(|e| matches!(e, Rec::Datagram { .. })) == i + 1
        });
        let mut buf = [0u8; 16];
        let (n, from) = c.recv_from(&mut buf).expect("echo reply");
        assert_eq!(&buf[..n], b"ping");
        assert_eq!(from, *addr);
    }
    // Each datagram reached the socket of its own family.
    let socks: Vec<_> = rec(&mut r, id)
        .events
        .iter()
        .filter_map(|e| match e {
            Rec::Datagram { sock, from, .. } => Some((*sock, from.is_ipv4())),
            _ => None,
        })
        .collect();
    assert_eq!(socks.len(), 2);
    assert_ne!(socks[0].0, socks[1].0);
    assert!(socks[0].1 && !socks[1].1);
}

#[test]
fn v6_socket_does_not_take_v4_traffic() {
    let mut r = reactor();
    let id = add(
        &mut r,
        Recorder::new(|cx, me| {
            let (_, a) = cx.udp_bind("[::]:0".parse().expect("addr"))?;
            me.addrs.push(a);
            Ok(())
        }),
    );
    let port = rec(&mut r, id).addrs[0].port();
    // A v4 socket can bind the port the v6 wildcard holds: V6ONLY is set.
    let v4 = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).expect("v4 bind beside the v6 socket");
    drop(v4);
}

#[test]
fn drains_many_queued_datagrams_in_one_turn() {
    let mut r = reactor();
    let id = add(
        &mut r,
        Recorder::new(|cx, me| {
            let (_, a) = cx.udp_bind("127.0.0.1:0".parse().expect("addr"))?;
            me.addrs.push(a);
            Ok(())
        }),
    );
    let addr = rec(&mut r, id).addrs[0];
    let c = client(addr);
    for i in 0..64u32 {
        c.send_to(&i.to_be_bytes(), addr).expect("send");
    }
    // One readiness edge; the reactor must read until WouldBlock.
    r.turn(Some(Duration::from_secs(1))).expect("turn");
    let got: Vec<u32> = rec(&mut r, id)
        .events
        .iter()
        .filter_map(|e| match e {
            Rec::Datagram { data, .. } => {
                Some(u32::from_be_bytes(data[..4].try_into().expect("4 bytes")))
            }
            _ => None,
        })
        .collect();
    assert_eq!(got, (0..64).collect::<Vec<_>>());
}

#[test]
fn reserved_port_bind_gets_a_port_below_1024() {
    let mut r = reactor();
    let id = add(
        &mut r,
        Recorder::new(|cx, me| {
            let (_, a) = cx.udp_bind_reserved(IpAddr::V4(Ipv4Addr::LOCALHOST))?;
            let (_, b) = cx.udp_bind_reserved(IpAddr::V6(Ipv6Addr::LOCALHOST))?;
            me.addrs.extend([a, b]);
            Ok(())
        }),
    );
    for a in rec(&mut r, id).addrs.clone() {
        assert!((512..1024).contains(&a.port()), "{a}");
    }
}

#[test]
fn send_to_a_foreign_or_wrong_source_fails() {
    let mut r = reactor();
    let a = add(
        &mut r,
        Recorder::new(|cx, me| {
            let (s, _) = cx.udp_bind("127.0.0.1:0".parse().expect("addr"))?;
            me.ids.push(s);
            Ok(())
        }),
    );
    let foreign = rec(&mut r, a).ids[0];
    let b = add(
        &mut r,
        Recorder::new(move |cx, _| {
            let err = cx
                .send_to(foreign, "127.0.0.1:9".parse().expect("addr"), b"x")
                .expect_err("not ours");
            assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
            let fifo_dir = tempfile::tempdir()?;
            let fifo = cx.fifo_open(&fifo_dir.path().join("f"))?;
            let err = cx
                .send_to(fifo, "127.0.0.1:9".parse().expect("addr"), b"x")
                .expect_err("not udp");
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            assert!(cx.close(foreign).is_err());
            Ok(())
        }),
    );
    let _ = b;
}

#[test]
fn failed_start_releases_what_the_module_opened() {
    let mut r = reactor();
    let port = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = port.clone();
    let err = r
        .add_module(Recorder::new(move |cx, _| {
            let (_, a) = cx.udp_bind("127.0.0.1:0".parse().expect("addr"))?;
            seen.set(a.port());
            Err(std::io::Error::other("config missing"))
        }))
        .expect_err("start fails");
    assert_eq!(err.to_string(), "config missing");
    UdpSocket::bind((Ipv4Addr::LOCALHOST, port.get())).expect("the port was released");
    // A later module gets a fresh id; the failed one is not reachable.
    let id = add(&mut r, Recorder::new(|_, _| Ok(())));
    assert!(r.module::<Recorder>(id).is_some());
}

#[test]
fn a_flooded_socket_yields_to_others_and_is_drained_in_the_next_turns() {
    let mut r = reactor();
    let id = add(
        &mut r,
        Recorder::new(|cx, me| {
            for _ in 0..2 {
                let (s, a) = cx.udp_bind("127.0.0.1:0".parse().expect("addr"))?;
                me.ids.push(s);
                me.addrs.push(a);
            }
            Ok(())
        }),
    );
    let (flooded, quiet) = (rec(&mut r, id).addrs[0], rec(&mut r, id).addrs[1]);
    let (flooded_id, quiet_id) = (rec(&mut r, id).ids[0], rec(&mut r, id).ids[1]);
    let c = client(flooded);
    c.set_write_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    // More than one turn's budget (64) on one socket (the kernel may drop
    // some of them: its buffer is what it is), one on the other.
    for i in 0..200u32 {
        c.send_to(&i.to_be_bytes(), flooded).expect("send");
    }
    c.send_to(b"quiet", quiet).expect("send");
    let count = |r: &mut statmon::reactor::Reactor, to: statmon::reactor::SourceId| {
        rec(r, id)
            .events
            .iter()
            .filter(|e| matches!(e, Rec::Datagram { sock, .. } if *sock == to))
            .count()
    };
    r.turn(Some(Duration::from_secs(1))).expect("turn");
    assert_eq!(count(&mut r, quiet_id), 1, "the quiet socket was served");
    assert_eq!(count(&mut r, flooded_id), 64, "one turn, one budget");
    // No new readiness arrives, yet the rest comes at once.
    let t = std::time::Instant::now();
    r.turn(Some(Duration::from_secs(5))).expect("turn");
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "carried datagrams waited"
    );
    assert!(count(&mut r, flooded_id) > 64, "the next turn went on");
}
