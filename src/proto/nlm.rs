//! The lock manager's side of NSM: the callback statd makes when a monitored
//! host changes state.
//!
//! Mirrors `xdr/nlm_callback.x`. A lock manager names the callback procedure
//! in the [`MyId`] of its SM_MON call; statd later calls that procedure with
//! a [`Status`](crate::proto::sm_inter::Status) argument and a void result.
//! Two conventions are in use:
//!
//! | Callers | Program | Version | Procedure |
//! |---|---|---|---|
//! | Linux kernel lockd | 100021 | 3 | 16 (24 in old kernels) |
//! | NFS-Ganesha, CTDB | 100021 | 4 | 16 |
//! | FreeBSD kernel NLM, Apple rpc.lockd, illumos klm | 100021 | 0 (`NLM_SM`) | 1 (`NLM_SM_NOTIFY`) |
//!
//! [`callback_allowed`] accepts these, plus procedure 24 and NLM version 1
//! in the Linux style, so an SM_MON caller cannot make statd call an
//! arbitrary RPC procedure. (nfs-utils statd checks only the program and
//! the Linux procedure numbers, with any version, and so refuses the BSD
//! style; we accept both styles but only the NLM versions that exist.)

use crate::proto::sm_inter::MyId;

/// The NLM program number.
pub const NLM_PROG: u32 = 100_021;

/// `NLM_SM`: the version BSD, macOS and illumos lock managers register for
/// the callback alone.
pub const NLM_SM: u32 = 0;
/// `NLM_VERS`: NLM version 1.
pub const NLM_VERS: u32 = 1;
/// `NLM_VERSX`: NLM version 3, the one Linux lockd names in SM_MON.
pub const NLM_VERSX: u32 = 3;
/// `NLM4_VERS`: NLM version 4 (NFSv3 locking), named by NFS-Ganesha and CTDB.
pub const NLM4_VERS: u32 = 4;

/// `NLM_SM_NOTIFY`: the callback procedure in version [`NLM_SM`].
pub const NLM_SM_NOTIFY: u32 = 1;
/// `NLMPROC_NSM_NOTIFY`: the callback procedure in Linux-style versions.
pub const NLMPROC_NSM_NOTIFY: u32 = 16;
/// The number old Linux kernels used for `NLMPROC_NSM_NOTIFY`.
pub const NLMPROC_NSM_NOTIFY_OLD: u32 = 24;

/// The RPC procedure that receives the NSM callback, as named by
/// `(my_prog, my_vers, my_proc)` in [`MyId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallbackTarget {
    /// Program number (as the RPC call header carries it).
    pub prog: u32,
    /// Version number.
    pub vers: u32,
    /// Procedure number.
    pub proc: u32,
}

impl CallbackTarget {
    /// What the Linux kernel asks for.
    pub const LINUX_LOCKD: CallbackTarget = CallbackTarget {
        prog: NLM_PROG,
        vers: NLM_VERSX,
        proc: NLMPROC_NSM_NOTIFY,
    };
    /// What NFS-Ganesha and CTDB ask for.
    pub const NLM4: CallbackTarget = CallbackTarget {
        prog: NLM_PROG,
        vers: NLM4_VERS,
        proc: NLMPROC_NSM_NOTIFY,
    };
    /// What FreeBSD, Apple and illumos lock managers ask for.
    pub const NLM_SM: CallbackTarget = CallbackTarget {
        prog: NLM_PROG,
        vers: NLM_SM,
        proc: NLM_SM_NOTIFY,
    };

    /// The target a [`MyId`] names. The `int` fields are taken bit for bit,
    /// as they would appear as unsigned numbers in an RPC call header.
    pub fn of(id: &MyId) -> CallbackTarget {
        CallbackTarget {
            prog: id.my_prog.cast_unsigned(),
            vers: id.my_vers.cast_unsigned(),
            proc: id.my_proc.cast_unsigned(),
        }
    }

