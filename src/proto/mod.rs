//! Wire types of the protocols we speak, one file per RPC-language spec in `xdr/`.
//!
//! Enums are newtypes over the raw number with named constants (rustls style),
//! so values outside the declared range survive a decode, as they do in libtirpc.

pub mod nlm;
pub mod pmap;
pub mod rpcb;
pub mod sm_inter;
