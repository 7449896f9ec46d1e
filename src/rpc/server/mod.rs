//! The RPC server core: one message in, one [`Outcome`] out.
//!
//! [`RpcServer::handle`] decodes the header ([`super::message`]), answers
//! header-level errors the way libtirpc 1.3.3 does, finds the [`Program`],
//! and turns its [`Dispatch`] into a reply. Programs belong to the caller (the
//! daemon glue) and are lent for each call, so a program can also be driven
//! by timers and other events without the server in the way.
//!
//! | input | outcome |
//! |---|---|
//! | no xid, not a CALL, rpcvers ≠ 2, truncated header, auth body > 400 | [`Outcome::Drop`] |
//! | unknown flavour / bad AUTH_SYS / RPCSEC_GSS | AUTH_ERROR REJECTEDCRED / BADCRED |
//! | no program with that number | PROG_UNAVAIL |
//! | version outside [`Program::versions`] | PROG_MISMATCH{low, high} |
//! | otherwise | whatever [`Program::call`] answers |
//!
//! UDP calls go through the duplicate-request cache ([`super::drc`]); TCP
//! calls never do (TCP does not retransmit on its own).
//!
//! One job a file: this one holds the configuration, [`RpcServer::handle`]
//! (header checks, program and version lookup, the cache, the reply);
//! `deferred.rs` the calls a program keeps for later
//! ([`RpcServer::complete`]); `harness.rs` (tests only) a fake program and
//! a rig around the server.

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use super::drc::{DrcKey, DuplicateCache, Lookup};
use super::message::{decode_call, encode_reply, CallDecode, CallHeader, ReplyKind};
use super::program::{Call, Caller, Dispatch, Program, ReplyTo, Transport};
use deferred::Pending;

mod deferred;
#[cfg(test)]
mod harness;

/// Limits of an [`RpcServer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Most UDP replies kept for retransmits (0 disables the cache).
    pub drc_entries: usize,
    /// How long a cached reply is kept.
    pub drc_lifetime: Duration,
    /// Most deferred calls awaiting [`RpcServer::complete`]; past it the
    /// oldest is forgotten.
    pub max_deferred: usize,
}

impl Default for ServerConfig {
    /// 1024 cached replies for 120 s (Linux knfsd's DRC keeps entries for
    /// 120 s too), 1024 deferred calls.
    fn default() -> Self {
        ServerConfig {
            drc_entries: 1024,
            drc_lifetime: Duration::from_secs(120),
            max_deferred: 1024,
        }
    }
}

/// What to do after [`RpcServer::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send this reply (no record mark: frame it for TCP) to the caller.
    Reply(Vec<u8>),
    /// Send nothing.
    Drop,
    /// The program kept the call; its reply comes from
    /// [`RpcServer::complete`] with this token.
    Deferred(ReplyTo),
}

/// Dispatch state: the duplicate-request cache and the deferred calls.
#[derive(Debug)]
pub struct RpcServer {
    config: ServerConfig,
    drc: DuplicateCache,
    /// Keys the argument hash so a peer cannot aim collisions at the cache.
    hasher: RandomState,
    /// Deferred calls by token; tokens grow, so the first is the oldest.
    pending: BTreeMap<ReplyTo, Pending>,
    next_token: u64,
}

impl RpcServer {
    /// A server with these limits.
    pub fn new(config: ServerConfig) -> Self {
        RpcServer {
            config,
            drc: DuplicateCache::new(config.drc_entries, config.drc_lifetime),
            hasher: RandomState::new(),
            pending: BTreeMap::new(),
            next_token: 0,
        }
    }

    /// Handles one message (a UDP datagram or a reassembled TCP record).
    pub fn handle(
        &mut self,
        now: Instant,
        caller: Caller,
        msg: &[u8],
        programs: &mut [&mut dyn Program],
    ) -> Outcome {
        let header = match decode_call(msg) {
            CallDecode::Call(header) => header,
            CallDecode::Denied { xid, why } => {
                log::debug!(
                    "{}: xid {xid:#x}: credential refused ({why:?})",
                    caller.addr
                );
                return Outcome::Reply(encode_reply(xid, ReplyKind::AuthError(why)));
            }
            CallDecode::Drop(reason) => {
                log::debug!("{}: message dropped ({reason:?})", caller.addr);
                return Outcome::Drop;
            }
        };
        let xid = header.xid;
        let Some(program) = programs.iter_mut().find(|p| p.program() == header.prog) else {
            return Outcome::Reply(encode_reply(xid, ReplyKind::ProgUnavail));
        };
        let versions = program.versions();
        if !versions.contains(&header.vers) {
            let (low, high) = (*versions.start(), *versions.end());
            return Outcome::Reply(encode_reply(xid, ReplyKind::ProgMismatch { low, high }));
        }

        let drc = match caller.transport {
            Transport::Udp if !program.idempotent(header.vers, header.proc) => {
                Some(self.drc_key(caller, &header))
            }
            Transport::Udp | Transport::Tcp | Transport::Local { .. } => None,
        };
        if let Some(key) = &drc {
            match self.drc.lookup(now, key) {
                Lookup::Miss => {}
                Lookup::InProgress => return Outcome::Drop,
                Lookup::Done(reply) => return Outcome::Reply(reply.to_vec()),
            }
        }

        let reply_to = ReplyTo(self.next_token);
        self.next_token += 1;
        let call = Call {
            xid,
            prog: header.prog,
            vers: header.vers,
            proc: header.proc,
            caller,
            cred: header.cred,
            args: header.args,
            now,
            reply_to,
        };
        match program.call(&call) {
            Dispatch::Deferred => {
                self.defer(now, reply_to, Pending { caller, xid, drc });
                Outcome::Deferred(reply_to)
            }
            result => match reply_for(xid, &result) {
                Some(reply) => {
                    if let Some(key) = drc {
                        self.drc.finish(now, key, reply.clone());
                    }
                    Outcome::Reply(reply)
                }
                None => Outcome::Drop,
            },
        }
    }

