//! rpcbind protocol, program 100000 versions 3 and 4 (RFC 1833 §2,
//! `xdr/rpcb_prot.x`), plus universal addresses and the inet netids.
//!
//! One job a file:
//! - this file: program, version and procedure numbers, the bounds below,
//!   the bounded string types;
//! - `addr.rs`: the inet netids, universal addresses and `netbuf`;
//! - `mapping.rs`: registrations and their lists (`rpcb`, `rpcblist`,
//!   `rpcb_entry`, `rpcb_entry_list`) and the remote-call arguments and
//!   result;
//! - `stats.rs`: the GETSTAT statistics (`rpcb_stat_byvers`).
//!
//! # Bounds
//!
//! The spec leaves every string unbounded. We bound them on decode (encoding
//! is bounded by construction, see [`Bounded`]):
//! - netids, protocol family and protocol names: [`NETID_MAX`] (256) bytes; real
//!   ones are a few bytes (`udp6`, `inet6`);
//! - universal addresses: [`UADDR_MAX`] (1024) bytes; the longest inet6 one is
//!   53 bytes and an `AF_LOCAL` path at most 108;
//! - owners: [`OWNER_MAX`] (256) bytes; rpcbind writes "superuser", "unknown"
//!   or a decimal uid;
//! - remote-call opaques: [`RMTCALL_OPAQUE_MAX`], rpcbind's forwarding buffer;
//! - `netbuf`: at most [`NETBUF_MAX`] bytes, libtirpc's `RPC_MAXDATASIZE`,
//!   checked against `maxlen` first as `xdr_netbuf` does;
//! - linked lists: [`RPCBLIST_MAX`] entries.
//!
//! # Panic contract
//!
//! Decoding never panics and never allocates from a length before the bytes
//! are there; lists are read by [`Reader::list`](crate::xdr::Reader::list),
//! iteratively.
//! [`uaddr_to_socket`] returns `None` for every malformed string.

use crate::xdr::{Bounded, Writer, Xdr};

mod addr;
mod mapping;
mod stats;

pub use addr::{uaddr_from_socket, uaddr_to_socket, Netbuf, Netid};
pub use mapping::{RmtcallArgs, RmtcallRes, Rpcb, RpcbEntry, RpcbEntryList, RpcbList};
pub use stats::{RpcbStat, RpcbStatByVers, RpcbsAddr, RpcbsRmtcall};

/// rpcbind's program number (the portmapper's).
pub const RPCBPROG: u32 = 100_000;
/// rpcbind protocol version 3.
pub const RPCBVERS: u32 = 3;
/// rpcbind protocol version 4.
pub const RPCBVERS4: u32 = 4;

/// `void RPCBPROC_NULL(void)`.
pub const RPCBPROC_NULL: u32 = 0;
/// `bool RPCBPROC_SET(rpcb)`.
pub const RPCBPROC_SET: u32 = 1;
/// `bool RPCBPROC_UNSET(rpcb)`.
pub const RPCBPROC_UNSET: u32 = 2;
/// `string RPCBPROC_GETADDR(rpcb)`.
pub const RPCBPROC_GETADDR: u32 = 3;
/// `rpcblist_ptr RPCBPROC_DUMP(void)`.
pub const RPCBPROC_DUMP: u32 = 4;
/// `rpcb_rmtcallres RPCBPROC_CALLIT(rpcb_rmtcallargs)` (version 3).
pub const RPCBPROC_CALLIT: u32 = 5;
/// Version 4's name for [`RPCBPROC_CALLIT`].
pub const RPCBPROC_BCAST: u32 = 5;
/// `unsigned int RPCBPROC_GETTIME(void)`.
pub const RPCBPROC_GETTIME: u32 = 6;
/// `netbuf RPCBPROC_UADDR2TADDR(string)`.
pub const RPCBPROC_UADDR2TADDR: u32 = 7;
/// `string RPCBPROC_TADDR2UADDR(netbuf)`.
pub const RPCBPROC_TADDR2UADDR: u32 = 8;
/// `string RPCBPROC_GETVERSADDR(rpcb)` (version 4).
pub const RPCBPROC_GETVERSADDR: u32 = 9;
/// `rpcb_rmtcallres RPCBPROC_INDIRECT(rpcb_rmtcallargs)` (version 4).
pub const RPCBPROC_INDIRECT: u32 = 10;
/// `rpcb_entry_list_ptr RPCBPROC_GETADDRLIST(rpcb)` (version 4).
pub const RPCBPROC_GETADDRLIST: u32 = 11;
/// `rpcb_stat_byvers RPCBPROC_GETSTAT(void)` (version 4).
pub const RPCBPROC_GETSTAT: u32 = 12;

/// Number of per-procedure counters in [`RpcbStat::info`].
pub const RPCBSTAT_HIGHPROC: usize = 13;
/// Number of [`RpcbStat`] in a GETSTAT reply: versions 2, 3 and 4.
pub const RPCBVERS_STAT: usize = 3;

/// `r_nc_semantics` of a connectionless transport.
pub const NC_TPI_CLTS: u32 = 1;
/// `r_nc_semantics` of a connection-oriented transport.
pub const NC_TPI_COTS: u32 = 2;
/// `r_nc_semantics` of a connection-oriented transport with orderly release.
pub const NC_TPI_COTS_ORD: u32 = 3;

/// Bound on netid, protocol family and protocol name strings.
pub const NETID_MAX: u32 = 256;
/// Bound on universal address strings.
pub const UADDR_MAX: u32 = 1024;
/// Bound on owner strings.
pub const OWNER_MAX: u32 = 256;
/// Bound on the opaque arguments and results of remote calls.
pub const RMTCALL_OPAQUE_MAX: u32 = super::pmap::CALLIT_OPAQUE_MAX;
/// Bound on a `netbuf`'s `maxlen` (libtirpc's `RPC_MAXDATASIZE`).
pub const NETBUF_MAX: u32 = 9000;
/// Most entries of any decoded rpcbind list.
pub const RPCBLIST_MAX: u32 = 4096;

/// A netid string (`r_netid`, `r_nc_netid`, protocol names).
pub type NetidStr = Bounded<NETID_MAX>;
/// A universal address string.
pub type UaddrStr = Bounded<UADDR_MAX>;
/// An owner string.
pub type OwnerStr = Bounded<OWNER_MAX>;

/// Encodes `items` as an XDR linked list (`*_ptr`): `TRUE` before each
/// item, then `FALSE`.
fn encode_list<'a, T: Xdr<'a>>(w: &mut Writer, items: &[T]) {
    for item in items {
        w.put_bool(true);
        item.encode(w);
    }
    w.put_bool(false);
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128)) {
            let _ = Rpcb::from_xdr(&bytes);
            let _ = RpcbList::from_xdr(&bytes);
            let _ = RpcbEntryList::from_xdr(&bytes);
            let _ = Netbuf::from_xdr(&bytes);
            let _ = RmtcallArgs::from_xdr(&bytes);
            let _ = RmtcallRes::from_xdr(&bytes);
            let _ = RpcbStatByVers::from_xdr(&bytes);
        }
    }
}
