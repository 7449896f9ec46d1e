//! A sans-IO RPC client: xid allocation, retransmission with backoff, and
//! reply matching, for rpcbind registration, GETPORT, lock-manager callbacks
//! and SM_NOTIFY.
//!
//! Driving it (quinn-proto style):
//! 1. [`RpcClient::start`] a call;
//! 2. send everything [`RpcClient::poll_transmit`] yields (to the destination
//!    the caller chose; frame with [`super::record::frame`] on TCP);
//! 3. feed every datagram or record from that peer to
//!    [`RpcClient::handle_reply`];
//! 4. wake up at [`RpcClient::poll_timeout`] and go back to 2;
//! 5. collect results from [`RpcClient::poll_event`].
//!
//! Each call is sent at most `max_transmits` times, always with the same
//! xid. The first wait is `initial_timeout`, and each retransmission doubles
//! the wait up to `max_timeout`; once the wait after the last transmission
//! runs out, the call ends with [`CallError::TimedOut`]. Replies are matched by
//! xid only: the glue should only feed replies from the peer it sent to, and
//! seed `first_xid` randomly.
//!
//! # Panic contract
//! No method panics, whatever bytes [`RpcClient::handle_reply`] gets.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::auth::AuthStat;
use super::message::{decode_reply, encode_call, ReplyError, ReplyKind};
use super::program::Credential;

/// Names one call of an [`RpcClient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(u64);

/// A call to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutCall {
    /// Program number.
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Procedure number.
    pub proc: u32,
    /// Credential to send (the verifier is always AUTH_NONE).
    pub cred: Credential,
    /// Encoded arguments.
    pub args: Vec<u8>,
}

/// When to retransmit and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first transmission.
    pub initial_timeout: Duration,
    /// Cap on the doubling wait.
    pub max_timeout: Duration,
    /// Transmissions in all, counting the first (0 is taken as 1).
    pub max_transmits: u32,
}

/// How a call was refused with MSG_DENIED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// RPC_MISMATCH: the RPC versions the server speaks.
    RpcMismatch {
        /// Lowest version.
        low: u32,
        /// Highest version.
        high: u32,
    },
    /// AUTH_ERROR.
    Auth(AuthStat),
}

/// Why a call produced no results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// No reply after `max_transmits` transmissions.
    TimedOut,
    /// PROG_UNAVAIL.
    ProgUnavail,
    /// PROG_MISMATCH with the server's version range.
    ProgMismatch {
        /// Lowest version.
        low: u32,
        /// Highest version.
        high: u32,
    },
    /// PROC_UNAVAIL.
    ProcUnavail,
    /// GARBAGE_ARGS.
    GarbageArgs,
    /// SYSTEM_ERR.
    SystemErr,
    /// MSG_DENIED.
    Denied(Rejection),
    /// A reply with our xid that did not decode (libtirpc: RPC_CANTDECODERES).
    Malformed,
}

/// The results of a call (encoded, for the caller to decode), or why not.
pub type CallResult = Result<Vec<u8>, CallError>;

#[derive(Debug)]
struct Outstanding {
    xid: u32,
    message: Vec<u8>,
    retry: RetryPolicy,
    /// Transmissions so far.
    sent: u32,
    /// Wait after the latest transmission.
    wait: Duration,
    /// Next transmission (or give-up) time; `None` if that is past the end
    /// of `Instant`, i.e. never.
    due: Option<Instant>,
}

/// Outstanding calls of one endpoint.
#[derive(Debug)]
pub struct RpcClient {
    next_xid: u32,
    next_id: u64,
    calls: BTreeMap<CallId, Outstanding>,
    by_xid: HashMap<u32, CallId>,
    /// Every call with a due time, earliest first (mirrors `due`).
    by_due: BTreeSet<(Instant, CallId)>,
    events: VecDeque<(CallId, CallResult)>,
}

impl RpcClient {
    /// A client whose xids count up (wrapping) from `first_xid`.
    pub fn new(first_xid: u32) -> Self {
        RpcClient {
            next_xid: first_xid,
            next_id: 0,
            calls: BTreeMap::new(),
            by_xid: HashMap::new(),
            by_due: BTreeSet::new(),
            events: VecDeque::new(),
        }
    }

