//! RPC messages (RFC 5531 §9): call headers in, replies out, and the reverse
//! for the client. Messages here carry no record mark (a UDP datagram, or a
//! TCP record after [`super::record`] took the marks off).
//!
//! (Just over 600 lines only with its tests; the code is about 310.)
//!
//! Replies are built and parsed by the `onc-rpc` crate. Calls are parsed and
//! built with [`crate::xdr`] instead, because onc-rpc's call path does not fit
//! a drop-in libtirpc server:
//! - it caps `opaque_auth` bodies at 200 bytes (RFC 5531 and libtirpc: 400),
//!   and its encoder asserts on a longer body;
//! - it demands that an AUTH_SYS body be consumed exactly (libtirpc ignores
//!   trailing body bytes);
//! - its errors carry neither the xid nor where decoding stopped, and the
//!   reply libtirpc sends depends on exactly that ([`CallDecode`]).
//!
//! # Panic contract
//! No function here panics on any input.

use onc_rpc::auth::AuthFlavor;
use onc_rpc::{AcceptedReply, AcceptedStatus, AuthError, RejectedReply, ReplyBody};

use super::auth::{check_credential, encode_credential, AuthStat, AUTH_NONE, MAX_AUTH_BYTES};
use super::program::Credential;
use crate::xdr::{Reader, Writer, XdrError};

/// The only RPC protocol version (RFC 5531 `rpcvers`).
pub const RPC_VERSION: u32 = 2;
/// `msg_type` CALL.
pub const CALL: u32 = 0;
/// `msg_type` REPLY.
pub const REPLY: u32 = 1;

/// An `opaque_auth` as it was on the wire (used for verifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpaqueAuth<'a> {
    /// The flavour number.
    pub flavor: u32,
    /// The body, at most [`MAX_AUTH_BYTES`] long.
    pub body: &'a [u8],
}

/// A call header that libtirpc would dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallHeader<'a> {
    /// Transaction id.
    pub xid: u32,
    /// Program number.
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Procedure number.
    pub proc: u32,
    /// The credential, already checked by [`check_credential`].
    pub cred: Credential,
    /// The verifier (not interpreted, as for AUTH_NONE/AUTH_SYS in libtirpc).
    pub verf: OpaqueAuth<'a>,
    /// Everything after the verifier: the arguments and any trailing bytes.
    pub args: &'a [u8],
}

/// Why a message gets no reply at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Fewer than four bytes: not even an xid.
    NoXid,
    /// `msg_type` is not CALL (a REPLY, or no type at all).
    NotACall(u32),
    /// `rpcvers` is not 2. RFC 5531 asks for RPC_MISMATCH; libtirpc's
    /// `xdr_callmsg` fails and nothing is sent.
    RpcVersion(u32),
    /// The header ends before the verifier does.
    Truncated,
    /// A credential or verifier body over [`MAX_AUTH_BYTES`].
    AuthTooLong(u32),
}

/// What to do with an incoming message, as libtirpc's server would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallDecode<'a> {
    /// A well-formed call with an acceptable credential.
    Call(CallHeader<'a>),
    /// A well-formed call whose credential is refused: answer
    /// MSG_DENIED / AUTH_ERROR `why`.
    Denied {
        /// Transaction id to answer.
        xid: u32,
        /// The `auth_stat` to send.
        why: AuthStat,
    },
    /// Send nothing.
    Drop(DropReason),
}

/// Decodes a call message (no record mark). Never fails: every input maps to
/// one of the [`CallDecode`] outcomes.
pub fn decode_call(msg: &[u8]) -> CallDecode<'_> {
    let mut r = Reader::new(msg);
    let Ok(xid) = r.u32() else {
        return CallDecode::Drop(DropReason::NoXid);
    };
    match decode_call_after_xid(xid, &mut r) {
        Ok(decoded) => decoded,
        Err(_) => CallDecode::Drop(DropReason::Truncated),
    }
}

