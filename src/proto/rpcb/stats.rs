//! The statistics of RPCBPROC_GETSTAT (`rpcb_stat_byvers`): per-version
//! call counters and the GETADDR and remote-call lists.
//!
//! Invariants: [`RpcbStatByVers`] always holds [`RPCBVERS_STAT`] versions
//! (2, 3, 4) and each [`RpcbStat`] [`RPCBSTAT_HIGHPROC`] counters; decoded
//! lists hold at most [`RPCBLIST_MAX`] entries.

use super::{encode_list, NetidStr, RPCBLIST_MAX, RPCBSTAT_HIGHPROC, RPCBVERS_STAT};
use crate::xdr::{Bounded, Reader, Writer, Xdr, XdrError};

/// `struct rpcbs_addrlist` without its `next` link: GETADDR statistics for
/// one (program, version, netid).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbsAddr {
    /// Program number.
    pub prog: u32,
    /// Version number.
    pub vers: u32,
    /// Lookups that found an address.
    pub success: i32,
    /// Lookups that did not.
    pub failure: i32,
    /// The netid asked on.
    pub netid: NetidStr,
}

impl<'a> Xdr<'a> for RpcbsAddr {
    fn encode(&self, w: &mut Writer) {
        w.put_u32(self.prog);
        w.put_u32(self.vers);
        w.put_i32(self.success);
        w.put_i32(self.failure);
        self.netid.encode(w);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(RpcbsAddr {
            prog: r.u32()?,
            vers: r.u32()?,
            success: r.i32()?,
            failure: r.i32()?,
            netid: Bounded::decode(r)?,
        })
    }
}

/// `struct rpcbs_rmtcalllist` without its `next` link: remote-call
/// statistics for one (program, version, procedure, netid).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbsRmtcall {
    /// Program number.
    pub prog: u32,
    /// Version number.
    pub vers: u32,
    /// Procedure number.
    pub proc: u32,
    /// Forwarded calls.
    pub success: i32,
    /// Calls not forwarded.
    pub failure: i32,
    /// 1 for INDIRECT, 0 for CALLIT.
    pub indirect: i32,
    /// The netid asked on.
    pub netid: NetidStr,
}

impl<'a> Xdr<'a> for RpcbsRmtcall {
    fn encode(&self, w: &mut Writer) {
        w.put_u32(self.prog);
        w.put_u32(self.vers);
        w.put_u32(self.proc);
        w.put_i32(self.success);
        w.put_i32(self.failure);
        w.put_i32(self.indirect);
        self.netid.encode(w);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(RpcbsRmtcall {
            prog: r.u32()?,
            vers: r.u32()?,
            proc: r.u32()?,
            success: r.i32()?,
            failure: r.i32()?,
            indirect: r.i32()?,
            netid: Bounded::decode(r)?,
        })
    }
}

/// `struct rpcb_stat`: statistics of one rpcbind version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbStat {
    /// Calls received, per procedure number.
    pub info: [i32; RPCBSTAT_HIGHPROC],
    /// Successful SETs.
    pub setinfo: i32,
    /// Successful UNSETs.
    pub unsetinfo: i32,
    /// GETADDR statistics.
    pub addrinfo: Vec<RpcbsAddr>,
    /// Remote-call statistics.
    pub rmtinfo: Vec<RpcbsRmtcall>,
}

impl<'a> Xdr<'a> for RpcbStat {
    fn encode(&self, w: &mut Writer) {
        for n in self.info {
            w.put_i32(n);
        }
        w.put_i32(self.setinfo);
        w.put_i32(self.unsetinfo);
        encode_list(w, &self.addrinfo);
        encode_list(w, &self.rmtinfo);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        let mut info = [0i32; RPCBSTAT_HIGHPROC];
        for n in &mut info {
            *n = r.i32()?;
        }
        Ok(RpcbStat {
            info,
            setinfo: r.i32()?,
            unsetinfo: r.i32()?,
            addrinfo: r.list(RPCBLIST_MAX, RpcbsAddr::decode)?,
            rmtinfo: r.list(RPCBLIST_MAX, RpcbsRmtcall::decode)?,
        })
    }
}

/// `rpcb_stat_byvers`: the GETSTAT result, for versions 2, 3 and 4 in that order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbStatByVers(pub [RpcbStat; RPCBVERS_STAT]);

impl<'a> Xdr<'a> for RpcbStatByVers {
    fn encode(&self, w: &mut Writer) {
        for s in &self.0 {
            s.encode(w);
        }
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(RpcbStatByVers([
            RpcbStat::decode(r)?,
            RpcbStat::decode(r)?,
            RpcbStat::decode(r)?,
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_byvers_layout() {
        let mut s = RpcbStatByVers::default();
        s.0[2].info[12] = 5;
        s.0[2].setinfo = 1;
        s.0[1].addrinfo.push(RpcbsAddr {
            prog: 100_024,
            vers: 1,
            success: 2,
            failure: 0,
            netid: Bounded::new("udp").unwrap(),
        });
        s.0[0].rmtinfo.push(RpcbsRmtcall {
            prog: 1,
            vers: 2,
            proc: 3,
            success: 0,
            failure: 1,
            indirect: 0,
            netid: Bounded::new("udp").unwrap(),
        });
        let enc = s.to_xdr();
        // Each empty stat is 13 + 2 ints and two empty lists: 68 bytes.
        assert_eq!(enc.len(), 3 * 68 + (4 + 16 + 8) + (4 + 24 + 8));
        assert_eq!(RpcbStatByVers::from_xdr(&enc), Ok(s));
        assert_eq!(RpcbStatByVers::default().to_xdr().len(), 3 * 68);
    }
}
