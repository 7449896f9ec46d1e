//! statmon: rpc.statd (the NSM host-status monitor) and classic Unix monitor
//! daemons as modules on one mio reactor.
//!
//! Layering (only `reactor` does I/O):
//! - [`xdr`]: RFC 4506 codec, bounded and allocation-safe.
//! - [`proto`]: wire types of NSM, the NLM callback, portmapper and rpcbind.
//! - [`rpc`]: sans-IO ONC RPC calls, replies, record marking, client state.
//! - [`reactor`]: sockets, timers, signals, children and file watches on mio.
//! - [`portmap`]: rpcbind registration and the embedded portmapper.

pub mod portmap;
pub mod proto;
pub mod reactor;
pub mod rpc;
pub mod statd;
pub mod xdr;
