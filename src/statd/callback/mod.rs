//! Calls to the local lock manager ("host X rebooted"), as an I/O-free
//! state machine.
//!
//! Every call goes to the loopback address, never to `my_name`: the Linux
//! kernel accepts the callback only from a loopback address and a reserved
//! port, and calling a name the requester chose is the "statd bounce" of
//! CA-99-05. The daemon sends all UDP traffic from one socket bound to a
//! reserved port on 127.0.0.1 and TCP from reserved ports.
//!
//! One delivery is up to [`CallbackPolicy::tries`] tries. A try asks the
//! local portmapper (PMAP v2 GETPORT on 127.0.0.1:111, which rpcbind and
//! our embedded portmapper both serve) for the lock manager's port on the
//! try's preferred transport, falls back to the other transport when that
//! one is not registered, and makes the call there. The first two tries
//! prefer UDP, the rest TCP. Between tries the wait doubles from
//! `first_wait` up to `max_wait`. Nothing here blocks: any number of
//! deliveries run side by side.
//!
//! Driving it: [`Callbacks::push`]; send what [`Callbacks::poll_transmit`]
//! yields; feed UDP datagrams from the loopback socket to
//! [`Callbacks::handle_udp`] and TCP replies to [`Callbacks::handle_tcp`];
//! call [`Callbacks::handle_timeout`] at [`Callbacks::poll_timeout`].
//!
//! (Longer than 600 lines only with its tests: one state machine, about
//! 460 lines, and the tests that drive it through whole deliveries.)

use crate::portmap::{getport_args, parse_getport};
use crate::proto::pmap::{
    IPPROTO_TCP, IPPROTO_UDP, PMAPPROC_GETPORT, PMAP_PORT, PMAP_PROG, PMAP_VERS,
};
use crate::rpc::client::{CallId, CallResult, OutCall, RetryPolicy, RpcClient};
use crate::rpc::Credential;
use crate::statd::core::Callback;
use crate::xdr::Xdr;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// How hard to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackPolicy {
    /// Tries per delivery (nfs-utils makes 5).
    pub tries: u32,
    /// Wait after the first failed try.
    pub first_wait: Duration,
    /// Cap on the doubling wait.
    pub max_wait: Duration,
}

impl Default for CallbackPolicy {
    fn default() -> Self {
        CallbackPolicy {
            tries: 5,
            first_wait: Duration::from_secs(2),
            max_wait: Duration::from_secs(30),
        }
    }
}

/// GETPORT on loopback: quick, three sends.
const PORTMAP_RETRY: RetryPolicy = RetryPolicy {
    initial_timeout: Duration::from_millis(500),
    max_timeout: Duration::from_secs(2),
    max_transmits: 3,
};

/// The callback itself over UDP.
const UDP_RETRY: RetryPolicy = RetryPolicy {
    initial_timeout: Duration::from_secs(1),
    max_timeout: Duration::from_secs(4),
    max_transmits: 3,
};

/// The callback over TCP: one send, then wait for the reply.
const TCP_RETRY: RetryPolicy = RetryPolicy {
    initial_timeout: Duration::from_secs(10),
    max_timeout: Duration::from_secs(10),
    max_transmits: 1,
};

/// A transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

impl Proto {
    fn ipproto(self) -> u32 {
        match self {
            Proto::Udp => IPPROTO_UDP,
            Proto::Tcp => IPPROTO_TCP,
        }
    }

    fn other(self) -> Proto {
        match self {
            Proto::Udp => Proto::Tcp,
            Proto::Tcp => Proto::Udp,
        }
    }
}

/// Something to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// A datagram from the reserved loopback UDP socket.
    Udp {
        /// Destination (always loopback).
        to: SocketAddr,
        /// The RPC message.
        data: Vec<u8>,
    },
    /// Open a TCP connection from a reserved port to `to` and send the
    /// message as one record; report the reply with [`Callbacks::handle_tcp`].
    Tcp {
        /// Names this exchange.
        call: CallId,
        /// Destination (always loopback).
        to: SocketAddr,
        /// The RPC message (unframed).
        data: Vec<u8>,
    },
    /// Give up on a TCP exchange: close its connection.
    TcpCancel(CallId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Asking the portmapper for the port on `proto`; `fallback` once the
    /// other transport was asked already in this try.
    Lookup { proto: Proto, fallback: bool },
    /// Calling the lock manager.
    Calling(Proto),
    /// Waiting for the next try.
    Waiting(Instant),
}

