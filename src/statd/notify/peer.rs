//! One address of a peer: how its statd is found and what to send it.
//!
//! The peer's portmapper is asked on UDP port 111, as sm-notify does: for
//! IPv4 first PMAP v2 GETPORT (every portmapper answers it), then RPCB v3
//! GETADDR for netid `udp` if v2 is refused; for IPv6 RPCB v4 then v3
//! GETADDR for `udp6` (PMAP v2 cannot describe IPv6 services).
//!
//! # Panic contract
//! Nothing here panics, whatever the portmapper answers.

use crate::portmap::{getaddr_args, getport_args, parse_getaddr, parse_getport};
use crate::proto::pmap::{IPPROTO_UDP, PMAPPROC_GETPORT, PMAP_PORT, PMAP_PROG, PMAP_VERS};
use crate::proto::rpcb::{Netid, RPCBPROC_GETADDR, RPCBVERS, RPCBVERS4};
use crate::proto::sm_inter::{SmProc, StatChge, SM_PROG, SM_VERS};
use crate::rpc::client::{CallError, OutCall};
use crate::rpc::Credential;
use crate::xdr::{Bounded, Xdr};
use std::net::{IpAddr, SocketAddr};

/// Portmapper versions to ask, in order, for an address of this family.
fn versions(ip: IpAddr) -> &'static [u32] {
    if ip.is_ipv4() {
        &[PMAP_VERS, RPCBVERS]
    } else {
        &[RPCBVERS4, RPCBVERS]
    }
}

fn netid(ip: IpAddr) -> Netid {
    if ip.is_ipv4() {
        Netid::Udp
    } else {
        Netid::Udp6
    }
}

/// The portmapper of `ip`.
pub fn portmapper(ip: IpAddr) -> SocketAddr {
    SocketAddr::new(ip, PMAP_PORT)
}

/// Stage `stage` of the statd lookup at `ip`, or `None` past the last one.
pub fn lookup_call(ip: IpAddr, stage: usize) -> Option<OutCall> {
    let vers = *versions(ip).get(stage)?;
    let (proc, args) = if vers == PMAP_VERS {
        (
            PMAPPROC_GETPORT,
            getport_args(SM_PROG, SM_VERS, IPPROTO_UDP),
        )
    } else {
        (
            RPCBPROC_GETADDR,
            getaddr_args(SM_PROG, SM_VERS, netid(ip), portmapper(ip)),
        )
    };
    Some(OutCall {
        prog: PMAP_PROG,
        vers,
        proc,
        cred: Credential::None,
        args,
    })
}

/// What a lookup answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// statd listens here.
    At(SocketAddr),
    /// The portmapper says statd is not registered, or answered nonsense.
    Nowhere,
    /// This portmapper version is refused: try the next stage.
    NextStage,
    /// No answer, or a failure a retry of this address will not fix.
    Unreachable,
}

/// Reads the result of stage `stage` at `ip`.
pub fn lookup_result(ip: IpAddr, stage: usize, result: Result<&[u8], CallError>) -> Found {
    let Some(&vers) = versions(ip).get(stage) else {
        return Found::Unreachable;
    };
    match result {
        Ok(bytes) if vers == PMAP_VERS => match parse_getport(bytes) {
            Ok(Some(port)) => Found::At(SocketAddr::new(ip, port)),
            Ok(None) | Err(_) => Found::Nowhere,
        },
        Ok(bytes) => match parse_getaddr(bytes, netid(ip), portmapper(ip)) {
            // A portmapper may only point at its own host.
            Ok(Some(at)) if at.ip() == ip => Found::At(at),
            Ok(Some(at)) => Found::At(SocketAddr::new(ip, at.port())),
            Ok(None) | Err(_) => Found::Nowhere,
        },
        Err(
            CallError::ProgUnavail
            | CallError::ProgMismatch { .. }
            | CallError::ProcUnavail
            | CallError::GarbageArgs,
        ) => Found::NextStage,
        Err(_) => Found::Unreachable,
    }
}