    /// Starts a call; its first transmission is due at once.
    pub fn start(&mut self, now: Instant, call: OutCall, retry: RetryPolicy) -> CallId {
        let mut xid = self.next_xid;
        while self.by_xid.contains_key(&xid) {
            xid = xid.wrapping_add(1);
        }
        self.next_xid = xid.wrapping_add(1);
        let id = CallId(self.next_id);
        self.next_id += 1;
        let message = encode_call(xid, call.prog, call.vers, call.proc, &call.cred, &call.args);
        self.by_xid.insert(xid, id);
        self.by_due.insert((now, id));
        self.calls.insert(
            id,
            Outstanding {
                xid,
                message,
                retry,
                sent: 0,
                wait: retry.initial_timeout.min(retry.max_timeout),
                due: Some(now),
            },
        );
        id
    }

    /// The next message to send: a first transmission or a due retransmit,
    /// earliest first. Calls whose last wait ran out are retired here with
    /// [`CallError::TimedOut`] (see [`RpcClient::poll_event`]).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(CallId, Vec<u8>)> {
        loop {
            let &(due, id) = self.by_due.first()?;
            if due > now {
                return None;
            }
            self.by_due.remove(&(due, id));
            let Some(call) = self.calls.get_mut(&id) else {
                continue;
            };
            if call.sent >= call.retry.max_transmits.max(1) {
                if let Some(call) = self.calls.remove(&id) {
                    self.by_xid.remove(&call.xid);
                    self.events.push_back((id, Err(CallError::TimedOut)));
                }
                continue;
            }
            if call.sent > 0 {
                call.wait = call.wait.saturating_mul(2).min(call.retry.max_timeout);
            }
            call.sent += 1;
            call.due = now.checked_add(call.wait);
            if let Some(next) = call.due {
                self.by_due.insert((next, id));
            }
            return Some((id, call.message.clone()));
        }
    }

    /// When [`RpcClient::poll_transmit`] next has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.by_due.first().map(|(due, _)| *due)
    }

    /// Takes a message from the network. Returns the call it answered, or
    /// `None` for anything else (unknown xid, not a reply, too short).
    pub fn handle_reply(&mut self, msg: &[u8]) -> Option<CallId> {
        let (xid, result) = match decode_reply(msg) {
            Ok((xid, kind)) => (xid, result_of(kind)),
            Err(ReplyError::Malformed { xid }) => (xid, Err(CallError::Malformed)),
            Err(ReplyError::TooShort | ReplyError::NotAReply(_)) => return None,
        };
        let id = self.by_xid.remove(&xid)?;
        if let Some(due) = self.calls.remove(&id).and_then(|c| c.due) {
            self.by_due.remove(&(due, id));
        }
        self.events.push_back((id, result));
        Some(id)
    }

    /// The next finished call.
    pub fn poll_event(&mut self) -> Option<(CallId, CallResult)> {
        self.events.pop_front()
    }

    /// Forgets a call: nothing more is sent for it and no result is reported,
    /// even one already waiting in [`RpcClient::poll_event`].
    pub fn cancel(&mut self, id: CallId) {
        if let Some(call) = self.calls.remove(&id) {
            self.by_xid.remove(&call.xid);
            if let Some(due) = call.due {
                self.by_due.remove(&(due, id));
            }
        }
        self.events.retain(|(done, _)| *done != id);
    }
}