fn decode_call_after_xid<'a>(xid: u32, r: &mut Reader<'a>) -> Result<CallDecode<'a>, XdrError> {
    let mtype = r.u32()?;
    if mtype != CALL {
        return Ok(CallDecode::Drop(DropReason::NotACall(mtype)));
    }
    let rpcvers = r.u32()?;
    if rpcvers != RPC_VERSION {
        return Ok(CallDecode::Drop(DropReason::RpcVersion(rpcvers)));
    }
    let prog = r.u32()?;
    let vers = r.u32()?;
    let proc = r.u32()?;
    let cred = match opaque_auth(r)? {
        Ok(cred) => cred,
        Err(len) => return Ok(CallDecode::Drop(DropReason::AuthTooLong(len))),
    };
    let verf = match opaque_auth(r)? {
        Ok(verf) => verf,
        Err(len) => return Ok(CallDecode::Drop(DropReason::AuthTooLong(len))),
    };
    Ok(match check_credential(cred.flavor, cred.body) {
        Ok(cred) => CallDecode::Call(CallHeader {
            xid,
            prog,
            vers,
            proc,
            cred,
            verf,
            args: r.rest(),
        }),
        Err(why) => CallDecode::Denied { xid, why },
    })
}

/// One `opaque_auth`; the inner `Err` carries a body length over the limit.
fn opaque_auth<'a>(r: &mut Reader<'a>) -> Result<Result<OpaqueAuth<'a>, u32>, XdrError> {
    let flavor = r.u32()?;
    match r.opaque_var(MAX_AUTH_BYTES) {
        Ok(body) => Ok(Ok(OpaqueAuth { flavor, body })),
        Err(XdrError::TooLong { len, .. }) => Ok(Err(len)),
        Err(e) => Err(e),
    }
}

/// The outcome a reply reports (RFC 5531 `accept_stat` and `reject_stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind<'a> {
    /// MSG_ACCEPTED / SUCCESS with these encoded results.
    Success(&'a [u8]),
    /// MSG_ACCEPTED / PROG_UNAVAIL.
    ProgUnavail,
    /// MSG_ACCEPTED / PROG_MISMATCH: the versions the server has.
    ProgMismatch {
        /// Lowest version.
        low: u32,
        /// Highest version.
        high: u32,
    },
    /// MSG_ACCEPTED / PROC_UNAVAIL.
    ProcUnavail,
    /// MSG_ACCEPTED / GARBAGE_ARGS.
    GarbageArgs,
    /// MSG_ACCEPTED / SYSTEM_ERR.
    SystemErr,
    /// MSG_DENIED / RPC_MISMATCH: the RPC versions the server speaks.
    RpcMismatch {
        /// Lowest version.
        low: u32,
        /// Highest version.
        high: u32,
    },
    /// MSG_DENIED / AUTH_ERROR.
    AuthError(AuthStat),
}

/// Encodes a reply (no record mark) with an AUTH_NONE verifier, as libtirpc
/// sends for AUTH_NONE and AUTH_SYS callers.
pub fn encode_reply(xid: u32, kind: ReplyKind<'_>) -> Vec<u8> {
    let accepted =
        |status| ReplyBody::Accepted(AcceptedReply::new(AuthFlavor::AuthNone(None), status));
    let body: ReplyBody<&[u8], &[u8]> = match kind {
        ReplyKind::Success(results) => accepted(AcceptedStatus::Success(results)),
        ReplyKind::ProgUnavail => accepted(AcceptedStatus::ProgramUnavailable),
        ReplyKind::ProgMismatch { low, high } => {
            accepted(AcceptedStatus::ProgramMismatch { low, high })
        }
        ReplyKind::ProcUnavail => accepted(AcceptedStatus::ProcedureUnavailable),
        ReplyKind::GarbageArgs => accepted(AcceptedStatus::GarbageArgs),
        ReplyKind::SystemErr => accepted(AcceptedStatus::SystemError),
        ReplyKind::RpcMismatch { low, high } => {
            ReplyBody::Denied(RejectedReply::RpcVersionMismatch { low, high })
        }
        ReplyKind::AuthError(why) => {
            ReplyBody::Denied(RejectedReply::AuthError(auth_error_to_onc(why)))
        }
    };
    let mut w = Writer::new();
    w.put_u32(xid);
    w.put_u32(REPLY);
    let mut out = w.into_inner();
    // onc-rpc's only assertion is on a verifier body over 200 bytes; ours is
    // empty. Writing into a Vec cannot fail.
    body.serialise_into(&mut out)
        .expect("io::Write for Vec<u8> is infallible");
    out
}

/// Encodes a call (no record mark) with an AUTH_NONE verifier. The credential
/// is clamped to the RFC limits as [`encode_credential`] describes.
pub fn encode_call(
    xid: u32,
    prog: u32,
    vers: u32,
    proc: u32,
    cred: &Credential,
    args: &[u8],
) -> Vec<u8> {
    let mut w = Writer::new();
    w.put_u32(xid);
    w.put_u32(CALL);
    w.put_u32(RPC_VERSION);
    w.put_u32(prog);
    w.put_u32(vers);
    w.put_u32(proc);
    encode_credential(cred, &mut w);
    w.put_u32(AUTH_NONE);
    w.put_u32(0);
    w.put_raw(args);
    w.into_inner()
}

