//! The NSM program (100024 v1) as the RPC server sees it.
//!
//! This release serves SM_NULL; every other procedure number is answered
//! PROC_UNAVAIL until the monitor service lands.

use crate::proto::sm_inter::{SmProc, SM_PROG, SM_VERS};
use crate::rpc::{Call, Dispatch, Program};
use std::ops::RangeInclusive;

/// NSM version 1.
#[derive(Debug, Default)]
pub struct NsmProgram {
    nulls: u64,
}

impl NsmProgram {
    /// Number of SM_NULL calls answered.
    pub fn nulls(&self) -> u64 {
        self.nulls
    }
}

impl Program for NsmProgram {
    fn program(&self) -> u32 {
        SM_PROG
    }

    fn versions(&self) -> RangeInclusive<u32> {
        SM_VERS..=SM_VERS
    }

    fn call(&mut self, call: &Call<'_>) -> Dispatch {
        match SmProc(call.proc) {
            SmProc::NULL => {
                self.nulls += 1;
                log::trace!("SM_NULL from {}", call.caller.addr);
                Dispatch::Reply(Vec::new())
            }
            _ => Dispatch::ProcUnavail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{Caller, Credential, ReplyTo, Transport};
    use std::time::Instant;

    fn call(proc: u32) -> Dispatch {
        let mut p = NsmProgram::default();
        p.call(&Call {
            xid: 1,
            prog: SM_PROG,
            vers: 1,
            proc,
            caller: Caller {
                addr: "127.0.0.1:900".parse().unwrap(),
                transport: Transport::Udp,
            },
            cred: Credential::None,
            args: &[],
            now: Instant::now(),
            reply_to: ReplyTo(0),
        })
    }

    #[test]
    fn null_is_answered_with_void() {
        assert_eq!(call(0), Dispatch::Reply(Vec::new()));
    }

    #[test]
    fn other_procedures_are_unavailable_for_now() {
        for proc in 1..=7 {
            assert_eq!(call(proc), Dispatch::ProcUnavail);
        }
    }
}
