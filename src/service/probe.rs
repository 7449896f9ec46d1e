//! Blocking one-shot RPC calls on the loopback, made before the event loop
//! serves: is another instance of a service already registered with the
//! local portmapper and answering? (nfs-utils' `nfs_probe_statd`.)
//!
//! Each call goes over a connected UDP socket, so an ICMP "port
//! unreachable" ends it at once (`ECONNREFUSED`) instead of after the
//! retransmission schedule.

use super::registrar::initial_xid;
use crate::portmap::{getport_args, parse_getport};
use crate::proto::pmap::{IPPROTO_UDP, PMAPPROC_GETPORT, PMAP_PORT, PMAP_PROG, PMAP_VERS};
use crate::rpc::client::{CallResult, OutCall, RetryPolicy, RpcClient};
use crate::rpc::Credential;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Retransmissions of a probe: sends at 0, 0.2 s and 0.6 s; gives up at
/// 1.4 s. Only a portmapper or service that exists but is too busy to
/// answer costs that long; an absent one is a refused port.
pub const PROBE_RETRY: RetryPolicy = RetryPolicy {
    initial_timeout: Duration::from_millis(200),
    max_timeout: Duration::from_millis(800),
    max_transmits: 3,
};

/// Calls `prog`/`vers`/`proc` at `to` over UDP and waits for the result.
/// `Err` when the port is refused or the socket fails.
pub fn udp_call(
    to: SocketAddr,
    prog: u32,
    vers: u32,
    proc: u32,
    args: Vec<u8>,
) -> io::Result<CallResult> {
    let sock = UdpSocket::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))?;
    sock.connect(to)?;
    let mut client = RpcClient::new(initial_xid());
    let call = OutCall {
        prog,
        vers,
        proc,
        cred: Credential::None,
        args,
    };
    let id = client.start(Instant::now(), call, PROBE_RETRY);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        while let Some((_, bytes)) = client.poll_transmit(now) {
            sock.send(&bytes)?;
        }
        while let Some((done, result)) = client.poll_event() {
            if done == id {
                return Ok(result);
            }
        }
        let Some(due) = client.poll_timeout() else {
            return Ok(Err(crate::rpc::client::CallError::TimedOut));
        };
        let wait = due
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait))?;
        match sock.recv(&mut buf) {
            Ok(n) => {
                client.handle_reply(&buf[..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

/// The UDP port of `prog` version `vers` if the local portmapper has it
/// registered and the service there answers its NULL procedure; `None`
/// when no portmapper answers, nothing is registered, or the registered
/// port does not answer (a stale registration of a dead daemon).
pub fn running_instance(prog: u32, vers: u32) -> Option<u16> {
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let pmap = SocketAddr::new(lo, PMAP_PORT);
    let args = getport_args(prog, vers, IPPROTO_UDP);
    let results = udp_call(pmap, PMAP_PROG, PMAP_VERS, PMAPPROC_GETPORT, args)
        .ok()?
        .ok()?;
    let port = parse_getport(&results).ok()??;
    udp_call(SocketAddr::new(lo, port), prog, vers, 0, Vec::new())
        .ok()?
        .ok()
        .map(|_| port)
}
