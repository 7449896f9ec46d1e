//! Sans-IO ONC RPC (RFC 5531) on top of the `onc-rpc` crate.

pub mod program;

pub use program::{Call, Caller, Credential, Dispatch, Program, ReplyTo, Transport};