/// SM_NOTIFY{mon_name = `name`, state} (`name` is cut to the protocol's
/// 1024 bytes; callers check names earlier).
pub fn notify_call(name: &[u8], state: i32) -> OutCall {
    let args = StatChge {
        mon_name: Bounded::new(name.to_vec()).unwrap_or_default(),
        state,
    };
    OutCall {
        prog: SM_PROG,
        vers: SM_VERS,
        proc: SmProc::NOTIFY.0,
        cred: Credential::None,
        args: args.to_xdr(),
    }
}

/// The unqualified form of a dotted name (`hostb` for `hostb.lab`); `None`
/// for a name without a dot, an address literal, or a leading dot.
pub fn short_name(name: &[u8]) -> Option<&[u8]> {
    if std::str::from_utf8(name)
        .ok()
        .is_some_and(|s| s.parse::<IpAddr>().is_ok())
    {
        return None;
    }
    let dot = name.iter().position(|&b| b == b'.')?;
    (dot > 0).then(|| &name[..dot])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::pmap::Mapping;

    #[test]
    fn ipv4_asks_pmap_v2_then_rpcb_v3() {
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        let first = lookup_call(ip, 0).unwrap();
        assert_eq!((first.prog, first.vers, first.proc), (100_000, 2, 3));
        let m = Mapping::from_xdr(&first.args).unwrap();
        assert_eq!((m.prog, m.vers, m.prot), (100_024, 1, 17));
        let second = lookup_call(ip, 1).unwrap();
        assert_eq!((second.vers, second.proc), (3, 3));
        assert!(lookup_call(ip, 2).is_none());
        assert_eq!(
            lookup_result(ip, 0, Ok(&[0, 0, 3, 0xe8])),
            Found::At("10.0.0.2:1000".parse().unwrap())
        );
        assert_eq!(lookup_result(ip, 0, Ok(&[0, 0, 0, 0])), Found::Nowhere);
        assert_eq!(lookup_result(ip, 0, Ok(&[0, 1])), Found::Nowhere);
        assert_eq!(
            lookup_result(ip, 0, Err(CallError::ProgMismatch { low: 3, high: 4 })),
            Found::NextStage
        );
        assert_eq!(
            lookup_result(ip, 1, Err(CallError::TimedOut)),
            Found::Unreachable
        );
        assert_eq!(lookup_result(ip, 5, Ok(&[])), Found::Unreachable);
    }

    #[test]
    fn ipv6_asks_rpcb_and_keeps_the_peer_address() {
        let ip: IpAddr = "fd77::2".parse().unwrap();
        let first = lookup_call(ip, 0).unwrap();
        assert_eq!((first.vers, first.proc), (4, 3));
        let uaddr = |s: &str| {
            Bounded::<1024>::new(s.as_bytes().to_vec())
                .unwrap()
                .to_xdr()
        };
        assert_eq!(
            lookup_result(ip, 0, Ok(&uaddr("fd77::2.3.232"))),
            Found::At("[fd77::2]:1000".parse().unwrap())
        );
        // An answer naming another host is read as "this host, that port".
        assert_eq!(
            lookup_result(ip, 0, Ok(&uaddr("fd77::9.3.232"))),
            Found::At("[fd77::2]:1000".parse().unwrap())
        );
        assert_eq!(lookup_result(ip, 1, Ok(&uaddr(""))), Found::Nowhere);
        assert_eq!(lookup_result(ip, 1, Ok(&[0xff; 3])), Found::Nowhere);
    }

    #[test]
    fn notify_call_and_short_names() {
        let call = notify_call(b"hostb.lab", 7);
        assert_eq!((call.prog, call.vers, call.proc), (100_024, 1, 6));
        let args = StatChge::from_xdr(&call.args).unwrap();
        assert_eq!(
            (args.mon_name.as_bytes(), args.state),
            (&b"hostb.lab"[..], 7)
        );
        assert_eq!(short_name(b"hostb.lab"), Some(&b"hostb"[..]));
        assert_eq!(short_name(b"hostb"), None);
        assert_eq!(short_name(b".x"), None);
        assert_eq!(short_name(b"10.0.0.2"), None);
        assert_eq!(short_name(b"fd77::2"), None);
    }
}