fn result_of(kind: ReplyKind<'_>) -> CallResult {
    match kind {
        ReplyKind::Success(results) => Ok(results.to_vec()),
        ReplyKind::ProgUnavail => Err(CallError::ProgUnavail),
        ReplyKind::ProgMismatch { low, high } => Err(CallError::ProgMismatch { low, high }),
        ReplyKind::ProcUnavail => Err(CallError::ProcUnavail),
        ReplyKind::GarbageArgs => Err(CallError::GarbageArgs),
        ReplyKind::SystemErr => Err(CallError::SystemErr),
        ReplyKind::RpcMismatch { low, high } => {
            Err(CallError::Denied(Rejection::RpcMismatch { low, high }))
        }
        ReplyKind::AuthError(why) => Err(CallError::Denied(Rejection::Auth(why))),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::rpc::message::{decode_call, encode_reply, CallDecode};

    const SEC: Duration = Duration::from_secs(1);

    fn notify() -> OutCall {
        OutCall {
            prog: 100_024,
            vers: 1,
            proc: 6,
            cred: Credential::None,
            args: vec![0, 0, 0, 1],
        }
    }

    fn policy(max_transmits: u32) -> RetryPolicy {
        RetryPolicy {
            initial_timeout: SEC,
            max_timeout: 4 * SEC,
            max_transmits,
        }
    }

    fn xid_of(msg: &[u8]) -> u32 {
        match decode_call(msg) {
            CallDecode::Call(h) => h.xid,
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn call_is_encoded_with_allocated_xids() {
        let t0 = Instant::now();
        let mut c = RpcClient::new(0xffff_fffe);
        let a = c.start(t0, notify(), policy(1));
        let b = c.start(t0, notify(), policy(1));
        let (id, msg) = c.poll_transmit(t0).unwrap();
        assert_eq!(id, a);
        assert_eq!(
            msg,
            encode_call(0xffff_fffe, 100_024, 1, 6, &Credential::None, &[0, 0, 0, 1])
        );
        let (id, msg) = c.poll_transmit(t0).unwrap();
        assert_eq!((id, xid_of(&msg)), (b, 0xffff_ffff));
        assert_eq!(c.poll_transmit(t0), None);
        c.start(t0, notify(), policy(1));
        assert_eq!(xid_of(&c.poll_transmit(t0).unwrap().1), 0, "xids wrap");
    }

    #[test]
    fn replies_match_by_xid() {
        let t0 = Instant::now();
        let mut c = RpcClient::new(100);
        let a = c.start(t0, notify(), policy(3));
        let b = c.start(t0, notify(), policy(3));
        c.poll_transmit(t0);
        c.poll_transmit(t0);
        assert_eq!(
            c.handle_reply(&encode_reply(101, ReplyKind::Success(&[0, 0, 0, 5]))),
            Some(b)
        );
        assert_eq!(
            c.handle_reply(&encode_reply(101, ReplyKind::Success(&[]))),
            None,
            "done"
        );
        assert_eq!(
            c.handle_reply(&encode_reply(7, ReplyKind::Success(&[]))),
            None,
            "unknown"
        );
        assert_eq!(c.poll_event(), Some((b, Ok(vec![0, 0, 0, 5]))));
        assert_eq!(c.poll_event(), None);
        assert_eq!(
            c.handle_reply(&encode_reply(100, ReplyKind::Success(&[]))),
            Some(a)
        );
        assert_eq!(c.poll_event(), Some((a, Ok(vec![]))));
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn retransmits_back_off_then_time_out() {
        let t0 = Instant::now();
        let mut c = RpcClient::new(1);
        let id = c.start(t0, notify(), policy(4));
        assert_eq!(c.poll_timeout(), Some(t0));
        let (_, first) = c.poll_transmit(t0).unwrap();
        // Waits: 1 s, then 2 s, then 4 s, then capped at 4 s.
        for (at, next) in [(1, 3), (3, 7), (7, 11)] {
            let at = t0 + at * SEC;
            assert_eq!(c.poll_timeout(), Some(at));
            assert_eq!(c.poll_transmit(at - Duration::from_millis(1)), None);
            assert_eq!(
                c.poll_transmit(at),
                Some((id, first.clone())),
                "same xid and bytes"
            );
            assert_eq!(c.poll_timeout(), Some(t0 + next * SEC));
        }
        assert_eq!(c.poll_event(), None);
        assert_eq!(
            c.poll_transmit(t0 + 11 * SEC),
            None,
            "no fifth transmission"
        );
        assert_eq!(c.poll_event(), Some((id, Err(CallError::TimedOut))));
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(
            c.handle_reply(&encode_reply(1, ReplyKind::Success(&[]))),
            None
        );
    }

    #[test]
    fn zero_transmits_means_one() {
        let t0 = Instant::now();
        let mut c = RpcClient::new(1);
        let id = c.start(t0, notify(), policy(0));
        assert!(c.poll_transmit(t0).is_some());
        assert_eq!(c.poll_transmit(t0 + SEC), None);
        assert_eq!(c.poll_event(), Some((id, Err(CallError::TimedOut))));
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let t0 = Instant::now();
        let mut c = RpcClient::new(1);
        let forever = RetryPolicy {
            initial_timeout: Duration::MAX,
            max_timeout: Duration::MAX,
            max_transmits: 2,
        };
        c.start(t0, notify(), forever);
        assert!(c.poll_transmit(t0).is_some());
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn reply_error_kinds() {
        let cases = [
            (ReplyKind::ProgUnavail, CallError::ProgUnavail),
            (
                ReplyKind::ProgMismatch { low: 1, high: 4 },
                CallError::ProgMismatch { low: 1, high: 4 },
            ),
            (ReplyKind::ProcUnavail, CallError::ProcUnavail),
            (ReplyKind::GarbageArgs, CallError::GarbageArgs),
            (ReplyKind::SystemErr, CallError::SystemErr),
            (
                ReplyKind::RpcMismatch { low: 2, high: 2 },
                CallError::Denied(Rejection::RpcMismatch { low: 2, high: 2 }),
            ),
            (
                ReplyKind::AuthError(AuthStat::TooWeak),
                CallError::Denied(Rejection::Auth(AuthStat::TooWeak)),
            ),
        ];
        let t0 = Instant::now();
        let mut c = RpcClient::new(50);
        for (i, (kind, want)) in cases.into_iter().enumerate() {
            let id = c.start(t0, notify(), policy(1));
            assert_eq!(c.handle_reply(&encode_reply(50 + i as u32, kind)), Some(id));
            assert_eq!(c.poll_event(), Some((id, Err(want))));
        }
    }

    #[test]
    fn malformed_reply_with_our_xid_fails_the_call() {
        let t0 = Instant::now();
        let mut c = RpcClient::new(9);
        let id = c.start(t0, notify(), policy(1));
        // xid 9, REPLY, MSG_ACCEPTED, AUTH_NONE verifier, accept_stat 77.
        let bad = [
            0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 77,
        ];
        assert_eq!(c.handle_reply(&bad), Some(id));
        assert_eq!(c.poll_event(), Some((id, Err(CallError::Malformed))));
    }

    #[test]
    fn garbage_and_calls_are_ignored() {
        let t0 = Instant::now();
        let mut c = RpcClient::new(9);
        let id = c.start(t0, notify(), policy(2));
        let (_, sent) = c.poll_transmit(t0).unwrap();
        for junk in [&[][..], &[0, 0, 0, 9], &[0, 0, 0, 9, 0, 0, 0, 7], &sent] {
            assert_eq!(c.handle_reply(junk), None);
        }
        assert_eq!(c.poll_event(), None);
        assert_eq!(c.poll_timeout(), Some(t0 + SEC));
        assert_eq!(
            c.handle_reply(&encode_reply(9, ReplyKind::Success(&[]))),
            Some(id)
        );
    }

    #[test]
    fn cancel_forgets_the_call_and_its_result() {
        let t0 = Instant::now();
        let mut c = RpcClient::new(1);
        let a = c.start(t0, notify(), policy(2));
        let b = c.start(t0, notify(), policy(2));
        c.cancel(a);
        assert_eq!(c.poll_transmit(t0).map(|(id, _)| id), Some(b));
        assert_eq!(
            c.handle_reply(&encode_reply(1, ReplyKind::Success(&[]))),
            None
        );
        assert_eq!(
            c.handle_reply(&encode_reply(2, ReplyKind::Success(&[]))),
            Some(b)
        );
        c.cancel(b);
        assert_eq!(c.poll_event(), None);
    }

    proptest! {
        #[test]
        fn handle_reply_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let t0 = Instant::now();
            let mut c = RpcClient::new(0);
            c.start(t0, notify(), policy(2));
            let _ = c.handle_reply(&bytes);
            let mut as_reply = bytes.clone();
            as_reply.splice(0..as_reply.len().min(8), [0, 0, 0, 0, 0, 0, 0, 1]);
            let _ = c.handle_reply(&as_reply);
        }
    }
}
