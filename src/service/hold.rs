//! Calls that arrive before a service may answer them (it is not yet
//! registered with the portmapper): [`Hold`] stands in for the program,
//! keeps each call, and replays them into the real program once it may
//! answer, so a client never gets an answer from a service that `rpcinfo`
//! does not list yet.

use crate::rpc::{Call, Caller, Credential, Dispatch, Program, ReplyTo};
use std::ops::RangeInclusive;
use std::time::Instant;

/// Most calls held; later ones get no reply (the client retransmits).
pub const MAX_HELD: usize = 1024;

/// One call, owned.
#[derive(Debug)]
struct Held {
    xid: u32,
    prog: u32,
    vers: u32,
    proc: u32,
    caller: Caller,
    cred: Credential,
    args: Vec<u8>,
    now: Instant,
    reply_to: ReplyTo,
}

/// A stand-in for a program that defers every call.
///
/// Invariant: every held call was answered [`Dispatch::Deferred`], so the
/// server waits for its completion under the same [`ReplyTo`].
#[derive(Debug)]
pub struct Hold {
    prog: u32,
    versions: RangeInclusive<u32>,
    calls: Vec<Held>,
}

impl Hold {
    /// Holds calls for `prog` of `versions`.
    pub fn new(prog: u32, versions: RangeInclusive<u32>) -> Hold {
        Hold {
            prog,
            versions,
            calls: Vec::new(),
        }
    }

    /// Number of calls held.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call is held.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Hands every held call, in arrival order, to `program`; returns the
    /// answers to send now (those `program` defers it completes itself).
    pub fn release(&mut self, program: &mut dyn Program) -> Vec<(ReplyTo, Dispatch)> {
        let mut answers = Vec::new();
        for h in self.calls.drain(..) {
            let call = Call {
                xid: h.xid,
                prog: h.prog,
                vers: h.vers,
                proc: h.proc,
                caller: h.caller,
                cred: h.cred,
                args: &h.args,
                now: h.now,
                reply_to: h.reply_to,
            };
            match program.call(&call) {
                Dispatch::Deferred => {}
                answer => answers.push((h.reply_to, answer)),
            }
        }
        answers
    }
}

impl Program for Hold {
    fn program(&self) -> u32 {
        self.prog
    }

    fn versions(&self) -> RangeInclusive<u32> {
        self.versions.clone()
    }

    fn call(&mut self, call: &Call<'_>) -> Dispatch {
        if self.calls.len() >= MAX_HELD {
            return Dispatch::NoReply;
        }
        self.calls.push(Held {
            xid: call.xid,
            prog: call.prog,
            vers: call.vers,
            proc: call.proc,
            caller: call.caller,
            cred: call.cred.clone(),
            args: call.args.to_vec(),
            now: call.now,
            reply_to: call.reply_to,
        });
        Dispatch::Deferred
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::Transport;

    /// Answers NULL at once and defers everything else.
    struct Echo(Vec<u32>);

    impl Program for Echo {
        fn program(&self) -> u32 {
            7
        }
        fn versions(&self) -> RangeInclusive<u32> {
            1..=1
        }
        fn call(&mut self, call: &Call<'_>) -> Dispatch {
            self.0.push(call.proc);
            match call.proc {
                0 => Dispatch::Reply(call.args.to_vec()),
                _ => Dispatch::Deferred,
            }
        }
    }

    fn call(hold: &mut Hold, proc: u32, to: u64) -> Dispatch {
        hold.call(&Call {
            xid: 1,
            prog: 7,
            vers: 1,
            proc,
            caller: Caller {
                addr: "127.0.0.1:5".parse().unwrap(),
                transport: Transport::Udp,
            },
            cred: Credential::None,
            args: &[to as u8],
            now: Instant::now(),
            reply_to: ReplyTo(to),
        })
    }

    #[test]
    fn held_calls_are_replayed_in_order_and_only_immediate_answers_returned() {
        let mut hold = Hold::new(7, 1..=1);
        assert_eq!(call(&mut hold, 0, 1), Dispatch::Deferred);
        assert_eq!(call(&mut hold, 2, 2), Dispatch::Deferred);
        assert_eq!(call(&mut hold, 0, 3), Dispatch::Deferred);
        assert_eq!(hold.len(), 3);
        let mut echo = Echo(Vec::new());
        let answers = hold.release(&mut echo);
        assert_eq!(echo.0, [0, 2, 0]);
        assert_eq!(
            answers,
            [
                (ReplyTo(1), Dispatch::Reply(vec![1])),
                (ReplyTo(3), Dispatch::Reply(vec![3]))
            ]
        );
        assert!(hold.is_empty());
    }

    #[test]
    fn past_the_limit_calls_get_no_reply() {
        let mut hold = Hold::new(7, 1..=1);
        for n in 0..MAX_HELD as u64 {
            assert_eq!(call(&mut hold, 0, n), Dispatch::Deferred);
        }
        assert_eq!(call(&mut hold, 0, 9999), Dispatch::NoReply);
        assert_eq!(hold.len(), MAX_HELD);
    }
}