    fn drc_key(&self, caller: Caller, header: &CallHeader<'_>) -> DrcKey {
        DrcKey {
            addr: caller.addr,
            xid: header.xid,
            prog: header.prog,
            vers: header.vers,
            proc: header.proc,
            args_hash: self.hasher.hash_one(header.args),
        }
    }
}

/// The reply a program result sends, if any.
fn reply_for(xid: u32, result: &Dispatch) -> Option<Vec<u8>> {
    let kind = match result {
        Dispatch::Reply(results) => ReplyKind::Success(results),
        Dispatch::ProcUnavail => ReplyKind::ProcUnavail,
        Dispatch::GarbageArgs => ReplyKind::GarbageArgs,
        Dispatch::SystemErr => ReplyKind::SystemErr,
        Dispatch::NoReply | Dispatch::Deferred => return None,
    };
    Some(encode_reply(xid, kind))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::rpc::auth::AuthStat;
    use crate::rpc::message::{decode_reply, encode_call};
    use crate::rpc::program::Credential;

    use super::harness::*;

    #[test]
    fn void_call_succeeds() {
        let mut rig = Rig::new();
        let reply = reply_of(rig.send(&call(0x1234, PROG, 1, 0, &[])));
        assert_eq!(
            reply,
            [0, 0, 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(rig.prog.calls, 1);
    }

    #[test]
    fn results_are_returned() {
        let mut rig = Rig::new();
        let reply = reply_of(rig.send(&call(5, PROG, 1, 1, &[0, 0, 0, 3])));
        assert_eq!(
            decode_reply(&reply),
            Ok((5, ReplyKind::Success(&[0, 0, 0, 3])))
        );
    }

    #[test]
    fn unknown_program_is_prog_unavail() {
        let mut rig = Rig::new();
        let reply = reply_of(rig.send(&call(1, 123_456, 1, 0, &[])));
        assert_eq!(&reply[20..], &[0, 0, 0, 1]);
        assert_eq!(rig.prog.calls, 0);
    }

    #[test]
    fn wrong_version_is_prog_mismatch_1_1() {
        let mut rig = Rig::new();
        for vers in [0, 2] {
            let reply = reply_of(rig.send(&call(1, PROG, vers, 0, &[])));
            // xid, REPLY, MSG_ACCEPTED, AUTH_NONE, 0, PROG_MISMATCH, low, high
            assert_eq!(
                reply,
                [
                    0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0,
                    0, 1, 0, 0, 0, 1
                ]
            );
        }
        assert_eq!(rig.prog.calls, 0);
    }

    #[test]
    fn program_errors_map_to_accept_stats() {
        let mut rig = Rig::new();
        let kinds = [
            (99, ReplyKind::ProcUnavail),
            (0xffff_ffff, ReplyKind::ProcUnavail),
            (1, ReplyKind::GarbageArgs),
            (4, ReplyKind::SystemErr),
        ];
        for (i, (proc, kind)) in kinds.into_iter().enumerate() {
            let reply = reply_of(rig.send(&call(i as u32, PROG, 1, proc, &[])));
            assert_eq!(decode_reply(&reply), Ok((i as u32, kind)));
        }
    }

    #[test]
    fn no_reply_is_dropped() {
        let mut rig = Rig::new();
        assert_eq!(rig.send(&call(1, PROG, 1, 3, &[])), Outcome::Drop);
        assert_eq!(rig.send(&call(1, PROG, 1, 3, &[])), Outcome::Drop);
        assert_eq!(rig.prog.calls, 2, "a NoReply call is not cached");
    }

    #[test]
    fn header_failures_are_dropped() {
        let mut rig = Rig::new();
        let mut rpcvers3 = call(1, PROG, 1, 0, &[]);
        rpcvers3[11] = 3;
        let mut reply_msg = call(1, PROG, 1, 0, &[]);
        reply_msg[7] = 1;
        for msg in [
            &rpcvers3[..],
            &reply_msg,
            &[],
            &[0],
            &[0, 0, 0, 1],
            &rpcvers3[..20],
        ] {
            assert_eq!(rig.send(msg), Outcome::Drop, "{msg:?}");
        }
        assert_eq!(rig.prog.calls, 0);
    }

    #[test]
    fn credential_errors_are_auth_errors() {
        let mut rig = Rig::new();
        let mut flavour99 = call(7, PROG, 1, 0, &[]);
        flavour99[27] = 99;
        let reply = reply_of(rig.send(&flavour99));
        // xid, REPLY, MSG_DENIED, AUTH_ERROR, AUTH_REJECTEDCRED
        assert_eq!(
            reply,
            [0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]
        );

        let gids17 = Credential::Sys {
            stamp: 0,
            machine: b"h".to_vec(),
            uid: 0,
            gid: 0,
            gids: vec![0; 16],
        };
        let mut msg = encode_call(8, PROG, 1, 0, &gids17, &[]);
        // Bump the credential length by 4 and the gid count to 17, adding a gid.
        msg[31] += 4;
        msg[55] = 17;
        msg.splice(56..56, [0, 0, 0, 9]);
        let reply = reply_of(rig.send(&msg));
        assert_eq!(
            decode_reply(&reply),
            Ok((8, ReplyKind::AuthError(AuthStat::BadCred)))
        );
        assert_eq!(rig.prog.calls, 0);
    }

    #[test]
    fn trailing_bytes_after_args_are_accepted() {
        let mut rig = Rig::new();
        let reply = reply_of(rig.send(&call(2, PROG, 1, 1, &[0, 0, 0, 4, 9, 9, 9, 9, 9, 9, 9, 9])));
        assert_eq!(
            decode_reply(&reply),
            Ok((2, ReplyKind::Success(&[0, 0, 0, 4])))
        );
    }

    #[test]
    fn every_call_gets_a_fresh_token() {
        let mut rig = Rig::new();
        rig.send(&call(1, PROG, 1, 0, &[]));
        let first = rig.prog.last_reply_to;
        rig.send(&call(2, PROG, 1, 0, &[]));
        assert_ne!(rig.prog.last_reply_to, first);
    }

    #[test]
    fn udp_retransmit_gets_cached_reply() {
        let mut rig = Rig::new();
        let msg = call(3, PROG, 1, 1, &[0, 0, 0, 7]);
        let first = reply_of(rig.send(&msg));
        let again = reply_of(rig.send_at(5, udp(), &msg));
        assert_eq!(first, again);
        assert_eq!(rig.prog.calls, 1);
    }

    #[test]
    fn same_xid_different_args_or_peer_is_a_new_call() {
        let mut rig = Rig::new();
        reply_of(rig.send(&call(3, PROG, 1, 1, &[0, 0, 0, 7])));
        let other = reply_of(rig.send(&call(3, PROG, 1, 1, &[0, 0, 0, 8])));
        assert_eq!(
            decode_reply(&other),
            Ok((3, ReplyKind::Success(&[0, 0, 0, 8])))
        );
        let peer = Caller {
            addr: "127.0.0.2:900".parse().unwrap(),
            ..udp()
        };
        reply_of(rig.send_at(0, peer, &call(3, PROG, 1, 1, &[0, 0, 0, 7])));
        assert_eq!(rig.prog.calls, 3);
    }

    #[test]
    fn cached_reply_expires() {
        let mut rig = Rig::new();
        let msg = call(3, PROG, 1, 0, &[]);
        rig.send(&msg);
        rig.send_at(119, udp(), &msg);
        assert_eq!(rig.prog.calls, 1);
        rig.send_at(120, udp(), &msg);
        assert_eq!(rig.prog.calls, 2);
    }

    #[test]
    fn tcp_bypasses_the_cache() {
        let mut rig = Rig::new();
        let msg = call(3, PROG, 1, 0, &[]);
        rig.send_at(0, tcp(), &msg);
        rig.send_at(0, tcp(), &msg);
        assert_eq!(rig.prog.calls, 2);
        let msg = call(4, PROG, 1, 2, &[]);
        assert!(matches!(rig.send_at(0, tcp(), &msg), Outcome::Deferred(_)));
        assert!(matches!(rig.send_at(0, tcp(), &msg), Outcome::Deferred(_)));
    }

    proptest! {
        #[test]
        fn handle_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..600),
            tcp_caller in any::<bool>(),
        ) {
            let mut rig = Rig::new();
            let caller = if tcp_caller { tcp() } else { udp() };
            let _ = rig.send_at(0, caller, &bytes);
        }

        #[test]
        fn handle_never_panics_on_mutated_calls(
            header in prop::collection::vec(any::<u32>(), 6..12),
            tail in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            // Keep a plausible CALL/rpcvers/prog/vers so decoding goes deep.
            let mut words = header;
            words[1] = 0;
            words[2] = 2;
            words[3] = PROG;
            words[4] = 1;
            let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            bytes.extend_from_slice(&tail);
            let mut rig = Rig::new();
            let _ = rig.send(&bytes);
        }
    }
}
