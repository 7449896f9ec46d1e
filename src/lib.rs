//! statmon: rpc.statd (the NSM host status monitor) and classic Unix monitor
//! daemons as modules on one mio reactor.
//!
//! Layering (only `reactor` uses mio; only `sys` uses `unsafe`):
//! - [`xdr`]: RFC 4506 codec, bounded and allocation-safe.
//! - [`proto`]: wire types of NSM, the NLM callback, portmapper and rpcbind.
//! - [`rpc`]: sans-IO ONC RPC calls, replies, record marking, client state.
//! - [`portmap`]: sans-IO rpcbind registration plans and the portmapper program.
//! - [`reactor`]: sockets, timers, signals, children and file watches on mio.
//! - [`service`]: glue between the reactor and RPC programs.
//! - [`daemon`]: the toolkit every daemon shares (run skeleton, locks, pid
//!   files, privileges, children, resolvers, durable files, configuration).
//! - [`statd`]: the rpc.statd daemon.
//! - [`mdmpd`]: the md multipath path monitor.
//! - [`ltid`]: ltid, vmd and rdevmi: shared tape-drive status between media servers.
//! - [`sihmon`]: the SAF port monitor of SIH links, and sihadm.
//! - [`vold`]: the volume configuration daemon and its utilities.
//! - [`multicall`]: the front door choosing a daemon by name.

pub mod daemon;
pub mod log;
pub mod ltid;
pub mod mdmpd;
pub mod multicall;
pub mod portmap;
pub mod proto;
pub mod reactor;
pub mod rpc;
pub mod service;
pub mod sihmon;
pub mod statd;
pub mod sys;
pub mod vold;
pub mod xdr;
