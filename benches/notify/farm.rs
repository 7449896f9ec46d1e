//! The peer farm: one UDP socket per remote host on `ADDR:111`, each acting
//! as that host's portmapper and its statd, all served by one mio thread.
//!
//! PMAP v2 GETPORT answers port 111 (the same socket), RPCB v3/v4 GETADDR
//! answers the socket's own uaddr, SM_NOTIFY answers void. A silent farm
//! counts what arrives and answers nothing. Every datagram is counted by
//! kind; the times of lookups and of the first and last SM_NOTIFY are kept.
//!
//! [`Farm::start`] binds in the calling thread's network namespace; the
//! serving thread it spawns inherits that namespace.

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use statmon::rpc::{decode_call, encode_reply, CallDecode, ReplyKind};
use statmon::xdr::{Bounded, Xdr};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

/// The waker's token; peer tokens are their indices.
const WAKE: Token = Token(usize::MAX);

/// PMAP/RPCB program and procedure (GETPORT = GETADDR = 3).
const PMAP_PROG: u32 = 100_000;
const PMAP_GETPORT: u32 = 3;
/// NSM program, version and SM_NOTIFY.
const SM_PROG: u32 = 100_024;
const SM_VERS: u32 = 1;
const SM_NOTIFY: u32 = 6;

/// What the farm received so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    /// PMAP v2 GETPORT calls.
    pub(crate) getport: usize,
    /// RPCB v3/v4 GETADDR calls.
    pub(crate) getaddr: usize,
    /// SM_NOTIFY calls.
    pub(crate) notify: usize,
    /// Anything else (undecodable or another procedure).
    pub(crate) other: usize,
    /// Peers that got at least one SM_NOTIFY.
    pub(crate) notified_peers: usize,
    /// Arrival of the first and the last SM_NOTIFY.
    pub(crate) first_notify: Option<Instant>,
    /// See `first_notify`.
    pub(crate) last_notify: Option<Instant>,
    /// Arrival of every GETPORT/GETADDR, in order.
    pub(crate) lookups_at: Vec<Instant>,
    /// Arrival of every SM_NOTIFY, in order.
    pub(crate) notifies_at: Vec<Instant>,
}

/// A running farm; dropping it stops the thread and closes every socket.
pub(crate) struct Farm {
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

/// The datagram kinds the farm tells apart.
enum Kind {
    Lookup { rpcb: bool },
    Notify,
    Other,
}

impl Farm {
    /// Binds `ADDR:111` for every address in `peers` and starts serving;
    /// the peers answer if `answer`.
    pub(crate) fn start(peers: &[Ipv4Addr], answer: bool) -> io::Result<Farm> {
        let poll = Poll::new()?;
        let mut socks = Vec::with_capacity(peers.len());
        for (i, ip) in peers.iter().enumerate() {
            let mut s = UdpSocket::bind(SocketAddr::from((*ip, 111)))?;
            poll.registry()
                .register(&mut s, Token(i), Interest::READABLE)?;
            socks.push(s);
        }
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        let tally = Arc::new(Mutex::new(Tally::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, s) = (tally.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("farm".into())
            .spawn(move || serve(poll, socks, answer, &s, &t))?;
        Ok(Farm {
            tally,
            stop,
            waker,
            thread: Some(thread),
        })
    }

    /// A copy of the counts so far.
    pub(crate) fn tally(&self) -> Tally {
        self.tally
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The serving loop: drains every readable socket until WouldBlock.
fn serve(
    mut poll: Poll,
    socks: Vec<UdpSocket>,
    answer: bool,
    stop: &AtomicBool,
    tally: &Mutex<Tally>,
) {
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 9000];
    let mut seen = vec![false; socks.len()];
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!("farm: poll: {e}");
            return;
        }
        for ev in events.iter() {
            let i = ev.token().0;
            let Some(sock) = socks.get(i) else {
                continue;
            };
            loop {
                let (n, from) = match sock.recv_from(&mut buf) {
                    Ok(got) => got,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let now = Instant::now();
                let msg = buf.get(..n).unwrap_or_default();
                let (kind, reply) = respond(msg, sock);
                {
                    let mut t = tally.lock().unwrap_or_else(PoisonError::into_inner);
                    match kind {
                        Kind::Lookup { rpcb } => {
                            if rpcb {
                                t.getaddr += 1;
                            } else {
                                t.getport += 1;
                            }
                            t.lookups_at.push(now);
                        }
                        Kind::Notify => {
                            t.notify += 1;
                            t.first_notify.get_or_insert(now);
                            t.last_notify = Some(now);
                            t.notifies_at.push(now);
                            if let Some(s) = seen.get_mut(i) {
                                if !*s {
                                    *s = true;
                                    t.notified_peers += 1;
                                }
                            }
                        }
                        Kind::Other => t.other += 1,
                    }
                }
                if let (true, Some(reply)) = (answer, reply) {
                    let _ = sock.send_to(&reply, from);
                }
            }
        }
    }
}

/// Classifies one datagram and builds the answer a live host gives.
fn respond(msg: &[u8], sock: &UdpSocket) -> (Kind, Option<Vec<u8>>) {
    let CallDecode::Call(h) = decode_call(msg) else {
        return (Kind::Other, None);
    };
    match (h.prog, h.vers, h.proc) {
        (PMAP_PROG, 2, PMAP_GETPORT) => (
            Kind::Lookup { rpcb: false },
            Some(encode_reply(h.xid, ReplyKind::Success(&111u32.to_xdr()))),
        ),
        (PMAP_PROG, 3 | 4, PMAP_GETPORT) => {
            let reply = sock.local_addr().ok().and_then(|a| {
                let uaddr = format!("{}.0.111", a.ip());
                let body = Bounded::<1024>::new(uaddr.into_bytes()).ok()?.to_xdr();
                Some(encode_reply(h.xid, ReplyKind::Success(&body)))
            });
            (Kind::Lookup { rpcb: true }, reply)
        }
        (SM_PROG, SM_VERS, SM_NOTIFY) => (
            Kind::Notify,
            Some(encode_reply(h.xid, ReplyKind::Success(&[]))),
        ),
        _ => (
            Kind::Other,
            Some(encode_reply(h.xid, ReplyKind::ProcUnavail)),
        ),
    }
}
