//! Sans-IO ONC RPC (RFC 5531) on top of the `onc-rpc` crate.
//!
//! Layering, bottom up (no module here touches a socket or the clock):
//! - [`record`]: TCP record marking, reassembly of multi-fragment records
//!   under a size limit, and framing of outgoing records.
//! - [`auth`]: credential flavours, AUTH_SYS bodies, `auth_stat`.
//! - [`message`]: call headers and replies. Calls are decoded to exactly the
//!   outcome libtirpc 1.3.3 gives (dispatch, AUTH_ERROR, or silence);
//!   replies are encoded and decoded with onc-rpc.
//! - [`program`]: the interface an RPC program implements.
//! - [`drc`]: the duplicate-request cache for UDP retransmits.
//! - [`server`]: one message in, one reply (or nothing, or a deferral) out.
//! - [`client`]: outgoing calls with retransmission and reply matching.
//!
//! The reactor owns the sockets: it reads a datagram (or a record from a
//! [`record::RecordReader`]), passes it to [`RpcServer::handle`] or
//! [`RpcClient::handle_reply`], and sends what comes back.
//! Deliberate differences from libtirpc are listed in `compat/KNOWN-DIFFS.md`.

pub mod auth;
pub mod client;
pub mod drc;
pub mod message;
pub mod program;
pub mod record;
pub mod server;

pub use auth::AuthStat;
pub use client::{CallError, CallId, CallResult, OutCall, Rejection, RetryPolicy, RpcClient};
pub use message::{decode_call, decode_reply, encode_call, encode_reply, CallDecode, ReplyKind};
pub use program::{Call, Caller, Credential, Dispatch, Program, ReplyTo, Transport};
pub use record::{frame, RecordError, RecordReader};
pub use server::{Outcome, RpcServer, ServerConfig};
