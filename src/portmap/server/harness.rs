//! Test support for the portmapper tests: callers (loopback, remote,
//! IPv4 and IPv6), a portmapper with a fixed clock, calls on a chosen
//! transport, and encoders and decoders for arguments and results.

use super::Portmapper;
use crate::proto::pmap::{Mapping, PMAP_PROG};
use crate::proto::rpcb::{Rpcb, RPCBPROC_SET};
use crate::rpc::{Call, Caller, Credential, Dispatch, Program, ReplyTo, Transport};
use crate::xdr::Xdr;
use std::time::Instant;

pub(super) const STATD: u32 = 100_024;
pub(super) const LOCAL: &str = "127.0.0.1:700";
pub(super) const LOCAL_USER: &str = "127.0.0.1:40000";
pub(super) const LOCAL6: &str = "[::1]:700";
pub(super) const REMOTE: &str = "198.18.0.2:700";
pub(super) const REMOTE6: &str = "[2001:db8::2]:700";

fn clock() -> u64 {
    0x1_2345_6789
}

pub(super) fn pm() -> Portmapper {
    Portmapper::new(clock)
}

pub(super) fn call_on(
    p: &mut Portmapper,
    transport: Transport,
    from: &str,
    vers: u32,
    proc: u32,
    args: &[u8],
) -> Dispatch {
    let call = Call {
        xid: 1,
        prog: PMAP_PROG,
        vers,
        proc,
        caller: Caller {
            addr: from.parse().unwrap(),
            transport,
        },
        cred: Credential::None,
        args,
        now: Instant::now(),
        reply_to: ReplyTo(0),
    };
    p.call(&call)
}

pub(super) fn udp(p: &mut Portmapper, from: &str, vers: u32, proc: u32, args: &[u8]) -> Dispatch {
    call_on(p, Transport::Udp, from, vers, proc, args)
}

fn results(d: Dispatch) -> Vec<u8> {
    match d {
        Dispatch::Reply(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

pub(super) fn decode<T: for<'a> Xdr<'a>>(d: Dispatch) -> T {
    T::from_xdr(&results(d)).unwrap()
}

pub(super) fn rpcb(prog: u32, vers: u32, netid: &str, addr: &str) -> Vec<u8> {
    Rpcb::new(prog, vers, netid, addr, "ignored")
        .unwrap()
        .to_xdr()
}

pub(super) fn mapping(prog: u32, vers: u32, prot: u32, port: u32) -> Vec<u8> {
    Mapping {
        prog,
        vers,
        prot,
        port,
    }
    .to_xdr()
}

pub(super) fn set(p: &mut Portmapper, vers: u32, prog: u32, netid: &str, addr: &str) -> bool {
    decode(udp(
        p,
        LOCAL,
        vers,
        RPCBPROC_SET,
        &rpcb(prog, 1, netid, addr),
    ))
}