/// Why a message is not a usable reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyError {
    /// Shorter than xid + message type.
    TooShort,
    /// `msg_type` is not REPLY.
    NotAReply(u32),
    /// A reply to `xid` whose body does not decode (or uses values RFC 5531
    /// does not define).
    Malformed {
        /// The transaction id it claims to answer.
        xid: u32,
    },
}

/// Decodes a reply (no record mark) into its xid and outcome; SUCCESS results
/// borrow from `msg` and run through its end.
pub fn decode_reply(msg: &[u8]) -> Result<(u32, ReplyKind<'_>), ReplyError> {
    let mut r = Reader::new(msg);
    let (Ok(xid), Ok(mtype)) = (r.u32(), r.u32()) else {
        return Err(ReplyError::TooShort);
    };
    if mtype != REPLY {
        return Err(ReplyError::NotAReply(mtype));
    }
    let body = ReplyBody::try_from(r.rest()).map_err(|_| ReplyError::Malformed { xid })?;
    let kind = match body {
        ReplyBody::Accepted(a) => match a.status() {
            AcceptedStatus::Success(results) => ReplyKind::Success(results),
            AcceptedStatus::ProgramUnavailable => ReplyKind::ProgUnavail,
            AcceptedStatus::ProgramMismatch { low, high } => ReplyKind::ProgMismatch {
                low: *low,
                high: *high,
            },
            AcceptedStatus::ProcedureUnavailable => ReplyKind::ProcUnavail,
            AcceptedStatus::GarbageArgs => ReplyKind::GarbageArgs,
            AcceptedStatus::SystemError => ReplyKind::SystemErr,
        },
        ReplyBody::Denied(RejectedReply::RpcVersionMismatch { low, high }) => {
            ReplyKind::RpcMismatch { low, high }
        }
        ReplyBody::Denied(RejectedReply::AuthError(e)) => {
            ReplyKind::AuthError(auth_error_from_onc(&e))
        }
    };
    Ok((xid, kind))
}

fn auth_error_to_onc(why: AuthStat) -> AuthError {
    match why {
        AuthStat::Ok => AuthError::Success,
        AuthStat::BadCred => AuthError::BadCredentials,
        AuthStat::RejectedCred => AuthError::RejectedCredentials,
        AuthStat::BadVerf => AuthError::BadVerifier,
        AuthStat::RejectedVerf => AuthError::RejectedVerifier,
        AuthStat::TooWeak => AuthError::TooWeak,
        AuthStat::InvalidResp => AuthError::InvalidResponseVerifier,
        AuthStat::Failed => AuthError::Failed,
    }
}

