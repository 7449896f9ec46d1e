//! GETSTAT counters, one set per protocol version (2, 3, 4).

use crate::proto::rpcb::{RpcbStat, RpcbStatByVers, RPCBSTAT_HIGHPROC, RPCBVERS_STAT};

/// Highest procedure counted, per version 2, 3, 4 (rpcbind's `rpcb_highproc_*`).
const HIGHPROC: [u32; RPCBVERS_STAT] = [5, 8, 12];

/// Calls per procedure and successful SET/UNSETs, per version. Counters
/// saturate instead of wrapping.
#[derive(Debug, Clone, Default)]
pub(super) struct Stats {
    by_vers: [Counters; RPCBVERS_STAT],
}

#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    info: [i32; RPCBSTAT_HIGHPROC],
    set: i32,
    unset: i32,
}

impl Stats {
    fn slot(&mut self, vers: u32) -> Option<(&mut Counters, u32)> {
        let i = usize::try_from(vers.checked_sub(2)?).ok()?;
        let high = *HIGHPROC.get(i)?;
        Some((self.by_vers.get_mut(i)?, high))
    }

    /// Counts a call to `proc` of `vers`; procedures the version lacks are
    /// not counted.
    pub(super) fn call(&mut self, vers: u32, proc: u32) {
        if let Some((c, high)) = self.slot(vers) {
            if proc <= high {
                if let Some(n) = c.info.get_mut(proc as usize) {
                    *n = n.saturating_add(1);
                }
            }
        }
    }

    /// Counts a SET that succeeded.
    pub(super) fn set(&mut self, vers: u32, ok: bool) {
        if let (true, Some((c, _))) = (ok, self.slot(vers)) {
            c.set = c.set.saturating_add(1);
        }
    }

    /// Counts an UNSET that succeeded.
    pub(super) fn unset(&mut self, vers: u32, ok: bool) {
        if let (true, Some((c, _))) = (ok, self.slot(vers)) {
            c.unset = c.unset.saturating_add(1);
        }
    }

    /// The GETSTAT result. Per-address and remote-call lists are not kept
    /// and go out empty.
    pub(super) fn to_wire(&self) -> RpcbStatByVers {
        RpcbStatByVers(self.by_vers.map(|c| RpcbStat {
            info: c.info,
            setinfo: c.set,
            unsetinfo: c.unset,
            addrinfo: Vec::new(),
            rmtinfo: Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_version_within_its_procedures() {
        let mut s = Stats::default();
        s.call(2, 3);
        s.call(2, 6); // no proc 6 in v2
        s.call(3, 8);
        s.call(3, 9); // no proc 9 in v3
        s.call(4, 12);
        s.call(4, 13);
        s.call(5, 0);
        s.call(1, 0);
        s.set(4, true);
        s.set(4, false);
        s.unset(2, true);
        s.set(7, true);
        let w = s.to_wire();
        assert_eq!(w.0[0].info.iter().sum::<i32>(), 1);
        assert_eq!(w.0[0].info[3], 1);
        assert_eq!(w.0[1].info[8], 1);
        assert_eq!(w.0[1].info.iter().sum::<i32>(), 1);
        assert_eq!(w.0[2].info[12], 1);
        assert_eq!(w.0[2].info.iter().sum::<i32>(), 1);
        assert_eq!((w.0[2].setinfo, w.0[0].unsetinfo), (1, 1));
        assert_eq!((w.0[0].setinfo, w.0[2].unsetinfo), (0, 0));
    }
}