#[derive(Debug)]
struct Delivery {
    cb: Callback,
    tries: u32,
    phase: Phase,
}

/// Tallies, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CallbackStats {
    /// Callbacks the lock manager acknowledged.
    pub delivered: u64,
    /// Callbacks given up after the last try.
    pub given_up: u64,
    /// Tries started.
    pub tries: u64,
    /// Newer states folded into a delivery that had not called yet.
    pub coalesced: u64,
}

/// The deliveries in progress.
#[derive(Debug)]
pub struct Callbacks {
    policy: CallbackPolicy,
    host: IpAddr,
    udp: RpcClient,
    tcp: RpcClient,
    next_id: u64,
    deliveries: BTreeMap<u64, Delivery>,
    /// Outstanding calls: which delivery, and where the datagram goes.
    calls: HashMap<CallId, (u64, SocketAddr)>,
    tcp_calls: HashMap<CallId, (u64, SocketAddr)>,
    out: VecDeque<Transmit>,
    stats: CallbackStats,
}

impl Callbacks {
    /// No deliveries yet; xids start at `first_xid` (seed it randomly).
    pub fn new(policy: CallbackPolicy, first_xid: u32) -> Callbacks {
        Callbacks {
            policy,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            udp: RpcClient::new(first_xid),
            tcp: RpcClient::new(first_xid.wrapping_add(0x8000_0000)),
            next_id: 0,
            deliveries: BTreeMap::new(),
            calls: HashMap::new(),
            tcp_calls: HashMap::new(),
            out: VecDeque::new(),
            stats: CallbackStats::default(),
        }
    }

    /// Tallies so far.
    pub fn stats(&self) -> CallbackStats {
        self.stats
    }

    /// Deliveries not finished.
    pub fn pending(&self) -> usize {
        self.deliveries.len()
    }

