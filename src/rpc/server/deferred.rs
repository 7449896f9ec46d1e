//! Deferred calls: those a program answered with [`Dispatch::Deferred`],
//! kept until [`RpcServer::complete`] brings their result.
//!
//! Invariants: at most [`ServerConfig::max_deferred`](super::ServerConfig::max_deferred)
//! calls wait (at least one); past it the oldest is forgotten, and its
//! duplicate-cache entry with it, so a retransmit runs afresh instead of
//! being dropped. A token completes at most once.

use super::{reply_for, RpcServer};
use crate::rpc::drc::DrcKey;
use crate::rpc::program::{Caller, Dispatch, ReplyTo};
use std::time::Instant;

/// A call waiting for [`RpcServer::complete`].
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) caller: Caller,
    pub(super) xid: u32,
    /// Set for UDP calls, whose reply goes into the cache.
    pub(super) drc: Option<DrcKey>,
}

impl RpcServer {
    /// Completes a deferred call. Returns where to send the reply and the
    /// (unframed) reply, or `None` if the token is unknown (already completed,
    /// or forgotten because of
    /// [`ServerConfig::max_deferred`](super::ServerConfig::max_deferred)) or
    /// `result` sends nothing ([`Dispatch::NoReply`]; a second [`Dispatch::Deferred`]
    /// is taken the same way).
    pub fn complete(
        &mut self,
        now: Instant,
        token: ReplyTo,
        result: Dispatch,
    ) -> Option<(Caller, Vec<u8>)> {
        let pending = self.pending.remove(&token)?;
        match reply_for(pending.xid, &result) {
            Some(reply) => {
                if let Some(key) = pending.drc {
                    self.drc.finish(now, key, reply.clone());
                }
                Some((pending.caller, reply))
            }
            None => {
                if let Some(key) = &pending.drc {
                    self.drc.forget(key);
                }
                None
            }
        }
    }

    /// Number of deferred calls not yet completed.
    pub fn deferred(&self) -> usize {
        self.pending.len()
    }

    pub(super) fn defer(&mut self, now: Instant, token: ReplyTo, pending: Pending) {
        while self.pending.len() >= self.config.max_deferred.max(1) {
            let Some((old, dropped)) = self.pending.pop_first() else {
                break;
            };
            log::warn!(
                "{}: deferred call {old:?} (xid {:#x}) forgotten: too many pending",
                dropped.caller.addr,
                dropped.xid
            );
            if let Some(key) = &dropped.drc {
                self.drc.forget(key);
            }
        }
        if let Some(key) = pending.drc {
            self.drc.begin(now, key);
        }
        self.pending.insert(token, pending);
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::{Outcome, ServerConfig};
    use super::*;
    use crate::rpc::message::{decode_reply, ReplyKind};
    use std::time::Duration;

    #[test]
    fn deferred_call_completes_later() {
        let mut rig = Rig::new();
        let Outcome::Deferred(token) = rig.send_at(0, tcp(), &call(9, PROG, 1, 2, &[])) else {
            panic!("not deferred");
        };
        assert_eq!(rig.prog.last_reply_to, Some(token));
        assert_eq!(rig.server.deferred(), 1);
        let (to, reply) = rig
            .server
            .complete(rig.t0, token, Dispatch::Reply(vec![0, 0, 0, 1]))
            .unwrap();
        assert_eq!(to, tcp());
        assert_eq!(
            decode_reply(&reply),
            Ok((9, ReplyKind::Success(&[0, 0, 0, 1])))
        );
        assert_eq!(
            rig.server.complete(rig.t0, token, Dispatch::Reply(vec![])),
            None
        );
        assert_eq!(rig.server.deferred(), 0);
    }

    #[test]
    fn deferred_call_completed_without_reply() {
        let mut rig = Rig::new();
        let msg = call(9, PROG, 1, 2, &[]);
        let Outcome::Deferred(token) = rig.send(&msg) else {
            panic!("not deferred");
        };
        assert_eq!(rig.server.complete(rig.t0, token, Dispatch::NoReply), None);
        assert!(
            matches!(rig.send(&msg), Outcome::Deferred(_)),
            "runs afresh"
        );
    }

    #[test]
    fn pending_map_is_bounded() {
        let mut rig = Rig::with(ServerConfig {
            max_deferred: 2,
            ..ServerConfig::default()
        });
        let mut tokens = Vec::new();
        for xid in 0..3 {
            let Outcome::Deferred(t) = rig.send(&call(xid, PROG, 1, 2, &[])) else {
                panic!("not deferred");
            };
            tokens.push(t);
        }
        assert_eq!(rig.server.deferred(), 2);
        assert_eq!(
            rig.server
                .complete(rig.t0, tokens[0], Dispatch::Reply(vec![])),
            None
        );
        assert!(rig
            .server
            .complete(rig.t0, tokens[2], Dispatch::Reply(vec![]))
            .is_some());
        // The forgotten call's retransmit runs again instead of being dropped.
        assert!(matches!(
            rig.send(&call(0, PROG, 1, 2, &[])),
            Outcome::Deferred(_)
        ));
    }

    #[test]
    fn udp_retransmit_of_deferred_call_is_dropped_then_cached() {
        let mut rig = Rig::new();
        let msg = call(4, PROG, 1, 2, &[]);
        let Outcome::Deferred(token) = rig.send(&msg) else {
            panic!("not deferred");
        };
        assert_eq!(rig.send_at(1, udp(), &msg), Outcome::Drop);
        let (_, reply) = rig
            .server
            .complete(
                rig.t0 + Duration::from_secs(2),
                token,
                Dispatch::Reply(vec![]),
            )
            .unwrap();
        assert_eq!(reply_of(rig.send_at(3, udp(), &msg)), reply);
        assert_eq!(rig.prog.calls, 1);
    }
}
