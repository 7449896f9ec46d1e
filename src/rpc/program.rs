//! What an RPC program sees of a call, and what it answers.
//!
//! A [`Program`] is a sans-IO handler for one ONC RPC program number. The RPC
//! server (`rpc::server`) decodes the message header, checks the version range
//! and the credential, and hands the program a [`Call`]; the program decodes its
//! own arguments from [`Call::args`] and returns a [`Dispatch`].

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Instant;

/// The transport a call arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A UDP datagram.
    Udp,
    /// A TCP record.
    Tcp,
    /// A record on a local (AF_UNIX stream) socket; `uid` is the peer's
    /// user id from SO_PEERCRED. The caller's `addr` is then 127.0.0.1:0.
    Local {
        /// The peer's effective uid.
        uid: u32,
    },
}

/// Who sent a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Caller {
    /// Source address and port as the kernel reported them.
    pub addr: SocketAddr,
    /// The transport the call came on.
    pub transport: Transport,
}

impl Caller {
    /// The source IP with an IPv4-mapped IPv6 address turned back into IPv4.
    pub fn ip(&self) -> IpAddr {
        match self.addr.ip() {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            },
            v4 => v4,
        }
    }

    /// 127.0.0.0/8, `::1`, or `::ffff:127.0.0.0/104`.
    pub fn is_loopback(&self) -> bool {
        self.ip().is_loopback()
    }

    /// Whether the caller is privileged: a source port below 1024 (which only
    /// a privileged process can bind), or uid 0 on a local socket.
    pub fn has_reserved_port(&self) -> bool {
        match self.transport {
            Transport::Local { uid } => uid == 0,
            _ => self.addr.port() < 1024,
        }
    }

    /// A caller on a local socket.
    pub fn local(uid: u32) -> Caller {
        Caller {
            addr: SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0),
            transport: Transport::Local { uid },
        }
    }
}

/// The credential of a call, already checked for well-formedness by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// AUTH_NONE (flavour 0).
    None,
    /// AUTH_SYS (flavour 1), RFC 5531 appendix A.
    Sys {
        /// The client's clock stamp.
        stamp: u32,
        /// The machine name, as bytes (at most 255).
        machine: Vec<u8>,
        /// Effective uid.
        uid: u32,
        /// Effective gid.
        gid: u32,
        /// Supplementary gids (at most 16).
        gids: Vec<u32>,
    },
    /// Another flavour the server was configured to let through.
    Other(u32),
}

/// Identifies a call whose reply a program sends later (see [`Dispatch::Deferred`]).
///
/// Copyable and cheap; the server maps it back to the transport endpoint and xid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyTo(pub u64);

/// One decoded call, as handed to [`Program::call`].
#[derive(Debug)]
pub struct Call<'a> {
    /// The transaction id.
    pub xid: u32,
    /// Program number (always the handler's own).
    pub prog: u32,
    /// Version, already checked to be within [`Program::versions`].
    pub vers: u32,
    /// Procedure number, not checked: the program answers
    /// [`Dispatch::ProcUnavail`] for ones it lacks.
    pub proc: u32,
    /// The sender.
    pub caller: Caller,
    /// The credential.
    pub cred: Credential,
    /// The encoded arguments, through the end of the message. Trailing bytes
    /// after the arguments are allowed (libtirpc ignores them).
    pub args: &'a [u8],
    /// When the call was received (from the reactor's clock).
    pub now: Instant,
    /// Token to reply later with, if the program defers.
    pub reply_to: ReplyTo,
}

/// A program's answer to one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    /// SUCCESS with these encoded results (empty for `void`).
    Reply(Vec<u8>),
    /// PROC_UNAVAIL.
    ProcUnavail,
    /// GARBAGE_ARGS: the arguments did not decode.
    GarbageArgs,
    /// SYSTEM_ERR.
    SystemErr,
    /// Send nothing (the caller will time out or retransmit).
    NoReply,
    /// The program keeps [`Call::reply_to`] and completes the call later
    /// through the server, e.g. once a record is durable on disk.
    Deferred,
}

/// A handler for one RPC program number.
pub trait Program {
    /// The program number, e.g. 100024 for NSM.
    fn program(&self) -> u32;
    /// Supported versions; calls outside get PROG_MISMATCH{low, high}.
    fn versions(&self) -> RangeInclusive<u32>;
    /// Handles one call.
    fn call(&mut self, call: &Call<'_>) -> Dispatch;
    /// Whether `proc` of `vers` may simply run again when a datagram is
    /// retransmitted (it changes nothing): the server then skips its
    /// duplicate-request cache for it. By default nothing is.
    fn idempotent(&self, vers: u32, proc: u32) -> bool {
        let _ = (vers, proc);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(addr: &str) -> Caller {
        Caller {
            addr: addr.parse().unwrap(),
            transport: Transport::Udp,
        }
    }

    #[test]
    fn loopback_covers_v4_range_v6_and_mapped() {
        assert!(caller("127.0.0.1:800").is_loopback());
        assert!(caller("127.3.2.1:800").is_loopback());
        assert!(caller("[::1]:800").is_loopback());
        assert!(caller("[::ffff:127.0.0.2]:800").is_loopback());
        assert!(!caller("[::ffff:10.0.0.2]:800").is_loopback());
        assert!(!caller("198.18.0.2:800").is_loopback());
    }

    #[test]
    fn local_callers_are_loopback_and_privileged_only_as_root() {
        assert!(Caller::local(0).is_loopback());
        assert!(Caller::local(0).has_reserved_port());
        assert!(!Caller::local(1000).has_reserved_port());
    }

    #[test]
    fn reserved_port_is_below_1024() {
        assert!(caller("127.0.0.1:1023").has_reserved_port());
        assert!(!caller("127.0.0.1:1024").has_reserved_port());
    }
}