    /// Whether statd may call this procedure; see [`callback_allowed`].
    pub fn is_allowed(self) -> bool {
        self.prog == NLM_PROG
            && match self.vers {
                NLM_VERS | NLM_VERSX | NLM4_VERS => {
                    matches!(self.proc, NLMPROC_NSM_NOTIFY | NLMPROC_NSM_NOTIFY_OLD)
                }
                NLM_SM => self.proc == NLM_SM_NOTIFY,
                _ => false,
            }
    }
}

/// The callback allow-list, on the `int` fields of [`MyId`]: program 100021
/// and either a Linux-style version (1, 3, 4) with procedure 16 or 24, or
/// version 0 with procedure 1. Everything else, including negative numbers,
/// is refused.
pub fn callback_allowed(prog: i32, vers: i32, proc: i32) -> bool {
    CallbackTarget::of(&MyId {
        my_prog: prog,
        my_vers: vers,
        my_proc: proc,
        ..MyId::default()
    })
    .is_allowed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::sm_inter::{SmString, Status};
    use crate::xdr::{FixedOpaque, Xdr};

    #[test]
    fn known_callers_are_allowed() {
        assert!(callback_allowed(100_021, 3, 16)); // Linux
        assert!(callback_allowed(100_021, 1, 16));
        assert!(callback_allowed(100_021, 4, 16)); // Ganesha, CTDB
        assert!(callback_allowed(100_021, 3, 24)); // old Linux
        assert!(callback_allowed(100_021, 4, 24));
        assert!(callback_allowed(100_021, 0, 1)); // FreeBSD, Apple, illumos
        for t in [
            CallbackTarget::LINUX_LOCKD,
            CallbackTarget::NLM4,
            CallbackTarget::NLM_SM,
        ] {
            assert!(t.is_allowed(), "{t:?}");
        }
    }

    #[test]
    fn everything_else_is_refused() {
        assert!(!callback_allowed(100_024, 1, 6)); // statd itself
        assert!(!callback_allowed(100_003, 3, 16)); // NFS
        assert!(!callback_allowed(100_021, 2, 16)); // no NLM v2 callback
        assert!(!callback_allowed(100_021, 5, 16));
        assert!(!callback_allowed(100_021, 0, 16)); // styles do not mix
        assert!(!callback_allowed(100_021, 3, 1));
        assert!(!callback_allowed(100_021, 4, 2)); // NLM_LOCK
        assert!(!callback_allowed(100_021, 0, 0));
        assert!(!callback_allowed(-100_021, 3, 16));
        assert!(!callback_allowed(100_021, -1, 16));
        assert!(!callback_allowed(100_021, 3, -16));
    }

    #[test]
    fn exhaustive_small_range() {
        let mut allowed = Vec::new();
        for vers in -2..8 {
            for proc in -2..30 {
                if callback_allowed(100_021, vers, proc) {
                    allowed.push((vers, proc));
                }
            }
        }
        assert_eq!(
            allowed,
            [(0, 1), (1, 16), (1, 24), (3, 16), (3, 24), (4, 16), (4, 24)]
        );
    }

    #[test]
    fn target_of_my_id_is_bitwise() {
        let id = MyId {
            my_name: SmString::default(),
            my_prog: 100_021,
            my_vers: -1,
            my_proc: 1,
        };
        assert_eq!(
            CallbackTarget::of(&id),
            CallbackTarget {
                prog: NLM_PROG,
                vers: u32::MAX,
                proc: 1
            }
        );
        assert!(!CallbackTarget::of(&id).is_allowed());
    }

    #[test]
    fn callback_argument_fixture() {
        // NLM_SM_NOTIFY("h", 3, priv = 01 00 .. 00) as a FreeBSD lockd gets it.
        let mut cookie = [0u8; 16];
        cookie[0] = 1;
        let st = Status {
            mon_name: SmString::new(b"h".to_vec()).unwrap(),
            state: 3,
            cookie: FixedOpaque(cookie),
        };
        let bytes = [
            0, 0, 0, 1, b'h', 0, 0, 0, 0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(st.to_xdr(), bytes);
        assert_eq!(Status::from_xdr(&bytes), Ok(st));
    }
}
