//! The registration records of rpcbind and the lists that carry them
//! (`rpcb`, `rpcblist_ptr`, `rpcb_entry`, `rpcb_entry_list_ptr`), and the
//! remote-call arguments and result (`rpcb_rmtcallargs`,
//! `rpcb_rmtcallres`).
//!
//! Invariants: every string is bounded on decode (the bounds are in the
//! parent module's doc); lists are read iteratively and hold at most
//! [`RPCBLIST_MAX`] entries.

use super::{encode_list, NetidStr, OwnerStr, UaddrStr, RMTCALL_OPAQUE_MAX, RPCBLIST_MAX};
use crate::xdr::{Bounded, Reader, Writer, Xdr, XdrError};

/// `struct rpcb`: one registration, or the arguments of SET/UNSET/GETADDR.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rpcb {
    /// Program number.
    pub prog: u32,
    /// Version number.
    pub vers: u32,
    /// Network id; empty in UNSET means "every netid".
    pub netid: NetidStr,
    /// Universal address; in GETADDR a hint (the address the client used).
    pub addr: UaddrStr,
    /// Owner; rpcbind ignores what callers send and records its own view.
    pub owner: OwnerStr,
}

impl Rpcb {
    /// Builds one from text, failing if a string is over its bound.
    pub fn new(
        prog: u32,
        vers: u32,
        netid: &str,
        addr: &str,
        owner: &str,
    ) -> Result<Rpcb, XdrError> {
        Ok(Rpcb {
            prog,
            vers,
            netid: Bounded::new(netid)?,
            addr: Bounded::new(addr)?,
            owner: Bounded::new(owner)?,
        })
    }
}

impl<'a> Xdr<'a> for Rpcb {
    fn encode(&self, w: &mut Writer) {
        w.put_u32(self.prog);
        w.put_u32(self.vers);
        self.netid.encode(w);
        self.addr.encode(w);
        self.owner.encode(w);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(Rpcb {
            prog: r.u32()?,
            vers: r.u32()?,
            netid: Bounded::decode(r)?,
            addr: Bounded::decode(r)?,
            owner: Bounded::decode(r)?,
        })
    }
}

/// `rpcblist_ptr`: the DUMP result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbList(pub Vec<Rpcb>);

impl<'a> Xdr<'a> for RpcbList {
    fn encode(&self, w: &mut Writer) {
        encode_list(w, &self.0);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.list(RPCBLIST_MAX, Rpcb::decode).map(RpcbList)
    }
}

/// `struct rpcb_rmtcallargs`: the arguments of CALLIT, BCAST and INDIRECT.
/// Its XDR is PMAP's `struct call_args`, field for field and with the same
/// bound, so it is the same type.
pub use crate::proto::pmap::CallArgs as RmtcallArgs;

/// `struct rpcb_rmtcallres`: the target's address and encoded results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RmtcallRes {
    /// Universal address of the target.
    pub addr: UaddrStr,
    /// Its encoded results.
    pub results: Vec<u8>,
}

impl<'a> Xdr<'a> for RmtcallRes {
    fn encode(&self, w: &mut Writer) {
        self.addr.encode(w);
        w.put_opaque_var(&self.results);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(RmtcallRes {
            addr: Bounded::decode(r)?,
            results: r.opaque_var(RMTCALL_OPAQUE_MAX)?.to_vec(),
        })
    }
}

/// `struct rpcb_entry`: one address of a service, from GETADDRLIST.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbEntry {
    /// Merged universal address of the service.
    pub maddr: UaddrStr,
    /// Its netid.
    pub nc_netid: NetidStr,
    /// [`NC_TPI_CLTS`](super::NC_TPI_CLTS), [`NC_TPI_COTS`](super::NC_TPI_COTS)
    /// or [`NC_TPI_COTS_ORD`](super::NC_TPI_COTS_ORD).
    pub nc_semantics: u32,
    /// Protocol family, e.g. `inet6`.
    pub nc_protofmly: NetidStr,
    /// Protocol name, e.g. `tcp`.
    pub nc_proto: NetidStr,
}

impl<'a> Xdr<'a> for RpcbEntry {
    fn encode(&self, w: &mut Writer) {
        self.maddr.encode(w);
        self.nc_netid.encode(w);
        w.put_u32(self.nc_semantics);
        self.nc_protofmly.encode(w);
        self.nc_proto.encode(w);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(RpcbEntry {
            maddr: Bounded::decode(r)?,
            nc_netid: Bounded::decode(r)?,
            nc_semantics: r.u32()?,
            nc_protofmly: Bounded::decode(r)?,
            nc_proto: Bounded::decode(r)?,
        })
    }
}

