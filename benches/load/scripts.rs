//! The workloads' call sequences, one [`Script`] each.

use crate::calls::{self, host};
use crate::client::{Script, Step};
use statmon::proto::sm_inter::SmProc;

/// SM_STAT of one IP literal, over and over.
pub(crate) struct Stat;

impl Script for Stat {
    fn step(&mut self, _slot: usize, _n: u64) -> Step {
        Step {
            proc: SmProc::STAT,
            args: calls::stat_args("127.2.0.1"),
            ends_op: true,
        }
    }
}

/// SM_MON then SM_UNMON of a name no other slot uses at the same time; the
/// pair is one operation. `slots` slots walk the names of 127.`block`.X.Y.
pub(crate) struct MonUnmon {
    pub(crate) slots: usize,
    pub(crate) block: u8,
}

impl MonUnmon {
    fn name(&self, slot: usize, pair: u64) -> String {
        let i = (pair as usize).wrapping_mul(self.slots).wrapping_add(slot);
        host(self.block, i).to_string()
    }
}

impl Script for MonUnmon {
    fn step(&mut self, slot: usize, n: u64) -> Step {
        let name = self.name(slot, n / 2);
        if n.is_multiple_of(2) {
            Step {
                proc: SmProc::MON,
                args: calls::mon_args(&name, n),
                ends_op: false,
            }
        } else {
            Step {
                proc: SmProc::UNMON,
                args: calls::unmon_args(&name),
                ends_op: true,
            }
        }
    }
}

/// Half SM_STAT, half SM_MON/SM_UNMON: each slot cycles SM_STAT, SM_MON(h),
/// SM_STAT, SM_UNMON(h); every call is one operation.
pub(crate) struct Mix {
    pub(crate) pairs: MonUnmon,
}

impl Script for Mix {
    fn step(&mut self, slot: usize, n: u64) -> Step {
        if n.is_multiple_of(2) {
            Stat.step(slot, n)
        } else {
            let mut s = self.pairs.step(slot, n / 2);
            s.ends_op = true;
            s
        }
    }
}

/// SM_MON of distinct names, never unmonitored: `slots` slots fill the
/// list with 127.`block`.X.Y.
pub(crate) struct Fill {
    pub(crate) slots: usize,
    pub(crate) block: u8,
}

impl Script for Fill {
    fn step(&mut self, slot: usize, n: u64) -> Step {
        let i = (n as usize).wrapping_mul(self.slots).wrapping_add(slot);
        Step {
            proc: SmProc::MON,
            args: calls::mon_args(&host(self.block, i).to_string(), n),
            ends_op: true,
        }
    }
}

/// SM_NOTIFY from a host nobody monitors (the list is searched in vain),
/// with a new odd state each time.
pub(crate) struct NotifyMiss;

impl Script for NotifyMiss {
    fn step(&mut self, _slot: usize, n: u64) -> Step {
        let state = i32::try_from(2 * n + 3).unwrap_or(i32::MAX);
        Step {
            proc: SmProc::NOTIFY,
            args: calls::notify_args("127.6.0.1", state),
            ends_op: true,
        }
    }
}
