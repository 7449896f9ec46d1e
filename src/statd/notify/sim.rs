//! A simulated network of peer hosts for the notifier's unit tests
//! ([`super::notifier`], [`super::rounds`]): portmappers that answer (or
//! not) and statds that record each SM_NOTIFY, and helpers that run a
//! [`Notifier`] against them in virtual time.

use super::notifier::{Notifier, NotifyConfig, NotifyEvent, Target};
use super::schedule::Schedule;
use crate::proto::sm_inter::StatChge;
use crate::rpc::message::{decode_call, encode_reply, CallDecode, ReplyKind};
use crate::xdr::{Bounded, Xdr};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// The wall clock at the start of every test.
pub(super) const T0_UNIX: u64 = 1_800_000_000;

/// One simulated peer host.
#[derive(Clone)]
pub(super) struct Peer {
    /// The portmapper answers at all.
    pub(super) up: bool,
    /// Refuse PMAP v2 (PROG_MISMATCH), answering only RPCB.
    pub(super) no_v2: bool,
    /// Where statd is registered (`None`: not registered).
    pub(super) statd: Option<u16>,
}

impl Peer {
    pub(super) fn answering() -> Peer {
        Peer {
            up: true,
            no_v2: false,
            statd: Some(1000),
        }
    }
    pub(super) fn silent() -> Peer {
        Peer {
            up: false,
            no_v2: false,
            statd: None,
        }
    }
}

/// The simulated network: its peers and what they received.
#[derive(Default)]
pub(super) struct Net {
    pub(super) peers: HashMap<IpAddr, Peer>,
    /// SM_NOTIFYs received: (peer, name, state).
    pub(super) notices: Vec<(IpAddr, String, i32)>,
    /// Portmapper queries received: (peer, version).
    pub(super) queries: Vec<(IpAddr, u32)>,
}

impl Net {
    pub(super) fn with(peers: &[(&str, Peer)]) -> Net {
        Net {
            peers: peers
                .iter()
                .map(|(a, p)| (a.parse().unwrap(), p.clone()))
                .collect(),
            ..Net::default()
        }
    }

    pub(super) fn answer(&mut self, to: SocketAddr, msg: &[u8]) -> Option<Vec<u8>> {
        let peer = self.peers.get(&to.ip())?.clone();
        if !peer.up {
            return None;
        }
        let CallDecode::Call(h) = decode_call(msg) else {
            panic!("not a call");
        };
        if to.port() == 111 {
            self.queries.push((to.ip(), h.vers));
            if h.vers == 2 && peer.no_v2 {
                return Some(encode_reply(
                    h.xid,
                    ReplyKind::ProgMismatch { low: 3, high: 4 },
                ));
            }
            let port = peer.statd.unwrap_or(0);
            let results = if h.vers == 2 {
                u32::from(port).to_xdr()
            } else if port == 0 {
                Bounded::<1024>::new(Vec::new()).unwrap().to_xdr()
            } else {
                let uaddr = match to.ip() {
                    IpAddr::V4(ip) => format!("{ip}.{}.{}", port >> 8, port & 255),
                    IpAddr::V6(ip) => format!("{ip}.{}.{}", port >> 8, port & 255),
                };
                Bounded::<1024>::new(uaddr.into_bytes()).unwrap().to_xdr()
            };
            return Some(encode_reply(h.xid, ReplyKind::Success(&results)));
        }
        assert_eq!(Some(to.port()), peer.statd, "sent to the wrong port");
        assert_eq!((h.prog, h.vers, h.proc), (100_024, 1, 6));
        let args = StatChge::from_xdr(h.args).unwrap();
        self.notices.push((
            to.ip(),
            String::from_utf8(args.mon_name.as_bytes().to_vec()).unwrap(),
            args.state,
        ));
        Some(encode_reply(h.xid, ReplyKind::Success(&[])))
    }
}

/// A configuration with the seed schedule, state 7 and `window`.
pub(super) fn config(window: usize) -> NotifyConfig {
    NotifyConfig {
        state: 7,
        default_name: b"nodename".to_vec(),
        identity: None,
        schedule: Schedule::seed(),
        window,
    }
}

/// A new host to notify for `my_names`.
pub(super) fn target(host: &str, my_names: &[&str]) -> Target {
    Target {
        host: host.into(),
        my_names: my_names.iter().map(|n| n.as_bytes().to_vec()).collect(),
        since_unix: None,
    }
}

/// Delivers every datagram and answers lookups from `hosts`, until the
/// notifier waits for time to pass. Returns the events seen.
pub(super) fn exchange(
    n: &mut Notifier,
    net: &mut Net,
    now: Instant,
    hosts: &[(&str, &[&str])],
) -> Vec<NotifyEvent> {
    let mut seen = Vec::new();
    loop {
        let mut busy = false;
        while let Some((to, msg)) = n.poll_transmit() {
            busy = true;
            if let Some(reply) = net.answer(to, &msg) {
                n.handle_datagram(now, to, &reply);
            }
        }
        while let Some(ev) = n.poll_event() {
            busy = true;
            if let NotifyEvent::Resolve(id, name) = &ev {
                let addrs = hosts
                    .iter()
                    .find(|(h, _)| h.as_bytes() == name.as_slice())
                    .map(|(_, a)| a.iter().map(|s| s.parse().unwrap()).collect());
                n.resolved(now, *id, addrs);
            }
            seen.push(ev);
        }
        if !busy {
            return seen;
        }
    }
}

/// Runs virtual time forward until idle or `limit`; returns the events
/// and the time reached.
pub(super) fn run(
    n: &mut Notifier,
    net: &mut Net,
    t0: Instant,
    limit: Duration,
    hosts: &[(&str, &[&str])],
) -> (Vec<NotifyEvent>, Instant) {
    let mut now = t0;
    let mut seen = exchange(n, net, now, hosts);
    while let Some(t) = n.poll_timeout() {
        if t > t0 + limit {
            break;
        }
        now = now.max(t);
        n.handle_timeout(now);
        seen.extend(exchange(n, net, now, hosts));
    }
    (seen, now)
}

/// The acknowledgements among `events`: (host, identity cleared).
pub(super) fn notified(events: &[NotifyEvent]) -> Vec<(String, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            NotifyEvent::Notified { host, my_name, .. } => Some((
                String::from_utf8_lossy(host).into_owned(),
                my_name
                    .as_ref()
                    .map(|m| String::from_utf8_lossy(m).into_owned()),
            )),
            _ => None,
        })
        .collect()
}