/// `rpcb_entry_list_ptr`: the GETADDRLIST result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbEntryList(pub Vec<RpcbEntry>);

impl<'a> Xdr<'a> for RpcbEntryList {
    fn encode(&self, w: &mut Writer) {
        encode_list(w, &self.0);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.list(RPCBLIST_MAX, RpcbEntry::decode).map(RpcbEntryList)
    }
}

#[cfg(test)]
mod tests {
    use super::super::NC_TPI_COTS_ORD;
    use super::*;

    #[test]
    fn rpcb_bytes() {
        let r = Rpcb::new(100_024, 1, "udp", "0.0.0.0.3.239", "0").unwrap();
        let mut want = vec![0, 1, 0x86, 0xb8, 0, 0, 0, 1];
        want.extend_from_slice(&[0, 0, 0, 3, b'u', b'd', b'p', 0]);
        want.extend_from_slice(&[0, 0, 0, 13]);
        want.extend_from_slice(b"0.0.0.0.3.239\0\0\0");
        want.extend_from_slice(&[0, 0, 0, 1, b'0', 0, 0, 0]);
        assert_eq!(r.to_xdr(), want);
        assert_eq!(Rpcb::from_xdr(&want), Ok(r));
    }

    #[test]
    fn rpcb_string_bounds() {
        assert!(Rpcb::new(1, 1, &"n".repeat(257), "", "").is_err());
        let mut enc = vec![0, 0, 0, 1, 0, 0, 0, 1];
        enc.extend_from_slice(&[0, 0, 1, 1]); // netid of 257 bytes
        enc.extend_from_slice(&[b'n'; 260]);
        assert_eq!(
            Rpcb::from_xdr(&enc),
            Err(XdrError::TooLong { len: 257, max: 256 })
        );
    }

    #[test]
    fn rpcblist_round_trip() {
        let list = RpcbList(vec![
            Rpcb::new(100_000, 4, "tcp6", "::.0.111", "superuser").unwrap(),
            Rpcb::new(100_024, 1, "udp", "0.0.0.0.3.239", "29").unwrap(),
        ]);
        let enc = list.to_xdr();
        assert_eq!(&enc[..4], &[0, 0, 0, 1]);
        assert_eq!(&enc[enc.len() - 4..], &[0, 0, 0, 0]);
        assert_eq!(RpcbList::from_xdr(&enc), Ok(list));
        assert_eq!(
            RpcbList::from_xdr(&[0, 0, 0, 2]),
            Err(XdrError::BadDiscriminant(2))
        );
    }

    #[test]
    fn rmtcall_round_trip() {
        let a = RmtcallArgs {
            prog: 100_024,
            vers: 1,
            proc: 0,
            args: vec![],
        };
        assert_eq!(
            a.to_xdr(),
            [0, 1, 0x86, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(RmtcallArgs::from_xdr(&a.to_xdr()), Ok(a));
        let res = RmtcallRes {
            addr: Bounded::new("127.0.0.1.3.239").unwrap(),
            results: vec![0, 0, 0, 1],
        };
        assert_eq!(RmtcallRes::from_xdr(&res.to_xdr()), Ok(res));
    }

    #[test]
    fn entry_list_bytes() {
        let e = RpcbEntry {
            maddr: Bounded::new("::1.3.239").unwrap(),
            nc_netid: Bounded::new("tcp6").unwrap(),
            nc_semantics: NC_TPI_COTS_ORD,
            nc_protofmly: Bounded::new("inet6").unwrap(),
            nc_proto: Bounded::new("tcp").unwrap(),
        };
        let enc = RpcbEntryList(vec![e.clone()]).to_xdr();
        let mut want = vec![0, 0, 0, 1, 0, 0, 0, 9];
        want.extend_from_slice(b"::1.3.239\0\0\0");
        want.extend_from_slice(&[0, 0, 0, 4]);
        want.extend_from_slice(b"tcp6");
        want.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 5]);
        want.extend_from_slice(b"inet6\0\0\0");
        want.extend_from_slice(&[0, 0, 0, 3]);
        want.extend_from_slice(b"tcp\0");
        want.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(enc, want);
        assert_eq!(RpcbEntryList::from_xdr(&enc), Ok(RpcbEntryList(vec![e])));
    }
}