    /// Starts delivering `cb`; its first message is due at once.
    pub fn push(&mut self, now: Instant, cb: Callback) {
        // A delivery for the same registration that is not calling yet
        // takes the newer state instead: a flood of SM_NOTIFYs with changing
        // states costs at most two deliveries per registration (one calling,
        // one waiting), and the lock manager hears the latest state.
        let same = |d: &Delivery| {
            d.cb.target == cb.target
                && d.cb.status.mon_name == cb.status.mon_name
                && d.cb.my_name == cb.my_name
                && d.cb.status.cookie == cb.status.cookie
                && !matches!(d.phase, Phase::Calling(_))
        };
        if let Some(d) = self.deliveries.values_mut().find(|d| same(d)) {
            d.cb.status.state = cb.status.state;
            self.stats.coalesced += 1;
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.deliveries.insert(
            id,
            Delivery {
                cb,
                tries: 0,
                phase: Phase::Waiting(now),
            },
        );
        self.handle_timeout(now);
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        for _ in 0..2 {
            if let Some(t) = self.out.pop_front() {
                return Some(t);
            }
            if let Some(t) = self.poll_client_transmits(now) {
                return Some(t);
            }
            // The polls retired calls that timed out: move their deliveries
            // on, which may start a portmapper call at once.
            self.settle(now);
        }
        self.out.pop_front()
    }

    /// When [`Callbacks::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let waits = self.deliveries.values().filter_map(|d| match d.phase {
            Phase::Waiting(at) => Some(at),
            _ => None,
        });
        waits
            .chain(self.udp.poll_timeout())
            .chain(self.tcp.poll_timeout())
            .min()
    }

    /// A datagram on the callback socket. Only replies from the loopback
    /// address are looked at (the socket is bound to loopback anyway).
    pub fn handle_udp(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        if !from.ip().to_canonical().is_loopback() {
            log::debug!("ignoring a datagram from {from} on the callback socket");
            return;
        }
        self.udp.handle_reply(data);
        self.settle(now);
    }

    /// The reply of TCP exchange `call` (`None`: the connection failed or
    /// closed without one).
    pub fn handle_tcp(&mut self, now: Instant, call: CallId, reply: Option<&[u8]>) {
        match reply {
            Some(msg) => {
                self.tcp.handle_reply(msg);
            }
            None => {
                if let Some((id, _)) = self.tcp_calls.remove(&call) {
                    self.tcp.cancel(call);
                    self.failed_try(now, id, "TCP connection failed");
                }
            }
        }
        self.settle(now);
    }

    /// Time passed: retransmissions, timeouts and next tries.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<u64> = self
            .deliveries
            .iter()
            .filter(|(_, d)| matches!(d.phase, Phase::Waiting(at) if at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.start_try(now, id);
        }
        self.settle(now);
    }

    fn poll_client_transmits(&mut self, now: Instant) -> Option<Transmit> {
        if let Some((call, data)) = self.udp.poll_transmit(now) {
            let to = self.calls.get(&call).map(|(_, to)| *to)?;
            return Some(Transmit::Udp { to, data });
        }
        if let Some((call, data)) = self.tcp.poll_transmit(now) {
            let to = self.tcp_calls.get(&call).map(|(_, to)| *to)?;
            return Some(Transmit::Tcp { call, to, data });
        }
        None
    }

    fn start_try(&mut self, now: Instant, id: u64) {
        let Some(d) = self.deliveries.get_mut(&id) else {
            return;
        };
        d.tries += 1;
        self.stats.tries += 1;
        let proto = if d.tries <= 2 { Proto::Udp } else { Proto::Tcp };
        d.phase = Phase::Lookup {
            proto,
            fallback: false,
        };
        self.lookup(now, id, proto);
    }

    fn lookup(&mut self, now: Instant, id: u64, proto: Proto) {
        let Some(d) = self.deliveries.get(&id) else {
            return;
        };
        let call = OutCall {
            prog: PMAP_PROG,
            vers: PMAP_VERS,
            proc: PMAPPROC_GETPORT,
            cred: Credential::None,
            args: getport_args(d.cb.target.prog, d.cb.target.vers, proto.ipproto()),
        };
        let call = self.udp.start(now, call, PORTMAP_RETRY);
        self.calls
            .insert(call, (id, SocketAddr::new(self.host, PMAP_PORT)));
    }

    /// Takes finished calls from both clients and moves their deliveries on.
    fn settle(&mut self, now: Instant) {
        while let Some((call, result)) = self.udp.poll_event() {
            if let Some((id, _)) = self.calls.remove(&call) {
                self.advance(now, id, result);
            }
        }
        while let Some((call, result)) = self.tcp.poll_event() {
            if let Some((id, _)) = self.tcp_calls.remove(&call) {
                if result.is_err() {
                    self.out.push_back(Transmit::TcpCancel(call));
                }
                self.advance(now, id, result);
            }
        }
    }

    fn advance(&mut self, now: Instant, id: u64, result: CallResult) {
        let Some(d) = self.deliveries.get(&id) else {
            return;
        };
        match d.phase {
            Phase::Lookup { proto, fallback } => {
                let port = result
                    .map_err(|e| format!("portmapper: {e:?}"))
                    .and_then(|r| parse_getport(&r).map_err(|e| format!("portmapper: {e:?}")));
                match port {
                    Ok(Some(port)) => self.call(now, id, proto, port),
                    Ok(None) if !fallback => {
                        if let Some(d) = self.deliveries.get_mut(&id) {
                            d.phase = Phase::Lookup {
                                proto: proto.other(),
                                fallback: true,
                            };
                        }
                        self.lookup(now, id, proto.other());
                    }
                    Ok(None) => self.failed_try(now, id, "the lock manager is not registered"),
                    Err(e) => self.failed_try(now, id, &e),
                }
            }
            Phase::Calling(_) => match result {
                Ok(_) => {
                    if let Some(d) = self.deliveries.remove(&id) {
                        self.stats.delivered += 1;
                        log::info!(
                            "told the lock manager ({}/{}/{}) that {} has state {}",
                            d.cb.target.prog,
                            d.cb.target.vers,
                            d.cb.target.proc,
                            crate::log::escape(d.cb.status.mon_name.as_bytes()),
                            d.cb.status.state
                        );
                    }
                }
                Err(e) => self.failed_try(now, id, &format!("{e:?}")),
            },
            Phase::Waiting(_) => {}
        }
    }

    fn call(&mut self, now: Instant, id: u64, proto: Proto, port: u16) {
        let Some(d) = self.deliveries.get_mut(&id) else {
            return;
        };
        d.phase = Phase::Calling(proto);
        let call = OutCall {
            prog: d.cb.target.prog,
            vers: d.cb.target.vers,
            proc: d.cb.target.proc,
            cred: Credential::None,
            args: d.cb.status.to_xdr(),
        };
        let to = SocketAddr::new(self.host, port);
        match proto {
            Proto::Udp => {
                let call = self.udp.start(now, call, UDP_RETRY);
                self.calls.insert(call, (id, to));
            }
            Proto::Tcp => {
                let call = self.tcp.start(now, call, TCP_RETRY);
                self.tcp_calls.insert(call, (id, to));
            }
        }
    }

    fn failed_try(&mut self, now: Instant, id: u64, why: &str) {
        let Some(d) = self.deliveries.get_mut(&id) else {
            return;
        };
        let name = crate::log::escape(d.cb.status.mon_name.as_bytes());
        if d.tries >= self.policy.tries {
            log::warn!(
                "cannot call back the lock manager for {name} (state {}): {why}; giving up after {} tries",
                d.cb.status.state,
                d.tries
            );
            self.deliveries.remove(&id);
            self.stats.given_up += 1;
            return;
        }
        let wait = self
            .policy
            .first_wait
            .saturating_mul(1 << (d.tries - 1).min(16))
            .min(self.policy.max_wait);
        log::info!(
            "callback for {name}: try {} failed ({why}); next in {wait:?}",
            d.tries
        );
        d.phase = Phase::Waiting(now + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::nlm::CallbackTarget;
    use crate::proto::sm_inter::{SmString, Status};
    use crate::rpc::message::{decode_call, encode_reply, CallDecode, ReplyKind};
    use crate::xdr::FixedOpaque;

    fn cb() -> Callback {
        Callback {
            target: CallbackTarget::NLM4,
            status: Status {
                mon_name: SmString::new(b"127.0.0.20".to_vec()).unwrap(),
                state: 7,
                cookie: FixedOpaque([9; 16]),
            },
            my_name: b"client".to_vec(),
        }
    }

    /// (xid, prog, vers, proc, args) of a message we sent.
    fn parse(data: &[u8]) -> (u32, u32, u32, u32, Vec<u8>) {
        let CallDecode::Call(h) = decode_call(data) else {
            panic!("not a call")
        };
        (h.xid, h.prog, h.vers, h.proc, h.args.to_vec())
    }

    fn lo(port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    }

    fn port_reply(xid: u32, port: u32) -> Vec<u8> {
        encode_reply(xid, ReplyKind::Success(&port.to_xdr()))
    }

    #[test]
    fn udp_callback_after_getport() {
        let t0 = Instant::now();
        let mut c = Callbacks::new(CallbackPolicy::default(), 100);
        c.push(t0, cb());
        let Some(Transmit::Udp { to, data }) = c.poll_transmit(t0) else {
            panic!()
        };
        assert_eq!(to, lo(111));
        let (xid, prog, vers, proc, args) = parse(&data);
        assert_eq!((prog, vers, proc), (100_000, 2, 3));
        assert_eq!(args, getport_args(100_021, 4, IPPROTO_UDP));
        assert_eq!(c.poll_transmit(t0), None);
        c.handle_udp(t0, lo(111), &port_reply(xid, 4045));
        let Some(Transmit::Udp { to, data }) = c.poll_transmit(t0) else {
            panic!()
        };
        assert_eq!(to, lo(4045));
        let (xid, prog, vers, proc, args) = parse(&data);
        assert_eq!((prog, vers, proc), (100_021, 4, 16));
        assert_eq!(Status::from_xdr(&args).unwrap(), cb().status);
        // A forged reply from elsewhere is ignored.
        let forged: SocketAddr = "198.18.0.5:4045".parse().unwrap();
        c.handle_udp(t0, forged, &encode_reply(xid, ReplyKind::Success(&[])));
        assert_eq!(c.stats().delivered, 0);
        c.handle_udp(t0, lo(4045), &encode_reply(xid, ReplyKind::Success(&[])));
        assert_eq!(c.stats().delivered, 1);
        assert_eq!(c.pending(), 0);
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn tcp_when_udp_is_not_registered() {
        let t0 = Instant::now();
        let mut c = Callbacks::new(CallbackPolicy::default(), 100);
        c.push(t0, cb());
        let Some(Transmit::Udp { data, .. }) = c.poll_transmit(t0) else {
            panic!()
        };
        c.handle_udp(t0, lo(111), &port_reply(parse(&data).0, 0));
        let Some(Transmit::Udp { data, .. }) = c.poll_transmit(t0) else {
            panic!()
        };
        let (xid, _, _, _, args) = parse(&data);
        assert_eq!(args, getport_args(100_021, 4, IPPROTO_TCP));
        c.handle_udp(t0, lo(111), &port_reply(xid, 4046));
        let Some(Transmit::Tcp { call, to, data }) = c.poll_transmit(t0) else {
            panic!()
        };
        assert_eq!(to, lo(4046));
        let (xid, prog, vers, proc, _) = parse(&data);
        assert_eq!((prog, vers, proc), (100_021, 4, 16));
        c.handle_tcp(t0, call, Some(&encode_reply(xid, ReplyKind::Success(&[]))));
        assert_eq!(c.stats().delivered, 1);
    }

    #[test]
    fn a_flood_of_new_states_is_folded_into_one_waiting_delivery() {
        let t0 = Instant::now();
        let mut c = Callbacks::new(CallbackPolicy::default(), 100);
        c.push(t0, cb());
        let Some(Transmit::Udp { data, .. }) = c.poll_transmit(t0) else {
            panic!()
        };
        c.handle_udp(t0, lo(111), &port_reply(parse(&data).0, 4045));
        let Some(Transmit::Udp { data: first, .. }) = c.poll_transmit(t0) else {
            panic!()
        };
        // The first delivery is calling with state 7; 10,000 more states
        // arrive: one more delivery, with the last state.
        for state in 8..10_008 {
            let mut next = cb();
            next.status.state = state;
            c.push(t0, next);
        }
        assert_eq!(c.pending(), 2);
        assert_eq!(c.stats().coalesced, 9_999);
        c.handle_udp(
            t0,
            lo(4045),
            &encode_reply(parse(&first).0, ReplyKind::Success(&[])),
        );
        let mut states = Vec::new();
        while let Some(t) = c.poll_transmit(t0) {
            let Transmit::Udp { to, data } = t else {
                panic!()
            };
            let (xid, _, _, _, args) = parse(&data);
            if to.port() == 111 {
                c.handle_udp(t0, to, &port_reply(xid, 4045));
            } else {
                states.push(Status::from_xdr(&args).unwrap().state);
                c.handle_udp(t0, to, &encode_reply(xid, ReplyKind::Success(&[])));
            }
        }
        assert_eq!(states, [10_007]);
        assert_eq!(c.stats().delivered, 2);
    }

    /// Runs `c` against a lock manager that never answers (the portmapper
    /// does) until it gives up; returns (calls to the lock manager, TCP
    /// exchanges, elapsed virtual time).
    fn run_silent(c: &mut Callbacks, t0: Instant) -> (usize, usize, Duration) {
        let mut now = t0;
        let (mut udp_calls, mut tcp_calls) = (0, 0);
        for _ in 0..10_000 {
            while let Some(t) = c.poll_transmit(now) {
                match t {
                    Transmit::Udp { to, data } if to.port() == 111 => {
                        let xid = parse(&data).0;
                        c.handle_udp(now, to, &port_reply(xid, 4045));
                    }
                    Transmit::Udp { .. } => udp_calls += 1,
                    Transmit::Tcp { .. } => tcp_calls += 1,
                    Transmit::TcpCancel(_) => {}
                }
            }
            match c.poll_timeout() {
                Some(at) => {
                    now = at.max(now);
                    c.handle_timeout(now);
                }
                None => break,
            }
        }
        (udp_calls, tcp_calls, now - t0)
    }

    #[test]
    fn a_silent_lock_manager_gets_five_tries_then_is_given_up() {
        let t0 = Instant::now();
        let mut c = Callbacks::new(CallbackPolicy::default(), 100);
        c.push(t0, cb());
        let (udp, tcp, elapsed) = run_silent(&mut c, t0);
        let s = c.stats();
        assert_eq!((s.tries, s.given_up, s.delivered), (5, 1, 0));
        assert_eq!(udp, 2 * 3, "two UDP tries of three sends");
        assert_eq!(tcp, 3, "then three TCP tries");
        // Waits 2+4+8+16 s, UDP tries 7 s each, TCP tries 10 s each.
        assert_eq!(elapsed, Duration::from_secs(30 + 14 + 30));
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn many_deliveries_run_side_by_side() {
        let t0 = Instant::now();
        let mut c = Callbacks::new(CallbackPolicy::default(), 100);
        for i in 0..100u8 {
            let mut one = cb();
            one.status.cookie = FixedOpaque([i; 16]);
            c.push(t0, one);
        }
        let mut lookups = 0;
        while let Some(t) = c.poll_transmit(t0) {
            assert!(matches!(t, Transmit::Udp { to, .. } if to == lo(111)));
            lookups += 1;
        }
        assert_eq!(lookups, 100);
    }
}
