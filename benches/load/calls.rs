//! NSM calls and replies for the load generator, built with statmon's own
//! XDR types and call encoder (AUTH_NONE), and the host names they carry.
//!
//! Every mon_name is an IPv4 literal, so Debian's rpc.statd resolves it
//! without a resolver lookup; the blocks are disjoint:
//! - 127.2.X.Y: names monitored and unmonitored by the throughput and
//!   memory workloads (and SM_STAT's name);
//! - 127.3.X.Y (127.4.X.Y past 65,536): peers of the "hosts to notify"
//!   records (nothing listens there);
//! - 127.5.X.Y: names the latency probes monitor on top of a prefilled list;
//! - 127.6.0.1: the never-monitored name of the SM_NOTIFY probe;
//! - 127.8.X.Y (127.9.X.Y past 65,536): prefilled monitor lists.

use statmon::proto::sm_inter::{
    Mon, MonId, MyId, SmName, SmProc, SmStatRes, StatChge, SM_PROG, SM_VERS,
};
use statmon::rpc::message::{decode_reply, encode_call, ReplyKind};
use statmon::rpc::Credential;
use statmon::xdr::{Bounded, FixedOpaque, Xdr};
use std::net::Ipv4Addr;

/// The caller name of every registration (SM_MON's my_name).
pub(crate) const MY_NAME: &str = "benchclient";
/// The callback every registration names: NLM (100021) v4 procedure 16.
pub(crate) const CALLBACK: (i32, i32, i32) = (100_021, 4, 16);

/// Host `i` (0 ≤ i < 65,536) of the block 127.`block`.X.Y.
pub(crate) fn host(block: u8, i: usize) -> Ipv4Addr {
    let i = i % 65_536;
    let x = u8::try_from(i / 256).unwrap_or(u8::MAX);
    let y = u8::try_from(i % 256).unwrap_or(u8::MAX);
    Ipv4Addr::new(127, block, x, y)
}

/// Host `i` of a list that may be longer than one /16: hosts 0..65,535
/// are 127.`block`.X.Y, the next ones 127.`block + 1`.X.Y and so on.
pub(crate) fn wide_host(block: u8, i: usize) -> Ipv4Addr {
    let extra = u8::try_from(i / 65_536).unwrap_or(u8::MAX);
    host(block.saturating_add(extra), i)
}

fn name(text: &str) -> Bounded<1024> {
    // Host names here are IPv4 literals, far below the 1,024-byte bound.
    Bounded::new(text.as_bytes().to_vec()).unwrap_or_default()
}

fn mon_id(mon_name: &str) -> MonId {
    MonId {
        mon_name: name(mon_name),
        my_id: MyId {
            my_name: name(MY_NAME),
            my_prog: CALLBACK.0,
            my_vers: CALLBACK.1,
            my_proc: CALLBACK.2,
        },
    }
}

/// The encoded call `proc(args)` to NSM with transaction id `xid`.
pub(crate) fn call(xid: u32, proc: SmProc, args: &[u8]) -> Vec<u8> {
    encode_call(xid, SM_PROG, SM_VERS, proc.0, &Credential::None, args)
}

/// SM_STAT's arguments.
pub(crate) fn stat_args(mon_name: &str) -> Vec<u8> {
    SmName {
        mon_name: name(mon_name),
    }
    .to_xdr()
}

/// SM_MON's arguments (cookie: `i` in the first 8 bytes).
pub(crate) fn mon_args(mon_name: &str, i: u64) -> Vec<u8> {
    let mut cookie = [0u8; 16];
    cookie[..8].copy_from_slice(&i.to_be_bytes());
    Mon {
        mon_id: mon_id(mon_name),
        cookie: FixedOpaque(cookie),
    }
    .to_xdr()
}

/// SM_UNMON's arguments.
pub(crate) fn unmon_args(mon_name: &str) -> Vec<u8> {
    mon_id(mon_name).to_xdr()
}

/// SM_NOTIFY's arguments.
pub(crate) fn notify_args(mon_name: &str, state: i32) -> Vec<u8> {
    StatChge {
        mon_name: name(mon_name),
        state,
    }
    .to_xdr()
}

/// What a reply says, as far as the load generator cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Accepted, and (for SM_STAT and SM_MON) `stat_succ`.
    Ok,
    /// Accepted with `stat_fail`, or rejected, or undecodable results.
    Failed,
}

/// The xid of a message (its first 4 bytes); `None` if it is shorter.
pub(crate) fn xid_of(msg: &[u8]) -> Option<u32> {
    msg.get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
}

/// Judges a reply to `proc`.
pub(crate) fn verdict(msg: &[u8], proc: SmProc) -> Verdict {
    match decode_reply(msg) {
        Ok((_, ReplyKind::Success(results))) => {
            if proc == SmProc::STAT || proc == SmProc::MON {
                match SmStatRes::from_xdr(results) {
                    Ok(r) if r.res_stat.0 == 0 => Verdict::Ok,
                    _ => Verdict::Failed,
                }
            } else {
                Verdict::Ok
            }
        }
        _ => Verdict::Failed,
    }
}
