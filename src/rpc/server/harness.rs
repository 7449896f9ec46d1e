//! Test support for the server tests: [`Fake`], an NSM-shaped program
//! whose procedures answer each kind of [`Dispatch`], and [`Rig`], a server
//! with that program and a fixed start time.

use super::{Outcome, RpcServer, ServerConfig};
use crate::rpc::message::encode_call;
use crate::rpc::program::{Call, Caller, Credential, Dispatch, Program, ReplyTo, Transport};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

pub(super) const PROG: u32 = 100_024;

/// NSM-shaped fake: proc 0 void, 1 echoes its first word (GARBAGE_ARGS if
/// none), 2 defers, 3 sends nothing, 4 SYSTEM_ERR; counts calls.
pub(super) struct Fake {
    pub(super) calls: u32,
    pub(super) last_reply_to: Option<ReplyTo>,
}

impl Program for Fake {
    fn program(&self) -> u32 {
        PROG
    }
    fn versions(&self) -> RangeInclusive<u32> {
        1..=1
    }
    fn call(&mut self, call: &Call<'_>) -> Dispatch {
        self.calls += 1;
        self.last_reply_to = Some(call.reply_to);
        match call.proc {
            0 => Dispatch::Reply(Vec::new()),
            1 => match call.args.get(..4) {
                Some(word) => Dispatch::Reply(word.to_vec()),
                None => Dispatch::GarbageArgs,
            },
            2 => Dispatch::Deferred,
            3 => Dispatch::NoReply,
            4 => Dispatch::SystemErr,
            _ => Dispatch::ProcUnavail,
        }
    }
}

pub(super) fn fake() -> Fake {
    Fake {
        calls: 0,
        last_reply_to: None,
    }
}

pub(super) fn udp() -> Caller {
    Caller {
        addr: "127.0.0.1:900".parse().unwrap(),
        transport: Transport::Udp,
    }
}

pub(super) fn tcp() -> Caller {
    Caller {
        transport: Transport::Tcp,
        ..udp()
    }
}

pub(super) fn call(xid: u32, prog: u32, vers: u32, proc: u32, args: &[u8]) -> Vec<u8> {
    encode_call(xid, prog, vers, proc, &Credential::None, args)
}

pub(super) struct Rig {
    pub(super) server: RpcServer,
    pub(super) prog: Fake,
    pub(super) t0: Instant,
}

impl Rig {
    pub(super) fn new() -> Self {
        Rig::with(ServerConfig::default())
    }
    pub(super) fn with(config: ServerConfig) -> Self {
        Rig {
            server: RpcServer::new(config),
            prog: fake(),
            t0: Instant::now(),
        }
    }
    pub(super) fn send_at(&mut self, secs: u64, caller: Caller, msg: &[u8]) -> Outcome {
        let now = self.t0 + Duration::from_secs(secs);
        self.server.handle(now, caller, msg, &mut [&mut self.prog])
    }
    pub(super) fn send(&mut self, msg: &[u8]) -> Outcome {
        self.send_at(0, udp(), msg)
    }
}

pub(super) fn reply_of(outcome: Outcome) -> Vec<u8> {
    match outcome {
        Outcome::Reply(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}
