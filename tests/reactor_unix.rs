//! Unix-domain sources: stream echo, seqpacket packet boundaries, and
//! datagrams with sender paths.

#[path = "common/reactor.rs"]
mod util;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};
use statmon::reactor::{Event, UnixKind};
use util::{add, reactor, rec, run_until, Rec, Recorder};

fn listen(path: &Path, kind: UnixKind) -> Box<Recorder> {
    let path = path.to_path_buf();
    Recorder::new(move |cx, me| {
        me.ids.push(cx.unix_listen(&path, kind)?);
        Ok(())
    })
}

#[test]
fn stream_accepts_echoes_and_reports_eof() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("stream.sock");
    let mut r = reactor();
    let id = add(
        &mut r,
        listen(&path, UnixKind::Stream).reacting(|cx, _, ev| {
            if let Event::Stream { conn, data } = ev {
                cx.send(*conn, data).expect("echo");
            }
        }),
    );
    let mut c = UnixStream::connect(&path).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    c.write_all(b"over unix").expect("write");
    run_until(&mut r, id, |m| {
        m.accepted().is_some_and(|c| m.stream_bytes(c).len() == 9)
    });
    assert!(matches!(
        rec(&mut r, id).events[0],
        Rec::Accepted { peer: None, .. }
    ));
    let mut buf = [0u8; 9];
    c.read_exact(&mut buf).expect("echo");
    assert_eq!(&buf, b"over unix");
    drop(c);
    run_until(&mut r, id, |m| {
        m.count(|e| matches!(e, Rec::Closed { error: None, .. })) == 1
    });
}

#[test]
fn seqpacket_keeps_packet_boundaries_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("seq.sock");
    let mut r = reactor();
    let id = add(
        &mut r,
        listen(&path, UnixKind::Seqpacket).reacting(|cx, _, ev| {
            if let Event::Packet { conn, data } = ev {
                if data == b"bye" {
                    cx.send(*conn, b"one").expect("reply");
                    cx.send(*conn, b"two!").expect("reply");
                }
            }
        }),
    );
    let c = Socket::new(Domain::UNIX, Type::SEQPACKET, None).expect("socket");
    c.connect(&SockAddr::unix(&path).expect("addr"))
        .expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    let sizes = [1usize, 1000, 17, 60_000];
    for (i, n) in sizes.iter().enumerate() {
        c.send(&vec![i as u8; *n]).expect("send");
    }
    c.send(b"bye").expect("send");
    run_until(&mut r, id, |m| {
        m.count(|e| matches!(e, Rec::Packet { .. })) == 5
    });
    let got: Vec<(usize, u8)> = rec(&mut r, id)
        .events
        .iter()
        .filter_map(|e| match e {
            Rec::Packet { data, .. } => Some((data.len(), data[0])),
            _ => None,
        })
        .collect();
    assert_eq!(got, [(1, 0), (1000, 1), (17, 2), (60_000, 3), (3, b'b')]);
    let mut buf = [0u8; 16];
    assert_eq!((&c).read(&mut buf).expect("first reply"), 3);
    assert_eq!(&buf[..3], b"one");
    assert_eq!((&c).read(&mut buf).expect("second reply"), 4);
    assert_eq!(&buf[..4], b"two!");
}

#[test]
fn datagrams_carry_the_sender_path_and_replies_reach_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server: PathBuf = dir.path().join("server.sock");
    let client_path = dir.path().join("client.sock");
    let mut r = reactor();
    let path = server.clone();
    let id = add(
        &mut r,
        Recorder::new(move |cx, me| {
            me.ids.push(cx.unix_dgram_bind(&path)?);
            Ok(())
        })
        .reacting(|cx, _, ev| {
            if let Event::UnixDatagram {
                sock,
                from: Some(from),
                data,
            } = ev
            {
                cx.unix_send_to(*sock, from, data).expect("reply");
            }
        }),
    );
    let c = UnixDatagram::bind(&client_path).expect("client");
    c.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    c.send_to(b"named", &server).expect("send");
    let anon = UnixDatagram::unbound().expect("unbound");
    anon.send_to(b"anonymous", &server).expect("send");
    run_until(&mut r, id, |m| {
        m.count(|e| matches!(e, Rec::UnixDatagram { .. })) == 2
    });
    let froms: Vec<Option<PathBuf>> = rec(&mut r, id)
        .events
        .iter()
        .filter_map(|e| match e {
            Rec::UnixDatagram { from, .. } => Some(from.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(froms, [Some(client_path), None]);
    let mut buf = [0u8; 16];
    let n = c.recv(&mut buf).expect("reply");
    assert_eq!(&buf[..n], b"named");
}

#[test]
fn unix_send_to_a_missing_path_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s");
    let missing = dir.path().join("nobody");
    let mut r = reactor();
    add(
        &mut r,
        Recorder::new(move |cx, _| {
            let s = cx.unix_dgram_bind(&path)?;
            let err = cx.unix_send_to(s, &missing, b"x").expect_err("no receiver");
            assert_eq!(err.kind(), ErrorKind::NotFound);
            Ok(())
        }),
    );
}
