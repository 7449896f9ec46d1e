//! Registration of our services with the local portmapper, on the reactor.
//!
//! Drives a [`Registration`] plan (rpcbind v4 → v3 → PMAP v2) through the
//! sans-IO [`RpcClient`] over one UDP socket on 127.0.0.1. The socket is bound
//! to a reserved port when we may (rpcbind then records the owner as
//! "superuser", so the same daemon can unregister later), else to any port.

use crate::portmap::{FailureKind, Outcome, Registration};
use crate::proto::pmap::PMAP_PORT;
use crate::reactor::{Context, Deadline, Event, SourceId};
use crate::rpc::client::{CallError, CallId, OutCall, RetryPolicy, RpcClient};
use crate::rpc::Credential;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Retransmission schedule for calls to the local portmapper: sends at 0,
/// 0.25 s and 0.75 s; no answer by 1.75 s means nobody listens.
pub const LOCAL_RETRY: RetryPolicy = RetryPolicy {
    initial_timeout: Duration::from_millis(250),
    max_timeout: Duration::from_secs(1),
    max_transmits: 3,
};

/// How long [`rpcbind_refused`] waits for a TCP connection to port 111.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(200);

/// Whether nothing listens on the local portmapper port: a TCP connection
/// to 127.0.0.1:111 is refused (an immediate answer on the loopback), so
/// waiting for UDP replies would only waste time. A connection made, a
/// timeout or any other error says "maybe": register over UDP as usual.
pub fn rpcbind_refused() -> bool {
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), PMAP_PORT);
    matches!(
        std::net::TcpStream::connect_timeout(&addr, PROBE_TIMEOUT),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused
    )
}

/// What an event meant to the registrar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The event was not the registrar's.
    NotMine,
    /// The registrar used the event; the plan goes on.
    Working,
    /// The plan finished.
    Finished(Outcome),
}

/// One UDP socket, one RPC client and at most one plan at a time.
#[derive(Debug)]
pub struct Registrar {
    sock: SourceId,
    portmapper: SocketAddr,
    client: RpcClient,
    plan: Option<Registration>,
    inflight: Option<CallId>,
    timer: Deadline,
}

impl Registrar {
    /// Opens the socket (reserved port if permitted).
    pub fn open(cx: &mut Context<'_>) -> io::Result<Registrar> {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let sock = match cx.udp_bind_reserved(lo) {
            Ok((sock, _)) => sock,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                cx.udp_bind(SocketAddr::new(lo, 0))?.0
            }
            Err(e) => return Err(e),
        };
        Ok(Registrar {
            sock,
            portmapper: SocketAddr::new(lo, PMAP_PORT),
            client: RpcClient::new(initial_xid()),
            plan: None,
            inflight: None,
            timer: Deadline::default(),
        })
    }

    /// Starts `plan`, abandoning any plan still running.
    pub fn start(&mut self, cx: &mut Context<'_>, plan: Registration) {
        if let Some(id) = self.inflight.take() {
            self.client.cancel(id);
        }
        self.plan = Some(plan);
        self.advance(cx);
    }

    /// Whether a plan is running.
    pub fn busy(&self) -> bool {
        self.plan.is_some()
    }

    /// Feeds an event; see [`Progress`].
    pub fn handle_event(&mut self, cx: &mut Context<'_>, ev: &Event<'_>) -> Progress {
        match ev {
            Event::Datagram { sock, from, data } if *sock == self.sock => {
                if *from == self.portmapper {
                    self.client.handle_reply(data);
                }
            }
            Event::Timer(t) if self.timer.fired(*t) => {}
            _ => return Progress::NotMine,
        }
        self.flush(cx);
        self.collect(cx)
    }

    /// Hands finished calls to the plan and starts the next call.
    fn collect(&mut self, cx: &mut Context<'_>) -> Progress {
        while let Some((id, result)) = self.client.poll_event() {
            if Some(id) != self.inflight {
                continue;
            }
            self.inflight = None;
            let Some(plan) = self.plan.as_mut() else {
                break;
            };
            match &result {
                Ok(bytes) => plan.handle_result(Ok(bytes)),
                Err(e) => plan.handle_result(Err(failure_kind(e))),
            }
            if let Some(outcome) = plan.outcome().cloned() {
                self.plan = None;
                return Progress::Finished(outcome);
            }
            self.advance(cx);
        }
        Progress::Working
    }

    fn advance(&mut self, cx: &mut Context<'_>) {
        let Some(call) = self.plan.as_ref().and_then(Registration::next_call) else {
            return;
        };
        let out = OutCall {
            prog: call.prog,
            vers: call.vers,
            proc: call.proc,
            cred: Credential::None,
            args: call.args,
        };
        self.inflight = Some(self.client.start(cx.now(), out, LOCAL_RETRY));
        self.flush(cx);
    }

    /// Sends what the client has due and re-arms the timer.
    fn flush(&mut self, cx: &mut Context<'_>) {
        while let Some((_, bytes)) = self.client.poll_transmit(cx.now()) {
            if let Err(e) = cx.send_to(self.sock, self.portmapper, &bytes) {
                log::debug!("portmapper call not sent: {e}");
            }
        }
        self.timer.follow(cx, self.client.poll_timeout());
    }
}

fn failure_kind(e: &CallError) -> FailureKind {
    match e {
        CallError::TimedOut => FailureKind::TimedOut,
        CallError::ProgUnavail => FailureKind::ProgUnavail,
        CallError::ProgMismatch { .. } => FailureKind::ProgMismatch,
        _ => FailureKind::Other,
    }
}

/// A hard-to-guess first xid, so a restarted daemon does not reuse the xids
/// of its previous run (the peer's duplicate cache would replay old replies).
pub fn initial_xid() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish() as u32
}
