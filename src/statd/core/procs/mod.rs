//! What each NSM procedure does (the decoding, access rules and replies);
//! the queues and the store flow are in the parent module.
//!
//! Access rules (stricter than, or equal to, every reference statd):
//! - SM_NULL, SM_STAT and SM_NOTIFY: anyone.
//! - SM_MON, SM_UNMON, SM_UNMON_ALL: loopback callers only (127.0.0.0/8,
//!   ::1, v4-mapped loopback, local sockets).
//! - SM_SIMU_CRASH: loopback and a reserved source port (or root on a
//!   local socket).
//! - SM_MON also needs a callback on the allow-list
//!   ([`crate::proto::nlm::callback_allowed`]) and a storable mon_name.
//!
//! One job a file:
//! - this file: the dispatch on the procedure number, argument decoding,
//!   the refusal log and the reply builders the parent module shares;
//! - `monitor.rs`: the procedures that change the monitor list (SM_MON,
//!   SM_UNMON, SM_UNMON_ALL);
//! - `status.rs`: the procedures about state and reboots (SM_STAT,
//!   SM_NOTIFY, SM_SIMU_CRASH);
//! - `harness.rs` (tests only): the core driven through its procedures,
//!   with a private resolver and store.
//!
//! Invariant: no procedure panics on any argument bytes; undecodable
//! arguments are GARBAGE_ARGS and unknown procedures PROC_UNAVAIL.

use super::NsmCore;
use crate::proto::sm_inter::{Res, SmProc, SmStat, SmStatRes};
use crate::rpc::{Call, Dispatch};
use crate::statd::store::nfsutils::format as nfsutils;
use crate::xdr::Xdr;

#[cfg(test)]
mod harness;
mod monitor;
mod status;

/// The `sm_stat_res` of SM_STAT.
pub(super) fn stat_res(found: bool, state: i32) -> Dispatch {
    let res_stat = if found {
        Res::STAT_SUCC
    } else {
        Res::STAT_FAIL
    };
    Dispatch::Reply(SmStatRes { res_stat, state }.to_xdr())
}

/// The `sm_stat_res` of SM_MON: the local state on success, -1 on failure
/// (as nfs-utils; the Linux kernel adopts the state it gets).
pub(super) fn mon_reply(ok: bool, state: i32) -> Dispatch {
    if ok {
        stat_res(true, state)
    } else {
        stat_res(false, -1)
    }
}

/// The `sm_stat` of SM_UNMON and SM_UNMON_ALL.
pub(super) fn stat_reply(state: i32) -> Dispatch {
    Dispatch::Reply(SmStat { state }.to_xdr())
}

/// my_name as nfs-utils stores it: space, tab, CR and LF become `_`
/// (FreeBSD's kernel calls itself "NFS NLM").
fn stored_my_name(name: &[u8]) -> Vec<u8> {
    name.iter()
        .map(|&b| match b {
            b' ' | b'\t' | b'\r' | b'\n' => b'_',
            other => other,
        })
        .collect()
}

/// Whether `name` could name a host at all: the store's file-name rule
/// (not empty, no `/`, no leading `.`, no whitespace or control bytes, at
/// most 255 bytes, which no DNS name exceeds).
fn plausible_host(name: &[u8]) -> bool {
    nfsutils::is_valid_file_name(name)
}

impl NsmCore {
    pub(super) fn dispatch(&mut self, call: &Call<'_>) -> Dispatch {
        match SmProc(call.proc) {
            SmProc::NULL => Dispatch::Reply(Vec::new()),
            SmProc::STAT => decoded(call, |a| self.sm_stat(call, a)),
            SmProc::MON => decoded(call, |a| self.sm_mon(call, a)),
            SmProc::UNMON => decoded(call, |a| self.sm_unmon(call, a)),
            SmProc::UNMON_ALL => decoded(call, |a| self.sm_unmon_all(call, a)),
            SmProc::SIMU_CRASH => self.sm_simu_crash(call),
            SmProc::NOTIFY => decoded(call, |a| self.sm_notify(call, a)),
            _ => Dispatch::ProcUnavail,
        }
    }

    fn refuse(&mut self, call: &Call<'_>, what: &str) {
        self.counters.refused += 1;
        log::warn!(
            "{} from {} refused: {what}",
            SmProc(call.proc).name().unwrap_or("call"),
            call.caller.addr
        );
    }
}

/// Decodes the arguments, or answers GARBAGE_ARGS.
fn decoded<'a, T: Xdr<'a>>(call: &Call<'a>, f: impl FnOnce(T) -> Dispatch) -> Dispatch {
    match T::from_xdr(call.args) {
        Ok(arg) => f(arg),
        Err(e) => {
            log::debug!(
                "{} from {}: undecodable arguments: {e}",
                SmProc(call.proc).name().unwrap_or("call"),
                call.caller.addr
            );
            Dispatch::GarbageArgs
        }
    }
}

#[cfg(test)]
mod tests {
    use super::harness::*;
    use super::*;

    #[test]
    fn undecodable_arguments_are_garbage() {
        let mut h = Harness::new(3);
        let full = mon(b"a", b"me", 4, 16, 1);
        let (_, d) = h.call(LOCAL, SmProc::MON, &full[..full.len() - 1]);
        assert_eq!(d, Dispatch::GarbageArgs);
        let (_, d) = h.call(LOCAL, SmProc::NOTIFY, &[0, 0, 0]);
        assert_eq!(d, Dispatch::GarbageArgs);
        let (_, d) = h.call(LOCAL, SmProc(7), &[]);
        assert_eq!(d, Dispatch::ProcUnavail);
    }
}
