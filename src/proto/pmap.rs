//! Port mapper protocol, program 100000 version 2 (RFC 1833 §3, `xdr/pmap_prot.x`).
//!
//! # Panic contract
//!
//! Decoding never panics and allocates only for bytes already present: the
//! `pmaplist` chain is read iteratively by [`Reader::list`] with the cap
//! [`PMAPLIST_MAX`], and the opaque arguments/results of CALLIT are bounded by
//! [`CALLIT_OPAQUE_MAX`].

use crate::xdr::{Reader, Writer, Xdr, XdrError};

/// The portmapper's program number (shared with rpcbind v3/v4).
pub const PMAP_PROG: u32 = 100_000;
/// The portmapper protocol version.
pub const PMAP_VERS: u32 = 2;
/// The well-known port of the portmapper.
pub const PMAP_PORT: u16 = 111;

/// `prot` value for TCP.
pub const IPPROTO_TCP: u32 = 6;
/// `prot` value for UDP.
pub const IPPROTO_UDP: u32 = 17;

/// `void PMAPPROC_NULL(void)`.
pub const PMAPPROC_NULL: u32 = 0;
/// `bool PMAPPROC_SET(mapping)`.
pub const PMAPPROC_SET: u32 = 1;
/// `bool PMAPPROC_UNSET(mapping)`.
pub const PMAPPROC_UNSET: u32 = 2;
/// `unsigned int PMAPPROC_GETPORT(mapping)`.
pub const PMAPPROC_GETPORT: u32 = 3;
/// `pmaplist_ptr PMAPPROC_DUMP(void)`.
pub const PMAPPROC_DUMP: u32 = 4;
/// `call_result PMAPPROC_CALLIT(call_args)`.
pub const PMAPPROC_CALLIT: u32 = 5;

/// Most entries a decoded `pmaplist` may hold. A DUMP reply of that size is
/// 20 bytes an entry, 80 KB in all: more than any real host registers.
pub const PMAPLIST_MAX: u32 = 4096;

/// Bound on the opaque `args`/`res` of CALLIT: the largest buffer rpcbind
/// forwards (its `RPC_BUF_MAX`).
pub const CALLIT_OPAQUE_MAX: u32 = 65_536;

/// `struct mapping`: (program, version, protocol) → port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mapping {
    /// Program number.
    pub prog: u32,
    /// Version number.
    pub vers: u32,
    /// [`IPPROTO_TCP`] or [`IPPROTO_UDP`]; other values survive decoding.
    pub prot: u32,
    /// Port, 0 in queries. Only the low 16 bits are meaningful.
    pub port: u32,
}

impl<'a> Xdr<'a> for Mapping {
    fn encode(&self, w: &mut Writer) {
        w.put_u32(self.prog);
        w.put_u32(self.vers);
        w.put_u32(self.prot);
        w.put_u32(self.port);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(Mapping {
            prog: r.u32()?,
            vers: r.u32()?,
            prot: r.u32()?,
            port: r.u32()?,
        })
    }
}

/// `pmaplist_ptr`: the DUMP result, a linked list on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PmapList(pub Vec<Mapping>);

impl<'a> Xdr<'a> for PmapList {
    fn encode(&self, w: &mut Writer) {
        for m in &self.0 {
            w.put_bool(true);
            m.encode(w);
        }
        w.put_bool(false);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.list(PMAPLIST_MAX, Mapping::decode).map(PmapList)
    }
}

/// `struct call_args`: what PMAPPROC_CALLIT asks the portmapper to forward.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallArgs {
    /// Target program.
    pub prog: u32,
    /// Target version.
    pub vers: u32,
    /// Target procedure.
    pub proc: u32,
    /// Encoded arguments of the target procedure (at most [`CALLIT_OPAQUE_MAX`]).
    pub args: Vec<u8>,
}

impl<'a> Xdr<'a> for CallArgs {
    fn encode(&self, w: &mut Writer) {
        w.put_u32(self.prog);
        w.put_u32(self.vers);
        w.put_u32(self.proc);
        w.put_opaque_var(&self.args);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(CallArgs {
            prog: r.u32()?,
            vers: r.u32()?,
            proc: r.u32()?,
            args: r.opaque_var(CALLIT_OPAQUE_MAX)?.to_vec(),
        })
    }
}

/// `struct call_result`: the forwarded call's port and encoded results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallResult {
    /// Port of the program that answered.
    pub port: u32,
    /// Its encoded results (at most [`CALLIT_OPAQUE_MAX`]).
    pub res: Vec<u8>,
}

impl<'a> Xdr<'a> for CallResult {
    fn encode(&self, w: &mut Writer) {
        w.put_u32(self.port);
        w.put_opaque_var(&self.res);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(CallResult {
            port: r.u32()?,
            res: r.opaque_var(CALLIT_OPAQUE_MAX)?.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATD_UDP: Mapping = Mapping {
        prog: 100_024,
        vers: 1,
        prot: IPPROTO_UDP,
        port: 0x03ef,
    };

    #[test]
    fn mapping_bytes() {
        let bytes = [
            0, 0x01, 0x86, 0xb8, // 100024
            0, 0, 0, 1, // vers
            0, 0, 0, 17, // udp
            0, 0, 0x03, 0xef, // port 1007
        ];
        assert_eq!(STATD_UDP.to_xdr(), bytes);
        assert_eq!(Mapping::from_xdr(&bytes), Ok(STATD_UDP));
    }

    #[test]
    fn empty_list_is_one_false() {
        assert_eq!(PmapList::default().to_xdr(), [0, 0, 0, 0]);
        assert_eq!(PmapList::from_xdr(&[0, 0, 0, 0]), Ok(PmapList::default()));
    }

    #[test]
    fn list_bytes_have_a_bool_before_each_entry() {
        let tcp = Mapping {
            prot: IPPROTO_TCP,
            ..STATD_UDP
        };
        let list = PmapList(vec![STATD_UDP, tcp]);
        let enc = list.to_xdr();
        assert_eq!(enc.len(), 4 + 2 * 20);
        assert_eq!(&enc[..4], &[0, 0, 0, 1]);
        assert_eq!(&enc[20..24], &[0, 0, 0, 1]);
        assert_eq!(&enc[40..], &[0, 0, 0, 0]);
        assert_eq!(PmapList::from_xdr(&enc), Ok(list));
    }

    #[test]
    fn list_over_the_cap_is_rejected() {
        let list = PmapList(vec![STATD_UDP; PMAPLIST_MAX as usize + 1]);
        assert!(matches!(
            PmapList::from_xdr(&list.to_xdr()),
            Err(XdrError::TooLong { .. })
        ));
    }

    #[test]
    fn unterminated_list_is_truncated() {
        let mut enc = PmapList(vec![STATD_UDP]).to_xdr();
        enc.truncate(enc.len() - 4);
        assert!(matches!(
            PmapList::from_xdr(&enc),
            Err(XdrError::Truncated { .. })
        ));
    }

    #[test]
    fn callit_round_trip_and_bound() {
        let args = CallArgs {
            prog: 100_024,
            vers: 1,
            proc: 0,
            args: vec![1, 2, 3],
        };
        let enc = args.to_xdr();
        assert_eq!(
            enc,
            [0, 1, 0x86, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 0]
        );
        assert_eq!(CallArgs::from_xdr(&enc), Ok(args));
        let huge = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            CallArgs::from_xdr(&huge),
            Err(XdrError::TooLong { .. })
        ));
        let res = CallResult {
            port: 1007,
            res: vec![9; 5],
        };
        assert_eq!(CallResult::from_xdr(&res.to_xdr()), Ok(res));
    }
}