fn auth_error_from_onc(e: &AuthError) -> AuthStat {
    match e {
        AuthError::Success => AuthStat::Ok,
        AuthError::BadCredentials => AuthStat::BadCred,
        AuthError::RejectedCredentials => AuthStat::RejectedCred,
        AuthError::BadVerifier => AuthStat::BadVerf,
        AuthError::RejectedVerifier => AuthStat::RejectedVerf,
        AuthError::TooWeak => AuthStat::TooWeak,
        AuthError::InvalidResponseVerifier => AuthStat::InvalidResp,
        AuthError::Failed => AuthStat::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SM_NULL (100024 v1 proc 0), xid 0x01020304, AUTH_NONE, no args.
    const SM_NULL: [u8; 40] = [
        1, 2, 3, 4, // xid
        0, 0, 0, 0, // CALL
        0, 0, 0, 2, // rpcvers
        0, 1, 0x86, 0xb8, // prog 100024
        0, 0, 0, 1, // vers
        0, 0, 0, 0, // proc
        0, 0, 0, 0, 0, 0, 0, 0, // cred AUTH_NONE
        0, 0, 0, 0, 0, 0, 0, 0, // verf AUTH_NONE
    ];

    fn with_word(at: usize, v: u32) -> Vec<u8> {
        let mut m = SM_NULL.to_vec();
        m[at..at + 4].copy_from_slice(&v.to_be_bytes());
        m
    }

    /// Call header with the given credential (flavour, body) and verifier body length.
    fn call_with(flavor: u32, body: &[u8], verf_len: usize) -> Vec<u8> {
        let mut w = Writer::from_vec(SM_NULL[..24].to_vec());
        w.put_u32(flavor);
        w.put_opaque_var(body);
        w.put_u32(AUTH_NONE);
        w.put_opaque_var(&vec![0; verf_len]);
        w.into_inner()
    }

    #[test]
    fn decodes_void_call() {
        let CallDecode::Call(h) = decode_call(&SM_NULL) else {
            panic!("not a call");
        };
        assert_eq!(
            (h.xid, h.prog, h.vers, h.proc),
            (0x0102_0304, 100_024, 1, 0)
        );
        assert_eq!(h.cred, Credential::None);
        assert_eq!(
            h.verf,
            OpaqueAuth {
                flavor: 0,
                body: &[]
            }
        );
        assert!(h.args.is_empty());
    }

    #[test]
    fn args_run_to_the_end_including_trailing_bytes() {
        let mut m = SM_NULL.to_vec();
        m.extend_from_slice(&[0, 0, 0, 1, b'x', 0, 0, 0, 9, 9, 9, 9]);
        let CallDecode::Call(h) = decode_call(&m) else {
            panic!("not a call");
        };
        assert_eq!(h.args, &m[40..]);
    }

    #[test]
    fn short_messages_are_dropped() {
        assert_eq!(decode_call(&[]), CallDecode::Drop(DropReason::NoXid));
        assert_eq!(decode_call(&[1]), CallDecode::Drop(DropReason::NoXid));
        assert_eq!(
            decode_call(&[1, 2, 3, 4]),
            CallDecode::Drop(DropReason::Truncated)
        );
        for cut in 4..SM_NULL.len() {
            assert_eq!(
                decode_call(&SM_NULL[..cut]),
                CallDecode::Drop(DropReason::Truncated),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn reply_and_unknown_types_are_dropped() {
        assert_eq!(
            decode_call(&with_word(4, 1)),
            CallDecode::Drop(DropReason::NotACall(1))
        );
        assert_eq!(
            decode_call(&with_word(4, 7)),
            CallDecode::Drop(DropReason::NotACall(7))
        );
    }

    #[test]
    fn rpc_version_other_than_2_is_dropped() {
        for v in [0, 3] {
            assert_eq!(
                decode_call(&with_word(8, v)),
                CallDecode::Drop(DropReason::RpcVersion(v))
            );
        }
    }

    #[test]
    fn unknown_flavour_is_rejectedcred() {
        assert_eq!(
            decode_call(&call_with(99, b"", 0)),
            CallDecode::Denied {
                xid: 0x0102_0304,
                why: AuthStat::RejectedCred
            }
        );
    }

    #[test]
    fn auth_sys_with_17_gids_is_badcred() {
        let mut body = Writer::new();
        body.put_u32(0);
        body.put_opaque_var(b"host");
        body.put_u32(0);
        body.put_u32(0);
        body.put_u32(17);
        for g in 0..17 {
            body.put_u32(g);
        }
        assert_eq!(
            decode_call(&call_with(1, body.as_slice(), 0)),
            CallDecode::Denied {
                xid: 0x0102_0304,
                why: AuthStat::BadCred
            }
        );
    }

    #[test]
    fn rpcsec_gss_junk_is_badcred() {
        for body in [&b""[..], b"junkjunk"] {
            assert_eq!(
                decode_call(&call_with(6, body, 0)),
                CallDecode::Denied {
                    xid: 0x0102_0304,
                    why: AuthStat::BadCred
                }
            );
        }
    }

    #[test]
    fn auth_bodies_over_400_are_dropped_up_to_400_accepted() {
        assert!(matches!(
            decode_call(&call_with(0, &[0; 400], 400)),
            CallDecode::Call(_)
        ));
        assert_eq!(
            decode_call(&call_with(0, b"", 500)),
            CallDecode::Drop(DropReason::AuthTooLong(500))
        );
        assert_eq!(
            decode_call(&call_with(99, &[0; 401], 0)),
            CallDecode::Drop(DropReason::AuthTooLong(401))
        );
    }

    #[test]
    fn truncated_verifier_body_is_dropped() {
        let m = call_with(0, b"", 8);
        assert_eq!(
            decode_call(&m[..m.len() - 1]),
            CallDecode::Drop(DropReason::Truncated)
        );
    }

    #[test]
    fn encode_call_round_trips_and_matches_fixture() {
        assert_eq!(
            encode_call(0x0102_0304, 100_024, 1, 0, &Credential::None, &[]),
            SM_NULL
        );
        let cred = Credential::Sys {
            stamp: 9,
            machine: b"client".to_vec(),
            uid: 0,
            gid: 0,
            gids: vec![0, 1],
        };
        let m = encode_call(7, 100_021, 4, 16, &cred, &[0, 0, 0, 5]);
        let CallDecode::Call(h) = decode_call(&m) else {
            panic!("not a call");
        };
        assert_eq!((h.xid, h.prog, h.vers, h.proc), (7, 100_021, 4, 16));
        assert_eq!(h.cred, cred);
        assert_eq!(h.args, &[0, 0, 0, 5]);
    }

    // Reply fixtures, laid out by hand from RFC 5531 §9:
    // xid, REPLY(1), then MSG_ACCEPTED(0) + verf(AUTH_NONE 0, len 0) + accept_stat [+ data],
    // or MSG_DENIED(1) + reject_stat + data.
    const XID: [u8; 4] = [0xde, 0xad, 0xbe, 0xef];

    fn accepted(stat: u32, data: &[u8]) -> Vec<u8> {
        let mut v = XID.to_vec();
        v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(&stat.to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    fn denied(stat: u32, data: &[u8]) -> Vec<u8> {
        let mut v = XID.to_vec();
        v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        v.extend_from_slice(&stat.to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    fn fixtures() -> Vec<(ReplyKind<'static>, Vec<u8>)> {
        vec![
            (
                ReplyKind::Success(&[0, 0, 0, 0, 0, 0, 0, 3]),
                accepted(0, &[0, 0, 0, 0, 0, 0, 0, 3]),
            ),
            (ReplyKind::Success(&[]), accepted(0, &[])),
            (ReplyKind::ProgUnavail, accepted(1, &[])),
            (
                ReplyKind::ProgMismatch { low: 1, high: 1 },
                accepted(2, &[0, 0, 0, 1, 0, 0, 0, 1]),
            ),
            (ReplyKind::ProcUnavail, accepted(3, &[])),
            (ReplyKind::GarbageArgs, accepted(4, &[])),
            (ReplyKind::SystemErr, accepted(5, &[])),
            (
                ReplyKind::RpcMismatch { low: 2, high: 2 },
                denied(0, &[0, 0, 0, 2, 0, 0, 0, 2]),
            ),
            (
                ReplyKind::AuthError(AuthStat::BadCred),
                denied(1, &[0, 0, 0, 1]),
            ),
            (
                ReplyKind::AuthError(AuthStat::RejectedCred),
                denied(1, &[0, 0, 0, 2]),
            ),
        ]
    }

    #[test]
    fn every_reply_kind_matches_rfc_5531_layout() {
        for (kind, bytes) in fixtures() {
            assert_eq!(encode_reply(0xdead_beef, kind), bytes, "{kind:?}");
        }
    }

    #[test]
    fn every_reply_kind_decodes() {
        for (kind, bytes) in fixtures() {
            assert_eq!(decode_reply(&bytes), Ok((0xdead_beef, kind)));
        }
    }

    #[test]
    fn all_auth_stats_round_trip() {
        for why in [
            AuthStat::Ok,
            AuthStat::BadCred,
            AuthStat::RejectedCred,
            AuthStat::BadVerf,
            AuthStat::RejectedVerf,
            AuthStat::TooWeak,
            AuthStat::InvalidResp,
            AuthStat::Failed,
        ] {
            let m = encode_reply(1, ReplyKind::AuthError(why));
            assert_eq!(decode_reply(&m), Ok((1, ReplyKind::AuthError(why))));
        }
    }

    #[test]
    fn bad_replies_are_errors() {
        assert_eq!(decode_reply(&[0, 0, 0]), Err(ReplyError::TooShort));
        assert_eq!(decode_reply(&XID), Err(ReplyError::TooShort));
        assert_eq!(decode_reply(&SM_NULL), Err(ReplyError::NotAReply(0)));
        let bad_stat = accepted(9, &[]);
        assert_eq!(
            decode_reply(&bad_stat),
            Err(ReplyError::Malformed { xid: 0xdead_beef })
        );
        let short_mismatch = accepted(2, &[0, 0, 0, 1]);
        assert_eq!(
            decode_reply(&short_mismatch),
            Err(ReplyError::Malformed { xid: 0xdead_beef })
        );
        assert_eq!(
            decode_reply(&denied(1, &[0, 0, 0, 13])),
            Err(ReplyError::Malformed { xid: 0xdead_beef })
        );
    }
}
